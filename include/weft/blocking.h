/*
 * weft/blocking.h - running blocking functions on a pool of threads, and
 * shutting a runtime down with a deadline.
 *
 * A task must never block its worker (a read of a slow file, a DNS lookup,
 * a compression pass, a lock held by a plain thread).  weft_spawn_blocking
 * runs such a function on a thread of the runtime's blocking pool instead
 * and fills the same weft_join_handle that weft_spawn fills: await it from
 * a task, weft_join it from a plain thread, abort or detach it.
 *
 * The pool starts a thread whenever a job arrives and no pool thread is
 * idle, up to weft_runtime_config.max_blocking_threads (default 512; the
 * workers are not counted).  Beyond that, jobs wait in a FIFO queue for the
 * next thread to become free.  A thread that stays idle for
 * weft_runtime_config.blocking_keep_alive_ns (default 10 s) exits.  See
 * docs/blocking.md.
 */
#ifndef WEFT_BLOCKING_H
#define WEFT_BLOCKING_H

#include <stdbool.h>
#include <stdint.h>

#include "weft/future.h"
#include "weft/runtime.h"
#include "weft/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The future a blocking job's task runs; weft_join_output(handle) returns
 * it once the job has finished.  `result` holds fn(arg).  The other fields
 * are the pool's.
 */
typedef struct weft_blocking_future {
	weft_future base;
	void *(*fn)(void *arg);
	void *arg;
	void (*arg_drop)(void *arg);
	void *result;
	bool ran;
} weft_blocking_future;

/*
 * Runs fn(arg) on a thread of `rt`'s blocking pool (made on the first
 * call).  When `handle` is not NULL it is filled in and must be released
 * with weft_join_detach; when NULL the job is detached from the start.
 *
 * Joining: weft_join / awaiting the handle returns 0 once fn has returned
 * (read the result with weft_blocking_result), -ECANCELED when the job was
 * aborted before it started or cancelled by shutdown before it started.
 * Abort (weft_join_abort) of a queued job means it never starts (fn is not
 * called; the join completes with -ECANCELED when a pool thread reaches it,
 * at once if one is idle, or at shutdown); a job that has started cannot be
 * stopped: it runs to the end and its join completes with 0.
 *
 * Returns 0 on success; -EINVAL when `rt` or `fn` is NULL; -ENOMEM when the
 * task or a thread's record cannot be allocated; -EAGAIN (or another
 * -errno of pthread_create) when no pool thread is idle, the pool is below
 * its maximum and a new thread cannot be started: the job is then not
 * queued (it would wait for nobody); -ESHUTDOWN when `rt` is shutting down.
 * On failure fn never runs, `arg` is still the caller's, and `handle` is
 * empty.  Any thread, including tasks and blocking jobs.
 */
int weft_spawn_blocking(weft_runtime *rt, void *(*fn)(void *arg), void *arg,
			weft_join_handle *handle);

/*
 * As weft_spawn_blocking, and when the job is accepted but never runs
 * (aborted while queued, or cancelled by shutdown), arg_drop(arg) is
 * called exactly once, on whichever thread cancels it, so that the caller
 * can hand ownership of `arg` to the job.  arg_drop is not called when fn
 * runs (fn owns `arg` then) nor when this call fails.  `arg_drop` may be
 * NULL.  Returns as weft_spawn_blocking.  Any thread.
 */
int weft_spawn_blocking_drop(weft_runtime *rt, void *(*fn)(void *arg), void *arg,
			     void (*arg_drop)(void *arg), weft_join_handle *handle);

/*
 * Reads a blocking job's result: stores fn's return value in *result and
 * returns 0 once the job has finished; -EAGAIN while it is queued or
 * running; -ECANCELED when it never ran; -EINVAL for a NULL argument, an
 * empty handle or the handle of a task that is not a blocking job.  Any
 * thread (one at a time per handle).
 */
int weft_blocking_result(weft_join_handle *handle, void **result);

/*
 * Shuts `rt` down and frees it as weft_runtime_destroy does, but gives the
 * blocking pool only until `timeout_ns` nanoseconds after the call to let
 * its running jobs finish.  Queued jobs are cancelled (they never start;
 * their joins complete with -ECANCELED); jobs still running at the
 * deadline are left to finish alone on their threads, which then exit and
 * free what is left of the pool; their joins complete (with 0) when they
 * return.  Such a job must not use `rt` any more.  (weft_runtime_destroy
 * waits for running jobs without a deadline.)
 *
 * Returns 0 when every blocking job had finished; -ETIMEDOUT when some were
 * left running (the runtime is freed all the same); -EDEADLK (and does
 * nothing) from one of `rt`'s tasks, workers or blocking jobs.  Same
 * threads and rules as weft_runtime_destroy.
 */
int weft_runtime_shutdown_timeout(weft_runtime *rt, uint64_t timeout_ns);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BLOCKING_H */

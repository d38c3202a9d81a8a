/*
 * weft/task.h - spawning tasks and joining them.
 *
 * weft_spawn copies a future into one allocation that also holds the task's
 * 64-byte header.  The task's result is a field of that copy: once the task
 * has finished, weft_join_output returns a pointer to it.
 *
 * Ending a task releases what its future holds.  The runtime runs the
 * future's drop exactly once, when the task ends: right after the poll that
 * returned WEFT_READY, or when the task is cancelled (abort, shutdown) --
 * never later, when the handle is released.  So a finished task's senders,
 * locks, permits and buffers are released at once, even while its handle is
 * held.  Only the future's bytes outlive the drop: they stay in the task's
 * allocation, readable through weft_join_output, until the handle is
 * released.  The joiner therefore sees the result fields as the drop left
 * them, and a drop must leave the result fields it wants read intact.  A
 * result that owns memory (a pointer the future allocated) is not freed by
 * the drop: it becomes the joiner's, who frees it after reading it.  Nobody
 * frees such a result of a task spawned without a handle, or whose handle
 * is released unread: give such a task a handle and read its output.
 *
 * A join handle is a small struct the caller owns (on its stack or inside
 * its own future).  It is itself a future: await it from a task, or block
 * on it from a plain thread with weft_join.  A handle must eventually be
 * released with weft_join_detach (or its future drop, which is the same
 * thing); releasing it while the task runs lets the task run on and free
 * itself when it finishes.  A handle is used by one thread at a time; it
 * may be moved (copied by value) while nobody polls it.
 */
#ifndef WEFT_TASK_H
#define WEFT_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "weft/future.h"
#include "weft/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

struct weft_task;

/* A join handle.  Fields are private except `status`. */
typedef struct weft_join_handle {
	/* poll: ready when the task has finished; drop: weft_join_detach. */
	weft_future base;
	/* Private: the task, or NULL for a detached or empty handle. */
	struct weft_task *task;
	/* After the handle was polled to ready: 0 when the task finished,
	 * -ECANCELED when it was aborted or dropped by shutdown, -EINVAL when
	 * the handle was detached or never filled. */
	int status;
} weft_join_handle;

/* The size of the task header that precedes every spawned future. */
#define WEFT_TASK_HEADER_SIZE 64

/*
 * Spawns a task running a copy of the `size` bytes at `future` (a struct
 * whose first member is a weft_future).  The copy is made before the call
 * returns; the caller's struct is then the caller's again (it must not be
 * dropped: ownership of what it held moved into the task).  Alignment of
 * the copy is that of max_align_t.
 *
 * When `handle` is not NULL it is filled in and must be released with
 * weft_join_detach; when NULL the task is detached from the start.
 *
 * From one of `rt`'s workers the task runs next on that worker (its LIFO
 * slot); from any other thread it goes to the shared injector and an idle
 * worker is woken.
 *
 * Returns 0 on success; -EINVAL when `rt` or `future` is NULL, `size` is
 * smaller than sizeof(weft_future) or the future has no poll function;
 * -ENOMEM when the task cannot be allocated; -ESHUTDOWN when `rt` is
 * shutting down.  On failure nothing was copied, the caller still owns the
 * future (and must drop it), and `handle` is set empty.  Any thread.
 */
int weft_spawn(weft_runtime *rt, const weft_future *future, size_t size,
	       weft_join_handle *handle);

/* The future weft_spawn_fn and weft_spawn_fn_ex run: `result` holds
 * fn(arg) when done.  `drop_arg`, when not NULL, is the future's drop's
 * work: it is called with `arg` when the task ends. */
typedef struct weft_fn_future {
	weft_future base;
	void *(*fn)(void *arg);
	void *arg;
	void *result;
	void (*drop_arg)(void *arg);
} weft_fn_future;

/*
 * Spawns a plain function as a task that runs fn(arg) in one poll.  The
 * result is weft_join_output(handle)'s `result` field (a weft_fn_future); it
 * is the joiner's (see "Ending a task" above).  `arg` is borrowed: nothing
 * frees it, also when the task is aborted or shut down before fn ran (use
 * weft_spawn_fn_ex to have it freed).  Returns as weft_spawn; -EINVAL also
 * for a NULL `fn`.  Any thread.
 */
int weft_spawn_fn(weft_runtime *rt, void *(*fn)(void *arg), void *arg,
		  weft_join_handle *handle);

/*
 * As weft_spawn_fn, and the task owns `arg`: `drop_arg` (when not NULL) is
 * called with `arg` exactly once, when the task ends -- after fn(arg)
 * returned (fn only borrows `arg`), or instead of fn when the task is
 * aborted or the runtime shut down before fn ran.  It runs on the thread
 * that ends the task (a worker, the thread inside weft_block_on, or the one
 * destroying the runtime), before the join completes.  On failure (a
 * negative return) drop_arg is not called and the caller still owns `arg`.
 * Returns as weft_spawn_fn.  Any thread.
 */
int weft_spawn_fn_ex(weft_runtime *rt, void *(*fn)(void *arg), void *arg,
		     void (*drop_arg)(void *arg), weft_join_handle *handle);

/*
 * Blocks the calling thread until the task has finished.  Returns 0 when it
 * finished, -ECANCELED when it was aborted or dropped by shutdown, -EINVAL
 * for a NULL, detached or empty handle, -EDEADLK when called from inside a
 * runtime's task or worker, -ENOMEM when the thread's parker cannot be
 * allocated.  The handle stays valid (release it with weft_join_detach).
 * Any thread outside a runtime.  A task of a current-thread runtime only
 * runs while some thread is inside weft_block_on of that runtime: joining
 * it from a plain thread waits until then.
 */
int weft_join(weft_join_handle *handle);

/*
 * As weft_join, but gives up after `timeout_ns` nanoseconds and returns
 * -ETIMEDOUT (the task is left running and the handle valid).
 */
int weft_join_timeout(weft_join_handle *handle, uint64_t timeout_ns);

/*
 * Non-blocking check.  Returns 0 when the task has finished, -ECANCELED when
 * it was cancelled, -EAGAIN while it is still running, -EINVAL for a NULL,
 * detached or empty handle.  Any thread (including tasks).
 */
int weft_join_try(weft_join_handle *handle);

/*
 * Returns the task's copy of the future once the task has finished (not
 * cancelled), so its result fields can be read; NULL before that, after
 * cancellation, or for an empty handle.  The future's drop has already run
 * (see "Ending a task" above): the bytes are as the drop left them, and
 * nothing in them may be polled or dropped again.  A result that owns memory
 * is the caller's to free.  The pointer stays valid until the handle is
 * released.  The thread that holds the handle.
 */
void *weft_join_output(weft_join_handle *handle);

/*
 * Requests cancellation: the task's future is dropped at its next
 * scheduling point, even if it is idle and never woken again (an idle task
 * is scheduled for it), and the join completes with -ECANCELED.  A task that
 * already finished is not affected; one that finishes in the poll it is in
 * keeps its result.  Returns 0, or -EINVAL for a NULL or empty handle.  The
 * handle stays valid.  Any thread.
 */
int weft_join_abort(weft_join_handle *handle);

/*
 * Releases the handle.  A task that is still running goes on and frees
 * itself when it finishes; a finished task's memory (its future's bytes,
 * already dropped when it finished) is freed now, unless a waker of it is
 * still alive.  The handle becomes empty; detaching an empty or NULL handle
 * does nothing.  Any thread (one at a time per handle).
 */
void weft_join_detach(weft_join_handle *handle);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_TASK_H */

/*
 * src/blocking/blocking.h - the blocking pool's interface to the rest of
 * weft (the runtime, the timer subsystem) and to the tests.  Private.
 */
#ifndef WEFT_SRC_BLOCKING_BLOCKING_H
#define WEFT_SRC_BLOCKING_BLOCKING_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct weft_runtime;
struct weft__blocking_pool;

/*
 * The number of blocking jobs of `rt` that are queued or running (0 before
 * the first weft_spawn_blocking).  A job counts from its submission until
 * its task has completed and its joiner has been woken, so a paused clock
 * that sees 0 here, and no runnable task, may jump.  Any thread.
 */
size_t weft__blocking_active(struct weft_runtime *rt);

/*
 * For a worker of `rt` about to park: while blocking jobs of `rt` are
 * queued or running (their completions wake tasks from the pool threads,
 * through the injector), spins for a few microseconds until `work(ctx)`
 * returns true, so that a completion that comes at once costs no driver
 * wake of a parked worker.  Returns true when `work` did (the worker looks
 * for the task instead of parking); false at once when no job is active,
 * or after the bound.  Workers only.
 */
bool weft__blocking_spin_before_park(struct weft_runtime *rt, bool (*work)(void *ctx),
				     void *ctx);

/* The number of pool threads started and not yet exited.  Any thread. */
unsigned weft__blocking_threads(struct weft_runtime *rt);

/* The number of pool threads on the idle list (for tests).  Any thread. */
unsigned weft__blocking_idle(struct weft_runtime *rt);

/* The number of jobs queued for a thread (weft_metrics).  Any thread. */
unsigned weft__blocking_queued(struct weft_runtime *rt);

/*
 * Shuts the pool of `rt` down (nothing happens when it was never made):
 * refuses new jobs, cancels the queued ones (their joins complete with
 * -ECANCELED), and waits until every running job has finished or the
 * monotonic clock passes `deadline_ns` (UINT64_MAX: no deadline).  A job
 * still running then is left to finish on its thread, which frees itself.
 * Releases the runtime's reference on the pool.  Returns 0, or -ETIMEDOUT
 * when jobs were left running.  Called once, by the runtime's destroy.
 */
int weft__blocking_shutdown(struct weft_runtime *rt, uint64_t deadline_ns);

/* True when the calling thread is one of `rt`'s pool threads. */
bool weft__blocking_on_pool_thread(struct weft_runtime *rt);

/*
 * Test hook: the function the pool starts its threads with (same contract
 * as pthread_create: returns 0 or a positive errno).  NULL restores
 * pthread_create.  Process-wide; set it while no pool starts threads.
 */
typedef int (*weft__blocking_thread_create_fn)(pthread_t *thread, const pthread_attr_t *attr,
					      void *(*start)(void *), void *arg);
void weft__blocking_set_thread_create_hook(weft__blocking_thread_create_fn fn);

/* Test hook: while true, the pool's job cache keeps no freed job (tests
 * that count the allocator's calls per job).  Tests only. */
extern _Atomic bool weft__blocking_job_cache_off;

#endif /* WEFT_SRC_BLOCKING_BLOCKING_H */

/*
 * weft/metrics.h - observing a runtime: counters, task hooks, task names,
 * the stall watchdog and the debug-build protocol checks.
 *
 * Everything here is designed to cost the scheduler's hot path nothing
 * that it does not already pay (docs/observability.md has the measured
 * numbers):
 *  - Counters are per worker, written only by that worker with relaxed
 *    stores (no read-modify-write), plus runtime-wide counts kept inside
 *    critical sections that exist anyway.  A snapshot reads them with
 *    relaxed loads: it never stops, locks out or waits for a worker, so
 *    its numbers are each exact but not taken at one instant.
 *  - Hooks, names, the watchdog and the debug checks are decided once, at
 *    runtime creation: a runtime without any of them pays one predictable
 *    branch per spawn, per poll and per task end.
 *
 * The environment variable WEFT_METRICS=1 makes weft_runtime_destroy print
 * a table of the counters on stderr, and WEFT_STALL_MS=N turns the stall
 * watchdog on with a threshold of N milliseconds (when the config leaves
 * it off).
 */
#ifndef WEFT_METRICS_H
#define WEFT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/future.h"
#include "weft/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

struct weft_join_handle;

/*
 * Counters of one worker.  Before the call the caller sets `size` to
 * sizeof(weft_worker_metrics); the library fills at most that many bytes
 * and sets `size` to the number it filled, so a program built against an
 * older, shorter struct keeps working.  Every counter counts from runtime
 * creation.
 */
typedef struct weft_worker_metrics {
	size_t size;
	/* Task polls run by this worker (LIFO polls included). */
	uint64_t polls;
	/* Successful steals (each moves half of a victim's queue) and steal
	 * attempts (one per victim looked at). */
	uint64_t steals;
	uint64_t steal_attempts;
	/* Polls of a task taken from the LIFO slot. */
	uint64_t lifo_hits;
	/* Times the worker went to sleep for want of work. */
	uint64_t parks;
	/* Tasks taken from the shared injector. */
	uint64_t injector_pops;
	/* Polls that ended because the cooperative budget was spent. */
	uint64_t budget_yields;
	/* Nanoseconds the worker was not parked (running, searching,
	 * stealing), up to the moment of the call. */
	uint64_t busy_ns;
	/* Tasks in the worker's local queue now. */
	uint64_t local_queue_depth;
} weft_worker_metrics;

/*
 * Runtime-wide counters; `size` works as in weft_worker_metrics.
 */
typedef struct weft_metrics {
	size_t size;
	/* Worker threads (1 for a current-thread runtime); valid indexes for
	 * weft_runtime_worker_metrics are 0 .. workers - 1. */
	unsigned workers;
	/* Tasks spawned, and tasks whose future is still alive (spawned,
	 * not yet finished or cancelled).  Blocking-pool jobs not counted. */
	uint64_t spawned;
	uint64_t live_tasks;
	/* Tasks waiting in the shared injector (multi-threaded) or the
	 * remote queue (current-thread: 0, not counted). */
	uint64_t injector_depth;
	/* The blocking pool (weft/blocking.h): threads alive, of which idle,
	 * and jobs queued for a thread. */
	uint64_t blocking_threads;
	uint64_t blocking_idle_threads;
	uint64_t blocking_queue_depth;
	/* The I/O driver: operations submitted to the kernel, completions
	 * dispatched, and wakes sent to a sleeping driver thread. */
	uint64_t driver_submissions;
	uint64_t driver_completions;
	uint64_t driver_wakes;
	/* The backend ("io_uring" or "epoll"; static), and whether AUTO fell
	 * back to epoll because io_uring was refused. */
	const char *driver;
	bool driver_fallback;
	/* Driver waits that ended while the worker spun for completions,
	 * without sleeping (weft_runtime_config.io_spin_ns). */
	uint64_t driver_spins;
} weft_metrics;

/*
 * Fills `out` with a snapshot of `rt`'s runtime-wide counters (see the
 * struct).  Returns 0, or -EINVAL for a NULL `rt` or `out` or an
 * out->size smaller than offsetof(weft_metrics, workers) +
 * sizeof(unsigned).  Never blocks a worker (relaxed loads; the blocking
 * pool's counts are read under its lock).  Any thread, while `rt` exists.
 */
int weft_runtime_metrics(const weft_runtime *rt, weft_metrics *out);

/*
 * Fills `out` with worker `worker`'s counters.  Returns 0, -EINVAL for a
 * NULL `rt` or `out`, an out->size smaller than sizeof(size_t) +
 * sizeof(uint64_t), or -ERANGE for a worker index that is not below
 * weft_runtime_workers(rt).  A current-thread runtime has one worker
 * whose scheduler counters stay zero (its thread is the caller's).
 * Relaxed loads: never stops the worker.  Any thread, while `rt` exists.
 */
int weft_runtime_worker_metrics(const weft_runtime *rt, unsigned worker,
				weft_worker_metrics *out);

/*
 * Prints a table of `rt`'s counters to `stderr` (what WEFT_METRICS=1 does
 * at shutdown).  Returns 0 or -EINVAL for NULL.  Any thread.
 */
int weft_runtime_metrics_print(const weft_runtime *rt);

/* ---- task hooks ----------------------------------------------------------- */

/* What a hook is told about a task. */
typedef struct weft_task_event {
	/* Unique within the runtime, from 1 in spawn order; never 0. */
	uint64_t id;
	/* The name given to weft_spawn_named, or NULL. */
	const char *name;
	/* The worker the event happens on, or -1 (another thread: a spawn
	 * from outside, block_on helping, the current-thread flavour,
	 * shutdown). */
	int worker;
	/* on_poll_end: the poll returned WEFT_READY.  on_finish: the task was
	 * cancelled (aborted, or dropped by shutdown) instead of finishing. */
	bool flag;
} weft_task_event;

/*
 * Hooks called around every task of a runtime (weft_runtime_config
 * .task_hooks; the struct is copied at creation).  Any of the four may be
 * NULL.  They run on the thread the event happens on, inline: on_spawn in
 * the spawning thread before the task can run, on_poll_start / on_poll_end
 * around each poll of the task's future on the polling thread, on_finish
 * once when the task ends (after its future was dropped, before its join
 * completes).  For one task the order is on_spawn, then pairs of
 * on_poll_start / on_poll_end, then on_finish; a task cancelled before its
 * first poll has no poll events.  Hooks must be quick and must not block;
 * they may spawn, wake and use channels like any task code.
 */
typedef struct weft_task_hooks {
	void (*on_spawn)(void *ctx, const weft_task_event *ev);
	void (*on_poll_start)(void *ctx, const weft_task_event *ev);
	void (*on_poll_end)(void *ctx, const weft_task_event *ev);
	void (*on_finish)(void *ctx, const weft_task_event *ev);
	void *ctx;
} weft_task_hooks;

/*
 * As weft_spawn, and the task carries `name` (may be NULL), which hooks,
 * the watchdog and the debug checks report.  `name` is borrowed, not
 * copied: it must stay valid and unchanged for as long as the runtime
 * exists (a string literal is the usual choice).  A named task costs 32
 * more bytes than an unnamed one.  Returns as weft_spawn.  Any thread.
 */
int weft_spawn_named(weft_runtime *rt, const char *name, const weft_future *future,
		     size_t size, struct weft_join_handle *handle);

/* ---- reports: the watchdog and the debug checks ---------------------------- */

/* What a weft_report is about. */
typedef enum weft_report_kind {
	/* The watchdog: a task poll has held its worker for `duration_ns`
	 * (at least; reported once per poll, while it still runs). */
	WEFT_REPORT_STALL = 1,
	/* Debug checks: a finished task's future was polled again (through
	 * weft_join_output). */
	WEFT_REPORT_POLL_AFTER_READY = 2,
	/* Debug checks: a finished task's future was dropped again. */
	WEFT_REPORT_DROP_AFTER_END = 3,
	/* Debug checks, at shutdown: a task whose last poll returned pending
	 * without cloning its waker, and that nothing can wake (no waker of
	 * it is alive). */
	WEFT_REPORT_LOST_WAKEUP = 4,
	/* Debug checks: a join handle was used by two threads at once. */
	WEFT_REPORT_JOIN_SHARED = 5,
} weft_report_kind;

/* One report.  Strings are borrowed for the duration of the callback. */
typedef struct weft_report {
	weft_report_kind kind;
	uint64_t task_id; /* 0 when unknown */
	const char *task_name; /* NULL when unnamed */
	int worker;       /* -1 when not on a worker */
	uint64_t duration_ns; /* WEFT_REPORT_STALL only */
	const char *message; /* one line, no newline */
} weft_report;

/*
 * Receives reports (weft_runtime_config.report).  Called on the thread
 * that found the problem: the watchdog's own thread for stalls, the
 * misusing thread or the destroying thread for debug checks.  Must not
 * block for long and must not call into the runtime's shutdown.  Without
 * a callback reports go to stderr, one line each.  Nothing is ever
 * stopped or aborted by a report.
 */
typedef void (*weft_report_fn)(void *ctx, const weft_report *report);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_METRICS_H */

/*
 * src/sched/observe.h - what observability adds to tasks and workers: the
 * task annex, the runtime's observer, per-worker counters and the poll
 * slot the stall watchdog reads.  Private.
 *
 * Paying only for what is used
 * ============================
 *
 * A runtime decides at creation whether it is observed: it is when it has
 * task hooks, a stall watchdog or a report callback that needs ids, and
 * always in a build with -Ddebug_checks=true.  An observed runtime gives
 * every task an annex (struct task_annex, 32 bytes just before the 64-byte
 * header, in the same allocation) holding the task's id and name and the
 * debug checks' per-task state; so does any task spawned with a name.  The
 * header records this in `flags` (TASK_F_ANNEX), fixed at creation, so
 * that the spawn, poll and end paths each test one bit of a cache line
 * they already hold, and take an out-of-line path only when it is set.
 *
 * Counters
 * ========
 *
 * A worker's counters are written by that worker alone, with a relaxed
 * load and a relaxed store (WEFT__COUNT): no read-modify-write, no fence,
 * nothing another core must give up a cache line for except when a
 * snapshot reads it.  A snapshot reads them with relaxed loads: it never
 * stops or waits for a worker, and each number is one the counter really
 * had, but they were not all read at the same instant.  The runtime-wide
 * spawn and live-task counts live in the owned-task list's shards, updated
 * inside the shard lock that every spawn and task end already takes.
 *
 * The watchdog's poll slot
 * ========================
 *
 * While the watchdog is on, a worker publishes each poll in its slot: the
 * task's id and name, then an odd sequence number (release); after the
 * poll, the next even one.  The watchdog reads the sequence (acquire), the
 * id and name, and the sequence again: an odd number that is the same on
 * two scans threshold / 2 apart, both reads validated, is a poll that has
 * held the worker for at least that long.  No clock is read on the worker:
 * the watchdog measures the time between its own scans.  The name is a
 * borrowed string that outlives the runtime (weft_spawn_named), so the
 * watchdog never reads the task's memory.
 */
#ifndef WEFT_SRC_SCHED_OBSERVE_H
#define WEFT_SRC_SCHED_OBSERVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "weft_config.h"
#include "weft/metrics.h"
#include "weft/runtime.h"

/* struct weft_task.flags: fixed at creation. */
#define TASK_F_ANNEX 1u

/*
 * The annex before an observed or named task's header.  `id` and `name`
 * are fixed at spawn; the rest are the debug checks' (WEFT_DEBUG_CHECKS).
 */
struct task_annex {
	uint64_t id;
	const char *name;
	/* Set while a thread is inside a join-handle call on this task. */
	_Atomic uint32_t join_busy;
	/* A waker of the task was cloned since the current poll began (any
	 * thread may clone it). */
	_Atomic uint8_t cloned;
	/* The last poll returned pending without cloning the waker.  Written
	 * by the polling thread before the task goes idle. */
	uint8_t suspect;
	uint8_t pad[2];
	uint64_t pad2;
};

_Static_assert(sizeof(struct task_annex) == 32, "the annex keeps the header 16-aligned");

/* The runtime's observer, embedded in its scheduler (set up by
 * weft__sched_observe before the first spawn, read-only afterwards). */
struct weft__observer {
	/* Every task gets an annex. */
	bool annex;
	/* Some hook in `hooks` is set. */
	bool hooks_on;
	weft_task_hooks hooks;
	weft_report_fn report;
	void *report_ctx;
	/* The last task id handed out. */
	_Atomic uint64_t next_id;
	/* Lost wake-ups found by this shutdown (debug checks). */
	uint64_t lost_wakeups;
};

/* Adds one to a counter that only the calling thread writes. */
#define WEFT__COUNT(c, field) WEFT__COUNT_N(c, field, 1)
#define WEFT__COUNT_N(c, field, n)                                                   \
	atomic_store_explicit(&(c)->field,                                           \
			      atomic_load_explicit(&(c)->field, memory_order_relaxed) + \
				      (n),                                           \
			      memory_order_relaxed)

/* A worker's counters (see the essay); written by the worker only. */
struct weft__worker_counters {
	_Atomic uint64_t polls;
	_Atomic uint64_t steals;
	_Atomic uint64_t steal_attempts;
	_Atomic uint64_t lifo_hits;
	_Atomic uint64_t parks;
	_Atomic uint64_t injector_pops;
	_Atomic uint64_t budget_yields;
	/* Busy time before the current stretch, and when the current busy
	 * stretch began (0 while parked). */
	_Atomic uint64_t busy_ns;
	_Atomic uint64_t busy_since;
};

/* A worker's poll, published for the watchdog (see the essay). */
struct weft__poll_slot {
	_Atomic uint64_t seq;
	_Atomic uint64_t task_id;
	_Atomic(const char *) name;
};

/* Worker: a poll of task `id` begins. */
static inline void weft__poll_slot_enter(struct weft__poll_slot *s, uint64_t id,
					 const char *name)
{
	uint64_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);

	/* Release fence: orders the even store that ended the last poll
	 * before these writes, so a watchdog that reads the new id also sees
	 * the sequence move (pairs with its acquire fence). */
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&s->task_id, id, memory_order_relaxed);
	atomic_store_explicit(&s->name, name, memory_order_relaxed);
	/* Release: publishes id and name with the odd sequence; pairs with
	 * the watchdog's acquire load of `seq`. */
	atomic_store_explicit(&s->seq, seq + 1, memory_order_release);
}

/* Worker: the poll ended. */
static inline void weft__poll_slot_exit(struct weft__poll_slot *s)
{
	uint64_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);

	atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
}

struct weft__sched;
struct weft_runtime;

/* ---- metrics.c ------------------------------------------------------------ */

/* The observability settings of a runtime, resolved at creation
 * (environment included). */
struct weft__obs_config {
	weft_task_hooks hooks;
	bool hooks_on;
	weft_report_fn report;
	void *report_ctx;
	uint64_t stall_ns;  /* 0: no watchdog */
	bool print_metrics; /* WEFT_METRICS=1 */
};

/* Resolves `config`'s observability fields and the environment. */
void weft__obs_config_resolve(struct weft__obs_config *out, const weft_runtime_config *config);
/* Sets up `s`'s observer from `c`.  Before the first spawn on `s`. */
void weft__sched_observe(struct weft__sched *s, const struct weft__obs_config *c);
/*
 * Delivers a report to `o`'s callback, or to stderr.  `worker` is -1 off a
 * worker.  Any thread.
 */
void weft__report(const struct weft__observer *o, weft_report_kind kind, uint64_t task_id,
		  const char *name, int worker, uint64_t duration_ns, const char *message);

/* Debug checks: after shutdown cancelled every task, sums up the lost
 * wake-ups that stderr did not list one by one. */
void weft__obs_shutdown_summary(struct weft__sched *s);

/* ---- watchdog.c ----------------------------------------------------------- */

struct weft__watchdog;

/*
 * Starts the watchdog thread over `n` poll slots (slot_at(ctx, i) gives
 * slot i; read once here), scanning every threshold_ns / 2 and reporting
 * through `o`.  Returns 0 and *out, or -errno (-ENOMEM, or pthread's).
 */
int weft__watchdog_start(const struct weft__observer *o, const weft_allocator *alloc,
			 struct weft__poll_slot *(*slot_at)(void *ctx, unsigned i), void *ctx,
			 unsigned n, uint64_t threshold_ns, struct weft__watchdog **out);
/* Stops and joins the thread and frees the watchdog.  NULL is ignored. */
void weft__watchdog_stop(struct weft__watchdog *wd);

#endif /* WEFT_SRC_SCHED_OBSERVE_H */

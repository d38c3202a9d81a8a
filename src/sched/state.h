/*
 * src/sched/state.h - the task state word and its named transitions.
 * Private.
 *
 * Every transition is a static inline function: they are the spawn, wake,
 * poll and join paths, and a call per transition showed in spawn/spawn.
 *
 * The state word
 * ==============
 *
 * Every task has one 64-bit atomic word.  The low byte holds flags, the
 * rest a reference count:
 *
 *   RUNNING        a worker is polling the future right now (or shutdown
 *                  has claimed the task to drop its future).
 *   NOTIFIED       the task has been woken since it last started running.
 *                  When RUNNING is clear, NOTIFIED means "sits in exactly
 *                  one queue", and that queue owns one reference.
 *   COMPLETE       the future returned ready or was cancelled, and has been
 *                  dropped; it will never be polled again.
 *   CANCELLED      abort was requested (while not COMPLETE), or, together
 *                  with COMPLETE, the task ended by cancellation and has no
 *                  output.
 *   JOIN_INTEREST  a join handle exists.  The handle owns one reference.
 *   JOIN_WAKER     the join_waker field holds the handle's waker and the
 *                  runtime owns the field; while clear, the handle owns it.
 *
 * References are held by: the owned-task list (from spawn until the future
 * is dropped), the queue entry (while NOTIFIED and not RUNNING, and by the
 * worker while it runs the task), the join handle, and every task waker.
 * The task is freed when the count reaches zero.
 *
 * Transitions, each one CAS loop or fetch-op, each a function below whose
 * result enum tells the caller what to do next:
 *
 *   to_notified (wake_by_ref): COMPLETE or NOTIFIED -> nothing; RUNNING ->
 *       set NOTIFIED (the worker re-queues the task after the poll); idle
 *       -> set NOTIFIED and add a reference: the caller hands the task to
 *       its scheduler.  A wake by value does the same with the waker's own
 *       reference kept until the scheduler has the task.
 *   to_running: NOTIFIED, !RUNNING -> RUNNING, !NOTIFIED.  If CANCELLED is
 *       set the caller drops the future instead of polling it; if COMPLETE
 *       (shutdown ended it while queued) it releases the queue reference.
 *   to_idle (after a pending poll): if CANCELLED -> the caller drops the
 *       future and completes; if NOTIFIED -> clear RUNNING, the caller
 *       re-queues; else clear RUNNING and drop the queue reference.
 *   to_complete (the future was dropped just before, whether it returned
 *       ready or was cancelled): clear RUNNING, set COMPLETE (and CANCELLED
 *       or not).  The future's bytes stay in the allocation, so a finished
 *       task's result fields can be read until the handle is released.  If
 *       JOIN_INTEREST and JOIN_WAKER are set the runtime wakes the join
 *       waker, then clears JOIN_WAKER (unset_join_waker_after_complete);
 *       if the handle went away meanwhile the runtime drops the waker.
 *   to_cancelled (abort): COMPLETE -> nothing; RUNNING or NOTIFIED -> set
 *       CANCELLED (and NOTIFIED when running, so the worker looks again
 *       after the poll); idle -> set CANCELLED and NOTIFIED, add a
 *       reference, and the caller schedules the task, so the future is
 *       dropped at the next scheduling point.
 *   set_join_waker / unset_join_waker: the handle gives the join_waker
 *       field to the runtime, or takes it back to replace the waker, unless
 *       the task is COMPLETE.
 *   unset_join_interest (handle release): clear JOIN_INTEREST (and
 *       JOIN_WAKER unless COMPLETE).  If the handle now owns the join_waker
 *       field, it drops the waker in it.  The future is never touched: it
 *       is long dropped, or will be.
 *   claim_for_shutdown: !COMPLETE -> set RUNNING, so that wakes only set
 *       NOTIFIED and nobody else touches the future while shutdown drops it.
 *
 * The runtime alone drops the future, exactly once, while the task is
 * RUNNING (or claimed by shutdown) and before COMPLETE is published: ending
 * a task releases what its future holds (senders, locks, buffers) at once,
 * as ending a Tokio task drops its future, and whoever sees COMPLETE also
 * sees everything the drop did.
 */
#ifndef WEFT_SRC_SCHED_STATE_H
#define WEFT_SRC_SCHED_STATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define TASK_RUNNING       ((uint64_t)1 << 0)
#define TASK_NOTIFIED      ((uint64_t)1 << 1)
#define TASK_COMPLETE      ((uint64_t)1 << 2)
#define TASK_CANCELLED     ((uint64_t)1 << 3)
#define TASK_JOIN_INTEREST ((uint64_t)1 << 4)
#define TASK_JOIN_WAKER    ((uint64_t)1 << 5)
#define TASK_REF_SHIFT     8
#define TASK_REF_ONE       ((uint64_t)1 << TASK_REF_SHIFT)
#define TASK_FLAG_MASK     (TASK_REF_ONE - 1)

typedef _Atomic uint64_t task_state;

/* The initial word of a spawned task: queued (NOTIFIED) with `refs`
 * references, and JOIN_INTEREST when a handle was given. */
static inline void weft__state_init(task_state *s, uint64_t refs, bool join_interest)
{
	atomic_init(s, TASK_NOTIFIED | (refs << TASK_REF_SHIFT) |
			       (join_interest ? TASK_JOIN_INTEREST : 0));
}

/* ---- references ---------------------------------------------------------- */

static inline void weft__state_ref_inc(task_state *s)
{
	/* Relaxed: a new reference is made from an existing one, which keeps
	 * the task alive meanwhile. */
	atomic_fetch_add_explicit(s, TASK_REF_ONE, memory_order_relaxed);
}

enum state_ref_dec {
	STATE_REF_DEC_ALIVE,   /* other references remain */
	STATE_REF_DEC_DEALLOC, /* that was the last: the caller frees the task */
};

/* Releases `n` references. */
static inline enum state_ref_dec weft__state_ref_dec(task_state *s, uint64_t n)
{
	uint64_t prev;

	/* AcqRel: the thread that drops the last reference sees every other
	 * holder's writes before freeing; pairs with the other decrements. */
	prev = atomic_fetch_sub_explicit(s, n * TASK_REF_ONE, memory_order_acq_rel);
	return (prev >> TASK_REF_SHIFT) == n ? STATE_REF_DEC_DEALLOC : STATE_REF_DEC_ALIVE;
}

/* ---- waking and running ----------------------------------------------- */

enum state_notify {
	STATE_NOTIFY_DO_NOTHING, /* complete, already queued, or running */
	STATE_NOTIFY_SUBMIT,     /* was idle: a queue reference was added and
				  * the caller hands the task to its scheduler */
};

static inline enum state_notify weft__state_to_notified(task_state *s)
{
	uint64_t cur = atomic_load_explicit(s, memory_order_relaxed);
	uint64_t next;

	for (;;) {
		if (cur & (TASK_COMPLETE | TASK_NOTIFIED))
			return STATE_NOTIFY_DO_NOTHING;
		if (cur & TASK_RUNNING)
			next = cur | TASK_NOTIFIED;
		else
			next = (cur | TASK_NOTIFIED) + TASK_REF_ONE;
		/* AcqRel: release publishes what the waker wrote before waking
		 * to whoever polls the task next (pairs with the acquire in
		 * weft__state_to_running); acquire gives the waker that
		 * schedules the task its queue link after the last worker's
		 * use of it (pairs with the release in weft__state_to_idle). */
		if (atomic_compare_exchange_weak_explicit(s, &cur, next,
							  memory_order_acq_rel,
							  memory_order_relaxed))
			return (cur & TASK_RUNNING) ? STATE_NOTIFY_DO_NOTHING
						    : STATE_NOTIFY_SUBMIT;
	}
}

enum state_run {
	STATE_RUN_SUCCESS,   /* RUNNING: poll the future */
	STATE_RUN_CANCELLED, /* RUNNING, abort requested: drop it, complete */
	STATE_RUN_COMPLETE,  /* ended while queued (shutdown): release the
			      * queue reference and do nothing else */
};

/* Called with the queue reference of a task taken off a queue. */
static inline enum state_run weft__state_to_running(task_state *s)
{
	uint64_t cur = atomic_load_explicit(s, memory_order_relaxed);
	uint64_t next;

	for (;;) {
		if (cur & TASK_COMPLETE)
			return STATE_RUN_COMPLETE;
		next = (cur | TASK_RUNNING) & ~TASK_NOTIFIED;
		/* Acquire: sees what wakers wrote before waking (pairs with
		 * the release in weft__state_to_notified). */
		if (atomic_compare_exchange_weak_explicit(s, &cur, next,
							  memory_order_acquire,
							  memory_order_relaxed))
			break;
	}
	return (cur & TASK_CANCELLED) ? STATE_RUN_CANCELLED : STATE_RUN_SUCCESS;
}

enum state_idle {
	STATE_IDLE_OK,        /* idle; the queue reference was released */
	STATE_IDLE_NOTIFIED,  /* woken during the poll: the caller re-queues
			       * it, keeping the queue reference */
	STATE_IDLE_CANCELLED, /* still RUNNING, abort requested: the caller
			       * drops the future and completes */
};

/* After a pending poll. */
static inline enum state_idle weft__state_to_idle(task_state *s)
{
	uint64_t cur = atomic_load_explicit(s, memory_order_relaxed);
	uint64_t next;

	for (;;) {
		if (cur & TASK_CANCELLED)
			return STATE_IDLE_CANCELLED;
		next = cur & ~TASK_RUNNING;
		/* Never the last reference: the owned list holds one while
		 * the future is alive. */
		if (!(cur & TASK_NOTIFIED))
			next -= TASK_REF_ONE;
		/* AcqRel: release publishes the poll's writes to the next
		 * poller; acquire sees a concurrent abort's intent. */
		if (atomic_compare_exchange_weak_explicit(s, &cur, next,
							  memory_order_acq_rel,
							  memory_order_relaxed))
			break;
	}
	return (cur & TASK_NOTIFIED) ? STATE_IDLE_NOTIFIED : STATE_IDLE_OK;
}

/* ---- completion --------------------------------------------------------- */

enum state_complete {
	STATE_COMPLETE_DONE,        /* no joiner is waiting */
	STATE_COMPLETE_WAKE_JOINER, /* wake join_waker, then call
				     * weft__state_unset_join_waker_after_complete */
};

/* The future has been dropped: sets COMPLETE (and CANCELLED or not). */
static inline enum state_complete weft__state_to_complete(task_state *s, bool cancelled)
{
	uint64_t cur = atomic_load_explicit(s, memory_order_relaxed);
	uint64_t next;

	for (;;) {
		next = (cur & ~(TASK_RUNNING | TASK_CANCELLED | TASK_NOTIFIED)) | TASK_COMPLETE;
		if (cancelled)
			next |= TASK_CANCELLED;
		/* AcqRel: release publishes the output and the drop's writes
		 * to the join handle (pairs with the acquire loads in
		 * weft__state_completion and the join-waker transitions);
		 * acquire sees the join waker the handle stored before it set
		 * JOIN_WAKER. */
		if (atomic_compare_exchange_weak_explicit(s, &cur, next,
							  memory_order_acq_rel,
							  memory_order_relaxed))
			break;
	}
	return (cur & TASK_JOIN_INTEREST) && (cur & TASK_JOIN_WAKER)
		       ? STATE_COMPLETE_WAKE_JOINER
		       : STATE_COMPLETE_DONE;
}

enum state_waker_back {
	STATE_WAKER_HANDED_BACK, /* the handle owns the field again */
	STATE_WAKER_DROP,        /* the handle is gone: the caller drops it */
};

/* After waking the join waker of a completed task. */
static inline enum state_waker_back weft__state_unset_join_waker_after_complete(task_state *s)
{
	uint64_t prev;

	/* AcqRel: hands the join_waker field back to the handle (release
	 * pairs with the acquire in the handle's transitions), and acquire
	 * sees a handle release that happened meanwhile. */
	prev = atomic_fetch_and_explicit(s, ~TASK_JOIN_WAKER, memory_order_acq_rel);
	return (prev & TASK_JOIN_INTEREST) ? STATE_WAKER_HANDED_BACK : STATE_WAKER_DROP;
}

/* ---- join handles, abort, shutdown ------------------------------------ */

enum state_completion {
	STATE_NOT_COMPLETE,
	STATE_FINISHED,        /* completed with an output */
	STATE_CANCELLED_DONE,  /* completed by cancellation */
};

/* Acquire load: when complete, the output and the drop's writes are
 * visible. */
static inline enum state_completion weft__state_completion(task_state *s)
{
	/* Acquire: sees the output and the drop's writes, published by the
	 * release in weft__state_to_complete. */
	uint64_t cur = atomic_load_explicit(s, memory_order_acquire);

	if (!(cur & TASK_COMPLETE))
		return STATE_NOT_COMPLETE;
	return (cur & TASK_CANCELLED) ? STATE_CANCELLED_DONE : STATE_FINISHED;
}

enum state_join {
	STATE_JOIN_OK,       /* the transition happened */
	STATE_JOIN_COMPLETE, /* the task is complete: the handle owns the
			      * join_waker field, and the output is visible */
};

/* Takes the join_waker field back from the runtime (JOIN_WAKER set). */
static inline enum state_join weft__state_unset_join_waker(task_state *s)
{
	/* Acquire: when COMPLETE is seen here, the output is visible (pairs
	 * with the release in weft__state_to_complete). */
	uint64_t cur = atomic_load_explicit(s, memory_order_acquire);

	for (;;) {
		if (cur & TASK_COMPLETE)
			return STATE_JOIN_COMPLETE;
		/* Acquire: when this fails on COMPLETE, the output is visible
		 * (pairs with the release in weft__state_to_complete).  On
		 * success COMPLETE was clear, so the runtime has not read the
		 * field and will not until JOIN_WAKER is set again. */
		if (atomic_compare_exchange_weak_explicit(s, &cur, cur & ~TASK_JOIN_WAKER,
							  memory_order_acquire,
							  memory_order_acquire))
			return STATE_JOIN_OK;
	}
}
/* Gives the join_waker field, just written, to the runtime. */
static inline enum state_join weft__state_set_join_waker(task_state *s)
{
	/* Acquire: when COMPLETE is seen here, the output is visible (pairs
	 * with the release in weft__state_to_complete). */
	uint64_t cur = atomic_load_explicit(s, memory_order_acquire);

	for (;;) {
		if (cur & TASK_COMPLETE)
			return STATE_JOIN_COMPLETE;
		/* AcqRel: release hands the stored waker to the runtime (pairs
		 * with the acquire in weft__state_to_complete); acquire for
		 * the output when the CAS fails on COMPLETE. */
		if (atomic_compare_exchange_weak_explicit(s, &cur, cur | TASK_JOIN_WAKER,
							  memory_order_acq_rel,
							  memory_order_acquire))
			return STATE_JOIN_OK;
	}
}

enum state_detach {
	STATE_DETACH_DONE,      /* the runtime owns the join_waker field */
	STATE_DETACH_DROP_WAKER /* the handle owns it: drop the waker in it */
};

/* Releases the join handle's interest (its reference is released apart). */
static inline enum state_detach weft__state_unset_join_interest(task_state *s)
{
	uint64_t cur = atomic_load_explicit(s, memory_order_relaxed);
	uint64_t next;

	for (;;) {
		next = cur & ~TASK_JOIN_INTEREST;
		if (!(cur & TASK_COMPLETE))
			next &= ~TASK_JOIN_WAKER;
		/* AcqRel: acquire sees the runtime's last use of the join
		 * waker (pairs with the fetch_and in
		 * weft__state_unset_join_waker_after_complete); release orders
		 * our use of it before the runtime's possible drop. */
		if (atomic_compare_exchange_weak_explicit(s, &cur, next,
							  memory_order_acq_rel,
							  memory_order_relaxed))
			break;
	}
	return (next & TASK_JOIN_WAKER) ? STATE_DETACH_DONE : STATE_DETACH_DROP_WAKER;
}

enum state_cancel {
	STATE_CANCEL_DO_NOTHING, /* complete, or already cancelled or queued */
	STATE_CANCEL_SUBMIT,     /* was idle: a queue reference was added and
				  * the caller schedules the task */
};

static inline enum state_cancel weft__state_to_cancelled(task_state *s)
{
	uint64_t cur = atomic_load_explicit(s, memory_order_relaxed);
	uint64_t next;

	for (;;) {
		if (cur & (TASK_COMPLETE | TASK_CANCELLED))
			return STATE_CANCEL_DO_NOTHING;
		if (cur & TASK_RUNNING)
			next = cur | TASK_CANCELLED | TASK_NOTIFIED;
		else if (cur & TASK_NOTIFIED)
			next = cur | TASK_CANCELLED;
		else
			next = (cur | TASK_CANCELLED | TASK_NOTIFIED) + TASK_REF_ONE;
		/* AcqRel: release pairs with the acquire in
		 * weft__state_to_running so the worker sees the request with
		 * the state it acts on; acquire gives us the task's queue link
		 * after the last worker's use of it when we schedule an idle
		 * task (pairs with the release in weft__state_to_idle). */
		if (atomic_compare_exchange_weak_explicit(s, &cur, next,
							  memory_order_acq_rel,
							  memory_order_relaxed))
			break;
	}
	return (cur & (TASK_RUNNING | TASK_NOTIFIED)) ? STATE_CANCEL_DO_NOTHING
						       : STATE_CANCEL_SUBMIT;
}

/* Called with no worker running.  Returns true when the task was not
 * complete and is now claimed (RUNNING) for shutdown to drop its future. */
static inline bool weft__state_claim_for_shutdown(task_state *s)
{
	uint64_t cur = atomic_load_explicit(s, memory_order_relaxed);

	for (;;) {
		if (cur & TASK_COMPLETE)
			return false;
		/* Mark it running so that wakes only set NOTIFIED and nobody
		 * else touches the future.  Acquire: sees the last poll's
		 * writes (pairs with the release in weft__state_to_idle). */
		if (atomic_compare_exchange_weak_explicit(s, &cur, cur | TASK_RUNNING,
							  memory_order_acquire,
							  memory_order_relaxed))
			return true;
	}
}

#endif /* WEFT_SRC_SCHED_STATE_H */

/*
 * src/sched/state.c - the task-state transitions off the poll path: join
 * wakers, handle release, abort and the shutdown claim.  The protocol is
 * the essay in state.h; the transitions every poll makes are inline there.
 */
#include "state.h"

enum state_waker_back weft__state_unset_join_waker_after_complete(task_state *s)
{
	uint64_t prev;

	/* AcqRel: hands the join_waker field back to the handle (release
	 * pairs with the acquire in the handle's transitions), and acquire
	 * sees a handle release that happened meanwhile. */
	prev = atomic_fetch_and_explicit(s, ~TASK_JOIN_WAKER, memory_order_acq_rel);
	return (prev & TASK_JOIN_INTEREST) ? STATE_WAKER_HANDED_BACK : STATE_WAKER_DROP;
}

enum state_completion weft__state_completion(task_state *s)
{
	/* Acquire: sees the output and the drop's writes, published by the
	 * release in weft__state_to_complete. */
	uint64_t cur = atomic_load_explicit(s, memory_order_acquire);

	if (!(cur & TASK_COMPLETE))
		return STATE_NOT_COMPLETE;
	return (cur & TASK_CANCELLED) ? STATE_CANCELLED_DONE : STATE_FINISHED;
}

enum state_join weft__state_unset_join_waker(task_state *s)
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

enum state_join weft__state_set_join_waker(task_state *s)
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

enum state_detach weft__state_unset_join_interest(task_state *s)
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

enum state_cancel weft__state_to_cancelled(task_state *s)
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

bool weft__state_claim_for_shutdown(task_state *s)
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

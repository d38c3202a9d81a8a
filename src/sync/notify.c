/*
 * src/sync/notify.c - weft_notify: wake one waiter or all of them.
 *
 * The state word
 * ==============
 *
 *   state = generation << 2 | EMPTY / WAITING / NOTIFIED
 *
 *   EMPTY     nobody waits and no permit is stored.
 *   WAITING   the queue is not empty.  Entered and left only under the lock.
 *   NOTIFIED  a permit is stored (nobody waits).
 *   generation  the number of notify_waiters calls so far; changed only
 *               under the lock.
 *
 * Lock-free transitions are EMPTY -> NOTIFIED (notify_one storing the
 * permit, one CAS) and NOTIFIED -> EMPTY (a waiter consuming it, one CAS).
 * Neither applies while WAITING, so a lock holder that sees WAITING knows
 * the low bits stay put until it changes them.
 *
 * notify_one with WAITING takes the lock and pops the oldest waiter.  A
 * waiter is unlinked, its waker moved into a batch and its state set to
 * NOTIFIED_ONE (release store) under the lock, and woken after the lock is
 * dropped; when the queue runs empty the state goes back to EMPTY.
 *
 * notify_waiters
 * --------------
 * A future records the generation when it is created.  notify_waiters
 * increments the generation (under the lock), which completes at once every
 * future that has not queued yet, and then pops, in FIFO order, every queued
 * node whose generation is older than the current one.  Nodes queue with the
 * current generation only (checked under the lock), so the nodes owed a
 * broadcast are always at the front of the queue.  notify_waiters wakes in
 * bounded batches and drops the lock in between; a notify_one that runs in
 * such a gap first finishes the broadcast for any old node it finds at the
 * front (it would be woken anyway) and only then delivers its own
 * notification, so neither call's effect is lost or merged.
 *
 * Cancellation: a future dropped while queued unlinks itself; one dropped
 * after notify_one chose it but before it was polled to ready passes the
 * notification on (to the next waiter, or as the stored permit).
 */
#include <errno.h>
#include <stdatomic.h>

#include "../common/wakebatch.h"
#include "../common/waitlist.h"
#include "../common/lock.h"
#include "weft/sync.h"

#define NOTIFY_EMPTY    ((size_t)0)
#define NOTIFY_WAITING  ((size_t)1)
#define NOTIFY_NOTIFIED ((size_t)2)
#define NOTIFY_MASK     ((size_t)3)
#define NOTIFY_GEN_ONE  ((size_t)4)
#define GEN(s)          ((s) >> 2)
#define WITH(s, low)    (((s) & ~NOTIFY_MASK) | (low))

enum {
	NW_INIT,         /* not polled yet */
	NW_WAITING,      /* queued */
	NW_NOTIFIED_ONE, /* chosen by notify_one, not yet polled to ready */
	NW_NOTIFIED_ALL, /* released by notify_waiters */
	NW_DONE,         /* returned ready, or dropped */
	NW_INIT_QUEUED,  /* not polled yet; others were queued at its creation */
};

#define WAIT_OF(n) \
	((struct weft__notify_wait *)((char *)(n) - offsetof(struct weft__notify_wait, node)))

int weft_notify_init(weft_notify *n)
{
	if (n == NULL)
		return -EINVAL;
	weft__lock_init(&n->lock.lock);
	atomic_init(&n->state, NOTIFY_EMPTY);
	weft__waitlist_init(&n->waiters);
	return 0;
}

void weft_notify_finish(weft_notify *n)
{
	(void)n; /* a weft__lock needs no teardown */
}

/* With the lock held: unlinks `node` and leaves WAITING when the queue is
 * now empty. */
static void unlink_locked(weft_notify *n, struct weft__waiter *node)
{
	weft__waitlist_remove(&n->waiters, node);
	if (weft__waitlist_is_empty(&n->waiters)) {
		size_t cur = atomic_load_explicit(&n->state, memory_order_relaxed);

		/* Relaxed: nothing changes the state lock-free while WAITING,
		 * and leaving WAITING publishes nothing. */
		atomic_store_explicit(&n->state, WITH(cur, NOTIFY_EMPTY), memory_order_relaxed);
	}
}

/* With the lock held: unlinks `node` and moves its waker into `batch`.  The
 * caller then publishes the node's new state, after which it must not touch
 * the node. */
static void pop_locked(weft_notify *n, struct weft__waiter *node, struct weft__wake_batch *batch)
{
	unlink_locked(n, node);
	weft__wake_batch_push(batch, &node->waker);
}

/* Stores the permit (the state is EMPTY or NOTIFIED, or becomes one of them
 * lock-free meanwhile; never WAITING, which needs the lock we hold or the
 * caller saw cleared). */
static bool store_permit(weft_notify *n, size_t cur)
{
	/* Release: publishes the notifier's writes to the waiter that
	 * consumes the permit; pairs with the acquire CAS in take_permit.
	 * Even an already stored permit is rewritten, so that the consumer
	 * synchronises with the latest notifier. */
	return atomic_compare_exchange_weak_explicit(&n->state, &cur, WITH(cur, NOTIFY_NOTIFIED),
						     memory_order_release, memory_order_relaxed);
}

/*
 * Called with the lock held; returns with it released.  Delivers one
 * notify_one notification, first finishing a broadcast for nodes still owed
 * one (see the essay), and wakes whoever it released.
 */
static void notify_one_locked(weft_notify *n)
{
	struct weft__wake_batch batch;

	weft__wake_batch_init(&batch);
	for (;;) {
		size_t cur = atomic_load_explicit(&n->state, memory_order_relaxed);
		struct weft__notify_wait *w;
		bool broadcast;

		if ((cur & NOTIFY_MASK) != NOTIFY_WAITING) {
			if (store_permit(n, cur))
				break;
			continue;
		}
		w = WAIT_OF(weft__waitlist_front(&n->waiters));
		broadcast = w->gen != GEN(cur);
		pop_locked(n, &w->node, &batch);
		/* Release: pairs with the acquire loads in notified_poll and
		 * notified_drop; the node may be freed once this is seen. */
		atomic_store_explicit(&w->state, broadcast ? NW_NOTIFIED_ALL : NW_NOTIFIED_ONE,
				      memory_order_release);
		if (!broadcast)
			break;
		weft__wake_batch_flush_if_full(&batch, &n->lock.lock);
	}
	weft__wake_batch_unlock_wake(&batch, &n->lock.lock);
}

int weft_notify_one(weft_notify *n)
{
	size_t cur;

	if (n == NULL)
		return -EINVAL;
	cur = atomic_load_explicit(&n->state, memory_order_relaxed);
	while ((cur & NOTIFY_MASK) != NOTIFY_WAITING) {
		if (store_permit(n, cur))
			return 0;
		cur = atomic_load_explicit(&n->state, memory_order_relaxed);
	}
	weft__lock_acquire(&n->lock.lock);
	notify_one_locked(n);
	return 0;
}

int weft_notify_waiters(weft_notify *n)
{
	struct weft__wake_batch batch;
	struct weft__waiter *node;

	if (n == NULL)
		return -EINVAL;
	weft__wake_batch_init(&batch);
	weft__lock_acquire(&n->lock.lock);
	/* Release: publishes the notifier's writes to futures that see the
	 * new generation without the lock; pairs with the acquire loads in
	 * first_poll. */
	atomic_fetch_add_explicit(&n->state, NOTIFY_GEN_ONE, memory_order_release);
	while ((node = weft__waitlist_front(&n->waiters)) != NULL) {
		struct weft__notify_wait *w = WAIT_OF(node);
		size_t cur = atomic_load_explicit(&n->state, memory_order_relaxed);

		if (w->gen == GEN(cur))
			break; /* queued after the increment: not ours */
		pop_locked(n, node, &batch);
		/* Release: as in notify_one_locked. */
		atomic_store_explicit(&w->state, NW_NOTIFIED_ALL, memory_order_release);
		weft__wake_batch_flush_if_full(&batch, &n->lock.lock);
	}
	weft__wake_batch_unlock_wake(&batch, &n->lock.lock);
	return 0;
}

/* Consumes a stored permit.  Returns true when there was one. */
static bool take_permit(weft_notify *n, size_t *curp)
{
	size_t cur = *curp;

	while ((cur & NOTIFY_MASK) == NOTIFY_NOTIFIED) {
		/* Acquire: sees the notifier's writes; pairs with the release
		 * CAS in store_permit. */
		if (atomic_compare_exchange_weak_explicit(&n->state, &cur, WITH(cur, NOTIFY_EMPTY),
							  memory_order_acquire,
							  memory_order_relaxed))
			return true;
	}
	*curp = cur;
	return false;
}

int weft_notify_try_notified(weft_notify *n)
{
	size_t cur;

	if (n == NULL)
		return -EINVAL;
	cur = atomic_load_explicit(&n->state, memory_order_relaxed);
	return take_permit(n, &cur) ? 0 : -EAGAIN;
}

/* ---- the notified future -------------------------------------------------- */

/*
 * The first poll.  Returns true when notified at once; otherwise queues
 * the node with the task's waker.
 *
 * The waker is cloned before the lock is taken (as Tokio's Notified does),
 * so the critical section is a few pointer stores: a task waker's clone is
 * an atomic add on the task, whose line the notifier's wake of that task
 * may hold, and the notifier waits on this lock in notify_one.  It also
 * gives a notify_one that stores its permit meanwhile a longer window, so
 * that the look under the lock takes the permit instead of queueing
 * (sync_notify/notify_one_10: 37-49% of the waits queued before, 11-28%
 * after; docs/benchmarks.md).  A permit found under the lock costs the
 * clone's drop.
 */
static bool first_poll(struct weft__notify_wait *w, weft_cx *cx, bool others_queued)
{
	weft_notify *n = w->notify;
	size_t cur;
	weft_waker waker;

	if (!others_queued) {
		/* Guess the state where the wait completes at once (our
		 * generation, a permit stored) and take the permit with a CAS
		 * and no load.  The CAS fetches the line for writing in one
		 * step, where a load fetches it shared and a CAS then upgrades
		 * it, with a notifier spinning on notify_one free to take it
		 * back in between; a wrong guess returns the real state, as the
		 * load would.  (w->gen << 2 is the state's generation part.)
		 * When others were queued at creation no permit can be stored
		 * (not while WAITING), so the load stays: a CAS that fails is
		 * a locked instruction, a load is not. */
		cur = w->gen << 2 | NOTIFY_NOTIFIED;
		/* Acquire on success: sees the notifier's writes; pairs with
		 * the release CAS in store_permit (as take_permit's).  Acquire
		 * on failure: as the load below. */
		if (atomic_compare_exchange_strong_explicit(&n->state, &cur,
							    WITH(cur, NOTIFY_EMPTY),
							    memory_order_acquire,
							    memory_order_acquire))
			return true;
	} else {
		/* Acquire: a newer generation carries notify_waiters' writes;
		 * pairs with its release fetch_add. */
		cur = atomic_load_explicit(&n->state, memory_order_acquire);
	}
	if (GEN(cur) != w->gen || take_permit(n, &cur))
		return true;
	waker = weft_waker_clone(weft_cx_waker(cx));
	weft__lock_acquire(&n->lock.lock);
	/* Acquire: as above. */
	cur = atomic_load_explicit(&n->state, memory_order_acquire);
	for (;;) {
		if (GEN(cur) != w->gen || take_permit(n, &cur)) {
			weft__lock_release(&n->lock.lock);
			weft_waker_drop(&waker);
			return true;
		}
		/* Already WAITING: only lock holders change the state now
		 * (store_permit is never called on WAITING), so there is
		 * nothing to guard against and the CAS is skipped. */
		if ((cur & NOTIFY_MASK) == NOTIFY_WAITING)
			break;
		/* Relaxed: entering WAITING publishes nothing; the CAS only
		 * guards against a lock-free EMPTY -> NOTIFIED. */
		if (atomic_compare_exchange_weak_explicit(&n->state, &cur,
							  WITH(cur, NOTIFY_WAITING),
							  memory_order_relaxed,
							  memory_order_relaxed))
			break;
	}
	weft__waitlist_push_back(&n->waiters, &w->node);
	/* The node's slot is empty: the future was never queued before. */
	w->node.waker = waker;
	/* Relaxed: read outside the lock only by this future's owner. */
	atomic_store_explicit(&w->state, NW_WAITING, memory_order_relaxed);
	weft__lock_release(&n->lock.lock);
	return false;
}

static weft_poll notified_poll(weft_future *f, weft_cx *cx)
{
	weft_notify_future *self = (weft_notify_future *)f;
	struct weft__notify_wait *w = &self->wait;
	unsigned st;

	if (w->notify == NULL) {
		self->result = -EINVAL;
		return WEFT_READY;
	}
	/* Acquire: pairs with the release store of NOTIFIED_*. */
	st = atomic_load_explicit(&w->state, memory_order_acquire);
	if (st == NW_DONE)
		return WEFT_READY;
	if (!weft_coop_proceed(cx))
		return WEFT_PENDING;
	if (st == NW_INIT || st == NW_INIT_QUEUED) {
		if (!first_poll(w, cx, st == NW_INIT_QUEUED)) {
			weft_coop_refund(cx);
			return WEFT_PENDING;
		}
	} else if (st == NW_WAITING) {
		weft_waker stale = { NULL, NULL };

		weft__lock_acquire(&w->notify->lock.lock);
		st = atomic_load_explicit(&w->state, memory_order_relaxed);
		if (st == NW_WAITING)
			stale = weft__waker_replace(&w->node.waker, weft_cx_waker(cx));
		weft__lock_release(&w->notify->lock.lock);
		weft_waker_drop(&stale);
		if (st == NW_WAITING) {
			weft_coop_refund(cx);
			return WEFT_PENDING;
		}
	}
	atomic_store_explicit(&w->state, NW_DONE, memory_order_relaxed);
	self->result = 0;
	return WEFT_READY;
}

static void notified_drop(weft_future *f)
{
	weft_notify_future *self = (weft_notify_future *)f;
	struct weft__notify_wait *w = &self->wait;
	weft_notify *n = w->notify;
	weft_waker stale = { NULL, NULL };
	unsigned st;

	if (n == NULL)
		return;
	/* Acquire: pairs with the release store of NOTIFIED_*. */
	st = atomic_load_explicit(&w->state, memory_order_acquire);
	if (st == NW_WAITING || st == NW_NOTIFIED_ONE) {
		weft__lock_acquire(&n->lock.lock);
		st = atomic_load_explicit(&w->state, memory_order_relaxed);
		if (st == NW_WAITING) {
			unlink_locked(n, &w->node);
			stale = w->node.waker;
			w->node.waker.data = NULL;
			w->node.waker.vtable = NULL;
			weft__lock_release(&n->lock.lock);
		} else if (st == NW_NOTIFIED_ONE) {
			/* Chosen but never told: pass the notification on. */
			notify_one_locked(n);
		} else {
			weft__lock_release(&n->lock.lock);
		}
		weft_waker_drop(&stale);
	}
	atomic_store_explicit(&w->state, NW_DONE, memory_order_relaxed);
}

int weft_notify_notified(weft_notify *n, weft_notify_future *f)
{
	size_t cur;

	if (f == NULL)
		return -EINVAL;
	f->base.poll = notified_poll;
	f->base.drop = notified_drop;
	f->result = -EINVAL;
	weft__waiter_init(&f->wait.node);
	f->wait.notify = n;
	/* Relaxed: coherence is enough - a notify_waiters that happened
	 * before this call is seen. */
	cur = n != NULL ? atomic_load_explicit(&n->state, memory_order_relaxed) : 0;
	f->wait.gen = GEN(cur);
	/* Whether others wait is only a hint for the first poll. */
	atomic_init(&f->wait.state,
		    (cur & NOTIFY_MASK) == NOTIFY_WAITING ? NW_INIT_QUEUED : NW_INIT);
	return n != NULL ? 0 : -EINVAL;
}

/*
 * src/chan/rx_wait.h - how broadcast and watch receivers wait for the next
 * send.  Private; shared by broadcast.c and watch.c.
 *
 * Both channels let receivers look without the lock and queue a future
 * only when there is nothing new.  The channel's lock serialises senders
 * and guards the waiter list; a sender changes what receivers look at only
 * under it, so a look taken under the lock is exact and nothing can slip in
 * between that look and queueing.
 *
 * A send wakes the waiters queued before it: each future records the wake
 * generation it queued in, and the sender stops at the first node queued
 * after its own send (possible because it drops the lock every WAKE_BATCH
 * wakes), so a send never loops on receivers that keep coming back.  A
 * close wakes every waiter.
 */
#ifndef WEFT_SRC_CHAN_RX_WAIT_H
#define WEFT_SRC_CHAN_RX_WAIT_H

#include <errno.h>
#include <stdbool.h>

#include "chan_internal.h"
#include "../common/lock.h"

/*
 * What a broadcast and a watch channel share besides their values: the
 * lock, the waiters, the closed flag and the reference counts.  It lives
 * inside the channel; the channel frees itself when rx_chan_unref says the
 * last reference went.
 */
struct rx_chan {
	/* The futex word of common/lock.h: one inline CAS to take and one
	 * exchange to give back (glibc's mutex was two calls, 21% of a
	 * broadcast fan-out's samples; docs/benchmarks.md). */
	struct weft__lock lock;
	/* Set once, under lock, by the last sender; read by receivers. */
	_Atomic bool closed;
	_Atomic uint64_t senders;
	/* Senders, receivers and anything else that keeps the channel. */
	_Atomic uint64_t refs;
	/* Under lock. */
	struct weft__waitlist waiters;
	uint64_t wake_gen;
};

/*
 * The waiting parts of one receive future.  They live in the future's
 * public struct (weft/chan.h), which differs per channel, so the channel
 * hands them over as pointers.
 */
struct rx_wait {
	bool *queued;
	uint64_t *wait_gen;
	struct weft__waiter *waiter;
};

/* Returns the wake generation the future holding `w` queued in. */
typedef uint64_t rx_wait_gen_fn(const struct weft__waiter *w);

/*
 * Looks for something to receive for the future being polled.  Returns
 * -EAGAIN when there is nothing yet, anything else to finish the future.
 */
typedef int rx_look_fn(void *arg);

/* Starts the channel open, with one sender reference.  Returns 0 (it
 * cannot fail; the int is kept for the callers' error paths). */
static inline int rx_chan_init(struct rx_chan *q)
{
	weft__lock_init(&q->lock);
	atomic_init(&q->closed, false);
	atomic_init(&q->senders, 1);
	atomic_init(&q->refs, 1);
	weft__waitlist_init(&q->waiters);
	q->wake_gen = 0;
	return 0;
}

/* Adds a reference.  The caller already holds one. */
static inline void rx_chan_ref(struct rx_chan *q)
{
	/* Relaxed: made from a reference the caller holds. */
	atomic_fetch_add_explicit(&q->refs, 1, memory_order_relaxed);
}

/* Drops a reference.  Returns true when it was the last: the caller
 * frees the channel (the lock has no destroy step). */
static inline bool rx_chan_unref(struct rx_chan *q)
{
	/* AcqRel: the last reference sees every holder's writes before the
	 * free; pairs with the other decrements. */
	return atomic_fetch_sub_explicit(&q->refs, 1, memory_order_acq_rel) == 1;
}

/* Adds a sender reference.  The caller already holds one. */
static inline void rx_chan_add_sender(struct rx_chan *q)
{
	/* Relaxed: made from a reference the caller holds. */
	atomic_fetch_add_explicit(&q->senders, 1, memory_order_relaxed);
	rx_chan_ref(q);
}

/*
 * Under lock: moves the wakers of the waiters queued before generation
 * `gen` (all of them when `all`; `gen_of` may then be NULL) into `batch`
 * and wakes them, dropping the lock around each full batch.  Returns with
 * the lock held.
 */
static inline void rx_chan_wake_locked(struct rx_chan *q, uint64_t gen, bool all,
					rx_wait_gen_fn *gen_of, struct weft__wake_batch *batch)
{
	struct weft__waiter *w;

	while ((w = weft__waitlist_front(&q->waiters)) != NULL) {
		if (!all && gen_of(w) >= gen)
			break;
		weft__waitlist_remove(&q->waiters, w);
		weft__wake_batch_push(batch, &w->waker);
		weft__wake_batch_flush_if_full(batch, &q->lock);
	}
}

/*
 * Under lock, after a send has published its value: opens a new wake
 * generation, wakes the waiters queued before it, and releases the lock.
 */
static inline void rx_chan_sent_unlock(struct rx_chan *q, rx_wait_gen_fn *gen_of)
{
	struct weft__wake_batch batch;
	uint64_t gen = ++q->wake_gen;

	weft__wake_batch_init(&batch);
	rx_chan_wake_locked(q, gen, false, gen_of, &batch);
	weft__wake_batch_unlock_wake(&batch, &q->lock);
}

/*
 * Drops a sender's count (not its reference: the caller drops that with
 * rx_chan_unref next).  The last sender marks the channel closed under the
 * lock and wakes every waiter.
 */
static inline void rx_chan_release_sender(struct rx_chan *q)
{
	struct weft__wake_batch batch;

	/* AcqRel: the last sender closes after every sender's sends; pairs
	 * with the other decrements. */
	if (atomic_fetch_sub_explicit(&q->senders, 1, memory_order_acq_rel) != 1)
		return;
	weft__wake_batch_init(&batch);
	weft__lock_acquire(&q->lock);
	/* Release: a receiver that sees it also sees every send before it,
	 * so its next look is final; pairs with the acquire of `closed` in
	 * bc_try_recv (broadcast.c) and has_changed (watch.c). */
	atomic_store_explicit(&q->closed, true, memory_order_release);
	rx_chan_wake_locked(q, 0, true, NULL, &batch);
	weft__wake_batch_unlock_wake(&batch, &q->lock);
}

/* Under lock: takes the future off the waiter list if it is still there;
 * returns the waker it held, for the caller to drop after unlocking. */
static inline weft_waker rx_wait_unqueue_locked(struct rx_chan *q, struct rx_wait w)
{
	weft_waker stale = w.waiter->waker;

	weft__waitlist_remove(&q->waiters, w.waiter);
	w.waiter->waker.data = NULL;
	w.waiter->waker.vtable = NULL;
	*w.queued = false;
	return stale;
}

/*
 * Polls a receive future.  Looks with `look(arg)`, first without the lock
 * (unless the future is already queued: then a send has, or will have,
 * woken it, and only the exact look is worth taking), then under it.
 * Returns WEFT_PENDING with the future queued and its waker current, or
 * WEFT_READY with look's answer in *result and the future off the list.
 */
static inline weft_poll rx_wait_poll(struct rx_chan *q, struct rx_wait w, weft_cx *cx,
				     rx_look_fn *look, void *arg, int *result)
{
	weft_waker stale;
	int r;

	if (!weft_coop_proceed(cx))
		return WEFT_PENDING;
	if (!*w.queued) {
		r = look(arg);
		if (r != -EAGAIN)
			goto done;
	}
	weft__lock_acquire(&q->lock);
	r = look(arg);
	if (r == -EAGAIN) {
		if (!w.waiter->linked) {
			weft__waitlist_push_back(&q->waiters, w.waiter);
			*w.wait_gen = q->wake_gen;
			*w.queued = true;
		}
		stale = weft__waker_replace(&w.waiter->waker, weft_cx_waker(cx));
		weft__lock_release(&q->lock);
		weft_waker_drop(&stale);
		weft_coop_refund(cx);
		return WEFT_PENDING;
	}
	stale = rx_wait_unqueue_locked(q, w);
	weft__lock_release(&q->lock);
	weft_waker_drop(&stale);
done:
	*result = r;
	return WEFT_READY;
}

/* Takes a queued future off the list as it is dropped.  Loses nothing,
 * since a receiver only moves when it takes a value. */
static inline void rx_wait_drop_queued(struct rx_chan *q, struct rx_wait w)
{
	weft_waker stale;

	weft__lock_acquire(&q->lock);
	stale = rx_wait_unqueue_locked(q, w);
	weft__lock_release(&q->lock);
	weft_waker_drop(&stale);
}

#endif /* WEFT_SRC_CHAN_RX_WAIT_H */

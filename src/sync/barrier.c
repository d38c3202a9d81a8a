/*
 * src/sync/barrier.c - weft_barrier: n parties meet, one is the leader.
 *
 * The state word
 * ==============
 *
 *   state = generation << 32 | parties arrived in this generation
 *
 * Arriving is one CAS: either arrived + 1 (a follower), or, for the party
 * that makes the count reach `parties`, arrived = 0 and generation + 1 (the
 * leader).  The leader's CAS is what completes a generation; nothing else
 * changes the generation, so "my generation is over" is simply "the
 * generation in the word differs from the one I arrived in".
 *
 * A follower then takes the lock, checks that its generation is still
 * current (else the leader already came and went: it is released) and
 * queues its node, tagged with its generation.  The leader takes the lock
 * and pops, in FIFO order, every node whose generation is older than the
 * current one: those are exactly the followers of the generation it
 * completed (nodes of the next generation can only queue behind them).  It
 * wakes them in bounded batches, dropping the lock between batches.
 *
 * A wait that is cancelled while its generation is still open withdraws:
 * under the lock it unlinks its node and decrements `arrived` with a CAS
 * that succeeds only while the generation is unchanged.  If the leader's CAS
 * won the race, the cancelled party had been counted and the generation
 * completes without it (it was released; there is nothing to hand on).
 *
 * Memory ordering: every arrival is a release RMW on the word and the
 * leader's CAS acquires it (the arrivals form one release sequence), so the
 * leader sees everything every party did before arriving; followers
 * acquire the leader's release store on their node (or its CAS on the word),
 * so they see it too.
 */
#include <errno.h>
#include <stdatomic.h>

#include "../common/wakebatch.h"
#include "../common/waitlist.h"
#include "weft/sync.h"
#include "../common/lock.h"

#define ARRIVED(s) ((uint32_t)(s))
#define GEN(s)     ((uint32_t)((s) >> 32))

enum {
	BW_INIT,     /* not polled yet */
	BW_WAITING,  /* queued */
	BW_RELEASED, /* released by the leader, not yet polled to ready */
	BW_DONE,     /* returned ready, or dropped */
};

#define WAIT_OF(n) \
	((struct weft__barrier_wait *)((char *)(n) - offsetof(struct weft__barrier_wait, node)))

int weft_barrier_init(weft_barrier *b, size_t parties)
{
	if (b == NULL || parties >= UINT32_MAX)
		return -EINVAL;
	weft__lock_init(&b->lock.lock);
	atomic_init(&b->state, 0);
	b->parties = parties == 0 ? 1 : (uint32_t)parties;
	weft__waitlist_init(&b->waiters);
	return 0;
}

void weft_barrier_finish(weft_barrier *b)
{
	(void)b; /* a weft__lock needs no teardown */
}

/*
 * Arrives.  Returns 1 for the leader (the generation is complete), 0 for a
 * follower of generation *gen, or -EAGAIN without arriving when
 * `only_leader` and this arrival would not complete the generation.
 */
static int arrive(weft_barrier *b, bool only_leader, uint32_t *gen)
{
	uint64_t cur = atomic_load_explicit(&b->state, memory_order_relaxed);
	uint64_t next;

	for (;;) {
		bool leader = ARRIVED(cur) + 1 >= b->parties;

		if (!leader && only_leader)
			return -EAGAIN;
		next = leader ? (uint64_t)(GEN(cur) + 1u) << 32 : cur + 1;
		/* AcqRel: release publishes this party's writes before the
		 * barrier; the leader's acquire sees every arrival's (pairs with
		 * the arrivals' release, which form one release sequence). */
		if (atomic_compare_exchange_weak_explicit(&b->state, &cur, next,
							  memory_order_acq_rel,
							  memory_order_relaxed))
			break;
	}
	*gen = GEN(cur);
	return ARRIVED(cur) + 1 >= b->parties ? 1 : 0;
}

/* Releases every queued follower of a completed generation (the leader). */
static void release_followers(weft_barrier *b)
{
	struct weft__wake_batch batch;
	struct weft__waiter *node;

	weft__wake_batch_init(&batch);
	weft__lock_acquire(&b->lock.lock);
	while ((node = weft__waitlist_front(&b->waiters)) != NULL) {
		struct weft__barrier_wait *w = WAIT_OF(node);
		uint64_t cur = atomic_load_explicit(&b->state, memory_order_relaxed);

		if (w->gen == GEN(cur))
			break; /* a party of the open generation */
		weft__waitlist_remove(&b->waiters, node);
		weft__wake_batch_push(&batch, &node->waker);
		/* Release: the follower sees what the leader saw; pairs with
		 * the acquire loads in wait_poll / wait_drop.  The node may be
		 * freed once this is seen. */
		atomic_store_explicit(&w->state, BW_RELEASED, memory_order_release);
		weft__wake_batch_flush_if_full(&batch, &b->lock.lock);
	}
	weft__wake_batch_unlock_wake(&batch, &b->lock.lock);
}

int weft_barrier_try_wait(weft_barrier *b)
{
	uint32_t gen;

	if (b == NULL)
		return -EINVAL;
	if (arrive(b, true, &gen) < 0)
		return -EAGAIN;
	if (b->parties > 1)
		release_followers(b);
	return 0;
}

/* Queues a follower of generation `gen`.  Returns false when the
 * generation is already complete (the follower is released). */
static bool enqueue(struct weft__barrier_wait *w, uint32_t gen, weft_cx *cx)
{
	weft_barrier *b = w->barrier;

	weft__lock_acquire(&b->lock.lock);
	/* Acquire: a completed generation carries the leader's view; pairs
	 * with the leader's CAS in arrive. */
	if (GEN(atomic_load_explicit(&b->state, memory_order_acquire)) != gen) {
		weft__lock_release(&b->lock.lock);
		return false;
	}
	w->gen = gen;
	weft__waitlist_push_back(&b->waiters, &w->node);
	weft_waker_store(&w->node.waker, weft_cx_waker(cx));
	/* Relaxed: read outside the lock only by this future's owner. */
	atomic_store_explicit(&w->state, BW_WAITING, memory_order_relaxed);
	weft__lock_release(&b->lock.lock);
	return true;
}

static weft_poll wait_poll(weft_future *f, weft_cx *cx)
{
	weft_barrier_wait_future *self = (weft_barrier_wait_future *)f;
	struct weft__barrier_wait *w = &self->wait;
	weft_barrier *b = w->barrier;
	uint32_t gen;
	unsigned st;

	if (b == NULL) {
		self->result = -EINVAL;
		return WEFT_READY;
	}
	/* Acquire: pairs with the release store of RELEASED. */
	st = atomic_load_explicit(&w->state, memory_order_acquire);
	if (st == BW_DONE)
		return WEFT_READY;
	if (!weft_coop_proceed(cx))
		return WEFT_PENDING;
	if (st == BW_INIT) {
		if (arrive(b, false, &gen) == 1) {
			if (b->parties > 1)
				release_followers(b);
			self->is_leader = true;
		} else if (enqueue(w, gen, cx)) {
			weft_coop_refund(cx);
			return WEFT_PENDING;
		}
	} else if (st == BW_WAITING) {
		weft_waker stale = { NULL, NULL };

		weft__lock_acquire(&b->lock.lock);
		st = atomic_load_explicit(&w->state, memory_order_relaxed);
		if (st == BW_WAITING)
			stale = weft__waker_replace(&w->node.waker, weft_cx_waker(cx));
		weft__lock_release(&b->lock.lock);
		weft_waker_drop(&stale);
		if (st == BW_WAITING) {
			weft_coop_refund(cx);
			return WEFT_PENDING;
		}
	}
	atomic_store_explicit(&w->state, BW_DONE, memory_order_relaxed);
	self->result = 0;
	return WEFT_READY;
}

static void wait_drop(weft_future *f)
{
	weft_barrier_wait_future *self = (weft_barrier_wait_future *)f;
	struct weft__barrier_wait *w = &self->wait;
	weft_barrier *b = w->barrier;
	weft_waker stale = { NULL, NULL };

	if (b == NULL)
		return;
	/* Acquire: pairs with the release store of RELEASED. */
	if (atomic_load_explicit(&w->state, memory_order_acquire) == BW_WAITING) {
		weft__lock_acquire(&b->lock.lock);
		if (atomic_load_explicit(&w->state, memory_order_relaxed) == BW_WAITING) {
			uint64_t cur = atomic_load_explicit(&b->state, memory_order_relaxed);

			weft__waitlist_remove(&b->waiters, &w->node);
			stale = w->node.waker;
			w->node.waker.data = NULL;
			w->node.waker.vtable = NULL;
			/* Withdraw the arrival while the generation is open.
			 * Relaxed: a withdrawn party published nothing the
			 * others may rely on. */
			while (GEN(cur) == w->gen &&
			       !atomic_compare_exchange_weak_explicit(&b->state, &cur, cur - 1,
								      memory_order_relaxed,
								      memory_order_relaxed))
				;
		}
		weft__lock_release(&b->lock.lock);
		weft_waker_drop(&stale);
	}
	atomic_store_explicit(&w->state, BW_DONE, memory_order_relaxed);
}

int weft_barrier_wait(weft_barrier *b, weft_barrier_wait_future *f)
{
	if (f == NULL)
		return -EINVAL;
	f->base.poll = wait_poll;
	f->base.drop = wait_drop;
	f->result = -EINVAL;
	f->is_leader = false;
	weft__waiter_init(&f->wait.node);
	f->wait.barrier = b;
	f->wait.gen = 0;
	atomic_init(&f->wait.state, BW_INIT);
	return b != NULL ? 0 : -EINVAL;
}

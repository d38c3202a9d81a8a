/*
 * src/common/sem.c - the FIFO counting semaphore behind weft_semaphore,
 * weft_mutex, weft_rwlock and weft_once_cell (src/sync) and the capacity
 * of the bounded mpsc channel (src/chan).  It lives in src/common because
 * both subsystems are built on it; the fast paths are inline in sem.h.
 *
 * The state word
 * ==============
 *
 * One atomic word holds the available permits and two flags:
 *
 *   state = permits << 2 | WAITERS | CLOSED
 *
 *   WAITERS  somebody is (or is about to be) queued.  Set and cleared only
 *            under the queue lock.  While it is set the permit field is 0:
 *            released permits go to the queue, never to the counter.
 *   CLOSED   the semaphore was closed; set once, never cleared.
 *
 * The fast paths touch only this word (both inline, in sem.h):
 *
 *   acquire  CAS permits -= n, allowed when WAITERS is clear and enough
 *            permits are there.  Uncontended, that is one load and one CAS.
 *   release  CAS permits += n, allowed when WAITERS is clear.
 *
 * Everything else happens under the queue lock (a struct weft__lock of
 * lock.h, never held while waking anybody):
 *
 *   enqueue  An acquirer that cannot be served takes the lock, then in one
 *            CAS takes whatever permits are left and sets WAITERS, records
 *            the permits it still needs in its node (`remaining`) and links
 *            the node at the tail.  Taking the lock *before* that CAS is what
 *            makes it safe: a releaser that sees WAITERS must take the lock
 *            too, and then finds the node in the queue.
 *   hand-off A releaser that sees WAITERS takes the lock and gives its
 *            permits to the queue head first: it subtracts them from the
 *            head's `remaining`; a head that is now complete is unlinked,
 *            its waker moved into a batch, and its state set to GRANTED
 *            (release store) - from then on the waiter owns the permits and
 *            nobody touches its node again.  A large request at the head
 *            thus soaks up permits until it is complete, and nobody behind
 *            it can overtake it: the queue is strictly FIFO.  When the
 *            queue runs empty, the leftover permits go to the counter in the
 *            same CAS that clears WAITERS.
 *   close    Sets CLOSED (one CAS when nobody waits) and pops every waiter
 *            with state CLOSED, returning the permits they had collected to
 *            the counter.  Acquirers check CLOSED under the lock before
 *            queueing, so the queue only shrinks once CLOSED is set.
 *
 * Cancellation (weft__sem_wait_drop) is exact: a node that is still queued
 * is unlinked and the permits it had collected are handed on like a
 * release; a node that was GRANTED but not yet polled to ready hands all its
 * permits on; a node polled to ready owns its permits and gives nothing
 * back (the caller releases them).  So no interleaving loses or duplicates a
 * permit.
 *
 * Hand-backs beyond the maximum
 * -----------------------------
 *
 * A release is refused (-EOVERFLOW, or -EPERM for the locks) when the
 * count would exceed the semaphore's maximum (`max`: 1 for a mutex and a
 * once cell, max_readers for a rwlock, WEFT_SEMAPHORE_MAX_PERMITS for a
 * semaphore).  But permits granted to a waiter that has not been polled
 * yet are invisible to that check: a release may legally refill the
 * counter while they are in flight, and a cancelled waiter's hand-back
 * could then push the count past the maximum (two MAX waiters and three
 * releases of MAX would even wrap the state word).  A hand-back cannot
 * fail, so every path that adds permits goes through deposit_locked (or
 * the checked release CAS), and deposit_locked saturates at max: the
 * permits beyond it are discarded.  For a lock that is also what keeps it
 * exclusive after a stray unlock nobody could see.
 *
 * Wakers are collected in a bounded batch (wakebatch.h) and woken after the
 * lock is dropped; a release that completes more waiters than fit drops the
 * lock between batches, keeping the permits it still has to hand out in a
 * local variable meanwhile (WAITERS stays set, so nobody takes them from the
 * counter behind the queue's back).
 */
#include "sem.h"

#include <errno.h>
#include <stdatomic.h>

#include "../common/wakebatch.h"
#include "../common/waitlist.h"
#include "../common/lock.h"

/* The acquire states (sem.h). */
#define WAIT_IDLE    WEFT__SEM_WAIT_IDLE
#define WAIT_QUEUED  WEFT__SEM_WAIT_QUEUED
#define WAIT_GRANTED WEFT__SEM_WAIT_GRANTED
#define WAIT_CLOSED  WEFT__SEM_WAIT_CLOSED
#define WAIT_OWNED   WEFT__SEM_WAIT_OWNED
#define WAIT_DONE    WEFT__SEM_WAIT_DONE

#define WAIT_OF(n) ((struct weft__sem_wait *)((char *)(n) - offsetof(struct weft__sem_wait, node)))

int weft__sem_init(struct weft__sem *s, size_t permits, size_t max)
{
	weft__lock_init(&s->lock.lock);
	atomic_init(&s->state, permits << SEM_SHIFT);
	s->max = max;
	weft__waitlist_init(&s->waiters);
	return 0;
}

void weft__sem_finish(struct weft__sem *s)
{
	(void)s; /* a weft__lock needs no teardown */
}

/*
 * With the lock held and the queue empty: adds `n` permits to the counter
 * and clears WAITERS in one CAS.  The count saturates at s->max: permits
 * beyond it are discarded (see "Hand-backs beyond the maximum" above).
 * No overflow on the way: the count is at most max and n at most
 * SEM_MAX_PERMITS, so the sum fits with the two flag bits.
 */
static void deposit_locked(struct weft__sem *s, size_t n)
{
	size_t cur = atomic_load_explicit(&s->state, memory_order_relaxed);
	size_t next, permits;

	do {
		permits = PERMITS(cur) + n;
		if (permits > s->max)
			permits = s->max;
		next = (permits << SEM_SHIFT) | (cur & SEM_CLOSED);
		/* Release: publishes the releasers' critical sections with the
		 * permits; pairs with the acquire CAS in try_acquire. */
	} while (!atomic_compare_exchange_weak_explicit(&s->state, &cur, next,
							memory_order_release,
							memory_order_relaxed));
}

/*
 * With the lock held: gives `*rem` permits to the queue head first, moving
 * the wakers of completed waiters into `batch`, until the permits run out,
 * the queue runs empty or the batch is full.
 */
static void grant_locked(struct weft__sem *s, size_t *rem, struct weft__wake_batch *batch)
{
	struct weft__waiter *node;

	while (*rem > 0 && !weft__wake_batch_full(batch) &&
	       (node = weft__waitlist_front(&s->waiters)) != NULL) {
		struct weft__sem_wait *w = WAIT_OF(node);

		if (w->remaining > *rem) {
			w->remaining -= *rem;
			*rem = 0;
			return;
		}
		*rem -= w->remaining;
		w->remaining = 0;
		weft__waitlist_remove(&s->waiters, node);
		weft__wake_batch_push(batch, &node->waker);
		/* Release: hands the permits (and the critical sections they
		 * carry) to the waiter; pairs with the acquire loads in
		 * weft__sem_wait_poll and weft__sem_wait_drop.  The node may be
		 * freed as soon as this store is visible. */
		atomic_store_explicit(&w->state, WAIT_GRANTED, memory_order_release);
	}
}

/*
 * Called with the lock held; returns with it released.  Hands `rem` permits
 * to the queue, puts the rest in the counter once the queue is empty, and
 * wakes everybody who is now complete.
 */
static void add_permits_locked(struct weft__sem *s, size_t rem)
{
	struct weft__wake_batch batch;

	weft__wake_batch_init(&batch);
	for (;;) {
		grant_locked(s, &rem, &batch);
		if (weft__waitlist_is_empty(&s->waiters)) {
			deposit_locked(s, rem);
			rem = 0;
		}
		if (rem == 0)
			break;
		/* The batch is full and permits are left for the queue. */
		weft__wake_batch_flush_if_full(&batch, &s->lock.lock);
	}
	weft__wake_batch_unlock_wake(&batch, &s->lock.lock);
}

int weft__sem_release_slow(struct weft__sem *s, size_t n)
{
	/* Somebody waits: the permits go to the queue.  (While WAITERS is set
	 * the counter is 0, so n <= max is the whole overflow check.) */
	weft__lock_acquire(&s->lock.lock);
	add_permits_locked(s, n);
	return 0;
}

void weft__sem_close(struct weft__sem *s)
{
	struct weft__wake_batch batch;
	struct weft__waiter *node;
	size_t cur = atomic_load_explicit(&s->state, memory_order_relaxed);
	size_t returned = 0;

	/* Nobody queued: one CAS.  An acquirer about to queue sets WAITERS in
	 * a CAS under the lock, so either its CAS fails and it then sees
	 * CLOSED, or ours fails and we take the lock below.  Relaxed: CLOSED
	 * publishes nothing. */
	while (!(cur & SEM_WAITERS)) {
		if (cur & SEM_CLOSED)
			return;
		if (atomic_compare_exchange_weak_explicit(&s->state, &cur, cur | SEM_CLOSED,
							  memory_order_relaxed,
							  memory_order_relaxed))
			return;
	}
	weft__wake_batch_init(&batch);
	weft__lock_acquire(&s->lock.lock);
	/* Relaxed: CLOSED publishes nothing; acquirers that race with it are
	 * ordered by the lock (they check it under the lock before queueing). */
	atomic_fetch_or_explicit(&s->state, SEM_CLOSED, memory_order_relaxed);
	while ((node = weft__waitlist_pop_front(&s->waiters)) != NULL) {
		struct weft__sem_wait *w = WAIT_OF(node);

		/* Saturates: deposit_locked caps the count at max anyway. */
		returned += w->needed - w->remaining;
		if (returned > SEM_MAX_PERMITS)
			returned = SEM_MAX_PERMITS;
		weft__wake_batch_push(&batch, &node->waker);
		/* Release: pairs with the acquire loads in poll and drop, which
		 * then never touch the queue again. */
		atomic_store_explicit(&w->state, WAIT_CLOSED, memory_order_release);
		weft__wake_batch_flush_if_full(&batch, &s->lock.lock);
	}
	deposit_locked(s, returned);
	weft__wake_batch_unlock_wake(&batch, &s->lock.lock);
}

bool weft__sem_is_closed(const struct weft__sem *s)
{
	return atomic_load_explicit(&s->state, memory_order_relaxed) & SEM_CLOSED;
}

size_t weft__sem_available(const struct weft__sem *s)
{
	return PERMITS(atomic_load_explicit(&s->state, memory_order_relaxed));
}

/* ---- the acquire future -------------------------------------------------- */

/*
 * The slow path of the first poll: under the lock, either take the permits
 * after all, or take what is left and queue for the rest.  Returns 0 (got
 * them), -EPIPE (closed) or -EAGAIN (queued; the waker is stored).
 */
static int acquire_or_enqueue(struct weft__sem_wait *w, weft_cx *cx)
{
	struct weft__sem *s = w->sem;
	size_t n = w->needed;
	size_t cur, next, took;

	weft__lock_acquire(&s->lock.lock);
	cur = atomic_load_explicit(&s->state, memory_order_relaxed);
	for (;;) {
		if (cur & SEM_CLOSED) {
			weft__lock_release(&s->lock.lock);
			return -EPIPE;
		}
		if (!(cur & SEM_WAITERS) && PERMITS(cur) >= n) {
			next = cur - (n << SEM_SHIFT);
			took = n;
		} else {
			next = (cur & SEM_CLOSED) | SEM_WAITERS;
			took = PERMITS(cur);
		}
		/* Acquire: the permits taken carry their releasers' critical
		 * sections; pairs with the release CAS in weft__sem_release. */
		if (atomic_compare_exchange_weak_explicit(&s->state, &cur, next,
							  memory_order_acquire,
							  memory_order_relaxed))
			break;
	}
	if (took == n) {
		weft__lock_release(&s->lock.lock);
		return 0;
	}
	w->remaining = n - took;
	/* First use of the node (weft__sem_wait_init leaves it be). */
	weft__waiter_init(&w->node);
	weft__waitlist_push_back(&s->waiters, &w->node);
	weft_waker_store(&w->node.waker, weft_cx_waker(cx));
	/* Relaxed: only this future's owner reads its own state outside the
	 * lock, and a releaser reads it only under the lock. */
	atomic_store_explicit(&w->state, WAIT_QUEUED, memory_order_relaxed);
	weft__lock_release(&s->lock.lock);
	return -EAGAIN;
}

static weft_poll finish_poll(struct weft__sem_wait *w, unsigned st, int *result)
{
	if (st == WAIT_GRANTED) {
		atomic_store_explicit(&w->state, WAIT_OWNED, memory_order_relaxed);
		*result = 0;
	} else {
		atomic_store_explicit(&w->state, WAIT_DONE, memory_order_relaxed);
		*result = -EPIPE;
	}
	return WEFT_READY;
}

weft_poll weft__sem_wait_poll_slow(struct weft__sem_wait *w, weft_cx *cx, int *result)
{
	struct weft__sem *s = w->sem;
	weft_waker stale = { NULL, NULL };
	unsigned st;
	int err;

	if (!weft_coop_proceed(cx))
		return WEFT_PENDING;
	/* Acquire: pairs with the release store of GRANTED / CLOSED. */
	st = atomic_load_explicit(&w->state, memory_order_acquire);
	if (st == WAIT_IDLE) {
		if (w->needed == 0) {
			err = weft__sem_is_closed(s) ? -EPIPE : 0;
		} else {
			err = weft__sem_try_acquire(s, w->needed);
			if (err == -EAGAIN)
				err = acquire_or_enqueue(w, cx);
		}
		if (err == -EAGAIN) {
			weft_coop_refund(cx);
			return WEFT_PENDING;
		}
		atomic_store_explicit(&w->state, err == 0 ? WAIT_OWNED : WAIT_DONE,
				      memory_order_relaxed);
		*result = err;
		return WEFT_READY;
	}
	if (st == WAIT_GRANTED || st == WAIT_CLOSED)
		return finish_poll(w, st, result);
	if (st != WAIT_QUEUED) /* polled after ready: keep the result */
		return WEFT_READY;

	/* Still queued: refresh the waker under the lock, where releasers
	 * read it, unless the hand-off happened meanwhile. */
	weft__lock_acquire(&s->lock.lock);
	st = atomic_load_explicit(&w->state, memory_order_relaxed);
	if (st == WAIT_QUEUED)
		stale = weft__waker_replace(&w->node.waker, weft_cx_waker(cx));
	weft__lock_release(&s->lock.lock);
	weft_waker_drop(&stale);
	if (st != WAIT_QUEUED)
		return finish_poll(w, st, result);
	weft_coop_refund(cx);
	return WEFT_PENDING;
}

void weft__sem_wait_drop_slow(struct weft__sem_wait *w)
{
	struct weft__sem *s = w->sem;
	weft_waker stale = { NULL, NULL };
	unsigned st;

	/* Acquire: pairs with the release store of GRANTED / CLOSED. */
	st = atomic_load_explicit(&w->state, memory_order_acquire);
	if (st == WAIT_QUEUED || st == WAIT_GRANTED) {
		weft__lock_acquire(&s->lock.lock);
		st = atomic_load_explicit(&w->state, memory_order_relaxed);
		if (st == WAIT_QUEUED) {
			/* Still queued: leave, and hand on what was collected
			 * (also clears WAITERS if the queue is now empty). */
			weft__waitlist_remove(&s->waiters, &w->node);
			stale = w->node.waker;
			w->node.waker.data = NULL;
			w->node.waker.vtable = NULL;
			add_permits_locked(s, w->needed - w->remaining);
		} else if (st == WAIT_GRANTED) {
			/* Handed every permit but never told: pass them on. */
			add_permits_locked(s, w->needed);
		} else {
			weft__lock_release(&s->lock.lock);
		}
		weft_waker_drop(&stale);
	}
	atomic_store_explicit(&w->state, WAIT_DONE, memory_order_relaxed);
}

/*
 * src/common/sem.h - the FIFO counting semaphore shared by weft_semaphore,
 * weft_mutex, weft_rwlock and weft_once_cell (src/sync) and by the bounded
 * mpsc channel (src/chan).  Private; see the essay at the top of sem.c.
 * The two fast paths (take permits, return permits while nobody waits) are
 * inline here, so that a channel send or a mutex lock costs one CAS and no
 * call; everything that takes the queue lock is in sem.c.
 */
#ifndef WEFT_SRC_COMMON_SEM_H
#define WEFT_SRC_COMMON_SEM_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "weft/sync.h"
#include "weft/waiter.h"

/* The state word: permits << SEM_SHIFT | SEM_WAITERS | SEM_CLOSED (the
 * encoding is in weft/waiter.h, where sync.h's inline fast paths see it). */
#define SEM_CLOSED  WEFT__SEM_CLOSED
#define SEM_WAITERS WEFT__SEM_WAITERS
#define SEM_SHIFT   WEFT__SEM_SHIFT
#define PERMITS(s)  ((s) >> SEM_SHIFT)

/* The largest permit count (the state word keeps two flag bits and one bit
 * of headroom so that a sum of two valid counts cannot overflow). */
#define SEM_MAX_PERMITS WEFT_SEMAPHORE_MAX_PERMITS

/*
 * Initialises `s` with `permits` available permits and a maximum of `max`
 * (permits <= max <= SEM_MAX_PERMITS): the count never exceeds `max`.
 * Returns 0 (kept as an int for callers that check it: nothing can fail).
 */
int weft__sem_init(struct weft__sem *s, size_t permits, size_t max);
void weft__sem_finish(struct weft__sem *s);

/* Takes `n` permits without waiting.  Returns 0, -EAGAIN or -EPIPE. */
static inline int weft__sem_try_acquire(struct weft__sem *s, size_t n)
{
	size_t cur = atomic_load_explicit(&s->state, memory_order_relaxed);

	for (;;) {
		if (cur & SEM_CLOSED)
			return -EPIPE;
		if ((cur & SEM_WAITERS) || PERMITS(cur) < n)
			return -EAGAIN;
		/* Acquire: the permits carry the critical section of whoever
		 * released them; pairs with the release CAS in
		 * weft__sem_release and in deposit_locked (sem.c). */
		if (atomic_compare_exchange_weak_explicit(&s->state, &cur,
							  cur - (n << SEM_SHIFT),
							  memory_order_acquire,
							  memory_order_relaxed))
			return 0;
	}
}

/* The slow path of weft__sem_release: WAITERS was seen, so the permits go
 * to the queue under the lock.  Returns 0. */
int weft__sem_release_slow(struct weft__sem *s, size_t n);

/*
 * Returns `n` permits.  Fails with -EOVERFLOW, releasing nothing, when the
 * count would exceed the maximum given to weft__sem_init (1 for a mutex,
 * max_readers for a rwlock).
 */
static inline int weft__sem_release(struct weft__sem *s, size_t n)
{
	size_t max = s->max;
	size_t cur;

	if (n == 0)
		return 0;
	if (n > max)
		return -EOVERFLOW;
	cur = atomic_load_explicit(&s->state, memory_order_relaxed);
	while (!(cur & SEM_WAITERS)) {
		if (PERMITS(cur) > max - n)
			return -EOVERFLOW;
		/* Release: publishes the holder's critical section to the next
		 * acquirer; pairs with the acquire CAS in try_acquire. */
		if (atomic_compare_exchange_weak_explicit(&s->state, &cur,
							  cur + (n << SEM_SHIFT),
							  memory_order_release,
							  memory_order_relaxed))
			return 0;
	}
	return weft__sem_release_slow(s, n);
}

/* weft__sem_release(s, 1), with the checks that only a constant 1 makes
 * unnecessary left out (the maximum check stays). */
static inline int weft__sem_release_one(struct weft__sem *s)
{
	size_t cur = atomic_load_explicit(&s->state, memory_order_relaxed);

	while (!(cur & SEM_WAITERS)) {
		if (PERMITS(cur) >= s->max)
			return -EOVERFLOW;
		/* Release: as in weft__sem_release. */
		if (atomic_compare_exchange_weak_explicit(&s->state, &cur,
							  cur + ((size_t)1 << SEM_SHIFT),
							  memory_order_release,
							  memory_order_relaxed))
			return 0;
	}
	return weft__sem_release_slow(s, 1);
}

/* Closes `s` (idempotent). */
void weft__sem_close(struct weft__sem *s);
bool weft__sem_is_closed(const struct weft__sem *s);
size_t weft__sem_available(const struct weft__sem *s);

/* The states of an acquire (WEFT__SEM_WAIT_*) are in weft/waiter.h. */

/*
 * Prepares `w` to acquire `n` permits of `s`.  The waiter node is left
 * uninitialised: it is set up when (if ever) the acquire queues, and
 * nothing reads it before (every path that touches it first checks that
 * the state is QUEUED or later).
 */
static inline void weft__sem_wait_init(struct weft__sem_wait *w, struct weft__sem *s, size_t n)
{
	w->sem = s;
	w->needed = n;
	w->remaining = n;
	atomic_init(&w->state, WEFT__SEM_WAIT_IDLE);
}

/* The out-of-line parts of weft__sem_wait_poll and weft__sem_wait_drop. */
weft_poll weft__sem_wait_poll_slow(struct weft__sem_wait *w, weft_cx *cx, int *result);
void weft__sem_wait_drop_slow(struct weft__sem_wait *w);

/*
 * Polls the acquire (spending one unit of the budget).  On WEFT_READY,
 * *result is 0 (the caller holds the permits) or -EPIPE (closed).  Must not
 * be polled again after WEFT_READY.  The first poll of an acquire that gets
 * its permits at once (one CAS) is inline; the rest is in sem.c.
 */
static inline weft_poll weft__sem_wait_poll(struct weft__sem_wait *w, weft_cx *cx, int *result)
{
	int err;

	/* Relaxed: IDLE is left only by this future's owner (us), so our own
	 * program order is enough to read it; other states go to sem.c,
	 * which loads them with acquire. */
	if (atomic_load_explicit(&w->state, memory_order_relaxed) != WEFT__SEM_WAIT_IDLE ||
	    w->needed == 0)
		return weft__sem_wait_poll_slow(w, cx, result);
	if (!weft_coop_proceed(cx))
		return WEFT_PENDING;
	err = weft__sem_try_acquire(w->sem, w->needed);
	if (err == -EAGAIN) {
		/* The slow path spends the unit again, and queues. */
		weft_coop_refund(cx);
		return weft__sem_wait_poll_slow(w, cx, result);
	}
	atomic_store_explicit(&w->state, err == 0 ? WEFT__SEM_WAIT_OWNED : WEFT__SEM_WAIT_DONE,
			      memory_order_relaxed);
	*result = err;
	return WEFT_READY;
}

/*
 * Cancels the acquire: unlinks it if queued and passes on every permit it
 * was handed but had not yet returned as ready.  After a ready poll it does
 * nothing (the caller owns the permits).  Idempotent.  Inline unless the
 * acquire was ever queued.
 */
static inline void weft__sem_wait_drop(struct weft__sem_wait *w)
{
	/* Relaxed: QUEUED is entered only by the owner (us); a releaser or
	 * close moves it on to GRANTED or CLOSED, which the slow path loads
	 * again with acquire.  A state this load reads as anything but
	 * QUEUED or GRANTED needs no hand-back: IDLE, OWNED and DONE are our
	 * own, and CLOSED already returned its permits. */
	unsigned st = atomic_load_explicit(&w->state, memory_order_relaxed);

	if (st == WEFT__SEM_WAIT_QUEUED || st == WEFT__SEM_WAIT_GRANTED) {
		weft__sem_wait_drop_slow(w);
		return;
	}
	atomic_store_explicit(&w->state, WEFT__SEM_WAIT_DONE, memory_order_relaxed);
}

#endif /* WEFT_SRC_COMMON_SEM_H */

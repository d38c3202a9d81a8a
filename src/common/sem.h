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

/* The state word: permits << SEM_SHIFT | SEM_WAITERS | SEM_CLOSED. */
#define SEM_CLOSED  ((size_t)1)
#define SEM_WAITERS ((size_t)2)
#define SEM_SHIFT   2
#define PERMITS(s)  ((s) >> SEM_SHIFT)

/* The largest permit count (the state word keeps two flag bits and one bit
 * of headroom so that a sum of two valid counts cannot overflow). */
#define SEM_MAX_PERMITS WEFT_SEMAPHORE_MAX_PERMITS

/*
 * Initialises `s` with `permits` available permits and a maximum of `max`
 * (permits <= max <= SEM_MAX_PERMITS): the count never exceeds `max`.
 * Returns 0 or the negative errno of pthread_mutex_init.
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

/* Prepares `w` to acquire `n` permits of `s`. */
void weft__sem_wait_init(struct weft__sem_wait *w, struct weft__sem *s, size_t n);

/*
 * Polls the acquire (spending one unit of the budget).  On WEFT_READY,
 * *result is 0 (the caller holds the permits) or -EPIPE (closed).  Must not
 * be polled again after WEFT_READY.
 */
weft_poll weft__sem_wait_poll(struct weft__sem_wait *w, weft_cx *cx, int *result);

/*
 * Cancels the acquire: unlinks it if queued and passes on every permit it
 * was handed but had not yet returned as ready.  After a ready poll it does
 * nothing (the caller owns the permits).  Idempotent.
 */
void weft__sem_wait_drop(struct weft__sem_wait *w);

#endif /* WEFT_SRC_COMMON_SEM_H */

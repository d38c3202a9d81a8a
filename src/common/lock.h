/*
 * src/common/lock.h - the locks that guard waiter lists and queues.
 * Private; shared by every subsystem.
 *
 * Two kinds:
 *  - weft__mutex_init: a glibc adaptive pthread mutex (or a default one),
 *    for code that still uses pthread_mutex_t;
 *  - struct weft__lock (layout in weft/waiter.h): a 32-bit word on the
 *    address wait of platform.h (a futex on Linux, WaitOnAddress on
 *    Windows, hashed condition variables elsewhere).  Lock and unlock
 *    without contention are one atomic read-modify-write each, inline in
 *    the caller, with no call and no thread identity; a contended lock
 *    spins a bounded number of times and then sleeps on the word.  It is
 *    not recursive, not tied to a thread and has no destroy step (a zeroed
 *    word is an unlocked lock).  Critical sections under it must be short
 *    and must never wait or wake anybody (wakebatch.h wakes after the
 *    unlock).  lock.c has the protocol.
 *
 * API of struct weft__lock (every call: any thread):
 *   weft__lock_init(l)     unlocked (the same as zeroing the word)
 *   weft__lock_acquire(l)  takes it, waiting as long as needed
 *   weft__lock_try(l)      takes it if free now; returns true on success
 *   weft__lock_release(l)  releases it (the caller holds it)
 */
#ifndef WEFT_SRC_COMMON_LOCK_H
#define WEFT_SRC_COMMON_LOCK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "weft/waiter.h"

/*
 * Initialises `m` as an adaptive mutex where the C library has one (glibc:
 * a contended lock spins a bounded number of times before it sleeps on the
 * futex; the critical sections it guards are a few pointer updates), else a
 * default one.  Returns 0 or the negative errno of pthread_mutex_init
 * (glibc: always 0, the adaptive mutex is a copied constant; see lock.c).
 */
int weft__mutex_init(pthread_mutex_t *m);

/* The word of a struct weft__lock: free, held, held with (maybe) sleepers. */
#define WEFT__LOCK_FREE      0u
#define WEFT__LOCK_HELD      1u
#define WEFT__LOCK_CONTENDED 2u

/* The slow paths of acquire and release (lock.c). */
void weft__lock_acquire_slow(struct weft__lock *l);
void weft__lock_wake(struct weft__lock *l);

/* Initialises `l`, unlocked. */
static inline void weft__lock_init(struct weft__lock *l)
{
	atomic_init(&l->word, WEFT__LOCK_FREE);
}

/* Takes `l` if it is free right now.  Returns true when the caller holds
 * it. */
static inline bool weft__lock_try(struct weft__lock *l)
{
	uint32_t free_word = WEFT__LOCK_FREE;

	/* Acquire: the critical section of the last holder happens before
	 * ours; pairs with the release exchange in weft__lock_release. */
	return atomic_compare_exchange_strong_explicit(&l->word, &free_word, WEFT__LOCK_HELD,
						       memory_order_acquire,
						       memory_order_relaxed);
}

/* Takes `l`, spinning briefly and then sleeping while another thread holds
 * it. */
static inline void weft__lock_acquire(struct weft__lock *l)
{
	if (!weft__lock_try(l))
		weft__lock_acquire_slow(l);
}

/* Releases `l`, which the caller holds, and wakes one sleeper if the word
 * said there might be one. */
static inline void weft__lock_release(struct weft__lock *l)
{
	/* Release: publishes the critical section to the next holder; pairs
	 * with the acquire CAS in weft__lock_try and the acquire exchange in
	 * weft__lock_acquire_slow. */
	if (atomic_exchange_explicit(&l->word, WEFT__LOCK_FREE, memory_order_release) ==
	    WEFT__LOCK_CONTENDED)
		weft__lock_wake(l);
}

#endif /* WEFT_SRC_COMMON_LOCK_H */

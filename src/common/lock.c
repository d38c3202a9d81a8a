/*
 * src/common/lock.c - mutex initialisation and the slow paths of struct
 * weft__lock (see lock.h).
 *
 * weft__mutex_init
 * ================
 * Every primitive used to initialise one of these, and some are made per
 * operation (a fresh once cell, a child cancellation token), so the setup
 * is a copy of a constant rather than pthread_mutexattr_init, settype,
 * pthread_mutex_init and pthread_mutexattr_destroy (about 100 instructions
 * on glibc, against a 40-byte copy).  The constant is glibc's own
 * initialiser for an adaptive mutex; pthread_mutex_init with the adaptive
 * attribute produces the same bytes, and pthread_mutex_destroy works on it
 * as on any other (ThreadSanitizer handles statically initialised mutexes
 * too).  Elsewhere pthread_mutex_init is called as before.
 *
 * struct weft__lock
 * =================
 * A three-state word (the classic futex mutex):
 *
 *   FREE       nobody holds it;
 *   HELD       held, and no thread sleeps on the word;
 *   CONTENDED  held, and a thread may be sleeping on the word.
 *
 * Acquire: one CAS FREE -> HELD (inline).  When that fails, spin a bounded
 * number of rounds reading the word and retrying the CAS whenever it reads
 * FREE: the critical sections are a few pointer updates, so a holder that
 * is running lets go within a few hundred cycles.  After the spin, a
 * waiter exchanges the word to CONTENDED: if it was FREE the waiter now
 * holds the lock (marked CONTENDED, which at worst costs one needless
 * wake later); otherwise it sleeps while the word is CONTENDED and tries
 * the exchange again when it wakes.  Because every sleeper has written
 * CONTENDED before sleeping, and a waiter that takes the lock after a
 * sleep keeps it CONTENDED, the word stays CONTENDED while any thread may
 * sleep on it.
 *
 * Release: exchange the word to FREE (inline); if it was CONTENDED, wake
 * one sleeper.  The address wait compares the word and sleeps atomically
 * against the wake (platform.h), so a release between a waiter's exchange
 * and its sleep makes the sleep return at once: no wake is lost.
 *
 * Fairness: none (a running thread may take the lock before a woken one);
 * the queues it protects are what is fair.
 */
#define _GNU_SOURCE
#include "lock.h"

#include "platform.h"

int weft__mutex_init(pthread_mutex_t *m)
{
#if defined(PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP)
	static const pthread_mutex_t adaptive = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;

	*m = adaptive;
	return 0;
#else
	return -pthread_mutex_init(m, NULL);
#endif
}

/* Rounds of spinning before a contended acquire sleeps. */
#define LOCK_SPIN 100


void weft__lock_acquire_slow(struct weft__lock *l)
{
	int spin;

	for (spin = 0; spin < LOCK_SPIN; spin++) {
		/* Relaxed: only a hint that the CAS may succeed; the CAS
		 * itself acquires. */
		if (atomic_load_explicit(&l->word, memory_order_relaxed) == WEFT__LOCK_FREE &&
		    weft__lock_try(l))
			return;
		weft__cpu_relax();
	}
	/* Acquire: as in weft__lock_try (an exchange that finds FREE takes
	 * the lock); pairs with the release exchange in weft__lock_release. */
	while (atomic_exchange_explicit(&l->word, WEFT__LOCK_CONTENDED, memory_order_acquire) !=
	       WEFT__LOCK_FREE)
		weft__addr_wait(&l->word, WEFT__LOCK_CONTENDED, UINT64_MAX);
}

void weft__lock_wake(struct weft__lock *l)
{
	weft__addr_wake_one(&l->word);
}

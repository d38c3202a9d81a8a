/*
 * src/common/wait_condvar.c - the portable address wait of platform.h, for
 * systems with neither a futex nor WaitOnAddress (and on Linux with
 * -Dparking=condvar, so the whole suite runs on it).
 *
 * The protocol
 * ============
 *
 * A fixed table of buckets, each one mutex and one condition variable; an
 * address hashes to one bucket.  A waiter locks its bucket, compares the
 * word with `expected` and, while they are equal, sleeps on the bucket's
 * condition variable (which releases the mutex atomically).  A waker
 * changed the word before it calls wake; it then locks the bucket and
 * broadcasts.  No wake is lost: either the waiter compared before the
 * waker took the lock, and then it was already asleep on the condition
 * variable when the broadcast came (pthread_cond_wait released the mutex
 * only once it was queued), or it compared after, and then the mutex
 * orders the waker's change before the comparison, which fails.
 *
 * Several addresses share a bucket, so a wake is a broadcast: waiters of
 * other words wake spuriously, re-check their word and sleep again, which
 * platform.h allows.  Wakes of a word nobody waits on still take a mutex;
 * the callers (park.c) make a wake only when they swapped out a "parked"
 * value, so that cost is paid only with a sleeper.
 */
#include "platform.h"

#include <stdbool.h>
#include <stdint.h>

const char weft__addr_wait_name[] = "condvar";

#define NBUCKETS 64u

struct bucket {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Waiters in this bucket: a wake with none skips the broadcast. */
	unsigned waiters;
	/* Keeps buckets on separate cache lines. */
	_Alignas(64) char pad_;
};

static struct bucket buckets[NBUCKETS];
static pthread_once_t buckets_once = PTHREAD_ONCE_INIT;
static bool buckets_ok;

static void buckets_init(void)
{
	unsigned i;

	for (i = 0; i < NBUCKETS; i++) {
		if (pthread_mutex_init(&buckets[i].lock, NULL) != 0 ||
		    weft__cond_init_mono(&buckets[i].cond) != 0)
			return;
	}
	buckets_ok = true;
}

static struct bucket *bucket_of(const void *addr)
{
	/* Fibonacci hashing of the address without its low (alignment) bits. */
	uint64_t h = ((uint64_t)(uintptr_t)addr >> 2) * UINT64_C(0x9e3779b97f4a7c15);

	return &buckets[h >> 58];
}

void weft__addr_wait(_Atomic uint32_t *word, uint32_t expected, uint64_t deadline_ns)
{
	struct bucket *b;
	struct timespec ts;

	pthread_once(&buckets_once, buckets_init);
	if (!buckets_ok)
		return; /* a spurious return: the caller loops (and spins) */
	b = bucket_of(word);
	if (deadline_ns != UINT64_MAX)
		ts = weft__cond_deadline(deadline_ns);
	pthread_mutex_lock(&b->lock);
	/* Relaxed: the bucket mutex orders this load after the waker's
	 * change (the waker locks the same mutex before it broadcasts). */
	if (atomic_load_explicit(word, memory_order_relaxed) == expected) {
		b->waiters++;
		if (deadline_ns == UINT64_MAX)
			pthread_cond_wait(&b->cond, &b->lock);
		else
			pthread_cond_timedwait(&b->cond, &b->lock, &ts);
		b->waiters--;
	}
	pthread_mutex_unlock(&b->lock);
}

static void wake(_Atomic uint32_t *word)
{
	struct bucket *b;

	pthread_once(&buckets_once, buckets_init);
	if (!buckets_ok)
		return;
	b = bucket_of(word);
	pthread_mutex_lock(&b->lock);
	if (b->waiters != 0)
		pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

void weft__addr_wake_one(_Atomic uint32_t *word)
{
	wake(word);
}

void weft__addr_wake_all(_Atomic uint32_t *word)
{
	wake(word);
}

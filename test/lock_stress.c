/*
 * The lock of src/common/lock.h (struct weft__lock) under contention:
 * threads increment plain (non-atomic) counters under one lock, mixing
 * blocking acquires and try-locks, with critical sections of varying
 * length so that some acquires spin and some sleep on the word.  Every
 * increment must be there at the end (a broken exclusion loses some, and
 * ThreadSanitizer reports the race), the lock must end free, and no
 * sleeper may be forgotten (a lost wake hangs the test; meson's timeout
 * fails it).  A second lock shares the first one's cache line, as the
 * locks of neighbouring primitives do.
 */
#include "test.h"

#include "../src/common/lock.h"

#define THREADS 4

static struct {
	struct weft__lock a, b;
} locks;
static long counter_a, counter_b; /* under locks.a / locks.b */
static long shadow_a;             /* under locks.a: always counter_a * 3 */
static long rounds;
static _Atomic long try_hits;

static void *worker_main(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	uint64_t rng = 0x9e3779b97f4a7c15u * (me + 1);
	long i;

	for (i = 0; i < rounds; i++) {
		unsigned spin, k;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		spin = (unsigned)(rng % 64);
		if ((rng >> 20) % 4 == 0 && weft__lock_try(&locks.a)) {
			atomic_fetch_add_explicit(&try_hits, 1, memory_order_relaxed);
		} else {
			weft__lock_acquire(&locks.a);
		}
		counter_a++;
		/* A longer critical section now and then, so waiters sleep. */
		for (k = 0; k < spin; k++)
			shadow_a += 1;
		shadow_a += 3 - (long)spin;
		CHECK_EQ(shadow_a, counter_a * 3);
		weft__lock_release(&locks.a);

		weft__lock_acquire(&locks.b);
		counter_b += 2;
		weft__lock_release(&locks.b);
	}
	return NULL;
}

int main(void)
{
	pthread_t th[THREADS];
	unsigned i;

	rounds = 200000 * test_scale();
	weft__lock_init(&locks.a);
	weft__lock_init(&locks.b);

	/* Uncontended: try on a free lock succeeds, on a held one fails. */
	CHECK(weft__lock_try(&locks.a));
	CHECK(!weft__lock_try(&locks.a));
	weft__lock_release(&locks.a);
	CHECK_EQ(atomic_load(&locks.a.word), WEFT__LOCK_FREE);

	for (i = 0; i < THREADS; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, worker_main, (void *)(uintptr_t)i), 0);
	for (i = 0; i < THREADS; i++)
		CHECK_EQ(pthread_join(th[i], NULL), 0);

	CHECK_EQ(counter_a, THREADS * rounds);
	CHECK_EQ(counter_b, 2 * THREADS * rounds);
	CHECK_EQ(shadow_a, counter_a * 3);
	CHECK_EQ(atomic_load(&locks.a.word), WEFT__LOCK_FREE);
	CHECK_EQ(atomic_load(&locks.b.word), WEFT__LOCK_FREE);
	printf("lock_stress: %ld rounds x %d threads, %ld try-lock hits\n", rounds, THREADS,
	       (long)atomic_load(&try_hits));
	return 0;
}

/*
 * The address wait of src/common/platform.h (a futex, WaitOnAddress or the
 * condition-variable buckets, whichever was built) under contention: a
 * token passed around a ring of threads with wake_one, a generation word
 * broadcast to several waiters with wake_all, timed waits that end at
 * their deadline, a wait on a changed word that returns at once, and the
 * monotonic clock never going back.  No wake may be lost: a lost one hangs
 * the test (meson's timeout fails it).
 */
#include "test.h"

#include "../src/common/platform.h"
#include "weft_config.h"

#define RING 4
#define WAITERS 3

/* Words that share cache lines (and, on the fallback, often a bucket). */
static _Atomic uint32_t token[RING];
static long rounds;
static _Atomic long passes;

static void *ring_main(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg, next = (me + 1) % RING;
	long i;

	for (i = 0; i < rounds; i++) {
		/* Acquire: pairs with the release store of the previous
		 * holder, so `passes` is ordered too. */
		while (atomic_load_explicit(&token[me], memory_order_acquire) == 0)
			weft__addr_wait(&token[me], 0, UINT64_MAX);
		atomic_store_explicit(&token[me], 0, memory_order_relaxed);
		atomic_fetch_add_explicit(&passes, 1, memory_order_relaxed);
		/* Release: hands the token on; pairs with the acquire above. */
		atomic_store_explicit(&token[next], 1, memory_order_release);
		weft__addr_wake_one(&token[next]);
	}
	return NULL;
}

static void test_ring(void)
{
	pthread_t th[RING];
	unsigned i;

	rounds = 2000 * test_scale();
	atomic_store(&token[0], 1);
	for (i = 0; i < RING; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, ring_main, (void *)(uintptr_t)i), 0);
	for (i = 0; i < RING; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ(atomic_load(&passes), rounds * RING);
	/* The last pass left the token with thread 0 again. */
	CHECK_EQ(atomic_load(&token[0]), 1);
}

static _Atomic uint32_t gen;
static _Atomic uint32_t acks;
static uint32_t last_gen;

static void *gen_main(void *arg)
{
	uint32_t seen = 0;

	(void)arg;
	while (seen != last_gen) {
		uint32_t g = atomic_load_explicit(&gen, memory_order_acquire);

		if (g == seen) {
			weft__addr_wait(&gen, seen, UINT64_MAX);
			continue;
		}
		CHECK(g > seen);
		seen = g;
		atomic_fetch_add_explicit(&acks, 1, memory_order_relaxed);
		weft__addr_wake_all(&acks);
	}
	return NULL;
}

static void test_broadcast(void)
{
	pthread_t th[WAITERS];
	uint32_t g;
	unsigned i;

	last_gen = (uint32_t)(500 * test_scale());
	for (i = 0; i < WAITERS; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, gen_main, NULL), 0);
	for (g = 1; g <= last_gen; g++) {
		uint32_t a;

		/* Release: pairs with the waiters' acquire loads. */
		atomic_store_explicit(&gen, g, memory_order_release);
		weft__addr_wake_all(&gen);
		/* Wait until every waiter saw g (each acks every value it
		 * sees, and it cannot see g + 1 before we store it). */
		while ((a = atomic_load(&acks)) < g * WAITERS)
			weft__addr_wait(&acks, a, UINT64_MAX);
	}
	for (i = 0; i < WAITERS; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ(atomic_load(&acks), last_gen * WAITERS);
}

static void test_timed_and_changed(void)
{
	_Atomic uint32_t w = 5;
	uint64_t deadline = weft__mono_ns() + 2000000u, prev, now;
	int i;

	/* A changed word: returns without sleeping (or hangs the test). */
	weft__addr_wait(&w, 4, UINT64_MAX);
	/* Nobody wakes w: each wait ends at the deadline or spuriously;
	 * the loop ends once the clock passed it. */
	while (weft__mono_ns() < deadline)
		weft__addr_wait(&w, 5, deadline);
	/* A deadline in the past returns at once. */
	weft__addr_wait(&w, 5, 1);
	prev = weft__mono_ns();
	for (i = 0; i < 10000; i++) {
		now = weft__mono_ns();
		CHECK(now >= prev);
		prev = now;
	}
}

int main(void)
{
#if defined(WEFT_PARK_CONDVAR)
	CHECK(strcmp(weft__addr_wait_name, "condvar") == 0);
#elif defined(WEFT_PARK_FUTEX)
	CHECK(strcmp(weft__addr_wait_name, "futex") == 0);
#elif defined(WEFT_PARK_WAITONADDRESS)
	CHECK(strcmp(weft__addr_wait_name, "WaitOnAddress") == 0);
#endif
	CHECK(weft__cpu_count() >= 1);
	test_timed_and_changed();
	test_ring();
	test_broadcast();
	printf("address wait: %s\n", weft__addr_wait_name);
	return 0;
}

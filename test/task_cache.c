/*
 * The task cache of src/sched/task_cache.c: what a thread keeps, what
 * goes to the depot and comes back on another thread, what the depot
 * refuses, take and keep (the calls the blocking pool's job cache puts
 * in front of its own list: they never malloc and never free), that a
 * runtime on the default allocator reuses a finished task's allocation
 * for the next spawn and one with an allocator of its own does not, and
 * a stress of blocks crossing between threads (run under
 * ThreadSanitizer, where a block with two owners at once is a reported
 * race; everywhere, a stamp written by its owner must be intact when the
 * block is given back).
 *
 * With WEFT_TASK_CACHE=0 (the test's second registration) the runtime
 * part checks that nothing is cached instead.  Each part that looks at a
 * thread's lists runs on a thread of its own, so it starts empty.
 */
#include "test.h"

#include <pthread.h>
#include <string.h>
#include <weft.h>

#include "../src/sched/task_cache.h"

#define MAX WEFT__TASK_CACHE_MAX
#define BATCH WEFT__TASK_CACHE_BATCH
#define DEPOT_MAX WEFT__TASK_CACHE_DEPOT_MAX

static void run_on_thread(void *(*fn)(void *), void *arg)
{
	pthread_t th;

	CHECK_EQ(pthread_create(&th, NULL, fn, arg), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
}

/* ---- one thread ------------------------------------------------------------- */

static void *part_reuse(void *arg)
{
	void *a, *b, *c, *d;
	size_t n;

	(void)arg;
	CHECK_EQ(weft__task_cache_thread_count(), 0);
	a = weft__task_cache_alloc(96);
	CHECK(a != NULL);
	memset(a, 0xab, 96);
	weft__task_cache_free(a, 96);
	CHECK_EQ(weft__task_cache_thread_count(), 1);
	/* The same size takes it back. */
	b = weft__task_cache_alloc(96);
	CHECK(b == a);
	CHECK_EQ(weft__task_cache_thread_count(), 0);
	memset(b, 0xcd, 96); /* all of it is writable again (ASan: unpoisoned) */
	weft__task_cache_free(b, 96);
	/* Another size does not. */
	c = weft__task_cache_alloc(112);
	CHECK(c != NULL && c != b);
	CHECK_EQ(weft__task_cache_thread_count(), 1);
	weft__task_cache_free(c, 112);
	CHECK_EQ(weft__task_cache_thread_count(), 2);
	/* Sizes without a class go to malloc and free. */
	n = weft__task_cache_thread_count();
	d = weft__task_cache_alloc(4096);
	CHECK(d != NULL);
	memset(d, 1, 4096);
	weft__task_cache_free(d, 4096);
	d = weft__task_cache_alloc(88); /* not a multiple of 16 */
	CHECK(d != NULL);
	weft__task_cache_free(d, 88);
	d = weft__task_cache_alloc(64); /* below the smallest task */
	CHECK(d != NULL);
	weft__task_cache_free(d, 64);
	CHECK_EQ(weft__task_cache_thread_count(), n);
	weft__task_cache_free(NULL, 96); /* ignored */
	CHECK_EQ(weft__task_cache_thread_count(), n);
	return NULL; /* the exit destructor frees the two (LeakSanitizer checks) */
}

/* ---- the depot ------------------------------------------------------------- */

struct handoff {
	void *given[MAX + BATCH];
	size_t depot_before, depot_after_give;
	void *taken;
	size_t taker_count;
};

/* Frees MAX + BATCH blocks of 128 bytes: the list fills, then BATCH go to
 * the depot and the list fills again. */
static void *part_give(void *arg)
{
	struct handoff *h = arg;
	unsigned i;

	for (i = 0; i < MAX + BATCH; i++) {
		h->given[i] = weft__task_cache_alloc(128);
		CHECK(h->given[i] != NULL);
	}
	h->depot_before = weft__task_cache_depot_count();
	for (i = 0; i < MAX + BATCH; i++) {
		memset(h->given[i], (int)i, 128);
		weft__task_cache_free(h->given[i], 128);
		if (i + 1 == MAX)
			CHECK_EQ(weft__task_cache_thread_count(), MAX);
	}
	CHECK_EQ(weft__task_cache_thread_count(), MAX);
	h->depot_after_give = weft__task_cache_depot_count();
	return NULL;
}

/* A fresh thread's first allocation of that size takes the batch. */
static void *part_take(void *arg)
{
	struct handoff *h = arg;

	h->taken = weft__task_cache_alloc(128);
	CHECK(h->taken != NULL);
	h->taker_count = weft__task_cache_thread_count();
	memset(h->taken, 0, 128);
	weft__task_cache_free(h->taken, 128);
	return NULL;
}

static void test_handoff(void)
{
	static struct handoff h;
	bool found = false;
	unsigned i;

	run_on_thread(part_give, &h);
	CHECK_EQ(h.depot_after_give, h.depot_before + BATCH);
	/* The giver has exited: its own MAX blocks went back to free. */
	run_on_thread(part_take, &h);
	CHECK_EQ(h.taker_count, BATCH - 1);
	for (i = 0; i < MAX + BATCH; i++)
		found |= h.taken == h.given[i];
	CHECK(found);
	CHECK_EQ(weft__task_cache_depot_count(), h.depot_before);
}

/* Giving far more than the depot keeps: it stops at DEPOT_MAX batches of
 * the size, the rest is freed. */
static void *part_flood(void *arg)
{
	enum { N = MAX + (DEPOT_MAX + 3) * BATCH };
	static void *blocks[N];
	size_t before = weft__task_cache_depot_count(), after;
	unsigned i;

	(void)arg;
	for (i = 0; i < N; i++) {
		blocks[i] = weft__task_cache_alloc(256);
		CHECK(blocks[i] != NULL);
	}
	for (i = 0; i < N; i++)
		weft__task_cache_free(blocks[i], 256);
	after = weft__task_cache_depot_count();
	CHECK(after > before);
	CHECK(after - before <= (size_t)DEPOT_MAX * BATCH);
	CHECK_EQ(weft__task_cache_thread_count(), MAX);
	return NULL;
}

/* ---- take and keep ------------------------------------------------------------ */

/* take and keep, on a size no earlier part has used (the depot is shared
 * by the whole process): take never mallocs and keep never frees, so
 * what keep refuses and what take hands out stay the caller's.  Cache
 * off, take has nothing and keep keeps nothing. */
static void *part_take_keep(void *arg)
{
	enum { SIZE = 208, HELD = MAX + DEPOT_MAX * BATCH, N = HELD + BATCH + 1 };
	static void *blocks[N];
	bool enabled = *(bool *)arg;
	size_t depot_before = weft__task_cache_depot_count();
	unsigned i, kept = 0, taken = 0, j;
	void *p;

	CHECK(weft__task_cache_take(SIZE) == NULL);
	/* Sizes without a class: nothing to take, nothing kept. */
	CHECK(weft__task_cache_take(4096) == NULL);
	CHECK(weft__task_cache_take(88) == NULL);
	p = malloc(4096);
	CHECK(p != NULL);
	CHECK(!weft__task_cache_keep(p, 4096));
	free(p);

	for (i = 0; i < N; i++) {
		blocks[i] = malloc(SIZE);
		CHECK(blocks[i] != NULL);
		memset(blocks[i], (int)i, SIZE);
	}
	/* Keep fills this thread's list, then moves a batch to the depot at
	 * each overflow until the depot holds DEPOT_MAX batches of the size;
	 * after that, with the list full again, it refuses. */
	for (i = 0; i < N; i++) {
		bool ok = weft__task_cache_keep(blocks[i], SIZE);

		if (!enabled) {
			CHECK(!ok);
			continue;
		}
		CHECK_EQ(ok, i < HELD);
		kept += ok;
		if (i + 1 == MAX)
			CHECK_EQ(weft__task_cache_thread_count(), MAX);
	}
	if (enabled) {
		CHECK_EQ(kept, HELD);
		CHECK_EQ(weft__task_cache_depot_count(), depot_before + DEPOT_MAX * BATCH);
		CHECK_EQ(weft__task_cache_thread_count(), MAX);
	} else {
		CHECK_EQ(weft__task_cache_depot_count(), depot_before);
		CHECK_EQ(weft__task_cache_thread_count(), 0);
	}
	/* The refused blocks are still the caller's: freed here. */
	for (i = kept; i < N; i++)
		free(blocks[i]);

	/* Take hands back every kept block, the list's and then the depot's
	 * batches, each one of those kept, and then NULL. */
	while ((p = weft__task_cache_take(SIZE)) != NULL) {
		bool found = false;

		for (j = 0; j < kept && !found; j++) {
			if (blocks[j] == p) {
				found = true;
				blocks[j] = NULL; /* each at most once */
			}
		}
		CHECK(found);
		memset(p, 0xee, SIZE); /* all of it is writable again */
		free(p);
		taken++;
	}
	CHECK_EQ(taken, kept);
	CHECK_EQ(weft__task_cache_thread_count(), 0);
	CHECK_EQ(weft__task_cache_depot_count(), depot_before);
	return NULL;
}

/* ---- a runtime ---------------------------------------------------------------- */

/* Twice: spawns a task, joins it, releases the handle. */
struct spawn_twice {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_join_handle h;
	_Atomic int ran;
	int i, err;
};

static weft_poll spawn_twice_poll(weft_future *f, weft_cx *cx)
{
	struct spawn_twice *s = (struct spawn_twice *)f;

	WEFT_ASYNC_BEGIN(s);
	for (s->i = 0; s->i < 2; s->i++) {
		struct test_count_task n = { { test_count_task_poll, NULL }, &s->ran };

		s->err = weft_spawn(weft_runtime_current(), &n.base, sizeof n, &s->h);
		if (s->err < 0)
			return WEFT_READY;
		WEFT_AWAIT(s, cx, &s->h.base);
		CHECK_EQ(s->h.status, 0);
		weft_join_detach(&s->h);
	}
	WEFT_ASYNC_END(s);
}

static _Atomic long counted_allocs;

static void *counting_alloc(void *ctx, size_t size, size_t align)
{
	(void)ctx;
	(void)align;
	atomic_fetch_add(&counted_allocs, 1);
	return malloc(size);
}

static void counting_free(void *ctx, void *p, size_t size, size_t align)
{
	(void)ctx;
	(void)size;
	(void)align;
	free(p);
}

static void *part_runtime(void *arg)
{
	bool enabled = *(bool *)arg;
	weft_runtime_config cfg;
	weft_allocator counting = { counting_alloc, counting_free, NULL };
	weft_runtime *rt;
	struct spawn_twice s;
	size_t before;
	long allocs;

	(void)enabled;
	/* The current-thread runtime does not use the cache (its tasks are
	 * made and freed on one thread, where malloc's own cache serves). */
	memset(&cfg, 0, sizeof cfg);
	cfg.flavor = WEFT_RUNTIME_CURRENT_THREAD;
	CHECK_EQ(weft_runtime_create(&cfg, &rt), 0);
	memset(&s, 0, sizeof s);
	s.base.poll = spawn_twice_poll;
	before = weft__task_cache_thread_count();
	CHECK_EQ(weft_block_on(rt, &s.base), 0);
	CHECK_EQ(s.err, 0);
	CHECK_EQ(atomic_load(&s.ran), 2);
	CHECK_EQ(weft__task_cache_thread_count(), before);
	weft_runtime_destroy(rt);

	/* On the multi-threaded runtime, an allocator of the runtime's own
	 * sees every task (the cache would have served the second). */
	memset(&cfg, 0, sizeof cfg);
	cfg.workers = 1;
	cfg.allocator = &counting;
	CHECK_EQ(weft_runtime_create(&cfg, &rt), 0);
	memset(&s, 0, sizeof s);
	s.base.poll = spawn_twice_poll;
	allocs = atomic_load(&counted_allocs);
	CHECK_EQ(weft_block_on(rt, &s.base), 0);
	CHECK_EQ(s.err, 0);
	CHECK_EQ(atomic_load(&s.ran), 2);
	CHECK(atomic_load(&counted_allocs) - allocs >= 2);
	weft_runtime_destroy(rt);
	return NULL;
}

/* The multi-threaded runtime: rounds of detached tasks spawned from this
 * thread and freed on the workers (a detached task's last reference is
 * the worker's).  After the first round the workers have handed batches
 * to the depot (1,000 frees on two workers fill a list of 64 and give at
 * least 13 batches; this test's earlier parts left none of that size
 * there), so the next round's spawns take from it: cache on, the depot's
 * takes grow; cache off, they do not.  Every task runs (its counter). */
static void test_remote_spawns(bool enabled)
{
	static _Atomic int done;
	weft_runtime_config cfg;
	weft_runtime *rt;
	uint64_t takes = 0;
	long i, round, rounds = 4 * test_scale();

	memset(&cfg, 0, sizeof cfg);
	cfg.workers = 2;
	CHECK_EQ(weft_runtime_create(&cfg, &rt), 0);
	for (round = 0; round < rounds; round++) {
		if (round == 1)
			takes = weft__task_cache_depot_takes();
		for (i = 0; i < 1000; i++) {
			struct test_count_task c = { { test_count_task_poll, NULL }, &done };

			CHECK_EQ(weft_spawn(rt, &c.base, sizeof c, NULL), 0);
		}
		while (atomic_load(&done) < 1000 * (round + 1))
			test_sleep_ms(1);
	}
	if (enabled)
		CHECK(weft__task_cache_depot_takes() > takes);
	else
		CHECK_EQ(weft__task_cache_depot_takes(), takes);
	weft_runtime_destroy(rt);
	CHECK_EQ(atomic_load(&done), 1000 * rounds);
}

/* ---- stress: blocks crossing between threads ---------------------------------- */

#define THREADS 4
#define SLOTS 256

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	void *p;
	size_t size;
} pool[SLOTS]; /* under pool_lock */
static long stress_rounds;

static void stamp(void *p, size_t size, uint64_t v)
{
	uint64_t *w = p;
	size_t i;

	for (i = 0; i < size / 8; i++)
		w[i] = v + i;
}

static void check_stamp(const void *p, size_t size)
{
	const uint64_t *w = p;
	size_t i;

	for (i = 1; i < size / 8; i++)
		CHECK_EQ(w[i], w[0] + i);
}

static void *stress_main(void *arg)
{
	uint64_t rng = 0x9e3779b97f4a7c15u * ((uintptr_t)arg + 1);
	long i;

	for (i = 0; i < stress_rounds; i++) {
		size_t size;
		void *p, *old;
		size_t old_size;
		unsigned slot;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		size = 80 + 16 * (size_t)(rng % 12);
		p = weft__task_cache_alloc(size);
		CHECK(p != NULL);
		stamp(p, size, rng);
		slot = (unsigned)((rng >> 32) % SLOTS);
		/* Swap it into the shared pool; free what was there, which
		 * another thread may have allocated. */
		pthread_mutex_lock(&pool_lock);
		old = pool[slot].p;
		old_size = pool[slot].size;
		pool[slot].p = p;
		pool[slot].size = size;
		pthread_mutex_unlock(&pool_lock);
		if (old != NULL) {
			check_stamp(old, old_size);
			weft__task_cache_free(old, old_size);
		}
	}
	return NULL;
}

static void test_stress(void)
{
	pthread_t th[THREADS];
	unsigned i;

	stress_rounds = 200000 * test_scale();
	for (i = 0; i < THREADS; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, stress_main, (void *)(uintptr_t)i), 0);
	for (i = 0; i < THREADS; i++)
		CHECK_EQ(pthread_join(th[i], NULL), 0);
	for (i = 0; i < SLOTS; i++) {
		if (pool[i].p == NULL)
			continue;
		check_stamp(pool[i].p, pool[i].size);
		weft__task_cache_free(pool[i].p, pool[i].size);
		pool[i].p = NULL;
	}
}

int main(void)
{
	bool enabled = weft__task_cache_enabled();
	const char *env = getenv("WEFT_TASK_CACHE");

	/* The second registration sets WEFT_TASK_CACHE=0. */
	CHECK_EQ(enabled, !(env != NULL && strcmp(env, "0") == 0));
	run_on_thread(part_reuse, NULL);
	test_handoff();
	run_on_thread(part_flood, NULL);
	run_on_thread(part_take_keep, &enabled);
	run_on_thread(part_runtime, &enabled);
	test_remote_spawns(enabled);
	test_stress();
	printf("task_cache: cache %s, %ld stress rounds x %d threads, %zu blocks in the depot\n",
	       enabled ? "on" : "off", stress_rounds, THREADS, weft__task_cache_depot_count());
	return 0;
}

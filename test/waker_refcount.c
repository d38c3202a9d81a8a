/*
 * Waker reference counts balance over 10^6 random clone / drop / wake /
 * wake_by_ref operations from several threads: no leak (the allocator's
 * counts match after shutdown), no double free (ASan), every wake either
 * polls the task or coalesces with a pending one.
 */
#include "test.h"

#define THREADS 2
#define SLOTS 32

/* Pending until told to finish; stashes one clone of its first waker. */
struct sleeper {
	weft_future base;
	_Atomic int *polls;
	_Atomic bool *finish;
	weft_waker *seed;
	struct test_event *seeded;
};

static weft_poll sleeper_poll(weft_future *f, weft_cx *cx)
{
	struct sleeper *s = (struct sleeper *)f;

	if (atomic_fetch_add(s->polls, 1) == 0) {
		*s->seed = weft_waker_clone(weft_cx_waker(cx));
		test_event_set(s->seeded);
	}
	return atomic_load(s->finish) ? WEFT_READY : WEFT_PENDING;
}

struct worker_arg {
	weft_waker seed;
	long ops;
	unsigned seed_rng;
	long wakes;
};

static unsigned rng(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void *hammer(void *p)
{
	struct worker_arg *a = p;
	weft_waker slots[SLOTS];
	long i;
	int k;

	for (k = 0; k < SLOTS; k++)
		slots[k] = weft_waker_clone(&a->seed);
	for (i = 0; i < a->ops; i++) {
		unsigned r = rng(&a->seed_rng);
		int x = (int)(r % SLOTS), y = (int)((r >> 8) % SLOTS);

		switch ((r >> 16) % 4) {
		case 0: /* replace x with a clone of y */
			if (!weft_waker_is_empty(&slots[y])) {
				weft_waker c = weft_waker_clone(&slots[y]);

				weft_waker_drop(&slots[x]);
				slots[x] = c;
			}
			break;
		case 1:
			weft_waker_drop(&slots[x]);
			break;
		case 2:
			if (!weft_waker_is_empty(&slots[x]))
				a->wakes++;
			weft_waker_wake(&slots[x]); /* consumes */
			break;
		default:
			if (!weft_waker_is_empty(&slots[x]))
				a->wakes++;
			weft_waker_wake_by_ref(&slots[x]);
			break;
		}
		if (weft_waker_is_empty(&slots[x]))
			slots[x] = weft_waker_clone(&a->seed);
	}
	for (k = 0; k < SLOTS; k++)
		weft_waker_drop(&slots[k]);
	return NULL;
}

static void run(unsigned workers)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime *rt = test_runtime(workers, &alloc);
	_Atomic int polls = 0;
	_Atomic bool finish = false;
	weft_waker seed = { 0 };
	struct test_event seeded;
	struct sleeper s = { { sleeper_poll, NULL }, &polls, &finish, &seed, &seeded };
	struct worker_arg args[THREADS];
	pthread_t th[THREADS];
	weft_join_handle h;
	long total_wakes = 0;
	int i;

	test_event_init(&seeded);
	CHECK_EQ(weft_spawn(rt, &s.base, sizeof s, &h), 0);
	test_event_wait(&seeded);
	for (i = 0; i < THREADS; i++) {
		args[i].seed = seed;
		args[i].ops = 500000 * test_scale();
		args[i].seed_rng = 77u + (unsigned)i;
		args[i].wakes = 0;
		CHECK_EQ(pthread_create(&th[i], NULL, hammer, &args[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		total_wakes += args[i].wakes;
	}
	/* Finish the task through the seed waker, then drop the seed. */
	atomic_store(&finish, true);
	weft_waker_wake(&seed);
	CHECK_EQ(weft_join(&h), 0);
	/* Each wake polled the task at most once (wakes coalesce). */
	CHECK(atomic_load(&polls) >= 2);
	CHECK(atomic_load(&polls) <= total_wakes + 2);
	weft_join_detach(&h);
	weft_runtime_destroy(rt);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
	test_event_finish(&seeded);
}

int main(void)
{
	run(2);
	return 0;
}

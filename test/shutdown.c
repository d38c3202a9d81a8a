/*
 * Shutdown with tasks running, parked, queued locally and in the injector:
 * every future's drop runs exactly once, every join completes with
 * -ECANCELED (or 0 for those that finished), nothing leaks.
 */
#include "test.h"

static _Atomic long drops;
static _Atomic long children; /* spawned by spinners */

/* Yields forever: always running or queued on a worker. */
struct spinner {
	weft_future base;
	_Atomic long *polls;
	int spawn_children;
};

static weft_poll pending_forever_poll(weft_future *f, weft_cx *cx)
{
	(void)f;
	(void)cx;
	return WEFT_PENDING;
}

static void counted_drop(weft_future *f)
{
	(void)f;
	atomic_fetch_add(&drops, 1);
}

/* A spawn racing shutdown is refused; the caller then still owns the
 * future and drops it itself. */
static void spawn_or_drop(weft_future *f, size_t size)
{
	int rc = weft_spawn(weft_runtime_current(), f, size, NULL);

	if (rc == -ESHUTDOWN)
		weft_future_drop(f);
	else
		CHECK_EQ(rc, 0);
}

static weft_poll spinner_poll(weft_future *f, weft_cx *cx)
{
	struct spinner *s = (struct spinner *)f;

	atomic_fetch_add(s->polls, 1);
	/* Spawn a few children that sit in the local queue / LIFO slot. */
	while (s->spawn_children > 0) {
		weft_future child = { pending_forever_poll, counted_drop };
		struct spinner grandchild = { { spinner_poll, counted_drop }, s->polls, 0 };

		s->spawn_children--;
		atomic_fetch_add(&children, 2);
		spawn_or_drop(&child, sizeof child);
		spawn_or_drop(&grandchild.base, sizeof grandchild);
	}
	weft_waker_wake_by_ref(weft_cx_waker(cx));
	return WEFT_PENDING;
}

static void run(unsigned workers)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime *rt = test_runtime(workers, &alloc);
	_Atomic long polls = 0;
	weft_join_handle h[64];
	long spawned = 0, i, expected;
	weft_yield y;

	atomic_store(&drops, 0);
	atomic_store(&children, 0);
	/* Parked (idle forever) tasks with handles. */
	for (i = 0; i < 16; i++) {
		weft_future idle = { pending_forever_poll, counted_drop };

		CHECK_EQ(weft_spawn(rt, &idle, sizeof idle, &h[i]), 0);
		spawned++;
	}
	/* Busy tasks that keep the workers running and spawn locally. */
	for (i = 16; i < 32; i++) {
		struct spinner s = { { spinner_poll, counted_drop }, &polls, 4 };

		CHECK_EQ(weft_spawn(rt, &s.base, sizeof s, &h[i]), 0);
		spawned++;
	}
	if (workers == 0) {
		weft_yield_now(&y);
		CHECK_EQ(weft_block_on(rt, &y.base), 0);
	} else {
		/* Let the workers get going. */
		while (atomic_load(&polls) < 100)
			weft_join_timeout(&h[20], 1000000);
	}
	/* And a burst from outside that lands in the injector. */
	for (i = 32; i < 64; i++) {
		weft_future idle = { pending_forever_poll, counted_drop };

		CHECK_EQ(weft_spawn(rt, &idle, sizeof idle, &h[i]), 0);
		spawned++;
	}
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	expected = spawned + atomic_load(&children);
	CHECK_EQ(atomic_load(&drops), expected);
	for (i = 0; i < 64; i++) {
		CHECK_EQ(weft_join(&h[i]), -ECANCELED);
		CHECK_EQ(weft_join_try(&h[i]), -ECANCELED);
		CHECK(weft_join_output(&h[i]) == NULL);
		weft_join_detach(&h[i]);
	}
	CHECK_EQ(atomic_load(&drops), expected); /* exactly once */
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
}

int main(void)
{
	int round;

	for (round = 0; round < 20; round++) {
		run(0);
		run(1);
		run(4);
	}
	return 0;
}

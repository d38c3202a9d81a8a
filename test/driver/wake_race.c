/*
 * An unpark that races with the destruction of the runtime it wakes.  A
 * thread blocks in a current-thread runtime's block_on, parked in the
 * runtime's driver with a timer deadline 1 ms away; the main thread wakes
 * the blocked future, and the test hook holds the unpark for 5 ms between
 * claiming the wake and making the driver wake.  The deadline passes
 * inside that window, so the blocked thread comes back from its wait by
 * itself, takes the wake, finishes block_on and destroys the runtime at
 * once.  Before the count of unparkers on their way to the driver
 * (src/sched/park.c, weft__parker_quiesce) the unpark then wrote to the
 * eventfd of a driver that was freed (ASan: heap-use-after-free; TSan: a
 * race on the fd; plain: a segfault); now the destruction waits until the
 * unpark is done with the driver.
 * Twenty rounds, then twenty of the same on a multi-threaded runtime
 * (mt_round); every backend, every build.
 */
#include "driver_test.h"

#include <pthread.h>

struct race {
	weft_future base;
	weft_sleep_future sl;
	weft_waker waker;
	int step;
	_Atomic int parked;
};

static weft_poll race_poll(weft_future *f, weft_cx *cx)
{
	struct race *r = (struct race *)f;

	if (r->step == 0) {
		r->step = 1;
		/* A timer of this runtime: the park's deadline. */
		weft_sleep(&r->sl, NULL, WEFT_MS);
		CHECK(weft_future_poll(&r->sl.base, cx) == WEFT_PENDING);
		r->waker = weft_waker_clone(weft_cx_waker(cx));
		/* Release: publishes the waker to the main thread. */
		atomic_store_explicit(&r->parked, 1, memory_order_release);
		return WEFT_PENDING;
	}
	/* Woken by the main thread, or by the sleep: done either way. */
	weft_future_drop(&r->sl.base);
	return WEFT_READY;
}

static void *blocked_main(void *arg)
{
	struct race *r = arg;
	weft_runtime *rt = drv_runtime(0);

	CHECK_EQ(weft_block_on(rt, &r->base), 0);
	/* At once: the unpark may still be on its way to our driver. */
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	return NULL;
}

/* The multi-threaded round: the blocked future is a task on a 1-worker
 * runtime, whose worker parks in its driver with the sleep's deadline (it
 * holds the timer duty); the unpark comes from a thread of its own, so
 * that the main thread can join the task and destroy the runtime while
 * the unpark is held.  mt_shutdown must wait for it after joining the
 * worker. */
struct mt_race_task {
	weft_future base;
	struct race *r;
};

static weft_poll mt_task_poll(weft_future *f, weft_cx *cx)
{
	return race_poll(&((struct mt_race_task *)f)->r->base, cx);
}

static void *waker_main(void *arg)
{
	struct race *r = arg;

	weft_waker_wake(&r->waker);
	return NULL;
}

static void mt_round(void)
{
	weft_runtime *rt = drv_runtime(1);
	struct mt_race_task t = { { mt_task_poll, NULL }, NULL };
	weft_join_handle h;
	struct race r;
	pthread_t th;

	memset(&r, 0, sizeof(r));
	t.r = &r;
	CHECK_EQ(weft_spawn(rt, &t.base, sizeof(t), &h), 0);
	/* Acquire: pairs with the release in race_poll. */
	while (!atomic_load_explicit(&r.parked, memory_order_acquire))
		drv_sleep_ms(0);
	drv_sleep_ms(0); /* let the worker reach its wait */
	atomic_store(&weft__park_wake_delay_ns, 5 * WEFT_MS);
	CHECK_EQ(pthread_create(&th, NULL, waker_main, &r), 0);
	CHECK_EQ(weft_join(&h), 0);
	weft_join_detach(&h);
	/* At once: the unpark may still be on its way to the worker's
	 * driver. */
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	atomic_store(&weft__park_wake_delay_ns, 0);
}

int main(void)
{
	int i;

	for (i = 0; i < 20; i++) {
		struct race r;
		pthread_t th;

		memset(&r, 0, sizeof(r));
		r.base.poll = race_poll;
		CHECK_EQ(pthread_create(&th, NULL, blocked_main, &r), 0);
		/* Acquire: pairs with the release in race_poll. */
		while (!atomic_load_explicit(&r.parked, memory_order_acquire))
			drv_sleep_ms(0);
		drv_sleep_ms(0); /* let it reach its wait */
		atomic_store(&weft__park_wake_delay_ns, 5 * WEFT_MS);
		weft_waker_wake(&r.waker);
		atomic_store(&weft__park_wake_delay_ns, 0);
		CHECK_EQ(pthread_join(th, NULL), 0);
	}
	for (i = 0; i < 20; i++)
		mt_round();
	printf("ok\n");
	return 0;
}

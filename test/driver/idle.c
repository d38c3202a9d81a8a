/*
 * An idle runtime makes no wake-ups: across one second of idleness the
 * workers (and a current-thread runtime inside block_on) wait in the driver
 * or on their futex once and stay there.  Counts driver waits, driver
 * wakes and futex syscalls; asserts counts, not times.
 */
#include "driver_test.h"

static uint64_t activity(void)
{
	return drv_counter(&weft__driver_counters.waits) +
	       drv_counter(&weft__driver_counters.wakes) +
	       drv_counter(&weft__park_counters.futex_waits) +
	       drv_counter(&weft__park_counters.futex_wakes);
}

/* Sleeps `ms` on the plain thread and reports the activity meanwhile. */
static uint64_t idle_for(long ms)
{
	uint64_t before = activity();

	drv_sleep_ms(ms);
	return activity() - before;
}

struct ct_idle {
	weft_future base;
	weft_fd_ready ready;
};

static weft_poll ct_idle_poll(weft_future *f, weft_cx *cx)
{
	return weft_future_poll(&((struct ct_idle *)f)->ready.base, cx);
}

struct ct_arg {
	weft_runtime *rt;
	int fd;
};

static void *ct_main(void *arg)
{
	struct ct_arg *a = arg;
	struct ct_idle f;

	f.base.poll = ct_idle_poll;
	f.base.drop = NULL;
	CHECK_EQ(weft_fd_ready_init(&f.ready, a->fd, WEFT_IO_READABLE), 0);
	CHECK_EQ(weft_block_on(a->rt, &f.base), 0);
	CHECK(f.ready.result & WEFT_IO_READABLE);
	weft_future_drop(&f.ready.base);
	return NULL;
}

int main(void)
{
	weft_runtime *rt = drv_runtime(4);
	struct ct_arg a;
	pthread_t th;
	uint64_t n;
	int p[2];

	/* Let the workers reach their parks, then watch. */
	idle_for(200);
	n = idle_for(1000);
	fprintf(stderr, "multi-thread, 4 workers: %llu waits/wakes in 1 s\n",
		(unsigned long long)n);
	CHECK(n <= 4);
	CHECK_EQ(weft_runtime_destroy(rt), 0);

	/* A current-thread runtime blocked on an fd that stays quiet. */
	a.rt = drv_runtime(0);
	drv_pipe(p);
	a.fd = p[0];
	CHECK_EQ(pthread_create(&th, NULL, ct_main, &a), 0);
	idle_for(200);
	n = idle_for(1000);
	fprintf(stderr, "current-thread in block_on: %llu waits/wakes in 1 s\n",
		(unsigned long long)n);
	CHECK(n <= 2);
	CHECK_EQ(write(p[1], "z", 1), 1);
	pthread_join(th, NULL);
	CHECK_EQ(weft_runtime_destroy(a.rt), 0);
	close(p[0]);
	close(p[1]);
	return 0;
}

/*
 * A block_on future on a plain thread that spawns a task, or aborts one, and
 * then keeps yielding (wakes itself, returns pending) until the task has run
 * or the abort was carried out: both happen, on 1 and on 4 workers, with the
 * block_on thread's help on and off.
 */
#include "test.h"

/* Far more polls than any run needs; reaching it means the work was lost. */
#define MAX_POLLS 10000000L

struct driver {
	weft_future base;
	bool abort_mode;
	int stage;
	long polls;
	bool gave_up;
	_Atomic int ran;
	_Atomic int probe_polls, probe_drops;
	weft_join_handle h;
};

/* Wakes the driver and returns pending, or gives up after MAX_POLLS. */
static weft_poll yield_again(struct driver *d, weft_cx *cx)
{
	if (++d->polls >= MAX_POLLS) {
		d->gave_up = true;
		return WEFT_READY;
	}
	weft_waker_wake_by_ref(weft_cx_waker(cx));
	return WEFT_PENDING;
}

static weft_poll driver_poll(weft_future *f, weft_cx *cx)
{
	struct driver *d = (struct driver *)f;
	weft_runtime *rt = weft_runtime_current();

	switch (d->stage) {
	case 0:
		if (d->abort_mode) {
			struct probe p = probe_make(&d->probe_polls, &d->probe_drops,
						    NULL);
			static _Atomic bool never = false;

			p.ready = &never;
			CHECK_EQ(weft_spawn(rt, &p.base, sizeof p, &d->h), 0);
		} else {
			struct test_count_task t = { { test_count_task_poll, NULL }, &d->ran };

			CHECK_EQ(weft_spawn(rt, &t.base, sizeof t, NULL), 0);
		}
		d->stage = 1;
		return yield_again(d, cx);
	case 1:
		if (!d->abort_mode) {
			if (atomic_load(&d->ran) == 0)
				return yield_again(d, cx);
			return WEFT_READY;
		}
		/* The probe never wakes itself: once polled it sits idle. */
		if (atomic_load(&d->probe_polls) == 0)
			return yield_again(d, cx);
		CHECK_EQ(weft_join_abort(&d->h), 0);
		d->stage = 2;
		return yield_again(d, cx);
	default:
		if (weft_join_try(&d->h) != -ECANCELED)
			return yield_again(d, cx);
		return WEFT_READY;
	}
}

static void run(unsigned workers, int help, bool abort_mode)
{
	weft_runtime_config cfg = { 0 };
	weft_runtime *rt = NULL;
	struct driver d = { .base = { driver_poll, NULL }, .abort_mode = abort_mode };

	cfg.workers = workers;
	cfg.block_on_help = help;
	CHECK_EQ(weft_runtime_create(&cfg, &rt), 0);
	/* Let the workers park, so that only a wake reaches them.  (Without
	 * it the run still passes; it only tests less.) */
	test_sleep_ms(20);
	CHECK_EQ(weft_block_on(rt, &d.base), 0);
	if (d.gave_up)
		fprintf(stderr, "workers=%u help=%d abort=%d: gave up after %ld polls\n",
			workers, help, abort_mode, d.polls);
	CHECK(!d.gave_up);
	if (abort_mode) {
		CHECK_EQ(atomic_load(&d.probe_drops), 1);
		weft_join_detach(&d.h);
	} else {
		CHECK_EQ(atomic_load(&d.ran), 1);
	}
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

int main(void)
{
	static const unsigned workers[] = { 1, 4 };
	unsigned i;

	for (i = 0; i < 2; i++) {
		run(workers[i], WEFT_BLOCK_ON_HELP_ON, false);
		run(workers[i], WEFT_BLOCK_ON_HELP_ON, true);
		run(workers[i], WEFT_BLOCK_ON_HELP_OFF, false);
		run(workers[i], WEFT_BLOCK_ON_HELP_OFF, true);
	}
	return 0;
}

/*
 * Spinning before sleep (weft_runtime_config.io_spin_ns, src/driver/uring.c):
 * a worker with I/O in flight watches its ring before it sleeps.
 *
 *  - A completion that arrives while the worker spins is taken there: the
 *    spin counter (weft_metrics.driver_spins) moves on io_uring and epoll,
 *    and never on a backend that does not spin, or with the spin turned
 *    off.
 *  - The spin is long here (1,000 s), so each way out of it is tested by
 *    the test finishing at all: a task spawned from outside (an unpark), a
 *    timer falling due, and the runtime's destruction.  A spin that missed
 *    one of them would hold the test past its timeout.
 *
 * Counts and outcomes only; no time is measured.
 */
#include "driver_test.h"

#define LONG_SPIN_NS (1000ll * 1000000000ll)

static weft_runtime *spin_runtime(int64_t spin_ns)
{
	weft_runtime_config cfg = { 0 };

	cfg.workers = 1;
	cfg.io_spin_ns = spin_ns;
	/* The joins below must be run by the worker, not by block_on. */
	cfg.block_on_help = WEFT_BLOCK_ON_HELP_OFF;
	return drv_runtime_with(&cfg);
}

static weft_metrics metrics(weft_runtime *rt)
{
	weft_metrics m = { .size = sizeof(m) };

	CHECK_EQ(weft_runtime_metrics(rt, &m), 0);
	return m;
}

static uint64_t parks(weft_runtime *rt)
{
	weft_worker_metrics w = { .size = sizeof(w) };

	CHECK_EQ(weft_runtime_worker_metrics(rt, 0, &w), 0);
	return w.parks;
}

/* Waits (yielding) until the worker has parked more than `before` times. */
static void wait_parked(weft_runtime *rt, uint64_t before)
{
	int i;

	for (i = 0; i < 20000 && parks(rt) <= before; i++)
		drv_sleep_ms(1);
	CHECK(parks(rt) > before);
}

/*
 * One readiness wait completed while the worker is parked with it in
 * flight; returns how many waits ended in the spin meanwhile.
 */
static uint64_t complete_while_parked(weft_runtime *rt)
{
	struct test_event polled;
	weft_join_handle h;
	struct ready_task t;
	uint64_t spins, before;
	int p[2], out = 0;
	char c = 'x';

	test_event_init(&polled);
	drv_pipe(p);
	t = ready_task_make(p[0], WEFT_IO_READABLE, &out, &polled);
	spins = metrics(rt).driver_spins;
	before = parks(rt);
	CHECK_EQ(weft_spawn(rt, &t.base, sizeof(t), &h), 0);
	test_event_wait(&polled);
	/* Its park comes after the poll that started the wait, so from here
	 * the worker is on its way into its driver wait (spinning, or
	 * asleep).  The readiness wait is submitted only there, with the
	 * first look of the spin: a byte written before that completes it at
	 * submission, not in the spin.  A moment's pause makes that rare, and
	 * the caller tries again when it happens (a count, not a time, is
	 * what the test checks). */
	wait_parked(rt, before);
	drv_sleep_ms(5);
	CHECK_EQ(write(p[1], &c, 1), 1);
	CHECK_EQ(weft_block_on(rt, &h.base), 0);
	CHECK_EQ(h.status, 0);
	CHECK(out & WEFT_IO_READABLE);
	weft_join_detach(&h);
	close(p[0]);
	close(p[1]);
	test_event_finish(&polled);
	return metrics(rt).driver_spins - spins;
}

/* The backends that spin. */
static bool spins_here(weft_runtime *rt)
{
	return drv_is_uring(rt) || strcmp(weft_runtime_driver(rt), "epoll") == 0;
}

/* Spin on: the completion is taken in the spin on io_uring and epoll;
 * elsewhere there is no spin and the count stays 0. */
static void test_completion_in_spin(void)
{
	weft_runtime *rt = spin_runtime(LONG_SPIN_NS);
	uint64_t n = complete_while_parked(rt);
	int tries;

	/* The byte can beat the wait's submission (complete_while_parked):
	 * a few more tries where a spin is expected. */
	for (tries = 1; tries < 10 && n == 0 && spins_here(rt); tries++)
		n = complete_while_parked(rt);

	fprintf(stderr, "%s, spin on: %llu waits ended in the spin\n", weft_runtime_driver(rt),
		(unsigned long long)n);
	if (spins_here(rt))
		CHECK(n >= 1);
	else
		CHECK_EQ(n, 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* Spin off (negative): the worker sleeps, and is woken by the completion. */
static void test_spin_off(void)
{
	weft_runtime *rt = spin_runtime(-1);

	CHECK_EQ(complete_while_parked(rt), 0);
	CHECK_EQ(complete_while_parked(rt), 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* A task that sleeps `ns` on the runtime clock. */
struct sleeper {
	weft_future base;
	weft_sleep_future s;
	uint64_t ns;
	bool started;
};

static weft_poll sleeper_poll(weft_future *f, weft_cx *cx)
{
	struct sleeper *t = (struct sleeper *)f;

	if (!t->started) {
		weft_sleep(&t->s, NULL, t->ns);
		t->started = true;
	}
	return weft_future_poll(&t->s.base, cx);
}

static void sleeper_drop(weft_future *f)
{
	struct sleeper *t = (struct sleeper *)f;

	if (t->started)
		weft_future_drop(&t->s.base);
}

/*
 * The ways out of a long spin, with a readiness wait that never completes
 * keeping the worker's ring busy throughout.
 */
static void test_spin_ends(void)
{
	weft_runtime *rt = spin_runtime(LONG_SPIN_NS);
	struct test_event polled;
	struct test_count_task o = { .base = { .poll = test_count_task_poll } };
	struct sleeper s = { .base = { .poll = sleeper_poll, .drop = sleeper_drop } };
	weft_join_handle h_wait, h;
	struct ready_task t;
	_Atomic int ran = 0;
	uint64_t before;
	int p[2], out = 0, round;

	test_event_init(&polled);
	drv_pipe(p);
	t = ready_task_make(p[0], WEFT_IO_READABLE, &out, &polled);
	before = parks(rt);
	CHECK_EQ(weft_spawn(rt, &t.base, sizeof(t), &h_wait), 0);
	test_event_wait(&polled);
	for (round = 0; round < 3; round++) {
		/* An unpark: the worker must leave its spin to run the task. */
		wait_parked(rt, before);
		before = parks(rt);
		o.count = &ran;
		CHECK_EQ(weft_spawn(rt, &o.base, sizeof(o), &h), 0);
		CHECK_EQ(weft_block_on(rt, &h.base), 0);
		CHECK_EQ(h.status, 0);
		weft_join_detach(&h);
		CHECK_EQ(atomic_load(&ran), round + 1);

		/* A timer: the spin ends at the deadline, and the timer fires. */
		wait_parked(rt, before);
		before = parks(rt);
		s.ns = 2000000; /* 2 ms on the runtime clock */
		CHECK_EQ(weft_spawn(rt, &s.base, sizeof(s), &h), 0);
		CHECK_EQ(weft_block_on(rt, &h.base), 0);
		CHECK_EQ(h.status, 0);
		weft_join_detach(&h);
	}
	CHECK_EQ(out, 0); /* the pipe stayed quiet */
	/* Destruction while the worker spins: shutdown unparks it. */
	wait_parked(rt, before);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(weft_join(&h_wait), -ECANCELED);
	weft_join_detach(&h_wait);
	close(p[0]);
	close(p[1]);
	test_event_finish(&polled);
}

/* WEFT_IO_SPIN_NS=0 turns the default spin off; the config wins over it. */
static void test_env(void)
{
	weft_runtime *rt;

	CHECK_EQ(setenv("WEFT_IO_SPIN_NS", "0", 1), 0);
	rt = spin_runtime(0);
	CHECK_EQ(complete_while_parked(rt), 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	rt = spin_runtime(LONG_SPIN_NS);
	if (spins_here(rt))
		CHECK(complete_while_parked(rt) >= 1);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(unsetenv("WEFT_IO_SPIN_NS"), 0);
}

int main(void)
{
	test_completion_in_spin();
	test_spin_off();
	test_spin_ends();
	test_env();
	return 0;
}

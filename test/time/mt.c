/* time_mt: timers on the multi-thread runtime, with a shard per worker (the default), one wheel and 4 shards - 10^4 sleeps from 100 tasks with small real deadlines all complete and none wakes early; a sleep in a plain thread's block_on and one polled by hand on a foreign thread (workers idle) complete; the budget stays honest across threads. */
#include "time_test.h"

#define TASKS 100
#define SLEEPS 100

static _Atomic long completed;

struct napper {
	weft_future base;
	weft_sleep_future sleep;
	uint64_t rng;
	int i;
	bool armed;
};

static weft_poll napper_poll(weft_future *f, weft_cx *cx)
{
	struct napper *n = (struct napper *)f;
	weft_runtime *rt = weft_runtime_current();

	while (n->i < SLEEPS) {
		if (!n->armed) {
			n->rng = n->rng * 6364136223846793005u + 1442695040888963407u;
			/* 0 to 4 ms, in microseconds. */
			weft_sleep(&n->sleep, NULL, ((n->rng >> 33) % 4000) * 1000);
			n->armed = true;
		}
		if (weft_future_poll(&n->sleep.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		CHECK_EQ(n->sleep.result, 0);
		CHECK(weft_now(rt) >= weft_sleep_deadline(&n->sleep));
		weft_future_drop(&n->sleep.base);
		n->armed = false;
		n->i++;
		atomic_fetch_add(&completed, 1);
	}
	return WEFT_READY;
}

static void napper_drop(weft_future *f)
{
	struct napper *n = (struct napper *)f;

	if (n->armed)
		weft_future_drop(&n->sleep.base);
}

static void test_many_sleeps(void)
{
	weft_runtime *rt = test_runtime(4, NULL);
	weft_join_handle h[TASKS];
	int i;

	for (i = 0; i < TASKS; i++) {
		struct napper n = { { napper_poll, napper_drop }, { { 0 }, 0, { 0 } },
				    (uint64_t)i + 1, 0, false };

		CHECK_EQ(weft_spawn(rt, &n.base, sizeof n, &h[i]), 0);
	}
	for (i = 0; i < TASKS; i++) {
		CHECK_EQ(weft_join(&h[i]), 0);
		weft_join_detach(&h[i]);
	}
	CHECK_EQ(atomic_load(&completed), TASKS * SLEEPS);
	weft_runtime_destroy(rt);
}

/* A plain thread blocks on a sleep of the runtime. */
static void *plain_thread(void *arg)
{
	weft_runtime *rt = arg;
	struct sleep_once s = sleep_once_make(5 * WEFT_MS);

	CHECK_EQ(weft_block_on(rt, &s.base), 0);
	CHECK_EQ(s.result, 0);
	CHECK(s.end >= s.deadline);
	return NULL;
}

/* A foreign thread polls a sleep bound to the runtime by hand, with a
 * waker that sets an event. */
static struct test_event foreign_ev;

static weft_waker ev_clone(void *d);
static void ev_wake(void *d)
{
	test_event_set(d);
}
static void ev_drop(void *d)
{
	(void)d;
}
static const weft_waker_vtable ev_vtable = { ev_clone, ev_wake, ev_wake, ev_drop };
static weft_waker ev_clone(void *d)
{
	weft_waker w = { d, &ev_vtable };
	return w;
}

/* Rounds whose first poll returned pending and so went through the wake. */
static _Atomic int foreign_waited;

static void *foreign_thread(void *arg)
{
	weft_runtime *rt = arg;
	weft_waker w = ev_clone(&foreign_ev);
	weft_sleep_future s;

	weft_sleep(&s, rt, 20 * WEFT_MS);
	/* The deadline is read at the first poll; a thread stalled for the
	 * whole sleep inside that poll (a loaded machine under TSan has
	 * stalled 5 ms there) finds it due, which is right too. */
	if (poll_with(&s.base, &w) == WEFT_PENDING) {
		test_event_wait(&foreign_ev);
		CHECK_EQ(poll_with(&s.base, &w), WEFT_READY);
		atomic_fetch_add(&foreign_waited, 1);
	}
	CHECK_EQ(s.result, 0);
	CHECK(weft_now(rt) >= weft_sleep_deadline(&s));
	weft_future_drop(&s.base);
	return NULL;
}

static void test_outside_threads(void)
{
	weft_runtime *rt = test_runtime(2, NULL);
	pthread_t a, b;
	int round;

	for (round = 0; round < 20; round++) {
		struct sleep_once s = sleep_once_make(2 * WEFT_MS);

		test_event_init(&foreign_ev);
		CHECK_EQ(pthread_create(&a, NULL, plain_thread, rt), 0);
		CHECK_EQ(pthread_create(&b, NULL, foreign_thread, rt), 0);
		/* And this thread's own block_on. */
		CHECK_EQ(weft_block_on(rt, &s.base), 0);
		CHECK(s.end >= s.deadline);
		pthread_join(a, NULL);
		pthread_join(b, NULL);
		test_event_finish(&foreign_ev);
	}
	weft_runtime_destroy(rt);
}

/* Only a foreign thread has a timer: the idle workers (parked without a
 * timeout) must be told to wake for it (weft__runtime_timer_changed). */
static void test_foreign_alone(void)
{
	weft_runtime *rt = test_runtime(2, NULL);
	pthread_t b;
	int round;

	atomic_store(&foreign_waited, 0);
	for (round = 0; round < 10; round++) {
		test_event_init(&foreign_ev);
		CHECK_EQ(pthread_create(&b, NULL, foreign_thread, rt), 0);
		pthread_join(b, NULL);
		test_event_finish(&foreign_ev);
	}
	/* The wake path itself ran: not every round can have stalled 20 ms. */
	printf("foreign_alone: %d of 10 first polls were pending\n", atomic_load(&foreign_waited));
	CHECK(atomic_load(&foreign_waited) > 0);
	weft_runtime_destroy(rt);
}

/* Timeouts and an interval inside tasks on the real clock. */
static _Atomic int inner_drops, timeouts_ok, ticks_ok;

struct never {
	weft_future base;
};

static weft_poll never_poll(weft_future *f, weft_cx *cx)
{
	(void)f;
	(void)cx;
	return WEFT_PENDING;
}

static void never_drop(weft_future *f)
{
	(void)f;
	atomic_fetch_add(&inner_drops, 1);
}

struct timed {
	weft_future base;
	struct never inner;
	weft_timeout_future t;
	weft_interval iv;
	weft_interval_tick_future tick;
	uint64_t start;
	int stage, ticks;
};

static weft_poll timed_poll(weft_future *f, weft_cx *cx)
{
	struct timed *k = (struct timed *)f;
	weft_runtime *rt = weft_runtime_current();

	if (k->stage == 0) {
		k->start = weft_now(rt);
		k->inner.base.poll = never_poll;
		k->inner.base.drop = never_drop;
		weft_timeout(&k->t, &k->inner.base, NULL, 2 * WEFT_MS);
		k->stage = 1;
	}
	if (k->stage == 1) {
		if (weft_future_poll(&k->t.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		CHECK_EQ(k->t.result, -ETIMEDOUT);
		CHECK(weft_now(rt) >= k->start + 2 * WEFT_MS);
		weft_future_drop(&k->t.base);
		atomic_fetch_add(&timeouts_ok, 1);
		k->start = weft_now(rt);
		CHECK_EQ(weft_interval_init(&k->iv, NULL, k->start, 2 * WEFT_MS), 0);
		weft_interval_tick(&k->iv, &k->tick);
		k->stage = 2;
	}
	while (k->ticks < 4) {
		if (weft_future_poll(&k->tick.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		CHECK_EQ(k->tick.result, 0);
		/* Burst keeps the schedule: exact instants, none early. */
		CHECK_EQ(k->tick.instant, k->start + (uint64_t)k->ticks * 2 * WEFT_MS);
		CHECK(weft_now(rt) >= k->tick.instant);
		k->ticks++;
		weft_interval_tick(&k->iv, &k->tick);
	}
	weft_interval_finish(&k->iv);
	atomic_fetch_add(&ticks_ok, 1);
	return WEFT_READY;
}

static void test_timeouts_and_intervals(void)
{
	weft_runtime *rt = test_runtime(4, NULL);
	weft_join_handle h[50];
	int i;

	for (i = 0; i < 50; i++) {
		struct timed k;

		memset(&k, 0, sizeof(k));
		k.base.poll = timed_poll;
		CHECK_EQ(weft_spawn(rt, &k.base, sizeof k, &h[i]), 0);
	}
	for (i = 0; i < 50; i++) {
		CHECK_EQ(weft_join(&h[i]), 0);
		weft_join_detach(&h[i]);
	}
	CHECK_EQ(atomic_load(&inner_drops), 50);
	CHECK_EQ(atomic_load(&timeouts_ok), 50);
	CHECK_EQ(atomic_load(&ticks_ok), 50);
	weft_runtime_destroy(rt);
}

int main(void)
{
	int round;

	/* The default (a shard per worker), one shared wheel, then four
	 * shards (read at runtime creation; no other thread exists when it
	 * changes). */
	for (round = 0; round < 3; round++) {
		if (round == 0)
			CHECK_EQ(unsetenv("WEFT_TIME_SHARDS"), 0);
		else
			CHECK_EQ(setenv("WEFT_TIME_SHARDS", round == 1 ? "1" : "4", 1), 0);
		atomic_store(&inner_drops, 0);
		atomic_store(&timeouts_ok, 0);
		atomic_store(&ticks_ok, 0);
		atomic_store(&completed, 0);
		test_timeouts_and_intervals();
		test_foreign_alone();
		test_many_sleeps();
		test_outside_threads();
	}
	return 0;
}

/* time_mt: timers on the multi-thread runtime - 10^4 sleeps from 100 tasks with small real deadlines all complete and none wakes early; a sleep in a plain thread's block_on and one polled by hand on a foreign thread (workers idle) complete; the budget stays honest across threads. */
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

static void *foreign_thread(void *arg)
{
	weft_runtime *rt = arg;
	weft_waker w = ev_clone(&foreign_ev);
	weft_sleep_future s;

	weft_sleep(&s, rt, 5 * WEFT_MS);
	CHECK_EQ(poll_with(&s.base, &w), WEFT_PENDING);
	test_event_wait(&foreign_ev);
	CHECK_EQ(poll_with(&s.base, &w), WEFT_READY);
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

	for (round = 0; round < 10; round++) {
		test_event_init(&foreign_ev);
		CHECK_EQ(pthread_create(&b, NULL, foreign_thread, rt), 0);
		pthread_join(b, NULL);
		test_event_finish(&foreign_ev);
	}
	weft_runtime_destroy(rt);
}

int main(void)
{
	test_foreign_alone();
	test_many_sleeps();
	test_outside_threads();
	return 0;
}

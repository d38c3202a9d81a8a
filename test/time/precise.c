/* time_precise: timers fire at their exact ns deadline, never before it - paused clock: 10^5 tasks with random ns durations (many per millisecond) wake in exact deadline order with the clock at exactly their deadline, one big advance fires a batch in exact order, sub-millisecond advances fire a sleep at exactly its ns and not 1 ns before; real clock (both runtimes): every wake is at or after its exact deadline. */
#include "time_test.h"

#define N 100000

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ---- paused clock: 10^5 exact deadlines ----------------------------------- */

static uint64_t log_deadline[N];
static long log_len, registered;
/* When set, a sleeper's wake must see the clock at exactly its deadline
 * (auto-advance jumps); otherwise at or after it (one big advance). */
static bool exact_wake;

struct sleeper {
	weft_future base;
	weft_sleep_future sleep;
	uint64_t ns;
	bool armed;
};

static weft_poll sleeper_poll(weft_future *f, weft_cx *cx)
{
	struct sleeper *s = (struct sleeper *)f;
	weft_runtime *rt = weft_runtime_current();
	uint64_t deadline;

	if (!s->armed) {
		s->armed = true;
		weft_sleep(&s->sleep, NULL, s->ns);
		registered++;
	}
	if (weft_future_poll(&s->sleep.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	CHECK_EQ(s->sleep.result, 0);
	deadline = weft_sleep_deadline(&s->sleep);
	CHECK(weft_now(rt) >= deadline);
	if (exact_wake)
		CHECK_EQ(weft_now(rt), deadline);
	log_deadline[log_len++] = deadline;
	return WEFT_READY;
}

static void sleeper_drop(weft_future *f)
{
	struct sleeper *s = (struct sleeper *)f;

	if (s->armed)
		weft_future_drop(&s->sleep.base);
}

struct spawner {
	weft_future base;
	weft_join_handle *h;
	long n, i;
	uint64_t span;    /* durations in [1, span] ns */
	uint64_t advance; /* 0: let auto-advance jump; else one advance by it */
	int stage;
};

static weft_poll spawner_poll(weft_future *f, weft_cx *cx)
{
	struct spawner *d = (struct spawner *)f;
	weft_runtime *rt = weft_runtime_current();

	if (d->stage == 0) {
		for (d->i = 0; d->i < d->n; d->i++) {
			struct sleeper s = { { sleeper_poll, sleeper_drop }, { { 0 }, 0, { 0 } },
					     1 + rnd() % d->span, false };

			CHECK_EQ(weft_spawn(rt, &s.base, sizeof s, &d->h[d->i]), 0);
		}
		d->stage = 1;
	}
	if (d->stage == 1) {
		/* Let every task register (the clock does not move while
		 * something is runnable). */
		if (registered < d->n) {
			weft_waker_wake_by_ref(weft_cx_waker(cx));
			return WEFT_PENDING;
		}
		if (d->advance != 0)
			CHECK_EQ(weft_time_advance(rt, d->advance), 0);
		d->stage = 2;
		d->i = 0;
	}
	for (; d->i < d->n; d->i++) {
		if (weft_future_poll(&d->h[d->i].base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		CHECK_EQ(d->h[d->i].status, 0);
		weft_join_detach(&d->h[d->i]);
	}
	return WEFT_READY;
}

static void run_many(long n, uint64_t span, uint64_t advance)
{
	weft_runtime *rt = paused_runtime(NULL);
	struct spawner d = { { spawner_poll, NULL }, calloc((size_t)n, sizeof(weft_join_handle)),
			     n, 0, span, advance, 0 };
	long i;

	CHECK(d.h != NULL);
	log_len = registered = 0;
	exact_wake = advance == 0;
	CHECK_EQ(weft_block_on(rt, &d.base), 0);
	CHECK_EQ(log_len, n);
	for (i = 1; i < log_len; i++)
		CHECK(log_deadline[i] >= log_deadline[i - 1]);
	weft_runtime_destroy(rt);
	free(d.h);
}

/* ---- paused clock: one sleep, advanced in ns -------------------------------- */

static void test_exact_ns(void)
{
	uint64_t lengths[] = { 1, 999999, 1000001, 1500007, 64 * WEFT_MS + 3, 5 * WEFT_SEC + 11 };
	unsigned i;

	for (i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		weft_runtime *rt = paused_runtime(NULL);
		struct count_waker c = { 0 };
		weft_waker w = count_waker(&c);
		weft_sleep_future s;
		uint64_t start = weft_now(rt), d = lengths[i];

		/* Not on a tick: start half-way into a millisecond. */
		CHECK_EQ(weft_time_advance(rt, WEFT_MS / 2 + 3), 0);
		start = weft_now(rt);
		weft_sleep(&s, rt, d);
		CHECK_EQ(poll_with(&s.base, &w), WEFT_PENDING);
		CHECK_EQ(weft_sleep_deadline(&s), start + d);
		if (d > 1) {
			/* 1 ns before the deadline: not fired. */
			CHECK_EQ(weft_time_advance(rt, d - 1), 0);
			CHECK_EQ(atomic_load(&c.wakes), 0);
			CHECK_EQ(poll_with(&s.base, &w), WEFT_PENDING);
			CHECK_EQ(weft_time_advance(rt, 1), 0);
		} else {
			CHECK_EQ(weft_time_advance(rt, 1), 0);
		}
		/* At the deadline: fired, at exactly that instant. */
		CHECK_EQ(atomic_load(&c.wakes), 1);
		CHECK_EQ(weft_now(rt), start + d);
		CHECK_EQ(poll_with(&s.base, &w), WEFT_READY);
		CHECK_EQ(s.result, 0);
		weft_future_drop(&s.base);
		weft_runtime_destroy(rt);
	}
}

/* Auto-advance (block_on with nothing runnable) lands on the exact ns. */
static void test_auto_exact(void)
{
	weft_runtime *rt = paused_runtime(NULL);
	int i;

	for (i = 0; i < 200; i++) {
		struct sleep_once s = sleep_once_make(1 + rnd() % (3 * WEFT_MS));

		CHECK_EQ(weft_block_on(rt, &s.base), 0);
		CHECK_EQ(s.result, 0);
		CHECK_EQ(s.deadline, s.start + s.ns);
		CHECK_EQ(s.end, s.deadline);
	}
	weft_runtime_destroy(rt);
}

/* ---- real clock: never early ------------------------------------------------ */

#define REAL_TASKS 200

static _Atomic long real_ok;

struct real_sleeper {
	weft_future base;
	weft_sleep_future sleep;
	uint64_t ns;
	bool armed, absolute;
};

static weft_poll real_poll(weft_future *f, weft_cx *cx)
{
	struct real_sleeper *s = (struct real_sleeper *)f;
	weft_runtime *rt = weft_runtime_current();

	if (!s->armed) {
		s->armed = true;
		if (s->absolute)
			weft_sleep_until(&s->sleep, NULL, weft_now(rt) + s->ns);
		else
			weft_sleep(&s->sleep, NULL, s->ns);
	}
	if (weft_future_poll(&s->sleep.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	CHECK_EQ(s->sleep.result, 0);
	/* The clock read after the wake is at or after the exact deadline. */
	CHECK(weft_now(rt) >= weft_sleep_deadline(&s->sleep));
	atomic_fetch_add(&real_ok, 1);
	return WEFT_READY;
}

static void real_drop(weft_future *f)
{
	struct real_sleeper *s = (struct real_sleeper *)f;

	if (s->armed)
		weft_future_drop(&s->sleep.base);
}

/* Awaits join handles in order (a current-thread runtime runs its tasks
 * only inside block_on). */
struct join_all {
	weft_future base;
	weft_join_handle *h;
	int n, i;
};

static weft_poll join_all_poll(weft_future *f, weft_cx *cx)
{
	struct join_all *j = (struct join_all *)f;

	for (; j->i < j->n; j->i++) {
		if (weft_future_poll(&j->h[j->i].base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		CHECK_EQ(j->h[j->i].status, 0);
		weft_join_detach(&j->h[j->i]);
	}
	return WEFT_READY;
}

static void test_real(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	weft_join_handle h[REAL_TASKS];
	struct join_all j = { { join_all_poll, NULL }, h, REAL_TASKS, 0 };
	int i;

	atomic_store(&real_ok, 0);
	for (i = 0; i < REAL_TASKS; i++) {
		/* Sub-millisecond and a few ms, off the ticks. */
		struct real_sleeper s = { { real_poll, real_drop }, { { 0 }, 0, { 0 } },
					  1 + rnd() % (3 * WEFT_MS), false, i % 2 == 0 };

		CHECK_EQ(weft_spawn(rt, &s.base, sizeof s, &h[i]), 0);
	}
	CHECK_EQ(weft_block_on(rt, &j.base), 0);
	CHECK_EQ(atomic_load(&real_ok), REAL_TASKS);
	/* A chain of sub-millisecond sleeps from block_on, one after the
	 * other: each ends at or after its deadline. */
	for (i = 0; i < 50; i++) {
		struct sleep_once s = sleep_once_make(1 + rnd() % (WEFT_MS / 2));

		CHECK_EQ(weft_block_on(rt, &s.base), 0);
		CHECK_EQ(s.result, 0);
		CHECK(s.deadline >= s.start + s.ns);
		CHECK(s.end >= s.deadline);
	}
	weft_runtime_destroy(rt);
}

int main(void)
{
	/* 10^5 deadlines over 50 ms: about 2000 in each millisecond. */
	run_many(N, 50 * WEFT_MS, 0);
	/* The same fired by one advance: one batch, in exact order. */
	run_many(N / 4, 20 * WEFT_MS, 30 * WEFT_MS);
	/* Spread over a minute: every level of the wheel. */
	run_many(N / 10, 60 * WEFT_SEC, 0);
	test_exact_ns();
	test_auto_exact();
	test_real(0);
	test_real(4);
	return 0;
}

/* time_sleep: sleeps on the current-thread runtime - never early (real and paused clock), 30-day and 3-year sleeps under the paused clock, zero and saturating durations, weft_time_advance, start_paused checks, bad input, no allocation per sleep, sleeps that outlive their runtime. */
#include "time_test.h"

#define DAY (86400 * WEFT_SEC)

static void test_never_early_real(void)
{
	weft_runtime *rt = test_runtime(0, NULL);
	int i;

	for (i = 0; i < 20; i++) {
		struct sleep_once s = sleep_once_make((uint64_t)(i % 4) * WEFT_MS + 1000u * i);

		CHECK_EQ(weft_block_on(rt, &s.base), 0);
		CHECK_EQ(s.result, 0);
		CHECK(s.deadline >= s.start + s.ns);
		CHECK(s.end >= s.deadline);
	}
	weft_runtime_destroy(rt);
}

static void test_long_sleeps_paused(void)
{
	weft_runtime *rt = paused_runtime(NULL);
	uint64_t lengths[] = { 30 * DAY, 3 * 365 * DAY, 7 * WEFT_MS, 1 };
	unsigned i;

	for (i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		struct sleep_once s = sleep_once_make(lengths[i]);
		uint64_t before = weft_now(rt);

		CHECK_EQ(weft_block_on(rt, &s.base), 0);
		CHECK_EQ(s.result, 0);
		CHECK_EQ(s.start, before);
		CHECK(s.end >= s.deadline);
		/* Whole milliseconds from the runtime's start: exact. */
		if (lengths[i] % WEFT_MS == 0 && (before - weft_now(rt)) % WEFT_MS == 0)
			CHECK_EQ(s.end, before + lengths[i]);
	}
	weft_runtime_destroy(rt);
}

/* Clock reads exactly +30 days and +3 years after, measured from start. */
static void test_exact_jumps(void)
{
	weft_runtime *rt = paused_runtime(NULL);
	uint64_t start = weft_now(rt);
	struct sleep_once a = sleep_once_make(30 * DAY);
	struct sleep_once b = sleep_once_make(3 * 365 * DAY);

	CHECK_EQ(weft_block_on(rt, &a.base), 0);
	CHECK_EQ(weft_now(rt), start + 30 * DAY);
	CHECK_EQ(weft_block_on(rt, &b.base), 0);
	CHECK_EQ(weft_now(rt), start + 30 * DAY + 3 * 365 * DAY);
	weft_runtime_destroy(rt);
}

static void test_zero_and_saturation(void)
{
	weft_runtime *rt = paused_runtime(NULL);
	struct count_waker cw = { 0 };
	weft_waker w = count_waker(&cw);
	weft_sleep_future s, big;
	weft_future *br[2];
	weft_select sel;
	uint64_t start = weft_now(rt);

	/* Zero duration and a passed deadline: ready at the first poll. */
	weft_sleep(&s, rt, 0);
	CHECK_EQ(poll_with(&s.base, &w), WEFT_READY);
	CHECK_EQ(s.result, 0);
	weft_future_drop(&s.base);
	weft_sleep_until(&s, rt, 0);
	CHECK_EQ(poll_with(&s.base, &w), WEFT_READY);
	weft_future_drop(&s.base);
	weft_sleep_until(&s, rt, start);
	CHECK_EQ(poll_with(&s.base, &w), WEFT_READY);
	weft_future_drop(&s.base);

	/* UINT64_MAX and INT64_MAX saturate instead of wrapping: they lose a
	 * select against 1 ms. */
	weft_sleep(&big, NULL, UINT64_MAX);
	weft_sleep(&s, NULL, WEFT_MS);
	br[0] = &big.base;
	br[1] = &s.base;
	CHECK_EQ(weft_select_init(&sel, br, 2), 0);
	CHECK_EQ(weft_block_on(rt, &sel.base), 0);
	CHECK_EQ(sel.winner, 1);
	weft_future_drop(&sel.base);
	CHECK_EQ(weft_now(rt), start + WEFT_MS);

	weft_sleep(&big, rt, UINT64_MAX);
	CHECK_EQ(poll_with(&big.base, &w), WEFT_PENDING);
	CHECK_EQ(weft_sleep_deadline(&big), UINT64_MAX);
	weft_future_drop(&big.base);
	weft_sleep(&big, rt, (uint64_t)INT64_MAX);
	CHECK_EQ(poll_with(&big.base, &w), WEFT_PENDING);
	CHECK_EQ(weft_sleep_deadline(&big), weft_now(rt) + (uint64_t)INT64_MAX);
	weft_future_drop(&big.base);
	CHECK_EQ(cw.wakes, 0);

	/* Polled outside any runtime and bound to none. */
	weft_sleep(&s, NULL, WEFT_MS);
	CHECK_EQ(poll_with(&s.base, &w), WEFT_READY);
	CHECK_EQ(s.result, -EINVAL);
	weft_future_drop(&s.base);
	weft_runtime_destroy(rt);
}

/* A future that registers a 10 ms sleep, then advances the clock from
 * inside its own task: 9 ms (still pending), 1 ms (ready at the next
 * poll, which is this one: the advance fired it). */
struct advancer {
	weft_future base;
	weft_sleep_future sleep;
	uint64_t start;
	int step;
};

static weft_poll advancer_poll(weft_future *f, weft_cx *cx)
{
	struct advancer *a = (struct advancer *)f;
	weft_runtime *rt = weft_runtime_current();

	if (a->step == 0) {
		a->start = weft_now(rt);
		weft_sleep(&a->sleep, NULL, 10 * WEFT_MS);
		CHECK_EQ(weft_future_poll(&a->sleep.base, cx), WEFT_PENDING);
		CHECK_EQ(weft_time_advance(rt, 9 * WEFT_MS), 0);
		CHECK_EQ(weft_now(rt), a->start + 9 * WEFT_MS);
		CHECK_EQ(weft_future_poll(&a->sleep.base, cx), WEFT_PENDING);
		CHECK_EQ(weft_time_advance(rt, WEFT_MS), 0);
		CHECK_EQ(weft_now(rt), a->start + 10 * WEFT_MS);
		a->step = 1;
		CHECK_EQ(weft_future_poll(&a->sleep.base, cx), WEFT_READY);
		weft_future_drop(&a->sleep.base);
	}
	return WEFT_READY;
}

static void test_advance(void)
{
	weft_runtime *rt = paused_runtime(NULL), *real = test_runtime(0, NULL);
	struct advancer a = { { advancer_poll, NULL }, { { 0 }, 0, { 0 } }, 0, 0 };
	struct count_waker cw = { 0 };
	weft_waker w = count_waker(&cw);
	weft_sleep_future s;
	uint64_t t0;
	weft_runtime_config cfg = { 0 };
	weft_runtime *bad = NULL;

	CHECK_EQ(weft_block_on(rt, &a.base), 0);
	CHECK_EQ(a.step, 1);

	/* From the owning thread outside block_on: exact moves, and due timers
	 * fire during the call. */
	t0 = weft_now(rt);
	weft_sleep(&s, rt, 5 * WEFT_MS);
	CHECK_EQ(poll_with(&s.base, &w), WEFT_PENDING);
	CHECK_EQ(weft_time_advance(rt, 3 * WEFT_MS + 7), 0);
	CHECK_EQ(weft_now(rt), t0 + 3 * WEFT_MS + 7);
	CHECK_EQ(cw.wakes, 0);
	CHECK_EQ(weft_time_advance(rt, 2 * WEFT_MS - 7), 0);
	CHECK_EQ(weft_now(rt), t0 + 5 * WEFT_MS);
	CHECK_EQ(cw.wakes, 1);
	CHECK_EQ(poll_with(&s.base, &w), WEFT_READY);
	weft_future_drop(&s.base);
	CHECK_EQ(weft_time_advance(rt, 0), 0);
	CHECK_EQ(weft_now(rt), t0 + 5 * WEFT_MS);
	/* Saturates. */
	CHECK_EQ(weft_time_advance(rt, UINT64_MAX), 0);
	CHECK_EQ(weft_now(rt), UINT64_MAX);

	/* Bad input. */
	CHECK_EQ(weft_time_advance(NULL, 1), -EINVAL);
	CHECK_EQ(weft_time_advance(real, 1), -EINVAL);
	CHECK_EQ(weft_now(NULL), 0);
	CHECK(weft_now(real) > 0);
	cfg.flavor = WEFT_RUNTIME_MULTI_THREAD;
	cfg.workers = 1;
	cfg.start_paused = true;
	CHECK_EQ(weft_runtime_create(&cfg, &bad), -EINVAL);
	CHECK(bad == NULL);
	CHECK_EQ(weft_interval_init(NULL, rt, 0, 1), -EINVAL);
	weft_sleep(NULL, rt, 1);
	weft_sleep_until(NULL, rt, 1);
	CHECK_EQ(weft_sleep_deadline(NULL), UINT64_MAX);
	weft_runtime_destroy(rt);
	weft_runtime_destroy(real);
}

/* 10^5 sleeps in a row allocate nothing. */
struct many_sleeps {
	weft_future base;
	weft_sleep_future sleep;
	long i, n;
	bool armed;
};

static weft_poll many_sleeps_poll(weft_future *f, weft_cx *cx)
{
	struct many_sleeps *m = (struct many_sleeps *)f;

	while (m->i < m->n) {
		if (!m->armed) {
			weft_sleep(&m->sleep, NULL, WEFT_MS);
			m->armed = true;
		}
		if (weft_future_poll(&m->sleep.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		CHECK_EQ(m->sleep.result, 0);
		weft_future_drop(&m->sleep.base);
		m->armed = false;
		m->i++;
	}
	return WEFT_READY;
}

static void test_no_allocation(void)
{
	struct test_alloc ta;
	weft_allocator a = test_allocator(&ta);
	weft_runtime *rt = paused_runtime(&a);
	struct many_sleeps m = { { many_sleeps_poll, NULL }, { { 0 }, 0, { 0 } }, 0, 100000, false };
	struct sleep_once warm = sleep_once_make(WEFT_MS);
	long allocs, bytes;
	uint64_t start;

	/* Warm up the thread's first block_on. */
	CHECK_EQ(weft_block_on(rt, &warm.base), 0);
	allocs = atomic_load(&ta.allocs);
	bytes = atomic_load(&ta.live_bytes);
	start = weft_now(rt);
	CHECK_EQ(weft_block_on(rt, &m.base), 0);
	CHECK_EQ(m.i, 100000);
	CHECK_EQ(weft_now(rt), start + 100000 * WEFT_MS);
	CHECK_EQ(atomic_load(&ta.allocs), allocs);
	CHECK_EQ(atomic_load(&ta.live_bytes), bytes);
	weft_runtime_destroy(rt);
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
}

/* Polls a sleep once (registering it) and is ready: the sleep outlives
 * the block_on, and then the runtime. */
struct register_only {
	weft_future base;
	weft_sleep_future *sleep;
};

static weft_poll register_only_poll(weft_future *f, weft_cx *cx)
{
	struct register_only *r = (struct register_only *)f;

	CHECK_EQ(weft_future_poll(&r->sleep->base, cx), WEFT_PENDING);
	return WEFT_READY;
}

struct sleeper_task {
	weft_future base;
	weft_sleep_future sleep;
	bool armed;
};

static weft_poll sleeper_poll(weft_future *f, weft_cx *cx)
{
	struct sleeper_task *s = (struct sleeper_task *)f;

	if (!s->armed) {
		s->armed = true;
		weft_sleep(&s->sleep, NULL, 3600 * WEFT_SEC);
	}
	return weft_future_poll(&s->sleep.base, cx);
}

static void sleeper_drop(weft_future *f)
{
	struct sleeper_task *s = (struct sleeper_task *)f;

	if (s->armed)
		weft_future_drop(&s->sleep.base);
}

static void test_outlives_runtime(int flavor_workers)
{
	struct test_alloc ta;
	weft_allocator a = test_allocator(&ta);
	weft_runtime *rt = test_runtime((unsigned)flavor_workers, &a);
	struct count_waker cw = { 0 };
	weft_waker w = count_waker(&cw);
	weft_sleep_future held, by_hand, never;
	struct register_only r = { { register_only_poll, NULL }, &held };
	int i;

	/* Tasks asleep at shutdown: their drops unlink their timers. */
	for (i = 0; i < 100; i++) {
		struct sleeper_task s = { { sleeper_poll, sleeper_drop }, { { 0 }, 0, { 0 } }, false };

		CHECK_EQ(weft_spawn(rt, &s.base, sizeof s, NULL), 0);
	}
	weft_sleep(&held, NULL, 3600 * WEFT_SEC);
	CHECK_EQ(weft_block_on(rt, &r.base), 0);
	weft_sleep(&by_hand, rt, 3600 * WEFT_SEC);
	CHECK_EQ(poll_with(&by_hand.base, &w), WEFT_PENDING);
	weft_sleep(&never, rt, WEFT_SEC);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	/* The waiting ones completed with -ESHUTDOWN (woken); polling and
	 * dropping them now touches no freed memory (ASan). */
	CHECK_EQ(cw.wakes, 1);
	CHECK_EQ(poll_with(&by_hand.base, &w), WEFT_READY);
	CHECK_EQ(by_hand.result, -ESHUTDOWN);
	CHECK_EQ(poll_with(&held.base, &w), WEFT_READY);
	CHECK_EQ(held.result, -ESHUTDOWN);
	CHECK(atomic_load(&ta.live_bytes) > 0);
	weft_future_drop(&by_hand.base);
	weft_future_drop(&held.base);
	weft_future_drop(&never.base);
	/* The last reference freed the timer state. */
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
}

/* The timer state is one allocation at runtime creation; failing any of
 * the creation's allocations leaks nothing. */
static void test_create_nomem(void)
{
	struct test_alloc ta;
	weft_allocator a = test_allocator(&ta);
	weft_runtime_config cfg = { 0 };
	weft_runtime *rt = NULL;
	long k;

	cfg.flavor = WEFT_RUNTIME_CURRENT_THREAD;
	cfg.start_paused = true;
	cfg.allocator = &a;
	for (k = 1; k <= 3; k++) {
		atomic_store(&ta.count, 0);
		atomic_store(&ta.fail_at, k);
		CHECK_EQ(weft_runtime_create(&cfg, &rt), -ENOMEM);
		CHECK(rt == NULL);
		CHECK_EQ(atomic_load(&ta.live_bytes), 0);
	}
	atomic_store(&ta.fail_at, 0);
	CHECK_EQ(weft_runtime_create(&cfg, &rt), 0);
	weft_runtime_destroy(rt);
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
}

int main(void)
{
	test_create_nomem();
	test_never_early_real();
	test_long_sleeps_paused();
	test_exact_jumps();
	test_zero_and_saturation();
	test_advance();
	test_no_allocation();
	test_outlives_runtime(0);
	test_outlives_runtime(2);
	return 0;
}

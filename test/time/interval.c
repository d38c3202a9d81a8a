/* time_interval: interval ticks on the paused clock give exactly the instants of Tokio's tests/time_interval.rs for the burst, delay and skip behaviours (same periods, same advances), and the first tick of an interval started now is immediate. */
#include "time_test.h"

static weft_runtime *rt;
static weft_interval iv;
static uint64_t start;

static void advance_ms(uint64_t ms)
{
	CHECK_EQ(weft_time_advance(rt, ms * WEFT_MS), 0);
}

/* Polls a tick for each expected delta (ready at start + delta ms), then
 * once more (pending), as Tokio's check_interval_poll! does. */
/* Static: the interval keeps a clone of the waker between checks. */
static struct count_waker cw;

static void check_ticks(const long *deltas, int n, int line)
{
	weft_waker w = count_waker(&cw);
	weft_interval_tick_future t;
	int i;

	for (i = 0; i < n; i++) {
		weft_interval_tick(&iv, &t);
		if (poll_with(&t.base, &w) != WEFT_READY) {
			fprintf(stderr, "line %d: tick %d pending\n", line, i);
			exit(1);
		}
		CHECK_EQ(t.result, 0);
		if (t.instant != start + (uint64_t)deltas[i] * WEFT_MS) {
			fprintf(stderr, "line %d: tick %d at %+lld ms, want %ld\n", line, i,
				(long long)(t.instant - start) / 1000000, deltas[i]);
			exit(1);
		}
		weft_future_drop(&t.base);
	}
	weft_interval_tick(&iv, &t);
	if (poll_with(&t.base, &w) != WEFT_PENDING) {
		fprintf(stderr, "line %d: extra tick at %+lld ms\n", line,
			(long long)(t.instant - start) / 1000000);
		exit(1);
	}
	weft_future_drop(&t.base);
}

#define CHECK_TICKS(...)                                                       \
	do {                                                                   \
		const long d_[] = { __VA_ARGS__ };                             \
		check_ticks(d_ + 1, (int)(sizeof(d_) / sizeof(d_[0])) - 1,      \
			    __LINE__);                                         \
	} while (0)

static void begin(weft_missed_tick missed)
{
	rt = paused_runtime(NULL);
	start = weft_now(rt);
	/* As in Tokio's tests: one millisecond ahead, so that each tick is
	 * due when the clock reaches it. */
	advance_ms(1);
	CHECK_EQ(weft_interval_init(&iv, rt, start, 300 * WEFT_MS), 0);
	weft_interval_set_missed_tick(&iv, missed);
}

static void end(void)
{
	weft_interval_finish(&iv);
	weft_runtime_destroy(rt);
}

static void test_burst(void)
{
	begin(WEFT_MISSED_TICK_BURST);
	CHECK_TICKS(-1, 0);
	advance_ms(100);
	CHECK_TICKS(-1);
	advance_ms(200);
	CHECK_TICKS(-1, 300);
	advance_ms(650);
	CHECK_TICKS(-1, 600, 900);
	advance_ms(200);
	CHECK_TICKS(-1);
	advance_ms(100);
	CHECK_TICKS(-1, 1200);
	advance_ms(250);
	CHECK_TICKS(-1, 1500);
	advance_ms(300);
	CHECK_TICKS(-1, 1800);
	end();
}

static void test_delay(void)
{
	begin(WEFT_MISSED_TICK_DELAY);
	CHECK_TICKS(-1, 0);
	advance_ms(100);
	CHECK_TICKS(-1);
	advance_ms(200);
	CHECK_TICKS(-1, 300);
	advance_ms(650);
	CHECK_TICKS(-1, 600);
	advance_ms(100);
	CHECK_TICKS(-1);
	advance_ms(201);
	CHECK_TICKS(-1, 1251);
	advance_ms(300);
	CHECK_TICKS(-1, 1551);
	advance_ms(300);
	CHECK_TICKS(-1, 1851);
	end();
}

static void test_skip(void)
{
	begin(WEFT_MISSED_TICK_SKIP);
	CHECK_TICKS(-1, 0);
	advance_ms(100);
	CHECK_TICKS(-1);
	advance_ms(200);
	CHECK_TICKS(-1, 300);
	advance_ms(650);
	CHECK_TICKS(-1, 600);
	advance_ms(250);
	CHECK_TICKS(-1, 1200);
	advance_ms(300);
	CHECK_TICKS(-1, 1500);
	advance_ms(300);
	CHECK_TICKS(-1, 1800);
	end();
}

/* An interval awaited inside a task: the first tick is at once, the next
 * ones one period apart, with the paused clock jumping between them. */
struct ticker {
	weft_future base;
	weft_interval iv;
	weft_interval_tick_future t;
	uint64_t instants[5], clock[5];
	int n;
	bool armed;
};

static weft_poll ticker_poll(weft_future *f, weft_cx *cx)
{
	struct ticker *k = (struct ticker *)f;
	weft_runtime *cur = weft_runtime_current();

	while (k->n < 5) {
		if (!k->armed) {
			weft_interval_tick(&k->iv, &k->t);
			k->armed = true;
		}
		if (weft_future_poll(&k->t.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		CHECK_EQ(k->t.result, 0);
		k->instants[k->n] = k->t.instant;
		k->clock[k->n++] = weft_now(cur);
		k->armed = false;
	}
	return WEFT_READY;
}

static void test_in_task(void)
{
	struct ticker k;
	uint64_t s;
	int i;

	memset(&k, 0, sizeof(k));
	k.base.poll = ticker_poll;
	rt = paused_runtime(NULL);
	s = weft_now(rt);
	CHECK_EQ(weft_interval_init(&k.iv, rt, s, 10 * WEFT_MS), 0);
	CHECK_EQ(weft_block_on(rt, &k.base), 0);
	for (i = 0; i < 5; i++) {
		CHECK_EQ(k.instants[i], s + (uint64_t)i * 10 * WEFT_MS);
		CHECK_EQ(k.clock[i], k.instants[i]);
	}
	weft_interval_finish(&k.iv);
	/* Bad input. */
	CHECK_EQ(weft_interval_init(&k.iv, rt, s, 0), -EINVAL);
	CHECK_EQ(weft_interval_init(&k.iv, NULL, s, 1), -EINVAL); /* no current runtime */
	weft_interval_finish(NULL);
	weft_runtime_destroy(rt);
}

int main(void)
{
	test_burst();
	test_delay();
	test_skip();
	test_in_task();
	return 0;
}

/* time_timeout: a timeout around a never-ready future fires at exactly its deadline (paused clock) and drops the inner future once; around a future that is ready after the deadline it returns the inner result (polled first); around a future that spends its whole budget every poll it still fires; select with a sleep branch is a timeout. */
#include "time_test.h"

static void test_never_ready(void)
{
	weft_runtime *rt = paused_runtime(NULL);
	_Atomic int polls = 0, drops = 0;
	_Atomic bool ready = false;
	struct probe p = probe_make(&polls, &drops, &ready);
	weft_timeout_future t;
	uint64_t start = weft_now(rt);

	weft_timeout(&t, &p.base, NULL, 100 * WEFT_MS);
	CHECK_EQ(weft_block_on(rt, &t.base), 0);
	CHECK_EQ(t.result, -ETIMEDOUT);
	CHECK_EQ(weft_now(rt), start + 100 * WEFT_MS);
	CHECK_EQ(drops, 1);
	CHECK(polls >= 1);
	weft_future_drop(&t.base);
	CHECK_EQ(drops, 1);
	weft_runtime_destroy(rt);
}

static void test_ready_past_deadline(void)
{
	weft_runtime *rt = paused_runtime(NULL);
	struct count_waker cw = { 0 };
	weft_waker w = count_waker(&cw);
	_Atomic int polls = 0, drops = 0;
	_Atomic bool ready = false;
	struct probe p = probe_make(&polls, &drops, &ready);
	weft_timeout_future t;

	weft_timeout(&t, &p.base, rt, 10 * WEFT_MS);
	CHECK_EQ(poll_with(&t.base, &w), WEFT_PENDING);
	CHECK_EQ(weft_time_advance(rt, 20 * WEFT_MS), 0);
	CHECK_EQ(cw.wakes, 1); /* the timer fired */
	atomic_store(&ready, true);
	CHECK_EQ(poll_with(&t.base, &w), WEFT_READY);
	CHECK_EQ(t.result, 0);
	CHECK_EQ(p.value, 1234);
	CHECK_EQ(drops, 0); /* the caller reads the result first */
	weft_future_drop(&t.base);
	CHECK_EQ(drops, 1);

	/* Ready at once: no timer at all, even with the longest duration. */
	atomic_store(&ready, true);
	p = probe_make(&polls, &drops, &ready);
	weft_timeout(&t, &p.base, rt, UINT64_MAX);
	CHECK_EQ(poll_with(&t.base, &w), WEFT_READY);
	CHECK_EQ(t.result, 0);
	weft_future_drop(&t.base);
	CHECK_EQ(drops, 2);

	/* Bad input. */
	weft_timeout(&t, NULL, rt, 1);
	CHECK_EQ(poll_with(&t.base, &w), WEFT_READY);
	CHECK_EQ(t.result, -EINVAL);
	weft_future_drop(&t.base);
	weft_timeout(NULL, &p.base, rt, 1);
	weft_runtime_destroy(rt);
}

/* Spends every unit of budget and returns pending (woken by the budget). */
struct spender {
	weft_future base;
	_Atomic int *drops;
	long units;
};

static weft_poll spender_poll(weft_future *f, weft_cx *cx)
{
	struct spender *s = (struct spender *)f;

	while (weft_coop_proceed(cx))
		s->units++;
	return WEFT_PENDING;
}

static void spender_drop(weft_future *f)
{
	atomic_fetch_add(((struct spender *)f)->drops, 1);
}

/* Moves the paused clock 1 ms per poll until told to stop. */
static _Atomic bool stop_ticking;

struct clock_ticker {
	weft_future base;
};

static weft_poll clock_ticker_poll(weft_future *f, weft_cx *cx)
{
	(void)f;
	if (atomic_load(&stop_ticking))
		return WEFT_READY;
	CHECK_EQ(weft_time_advance(weft_runtime_current(), WEFT_MS), 0);
	weft_waker_wake_by_ref(weft_cx_waker(cx));
	return WEFT_PENDING;
}

static void test_budget_spender(void)
{
	weft_runtime *rt = paused_runtime(NULL);
	_Atomic int drops = 0;
	struct spender s = { { spender_poll, spender_drop }, &drops, 0 };
	struct clock_ticker k = { { clock_ticker_poll, NULL } };
	weft_timeout_future t;
	uint64_t start = weft_now(rt);

	/* Always runnable, so the clock never jumps by itself: the ticker
	 * moves it. */
	CHECK_EQ(weft_spawn(rt, &k.base, sizeof k, NULL), 0);
	weft_timeout(&t, &s.base, NULL, 10 * WEFT_MS);
	CHECK_EQ(weft_block_on(rt, &t.base), 0);
	CHECK_EQ(t.result, -ETIMEDOUT);
	CHECK(weft_now(rt) >= start + 10 * WEFT_MS);
	CHECK(s.units >= WEFT_COOP_BUDGET);
	CHECK_EQ(drops, 1);
	weft_future_drop(&t.base);
	CHECK_EQ(drops, 1);
	atomic_store(&stop_ticking, true);
	weft_runtime_destroy(rt);
}

static void test_select_timeout(void)
{
	weft_runtime *rt = paused_runtime(NULL);
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	weft_mpsc_recv_future r;
	weft_sleep_future sl;
	weft_future *br[2];
	weft_select sel;
	uint64_t v = 0, one = 1, start;
	_Atomic int drops = 0;
	struct spender sp = { { spender_poll, spender_drop }, &drops, 0 };

	CHECK_EQ(weft_mpsc_unbounded(sizeof(uint64_t), &tx, &rx), 0);
	/* Nothing arrives: the sleep branch wins at exactly its deadline. */
	start = weft_now(rt);
	weft_mpsc_recv(rx, &v, &r);
	weft_sleep(&sl, NULL, 50 * WEFT_MS);
	br[0] = &r.base;
	br[1] = &sl.base;
	CHECK_EQ(weft_select_init(&sel, br, 2), 0);
	CHECK_EQ(weft_block_on(rt, &sel.base), 0);
	CHECK_EQ(sel.winner, 1);
	CHECK_EQ(weft_now(rt), start + 50 * WEFT_MS);
	weft_future_drop(&sel.base);

	/* A value first: the receive wins, the sleep is cancelled. */
	CHECK_EQ(weft_mpsc_try_send(tx, &one), 0);
	weft_mpsc_recv(rx, &v, &r);
	weft_sleep(&sl, NULL, 50 * WEFT_MS);
	br[0] = &r.base;
	br[1] = &sl.base;
	CHECK_EQ(weft_select_init(&sel, br, 2), 0);
	CHECK_EQ(weft_block_on(rt, &sel.base), 0);
	CHECK_EQ(sel.winner, 0);
	CHECK_EQ(v, 1);
	weft_future_drop(&sel.base);

	/* A branch that spends the whole budget: the sleep still wins. */
	atomic_store(&stop_ticking, false);
	{
		struct clock_ticker k = { { clock_ticker_poll, NULL } };

		CHECK_EQ(weft_spawn(rt, &k.base, sizeof k, NULL), 0);
	}
	weft_sleep(&sl, NULL, 5 * WEFT_MS);
	br[0] = &sp.base;
	br[1] = &sl.base;
	CHECK_EQ(weft_select_init(&sel, br, 2), 0);
	CHECK_EQ(weft_block_on(rt, &sel.base), 0);
	CHECK_EQ(sel.winner, 1);
	CHECK_EQ(drops, 1);
	weft_future_drop(&sel.base);
	atomic_store(&stop_ticking, true);

	weft_mpsc_tx_release(tx);
	weft_mpsc_rx_release(rx);
	weft_runtime_destroy(rt);
}

int main(void)
{
	test_never_ready();
	test_ready_past_deadline();
	test_budget_spender();
	test_select_timeout();
	return 0;
}

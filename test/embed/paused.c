/*
 * A paused clock under ticks (weft/embed.h): as under weft_block_on, a
 * tick with nothing left to run moves the clock to the next timer, so a
 * 30-day sleep finishes within a few ticks and no real time; the timeout
 * of a paused runtime is 0 or -1, never a real delay; weft_time_advance
 * between ticks moves the clock too.
 */
#include "embed_test.h"

#define DAY (86400 * WEFT_SEC)

struct sleeps {
	weft_future base;
	WEFT_ASYNC_STATE;
	uint64_t dur;
	int n, i;
	weft_sleep_future s;
	_Atomic int *done;
};

static weft_poll sleeps_poll(weft_future *f, weft_cx *cx)
{
	struct sleeps *t = (struct sleeps *)f;

	WEFT_ASYNC_BEGIN(t);
	for (t->i = 0; t->i < t->n; t->i++) {
		weft_sleep(&t->s, NULL, t->dur);
		WEFT_AWAIT(t, cx, &t->s.base);
		CHECK_EQ(t->s.result, 0);
		weft_future_drop(&t->s.base);
	}
	atomic_store(t->done, 1);
	WEFT_ASYNC_END(t);
}

static void sleeps_drop(weft_future *f)
{
	struct sleeps *t = (struct sleeps *)f;

	if (t->weft_resume_ > 0)
		weft_future_drop(&t->s.base);
}

static struct sleeps sleeps_make(uint64_t dur, int n, _Atomic int *done)
{
	struct sleeps t;

	memset(&t, 0, sizeof(t));
	t.base.poll = sleeps_poll;
	t.base.drop = sleeps_drop;
	t.dur = dur;
	t.n = n;
	t.done = done;
	return t;
}

static void thirty_days(void)
{
	weft_runtime *rt = emb_runtime(true);
	_Atomic int done = 0;
	struct sleeps t = sleeps_make(30 * DAY, 1, &done);
	uint64_t t0 = weft_now(rt);

	emb_spawn(rt, &t, sizeof(t));
	emb_drain(rt);
	CHECK_EQ(atomic_load(&done), 1);
	CHECK(weft_now(rt) >= t0 + 30 * DAY);
	CHECK_EQ(weft_runtime_backend_timeout(rt), -1);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

static void one_poll_per_tick(void)
{
	weft_runtime *rt = emb_runtime(true);
	_Atomic int done = 0;
	struct sleeps t = sleeps_make(WEFT_SEC, 10, &done);
	uint64_t t0 = weft_now(rt);
	int ticks = 0, r;

	emb_spawn(rt, &t, sizeof(t));
	do {
		int to;

		r = weft_runtime_tick(rt, 1);
		CHECK(r == 0 || r == 1);
		to = weft_runtime_backend_timeout(rt);
		CHECK(to == 0 || to == -1);
		CHECK(ticks++ < 1000);
	} while (r == 1);
	CHECK_EQ(atomic_load(&done), 1);
	CHECK(weft_now(rt) >= t0 + 10 * WEFT_SEC);
	/* Between ticks the host may move the clock itself. */
	t0 = weft_now(rt);
	CHECK_EQ(weft_time_advance(rt, 5 * WEFT_SEC), 0);
	CHECK_EQ(weft_now(rt), t0 + 5 * WEFT_SEC);
	CHECK_EQ(weft_runtime_tick(rt, 1), 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

int main(void)
{
	thirty_days();
	one_poll_per_tick();
	printf("ok\n");
	return 0;
}

/* time_order: 10^5 tasks sleep random whole-millisecond durations on a paused current-thread runtime; half are aborted at random after registering; the rest wake in deadline order, exactly once, at exactly their deadline, and the aborted ones never. */
#include "time_test.h"

#define N 100000

static int fired[N];
static uint64_t log_deadline[N];
static long log_len;
static long registered;
static uint64_t start_clock;

struct sleeper {
	weft_future base;
	weft_sleep_future sleep;
	long idx;
	uint64_t ms;
	bool armed;
};

static weft_poll sleeper_poll(weft_future *f, weft_cx *cx)
{
	struct sleeper *s = (struct sleeper *)f;
	weft_runtime *rt = weft_runtime_current();

	if (!s->armed) {
		s->armed = true;
		weft_sleep(&s->sleep, NULL, s->ms * WEFT_MS);
		registered++;
	}
	if (weft_future_poll(&s->sleep.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	CHECK_EQ(s->sleep.result, 0);
	CHECK_EQ(weft_now(rt), start_clock + s->ms * WEFT_MS);
	fired[s->idx]++;
	log_deadline[log_len++] = s->ms;
	return WEFT_READY;
}

static void sleeper_drop(weft_future *f)
{
	struct sleeper *s = (struct sleeper *)f;

	if (s->armed)
		weft_future_drop(&s->sleep.base);
}

struct driver {
	weft_future base;
	weft_join_handle *h;
	bool *aborted;
	int stage;
	long i;
};

static uint64_t rng = 88172645463325252u;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static weft_poll driver_poll(weft_future *f, weft_cx *cx)
{
	struct driver *d = (struct driver *)f;
	weft_runtime *rt = weft_runtime_current();

	if (d->stage == 0) {
		start_clock = weft_now(rt);
		for (d->i = 0; d->i < N; d->i++) {
			struct sleeper s = { { sleeper_poll, sleeper_drop }, { { 0 }, 0, { 0 } },
					     d->i, 1 + rnd() % 100000, false };

			CHECK_EQ(weft_spawn(rt, &s.base, sizeof s, &d->h[d->i]), 0);
		}
		d->stage = 1;
	}
	if (d->stage == 1) {
		/* Let every task register its sleep (no time passes: the
		 * clock is paused and something is always runnable). */
		if (registered < N) {
			weft_waker_wake_by_ref(weft_cx_waker(cx));
			return WEFT_PENDING;
		}
		CHECK_EQ(weft_now(rt), start_clock);
		for (d->i = 0; d->i < N; d->i++) {
			if (rnd() % 2) {
				d->aborted[d->i] = true;
				CHECK_EQ(weft_join_abort(&d->h[d->i]), 0);
			}
		}
		d->stage = 2;
		d->i = 0;
	}
	for (; d->i < N; d->i++) {
		if (weft_future_poll(&d->h[d->i].base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		CHECK_EQ(d->h[d->i].status, d->aborted[d->i] ? -ECANCELED : 0);
		weft_join_detach(&d->h[d->i]);
	}
	return WEFT_READY;
}

int main(void)
{
	weft_runtime *rt = paused_runtime(NULL);
	struct driver d = { { driver_poll, NULL }, calloc(N, sizeof(weft_join_handle)),
			    calloc(N, sizeof(bool)), 0, 0 };
	long i, alive = 0;

	CHECK(d.h != NULL && d.aborted != NULL);
	CHECK_EQ(weft_block_on(rt, &d.base), 0);
	for (i = 0; i < N; i++) {
		CHECK_EQ(fired[i], d.aborted[i] ? 0 : 1);
		alive += !d.aborted[i];
	}
	CHECK_EQ(log_len, alive);
	CHECK(alive > N / 3);
	fprintf(stderr, "%ld fired in order, %ld aborted\n", alive, N - alive);
	for (i = 1; i < log_len; i++)
		CHECK(log_deadline[i] >= log_deadline[i - 1]);
	weft_runtime_destroy(rt);
	free(d.h);
	free(d.aborted);
	return 0;
}

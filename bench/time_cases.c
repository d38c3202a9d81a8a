/*
 * bench/time_cases.c - benchmark cases of src/driver/time.c for weft-bench.
 *
 * Exposes `weft_time_cases` / `weft_time_cases_len` (struct bench_case from
 * bench/harness.h):
 *
 *  - time/timeout: Tokio's time_timeout.rs (multi_thread_timeout-8), as in
 *    bench/peers: one iteration is one timeout(1 s) around a job that is
 *    ready at once; a sample splits `batch` of them over 8 tasks on 8
 *    workers.
 *  - time/timer_churn: one iteration creates a 1 s sleep, registers it (one
 *    poll, pending) and cancels it (drop), from one task (as the peers: one
 *    task on the multi-thread runtime, one goroutine): the cost of a timer
 *    that never fires (a timeout whose job finished later than at once).
 *    time/timer_churn_4tasks does the same from 4 tasks at once on 4
 *    workers (the wheel locks; a shard per worker by default).
 *  - time/sleep_lateness_1ms (value mode): one sample spawns a task that
 *    sleeps 1 ms (weft_sleep, the deadline is its first poll's clock plus
 *    1 ms) and notes the clock when it runs again; the value is that
 *    instant minus the deadline in ns, signed (a negative value would be an
 *    early wake).  As the Tokio peer (a spawned task, sleep_until(now +
 *    1 ms)) and the Go peer (a goroutine, time.Sleep until now + 1 ms), on
 *    a runtime with one worker per CPU.
 *
 * Workers: time/timeout 8 (Tokio's bench); time/timer_churn and
 * time/sleep_lateness_1ms one per CPU, as in BENCH_EXTRA_CASES and the
 * peers; time/timer_churn_4tasks 4, in the peers too.
 */
#include "common.h"

#include <stdlib.h>

#define TIME_TIMEOUT_WORKERS 8
#define CHURN_4TASKS_WORKERS 4

struct time_state {
	weft_runtime *rt;
	int workers;
	const void *param;
};

static int time_setup(const struct bench_case *bc, int workers, void **state)
{
	struct time_state *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return -ENOMEM;
	s->workers = workers;
	s->param = bc->param;
	s->rt = bench_runtime(workers, false);
	if (s->rt == NULL) {
		free(s);
		return -ENOMEM;
	}
	*state = s;
	return 0;
}

static void time_teardown(void *state)
{
	struct time_state *s = state;

	weft_runtime_destroy(s->rt);
	free(s);
}

/* Awaits `n` join handles in order and counts the tasks that finished. */
struct join_all {
	weft_future base;
	weft_join_handle *h;
	int n, i, ok;
};

static weft_poll join_all_poll(weft_future *f, weft_cx *cx)
{
	struct join_all *j = (struct join_all *)f;

	while (j->i < j->n) {
		if (weft_future_poll(&j->h[j->i].base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		j->ok += j->h[j->i].status == 0;
		weft_join_detach(&j->h[j->i]);
		j->i++;
	}
	return WEFT_READY;
}

/* ---- time/timeout ----------------------------------------------------------- */

struct quick_job {
	weft_future base;
	long value;
};

static weft_poll quick_job_poll(weft_future *f, weft_cx *cx)
{
	(void)cx;
	((struct quick_job *)f)->value = 1;
	return WEFT_READY;
}

struct timeout_loop {
	weft_future base;
	long n, ok;
};

static weft_poll timeout_loop_poll(weft_future *f, weft_cx *cx)
{
	struct timeout_loop *l = (struct timeout_loop *)f;
	long i;

	for (i = 0; i < l->n; i++) {
		struct quick_job q = { { quick_job_poll, NULL }, 0 };
		weft_timeout_future t;

		weft_timeout(&t, &q.base, NULL, WEFT_SEC);
		/* The job is ready at once: one poll, as Tokio's `.await`. */
		if (weft_future_poll(&t.base, cx) == WEFT_READY && t.result == 0)
			l->ok += q.value == 1;
		weft_future_drop(&t.base);
		bench_black_box((uint64_t)q.value);
	}
	return WEFT_READY;
}

static int run_timeout(void *state, long iterations)
{
	struct time_state *s = state;
	weft_join_handle h[64];
	long per_task = iterations / s->workers, ok = 0;
	struct join_all j = { { join_all_poll, NULL }, h, 0, 0, 0 };
	int i, err;

	for (i = 0; i < s->workers && i < 64; i++) {
		struct timeout_loop l = { { timeout_loop_poll, NULL }, per_task, 0 };

		err = weft_spawn(s->rt, &l.base, sizeof l, &h[i]);
		if (err < 0)
			return err;
		j.n++;
	}
	/* Joined one by one so that each task's count can be read. */
	for (i = 0; i < j.n; i++) {
		err = weft_join(&h[i]);
		if (err == 0)
			ok += ((struct timeout_loop *)weft_join_output(&h[i]))->ok;
		weft_join_detach(&h[i]);
	}
	return bench_check(ok == per_task * j.n, "a timeout fired or a job was lost");
}

/* ---- time/timer_churn --------------------------------------------------------- */

struct churn {
	weft_future base;
	long n, pending;
};

static weft_poll churn_poll(weft_future *f, weft_cx *cx)
{
	struct churn *c = (struct churn *)f;
	long i;

	for (i = 0; i < c->n; i++) {
		weft_sleep_future s;

		weft_sleep(&s, NULL, WEFT_SEC);
		c->pending += weft_future_poll(&s.base, cx) == WEFT_PENDING;
		weft_future_drop(&s.base);
	}
	return WEFT_READY;
}

/* `param` is the number of tasks that churn at once (NULL: one); the
 * iterations are split between them. */
static int run_churn(void *state, long iterations)
{
	struct time_state *s = state;
	int tasks = s->param != NULL ? *(const int *)s->param : 1, i, err = 0, started = 0;
	long per_task = iterations / tasks, pending = 0;
	weft_join_handle h[16];

	for (i = 0; i < tasks && i < 16; i++) {
		struct churn c = { { churn_poll, NULL }, per_task, 0 };

		err = weft_spawn(s->rt, &c.base, sizeof c, &h[i]);
		if (err < 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++) {
		if (weft_join(&h[i]) == 0)
			pending += ((struct churn *)weft_join_output(&h[i]))->pending;
		weft_join_detach(&h[i]);
	}
	if (err < 0)
		return err;
	return bench_check(pending == per_task * tasks, "a 1 s sleep was ready at once");
}

/* ---- time/sleep_lateness_1ms ----------------------------------------------------- */

struct nap {
	weft_future base;
	weft_sleep_future sleep;
	double lateness; /* woke minus deadline, ns, signed */
	bool armed;
};

static weft_poll nap_poll(weft_future *f, weft_cx *cx)
{
	struct nap *n = (struct nap *)f;

	if (!n->armed) {
		n->armed = true;
		weft_sleep(&n->sleep, NULL, WEFT_MS);
	}
	if (weft_future_poll(&n->sleep.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	{
		uint64_t woke = weft_now(weft_runtime_current());
		uint64_t deadline = weft_sleep_deadline(&n->sleep);

		n->lateness = woke >= deadline ? (double)(woke - deadline)
					       : -(double)(deadline - woke);
	}
	weft_future_drop(&n->sleep.base);
	n->armed = false;
	return WEFT_READY;
}

static void nap_drop(weft_future *f)
{
	struct nap *n = (struct nap *)f;

	if (n->armed)
		weft_future_drop(&n->sleep.base);
}

/* One value-mode sample: spawn a nap, join it, return its lateness. */
static int sample_lateness(void *state, double *value)
{
	struct time_state *s = state;
	struct nap n = { { nap_poll, nap_drop }, { { 0 }, 0, { 0 } }, 0, false };
	weft_join_handle h;
	int err = weft_spawn(s->rt, &n.base, sizeof n, &h);

	if (err < 0)
		return err;
	err = weft_join(&h);
	if (err == 0)
		*value = ((struct nap *)weft_join_output(&h))->lateness;
	weft_join_detach(&h);
	return err < 0 ? err : 0;
}

static const int churn_tasks_4 = 4;

const struct bench_case weft_time_cases[] = {
	/* Tokio's bench: name and defaults as in BENCH_TOKIO_CASES. */
	{ "time/timeout", TIME_TIMEOUT_WORKERS, 30, 3, 16000, time_setup, run_timeout,
	  time_teardown, NULL },
	{ "time/timer_churn", 0, 50, 3, 10000, time_setup, run_churn, time_teardown, NULL },
	/* The same from 4 tasks at once on the 4 workers: what the one shared
	 * wheel's lock costs under contention (docs/time.md). */
	{ "time/timer_churn_4tasks", CHURN_4TASKS_WORKERS, 100, 5, 10000, time_setup, run_churn,
	  time_teardown, &churn_tasks_4 },
	/* Value mode: ns late, per sample. */
	{ "time/sleep_lateness_1ms", 0, 1000, 10, 1, time_setup, NULL, time_teardown, NULL,
	  sample_lateness, "ns" },
};

const size_t weft_time_cases_len = BENCH_COUNT(weft_time_cases);

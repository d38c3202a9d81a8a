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
 *    poll, pending) and cancels it (drop), from one task on a 4-worker
 *    runtime: the cost of a timer that never fires (a timeout whose job
 *    finished later than at once).  time/timer_churn_4tasks does the same
 *    from 4 tasks at once (the shared wheel's lock under contention).
 *  - time/sleep_lateness_1ms: one sample is one 1 ms sleep inside a task on
 *    a 4-worker runtime.  The value that matters is the lateness (wake time
 *    minus deadline on the real clock); until the harness has a value mode,
 *    the sample is the wall time of spawn + sleep + join (about 1 ms plus
 *    the lateness plus the spawn/join cost) and teardown prints the
 *    lateness median, p90 and max on stderr.
 */
#include "common.h"

#include <stdlib.h>

#define TIME_TIMEOUT_WORKERS 8
#define CHURN_WORKERS 4
#define LATENESS_WORKERS 4
#define LATENESS_SAMPLES_MAX 100000

struct time_state {
	weft_runtime *rt;
	int workers;
	const void *param;
	/* sleep_lateness_1ms: one value per sample. */
	double *lateness;
	int nlateness;
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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void time_teardown(void *state)
{
	struct time_state *s = state;

	if (s->nlateness > 0) {
		int n = s->nlateness;

		qsort(s->lateness, (size_t)n, sizeof(double), cmp_double);
		fprintf(stderr, "weft: sleep lateness over %d samples: median %.0f ns, "
				"p90 %.0f ns, max %.0f ns\n",
			n, s->lateness[n / 2], s->lateness[(n * 9 + 9) / 10 - 1],
			s->lateness[n - 1]);
	}
	weft_runtime_destroy(s->rt);
	free(s->lateness);
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
	uint64_t lateness;
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
	n->lateness = weft_now(weft_runtime_current()) - weft_sleep_deadline(&n->sleep);
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

static int run_lateness(void *state, long iterations)
{
	struct time_state *s = state;
	long i;

	if (s->lateness == NULL) {
		s->lateness = calloc(LATENESS_SAMPLES_MAX, sizeof(double));
		if (s->lateness == NULL)
			return -ENOMEM;
	}
	for (i = 0; i < iterations; i++) {
		struct nap n = { { nap_poll, nap_drop }, { { 0 }, 0, { 0 } }, 0, false };
		weft_join_handle h;
		int err = weft_spawn(s->rt, &n.base, sizeof n, &h);

		if (err < 0)
			return err;
		err = weft_join(&h);
		if (err == 0 && s->nlateness < LATENESS_SAMPLES_MAX)
			s->lateness[s->nlateness++] =
				(double)((struct nap *)weft_join_output(&h))->lateness;
		weft_join_detach(&h);
		if (err < 0)
			return err;
	}
	return 0;
}

static const int churn_tasks_4 = 4;

const struct bench_case weft_time_cases[] = {
	/* Tokio's bench: name and defaults as in BENCH_TOKIO_CASES. */
	{ "time/timeout", TIME_TIMEOUT_WORKERS, 30, 3, 16000, time_setup, run_timeout,
	  time_teardown, NULL },
	{ "time/timer_churn", CHURN_WORKERS, 100, 5, 10000, time_setup, run_churn,
	  time_teardown, NULL },
	/* The same from 4 tasks at once on the 4 workers: what the one shared
	 * wheel's lock costs under contention (docs/time.md). */
	{ "time/timer_churn_4tasks", CHURN_WORKERS, 100, 5, 10000, time_setup, run_churn,
	  time_teardown, &churn_tasks_4 },
	{ "time/sleep_lateness_1ms", LATENESS_WORKERS, 500, 20, 1, time_setup, run_lateness,
	  time_teardown, NULL },
};

const size_t weft_time_cases_len = BENCH_COUNT(weft_time_cases);

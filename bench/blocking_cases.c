/*
 * bench/blocking_cases.c - the blocking pool and combinator benchmarks:
 *
 *   spawn_blocking/spawn_blocking  Tokio's spawn_blocking.rs at concurrency 1:
 *                                  one task runs 100 batches of 16 no-op
 *                                  blocking jobs, awaiting each batch.
 *   spawn_blocking/burst_100k      one task spawns 100,000 no-op blocking
 *                                  jobs, then awaits them all in order.
 *   spawn_blocking/spawn_fn        the spawn_blocking case with weft_spawn_fn
 *                                  instead: the functions run as tasks on the
 *                                  workers, as the Go peer's goroutines run
 *                                  on its Ps (what to use for work that does
 *                                  not block; docs/blocking.md); Tokio's side
 *                                  uses tokio::spawn.
 *   combinators/join_all_10k       one task awaits a join_all over 10,000
 *                                  futures that are ready after one yield.
 *
 * One iteration is the whole of the described work.  Every case checks that
 * every job ran.
 */
#include "common.h"

#include <stdlib.h>

#define NUM_BATCHES 100
#define BATCH_SIZE 16
#define BURST 100000
#define JOIN_ALL_N 10000

struct blocking_state {
	weft_runtime *rt;
	weft_join_handle *handles;
	size_t nhandles;
	/* join_all_10k */
	weft_yield *yields;
	weft_future **futures;
	weft_branch *branches;
};

static void *noop_job(void *arg)
{
	bench_black_box((uint64_t)(uintptr_t)arg);
	return arg;
}

/* The task: spawns `per_batch` jobs `batches` times, awaiting each batch. */
struct batches_task {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct blocking_state *s;
	size_t batches, per_batch, batch, i;
	long done;
	int err;
	/* Run the functions as tasks (weft_spawn_fn) instead of on the pool. */
	bool as_tasks;
};

static weft_poll batches_poll(weft_future *f, weft_cx *cx)
{
	struct batches_task *t = (struct batches_task *)f;

	WEFT_ASYNC_BEGIN(t);
	for (t->batch = 0; t->batch < t->batches; t->batch++) {
		for (t->i = 0; t->i < t->per_batch; t->i++) {
			t->err = t->as_tasks
					 ? weft_spawn_fn(t->s->rt, noop_job, NULL, &t->s->handles[t->i])
					 : weft_spawn_blocking(t->s->rt, noop_job, NULL,
							       &t->s->handles[t->i]);
			if (t->err < 0)
				break;
		}
		if (t->err < 0)
			break;
		for (t->i = 0; t->i < t->per_batch; t->i++) {
			WEFT_AWAIT(t, cx, &t->s->handles[t->i].base);
			if (t->s->handles[t->i].status == 0)
				t->done++;
			weft_join_detach(&t->s->handles[t->i]);
		}
	}
	WEFT_ASYNC_END(t);
}

static int run_batches(struct blocking_state *s, size_t batches, size_t per_batch,
		       bool as_tasks, long iterations)
{
	long it;

	for (it = 0; it < iterations; it++) {
		struct batches_task t = { .base = { batches_poll, NULL }, .s = s,
					  .batches = batches, .per_batch = per_batch,
					  .as_tasks = as_tasks };
		weft_join_handle h;
		int err;

		err = weft_spawn(s->rt, &t.base, sizeof t, &h);
		if (err < 0)
			return err;
		err = weft_join(&h);
		if (err == 0)
			t = *(struct batches_task *)weft_join_output(&h);
		weft_join_detach(&h);
		if (err < 0 || t.err < 0) {
			fprintf(stderr, "spawn_blocking: %d / %d\n", err, t.err);
			return -1;
		}
		if (bench_check(t.done == (long)(batches * per_batch), "blocking jobs were lost"))
			return -1;
	}
	return 0;
}

static int run_spawn_blocking(void *state, long iterations)
{
	return run_batches(state, NUM_BATCHES, BATCH_SIZE, false, iterations);
}

static int run_spawn_fn(void *state, long iterations)
{
	return run_batches(state, NUM_BATCHES, BATCH_SIZE, true, iterations);
}

static int run_burst(void *state, long iterations)
{
	return run_batches(state, 1, BURST, false, iterations);
}

/* The task: one join_all over the prepared yields. */
struct join_all_task {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct blocking_state *s;
	weft_combinator c;
	long ready;
};

static weft_poll join_all_poll(weft_future *f, weft_cx *cx)
{
	struct join_all_task *t = (struct join_all_task *)f;
	size_t i;

	WEFT_ASYNC_BEGIN(t);
	for (i = 0; i < JOIN_ALL_N; i++)
		weft_yield_now(&t->s->yields[i]);
	weft_branches_init(t->s->branches, t->s->futures, JOIN_ALL_N, NULL);
	weft_join_all_init(&t->c, t->s->branches, JOIN_ALL_N);
	WEFT_AWAIT(t, cx, &t->c.base);
	for (i = 0; i < JOIN_ALL_N; i++)
		t->ready += t->s->branches[i].state == WEFT_BRANCH_READY;
	weft_future_drop(&t->c.base);
	WEFT_ASYNC_END(t);
}

static int run_join_all(void *state, long iterations)
{
	struct blocking_state *s = state;
	long it;

	for (it = 0; it < iterations; it++) {
		struct join_all_task t = { .base = { join_all_poll, NULL }, .s = s };
		weft_join_handle h;
		int err;

		err = weft_spawn(s->rt, &t.base, sizeof t, &h);
		if (err < 0)
			return err;
		err = weft_join(&h);
		if (err == 0)
			t = *(struct join_all_task *)weft_join_output(&h);
		weft_join_detach(&h);
		if (err < 0 || bench_check(t.ready == JOIN_ALL_N, "join_all lost futures"))
			return -1;
	}
	return 0;
}

static void teardown(void *state)
{
	struct blocking_state *s = state;

	if (s == NULL)
		return;
	weft_runtime_destroy(s->rt);
	free(s->handles);
	free(s->yields);
	free(s->futures);
	free(s->branches);
	free(s);
}

static int setup(const struct bench_case *bc, int workers, void **state)
{
	struct blocking_state *s = calloc(1, sizeof(*s));
	size_t i;

	*state = s;
	if (s == NULL)
		return -ENOMEM;
	s->rt = bench_runtime(workers, false);
	s->nhandles = (size_t)(uintptr_t)bc->param;
	s->handles = calloc(s->nhandles > 0 ? s->nhandles : 1, sizeof(*s->handles));
	if (s->rt == NULL || s->handles == NULL)
		goto fail;
	if (s->nhandles == 0) {
		s->yields = calloc(JOIN_ALL_N, sizeof(*s->yields));
		s->futures = calloc(JOIN_ALL_N, sizeof(*s->futures));
		s->branches = calloc(JOIN_ALL_N, sizeof(*s->branches));
		if (s->yields == NULL || s->futures == NULL || s->branches == NULL)
			goto fail;
		for (i = 0; i < JOIN_ALL_N; i++)
			s->futures[i] = &s->yields[i].base;
	}
	return 0;
fail:
	teardown(s);
	*state = NULL;
	return -ENOMEM;
}

const struct bench_case weft_blocking_cases[] = {
	{ "spawn_blocking/spawn_blocking", 0, 50, 3, 1, setup, run_spawn_blocking, teardown,
	  (const void *)(uintptr_t)BATCH_SIZE },
	{ "spawn_blocking/burst_100k", 0, 20, 2, 1, setup, run_burst, teardown,
	  (const void *)(uintptr_t)BURST },
	{ "spawn_blocking/spawn_fn", 0, 50, 3, 1, setup, run_spawn_fn, teardown,
	  (const void *)(uintptr_t)BATCH_SIZE },
	{ "combinators/join_all_10k", 1, 100, 5, 1, setup, run_join_all, teardown,
	  (const void *)(uintptr_t)0 },
};

const size_t weft_blocking_cases_len = BENCH_COUNT(weft_blocking_cases);

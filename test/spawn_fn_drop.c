/*
 * weft_spawn_fn_ex: the task owns `arg` and calls drop_arg exactly once when
 * it ends -- after fn ran, or instead of fn when the task is aborted or shut
 * down before it ran (issue 9.5: weft_spawn_fn leaked it then).  A failed
 * spawn leaves `arg` with the caller.
 */
#include "test.h"

static _Atomic int fn_calls, drop_calls;

struct arg {
	long value;
	bool ran; /* set by fn: drop_arg checks it is called after fn */
};

static struct arg *arg_new(long value)
{
	struct arg *a = malloc(sizeof(*a));

	CHECK(a != NULL);
	a->value = value;
	a->ran = false;
	return a;
}

static void *times_two(void *p)
{
	struct arg *a = p;

	atomic_fetch_add(&fn_calls, 1);
	a->ran = true;
	return (void *)(a->value * 2);
}

static void free_arg(void *p)
{
	atomic_fetch_add(&drop_calls, 1);
	free(p);
}

static void reset(void)
{
	atomic_store(&fn_calls, 0);
	atomic_store(&drop_calls, 0);
}

/* fn runs, then drop_arg, both before the join completes. */
static void test_completed(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	weft_join_handle h;

	reset();
	CHECK_EQ(weft_spawn_fn_ex(rt, times_two, arg_new(21), free_arg, &h), 0);
	if (workers == 0) {
		CHECK_EQ(weft_block_on(rt, &h.base), 0);
		CHECK_EQ(h.status, 0);
	} else {
		CHECK_EQ(weft_join(&h), 0);
	}
	CHECK_EQ(atomic_load(&fn_calls), 1);
	CHECK_EQ(atomic_load(&drop_calls), 1);
	CHECK_EQ((long)((weft_fn_future *)weft_join_output(&h))->result, 42);
	weft_join_detach(&h);
	CHECK_EQ(atomic_load(&drop_calls), 1);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* Aborted while queued on a current-thread runtime that has not run yet. */
static void test_abort_before_run_ct(void)
{
	weft_runtime *rt = test_runtime(0, NULL);
	weft_join_handle h;

	reset();
	CHECK_EQ(weft_spawn_fn_ex(rt, times_two, arg_new(1), free_arg, &h), 0);
	CHECK_EQ(weft_join_abort(&h), 0);
	CHECK_EQ(weft_block_on(rt, &h.base), 0);
	CHECK_EQ(h.status, -ECANCELED);
	CHECK_EQ(atomic_load(&fn_calls), 0);
	CHECK_EQ(atomic_load(&drop_calls), 1);
	CHECK(weft_join_output(&h) == NULL);
	weft_join_detach(&h);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(atomic_load(&drop_calls), 1);
}

/* Occupies the only worker until released. */
struct gate {
	weft_future base;
	struct test_event *running, *release;
};

static weft_poll gate_poll(weft_future *f, weft_cx *cx)
{
	struct gate *g = (struct gate *)f;

	(void)cx;
	test_event_set(g->running);
	test_event_wait(g->release);
	return WEFT_READY;
}

/* Aborted while queued behind a task that holds the only worker. */
static void test_abort_before_run_mt(void)
{
	weft_runtime *rt = test_runtime(1, NULL);
	struct test_event running, release;
	struct gate g = { { gate_poll, NULL }, &running, &release };
	weft_join_handle h;

	reset();
	test_event_init(&running);
	test_event_init(&release);
	CHECK_EQ(weft_spawn(rt, &g.base, sizeof g, NULL), 0);
	test_event_wait(&running);
	CHECK_EQ(weft_spawn_fn_ex(rt, times_two, arg_new(1), free_arg, &h), 0);
	CHECK_EQ(weft_join_abort(&h), 0);
	test_event_set(&release);
	CHECK_EQ(weft_join(&h), -ECANCELED);
	CHECK_EQ(atomic_load(&fn_calls), 0);
	CHECK_EQ(atomic_load(&drop_calls), 1);
	weft_join_detach(&h);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(atomic_load(&drop_calls), 1);
	test_event_finish(&running);
	test_event_finish(&release);
}

/* Never run: the runtime is destroyed first (with and without a handle). */
static void test_shutdown_before_run(void)
{
	weft_runtime *rt = test_runtime(0, NULL);
	weft_join_handle h;

	reset();
	CHECK_EQ(weft_spawn_fn_ex(rt, times_two, arg_new(1), free_arg, &h), 0);
	CHECK_EQ(weft_spawn_fn_ex(rt, times_two, arg_new(2), free_arg, NULL), 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(atomic_load(&fn_calls), 0);
	CHECK_EQ(atomic_load(&drop_calls), 2);
	CHECK_EQ(weft_join_try(&h), -ECANCELED);
	weft_join_detach(&h);
	CHECK_EQ(atomic_load(&drop_calls), 2);
}

/* A failed spawn calls nothing: `arg` is still the caller's. */
static void test_failed_spawn(void)
{
	weft_runtime *rt = test_runtime(0, NULL);
	struct arg *a = arg_new(1);
	weft_join_handle h;

	reset();
	CHECK_EQ(weft_spawn_fn_ex(NULL, times_two, a, free_arg, &h), -EINVAL);
	CHECK_EQ(weft_spawn_fn_ex(rt, NULL, a, free_arg, &h), -EINVAL);
	CHECK(h.task == NULL);
	CHECK_EQ(atomic_load(&drop_calls), 0);
	/* Without drop_arg it is weft_spawn_fn: nothing frees `arg`. */
	CHECK_EQ(weft_spawn_fn_ex(rt, times_two, a, NULL, &h), 0);
	CHECK_EQ(weft_block_on(rt, &h.base), 0);
	CHECK_EQ(atomic_load(&fn_calls), 1);
	CHECK_EQ(atomic_load(&drop_calls), 0);
	CHECK(a->ran);
	weft_join_detach(&h);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	free(a);
}

int main(void)
{
	test_completed(0);
	test_completed(2);
	test_abort_before_run_ct();
	test_abort_before_run_mt();
	test_shutdown_before_run();
	test_failed_spawn();
	return 0;
}

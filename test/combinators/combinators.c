/* Combinators: join_all order, try_join_all cancels the rest, race drops the loser, select_keep keeps it, all_settled, poll_with_limit, drop in every state. */
#include "comb_test.h"

#define N 6

struct fixture {
	struct counter c[N];
	weft_future *f[N];
	weft_branch b[N];
};

static void fixture_init(struct fixture *x, const int *yields, const int *errs, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		counter_init(&x->c[i], yields[i], errs != NULL ? errs[i] : 0);
		x->f[i] = &x->c[i].base;
	}
	weft_branches_init(x->b, x->f, (size_t)n, counter_outcome);
}

/* Drives `f` by hand to ready (children wake through the no-op waker). */
static void run(weft_future *f)
{
	CHECK_EQ(weft_poll_with_limit(f, NULL, 1000, NULL), WEFT_READY);
}

static void check_dropped_once(struct fixture *x, int n)
{
	int i;

	for (i = 0; i < n; i++)
		CHECK_EQ(x->c[i].drops, 1);
}

static void test_join_all(void)
{
	static const int yields[N] = { 4, 0, 2, 5, 1, 3 };
	static const int errs[N] = { 0, 0, -EIO, 0, 0, 0 };
	struct fixture x;
	weft_combinator c;
	int i;

	fixture_init(&x, yields, errs, N);
	weft_join_all_init(&c, x.b, N);
	run(&c.base);
	for (i = 0; i < N; i++) {
		/* Results in array order, each child polled to ready once. */
		CHECK_EQ(x.b[i].state, WEFT_BRANCH_READY);
		CHECK_EQ(x.b[i].status, errs[i]);
		CHECK_EQ(x.c[i].value, 100 + yields[i]);
		CHECK_EQ(x.c[i].polls, yields[i] + 1);
		CHECK_EQ(x.c[i].drops, 0);
	}
	CHECK_EQ(c.status, 0);
	CHECK_EQ(c.failed, 1);
	/* Ready again without polling children. */
	CHECK_EQ(weft_future_poll(&c.base, NULL), WEFT_READY);
	weft_future_drop(&c.base);
	check_dropped_once(&x, N);
	/* Dropping the array again drops nothing twice. */
	weft_branches_drop(x.b, N);
	check_dropped_once(&x, N);

	/* An empty join_all is ready at once. */
	weft_join_all_init(&c, x.b, 0);
	run(&c.base);
	weft_future_drop(&c.base);
}

static void test_try_join_all(void)
{
	static const int yields[N] = { 1, -1, 2, -1, 0, 9 };
	static const int errs[N] = { 0, 0, -EIO, 0, 0, -EPERM };
	struct fixture x;
	weft_combinator c;

	fixture_init(&x, yields, errs, N);
	weft_try_join_all_init(&c, x.b, N);
	run(&c.base);
	CHECK_EQ(c.index, 2);
	CHECK_EQ(c.status, -EIO);
	/* Finished before the failure: kept until the combinator's drop. */
	CHECK_EQ(x.b[0].state, WEFT_BRANCH_READY);
	CHECK_EQ(x.b[4].state, WEFT_BRANCH_READY);
	CHECK_EQ(x.c[0].drops, 0);
	/* The rest were cancelled at once. */
	CHECK_EQ(x.b[1].state, WEFT_BRANCH_DROPPED);
	CHECK_EQ(x.b[1].status, -ECANCELED);
	CHECK_EQ(x.c[1].drops, 1);
	CHECK_EQ(x.c[3].drops, 1);
	CHECK_EQ(x.c[5].drops, 1);
	CHECK_EQ(x.b[5].status, -ECANCELED);
	weft_future_drop(&c.base);
	check_dropped_once(&x, N);

	/* Without a failure it is a join_all. */
	{
		static const int ok[N] = { 1, 2, 0, 3, 0, 1 };

		fixture_init(&x, ok, NULL, N);
		weft_try_join_all_init(&c, x.b, N);
		run(&c.base);
		CHECK_EQ(c.status, 0);
		CHECK_EQ(c.index, N);
		weft_future_drop(&c.base);
		check_dropped_once(&x, N);
	}
}

static void test_race(void)
{
	static const int yields[N] = { -1, 2, 3, -1, 2, 7 };
	struct fixture x;
	weft_combinator c;
	int i;

	fixture_init(&x, yields, NULL, N);
	weft_race_init(&c, x.b, N);
	run(&c.base);
	/* 1 and 4 finish in the same poll: the lower index wins. */
	CHECK_EQ(c.index, 1);
	CHECK_EQ(c.status, 0);
	CHECK_EQ(x.c[1].value, 102);
	for (i = 0; i < N; i++) {
		if (i == 1)
			continue;
		/* Every loser was dropped at once, exactly once. */
		CHECK_EQ(x.c[i].drops, 1);
		CHECK_EQ(x.b[i].state, WEFT_BRANCH_DROPPED);
	}
	CHECK_EQ(x.c[1].drops, 0);
	weft_future_drop(&c.base);
	check_dropped_once(&x, N);

	/* A race with nothing to race. */
	weft_race_init(&c, x.b, 0);
	run(&c.base);
	CHECK_EQ(c.status, -EINVAL);
	weft_future_drop(&c.base);
}

static void test_select_keep(void)
{
	static const int yields[3] = { 5, 1, 3 };
	struct fixture x;
	weft_combinator c;

	fixture_init(&x, yields, NULL, 3);
	weft_select_keep_init(&c, x.b, 3);
	run(&c.base);
	CHECK_EQ(c.index, 1);
	weft_future_drop(&c.base);
	/* The others are untouched and keep going in the next select. */
	CHECK_EQ(x.c[0].drops, 0);
	CHECK_EQ(x.c[2].drops, 0);
	CHECK_EQ(x.b[0].state, WEFT_BRANCH_PENDING);
	weft_select_keep_init(&c, x.b, 3);
	run(&c.base);
	CHECK_EQ(c.index, 2);
	CHECK_EQ(x.c[2].polls, 4);
	weft_future_drop(&c.base);
	weft_select_keep_init(&c, x.b, 3);
	run(&c.base);
	CHECK_EQ(c.index, 0);
	weft_future_drop(&c.base);
	/* Nothing pending any more. */
	weft_select_keep_init(&c, x.b, 3);
	run(&c.base);
	CHECK_EQ(c.status, -EINVAL);
	CHECK_EQ(c.index, 3);
	weft_future_drop(&c.base);
	CHECK_EQ(x.c[0].drops, 0);
	weft_branches_drop(x.b, 3);
	check_dropped_once(&x, 3);
}

static void test_all_settled(void)
{
	static const int yields[N] = { 0, 3, 1, 2, 0, 4 };
	static const int errs[N] = { -EIO, 0, -ENOENT, 0, 0, -EPERM };
	struct fixture x;
	weft_combinator c;
	int i;

	fixture_init(&x, yields, errs, N);
	weft_all_settled_init(&c, x.b, N);
	run(&c.base);
	CHECK_EQ(c.failed, 3);
	for (i = 0; i < N; i++) {
		CHECK_EQ(x.b[i].state, WEFT_BRANCH_READY);
		CHECK_EQ(x.b[i].status, errs[i]);
	}
	weft_future_drop(&c.base);
	check_dropped_once(&x, N);
}

/* Dropping a combinator in any state drops each child once. */
static void test_drop_any_state(void)
{
	static const int yields[N] = { 0, 3, -1, 2, 1, -1 };
	int kind, polls;

	for (kind = WEFT_JOIN_ALL; kind <= WEFT_ALL_SETTLED; kind++) {
		for (polls = 0; polls < 5; polls++) {
			struct fixture x;
			weft_combinator c;
			int p;

			fixture_init(&x, yields, NULL, N);
			switch (kind) {
			case WEFT_JOIN_ALL: weft_join_all_init(&c, x.b, N); break;
			case WEFT_TRY_JOIN_ALL: weft_try_join_all_init(&c, x.b, N); break;
			case WEFT_RACE: weft_race_init(&c, x.b, N); break;
			case WEFT_SELECT_KEEP: weft_select_keep_init(&c, x.b, N); break;
			default: weft_all_settled_init(&c, x.b, N); break;
			}
			for (p = 0; p < polls; p++)
				(void)weft_poll_with_limit(&c.base, NULL, 1, NULL);
			weft_future_drop(&c.base);
			if (kind == WEFT_SELECT_KEEP)
				weft_branches_drop(x.b, N);
			check_dropped_once(&x, N);
		}
	}
}

static void test_poll_with_limit(void)
{
	struct counter c;
	unsigned polls;

	counter_init(&c, 3, 0);
	CHECK_EQ(weft_poll_with_limit(&c.base, NULL, 2, &polls), WEFT_PENDING);
	CHECK_EQ(polls, 2);
	CHECK_EQ(weft_poll_with_limit(&c.base, NULL, 0, &polls), WEFT_PENDING);
	CHECK_EQ(polls, 0);
	CHECK_EQ(weft_poll_with_limit(&c.base, NULL, 10, &polls), WEFT_READY);
	CHECK_EQ(polls, 2);
	CHECK_EQ(c.polls, 4);
	CHECK_EQ(weft_poll_with_limit(NULL, NULL, 10, &polls), -EINVAL);
	counter_drop(&c.base);
}

/* ---- over join handles, on a runtime ------------------------------------ */

struct handles_task {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_combinator c;
	weft_branch b[2];
	weft_join_handle h[2];
	int kind;
};

static weft_poll handles_poll(weft_future *f, weft_cx *cx)
{
	struct handles_task *t = (struct handles_task *)f;

	WEFT_ASYNC_BEGIN(t);
	weft_branches_init_handles(t->b, t->h, 2);
	if (t->kind == WEFT_RACE)
		weft_race_init(&t->c, t->b, 2);
	else
		weft_select_keep_init(&t->c, t->b, 2);
	WEFT_AWAIT(t, cx, &t->c.base);
	WEFT_ASYNC_END(t);
}

static void *twice(void *arg)
{
	return (void *)((long)arg * 2);
}

static void test_handles(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	_Atomic int drops = 0;
	struct handles_task t;
	struct gate g;
	struct gate_wait w;
	weft_fn_future *out;

	/* race: the loser's task is aborted, its future dropped once. */
	gate_init(&g);
	memset(&t, 0, sizeof t);
	t.base.poll = handles_poll;
	t.kind = WEFT_RACE;
	w = gate_wait_make(&g, &drops, 1);
	CHECK_EQ(weft_spawn(rt, &w.base, sizeof w, &t.h[0]), 0);
	CHECK_EQ(weft_spawn_fn(rt, twice, (void *)21L, &t.h[1]), 0);
	CHECK_EQ(weft_block_on(rt, &t.base), 0);
	CHECK_EQ(t.c.index, 1);
	out = weft_join_output(&t.h[1]);
	CHECK(out != NULL && out->result == (void *)42L);
	CHECK(t.h[0].task == NULL); /* detached by the race */
	if (workers == 0) {
		struct counter spin;

		/* Let the current-thread runtime run the aborted task. */
		counter_init(&spin, 3, 0);
		CHECK_EQ(weft_block_on(rt, &spin.base), 0);
	}
	wait_for(&drops, 1);
	weft_future_drop(&t.c.base);
	gate_finish(&g);

	/* select_keep: the loser keeps running and stays joinable. */
	gate_init(&g);
	atomic_store(&drops, 0);
	memset(&t, 0, sizeof t);
	t.base.poll = handles_poll;
	t.kind = WEFT_SELECT_KEEP;
	w = gate_wait_make(&g, &drops, 7);
	CHECK_EQ(weft_spawn(rt, &w.base, sizeof w, &t.h[0]), 0);
	CHECK_EQ(weft_spawn_fn(rt, twice, (void *)5L, &t.h[1]), 0);
	CHECK_EQ(weft_block_on(rt, &t.base), 0);
	CHECK_EQ(t.c.index, 1);
	weft_future_drop(&t.c.base);
	CHECK_EQ(atomic_load(&drops), 0);
	CHECK(t.h[0].task != NULL);
	CHECK_EQ(weft_join_try(&t.h[0]), -EAGAIN);
	gate_open(&g);
	CHECK_EQ(weft_block_on(rt, &t.h[0].base), 0);
	CHECK_EQ(t.h[0].status, 0);
	CHECK_EQ(((struct gate_wait *)weft_join_output(&t.h[0]))->value, 7);
	weft_branches_drop(t.b, 2);
	CHECK_EQ(atomic_load(&drops), 1);
	gate_finish(&g);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

int main(void)
{
	test_join_all();
	test_try_join_all();
	test_race();
	test_select_keep();
	test_all_settled();
	test_drop_any_state();
	test_poll_with_limit();
	test_handles(0);
	test_handles(2);
	return 0;
}

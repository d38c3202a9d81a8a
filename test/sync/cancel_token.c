/* Cancellation tokens: cancel, is_cancelled, the waiting future, child trees, finish rules, many waiters on 4 workers. */
#include "sync_test.h"

static void test_basic(void)
{
	struct hand h;
	weft_cancel_token t;
	weft_cancel_future a, b, c;

	hand_init(&h);
	CHECK_EQ(weft_cancel_token_init(&t), 0);
	CHECK(!weft_cancel_token_is_cancelled(&t));
	CHECK_EQ(weft_cancel_token_cancelled(&t, &a), 0);
	CHECK_EQ(weft_cancel_token_cancelled(&t, &b), 0);
	CHECK_EQ(hand_poll(&h, &a.base), WEFT_PENDING);
	CHECK_EQ(hand_poll(&h, &b.base), WEFT_PENDING);
	CHECK_EQ(hand_poll(&h, &a.base), WEFT_PENDING);
	CHECK_EQ(weft_cancel_token_finish(&t), -EBUSY); /* futures wait */
	weft_future_drop(&b.base);                    /* leaves the queue */
	CHECK_EQ(weft_cancel_token_cancel(&t), 0);
	CHECK(weft_cancel_token_is_cancelled(&t));
	CHECK_EQ(hand_wakes(&h), 1);
	CHECK_EQ(hand_poll(&h, &a.base), WEFT_READY);
	CHECK_EQ(a.result, 0);
	weft_future_drop(&a.base);
	CHECK_EQ(weft_cancel_token_cancel(&t), 0); /* idempotent */
	CHECK_EQ(weft_cancel_token_cancelled(&t, &c), 0);
	CHECK_EQ(hand_poll(&h, &c.base), WEFT_READY);
	weft_future_drop(&c.base);
	CHECK_EQ(hand_refs(&h), 0);
	CHECK_EQ(weft_cancel_token_finish(&t), 0);
}

static void test_tree(void)
{
	struct hand h;
	weft_cancel_token root, a, b, a1, a2, late;
	weft_cancel_future fr, fa, fb, fa1, fa2;

	hand_init(&h);
	CHECK_EQ(weft_cancel_token_init(&root), 0);
	CHECK_EQ(weft_cancel_token_init_child(&a, &root), 0);
	CHECK_EQ(weft_cancel_token_init_child(&b, &root), 0);
	CHECK_EQ(weft_cancel_token_init_child(&a1, &a), 0);
	CHECK_EQ(weft_cancel_token_init_child(&a2, &a), 0);
	CHECK_EQ(weft_cancel_token_init_child(&a, &a), -EINVAL);
	CHECK_EQ(weft_cancel_token_cancelled(&root, &fr), 0);
	CHECK_EQ(weft_cancel_token_cancelled(&a, &fa), 0);
	CHECK_EQ(weft_cancel_token_cancelled(&b, &fb), 0);
	CHECK_EQ(weft_cancel_token_cancelled(&a1, &fa1), 0);
	CHECK_EQ(weft_cancel_token_cancelled(&a2, &fa2), 0);
	CHECK_EQ(hand_poll(&h, &fr.base), WEFT_PENDING);
	CHECK_EQ(hand_poll(&h, &fa.base), WEFT_PENDING);
	CHECK_EQ(hand_poll(&h, &fb.base), WEFT_PENDING);
	CHECK_EQ(hand_poll(&h, &fa1.base), WEFT_PENDING);
	CHECK_EQ(hand_poll(&h, &fa2.base), WEFT_PENDING);

	/* A leaf: only itself. */
	CHECK_EQ(weft_cancel_token_cancel(&a2), 0);
	CHECK_EQ(hand_wakes(&h), 1);
	CHECK(!weft_cancel_token_is_cancelled(&a));
	CHECK(!weft_cancel_token_is_cancelled(&a1));
	CHECK_EQ(hand_poll(&h, &fa2.base), WEFT_READY);

	/* An inner token: itself and its subtree, not its parent or sibling. */
	CHECK_EQ(weft_cancel_token_cancel(&a), 0);
	CHECK_EQ(hand_wakes(&h), 3);
	CHECK(weft_cancel_token_is_cancelled(&a1));
	CHECK(!weft_cancel_token_is_cancelled(&root));
	CHECK(!weft_cancel_token_is_cancelled(&b));
	CHECK_EQ(hand_poll(&h, &fa.base), WEFT_READY);
	CHECK_EQ(hand_poll(&h, &fa1.base), WEFT_READY);
	CHECK_EQ(hand_poll(&h, &fb.base), WEFT_PENDING);
	CHECK_EQ(hand_poll(&h, &fr.base), WEFT_PENDING);

	/* A child of a cancelled token starts cancelled. */
	CHECK_EQ(weft_cancel_token_init_child(&late, &a1), 0);
	CHECK(weft_cancel_token_is_cancelled(&late));
	CHECK_EQ(weft_cancel_token_finish(&late), 0);

	/* The root: everything. */
	CHECK_EQ(weft_cancel_token_cancel(&root), 0);
	CHECK_EQ(hand_wakes(&h), 5);
	CHECK(weft_cancel_token_is_cancelled(&b));
	CHECK_EQ(hand_poll(&h, &fb.base), WEFT_READY);
	CHECK_EQ(hand_poll(&h, &fr.base), WEFT_READY);

	weft_future_drop(&fr.base);
	weft_future_drop(&fa.base);
	weft_future_drop(&fb.base);
	weft_future_drop(&fa1.base);
	weft_future_drop(&fa2.base);
	CHECK_EQ(weft_cancel_token_finish(&root), -EBUSY); /* children live */
	CHECK_EQ(weft_cancel_token_finish(&a2), 0); /* has a next sibling */
	CHECK_EQ(weft_cancel_token_finish(&a1), 0);
	CHECK_EQ(weft_cancel_token_finish(&a), 0);
	CHECK_EQ(weft_cancel_token_finish(&b), 0);
	CHECK_EQ(weft_cancel_token_finish(&root), 0);
	CHECK_EQ(hand_refs(&h), 0);
}

/* Finishing an inner token hands its children to its parent. */
static void test_reparent(void)
{
	struct hand h;
	weft_cancel_token root, mid, leaf;
	weft_cancel_future f;

	hand_init(&h);
	CHECK_EQ(weft_cancel_token_init(&root), 0);
	CHECK_EQ(weft_cancel_token_init_child(&mid, &root), 0);
	CHECK_EQ(weft_cancel_token_init_child(&leaf, &mid), 0);
	CHECK_EQ(weft_cancel_token_finish(&mid), 0);
	CHECK_EQ(weft_cancel_token_cancelled(&leaf, &f), 0);
	CHECK_EQ(hand_poll(&h, &f.base), WEFT_PENDING);
	CHECK_EQ(weft_cancel_token_cancel(&root), 0);
	CHECK(weft_cancel_token_is_cancelled(&leaf));
	CHECK_EQ(hand_wakes(&h), 1);
	CHECK_EQ(hand_poll(&h, &f.base), WEFT_READY);
	weft_future_drop(&f.base);
	CHECK_EQ(weft_cancel_token_finish(&leaf), 0);
	CHECK_EQ(weft_cancel_token_finish(&root), 0);
	CHECK_EQ(hand_refs(&h), 0);
}

/* More waiters than one wake batch, over several tokens. */
static void test_many(void)
{
	enum { N = 120, T = 4 };
	static weft_cancel_future f[N];
	struct hand h;
	weft_cancel_token root, kids[T];
	int i;

	hand_init(&h);
	CHECK_EQ(weft_cancel_token_init(&root), 0);
	for (i = 0; i < T; i++)
		CHECK_EQ(weft_cancel_token_init_child(&kids[i], i == 0 ? &root : &kids[i - 1]), 0);
	for (i = 0; i < N; i++) {
		CHECK_EQ(weft_cancel_token_cancelled(i % 5 == 0 ? &root : &kids[i % T], &f[i]), 0);
		CHECK_EQ(hand_poll(&h, &f[i].base), WEFT_PENDING);
	}
	/* Drop a few while queued. */
	for (i = 1; i < N; i += 17) {
		weft_future_drop(&f[i].base);
		CHECK_EQ(weft_cancel_token_cancelled(&root, &f[i]), 0); /* reuse */
	}
	CHECK_EQ(weft_cancel_token_cancel(&root), 0);
	CHECK_EQ(hand_wakes(&h), N - (N + 15) / 17);
	for (i = 0; i < N; i++) {
		CHECK_EQ(hand_poll(&h, &f[i].base), WEFT_READY);
		weft_future_drop(&f[i].base);
	}
	for (i = T - 1; i >= 0; i--)
		CHECK_EQ(weft_cancel_token_finish(&kids[i]), 0);
	CHECK_EQ(weft_cancel_token_finish(&root), 0);
	CHECK_EQ(hand_refs(&h), 0);
}

/* ---- on a runtime -------------------------------------------------------- */

struct waiter {
	weft_future base;
	weft_cancel_token *t;
	weft_cancel_future cf;
	_Atomic int *done;
	bool started;
};

static weft_poll waiter_poll(weft_future *f, weft_cx *cx)
{
	struct waiter *w = (struct waiter *)f;

	if (!w->started) {
		w->started = true;
		CHECK_EQ(weft_cancel_token_cancelled(w->t, &w->cf), 0);
	}
	if (weft_future_poll(&w->cf.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	CHECK(weft_cancel_token_is_cancelled(w->t));
	atomic_fetch_add(w->done, 1);
	return WEFT_READY;
}

static void waiter_drop(weft_future *f)
{
	struct waiter *w = (struct waiter *)f;

	if (w->started)
		weft_future_drop(&w->cf.base);
}

static void on_runtime(unsigned workers, int tasks, int rounds)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	static weft_join_handle h[64];
	weft_cancel_token root, kids[3];
	_Atomic int done;
	int r, t;

	CHECK(tasks <= 64);
	for (r = 0; r < rounds; r++) {
		atomic_store(&done, 0);
		CHECK_EQ(weft_cancel_token_init(&root), 0);
		for (t = 0; t < 3; t++)
			CHECK_EQ(weft_cancel_token_init_child(&kids[t], &root), 0);
		for (t = 0; t < tasks; t++) {
			struct waiter w;

			memset(&w, 0, sizeof(w));
			w.base.poll = waiter_poll;
			w.base.drop = waiter_drop;
			w.t = &kids[t % 3];
			w.done = &done;

			CHECK_EQ(weft_spawn(rt, &w.base, sizeof(w), &h[t]), 0);
		}
		if (workers == 0)
			block_on_yield(rt);
		/* Cancel while some tasks may still be starting. */
		CHECK_EQ(weft_cancel_token_cancel(&root), 0);
		join_all(rt, workers, h, tasks);
		CHECK_EQ(atomic_load(&done), tasks);
		for (t = 0; t < 3; t++)
			CHECK_EQ(weft_cancel_token_finish(&kids[t]), 0);
		CHECK_EQ(weft_cancel_token_finish(&root), 0);
	}
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

int main(void)
{
	long scale = test_scale();

	test_basic();
	test_tree();
	test_reparent();
	test_many();
	on_runtime(4, 64, (int)(50 * scale));
	on_runtime(0, 40, (int)(10 * scale));
	return 0;
}

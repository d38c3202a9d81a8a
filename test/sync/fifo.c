/* FIFO order: mutex waiters are served in arrival order, by hand and on a runtime; no barging after hand-off. */
#include "sync_test.h"

enum { N = 40 };

static void test_mutex_fifo_by_hand(void)
{
	static weft_mutex_lock_future f[N];
	static struct hand h[N];
	weft_mutex m;
	int i, j;

	CHECK_EQ(weft_mutex_init(&m), 0);
	CHECK_EQ(weft_mutex_try_lock(&m), 0);
	for (i = 0; i < N; i++) {
		hand_init(&h[i]);
		CHECK_EQ(weft_mutex_lock(&m, &f[i]), 0);
		CHECK_EQ(hand_poll(&h[i], &f[i].base), WEFT_PENDING);
	}
	for (i = 0; i < N; i++) {
		CHECK_EQ(weft_mutex_unlock(&m), 0);
		/* Exactly the oldest waiter was woken, and it owns the lock
		 * before it even runs: nobody can barge in. */
		for (j = 0; j < N; j++)
			CHECK_EQ(hand_wakes(&h[j]), j <= i ? 1 : 0);
		CHECK_EQ(weft_mutex_try_lock(&m), -EAGAIN);
		/* Later waiters polled again stay pending. */
		if (i + 1 < N)
			CHECK_EQ(hand_poll(&h[i + 1], &f[i + 1].base), WEFT_PENDING);
		CHECK_EQ(hand_poll(&h[i], &f[i].base), WEFT_READY);
		CHECK_EQ(f[i].result, 0);
		weft_future_drop(&f[i].base);
	}
	CHECK_EQ(weft_mutex_unlock(&m), 0);
	CHECK(!weft_mutex_is_locked(&m));
	for (i = 0; i < N; i++)
		CHECK_EQ(hand_refs(&h[i]), 0);
	weft_mutex_finish(&m);
}

/* ---- on a runtime ------------------------------------------------------- */

struct shared {
	weft_mutex m;
	int order[N];
	int next; /* under the mutex */
	struct test_event queued[N];
};

struct waiter_task {
	weft_future base;
	struct shared *sh;
	int id;
	int step;
	weft_mutex_lock_future lf;
};

static weft_poll waiter_poll(weft_future *f, weft_cx *cx)
{
	struct waiter_task *self = (struct waiter_task *)f;

	if (self->step == 0) {
		CHECK_EQ(weft_mutex_lock(&self->sh->m, &self->lf), 0);
		self->step = 1;
		if (weft_future_poll(&self->lf.base, cx) == WEFT_READY)
			CHECK(0); /* the test holds the lock */
		/* Queued now: tell the test, which spawns the next one. */
		test_event_set(&self->sh->queued[self->id]);
		return WEFT_PENDING;
	}
	if (self->step == 1) {
		if (weft_future_poll(&self->lf.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		CHECK_EQ(self->lf.result, 0);
		weft_future_drop(&self->lf.base);
		self->step = 2;
		self->sh->order[self->sh->next++] = self->id;
		CHECK_EQ(weft_mutex_unlock(&self->sh->m), 0);
	}
	return WEFT_READY;
}

static void waiter_drop(weft_future *f)
{
	struct waiter_task *self = (struct waiter_task *)f;

	if (self->step == 1)
		weft_future_drop(&self->lf.base);
}

/* Spawns the waiters one by one, each after the previous one has queued,
 * so the arrival order is known; then unlocks and checks the order. */
static void test_mutex_fifo_runtime(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	static struct shared sh;
	weft_join_handle h[N];
	int i;

	memset(&sh, 0, sizeof(sh));
	CHECK_EQ(weft_mutex_init(&sh.m), 0);
	CHECK_EQ(weft_mutex_try_lock(&sh.m), 0);
	for (i = 0; i < N; i++) {
		struct waiter_task w;

		test_event_init(&sh.queued[i]);
		memset(&w, 0, sizeof(w));
		w.base.poll = waiter_poll;
		w.base.drop = waiter_drop;
		w.sh = &sh;
		w.id = i;
		CHECK_EQ(weft_spawn(rt, &w.base, sizeof(w), &h[i]), 0);
		if (workers == 0)
			block_on_yield(rt);
		test_event_wait(&sh.queued[i]);
	}
	CHECK_EQ(weft_mutex_unlock(&sh.m), 0);
	join_all(rt, workers, h, N);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(sh.next, N);
	for (i = 0; i < N; i++) {
		CHECK_EQ(sh.order[i], i);
		test_event_finish(&sh.queued[i]);
	}
	CHECK(!weft_mutex_is_locked(&sh.m));
	weft_mutex_finish(&sh.m);
}

int main(void)
{
	test_mutex_fifo_by_hand();
	test_mutex_fifo_runtime(0);
	test_mutex_fifo_runtime(4);
	return 0;
}

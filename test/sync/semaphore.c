/* Semaphore: try tier, FIFO hand-off (a large request is not starved), close, limits. */
#include "sync_test.h"

static void test_try_and_release(void)
{
	weft_semaphore s;

	CHECK_EQ(weft_semaphore_init(&s, 3), 0);
	CHECK_EQ(weft_semaphore_available(&s), 3);
	CHECK_EQ(weft_semaphore_try_acquire(&s, 2), 0);
	CHECK_EQ(weft_semaphore_try_acquire(&s, 2), -EAGAIN);
	CHECK_EQ(weft_semaphore_try_acquire(&s, 1), 0);
	CHECK_EQ(weft_semaphore_try_acquire(&s, 1), -EAGAIN);
	CHECK_EQ(weft_semaphore_try_acquire(&s, 0), 0);
	CHECK_EQ(weft_semaphore_release(&s, 3), 0);
	CHECK_EQ(weft_semaphore_available(&s), 3);
	CHECK_EQ(weft_semaphore_release(&s, 0), 0);
	CHECK_EQ(weft_semaphore_try_acquire(&s, WEFT_SEMAPHORE_MAX_PERMITS + 1), -EINVAL);
	CHECK_EQ(weft_semaphore_release(&s, WEFT_SEMAPHORE_MAX_PERMITS), -EOVERFLOW);
	CHECK_EQ(weft_semaphore_available(&s), 3);
	CHECK_EQ(weft_semaphore_release(&s, WEFT_SEMAPHORE_MAX_PERMITS - 3), 0);
	CHECK_EQ(weft_semaphore_available(&s), WEFT_SEMAPHORE_MAX_PERMITS);
	CHECK_EQ(weft_semaphore_release(&s, 1), -EOVERFLOW);
	weft_semaphore_finish(&s);
	CHECK_EQ(weft_semaphore_init(&s, WEFT_SEMAPHORE_MAX_PERMITS + 1), -EINVAL);
}

static void test_uncontended_future(void)
{
	struct hand h;
	weft_semaphore s;
	weft_semaphore_acquire_future f;

	hand_init(&h);
	CHECK_EQ(weft_semaphore_init(&s, 4), 0);
	CHECK_EQ(weft_semaphore_acquire(&s, 4, &f), 0);
	CHECK_EQ(hand_poll(&h, &f.base), WEFT_READY);
	CHECK_EQ(f.result, 0);
	CHECK_EQ(weft_semaphore_available(&s), 0);
	weft_future_drop(&f.base); /* finished: does not release */
	CHECK_EQ(weft_semaphore_available(&s), 0);
	CHECK_EQ(weft_semaphore_release(&s, 4), 0);

	CHECK_EQ(weft_semaphore_acquire(&s, 0, &f), 0);
	CHECK_EQ(hand_poll(&h, &f.base), WEFT_READY);
	CHECK_EQ(f.result, 0);
	weft_future_drop(&f.base);
	CHECK_EQ(weft_semaphore_available(&s), 4);
	CHECK_EQ(hand_refs(&h), 0);
	weft_semaphore_finish(&s);
}

/* A request for 5 at the head soaks up released permits; a request for 1
 * behind it does not overtake it. */
static void test_fifo_large_first(void)
{
	struct hand ha, hb, hc;
	weft_semaphore s;
	weft_semaphore_acquire_future a, b, c;
	int i;

	hand_init(&ha);
	hand_init(&hb);
	hand_init(&hc);
	CHECK_EQ(weft_semaphore_init(&s, 2), 0);
	CHECK_EQ(weft_semaphore_acquire(&s, 5, &a), 0);
	CHECK_EQ(weft_semaphore_acquire(&s, 1, &b), 0);
	CHECK_EQ(hand_poll(&ha, &a.base), WEFT_PENDING); /* takes 2, owes 3 */
	CHECK_EQ(weft_semaphore_available(&s), 0);
	CHECK_EQ(hand_poll(&hb, &b.base), WEFT_PENDING);
	for (i = 0; i < 2; i++) {
		CHECK_EQ(weft_semaphore_release(&s, 1), 0);
		CHECK_EQ(hand_wakes(&ha), 0);
		CHECK_EQ(hand_wakes(&hb), 0);
		CHECK_EQ(weft_semaphore_available(&s), 0);
		CHECK_EQ(weft_semaphore_try_acquire(&s, 1), -EAGAIN);
	}
	CHECK_EQ(hand_poll(&hb, &b.base), WEFT_PENDING); /* spurious poll */
	/* A late arrival queues behind both. */
	CHECK_EQ(weft_semaphore_acquire(&s, 1, &c), 0);
	CHECK_EQ(hand_poll(&hc, &c.base), WEFT_PENDING);
	CHECK_EQ(weft_semaphore_release(&s, 1), 0); /* completes a: 2 + 1 + 1 + 1 */
	CHECK_EQ(hand_wakes(&ha), 1);
	CHECK_EQ(hand_wakes(&hb), 0);
	CHECK_EQ(hand_poll(&ha, &a.base), WEFT_READY);
	CHECK_EQ(a.result, 0);
	CHECK_EQ(weft_semaphore_release(&s, 2), 0); /* b and c, in order */
	CHECK_EQ(hand_wakes(&hb), 1);
	CHECK_EQ(hand_wakes(&hc), 1);
	CHECK_EQ(hand_poll(&hb, &b.base), WEFT_READY);
	CHECK_EQ(hand_poll(&hc, &c.base), WEFT_READY);
	CHECK_EQ(weft_semaphore_available(&s), 0);
	CHECK_EQ(weft_semaphore_release(&s, 5 + 1 + 1), 0);
	CHECK_EQ(weft_semaphore_available(&s), 7);
	weft_future_drop(&a.base);
	weft_future_drop(&b.base);
	weft_future_drop(&c.base);
	CHECK_EQ(hand_refs(&ha) + hand_refs(&hb) + hand_refs(&hc), 0);
	weft_semaphore_finish(&s);
}

/* One release completing more waiters than a wake batch holds. */
static void test_many_waiters(void)
{
	enum { N = 100 };
	static weft_semaphore_acquire_future f[N];
	struct hand h;
	weft_semaphore s;
	int i;

	hand_init(&h);
	CHECK_EQ(weft_semaphore_init(&s, 0), 0);
	for (i = 0; i < N; i++) {
		CHECK_EQ(weft_semaphore_acquire(&s, 1, &f[i]), 0);
		CHECK_EQ(hand_poll(&h, &f[i].base), WEFT_PENDING);
	}
	CHECK_EQ(weft_semaphore_release(&s, N + 5), 0);
	CHECK_EQ(hand_wakes(&h), N);
	CHECK_EQ(weft_semaphore_available(&s), 5);
	for (i = 0; i < N; i++) {
		CHECK_EQ(hand_poll(&h, &f[i].base), WEFT_READY);
		CHECK_EQ(f[i].result, 0);
		weft_future_drop(&f[i].base);
	}
	CHECK_EQ(weft_semaphore_release(&s, N), 0);
	CHECK_EQ(weft_semaphore_available(&s), N + 5);

	/* Closing with more waiters than a batch.  Released permits go to
	 * the head first: waiters 0..49 complete, 50 collects one. */
	CHECK_EQ(weft_semaphore_try_acquire(&s, N + 5), 0);
	for (i = 0; i < N; i++) {
		CHECK_EQ(weft_semaphore_acquire(&s, 2, &f[i]), 0);
		CHECK_EQ(hand_poll(&h, &f[i].base), WEFT_PENDING);
	}
	CHECK_EQ(weft_semaphore_release(&s, N + 1), 0);
	CHECK_EQ(hand_wakes(&h), N + N / 2);
	CHECK_EQ(weft_semaphore_available(&s), 0);
	CHECK_EQ(weft_semaphore_close(&s), 0);
	CHECK_EQ(hand_wakes(&h), 2 * N);
	CHECK_EQ(weft_semaphore_available(&s), 1); /* waiter 50's one */
	for (i = 0; i < N; i++) {
		CHECK_EQ(hand_poll(&h, &f[i].base), WEFT_READY);
		CHECK_EQ(f[i].result, i < N / 2 ? 0 : -EPIPE);
		weft_future_drop(&f[i].base);
	}
	CHECK_EQ(weft_semaphore_release(&s, N), 0); /* what 0..49 hold */
	CHECK_EQ(weft_semaphore_available(&s), N + 1);
	CHECK_EQ(hand_refs(&h), 0);
	weft_semaphore_finish(&s);
}

static void test_close(void)
{
	struct hand h;
	weft_semaphore s;
	weft_semaphore_acquire_future a, b, c;

	hand_init(&h);
	CHECK_EQ(weft_semaphore_init(&s, 2), 0);
	CHECK_EQ(weft_semaphore_try_acquire(&s, 1), 0); /* held across close */
	CHECK_EQ(weft_semaphore_acquire(&s, 3, &a), 0);
	CHECK_EQ(weft_semaphore_acquire(&s, 1, &b), 0);
	CHECK_EQ(hand_poll(&h, &a.base), WEFT_PENDING); /* collected 1 */
	CHECK_EQ(hand_poll(&h, &b.base), WEFT_PENDING);
	CHECK(!weft_semaphore_is_closed(&s));
	CHECK_EQ(weft_semaphore_close(&s), 0);
	CHECK(weft_semaphore_is_closed(&s));
	CHECK_EQ(hand_wakes(&h), 2);
	CHECK_EQ(hand_poll(&h, &a.base), WEFT_READY);
	CHECK_EQ(a.result, -EPIPE);
	CHECK_EQ(hand_poll(&h, &b.base), WEFT_READY);
	CHECK_EQ(b.result, -EPIPE);
	CHECK_EQ(weft_semaphore_available(&s), 1); /* a's collected permit */
	CHECK_EQ(weft_semaphore_try_acquire(&s, 1), -EPIPE);
	CHECK_EQ(weft_semaphore_try_acquire(&s, 0), -EPIPE);
	CHECK_EQ(weft_semaphore_acquire(&s, 1, &c), 0);
	CHECK_EQ(hand_poll(&h, &c.base), WEFT_READY);
	CHECK_EQ(c.result, -EPIPE);
	CHECK_EQ(weft_semaphore_release(&s, 1), 0); /* the held one */
	CHECK_EQ(weft_semaphore_available(&s), 2);
	CHECK_EQ(weft_semaphore_close(&s), 0);
	weft_future_drop(&a.base); /* failed: nothing to release */
	weft_future_drop(&b.base);
	weft_future_drop(&c.base);
	CHECK_EQ(weft_semaphore_available(&s), 2);
	CHECK_EQ(hand_refs(&h), 0);
	weft_semaphore_finish(&s);
}

/* The coop budget: an always-ready acquire still yields when it is spent. */
static void test_budget(void)
{
	struct hand h;
	weft_semaphore s;
	weft_semaphore_acquire_future f;

	hand_init(&h);
	h.cx.budget = 1; /* as a task poll with one unit left */
	CHECK_EQ(weft_semaphore_init(&s, 5), 0);
	CHECK_EQ(weft_semaphore_acquire(&s, 1, &f), 0);
	CHECK_EQ(hand_poll(&h, &f.base), WEFT_READY);
	weft_future_drop(&f.base);
	CHECK_EQ(weft_semaphore_acquire(&s, 1, &f), 0);
	CHECK_EQ(hand_poll(&h, &f.base), WEFT_PENDING);
	CHECK_EQ(hand_wakes(&h), 1); /* woken to run again later */
	CHECK_EQ(weft_semaphore_available(&s), 4);
	h.cx.budget = WEFT_COOP_BUDGET;
	CHECK_EQ(hand_poll(&h, &f.base), WEFT_READY);
	weft_future_drop(&f.base);
	CHECK_EQ(weft_semaphore_available(&s), 3);
	CHECK_EQ(weft_semaphore_release(&s, 2), 0);
	weft_semaphore_finish(&s);
}

int main(void)
{
	test_try_and_release();
	test_uncontended_future();
	test_fifo_large_first();
	test_many_waiters();
	test_close();
	test_budget();
	return 0;
}

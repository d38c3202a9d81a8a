/* Aborting tasks: idle, queued, running, finished; the future's drop runs exactly once. */
#include "test.h"

/* Announces each poll and, on the first, waits for the test to let it go. */
struct gated {
	weft_future base;
	_Atomic int *polls, *drops;
	struct test_event *running, *release;
	bool finish_in_first_poll;
	int result;
};

static weft_poll gated_poll(weft_future *f, weft_cx *cx)
{
	struct gated *g = (struct gated *)f;

	(void)cx;
	if (atomic_fetch_add(g->polls, 1) == 0) {
		test_event_set(g->running);
		test_event_wait(g->release);
		if (g->finish_in_first_poll) {
			g->result = 99;
			return WEFT_READY;
		}
	}
	return WEFT_PENDING; /* never woken again */
}

static void gated_drop(weft_future *f)
{
	atomic_fetch_add(((struct gated *)f)->drops, 1);
}

static void test_abort_idle(unsigned workers)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime *rt = test_runtime(workers, &alloc);
	_Atomic int polls = 0, drops = 0;
	_Atomic bool never = false;
	struct probe p = probe_make(&polls, &drops, &never);
	weft_join_handle h;
	weft_yield y;

	CHECK_EQ(weft_spawn(rt, &p.base, sizeof p, &h), 0);
	if (workers == 0) {
		/* Let it run once so that it is idle, not queued. */
		weft_yield_now(&y);
		CHECK_EQ(weft_block_on(rt, &y.base), 0);
	} else {
		while (atomic_load(&polls) == 0)
			weft_join_timeout(&h, 1000000);
	}
	CHECK_EQ(atomic_load(&polls), 1);
	CHECK_EQ(weft_join_try(&h), -EAGAIN);
	CHECK_EQ(weft_join_abort(&h), 0);
	if (workers == 0) {
		CHECK_EQ(weft_block_on(rt, &h.base), 0);
		CHECK_EQ(h.status, -ECANCELED);
	} else {
		CHECK_EQ(weft_join(&h), -ECANCELED);
	}
	CHECK_EQ(atomic_load(&drops), 1);
	CHECK_EQ(atomic_load(&polls), 1); /* dropped, not polled */
	CHECK(weft_join_output(&h) == NULL);
	CHECK_EQ(weft_join_abort(&h), 0); /* again: no effect */
	weft_join_detach(&h);
	weft_runtime_destroy(rt);
	CHECK_EQ(atomic_load(&drops), 1);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
}

static void test_abort_queued(void)
{
	weft_runtime *rt = test_runtime(0, NULL);
	_Atomic int polls = 0, drops = 0;
	struct probe p = probe_make(&polls, &drops, NULL);
	weft_join_handle h;

	/* A current-thread runtime runs nothing outside block_on. */
	CHECK_EQ(weft_spawn(rt, &p.base, sizeof p, &h), 0);
	CHECK_EQ(weft_join_abort(&h), 0);
	CHECK_EQ(weft_block_on(rt, &h.base), 0);
	CHECK_EQ(h.status, -ECANCELED);
	CHECK_EQ(atomic_load(&polls), 0);
	CHECK_EQ(atomic_load(&drops), 1);
	weft_join_detach(&h);
	weft_runtime_destroy(rt);
}

static void test_abort_running(bool finish)
{
	weft_runtime *rt = test_runtime(2, NULL);
	_Atomic int polls = 0, drops = 0;
	struct test_event running, release;
	struct gated g = { { gated_poll, gated_drop }, &polls, &drops, &running, &release,
			   finish, 0 };
	weft_join_handle h;
	int rc;

	test_event_init(&running);
	test_event_init(&release);
	CHECK_EQ(weft_spawn(rt, &g.base, sizeof g, &h), 0);
	test_event_wait(&running);
	CHECK_EQ(weft_join_abort(&h), 0);
	test_event_set(&release);
	rc = weft_join(&h);
	CHECK_EQ(atomic_load(&polls), 1);
	if (finish) {
		/* Finished in the poll it was in: keeps its result. */
		CHECK_EQ(rc, 0);
		CHECK_EQ(((struct gated *)weft_join_output(&h))->result, 99);
		/* Ending the task dropped its future; the result fields stay
		 * readable until the handle is released. */
		CHECK_EQ(atomic_load(&drops), 1);
		weft_join_detach(&h);
	} else {
		CHECK_EQ(rc, -ECANCELED);
		CHECK_EQ(atomic_load(&drops), 1);
		weft_join_detach(&h);
	}
	CHECK_EQ(atomic_load(&drops), 1);
	weft_runtime_destroy(rt);
	test_event_finish(&running);
	test_event_finish(&release);
}

static void test_abort_finished(void)
{
	weft_runtime *rt = test_runtime(1, NULL);
	_Atomic int polls = 0, drops = 0;
	struct probe p = probe_make(&polls, &drops, NULL);
	weft_join_handle h;

	CHECK_EQ(weft_spawn(rt, &p.base, sizeof p, &h), 0);
	CHECK_EQ(weft_join(&h), 0);
	CHECK_EQ(weft_join_abort(&h), 0);
	CHECK_EQ(weft_join_try(&h), 0);
	CHECK_EQ(((struct probe *)weft_join_output(&h))->value, 1234);
	/* Dropped when it finished; its bytes are kept for the handle. */
	CHECK_EQ(atomic_load(&drops), 1);
	weft_join_detach(&h);
	CHECK_EQ(atomic_load(&drops), 1);
	weft_runtime_destroy(rt);
}

int main(void)
{
	test_abort_idle(0);
	test_abort_idle(2);
	test_abort_queued();
	test_abort_running(false);
	test_abort_running(true);
	test_abort_finished();
	return 0;
}

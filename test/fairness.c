/*
 * A task that yields (yield_now, or a spent budget) waits until everything
 * else that is ready -- the block_on future included -- has had its turn
 * before it is polled again (issue 9.6).  Counts polls; no timing.
 *
 *  - current-thread: one task yielding in a loop while the block_on future
 *    does ROUNDS budget-limited rounds: the task runs about once per round
 *    (Tokio: 16 for 15 rounds), not RUN_BATCH times per round (960);
 *  - multi-thread, block_on on a plain thread whose only worker is busy:
 *    the same, with the block_on thread running the yielding task;
 *  - multi-thread worker: a task pushed to the injector while a task yields
 *    in a loop on the only worker runs right after the next yield, not after
 *    up to 61 of them.
 */
#include "test.h"

#define ROUNDS 15

static _Atomic bool stop;
static _Atomic long yielder_polls;

/* Yields until `stop`. */
struct yielder {
	weft_future base;
};

static weft_poll yielder_poll(weft_future *f, weft_cx *cx)
{
	(void)f;
	atomic_fetch_add(&yielder_polls, 1);
	if (atomic_load(&stop))
		return WEFT_READY;
	weft_waker_wake_by_ref(weft_cx_waker(cx));
	return WEFT_PENDING;
}

/* Spawns a yielder, then spends its whole budget ROUNDS times. */
struct rounds {
	weft_future base;
	int rounds;
	long yielder_polls_seen;
	weft_join_handle h;
};

static weft_poll rounds_poll(weft_future *f, weft_cx *cx)
{
	struct rounds *r = (struct rounds *)f;

	if (r->rounds == 0) {
		struct yielder y = { { yielder_poll, NULL } };

		CHECK_EQ(weft_spawn(weft_runtime_current(), &y.base, sizeof y, &r->h), 0);
	}
	while (weft_coop_proceed(cx))
		;
	/* The budget is spent and the future woke itself. */
	if (++r->rounds < ROUNDS)
		return WEFT_PENDING;
	r->yielder_polls_seen = atomic_load(&yielder_polls);
	atomic_store(&stop, true);
	return WEFT_READY;
}

static void check_rounds(weft_runtime *rt, const char *what)
{
	struct rounds r = { .base = { rounds_poll, NULL } };

	atomic_store(&stop, false);
	atomic_store(&yielder_polls, 0);
	CHECK_EQ(weft_block_on(rt, &r.base), 0);
	fprintf(stderr, "%s: %d rounds, the yielding task ran %ld times\n", what, ROUNDS,
		r.yielder_polls_seen);
	/* Once between two rounds: ROUNDS - 1, give or take the first. */
	CHECK(r.yielder_polls_seen >= ROUNDS - 1);
	CHECK(r.yielder_polls_seen <= ROUNDS + 1);
	CHECK_EQ(weft_block_on(rt, &r.h.base), 0);
	CHECK_EQ(r.h.status, 0);
	weft_join_detach(&r.h);
}

static void test_current_thread(void)
{
	weft_runtime *rt = test_runtime(0, NULL);

	check_rounds(rt, "current-thread");
	CHECK_EQ(weft_runtime_destroy(rt), 0);
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

static void test_block_on_helper(void)
{
	weft_runtime_config cfg = { 0 };
	weft_runtime *rt = NULL;
	struct test_event running, release;
	struct gate g = { { gate_poll, NULL }, &running, &release };
	weft_join_handle gh;

	cfg.workers = 1;
	cfg.block_on_help = WEFT_BLOCK_ON_HELP_ON;
	if (getenv("WEFT_BLOCK_ON_HELP") != NULL) {
		fprintf(stderr, "block_on helper: skipped (WEFT_BLOCK_ON_HELP is set)\n");
		return;
	}
	CHECK_EQ(weft_runtime_create(&cfg, &rt), 0);
	test_event_init(&running);
	test_event_init(&release);
	CHECK_EQ(weft_spawn(rt, &g.base, sizeof g, &gh), 0);
	test_event_wait(&running);
	/* Only this thread can run the yielding task now. */
	check_rounds(rt, "multi-thread block_on");
	test_event_set(&release);
	CHECK_EQ(weft_join(&gh), 0);
	weft_join_detach(&gh);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	test_event_finish(&running);
	test_event_finish(&release);
}

/*
 * On the only worker, a task yields in a loop; on its `at`-th poll it asks
 * the main thread to spawn a marker (into the injector) and waits until
 * that spawn returned.  The marker records how often the yielder had been
 * polled when it ran.
 */
struct handshake {
	struct test_event spawn_now, spawned;
	long at;
	_Atomic long marker_saw;
};

struct worker_yielder {
	weft_future base;
	struct handshake *hs;
	long polls;
};

static weft_poll worker_yielder_poll(weft_future *f, weft_cx *cx)
{
	struct worker_yielder *y = (struct worker_yielder *)f;

	atomic_store(&yielder_polls, ++y->polls);
	if (y->polls == y->hs->at) {
		test_event_set(&y->hs->spawn_now);
		test_event_wait(&y->hs->spawned);
	}
	if (atomic_load(&y->hs->marker_saw) != 0)
		return WEFT_READY;
	weft_waker_wake_by_ref(weft_cx_waker(cx));
	return WEFT_PENDING;
}

struct marker {
	weft_future base;
	struct handshake *hs;
};

static weft_poll marker_poll(weft_future *f, weft_cx *cx)
{
	struct marker *m = (struct marker *)f;

	(void)cx;
	atomic_store(&m->hs->marker_saw, atomic_load(&yielder_polls));
	return WEFT_READY;
}

static void test_worker_injector(long at)
{
	weft_runtime *rt = test_runtime(1, NULL);
	struct handshake hs;
	struct worker_yielder y = { { worker_yielder_poll, NULL }, &hs, 0 };
	struct marker m = { { marker_poll, NULL }, &hs };
	weft_join_handle hy, hm;
	long waited;

	test_event_init(&hs.spawn_now);
	test_event_init(&hs.spawned);
	hs.at = at;
	atomic_store(&hs.marker_saw, 0);
	atomic_store(&yielder_polls, 0);
	CHECK_EQ(weft_spawn(rt, &y.base, sizeof y, &hy), 0);
	test_event_wait(&hs.spawn_now);
	CHECK_EQ(weft_spawn(rt, &m.base, sizeof m, &hm), 0);
	test_event_set(&hs.spawned);
	CHECK_EQ(weft_join(&hm), 0);
	CHECK_EQ(weft_join(&hy), 0);
	waited = atomic_load(&hs.marker_saw) - at;
	if (waited > 0)
		fprintf(stderr, "worker: the marker waited %ld yields (at %ld)\n", waited, at);
	/* It runs right after the yield of the poll that made it wait. */
	CHECK_EQ(waited, 0);
	weft_join_detach(&hm);
	weft_join_detach(&hy);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	test_event_finish(&hs.spawn_now);
	test_event_finish(&hs.spawned);
}

int main(void)
{
	long at;

	test_current_thread();
	test_block_on_helper();
	for (at = 5; at < 200; at += 17)
		test_worker_injector(at);
	return 0;
}

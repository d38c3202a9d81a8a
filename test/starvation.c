/*
 * Fairness: two tasks that ping-pong through wakes cannot starve a third
 * (it completes within a bounded number of polls), a task that never
 * returns pending on its own still lets others run (the coop budget), and
 * an external spawn while every worker is busy runs within the injector
 * interval.  Bounds are counted in polls, never in time.
 */
#include "test.h"

#include <limits.h>

static _Atomic long busy_polls; /* polls of the tasks that try to hog */
static _Atomic bool stop;

/*
 * The same polls counted per thread.  A bound on how long the victim
 * waits holds for the worker that runs it: the polls of the others do
 * not count, because a worker that took the victim (from the injector,
 * or by stealing it) may be preempted by the machine while another one
 * goes on ping-ponging, which says nothing about the scheduler.
 */
#define SLOTS 64
static _Atomic long polls_of[SLOTS];
static _Atomic int slots_used;
static _Thread_local int my_slot = -1;

static int thread_slot(void)
{
	if (my_slot < 0) {
		my_slot = atomic_fetch_add(&slots_used, 1);
		CHECK(my_slot < SLOTS);
	}
	return my_slot;
}

static void count_poll(void)
{
	atomic_fetch_add(&polls_of[thread_slot()], 1);
	atomic_fetch_add(&busy_polls, 1);
}

/* Every thread's count, read after the victim was pushed. */
static void snapshot(_Atomic long snap[SLOTS])
{
	int i;

	for (i = 0; i < SLOTS; i++)
		atomic_store(&snap[i], atomic_load(&polls_of[i]));
}

/* ---- ping-pong ------------------------------------------------------------ */

struct spawn_victim;
static _Atomic(struct spawn_victim *) spawn_request;
static weft_poll spawn_victim_poll(weft_future *f, weft_cx *cx);

struct pinger {
	weft_future base;
	struct pinger **peer; /* the other's future pointer, once known */
	struct pinger **self_slot;
	weft_waker waker;     /* our own waker, for the peer to wake */
	pthread_mutex_t *lock;
};

static weft_poll pinger_poll(weft_future *f, weft_cx *cx)
{
	struct pinger *p = (struct pinger *)f;
	weft_waker w = { 0 };

	struct spawn_victim *req = atomic_exchange(&spawn_request, NULL);

	count_poll();
	if (atomic_load(&stop))
		return WEFT_READY;
	/* Spawn the victim from inside the ping-pong: it lands in this
	 * worker's LIFO slot and is pushed out by the next wake. */
	if (req != NULL)
		spawn_victim_poll((weft_future *)req, cx);
	pthread_mutex_lock(p->lock);
	*p->self_slot = p;
	weft_waker_store(&p->waker, weft_cx_waker(cx));
	if (*p->peer != NULL)
		w = weft_waker_clone(&(*p->peer)->waker);
	pthread_mutex_unlock(p->lock);
	if (weft_waker_is_empty(&w))
		weft_waker_wake_by_ref(weft_cx_waker(cx)); /* peer not there yet */
	else
		weft_waker_wake(&w);
	return WEFT_PENDING;
}

static void pinger_drop(weft_future *f)
{
	struct pinger *p = (struct pinger *)f;

	pthread_mutex_lock(p->lock);
	*p->self_slot = NULL;
	weft_waker_drop(&p->waker);
	pthread_mutex_unlock(p->lock);
}

/* The victim: records how many busy polls its own thread made between the
 * snapshot `at` (taken when it was pushed) and the moment it runs. */
struct victim {
	weft_future base;
	long *seen;
	_Atomic long *at;
};

static weft_poll victim_poll(weft_future *f, weft_cx *cx)
{
	struct victim *v = (struct victim *)f;
	int slot = thread_slot();

	(void)cx;
	if (v->at == NULL) /* only that the hogs ran before it */
		*v->seen = atomic_load(&busy_polls);
	else
		*v->seen = atomic_load(&polls_of[slot]) - atomic_load(&v->at[slot]);
	return WEFT_READY;
}

/* A request for a ping-pong task to spawn the victim. */
struct spawn_victim {
	weft_future base;
	long *seen;
	_Atomic long *at_spawn; /* SLOTS counts */
	weft_join_handle *h;
	struct test_event *spawned;
};

static weft_poll spawn_victim_poll(weft_future *f, weft_cx *cx)
{
	struct spawn_victim *s = (struct spawn_victim *)f;
	struct victim v = { { victim_poll, NULL }, s->seen, s->at_spawn };

	(void)cx;
	snapshot(s->at_spawn);
	CHECK_EQ(weft_spawn(weft_runtime_current(), &v.base, sizeof v, s->h), 0);
	test_event_set(s->spawned);
	return WEFT_READY;
}

static void test_ping_pong(unsigned workers, bool spawn_inside)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct pinger *a_ptr = NULL, *b_ptr = NULL;
	struct pinger a = { { pinger_poll, pinger_drop }, &b_ptr, &a_ptr, { 0 }, &lock };
	struct pinger b = { { pinger_poll, pinger_drop }, &a_ptr, &b_ptr, { 0 }, &lock };
	weft_join_handle ha, hb, hv;
	long seen = -1;
	_Atomic long at_spawn[SLOTS];

	atomic_store(&stop, false);
	atomic_store(&busy_polls, 0);
	CHECK_EQ(weft_spawn(rt, &a.base, sizeof a, &ha), 0);
	CHECK_EQ(weft_spawn(rt, &b.base, sizeof b, &hb), 0);
	/* Let the ping-pong get going. */
	while (atomic_load(&busy_polls) < 1000)
		weft_join_timeout(&ha, 1000000);
	if (spawn_inside) {
		struct test_event spawned;
		struct spawn_victim s = { { spawn_victim_poll, NULL }, &seen, at_spawn, &hv,
					  &spawned };

		test_event_init(&spawned);
		atomic_store(&spawn_request, &s);
		test_event_wait(&spawned);
		test_event_finish(&spawned);
	} else {
		struct victim v = { { victim_poll, NULL }, &seen, at_spawn };

		/* Until the snapshot the victim sees none of its thread's
		 * polls: it counts from 0. */
		for (int i = 0; i < SLOTS; i++)
			atomic_store(&at_spawn[i], LONG_MAX / 2);
		CHECK_EQ(weft_spawn(rt, &v.base, sizeof v, &hv), 0);
		/* Read after the push: polls while this thread was inside
		 * spawn (or preempted) must not count against the bound. */
		snapshot(at_spawn);
	}
	CHECK_EQ(weft_join(&hv), 0);
	fprintf(stderr, "ping-pong (%u workers, %s): victim ran after %ld ping-pong polls\n",
		workers, spawn_inside ? "local" : "remote", seen);
	/* LIFO polls are capped at 3 in a row and the injector is checked
	 * every 61 polls, so the victim waits behind at most about 64
	 * ping-pong polls per worker.  The bound allows twice that, for a
	 * check that raced the push; without the caps it would be unbounded. */
	CHECK(seen <= (long)(workers * 2 * (61 + 4) + 8));
	atomic_store(&stop, true);
	CHECK_EQ(weft_join_abort(&ha), 0);
	CHECK_EQ(weft_join_abort(&hb), 0);
	weft_join(&ha);
	weft_join(&hb);
	weft_join_detach(&ha);
	weft_join_detach(&hb);
	weft_join_detach(&hv);
	weft_runtime_destroy(rt);
}

/* ---- a task that is always ready ----------------------------------------- */

/* Loops over a resource that is always ready: only the budget stops it. */
static weft_poll hog_poll(weft_future *f, weft_cx *cx)
{
	(void)f;
	if (atomic_load(&stop))
		return WEFT_READY;
	while (weft_coop_proceed(cx))
		atomic_fetch_add_explicit(&busy_polls, 1, memory_order_relaxed);
	return WEFT_PENDING; /* the budget woke us */
}

static void test_hog(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	weft_future hog = { hog_poll, NULL };
	weft_join_handle hh[4], hv;
	long seen = -1;
	struct victim v = { { victim_poll, NULL }, &seen, NULL };
	unsigned i;

	atomic_store(&stop, false);
	atomic_store(&busy_polls, 0);
	for (i = 0; i < workers * 2; i++)
		CHECK_EQ(weft_spawn(rt, &hog, sizeof hog, &hh[i]), 0);
	while (atomic_load(&busy_polls) < 100000)
		weft_join_timeout(&hh[0], 1000000);
	CHECK_EQ(weft_spawn(rt, &v.base, sizeof v, &hv), 0);
	CHECK_EQ(weft_join(&hv), 0);
	CHECK(seen > 0);
	atomic_store(&stop, true);
	for (i = 0; i < workers * 2; i++) {
		CHECK_EQ(weft_join(&hh[i]), 0);
		weft_join_detach(&hh[i]);
	}
	weft_join_detach(&hv);
	weft_runtime_destroy(rt);
}

/* ---- external spawn while every worker is busy ------------------------------ */

static weft_poll yielder_poll(weft_future *f, weft_cx *cx)
{
	(void)f;
	if (atomic_load(&stop))
		return WEFT_READY;
	count_poll();
	weft_waker_wake_by_ref(weft_cx_waker(cx)); /* back of the local queue */
	return WEFT_PENDING;
}

struct yielder_batch {
	weft_join_handle *h;
	unsigned n;
};

static void *spawn_yielders(void *arg)
{
	struct yielder_batch *b = arg;
	weft_future y = { yielder_poll, NULL };
	unsigned i;

	for (i = 0; i < b->n; i++)
		CHECK_EQ(weft_spawn(weft_runtime_current(), &y, sizeof y, &b->h[i]), 0);
	return NULL;
}

static void test_remote_while_busy(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	weft_join_handle hy[64], hv;
	long seen = -1;
	_Atomic long at_spawn[SLOTS];
	struct victim v = { { victim_poll, NULL }, &seen, at_spawn };
	unsigned i, n = workers * 16;
	int round;

	atomic_store(&stop, false);
	atomic_store(&busy_polls, 0);
	struct yielder_batch batch = { hy, n };
	weft_join_handle hb;

	/* Spawned from inside, so that they sit in the workers' local queues
	 * and the victim is alone in the injector. */
	CHECK_EQ(weft_spawn_fn(rt, spawn_yielders, &batch, &hb), 0);
	CHECK_EQ(weft_join(&hb), 0);
	weft_join_detach(&hb);
	for (round = 0; round < 50; round++) {
		while (atomic_load(&busy_polls) < 1000 * (round + 1))
			weft_join_timeout(&hy[0], 1000000);
		for (i = 0; i < SLOTS; i++)
			atomic_store(&at_spawn[i], LONG_MAX / 2);
		CHECK_EQ(weft_spawn(rt, &v.base, sizeof v, &hv), 0);
		snapshot(at_spawn); /* after the push, as above */
		CHECK_EQ(weft_join(&hv), 0);
		weft_join_detach(&hv);
		/* Each worker checks the injector at least every 61 polls
		 * (twice that allowed for a check that raced the push). */
		CHECK(seen <= (long)(workers * 2 * (61 + 4)));
	}
	atomic_store(&stop, true);
	for (i = 0; i < n; i++) {
		CHECK_EQ(weft_join(&hy[i]), 0);
		weft_join_detach(&hy[i]);
	}
	weft_runtime_destroy(rt);
}

int main(void)
{
	test_ping_pong(1, false);
	test_ping_pong(1, true);
	test_ping_pong(2, false);
	test_ping_pong(2, true);
	test_hog(1);
	test_hog(2);
	test_remote_while_busy(1);
	test_remote_while_busy(2);
	return 0;
}

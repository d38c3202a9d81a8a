/* Task wakes: before the poll returns, while running on another thread, after completion. */
#include "test.h"

#include <sched.h>

/* Wakes itself during its first poll, then returns pending; ready at poll 2. */
struct self_wake {
	weft_future base;
	_Atomic int *polls;
};

static weft_poll self_wake_poll(weft_future *f, weft_cx *cx)
{
	struct self_wake *s = (struct self_wake *)f;

	if (atomic_fetch_add(s->polls, 1) == 0) {
		weft_waker_wake_by_ref(weft_cx_waker(cx));
		return WEFT_PENDING;
	}
	return WEFT_READY;
}

static void test_wake_before_return(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	_Atomic int polls = 0;
	struct self_wake f = { { self_wake_poll, NULL }, &polls };
	weft_join_handle h;

	CHECK_EQ(weft_spawn(rt, &f.base, sizeof f, &h), 0);
	if (workers == 0) {
		CHECK_EQ(weft_block_on(rt, &h.base), 0);
		CHECK_EQ(h.status, 0);
	} else {
		CHECK_EQ(weft_join(&h), 0);
	}
	CHECK_EQ(atomic_load(&polls), 2);
	weft_join_detach(&h);
	weft_runtime_destroy(rt);
}

/*
 * First poll: publishes a clone of its waker, announces it is running, and
 * waits until another thread has woken the clone; then returns pending.
 * The task must be polled exactly once more.
 */
struct wake_while_running {
	weft_future base;
	_Atomic int *polls;
	weft_waker *stash;
	struct test_event *running, *woken;
};

static weft_poll wwr_poll(weft_future *f, weft_cx *cx)
{
	struct wake_while_running *s = (struct wake_while_running *)f;

	if (atomic_fetch_add(s->polls, 1) == 0) {
		*s->stash = weft_waker_clone(weft_cx_waker(cx));
		test_event_set(s->running);
		test_event_wait(s->woken);
		return WEFT_PENDING;
	}
	return WEFT_READY;
}

struct waker_thread_arg {
	weft_waker *stash;
	struct test_event *running, *woken;
};

static void *waker_thread(void *p)
{
	struct waker_thread_arg *a = p;

	test_event_wait(a->running);
	weft_waker_wake(a->stash); /* consumes the clone */
	test_event_set(a->woken);
	return NULL;
}

/* Drives a current-thread runtime until `h` is done. */
static void wait_join(weft_runtime *rt, weft_join_handle *h, unsigned workers)
{
	if (workers == 0) {
		CHECK_EQ(weft_block_on(rt, &h->base), 0);
		CHECK_EQ(h->status, 0);
	} else {
		CHECK_EQ(weft_join(h), 0);
	}
}

static void test_wake_while_running(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	_Atomic int polls = 0;
	weft_waker stash = { 0 };
	struct test_event running, woken;
	struct wake_while_running f = { { wwr_poll, NULL }, &polls, &stash, &running, &woken };
	struct waker_thread_arg arg = { &stash, &running, &woken };
	weft_join_handle h;
	pthread_t th;

	test_event_init(&running);
	test_event_init(&woken);
	CHECK_EQ(pthread_create(&th, NULL, waker_thread, &arg), 0);
	CHECK_EQ(weft_spawn(rt, &f.base, sizeof f, &h), 0);
	wait_join(rt, &h, workers);
	pthread_join(th, NULL);
	CHECK_EQ(atomic_load(&polls), 2);
	weft_join_detach(&h);
	weft_runtime_destroy(rt);
	test_event_finish(&running);
	test_event_finish(&woken);
}

/* Keeps a waker clone past completion; the task stays alive until it is dropped. */
struct keep_waker {
	weft_future base;
	_Atomic int *polls;
	weft_waker *stash;
};

static weft_poll keep_poll(weft_future *f, weft_cx *cx)
{
	struct keep_waker *s = (struct keep_waker *)f;

	atomic_fetch_add(s->polls, 1);
	*s->stash = weft_waker_clone(weft_cx_waker(cx));
	return WEFT_READY;
}

static void test_wake_after_completion(unsigned workers)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime *rt = test_runtime(workers, &alloc);
	_Atomic int polls = 0;
	weft_waker stash = { 0 };
	struct keep_waker f = { { keep_poll, NULL }, &polls, &stash };
	weft_join_handle h;
	weft_waker c;

	CHECK_EQ(weft_spawn(rt, &f.base, sizeof f, &h), 0);
	wait_join(rt, &h, workers);
	weft_join_detach(&h);
	/* The task finished; its waker still works and does nothing. */
	weft_waker_wake_by_ref(&stash);
	c = weft_waker_clone(&stash);
	weft_waker_wake(&c);
	CHECK_EQ(atomic_load(&polls), 1);
	CHECK(atomic_load(&ta.allocs) > atomic_load(&ta.frees));
	weft_runtime_destroy(rt);
	/* The runtime is gone but the task lives until its last waker goes. */
	CHECK(atomic_load(&ta.allocs) > atomic_load(&ta.frees));
	weft_waker_wake_by_ref(&stash);
	weft_waker_drop(&stash);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&polls), 1);
}

/*
 * The same with tasks spawned on the workers, whose references on the
 * scheduler come out of each worker's spare ones (src/sched/task.c): a
 * parent spawns CHILDREN tasks that keep their wakers and, before them,
 * SHORT ones that only finish (freed on the workers, so that spare
 * references pile up and go back).  After weft_runtime_destroy the
 * scheduler must still be alive for the kept wakers, and freed with the
 * last of them.
 */
#define CHILDREN 100
#define SHORT 300

struct spawner {
	weft_future base;
	weft_runtime *rt;
	_Atomic int *polls;
	weft_waker *stash;
	int err;
};

static weft_poll short_poll(weft_future *f, weft_cx *cx)
{
	(void)f;
	(void)cx;
	return WEFT_READY;
}

static weft_poll spawner_poll(weft_future *f, weft_cx *cx)
{
	struct spawner *s = (struct spawner *)f;
	int i;

	(void)cx;
	for (i = 0; i < SHORT && s->err == 0; i++) {
		weft_future sf = { short_poll, NULL };

		s->err = weft_spawn(s->rt, &sf, sizeof sf, NULL);
	}
	for (i = 0; i < CHILDREN && s->err == 0; i++) {
		struct keep_waker k = { { keep_poll, NULL }, s->polls, &s->stash[i] };

		s->err = weft_spawn(s->rt, &k.base, sizeof k, NULL);
	}
	return WEFT_READY;
}

static void test_wakers_of_worker_spawns(unsigned workers)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime *rt = test_runtime(workers, &alloc);
	_Atomic int polls = 0;
	weft_waker stash[CHILDREN];
	struct spawner sp = { { spawner_poll, NULL }, rt, &polls, stash, 0 };
	weft_join_handle h;
	int i;

	memset(stash, 0, sizeof(stash));
	CHECK_EQ(weft_spawn(rt, &sp.base, sizeof sp, &h), 0);
	wait_join(rt, &h, workers);
	CHECK_EQ(((struct spawner *)weft_join_output(&h))->err, 0);
	weft_join_detach(&h);
	while (atomic_load(&polls) < CHILDREN)
		sched_yield();
	weft_runtime_destroy(rt);
	CHECK(atomic_load(&ta.allocs) > atomic_load(&ta.frees));
	for (i = 0; i < CHILDREN; i++) {
		CHECK(atomic_load(&ta.allocs) > atomic_load(&ta.frees));
		weft_waker_wake_by_ref(&stash[i]);
		weft_waker_drop(&stash[i]);
	}
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&polls), CHILDREN);
}

int main(void)
{
	unsigned w;

	for (w = 0; w <= 4; w += 2) {
		test_wake_before_return(w);
		test_wake_while_running(w);
		test_wake_after_completion(w);
		if (w > 0) /* about workers' spare references */
			test_wakers_of_worker_spawns(w);
	}
	return 0;
}

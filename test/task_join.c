/* Join handles: await from a task, block from a thread, timeout, try, output, detach. */
#include "test.h"

static void *square(void *arg)
{
	long v = (long)arg;

	return (void *)(v * v);
}

/* A task that spawns a child and awaits its handle. */
struct parent {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_join_handle child;
	long result;
};

static weft_poll parent_poll(weft_future *f, weft_cx *cx)
{
	struct parent *self = (struct parent *)f;
	weft_fn_future *out;

	WEFT_ASYNC_BEGIN(self);
	CHECK_EQ(weft_spawn_fn(weft_runtime_current(), square, (void *)12L, &self->child), 0);
	WEFT_AWAIT(self, cx, &self->child.base);
	CHECK_EQ(self->child.status, 0);
	out = weft_join_output(&self->child);
	CHECK(out != NULL);
	self->result = (long)out->result;
	weft_join_detach(&self->child);
	WEFT_ASYNC_END(self);
}

static void test_join_from_task(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	struct parent p = { .base = { parent_poll, NULL } };
	weft_join_handle h;

	/* Awaited inside block_on... */
	CHECK_EQ(weft_block_on(rt, &p.base), 0);
	CHECK_EQ(p.result, 144);
	/* ...and inside a spawned task, joined from this thread. */
	memset(&p, 0, sizeof p);
	p.base.poll = parent_poll;
	CHECK_EQ(weft_spawn(rt, &p.base, sizeof p, &h), 0);
	if (workers == 0) {
		CHECK_EQ(weft_block_on(rt, &h.base), 0);
		CHECK_EQ(h.status, 0);
	} else {
		CHECK_EQ(weft_join(&h), 0);
	}
	CHECK_EQ(((struct parent *)weft_join_output(&h))->result, 144);
	weft_join_detach(&h);
	weft_runtime_destroy(rt);
}

static void test_join_from_thread(void)
{
	weft_runtime *rt = test_runtime(2, NULL);
	weft_join_handle h[16];
	long i;

	for (i = 0; i < 16; i++)
		CHECK_EQ(weft_spawn_fn(rt, square, (void *)i, &h[i]), 0);
	for (i = 0; i < 16; i++) {
		CHECK_EQ(weft_join(&h[i]), 0);
		CHECK_EQ((long)((weft_fn_future *)weft_join_output(&h[i]))->result, i * i);
		CHECK_EQ(weft_join(&h[i]), 0); /* joining twice is fine */
		weft_join_detach(&h[i]);
	}
	weft_runtime_destroy(rt);
}

static void test_join_timeout_and_try(void)
{
	weft_runtime *rt = test_runtime(2, NULL);
	_Atomic int polls = 0, drops = 0;
	_Atomic bool ready = false;
	struct probe p = probe_make(&polls, &drops, &ready);
	weft_join_handle h;

	CHECK_EQ(weft_spawn(rt, &p.base, sizeof p, &h), 0);
	CHECK_EQ(weft_join_timeout(&h, 20 * 1000 * 1000), -ETIMEDOUT);
	CHECK_EQ(weft_join_try(&h), -EAGAIN);
	CHECK(weft_join_output(&h) == NULL);
	CHECK_EQ(weft_join_abort(&h), 0);
	CHECK_EQ(weft_join_timeout(&h, UINT64_C(60) * 1000 * 1000 * 1000), -ECANCELED);
	CHECK_EQ(weft_join_try(&h), -ECANCELED);
	weft_join_detach(&h);
	CHECK_EQ(atomic_load(&drops), 1);
	weft_runtime_destroy(rt);
}

static void test_detach(unsigned workers)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime *rt = test_runtime(workers, &alloc);
	_Atomic int polls = 0, drops = 0;
	struct probe p = probe_make(&polls, &drops, NULL);
	weft_join_handle h, marker;
	weft_yield y;

	/* Detached while queued: runs, then frees itself. */
	CHECK_EQ(weft_spawn(rt, &p.base, sizeof p, &h), 0);
	weft_join_detach(&h);
	CHECK(h.task == NULL);
	weft_join_detach(&h); /* empty: nothing */
	weft_join_detach(NULL);
	CHECK_EQ(weft_join(&h), -EINVAL);
	CHECK_EQ(weft_join_timeout(&h, 1), -EINVAL);
	CHECK_EQ(weft_join_try(&h), -EINVAL);
	CHECK_EQ(weft_join_abort(&h), -EINVAL);
	CHECK(weft_join_output(&h) == NULL);
	/* Spawned with no handle at all. */
	CHECK_EQ(weft_spawn(rt, &p.base, sizeof p, NULL), 0);
	/* A marker task spawned after them; once it is done, run a yield so
	 * the others surely ran on the current-thread runtime. */
	CHECK_EQ(weft_spawn(rt, &p.base, sizeof p, &marker), 0);
	if (workers == 0) {
		CHECK_EQ(weft_block_on(rt, &marker.base), 0);
		weft_yield_now(&y);
		CHECK_EQ(weft_block_on(rt, &y.base), 0);
	} else {
		CHECK_EQ(weft_join(&marker), 0);
		/* The marker's drop ran before its join completed; wait for
		 * the two detached tasks too (each is dropped after its
		 * poll), since another worker may still be running one. */
		while (atomic_load(&drops) < 3)
			weft_join_timeout(&marker, 1000000);
	}
	weft_join_detach(&marker);
	CHECK_EQ(atomic_load(&polls), 3);
	weft_runtime_destroy(rt);
	CHECK_EQ(atomic_load(&drops), 3);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
}

struct abort_later {
	weft_join_handle *h;
};

static void *abort_later_main(void *arg)
{
	struct abort_later *a = arg;

	/* Give the joiner time to start waiting (the test passes either way;
	 * without the pause it only tests less). */
	test_sleep_ms(50);
	CHECK_EQ(weft_join_abort(a->h), 0);
	return NULL;
}

/*
 * Regression (issue 9.3): a timeout of UINT64_MAX wrapped the deadline into
 * the past and returned -ETIMEDOUT at once.  It must wait like weft_join.
 */
static void test_join_timeout_max(void)
{
	weft_runtime *rt = test_runtime(1, NULL);
	_Atomic int polls = 0, drops = 0;
	_Atomic bool ready = false;
	struct probe p = probe_make(&polls, &drops, &ready);
	struct abort_later a;
	weft_join_handle h;
	pthread_t thread;

	CHECK_EQ(weft_spawn(rt, &p.base, sizeof p, &h), 0);
	a.h = &h;
	CHECK_EQ(pthread_create(&thread, NULL, abort_later_main, &a), 0);
	CHECK_EQ(weft_join_timeout(&h, UINT64_MAX), -ECANCELED);
	CHECK_EQ(weft_join_timeout(&h, UINT64_MAX - 1), -ECANCELED);
	pthread_join(thread, NULL);
	weft_join_detach(&h);
	CHECK_EQ(atomic_load(&drops), 1);
	weft_runtime_destroy(rt);
}

/* Awaiting a detached handle is ready at once with -EINVAL. */
static void test_await_empty_handle(void)
{
	weft_runtime *rt = test_runtime(0, NULL);
	weft_join_handle h;

	CHECK_EQ(weft_spawn(NULL, NULL, 0, &h), -EINVAL); /* leaves h empty */
	CHECK_EQ(weft_block_on(rt, &h.base), 0);
	CHECK_EQ(h.status, -EINVAL);
	weft_runtime_destroy(rt);
}

int main(void)
{
	test_join_from_task(0);
	test_join_from_task(2);
	test_join_from_thread();
	test_join_timeout_and_try();
	test_join_timeout_max();
	test_detach(0);
	test_detach(2);
	test_await_empty_handle();
	return 0;
}

/* The blocking pool: growth to the maximum, shrinking after the keep-alive, thread-start failure, abort, await, shutdown, the job cache. */
#include "test.h"

#include <time.h>

#include "blocking/blocking.h"

#define MS 1000000ull

static _Atomic long threads_created;
static _Atomic bool fail_create;

static int counting_create(pthread_t *thread, const pthread_attr_t *attr,
			   void *(*start)(void *), void *arg)
{
	if (atomic_load(&fail_create))
		return EAGAIN;
	atomic_fetch_add(&threads_created, 1);
	return pthread_create(thread, attr, start, arg);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Polls until the pool has `n` threads; fails after a generous bound (this
 * waits for a keep-alive to pass, it does not measure it). */
static void wait_threads(weft_runtime *rt, unsigned n)
{
	long i;

	for (i = 0; weft__blocking_threads(rt) != n; i++) {
		CHECK(i < 60000);
		sleep_ms(1);
	}
}

static weft_runtime *pool_runtime(unsigned workers, unsigned max, uint64_t keep_alive,
				  const weft_allocator *alloc)
{
	weft_runtime_config cfg = { 0 };
	weft_runtime *rt = NULL;

	cfg.flavor = workers == 0 ? WEFT_RUNTIME_CURRENT_THREAD : WEFT_RUNTIME_MULTI_THREAD;
	cfg.workers = workers;
	cfg.allocator = alloc;
	cfg.max_blocking_threads = max;
	cfg.blocking_keep_alive_ns = keep_alive;
	CHECK_EQ(weft_runtime_create(&cfg, &rt), 0);
	return rt;
}

/* A job that waits until the gate opens and counts how many run at once. */
struct gate {
	struct test_event open;
	_Atomic long running, max_running, ran, started;
};

static void gate_init(struct gate *g)
{
	test_event_init(&g->open);
	atomic_init(&g->running, 0);
	atomic_init(&g->max_running, 0);
	atomic_init(&g->ran, 0);
	atomic_init(&g->started, 0);
}

static void *gated_job(void *arg)
{
	struct gate *g = arg;
	long now = atomic_fetch_add(&g->running, 1) + 1;
	long max = atomic_load(&g->max_running);

	while (now > max && !atomic_compare_exchange_weak(&g->max_running, &max, now))
		;
	atomic_fetch_add(&g->started, 1);
	test_event_wait(&g->open);
	atomic_fetch_sub(&g->running, 1);
	atomic_fetch_add(&g->ran, 1);
	return (void *)0x5a;
}

static void wait_started(struct gate *g, long n)
{
	long i;

	for (i = 0; atomic_load(&g->started) < n; i++) {
		CHECK(i < 60000);
		sleep_ms(1);
	}
}

#define MANY 2000

static void test_grow_and_shrink(void)
{
	static weft_join_handle h[MANY];
	weft_runtime *rt = pool_runtime(2, 4, 20 * MS, NULL);
	struct gate g;
	void *res;
	int i;

	gate_init(&g);
	atomic_store(&threads_created, 0);
	for (i = 0; i < MANY; i++)
		CHECK_EQ(weft_spawn_blocking(rt, gated_job, &g, &h[i]), 0);
	/* Every job is queued or running; the pool is at its maximum. */
	CHECK_EQ(weft__blocking_active(rt), MANY);
	CHECK_EQ(weft__blocking_threads(rt), 4);
	CHECK_EQ(atomic_load(&threads_created), 4);
	wait_started(&g, 4);
	CHECK_EQ(weft__blocking_threads(rt), 4);
	CHECK_EQ(weft_join_try(&h[MANY - 1]), -EAGAIN);

	test_event_set(&g.open);
	for (i = 0; i < MANY; i++) {
		CHECK_EQ(weft_join(&h[i]), 0);
		CHECK_EQ(weft_blocking_result(&h[i], &res), 0);
		CHECK(res == (void *)0x5a);
		weft_join_detach(&h[i]);
	}
	CHECK_EQ(atomic_load(&g.ran), MANY);
	CHECK(atomic_load(&g.max_running) <= 4);
	CHECK_EQ(atomic_load(&threads_created), 4);
	/* The last job stops counting just after its joiner was woken. */
	for (i = 0; weft__blocking_active(rt) != 0; i++) {
		CHECK(i < 60000);
		sleep_ms(1);
	}
	/* Idle threads exit once the keep-alive has passed. */
	wait_threads(rt, 0);
	/* And the pool starts a thread again for the next job. */
	CHECK_EQ(weft_spawn_blocking(rt, gated_job, &g, &h[0]), 0);
	CHECK_EQ(weft_join(&h[0]), 0);
	weft_join_detach(&h[0]);
	CHECK_EQ(atomic_load(&threads_created), 5);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	test_event_finish(&g.open);
}

/* Jobs submitted while threads are idle fan out over all of them (each
 * woken thread wakes the next), without starting new threads. */
static void test_fan_out(void)
{
	weft_runtime *rt = pool_runtime(1, 4, 100000 * MS, NULL);
	weft_join_handle h[4];
	struct gate first, second;
	long i;
	int k;

	gate_init(&first);
	gate_init(&second);
	for (k = 0; k < 4; k++)
		CHECK_EQ(weft_spawn_blocking(rt, gated_job, &first, &h[k]), 0);
	wait_started(&first, 4);
	test_event_set(&first.open);
	for (k = 0; k < 4; k++) {
		CHECK_EQ(weft_join(&h[k]), 0);
		weft_join_detach(&h[k]);
	}
	for (i = 0; weft__blocking_idle(rt) != 4; i++) {
		CHECK(i < 60000);
		sleep_ms(1);
	}
	atomic_store(&threads_created, 0);
	for (k = 0; k < 4; k++)
		CHECK_EQ(weft_spawn_blocking(rt, gated_job, &second, &h[k]), 0);
	/* All four run at once, on the four idle threads. */
	wait_started(&second, 4);
	CHECK_EQ(atomic_load(&second.max_running), 4);
	CHECK_EQ(atomic_load(&threads_created), 0);
	test_event_set(&second.open);
	for (k = 0; k < 4; k++) {
		CHECK_EQ(weft_join(&h[k]), 0);
		weft_join_detach(&h[k]);
	}
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	test_event_finish(&first.open);
	test_event_finish(&second.open);
}

static _Atomic int drops;

static void count_drop(void *arg)
{
	(void)arg;
	atomic_fetch_add(&drops, 1);
}

static void *never(void *arg)
{
	(void)arg;
	CHECK(!"this job must not run");
	return NULL;
}

static void *identity(void *arg)
{
	return arg;
}

static void test_thread_start_failure(void)
{
	weft_runtime *rt = pool_runtime(1, 8, 10000 * MS, NULL);
	struct gate g;
	weft_join_handle h, busy;
	void *res;
	long i;

	gate_init(&g);
	atomic_store(&drops, 0);
	/* No thread at all: reported, not queued. */
	atomic_store(&fail_create, true);
	CHECK_EQ(weft_spawn_blocking_drop(rt, never, NULL, count_drop, &h), -EAGAIN);
	CHECK(h.task == NULL);
	CHECK_EQ(weft_join(&h), -EINVAL);
	CHECK_EQ(weft_spawn_blocking(rt, never, NULL, NULL), -EAGAIN);
	CHECK_EQ(weft__blocking_active(rt), 0);
	CHECK_EQ(weft__blocking_threads(rt), 0);
	atomic_store(&fail_create, false);

	/* One busy thread, none idle, below the maximum: still reported. */
	CHECK_EQ(weft_spawn_blocking(rt, gated_job, &g, &busy), 0);
	wait_started(&g, 1);
	atomic_store(&fail_create, true);
	CHECK_EQ(weft_spawn_blocking_drop(rt, never, NULL, count_drop, &h), -EAGAIN);
	CHECK(h.task == NULL);
	atomic_store(&fail_create, false);
	test_event_set(&g.open);
	CHECK_EQ(weft_join(&busy), 0);
	weft_join_detach(&busy);

	/* An idle thread takes the job although no new thread can start. */
	for (i = 0; weft__blocking_idle(rt) != 1; i++) {
		CHECK(i < 60000);
		sleep_ms(1);
	}
	atomic_store(&fail_create, true);
	CHECK_EQ(weft__blocking_threads(rt), 1);
	CHECK_EQ(weft_spawn_blocking(rt, identity, (void *)7L, &h), 0);
	CHECK_EQ(weft_join(&h), 0);
	CHECK_EQ(weft_blocking_result(&h, &res), 0);
	CHECK(res == (void *)7L);
	weft_join_detach(&h);
	atomic_store(&fail_create, false);
	/* The caller keeps arg on failure: its drop never ran. */
	CHECK_EQ(atomic_load(&drops), 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	test_event_finish(&g.open);
}

static void test_abort_queued(void)
{
	weft_runtime *rt = pool_runtime(1, 1, 10000 * MS, NULL);
	struct gate g;
	weft_join_handle blocker, queued, later;
	void *res;

	gate_init(&g);
	atomic_store(&drops, 0);
	CHECK_EQ(weft_spawn_blocking(rt, gated_job, &g, &blocker), 0);
	wait_started(&g, 1);
	CHECK_EQ(weft_spawn_blocking_drop(rt, never, NULL, count_drop, &queued), 0);
	CHECK_EQ(weft_spawn_blocking_drop(rt, identity, (void *)3L, count_drop, &later), 0);
	CHECK_EQ(weft_join_abort(&queued), 0);
	CHECK_EQ(weft_blocking_result(&queued, &res), -EAGAIN);
	test_event_set(&g.open);
	CHECK_EQ(weft_join(&queued), -ECANCELED);
	CHECK_EQ(weft_blocking_result(&queued, &res), -ECANCELED);
	CHECK_EQ(weft_join(&later), 0);
	CHECK_EQ(weft_blocking_result(&later, &res), 0);
	CHECK(res == (void *)3L);
	CHECK_EQ(atomic_load(&drops), 1);
	/* Abort of a finished job changes nothing. */
	CHECK_EQ(weft_join_abort(&later), 0);
	CHECK_EQ(weft_join(&later), 0);
	CHECK_EQ(weft_join(&blocker), 0);
	weft_join_detach(&blocker);
	weft_join_detach(&queued);
	weft_join_detach(&later);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	test_event_finish(&g.open);
}

/* A task that runs a blocking job and awaits it. */
struct awaiter {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_join_handle job;
	void *result;
};

static weft_poll awaiter_poll(weft_future *f, weft_cx *cx)
{
	struct awaiter *self = (struct awaiter *)f;

	WEFT_ASYNC_BEGIN(self);
	CHECK_EQ(weft_spawn_blocking(weft_runtime_current(), identity, (void *)42L, &self->job), 0);
	WEFT_AWAIT(self, cx, &self->job.base);
	CHECK_EQ(self->job.status, 0);
	CHECK_EQ(weft_blocking_result(&self->job, &self->result), 0);
	weft_join_detach(&self->job);
	WEFT_ASYNC_END(self);
}

static void *destroy_from_job(void *arg)
{
	return (void *)(long)weft_runtime_destroy(arg);
}

static void test_await(unsigned workers)
{
	weft_runtime *rt = pool_runtime(workers, 0, 0, NULL);
	struct awaiter a = { .base = { awaiter_poll, NULL } };
	weft_join_handle h;
	void *res;

	CHECK_EQ(weft_block_on(rt, &a.base), 0);
	CHECK(a.result == (void *)42L);
	/* A job cannot destroy its own runtime (it would wait for itself). */
	CHECK_EQ(weft_spawn_blocking(rt, destroy_from_job, rt, &h), 0);
	CHECK_EQ(weft_join(&h), 0);
	CHECK_EQ(weft_blocking_result(&h, &res), 0);
	CHECK_EQ((long)res, -EDEADLK);
	weft_join_detach(&h);
	CHECK_EQ(weft_spawn_blocking(NULL, identity, NULL, &h), -EINVAL);
	CHECK_EQ(weft_spawn_blocking(rt, NULL, NULL, &h), -EINVAL);
	CHECK(h.task == NULL);
	CHECK_EQ(weft_blocking_result(NULL, &res), -EINVAL);
	CHECK_EQ(weft_blocking_result(&h, &res), -EINVAL);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

static void test_shutdown_deadline(void)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime *rt = pool_runtime(2, 2, 10000 * MS, &alloc);
	weft_join_handle run[2], queued[3];
	struct gate g;
	void *res;
	long i;
	int k;

	gate_init(&g);
	atomic_store(&drops, 0);
	for (k = 0; k < 2; k++)
		CHECK_EQ(weft_spawn_blocking(rt, gated_job, &g, &run[k]), 0);
	wait_started(&g, 2);
	for (k = 0; k < 3; k++)
		CHECK_EQ(weft_spawn_blocking_drop(rt, never, NULL, count_drop, &queued[k]), 0);
	CHECK_EQ(weft_runtime_shutdown_timeout(rt, 20 * MS), -ETIMEDOUT);
	/* The queued jobs were cancelled and never ran. */
	for (k = 0; k < 3; k++)
		CHECK_EQ(weft_join(&queued[k]), -ECANCELED);
	CHECK_EQ(atomic_load(&drops), 3);
	/* The running ones were left to finish alone; their joins complete
	 * when they return. */
	CHECK_EQ(weft_join_try(&run[0]), -EAGAIN);
	test_event_set(&g.open);
	for (k = 0; k < 2; k++) {
		CHECK_EQ(weft_join(&run[k]), 0);
		CHECK_EQ(weft_blocking_result(&run[k], &res), 0);
		CHECK(res == (void *)0x5a);
		weft_join_detach(&run[k]);
	}
	for (k = 0; k < 3; k++)
		weft_join_detach(&queued[k]);
	/* The abandoned threads free the pool when they exit. */
	for (i = 0; atomic_load(&ta.live_bytes) != 0; i++) {
		CHECK(i < 60000);
		sleep_ms(1);
	}
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	test_event_finish(&g.open);

	/* Jobs that finish before the deadline: 0, everything joined. */
	rt = pool_runtime(1, 2, 10000 * MS, &alloc);
	CHECK_EQ(weft_spawn_blocking(rt, identity, NULL, &run[0]), 0);
	CHECK_EQ(weft_join(&run[0]), 0);
	CHECK_EQ(weft_runtime_shutdown_timeout(rt, 10000 * MS), 0);
	weft_join_detach(&run[0]);
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
	/* destroy without a pool ever made, and spawn after shutdown began
	 * is covered by the owned-list close (-ESHUTDOWN). */
	rt = pool_runtime(1, 2, 0, &alloc);
	CHECK_EQ(weft_runtime_shutdown_timeout(rt, 0), 0);
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
}

/*
 * The job cache: the allocations of finished jobs serve the next jobs
 * (a second round of as many jobs asks the runtime's allocator for
 * nothing), and go back to the allocator once the pool's threads have
 * exited after their keep-alive, before the runtime is destroyed.
 */
static void test_job_cache(void)
{
	static weft_join_handle h[MANY];
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	/* One thread, kept through both rounds (the keep-alive is far
	 * longer than a round), so the second round starts no thread. */
	weft_runtime *rt = pool_runtime(2, 1, 3000 * MS, &alloc);
	long allocs, live;
	void *res;
	int round, i;

	for (round = 0; round < 2; round++) {
		allocs = atomic_load(&ta.allocs);
		for (i = 0; i < MANY; i++)
			CHECK_EQ(weft_spawn_blocking(rt, identity, (void *)(long)(i + 1), &h[i]), 0);
		for (i = 0; i < MANY; i++) {
			CHECK_EQ(weft_join(&h[i]), 0);
			CHECK_EQ(weft_blocking_result(&h[i], &res), 0);
			CHECK(res == (void *)(long)(i + 1));
			weft_join_detach(&h[i]);
		}
		if (round == 1)
			CHECK_EQ(atomic_load(&ta.allocs) - allocs, 0);
		else
			CHECK(atomic_load(&ta.allocs) - allocs >= MANY);
	}
	/* Once every thread has exited, the cache is empty again: what is
	 * live is what the runtime holds without jobs. */
	live = atomic_load(&ta.live_bytes);
	wait_threads(rt, 0);
	CHECK(live - atomic_load(&ta.live_bytes) >= (long)MANY * (long)sizeof(weft_blocking_future));
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
}

int main(void)
{
	weft__blocking_set_thread_create_hook(counting_create);
	test_grow_and_shrink();
	test_fan_out();
	test_thread_start_failure();
	test_abort_queued();
	test_await(0);
	test_await(2);
	test_shutdown_deadline();
	test_job_cache();
	weft__blocking_set_thread_create_hook(NULL);
	return 0;
}

/* Stress of the blocking pool under many submitters: aborts race starts, threads exit and restart, spinning threads are claimed while they give up, tasks await batches, every job runs or is dropped exactly once. */
#include "test.h"

#include "blocking/blocking.h"

#define SUBMITTERS 4

static _Atomic long ran, dropped, accepted, refused, cancelled_joins, done_joins;

/* Phase three: every other thread start fails (the test hook). */
static _Atomic bool flaky;
static _Atomic unsigned long creates;

static int flaky_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *),
			void *arg)
{
	if (atomic_load(&flaky) && atomic_fetch_add(&creates, 1) % 2 == 0)
		return EAGAIN;
	return pthread_create(thread, attr, start, arg);
}

static void *job(void *arg)
{
	atomic_fetch_add(&ran, 1);
	return arg;
}

static void drop_arg(void *arg)
{
	(void)arg;
	atomic_fetch_add(&dropped, 1);
}

struct submitter {
	weft_runtime *rt;
	long iterations;
	uint64_t rng;
};

static uint32_t next(struct submitter *s)
{
	s->rng = s->rng * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(s->rng >> 33);
}

static void *submit_loop(void *arg)
{
	struct submitter *s = arg;
	weft_join_handle h[8];
	long i;
	int k, n, rc;

	for (i = 0; i < s->iterations; i++) {
		n = 1 + (int)(next(s) % 8);
		for (k = 0; k < n; k++) {
			rc = weft_spawn_blocking_drop(s->rt, job, NULL, drop_arg, &h[k]);
			if (rc == -EAGAIN && atomic_load(&flaky)) {
				/* Refused: nothing ran, nothing was dropped. */
				CHECK(h[k].task == NULL);
				atomic_fetch_add(&refused, 1);
				k--;
				n--;
				continue;
			}
			CHECK_EQ(rc, 0);
			atomic_fetch_add(&accepted, 1);
			if (next(s) % 3 == 0)
				CHECK_EQ(weft_join_abort(&h[k]), 0);
		}
		for (k = 0; k < n; k++) {
			switch (next(s) % 3) {
			case 0: /* detach without waiting */
				weft_join_detach(&h[k]);
				break;
			default:
				rc = weft_join(&h[k]);
				CHECK(rc == 0 || rc == -ECANCELED);
				atomic_fetch_add(rc == 0 ? &done_joins : &cancelled_joins, 1);
				weft_join_detach(&h[k]);
			}
		}
	}
	return NULL;
}

/*
 * A task that spawns batches of jobs and awaits each batch, as the
 * spawn_blocking benchmark does: the awaiting worker spins for the
 * completions (weft__blocking_spin_before_park) while the idle pool
 * threads spin for the next batch, so claims race the ends of spins.
 */
#define TASKS 3
#define BATCH 8

struct batcher {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_runtime *rt;
	weft_join_handle h[BATCH];
	long batches, b;
	int i, err;
	long done;
};

static weft_poll batcher_poll(weft_future *f, weft_cx *cx)
{
	struct batcher *t = (struct batcher *)f;

	WEFT_ASYNC_BEGIN(t);
	for (t->b = 0; t->b < t->batches; t->b++) {
		for (t->i = 0; t->i < BATCH; t->i++) {
			t->err = weft_spawn_blocking_drop(t->rt, job, NULL, drop_arg, &t->h[t->i]);
			CHECK_EQ(t->err, 0);
			atomic_fetch_add(&accepted, 1);
		}
		for (t->i = 0; t->i < BATCH; t->i++) {
			WEFT_AWAIT(t, cx, &t->h[t->i].base);
			CHECK_EQ(t->h[t->i].status, 0);
			t->done++;
			weft_join_detach(&t->h[t->i]);
		}
	}
	WEFT_ASYNC_END(t);
}

static void run_batchers(long batches)
{
	weft_runtime_config cfg = { 0 };
	struct batcher b[TASKS];
	weft_join_handle h[TASKS];
	weft_runtime *rt = NULL;
	int i;

	cfg.workers = 2;
	cfg.max_blocking_threads = 4;
	/* Threads stay: every idle period starts with a spin. */
	cfg.blocking_keep_alive_ns = 10ull * 1000000000ull;
	CHECK_EQ(weft_runtime_create(&cfg, &rt), 0);
	for (i = 0; i < TASKS; i++) {
		memset(&b[i], 0, sizeof(b[i]));
		b[i].base.poll = batcher_poll;
		b[i].rt = rt;
		b[i].batches = batches;
		CHECK_EQ(weft_spawn(rt, &b[i].base, sizeof(b[i]), &h[i]), 0);
	}
	for (i = 0; i < TASKS; i++) {
		struct batcher *out;

		CHECK_EQ(weft_join(&h[i]), 0);
		out = weft_join_output(&h[i]);
		CHECK(out != NULL);
		CHECK_EQ(out->done, batches * BATCH);
		weft_join_detach(&h[i]);
	}
	CHECK(weft__blocking_threads(rt) <= 4);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

static void run_submitters(long iterations, unsigned max_threads)
{
	weft_runtime_config cfg = { 0 };
	struct submitter subs[SUBMITTERS];
	pthread_t threads[SUBMITTERS];
	weft_runtime *rt = NULL;
	int i;

	cfg.workers = 2;
	cfg.max_blocking_threads = max_threads;
	/* A tiny keep-alive makes threads exit and restart all the time;
	 * 50 us is also about as long as a spin, so spins end by the
	 * keep-alive as well as by claims. */
	cfg.blocking_keep_alive_ns = 50000;
	CHECK_EQ(weft_runtime_create(&cfg, &rt), 0);
	for (i = 0; i < SUBMITTERS; i++) {
		subs[i].rt = rt;
		subs[i].iterations = iterations;
		subs[i].rng = 0x1234567u + (uint64_t)i;
		CHECK_EQ(pthread_create(&threads[i], NULL, submit_loop, &subs[i]), 0);
	}
	for (i = 0; i < SUBMITTERS; i++)
		pthread_join(threads[i], NULL);
	CHECK(weft__blocking_threads(rt) <= max_threads);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

int main(void)
{
	long iterations = 3000 * test_scale();

	weft__blocking_set_thread_create_hook(flaky_create);
	run_batchers(1000 * test_scale());
	run_submitters(iterations, 3);
	/* Thread starts that fail race the lock-free submissions, below the
	 * maximum (where a failed start is reported) as well as at it. */
	atomic_store(&flaky, true);
	run_submitters(iterations, 3);
	run_submitters(iterations, 64);
	atomic_store(&flaky, false);
	weft__blocking_set_thread_create_hook(NULL);
	/* Every accepted job either ran or had its argument dropped, once. */
	CHECK_EQ(atomic_load(&ran) + atomic_load(&dropped), atomic_load(&accepted));
	fprintf(stderr, "accepted %ld refused %ld ran %ld dropped %ld\n", atomic_load(&accepted),
		atomic_load(&refused), atomic_load(&ran), atomic_load(&dropped));
	CHECK(atomic_load(&done_joins) <= atomic_load(&ran));
	CHECK(atomic_load(&cancelled_joins) <= atomic_load(&dropped));
	return 0;
}

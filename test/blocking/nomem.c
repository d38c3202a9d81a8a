/* Allocation failure at every allocation of weft_spawn_blocking returns -ENOMEM, runs nothing and leaks nothing. */
#include "test.h"

#include "blocking/blocking.h"

static _Atomic int ran, drops;

static void *job(void *arg)
{
	atomic_fetch_add(&ran, 1);
	return arg;
}

static void count_drop(void *arg)
{
	(void)arg;
	atomic_fetch_add(&drops, 1);
}

/*
 * Fails the k-th allocation after `warm` jobs have run (so the pool exists
 * and has an idle thread, or not), for every k until the spawn succeeds.
 * Returns how many allocation points were failed.
 */
static long fail_each(unsigned workers, int warm, unsigned max)
{
	long k;

	for (k = 1;; k++) {
		struct test_alloc ta;
		weft_allocator alloc = test_allocator(&ta);
		weft_runtime_config cfg = { 0 };
		weft_runtime *rt = NULL;
		weft_join_handle h;
		void *res;
		int i, rc;

		cfg.flavor = workers == 0 ? WEFT_RUNTIME_CURRENT_THREAD : WEFT_RUNTIME_MULTI_THREAD;
		cfg.workers = workers;
		cfg.allocator = &alloc;
		cfg.max_blocking_threads = max;
		/* Every job allocates its task: without the job cache the
		 * failed allocation can be the task's. */
		atomic_store(&weft__blocking_job_cache_off, true);
		CHECK_EQ(weft_runtime_create(&cfg, &rt), 0);
		for (i = 0; i < warm; i++) {
			CHECK_EQ(weft_spawn_blocking(rt, job, NULL, &h), 0);
			CHECK_EQ(weft_join(&h), 0);
			weft_join_detach(&h);
		}
		atomic_store(&ran, 0);
		atomic_store(&drops, 0);
		atomic_store(&ta.fail_at, atomic_load(&ta.count) + k);
		rc = weft_spawn_blocking_drop(rt, job, (void *)9L, count_drop, &h);
		atomic_store(&ta.fail_at, 0);
		if (rc == 0) {
			CHECK_EQ(weft_join(&h), 0);
			CHECK_EQ(weft_blocking_result(&h, &res), 0);
			CHECK(res == (void *)9L);
			weft_join_detach(&h);
		} else {
			CHECK_EQ(rc, -ENOMEM);
			CHECK(h.task == NULL);
			CHECK_EQ(weft_join(&h), -EINVAL);
			CHECK_EQ(atomic_load(&ran), 0);
		}
		/* The caller keeps arg on failure, and a job that ran owns it. */
		CHECK_EQ(atomic_load(&drops), 0);
		CHECK_EQ(weft_runtime_destroy(rt), 0);
		CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
		CHECK_EQ(atomic_load(&ta.live_bytes), 0);
		if (rc == 0)
			return k - 1;
	}
}

int main(void)
{
	/* Fresh pool: the pool, the task, the thread's record. */
	CHECK_EQ(fail_each(1, 0, 0), 3);
	CHECK_EQ(fail_each(0, 0, 0), 3);
	/* The pool exists: the task, and the thread's record when the
	 * previous job's thread has not gone idle yet. */
	CHECK(fail_each(1, 1, 0) >= 1);
	return 0;
}

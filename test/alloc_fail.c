/*
 * Allocation failure at every allocation point of runtime creation and of
 * spawn returns -ENOMEM, leaves the caller's future untouched, and leaks
 * nothing.
 */
#include "test.h"

static void test_create(weft_runtime_flavor flavor, unsigned workers)
{
	long k;

	for (k = 1;; k++) {
		struct test_alloc ta;
		weft_allocator alloc = test_allocator(&ta);
		weft_runtime_config cfg = { .flavor = flavor, .workers = workers, .allocator = &alloc };
		weft_runtime *rt = NULL;
		int rc;

		atomic_store(&ta.fail_at, k);
		rc = weft_runtime_create(&cfg, &rt);
		if (rc == 0) {
			/* Every allocation point before k was exercised. */
			CHECK(k > 1);
			CHECK_EQ(weft_runtime_destroy(rt), 0);
			CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
			return;
		}
		CHECK_EQ(rc, -ENOMEM);
		CHECK(rt == NULL);
		CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
		CHECK_EQ(atomic_load(&ta.live_bytes), 0);
	}
}

static void test_spawn(unsigned workers)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime *rt = test_runtime(workers, &alloc);
	_Atomic int polls = 0, drops = 0;
	struct probe p = probe_make(&polls, &drops, NULL);
	weft_join_handle h;
	long before = atomic_load(&ta.count);

	/* The next allocation (the task) fails. */
	atomic_store(&ta.fail_at, before + 1);
	CHECK_EQ(weft_spawn(rt, &p.base, sizeof p, &h), -ENOMEM);
	CHECK(h.task == NULL);
	CHECK_EQ(weft_join(&h), -EINVAL);
	CHECK_EQ(weft_spawn_fn(rt, NULL, NULL, NULL), -EINVAL);
	CHECK_EQ(atomic_load(&drops), 0); /* the caller still owns the future */
	/* The runtime still works afterwards. */
	atomic_store(&ta.fail_at, 0);
	CHECK_EQ(weft_spawn(rt, &p.base, sizeof p, &h), 0);
	if (workers == 0) {
		CHECK_EQ(weft_block_on(rt, &h.base), 0);
		CHECK_EQ(h.status, 0);
	} else {
		CHECK_EQ(weft_join(&h), 0);
	}
	weft_join_detach(&h);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(atomic_load(&drops), 1);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
}

int main(void)
{
	test_create(WEFT_RUNTIME_CURRENT_THREAD, 0);
	test_create(WEFT_RUNTIME_MULTI_THREAD, 1);
	test_create(WEFT_RUNTIME_MULTI_THREAD, 3);
	test_create(WEFT_RUNTIME_MULTI_THREAD, 70); /* two bitmap words */
	test_spawn(0);
	test_spawn(2);
	return 0;
}

/*
 * Failing the k-th allocation, for every k, along each public constructor
 * and spawning path: weft_spawn, weft_spawn_fn, weft_spawn_fn_ex, the task
 * group (create and spawn), and the channel constructors (their own
 * allocation hook).  Each failure returns -ENOMEM, leaves the caller's
 * future, argument and handle as they were (nothing dropped, handle empty),
 * leaks nothing (the counting allocator gets every byte back; ASan/LSan
 * check the channels), and the runtime keeps working.
 */
#include "test.h"

#include "chan/chan_internal.h"

static _Atomic int arg_drops, fn_runs;

static void *fn(void *arg)
{
	atomic_fetch_add(&fn_runs, 1);
	return arg;
}

static void drop_arg(void *arg)
{
	(void)arg;
	atomic_fetch_add(&arg_drops, 1);
}

enum path { P_SPAWN, P_SPAWN_FN, P_SPAWN_FN_EX, P_GROUP, P_NPATHS };

static const char *path_name[] = { "weft_spawn", "weft_spawn_fn", "weft_spawn_fn_ex",
				   "weft_task_group" };

/*
 * One attempt along `path` with the k-th allocation from now failing.
 * Returns the call's result; on success the work is run to the end.
 */
static int attempt(weft_runtime *rt, unsigned workers, enum path path, struct test_alloc *ta,
		   long k)
{
	_Atomic int polls = 0, drops = 0;
	struct probe p = probe_make(&polls, &drops, NULL);
	weft_task_group *g = NULL;
	weft_join_handle h;
	int rc;

	atomic_store(&ta->fail_at, atomic_load(&ta->count) + k);
	switch (path) {
	case P_SPAWN:
		rc = weft_spawn(rt, &p.base, sizeof p, &h);
		break;
	case P_SPAWN_FN:
		rc = weft_spawn_fn(rt, fn, NULL, &h);
		break;
	case P_SPAWN_FN_EX:
		rc = weft_spawn_fn_ex(rt, fn, NULL, drop_arg, &h);
		break;
	default:
		rc = weft_task_group_create(rt, &g);
		if (rc == 0) {
			rc = weft_task_group_spawn(g, &p.base, sizeof p, NULL);
			if (rc != 0)
				CHECK_EQ(weft_task_group_len(g), 0);
		} else {
			CHECK(g == NULL);
		}
		break;
	}
	atomic_store(&ta->fail_at, 0);
	if (rc != 0) {
		CHECK_EQ(rc, -ENOMEM);
		CHECK_EQ(atomic_load(&drops), 0); /* still the caller's */
		CHECK_EQ(atomic_load(&arg_drops), 0);
		CHECK_EQ(atomic_load(&fn_runs), 0);
		if (path != P_GROUP)
			CHECK(h.task == NULL);
		weft_task_group_destroy(g);
		return rc;
	}
	if (path == P_GROUP) {
		weft_task_group_next next;

		weft_task_group_next_init(&next, g);
		CHECK_EQ(weft_block_on(rt, &next.base), 0);
		CHECK_EQ(next.status, 0);
		weft_future_drop(&next.base);
		weft_task_group_destroy(g);
		CHECK_EQ(atomic_load(&drops), 1);
		return 0;
	}
	if (workers == 0)
		CHECK_EQ(weft_block_on(rt, &h.base), 0);
	else
		CHECK_EQ(weft_join(&h), 0);
	weft_join_detach(&h);
	return 0;
}

static void sweep(unsigned workers, enum path path)
{
	long k;

	for (k = 1;; k++) {
		struct test_alloc ta;
		weft_allocator alloc = test_allocator(&ta);
		weft_runtime *rt = test_runtime(workers, &alloc);
		int rc;

		atomic_store(&arg_drops, 0);
		atomic_store(&fn_runs, 0);
		rc = attempt(rt, workers, path, &ta, k);
		CHECK_EQ(weft_runtime_destroy(rt), 0);
		CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
		CHECK_EQ(atomic_load(&ta.live_bytes), 0);
		if (rc == 0) {
			printf("%s (%u workers): %ld allocation point(s) failed\n", path_name[path],
			       workers, k - 1);
			CHECK(k > 1);
			return;
		}
		CHECK(k < 1000);
	}
}

/* Channel constructors: the k-th channel allocation fails, for every k. */
static int make_chan(int which)
{
	weft_broadcast_tx *btx = NULL;
	weft_watch_tx *wtx = NULL;
	weft_oneshot *os = NULL;
	weft_mpsc_tx *tx = NULL;
	weft_mpsc_rx *rx = NULL;
	int rc;

	switch (which) {
	case 0:
		rc = weft_mpsc_bounded(8, 100, &tx, &rx);
		break;
	case 1:
		rc = weft_mpsc_unbounded(16, &tx, &rx);
		break;
	case 2:
		rc = weft_oneshot_create(8, &os);
		break;
	case 3:
		rc = weft_broadcast_create(8, 64, &btx);
		break;
	default:
		rc = weft_watch_create(8, NULL, &wtx);
		break;
	}
	atomic_store(&weft__chan_fail_alloc_at, 0);
	if (rc != 0) {
		CHECK_EQ(rc, -ENOMEM);
		CHECK(tx == NULL && rx == NULL && os == NULL && btx == NULL && wtx == NULL);
		return rc;
	}
	weft_mpsc_tx_release(tx);
	weft_mpsc_rx_release(rx);
	if (os != NULL) {
		CHECK_EQ(weft_oneshot_tx_close(os), 0);
		CHECK_EQ(weft_oneshot_rx_close(os), 0);
	}
	weft_broadcast_tx_release(btx);
	weft_watch_tx_release(wtx);
	return 0;
}

static void sweep_chan(void)
{
	int which;
	long k;

	for (which = 0; which < 5; which++) {
		for (k = 1;; k++) {
			atomic_store(&weft__chan_fail_alloc_at, k);
			if (make_chan(which) == 0)
				break;
			CHECK(k < 100);
		}
		printf("channel constructor %d: %ld allocation point(s) failed\n", which, k - 1);
		CHECK(k > 1);
	}
}

int main(void)
{
	enum path p;

	for (p = 0; p < P_NPATHS; p++) {
		sweep(0, p);
		sweep(2, p);
	}
	sweep_chan();
	return 0;
}

/* Task groups: completion order, results per task, abort_all, abort on destroy, empty and pending answers, allocation failure. */
#include "comb_test.h"

#define MEMBERS 5

static void next_blocking(weft_runtime *rt, weft_task_group *g, weft_task_group_next *n)
{
	weft_task_group_next_init(n, g);
	CHECK_EQ(weft_block_on(rt, &n->base), 0);
}

static void test_completion_order(unsigned workers)
{
	static const int order[MEMBERS] = { 3, 1, 4, 0, 2 };
	weft_runtime *rt = test_runtime(workers, NULL);
	struct gate gates[MEMBERS];
	uint64_t ids[MEMBERS], id;
	weft_task_group *g;
	weft_task_group_next n;
	weft_join_handle h;
	int i;

	CHECK_EQ(weft_task_group_create(rt, &g), 0);
	for (i = 0; i < MEMBERS; i++) {
		struct gate_wait w;

		gate_init(&gates[i]);
		w = gate_wait_make(&gates[i], NULL, 10 + i);
		CHECK_EQ(weft_task_group_spawn(g, &w.base, sizeof w, &ids[i]), 0);
		CHECK_EQ(ids[i], i + 1);
	}
	CHECK_EQ(weft_task_group_len(g), MEMBERS);
	if (workers == 0) {
		/* Let the members run once so that they wait on their gates. */
		struct counter spin;

		counter_init(&spin, 2, 0);
		CHECK_EQ(weft_block_on(rt, &spin.base), 0);
	}
	CHECK_EQ(weft_task_group_try_next(g, &h, &id), -EAGAIN);
	for (i = 0; i < MEMBERS; i++) {
		struct gate_wait *out;

		gate_open(&gates[order[i]]);
		next_blocking(rt, g, &n);
		CHECK_EQ(n.status, 0);
		CHECK_EQ(n.id, ids[order[i]]);
		CHECK_EQ(n.handle.status, 0);
		out = weft_join_output(&n.handle);
		CHECK(out != NULL);
		CHECK_EQ(out->value, 10 + order[i]);
		weft_future_drop(&n.base);
		CHECK_EQ(weft_task_group_len(g), MEMBERS - 1 - i);
	}
	next_blocking(rt, g, &n);
	CHECK_EQ(n.status, -ENOENT);
	weft_future_drop(&n.base);
	CHECK_EQ(weft_task_group_try_next(g, &h, &id), -ENOENT);
	CHECK(h.task == NULL);
	weft_task_group_destroy(g);
	for (i = 0; i < MEMBERS; i++)
		gate_finish(&gates[i]);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

static void test_abort(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	_Atomic int drops = 0;
	struct gate gate;
	weft_task_group *g;
	weft_task_group_next n;
	int i, cancelled = 0;

	gate_init(&gate);
	/* abort_all: every member comes out cancelled. */
	CHECK_EQ(weft_task_group_create(rt, &g), 0);
	for (i = 0; i < 4; i++) {
		struct gate_wait w = gate_wait_make(&gate, &drops, i);

		CHECK_EQ(weft_task_group_spawn(g, &w.base, sizeof w, NULL), 0);
	}
	CHECK_EQ(weft_task_group_abort_all(g), 0);
	for (i = 0; i < 4; i++) {
		next_blocking(rt, g, &n);
		CHECK_EQ(n.status, 0);
		if (n.handle.status == -ECANCELED)
			cancelled++;
		CHECK(weft_join_output(&n.handle) == NULL);
		weft_future_drop(&n.base);
	}
	CHECK_EQ(cancelled, 4);
	CHECK_EQ(atomic_load(&drops), 4);
	CHECK_EQ(weft_task_group_len(g), 0);

	/* destroy aborts what is left; each future dropped once. */
	atomic_store(&drops, 0);
	for (i = 0; i < 3; i++) {
		struct gate_wait w = gate_wait_make(&gate, &drops, i);

		CHECK_EQ(weft_task_group_spawn(g, &w.base, sizeof w, NULL), 0);
	}
	weft_task_group_destroy(g);
	if (workers == 0) {
		struct counter spin;

		counter_init(&spin, 3, 0);
		CHECK_EQ(weft_block_on(rt, &spin.base), 0);
	}
	wait_for(&drops, 3);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(atomic_load(&drops), 3);
	gate_finish(&gate);

	CHECK_EQ(weft_task_group_create(NULL, &g), -EINVAL);
	CHECK_EQ(weft_task_group_spawn(NULL, NULL, 0, NULL), -EINVAL);
	CHECK_EQ(weft_task_group_abort_all(NULL), -EINVAL);
	CHECK_EQ(weft_task_group_len(NULL), 0);
	weft_task_group_destroy(NULL);
}

static void test_nomem(void)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime *rt = test_runtime(1, &alloc);
	weft_task_group *g = NULL;
	struct counter f;
	weft_task_group_next n;
	long before, k;
	int rc;

	counter_init(&f, 0, 0);
	/* Creating the group: its one allocation. */
	atomic_store(&ta.fail_at, atomic_load(&ta.count) + 1);
	CHECK_EQ(weft_task_group_create(rt, &g), -ENOMEM);
	CHECK(g == NULL);
	atomic_store(&ta.fail_at, 0);
	CHECK_EQ(weft_task_group_create(rt, &g), 0);
	/* Spawning: the entry, then the task. */
	for (k = 1;; k++) {
		before = atomic_load(&ta.count);
		atomic_store(&ta.fail_at, before + k);
		rc = weft_task_group_spawn(g, &f.base, sizeof f, NULL);
		atomic_store(&ta.fail_at, 0);
		if (rc == 0)
			break;
		CHECK_EQ(rc, -ENOMEM);
		CHECK_EQ(weft_task_group_len(g), 0);
	}
	CHECK_EQ(k, 3);
	next_blocking(rt, g, &n);
	CHECK_EQ(n.status, 0);
	CHECK_EQ(((struct counter *)weft_join_output(&n.handle))->value, 100);
	weft_future_drop(&n.base);
	weft_task_group_destroy(g);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
}

/* Many members finishing on the workers while the group is drained, and a
 * group destroyed while its members run (under TSan in the suite). */
static void test_stress(void)
{
	weft_runtime *rt = test_runtime(2, NULL);
	long total = 2000 * test_scale(), i, seen = 0;
	weft_task_group *g;
	weft_task_group_next n;
	static bool taken[1 << 16];
	int round;

	CHECK(total < (1 << 16));
	CHECK_EQ(weft_task_group_create(rt, &g), 0);
	for (i = 0; i < total; i++) {
		struct counter c;

		counter_init(&c, (int)(i % 4), 0);
		CHECK_EQ(weft_task_group_spawn(g, &c.base, sizeof c, NULL), 0);
	}
	while (weft_task_group_len(g) > 0) {
		next_blocking(rt, g, &n);
		CHECK_EQ(n.status, 0);
		CHECK(n.id >= 1 && n.id <= (uint64_t)total && !taken[n.id]);
		taken[n.id] = true;
		seen++;
		weft_future_drop(&n.base);
	}
	CHECK_EQ(seen, total);
	weft_task_group_destroy(g);
	for (round = 0; round < 20; round++) {
		CHECK_EQ(weft_task_group_create(rt, &g), 0);
		for (i = 0; i < 100; i++) {
			struct counter c;

			counter_init(&c, (int)(i % 3), 0);
			CHECK_EQ(weft_task_group_spawn(g, &c.base, sizeof c, NULL), 0);
		}
		weft_task_group_destroy(g);
	}
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

int main(void)
{
	test_stress();
	test_completion_order(0);
	test_completion_order(2);
	test_abort(0);
	test_abort(2);
	test_nomem();
	return 0;
}

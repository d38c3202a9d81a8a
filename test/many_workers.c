/*
 * More workers than one word of the parked bitmap (70 on 2 cores): tasks
 * spawned from outside and inside all run, parked workers are found in
 * both words, and shutdown joins every thread.
 */
#include "test.h"

static _Atomic long ran;

struct fanout {
	weft_future base;
	int depth;
};

static weft_poll fanout_poll(weft_future *f, weft_cx *cx)
{
	struct fanout *fo = (struct fanout *)f;
	int i;

	(void)cx;
	atomic_fetch_add(&ran, 1);
	for (i = 0; fo->depth > 0 && i < 4; i++) {
		struct fanout child = { { fanout_poll, NULL }, fo->depth - 1 };

		CHECK_EQ(weft_spawn(weft_runtime_current(), &child.base, sizeof child, NULL), 0);
	}
	return WEFT_READY;
}

int main(void)
{
	weft_runtime *rt = test_runtime(70, NULL);
	weft_join_handle h[64];
	long expected = 0, per_tree = 1 + 4 + 16 + 64 + 256;
	int round, i;

	CHECK_EQ(weft_runtime_workers(rt), 70);
	for (round = 0; round < 5; round++) {
		for (i = 0; i < 64; i++) {
			struct fanout root = { { fanout_poll, NULL }, 4 };

			CHECK_EQ(weft_spawn(rt, &root.base, sizeof root, &h[i]), 0);
			expected += per_tree;
		}
		for (i = 0; i < 64; i++) {
			CHECK_EQ(weft_join(&h[i]), 0);
			weft_join_detach(&h[i]);
		}
		/* The children are detached: wait for the count with joins of
		 * marker tasks rather than time. */
		while (atomic_load(&ran) < expected) {
			struct fanout marker = { { fanout_poll, NULL }, 0 };

			CHECK_EQ(weft_spawn(rt, &marker.base, sizeof marker, &h[0]), 0);
			CHECK_EQ(weft_join(&h[0]), 0);
			weft_join_detach(&h[0]);
			expected++;
		}
	}
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(atomic_load(&ran), expected);
	return 0;
}

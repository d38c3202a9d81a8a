/* 10^6 tasks spawned and joined on each flavour; every future's drop runs exactly once. */
#include "test.h"

#define BATCH 10000

static _Atomic long drops;
static _Atomic long polls;

struct counted {
	weft_future base;
	long id;
	long out;
};

static weft_poll counted_poll(weft_future *f, weft_cx *cx)
{
	struct counted *c = (struct counted *)f;

	(void)cx;
	atomic_fetch_add_explicit(&polls, 1, memory_order_relaxed);
	c->out = c->id * 3;
	return WEFT_READY;
}

static void counted_drop(weft_future *f)
{
	(void)f;
	atomic_fetch_add_explicit(&drops, 1, memory_order_relaxed);
}

/* Spawns a batch from inside the runtime and awaits every handle. */
struct batch {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_join_handle *h;
	long first, i;
};

static weft_poll batch_poll(weft_future *f, weft_cx *cx)
{
	struct batch *b = (struct batch *)f;

	WEFT_ASYNC_BEGIN(b);
	for (b->i = 0; b->i < BATCH; b->i++) {
		struct counted c = { { counted_poll, counted_drop }, b->first + b->i, 0 };

		CHECK_EQ(weft_spawn(weft_runtime_current(), &c.base, sizeof c, &b->h[b->i]), 0);
	}
	for (b->i = 0; b->i < BATCH; b->i++) {
		WEFT_AWAIT(b, cx, &b->h[b->i].base);
		CHECK_EQ(b->h[b->i].status, 0);
		CHECK_EQ(((struct counted *)weft_join_output(&b->h[b->i]))->out,
			 (b->first + b->i) * 3);
		weft_join_detach(&b->h[b->i]);
	}
	WEFT_ASYNC_END(b);
}

static void run(unsigned workers, long total, bool from_inside)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime *rt = test_runtime(workers, &alloc);
	weft_join_handle *h = calloc(BATCH, sizeof(*h));
	long done, i;

	CHECK(h != NULL);
	atomic_store(&drops, 0);
	atomic_store(&polls, 0);
	for (done = 0; done < total; done += BATCH) {
		if (from_inside || workers == 0) {
			struct batch b = { .base = { batch_poll, NULL }, .h = h, .first = done };

			CHECK_EQ(weft_block_on(rt, &b.base), 0);
			continue;
		}
		for (i = 0; i < BATCH; i++) {
			struct counted c = { { counted_poll, counted_drop }, done + i, 0 };

			CHECK_EQ(weft_spawn(rt, &c.base, sizeof c, &h[i]), 0);
		}
		for (i = 0; i < BATCH; i++) {
			CHECK_EQ(weft_join(&h[i]), 0);
			CHECK_EQ(((struct counted *)weft_join_output(&h[i]))->out, (done + i) * 3);
			weft_join_detach(&h[i]);
		}
	}
	CHECK_EQ(atomic_load(&polls), total);
	CHECK_EQ(atomic_load(&drops), total);
	weft_runtime_destroy(rt);
	CHECK_EQ(atomic_load(&drops), total);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	free(h);
}

int main(void)
{
	long total = 1000000 * test_scale();

	run(0, total, true);
	run(2, total, false);
	run(4, total / 4, true);
	return 0;
}

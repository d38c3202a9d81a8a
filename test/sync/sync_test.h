/*
 * test/sync/sync_test.h - helpers for the sync tests: a counting waker for
 * futures polled by hand, joining spawned tasks on either runtime flavour,
 * and a tiny deterministic random generator.
 */
#ifndef WEFT_TEST_SYNC_H
#define WEFT_TEST_SYNC_H

#include "test.h"

/*
 * A waker that counts wakes and live clones, for futures polled by hand.
 * `refs` counts clones not yet consumed (wake) or dropped: it must be 0
 * once every future that stored it is done, which proves the primitives
 * neither leak nor over-release wakers.
 */
struct count_waker {
	_Atomic long wakes;
	_Atomic long refs;
};

static weft_waker count_waker_clone(void *data);

static inline void count_waker_wake(void *data)
{
	struct count_waker *c = data;

	atomic_fetch_add(&c->wakes, 1);
	atomic_fetch_sub(&c->refs, 1);
}

static inline void count_waker_wake_by_ref(void *data)
{
	atomic_fetch_add(&((struct count_waker *)data)->wakes, 1);
}

static inline void count_waker_drop(void *data)
{
	atomic_fetch_sub(&((struct count_waker *)data)->refs, 1);
}

static const weft_waker_vtable count_waker_vtable = {
	.clone = count_waker_clone,
	.wake = count_waker_wake,
	.wake_by_ref = count_waker_wake_by_ref,
	.drop = count_waker_drop,
};

static weft_waker count_waker_clone(void *data)
{
	weft_waker w = { data, &count_waker_vtable };

	atomic_fetch_add(&((struct count_waker *)data)->refs, 1);
	return w;
}

/* A hand-polling context: one counting waker and a cx around it. */
struct hand {
	struct count_waker cw;
	weft_waker waker;
	weft_cx cx;
};

static inline void hand_init(struct hand *h)
{
	atomic_init(&h->cw.wakes, 0);
	atomic_init(&h->cw.refs, 0);
	h->waker.data = &h->cw;
	h->waker.vtable = &count_waker_vtable;
	weft_cx_init(&h->cx, &h->waker);
}

static inline weft_poll hand_poll(struct hand *h, weft_future *f)
{
	return weft_future_poll(f, &h->cx);
}

static inline long hand_wakes(struct hand *h)
{
	return atomic_load(&h->cw.wakes);
}

static inline long hand_refs(struct hand *h)
{
	return atomic_load(&h->cw.refs);
}

/*
 * Waits for the `n` tasks behind `h`, checks that each finished with
 * status 0, and detaches them.  With `workers` == 0 nothing runs tasks but
 * a block_on, so the caller's block_on drives each one (and only the
 * block_on's result is checked); otherwise weft_join waits for it.
 */
static inline void join_all(weft_runtime *rt, unsigned workers, weft_join_handle *h, int n)
{
	int t;

	for (t = 0; t < n; t++) {
		if (workers == 0)
			CHECK_EQ(weft_block_on(rt, &h[t].base), 0);
		else
			CHECK_EQ(weft_join(&h[t]), 0);
		weft_join_detach(&h[t]);
	}
}

/* Lets the spawned tasks of a runtime with no workers run until they
 * first wait: a block_on of one yield. */
static inline void block_on_yield(weft_runtime *rt)
{
	weft_yield y;

	weft_yield_now(&y);
	CHECK_EQ(weft_block_on(rt, &y.base), 0);
}

/* xorshift64*, deterministic per seed. */
static inline uint64_t test_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

#endif /* WEFT_TEST_SYNC_H */

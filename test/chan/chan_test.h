/*
 * test/chan/chan_test.h - helpers shared by the channel tests: a counting
 * waker for polling futures by hand, and a spawn helper.
 */
#ifndef WEFT_TEST_CHAN_TEST_H
#define WEFT_TEST_CHAN_TEST_H

#include "test.h"

/* A waker that counts wakes and live clones. */
struct count_waker {
	_Atomic long wakes;
	_Atomic long clones;
};

static inline const weft_waker_vtable *count_vtable(void);

static inline weft_waker count_clone(void *data)
{
	struct count_waker *c = data;
	weft_waker w = { data, count_vtable() };

	atomic_fetch_add(&c->clones, 1);
	return w;
}

static inline void count_wake_by_ref(void *data)
{
	struct count_waker *c = data;

	atomic_fetch_add(&c->wakes, 1);
}

static inline void count_drop(void *data)
{
	struct count_waker *c = data;

	atomic_fetch_sub(&c->clones, 1);
}

static inline void count_wake(void *data)
{
	count_wake_by_ref(data);
	count_drop(data);
}

static inline const weft_waker_vtable *count_vtable(void)
{
	static const weft_waker_vtable vt = {
		count_clone, count_wake, count_wake_by_ref, count_drop,
	};

	return &vt;
}

/* A borrowed waker for a weft_cx (no clone is taken for it). */
static inline weft_waker count_waker_ref(struct count_waker *c)
{
	weft_waker w = { c, count_vtable() };

	return w;
}

static inline long count_wakes(struct count_waker *c)
{
	return atomic_load(&c->wakes);
}

/* Polls `f` once with `cx`. */
static inline weft_poll poll_once(weft_future *f, weft_cx *cx)
{
	return weft_future_poll(f, cx);
}

/* Spawns a copy of the future struct at `f` (a compound whose first member
 * is a weft_future), checking success. */
#define SPAWN(rt, f, handle) CHECK_EQ(weft_spawn((rt), &(f)->base, sizeof(*(f)), (handle)), 0)

/* Small deterministic generator for the stress tests. */
static inline uint64_t test_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

#endif /* WEFT_TEST_CHAN_TEST_H */

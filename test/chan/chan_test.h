/*
 * test/chan/chan_test.h - helpers shared by the channel tests: a counting
 * waker for polling futures by hand, a spawn helper, a task that sends a
 * run of values, and the channel of either kind.
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

/* Makes a channel of uint64_t: bounded by `capacity`, or unbounded when
 * `capacity` is 0; checks success. */
static inline void make_mpsc(size_t capacity, weft_mpsc_tx **tx, weft_mpsc_rx **rx)
{
	if (capacity != 0)
		CHECK_EQ(weft_mpsc_bounded(sizeof(uint64_t), capacity, tx, rx), 0);
	else
		CHECK_EQ(weft_mpsc_unbounded(sizeof(uint64_t), tx, rx), 0);
}

/*
 * A task that sends `count` values of uint64_t (the i-th is id << 32 | i)
 * through its own sender reference `tx`, awaiting each send, then releases
 * the reference.  When `refused` is set, a send that fails with -EPIPE
 * (the channel closed) is counted there and ends the run; any other
 * failure fails the test.  `started` and `sent`, when set, count the task's
 * start and each value sent.
 */
struct test_sender {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_tx *tx;
	_Atomic long *started, *sent, *refused;
	uint64_t id, count, i, value;
	bool sending;
	weft_mpsc_send_future sf;
};

static inline weft_poll test_sender_poll(weft_future *f, weft_cx *cx)
{
	struct test_sender *self = (struct test_sender *)f;

	WEFT_ASYNC_BEGIN(self);
	if (self->started != NULL)
		atomic_fetch_add(self->started, 1);
	for (self->i = 0; self->i < self->count; self->i++) {
		self->value = self->id << 32 | self->i;
		weft_mpsc_send(self->tx, &self->value, &self->sf);
		self->sending = true;
		WEFT_AWAIT(self, cx, &self->sf.base);
		self->sending = false;
		weft_future_drop(&self->sf.base);
		if (self->sf.status == -EPIPE && self->refused != NULL) {
			atomic_fetch_add(self->refused, 1);
			break;
		}
		CHECK_EQ(self->sf.status, 0);
		if (self->sent != NULL)
			atomic_fetch_add(self->sent, 1);
	}
	weft_mpsc_tx_release(self->tx);
	self->tx = NULL;
	WEFT_ASYNC_END(self);
}

static inline void test_sender_drop(weft_future *f)
{
	struct test_sender *self = (struct test_sender *)f;

	if (self->sending)
		weft_future_drop(&self->sf.base);
	weft_mpsc_tx_release(self->tx);
}

/* Spawns a copy of `proto` (its counters, id and count) as a test_sender
 * with a clone of `tx`, checking success. */
static inline void spawn_test_sender(weft_runtime *rt, weft_mpsc_tx *tx, struct test_sender proto,
				     weft_join_handle *h)
{
	proto.base.poll = test_sender_poll;
	proto.base.drop = test_sender_drop;
	proto.tx = weft_mpsc_tx_clone(tx);
	SPAWN(rt, &proto, h);
}

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

/*
 * test/combinators/comb_test.h - child futures for the combinator tests: a
 * counter that is ready after a number of yields (with an error result), and
 * a gate that is ready once opened from any thread.
 */
#ifndef WEFT_TEST_COMB_TEST_H
#define WEFT_TEST_COMB_TEST_H

#include "test.h"

#include <time.h>

/* Ready after `yields` pending polls (each wakes the task); `err` is its
 * outcome; polls and drops are counted.  yields < 0: never ready. */
struct counter {
	weft_future base;
	int yields;
	int err;
	int polls;
	int drops;
	int value;
};

static inline weft_poll counter_poll(weft_future *f, weft_cx *cx)
{
	struct counter *c = (struct counter *)f;

	CHECK_EQ(c->drops, 0);
	c->polls++;
	if (c->yields < 0 || c->polls <= c->yields) {
		weft_waker_wake_by_ref(weft_cx_waker(cx));
		return WEFT_PENDING;
	}
	c->value = 100 + c->yields;
	return WEFT_READY;
}

static inline void counter_drop(weft_future *f)
{
	((struct counter *)f)->drops++;
}

static inline int counter_outcome(weft_future *f)
{
	return ((struct counter *)f)->err;
}

static inline void counter_init(struct counter *c, int yields, int err)
{
	memset(c, 0, sizeof(*c));
	c->base.poll = counter_poll;
	c->base.drop = counter_drop;
	c->yields = yields;
	c->err = err;
}

/* A gate: opened once from any thread; futures waiting on it are woken. */
struct gate {
	pthread_mutex_t lock;
	bool open;
	weft_waker waiter;
};

static inline void gate_init(struct gate *g)
{
	pthread_mutex_init(&g->lock, NULL);
	g->open = false;
	g->waiter.data = NULL;
	g->waiter.vtable = NULL;
}

static inline void gate_open(struct gate *g)
{
	weft_waker w;

	pthread_mutex_lock(&g->lock);
	g->open = true;
	w = g->waiter;
	g->waiter.data = NULL;
	g->waiter.vtable = NULL;
	pthread_mutex_unlock(&g->lock);
	weft_waker_wake(&w);
}

/* Drops a waker the gate still holds. */
static inline void gate_finish(struct gate *g)
{
	weft_waker_drop(&g->waiter);
	pthread_mutex_destroy(&g->lock);
}

/* The future that waits for a gate; `drops` counts its drops. */
struct gate_wait {
	weft_future base;
	struct gate *gate;
	_Atomic int *drops;
	long value;
};

static inline weft_poll gate_wait_poll(weft_future *f, weft_cx *cx)
{
	struct gate_wait *w = (struct gate_wait *)f;
	bool open;

	pthread_mutex_lock(&w->gate->lock);
	open = w->gate->open;
	if (!open)
		weft_waker_store(&w->gate->waiter, weft_cx_waker(cx));
	pthread_mutex_unlock(&w->gate->lock);
	return open ? WEFT_READY : WEFT_PENDING;
}

static inline void gate_wait_drop(weft_future *f)
{
	struct gate_wait *w = (struct gate_wait *)f;

	if (w->drops != NULL)
		atomic_fetch_add(w->drops, 1);
}

static inline struct gate_wait gate_wait_make(struct gate *g, _Atomic int *drops, long value)
{
	struct gate_wait w = { { gate_wait_poll, gate_wait_drop }, g, drops, value };

	return w;
}

static inline void comb_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Waits (polling with a generous bound) until *v == want. */
static inline void wait_for(_Atomic int *v, int want)
{
	long i;

	for (i = 0; atomic_load(v) != want; i++) {
		CHECK(i < 60000);
		comb_sleep_ms(1);
	}
}

#endif /* WEFT_TEST_COMB_TEST_H */

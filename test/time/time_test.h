/*
 * test/time/time_test.h - helpers shared by the timer tests.
 */
#ifndef WEFT_TEST_TIME_H
#define WEFT_TEST_TIME_H

#include "test.h"

/* A current-thread runtime with a paused clock (and allocator, or NULL). */
static inline weft_runtime *paused_runtime(const weft_allocator *alloc)
{
	weft_runtime_config cfg = { 0 };
	weft_runtime *rt = NULL;

	cfg.flavor = WEFT_RUNTIME_CURRENT_THREAD;
	cfg.start_paused = true;
	cfg.allocator = alloc;
	CHECK_EQ(weft_runtime_create(&cfg, &rt), 0);
	return rt;
}

/* Polls `f` once by hand with `w`. */
static inline weft_poll poll_with(weft_future *f, const weft_waker *w)
{
	weft_cx cx;

	weft_cx_init(&cx, w);
	return weft_future_poll(f, &cx);
}

/* A waker counting its wakes (clones and drops are free: the struct
 * outlives every clone). */
struct count_waker {
	_Atomic long wakes;
};

static inline weft_waker cw_clone(void *d);
static inline void cw_wake(void *d)
{
	atomic_fetch_add(&((struct count_waker *)d)->wakes, 1);
}
static inline void cw_drop(void *d)
{
	(void)d;
}
static const weft_waker_vtable cw_vtable = { cw_clone, cw_wake, cw_wake, cw_drop };
static inline weft_waker cw_clone(void *d)
{
	weft_waker w = { d, &cw_vtable };
	return w;
}
static inline weft_waker count_waker(struct count_waker *c)
{
	return cw_clone(c);
}

/* A future that awaits one sleep of `ns` and records the clock at the
 * start and at the end. */
struct sleep_once {
	weft_future base;
	weft_sleep_future sleep;
	uint64_t ns, start, deadline, end;
	int result;
	bool started;
};

static inline weft_poll sleep_once_poll(weft_future *f, weft_cx *cx)
{
	struct sleep_once *s = (struct sleep_once *)f;
	weft_runtime *rt = weft_runtime_current();

	if (!s->started) {
		s->started = true;
		s->start = weft_now(rt);
		weft_sleep(&s->sleep, NULL, s->ns);
	}
	if (weft_future_poll(&s->sleep.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	s->end = weft_now(rt);
	s->deadline = weft_sleep_deadline(&s->sleep);
	s->result = s->sleep.result;
	weft_future_drop(&s->sleep.base);
	return WEFT_READY;
}

static inline struct sleep_once sleep_once_make(uint64_t ns)
{
	struct sleep_once s;

	memset(&s, 0, sizeof(s));
	s.base.poll = sleep_once_poll;
	s.ns = ns;
	return s;
}

#endif /* WEFT_TEST_TIME_H */

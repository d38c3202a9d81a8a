/*
 * src/driver/time_future.c - the public timer futures: sleep, interval
 * ticks and timeout, on top of the timer entries of time.c.
 */
#include <errno.h>

#include "time.h"
#include "../sched/runtime.h"

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

uint64_t weft_now(weft_runtime *rt)
{
	return rt != NULL ? weft__time_now(weft__runtime_time(rt)) : 0;
}

int weft_time_advance(weft_runtime *rt, uint64_t duration_ns)
{
	if (rt == NULL)
		return -EINVAL;
	return weft__time_advance(weft__runtime_time(rt), duration_ns);
}

/* ---- sleep ----------------------------------------------------------------- */

static weft_poll sleep_poll(weft_future *f, weft_cx *cx)
{
	weft_sleep_future *s = (weft_sleep_future *)f;

	return weft__timer_poll(&s->timer, cx, &s->result);
}

static void sleep_drop(weft_future *f)
{
	weft__timer_cancel(&((weft_sleep_future *)f)->timer);
}

static void sleep_init(weft_sleep_future *f, weft_runtime *rt, bool relative, uint64_t v)
{
	if (f == NULL)
		return;
	f->base.poll = sleep_poll;
	f->base.drop = sleep_drop;
	f->result = 0;
	weft__timer_init(&f->timer, rt, relative, v);
}

void weft_sleep(weft_sleep_future *f, weft_runtime *rt, uint64_t duration_ns)
{
	sleep_init(f, rt, true, duration_ns);
}

void weft_sleep_until(weft_sleep_future *f, weft_runtime *rt, uint64_t deadline_ns)
{
	sleep_init(f, rt, false, deadline_ns);
}

uint64_t weft_sleep_deadline(const weft_sleep_future *f)
{
	if (f == NULL || f->timer.relative)
		return UINT64_MAX;
	return f->timer.deadline;
}

/* ---- interval -------------------------------------------------------------- */

int weft_interval_init(weft_interval *iv, weft_runtime *rt, uint64_t start_ns,
		       uint64_t period_ns)
{
	if (iv == NULL || period_ns == 0)
		return -EINVAL;
	if (rt == NULL)
		rt = weft_runtime_current();
	if (rt == NULL)
		return -EINVAL;
	weft_sleep_until(&iv->next, rt, start_ns);
	iv->period = period_ns;
	iv->missed = WEFT_MISSED_TICK_BURST;
	return 0;
}

void weft_interval_set_missed_tick(weft_interval *iv, weft_missed_tick missed)
{
	if (iv != NULL && (missed == WEFT_MISSED_TICK_BURST || missed == WEFT_MISSED_TICK_DELAY ||
			   missed == WEFT_MISSED_TICK_SKIP))
		iv->missed = missed;
}

void weft_interval_finish(weft_interval *iv)
{
	if (iv != NULL)
		weft__timer_cancel(&iv->next.timer);
}

/* Tokio's rule: a tick polled more than 5 ms late was missed, and the
 * behaviour picks the next one; otherwise it is one period later. */
static uint64_t next_tick(const weft_interval *iv, uint64_t due, uint64_t now)
{
	if (now <= sat_add(due, 5 * WEFT_MS))
		return sat_add(due, iv->period);
	switch (iv->missed) {
	case WEFT_MISSED_TICK_DELAY:
		return sat_add(now, iv->period);
	case WEFT_MISSED_TICK_SKIP:
		return sat_add(now, iv->period - (now - due) % iv->period);
	case WEFT_MISSED_TICK_BURST:
	default:
		return sat_add(due, iv->period);
	}
}

static weft_poll tick_poll(weft_future *f, weft_cx *cx)
{
	weft_interval_tick_future *t = (weft_interval_tick_future *)f;
	weft_interval *iv = t->iv;
	uint64_t due;
	int res;

	if (iv == NULL)
		return WEFT_READY; /* made with NULL, or already ticked */
	if (weft__timer_poll(&iv->next.timer, cx, &res) == WEFT_PENDING)
		return WEFT_PENDING;
	t->result = res;
	if (res != 0)
		return WEFT_READY;
	due = iv->next.timer.deadline;
	t->instant = due;
	weft__timer_reset(&iv->next.timer, next_tick(iv, due, weft_now(iv->next.timer.rt)));
	/* Consumed: polling it again (a bug) takes no second tick. */
	t->iv = NULL;
	return WEFT_READY;
}

void weft_interval_tick(weft_interval *iv, weft_interval_tick_future *f)
{
	if (f == NULL)
		return;
	f->base.poll = tick_poll;
	f->base.drop = NULL;
	f->result = iv != NULL ? 0 : -EINVAL;
	f->instant = 0;
	f->iv = iv;
}

/* ---- timeout ----------------------------------------------------------------- */

static void drop_inner(weft_timeout_future *t)
{
	if (!t->inner_dropped) {
		t->inner_dropped = true;
		weft_future_drop(t->inner);
	}
}

static weft_poll timeout_poll(weft_future *f, weft_cx *cx)
{
	weft_timeout_future *t = (weft_timeout_future *)f;
	bool had_budget = !weft_coop_exhausted(cx);
	weft_poll p;
	int res;

	if (t->done)
		return WEFT_READY;
	if (weft_future_poll(t->inner, cx) == WEFT_READY) {
		t->result = 0;
		t->done = true;
		weft__timer_cancel(&t->sleep.timer);
		return WEFT_READY;
	}
	if (had_budget && weft_coop_exhausted(cx)) {
		/* The inner future spent the budget: check the deadline anyway
		 * (the task was already woken to yield), or a future that is
		 * always busy would never time out. */
		weft_cx unconstrained = *cx;

		unconstrained.budget = WEFT_COOP_UNCONSTRAINED;
		p = weft__timer_poll(&t->sleep.timer, &unconstrained, &res);
	} else {
		p = weft__timer_poll(&t->sleep.timer, cx, &res);
	}
	if (p == WEFT_PENDING)
		return WEFT_PENDING;
	t->result = res == 0 ? -ETIMEDOUT : res;
	t->done = true;
	drop_inner(t);
	weft__timer_cancel(&t->sleep.timer);
	return WEFT_READY;
}

static void timeout_drop(weft_future *f)
{
	weft_timeout_future *t = (weft_timeout_future *)f;

	weft__timer_cancel(&t->sleep.timer);
	drop_inner(t);
}

void weft_timeout(weft_timeout_future *f, weft_future *inner, weft_runtime *rt,
		  uint64_t duration_ns)
{
	if (f == NULL)
		return;
	f->base.poll = timeout_poll;
	f->base.drop = timeout_drop;
	f->result = 0;
	f->inner = inner;
	f->done = false;
	f->inner_dropped = false;
	weft_sleep(&f->sleep, rt, duration_ns);
	if (inner == NULL || inner->poll == NULL) {
		f->result = -EINVAL;
		f->done = true;
		f->inner_dropped = true;
	}
}

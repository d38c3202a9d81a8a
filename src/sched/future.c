/*
 * src/sched/future.c - ready-made futures and the no-op waker.
 */
#include "weft/future.h"

static weft_waker noop_clone(void *data);
static void noop_nothing(void *data)
{
	(void)data;
}

static const weft_waker_vtable noop_vtable = {
	.clone = noop_clone,
	.wake = noop_nothing,
	.wake_by_ref = noop_nothing,
	.drop = noop_nothing,
};

static weft_waker noop_clone(void *data)
{
	weft_waker w = { data, &noop_vtable };

	return w;
}

weft_waker weft_waker_noop(void)
{
	return noop_clone(NULL);
}

weft_poll weft_future_done_poll(weft_future *f, weft_cx *cx)
{
	(void)f;
	(void)cx;
	return WEFT_READY;
}

void weft_ready_init(weft_ready *f, void *value)
{
	f->base.poll = weft_future_done_poll;
	f->base.drop = NULL;
	f->value = value;
}

static weft_poll pending_poll(weft_future *f, weft_cx *cx)
{
	(void)f;
	(void)cx;
	return WEFT_PENDING;
}

void weft_pending_init(weft_pending *f)
{
	f->base.poll = pending_poll;
	f->base.drop = NULL;
}

static weft_poll yield_poll(weft_future *f, weft_cx *cx)
{
	weft_yield *self = (weft_yield *)f;

	if (self->yielded)
		return WEFT_READY;
	self->yielded = true;
	/* A wake while running makes the scheduler put the task at the back
	 * of its queue after this poll, never in the LIFO slot. */
	weft_waker_wake_by_ref(weft_cx_waker(cx));
	return WEFT_PENDING;
}

void weft_yield_now(weft_yield *f)
{
	f->base.poll = yield_poll;
	f->base.drop = NULL;
	f->yielded = false;
}

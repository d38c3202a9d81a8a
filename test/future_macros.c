/* Futures written with the await macros, polled by hand, and the ready-made futures. */
#include "test.h"

/* A counting waker: counts wakes, clones and drops. */
struct counting_waker {
	int wakes, clones, drops;
};

static weft_waker cw_clone(void *data);
static void cw_wake_by_ref(void *data)
{
	((struct counting_waker *)data)->wakes++;
}
static void cw_drop(void *data)
{
	((struct counting_waker *)data)->drops++;
}
static void cw_wake(void *data)
{
	cw_wake_by_ref(data);
	cw_drop(data);
}
static const weft_waker_vtable cw_vtable = { cw_clone, cw_wake, cw_wake_by_ref, cw_drop };
static weft_waker cw_clone(void *data)
{
	weft_waker w = { data, &cw_vtable };

	((struct counting_waker *)data)->clones++;
	return w;
}

/* A latch: pending until opened; keeps a clone of the last waker. */
struct latch {
	weft_future base;
	bool open;
	weft_waker waker;
	int polls;
};

static weft_poll latch_poll(weft_future *f, weft_cx *cx)
{
	struct latch *l = (struct latch *)f;

	l->polls++;
	if (l->open)
		return WEFT_READY;
	weft_waker_store(&l->waker, weft_cx_waker(cx));
	return WEFT_PENDING;
}

static void latch_drop(weft_future *f)
{
	weft_waker_drop(&((struct latch *)f)->waker);
}

static void latch_init(struct latch *l)
{
	memset(l, 0, sizeof(*l));
	l->base.poll = latch_poll;
	l->base.drop = latch_drop;
}

static void latch_open(struct latch *l)
{
	l->open = true;
	weft_waker_wake(&l->waker);
}

/* Three awaits in straight-line code; the result is a field. */
struct three {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct latch a, b, c;
	int steps;
	int result;
};

static weft_poll three_poll(weft_future *f, weft_cx *cx)
{
	struct three *self = (struct three *)f;

	WEFT_ASYNC_BEGIN(self);
	latch_init(&self->a);
	latch_init(&self->b);
	latch_init(&self->c);
	self->steps = 1;
	WEFT_AWAIT(self, cx, &self->a.base);
	self->steps = 2;
	WEFT_AWAIT(self, cx, &self->b.base);
	self->steps = 3;
	WEFT_YIELD(self, cx);
	self->steps = 4;
	WEFT_AWAIT(self, cx, &self->c.base);
	self->result = 42;
	WEFT_ASYNC_END(self);
}

static void three_drop(weft_future *f)
{
	struct three *self = (struct three *)f;

	if (self->steps == 0)
		return; /* never polled: children never initialised */
	latch_drop(&self->a.base);
	latch_drop(&self->b.base);
	latch_drop(&self->c.base);
}

static void test_three_awaits(void)
{
	struct counting_waker cw = { 0 };
	weft_waker w = { &cw, &cw_vtable };
	struct three t = { .base = { three_poll, three_drop } };
	weft_cx cx;

	weft_cx_init(&cx, &w);
	CHECK_EQ(weft_future_poll(&t.base, &cx), WEFT_PENDING);
	CHECK_EQ(t.steps, 1);
	CHECK_EQ(cw.clones, 1);
	/* A spurious poll does not advance and does not clone again. */
	CHECK_EQ(weft_future_poll(&t.base, &cx), WEFT_PENDING);
	CHECK_EQ(t.steps, 1);
	CHECK_EQ(cw.clones, 1);
	latch_open(&t.a);
	CHECK_EQ(cw.wakes, 1);
	CHECK_EQ(cw.drops, 1);
	CHECK_EQ(weft_future_poll(&t.base, &cx), WEFT_PENDING);
	CHECK_EQ(t.steps, 2);
	latch_open(&t.b);
	/* The yield wakes by reference and suspends once. */
	CHECK_EQ(weft_future_poll(&t.base, &cx), WEFT_PENDING);
	CHECK_EQ(t.steps, 3);
	CHECK_EQ(cw.wakes, 3);
	CHECK_EQ(weft_future_poll(&t.base, &cx), WEFT_PENDING);
	CHECK_EQ(t.steps, 4);
	latch_open(&t.c);
	CHECK_EQ(weft_future_poll(&t.base, &cx), WEFT_READY);
	CHECK_EQ(t.result, 42);
	/* Polling a finished macro future stays ready. */
	CHECK_EQ(weft_future_poll(&t.base, &cx), WEFT_READY);
	weft_future_drop(&t.base);
	CHECK_EQ(cw.clones, cw.drops);
}

static void test_drop_mid_await(void)
{
	struct counting_waker cw = { 0 };
	weft_waker w = { &cw, &cw_vtable };
	struct three t = { .base = { three_poll, three_drop } };
	struct three never = { .base = { three_poll, three_drop } };
	weft_cx cx;

	weft_cx_init(&cx, &w);
	CHECK_EQ(weft_future_poll(&t.base, &cx), WEFT_PENDING);
	latch_open(&t.a);
	CHECK_EQ(weft_future_poll(&t.base, &cx), WEFT_PENDING);
	weft_future_drop(&t.base);
	CHECK_EQ(cw.clones, cw.drops);
	weft_future_drop(&never.base); /* never polled */
}

static void test_ready_made(void)
{
	struct counting_waker cw = { 0 };
	weft_waker w = { &cw, &cw_vtable };
	weft_cx cx;
	weft_ready r;
	weft_pending p;
	weft_yield y;
	int value = 7;

	weft_cx_init(&cx, &w);
	weft_ready_init(&r, &value);
	CHECK_EQ(weft_future_poll(&r.base, &cx), WEFT_READY);
	CHECK(r.value == &value);
	weft_pending_init(&p);
	CHECK_EQ(weft_future_poll(&p.base, &cx), WEFT_PENDING);
	CHECK_EQ(weft_future_poll(&p.base, &cx), WEFT_PENDING);
	CHECK_EQ(cw.wakes, 0);
	weft_yield_now(&y);
	CHECK_EQ(weft_future_poll(&y.base, &cx), WEFT_PENDING);
	CHECK_EQ(cw.wakes, 1);
	CHECK_EQ(weft_future_poll(&y.base, &cx), WEFT_READY);
	CHECK_EQ(cw.clones, 0);
}

static void test_waker_helpers(void)
{
	struct counting_waker a = { 0 }, b = { 0 };
	weft_waker wa = { &a, &cw_vtable }, wb = { &b, &cw_vtable };
	weft_waker slot = { NULL, NULL };
	weft_waker noop = weft_waker_noop();
	weft_waker c;

	CHECK(weft_waker_is_empty(&slot));
	weft_waker_wake_by_ref(&slot); /* empty: nothing happens */
	weft_waker_store(&slot, &wa);
	CHECK_EQ(a.clones, 1);
	weft_waker_store(&slot, &wa); /* same target: no clone */
	CHECK_EQ(a.clones, 1);
	weft_waker_store(&slot, &wb); /* replaces: drops a, clones b */
	CHECK_EQ(a.drops, 1);
	CHECK_EQ(b.clones, 1);
	CHECK(weft_waker_will_wake(&slot, &wb));
	CHECK(!weft_waker_will_wake(&slot, &wa));
	weft_waker_wake(&slot);
	CHECK(weft_waker_is_empty(&slot));
	CHECK_EQ(b.wakes, 1);
	CHECK_EQ(b.drops, 1);
	c = weft_waker_clone(&noop);
	weft_waker_wake_by_ref(&c);
	weft_waker_wake(&c);
	weft_waker_drop(&noop);
	CHECK_EQ(sizeof(weft_waker), 16);
}

static void test_coop_budget(void)
{
	struct counting_waker cw = { 0 };
	weft_waker w = { &cw, &cw_vtable };
	weft_cx cx;
	unsigned i;

	weft_cx_init(&cx, &w);
	for (i = 0; i < 1000; i++)
		CHECK(weft_coop_proceed(&cx)); /* unconstrained */
	cx.budget = WEFT_COOP_BUDGET;
	for (i = 0; i < WEFT_COOP_BUDGET; i++)
		CHECK(weft_coop_proceed(&cx));
	CHECK(weft_coop_exhausted(&cx));
	CHECK(!weft_coop_proceed(&cx));
	CHECK_EQ(cw.wakes, 1); /* a spent budget wakes the task */
	weft_coop_refund(&cx);
	CHECK(weft_coop_proceed(&cx));
}

int main(void)
{
	test_three_awaits();
	test_drop_mid_await();
	test_ready_made();
	test_waker_helpers();
	test_coop_budget();
	return 0;
}

/*
 * examples/tutorial/01_by_hand.c - a future written by hand (docs/tutorial.md,
 * chapter 1): a struct whose first member is a weft_future, a poll function
 * that returns WEFT_PENDING after arranging a wake, and two ways to drive
 * it: by hand with a waker of our own, and with weft_block_on.
 */
#include <stdio.h>
#include <weft.h>

/* Ready after `left` more polls; its result is the number of polls. */
struct countdown {
	weft_future base;
	int left;
	int polls; /* the result */
};

static weft_poll countdown_poll(weft_future *f, weft_cx *cx)
{
	struct countdown *c = (struct countdown *)f;

	c->polls++;
	if (c->left == 0)
		return WEFT_READY;
	c->left--;
	/* Not ready: arrange to be polled again.  Here the future wakes
	 * itself at once; a real one hands a clone of the waker to whatever
	 * it waits for. */
	weft_waker_wake_by_ref(weft_cx_waker(cx));
	return WEFT_PENDING;
}

/* A waker that counts its wakes (data points at the counter). */
static weft_waker counter_clone(void *data);
static void counter_wake_by_ref(void *data) { ++*(int *)data; }
static void counter_wake(void *data) { counter_wake_by_ref(data); }
static void counter_drop(void *data) { (void)data; }
static const weft_waker_vtable counter_vtable = {
	counter_clone, counter_wake, counter_wake_by_ref, counter_drop,
};
static weft_waker counter_clone(void *data)
{
	weft_waker w = { data, &counter_vtable };
	return w;
}

int main(void)
{
	struct countdown c = { { countdown_poll, NULL }, 3, 0 };
	int wakes = 0;
	weft_waker w = { &wakes, &counter_vtable };
	weft_cx cx;
	weft_runtime_config cfg = { .flavor = WEFT_RUNTIME_CURRENT_THREAD };
	weft_runtime *rt;

	/* 1. By hand: poll, and poll again only after a wake. */
	weft_cx_init(&cx, &w);
	while (weft_future_poll(&c.base, &cx) == WEFT_PENDING)
		printf("pending (wakes so far: %d)\n", wakes);
	printf("ready after %d polls\n", c.polls);

	/* 2. On a runtime: block_on polls it on this thread until ready.  The
	 * result stays in our struct. */
	c.left = 5;
	c.polls = 0;
	if (weft_runtime_create(&cfg, &rt) < 0)
		return 1;
	if (weft_block_on(rt, &c.base) < 0)
		return 1;
	printf("block_on: ready after %d polls\n", c.polls);
	weft_future_drop(&c.base); /* drop is NULL here: nothing to release */
	weft_runtime_destroy(rt);
	return 0;
}

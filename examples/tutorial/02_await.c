/*
 * examples/tutorial/02_await.c - the await macros (docs/tutorial.md,
 * chapter 2): a loop with an await inside, an early exit, and the rule
 * that only the struct survives an await.
 */
#include <stdio.h>
#include <weft.h>

/* The child: pending `left` times, then ready. */
struct countdown {
	weft_future base;
	int left;
};

static weft_poll countdown_poll(weft_future *f, weft_cx *cx)
{
	struct countdown *c = (struct countdown *)f;

	if (c->left-- == 0)
		return WEFT_READY;
	weft_waker_wake_by_ref(weft_cx_waker(cx));
	return WEFT_PENDING;
}

/* Awaits a countdown per item and stops early at the first negative one. */
struct summer {
	weft_future base;
	WEFT_ASYNC_STATE;       /* the resume point: 0 before the first poll */
	const int *items;       /* inputs */
	int n;
	int i;                  /* the loop counter lives in the struct */
	struct countdown child; /* so does the child being awaited */
	int sum;                /* the result */
	int awaits;
};

static weft_poll summer_poll(weft_future *f, weft_cx *cx)
{
	struct summer *self = (struct summer *)f;
	int polls_here = 0; /* a local: starts again at 0 after every await */

	WEFT_ASYNC_BEGIN(self);
	for (self->i = 0; self->i < self->n; self->i++) {
		if (self->items[self->i] < 0)
			goto out; /* early exit: a label right before END */
		self->child.base.poll = countdown_poll;
		self->child.base.drop = NULL;
		self->child.left = self->items[self->i];
		WEFT_AWAIT(self, cx, &self->child.base);
		self->awaits++;
		self->sum += self->items[self->i];
		polls_here++; /* counts only since this poll began */
	}
out:
	printf("last poll saw %d item(s) complete; local counters restart\n", polls_here);
	WEFT_ASYNC_END(self);
}

static void run(const int *items, int n)
{
	weft_runtime_config cfg = { .flavor = WEFT_RUNTIME_CURRENT_THREAD };
	struct summer s = { .base = { summer_poll, NULL }, .items = items, .n = n };
	weft_runtime *rt;

	if (weft_runtime_create(&cfg, &rt) < 0 || weft_block_on(rt, &s.base) < 0)
		return;
	printf("sum %d after %d awaits\n", s.sum, s.awaits);
	weft_runtime_destroy(rt);
}

int main(void)
{
	static const int all[] = { 1, 2, 3, 4 };
	static const int stop[] = { 5, 0, -1, 7 };

	run(all, 4);
	run(stop, 4);
	return 0;
}

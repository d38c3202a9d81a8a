/*
 * examples/tutorial/03_children.c - a future with children, and its drop
 * (docs/tutorial.md, chapter 3).  The parent embeds two children by value
 * and runs them one after the other; a `live` field says which child holds
 * resources right now, so that the parent's drop releases exactly that one,
 * exactly once, whenever it runs: never polled, stopped at an await, or
 * finished.
 */
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>

static int allocs, frees;

/* A child that owns a buffer while it runs: pending `left` times. */
struct job {
	weft_future base;
	char *buffer; /* owned: released by the drop */
	int left;
};

static weft_poll job_poll(weft_future *f, weft_cx *cx)
{
	struct job *j = (struct job *)f;

	if (j->left-- == 0)
		return WEFT_READY;
	weft_waker_wake_by_ref(weft_cx_waker(cx));
	return WEFT_PENDING;
}

static void job_drop(weft_future *f)
{
	struct job *j = (struct job *)f;

	free(j->buffer);
	frees++;
}

/* Returns 0, or -ENOMEM; on failure there is nothing to drop. */
static int job_init(struct job *j, int left)
{
	j->base.poll = job_poll;
	j->base.drop = job_drop;
	j->left = left;
	j->buffer = malloc(64);
	if (j->buffer == NULL)
		return -1;
	allocs++;
	return 0;
}

enum { LIVE_NONE, LIVE_FIRST, LIVE_SECOND };

struct parent {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct job first, second;
	int live;   /* which child must be dropped */
	int status; /* the result: 0, or -1 when a child could not start */
};

static weft_poll parent_poll(weft_future *f, weft_cx *cx)
{
	struct parent *self = (struct parent *)f;

	WEFT_ASYNC_BEGIN(self);
	if (job_init(&self->first, 2) < 0)
		goto fail;
	self->live = LIVE_FIRST;
	WEFT_AWAIT(self, cx, &self->first.base);
	/* Done with the first child: drop it now, not at the end. */
	self->live = LIVE_NONE;
	weft_future_drop(&self->first.base);

	if (job_init(&self->second, 1) < 0)
		goto fail;
	self->live = LIVE_SECOND;
	WEFT_AWAIT(self, cx, &self->second.base);
	self->live = LIVE_NONE;
	weft_future_drop(&self->second.base);
	self->status = 0;
	goto out;
fail:
	self->status = -1;
out:
	WEFT_ASYNC_END(self);
}

static void parent_drop(weft_future *f)
{
	struct parent *self = (struct parent *)f;

	if (self->live == LIVE_FIRST)
		weft_future_drop(&self->first.base);
	else if (self->live == LIVE_SECOND)
		weft_future_drop(&self->second.base);
	self->live = LIVE_NONE;
}

static void parent_init(struct parent *p)
{
	*p = (struct parent){ .base = { parent_poll, parent_drop } };
}

/* Polls `p` `n` times by hand (or until ready), then drops it. */
static void poll_then_drop(struct parent *p, int n, const char *what)
{
	weft_waker w = weft_waker_noop();
	weft_cx cx;
	int i;

	weft_cx_init(&cx, &w);
	for (i = 0; i < n; i++)
		if (weft_future_poll(&p->base, &cx) == WEFT_READY)
			break;
	weft_future_drop(&p->base);
	printf("%-22s allocations %d, frees %d\n", what, allocs, frees);
}

int main(void)
{
	struct parent p;

	parent_init(&p);
	poll_then_drop(&p, 0, "never polled:");
	parent_init(&p);
	poll_then_drop(&p, 1, "stopped in the first:");
	parent_init(&p);
	poll_then_drop(&p, 3, "stopped in the second:");
	parent_init(&p);
	poll_then_drop(&p, 100, "finished:");
	return allocs == frees ? 0 : 1;
}

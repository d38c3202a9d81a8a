/*
 * src/combinators/combinators.c - join_all, try_join_all, race,
 * select-and-keep and all_settled over a caller-owned array of branches,
 * and polling a future by hand with a limit.
 *
 * One poll function serves every kind.  Each poll walks the array in order
 * and polls every branch still pending with the combinator's own context, so
 * every child stores the same task's waker and any child's wake brings the
 * whole combinator back; a finished branch is marked READY and never polled
 * again.  What differs per kind is only what one finished child means:
 * nothing yet (join_all, all_settled), the end when it failed
 * (try_join_all), or the end at once (race, select_keep).
 *
 * A branch's state moves PENDING -> READY -> DROPPED, or PENDING -> DROPPED
 * when it is cancelled; drop runs only on the move to DROPPED, which is what
 * makes "each child's drop runs exactly once" hold however the combinator,
 * and weft_branches_drop, are called.
 */
#include "weft/combinators.h"

#include <errno.h>

static int branch_outcome(weft_branch *b)
{
	if (b->is_handle)
		return ((weft_join_handle *)b->future)->status;
	return b->outcome != NULL ? b->outcome(b->future) : 0;
}

/* Drops the branch's child if it was not dropped yet; a pending child is
 * cancelled (its task aborted, for a join handle). */
static void branch_drop(weft_branch *b)
{
	if (b->state == WEFT_BRANCH_DROPPED)
		return;
	if (b->state == WEFT_BRANCH_PENDING) {
		b->status = -ECANCELED;
		if (b->is_handle)
			(void)weft_join_abort((weft_join_handle *)b->future);
	}
	b->state = WEFT_BRANCH_DROPPED;
	weft_future_drop(b->future);
}

void weft_branches_init(weft_branch *branches, weft_future *const *futures, size_t n,
			weft_outcome_fn outcome)
{
	size_t i;

	for (i = 0; i < n; i++) {
		branches[i].future = futures[i];
		branches[i].outcome = outcome;
		branches[i].status = 0;
		branches[i].state = WEFT_BRANCH_PENDING;
		branches[i].is_handle = 0;
	}
}

void weft_branches_init_handles(weft_branch *branches, weft_join_handle *handles, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		branches[i].future = &handles[i].base;
		branches[i].outcome = NULL;
		branches[i].status = 0;
		branches[i].state = WEFT_BRANCH_PENDING;
		branches[i].is_handle = 1;
	}
}

void weft_branches_drop(weft_branch *branches, size_t n)
{
	size_t i;

	if (branches == NULL)
		return;
	for (i = 0; i < n; i++)
		branch_drop(&branches[i]);
}

/* Cancels every pending branch but `keep`. */
static void cancel_pending(weft_combinator *c, size_t keep)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (i != keep && c->branches[i].state == WEFT_BRANCH_PENDING)
			branch_drop(&c->branches[i]);
}

/* Records that branch i finished; returns true when that ends `c`. */
static bool branch_finished(weft_combinator *c, size_t i)
{
	weft_branch *b = &c->branches[i];

	b->state = WEFT_BRANCH_READY;
	b->status = branch_outcome(b);
	c->remaining--;
	if (b->status < 0)
		c->failed++;
	switch (c->kind) {
	case WEFT_RACE:
		cancel_pending(c, i);
		/* fall through */
	case WEFT_SELECT_KEEP:
		c->index = i;
		c->status = b->status;
		return true;
	case WEFT_TRY_JOIN_ALL:
		if (b->status >= 0)
			return false;
		cancel_pending(c, i);
		c->index = i;
		c->status = b->status;
		return true;
	default:
		return false;
	}
}

static weft_poll combinator_poll(weft_future *f, weft_cx *cx)
{
	weft_combinator *c = (weft_combinator *)f;
	size_t i;

	if (c->done)
		return WEFT_READY;
	if (c->remaining == 0 && (c->kind == WEFT_RACE || c->kind == WEFT_SELECT_KEEP))
		c->status = -EINVAL;
	for (i = 0; i < c->n && c->remaining > 0; i++) {
		weft_branch *b = &c->branches[i];

		if (b->state != WEFT_BRANCH_PENDING)
			continue;
		if (weft_future_poll(b->future, cx) == WEFT_READY && branch_finished(c, i)) {
			c->done = true;
			return WEFT_READY;
		}
	}
	if (c->remaining > 0)
		return WEFT_PENDING;
	c->done = true;
	return WEFT_READY;
}

static void combinator_drop(weft_future *f)
{
	weft_combinator *c = (weft_combinator *)f;

	if (c->kind != WEFT_SELECT_KEEP)
		weft_branches_drop(c->branches, c->n);
}

static void combinator_init(weft_combinator *c, weft_branch *branches, size_t n, int kind)
{
	size_t i;

	c->base.poll = combinator_poll;
	c->base.drop = combinator_drop;
	c->branches = branches;
	c->n = n;
	c->remaining = 0;
	for (i = 0; i < n; i++)
		if (branches[i].state == WEFT_BRANCH_PENDING)
			c->remaining++;
	c->kind = kind;
	c->done = false;
	c->index = n;
	c->status = 0;
	c->failed = 0;
}

void weft_join_all_init(weft_combinator *c, weft_branch *branches, size_t n)
{
	combinator_init(c, branches, n, WEFT_JOIN_ALL);
}

void weft_try_join_all_init(weft_combinator *c, weft_branch *branches, size_t n)
{
	combinator_init(c, branches, n, WEFT_TRY_JOIN_ALL);
}

void weft_race_init(weft_combinator *c, weft_branch *branches, size_t n)
{
	combinator_init(c, branches, n, WEFT_RACE);
}

void weft_select_keep_init(weft_combinator *c, weft_branch *branches, size_t n)
{
	combinator_init(c, branches, n, WEFT_SELECT_KEEP);
}

void weft_all_settled_init(weft_combinator *c, weft_branch *branches, size_t n)
{
	combinator_init(c, branches, n, WEFT_ALL_SETTLED);
}

int weft_poll_with_limit(weft_future *f, const weft_waker *waker, unsigned limit,
			 unsigned *polls)
{
	weft_waker noop = weft_waker_noop();
	weft_cx cx;
	unsigned i;

	if (polls != NULL)
		*polls = 0;
	if (f == NULL || f->poll == NULL)
		return -EINVAL;
	weft_cx_init(&cx, waker != NULL ? waker : &noop);
	for (i = 0; i < limit; i++) {
		if (polls != NULL)
			*polls = i + 1;
		if (weft_future_poll(f, &cx) == WEFT_READY)
			return WEFT_READY;
	}
	return WEFT_PENDING;
}

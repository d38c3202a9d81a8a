/*
 * src/chan/select.c - wait for the first of several futures.
 *
 * A select is a future over up to WEFT_SELECT_MAX child futures.  Each poll
 * visits every enabled branch once, starting at a random one (a per-thread
 * xorshift generator, drawn again at every poll; a biased select starts at
 * the first branch every time), and stops at the first that is ready.  That branch wins; the others are dropped on the spot, so
 * that a losing send gives up its place in its queue and a losing receive
 * unregisters.  All of weft's channel futures take a value only in the poll
 * that returns ready, which is what makes dropping the losers lossless.
 *
 * Because a branch is just a weft_future, a timer future is a branch like
 * any other (a timeout is a select with a sleep), and so is a join handle
 * or a user's own future.  When a branch spends the last of the task's
 * budget, the branches after it in this poll are polled with an
 * unconstrained budget, so that a sleep branch still sees its deadline.  The select adds no waiting of its own:
 * every branch registers the task's waker in its own channel, and any of
 * them waking the task makes the select look at all of them again.
 *
 * A random start rather than a fixed order is what keeps one always-ready
 * branch from starving another: each branch is first with probability
 * 1/n at every poll, whatever the other tasks on the thread do.
 */
#include <errno.h>
#include <stdint.h>

#include "chan_internal.h"

/* The generator's state, one per thread.  In a shared library the default
 * TLS model costs a call to __tls_get_addr per access; initial-exec (as
 * src/sched uses) is one load relative to the thread pointer. */
#if defined(__GNUC__) && !defined(__MINGW32__)
static _Thread_local __attribute__((tls_model("initial-exec"))) uint64_t select_rng;
#else
static _Thread_local uint64_t select_rng;
#endif

static unsigned random_below(unsigned n)
{
	uint64_t x = select_rng;

	if (x == 0)
		x = ((uint64_t)(uintptr_t)&select_rng * 0x9e3779b97f4a7c15u) | 1;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	select_rng = x;
	/* Multiply-shift instead of a modulo: maps the top 32 bits onto
	 * [0, n) without a division. */
	return (unsigned)(((x >> 32) * n) >> 32);
}

static void drop_branch(weft_select *sel, unsigned i)
{
	weft_future *f = sel->branches[i];

	sel->branches[i] = NULL;
	weft_future_drop(f);
}

/* Branch k won: the losers are dropped now, the winner with the select. */
static weft_poll select_won(weft_select *sel, unsigned k)
{
	unsigned i;

	sel->winner = (int)k;
	sel->done = true;
	for (i = 0; i < sel->n; i++)
		if (i != k && sel->branches[i] != NULL)
			drop_branch(sel, i);
	return WEFT_READY;
}

/*
 * A branch spent the last of the budget (the task is already woken to
 * yield): the rest are still looked at, unconstrained, so that a timeout
 * branch sees its deadline (as weft_timeout does).  Returns the context
 * for the remaining branches.
 */
static weft_cx *unconstrained_cx(const weft_cx *cx, weft_cx *unconstrained)
{
	*unconstrained = *cx;
	unconstrained->budget = WEFT_COOP_UNCONSTRAINED;
	return unconstrained;
}

/* Every branch was NULL: ready at once with winner -1. */
static weft_poll select_empty(weft_select *sel)
{
	sel->done = true;
	return WEFT_READY;
}

/*
 * One pass over the branches from `start`.  The budget test after a
 * pending branch looks at the context the branch was given: the
 * unconstrained copy never reaches 0, so the switch happens at most once,
 * and only when the poll began with budget left.
 */
static weft_poll select_poll(weft_future *base, weft_cx *cx)
{
	weft_select *sel = (weft_select *)base;
	unsigned i, n = sel->n, k = sel->start;
	bool enabled = false, had_budget;
	weft_cx unconstrained, *bcx = cx;

	if (sel->done)
		return WEFT_READY;
	had_budget = !weft_coop_exhausted(cx);
	for (i = 0; i < n; i++) {
		weft_future *f = sel->branches[k];

		if (f != NULL) {
			enabled = true;
			if (weft_future_poll(f, bcx) == WEFT_READY)
				return select_won(sel, k);
			if (weft_coop_exhausted(bcx) && had_budget)
				bcx = unconstrained_cx(cx, &unconstrained);
		}
		if (++k == n)
			k = 0;
	}
	if (!enabled)
		return select_empty(sel);
	if (!sel->biased)
		sel->start = random_below(n);
	return WEFT_PENDING;
}

/* Drops every branch still held: a select dropped before it finished. */
CHAN_NOINLINE static void select_drop_all(weft_select *sel)
{
	unsigned i;

	for (i = 0; i < sel->n; i++)
		if (sel->branches[i] != NULL)
			drop_branch(sel, i);
}

static void select_drop(weft_future *base)
{
	weft_select *sel = (weft_select *)base;
	weft_future *f;

	if (sel->winner < 0) {
		select_drop_all(sel);
		return;
	}
	/* Finished with a winner: the losers are gone already. */
	f = sel->branches[sel->winner];
	sel->branches[sel->winner] = NULL;
	if (f->drop != NULL)
		f->drop(f);
}

static int select_setup(weft_select *sel, weft_future *const *branches, unsigned n, bool biased)
{
	unsigned i;

	if (sel == NULL)
		return -EINVAL;
	sel->base.poll = select_poll;
	sel->base.drop = select_drop;
	sel->winner = -1;
	sel->done = false;
	sel->biased = biased;
	sel->n = 0;
	sel->start = 0;
	if (n == 0 || n > WEFT_SELECT_MAX || branches == NULL) {
		sel->done = true;
		return -EINVAL;
	}
	sel->n = n;
	for (i = 0; i < n; i++)
		sel->branches[i] = branches[i];
	if (!biased)
		sel->start = random_below(n);
	return 0;
}

int weft_select_init(weft_select *sel, weft_future *const *branches, unsigned n)
{
	return select_setup(sel, branches, n, false);
}

int weft_select_init_biased(weft_select *sel, weft_future *const *branches, unsigned n)
{
	return select_setup(sel, branches, n, true);
}

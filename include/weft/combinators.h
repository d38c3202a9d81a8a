/*
 * weft/combinators.h - futures that run several futures at once (join_all,
 * try_join_all, race, select-and-keep, all_settled), polling a future by
 * hand with a limit, and task groups.
 *
 * Branches
 * ========
 *
 * The combinators work over a caller-owned array of weft_branch, one per
 * child: the child future's pointer (the child lives wherever the caller
 * put it, usually beside the array in the caller's own future), its outcome
 * and a private state.  Nothing is allocated.  Children are polled in
 * array order every time the combinator is polled (O(n) per wake), and a
 * child that finished is never polled again.
 *
 * Errors.  A C future has no result type, so each branch has an `outcome`
 * callback that reads the finished child and returns 0 for success or a
 * negative errno for failure (for example `return self->err;` for a child
 * with an int result field).  A NULL callback means "always succeeds".
 * Branches made with weft_branches_init_handles over join handles use the
 * handle's status (0 finished, -ECANCELED cancelled) and, when cancelled by
 * a combinator, abort the task as well as detaching the handle.
 *
 * Ownership.  join_all, try_join_all, race and all_settled own their
 * children: dropping the combinator (its base.drop) drops every child
 * exactly once, whatever state it is in; a child that lost a race or was
 * cancelled by try_join_all is dropped at once, a child that finished is
 * dropped with the combinator, so its result fields can be read until then.
 * select_keep borrows its children: it drops none of them, and the caller
 * drops them with weft_branches_drop when done (or hands the array to a
 * later combinator).  All of them are cancellation-safe: dropping one at any
 * await loses nothing that a child had not already lost itself.
 *
 * A combinator is polled by one task at a time, like any future; outcomes
 * are read after it returned WEFT_READY.
 */
#ifndef WEFT_COMBINATORS_H
#define WEFT_COMBINATORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/future.h"
#include "weft/runtime.h"
#include "weft/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The outcome of a finished child: 0 or a negative errno (see above). */
typedef int (*weft_outcome_fn)(weft_future *child);

/* What a branch is doing; read `state` after the combinator is ready. */
typedef enum weft_branch_state {
	WEFT_BRANCH_PENDING = 0,  /* not finished (still owned, still pollable) */
	WEFT_BRANCH_READY = 1,    /* finished; `status` holds its outcome */
	WEFT_BRANCH_DROPPED = 2,  /* dropped (cancelled, or dropped after finishing) */
} weft_branch_state;

/* One child of a combinator. */
typedef struct weft_branch {
	/* The child; set by the caller (weft_branches_init). */
	weft_future *future;
	/* How to read its outcome; NULL = always 0. */
	weft_outcome_fn outcome;
	/* After the child finished: its outcome.  -ECANCELED for a child the
	 * combinator cancelled before it finished. */
	int status;
	/* A weft_branch_state. */
	uint8_t state;
	/* Private: the child is a weft_join_handle (abort on cancel). */
	uint8_t is_handle;
} weft_branch;

/*
 * Fills branches[0..n) with the futures futures[0..n) and `outcome` (may be
 * NULL), all pending.  Never fails; n == 0 is fine.  The caller keeps both
 * arrays alive as long as the combinator that uses them.
 */
void weft_branches_init(weft_branch *branches, weft_future *const *futures, size_t n,
			weft_outcome_fn outcome);

/*
 * Fills branches[0..n) with the join handles handles[0..n): the outcome of a
 * branch is the handle's status, and cancelling a branch aborts its task and
 * detaches the handle.  Never fails.
 */
void weft_branches_init_handles(weft_branch *branches, weft_join_handle *handles, size_t n);

/*
 * Drops every child that was not dropped yet (each exactly once) and marks
 * it dropped.  For the children of a select_keep, or of a combinator that
 * was never initialised.  Safe to call again.
 */
void weft_branches_drop(weft_branch *branches, size_t n);

/* The kinds of weft_combinator. */
typedef enum weft_combinator_kind {
	WEFT_JOIN_ALL = 0,
	WEFT_TRY_JOIN_ALL = 1,
	WEFT_RACE = 2,
	WEFT_SELECT_KEEP = 3,
	WEFT_ALL_SETTLED = 4,
} weft_combinator_kind;

/*
 * A combinator future.  Fields other than the results are private.
 * Results, valid once it returned WEFT_READY:
 *  - `index`: race / select_keep: the winner; try_join_all: the first
 *    failing child, or n when none failed; otherwise n.
 *  - `status`: try_join_all: 0 or the first failure's outcome; race /
 *    select_keep: the winner's outcome; all_settled: 0; join_all: 0.
 *    -EINVAL (and index n) for a race or select_keep without any pending
 *    child (nothing can win).
 *  - `failed`: all_settled and join_all: how many children failed.
 */
typedef struct weft_combinator {
	weft_future base;
	weft_branch *branches; /* private */
	size_t n;              /* private */
	size_t remaining;      /* private: children not finished */
	int kind;              /* private */
	bool done;             /* private */
	size_t index;
	int status;
	size_t failed;
} weft_combinator;

/*
 * Initialises `c` as a join_all over branches[0..n): ready when every child
 * has finished; each branch's status holds its outcome, in array order.
 * Failures do not stop the others.  Never fails.
 */
void weft_join_all_init(weft_combinator *c, weft_branch *branches, size_t n);

/*
 * Initialises `c` as a try_join_all: as join_all, but the first child to
 * finish with a negative outcome makes it ready at once: every unfinished
 * child is cancelled (dropped; join handles aborted), with status
 * -ECANCELED, and `index` / `status` name the failure.  Never fails.
 */
void weft_try_join_all_init(weft_combinator *c, weft_branch *branches, size_t n);

/*
 * Initialises `c` as a race: ready when the first child finishes (the
 * lowest index among those that finish in the same poll); every other child
 * is dropped at once (join handles aborted).  Never fails.
 */
void weft_race_init(weft_combinator *c, weft_branch *branches, size_t n);

/*
 * Initialises `c` as a select-and-keep: ready when the first child finishes,
 * as race, but the other children are left as they are: pending, owned by
 * the caller, pollable by another combinator over the same array (which
 * skips the finished ones), and dropped by the caller with
 * weft_branches_drop.  Dropping `c` drops no child.  Never fails.
 */
void weft_select_keep_init(weft_combinator *c, weft_branch *branches, size_t n);

/*
 * Initialises `c` as all_settled: ready when every child has finished;
 * each branch's status holds its outcome and `failed` counts the negative
 * ones.  Never fails.
 */
void weft_all_settled_init(weft_combinator *c, weft_branch *branches, size_t n);

/*
 * Polls `f` until it is ready, at most `limit` times, on the calling thread,
 * with `waker` in the context (NULL: a no-op waker, so the caller decides
 * when to poll again), for hosts that drive futures by hand.  Stores the
 * number of polls made in *polls when `polls` is not NULL.  Returns
 * WEFT_READY (1) when the future became ready, WEFT_PENDING (0) when it is
 * still pending after `limit` polls (or limit == 0), -EINVAL when `f` is NULL
 * or has no poll function.  Does not drop `f`.  Any thread; a future that
 * uses the current runtime (spawn, timers) needs a runtime's block_on.
 */
int weft_poll_with_limit(weft_future *f, const weft_waker *waker, unsigned limit,
			 unsigned *polls);

/* ---- task groups ------------------------------------------------------------ */

/*
 * A task group (Tokio's JoinSet, Go's errgroup): a set of spawned tasks
 * whose finished members are taken out one at a time, in the order they
 * finished.  Opaque; one allocation from the runtime's allocator, plus one
 * per member.  The group is used by one thread or task at a time; its
 * members run anywhere.
 */
typedef struct weft_task_group weft_task_group;

/*
 * Creates an empty group spawning into `rt`.  Returns 0 and stores it in
 * *out; -EINVAL for NULL arguments; -ENOMEM (then *out is untouched).  Any
 * thread.
 */
int weft_task_group_create(weft_runtime *rt, weft_task_group **out);

/*
 * Spawns a copy of the future (as weft_spawn) into the group and stores a
 * group-unique id (counting from 1) in *id when `id` is not NULL.  Returns
 * 0, or as weft_spawn: -EINVAL, -ENOMEM, -ESHUTDOWN; on failure nothing was
 * copied and the caller still owns the future.
 */
int weft_task_group_spawn(weft_task_group *g, const weft_future *future, size_t size,
			  uint64_t *id);

/* The number of members not yet taken out (running or finished).  0 for NULL. */
size_t weft_task_group_len(const weft_task_group *g);

/*
 * Aborts every member (weft_join_abort): each finishes with -ECANCELED unless
 * it already finished, and is still taken out by next.  Returns 0, -EINVAL
 * for NULL.
 */
int weft_task_group_abort_all(weft_task_group *g);

/*
 * Takes out the member that finished first, without waiting: moves its join
 * handle into *handle (the caller reads weft_join_output and status, and
 * detaches it) and stores its id in *id when `id` is not NULL.  Returns 0
 * (the handle's status is set: 0 or -ECANCELED), -EAGAIN when members exist
 * but none has finished, -ENOENT when the group is empty, -EINVAL for NULL
 * `g` or `handle` (then *handle is untouched; otherwise it is empty on error).
 */
int weft_task_group_try_next(weft_task_group *g, weft_join_handle *handle, uint64_t *id);

/*
 * The future that awaits the next member to finish.  After WEFT_READY:
 * `status` is 0 and `handle` holds the finished member (as try_next), or
 * `status` is -ENOENT for an empty group.  Its drop detaches a handle it
 * still holds (the caller sets `handle` empty by weft_join_detach after
 * reading it, or leaves that to the drop).
 */
typedef struct weft_task_group_next {
	weft_future base;
	weft_task_group *group; /* private */
	weft_join_handle handle;
	uint64_t id;
	int status;
} weft_task_group_next;

/* Initialises `n` to await the next member of `g`.  Never fails. */
void weft_task_group_next_init(weft_task_group_next *n, weft_task_group *g);

/*
 * Aborts every member left, detaches them (they finish and free themselves)
 * and frees the group.  NULL does nothing.  Any thread, once, when no next
 * future of the group is being polled.
 */
void weft_task_group_destroy(weft_task_group *g);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_COMBINATORS_H */

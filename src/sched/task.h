/*
 * src/sched/task.h - the task header and the interface between tasks and
 * the schedulers that run them.  Private.
 *
 * The state word and its transitions are in state.h; the scheduler core
 * and the owned-task list in sched_core.h.
 */
#ifndef WEFT_SRC_SCHED_TASK_H
#define WEFT_SRC_SCHED_TASK_H

#include <errno.h>
#include <stdint.h>

#include "weft/runtime.h"
#include "weft/task.h"
#include "sched_core.h"
#include "state.h"

/*
 * The task header: 64 bytes, followed by the future (16-byte aligned).
 * Fields other than `state` are written only as the protocol in state.h
 * allows.
 */
struct weft_task {
	task_state state;
	/* Intrusive link for the injector and the current-thread queues;
	 * owned by whichever queue holds the task's NOTIFIED reference. */
	struct weft_task *queue_next;
	struct weft__sched *sched;
	/* Owned by the join handle while JOIN_WAKER is clear, by the runtime
	 * while it is set. */
	weft_waker join_waker;
	/* The owned-task list of the scheduler, under the shard's lock. */
	struct weft_task *owned_prev;
	struct weft_task *owned_next;
	uint32_t alloc_size;
	uint16_t shard;
	/* TASK_F_* (observe.h), fixed at creation. */
	uint16_t flags;
};

_Static_assert(sizeof(struct weft_task) == WEFT_TASK_HEADER_SIZE,
	       "the task header is one cache line");

static inline weft_future *task_future(struct weft_task *t)
{
	return (weft_future *)((char *)t + sizeof(struct weft_task));
}

/* The annex of a task with TASK_F_ANNEX (observe.h). */
static inline struct task_annex *task_annex(struct weft_task *t)
{
	return (struct task_annex *)((char *)t - sizeof(struct task_annex));
}

/* The task's id, or 0 when it has no annex. */
static inline uint64_t weft__task_id(struct weft_task *t)
{
	return (t->flags & TASK_F_ANNEX) ? task_annex(t)->id : 0;
}

/* The task's name, or NULL. */
static inline const char *weft__task_name(struct weft_task *t)
{
	return (t->flags & TASK_F_ANNEX) ? task_annex(t)->name : NULL;
}

/* ---- running tasks (task.c) -------------------------------------------- */

enum task_run_result {
	/* The task is idle, finished or cancelled; the queue reference was
	 * consumed. */
	TASK_RUN_DONE,
	/* The task was woken while it ran: the caller must queue it again
	 * (at the back of a queue), keeping the reference. */
	TASK_RUN_RESCHEDULE,
};

/* Polls `t` (which the caller took off a queue) once with `budget`. */
enum task_run_result weft__task_run(struct weft_task *t, uint32_t budget);

/* As weft__task_run with *budget, and leaves in *budget what the poll did
 * not spend (0 after a poll that ran out: a budget-forced yield when the
 * result is TASK_RUN_RESCHEDULE). */
enum task_run_result weft__task_run_budget(struct weft_task *t, uint32_t *budget);

/*
 * Makes a task of `future` on scheduler `s` exactly as weft_spawn does, but
 * does not schedule it: *out holds the queue reference, which the caller
 * hands to a queue (or cancels and releases).  weft_spawn is this plus
 * s->ops->schedule; the blocking pool submits the task itself.  Returns as
 * weft_spawn.
 */
int weft__task_create(struct weft__sched *s, const weft_future *future, size_t size,
		      weft_join_handle *handle, struct weft_task **out);

/* As weft__task_create, with a name (NULL: none; see weft_spawn_named). */
int weft__task_create_named(struct weft__sched *s, const char *name,
			    const weft_future *future, size_t size,
			    weft_join_handle *handle, struct weft_task **out);

/* Releases one reference; frees the task when it was the last. */
void weft__task_drop_ref(struct weft_task *t);

/* Releases a queue reference of a task that will never run again because
 * its scheduler is shutting down. */
static inline void weft__task_discard(struct weft_task *t)
{
	weft__task_drop_ref(t);
}

/* Hands `t`, which holds a new queue reference, to its scheduler. */
static inline void weft__task_schedule(struct weft_task *t)
{
	t->sched->ops->schedule(t->sched, t);
}

/*
 * Drops the future of `t`, which weft__owned_claim_unfinished claimed for
 * shutdown, and completes it as cancelled; releases the claimer's and the
 * owned list's references.
 */
void weft__task_cancel_claimed(struct weft_task *t);

/* ---- observed tasks (observe.c): tasks with TASK_F_ANNEX only ------------ */

/* After the task was made, before it is scheduled: the spawn hook. */
void weft__obs_task_spawn(struct weft_task *t);
/* Around a poll of the future: hooks, and the debug checks' clone flag. */
void weft__obs_poll_start(struct weft_task *t);
void weft__obs_poll_end(struct weft_task *t, weft_poll res);
/* The future was dropped; the task is about to complete. */
void weft__obs_task_finish(struct weft_task *t, bool cancelled);
/* Debug checks: replaces the dropped future's poll and drop with ones
 * that report misuse instead of running user code again. */
void weft__obs_trap_future(struct weft_task *t);
/* Debug checks, at shutdown, on a claimed task: reports it when its last
 * poll cloned no waker and no waker of it is alive. */
void weft__obs_check_lost_wakeup(struct weft_task *t);

/* Debug checks: around a join-handle call on `t` (see observe.c). */
#if WEFT_DEBUG_CHECKS
void weft__obs_join_enter(struct weft_task *t);
void weft__obs_join_exit(struct weft_task *t);
static inline void weft__join_enter(struct weft_task *t)
{
	if (t->flags & TASK_F_ANNEX)
		weft__obs_join_enter(t);
}
static inline void weft__join_exit(struct weft_task *t)
{
	if (t->flags & TASK_F_ANNEX)
		weft__obs_join_exit(t);
}
#else
static inline void weft__join_enter(struct weft_task *t)
{
	(void)t;
}
static inline void weft__join_exit(struct weft_task *t)
{
	(void)t;
}
#endif

/* ---- join handles (join.c) ---------------------------------------------- */

/* The join handle's future functions. */
weft_poll weft__join_poll(weft_future *f, weft_cx *cx);
void weft__join_drop(weft_future *f);

/* Makes `h` an empty handle (its future ready at once with -EINVAL). */
static inline void weft__join_handle_empty(weft_join_handle *h)
{
	h->base.poll = weft__join_poll;
	h->base.drop = weft__join_drop;
	h->task = NULL;
	h->status = -EINVAL;
}

#endif /* WEFT_SRC_SCHED_TASK_H */

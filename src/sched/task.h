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
	uint32_t shard;
};

_Static_assert(sizeof(struct weft_task) == WEFT_TASK_HEADER_SIZE,
	       "the task header is one cache line");

static inline weft_future *task_future(struct weft_task *t)
{
	return (weft_future *)((char *)t + sizeof(struct weft_task));
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

/*
 * Makes a task of `future` on scheduler `s` exactly as weft_spawn does, but
 * does not schedule it: *out holds the queue reference, which the caller
 * hands to a queue (or cancels and releases).  weft_spawn is this plus
 * s->ops->schedule; the blocking pool submits the task itself.  Returns as
 * weft_spawn.
 */
int weft__task_create(struct weft__sched *s, const weft_future *future, size_t size,
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

/*
 * src/sched/task.h - the task header, its state word, and the interface
 * between tasks and the schedulers that run them.  Private.
 */
#ifndef WEFT_SRC_SCHED_TASK_H
#define WEFT_SRC_SCHED_TASK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "weft/runtime.h"
#include "weft/task.h"

/* ---- state word bits (see the essay in task.c) ------------------------- */

#define TASK_RUNNING       ((uint64_t)1 << 0)
#define TASK_NOTIFIED      ((uint64_t)1 << 1)
#define TASK_COMPLETE      ((uint64_t)1 << 2)
#define TASK_CANCELLED     ((uint64_t)1 << 3)
#define TASK_JOIN_INTEREST ((uint64_t)1 << 4)
#define TASK_JOIN_WAKER    ((uint64_t)1 << 5)
#define TASK_REF_SHIFT     8
#define TASK_REF_ONE       ((uint64_t)1 << TASK_REF_SHIFT)
#define TASK_FLAG_MASK     (TASK_REF_ONE - 1)

struct weft__sched;

/*
 * The task header: 64 bytes, followed by the future (16-byte aligned).
 * Fields other than `state` are written only as the protocol in task.c
 * allows.
 */
struct weft_task {
	_Atomic uint64_t state;
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

/* ---- the scheduler interface ------------------------------------------- */

#define OWNED_SHARDS 64

/* One shard of the list of tasks whose future is alive, so that shutdown
 * can find idle tasks that no queue holds.  Cache-line aligned so that
 * spawns on different workers do not share a line. */
struct owned_shard {
	_Alignas(64) pthread_mutex_t lock;
	struct weft_task *head;
	bool closed;
};

struct weft__sched_ops {
	/*
	 * Queues `t`, which holds a NOTIFIED reference that the queue now
	 * owns.  Called from any thread.  A scheduler that is shut down
	 * releases the reference instead (weft__task_drop_ref).
	 */
	void (*schedule)(struct weft__sched *s, struct weft_task *t);
	/*
	 * Releases the flavour's remaining resources and frees the flavour
	 * struct.  Called once, when the last task and the runtime have let
	 * go of the scheduler (possibly after weft_runtime_destroy returned).
	 */
	void (*destroy)(struct weft__sched *s);
};

/*
 * The part of a runtime that tasks point to.  It is reference counted: the
 * runtime holds one reference and every live task one more, so a task (or
 * a waker of it) that outlives weft_runtime_destroy can still free itself.
 */
struct weft__sched {
	const struct weft__sched_ops *ops;
	weft_allocator alloc;
	_Atomic uint64_t refs;
	struct weft_runtime *rt;
	struct owned_shard shards[OWNED_SHARDS];
};

/* Initialises the common part; returns 0 or -errno. */
int weft__sched_init(struct weft__sched *s, const struct weft__sched_ops *ops,
		     const weft_allocator *alloc, struct weft_runtime *rt);
/* Drops a reference; the last one calls ops->destroy. */
void weft__sched_unref(struct weft__sched *s);
/* Refuses new spawns from now on. */
void weft__sched_close(struct weft__sched *s);
/*
 * Cancels every task that has not finished: its future is dropped and its
 * join completed with -ECANCELED.  Called after the workers have stopped,
 * so that no task is running.
 */
void weft__sched_shutdown_tasks(struct weft__sched *s);

void *weft__alloc(const weft_allocator *a, size_t size, size_t align);
void weft__free(const weft_allocator *a, void *p, size_t size, size_t align);

/* ---- running tasks ------------------------------------------------------ */

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

#endif /* WEFT_SRC_SCHED_TASK_H */

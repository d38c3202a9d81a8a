/*
 * src/sched/sched_core.h - the part of a runtime that tasks point to: the
 * flavour's ops table, the reference count that lets tasks outlive the
 * runtime, and the owned-task list.  Private.
 */
#ifndef WEFT_SRC_SCHED_SCHED_CORE_H
#define WEFT_SRC_SCHED_SCHED_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "weft/runtime.h"
#include "weft/waiter.h"
#include "alloc.h"
#include "observe.h"

struct weft_task;
struct weft__sched;

#define OWNED_SHARDS 64

/* One shard of the list of tasks whose future is alive, so that shutdown
 * can find idle tasks that no queue holds.  Cache-line aligned so that
 * spawns on different workers do not share a line.  See owned.c. */
struct owned_shard {
	/* The futex-word lock of common/lock.h: an uncontended insert or
	 * remove is one CAS and one exchange, inline (a pthread mutex was two
	 * calls and about 8% of a spawn-and-join in spawn_blocking/spawn_fn). */
	_Alignas(64) struct weft__lock lock;
	struct weft_task *head;
	/* Tasks ever inserted, and tasks listed now: written under the lock
	 * (a relaxed load and store), read without it by metrics.c.  Sized
	 * so that a shard stays one cache line. */
	_Atomic uint64_t inserted;
	_Atomic uint32_t live;
	bool closed;
};

_Static_assert(sizeof(struct owned_shard) == 64, "a shard is one cache line");

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
	struct weft_runtime *rt;
	/* Hooks, ids and reports (observe.h); zero: not observed. */
	struct weft__observer obs;
	/* Its tasks skip the owned-task list (false unless the flavour sets
	 * it after weft__sched_init): for a scheduler whose tasks are never
	 * idle, so that shutdown never needs the list to find them -- the
	 * blocking pool, whose tasks are queued, running or complete and
	 * whose shutdown cancels its queue itself and refuses new jobs.
	 * Their references are the same (the list's one is released at
	 * completion as usual). */
	bool unowned;
	/* Its tasks' allocations go through task_cache.h: set by
	 * weft__sched_init when the allocator is the default one (and
	 * WEFT_TASK_CACHE does not say 0); a flavour may clear it after
	 * (the current-thread one does). */
	bool task_cache;
	struct owned_shard shards[OWNED_SHARDS];
	/* On a line of its own: every spawn and every free of a task off a
	 * worker writes it, and the fields above are read by every poll. */
	_Alignas(64) _Atomic uint64_t refs;
	char refs_pad_[64 - sizeof(uint64_t)];
};

/* ---- sched.c ------------------------------------------------------------ */

/* Initialises the common part; returns 0 or -errno. */
int weft__sched_init(struct weft__sched *s, const struct weft__sched_ops *ops,
		     const weft_allocator *alloc, struct weft_runtime *rt);
/* Takes a reference for a new task, from one the caller holds. */
static inline void weft__sched_ref(struct weft__sched *s)
{
	/* Relaxed: a task's reference on the scheduler is taken from the
	 * runtime's, which the caller keeps alive. */
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}
/* Drops a reference; the last one calls ops->destroy. */
void weft__sched_unref(struct weft__sched *s);
/* Drops `n` references at once (n > 0); the last one calls ops->destroy. */
void weft__sched_unref_n(struct weft__sched *s, uint64_t n);
/*
 * A worker's cache of references on its scheduler (weft__ctx.ref_sched,
 * task.c).  start: from now on the tasks of `s` that this thread spawns or
 * frees take and drop their references through the thread's spare ones.
 * flush: gives every spare reference back; called by the worker before it
 * exits, while the runtime still holds its own reference.
 */
void weft__sched_ref_cache_start(struct weft__sched *s);
void weft__sched_ref_cache_flush(void);
/* Refuses new spawns from now on. */
void weft__sched_close(struct weft__sched *s);
/*
 * Cancels every task that has not finished: its future is dropped and its
 * join completed with -ECANCELED.  Called after the workers have stopped,
 * so that no task is running.
 */
void weft__sched_shutdown_tasks(struct weft__sched *s);

/* ---- owned.c: the owned-task list ---------------------------------------- */

/* Initialises every shard; returns 0 or -errno (nothing left behind). */
int weft__owned_init(struct weft__sched *s);
void weft__owned_finish(struct weft__sched *s);
/* Closes every shard: later inserts fail. */
void weft__owned_close(struct weft__sched *s);
/* Links `t` (its shard already chosen) into its shard; -ESHUTDOWN when
 * the shard is closed. */
int weft__owned_insert(struct weft__sched *s, struct weft_task *t);
/* Unlinks `t` from its shard. */
void weft__owned_remove(struct weft_task *t);
/*
 * Finds a task of shard *shard or later whose future is alive, claims it
 * for shutdown and returns it with one more reference (the caller's);
 * NULL when none is left.  Advances *shard past the empty shards.  Called
 * with no worker running.
 */
struct weft_task *weft__owned_claim_unfinished(struct weft__sched *s, unsigned *shard);

#endif /* WEFT_SRC_SCHED_SCHED_CORE_H */

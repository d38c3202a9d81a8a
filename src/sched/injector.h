/*
 * src/sched/injector.h - the shared FIFO of tasks that workers take from:
 * spawns and wakes from outside the workers, and local-queue overflow.
 * Private.
 */
#ifndef WEFT_SRC_SCHED_INJECTOR_H
#define WEFT_SRC_SCHED_INJECTOR_H

#include "../common/lock.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct weft_task;

struct injector {
	struct weft__lock lock;          /* a futex word: src/common/lock.h */
	struct weft_task *head, *tail; /* through queue_next, under lock */
	bool closed;                   /* under lock */
	size_t listed;                 /* tasks on the list, under lock */
	/* The list length plus what a pop has cut off a batch and not yet
	 * put back (injector.c), so "is it empty" costs one load. */
	_Alignas(64) _Atomic size_t len;
};

int weft__injector_init(struct injector *inj);
void weft__injector_finish(struct injector *inj);

/*
 * Appends a linked batch (first..last through queue_next) of `n` tasks.
 * Returns false, taking nothing, when the injector is closed.  Any thread.
 */
bool weft__injector_push_batch(struct injector *inj, struct weft_task *first,
			 struct weft_task *last, size_t n);

static inline bool weft__injector_push(struct injector *inj, struct weft_task *t)
{
	return weft__injector_push_batch(inj, t, t, 1);
}

/*
 * Takes up to `max` tasks from the front and returns them linked through
 * queue_next (NULL when empty); *n is set to how many.  The lock is held
 * for a constant time: a longer list is taken whole and its rest put back
 * after the unlock.  Any thread.
 */
struct weft_task *weft__injector_pop_batch(struct injector *inj, size_t max, size_t *n);

/* True when nothing is queued (a hint: may be stale by the time it returns). */
static inline bool weft__injector_is_empty(struct injector *inj)
{
	/* Relaxed: a hint; callers that must not miss work order it with a
	 * fence of their own. */
	return atomic_load_explicit(&inj->len, memory_order_relaxed) == 0;
}

static inline size_t weft__injector_len(struct injector *inj)
{
	return atomic_load_explicit(&inj->len, memory_order_relaxed);
}

/* Closes the injector (later pushes fail) and returns what it held. */
struct weft_task *weft__injector_close(struct injector *inj);

#endif /* WEFT_SRC_SCHED_INJECTOR_H */

/*
 * src/sched/injector.c - an intrusive FIFO under a lock, with an atomic
 * length so that checking it for work does not take the lock.  The lock is
 * the futex word of src/common/lock.h: one CAS to take and one exchange to
 * give back, inline, where glibc's mutex is two calls; every remote spawn
 * and every wake from outside the workers passes through here.
 */
#include "injector.h"

#include "task.h"
#include "../common/lock.h"

int weft__injector_init(struct injector *inj)
{
	weft__lock_init(&inj->lock);
	inj->head = inj->tail = NULL;
	inj->closed = false;
	inj->listed = 0;
	atomic_init(&inj->len, 0);
	return 0;
}

void weft__injector_finish(struct injector *inj)
{
	(void)inj; /* the lock holds nothing to free */
}

bool weft__injector_push_batch(struct injector *inj, struct weft_task *first,
			 struct weft_task *last, size_t n)
{
	weft__lock_acquire(&inj->lock);
	if (inj->closed) {
		weft__lock_release(&inj->lock);
		return false;
	}
	last->queue_next = NULL;
	if (inj->tail != NULL)
		inj->tail->queue_next = first;
	else
		inj->head = first;
	inj->tail = last;
	inj->listed += n;
	/* Relaxed: the lock orders the list; readers of len without the lock
	 * treat it as a hint (see weft__injector_is_empty). */
	atomic_store_explicit(&inj->len,
			      atomic_load_explicit(&inj->len, memory_order_relaxed) + n,
			      memory_order_relaxed);
	weft__lock_release(&inj->lock);
	return true;
}

/*
 * Puts back `first`..`last` (n tasks) at the front, ahead of whatever was
 * pushed meanwhile, so the queue stays in order.  Discards them when the
 * injector closed in between: shutdown's walk of the list has passed, and
 * nothing will run them (as overflow_to_injector does).
 */
static void return_front(struct injector *inj, struct weft_task *first,
			 struct weft_task *last, size_t n)
{
	weft__lock_acquire(&inj->lock);
	if (inj->closed) {
		weft__lock_release(&inj->lock);
		while (first != NULL) {
			struct weft_task *next = first->queue_next;

			weft__task_discard(first);
			first = next;
		}
		return;
	}
	last->queue_next = inj->head;
	if (inj->tail == NULL)
		inj->tail = last;
	inj->head = first;
	inj->listed += n;
	/* len counted them while they were out: it does not change. */
	weft__lock_release(&inj->lock);
}

/*
 * The lock is held for a constant time whatever `max` is: the whole list
 * is taken at once, and when it holds more than `max` the batch is cut
 * off it after the unlock and the rest put back at the front.  Walking
 * the batch under the lock cost a cache miss per task (the tasks were
 * written by the threads that pushed them) while those threads waited on
 * the lock to push more (docs/benchmarks.md, fourteenth session).  While
 * the rest is out, `len` still counts it, so a worker looking for work
 * does not take the injector for empty and park; a pop in that window
 * finds the list short or empty and takes what is there.
 */
struct weft_task *weft__injector_pop_batch(struct injector *inj, size_t max, size_t *n)
{
	struct weft_task *first, *last, *rest, *rest_last;
	size_t all, got, i;

	*n = 0;
	if (max == 0 || weft__injector_is_empty(inj))
		return NULL;
	weft__lock_acquire(&inj->lock);
	first = inj->head;
	if (first == NULL) {
		weft__lock_release(&inj->lock);
		return NULL;
	}
	rest_last = inj->tail;
	if (max == 1) {
		inj->head = first->queue_next;
		if (inj->head == NULL)
			inj->tail = NULL;
		all = 1;
		inj->listed--;
	} else {
		inj->head = inj->tail = NULL;
		all = inj->listed;
		inj->listed = 0;
	}
	got = all < max ? all : max;
	/* Relaxed: as in push.  What is cut off below is still counted
	 * until return_front puts it back. */
	atomic_store_explicit(&inj->len,
			      atomic_load_explicit(&inj->len, memory_order_relaxed) - got,
			      memory_order_relaxed);
	weft__lock_release(&inj->lock);
	if (all <= max) {
		/* The one task of max == 1, cut off the rest here (it is
		 * ours since the unlock), or the whole list, whose last
		 * link its pusher cleared. */
		if (max == 1)
			first->queue_next = NULL;
		*n = all;
		return first;
	}
	/* The detached list is ours alone now: pushers link onto the new
	 * tail, and rest_last->queue_next is the NULL its pusher stored. */
	last = first;
	for (i = 1; i < got; i++)
		last = last->queue_next;
	rest = last->queue_next;
	last->queue_next = NULL;
	return_front(inj, rest, rest_last, all - got);
	*n = got;
	return first;
}

struct weft_task *weft__injector_close(struct injector *inj)
{
	struct weft_task *list;

	weft__lock_acquire(&inj->lock);
	inj->closed = true;
	list = inj->head;
	inj->head = inj->tail = NULL;
	inj->listed = 0;
	atomic_store_explicit(&inj->len, 0, memory_order_relaxed);
	weft__lock_release(&inj->lock);
	return list;
}

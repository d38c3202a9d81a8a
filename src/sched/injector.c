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
	/* Relaxed: the lock orders the list; readers of len without the lock
	 * treat it as a hint (see weft__injector_is_empty). */
	atomic_store_explicit(&inj->len,
			      atomic_load_explicit(&inj->len, memory_order_relaxed) + n,
			      memory_order_relaxed);
	weft__lock_release(&inj->lock);
	return true;
}

struct weft_task *weft__injector_pop_batch(struct injector *inj, size_t max, size_t *n)
{
	struct weft_task *first, *last;
	size_t got = 0;

	*n = 0;
	if (max == 0 || weft__injector_is_empty(inj))
		return NULL;
	weft__lock_acquire(&inj->lock);
	first = inj->head;
	last = NULL;
	while (got < max && inj->head != NULL) {
		last = inj->head;
		inj->head = last->queue_next;
		got++;
	}
	if (inj->head == NULL)
		inj->tail = NULL;
	if (last != NULL)
		last->queue_next = NULL;
	/* Relaxed: as in push. */
	atomic_store_explicit(&inj->len,
			      atomic_load_explicit(&inj->len, memory_order_relaxed) - got,
			      memory_order_relaxed);
	weft__lock_release(&inj->lock);
	*n = got;
	return got != 0 ? first : NULL;
}

struct weft_task *weft__injector_close(struct injector *inj)
{
	struct weft_task *list;

	weft__lock_acquire(&inj->lock);
	inj->closed = true;
	list = inj->head;
	inj->head = inj->tail = NULL;
	atomic_store_explicit(&inj->len, 0, memory_order_relaxed);
	weft__lock_release(&inj->lock);
	return list;
}

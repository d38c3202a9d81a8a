/*
 * src/common/waitlist.h - an intrusive, doubly linked FIFO of waiters, for
 * every primitive that makes futures wait (sync and chan).  Private; part
 * of the one list layer in src/common (fifo.h for singly linked queues,
 * wakebatch.h for waking what a list hands out).
 *
 * A waiter node lives inside the waiting future, so waiting allocates
 * nothing.  The list itself is not synchronised: the primitive protects it
 * with its own lock, and a node is touched only under that lock.  A node
 * knows whether it is linked, so a future dropped while waiting can unlink
 * itself in O(1).
 */
#ifndef WEFT_SRC_COMMON_WAITLIST_H
#define WEFT_SRC_COMMON_WAITLIST_H

#include <stdbool.h>
#include <stddef.h>

#include "weft/future.h"
#include "weft/waiter.h"

static inline void weft__waitlist_init(struct weft__waitlist *l)
{
	l->head = l->tail = NULL;
}

static inline void weft__waiter_init(struct weft__waiter *w)
{
	w->prev = w->next = NULL;
	w->waker.data = NULL;
	w->waker.vtable = NULL;
	w->linked = false;
}

static inline bool weft__waitlist_is_empty(const struct weft__waitlist *l)
{
	return l->head == NULL;
}

static inline void weft__waitlist_push_back(struct weft__waitlist *l, struct weft__waiter *w)
{
	w->next = NULL;
	w->prev = l->tail;
	if (l->tail != NULL)
		l->tail->next = w;
	else
		l->head = w;
	l->tail = w;
	w->linked = true;
}

static inline void weft__waitlist_remove(struct weft__waitlist *l, struct weft__waiter *w)
{
	if (!w->linked)
		return;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		l->head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		l->tail = w->prev;
	w->prev = w->next = NULL;
	w->linked = false;
}

static inline struct weft__waiter *weft__waitlist_pop_front(struct weft__waitlist *l)
{
	struct weft__waiter *w = l->head;

	if (w != NULL)
		weft__waitlist_remove(l, w);
	return w;
}

static inline struct weft__waiter *weft__waitlist_front(const struct weft__waitlist *l)
{
	return l->head;
}

#endif /* WEFT_SRC_COMMON_WAITLIST_H */

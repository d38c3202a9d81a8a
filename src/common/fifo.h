/*
 * src/common/fifo.h - a generic intrusive singly linked FIFO.  Private;
 * part of the one list layer in src/common (waitlist.h is the doubly
 * linked FIFO of waiters, wakebatch.h wakes what a list hands out).
 *
 * An element embeds a `struct weft__fifo_node` (one pointer) and is found
 * again from its node with WEFT__FIFO_ENTRY (container-of).  The FIFO is
 * a head pointer and a tail pointer; pushing at the back, popping at the
 * front, appending a whole chain and taking up to `max` elements from the
 * front are O(1) or O(taken).  Nothing is allocated and nothing is
 * synchronised: the owner protects a FIFO with its own lock, or keeps it
 * to one thread.
 *
 * Chains.  A `struct weft__fifo` also serves as a chain in transit: a
 * batch popped from one FIFO is a FIFO of its own (head..tail, the tail's
 * next is NULL), which can be appended to another in one step.  This is
 * what the scheduler's task queues do (the injector moves batches in and
 * out, the current-thread runtime splices its remote queue onto its local
 * one), so they can adopt this header without changing their protocol:
 * `struct weft_task` would hold a `struct weft__fifo_node queue_link` in
 * place of `struct weft_task *queue_next` (the same 8 bytes), and
 * `head, tail` pairs become `struct weft__fifo`.
 */
#ifndef WEFT_SRC_COMMON_FIFO_H
#define WEFT_SRC_COMMON_FIFO_H

#include <stdbool.h>
#include <stddef.h>

/* The link inside an element. */
struct weft__fifo_node {
	struct weft__fifo_node *next;
};

/* A FIFO (or a chain): head and tail are both NULL when it is empty. */
struct weft__fifo {
	struct weft__fifo_node *head, *tail;
};

/* The element of type `type` whose member `member` is the node `node`. */
#define WEFT__FIFO_ENTRY(node, type, member) \
	((type *)(void *)((char *)(node)-offsetof(type, member)))

static inline void weft__fifo_init(struct weft__fifo *q)
{
	q->head = q->tail = NULL;
}

static inline bool weft__fifo_is_empty(const struct weft__fifo *q)
{
	return q->head == NULL;
}

static inline struct weft__fifo_node *weft__fifo_front(const struct weft__fifo *q)
{
	return q->head;
}

/* Appends `n` at the back. */
static inline void weft__fifo_push_back(struct weft__fifo *q, struct weft__fifo_node *n)
{
	n->next = NULL;
	if (q->tail != NULL)
		q->tail->next = n;
	else
		q->head = n;
	q->tail = n;
}

/* Moves every element of `src` to the back of `q`, in order; `src` is left
 * empty. */
static inline void weft__fifo_append(struct weft__fifo *q, struct weft__fifo *src)
{
	if (src->head == NULL)
		return;
	if (q->tail != NULL)
		q->tail->next = src->head;
	else
		q->head = src->head;
	q->tail = src->tail;
	src->head = src->tail = NULL;
}

/* Removes and returns the front element, or NULL when `q` is empty.  The
 * returned node's next is NULL. */
static inline struct weft__fifo_node *weft__fifo_pop_front(struct weft__fifo *q)
{
	struct weft__fifo_node *n = q->head;

	if (n == NULL)
		return NULL;
	q->head = n->next;
	if (q->head == NULL)
		q->tail = NULL;
	n->next = NULL;
	return n;
}

/* Moves up to `max` elements from the front of `q` into the chain `*out`
 * (which it initialises) and returns how many it moved. */
static inline size_t weft__fifo_pop_batch(struct weft__fifo *q, size_t max,
					  struct weft__fifo *out)
{
	struct weft__fifo_node *last = NULL;
	size_t got = 0;

	out->head = q->head;
	while (got < max && q->head != NULL) {
		last = q->head;
		q->head = last->next;
		got++;
	}
	if (q->head == NULL)
		q->tail = NULL;
	if (last != NULL)
		last->next = NULL;
	else
		out->head = NULL;
	out->tail = last;
	return got;
}

/* Empties `q` and returns everything it held as a chain. */
static inline struct weft__fifo weft__fifo_take_all(struct weft__fifo *q)
{
	struct weft__fifo all = *q;

	q->head = q->tail = NULL;
	return all;
}

#endif /* WEFT_SRC_COMMON_FIFO_H */

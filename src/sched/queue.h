/*
 * src/sched/queue.h - a worker's local run queue: a fixed ring with one
 * producer (the owning worker) and many stealers.  Private.
 */
#ifndef WEFT_SRC_SCHED_QUEUE_H
#define WEFT_SRC_SCHED_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#ifndef LOCAL_QUEUE_CAPACITY
#define LOCAL_QUEUE_CAPACITY 256u
#endif
#define LOCAL_QUEUE_MASK (LOCAL_QUEUE_CAPACITY - 1)

_Static_assert((LOCAL_QUEUE_CAPACITY & LOCAL_QUEUE_MASK) == 0,
	       "capacity is a power of two");

struct weft_task;

struct local_queue {
	/* Packed: low 32 bits "real" head (next to pop), high 32 bits
	 * "steal" head (first slot a stealer is still copying).  They are
	 * equal when no steal is in progress. */
	_Alignas(64) _Atomic uint64_t head;
	/* Written by the owner only. */
	_Alignas(64) _Atomic uint32_t tail;
	_Atomic(struct weft_task *) buffer[LOCAL_QUEUE_CAPACITY];
};

/*
 * Where pushes that overflow a full queue go: called by the owner with a
 * linked batch (through queue_next) of `n` tasks, first to last.
 */
typedef void (*local_queue_overflow_fn)(void *ctx, struct weft_task *first,
					struct weft_task *last, uint32_t n);

void weft__local_queue_init(struct local_queue *q);

/* Owner: pushes at the tail; on a full queue moves half of it plus `t` to
 * `overflow` in one batch. */
void weft__local_queue_push_back(struct local_queue *q, struct weft_task *t,
			   local_queue_overflow_fn overflow, void *ctx);

/* Owner: pops at the head; NULL when empty. */
struct weft_task *weft__local_queue_pop(struct local_queue *q);

/*
 * Stealer (any thread but src's owner, which must own `dst`): moves about
 * half of `src` into `dst` (which must be empty) and returns one of the
 * stolen tasks to run now, or NULL when nothing could be stolen.
 */
struct weft_task *weft__local_queue_steal_half(struct local_queue *src, struct local_queue *dst);

/* Number of tasks in the queue (approximate for non-owners). */
uint32_t weft__local_queue_len(struct local_queue *q);

/* Owner: how many pushes fit before the queue overflows (slots that a
 * stealer is still copying from count as taken).  Stealers only make it
 * grow meanwhile. */
uint32_t weft__local_queue_room(struct local_queue *q);

/* True when nothing is queued (approximate for non-owners). */
static inline bool weft__local_queue_is_empty(struct local_queue *q)
{
	return weft__local_queue_len(q) == 0;
}

#endif /* WEFT_SRC_SCHED_QUEUE_H */

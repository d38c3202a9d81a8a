/*
 * src/sched/queue.c - the local run queue.
 *
 * The protocol
 * ============
 *
 * A ring of LOCAL_QUEUE_CAPACITY task pointers, indexed by free-running 32-bit
 * counters (wrapping arithmetic; only differences are used).  The owner
 * alone writes `tail`.  `head` packs two counters: `real`, the next task to
 * pop, and `steal`, the first slot that a stealer may still be reading.  The
 * slots in [steal, tail) must not be overwritten; the tasks in [real, tail)
 * are available.
 *
 *  - push_back (owner): if tail - steal < capacity, write the slot, then
 *    publish it with a release store of tail.  Otherwise the queue is full:
 *    if no steal is in progress (steal == real), claim the first half with
 *    one CAS of head (real += half, steal += half) and hand those tasks and
 *    the new one to the injector as one batch; if a steal is in progress,
 *    the stealer is about to free room, so hand just the new task over.
 *    That test is needed for correctness, not only to avoid waiting: the
 *    CAS expects (real, real) as loaded, which then can only succeed while
 *    the queue is still full (the model's mutant 7 shows the failure).
 *  - pop (owner): CAS head from (steal, real) to (steal', real + 1), where
 *    steal' = real + 1 when no steal is in progress, else steal unchanged.
 *  - steal_half (stealer): read head; give up if a steal is in progress.
 *    Read tail (acquire), take n = ceil(available / 2), and CAS head from
 *    (s, r) to (s, r + n): this claims [r, r + n) while keeping `steal` at s
 *    so the owner will not overwrite the slots being copied.  Copy the
 *    tasks into the stealer's own queue, then CAS head's steal part up to
 *    the current real (the owner may have popped meanwhile), releasing the
 *    slots.  Exactly one stealer can be between its two CASes.
 *
 * Every task is claimed by exactly one CAS on head (pop, overflow or steal),
 * so none is run twice; a task is only ever removed by such a claim, so none
 * is lost.  test/model/queue.pml checks this over all interleavings at small
 * capacity (run by test/model/run-spin.sh).
 */
#include "queue.h"

#include <assert.h>
#include <stddef.h>

#include "task.h"

static inline uint32_t head_real(uint64_t h)
{
	return (uint32_t)h;
}

static inline uint32_t head_steal(uint64_t h)
{
	return (uint32_t)(h >> 32);
}

static inline uint64_t head_pack(uint32_t steal, uint32_t real)
{
	return ((uint64_t)steal << 32) | real;
}

void weft__local_queue_init(struct local_queue *q)
{
	uint32_t i;

	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	for (i = 0; i < LOCAL_QUEUE_CAPACITY; i++)
		atomic_init(&q->buffer[i], NULL);
}

uint32_t weft__local_queue_len(struct local_queue *q)
{
	/* Acquire: pairs with the CASes on head, so the count is not older
	 * than the tail read after it. */
	uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
	uint32_t t = atomic_load_explicit(&q->tail, memory_order_acquire);

	return t - head_real(h);
}

uint32_t weft__local_queue_room(struct local_queue *q)
{
	/* Acquire: as in push_back, a stealer's release of `steal` happens
	 * before we count its slots as free. */
	uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
	uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);

	return LOCAL_QUEUE_CAPACITY - (tail - head_steal(h));
}

/* Owner, on a full queue with no steal in progress: claims half and sends
 * it with `t` to the overflow sink.  Returns false when the CAS lost to a
 * stealer or a concurrent change (the caller retries the push). */
static bool push_overflow(struct local_queue *q, struct weft_task *t, uint32_t real,
			  uint32_t tail, local_queue_overflow_fn overflow, void *ctx)
{
	const uint32_t half = LOCAL_QUEUE_CAPACITY / 2;
	uint64_t expected = head_pack(real, real);
	struct weft_task *first, *prev;
	uint32_t i;

	/* Full, with no steal in progress: only then may half be claimed. */
	assert(tail - real == LOCAL_QUEUE_CAPACITY);
	(void)tail;
	/* Acquire/release: claims the slots against stealers; pairs with
	 * their CAS on head. */
	if (!atomic_compare_exchange_strong_explicit(
		    &q->head, &expected, head_pack(real + half, real + half),
		    memory_order_acq_rel, memory_order_relaxed))
		return false;
	first = atomic_load_explicit(&q->buffer[real & LOCAL_QUEUE_MASK], memory_order_relaxed);
	prev = first;
	for (i = 1; i < half; i++) {
		struct weft_task *next = atomic_load_explicit(
			&q->buffer[(real + i) & LOCAL_QUEUE_MASK], memory_order_relaxed);

		prev->queue_next = next;
		prev = next;
	}
	prev->queue_next = t;
	t->queue_next = NULL;
	overflow(ctx, first, t, half + 1);
	return true;
}

void weft__local_queue_push_back(struct local_queue *q, struct weft_task *t,
			   local_queue_overflow_fn overflow, void *ctx)
{
	for (;;) {
		/* Acquire: the stealer's release of `steal` happens before we
		 * reuse the slots it copied. */
		uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
		uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
		uint32_t steal = head_steal(h), real = head_real(h);

		if (tail - steal < LOCAL_QUEUE_CAPACITY) {
			atomic_store_explicit(&q->buffer[tail & LOCAL_QUEUE_MASK], t,
					      memory_order_relaxed);
			/* Release: publishes the slot before the tail moves;
			 * pairs with the acquire loads of tail in steal. */
			atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
			return;
		}
		if (steal != real) {
			/* A stealer is copying: it will free room, but do not
			 * wait for it. */
			t->queue_next = NULL;
			overflow(ctx, t, t, 1);
			return;
		}
		if (push_overflow(q, t, real, tail, overflow, ctx))
			return;
		/* A stealer moved head between our load and CAS: retry. */
	}
}

struct weft_task *weft__local_queue_pop(struct local_queue *q)
{
	/* Acquire: pairs with the stealers' CASes on head. */
	uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);

	for (;;) {
		uint32_t steal = head_steal(h), real = head_real(h);
		uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
		uint64_t next;

		if (real == tail)
			return NULL;
		next = steal == real ? head_pack(real + 1, real + 1)
				     : head_pack(steal, real + 1);
		/* AcqRel: claims the slot against stealers; pairs with their
		 * CASes on head. */
		if (atomic_compare_exchange_weak_explicit(&q->head, &h, next,
							  memory_order_acq_rel,
							  memory_order_acquire))
			return atomic_load_explicit(&q->buffer[real & LOCAL_QUEUE_MASK],
						    memory_order_relaxed);
	}
}

struct weft_task *weft__local_queue_steal_half(struct local_queue *src, struct local_queue *dst)
{
	uint32_t dst_tail = atomic_load_explicit(&dst->tail, memory_order_relaxed);
	/* Acquire: pairs with the owner's and other stealers' CASes. */
	uint64_t h = atomic_load_explicit(&src->head, memory_order_acquire);
	uint32_t steal, real, src_tail, n, i;
	struct weft_task *ret;
	/* Acquire: pairs with a stealer of dst releasing its slots. */
	uint64_t dst_head = atomic_load_explicit(&dst->head, memory_order_acquire);

	/* Half of src must fit behind dst's slots that are still in use. */
	if (dst_tail - head_steal(dst_head) > LOCAL_QUEUE_CAPACITY / 2)
		return NULL;
	for (;;) {
		steal = head_steal(h);
		real = head_real(h);
		if (steal != real)
			return NULL; /* another stealer is at work */
		/* Acquire: pairs with the owner's release store of tail, so
		 * the slots below it are visible. */
		src_tail = atomic_load_explicit(&src->tail, memory_order_acquire);
		n = src_tail - real;
		n -= n / 2;
		if (n == 0)
			return NULL;
		/* AcqRel: claims [real, real + n); pairs with the owner's pop
		 * and overflow CASes. */
		if (atomic_compare_exchange_weak_explicit(&src->head, &h,
							  head_pack(steal, real + n),
							  memory_order_acq_rel,
							  memory_order_acquire))
			break;
	}
	for (i = 0; i < n; i++) {
		struct weft_task *t = atomic_load_explicit(
			&src->buffer[(real + i) & LOCAL_QUEUE_MASK], memory_order_relaxed);

		atomic_store_explicit(&dst->buffer[(dst_tail + i) & LOCAL_QUEUE_MASK], t,
				      memory_order_relaxed);
	}
	/* Release the slots: move steal up to the current real. */
	h = atomic_load_explicit(&src->head, memory_order_acquire);
	for (;;) {
		uint64_t next = head_pack(head_real(h), head_real(h));

		/* AcqRel: release orders our slot reads before the owner
		 * reuses them (pairs with the acquire load in push_back). */
		if (atomic_compare_exchange_weak_explicit(&src->head, &h, next,
							  memory_order_acq_rel,
							  memory_order_acquire))
			break;
	}
	/* Run the last stolen task now; publish the rest. */
	n--;
	ret = atomic_load_explicit(&dst->buffer[(dst_tail + n) & LOCAL_QUEUE_MASK],
				   memory_order_relaxed);
	if (n > 0)
		/* Release: publishes the copied slots; pairs with the acquire
		 * loads of tail by stealers of dst. */
		atomic_store_explicit(&dst->tail, dst_tail + n, memory_order_release);
	return ret;
}

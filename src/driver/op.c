/*
 * src/driver/op.c - operation slots and the future-facing operation layer.
 *
 * The slot protocol
 * =================
 *
 * Every operation lives in a slot of a slab (driver.h).  A slot moves
 * FREE -> QUEUED -> INFLIGHT -> DONE -> FREE, every step under the slab's
 * lock, and its generation grows each time it is freed.  The kernel knows
 * an operation only as (index, generation) packed in its user data, so a
 * completion is matched against the slot's current generation and a late
 * one (the slot was freed and reused meanwhile) is counted and dropped.
 *
 * The future holds the same (index, generation) and nothing else: while
 * it lives it may poll (DONE: take the result, free the slot; otherwise
 * store its waker), and when it is dropped:
 *  - DONE or QUEUED-and-not-yet-handed: the slot is freed now;
 *  - INFLIGHT: the slot is marked orphan and a cancel is requested; the
 *    final completion frees it (and closes the fd an accept produced).
 * The slot owns the buffer the kernel reads from or writes to, so a
 * dropped future's memory is never touched after its drop.
 *
 * On io_uring only the ring's owner thread touches the ring.  A thread
 * that is not the owner (a plain thread in block_on, a drop on another
 * worker) appends the slot to the slab's request queue and kicks the
 * owner, which submits or cancels it at its next reap.  A slot in that
 * queue carries `queued`, and is never freed by anyone but the owner that
 * pops it, so the queue never names a reused slot.
 */
#include "driver.h"
#include "../common/lock.h"
#include "../sched/runtime.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define CHUNK 64u

struct weft__driver_counters weft__driver_counters;

int weft__slab_init(struct op_slab *s, const weft_allocator *alloc)
{
	int err = weft__mutex_init(&s->lock);

	if (err != 0)
		return err;
	s->chunks = NULL;
	s->nchunks = 0;
	s->free_head = WEFT__OP_NONE;
	s->inflight = 0;
	s->req_head = s->req_tail = WEFT__OP_NONE;
	atomic_init(&s->req_count, 0);
	s->closed = false;
	s->alloc = alloc;
	return 0;
}

void weft__slab_finish(struct op_slab *s)
{
	uint32_t c, i;

	for (c = 0; c < s->nchunks; c++) {
		for (i = 0; i < CHUNK; i++) {
			struct weft__op *op = &s->chunks[c][i];

			if (op->cap != 0)
				weft__free(s->alloc, op->buf, op->cap, 16);
			weft_waker_drop(&op->waker);
		}
		weft__free(s->alloc, s->chunks[c], CHUNK * sizeof(struct weft__op),
			   _Alignof(struct weft__op));
	}
	if (s->chunks != NULL)
		weft__free(s->alloc, s->chunks, s->nchunks * sizeof(*s->chunks),
			   _Alignof(struct weft__op *));
	pthread_mutex_destroy(&s->lock);
}

struct weft__op *weft__slab_get(struct op_slab *s, uint32_t index)
{
	if (index / CHUNK >= s->nchunks)
		return NULL;
	return &s->chunks[index / CHUNK][index % CHUNK];
}

/* Adds a chunk of free slots (lock held).  Returns 0 or -ENOMEM. */
static int slab_grow(struct op_slab *s)
{
	struct weft__op **chunks;
	struct weft__op *chunk;
	uint32_t i, base = s->nchunks * CHUNK;

	if (s->nchunks >= (UINT32_MAX - 1) / CHUNK)
		return -ENOMEM;
	chunk = weft__alloc(s->alloc, CHUNK * sizeof(*chunk), _Alignof(struct weft__op));
	if (chunk == NULL)
		return -ENOMEM;
	chunks = weft__alloc(s->alloc, (s->nchunks + 1) * sizeof(*chunks),
			     _Alignof(struct weft__op *));
	if (chunks == NULL) {
		weft__free(s->alloc, chunk, CHUNK * sizeof(*chunk), _Alignof(struct weft__op));
		return -ENOMEM;
	}
	if (s->nchunks != 0) {
		memcpy(chunks, s->chunks, s->nchunks * sizeof(*chunks));
		weft__free(s->alloc, s->chunks, s->nchunks * sizeof(*chunks),
			   _Alignof(struct weft__op *));
	}
	memset(chunk, 0, CHUNK * sizeof(*chunk));
	for (i = 0; i < CHUNK; i++) {
		chunk[i].gen = 1;
		chunk[i].state = OP_FREE;
		chunk[i].next = i + 1 < CHUNK ? base + i + 1 : s->free_head;
	}
	chunks[s->nchunks] = chunk;
	s->chunks = chunks;
	s->nchunks++;
	s->free_head = base;
	return 0;
}

/* Takes a free slot (lock held); WEFT__OP_NONE on -ENOMEM. */
static uint32_t slab_take(struct op_slab *s)
{
	uint32_t index;

	if (s->free_head == WEFT__OP_NONE && slab_grow(s) < 0)
		return WEFT__OP_NONE;
	index = s->free_head;
	s->free_head = weft__slab_get(s, index)->next;
	return index;
}

void weft__slab_release(struct op_slab *s, uint32_t index)
{
	struct weft__op *op = weft__slab_get(s, index);

	if (op->state == OP_INFLIGHT)
		s->inflight--;
	if (op->cap != 0)
		weft__free(s->alloc, op->buf, op->cap, 16);
	op->buf = NULL;
	op->cap = op->len = 0;
	weft_waker_drop(&op->waker);
	op->gen++;
	if (op->gen == 0)
		op->gen = 1;
	op->state = OP_FREE;
	op->orphan = op->cancel_requested = op->queued = false;
	op->next = s->free_head;
	s->free_head = index;
}

static void push_request(struct op_slab *s, uint32_t index)
{
	struct weft__op *op = weft__slab_get(s, index);

	op->queued = true;
	op->next = WEFT__OP_NONE;
	if (s->req_tail != WEFT__OP_NONE)
		weft__slab_get(s, s->req_tail)->next = index;
	else
		s->req_head = index;
	s->req_tail = index;
	/* SeqCst: the owner marks itself sleeping and then reads this count;
	 * we bump it and then read its sleeping mark (weft__drv_kick). */
	atomic_fetch_add_explicit(&s->req_count, 1, memory_order_seq_cst);
}

uint32_t weft__slab_pop_request(struct op_slab *s)
{
	uint32_t index = s->req_head;
	struct weft__op *op;

	if (index == WEFT__OP_NONE)
		return index;
	op = weft__slab_get(s, index);
	s->req_head = op->next;
	if (s->req_head == WEFT__OP_NONE)
		s->req_tail = WEFT__OP_NONE;
	op->queued = false;
	atomic_fetch_sub_explicit(&s->req_count, 1, memory_order_relaxed);
	return index;
}

static void close_yielded(struct weft__op *op, int32_t res)
{
	if (op->kind == WEFT__OP_ACCEPT && res >= 0) {
		close(res);
		atomic_fetch_add_explicit(&weft__driver_counters.fd_closed, 1,
					  memory_order_relaxed);
	}
}

bool weft__op_complete(struct op_slab *s, uint32_t index, uint32_t gen, int32_t res)
{
	struct weft__op *op;
	weft_waker w = { NULL, NULL };

	pthread_mutex_lock(&s->lock);
	op = weft__slab_get(s, index);
	if (op == NULL || op->gen != gen || op->state != OP_INFLIGHT) {
		pthread_mutex_unlock(&s->lock);
		atomic_fetch_add_explicit(&weft__driver_counters.stale, 1,
					  memory_order_relaxed);
		return false;
	}
	s->inflight--;
	op->state = OP_DONE;
	op->result = res;
	if (op->orphan) {
		close_yielded(op, res);
		atomic_fetch_add_explicit(&weft__driver_counters.orphan_freed, 1,
					  memory_order_relaxed);
		/* A queued slot is freed by the owner that pops it. */
		if (!op->queued)
			weft__slab_release(s, index);
	} else {
		w = op->waker;
		op->waker.vtable = NULL;
		op->waker.data = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	weft_waker_wake(&w);
	return true;
}

/* ---- the future-facing layer --------------------------------------------- */

static struct weft__drv_thread *pick_thread(struct weft__driver *d, bool *own)
{
	struct weft__drv_thread *dt = weft__ctx.drv;
	static _Atomic unsigned next;

	if (dt != NULL && dt->driver == d) {
		*own = true;
		return dt;
	}
	*own = false;
	/* Relaxed: only spreads forwarded operations over the rings. */
	return d->threads[atomic_fetch_add_explicit(&next, 1, memory_order_relaxed) %
			  d->nthreads];
}

static int fill_slot(struct op_slab *s, struct weft__op *op, const struct weft__io_req *req)
{
	op->kind = (uint8_t)req->kind;
	op->fd = req->fd;
	op->events = req->events;
	op->result = 0;
	op->len = 0;
	if (req->kind == WEFT__OP_READ || req->kind == WEFT__OP_WRITE) {
		size_t cap = req->len != 0 ? req->len : 1;

		op->buf = weft__alloc(s->alloc, cap, 16);
		if (op->buf == NULL)
			return -ENOMEM;
		op->cap = cap;
		op->len = req->len;
		if (req->kind == WEFT__OP_WRITE && req->len != 0)
			memcpy(op->buf, req->data, req->len);
	}
	return 0;
}

_Atomic long weft__driver_fail_submit_at;

/* The submission test hook (driver.h): true when this submission is the
 * k-th one the hook was set to fail. */
static bool injected_submit_failure(void)
{
	long k = atomic_load_explicit(&weft__driver_fail_submit_at, memory_order_relaxed);

	if (k <= 0)
		return false;
	/* Relaxed: the hook is for tests that submit from one thread. */
	atomic_store_explicit(&weft__driver_fail_submit_at, k - 1, memory_order_relaxed);
	return k == 1;
}

int weft__io_start(struct weft__io_op *h, const struct weft__io_req *req)
{
	struct weft_runtime *rt = weft__ctx.rt;
	struct weft__driver *d = rt != NULL ? rt->driver : NULL;
	struct weft__drv_thread *dt;
	struct op_slab *s;
	struct weft__op *op;
	uint32_t index;
	bool own, kick = false;
	int err;

	if (d == NULL)
		return -EINVAL;
	dt = pick_thread(d, &own);
	s = dt->slab;
	pthread_mutex_lock(&s->lock);
	err = -ECANCELED;
	if (s->closed)
		goto out;
	err = -ENOMEM;
	index = slab_take(s);
	if (index == WEFT__OP_NONE)
		goto out;
	op = weft__slab_get(s, index);
	op->state = OP_QUEUED;
	err = fill_slot(s, op, req);
	if (err == 0 && injected_submit_failure())
		err = -EBUSY;
	if (err == 0 && (own || d->ops->any_thread)) {
		err = d->ops->submit(dt, op, index);
	} else if (err == 0) {
		push_request(s, index);
		kick = true;
	}
	if (err < 0) {
		weft__slab_release(s, index);
		goto out;
	}
	h->dt = dt;
	h->index = index;
	h->gen = op->gen;
out:
	pthread_mutex_unlock(&s->lock);
	if (kick)
		weft__drv_kick(dt);
	return err;
}

weft_poll weft__io_poll(struct weft__io_op *h, weft_cx *cx, int32_t *result,
			void *out, size_t out_len)
{
	struct op_slab *s = h->dt->slab;
	struct weft__op *op;

	pthread_mutex_lock(&s->lock);
	op = weft__slab_get(s, h->index);
	if (op->state != OP_DONE) {
		weft_waker_store(&op->waker, weft_cx_waker(cx));
		pthread_mutex_unlock(&s->lock);
		return WEFT_PENDING;
	}
	*result = op->result;
	if (op->kind == WEFT__OP_READ && op->result > 0 && out != NULL) {
		size_t n = (size_t)op->result < out_len ? (size_t)op->result : out_len;

		memcpy(out, op->buf, n);
	}
	weft__slab_release(s, h->index);
	pthread_mutex_unlock(&s->lock);
	h->dt = NULL;
	return WEFT_READY;
}

void weft__io_cancel(struct weft__io_op *h)
{
	struct weft__drv_thread *dt = h->dt;
	struct op_slab *s;
	struct weft__op *op;
	bool kick = false;

	if (dt == NULL)
		return;
	s = dt->slab;
	h->dt = NULL;
	pthread_mutex_lock(&s->lock);
	op = weft__slab_get(s, h->index);
	if (op->state == OP_DONE && !op->queued) {
		close_yielded(op, op->result);
		weft__slab_release(s, h->index);
	} else if (op->state == OP_DONE || op->state == OP_QUEUED) {
		/* In the owner's queue: the owner frees it when it pops it. */
		op->orphan = true;
		weft_waker_drop(&op->waker);
	} else {
		op->orphan = true;
		weft_waker_drop(&op->waker);
		if (!op->cancel_requested) {
			op->cancel_requested = true;
			if (weft__ctx.drv == dt || dt->driver->ops->any_thread) {
				dt->driver->ops->cancel(dt, op, h->index);
			} else {
				push_request(s, h->index);
				kick = true;
			}
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (kick)
		weft__drv_kick(dt);
}

bool weft__io_completion_based(void)
{
	struct weft_runtime *rt = weft__ctx.rt;

	return rt != NULL && rt->driver != NULL && !rt->driver->ops->any_thread;
}

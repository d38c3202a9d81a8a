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
 * pops it, so the queue never names a reused slot.  A drop that hands a
 * cancel over returns only once the owner took it (await_handover).
 */
#include "driver.h"
#include "../common/lock.h"
#include "../common/platform.h"
#include "../sched/runtime.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#ifdef _WIN32
/* An accept's yield on IOCP is a socket: close() is closesocket there. */
#include "../net/platform_win32.h"
#endif

#define CHUNK WEFT__SLAB_CHUNK

struct weft__driver_counters weft__driver_counters;

static void close_queued(struct weft__op *op);
_Atomic unsigned weft__driver_mask_features;

int weft__slab_init(struct op_slab *s, const weft_allocator *alloc)
{
	weft__lock_init(&s->lock);
	s->chunks = NULL;
	s->nchunks = 0;
	s->free_head = WEFT__OP_NONE;
	s->inflight = 0;
	s->req_head = s->req_tail = WEFT__OP_NONE;
	atomic_init(&s->req_count, 0);
	atomic_init(&s->drained, 0);
	atomic_init(&s->drain_waiters, 0);
	s->closed = false;
	s->alloc = alloc;
	s->pool = NULL;
	return 0;
}

void weft__slab_finish(struct op_slab *s)
{
	uint32_t c, i;

	for (c = 0; c < s->nchunks; c++) {
		for (i = 0; i < CHUNK; i++) {
			struct weft__op *op = &s->chunks[c][i];

			/* A multishot accept ended by the runtime's exit still
			 * holds what nobody took. */
			if (op->kind == WEFT__OP_ACCEPT_MULTI && op->state != OP_FREE)
				close_queued(op);
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
}

/* Adds a chunk of free slots (lock held).  Returns 0 or -ENOMEM. */
static int slab_grow(struct op_slab *s)
{
	struct weft__op **chunks;
	struct weft__op *chunk;
	uint32_t i, base = s->nchunks * CHUNK;

	/* Indices stay below 2^30: uring.c marks multishot user data with
	 * the top two bits. */
	if (s->nchunks >= 0x3fffffffu / CHUNK)
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

/* Gives every buffer a receive slot still holds back to the pool (lock
 * held). */
static void recycle_queued(struct op_slab *s, struct weft__op *op)
{
	uint32_t capn = (uint32_t)(op->cap / (2 * sizeof(uint32_t)));
	uint32_t *q = op->buf;

	while (op->qcount != 0) {
		s->pool->recycle(s->pool, q[2 * op->qhead]);
		op->qhead = (op->qhead + 1) % capn;
		op->qcount--;
	}
}

void weft__slab_release(struct op_slab *s, uint32_t index)
{
	struct weft__op *op = weft__slab_get(s, index);

	if (op->kind == WEFT__OP_RECV_MULTI && op->qcount != 0)
		recycle_queued(s, op);
	if (op->state == OP_INFLIGHT)
		s->inflight--;
	if (op->cap != 0)
		weft__free(s->alloc, op->buf, op->cap, 16);
	op->buf = NULL;
	op->cap = op->len = 0;
	op->qhead = op->qcount = 0;
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

void weft__slab_note_drained(struct op_slab *s)
{
	/* SeqCst (both): we bump the count and then read the waiters; a
	 * waiter counts itself and then reads the count (await_handover). */
	atomic_fetch_add_explicit(&s->drained, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&s->drain_waiters, memory_order_seq_cst) != 0)
		weft__addr_wake_all(&s->drained);
}

/*
 * The descriptors a let-go operation leaves behind: the fd an accept or
 * an open yielded, and the fd of a close that never ran (its cancel won,
 * or it never left the request queue: `res` is then -ECANCELED).
 */
static void count_fd_closed(void)
{
	atomic_fetch_add_explicit(&weft__driver_counters.fd_closed, 1, memory_order_relaxed);
}

/* Closes every fd a multishot accept still holds in its queue. */
static void close_queued(struct weft__op *op)
{
	uint32_t capn = (uint32_t)(op->cap / sizeof(int32_t));

	while (op->qcount != 0) {
		close(((int32_t *)op->buf)[op->qhead]);
		count_fd_closed();
		op->qhead = (op->qhead + 1) % capn;
		op->qcount--;
	}
}

void weft__op_close_yielded(struct weft__op *op, int32_t res)
{
	if (op->kind == WEFT__OP_ACCEPT_MULTI) {
		close_queued(op);
		return;
	}
	if (op->kind == WEFT__OP_CLOSE && res == -ECANCELED) {
		close(op->fd);
		return;
	}
	if ((op->kind == WEFT__OP_ACCEPT || op->kind == WEFT__OP_OPENAT) && res >= 0) {
		close(res);
		atomic_fetch_add_explicit(&weft__driver_counters.fd_closed, 1,
					  memory_order_relaxed);
	}
}

bool weft__op_complete(struct op_slab *s, uint32_t index, uint32_t gen, int32_t res)
{
	struct weft__op *op;
	weft_waker w = { NULL, NULL };

	weft__slab_lock(s);
	op = weft__slab_get(s, index);
	if (op == NULL || op->gen != gen || op->state != OP_INFLIGHT) {
		weft__slab_unlock(s);
		atomic_fetch_add_explicit(&weft__driver_counters.stale, 1,
					  memory_order_relaxed);
		return false;
	}
	s->inflight--;
	op->state = OP_DONE;
	op->result = res;
	if (op->orphan) {
		weft__op_close_yielded(op, res);
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
	weft__slab_unlock(s);
	weft_waker_wake(&w);
	return true;
}

/* Appends fd to a multishot slot's queue (lock held), growing it; false
 * when it cannot grow. */
static bool queue_push(struct op_slab *s, struct weft__op *op, int32_t fd)
{
	uint32_t capn = (uint32_t)(op->cap / sizeof(int32_t)), i;

	if (op->qcount == capn) {
		int32_t *nb = weft__alloc(s->alloc, op->cap * 2, 16), *ob = op->buf;

		if (nb == NULL)
			return false;
		for (i = 0; i < op->qcount; i++)
			nb[i] = ob[(op->qhead + i) % capn];
		weft__free(s->alloc, ob, op->cap, 16);
		op->buf = nb;
		op->cap *= 2;
		op->qhead = 0;
		capn *= 2;
	}
	((int32_t *)op->buf)[(op->qhead + op->qcount) % capn] = fd;
	op->qcount++;
	return true;
}

bool weft__op_complete_multi(struct op_slab *s, uint32_t index, uint32_t gen, int32_t res,
			     bool more)
{
	struct weft__op *op;
	weft_waker w = { NULL, NULL };

	weft__slab_lock(s);
	op = weft__slab_get(s, index);
	if (op == NULL || op->gen != gen || op->state != OP_INFLIGHT) {
		weft__slab_unlock(s);
		atomic_fetch_add_explicit(&weft__driver_counters.stale, 1,
					  memory_order_relaxed);
		if (res >= 0)
			close(res); /* nobody can ever take it */
		return false;
	}
	if (res >= 0 && (op->orphan || !queue_push(s, op, res))) {
		close(res);
		count_fd_closed();
	}
	if (!more) {
		s->inflight--;
		op->state = OP_DONE;
		op->result = res < 0 ? res : -ECANCELED;
		if (op->orphan) {
			close_queued(op);
			atomic_fetch_add_explicit(&weft__driver_counters.orphan_freed, 1,
						  memory_order_relaxed);
			if (!op->queued)
				weft__slab_release(s, index);
		}
	}
	if (!op->orphan) {
		w = op->waker;
		op->waker.vtable = NULL;
		op->waker.data = NULL;
	}
	weft__slab_unlock(s);
	weft_waker_wake(&w);
	return true;
}

/* Appends (bid, n) to a receive slot's queue (lock held), growing it;
 * false when it cannot grow. */
static bool recv_queue_push(struct op_slab *s, struct weft__op *op, uint32_t bid, uint32_t n)
{
	uint32_t capn = (uint32_t)(op->cap / (2 * sizeof(uint32_t))), i, *q = op->buf;

	if (op->qcount == capn) {
		uint32_t *nq = weft__alloc(s->alloc, op->cap * 2, 16);

		if (nq == NULL)
			return false;
		for (i = 0; i < op->qcount; i++) {
			nq[2 * i] = q[2 * ((op->qhead + i) % capn)];
			nq[2 * i + 1] = q[2 * ((op->qhead + i) % capn) + 1];
		}
		weft__free(s->alloc, q, op->cap, 16);
		op->buf = q = nq;
		op->cap *= 2;
		op->qhead = 0;
		capn *= 2;
	}
	i = (op->qhead + op->qcount) % capn;
	q[2 * i] = bid;
	q[2 * i + 1] = n;
	op->qcount++;
	return true;
}

bool weft__op_complete_recv(struct op_slab *s, uint32_t index, uint32_t gen, int32_t res,
			    bool more, bool has_buf, uint32_t bid)
{
	struct weft__op *op;
	weft_waker w = { NULL, NULL };
	bool keep;

	weft__slab_lock(s);
	op = weft__slab_get(s, index);
	if (op == NULL || op->gen != gen || op->state != OP_INFLIGHT) {
		if (has_buf && s->pool != NULL)
			s->pool->recycle(s->pool, bid);
		weft__slab_unlock(s);
		atomic_fetch_add_explicit(&weft__driver_counters.stale, 1,
					  memory_order_relaxed);
		return false;
	}
	if (res == -ENOBUFS)
		atomic_fetch_add_explicit(&weft__driver_counters.recv_dry, 1,
					  memory_order_relaxed);
	keep = has_buf && res > 0 && !op->orphan;
	if (keep && !recv_queue_push(s, op, bid, (uint32_t)res)) {
		keep = false;
		res = -ENOMEM; /* the bytes are lost: end the stream with it */
	}
	if (has_buf && !keep)
		s->pool->recycle(s->pool, bid);
	if (!more || res == -ENOMEM) {
		s->inflight--;
		op->state = OP_DONE;
		/* A last completion that carried bytes (the kernel stops a
		 * multishot receive when its completion queue overflows) ends
		 * the operation like a dry pool: start another. */
		op->result = res > 0 ? -ENOBUFS : res;
		if (op->orphan) {
			atomic_fetch_add_explicit(&weft__driver_counters.orphan_freed, 1,
						  memory_order_relaxed);
			if (!op->queued)
				weft__slab_release(s, index);
		}
	}
	if (!op->orphan) {
		w = op->waker;
		op->waker.vtable = NULL;
		op->waker.data = NULL;
	}
	weft__slab_unlock(s);
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

/* Bytes of slot buffer an operation needs. */
static size_t slot_bytes(const struct weft__io_req *req)
{
	switch (req->kind) {
	case WEFT__OP_READ:
	case WEFT__OP_WRITE:
	case WEFT__OP_RECV:
	case WEFT__OP_SEND:
	case WEFT__OP_READ_AT:
	case WEFT__OP_WRITE_AT:
	case WEFT__OP_OPENAT:
	case WEFT__OP_CONNECT:
		return req->len != 0 ? req->len : 1;
	case WEFT__OP_STATX:
		return WEFT__STATX_ROOM + req->len;
	case WEFT__OP_ACCEPT_MULTI:
		return 16 * sizeof(int32_t);
	case WEFT__OP_RECV_MULTI:
		return 16 * 2 * sizeof(uint32_t);
	default:
		return 0;
	}
}

static int fill_slot(struct op_slab *s, struct weft__op *op, const struct weft__io_req *req)
{
	size_t cap = slot_bytes(req);

	op->kind = (uint8_t)req->kind;
	op->fd = req->fd;
	op->events = req->events;
	op->aux = req->aux;
	op->off = req->off;
	op->result = 0;
	op->len = 0;
	if (cap == 0)
		return 0;
	op->buf = weft__alloc(s->alloc, cap, 16);
	if (op->buf == NULL)
		return -ENOMEM;
	op->cap = cap;
	op->len = req->kind == WEFT__OP_ACCEPT_MULTI || req->kind == WEFT__OP_RECV_MULTI
			  ? 0
			  : req->len;
	op->qhead = op->qcount = 0;
	if (req->len == 0 || req->data == NULL)
		return 0;
	/* Writes and paths are copied: the kernel reads the slot's copy. */
	if (req->kind == WEFT__OP_STATX)
		memcpy((char *)op->buf + WEFT__STATX_ROOM, req->data, req->len);
	else if (req->kind != WEFT__OP_READ && req->kind != WEFT__OP_READ_AT &&
		 req->kind != WEFT__OP_RECV)
		memcpy(op->buf, req->data, req->len);
	return 0;
}

_Atomic long weft__driver_fail_submit_at;
_Atomic int weft__driver_fail_submit_err;

/* The provided-buffer pool size knob (driver.h); defined here, beside the
 * other test knobs, so that every build has it, io_uring or not. */
_Atomic unsigned weft__driver_pool_bufs;

/* The submission test hook (driver.h): the error this submission fails
 * with when it is the k-th one the hook was set to fail, else 0.  Exactly
 * one submission fails even when several threads submit. */
static int injected_submit_failure(void)
{
	long k = atomic_load_explicit(&weft__driver_fail_submit_at, memory_order_relaxed);
	int err;

	/* Relaxed: a counter only; the test reads its results after joins. */
	while (k > 0 && !atomic_compare_exchange_weak_explicit(&weft__driver_fail_submit_at, &k,
							       k - 1, memory_order_relaxed,
							       memory_order_relaxed))
		;
	if (k != 1)
		return 0;
	err = atomic_load_explicit(&weft__driver_fail_submit_err, memory_order_relaxed);
	return err < 0 ? err : -EBUSY;
}

/* The poll that weft__io_start_poll makes in the same critical section as
 * the start (lock held): 1 with the result when the submission completed
 * at once (the slot is freed), else 0 with the waker stored. */
static int first_poll(struct op_slab *s, struct weft__io_op *h, struct weft__op *op,
		      weft_cx *cx, int32_t *result)
{
	if (op->state != OP_DONE) {
		weft_waker_store(&op->waker, weft_cx_waker(cx));
		return 0;
	}
	*result = op->result;
	weft__slab_release(s, h->index);
	h->dt = NULL;
	return 1;
}

/* weft__io_start, and with `cx` its first poll as well (one lock). */
static int start(struct weft__io_op *h, const struct weft__io_req *req, weft_cx *cx,
		 int32_t *result)
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
	weft__slab_lock(s);
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
	if (d->ready == NULL && req->kind == WEFT__OP_POLL)
		op->events &= ~WEFT__POLL_EDGE; /* only readiness backends know it */
	if (err == 0)
		err = injected_submit_failure();
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
	weft__drv_count_submit(dt);
	if (cx != NULL)
		err = first_poll(s, h, op, cx, result);
out:
	weft__slab_unlock(s);
	if (kick)
		weft__drv_kick(dt);
	return err;
}

int weft__io_start(struct weft__io_op *h, const struct weft__io_req *req)
{
	return start(h, req, NULL, NULL);
}

int weft__io_start_poll(struct weft__io_op *h, const struct weft__io_req *req, weft_cx *cx,
			int32_t *result)
{
	if (cx == NULL || result == NULL)
		return -EINVAL;
	return start(h, req, cx, result);
}

weft_poll weft__io_poll(struct weft__io_op *h, weft_cx *cx, int32_t *result,
			void *out, size_t out_len)
{
	struct op_slab *s = h->dt->slab;
	struct weft__op *op;

	weft__slab_lock(s);
	op = weft__slab_get(s, h->index);
	if (op->state != OP_DONE) {
		weft_waker_store(&op->waker, weft_cx_waker(cx));
		weft__slab_unlock(s);
		return WEFT_PENDING;
	}
	*result = op->result;
	if ((op->kind == WEFT__OP_READ || op->kind == WEFT__OP_READ_AT ||
	     op->kind == WEFT__OP_RECV) && op->result > 0 && out != NULL) {
		size_t n = (size_t)op->result < out_len ? (size_t)op->result : out_len;

		memcpy(out, op->buf, n);
	} else if (op->kind == WEFT__OP_STATX && op->result == 0 && out != NULL) {
		memcpy(out, op->buf, out_len < WEFT__STATX_ROOM ? out_len : WEFT__STATX_ROOM);
	}
	weft__slab_release(s, h->index);
	weft__slab_unlock(s);
	h->dt = NULL;
	return WEFT_READY;
}

weft_poll weft__io_poll_multi(struct weft__io_op *h, weft_cx *cx, int32_t *result)
{
	struct op_slab *s = h->dt->slab;
	struct weft__op *op;

	weft__slab_lock(s);
	op = weft__slab_get(s, h->index);
	if (op->qcount != 0) {
		*result = ((int32_t *)op->buf)[op->qhead];
		op->qhead = (op->qhead + 1) % (uint32_t)(op->cap / sizeof(int32_t));
		op->qcount--;
		weft__slab_unlock(s);
		return WEFT_READY;
	}
	if (op->state != OP_DONE) {
		weft_waker_store(&op->waker, weft_cx_waker(cx));
		weft__slab_unlock(s);
		return WEFT_PENDING;
	}
	*result = op->result;
	weft__slab_release(s, h->index);
	weft__slab_unlock(s);
	h->dt = NULL;
	return WEFT_READY;
}

/* Copies queued bytes of receive slot `op` to out (lock held); returns
 * how many.  Emptied buffers go back to the pool. */
static size_t recv_take(struct op_slab *s, struct weft__op *op, char *out, size_t len)
{
	uint32_t capn = (uint32_t)(op->cap / (2 * sizeof(uint32_t))), *q = op->buf;
	size_t got = 0;

	while (op->qcount != 0 && got < len) {
		uint32_t bid = q[2 * op->qhead], n = q[2 * op->qhead + 1];
		size_t k = n - (uint32_t)op->off;

		if (k > len - got)
			k = len - got;
		memcpy(out + got, s->pool->mem + (size_t)bid * s->pool->size + op->off, k);
		got += k;
		op->off += k;
		if (op->off == n) {
			s->pool->recycle(s->pool, bid);
			op->off = 0;
			op->qhead = (op->qhead + 1) % capn;
			op->qcount--;
		}
	}
	return got;
}

weft_poll weft__io_poll_recv(struct weft__io_op *h, weft_cx *cx, void *out, size_t len,
			     long *result)
{
	struct op_slab *s = h->dt->slab;
	struct weft__op *op;

	weft__slab_lock(s);
	op = weft__slab_get(s, h->index);
	if (op->qcount != 0) {
		*result = (long)recv_take(s, op, out, len);
		weft__slab_unlock(s);
		return WEFT_READY;
	}
	if (op->state != OP_DONE) {
		weft_waker_store(&op->waker, weft_cx_waker(cx));
		weft__slab_unlock(s);
		return WEFT_PENDING;
	}
	*result = op->result;
	weft__slab_release(s, h->index);
	weft__slab_unlock(s);
	h->dt = NULL;
	return WEFT_READY;
}

/* What weft__io_cancel_sent and weft__io_cancel_recv hand back. */
struct cancel_out {
	long sent;      /* SEND: the bytes it wrote, -1 unknown */
	void *out;      /* RECV: where a completed receive's bytes go */
	size_t out_len;
	long got;       /* RECV: the bytes copied to out, -1 none */
};

/* What a completed slot hands back to a cancel (lock held). */
static void cancel_done(struct weft__op *op, struct cancel_out *o)
{
	o->sent = op->result > 0 ? op->result : 0;
	if (op->kind == WEFT__OP_RECV && op->result > 0 && o->out != NULL) {
		size_t n = (size_t)op->result < o->out_len ? (size_t)op->result : o->out_len;

		memcpy(o->out, op->buf, n);
		o->got = (long)n;
	}
}

/*
 * A cancel handed to the owner of another ring takes effect only when that
 * owner submits it, and until then the operation is still armed in the
 * kernel: a read would consume bytes that arrive meanwhile (and lose them
 * with its orphan), a write or an accept would still happen.  So a drop
 * that had to hand its cancel over waits here until the owner took it.
 * Readiness waits are the exception: a late one has no effect, and they
 * are most of what sockets drop.  (A cancel the kernel cannot stop at
 * once, an operation already running in io-wq, still finishes later: the
 * kernel's limit, docs/driver.md.)
 */
static bool handover_waits(uint8_t kind)
{
	return kind != WEFT__OP_POLL;
}

/* Owners wait in slices: two workers may wait for each other's cancels
 * while their own are still queued, and each drains its own between
 * slices.  A thread without a ring just sleeps until woken. */
#define HANDOVER_SLICE_NS 200000u

/*
 * Waits until the owner of `dt` popped the request for slot (index, gen),
 * draining the caller's own ring meanwhile.  On a driver whose threads
 * have no fixed owner (the current-thread runtime), a caller that finds
 * nobody driving drains `dt` itself.  Lock not held.
 */
static void await_handover(struct weft__drv_thread *dt, uint32_t index, uint32_t gen)
{
	struct op_slab *s = dt->slab;
	struct weft__drv_thread *self = weft__ctx.drv;
	struct weft__driver *d = dt->driver;

	/* SeqCst: pairs with weft__slab_note_drained (see there). */
	atomic_fetch_add_explicit(&s->drain_waiters, 1, memory_order_seq_cst);
	for (;;) {
		/* SeqCst: see weft__slab_note_drained. */
		uint32_t seen = atomic_load_explicit(&s->drained, memory_order_seq_cst);
		struct weft__op *op;
		bool taken;

		weft__slab_lock(s);
		op = weft__slab_get(s, index);
		taken = op->gen != gen || !op->queued;
		weft__slab_unlock(s);
		if (taken)
			break;
		if (d->drain_if_free != NULL && d->drain_if_free(d, dt))
			continue;
		if (self != NULL)
			weft__drv_drain(self);
		weft__addr_wait(&s->drained, seen,
				self != NULL || d->drain_if_free != NULL
					? weft__mono_ns() + HANDOVER_SLICE_NS
					: UINT64_MAX);
	}
	atomic_fetch_sub_explicit(&s->drain_waiters, 1, memory_order_relaxed);
}

/* weft__io_cancel; with `o`, also what weft__io_cancel_sent and
 * weft__io_cancel_recv return. */
static void cancel(struct weft__io_op *h, struct cancel_out *o)
{
	struct weft__drv_thread *dt = h->dt;
	struct op_slab *s;
	struct weft__op *op;
	bool kick = false, wait = false;

	if (dt == NULL)
		return;
	s = dt->slab;
	h->dt = NULL;
	weft__slab_lock(s);
	op = weft__slab_get(s, h->index);
	if (o != NULL && op->state == OP_DONE)
		cancel_done(op, o);
	if (o != NULL && op->state == OP_QUEUED)
		o->sent = 0; /* never reached the kernel */
	if (o != NULL && op->state == OP_INFLIGHT)
		op->aux = WEFT__SENT_UNKNOWN; /* a settling cancel writes it */
	if (op->state == OP_DONE && !op->queued) {
		weft__op_close_yielded(op, op->result);
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
				wait = handover_waits(op->kind);
			}
		}
		if (o != NULL && op->aux != WEFT__SENT_UNKNOWN)
			o->sent = op->aux;
	}
	weft__slab_unlock(s);
	if (kick)
		weft__drv_kick(dt);
	if (wait)
		await_handover(dt, h->index, h->gen);
}

void weft__io_cancel(struct weft__io_op *h)
{
	cancel(h, NULL);
}

long weft__io_cancel_sent(struct weft__io_op *h)
{
	struct cancel_out o = { h->dt != NULL ? -1 : 0, NULL, 0, -1 };

	cancel(h, &o);
	return o.sent;
}

long weft__io_cancel_recv(struct weft__io_op *h, void *out, size_t out_len)
{
	struct cancel_out o = { -1, out, out_len, -1 };

	cancel(h, &o);
	return o.got;
}

bool weft__io_completion_based(void)
{
	struct weft_runtime *rt = weft__ctx.rt;

	return rt != NULL && rt->driver != NULL && !rt->driver->ops->any_thread;
}

bool weft__io_has(unsigned feat)
{
	struct weft_runtime *rt = weft__ctx.rt;

	return rt != NULL && rt->driver != NULL && (rt->driver->features & feat) == feat;
}

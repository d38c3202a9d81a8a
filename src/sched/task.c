/*
 * src/sched/task.c - tasks: the state word, the task waker, running a task,
 * join handles, and the owned-task list.
 *
 * The state word
 * ==============
 *
 * Every task has one 64-bit atomic word.  The low byte holds flags, the
 * rest a reference count:
 *
 *   RUNNING        a worker is polling the future right now.
 *   NOTIFIED       the task has been woken since it last started running.
 *                  When RUNNING is clear, NOTIFIED means "sits in exactly
 *                  one queue", and that queue owns one reference.
 *   COMPLETE       the future returned ready or was cancelled; it will
 *                  never be polled again.
 *   CANCELLED      abort was requested (while not COMPLETE), or, together
 *                  with COMPLETE, the task ended by cancellation and has no
 *                  output.
 *   JOIN_INTEREST  a join handle exists.  The handle owns one reference.
 *   JOIN_WAKER     the join_waker field holds the handle's waker and the
 *                  runtime owns the field; while clear, the handle owns it.
 *
 * References are held by: the owned-task list (from spawn until the future
 * is dropped), the queue entry (while NOTIFIED and not RUNNING, and by the
 * worker while it runs the task), the join handle, and every task waker.
 * The task is freed when the count reaches zero.
 *
 * Transitions, each one CAS loop or fetch-op:
 *
 *   wake_by_ref: COMPLETE or NOTIFIED -> nothing; RUNNING -> set NOTIFIED
 *       (the worker re-queues the task after the poll); idle -> set
 *       NOTIFIED and add a reference, then hand the task to the scheduler.
 *   wake (by value): as wake_by_ref, but the waker's own reference becomes
 *       the queue's reference when the task is scheduled, and is dropped
 *       otherwise.
 *   run: NOTIFIED, !RUNNING -> RUNNING, !NOTIFIED.  If CANCELLED is set
 *       the future is dropped instead of polled.
 *   after a pending poll: if CANCELLED -> drop the future and complete; if
 *       NOTIFIED -> clear RUNNING and tell the worker to re-queue; else
 *       clear RUNNING and drop the queue reference.
 *   complete: clear RUNNING, set COMPLETE (and CANCELLED or not).  Without
 *       JOIN_INTEREST the runtime drops the future (the output is unwanted);
 *       with it, the output stays until the handle is released, and if
 *       JOIN_WAKER is set the runtime wakes the join waker, then clears
 *       JOIN_WAKER; if the handle went away meanwhile the runtime drops the
 *       waker itself.
 *   abort: COMPLETE -> nothing; RUNNING or NOTIFIED -> set CANCELLED (and
 *       NOTIFIED when running, so the worker looks again after the poll);
 *       idle -> set CANCELLED and NOTIFIED, add a reference, schedule, so
 *       the future is dropped at the next scheduling point.
 *   handle release: clear JOIN_INTEREST (and JOIN_WAKER unless COMPLETE).
 *       If COMPLETE and not CANCELLED the handle drops the output.  If the
 *       handle now owns the join_waker field, it drops the waker in it.
 *
 * Exactly one side drops the future: the runtime when it completes without
 * join interest or by cancellation, else the handle when it is released.
 */
#include "task.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "park.h"
#include "runtime.h"
#include "../common/lock.h"

#define FUTURE_ALIGN 16

static const weft_waker_vtable task_waker_vtable;

/* ---- allocation ---------------------------------------------------------- */

void *weft__alloc(const weft_allocator *a, size_t size, size_t align)
{
	return a->alloc(a->ctx, size, align);
}

void weft__free(const weft_allocator *a, void *p, size_t size, size_t align)
{
	if (p != NULL)
		a->free(a->ctx, p, size, align);
}

/* ---- the scheduler core ------------------------------------------------- */

int weft__sched_init(struct weft__sched *s, const struct weft__sched_ops *ops,
		     const weft_allocator *alloc, struct weft_runtime *rt)
{
	int i, err;

	s->ops = ops;
	s->alloc = *alloc;
	s->rt = rt;
	atomic_init(&s->refs, 1);
	for (i = 0; i < OWNED_SHARDS; i++) {
		err = -weft__mutex_init(&s->shards[i].lock);
		if (err != 0) {
			while (i-- > 0)
				pthread_mutex_destroy(&s->shards[i].lock);
			return -err;
		}
		s->shards[i].head = NULL;
		s->shards[i].closed = false;
	}
	return 0;
}

static void sched_free(struct weft__sched *s)
{
	int i;

	for (i = 0; i < OWNED_SHARDS; i++)
		pthread_mutex_destroy(&s->shards[i].lock);
	s->ops->destroy(s);
}

void weft__sched_unref(struct weft__sched *s)
{
	/* AcqRel: the last reference sees every task's writes before the
	 * scheduler memory is freed; pairs with the other decrements. */
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		sched_free(s);
}

void weft__sched_close(struct weft__sched *s)
{
	int i;

	for (i = 0; i < OWNED_SHARDS; i++) {
		pthread_mutex_lock(&s->shards[i].lock);
		s->shards[i].closed = true;
		pthread_mutex_unlock(&s->shards[i].lock);
	}
}

static int owned_insert(struct weft__sched *s, struct weft_task *t)
{
	struct owned_shard *sh = &s->shards[t->shard];

	pthread_mutex_lock(&sh->lock);
	if (sh->closed) {
		pthread_mutex_unlock(&sh->lock);
		return -ESHUTDOWN;
	}
	t->owned_prev = NULL;
	t->owned_next = sh->head;
	if (sh->head != NULL)
		sh->head->owned_prev = t;
	sh->head = t;
	pthread_mutex_unlock(&sh->lock);
	return 0;
}

static void owned_remove(struct weft_task *t)
{
	struct owned_shard *sh = &t->sched->shards[t->shard];

	pthread_mutex_lock(&sh->lock);
	if (t->owned_prev != NULL)
		t->owned_prev->owned_next = t->owned_next;
	else
		sh->head = t->owned_next;
	if (t->owned_next != NULL)
		t->owned_next->owned_prev = t->owned_prev;
	t->owned_prev = t->owned_next = NULL;
	pthread_mutex_unlock(&sh->lock);
}

/* ---- references ------------------------------------------------------------ */

static void task_free(struct weft_task *t)
{
	struct weft__sched *s = t->sched;

	weft__free(&s->alloc, t, t->alloc_size, FUTURE_ALIGN);
	weft__sched_unref(s);
}

static void task_ref_inc(struct weft_task *t)
{
	/* Relaxed: a new reference is made from an existing one, which keeps
	 * the task alive meanwhile. */
	atomic_fetch_add_explicit(&t->state, TASK_REF_ONE, memory_order_relaxed);
}

static void task_ref_dec_n(struct weft_task *t, uint64_t n)
{
	uint64_t prev;

	/* AcqRel: the thread that drops the last reference sees every other
	 * holder's writes before freeing; pairs with the other decrements. */
	prev = atomic_fetch_sub_explicit(&t->state, n * TASK_REF_ONE, memory_order_acq_rel);
	if ((prev >> TASK_REF_SHIFT) == n)
		task_free(t);
}

void weft__task_drop_ref(struct weft_task *t)
{
	task_ref_dec_n(t, 1);
}

static void task_schedule(struct weft_task *t)
{
	t->sched->ops->schedule(t->sched, t);
}

/* ---- the task waker ------------------------------------------------------ */

static weft_waker task_waker_clone(void *data)
{
	weft_waker w = { data, &task_waker_vtable };

	task_ref_inc(data);
	return w;
}

/*
 * Marks the task notified.  Returns true when the task was idle: a queue
 * reference was added and the caller must hand the task to its scheduler.
 */
static bool transition_to_notified(struct weft_task *t)
{
	uint64_t cur = atomic_load_explicit(&t->state, memory_order_relaxed);
	uint64_t next;

	for (;;) {
		if (cur & (TASK_COMPLETE | TASK_NOTIFIED))
			return false;
		if (cur & TASK_RUNNING)
			next = cur | TASK_NOTIFIED;
		else
			next = (cur | TASK_NOTIFIED) + TASK_REF_ONE;
		/* AcqRel: release publishes what the waker wrote before waking
		 * to whoever polls the task next (pairs with the acquire in
		 * weft__task_run); acquire gives the waker that schedules the
		 * task its queue link after the last worker's use of it (pairs
		 * with the release after a poll). */
		if (atomic_compare_exchange_weak_explicit(&t->state, &cur, next,
							  memory_order_acq_rel,
							  memory_order_relaxed))
			return !(cur & TASK_RUNNING);
	}
}

static void task_waker_wake_by_ref(void *data)
{
	if (transition_to_notified(data))
		task_schedule(data);
}

static void task_waker_wake(void *data)
{
	/* Schedule first, then drop our reference: the reference keeps the
	 * task, and so its scheduler, alive while schedule runs even if the
	 * queue entry is consumed and released meanwhile. */
	task_waker_wake_by_ref(data);
	weft__task_drop_ref(data);
}

static void task_waker_drop(void *data)
{
	weft__task_drop_ref(data);
}

static const weft_waker_vtable task_waker_vtable = {
	.clone = task_waker_clone,
	.wake = task_waker_wake,
	.wake_by_ref = task_waker_wake_by_ref,
	.drop = task_waker_drop,
};

/* ---- completion ---------------------------------------------------------- */

/*
 * Finishes the task: sets COMPLETE, wakes the joiner, releases the queue
 * (or shutdown) reference and the owned-list reference.  With `cancelled`
 * the future has already been dropped.  `refs_to_drop` is 2 from a worker
 * (queue + owned list) and 1 from shutdown of a task not in a queue.
 */
static void task_complete(struct weft_task *t, bool cancelled, uint64_t refs_to_drop)
{
	uint64_t cur = atomic_load_explicit(&t->state, memory_order_relaxed);
	uint64_t next;

	for (;;) {
		next = (cur & ~(TASK_RUNNING | TASK_CANCELLED | TASK_NOTIFIED)) | TASK_COMPLETE;
		if (cancelled)
			next |= TASK_CANCELLED;
		/* AcqRel: release publishes the output to the join handle
		 * (pairs with the acquire loads in join_poll / detach);
		 * acquire sees the join waker the handle stored before it
		 * set JOIN_WAKER. */
		if (atomic_compare_exchange_weak_explicit(&t->state, &cur, next,
							  memory_order_acq_rel,
							  memory_order_relaxed))
			break;
	}
	owned_remove(t);
	if (!(cur & TASK_JOIN_INTEREST)) {
		if (!cancelled)
			weft_future_drop(task_future(t));
	} else if (cur & TASK_JOIN_WAKER) {
		uint64_t prev;

		weft_waker_wake_by_ref(&t->join_waker);
		/* AcqRel: hands the join_waker field back to the handle
		 * (release pairs with the acquire in the handle's CAS), and
		 * acquire sees a handle release that happened meanwhile. */
		prev = atomic_fetch_and_explicit(&t->state, ~TASK_JOIN_WAKER,
						 memory_order_acq_rel);
		if (!(prev & TASK_JOIN_INTEREST))
			weft_waker_drop(&t->join_waker);
	}
	task_ref_dec_n(t, refs_to_drop);
}

/* ---- running ------------------------------------------------------------- */

enum task_run_result weft__task_run(struct weft_task *t, uint32_t budget)
{
	uint64_t cur = atomic_load_explicit(&t->state, memory_order_relaxed);
	uint64_t next;
	weft_waker waker = { t, &task_waker_vtable };
	weft_cx cx;
	weft_future *f = task_future(t);

	for (;;) {
		if (cur & TASK_COMPLETE) {
			/* Cancelled by shutdown while queued. */
			weft__task_drop_ref(t);
			return TASK_RUN_DONE;
		}
		next = (cur | TASK_RUNNING) & ~TASK_NOTIFIED;
		/* Acquire: sees what wakers wrote before waking (pairs with
		 * the release in transition_to_notified). */
		if (atomic_compare_exchange_weak_explicit(&t->state, &cur, next,
							  memory_order_acquire,
							  memory_order_relaxed))
			break;
	}
	if (cur & TASK_CANCELLED)
		goto cancel;

	cx.waker = &waker;
	cx.budget = budget;
	cx.flags = 0;
	if (weft_future_poll(f, &cx) == WEFT_READY) {
		task_complete(t, false, 2);
		return TASK_RUN_DONE;
	}

	cur = atomic_load_explicit(&t->state, memory_order_relaxed);
	for (;;) {
		if (cur & TASK_CANCELLED)
			goto cancel;
		next = cur & ~TASK_RUNNING;
		if (!(cur & TASK_NOTIFIED))
			next -= TASK_REF_ONE;
		/* AcqRel: release publishes the poll's writes to the next
		 * poller; acquire sees a concurrent abort's intent. */
		if (atomic_compare_exchange_weak_explicit(&t->state, &cur, next,
							  memory_order_acq_rel,
							  memory_order_relaxed))
			break;
	}
	return (cur & TASK_NOTIFIED) ? TASK_RUN_RESCHEDULE : TASK_RUN_DONE;

cancel:
	weft_future_drop(f);
	task_complete(t, true, 2);
	return TASK_RUN_DONE;
}

/* ---- spawn --------------------------------------------------------------- */

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) & ~(to - 1);
}

static void join_handle_empty(weft_join_handle *h);

int weft__task_create(struct weft__sched *s, const weft_future *future, size_t size,
		      weft_join_handle *handle, struct weft_task **out)
{
	struct weft_task *t;
	size_t total;
	uint64_t refs;
	int err;

	if (handle != NULL)
		join_handle_empty(handle);
	if (s == NULL || future == NULL || size < sizeof(weft_future) ||
	    future->poll == NULL || size > UINT32_MAX - 2 * sizeof(struct weft_task))
		return -EINVAL;
	total = sizeof(struct weft_task) + round_up(size, FUTURE_ALIGN);
	t = weft__alloc(&s->alloc, total, FUTURE_ALIGN);
	if (t == NULL)
		return -ENOMEM;
	/* Owned list + queue entry (+ join handle). */
	refs = handle != NULL ? 3 : 2;
	atomic_init(&t->state, TASK_NOTIFIED | (refs << TASK_REF_SHIFT) |
				       (handle != NULL ? TASK_JOIN_INTEREST : 0));
	t->queue_next = NULL;
	t->sched = s;
	t->join_waker.data = NULL;
	t->join_waker.vtable = NULL;
	t->alloc_size = (uint32_t)total;
	t->shard = (uint32_t)(((uintptr_t)t >> 6) ^ ((uintptr_t)t >> 12)) % OWNED_SHARDS;
	memcpy(task_future(t), future, size);

	/* Relaxed: the task's own reference on the scheduler is taken from
	 * the runtime's, which the caller keeps alive. */
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	err = owned_insert(s, t);
	if (err < 0) {
		weft__free(&s->alloc, t, total, FUTURE_ALIGN);
		weft__sched_unref(s);
		return err;
	}
	if (handle != NULL)
		handle->task = t;
	*out = t;
	return 0;
}

int weft_spawn(weft_runtime *rt, const weft_future *future, size_t size,
	       weft_join_handle *handle)
{
	struct weft_task *t;
	int err;

	err = weft__task_create(rt != NULL ? rt->sched : NULL, future, size, handle, &t);
	if (err == 0)
		task_schedule(t);
	return err;
}

static weft_poll fn_future_poll(weft_future *f, weft_cx *cx)
{
	weft_fn_future *self = (weft_fn_future *)f;

	(void)cx;
	self->result = self->fn(self->arg);
	return WEFT_READY;
}

int weft_spawn_fn(weft_runtime *rt, void *(*fn)(void *arg), void *arg,
		  weft_join_handle *handle)
{
	weft_fn_future f = {
		.base = { fn_future_poll, NULL },
		.fn = fn,
		.arg = arg,
		.result = NULL,
	};

	if (fn == NULL) {
		if (handle != NULL)
			join_handle_empty(handle);
		return -EINVAL;
	}
	return weft_spawn(rt, &f.base, sizeof(f), handle);
}

/* ---- join handles ------------------------------------------------------- */

static weft_poll join_poll(weft_future *f, weft_cx *cx);
static void join_drop(weft_future *f);

static void join_handle_empty(weft_join_handle *h)
{
	h->base.poll = join_poll;
	h->base.drop = join_drop;
	h->task = NULL;
	h->status = -EINVAL;
}

static int complete_status(uint64_t state)
{
	return (state & TASK_CANCELLED) ? -ECANCELED : 0;
}

/*
 * Registers cx's waker as the join waker unless the task is complete.
 * Returns true when the task is complete.
 */
static bool join_register(struct weft_task *t, const weft_waker *w)
{
	/* Acquire: sees the output published by task_complete's release. */
	uint64_t cur = atomic_load_explicit(&t->state, memory_order_acquire);

	if (cur & TASK_COMPLETE)
		return true;
	if (cur & TASK_JOIN_WAKER) {
		if (weft_waker_will_wake(&t->join_waker, w))
			return false;
		/* Take the field back to replace the waker. */
		for (;;) {
			/* Acquire: when this fails on COMPLETE, the output is
			 * visible (pairs with the release in task_complete).
			 * On success COMPLETE was clear, so the runtime has not
			 * read the field and will not until we set JOIN_WAKER
			 * again. */
			if (atomic_compare_exchange_weak_explicit(
				    &t->state, &cur, cur & ~TASK_JOIN_WAKER,
				    memory_order_acquire, memory_order_acquire)) {
				break;
			}
			if (cur & TASK_COMPLETE)
				return true;
		}
	}
	weft_waker_store(&t->join_waker, w);
	cur = atomic_load_explicit(&t->state, memory_order_relaxed);
	for (;;) {
		if (cur & TASK_COMPLETE)
			return true; /* the waker stays ours; dropped on release */
		/* AcqRel: release hands the stored waker to the runtime (pairs
		 * with the acquire in task_complete); acquire for the output
		 * when the CAS fails on COMPLETE. */
		if (atomic_compare_exchange_weak_explicit(&t->state, &cur,
							  cur | TASK_JOIN_WAKER,
							  memory_order_acq_rel,
							  memory_order_acquire))
			return false;
	}
}

static weft_poll join_poll(weft_future *f, weft_cx *cx)
{
	weft_join_handle *h = (weft_join_handle *)f;

	if (h->task == NULL) {
		h->status = -EINVAL;
		return WEFT_READY;
	}
	if (!weft_coop_proceed(cx))
		return WEFT_PENDING;
	if (join_register(h->task, weft_cx_waker(cx))) {
		h->status = complete_status(atomic_load_explicit(&h->task->state,
								 memory_order_acquire));
		return WEFT_READY;
	}
	weft_coop_refund(cx);
	return WEFT_PENDING;
}

static void join_drop(weft_future *f)
{
	weft_join_detach((weft_join_handle *)f);
}

static int join_blocking(weft_join_handle *h, bool timed, uint64_t timeout_ns)
{
	struct weft__parker *p;
	weft_waker w;
	weft_cx cx;
	uint64_t deadline = 0;

	if (h == NULL || h->task == NULL)
		return -EINVAL;
	if (weft__ctx.in_runtime)
		return -EDEADLK;
	p = weft__thread_parker();
	if (p == NULL)
		return -ENOMEM;
	if (timed)
		deadline = weft__now_ns() + timeout_ns;
	w = weft__thread_parker_waker_ref(p);
	weft_cx_init(&cx, &w);
	for (;;) {
		if (join_poll(&h->base, &cx) == WEFT_READY)
			return h->status;
		if (!timed) {
			weft__parker_park(p);
		} else if (!weft__parker_park_until(p, deadline)) {
			if (join_poll(&h->base, &cx) == WEFT_READY)
				return h->status;
			return -ETIMEDOUT;
		}
	}
}

int weft_join(weft_join_handle *handle)
{
	return join_blocking(handle, false, 0);
}

int weft_join_timeout(weft_join_handle *handle, uint64_t timeout_ns)
{
	return join_blocking(handle, true, timeout_ns);
}

int weft_join_try(weft_join_handle *handle)
{
	uint64_t cur;

	if (handle == NULL || handle->task == NULL)
		return -EINVAL;
	/* Acquire: pairs with the release in task_complete. */
	cur = atomic_load_explicit(&handle->task->state, memory_order_acquire);
	if (!(cur & TASK_COMPLETE))
		return -EAGAIN;
	handle->status = complete_status(cur);
	return handle->status;
}

void *weft_join_output(weft_join_handle *handle)
{
	uint64_t cur;

	if (handle == NULL || handle->task == NULL)
		return NULL;
	/* Acquire: pairs with the release in task_complete. */
	cur = atomic_load_explicit(&handle->task->state, memory_order_acquire);
	if ((cur & (TASK_COMPLETE | TASK_CANCELLED)) != TASK_COMPLETE)
		return NULL;
	return task_future(handle->task);
}

int weft_join_abort(weft_join_handle *handle)
{
	struct weft_task *t;
	uint64_t cur, next;
	bool schedule;

	if (handle == NULL || handle->task == NULL)
		return -EINVAL;
	t = handle->task;
	cur = atomic_load_explicit(&t->state, memory_order_relaxed);
	for (;;) {
		schedule = false;
		if (cur & (TASK_COMPLETE | TASK_CANCELLED))
			return 0;
		if (cur & TASK_RUNNING) {
			next = cur | TASK_CANCELLED | TASK_NOTIFIED;
		} else if (cur & TASK_NOTIFIED) {
			next = cur | TASK_CANCELLED;
		} else {
			next = cur | TASK_CANCELLED | TASK_NOTIFIED;
			next += TASK_REF_ONE;
			schedule = true;
		}
		/* AcqRel: release pairs with the acquire in weft__task_run so
		 * the worker sees the request with the state it acts on;
		 * acquire gives us the task's queue link after the last
		 * worker's use of it when we schedule an idle task (pairs with
		 * the release after a poll). */
		if (atomic_compare_exchange_weak_explicit(&t->state, &cur, next,
							  memory_order_acq_rel,
							  memory_order_relaxed))
			break;
	}
	if (schedule)
		task_schedule(t);
	return 0;
}

void weft_join_detach(weft_join_handle *handle)
{
	struct weft_task *t;
	uint64_t cur, next;

	if (handle == NULL || handle->task == NULL)
		return;
	t = handle->task;
	handle->task = NULL;
	cur = atomic_load_explicit(&t->state, memory_order_relaxed);
	for (;;) {
		next = cur & ~TASK_JOIN_INTEREST;
		if (!(cur & TASK_COMPLETE))
			next &= ~TASK_JOIN_WAKER;
		/* AcqRel: acquire sees the output (pairs with task_complete's
		 * release) and the runtime's last use of the join waker (pairs
		 * with its fetch_and); release orders our use before the
		 * runtime's possible drop of the waker. */
		if (atomic_compare_exchange_weak_explicit(&t->state, &cur, next,
							  memory_order_acq_rel,
							  memory_order_relaxed))
			break;
	}
	if ((cur & (TASK_COMPLETE | TASK_CANCELLED)) == TASK_COMPLETE)
		weft_future_drop(task_future(t));
	if (!(next & TASK_JOIN_WAKER))
		weft_waker_drop(&t->join_waker);
	weft__task_drop_ref(t);
}

/* ---- shutdown ------------------------------------------------------------- */

/*
 * Cancels `t` if it has not finished.  Called with no worker running, under
 * the shard lock (which keeps the owned-list reference, and so the task,
 * alive).  Returns true when the task was cancelled here.
 */
static bool shutdown_claim(struct weft_task *t)
{
	uint64_t cur = atomic_load_explicit(&t->state, memory_order_relaxed);

	for (;;) {
		if (cur & TASK_COMPLETE)
			return false;
		/* Mark it running so that wakes only set NOTIFIED and nobody
		 * else touches the future.  Acquire: sees the last poll's
		 * writes (pairs with the release after a poll). */
		if (atomic_compare_exchange_weak_explicit(&t->state, &cur,
							  cur | TASK_RUNNING,
							  memory_order_acquire,
							  memory_order_relaxed))
			return true;
	}
}

void weft__sched_shutdown_tasks(struct weft__sched *s)
{
	int i;

	for (i = 0; i < OWNED_SHARDS; i++) {
		struct owned_shard *sh = &s->shards[i];
		struct weft_task *t;

		for (;;) {
			pthread_mutex_lock(&sh->lock);
			t = sh->head;
			while (t != NULL && !shutdown_claim(t))
				t = t->owned_next;
			if (t != NULL)
				task_ref_inc(t); /* ours, across the unlock */
			pthread_mutex_unlock(&sh->lock);
			if (t == NULL)
				break;
			/* Dropping the future may wake or drop other tasks,
			 * which takes shard locks: do it unlocked. */
			weft_future_drop(task_future(t));
			/* Drops our reference and the owned-list reference;
			 * a queue entry keeps its own, released when the
			 * queues are drained. */
			task_complete(t, true, 2);
		}
	}
}

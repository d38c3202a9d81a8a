/*
 * src/sched/task.c - tasks: running one, completing it, the task waker,
 * references, and spawning.
 *
 * The protocol of the state word is the essay in state.h; every change of
 * the word goes through a named transition there.  This file does what the
 * transitions' results ask: poll or drop the future, hand the task to its
 * scheduler, wake the joiner, free the task.  Join handles are in join.c.
 *
 * A task ends in one of three places, and each drops the future first and
 * then completes (weft__state_to_complete), so that the joiner sees what
 * the drop did: after the poll that returned ready, when a cancelled task
 * is next scheduled (or found cancelled after its poll), and at shutdown.
 */
#include "task.h"

#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "runtime.h"
#include "task_cache.h"
#include "weft/metrics.h"

#define FUTURE_ALIGN 16

static const weft_waker_vtable task_waker_vtable;

/* ---- references ------------------------------------------------------------ */

/* The start of the task's allocation: its annex, or the header. */
static void *task_base(struct weft_task *t)
{
	return (t->flags & TASK_F_ANNEX) ? (void *)task_annex(t) : (void *)t;
}

/* A task's allocation (its annex and header, or its header): through the
 * task cache on the default allocator (task_cache.c says why), else the
 * runtime's allocator. */
static void *task_alloc(struct weft__sched *s, size_t total)
{
	if (s->task_cache)
		return weft__task_cache_alloc(total);
	return weft__alloc(&s->alloc, total, FUTURE_ALIGN);
}

static void task_dealloc(struct weft__sched *s, void *base, size_t total)
{
	if (s->task_cache)
		weft__task_cache_free(base, total);
	else
		weft__free(&s->alloc, base, total, FUTURE_ALIGN);
}

/*
 * A task's reference on its scheduler.  On a worker of that scheduler it
 * comes out of the worker's spare references (weft__ctx.ref_spare), which
 * are taken from the shared count REF_BATCH at a time and given back when
 * more than twice that pile up; elsewhere it is the shared count itself.
 * The spare references are real ones, so the shared count is never below
 * the number of live tasks plus the runtime's own: a scheduler cannot be
 * freed early, only later (the worker gives its spare ones back when it
 * exits, before the runtime drops its reference).  With the count moved
 * to every thread that spawns and frees tasks, its line went back and
 * forth between the spawner and the workers once per task
 * (docs/benchmarks.md, fourteenth session).
 */
#define REF_BATCH 32

static inline void task_sched_ref(struct weft__sched *s)
{
	if (weft__ctx.ref_sched == s) {
		if (weft__ctx.ref_spare == 0) {
			/* Relaxed: as weft__sched_ref, from the reference the
			 * runtime keeps while its workers run. */
			atomic_fetch_add_explicit(&s->refs, REF_BATCH, memory_order_relaxed);
			weft__ctx.ref_spare = REF_BATCH;
		}
		weft__ctx.ref_spare--;
		return;
	}
	weft__sched_ref(s);
}

static inline void task_sched_unref(struct weft__sched *s)
{
	if (weft__ctx.ref_sched == s) {
		if (++weft__ctx.ref_spare <= 2 * REF_BATCH)
			return;
		/* Never the last reference: REF_BATCH stay spare. */
		weft__ctx.ref_spare -= REF_BATCH;
		weft__sched_unref_n(s, REF_BATCH);
		return;
	}
	weft__sched_unref(s);
}

static void task_free(struct weft_task *t)
{
	struct weft__sched *s = t->sched;

	task_dealloc(s, task_base(t), t->alloc_size);
	task_sched_unref(s);
}

static void task_ref_dec_n(struct weft_task *t, uint64_t n)
{
	if (weft__state_ref_dec(&t->state, n) == STATE_REF_DEC_DEALLOC)
		task_free(t);
}

void weft__task_drop_ref(struct weft_task *t)
{
	task_ref_dec_n(t, 1);
}

/* ---- the task waker ------------------------------------------------------ */

static weft_waker task_waker_clone(void *data)
{
	weft_waker w = { data, &task_waker_vtable };
	struct weft_task *t = data;

	weft__state_ref_inc(&t->state);
#if WEFT_DEBUG_CHECKS
	if (t->flags & TASK_F_ANNEX)
		atomic_store_explicit(&task_annex(t)->cloned, 1, memory_order_relaxed);
#endif
	return w;
}

static void task_waker_wake_by_ref(void *data)
{
	struct weft_task *t = data;

	if (weft__state_to_notified(&t->state) == STATE_NOTIFY_SUBMIT)
		weft__task_schedule(t);
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
 * Finishes the task, whose future the caller has just dropped: publishes
 * COMPLETE (with CANCELLED when `cancelled`), wakes the joiner, and releases
 * the caller's queue (or shutdown) reference and the owned list's.
 */
static void task_complete(struct weft_task *t, bool cancelled)
{
	enum state_complete res;

	if (t->flags & TASK_F_ANNEX)
		weft__obs_task_finish(t, cancelled);
	res = weft__state_to_complete(&t->state, cancelled);

	if (!t->sched->unowned)
		weft__owned_remove(t);
	if (res == STATE_COMPLETE_WAKE_JOINER) {
		weft_waker_wake_by_ref(&t->join_waker);
		if (weft__state_unset_join_waker_after_complete(&t->state) == STATE_WAKER_DROP)
			weft_waker_drop(&t->join_waker);
	}
	task_ref_dec_n(t, 2);
}

/* Ends the task: its future is dropped, then the task completes. */
static void task_end(struct weft_task *t, bool cancelled)
{
	weft_future_drop(task_future(t));
#if WEFT_DEBUG_CHECKS
	if (t->flags & TASK_F_ANNEX)
		weft__obs_trap_future(t);
#endif
	task_complete(t, cancelled);
}

void weft__task_cancel_claimed(struct weft_task *t)
{
#if WEFT_DEBUG_CHECKS
	if (t->flags & TASK_F_ANNEX)
		weft__obs_check_lost_wakeup(t);
#endif
	/* Drops our reference and the owned-list reference; a queue entry
	 * keeps its own, released when the queues are drained. */
	task_end(t, true);
}

/* ---- running ------------------------------------------------------------- */

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/*
 * One run of `t`.  `observed` is a constant at each call: the plain path
 * compiles without any of the hook calls, the observed one (tasks with an
 * annex) with them.
 */
static ALWAYS_INLINE enum task_run_result task_run(struct weft_task *t, uint32_t *budget,
						   bool observed)
{
	weft_waker waker = { t, &task_waker_vtable };
	weft_poll res;
	weft_cx cx;

	switch (weft__state_to_running(&t->state)) {
	case STATE_RUN_COMPLETE:
		/* Cancelled by shutdown while queued. */
		weft__task_drop_ref(t);
		return TASK_RUN_DONE;
	case STATE_RUN_CANCELLED:
		task_end(t, true);
		return TASK_RUN_DONE;
	case STATE_RUN_SUCCESS:
		break;
	}
	cx.waker = &waker;
	cx.budget = *budget;
	cx.flags = 0;
	if (observed)
		weft__obs_poll_start(t);
	res = weft_future_poll(task_future(t), &cx);
	*budget = cx.budget;
	if (observed)
		weft__obs_poll_end(t, res);
	if (res == WEFT_READY) {
		/* Ending the task releases what the future holds; only its
		 * bytes (the result fields) outlive this, for the joiner. */
		task_end(t, false);
		return TASK_RUN_DONE;
	}
	switch (weft__state_to_idle(&t->state)) {
	case STATE_IDLE_CANCELLED:
		task_end(t, true);
		return TASK_RUN_DONE;
	case STATE_IDLE_NOTIFIED:
		return TASK_RUN_RESCHEDULE;
	case STATE_IDLE_OK:
		break;
	}
	return TASK_RUN_DONE;
}

/* Out of line: the plain path stays as small as it was. */
static enum task_run_result task_run_observed(struct weft_task *t, uint32_t *budget)
{
	return task_run(t, budget, true);
}

enum task_run_result weft__task_run_budget(struct weft_task *t, uint32_t *budget)
{
	if (t->flags & TASK_F_ANNEX)
		return task_run_observed(t, budget);
	return task_run(t, budget, false);
}

enum task_run_result weft__task_run(struct weft_task *t, uint32_t budget)
{
	return weft__task_run_budget(t, &budget);
}

/* ---- spawn --------------------------------------------------------------- */

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) & ~(to - 1);
}

/* Fills the header and links the task into the owned list; `t` is the
 * header inside an allocation of `total` bytes.  Returns 0 or -ESHUTDOWN
 * (then nothing is left to undo but the allocation). */
static int task_init(struct weft__sched *s, struct weft_task *t, size_t total, uint16_t flags,
		     const weft_future *future, size_t size, weft_join_handle *handle)
{
	/* Owned list + queue entry (+ join handle). */
	uint64_t refs = handle != NULL ? 3 : 2;
	int err;

	weft__state_init(&t->state, refs, handle != NULL);
	t->queue_next = NULL;
	t->sched = s;
	t->join_waker.data = NULL;
	t->join_waker.vtable = NULL;
	t->alloc_size = (uint32_t)total;
	t->shard = (uint16_t)((((uintptr_t)t >> 6) ^ ((uintptr_t)t >> 12)) % OWNED_SHARDS);
	t->flags = flags;
	memcpy(task_future(t), future, size);

	task_sched_ref(s);
	err = s->unowned ? 0 : weft__owned_insert(s, t);
	if (err < 0) {
		task_sched_unref(s);
		return err;
	}
	if (handle != NULL)
		handle->task = t;
	return 0;
}

static bool bad_future(const weft_future *future, size_t size)
{
	return future == NULL || size < sizeof(weft_future) || future->poll == NULL ||
	       size > UINT32_MAX - 4 * sizeof(struct weft_task);
}

/* A task with an annex: named, or on an observed runtime. */
static int task_create_annexed(struct weft__sched *s, const char *name,
			       const weft_future *future, size_t size,
			       weft_join_handle *handle, struct weft_task **out)
{
	size_t total = sizeof(struct task_annex) + sizeof(struct weft_task) +
		       round_up(size, FUTURE_ALIGN);
	struct task_annex *a = task_alloc(s, total);
	struct weft_task *t;
	int err;

	if (a == NULL)
		return -ENOMEM;
	memset(a, 0, sizeof(*a));
	/* Relaxed: ids need only be unique. */
	a->id = atomic_fetch_add_explicit(&s->obs.next_id, 1, memory_order_relaxed) + 1;
	a->name = name;
	t = (struct weft_task *)(a + 1);
	err = task_init(s, t, total, TASK_F_ANNEX, future, size, handle);
	if (err < 0) {
		task_dealloc(s, a, total);
		return err;
	}
	weft__obs_task_spawn(t);
	*out = t;
	return 0;
}

int weft__task_create_named(struct weft__sched *s, const char *name,
			    const weft_future *future, size_t size,
			    weft_join_handle *handle, struct weft_task **out)
{
	if (handle != NULL)
		weft__join_handle_empty(handle);
	if (s == NULL || bad_future(future, size))
		return -EINVAL;
	return task_create_annexed(s, name, future, size, handle, out);
}

int weft__task_create(struct weft__sched *s, const weft_future *future, size_t size,
		      weft_join_handle *handle, struct weft_task **out)
{
	struct weft_task *t;
	size_t total;
	int err;

	if (handle != NULL)
		weft__join_handle_empty(handle);
	if (s == NULL || bad_future(future, size))
		return -EINVAL;
	if (s->obs.annex)
		return task_create_annexed(s, NULL, future, size, handle, out);
	total = sizeof(struct weft_task) + round_up(size, FUTURE_ALIGN);
	t = task_alloc(s, total);
	if (t == NULL)
		return -ENOMEM;
	err = task_init(s, t, total, 0, future, size, handle);
	if (err < 0) {
		task_dealloc(s, t, total);
		return err;
	}
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
		weft__task_schedule(t);
	return err;
}

int weft_spawn_named(weft_runtime *rt, const char *name, const weft_future *future,
		     size_t size, weft_join_handle *handle)
{
	struct weft_task *t;
	int err;

	err = weft__task_create_named(rt != NULL ? rt->sched : NULL, name, future, size,
				      handle, &t);
	if (err == 0)
		weft__task_schedule(t);
	return err;
}

static weft_poll fn_future_poll(weft_future *f, weft_cx *cx)
{
	weft_fn_future *self = (weft_fn_future *)f;

	(void)cx;
	self->result = self->fn(self->arg);
	return WEFT_READY;
}

/* Runs once when the task ends, whether fn ran or not. */
static void fn_future_drop(weft_future *f)
{
	weft_fn_future *self = (weft_fn_future *)f;

	if (self->drop_arg != NULL)
		self->drop_arg(self->arg);
}

int weft_spawn_fn_ex(weft_runtime *rt, void *(*fn)(void *arg), void *arg,
		     void (*drop_arg)(void *arg), weft_join_handle *handle)
{
	weft_fn_future f = {
		.base = { fn_future_poll, drop_arg != NULL ? fn_future_drop : NULL },
		.fn = fn,
		.arg = arg,
		.result = NULL,
		.drop_arg = drop_arg,
	};

	if (fn == NULL) {
		if (handle != NULL)
			weft__join_handle_empty(handle);
		return -EINVAL;
	}
	return weft_spawn(rt, &f.base, sizeof(f), handle);
}

int weft_spawn_fn(weft_runtime *rt, void *(*fn)(void *arg), void *arg,
		  weft_join_handle *handle)
{
	return weft_spawn_fn_ex(rt, fn, arg, NULL, handle);
}

/*
 * src/sched/join.c - join handles: awaiting a task, blocking on it from a
 * plain thread, try, output, abort and release.
 *
 * A handle owns one reference on its task and, while JOIN_WAKER is clear,
 * the task's join_waker field (state.h).  To wait, it writes its waker into
 * the field and gives the field to the runtime (set_join_waker); to replace
 * the waker it takes the field back first (unset_join_waker).  Either fails
 * once the task is COMPLETE, and then the output is visible.  The handle
 * never drops the task's future: the task did that when it ended.
 */
#include "task.h"

#include <errno.h>

#include "park.h"
#include "runtime.h"

static int completion_status(enum state_completion c)
{
	return c == STATE_CANCELLED_DONE ? -ECANCELED : 0;
}

/*
 * Registers `w` as the join waker unless the task is complete.  Returns
 * true when the task is complete (its output visible).
 */
static bool join_register(struct weft_task *t, const weft_waker *w)
{
	uint64_t cur;

	if (weft__state_completion(&t->state) != STATE_NOT_COMPLETE)
		return true;
	/* Relaxed: JOIN_WAKER is ours to read (only the handle sets it). */
	cur = atomic_load_explicit(&t->state, memory_order_relaxed);
	if (cur & TASK_JOIN_WAKER) {
		if (weft_waker_will_wake(&t->join_waker, w))
			return false;
		if (weft__state_unset_join_waker(&t->state) == STATE_JOIN_COMPLETE)
			return true;
	}
	weft_waker_store(&t->join_waker, w);
	/* On COMPLETE the stored waker stays ours; dropped on release. */
	return weft__state_set_join_waker(&t->state) == STATE_JOIN_COMPLETE;
}

/* The handle's poll, without the debug checks' busy mark. */
static weft_poll join_poll(weft_join_handle *h, weft_cx *cx)
{
	if (!weft_coop_proceed(cx))
		return WEFT_PENDING;
	if (join_register(h->task, weft_cx_waker(cx))) {
		h->status = completion_status(weft__state_completion(&h->task->state));
		return WEFT_READY;
	}
	weft_coop_refund(cx);
	return WEFT_PENDING;
}

weft_poll weft__join_poll(weft_future *f, weft_cx *cx)
{
	weft_join_handle *h = (weft_join_handle *)f;
	struct weft_task *t = h->task;
	weft_poll res;

	if (t == NULL) {
		h->status = -EINVAL;
		return WEFT_READY;
	}
	weft__join_enter(t);
	res = join_poll(h, cx);
	weft__join_exit(t);
	return res;
}

void weft__join_drop(weft_future *f)
{
	weft_join_detach((weft_join_handle *)f);
}

/* Blocks until the task is complete or the deadline passes; the caller
 * holds the debug checks' busy mark. */
static int join_wait(weft_join_handle *h, struct weft__parker *p, bool timed,
		     uint64_t deadline)
{
	weft_waker w = weft__thread_parker_waker_ref(p);
	weft_cx cx;

	weft_cx_init(&cx, &w);
	for (;;) {
		if (join_poll(h, &cx) == WEFT_READY)
			return h->status;
		if (!timed) {
			weft__parker_park(p);
		} else if (!weft__parker_park_until(p, deadline)) {
			if (join_poll(h, &cx) == WEFT_READY)
				return h->status;
			return -ETIMEDOUT;
		}
	}
}

static int join_blocking(weft_join_handle *h, bool timed, uint64_t timeout_ns)
{
	struct weft__parker *p;
	struct weft_task *t;
	uint64_t deadline = 0;
	int res;

	if (h == NULL || h->task == NULL)
		return -EINVAL;
	if (weft__ctx.in_runtime)
		return -EDEADLK;
	p = weft__thread_parker();
	if (p == NULL)
		return -ENOMEM;
	if (timed)
		deadline = weft__deadline_after(timeout_ns);
	t = h->task;
	weft__join_enter(t);
	res = join_wait(h, p, timed, deadline);
	weft__join_exit(t);
	return res;
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
	enum state_completion c;

	if (handle == NULL || handle->task == NULL)
		return -EINVAL;
	weft__join_enter(handle->task);
	c = weft__state_completion(&handle->task->state);
	weft__join_exit(handle->task);
	if (c == STATE_NOT_COMPLETE)
		return -EAGAIN;
	handle->status = completion_status(c);
	return handle->status;
}

void *weft_join_output(weft_join_handle *handle)
{
	enum state_completion c;

	if (handle == NULL || handle->task == NULL)
		return NULL;
	weft__join_enter(handle->task);
	c = weft__state_completion(&handle->task->state);
	weft__join_exit(handle->task);
	return c == STATE_FINISHED ? task_future(handle->task) : NULL;
}

int weft_join_abort(weft_join_handle *handle)
{
	if (handle == NULL || handle->task == NULL)
		return -EINVAL;
	if (weft__state_to_cancelled(&handle->task->state) == STATE_CANCEL_SUBMIT)
		weft__task_schedule(handle->task);
	return 0;
}

void weft_join_detach(weft_join_handle *handle)
{
	struct weft_task *t;

	if (handle == NULL || handle->task == NULL)
		return;
	t = handle->task;
	weft__join_enter(t);
	handle->task = NULL;
	weft__join_exit(t);
	if (weft__state_unset_join_interest(&t->state) == STATE_DETACH_DROP_WAKER)
		weft_waker_drop(&t->join_waker);
	weft__task_drop_ref(t);
}

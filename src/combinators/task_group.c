/*
 * src/combinators/task_group.c - task groups: spawned tasks taken out in the
 * order they finish.
 *
 * Each member is an entry holding the task's join handle.  At spawn the
 * group polls the handle once with a waker of the entry itself, so the
 * task's join waker is the entry's: when the task completes, the runtime
 * wakes the entry, which appends itself to the group's ready FIFO and wakes
 * whoever awaits the group's next member.  The ready FIFO is therefore in
 * completion order, and awaiting the next member costs O(1) however many
 * members there are.
 *
 * Lifetimes.  An entry is reference counted: one reference for its
 * membership (from spawn until it is taken out or the group is destroyed)
 * and one per clone of its waker, which the runtime may hold, wake or drop
 * on any thread after the group let go of the entry.  Each entry holds a
 * reference on the group, which is counted the same way (plus one for the
 * owner, released by weft_task_group_destroy), so a late wake always finds
 * the group's lock alive.
 *
 * Locking.  `lock` guards the ready FIFO, each entry's `queued` and
 * `member` flags and the stored waiter.  The list of all members and the
 * count are touched only by the group's user (one thread or task at a
 * time), as the header says.
 */
#include "weft/combinators.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "../common/lock.h"
#include "../sched/runtime.h"
#include "../sched/task.h"

struct group_entry {
	weft_join_handle handle;
	struct weft_task_group *group;
	_Atomic size_t refs;
	uint64_t id;
	/* All members (owner only). */
	struct group_entry *prev, *next;
	/* The ready FIFO (under the lock). */
	struct group_entry *ready_next;
	bool queued; /* under the lock: in the ready FIFO */
	bool member; /* under the lock: not yet taken out */
};

struct weft_task_group {
	weft_runtime *rt;
	weft_allocator alloc;
	_Atomic size_t refs;
	pthread_mutex_t lock;
	struct group_entry *ready_head, *ready_tail;
	weft_waker waiter; /* under the lock */
	struct group_entry *members;
	size_t len;
	uint64_t next_id;
};

static const weft_waker_vtable entry_waker_vtable;

static void group_unref(struct weft_task_group *g)
{
	weft_allocator alloc;

	/* AcqRel: the last reference sees every entry's use of the lock;
	 * pairs with the other decrements. */
	if (atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
		return;
	alloc = g->alloc;
	weft_waker_drop(&g->waiter);
	pthread_mutex_destroy(&g->lock);
	alloc.free(alloc.ctx, g, sizeof(*g), _Alignof(struct weft_task_group));
}

static void entry_unref(struct group_entry *e)
{
	struct weft_task_group *g = e->group;

	/* AcqRel: as group_unref, for the entry. */
	if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) != 1)
		return;
	g->alloc.free(g->alloc.ctx, e, sizeof(*e), _Alignof(struct group_entry));
	group_unref(g);
}

/* ---- the entry's waker: the task's join waker ---------------------------- */

static weft_waker entry_clone(void *data)
{
	struct group_entry *e = data;
	weft_waker w = { e, &entry_waker_vtable };

	/* Relaxed: made from a reference the caller holds. */
	atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
	return w;
}

static void entry_wake_by_ref(void *data)
{
	struct group_entry *e = data;
	struct weft_task_group *g = e->group;
	weft_waker waiter = { NULL, NULL };

	pthread_mutex_lock(&g->lock);
	if (e->member && !e->queued) {
		e->queued = true;
		e->ready_next = NULL;
		if (g->ready_tail != NULL)
			g->ready_tail->ready_next = e;
		else
			g->ready_head = e;
		g->ready_tail = e;
		waiter = g->waiter;
		g->waiter.data = NULL;
		g->waiter.vtable = NULL;
	}
	pthread_mutex_unlock(&g->lock);
	weft_waker_wake(&waiter);
}

static void entry_wake(void *data)
{
	entry_wake_by_ref(data);
	entry_unref(data);
}

static void entry_drop(void *data)
{
	entry_unref(data);
}

static const weft_waker_vtable entry_waker_vtable = {
	.clone = entry_clone,
	.wake = entry_wake,
	.wake_by_ref = entry_wake_by_ref,
	.drop = entry_drop,
};

/* ---- the group ----------------------------------------------------------------- */

int weft_task_group_create(weft_runtime *rt, weft_task_group **out)
{
	struct weft_task_group *g;
	int err;

	if (rt == NULL || out == NULL)
		return -EINVAL;
	g = rt->alloc.alloc(rt->alloc.ctx, sizeof(*g), _Alignof(struct weft_task_group));
	if (g == NULL)
		return -ENOMEM;
	memset(g, 0, sizeof(*g));
	err = weft__mutex_init(&g->lock);
	if (err < 0) {
		rt->alloc.free(rt->alloc.ctx, g, sizeof(*g), _Alignof(struct weft_task_group));
		return err;
	}
	g->rt = rt;
	g->alloc = rt->alloc;
	atomic_init(&g->refs, 1);
	g->next_id = 1;
	*out = g;
	return 0;
}

int weft_task_group_spawn(weft_task_group *g, const weft_future *future, size_t size,
			  uint64_t *id)
{
	struct group_entry *e;
	weft_waker w;
	weft_cx cx;
	int err;

	if (g == NULL)
		return -EINVAL;
	e = g->alloc.alloc(g->alloc.ctx, sizeof(*e), _Alignof(struct group_entry));
	if (e == NULL)
		return -ENOMEM;
	memset(e, 0, sizeof(*e));
	err = weft_spawn(g->rt, future, size, &e->handle);
	if (err < 0) {
		g->alloc.free(g->alloc.ctx, e, sizeof(*e), _Alignof(struct group_entry));
		return err;
	}
	e->group = g;
	atomic_init(&e->refs, 1);
	e->id = g->next_id++;
	e->member = true;
	/* Relaxed: the entry's group reference comes from the owner's. */
	atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
	e->next = g->members;
	if (g->members != NULL)
		g->members->prev = e;
	g->members = e;
	g->len++;
	/* Register the entry's waker as the join waker (or queue it now). */
	w.data = e;
	w.vtable = &entry_waker_vtable;
	weft_cx_init(&cx, &w);
	if (weft_future_poll(&e->handle.base, &cx) == WEFT_READY)
		entry_wake_by_ref(e);
	if (id != NULL)
		*id = e->id;
	return 0;
}

size_t weft_task_group_len(const weft_task_group *g)
{
	return g != NULL ? g->len : 0;
}

int weft_task_group_abort_all(weft_task_group *g)
{
	struct group_entry *e;

	if (g == NULL)
		return -EINVAL;
	for (e = g->members; e != NULL; e = e->next)
		(void)weft_join_abort(&e->handle);
	return 0;
}

/* Takes `e` out of the members list (owner) and the group (under the lock). */
static void entry_take_out(struct weft_task_group *g, struct group_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		g->members = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	g->len--;
}

/* Pops the first finished member into *handle; returns 0, -EAGAIN or
 * -ENOENT.  With `cx`, stores its waker when nothing is ready. */
static int take_next(weft_task_group *g, weft_join_handle *handle, uint64_t *id, weft_cx *cx)
{
	struct group_entry *e;

	if (g->len == 0)
		return -ENOENT;
	pthread_mutex_lock(&g->lock);
	e = g->ready_head;
	if (e == NULL) {
		if (cx != NULL)
			weft_waker_store(&g->waiter, weft_cx_waker(cx));
		pthread_mutex_unlock(&g->lock);
		return -EAGAIN;
	}
	g->ready_head = e->ready_next;
	if (g->ready_head == NULL)
		g->ready_tail = NULL;
	e->queued = false;
	e->member = false;
	pthread_mutex_unlock(&g->lock);
	entry_take_out(g, e);
	/* The task is complete: this poll only reads its status. */
	(void)weft_join_try(&e->handle);
	*handle = e->handle;
	if (id != NULL)
		*id = e->id;
	e->handle.task = NULL;
	entry_unref(e);
	return 0;
}

int weft_task_group_try_next(weft_task_group *g, weft_join_handle *handle, uint64_t *id)
{
	int err;

	if (g == NULL || handle == NULL)
		return -EINVAL;
	err = take_next(g, handle, id, NULL);
	if (err < 0) {
		handle->task = NULL;
		handle->status = -EINVAL;
	}
	return err;
}

static weft_poll next_poll(weft_future *f, weft_cx *cx)
{
	weft_task_group_next *n = (weft_task_group_next *)f;
	int err;

	/* No group (never given one, or already ready): the status stays. */
	if (n->group == NULL)
		return WEFT_READY;
	err = take_next(n->group, &n->handle, &n->id, cx);
	if (err == -EAGAIN)
		return WEFT_PENDING;
	n->status = err;
	n->group = NULL;
	return WEFT_READY;
}

static void next_drop(weft_future *f)
{
	weft_task_group_next *n = (weft_task_group_next *)f;

	weft_join_detach(&n->handle);
}

void weft_task_group_next_init(weft_task_group_next *n, weft_task_group *g)
{
	weft_join_handle empty;

	/* An empty handle, made the way the task module makes one. */
	(void)weft_spawn(NULL, NULL, 0, &empty);
	n->base.poll = next_poll;
	n->base.drop = next_drop;
	n->group = g;
	n->handle = empty;
	n->id = 0;
	n->status = -EINVAL;
}

void weft_task_group_destroy(weft_task_group *g)
{
	struct group_entry *e;

	if (g == NULL)
		return;
	(void)weft_task_group_abort_all(g);
	/* From here on no wake queues an entry, and the FIFO is forgotten
	 * before its entries can be freed. */
	pthread_mutex_lock(&g->lock);
	for (e = g->members; e != NULL; e = e->next) {
		e->member = false;
		e->queued = false;
	}
	g->ready_head = g->ready_tail = NULL;
	pthread_mutex_unlock(&g->lock);
	while ((e = g->members) != NULL) {
		entry_take_out(g, e);
		/* Detaching drops the join waker (or the runtime does, if the
		 * task is completing right now): the entry goes with it. */
		weft_join_detach(&e->handle);
		entry_unref(e);
	}
	pthread_mutex_lock(&g->lock);
	weft_waker_drop(&g->waiter);
	pthread_mutex_unlock(&g->lock);
	group_unref(g);
}

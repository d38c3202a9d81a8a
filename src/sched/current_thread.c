/*
 * src/sched/current_thread.c - the current-thread scheduler.
 *
 * Every task runs on the thread inside weft_block_on, and only while it is
 * there.  Two queues: a plain FIFO that only the driving thread touches,
 * and a remote FIFO under a mutex for wakes and spawns from other threads
 * (or from this thread outside block_on).  The driving thread parks on the
 * scheduler's own parker when both are empty and the main future has not
 * been woken; a remote push or a wake of the main future unparks it.
 *
 * A task that was woken while it ran (yield_now, a spent budget) goes to a
 * third list, `yielded`, which joins the back of the local queue only after
 * the main future has had its turn (when it was woken) and the local queue
 * has run dry: a task that yields in a loop is polled about once per poll
 * of the main future, as in Tokio, instead of RUN_BATCH times.
 * The driving thread parks inside the runtime's I/O driver (its ring, or
 * its epoll instance) with the earliest timer deadline as timeout, and
 * reaps completions and fires timers when it returns and, while busy,
 * every REMOTE_INTERVAL polls.  What they wake goes to the local queue,
 * since the reaping thread is the driving thread.  An unpark of a parker
 * asleep in the driver is a driver wake (park.c).
 *
 * Lost wake-ups are excluded by ordering: the driver publishes itself in
 * `driving` and then checks the remote length, while a remote pusher bumps
 * the length and then reads `driving` (both sequentially consistent), and
 * a parker remembers an unpark that comes before the park.
 */
#include <errno.h>
#include <stdlib.h>

#include "park.h"
#include "runtime.h"
#include "../driver/driver.h"
#include "../driver/time.h"
#include "../common/lock.h"
#include "../driver/time.h"

/* Remote queue checks per local polls, as in the multi-threaded workers. */
#define REMOTE_INTERVAL 61
/* Task polls between two checks of the main future. */
#define RUN_BATCH 64

struct ct_sched {
	struct weft__sched base; /* first: tasks point here */
	/* Driving thread only. */
	struct weft_task *local_head, *local_tail;
	/* Tasks that yielded, waiting for everything else to have a turn. */
	struct weft_task *yielded_head, *yielded_tail;
	uint32_t tick;
	/* Remote queue. */
	pthread_mutex_t remote_lock;
	struct weft_task *remote_head, *remote_tail;
	_Atomic size_t remote_len;
	bool remote_closed; /* under remote_lock */
	/* The driving thread parks here; wakes of the main future set
	 * main_woken first. */
	struct weft__parker parker;
	_Atomic bool main_woken;
	_Atomic bool driving;
	/* The runtime's one driver thread (parker.drv too). */
	struct weft__drv_thread *dt;
};

static struct ct_sched *ct_of(struct weft__sched *s)
{
	return (struct ct_sched *)s;
}

static void local_push(struct ct_sched *ct, struct weft_task *t)
{
	t->queue_next = NULL;
	if (ct->local_tail != NULL)
		ct->local_tail->queue_next = t;
	else
		ct->local_head = t;
	ct->local_tail = t;
}

static struct weft_task *local_pop(struct ct_sched *ct)
{
	struct weft_task *t = ct->local_head;

	if (t != NULL) {
		ct->local_head = t->queue_next;
		if (ct->local_head == NULL)
			ct->local_tail = NULL;
		t->queue_next = NULL;
	}
	return t;
}

/* Appends the yielded tasks to the local queue: their turn comes again. */
static void requeue_yielded(struct ct_sched *ct)
{
	if (ct->yielded_head == NULL)
		return;
	if (ct->local_tail != NULL)
		ct->local_tail->queue_next = ct->yielded_head;
	else
		ct->local_head = ct->yielded_head;
	ct->local_tail = ct->yielded_tail;
	ct->yielded_head = ct->yielded_tail = NULL;
}

static void ct_schedule(struct weft__sched *s, struct weft_task *t)
{
	struct ct_sched *ct = ct_of(s);

	if (weft__ctx.owner == ct) {
		local_push(ct, t);
		return;
	}
	pthread_mutex_lock(&ct->remote_lock);
	if (ct->remote_closed) {
		pthread_mutex_unlock(&ct->remote_lock);
		weft__task_discard(t);
		return;
	}
	t->queue_next = NULL;
	if (ct->remote_tail != NULL)
		ct->remote_tail->queue_next = t;
	else
		ct->remote_head = t;
	ct->remote_tail = t;
	/* SeqCst: ordered before the load of `driving` below; pairs with the
	 * driver's store of `driving` and load of remote_len. */
	atomic_fetch_add_explicit(&ct->remote_len, 1, memory_order_seq_cst);
	pthread_mutex_unlock(&ct->remote_lock);
	if (atomic_load_explicit(&ct->driving, memory_order_seq_cst))
		weft__parker_unpark(&ct->parker);
}

/* Moves the whole remote queue to the back of the local one. */
static void pull_remote(struct ct_sched *ct)
{
	/* Relaxed: a stale zero only delays the pull to the next check. */
	if (atomic_load_explicit(&ct->remote_len, memory_order_relaxed) == 0)
		return;
	pthread_mutex_lock(&ct->remote_lock);
	if (ct->remote_head != NULL) {
		if (ct->local_tail != NULL)
			ct->local_tail->queue_next = ct->remote_head;
		else
			ct->local_head = ct->remote_head;
		ct->local_tail = ct->remote_tail;
		ct->remote_head = ct->remote_tail = NULL;
	}
	atomic_store_explicit(&ct->remote_len, 0, memory_order_relaxed);
	pthread_mutex_unlock(&ct->remote_lock);
}

static void ct_destroy(struct weft__sched *s)
{
	struct ct_sched *ct = ct_of(s);
	weft_allocator alloc = s->alloc;

	pthread_mutex_destroy(&ct->remote_lock);
	alloc.free(alloc.ctx, ct, sizeof(*ct), 64);
}

static const struct weft__sched_ops ct_sched_ops = {
	.schedule = ct_schedule,
	.destroy = ct_destroy,
};

/* ---- the main future's waker: holds a reference on the scheduler --------- */

static const weft_waker_vtable main_waker_vtable;

static weft_waker main_clone(void *data)
{
	struct ct_sched *ct = data;
	weft_waker w = { data, &main_waker_vtable };

	/* Relaxed: made from a reference the caller holds. */
	atomic_fetch_add_explicit(&ct->base.refs, 1, memory_order_relaxed);
	return w;
}

static void main_wake_by_ref(void *data)
{
	struct ct_sched *ct = data;

	/* Release: publishes what the waker wrote before waking to the poll
	 * the wake causes, also when block_on sees the flag without parking;
	 * pairs with the acquire exchange in ct_block_on. */
	atomic_store_explicit(&ct->main_woken, true, memory_order_release);
	weft__parker_unpark(&ct->parker);
}

static void main_wake(void *data)
{
	main_wake_by_ref(data);
	weft__sched_unref(data);
}

static void main_drop(void *data)
{
	weft__sched_unref(data);
}

static const weft_waker_vtable main_waker_vtable = {
	.clone = main_clone,
	.wake = main_wake,
	.wake_by_ref = main_wake_by_ref,
	.drop = main_drop,
};

/* ---- block_on ---------------------------------------------------------------- */

static void run_task(struct ct_sched *ct, struct weft_task *t)
{
	weft__ctx.in_runtime = true;
	if (weft__task_run(t, WEFT_COOP_BUDGET) == TASK_RUN_RESCHEDULE) {
		/* Woken while it ran: it yielded.  Its next turn comes after
		 * the main future's and the other ready tasks'. */
		t->queue_next = NULL;
		if (ct->yielded_tail != NULL)
			ct->yielded_tail->queue_next = t;
		else
			ct->yielded_head = t;
		ct->yielded_tail = t;
	}
	weft__ctx.in_runtime = false;
}

/* Dispatches I/O completions and due timers; what they wake goes to
 * the local queue (we are the driving thread). */
static void reap_driver(struct ct_sched *ct)
{
	weft__drv_reap(ct->dt);
	weft__time_process(ct->base.rt->time);
}

/* Runs up to RUN_BATCH tasks; returns how many ran. */
static unsigned run_batch(struct ct_sched *ct)
{
	unsigned n;

	for (n = 0; n < RUN_BATCH; n++) {
		struct weft_task *t;

		if (++ct->tick % REMOTE_INTERVAL == 0) {
			reap_driver(ct);
			pull_remote(ct);
		}
		t = local_pop(ct);
		if (t == NULL) {
			pull_remote(ct);
			t = local_pop(ct);
			if (t == NULL)
				break;
		}
		run_task(ct, t);
	}
	return n;
}

static int ct_block_on(struct weft_runtime *rt, weft_future *f)
{
	struct ct_sched *ct = ct_of(rt->sched);
	struct weft__context saved = weft__ctx;
	weft_waker waker = { ct, &main_waker_vtable };
	bool expected = false;
	weft_cx cx;

	/* Acquire: pairs with the release when the previous driver left. */
	if (!atomic_compare_exchange_strong_explicit(&ct->driving, &expected, true,
						     memory_order_seq_cst,
						     memory_order_relaxed))
		return -EBUSY;
	weft__ctx.rt = rt;
	weft__ctx.owner = ct;
	weft__ctx.drv = ct->dt;
	weft__ctx.in_runtime = false;
	atomic_store_explicit(&ct->main_woken, true, memory_order_relaxed);
	for (;;) {
		/* Relaxed load first: the common "not woken" case costs no
		 * read-modify-write.  Acquire exchange: sees what a waker wrote
		 * before its release store of the flag (main_wake_by_ref). */
		if (atomic_load_explicit(&ct->main_woken, memory_order_relaxed) &&
		    atomic_exchange_explicit(&ct->main_woken, false, memory_order_acquire)) {
			cx.waker = &waker;
			cx.budget = WEFT_COOP_BUDGET;
			cx.flags = 0;
			weft__ctx.in_runtime = true;
			if (weft_future_poll(f, &cx) == WEFT_READY)
				break;
			weft__ctx.in_runtime = false;
		}
		/* Timers: fire what is due (their tasks join the local queue). */
		weft__time_process(rt->time);
		requeue_yielded(ct);
		if (run_batch(ct) > 0)
			continue;
		/* SeqCst: pairs with the remote pusher's increment and load
		 * of `driving` (see the essay). */
		if (atomic_load_explicit(&ct->remote_len, memory_order_seq_cst) != 0)
			continue;
		/* Relaxed: only decides not to park; the exchange above
		 * acquires before the poll. */
		if (atomic_load_explicit(&ct->main_woken, memory_order_relaxed))
			continue;
		if (weft__time_auto_advance(rt->time))
			continue;
		weft__parker_park_driver(&ct->parker, rt->time);
		reap_driver(ct);
	}
	weft__ctx = saved;
	/* Release: the next driver sees our queue state. */
	atomic_store_explicit(&ct->driving, false, memory_order_release);
	return 0;
}

static void ct_shutdown(struct weft_runtime *rt)
{
	struct ct_sched *ct = ct_of(rt->sched);
	struct weft_task *list, *t;

	weft__sched_close(&ct->base);
	weft__sched_shutdown_tasks(&ct->base);
	/* Nothing may stay in the kernel: cancel and drain the ring (the
	 * dropped futures above let go of their slots). */
	weft__drv_thread_finish(ct->dt);
	pthread_mutex_lock(&ct->remote_lock);
	ct->remote_closed = true;
	list = ct->remote_head;
	ct->remote_head = ct->remote_tail = NULL;
	pthread_mutex_unlock(&ct->remote_lock);
	while ((t = list) != NULL) {
		list = t->queue_next;
		weft__task_discard(t);
	}
	requeue_yielded(ct);
	while ((t = local_pop(ct)) != NULL)
		weft__task_discard(t);
}

/* A new earliest timer: a driving thread asleep re-reads the deadline. */
/*
 * A timer that became the earliest while the driving thread sleeps in the
 * driver with a later (or no) timeout: kick it, so that it re-reads the
 * deadline.  The kick's SeqCst fence and load of the sleeping mark against
 * the sleeper's SeqCst store of the mark and fence before it reads the
 * deadline (weft__drv_sleep_begin) mean that either the sleeper parks with
 * the new deadline or the kick sees it asleep and wakes it.
 */
static void ct_timer_changed(struct weft_runtime *rt)
{
	struct ct_sched *ct = ct_of(rt->sched);

	/* The driving thread itself reads the deadline before it parks. */
	if (weft__ctx.owner == ct)
		return;
	weft__drv_kick(ct->dt);
}

static const struct weft__runtime_ops ct_runtime_ops = {
	.block_on = ct_block_on,
	.shutdown = ct_shutdown,
	.timer_changed = ct_timer_changed,
};

int weft__current_thread_create(struct weft_runtime *rt)
{
	struct ct_sched *ct;
	int err;

	ct = rt->alloc.alloc(rt->alloc.ctx, sizeof(*ct), 64);
	if (ct == NULL)
		return -ENOMEM;
	err = -weft__mutex_init(&ct->remote_lock);
	if (err != 0)
		goto fail_free;
	err = -weft__sched_init(&ct->base, &ct_sched_ops, &rt->alloc, rt);
	if (err != 0)
		goto fail_mutex;
	ct->local_head = ct->local_tail = NULL;
	ct->yielded_head = ct->yielded_tail = NULL;
	ct->tick = 0;
	ct->remote_head = ct->remote_tail = NULL;
	atomic_init(&ct->remote_len, 0);
	ct->remote_closed = false;
	weft__parker_init(&ct->parker);
	ct->dt = weft__drv_thread_at(rt->driver, 0);
	ct->parker.drv = ct->dt;
	atomic_init(&ct->main_woken, false);
	atomic_init(&ct->driving, false);
	rt->ops = &ct_runtime_ops;
	rt->sched = &ct->base;
	rt->workers = 1;
	return 0;

fail_mutex:
	pthread_mutex_destroy(&ct->remote_lock);
fail_free:
	rt->alloc.free(rt->alloc.ctx, ct, sizeof(*ct), 64);
	return -err;
}

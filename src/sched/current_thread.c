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
 *
 * Embedding (weft/embed.h).  A host loop drives the runtime with ticks
 * instead of block_on, and waits on the driver's poll fd itself.  The
 * `driving` flag is the one seat: block_on, a tick, and (for a moment) the
 * host's queries take it with a CAS, so the queues keep their single
 * owner.  Once the host asked for the fd (`embedded`), a remote push or a
 * new earliest timer from another thread also *signals* the fd: it sets
 * `signalled` and, when that flag was clear, wakes the driver (an eventfd
 * write that the ring or the epoll instance turns into readability).  A
 * tick *settles* at its start and its end: it clears `signalled`,
 * consumes the wakes already delivered (poll_prepare with drain; when a
 * signal was set again meanwhile, its wake may have been consumed too, so
 * the settle wakes once more), and then looks at the remote queue.  A
 * pusher bumps the remote length and then loads `signalled`; the tick
 * clears `signalled` and then loads the length (all
 * SeqCst): either the tick sees the push (it runs it, or returns 1), or
 * the pusher sees the flag clear and signals again.  So the fd is readable
 * after a tick exactly when something came after the tick looked.
 *
 * A query that finds the seat taken (the host asks for the timeout while
 * another thread is inside block_on) marks `seat_missed` and answers -1;
 * whoever leaves the seat then loads the mark (store the seat free, then
 * load the mark, against store the mark, then CAS the seat: SeqCst), takes
 * the seat back and signals the fd, so the host re-reads the timeout.  A
 * block_on of an embedded runtime signals the fd when it leaves for the
 * same reason: the host's timeout predates what block_on ran.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "weft/embed.h"

#include "park.h"
#include "runtime.h"
#include "../driver/driver.h"
#include "../driver/time.h"
#include "../common/lock.h"

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
	/* Embedding (see the essay).  The host asked for the poll fd. */
	_Atomic bool embedded;
	/* The fd was signalled since the last settle. */
	_Atomic bool signalled;
	/* A query found the seat taken: its holder signals when it leaves. */
	_Atomic bool seat_missed;
	/* Seat holder only: the next settle drains the driver's wakes even
	 * when `signalled` is clear (a block_on may have left some). */
	bool drain_next;
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

/*
 * Makes the poll fd readable for a host that waits on it, once per settle:
 * called after a remote push (or a new earliest timer) is published, with
 * remote_lock held and remote_closed false, so that the driver it wakes
 * is not being destroyed (ct_shutdown closes the queue first).
 */
static void embed_signal(struct ct_sched *ct)
{
	/* SeqCst: ordered after the caller's SeqCst publication (the remote
	 * length); pairs with the store in weft_runtime_backend_fd. */
	if (!atomic_load_explicit(&ct->embedded, memory_order_seq_cst))
		return;
	/* SeqCst: the pusher's side of the settle handshake (the essay).
	 * A set flag seen here is either from after the last settle's clear
	 * (its wake makes the fd readable), or the next clear follows this
	 * load, and the settle's load of the remote length after it sees
	 * the push. */
	if (atomic_load_explicit(&ct->signalled, memory_order_seq_cst))
		return;
	/* SeqCst: as above; only the pusher that sets the flag writes. */
	if (!atomic_exchange_explicit(&ct->signalled, true, memory_order_seq_cst))
		weft__drv_wake(ct->dt);
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
	embed_signal(ct);
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

/* ---- running tasks ------------------------------------------------------------ */

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

/* ---- the seat: who drives the runtime -------------------------------------- */

/* Takes the seat (block_on, a tick, a query); false when it is taken. */
static bool seat_take(struct ct_sched *ct)
{
	bool expected = false;

	/* SeqCst: the driver's side of the remote-push handshake (the
	 * essay), and of the seat_missed handshake; acquires what the
	 * previous holder wrote before its SeqCst store in seat_leave. */
	return atomic_compare_exchange_strong_explicit(&ct->driving, &expected, true,
						       memory_order_seq_cst,
						       memory_order_relaxed);
}

/* Makes the poll fd readable now, whatever `signalled` says. */
static void embed_raise(struct ct_sched *ct)
{
	/* SeqCst: as in embed_signal; the settle that clears it drains. */
	atomic_store_explicit(&ct->signalled, true, memory_order_seq_cst);
	weft__drv_wake(ct->dt);
}

/*
 * Leaves the seat.  On an embedded runtime the driver is first readied for
 * the host's wait, and with `signal` the fd is made readable.  A query that
 * missed the seat meanwhile (seat_missed) gets the seat taken back and the
 * fd signalled, unless another thread took the seat first (it then sees
 * the mark when it leaves).
 */
static void seat_leave(struct ct_sched *ct, bool signal)
{
	for (;;) {
		/* SeqCst: pairs with the store in weft_runtime_backend_fd. */
		if (atomic_load_explicit(&ct->embedded, memory_order_seq_cst)) {
			weft__drv_poll_prepare(ct->dt, false);
			if (signal)
				embed_raise(ct);
		}
		/* SeqCst: publishes our queue state to the next holder, and is
		 * ordered before the load of the mark below (against the
		 * query's store of the mark and CAS of the seat). */
		atomic_store_explicit(&ct->driving, false, memory_order_seq_cst);
		if (!atomic_load_explicit(&ct->seat_missed, memory_order_seq_cst))
			return;
		if (!seat_take(ct))
			return;
		/* Relaxed: we hold the seat; a new mark after this is seen
		 * by the load above in the next round. */
		atomic_store_explicit(&ct->seat_missed, false, memory_order_relaxed);
		signal = true;
	}
}

/* For a query: takes the seat, or marks that it was missed (the holder
 * signals the fd when it leaves) and tries once more. */
static bool seat_take_or_mark(struct ct_sched *ct)
{
	if (seat_take(ct))
		return true;
	/* SeqCst: ordered before the CAS below; pairs with the store of the
	 * seat and load of the mark in seat_leave. */
	atomic_store_explicit(&ct->seat_missed, true, memory_order_seq_cst);
	return seat_take(ct);
}

/* ---- block_on ---------------------------------------------------------------- */

/*
 * weft__driver.drain_if_free: a thread outside block_on handed a cancel
 * over (a future dropped between two block_on calls, or at destroy).  With
 * the seat free it drives the ring for a moment to put the cancel in;
 * otherwise the seat holder does, at its next reap or wait.
 */
static bool ct_drain_if_free(struct weft__driver *d, struct weft__drv_thread *dt)
{
	struct ct_sched *ct = d->sched;

	if (!seat_take(ct))
		return false;
	weft__drv_drain(dt);
	seat_leave(ct, false);
	return true;
}

static int ct_block_on(struct weft_runtime *rt, weft_future *f)
{
	struct ct_sched *ct = ct_of(rt->sched);
	struct weft__context saved = weft__ctx;
	weft_waker waker = { ct, &main_waker_vtable };
	weft_cx cx;

	if (!seat_take(ct))
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
	/* The wakes of this block_on may linger in the driver: the next
	 * settle drains them.  A host waiting on the fd meanwhile holds a
	 * timeout older than what ran here: signal it. */
	ct->drain_next = true;
	seat_leave(ct, true);
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
	/* The runtime frees the driver next: an unpark that claimed the last
	 * driver park may still be writing to it. */
	weft__parker_quiesce(&ct->parker);
}

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

	/* The driving thread itself reads the deadline before it parks (or,
	 * embedded, before the host reads the timeout after the tick). */
	if (weft__ctx.owner == ct)
		return;
	weft__drv_kick(ct->dt);
	/* A host waiting on the fd holds a timeout for a later deadline. */
	pthread_mutex_lock(&ct->remote_lock);
	if (!ct->remote_closed)
		embed_signal(ct);
	pthread_mutex_unlock(&ct->remote_lock);
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
	/* Its tasks are made and freed on one thread, where the C library's
	 * per-thread cache already serves them; the task cache only added
	 * its own steps (current_thread/spawn_join_10k: 707 instructions per
	 * task without it, 759 with, callgrind; docs/benchmarks.md). */
	ct->base.task_cache = false;
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
	atomic_init(&ct->embedded, false);
	atomic_init(&ct->signalled, false);
	atomic_init(&ct->seat_missed, false);
	ct->drain_next = true;
	rt->driver->sched = ct;
	rt->driver->drain_if_free = ct_drain_if_free;
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

/* ---- embedding: ticks, the poll fd and the timeout (weft/embed.h) -------- */

/*
 * The tick's side of the embedding handshake (the essay): consumes the
 * wakes already delivered, clears `signalled`, and readies the driver for
 * the host's wait.  The caller then looks at the remote queue.  Returns
 * true when completions wait in the driver.  Seat holder only.
 */
static bool settle(struct ct_sched *ct)
{
	/* SeqCst: the clear comes before the caller's SeqCst load of the
	 * remote length; pairs with the pusher's increment and load of the
	 * flag in embed_signal. */
	bool was = atomic_exchange_explicit(&ct->signalled, false, memory_order_seq_cst);
	bool drain = was || ct->drain_next;
	bool pending = weft__drv_poll_prepare(ct->dt, drain);

	ct->drain_next = false;
	/* A signal set after our clear may have had its wake eaten by the
	 * drain: wake again, so that the fd stays readable for it.  SeqCst:
	 * ordered after the drain; pairs with the exchange in embed_signal. */
	if (drain && atomic_load_explicit(&ct->signalled, memory_order_seq_cst))
		weft__drv_wake(ct->dt);
	return pending;
}

/* True when a task can run now.  Seat holder only. */
static bool work_ready(struct ct_sched *ct)
{
	/* SeqCst: after the settle's clear of `signalled` (see settle). */
	return ct->local_head != NULL || ct->yielded_head != NULL ||
	       atomic_load_explicit(&ct->remote_len, memory_order_seq_cst) != 0;
}

/* Runs tasks for at most `budget` polls (a jump of a paused clock counts as
 * one); the yielded ones wait for the next tick. */
static void tick_run(struct ct_sched *ct, unsigned budget)
{
	unsigned used;

	for (used = 0; used < budget; used++) {
		struct weft_task *t;

		if (++ct->tick % REMOTE_INTERVAL == 0) {
			reap_driver(ct);
			pull_remote(ct);
		}
		t = local_pop(ct);
		if (t == NULL) {
			reap_driver(ct);
			pull_remote(ct);
			t = local_pop(ct);
		}
		if (t != NULL)
			run_task(ct, t);
		else if (ct->yielded_head != NULL ||
			 !weft__time_auto_advance(ct->base.rt->time))
			break;
	}
}

static int ct_tick(struct weft_runtime *rt, unsigned budget)
{
	struct ct_sched *ct = ct_of(rt->sched);
	struct weft__context saved = weft__ctx;
	bool more;

	if (!seat_take(ct))
		return -EBUSY;
	weft__ctx.rt = rt;
	weft__ctx.owner = ct;
	weft__ctx.drv = ct->dt;
	weft__ctx.in_runtime = false;
	settle(ct);
	requeue_yielded(ct);
	reap_driver(ct);
	pull_remote(ct);
	tick_run(ct, budget);
	reap_driver(ct);
	more = settle(ct);
	more = work_ready(ct) || more;
	/* The budget ran out just as the work did: a paused clock jumps now
	 * (what it wakes joins the local queue), as it would have in the
	 * loop. */
	if (!more && weft__time_auto_advance(rt->time))
		more = true;
	weft__ctx = saved;
	seat_leave(ct, false);
	return more ? 1 : 0;
}

int weft_runtime_tick(weft_runtime *rt, unsigned budget)
{
	if (rt == NULL || rt->flavor != WEFT_RUNTIME_CURRENT_THREAD || budget == 0)
		return -EINVAL;
	if (weft__ctx.in_runtime)
		return -EDEADLK;
	return ct_tick(rt, budget);
}

int weft_runtime_backend_fd(weft_runtime *rt)
{
	struct ct_sched *ct;
	int fd;

	if (rt == NULL || rt->flavor != WEFT_RUNTIME_CURRENT_THREAD)
		return -EINVAL;
	ct = ct_of(rt->sched);
	/* SeqCst: pairs with the loads in embed_signal and seat_leave: a
	 * push either sees the mark and signals, or comes before the
	 * host's next tick or timeout, which sees it. */
	atomic_store_explicit(&ct->embedded, true, memory_order_seq_cst);
	fd = weft__drv_poll_fd(ct->dt);
	/* Ready the driver for the host's wait now; the driving thread (a
	 * task asking) does it when it leaves the seat. */
	if (weft__ctx.owner != ct && seat_take_or_mark(ct))
		seat_leave(ct, false);
	return fd;
}

/* The timeout for the host (see weft_runtime_backend_timeout).  Seat
 * holder only. */
static int timeout_of(struct ct_sched *ct)
{
	uint64_t deadline, now, ms;

	if (work_ready(ct))
		return 0;
	deadline = weft__time_park_deadline(ct->base.rt->time);
	if (deadline == UINT64_MAX)
		return -1;
	now = weft__now_ns();
	if (deadline <= now)
		return 0;
	/* Rounded up: a host that waits this long never wakes early. */
	ms = (deadline - now + WEFT_MS - 1) / WEFT_MS;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

int weft_runtime_backend_timeout(weft_runtime *rt)
{
	struct ct_sched *ct;
	int ms;

	if (rt == NULL || rt->flavor != WEFT_RUNTIME_CURRENT_THREAD)
		return -EINVAL;
	ct = ct_of(rt->sched);
	/* Asked from inside one of rt's tasks: we hold the seat already. */
	if (weft__ctx.owner == ct)
		return timeout_of(ct);
	/* Someone else drives: wait for the fd, which they signal when they
	 * leave (seat_missed). */
	if (!seat_take_or_mark(ct))
		return -1;
	ms = timeout_of(ct);
	seat_leave(ct, false);
	return ms;
}

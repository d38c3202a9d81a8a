/*
 * src/sched/multi_thread.c - the multi-threaded work-stealing scheduler.
 *
 * How a worker finds its next task
 * ================================
 *
 * Each worker owns a LIFO slot and a local queue (queue.c).  A task spawned
 * or woken on a worker goes to that worker's LIFO slot; the task that was in
 * the slot moves to the back of the local queue.  After each poll the worker
 * runs the LIFO task next, which keeps a message and its receiver on one
 * warm core, but at most MAX_LIFO_POLLS times in a row: then the slot's task
 * goes to the back of the local queue, so two tasks that wake each other
 * cannot starve the rest.  A task woken during its own poll (yield_now, a
 * spent budget) is put at the back of the local queue, never the LIFO slot,
 * and the worker then looks at the injector before its local queue: a task
 * that yields waits until the tasks queued on this worker and those
 * waiting in the injector have had their turn, instead of running up to
 * GLOBAL_INTERVAL times before a remote task does.
 *
 * Otherwise the worker pops its local queue, and every GLOBAL_INTERVAL ticks
 * it looks at the injector first so that remote work is never starved by a
 * busy local queue.  With both empty it becomes a searcher (idle.c): it
 * steals half of a random victim's queue, then takes a batch from the
 * injector.  Finding nothing, it parks; whoever makes work available
 * later wakes one parked worker when nobody is searching.  The last
 * searcher to stop searching, whether it found a task or parks, looks at
 * every queue once more and wakes the next worker when work is left, so
 * wakes ripple out only as far as there is work (idle.c has the argument
 * that none is lost).  One that found the only task still wakes one more
 * worker after the task's first poll, a heuristic (stop_searching).
 *
 * Parking in the driver
 * =====================
 *
 * A parked worker sleeps inside the I/O driver (src/driver/driver.h): on
 * io_uring every worker waits in its own ring; on epoll one worker at a
 * time waits in the runtime's epoll instance and the others on their
 * futexes.  Which one: the holder of the timer duty, a token (timer_duty)
 * that a parking worker takes when it is free and gives back when it
 * leaves park.  The holder waits with the earliest timer deadline as its
 * timeout and fires the timers when it wakes; every other parked worker
 * waits without a timeout.  A new earliest timer kicks the holder
 * (mt_timer_changed).  While no worker holds the duty, some worker is
 * awake and fires timers and reaps I/O on its injector cadence.
 *
 * The idle protocol of idle.c holds with one addition.  A worker leaves
 * park when a notifier claimed its bit and unparked it (or at shutdown),
 * or by itself, as below.  What the driver adds are returns from the wait
 * that are not unparks: an I/O completion, a timer deadline, a kick.  The
 * worker then reaps the driver in its own worker context, so the tasks
 * those completions and timers wake go to its LIFO slot (the one woken
 * last) and its local queue (the ones before, each push notifying as any
 * local push does), exactly as on a running worker.  A task woken by the
 * reap then runs on the core that reaped its completion, and usually
 * right away, instead of crossing the injector and waking some other
 * worker for it: a message and its receiver stay on one warm core.
 *
 * Having queued work, the worker leaves park by itself
 * (weft__idle_unpark_self): it counts itself unparked and claims its own
 * parked bit, as a notifier would claim it, and comes back not searching.
 * If a notifier counted or claimed it first, the worker cannot leave by
 * itself: it moves its LIFO slot's task to its local queue (published and
 * notified as any push is) and waits once more.  That notifier's claim
 * may go to another parked worker's bit (one that parked after the
 * notifier counted), which then finds the task by stealing; when it is
 * ours, the wait returns at once.  So the slot is never left behind in a
 * parked worker (nobody can steal from a slot), and what went to its
 * local queue was published and notified as any push is.  With nothing queued it parks again.  So the lost-wake-up
 * argument of idle.c still covers every wake, and the driver's own
 * handshakes (the parker's PARKED_DRIVER swap against the unparker's swap,
 * the sleeping mark against a kick) only decide whether a syscall is
 * needed (park.c).
 *
 * Shutdown
 * ========
 *
 * weft_runtime_destroy runs mt_shutdown on the destroying thread, which by
 * contract is no worker and has no other thread inside block_on:
 *
 *  1. Close the owned-task list (weft__sched_close).  From here on every
 *     spawn fails with -ESHUTDOWN.
 *  2. Set `shutdown` (release) and unpark every worker.  A worker sees the
 *     flag at the top of its loop, and in run_task before it takes the
 *     LIFO slot, so it stops after the poll it is in; one that was parked
 *     wakes and stops at once.
 *  3. Join every worker.  Now no task is running, and nothing pops a queue
 *     any more.
 *  4. Cancel every unfinished task (weft__sched_shutdown_tasks): walk the
 *     owned list, claim each task that is not COMPLETE (the claim sets
 *     RUNNING, so nobody else touches its future), drop its future and
 *     complete it as cancelled, which wakes its joiner with -ECANCELED.
 *     Idle tasks, which no queue holds, are found this way too.
 *  5. Release the queue references left in the LIFO slots and the local
 *     queues, then close the injector and release what it held.
 *
 * Why the owned-task list needs a closed bit: step 4 is the only place that
 * ends tasks nobody will poll again, and it walks the shards once.  A task
 * spawned after its shard was walked -- from a future's drop in step 4,
 * or from a task's last poll before step 3 -- would never be cancelled:
 * its future never dropped, its joiner never woken, its memory leaked.
 * Closing the list before the workers stop makes every such spawn fail
 * instead.
 *
 * Why the injector needs a closed bit: step 5 drains it once, and the
 * scheduler's memory (the injector included) is freed when the last task
 * reference goes, possibly right after.  A push after the drain would leave
 * a reference in a queue that nobody pops and that is about to be freed.
 * By the protocol none comes (after step 4 every task is COMPLETE, and a
 * wake or an abort of a complete task schedules nothing), but a closed
 * injector turns any that did into an immediate release (mt_schedule and
 * overflow_to_injector discard the task) instead of a leak.
 *
 * What a wake during shutdown does depends on where the task is:
 *  - before step 4 reaches it, an idle task is scheduled as usual: on a
 *    worker that has not stopped yet, to its LIFO slot or local queue;
 *    from any other thread (or from a future dropped in step 4), to the
 *    still open injector.  Step 4 then claims and cancels it all the same,
 *    and step 5 releases the queue entry, which is never run;
 *  - while step 4 holds the claim, the wake only sets NOTIFIED;
 *  - once the task is COMPLETE, it does nothing at all.
 * Wakers, join handles and abort stay usable after destroy returns: each
 * holds a task reference, and so the scheduler core, until it is released.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "idle.h"
#include "injector.h"
#include "park.h"
#include "../common/platform.h"
#include "queue.h"
#include "runtime.h"
#include "../blocking/blocking.h"
#include "../driver/driver.h"
#include "../driver/time.h"

#define MAX_LIFO_POLLS 3
#define GLOBAL_INTERVAL 61

struct mt_sched;

struct worker {
	struct local_queue queue; /* first: cache-line aligned */
	struct mt_sched *sched;
	struct weft_task *lifo; /* owner only */
	struct weft__parker parker;
	/* This worker's driver thread (its ring, or its epoll seat). */
	struct weft__drv_thread *dt;
	pthread_t thread;
	unsigned index;
	uint32_t tick;          /* polls run by this worker */
	uint32_t injector_tick; /* tick of the last injector check */
	uint32_t rng;
	bool yielded; /* the last poll ended in a self-wake: see next_local_task */
	bool searching;
	/* Stopped searching as the last searcher with nothing queued: wake
	 * a worker after this poll (see stop_searching). */
	bool wake_after_poll;
	bool started;
	bool driver_ok; /* its driver thread was initialised on this thread */
	bool watch;     /* mt_sched.watch, on the worker's own line */
	/* Written by this worker only, read by snapshots (observe.h).  Next
	 * to the fields every poll touches anyway: a counter costs no cache
	 * line of its own. */
	struct weft__worker_counters ctr;
	/* Read by the watchdog; written only while it is on. */
	struct weft__poll_slot slot;
};

struct mt_sched {
	struct weft__sched base; /* first: tasks point here */
	struct injector injector;
	struct idle idle;
	unsigned num_workers;
	struct worker **workers;
	_Atomic bool shutdown;
	bool block_on_helps; /* see help_run_one */
	/* Index of the parked worker that holds the timer duty, or -1. */
	_Atomic int timer_duty;
	/* io_uring: every parked worker waits in its ring; epoll: only the
	 * timer duty holder waits in the driver. */
	bool all_park_in_driver;
	/* The stall watchdog is on: workers publish each poll in their slot. */
	bool watch;
	struct weft__watchdog *watchdog;
};

static struct mt_sched *mt_of(struct weft__sched *s)
{
	return (struct mt_sched *)s;
}

/* The worker of `mt` running on this thread, or NULL. */
static struct worker *current_worker(struct mt_sched *mt)
{
	struct worker *w;

	if (weft__ctx.rt == NULL || weft__ctx.rt->sched != &mt->base)
		return NULL;
	w = weft__ctx.owner;
	return w;
}

static void notify_parked(struct mt_sched *mt)
{
	int index = weft__idle_worker_to_notify(&mt->idle);

	if (index >= 0)
		weft__parker_unpark(&mt->workers[index]->parker);
}

static void overflow_to_injector(void *ctx, struct weft_task *first,
				 struct weft_task *last, uint32_t n)
{
	struct mt_sched *mt = ctx;

	if (!weft__injector_push_batch(&mt->injector, first, last, n)) {
		/* Closed: only during shutdown, where nothing will run them. */
		while (first != NULL) {
			struct weft_task *next = first->queue_next;

			weft__task_discard(first);
			first = next;
		}
	}
}

/* Owner: pushes `t` to the back of its local queue and lets an idle worker
 * know there is something to steal. */
static void push_local(struct worker *w, struct weft_task *t)
{
	weft__local_queue_push_back(&w->queue, t, overflow_to_injector, w->sched);
	notify_parked(w->sched);
}

static void mt_schedule(struct weft__sched *s, struct weft_task *t)
{
	struct mt_sched *mt = mt_of(s);
	struct worker *w = current_worker(mt);

	if (w != NULL) {
		struct weft_task *prev = w->lifo;

		w->lifo = t;
		if (prev != NULL)
			push_local(w, prev);
		return;
	}
	if (!weft__injector_push(&mt->injector, t)) {
		weft__task_discard(t);
		return;
	}
	if (weft__ctx.defer_notify && weft__ctx.rt == mt->base.rt) {
		weft__ctx.notify_deferred = true;
		return;
	}
	notify_parked(mt);
}

static void mt_destroy(struct weft__sched *s)
{
	struct mt_sched *mt = mt_of(s);
	weft_allocator alloc = s->alloc;
	unsigned i;

	for (i = 0; i < mt->num_workers; i++)
		alloc.free(alloc.ctx, mt->workers[i], sizeof(struct worker), 64);
	alloc.free(alloc.ctx, mt->workers, mt->num_workers * sizeof(struct worker *),
		   _Alignof(struct worker *));
	weft__idle_finish(&mt->idle, &alloc);
	weft__injector_finish(&mt->injector);
	alloc.free(alloc.ctx, mt, sizeof(*mt), 64);
}

static const struct weft__sched_ops mt_sched_ops = {
	.schedule = mt_schedule,
	.destroy = mt_destroy,
};

/* ---- the worker loop ---------------------------------------------------- */

static uint32_t next_random(struct worker *w)
{
	/* xorshift32 */
	uint32_t x = w->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	w->rng = x;
	return x;
}

static bool is_shutdown(struct mt_sched *mt)
{
	/* Acquire: pairs with the release store in mt_shutdown. */
	return atomic_load_explicit(&mt->shutdown, memory_order_acquire);
}

/* Takes one task from the injector: the busy cadence's check, which must
 * not push into a local queue that may be full (it would overflow straight
 * back into the injector). */
static struct weft_task *pop_injector_one(struct worker *w)
{
	struct mt_sched *mt = w->sched;
	struct weft_task *t;
	size_t n;

	if (weft__injector_is_empty(&mt->injector))
		return NULL;
	t = weft__injector_pop_batch(&mt->injector, 1, &n);
	if (t != NULL)
		WEFT__COUNT(&w->ctr, injector_pops);
	return t;
}

/* Takes a batch from the injector: returns one task, queues the rest.  The
 * batch is this worker's fair share, at most half a queue, and never more
 * than the local queue has room for, so nothing overflows back. */
static struct weft_task *pop_injector(struct worker *w)
{
	struct mt_sched *mt = w->sched;
	size_t max, room, n;
	struct weft_task *first, *t;

	if (weft__injector_is_empty(&mt->injector))
		return NULL;
	max = weft__injector_len(&mt->injector) / mt->num_workers + 1;
	if (max > LOCAL_QUEUE_CAPACITY / 2)
		max = LOCAL_QUEUE_CAPACITY / 2;
	/* One task is returned, not queued: room for max - 1 is enough. */
	room = weft__local_queue_room(&w->queue) + 1;
	if (max > room)
		max = room;
	first = weft__injector_pop_batch(&mt->injector, max, &n);
	if (first == NULL)
		return NULL;
	WEFT__COUNT_N(&w->ctr, injector_pops, n);
	t = first->queue_next;
	while (t != NULL) {
		struct weft_task *next = t->queue_next;

		weft__local_queue_push_back(&w->queue, t, overflow_to_injector, mt);
		t = next;
	}
	first->queue_next = NULL;
	return first;
}

/* Busy cadence: completions and timers are not starved by ready tasks.
 * What they wake goes to this worker's queues; the LIFO slot is only run
 * after a poll, so its task moves to the local queue. */
static void reap_driver(struct worker *w)
{
	struct weft_task *t;

	if (w->driver_ok)
		weft__drv_reap(w->dt);
	weft__time_process(w->sched->base.rt->time);
	t = w->lifo;
	if (t != NULL) {
		w->lifo = NULL;
		push_local(w, t);
	}
}

static struct weft_task *next_local_task(struct worker *w)
{
	struct weft_task *t;

	w->tick++;
	/* Counted in polls, LIFO polls included, so that nothing in the
	 * injector or the driver waits behind more than GLOBAL_INTERVAL polls
	 * of a worker.  Right after a task yielded, which gives up its turn,
	 * the injector is looked at too (one load when it is empty), but the
	 * driver is not reaped: a task that yields in a loop would otherwise
	 * pay a reap per yield; the cadence bounds its wait all the same. */
	if (w->tick - w->injector_tick >= GLOBAL_INTERVAL) {
		w->yielded = false;
		w->injector_tick = w->tick;
		reap_driver(w);
		t = pop_injector_one(w);
		if (t != NULL)
			return t;
	} else if (w->yielded) {
		w->yielded = false;
		t = pop_injector_one(w);
		if (t != NULL)
			return t;
	}
	t = weft__local_queue_pop(&w->queue);
	if (t != NULL)
		return t;
	return pop_injector(w);
}

static struct weft_task *steal_work(struct worker *w)
{
	struct mt_sched *mt = w->sched;
	unsigned i, start, n = mt->num_workers;
	struct weft_task *t;

	if (!w->searching) {
		if (!weft__idle_transition_to_searching(&mt->idle))
			return NULL;
		w->searching = true;
	}
	start = next_random(w) % n;
	for (i = 0; i < n; i++) {
		unsigned victim = (start + i) % n;

		if (victim == w->index)
			continue;
		WEFT__COUNT(&w->ctr, steal_attempts);
		t = weft__local_queue_steal_half(&mt->workers[victim]->queue, &w->queue);
		if (t != NULL) {
			WEFT__COUNT(&w->ctr, steals);
			return t;
		}
	}
	return pop_injector(w);
}

static bool work_available(struct mt_sched *mt);

/*
 * The worker found a task and stops searching.  The last searcher to stop
 * looks at every queue once more, as park() does (see idle.c): work it
 * finds there may have been left to it by notifiers that saw it
 * searching, so it wakes a parked worker now.  That discharges every
 * obligation of the protocol.  When nothing is queued, it still wakes one
 * worker, but only after the task's first poll (run_task): a heuristic,
 * as Tokio's and Go's unconditional wake here, that keeps a searcher
 * around for a stream of work (a producer that wakes tasks one after the
 * other), without putting that wake-up between a woken task and its
 * poll.  Work published after our decrement gets its own notify, so the
 * delay strands nothing.
 */
static void stop_searching(struct worker *w)
{
	if (!w->searching)
		return;
	w->searching = false;
	if (!weft__idle_transition_from_searching(&w->sched->idle))
		return;
	if (work_available(w->sched))
		notify_parked(w->sched);
	else
		w->wake_after_poll = true;
}

#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* A poll published in the worker's slot for the watchdog.  Out of line:
 * without a watchdog, poll_one pays one predictable branch for it. */
static NOINLINE enum task_run_result poll_watched(struct worker *w, struct weft_task *t,
						  uint32_t *budget)
{
	enum task_run_result res;

	weft__poll_slot_enter(&w->slot, weft__task_id(t), weft__task_name(t));
	res = weft__task_run_budget(t, budget);
	weft__poll_slot_exit(&w->slot);
	return res;
}

/* One poll of `t`, counted, and published for the watchdog when it is
 * on; a task woken during its poll goes to the back of the local queue. */
static void poll_one(struct worker *w, struct weft_task *t)
{
	uint32_t budget = WEFT_COOP_BUDGET;
	enum task_run_result res;

	/* Counted before the poll, so that whoever sees the task's end (a
	 * joiner) also sees it counted. */
	WEFT__COUNT(&w->ctr, polls);
	if (w->watch)
		res = poll_watched(w, t, &budget);
	else
		res = weft__task_run_budget(t, &budget);
	if (res == TASK_RUN_RESCHEDULE) {
		if (budget == 0)
			WEFT__COUNT(&w->ctr, budget_yields);
		push_local(w, t);
		w->yielded = true;
	}
}

static void run_task(struct worker *w, struct weft_task *t)
{
	unsigned lifo_polls = 0;

	stop_searching(w);
	for (;;) {
		poll_one(w, t);
		if (w->wake_after_poll) {
			w->wake_after_poll = false;
			notify_parked(w->sched);
		}
		t = w->lifo;
		if (t == NULL)
			return;
		w->lifo = NULL;
		if (lifo_polls >= MAX_LIFO_POLLS || is_shutdown(w->sched)) {
			push_local(w, t);
			return;
		}
		lifo_polls++;
		w->tick++;
		WEFT__COUNT(&w->ctr, lifo_hits);
	}
}

static bool work_available(struct mt_sched *mt)
{
	unsigned i;

	/* SeqCst: orders our SeqCst decrement of the searching count (in
	 * weft__idle_transition_to_parked or _from_searching) before these
	 * loads, against the fence of a notifier that pushed work and then
	 * read the counts (see idle.c). */
	atomic_thread_fence(memory_order_seq_cst);
	if (!weft__injector_is_empty(&mt->injector))
		return true;
	for (i = 0; i < mt->num_workers; i++)
		if (!weft__local_queue_is_empty(&mt->workers[i]->queue))
			return true;
	return false;
}

static bool take_timer_duty(struct mt_sched *mt, struct worker *w)
{
	int none = -1;

	/* SeqCst: a timer changer stores its deadline and then reads the
	 * holder; we take the duty and then read the deadline (park.c). */
	return atomic_compare_exchange_strong_explicit(&mt->timer_duty, &none,
						       (int)w->index,
						       memory_order_seq_cst,
						       memory_order_relaxed);
}

enum driver_park {
	PARK_AGAIN,    /* nothing for us: wait again */
	PARK_UNPARKED, /* a notifier unparked us: we come back searching */
	PARK_SELF,     /* our reap woke tasks into our queues: we left park */
};

/* One wait in the driver, then a reap in this worker's own context, so
 * that the tasks it wakes go to our LIFO slot and local queue (see the
 * essay). */
static enum driver_park park_in_driver(struct worker *w, bool duty)
{
	struct mt_sched *mt = w->sched;
	struct weft_runtime *rt = mt->base.rt;
	bool unparked;
	int other;

	unparked = weft__parker_park_driver(&w->parker, duty ? rt->time : NULL);
	weft__drv_reap(w->dt);
	if (duty)
		weft__time_process(rt->time);
	if (unparked)
		return PARK_UNPARKED;
	if (w->lifo == NULL && weft__local_queue_is_empty(&w->queue))
		return PARK_AGAIN;
	if (weft__idle_unpark_self(&mt->idle, w->index, &other))
		return PARK_SELF;
	/* A notifier counted or claimed us.  Its claim may still go to
	 * another worker's bit (one that parked after the notifier counted),
	 * and nobody can steal from a LIFO slot: the slot's task goes to the
	 * local queue, where whoever that notifier wakes finds it.  (Found
	 * by fuzz_mt: the timer duty holder fired a sleep into its own slot
	 * and waited with it there, every worker parked.) */
	if (w->lifo != NULL) {
		struct weft_task *t = w->lifo;

		w->lifo = NULL;
		push_local(w, t);
	}
	/* A notifier claimed our bit: its unpark is ours to consume, and
	 * the next wait returns at once. */
	if (other >= 0)
		weft__parker_unpark(&mt->workers[other]->parker);
	return PARK_AGAIN;
}

/* Busy time: the clock is read only when a worker parks and wakes. */
static void busy_begin(struct worker *w)
{
	atomic_store_explicit(&w->ctr.busy_since, weft__now_ns(), memory_order_relaxed);
}

static void busy_end(struct worker *w)
{
	uint64_t since = atomic_load_explicit(&w->ctr.busy_since, memory_order_relaxed);

	WEFT__COUNT_N(&w->ctr, busy_ns, weft__now_ns() - since);
	atomic_store_explicit(&w->ctr.busy_since, 0, memory_order_relaxed);
}

/* For weft__blocking_spin_before_park. */
static bool injector_has_work(void *mt)
{
	return !weft__injector_is_empty(&((struct mt_sched *)mt)->injector);
}

static void park(struct worker *w)
{
	struct mt_sched *mt = w->sched;
	enum driver_park how = PARK_UNPARKED;
	bool duty;

	if (weft__time_auto_advance(mt->base.rt->time))
		return; /* timers fired: there is work */
	/* A searcher waits a moment for blocking jobs that finish at once. */
	if (w->searching &&
	    weft__blocking_spin_before_park(mt->base.rt, injector_has_work, mt))
		return;
	if (weft__idle_transition_to_parked(&mt->idle, w->index, w->searching) &&
	    work_available(mt))
		notify_parked(mt);
	w->searching = false;
	busy_end(w);
	WEFT__COUNT(&w->ctr, parks);
	duty = w->driver_ok && take_timer_duty(mt, w);
	if (duty || (w->driver_ok && mt->all_park_in_driver)) {
		while ((how = park_in_driver(w, duty)) == PARK_AGAIN)
			;
	} else {
		weft__parker_park(&w->parker);
	}
	if (duty) {
		/* Release: pairs with the CAS of the next holder. */
		atomic_store_explicit(&mt->timer_duty, -1, memory_order_release);
	}
	/* Unparked: by a notifier, which counted us as searching, or by
	 * shutdown; or we left by ourselves, not searching, with work. */
	w->searching = how == PARK_UNPARKED;
	busy_begin(w);
}

/* The LIFO slot holds a task outside run_task only after a park whose
 * reap woke it (park_in_driver): it runs first. */
static struct weft_task *take_lifo(struct worker *w)
{
	struct weft_task *t = w->lifo;

	if (t != NULL) {
		w->lifo = NULL;
		w->tick++;
	}
	return t;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct mt_sched *mt = w->sched;
	char name[16];

	/* Shown by top, perf and gdb; Linux keeps 15 characters. */
	snprintf(name, sizeof(name), "weft-worker-%u", w->index);
	weft__thread_set_name(name);
	busy_begin(w);
	weft__ctx.rt = mt->base.rt;
	weft__ctx.owner = w;
	weft__ctx.worker_id = w->index + 1;
	weft__ctx.in_runtime = true;
	weft__sched_ref_cache_start(&mt->base);
	if (weft__drv_thread_init(w->dt) == 0) {
		weft__ctx.drv = w->dt;
		w->driver_ok = true;
	} else {
		/* The ring cannot be enabled on this thread: close it to
		 * new operations and park on the futex instead. */
		weft__drv_thread_finish(w->dt);
	}
	while (!is_shutdown(mt)) {
		struct weft_task *t = take_lifo(w);

		if (t == NULL)
			t = next_local_task(w);

		if (t == NULL)
			t = steal_work(w);
		if (t != NULL) {
			run_task(w, t);
			continue;
		}
		park(w);
	}
	/* Cancel and drain what is in flight on our ring before we go; what
	 * it wakes goes to the injector. */
	weft__ctx.owner = NULL;
	if (w->driver_ok)
		weft__drv_thread_finish(w->dt);
	weft__ctx.rt = NULL;
	weft__ctx.drv = NULL;
	weft__ctx.worker_id = 0;
	weft__ctx.in_runtime = false;
	/* Last: the tasks that the ring's drain above freed count too.  The
	 * runtime still holds its reference (mt_shutdown joins us first). */
	weft__sched_ref_cache_flush();
	busy_end(w);
	return NULL;
}

/* ---- block_on ------------------------------------------------------------ */

/*
 * While the future that block_on polls is pending, the blocked thread runs
 * tasks from the injector instead of sleeping at once: a future that only
 * talks to tasks (spawn, then await the handle; send a request, await the
 * reply) then completes without a cross-thread wake per step.  It runs one
 * task at a time and checks its own future between them, so it never
 * delays it by more than one poll.
 *
 * Such a thread also defers the wake of a worker that its own pushes to the
 * injector would cost: when what it queued is a single task, it will run
 * it itself.  While such a deferral stands it runs one queued task between
 * two polls of its future, also when the future woke itself and the thread
 * would not otherwise wait (a future that yields until the task it spawned
 * has run); whenever more than one task is waiting, and whenever it stops
 * helping (its future is done) with anything still queued, it wakes a
 * worker, so nothing it queued waits on it alone for longer than one poll.
 */
static void flush_deferred(struct mt_sched *mt, size_t keep)
{
	if (!weft__ctx.notify_deferred)
		return;
	if (weft__injector_len(&mt->injector) > keep) {
		weft__ctx.notify_deferred = false;
		notify_parked(mt);
	} else if (weft__injector_is_empty(&mt->injector)) {
		weft__ctx.notify_deferred = false;
	}
}

static bool help_run_one(struct mt_sched *mt)
{
	struct weft_task *t;
	size_t n;

	t = weft__injector_pop_batch(&mt->injector, 1, &n);
	if (t == NULL)
		return false;
	weft__ctx.in_runtime = true;
	if (weft__task_run(t, WEFT_COOP_BUDGET) == TASK_RUN_RESCHEDULE) {
		if (weft__injector_push(&mt->injector, t))
			weft__ctx.notify_deferred = true;
		else
			weft__task_discard(t);
	}
	weft__ctx.in_runtime = false;
	flush_deferred(mt, 1);
	return true;
}

/*
 * Parks a thread inside block_on until its parker is unparked or the next
 * timer is due, then fires the due timers (as any thread may).  Workers
 * parked with the deadline would fire them too; this keeps a timer of the
 * blocked future on time while every worker is busy.
 */
static void block_on_park(struct weft_runtime *rt, struct weft__parker *p)
{
	uint64_t deadline = weft__time_park_deadline(rt->time);

	if (deadline == UINT64_MAX)
		weft__parker_park(p);
	else
		weft__parker_park_until(p, deadline);
	weft__time_process(rt->time);
}

static int mt_block_on(struct weft_runtime *rt, weft_future *f)
{
	struct mt_sched *mt = mt_of(rt->sched);
	struct weft__context saved = weft__ctx;
	struct weft__parker *p = weft__thread_parker();
	bool helps = mt->block_on_helps;
	weft_waker waker;
	weft_cx cx;

	if (p == NULL)
		return -ENOMEM;
	waker = weft__thread_parker_waker_ref(p);
	weft__ctx.rt = rt;
	weft__ctx.owner = NULL;
	/* No ring of our own: I/O started here is handed to a worker. */
	weft__ctx.drv = NULL;
	weft__ctx.defer_notify = helps;
	weft__ctx.notify_deferred = false;
	for (;;) {
		cx.waker = &waker;
		cx.budget = WEFT_COOP_BUDGET;
		cx.flags = 0;
		/* Acquire (load and exchange): a wake that came before this
		 * point published its writes with its release store of the flag
		 * (parker_wake_by_ref); reading it true synchronises with it.
		 * Only a set flag needs the exchange: when the load reads false
		 * no wake is pending, and one that comes later sets the flag
		 * again for the loop below, so a future that is ready at once
		 * costs no locked instruction here. */
		if (atomic_load_explicit(&p->woken, memory_order_acquire))
			atomic_exchange_explicit(&p->woken, false, memory_order_acquire);
		weft__ctx.in_runtime = true;
		if (weft_future_poll(f, &cx) == WEFT_READY)
			break;
		weft__ctx.in_runtime = false;
		flush_deferred(mt, 1);
		/* A task this thread queued still waits for it alone (no worker
		 * was woken for it): run one queued task before the next poll,
		 * even when the future woke itself and the loop below is
		 * skipped, so that a future which yields until that task has
		 * run (or an abort it issued is carried out) makes progress. */
		if (weft__ctx.notify_deferred && !is_shutdown(mt))
			help_run_one(mt);
		/* Acquire: pairs with the release store in the parker waker. */
		while (!atomic_load_explicit(&p->woken, memory_order_acquire)) {
			if (helps && !is_shutdown(mt) && help_run_one(mt))
				continue;
			flush_deferred(mt, 0);
			block_on_park(rt, p);
		}
	}
	/* Leaving: whatever we queued and did not run goes to a worker. */
	flush_deferred(mt, 0);
	weft__ctx = saved;
	return 0;
}

/* ---- lifecycle ------------------------------------------------------------ */

static void mt_shutdown(struct weft_runtime *rt)
{
	struct mt_sched *mt = mt_of(rt->sched);
	struct weft_task *list, *t;
	unsigned i;

	weft__sched_close(&mt->base);
	/* Release: pairs with the acquire in is_shutdown. */
	atomic_store_explicit(&mt->shutdown, true, memory_order_release);
	for (i = 0; i < mt->num_workers; i++)
		weft__parker_unpark(&mt->workers[i]->parker);
	for (i = 0; i < mt->num_workers; i++)
		if (mt->workers[i]->started)
			pthread_join(mt->workers[i]->thread, NULL);
	weft__watchdog_stop(mt->watchdog);
	mt->watchdog = NULL;
	weft__sched_shutdown_tasks(&mt->base);
	for (i = 0; i < mt->num_workers; i++) {
		struct worker *w = mt->workers[i];

		if (w->lifo != NULL) {
			weft__task_discard(w->lifo);
			w->lifo = NULL;
		}
		while ((t = weft__local_queue_pop(&w->queue)) != NULL)
			weft__task_discard(t);
	}
	list = weft__injector_close(&mt->injector);
	while ((t = list) != NULL) {
		list = t->queue_next;
		weft__task_discard(t);
	}
	/* The runtime frees the drivers next: an unpark that claimed a
	 * worker's last driver park may still be writing to it. */
	for (i = 0; i < mt->num_workers; i++)
		weft__parker_quiesce(&mt->workers[i]->parker);
}

/* A new earliest timer: the duty holder re-reads the deadline. */
static void mt_timer_changed(struct weft_runtime *rt)
{
	struct mt_sched *mt = mt_of(rt->sched);
	int holder;

	/* SeqCst: see take_timer_duty. */
	atomic_thread_fence(memory_order_seq_cst);
	holder = atomic_load_explicit(&mt->timer_duty, memory_order_seq_cst);
	if (holder >= 0)
		weft__drv_kick(mt->workers[holder]->dt);
}

/* ---- metrics ------------------------------------------------------------------ */

static uint64_t load(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static void mt_metrics(const struct weft_runtime *rt, weft_metrics *m)
{
	struct mt_sched *mt = mt_of(rt->sched);

	m->injector_depth = weft__injector_len(&mt->injector);
}

static void mt_worker_metrics(const struct weft_runtime *rt, unsigned i,
			      weft_worker_metrics *m)
{
	struct worker *w = mt_of(rt->sched)->workers[i];
	uint32_t depth = weft__local_queue_len(&w->queue);
	uint64_t since = load(&w->ctr.busy_since);

	m->polls = load(&w->ctr.polls);
	m->steals = load(&w->ctr.steals);
	m->steal_attempts = load(&w->ctr.steal_attempts);
	m->lifo_hits = load(&w->ctr.lifo_hits);
	m->parks = load(&w->ctr.parks);
	m->injector_pops = load(&w->ctr.injector_pops);
	m->budget_yields = load(&w->ctr.budget_yields);
	m->busy_ns = load(&w->ctr.busy_ns);
	if (since != 0) {
		uint64_t now = weft__now_ns();

		m->busy_ns += now > since ? now - since : 0;
	}
	m->local_queue_depth = depth > LOCAL_QUEUE_CAPACITY ? LOCAL_QUEUE_CAPACITY : depth;
}

static struct weft__poll_slot *slot_at(void *ctx, unsigned i)
{
	struct mt_sched *mt = ctx;

	return &mt->workers[i]->slot;
}

static const struct weft__runtime_ops mt_runtime_ops = {
	.block_on = mt_block_on,
	.metrics = mt_metrics,
	.worker_metrics = mt_worker_metrics,
	.shutdown = mt_shutdown,
	.timer_changed = mt_timer_changed,
};

static void free_workers(struct mt_sched *mt, const weft_allocator *alloc, unsigned n)
{
	while (n-- > 0)
		alloc->free(alloc->ctx, mt->workers[n], sizeof(struct worker), 64);
}

int weft__multi_thread_create(struct weft_runtime *rt)
{
	const weft_allocator *alloc = &rt->alloc;
	unsigned n = rt->workers; /* resolved by weft_runtime_create */
	struct mt_sched *mt;
	unsigned i;
	int err;

	if (n > 65536)
		return -EINVAL;
	mt = alloc->alloc(alloc->ctx, sizeof(*mt), 64);
	if (mt == NULL)
		return -ENOMEM;
	memset(mt, 0, sizeof(*mt));
	mt->num_workers = n;
	atomic_init(&mt->shutdown, false);
	atomic_init(&mt->timer_duty, -1);
	mt->all_park_in_driver = !rt->driver->ops->any_thread;
	mt->block_on_helps = rt->block_on_help;
	err = weft__injector_init(&mt->injector);
	if (err < 0)
		goto fail_mt;
	err = weft__idle_init(&mt->idle, n, alloc);
	if (err < 0)
		goto fail_injector;
	mt->workers = alloc->alloc(alloc->ctx, n * sizeof(struct worker *),
				   _Alignof(struct worker *));
	err = -ENOMEM;
	if (mt->workers == NULL)
		goto fail_idle;
	for (i = 0; i < n; i++) {
		struct worker *w = alloc->alloc(alloc->ctx, sizeof(*w), 64);

		if (w == NULL) {
			free_workers(mt, alloc, i);
			goto fail_workers;
		}
		memset(w, 0, sizeof(*w));
		weft__local_queue_init(&w->queue);
		w->sched = mt;
		w->index = i;
		w->rng = 0x9e3779b9u * (i + 1);
		weft__parker_init(&w->parker);
		atomic_init(&w->slot.seq, 0);
		w->watch = rt->obs.stall_ns != 0;
		w->dt = weft__drv_thread_at(rt->driver, i);
		w->parker.drv = w->dt;
		mt->workers[i] = w;
	}
	err = weft__sched_init(&mt->base, &mt_sched_ops, alloc, rt);
	if (err < 0) {
		free_workers(mt, alloc, n);
		goto fail_workers;
	}
	weft__sched_observe(&mt->base, &rt->obs);
	mt->watch = rt->obs.stall_ns != 0;
	rt->ops = &mt_runtime_ops;
	rt->sched = &mt->base;
	rt->workers = n;
	for (i = 0; i < n; i++) {
		err = -weft__worker_thread_create(&mt->workers[i]->thread, worker_main,
						  mt->workers[i]);
		if (err < 0) {
			/* Stop the ones that started, then free everything
			 * through the normal shutdown path. */
			mt_shutdown(rt);
			weft__sched_unref(&mt->base);
			return err;
		}
		mt->workers[i]->started = true;
	}
	if (mt->watch) {
		err = weft__watchdog_start(&mt->base.obs, alloc, slot_at, mt, n, rt->obs.stall_ns,
					   &mt->watchdog);
		if (err < 0) {
			mt_shutdown(rt);
			weft__sched_unref(&mt->base);
			return err;
		}
	}
	return 0;

fail_workers:
	alloc->free(alloc->ctx, mt->workers, n * sizeof(struct worker *),
		    _Alignof(struct worker *));
fail_idle:
	weft__idle_finish(&mt->idle, alloc);
fail_injector:
	weft__injector_finish(&mt->injector);
fail_mt:
	alloc->free(alloc->ctx, mt, sizeof(*mt), 64);
	return err;
}

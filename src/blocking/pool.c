/*
 * src/blocking/pool.c - the autoscaling pool of threads that runs blocking
 * jobs (weft_spawn_blocking).
 *
 * A job is a task
 * ===============
 *
 * A blocking job is an ordinary task (task.c): one allocation holding the
 * 64-byte header and a weft_blocking_future whose poll calls fn(arg) once
 * and returns ready.  What differs is its scheduler: the pool is a struct
 * weft__sched of its own, so the task's references, join handle, abort,
 * detach and output are the same code as for any task.  A pool thread runs a
 * job with weft__task_run, exactly as a worker polls a task.  The future never
 * returns pending, so a job is never woken and never scheduled twice; the pool
 * submits it itself (pool_submit) so that a job it cannot run is reported to
 * the caller at once instead of being queued for nobody.
 *
 * Abort needs nothing from the pool: a queued task (NOTIFIED) only gets its
 * CANCELLED bit, and when a pool thread takes it off the queue weft__task_run
 * drops the future instead of polling it, so fn never starts and the join
 * completes with -ECANCELED.  A running job (RUNNING) finishes its poll and
 * keeps its result, as any task that finishes in the poll it is in.
 *
 * Threads
 * =======
 *
 * What the pool shares is under one mutex: the FIFO of queued tasks
 * (linked through queue_next), the lists of idle threads, and the counts.
 * An idle thread first spins for a moment (SPIN_NS; at most MAX_SPINNERS
 * at a time, on the `spinners` list), then sleeps on its own futex parker
 * (the `idle` list) until the keep-alive passes.  A wake reaches exactly
 * one thread, a spinning one first (it learns of the claim from a flag,
 * without a syscall, on a warm core), else the one that went idle last
 * (which keeps few threads warm and lets the others reach their
 * keep-alive); no thread ever wakes for nothing but a timeout.  A
 * submission under the lock:
 *
 *   1. with idle threads, queues the task and, unless a thread it woke
 *      earlier has not yet come back for the queue (`notified`), takes one
 *      idle thread off its list ("claims" it) and tells it.  Each thread
 *      that takes a job and sees more queued claims the next idle one the
 *      same way (ripple_wake), so a burst fans out over the idle threads
 *      without a wake per job; or
 *   2. with no idle thread and fewer than `max_threads` threads, reserves a
 *      thread, unlocks, and starts it with the task as its first job; or
 *   3. at the maximum, queues the task: a busy thread takes it when its
 *      current job returns.
 *
 * If starting the thread fails (pthread_create, or the allocation of its
 * record) and no thread has gone idle meanwhile, the submission fails with
 * that error and the caller cancels the task: no job waits in the queue
 * for a thread that may never come.  A thread that finds the queue empty
 * goes idle as above; if no submission claimed it by the end of the
 * keep-alive, it takes itself off its list and exits.  An exited thread
 * leaves its record on the `exited` list; whoever starts the next thread,
 * or shutdown, joins it and frees the record.
 *
 * The lock-free path
 * ==================
 *
 * While some thread is sure to take the lock and look at the queue soon --
 * a claimed thread on its way (`notified` > 0) or a spinning one -- a
 * submission needs no decision at all: in case 1 above it would only
 * queue.  The atomic `coming` says so (set_coming recomputes it under the
 * lock whenever those counts change), and then the submitter pushes the
 * task on the `inbox`, a lock-free stack, with one CAS.  Whoever holds the
 * lock moves the inbox to the FIFO, oldest first (drain_inbox: one
 * exchange takes the whole stack, so there is no ABA), before it pops; a
 * spinning thread also watches the inbox and stops spinning when a job is
 * there.  The race is the classic store-load one: the submitter pushes,
 * then loads `coming` again; the thread that clears `coming` stores it,
 * then drains; all four are SeqCst, so in their single total order either
 * the submitter's second load sees true (and the clearing thread's drain,
 * later, finds the job) or it sees false.  Then the submitter goes to the
 * lock itself (ensure_thread): after draining, it decides as a locked
 * submission would, claiming or starting a thread for the queue.  If that
 * start fails and no thread is idle, the job may not wait for nobody: if
 * it is still queued it is taken out and the error returned as in case 2;
 * if a thread took it meanwhile, it was accepted after all.
 *
 * So a stream of jobs to a pool whose thread is spinning (the
 * spawn_blocking benchmark's batches) costs no lock and no syscall on the
 * submitting side, and the spinner takes each batch with one lock.  The
 * other half of the round trip is the completion, which wakes the task
 * awaiting the job through its worker's injector: a searching worker
 * spins for a moment before it parks while jobs are active
 * (weft__blocking_spin_before_park), so that a job that returns at once
 * does not cost a driver wake of a parked worker.
 *
 * Lifetime and shutdown
 * =====================
 *
 * The pool's memory is the sched's: the runtime holds one reference, every
 * task one, and every thread one, so a thread that outlives the runtime (a
 * job still running at a shutdown's deadline) frees the pool when it exits.
 * Jobs skip the owned-task list (weft__sched.unowned): none is ever idle,
 * so shutdown finds each in the queue or on a thread.  Shutdown closes the
 * list anyway, sets `shutdown` (new jobs get -ESHUTDOWN from pool_submit;
 * it also clears `coming`), drains the inbox, takes the whole
 * queue and cancels every queued task (a submitter that raced it and finds
 * `shutdown` in ensure_thread cancels what it drains), wakes the
 * idle threads so they exit, and waits on a condition variable until the
 * thread count is zero or the deadline passes.  Past the deadline it marks
 * the pool `abandoned`: the remaining threads detach themselves and free
 * their own records when their jobs return; their joins complete then.
 */
#define _GNU_SOURCE
#include "blocking.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "weft/blocking.h"
#include "../common/lock.h"
#include "../common/platform.h"
#include "../sched/park.h"
#include "../sched/runtime.h"
#include "../sched/task.h"
#include "../sched/task_cache.h"
#include "../driver/time.h"

#define DEFAULT_MAX_THREADS 512u
#define DEFAULT_KEEP_ALIVE_NS (10ull * 1000000000ull)
/* Longer keep-alives are clamped: a year is "for ever" to a thread pool. */
#define MAX_KEEP_ALIVE_NS (365ull * 24 * 3600 * 1000000000ull)
/* How many idle threads spin at once, and for how long, before they
 * sleep; and how long a worker spins for a job's completion before it
 * parks.  Fixed bounds: a spin that adapted down after failures (on a
 * busy machine) was seen to stay down on an idle one, where a gap of a
 * few microseconds between batches is exactly what it must cover.  The
 * idle thread's spin is 30 us, not 10: on this 2-core VM a gap between
 * batches now and then outlasts 10 us (a worker that parked and is woken
 * through its ring), and each time the pool thread then sleeps too, so
 * that the next batch pays a futex wake on both sides.  In one sequence
 * of interleaved runs of the spawn_blocking case (docs/benchmarks.md) its
 * median was 250 us against 444 us at 10 us (6 runs of 14 above 340 us
 * against 8); in another, on a faster stretch of the machine, about 240
 * either way; 50 and 100 us were no better than 30.  One thread at most
 * spends those 30 us, once per idle spell. */
/* The most the job cache keeps (job_cache_free): 131,072 jobs'
 * allocations at this build's job size (128 bytes on x86-64: the 64-byte
 * header and the job's future), enough for a burst of that many jobs to
 * reuse the memory of the last one instead of faulting in pages that the
 * allocator gave back to the kernel. */
#define JOB_CACHE_BYTES (16u << 20)
#define MAX_SPINNERS 1u
#define SPIN_NS 30000u
#define WORKER_SPIN_NS 10000u

struct pool_thread {
	struct weft__blocking_pool *pool;
	struct weft__parker parker;
	pthread_t thread;
	/* The spinning or the idle list (both links), or the exited list
	 * (`next`). */
	struct pool_thread *prev, *next;
	/* The job the thread was started for; NULL afterwards. */
	struct weft_task *first;
	/* Under the lock: taken off the spinning or idle list by a submission
	 * or by shutdown, which will (or did) tell the thread. */
	bool claimed;
	/* Under the lock: the thread is on the spinning list. */
	bool spinning;
	/* Set by whoever claims the thread while it spins, which tells it
	 * without a syscall; read by the spinning thread without the lock. */
	_Atomic bool spin_claimed;
};

struct weft__blocking_pool {
	struct weft__sched base; /* first: tasks point here */
	pthread_mutex_t lock;
	/* Signalled when `threads` drops to zero during shutdown. */
	pthread_cond_t all_exited;
	/* The FIFO of queued jobs, under the lock. */
	struct weft_task *head, *tail;
	/* Jobs pushed without the lock while `coming` was true: a LIFO stack
	 * through queue_next that whoever holds the lock moves to the FIFO
	 * in order (drain_inbox). */
	_Atomic(struct weft_task *) inbox;
	/* True while some thread is sure to take the lock and drain the inbox
	 * soon: a claimed thread on its way (notified > 0) or a spinning idle
	 * thread; false once shutdown began.  Written under the lock
	 * (set_coming), read by submitters without it. */
	_Atomic bool coming;
	/* Jobs accepted so far, and jobs that left the pool (ran, were
	 * cancelled, or were given back to their submitter) so far: the
	 * active jobs (queued plus running, weft__blocking_active) are the
	 * difference.  Two counts, each written by one side -- `submitted` by
	 * submitters, next to the inbox they push to, `finished` by the pool
	 * threads, a cache line away -- so that a stream of submissions does
	 * not take a line back from the pool threads at every job, as one
	 * count added to and taken from by both sides did. */
	_Atomic size_t submitted;
	char finished_line_[64];
	_Atomic size_t finished;
	char finished_end_[64];
	/* Idle threads that spin (at most MAX_SPINNERS) and idle threads
	 * that sleep on their parkers; both most recently idle first. */
	struct pool_thread *spinners;
	struct pool_thread *idle;
	struct pool_thread *exited;
	unsigned nspinning;
	unsigned threads;
	/* Jobs in the queue, and the number the next thread's name gets. */
	unsigned queued;
	unsigned next_name;
	/* Claimed threads that have not yet come back for the queue. */
	unsigned notified;

	unsigned max_threads;
	uint64_t keep_alive_ns;
	bool shutdown;
	bool abandoned;
	/* The runtime's clock is paused: the end of the last job kicks it. */
	bool paused_clock;
	/* The runtime's allocator.  base.alloc is the job cache in front of
	 * it (job_cache_alloc, job_cache_free). */
	weft_allocator under;
	/* The job cache: freed allocations of one size and alignment (the
	 * first cached, a job task's), linked through their first word.
	 * Under cache_lock. */
	struct weft__lock cache_lock;
	void *cache_head;
	size_t cache_len, cache_size, cache_align;
	/* `under` is the default allocator and the task cache is on: the
	 * task cache's per-thread lists and depot come first (see below). */
	bool thread_cache;
};

/* Test hook: while true, the job cache keeps nothing (tests that count
 * the allocator's calls per job).  Tests only. */
_Atomic bool weft__blocking_job_cache_off;

/*
 * The job cache
 * =============
 *
 * Every job is a task of the same size, allocated by its submitter and
 * freed by whichever thread drops its last reference.  Behind a burst of
 * jobs, glibc's malloc gives the freed memory back to the kernel (it trims
 * the top of the heap), and the next burst pays a page fault per 4 KiB it
 * takes again: in burst_100k (docs/benchmarks.md) that was most of the
 * time.  So the pool keeps up to JOB_CACHE_BYTES of freed job allocations
 * and hands them to the next jobs, as Go's runtime keeps dead goroutines
 * for reuse.  The cache gives everything back to the runtime's allocator
 * when the pool's last thread exits (the pool has been idle for its
 * keep-alive) and when the pool is destroyed.  Allocations of any other
 * size or alignment (the pool's thread records) pass through.
 *
 * On the default allocator the task cache (src/sched/task_cache.c) comes
 * first: a job is taken from the submitting thread's own list, and freed
 * into the freeing thread's, without a lock, and blocks move between
 * threads through its depot 32 at a time.  Only what the task cache
 * cannot hold (its lists and depot are full, behind a burst) comes to
 * the locked list here, and a job is taken from that list only when the
 * task cache has none.  Before, each job took the cache lock twice, and
 * in the slow of the VM's two core placements (docs/benchmarks.md) those
 * two locked instructions on a line the submitting worker and the pool
 * threads passed back and forth were 14% of spawn_blocking's samples.
 */
static void *job_cache_alloc(void *ctx, size_t size, size_t align)
{
	struct weft__blocking_pool *pool = ctx;
	void *p = NULL;

	if (pool->thread_cache && align <= 16) {
		p = weft__task_cache_take(size);
		if (p != NULL)
			return p;
	}
	weft__lock_acquire(&pool->cache_lock);
	if (pool->cache_head != NULL && size == pool->cache_size && align == pool->cache_align) {
		p = pool->cache_head;
		memcpy(&pool->cache_head, p, sizeof(void *));
		pool->cache_len--;
	}
	weft__lock_release(&pool->cache_lock);
	return p != NULL ? p : weft__alloc(&pool->under, size, align);
}

static void job_cache_free(void *ctx, void *p, size_t size, size_t align)
{
	struct weft__blocking_pool *pool = ctx;
	bool kept = false;

	if (size >= sizeof(void *) &&
	    !atomic_load_explicit(&weft__blocking_job_cache_off, memory_order_relaxed)) {
		if (pool->thread_cache && align <= 16 && weft__task_cache_keep(p, size))
			return;
		weft__lock_acquire(&pool->cache_lock);
		if (pool->cache_len == 0) {
			pool->cache_size = size;
			pool->cache_align = align;
		}
		if (size == pool->cache_size && align == pool->cache_align &&
		    (pool->cache_len + 1) * size <= JOB_CACHE_BYTES) {
			memcpy(p, &pool->cache_head, sizeof(void *));
			pool->cache_head = p;
			pool->cache_len++;
			kept = true;
		}
		weft__lock_release(&pool->cache_lock);
	}
	if (!kept)
		weft__free(&pool->under, p, size, align);
}

/* Gives every cached allocation back to the runtime's allocator.  Any
 * thread; may hold pool->lock (the cache lock is taken after it, never
 * before). */
static void job_cache_release(struct weft__blocking_pool *pool)
{
	void *list, *p;
	size_t size, align;

	weft__lock_acquire(&pool->cache_lock);
	list = pool->cache_head;
	size = pool->cache_size;
	align = pool->cache_align;
	pool->cache_head = NULL;
	pool->cache_len = 0;
	weft__lock_release(&pool->cache_lock);
	while ((p = list) != NULL) {
		memcpy(&list, p, sizeof(void *));
		weft__free(&pool->under, p, size, align);
	}
}

static _Atomic(weft__blocking_thread_create_fn) thread_create_hook;

/* The pool whose thread this is, so that destroying the runtime from one
 * of its own jobs is refused instead of waiting for itself. */
static WEFT__TLS struct weft__blocking_pool *current_pool;

void weft__blocking_set_thread_create_hook(weft__blocking_thread_create_fn fn)
{
	atomic_store_explicit(&thread_create_hook, fn, memory_order_relaxed);
}

static struct weft__blocking_pool *pool_of(struct weft_runtime *rt)
{
	/* Acquire: sees the pool initialised before it was published; pairs
	 * with the release CAS in get_pool. */
	return atomic_load_explicit(&rt->blocking, memory_order_acquire);
}

/* ---- the queue and the idle list (under the lock) ------------------------ */

static void queue_push(struct weft__blocking_pool *pool, struct weft_task *t)
{
	t->queue_next = NULL;
	if (pool->tail != NULL)
		pool->tail->queue_next = t;
	else
		pool->head = t;
	pool->tail = t;
	pool->queued++;
}

/*
 * Moves the jobs of the inbox to the FIFO, oldest first.  Called with the
 * lock held, after set_coming wherever `coming` may have changed.
 */
static void drain_inbox(struct weft__blocking_pool *pool)
{
	struct weft_task *t, *rev = NULL;

	/* SeqCst: after our SeqCst store of `coming`, against a submitter's
	 * SeqCst push then load of it (see pool_submit): either it sees the
	 * new `coming` or we see its job. */
	if (atomic_load_explicit(&pool->inbox, memory_order_seq_cst) == NULL)
		return;
	/* SeqCst as above; the acquire part sees each pushed task. */
	t = atomic_exchange_explicit(&pool->inbox, NULL, memory_order_seq_cst);
	while (t != NULL) {
		struct weft_task *next = t->queue_next;

		t->queue_next = rev;
		rev = t;
		t = next;
	}
	while ((t = rev) != NULL) {
		rev = t->queue_next;
		queue_push(pool, t);
	}
}

/* Pushes `t` to the inbox; any thread, without the lock. */
static void inbox_push(struct weft__blocking_pool *pool, struct weft_task *t)
{
	struct weft_task *head = atomic_load_explicit(&pool->inbox, memory_order_relaxed);

	do {
		t->queue_next = head;
		/* SeqCst: see drain_inbox; its release part publishes the
		 * task to the drainer's exchange. */
	} while (!atomic_compare_exchange_weak_explicit(&pool->inbox, &head, t,
							memory_order_seq_cst,
							memory_order_relaxed));
}

/* Recomputes `coming` after notified, nspinning or shutdown changed.
 * Called with the lock held; a drain_inbox follows it. */
static void set_coming(struct weft__blocking_pool *pool)
{
	bool coming = !pool->shutdown && (pool->notified > 0 || pool->nspinning > 0);

	/* SeqCst: see drain_inbox. */
	if (atomic_load_explicit(&pool->coming, memory_order_relaxed) != coming)
		atomic_store_explicit(&pool->coming, coming, memory_order_seq_cst);
}

/* Takes the oldest queued job (the inbox drained first); NULL if none. */
static struct weft_task *queue_pop(struct weft__blocking_pool *pool)
{
	struct weft_task *t;

	drain_inbox(pool);
	t = pool->head;

	if (t != NULL) {
		pool->head = t->queue_next;
		if (pool->head == NULL)
			pool->tail = NULL;
		t->queue_next = NULL;
		pool->queued--;
	}
	return t;
}

static void list_push(struct pool_thread **list, struct pool_thread *pt)
{
	pt->prev = NULL;
	pt->next = *list;
	if (*list != NULL)
		(*list)->prev = pt;
	*list = pt;
}

static void list_remove(struct pool_thread **list, struct pool_thread *pt)
{
	if (pt->prev != NULL)
		pt->prev->next = pt->next;
	else
		*list = pt->next;
	if (pt->next != NULL)
		pt->next->prev = pt->prev;
	pt->prev = pt->next = NULL;
}

/* Takes `pt` off whichever idle list holds it. */
static void idle_remove(struct weft__blocking_pool *pool, struct pool_thread *pt)
{
	if (pt->spinning) {
		list_remove(&pool->spinners, pt);
		pt->spinning = false;
		pool->nspinning--;
		set_coming(pool);
	} else {
		list_remove(&pool->idle, pt);
	}
}

/*
 * Takes an idle thread off its list ("claims" it), a spinning one first:
 * it needs no syscall to learn of the claim and is on a warm core.  NULL
 * if no thread is idle.  The caller tells it with claim_wake before
 * unlocking (see pool_submit).
 */
static struct pool_thread *idle_claim(struct weft__blocking_pool *pool)
{
	struct pool_thread *pt = pool->spinners != NULL ? pool->spinners : pool->idle;

	if (pt != NULL) {
		/* pt->spinning stays set for claim_wake, which clears it. */
		if (pt->spinning) {
			list_remove(&pool->spinners, pt);
			pool->nspinning--;
		} else {
			list_remove(&pool->idle, pt);
		}
		pt->claimed = true;
		pool->notified++;
		set_coming(pool);
	}
	return pt;
}

/* Tells a thread that idle_claim returned: a spinning one through its
 * flag, a sleeping one through its parker.  Called with the lock held. */
static void claim_wake(struct pool_thread *pt)
{
	if (pt->spinning) {
		pt->spinning = false;
		/* Relaxed: this only ends the spin; the spinner then takes the
		 * lock and reads `claimed` under it (spin_wait). */
		atomic_store_explicit(&pt->spin_claimed, true, memory_order_relaxed);
	} else {
		weft__parker_unpark(&pt->parker);
	}
}

/* ---- jobs ------------------------------------------------------------------ */

/* Returns true when the job was the last one queued or running. */
static bool job_done(struct weft__blocking_pool *pool)
{
	/* SeqCst: the count grows after the job's joiner was woken, in one
	 * total order with the submissions' increments of `submitted` and
	 * the timer subsystem's idle check that reads both
	 * (weft__blocking_active). */
	size_t done = atomic_fetch_add_explicit(&pool->finished, 1, memory_order_seq_cst) + 1;

	/* Only a paused clock asks whether this was the last job: reading
	 * `submitted` at every job would take the submitters' line. */
	if (!pool->paused_clock)
		return false;
	/* SeqCst: as above.  The finisher that sees every submission
	 * finished is the last one so far; a submission after the load gets
	 * its own last finisher, so no last job goes unseen (one may be
	 * seen twice: a second kick is harmless). */
	return atomic_load_explicit(&pool->submitted, memory_order_seq_cst) == done;
}

/*
 * The last job is done: a paused clock that its driving thread did not move
 * while the job ran (weft__time_auto_advance) may move now, but that thread
 * may be asleep with nothing else to wake it.  Kick it through the timer
 * hook, unless the runtime is shutting down (then it may be gone).  Caller
 * does not hold pool->lock.
 */
static void paused_clock_recheck(struct weft__blocking_pool *pool)
{
	if (!pool->paused_clock)
		return;
	pthread_mutex_lock(&pool->lock);
	if (!pool->shutdown && !pool->abandoned)
		weft__runtime_timer_changed(pool->base.rt);
	pthread_mutex_unlock(&pool->lock);
}

/*
 * Cancels a task that holds its queue reference and that nobody runs: its
 * future is dropped (fn never runs) and its join completes with -ECANCELED.
 */
static void cancel_task(struct weft_task *t)
{
	/* Relaxed: weft__task_run below, on this thread, reads it. */
	atomic_fetch_or_explicit(&t->state, TASK_CANCELLED, memory_order_relaxed);
	(void)weft__task_run(t, WEFT_COOP_BUDGET);
}

static weft_poll job_poll(weft_future *f, weft_cx *cx)
{
	weft_blocking_future *job = (weft_blocking_future *)f;

	(void)cx;
	job->ran = true;
	job->result = job->fn(job->arg);
	return WEFT_READY;
}

static void job_drop(weft_future *f)
{
	weft_blocking_future *job = (weft_blocking_future *)f;

	if (!job->ran && job->arg_drop != NULL)
		job->arg_drop(job->arg);
}

/* ---- threads ---------------------------------------------------------------- */



/*
 * Spins until `pt` is claimed, a job is in the inbox, or SPIN_NS pass (or `deadline`, the end of
 * the keep-alive, if sooner), without the lock.  Returns nothing: the
 * caller decides under the lock.
 */
static void spin_wait(struct weft__blocking_pool *pool, struct pool_thread *pt,
		      uint64_t spin_ns, uint64_t deadline)
{
	uint64_t end = weft__now_ns() + spin_ns;
	unsigned i;

	if (end > deadline)
		end = deadline;
	for (i = 1;; i++) {
		/* Relaxed: see claim_wake. */
		if (atomic_load_explicit(&pt->spin_claimed, memory_order_relaxed))
			return;
		/* Relaxed: a job pushed to the inbox ends the spin; the lock
		 * then orders the drain (spin_idle). */
		if (atomic_load_explicit(&pool->inbox, memory_order_relaxed) != NULL)
			return;
		weft__cpu_relax();
		if (i % 16 == 0 && weft__now_ns() >= end)
			return;
	}
}

/*
 * Spins as one of the spinning idle threads when there is room for one
 * more; returns true when it was claimed meanwhile or jobs are queued
 * (the caller looks at the queue again), false when it should sleep.
 * While it spins, `coming` is true and submitters push to the inbox
 * without the lock; so when it stops, it drains the inbox after clearing
 * its part of `coming`.  Called and returns with the lock held.
 */
static bool spin_idle(struct weft__blocking_pool *pool, struct pool_thread *pt,
		      uint64_t deadline)
{
	if (pool->nspinning >= MAX_SPINNERS)
		return false;
	/* Relaxed: written and read by claimers under the lock we hold. */
	atomic_store_explicit(&pt->spin_claimed, false, memory_order_relaxed);
	pt->spinning = true;
	list_push(&pool->spinners, pt);
	pool->nspinning++;
	set_coming(pool);
	pthread_mutex_unlock(&pool->lock);
	spin_wait(pool, pt, SPIN_NS, deadline);
	pthread_mutex_lock(&pool->lock);
	if (pt->claimed) {
		pool->notified--;
		set_coming(pool);
		return true;
	}
	idle_remove(pool, pt);
	drain_inbox(pool);
	return pool->head != NULL;
}

/*
 * Waits on the idle lists until a submission claims `pt` (returns true)
 * or the keep-alive passes unclaimed (returns false, off the lists): first
 * spinning for a moment (spin_idle), then parked.  Called and returns with
 * the lock held.
 */
static bool wait_idle(struct weft__blocking_pool *pool, struct pool_thread *pt)
{
	uint64_t deadline = weft__now_ns() + pool->keep_alive_ns;
	bool unparked;

	pt->claimed = false;
	if (spin_idle(pool, pt, deadline))
		return true;
	list_push(&pool->idle, pt);
	for (;;) {
		pthread_mutex_unlock(&pool->lock);
		unparked = weft__parker_park_until(&pt->parker, deadline);
		pthread_mutex_lock(&pool->lock);
		if (pt->claimed) {
			pool->notified--;
			set_coming(pool);
			return true;
		}
		if (!unparked) {
			idle_remove(pool, pt);
			return false;
		}
		/* A stale unpark from an earlier claim: keep waiting. */
	}
}

static void join_exited(const weft_allocator *alloc, struct pool_thread *list)
{
	struct pool_thread *pt;

	while ((pt = list) != NULL) {
		list = pt->next;
		pthread_join(pt->thread, NULL);
		weft__free(alloc, pt, sizeof(*pt), _Alignof(struct pool_thread));
	}
}

/* The end of a pool thread; called with the lock held, releases it. */
static void thread_exit(struct weft__blocking_pool *pool, struct pool_thread *pt)
{
	bool abandoned = pool->abandoned;

	/* The last thread: the pool has been idle for its keep-alive, and
	 * what it kept for the next jobs goes back now (a job freed later may
	 * be kept again).  Before the count drops, so that whoever waits for
	 * the pool's threads to be gone finds the memory back too. */
	if (pool->threads == 1)
		job_cache_release(pool);
	pool->threads--;
	if (!abandoned) {
		pt->next = pool->exited;
		pool->exited = pt;
	}
	if (pool->threads == 0 && pool->shutdown)
		pthread_cond_broadcast(&pool->all_exited);
	pthread_mutex_unlock(&pool->lock);
	if (abandoned) {
		pthread_detach(pthread_self());
		weft__free(&pool->under, pt, sizeof(*pt), _Alignof(struct pool_thread));
	}
	current_pool = NULL;
	/* The thread's reference: the last one frees the pool. */
	weft__sched_unref(&pool->base);
}

/*
 * Wakes one more idle thread when jobs are still queued and no woken thread
 * is on its way to them: submissions wake one thread at a time, and each
 * thread that takes a job wakes the next while work remains, so a burst of
 * jobs fans out over the idle threads without a wake-up per job.  Called
 * with the lock held.
 */
static void ripple_wake(struct weft__blocking_pool *pool)
{
	struct pool_thread *pt;

	if (pool->head == NULL || pool->notified > 0)
		return;
	pt = idle_claim(pool);
	if (pt != NULL)
		claim_wake(pt);
}

/* Names the calling thread weft-blocking-N (top, perf, gdb); Linux keeps
 * 15 characters. */
static void set_thread_name(unsigned n)
{
	char name[16];

	snprintf(name, sizeof(name), "weft-blocking-%u", n);
	weft__thread_set_name(name);
}

static void *pool_thread_main(void *arg)
{
	struct pool_thread *pt = arg;
	struct weft__blocking_pool *pool = pt->pool;
	struct weft_task *t = pt->first;

	pt->first = NULL;
	current_pool = pool;
	pthread_mutex_lock(&pool->lock);
	set_thread_name(pool->next_name++);
	for (;;) {
		if (t == NULL)
			t = queue_pop(pool);
		if (t != NULL) {
			ripple_wake(pool);
			pthread_mutex_unlock(&pool->lock);
			(void)weft__task_run(t, WEFT_COOP_BUDGET);
			if (job_done(pool))
				paused_clock_recheck(pool);
			t = NULL;
			pthread_mutex_lock(&pool->lock);
			continue;
		}
		if (pool->shutdown || !wait_idle(pool, pt))
			break;
	}
	thread_exit(pool, pt);
	return NULL;
}

/* Starts a thread whose first job is `t`.  Returns 0 or -errno. */
static int start_thread(struct weft__blocking_pool *pool, struct weft_task *t)
{
	weft__blocking_thread_create_fn create;
	struct pool_thread *pt;
	int err;

	pt = weft__alloc(&pool->under, sizeof(*pt), _Alignof(struct pool_thread));
	if (pt == NULL)
		return -ENOMEM;
	memset(pt, 0, sizeof(*pt));
	pt->pool = pool;
	pt->first = t;
	weft__parker_init(&pt->parker);
	/* Relaxed: taken from the reference the submitting task holds. */
	atomic_fetch_add_explicit(&pool->base.refs, 1, memory_order_relaxed);
	create = atomic_load_explicit(&thread_create_hook, memory_order_relaxed);
	err = create != NULL ? create(&pt->thread, NULL, pool_thread_main, pt)
			     : pthread_create(&pt->thread, NULL, pool_thread_main, pt);
	if (err != 0) {
		weft__sched_unref(&pool->base);
		weft__free(&pool->under, pt, sizeof(*pt), _Alignof(struct pool_thread));
		return -err;
	}
	return 0;
}

/* Queues `t` for an idle thread (claimed) or a busy one (at the maximum);
 * returns false when neither applies.  Called with the lock held. */
static bool submit_locked(struct weft__blocking_pool *pool, struct weft_task *t,
			  struct pool_thread **wake)
{
	bool idle = pool->idle != NULL || pool->spinners != NULL;

	*wake = NULL;
	if (!idle && pool->threads < pool->max_threads)
		return false;
	/* With a woken thread already on its way, it (or the thread it
	 * wakes in turn, see ripple_wake) will take this job too. */
	if (idle && pool->notified == 0)
		*wake = idle_claim(pool);
	queue_push(pool, t);
	return true;
}

/* pool_submit when no thread is coming: decides under the lock.  Returns
 * as pool_submit. */
static int submit_with_lock(struct weft__blocking_pool *pool, struct weft_task *t)
{
	struct pool_thread *wake, *exited;
	bool last = false;
	int err;

	pthread_mutex_lock(&pool->lock);
	if (pool->shutdown) {
		pthread_mutex_unlock(&pool->lock);
		return -ESHUTDOWN;
	}
	/* SeqCst: see job_done. */
	atomic_fetch_add_explicit(&pool->submitted, 1, memory_order_seq_cst);
	if (submit_locked(pool, t, &wake)) {
		/* Unparked under the lock: once it is released, the claimed
		 * thread may run, exit and be freed by a later join. */
		if (wake != NULL)
			claim_wake(wake);
		pthread_mutex_unlock(&pool->lock);
		return 0;
	}
	pool->threads++; /* reserved for the thread started below */
	exited = pool->exited;
	pool->exited = NULL;
	pthread_mutex_unlock(&pool->lock);
	join_exited(&pool->under, exited);

	err = start_thread(pool, t);
	if (err == 0)
		return 0;
	pthread_mutex_lock(&pool->lock);
	pool->threads--;
	/* A thread that went idle meanwhile can still take the job. */
	wake = pool->shutdown ? NULL : idle_claim(pool);
	if (wake != NULL) {
		queue_push(pool, t);
		claim_wake(wake);
		err = 0;
	} else {
		last = job_done(pool);
	}
	pthread_mutex_unlock(&pool->lock);
	if (last)
		paused_clock_recheck(pool);
	return err;
}

/* Takes `t` out of the FIFO if it is still there.  With the lock held. */
static bool queue_remove(struct weft__blocking_pool *pool, struct weft_task *t)
{
	struct weft_task **link = &pool->head, *prev = NULL;

	while (*link != NULL && *link != t) {
		prev = *link;
		link = &(*link)->queue_next;
	}
	if (*link == NULL)
		return false;
	*link = t->queue_next;
	if (pool->tail == t)
		pool->tail = prev;
	t->queue_next = NULL;
	pool->queued--;
	return true;
}

/*
 * Starts a thread for the queue, for ensure_thread; on failure, with no
 * thread idle meanwhile, takes `t` back if it is still queued and returns
 * the error (*last as job_done), else 0.  Called and returns with the lock
 * held (it drops it around the start).
 */
static int start_for_queue(struct weft__blocking_pool *pool, struct weft_task *t, bool *last)
{
	struct pool_thread *wake, *exited;
	int err;

	pool->threads++; /* reserved for the thread started below */
	exited = pool->exited;
	pool->exited = NULL;
	pthread_mutex_unlock(&pool->lock);
	join_exited(&pool->under, exited);
	err = start_thread(pool, NULL);
	pthread_mutex_lock(&pool->lock);
	if (err == 0)
		return 0;
	pool->threads--;
	wake = pool->shutdown ? NULL : idle_claim(pool);
	if (wake != NULL) {
		claim_wake(wake);
		return 0;
	}
	if (!queue_remove(pool, t))
		return 0; /* a thread took it meanwhile: accepted */
	*last = job_done(pool);
	return err;
}

/*
 * The slow end of the lock-free path: `t` went to the inbox because a
 * thread was coming, but none is any more (see pool_submit).  Makes sure a
 * thread will take it, exactly as the locked path decides: claim an idle
 * thread, or start one, or (at the maximum) leave it to the busy ones.
 * When a thread must be started and cannot be, and `t` is still queued,
 * it is taken back and the error returned as by the locked path; a `t`
 * some thread took meanwhile was accepted (0).  After shutdown began,
 * what the inbox holds is cancelled (0: the joins say -ECANCELED).
 */
static int ensure_thread(struct weft__blocking_pool *pool, struct weft_task *t)
{
	struct weft_task *cancelled = NULL, *c;
	struct pool_thread *wake;
	bool last = false;
	int err = 0;

	pthread_mutex_lock(&pool->lock);
	drain_inbox(pool);
	if (pool->shutdown) {
		cancelled = pool->head;
		pool->head = pool->tail = NULL;
		pool->queued = 0;
	} else if (pool->head != NULL && pool->notified == 0) {
		wake = idle_claim(pool);
		if (wake != NULL)
			claim_wake(wake);
		else if (pool->threads < pool->max_threads)
			err = start_for_queue(pool, t, &last);
	}
	pthread_mutex_unlock(&pool->lock);
	while ((c = cancelled) != NULL) {
		cancelled = c->queue_next;
		cancel_task(c);
		(void)job_done(pool); /* shutting down: nobody to kick */
	}
	if (last)
		paused_clock_recheck(pool);
	return err;
}

/*
 * Hands `t` (with its queue reference) to a pool thread, starting one if
 * needed.  Returns 0; -ESHUTDOWN after shutdown; -ENOMEM or the -errno of
 * thread creation when no thread can take the job.  On failure the caller
 * still holds the reference.
 *
 * The fast path takes no lock: while `coming` says a thread will drain
 * the inbox soon, the job is pushed there.  The push and the second load
 * of `coming` are SeqCst, as are the store of `coming` and the drain that
 * follows it under the lock (set_coming, drain_inbox): if the second load
 * still sees true, the thread whose store turns `coming` false drains
 * after it and finds the job; if it sees false, ensure_thread takes over.
 */
static int pool_submit(struct weft__blocking_pool *pool, struct weft_task *t)
{
	/* SeqCst: see above. */
	if (!atomic_load_explicit(&pool->coming, memory_order_seq_cst))
		return submit_with_lock(pool, t);
	/* SeqCst: see job_done. */
	atomic_fetch_add_explicit(&pool->submitted, 1, memory_order_seq_cst);
	inbox_push(pool, t);
	/* SeqCst: see above. */
	if (atomic_load_explicit(&pool->coming, memory_order_seq_cst))
		return 0;
	return ensure_thread(pool, t);
}

/* ---- the pool as a scheduler ---------------------------------------------- */

/* Not reached in practice (a job never returns pending, so it is never
 * woken); a task scheduled here anyway is run or cancelled. */
static void pool_schedule(struct weft__sched *s, struct weft_task *t)
{
	if (pool_submit((struct weft__blocking_pool *)s, t) < 0)
		cancel_task(t);
}

static void pool_destroy(struct weft__sched *s)
{
	struct weft__blocking_pool *pool = (struct weft__blocking_pool *)s;
	weft_allocator alloc = pool->under;

	join_exited(&alloc, pool->exited);
	job_cache_release(pool);
	pthread_cond_destroy(&pool->all_exited);
	pthread_mutex_destroy(&pool->lock);
	weft__free(&alloc, pool, sizeof(*pool), 64);
}

static const struct weft__sched_ops pool_sched_ops = {
	.schedule = pool_schedule,
	.destroy = pool_destroy,
};

static int cond_init_monotonic(pthread_cond_t *c)
{
	return -weft__cond_init_mono(c);
}

static int pool_create(struct weft_runtime *rt, struct weft__blocking_pool **out)
{
	struct weft__blocking_pool *pool;
	int err;

	pool = weft__alloc(&rt->alloc, sizeof(*pool), 64);
	if (pool == NULL)
		return -ENOMEM;
	memset(pool, 0, sizeof(*pool));
	pool->max_threads = rt->blocking_max_threads != 0 ? rt->blocking_max_threads
							  : DEFAULT_MAX_THREADS;
	pool->keep_alive_ns = rt->blocking_keep_alive_ns != 0 ? rt->blocking_keep_alive_ns
							      : DEFAULT_KEEP_ALIVE_NS;
	if (pool->keep_alive_ns > MAX_KEEP_ALIVE_NS)
		pool->keep_alive_ns = MAX_KEEP_ALIVE_NS;
	atomic_init(&pool->submitted, 0);
	atomic_init(&pool->finished, 0);
	pool->paused_clock = weft__time_paused(rt->time);
	err = weft__mutex_init(&pool->lock);
	if (err < 0)
		goto fail_pool;
	err = cond_init_monotonic(&pool->all_exited);
	if (err < 0)
		goto fail_lock;
	pool->under = rt->alloc;
	pool->thread_cache = rt->alloc.alloc == weft__default_allocator.alloc &&
			     rt->alloc.free == weft__default_allocator.free &&
			     weft__task_cache_enabled();
	weft__lock_init(&pool->cache_lock);
	pool->cache_head = NULL;
	err = weft__sched_init(&pool->base, &pool_sched_ops,
			       &(weft_allocator){ job_cache_alloc, job_cache_free, pool }, rt);
	if (err < 0)
		goto fail_cond;
	/* A job is queued, running or complete, never idle: shutdown finds
	 * every unfinished one in the queue or on a thread, so jobs need not
	 * pay the owned-task list's lock twice each (see pool_submit for
	 * -ESHUTDOWN). */
	pool->base.unowned = true;
	*out = pool;
	return 0;

fail_cond:
	pthread_cond_destroy(&pool->all_exited);
fail_lock:
	pthread_mutex_destroy(&pool->lock);
fail_pool:
	weft__free(&rt->alloc, pool, sizeof(*pool), 64);
	return err;
}

/* The pool of `rt`, made on first use.  Returns 0 or -errno. */
static int get_pool(struct weft_runtime *rt, struct weft__blocking_pool **out)
{
	struct weft__blocking_pool *pool = pool_of(rt), *expected = NULL;
	int err;

	if (pool != NULL) {
		*out = pool;
		return 0;
	}
	err = pool_create(rt, &pool);
	if (err < 0)
		return err;
	/* AcqRel: release publishes the initialised pool (pairs with the
	 * acquire in pool_of); acquire sees the winner's pool on failure. */
	if (!atomic_compare_exchange_strong_explicit(&rt->blocking, &expected, pool,
						     memory_order_acq_rel,
						     memory_order_acquire)) {
		weft__sched_unref(&pool->base);
		pool = expected;
	}
	*out = pool;
	return 0;
}

/* ---- public calls ------------------------------------------------------------ */

int weft_spawn_blocking_drop(weft_runtime *rt, void *(*fn)(void *arg), void *arg,
			     void (*arg_drop)(void *arg), weft_join_handle *handle)
{
	weft_blocking_future job = {
		.base = { job_poll, job_drop },
		.fn = fn,
		.arg = arg,
		.arg_drop = arg_drop,
		.result = NULL,
		.ran = false,
	};
	struct weft__blocking_pool *pool;
	struct weft_task *t;
	int err;

	if (handle != NULL) {
		/* An empty handle, as weft_spawn leaves it on failure. */
		(void)weft__task_create(NULL, NULL, 0, handle, &t);
	}
	if (rt == NULL || fn == NULL)
		return -EINVAL;
	err = get_pool(rt, &pool);
	if (err < 0)
		return err;
	err = weft__task_create(&pool->base, &job.base, sizeof(job), handle, &t);
	if (err < 0)
		return err;
	err = pool_submit(pool, t);
	if (err < 0) {
		/* Nobody will run it: the caller keeps `arg`, the task goes. */
		((weft_blocking_future *)task_future(t))->arg_drop = NULL;
		cancel_task(t);
		weft_join_detach(handle);
	}
	return err;
}

int weft_spawn_blocking(weft_runtime *rt, void *(*fn)(void *arg), void *arg,
			weft_join_handle *handle)
{
	return weft_spawn_blocking_drop(rt, fn, arg, NULL, handle);
}

int weft_blocking_result(weft_join_handle *handle, void **result)
{
	weft_blocking_future *job;
	int err;

	if (handle == NULL || result == NULL)
		return -EINVAL;
	err = weft_join_try(handle);
	if (err < 0)
		return err;
	job = weft_join_output(handle);
	if (job == NULL || job->base.poll != job_poll)
		return -EINVAL;
	*result = job->result;
	return 0;
}

/* ---- what the runtime and the timer subsystem ask ------------------------ */

size_t weft__blocking_active(struct weft_runtime *rt)
{
	struct weft__blocking_pool *pool = rt != NULL ? pool_of(rt) : NULL;
	size_t finished;

	if (pool == NULL)
		return 0;
	/* SeqCst: see job_done.  `finished` first: the submissions counted
	 * by the later load include every job finished by the earlier one,
	 * so the difference is never below the active jobs of either
	 * moment (an answer too high only delays a paused clock's jump
	 * until the last job's kick). */
	finished = atomic_load_explicit(&pool->finished, memory_order_seq_cst);
	return atomic_load_explicit(&pool->submitted, memory_order_seq_cst) - finished;
}

bool weft__blocking_spin_before_park(struct weft_runtime *rt, bool (*work)(void *ctx),
				     void *ctx)
{
	uint64_t end;
	unsigned i;

	if (weft__blocking_active(rt) == 0)
		return false;
	end = weft__now_ns() + WORKER_SPIN_NS;
	for (i = 1;; i++) {
		if (work(ctx))
			return true;
		weft__cpu_relax();
		if (i % 16 == 0 && (weft__now_ns() >= end || weft__blocking_active(rt) == 0))
			return false;
	}
}

unsigned weft__blocking_threads(struct weft_runtime *rt)
{
	struct weft__blocking_pool *pool = rt != NULL ? pool_of(rt) : NULL;
	unsigned n;

	if (pool == NULL)
		return 0;
	pthread_mutex_lock(&pool->lock);
	n = pool->threads;
	pthread_mutex_unlock(&pool->lock);
	return n;
}

unsigned weft__blocking_idle(struct weft_runtime *rt)
{
	struct weft__blocking_pool *pool = rt != NULL ? pool_of(rt) : NULL;
	struct pool_thread *pt;
	unsigned n;

	if (pool == NULL)
		return 0;
	pthread_mutex_lock(&pool->lock);
	n = pool->nspinning;
	for (pt = pool->idle; pt != NULL; pt = pt->next)
		n++;
	pthread_mutex_unlock(&pool->lock);
	return n;
}

unsigned weft__blocking_queued(struct weft_runtime *rt)
{
	struct weft__blocking_pool *pool = rt != NULL ? pool_of(rt) : NULL;
	unsigned n;

	if (pool == NULL)
		return 0;
	pthread_mutex_lock(&pool->lock);
	drain_inbox(pool);
	n = pool->queued;
	pthread_mutex_unlock(&pool->lock);
	return n;
}

bool weft__blocking_on_pool_thread(struct weft_runtime *rt)
{
	return current_pool != NULL && current_pool == pool_of(rt);
}

/* Waits until no thread is left or `deadline_ns` passes; with the lock. */
static void wait_threads(struct weft__blocking_pool *pool, uint64_t deadline_ns)
{
	struct timespec ts = weft__cond_deadline(deadline_ns);

	while (pool->threads > 0) {
		if (deadline_ns == UINT64_MAX)
			pthread_cond_wait(&pool->all_exited, &pool->lock);
		else if (pthread_cond_timedwait(&pool->all_exited, &pool->lock, &ts) == ETIMEDOUT)
			break;
	}
}

int weft__blocking_shutdown(struct weft_runtime *rt, uint64_t deadline_ns)
{
	struct weft__blocking_pool *pool = pool_of(rt);
	struct pool_thread *pt, *exited;
	struct weft_task *queued, *t;
	unsigned left;

	if (pool == NULL)
		return 0;
	weft__sched_close(&pool->base);
	pthread_mutex_lock(&pool->lock);
	pool->shutdown = true;
	set_coming(pool);
	drain_inbox(pool);
	queued = pool->head;
	pool->head = pool->tail = NULL;
	pool->queued = 0;
	while ((pt = idle_claim(pool)) != NULL)
		claim_wake(pt);
	pthread_mutex_unlock(&pool->lock);

	while ((t = queued) != NULL) {
		queued = t->queue_next;
		cancel_task(t);
		(void)job_done(pool); /* shutting down: nobody to kick */
	}

	pthread_mutex_lock(&pool->lock);
	wait_threads(pool, deadline_ns);
	left = pool->threads;
	pool->abandoned = left > 0;
	exited = pool->exited;
	pool->exited = NULL;
	pthread_mutex_unlock(&pool->lock);
	join_exited(&pool->under, exited);
	atomic_store_explicit(&rt->blocking, NULL, memory_order_relaxed);
	weft__sched_unref(&pool->base);
	return left > 0 ? -ETIMEDOUT : 0;
}

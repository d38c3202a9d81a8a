/*
 * src/driver/time.c - the timers of a runtime: timing wheels under locks
 * (a shard per worker, see below), the runtime clock (real or paused),
 * firing, and the timer entries' registration and cancellation.
 *
 * The protocol
 * ============
 *
 * A timer entry lives in its future (struct weft__timer) and has a state:
 * IDLE (not registered), WAITING (linked into the wheel, or on the `fired`
 * list waiting for its waker to be taken), FIRED (complete), SHUTDOWN
 * (completed by the runtime's destruction) or NORT (polled with no runtime
 * to bind to).  Every change of an entry's links, waker or state happens
 * under the timer state's lock; the state is also atomic so that a poll or
 * a drop can see FIRED without taking the lock.
 *
 * Firing (weft__time_process) takes the lock, advances the wheel to the
 * current instant, which moves every due entry to the `fired` list in
 * exact deadline order, and then hands the list out in batches of FIRE_BATCH: for each
 * entry it takes the waker and then stores FIRED with release order.  That
 * store is the last access to the entry: from then on its owner may drop
 * and free it without the lock.  The batch's wakers are woken after the
 * lock is released (waking runs foreign code).  A drop that finds the entry
 * WAITING takes the lock; if it is still WAITING it unlinks it (from the
 * wheel or from the fired list) in constant time and drops the waker: it
 * was cancelled and will never be woken.  So an entry is woken exactly
 * once or cancelled, never both.
 *
 * The cached next deadline
 * ========================
 *
 * `next_deadline` is a lower bound of the earliest exact deadline in ns
 * (UINT64_MAX: no timer), read without the lock by parkers
 * (weft__time_park_deadline) and by the fast path of weft__time_process.
 * It is set after each advance to the wheel's next deadline (under the
 * lock, with one shard; exact unless a cancellation left a slot minimum
 * stale, see wheel.c), lowered by a registration that becomes the
 * earliest, and left alone by a cancellation (stale-early only costs one
 * early wake-up, which empties the slot that held the stale value).  A registration that lowers it calls
 * weft__runtime_timer_changed after unlocking; see src/driver/time.h for
 * the SeqCst handshake with parkers.
 *
 * A processor that lowers the deadline must signal too.  A registrar
 * lowers its shard's deadline under the lock but the runtime-wide one
 * only after unlocking, so in between the runtime-wide value is later
 * than the wheel's earliest entry.  A processor that takes the lock in
 * that window publishes the wheel's value, which counts the new entry:
 * the registrar's lower_next then finds nothing to lower and signals
 * nobody, while a parked thread that read the later value before the
 * publication sleeps on with it, or with no timeout when it read
 * UINT64_MAX (found by fuzz_mt: the timer-duty worker slept on, every
 * other worker parked without a timeout, and a sleeper's 20 us timer was
 * seconds overdue).  So publish_global exchanges the value
 * and reports when it made it earlier, and the processor then signals
 * weft__runtime_timer_changed after unlocking, as the registrar would
 * have.  Outside that window a publication replaces a lower bound of
 * the wheel by the wheel's own bound, which is not earlier, so the extra
 * signal is rare, and at worst it costs one wake of the parked thread.
 *
 * Clock, ticks and precision
 * ==========================
 *
 * Tick k is the millisecond [origin + k ms, origin + (k + 1) ms), origin
 * being the clock at creation.  An entry's tick is the one its exact
 * deadline lies in; the wheel places it by tick and fires it once the
 * clock has reached its exact deadline (wheel.c): never early, and late
 * only by the time it takes the parked thread to wake (the park timeout
 * is the exact earliest deadline).  The real clock is read once per
 * weft__time_process and cached in `cached_now`; a registration that
 * finds its deadline <= the cached value is ready without the lock.  A
 * paused clock is `virt_now`, moved only by weft__time_advance and
 * weft__time_auto_advance (under the lock); auto-advance moves it to the
 * exact deadline of the earliest timer.
 *
 * Shards
 * ======
 *
 * The wheel is split into shards (one per worker of a multi-threaded
 * runtime, one for a current-thread runtime; WEFT_TIME_SHARDS in the
 * environment, 1 to 64, overrides; always 1 on a paused clock), each with its
 * own lock, wheel, fired list and next deadline; a worker registers on its own
 * shard, any other thread on the shard of its thread-local hint (assigned
 * round-robin), an entry remembers its shard so
 * that any thread can cancel it under that shard's lock.  The runtime-wide
 * `next_deadline` is then a lower bound of the shards' next deadlines: a
 * registrar stores its shard's new minimum (SeqCst), then loads
 * `next_deadline` (SeqCst) and lowers it with a CAS if its deadline is
 * earlier; a processor stores the
 * minimum over the shards it scanned (SeqCst), then scans them again and
 * lowers `next_deadline` back (and signals weft__runtime_timer_changed) if one
 * is earlier.  Either the registrar sees the processor's store, or the
 * processor's second scan sees the registrar's shard, so an earliest timer
 * is never hidden (docs/time.md).
 *
 * Lifetime
 * ========
 *
 * The state is reference counted: the runtime holds one reference and
 * every bound entry one more (from its registration to its drop).  When
 * the runtime is destroyed every entry still waiting completes with
 * SHUTDOWN and no entry can register any more, but the memory stays until
 * the last bound entry is dropped, so a future that outlives its runtime
 * never touches freed memory.
 */
#include "time.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "wheel.h"
#include "../common/lock.h"
#include "../sched/park.h"
#include "../sched/runtime.h"

enum {
	T_IDLE = 0,
	T_WAITING = 1,
	T_FIRED = 2,
	T_SHUTDOWN = 3,
	T_NORT = 4,
};

/* weft__timer.level of an entry on the fired list; its .slot says whether
 * it completes as SHUTDOWN (1) or FIRED (0). */
#define LEVEL_FIRED 7
#define FIRE_BATCH 32

/* One wheel and its lock.  Cache-line aligned: shards do not share lines. */
struct time_shard {
	_Alignas(64) pthread_mutex_t lock;
	/* Under the lock. */
	struct weft__wheel wheel;
	struct weft__timer *fired_head, *fired_tail;
	bool closed;
	/* This shard's next deadline in ns (written under the lock). */
	_Atomic uint64_t next_deadline;
};

#define MAX_SHARDS 64

struct weft__time {
	_Atomic uint64_t refs;
	/* Read-mostly. */
	_Alignas(64) _Atomic uint64_t next_deadline;
	_Atomic uint64_t cached_now;
	_Atomic uint64_t virt_now;
	uint64_t origin;
	bool paused;
	unsigned nshards;
	struct weft_runtime *rt;
	weft_allocator alloc;
	size_t size;
	struct time_shard shards[];
};

/* ---- ticks --------------------------------------------------------------- */

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t tick_floor(const struct weft__time *t, uint64_t ns)
{
	return ns <= t->origin ? 0 : (ns - t->origin) / WEFT_MS;
}


uint64_t weft__time_now(struct weft__time *t)
{
	if (t->paused)
		/* Acquire: pairs with the release stores of a clock move, so a
		 * reader sees the clock at least as far as the fire that woke
		 * it. */
		return atomic_load_explicit(&t->virt_now, memory_order_acquire);
	return weft__now_ns();
}

/* ---- creation and destruction ------------------------------------------- */

/*
 * How many shards: WEFT_TIME_SHARDS when set (1 to 64), else one per worker
 * of a multi-threaded runtime (capped at 64) and one for a current-thread
 * runtime; always one on a paused clock.
 */
static unsigned shard_count(const struct weft_runtime *rt, bool paused)
{
	const char *v = getenv("WEFT_TIME_SHARDS");
	long n;

	if (v != NULL)
		n = strtol(v, NULL, 10);
	else
		n = rt->flavor == WEFT_RUNTIME_MULTI_THREAD ? (long)rt->workers : 1;
	if (paused || n < 1)
		return 1;
	return n > MAX_SHARDS ? MAX_SHARDS : (unsigned)n;
}

int weft__time_create(struct weft_runtime *rt, bool paused, struct weft__time **out)
{
	unsigned n = shard_count(rt, paused), i;
	size_t size = sizeof(struct weft__time) + n * sizeof(struct time_shard);
	struct weft__time *t = rt->alloc.alloc(rt->alloc.ctx, size, 64);
	uint64_t now = weft__now_ns();
	int err = 0;

	if (t == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct time_shard *sh = &t->shards[i];

		err = weft__mutex_init(&sh->lock);
		if (err != 0)
			break;
		weft__wheel_init(&sh->wheel, 0, now);
		sh->fired_head = sh->fired_tail = NULL;
		sh->closed = false;
		atomic_init(&sh->next_deadline, UINT64_MAX);
	}
	if (err != 0) {
		while (i-- > 0)
			pthread_mutex_destroy(&t->shards[i].lock);
		rt->alloc.free(rt->alloc.ctx, t, size, 64);
		return err;
	}
	atomic_init(&t->refs, 1);
	atomic_init(&t->next_deadline, UINT64_MAX);
	atomic_init(&t->cached_now, now);
	atomic_init(&t->virt_now, now);
	t->origin = now;
	t->paused = paused;
	t->nshards = n;
	t->rt = rt;
	t->alloc = rt->alloc;
	t->size = size;
	*out = t;
	return 0;
}

static void time_unref(struct weft__time *t)
{
	weft_allocator alloc;
	unsigned i;

	/* AcqRel: the last reference sees every use by other threads before
	 * it frees; pairs with the other decrements. */
	if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
		return;
	alloc = t->alloc;
	for (i = 0; i < t->nshards; i++)
		pthread_mutex_destroy(&t->shards[i].lock);
	alloc.free(alloc.ctx, t, t->size, 64);
}

/*
 * The shard the calling thread registers on: a worker of this runtime its
 * own (worker i on shard i modulo the count), any other thread one picked
 * round-robin the first time it registers anywhere.
 */
static struct time_shard *my_shard(struct weft__time *t)
{
	static _Atomic unsigned next_hint;
	static _Thread_local unsigned hint = UINT32_MAX;

	if (t->nshards == 1)
		return &t->shards[0];
	if (weft__ctx.worker_id != 0 && weft__ctx.rt == t->rt)
		return &t->shards[(weft__ctx.worker_id - 1) % t->nshards];
	if (hint == UINT32_MAX)
		/* Relaxed: only spreads threads over shards. */
		hint = atomic_fetch_add_explicit(&next_hint, 1, memory_order_relaxed);
	return &t->shards[hint % t->nshards];
}

/* ---- the fired list and firing ------------------------------------------ */

static void fired_push(struct time_shard *sh, struct weft__timer *e, bool shutdown)
{
	e->level = LEVEL_FIRED;
	e->slot = shutdown;
	e->next = NULL;
	e->prev = sh->fired_tail;
	if (sh->fired_tail != NULL)
		sh->fired_tail->next = e;
	else
		sh->fired_head = e;
	sh->fired_tail = e;
}

static void fired_remove(struct time_shard *sh, struct weft__timer *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		sh->fired_head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		sh->fired_tail = e->prev;
	e->prev = e->next = NULL;
	e->level = WHEEL_LEVEL_NONE;
}

static void on_due(void *ctx, struct weft__timer *e)
{
	fired_push(ctx, e, false);
}

static void on_shutdown(void *ctx, struct weft__timer *e)
{
	fired_push(ctx, e, true);
}

/*
 * Completes every entry on the shard's fired list, FIRE_BATCH at a time,
 * waking each batch with the lock released.  Called and returns with the
 * lock held.  Returns how many it completed.
 */
static unsigned drain_fired(struct time_shard *sh)
{
	weft_waker batch[FIRE_BATCH];
	unsigned total = 0;

	while (sh->fired_head != NULL) {
		unsigned n = 0, i;

		while (n < FIRE_BATCH && sh->fired_head != NULL) {
			struct weft__timer *e = sh->fired_head;
			uint32_t final = e->slot ? T_SHUTDOWN : T_FIRED;

			fired_remove(sh, e);
			batch[n++] = e->waker;
			e->waker.data = NULL;
			e->waker.vtable = NULL;
			/* Release: the last access to the entry; publishes its
			 * unlinking to a poll or drop that sees FIRED without the
			 * lock (their acquire loads). */
			atomic_store_explicit(&e->state, final, memory_order_release);
		}
		pthread_mutex_unlock(&sh->lock);
		for (i = 0; i < n; i++)
			weft_waker_wake(&batch[i]);
		total += n;
		pthread_mutex_lock(&sh->lock);
	}
	return total;
}

/* Publishes the shard's next deadline.  Under its lock. */
static void publish_shard(struct time_shard *sh)
{
	/* SeqCst: the shard side of the handshake in the essay (Shards). */
	atomic_store_explicit(&sh->next_deadline, weft__wheel_next_deadline(&sh->wheel),
			      memory_order_seq_cst);
}

static uint64_t min_over_shards(struct weft__time *t)
{
	uint64_t m = UINT64_MAX;
	unsigned i;

	for (i = 0; i < t->nshards; i++) {
		/* SeqCst: see the essay (Shards). */
		uint64_t v = atomic_load_explicit(&t->shards[i].next_deadline, memory_order_seq_cst);

		if (v < m)
			m = v;
	}
	return m;
}

/* Lowers the runtime-wide next deadline to `deadline` if that is earlier;
 * returns true when it did. */
static bool lower_next(struct weft__time *t, uint64_t deadline)
{
	/* SeqCst: the registrar's side of the handshake with parkers and
	 * processors. */
	uint64_t cur = atomic_load_explicit(&t->next_deadline, memory_order_seq_cst);

	while (deadline < cur)
		/* SeqCst: as above. */
		if (atomic_compare_exchange_weak_explicit(&t->next_deadline, &cur, deadline,
							  memory_order_seq_cst,
							  memory_order_seq_cst))
			return true;
	return false;
}

/*
 * Publishes the runtime-wide next deadline after shards were advanced: the
 * minimum over the shards, then a second scan that lowers it back if a
 * registration raced with the first (see the essay).  With one shard the
 * store is already exact (the caller holds its lock).  Returns true when
 * it made the deadline earlier than it was: the caller must then signal
 * weft__runtime_timer_changed (after unlocking), as a registrar that
 * lowers it does (see "A processor that lowers the deadline" in the
 * essay).
 */
static bool publish_global(struct weft__time *t)
{
	uint64_t m = min_over_shards(t);
	/* SeqCst: the processor's side of the handshake (essay); an exchange,
	 * so that we know whether we lowered it, against the parker's SeqCst
	 * load in weft__time_park_deadline. */
	uint64_t prev = atomic_exchange_explicit(&t->next_deadline, m, memory_order_seq_cst);
	bool lowered = m < prev;

	if (t->nshards > 1 && lower_next(t, min_over_shards(t)))
		lowered = true;
	return lowered;
}

/* Advances one shard to instant `now` and completes what is due. */
static unsigned process_shard(struct weft__time *t, struct time_shard *sh, uint64_t now)
{
	bool lowered = false;
	unsigned n;

	pthread_mutex_lock(&sh->lock);
	weft__wheel_advance(&sh->wheel, tick_floor(t, now), now, on_due, sh);
	publish_shard(sh);
	if (t->nshards == 1)
		lowered = publish_global(t);
	n = drain_fired(sh);
	pthread_mutex_unlock(&sh->lock);
	if (lowered)
		weft__runtime_timer_changed(t->rt);
	return n;
}

unsigned weft__time_process(struct weft__time *t)
{
	/* Relaxed: a stale value only delays firing to the next call; parkers
	 * use the SeqCst load in weft__time_park_deadline. */
	uint64_t next = atomic_load_explicit(&t->next_deadline, memory_order_relaxed);
	uint64_t now;
	unsigned n = 0, i;

	if (next == UINT64_MAX)
		return 0;
	now = weft__time_now(t);
	/* Relaxed: any value read is a clock reading of the past. */
	atomic_store_explicit(&t->cached_now, now, memory_order_relaxed);
	if (now < next)
		return 0;
	if (t->nshards == 1)
		return process_shard(t, &t->shards[0], now);
	for (i = 0; i < t->nshards; i++) {
		struct time_shard *sh = &t->shards[i];

		/* Relaxed: a stale value skips the shard until the next call. */
		if (atomic_load_explicit(&sh->next_deadline, memory_order_relaxed) <= now)
			n += process_shard(t, sh, now);
	}
	if (publish_global(t))
		weft__runtime_timer_changed(t->rt);
	return n;
}

uint64_t weft__time_park_deadline(struct weft__time *t)
{
	if (t->paused)
		return UINT64_MAX;
	/* SeqCst: the parker's side of the handshake in src/driver/time.h. */
	return atomic_load_explicit(&t->next_deadline, memory_order_seq_cst);
}

/* Moves the paused clock to `ns` if that is later.  Under shard 0's lock
 * (a paused clock has one shard). */
static void move_virtual(struct weft__time *t, uint64_t ns)
{
	/* Relaxed: the lock orders writers. */
	if (ns > atomic_load_explicit(&t->virt_now, memory_order_relaxed))
		/* Release: pairs with the acquire in weft__time_now. */
		atomic_store_explicit(&t->virt_now, ns, memory_order_release);
}

bool weft__time_paused(const struct weft__time *t)
{
	return t->paused;
}

bool weft__time_auto_advance(struct weft__time *t)
{
	struct time_shard *sh = &t->shards[0];
	unsigned n;

	if (!t->paused || weft__runtime_blocking_active(t->rt) > 0)
		return false;
	pthread_mutex_lock(&sh->lock);
	/* Jump to the next deadline until something is due (the first jump
	 * fires the earliest timer unless a cancellation left a stale-low
	 * minimum; each stale jump empties the slot that held it). */
	while (sh->fired_head == NULL) {
		uint64_t at = weft__wheel_next_deadline(&sh->wheel);

		if (at == UINT64_MAX)
			break;
		move_virtual(t, at);
		weft__wheel_advance(&sh->wheel, tick_floor(t, at), at, on_due, sh);
	}
	publish_shard(sh);
	publish_global(t);
	n = drain_fired(sh);
	pthread_mutex_unlock(&sh->lock);
	return n > 0;
}

int weft__time_advance(struct weft__time *t, uint64_t d)
{
	if (!t->paused)
		return -EINVAL;
	pthread_mutex_lock(&t->shards[0].lock);
	/* Relaxed: the lock orders writers. */
	move_virtual(t, sat_add(atomic_load_explicit(&t->virt_now, memory_order_relaxed), d));
	pthread_mutex_unlock(&t->shards[0].lock);
	weft__time_process(t);
	return 0;
}

void weft__time_destroy(struct weft__time *t)
{
	unsigned i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nshards; i++) {
		struct time_shard *sh = &t->shards[i];

		pthread_mutex_lock(&sh->lock);
		sh->closed = true;
		weft__wheel_take_all(&sh->wheel, on_shutdown, sh);
		/* Entries already due complete normally (pushed first). */
		drain_fired(sh);
		/* SeqCst: as in publish_shard. */
		atomic_store_explicit(&sh->next_deadline, UINT64_MAX, memory_order_seq_cst);
		pthread_mutex_unlock(&sh->lock);
	}
	/* SeqCst: as in publish_global. */
	atomic_store_explicit(&t->next_deadline, UINT64_MAX, memory_order_seq_cst);
	time_unref(t);
}

/* ---- entries ------------------------------------------------------------- */

void weft__timer_init(struct weft__timer *e, struct weft_runtime *rt, bool relative,
		      uint64_t value)
{
	e->prev = e->next = NULL;
	e->when = 0;
	e->relative = relative;
	e->duration = relative ? value : 0;
	e->deadline = relative ? UINT64_MAX : value;
	e->time = NULL;
	e->rt = rt;
	e->waker.data = NULL;
	e->waker.vtable = NULL;
	atomic_init(&e->state, T_IDLE);
	e->level = WHEEL_LEVEL_NONE;
	e->slot = 0;
	e->shard = 0;
}

static weft_poll complete(struct weft__timer *e, uint32_t state, int *result)
{
	/* Relaxed: the entry is not linked anywhere; only its owner reads. */
	atomic_store_explicit(&e->state, state, memory_order_relaxed);
	*result = state == T_FIRED ? 0 : state == T_SHUTDOWN ? -ESHUTDOWN : -EINVAL;
	return WEFT_READY;
}

/* First poll: computes the deadline, links the entry unless it is due. */
static weft_poll timer_register(struct weft__timer *e, weft_cx *cx, int *result)
{
	struct weft_runtime *rt = e->rt != NULL ? e->rt : weft_runtime_current();
	struct weft__time *t;
	struct time_shard *sh;
	bool earliest;

	if (e->time != NULL)
		t = e->time; /* re-armed (an interval): keep the binding */
	else if (rt != NULL)
		t = weft__runtime_time(rt);
	else
		return complete(e, T_NORT, result);
	if (e->relative) {
		/* A fresh clock reading: the cached one could make it early.
		 * The deadline is then later than now unless the duration is 0. */
		e->deadline = sat_add(weft__time_now(t), e->duration);
		e->relative = false;
		if (e->duration == 0)
			return complete(e, T_FIRED, result);
	} else if (e->deadline <= atomic_load_explicit(&t->cached_now, memory_order_relaxed) ||
		   e->deadline <= weft__time_now(t)) {
		/* Relaxed: a cached reading is one of the past (see
		 * weft__time_process), so a deadline before it has passed. */
		return complete(e, T_FIRED, result);
	}
	e->when = tick_floor(t, e->deadline);
	sh = my_shard(t);
	pthread_mutex_lock(&sh->lock);
	if (sh->closed) {
		pthread_mutex_unlock(&sh->lock);
		return complete(e, T_SHUTDOWN, result);
	}
	if (!weft__wheel_insert(&sh->wheel, e)) {
		pthread_mutex_unlock(&sh->lock);
		return complete(e, T_FIRED, result);
	}
	if (e->time == NULL) {
		/* Relaxed: made from the runtime's reference, under a lock. */
		atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
		e->time = t;
	}
	e->shard = (uint8_t)(sh - t->shards);
	e->waker = weft_waker_clone(weft_cx_waker(cx));
	/* Relaxed: WAITING is only acted on under the lock. */
	atomic_store_explicit(&e->state, T_WAITING, memory_order_relaxed);
	/* Relaxed: written under the lock. */
	earliest = e->deadline < atomic_load_explicit(&sh->next_deadline, memory_order_relaxed);
	if (earliest)
		/* SeqCst: the registrar's side of the handshake (essay). */
		atomic_store_explicit(&sh->next_deadline, e->deadline, memory_order_seq_cst);
	pthread_mutex_unlock(&sh->lock);
	if (earliest && lower_next(t, e->deadline))
		weft__runtime_timer_changed(t->rt);
	weft_coop_refund(cx);
	return WEFT_PENDING;
}

weft_poll weft__timer_poll(struct weft__timer *e, weft_cx *cx, int *result)
{
	/* Acquire: pairs with the release store of FIRED in drain_fired. */
	uint32_t s = atomic_load_explicit(&e->state, memory_order_acquire);
	struct time_shard *sh;
	weft_waker old = { NULL, NULL };

	/* Budget first, as every wake-capable operation: a task that keeps
	 * finding timers ready still yields. */
	if (!weft_coop_proceed(cx))
		return WEFT_PENDING;
	if (s >= T_FIRED)
		return complete(e, s, result);
	if (s == T_IDLE)
		return timer_register(e, cx, result);
	sh = &e->time->shards[e->shard];
	pthread_mutex_lock(&sh->lock);
	/* Relaxed: under the lock, which every writer holds. */
	s = atomic_load_explicit(&e->state, memory_order_relaxed);
	if (s == T_WAITING && !weft_waker_will_wake(&e->waker, weft_cx_waker(cx))) {
		old = e->waker;
		e->waker = weft_waker_clone(weft_cx_waker(cx));
	}
	pthread_mutex_unlock(&sh->lock);
	weft_waker_drop(&old);
	if (s != T_WAITING)
		return complete(e, s, result);
	weft_coop_refund(cx);
	return WEFT_PENDING;
}

bool weft__timer_cancel(struct weft__timer *e)
{
	struct weft__time *t = e->time;
	weft_waker old = { NULL, NULL };
	bool cancelled = false;

	if (t == NULL)
		return false;
	/* Acquire: pairs with the release store of FIRED in drain_fired; once
	 * seen, the firing thread no longer touches the entry. */
	if (atomic_load_explicit(&e->state, memory_order_acquire) == T_WAITING) {
		struct time_shard *sh = &t->shards[e->shard];

		pthread_mutex_lock(&sh->lock);
		/* Relaxed: under the lock. */
		if (atomic_load_explicit(&e->state, memory_order_relaxed) == T_WAITING) {
			if (e->level == LEVEL_FIRED)
				fired_remove(sh, e);
			else
				weft__wheel_remove(&sh->wheel, e);
			old = e->waker;
			e->waker.data = NULL;
			e->waker.vtable = NULL;
			atomic_store_explicit(&e->state, T_IDLE, memory_order_relaxed);
			cancelled = true;
		}
		pthread_mutex_unlock(&sh->lock);
		weft_waker_drop(&old);
	}
	e->time = NULL;
	time_unref(t);
	return cancelled;
}

void weft__timer_reset(struct weft__timer *e, uint64_t deadline)
{
	/* Relaxed: not linked anywhere (see the contract). */
	atomic_store_explicit(&e->state, T_IDLE, memory_order_relaxed);
	e->relative = false;
	e->deadline = deadline;
}

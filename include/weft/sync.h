/*
 * weft/sync.h - asynchronous synchronisation: semaphore, mutex, rwlock,
 * notify, barrier, once cell and cancellation token.
 *
 * Every primitive has two tiers:
 *  - `try_*` calls that never wait and return -EAGAIN when they would;
 *  - futures that wait.  A waiting future is a struct the caller owns (on
 *    its stack, inside its own future, inside a spawned task); its first
 *    member is a `weft_future`.  Waiting allocates nothing: the waiter node
 *    lives inside the future.
 *
 * Rules shared by every future in this header:
 *  - Initialise the future with its constructor call (weft_mutex_lock,
 *    weft_semaphore_acquire, ...), then poll it until WEFT_READY (directly,
 *    with WEFT_AWAIT, or with weft_block_on), then read its `result`.
 *  - Drop it exactly once with weft_future_drop(&f.base), whatever state it
 *    is in.  Dropping is always safe: a future that never ran does nothing,
 *    one parked in a queue unlinks itself, and one that had been handed the
 *    lock or permits but was not yet polled to ready passes them on to the
 *    next waiter.  A future that returned WEFT_READY with result 0 does not
 *    release on drop: the caller now holds the lock or permits and releases
 *    them explicitly (weft_mutex_unlock, weft_semaphore_release, ...).
 *  - A future must not be moved (copied to another address) between its
 *    first poll and its drop: its waiter node may be linked into the
 *    primitive's queue.  Copying it before the first poll is fine (that is
 *    what weft_spawn does).
 *  - A future is used by one thread at a time; the primitive itself may be
 *    used from any number of threads, inside or outside a runtime.
 *  - Waiting futures spend one unit of the cooperative budget per poll
 *    (weft_coop_proceed), so a task that always finds the lock free still
 *    yields to its worker now and then.
 *  - Queues are FIFO.  A waiter that is woken was already handed what it
 *    waited for; nobody can barge in between the wake and its next poll.
 *
 * Primitives are caller-owned structs with `init` / `finish`.  `init`
 * returns 0 or a negative errno; `finish` must only be called once nobody
 * uses the primitive any more (no holder, no waiting future).
 *
 * Errors are returned as negative errno values, never through `errno`:
 * -EINVAL for a NULL or out-of-range argument, -EAGAIN for a try call that
 * would have to wait, -EPIPE for a closed semaphore, -EPERM for releasing
 * what is not held (detected where it is cheap to detect).
 *
 * See docs/sync.md for the fairness and cancellation rules and the costs.
 */
#ifndef WEFT_SYNC_H
#define WEFT_SYNC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/future.h"
#include "weft/waiter.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* Semaphore                                                                 */
/* ======================================================================== */

/* The largest number of permits a semaphore can hold. */
#define WEFT_SEMAPHORE_MAX_PERMITS (SIZE_MAX >> 3)

/*
 * A counting semaphore.  Acquirers are served strictly in FIFO order: a
 * large request at the head of the queue collects released permits until it
 * has enough, and smaller requests behind it wait their turn, so it is never
 * starved.  A semaphore can be closed: waiting and later acquires then fail
 * with -EPIPE.  Any thread; the struct must not move while in use.
 */
typedef struct weft_semaphore {
	struct weft__sem sem; /* private */
} weft_semaphore;

/*
 * Initialises `s` with `permits` available permits.  Returns 0, or -EINVAL
 * for a NULL `s` or more than WEFT_SEMAPHORE_MAX_PERMITS permits (nothing
 * else can fail: the queue lock is a word that needs no allocation).
 */
int weft_semaphore_init(weft_semaphore *s, size_t permits);

/*
 * Releases what `s` holds.  No future may still wait on it.  NULL is a
 * no-op.  Any thread.
 */
void weft_semaphore_finish(weft_semaphore *s);

/*
 * Takes `n` permits if they are available now and nobody is queued ahead.
 * Returns 0 (the caller now holds them), -EAGAIN when it would wait, -EPIPE
 * when `s` is closed, -EINVAL for a NULL `s` or `n` above the maximum.
 * n == 0 succeeds at once unless closed.  Any thread.
 */
int weft_semaphore_try_acquire(weft_semaphore *s, size_t n);

/* A future that acquires permits.  Fields other than `result` are private. */
typedef struct weft_semaphore_acquire_future {
	weft_future base;
	/* Once ready: 0 (the caller holds the permits), -EPIPE (closed), or
	 * -EINVAL (bad arguments to weft_semaphore_acquire). */
	int result;
	struct weft__sem_wait wait;
} weft_semaphore_acquire_future;

/*
 * Initialises `f` to acquire `n` permits of `s`.  Nothing happens until it
 * is polled.  Returns 0; -EINVAL for a NULL `f`, or for a NULL `s` or `n`
 * above the maximum, in which case `f` is still initialised and completes
 * at its first poll with result -EINVAL.
 */
int weft_semaphore_acquire(weft_semaphore *s, size_t n, weft_semaphore_acquire_future *f);

/*
 * Returns `n` permits to `s`, handing them to queued acquirers first (in
 * FIFO order) and waking those that now have all they asked for.  Returns 0;
 * -EINVAL for a NULL `s`; -EOVERFLOW (nothing released) when the count
 * would exceed WEFT_SEMAPHORE_MAX_PERMITS.  Also valid after close.  Any
 * thread; it never waits (the queue lock is held only briefly).
 */
int weft_semaphore_release(weft_semaphore *s, size_t n);

/*
 * Closes `s`: every queued acquire completes with -EPIPE (permits it had
 * collected go back to the count), and later acquires and try_acquires fail
 * with -EPIPE.  Permits already held stay valid and may be released.
 * Returns 0, or -EINVAL for NULL.  Idempotent.  Any thread.
 */
int weft_semaphore_close(weft_semaphore *s);

/* Returns true when `s` has been closed (false for NULL). */
bool weft_semaphore_is_closed(const weft_semaphore *s);

/* Returns the number of permits available right now (0 for NULL). */
size_t weft_semaphore_available(const weft_semaphore *s);

/* ======================================================================== */
/* Mutex                                                                     */
/* ======================================================================== */

/*
 * A fair asynchronous mutex.  It does not hold data: it serialises whatever
 * the caller decides it protects.  Unlocking with waiters queued hands the
 * lock directly to the oldest waiter (FIFO hand-off), so nobody barges in.
 * Locking and unlocking without contention cost one atomic operation each.
 * Unlike a pthread mutex it is not tied to a thread: a task may lock it on
 * one worker and unlock it on another, or another task may unlock it.
 */
typedef struct weft_mutex {
	struct weft__sem sem; /* private */
} weft_mutex;

/* Initialises `m`, unlocked.  Returns 0, or -EINVAL for NULL. */
int weft_mutex_init(weft_mutex *m);

/* Releases what `m` holds.  It must be unlocked with no waiter.  NULL is a
 * no-op. */
void weft_mutex_finish(weft_mutex *m);

/*
 * Locks `m` if it is free and nobody is queued.  Returns 0 (the caller holds
 * the lock), -EAGAIN when it would wait, -EINVAL for NULL.  Any thread.
 */
int weft_mutex_try_lock(weft_mutex *m);

/* A future that locks a mutex.  Fields other than `result` are private. */
typedef struct weft_mutex_lock_future {
	weft_future base;
	/* Once ready: 0 (the caller holds the lock) or -EINVAL. */
	int result;
	struct weft__sem_wait wait;
} weft_mutex_lock_future;

/*
 * Initialises `f` to lock `m`.  Returns 0; -EINVAL for a NULL `f`, or for a
 * NULL `m` (then `f` completes at its first poll with result -EINVAL).
 */
int weft_mutex_lock(weft_mutex *m, weft_mutex_lock_future *f);

/*
 * Unlocks `m`, handing it to the oldest waiter if there is one.  Returns 0;
 * -EINVAL for NULL; -EPERM (and does nothing) when `m` is visibly not
 * locked.  Any thread.
 */
int weft_mutex_unlock(weft_mutex *m);

/* Returns true when `m` is locked right now (a hint; false for NULL). */
bool weft_mutex_is_locked(const weft_mutex *m);

/* ======================================================================== */
/* RwLock                                                                    */
/* ======================================================================== */

/* Default (and largest) number of readers a rwlock admits at once. */
#define WEFT_RWLOCK_MAX_READERS WEFT_SEMAPHORE_MAX_PERMITS

/*
 * A fair reader-writer lock.  Policy: one FIFO queue for readers and
 * writers.  A queued writer bars readers that arrive after it (so writers
 * are never starved), and the readers queued behind a writer all enter
 * together when it unlocks (so readers are never starved either).  At most
 * `max_readers` readers hold it at once.  Read and write locking without
 * contention cost one atomic operation each.
 */
typedef struct weft_rwlock {
	struct weft__sem sem; /* private: max_readers permits */
	/* Private: 1 while a writer holds the lock (set once it knows). */
	WEFT__ATOMIC(unsigned) writer;
} weft_rwlock;

/* Initialises `rw`, unlocked, admitting WEFT_RWLOCK_MAX_READERS readers.
 * Returns 0, or -EINVAL for NULL. */
int weft_rwlock_init(weft_rwlock *rw);

/*
 * As weft_rwlock_init with at most `max_readers` concurrent readers
 * (1 .. WEFT_RWLOCK_MAX_READERS).  Returns -EINVAL outside that range.
 */
int weft_rwlock_init_max_readers(weft_rwlock *rw, size_t max_readers);

/* Releases what `rw` holds.  It must be unlocked with no waiter.  NULL is a
 * no-op. */
void weft_rwlock_finish(weft_rwlock *rw);

/* Takes a read lock if possible without waiting.  Returns 0, -EAGAIN, or
 * -EINVAL for NULL.  Any thread. */
int weft_rwlock_try_read(weft_rwlock *rw);

/* Takes the write lock if possible without waiting.  Returns 0, -EAGAIN,
 * or -EINVAL for NULL.  Any thread. */
int weft_rwlock_try_write(weft_rwlock *rw);

/* A future that takes a read lock.  Fields other than `result` are private. */
typedef struct weft_rwlock_read_future {
	weft_future base;
	/* Once ready: 0 (the caller holds a read lock) or -EINVAL. */
	int result;
	struct weft__sem_wait wait;
} weft_rwlock_read_future;

/* A future that takes the write lock.  Fields other than `result` are
 * private. */
typedef struct weft_rwlock_write_future {
	weft_future base;
	/* Once ready: 0 (the caller holds the write lock) or -EINVAL. */
	int result;
	struct weft__sem_wait wait;
} weft_rwlock_write_future;

/* Initialises `f` to take a read lock on `rw`.  Returns as weft_mutex_lock. */
int weft_rwlock_read(weft_rwlock *rw, weft_rwlock_read_future *f);

/* Initialises `f` to take the write lock on `rw`.  Returns as
 * weft_mutex_lock. */
int weft_rwlock_write(weft_rwlock *rw, weft_rwlock_write_future *f);

/*
 * Releases one read lock.  Returns 0, -EINVAL for NULL, -EPERM (and changes
 * nothing) when no read lock is visibly held: the lock is write-locked, or
 * every read permit is already back.  Any thread.
 */
int weft_rwlock_unlock_read(weft_rwlock *rw);

/*
 * Releases the write lock.  Returns 0, -EINVAL for NULL, -EPERM (and
 * changes nothing) when no writer holds the lock (it is free or only
 * read-locked, even by max_readers readers).  Any thread.
 */
int weft_rwlock_unlock_write(weft_rwlock *rw);

/*
 * Turns the caller's write lock into a read lock without letting a writer in
 * between; queued readers may enter alongside.  Returns 0, -EINVAL for NULL,
 * -EPERM (and changes nothing) when no writer holds the lock.  Any thread.
 */
int weft_rwlock_downgrade(weft_rwlock *rw);

/*
 * Inline fast paths of the mutex and the rwlock (C only; C++ calls the
 * exported functions above, which behave the same).  Without contention a
 * lock or an unlock is one compare-and-swap on the semaphore's state word
 * (weft/waiter.h has its encoding) done in the caller, with no call into
 * the library: a lock future made by these wrappers polls with a function
 * of this header, which takes a free lock in one CAS and returns
 * WEFT_READY without ever touching its waiter node.  Anything else (the
 * lock is held or contended, the budget is spent, a NULL argument) goes to
 * the exported function: a future that has not acquired yet is simply
 * made again by the exported constructor, which is allowed because it has
 * done nothing so far, and polled there.  The names stay usable as
 * functions: `&weft_mutex_lock` or `(weft_mutex_lock)(m, f)` reaches the
 * exported one.
 */
#ifndef __cplusplus
#include <stdatomic.h>

/* Private: one permit in the state word, which is also the whole state of a
 * free mutex that nobody waits for. */
#define WEFT__SEM_ONE ((size_t)1 << WEFT__SEM_SHIFT)

/* Private: takes `n` permits of a semaphore whose state word was `cur`,
 * when nobody waits and they are there: one CAS.  Returns true on success. */
static inline bool weft__sem_take_inline(struct weft__sem *s, size_t cur, size_t n)
{
	if ((cur & (WEFT__SEM_WAITERS | WEFT__SEM_CLOSED)) != 0 || (cur >> WEFT__SEM_SHIFT) < n)
		return false;
	/* Acquire: the permits carry the critical section of whoever released
	 * them; pairs with the release CAS of every unlock (below, and
	 * weft__sem_release and deposit_locked in src/common). */
	return atomic_compare_exchange_strong_explicit(&s->state, &cur,
						       cur - (n << WEFT__SEM_SHIFT),
						       memory_order_acquire,
						       memory_order_relaxed);
}

/*
 * Private: the stores of an inline first poll that is about to take its
 * permits, made before the CAS that takes them rather than after it.  A
 * locked instruction waits for every store before it to leave the store
 * buffer, so stores between the lock's CAS and the unlock's cost the
 * unlock their latency; stores before the lock's CAS share that wait with
 * the stores the future's constructor made.  The future becomes complete
 * (no drop function, a poll that only reports ready; nothing reads the
 * acquire's state) and the budget spends one unit, as weft_coop_proceed
 * would.  The caller checked that the budget is not exhausted.  If the CAS
 * then fails, weft__lock_ready_undo gives the unit back; the slow path
 * rewrites the future's poll and result itself.
 */
static inline void weft__lock_ready_first(weft_future *base, int *result, weft_cx *cx)
{
	if (cx->budget != WEFT_COOP_UNCONSTRAINED)
		cx->budget--;
	base->poll = weft_future_done_poll;
	*result = 0;
}

/* Private: undoes weft__lock_ready_first's budget unit after a failed CAS
 * (a budget that was unconstrained was not touched, and one unit less
 * than a real budget is never the unconstrained value). */
static inline void weft__lock_ready_undo(weft_cx *cx)
{
	if (cx->budget != WEFT_COOP_UNCONSTRAINED)
		cx->budget++;
}

/* Private: the first poll of an inline mutex lock future. */
static inline weft_poll weft__mutex_lock_poll_inline(weft_future *f, weft_cx *cx)
{
	weft_mutex_lock_future *self = (weft_mutex_lock_future *)f;
	struct weft__sem *s = self->wait.sem;

	/* A mutex's only free state is exactly one permit, nobody queued. */
	if (!weft_coop_exhausted(cx)) {
		weft__lock_ready_first(f, &self->result, cx);
		if (weft__sem_take_inline(s, WEFT__SEM_ONE, 1))
			return WEFT_READY;
		weft__lock_ready_undo(cx);
	}
	(weft_mutex_lock)((weft_mutex *)(void *)s, self);
	return weft_future_poll(f, cx);
}

/* Private: weft_mutex_lock with an inline first poll. */
static inline int weft__mutex_lock_inline(weft_mutex *m, weft_mutex_lock_future *f)
{
	if (m == NULL || f == NULL)
		return (weft_mutex_lock)(m, f);
	f->base.poll = weft__mutex_lock_poll_inline;
	f->base.drop = NULL; /* nothing to release until it acquires */
	f->wait.sem = &m->sem;
	return 0;
}

/* Private: weft_mutex_try_lock, inline while the mutex is free. */
static inline int weft__mutex_try_lock_inline(weft_mutex *m)
{
	if (m != NULL && weft__sem_take_inline(&m->sem, WEFT__SEM_ONE, 1))
		return 0;
	return (weft_mutex_try_lock)(m);
}

/* Private: weft_mutex_unlock, inline while nobody waits. */
static inline int weft__mutex_unlock_inline(weft_mutex *m)
{
	size_t locked = 0;

	/* Release: publishes the critical section to the next holder; pairs
	 * with the acquire CAS of every lock path (weft__sem_take_inline,
	 * weft__sem_try_acquire, acquire_or_enqueue). */
	if (m != NULL && atomic_compare_exchange_strong_explicit(&m->sem.state, &locked,
								 WEFT__SEM_ONE,
								 memory_order_release,
								 memory_order_relaxed))
		return 0;
	return (weft_mutex_unlock)(m);
}

/* Private: the state word of a free rwlock with the default reader limit
 * (weft_rwlock_init), nobody queued. */
#define WEFT__RWLOCK_FREE (WEFT_RWLOCK_MAX_READERS << WEFT__SEM_SHIFT)

/*
 * Private: takes one read permit of `s` without waiting.  The first CAS
 * guesses the likeliest state (a free lock with the default limit) instead
 * of loading it, so that it depends on no load; a failed CAS returns the
 * real state, which gets one more try.  A guess that matches is right
 * whatever the limit: only a lock with the default limit can hold that
 * many permits.
 */
static inline bool weft__rwlock_take_read(struct weft__sem *s)
{
	size_t cur = WEFT__RWLOCK_FREE;

	/* Acquire: as in weft__sem_take_inline. */
	if (atomic_compare_exchange_strong_explicit(&s->state, &cur, cur - WEFT__SEM_ONE,
						    memory_order_acquire, memory_order_relaxed))
		return true;
	return weft__sem_take_inline(s, cur, 1);
}

/* Private: the first poll of an inline read lock future. */
static inline weft_poll weft__rwlock_read_poll_inline(weft_future *f, weft_cx *cx)
{
	weft_rwlock_read_future *self = (weft_rwlock_read_future *)f;
	struct weft__sem *s = self->wait.sem;

	if (!weft_coop_exhausted(cx)) {
		weft__lock_ready_first(f, &self->result, cx);
		if (weft__rwlock_take_read(s))
			return WEFT_READY;
		weft__lock_ready_undo(cx);
	}
	(weft_rwlock_read)((weft_rwlock *)(void *)s, self);
	return weft_future_poll(f, cx);
}

/* Private: the first poll of an inline write lock future. */
static inline weft_poll weft__rwlock_write_poll_inline(weft_future *f, weft_cx *cx)
{
	weft_rwlock_write_future *self = (weft_rwlock_write_future *)f;
	struct weft__sem *s = self->wait.sem;
	weft_rwlock *rw = (weft_rwlock *)(void *)s;

	/* A free rwlock holds exactly max permits, nobody queued. */
	if (!weft_coop_exhausted(cx)) {
		weft__lock_ready_first(f, &self->result, cx);
		if (weft__sem_take_inline(s, s->max << WEFT__SEM_SHIFT, s->max)) {
			/* Relaxed: ordered by the permits (src/sync/rwlock.c). */
			atomic_store_explicit(&rw->writer, 1, memory_order_relaxed);
			return WEFT_READY;
		}
		weft__lock_ready_undo(cx);
	}
	(weft_rwlock_write)(rw, self);
	return weft_future_poll(f, cx);
}

/* Private: weft_rwlock_read with an inline first poll. */
static inline int weft__rwlock_read_inline(weft_rwlock *rw, weft_rwlock_read_future *f)
{
	if (rw == NULL || f == NULL)
		return (weft_rwlock_read)(rw, f);
	f->base.poll = weft__rwlock_read_poll_inline;
	f->base.drop = NULL; /* nothing to release until it acquires */
	f->wait.sem = &rw->sem;
	return 0;
}

/* Private: weft_rwlock_write with an inline first poll. */
static inline int weft__rwlock_write_inline(weft_rwlock *rw, weft_rwlock_write_future *f)
{
	if (rw == NULL || f == NULL)
		return (weft_rwlock_write)(rw, f);
	f->base.poll = weft__rwlock_write_poll_inline;
	f->base.drop = NULL; /* nothing to release until it acquires */
	f->wait.sem = &rw->sem;
	return 0;
}

/* Private: weft_rwlock_try_read, inline while a read lock is free. */
static inline int weft__rwlock_try_read_inline(weft_rwlock *rw)
{
	if (rw != NULL && weft__rwlock_take_read(&rw->sem))
		return 0;
	return (weft_rwlock_try_read)(rw);
}

/* Private: weft_rwlock_try_write, inline while the lock is free. */
static inline int weft__rwlock_try_write_inline(weft_rwlock *rw)
{
	if (rw != NULL && weft__sem_take_inline(&rw->sem, rw->sem.max << WEFT__SEM_SHIFT,
						rw->sem.max)) {
		/* Relaxed: ordered by the permits (src/sync/rwlock.c). */
		atomic_store_explicit(&rw->writer, 1, memory_order_relaxed);
		return 0;
	}
	return (weft_rwlock_try_write)(rw);
}

/* Private: weft_rwlock_unlock_read, inline while nobody waits. */
static inline int weft__rwlock_unlock_read_inline(weft_rwlock *rw)
{
	/* The likeliest state, guessed as in weft__rwlock_take_read: one
	 * reader (us) holds a lock with the default limit. */
	size_t cur = WEFT__RWLOCK_FREE - WEFT__SEM_ONE;

	/* Relaxed: a misuse hint, as in rwlock.c. */
	if (rw == NULL || atomic_load_explicit(&rw->writer, memory_order_relaxed) != 0)
		return (weft_rwlock_unlock_read)(rw);
	if (rw->sem.max != WEFT_RWLOCK_MAX_READERS)
		cur = atomic_load_explicit(&rw->sem.state, memory_order_relaxed);
	/* Release: publishes the reader's critical section to the next
	 * writer; pairs with the acquire CAS of the lock paths.  (A failed
	 * CAS leaves the real state in `cur` for the second try.) */
	else if (atomic_compare_exchange_strong_explicit(&rw->sem.state, &cur, WEFT__RWLOCK_FREE,
							 memory_order_release,
							 memory_order_relaxed))
		return 0;
	/* Release: as above. */
	if ((cur & WEFT__SEM_WAITERS) == 0 && (cur >> WEFT__SEM_SHIFT) < rw->sem.max &&
	    atomic_compare_exchange_strong_explicit(&rw->sem.state, &cur,
						    cur + ((size_t)1 << WEFT__SEM_SHIFT),
						    memory_order_release, memory_order_relaxed))
		return 0;
	return (weft_rwlock_unlock_read)(rw);
}

/* Private: weft_rwlock_unlock_write, inline while nobody waits. */
static inline int weft__rwlock_unlock_write_inline(weft_rwlock *rw)
{
	size_t held = 0;

	/* Relaxed (the flag): ordered by the permits, as in rwlock.c; only the
	 * writer that holds the lock clears it, before giving them back. */
	if (rw == NULL || atomic_load_explicit(&rw->writer, memory_order_relaxed) != 1 ||
	    atomic_load_explicit(&rw->sem.state, memory_order_relaxed) != 0)
		return (weft_rwlock_unlock_write)(rw);
	atomic_store_explicit(&rw->writer, 0, memory_order_relaxed);
	/* Release: publishes the writer's critical section; pairs with the
	 * acquire CAS of the lock paths. */
	if (atomic_compare_exchange_strong_explicit(&rw->sem.state, &held,
						    rw->sem.max << WEFT__SEM_SHIFT,
						    memory_order_release, memory_order_relaxed))
		return 0;
	atomic_store_explicit(&rw->writer, 1, memory_order_relaxed); /* as it was */
	return (weft_rwlock_unlock_write)(rw);
}

/* weft_mutex_lock (above), with the uncontended first poll inline. */
#define weft_mutex_lock(m, f) weft__mutex_lock_inline((m), (f))
/* weft_mutex_try_lock (above), inline while the mutex is free. */
#define weft_mutex_try_lock(m) weft__mutex_try_lock_inline((m))
/* weft_mutex_unlock (above), inline while nobody waits. */
#define weft_mutex_unlock(m) weft__mutex_unlock_inline((m))
/* weft_rwlock_read (above), with the uncontended first poll inline. */
#define weft_rwlock_read(rw, f) weft__rwlock_read_inline((rw), (f))
/* weft_rwlock_write (above), with the uncontended first poll inline. */
#define weft_rwlock_write(rw, f) weft__rwlock_write_inline((rw), (f))
/* weft_rwlock_try_read (above), inline while a read lock is free. */
#define weft_rwlock_try_read(rw) weft__rwlock_try_read_inline((rw))
/* weft_rwlock_try_write (above), inline while the lock is free. */
#define weft_rwlock_try_write(rw) weft__rwlock_try_write_inline((rw))
/* weft_rwlock_unlock_read (above), inline while nobody waits. */
#define weft_rwlock_unlock_read(rw) weft__rwlock_unlock_read_inline((rw))
/* weft_rwlock_unlock_write (above), inline while nobody waits. */
#define weft_rwlock_unlock_write(rw) weft__rwlock_unlock_write_inline((rw))
#endif /* !__cplusplus */

/* ======================================================================== */
/* Notify                                                                    */
/* ======================================================================== */

/*
 * Wakes tasks, without data.  notify_one wakes the oldest waiter, or, when
 * nobody waits, stores one permit that the next wait consumes at once (at
 * most one permit is stored; more notify_one calls add nothing).
 * notify_waiters wakes every waiter that exists when it is called,
 * including futures created but not yet polled, and stores no permit.
 * Uncontended notify_one and a wait that finds the permit cost one atomic
 * operation each.
 */
typedef struct weft_notify {
	/* Private: notify_waiters generation << 2 | EMPTY / WAITING / NOTIFIED. */
	WEFT__ATOMIC(size_t) state;
	union weft__lock_slot lock;    /* private */
	struct weft__waitlist waiters; /* private */
} weft_notify;

/* Initialises `n` with no permit.  Returns 0, or -EINVAL for NULL. */
int weft_notify_init(weft_notify *n);

/* Releases what `n` holds.  No future may still wait on it.  NULL is a
 * no-op. */
void weft_notify_finish(weft_notify *n);

/* Wakes the oldest waiter, or stores the permit.  Returns 0, -EINVAL for
 * NULL.  Any thread; never waits. */
int weft_notify_one(weft_notify *n);

/* Wakes every current waiter (see above).  Returns 0, -EINVAL for NULL.
 * Any thread; never waits. */
int weft_notify_waiters(weft_notify *n);

/* Consumes the stored permit if there is one.  Returns 0, -EAGAIN when none
 * is stored, -EINVAL for NULL.  Any thread. */
int weft_notify_try_notified(weft_notify *n);

/* Private: a notify waiter. */
struct weft__notify_wait {
	struct weft__waiter node;
	struct weft_notify *notify;
	/* notify_waiters generation when the future was created. */
	size_t gen;
	WEFT__ATOMIC(unsigned) state;
};

/* A future that waits for a notification.  Fields other than `result` are
 * private. */
typedef struct weft_notify_future {
	weft_future base;
	/* Once ready: 0, or -EINVAL for bad arguments. */
	int result;
	struct weft__notify_wait wait;
} weft_notify_future;

/*
 * Initialises `f` to wait on `n`.  The future already counts as a waiter
 * for notify_waiters from this call on (so "check a condition, create the
 * future, check again, await" loses nothing); for notify_one it becomes a
 * waiter at its first poll.  Dropping a future that notify_one had chosen
 * but that was not yet polled to ready passes the notification on.
 * Returns 0; -EINVAL for a NULL `f`, or for a NULL `n` (then `f` completes
 * at once with -EINVAL).
 */
int weft_notify_notified(weft_notify *n, weft_notify_future *f);

/* ======================================================================== */
/* Barrier                                                                   */
/* ======================================================================== */

/*
 * A reusable barrier for `parties` tasks: each generation releases when the
 * last party arrives, and that party is told it is the leader.  A wait that
 * is cancelled before its generation is complete withdraws its arrival.
 */
typedef struct weft_barrier {
	/* Private: generation << 32 | parties arrived. */
	WEFT__ATOMIC(uint64_t) state;
	uint32_t parties;              /* private */
	union weft__lock_slot lock;    /* private */
	struct weft__waitlist waiters; /* private */
} weft_barrier;

/*
 * Initialises `b` for `parties` parties (0 is taken as 1, as in Tokio and
 * std).  Returns 0, or -EINVAL for NULL or more than UINT32_MAX - 1
 * parties.
 */
int weft_barrier_init(weft_barrier *b, size_t parties);

/* Releases what `b` holds.  No future may still wait on it.  NULL is a
 * no-op. */
void weft_barrier_finish(weft_barrier *b);

/*
 * Arrives only if this arrival completes the generation (all other parties
 * are waiting): they are released and the caller is the leader.  Returns 0
 * (leader), -EAGAIN (nothing done), -EINVAL for NULL.  Any thread.
 */
int weft_barrier_try_wait(weft_barrier *b);

/* Private: a barrier waiter. */
struct weft__barrier_wait {
	struct weft__waiter node;
	struct weft_barrier *barrier;
	uint32_t gen;
	WEFT__ATOMIC(unsigned) state;
};

/* A future that arrives at a barrier and waits for its generation to
 * complete.  Fields other than `result` and `is_leader` are private. */
typedef struct weft_barrier_wait_future {
	weft_future base;
	/* Once ready: 0, or -EINVAL for bad arguments. */
	int result;
	/* Once ready: true for exactly one party of each generation. */
	bool is_leader;
	struct weft__barrier_wait wait;
} weft_barrier_wait_future;

/*
 * Initialises `f` to wait at `b`.  The arrival happens at the first poll.
 * Returns 0; -EINVAL for a NULL `f`, or for a NULL `b` (then `f` completes at
 * once with -EINVAL).
 */
int weft_barrier_wait(weft_barrier *b, weft_barrier_wait_future *f);

/* ======================================================================== */
/* OnceCell                                                                  */
/* ======================================================================== */

/*
 * A cell that is set once and then read without locking.  It holds a
 * `void *` that the caller owns.  get_or_init runs exactly one initialiser
 * at a time: the first caller runs its initialiser future while the others
 * wait in FIFO order; if that initialiser is cancelled (its get_or_init
 * future dropped) or fails, the next waiter runs its own.
 */
typedef struct weft_once_cell {
	/* Private: EMPTY or SET; the value is published by the SET store. */
	WEFT__ATOMIC(unsigned) state;
	void *value;          /* private */
	struct weft__sem sem; /* private: one permit = the right to initialise */
} weft_once_cell;

/* Initialises `c`, empty.  Returns 0, or -EINVAL for NULL. */
int weft_once_cell_init(weft_once_cell *c);

/* Releases what `c` holds (not the value, which is the caller's).  No
 * future may still use it.  NULL is a no-op. */
void weft_once_cell_finish(weft_once_cell *c);

/*
 * Reads the value without waiting.  Returns 0 and stores it in *value when
 * the cell is set; -EAGAIN when it is not (yet); -EINVAL for NULL
 * arguments.  One atomic load.  Any thread.
 */
int weft_once_cell_get(const weft_once_cell *c, void **value);

/*
 * Sets the value if the cell is empty and no initialiser is running.
 * Returns 0; -EEXIST when the cell is already set; -EBUSY when an
 * initialiser is running; -EINVAL for NULL.  Waiters of get_or_init then
 * complete with this value.  Any thread.
 */
int weft_once_cell_set(weft_once_cell *c, void *value);

/* Private: the get_or_init state machine. */
struct weft__once_wait {
	struct weft__sem_wait acquire;
	struct weft_once_cell *cell;
	weft_future *init;
	void *const *init_value;
	const int *init_status;
	unsigned step;
};

/* A future that returns the cell's value, initialising it if needed.
 * Fields other than `result` and `value` are private. */
typedef struct weft_once_cell_future {
	weft_future base;
	/* Once ready: 0 (then `value` is the cell's value), the initialiser's
	 * negative status when this future ran it and it failed (the cell stays
	 * empty), or -EINVAL for bad arguments. */
	int result;
	void *value;
	struct weft__once_wait wait;
} weft_once_cell_future;

/*
 * Initialises `f` to get the value of `c`, running `init` if this future
 * becomes the initialiser.  `init` is a future the caller owns and drops
 * (whether or not it ran); it is polled only by `f`, only while `f` is the
 * initialiser, and only until it is ready.  When it is ready, `*init_value`
 * is the value to store; when `init_status` is not NULL and `*init_status`
 * is negative, the attempt failed instead: the cell stays empty, `f`
 * completes with that status and the next waiter tries its own
 * initialiser.  Dropping `f` while it runs `init` cancels the attempt in
 * the same way (`init` is not dropped by `f`).
 * Returns 0; -EINVAL for a NULL `f`, or for a NULL `c`, `init` or
 * `init_value` (then `f` completes at once with -EINVAL).
 */
int weft_once_cell_get_or_init(weft_once_cell *c, weft_once_cell_future *f,
			       weft_future *init, void *const *init_value,
			       const int *init_status);

/*
 * Inline fast paths (C only; C++ calls the exported functions above, which
 * behave the same).  Once a cell is set its value is final, so reading it
 * needs nothing but one acquire load, which these wrappers do in the
 * caller: weft_once_cell_get on a set cell costs that load, and
 * weft_once_cell_get_or_init on a set cell completes the future at once
 * (its poll returns WEFT_READY with `result` 0 and `value` the cell's value;
 * it has no drop, and `init` is never polled).  Everything else goes to the
 * exported function.  The names stay usable as functions: taking
 * `&weft_once_cell_get` or writing `(weft_once_cell_get)(c, v)` reaches the
 * exported one.
 */
#ifndef __cplusplus
#include <stdatomic.h>

/* Private: the cell's SET state (once_cell.c). */
#define WEFT__ONCE_SET 1u

/* Private: weft_once_cell_get, inline while the cell is set. */
static inline int weft__once_cell_get_inline(const weft_once_cell *c, void **value)
{
	/* Acquire: pairs with the release store of SET in publish
	 * (once_cell.c), so the value written before it is seen. */
	if (c != NULL && value != NULL &&
	    atomic_load_explicit(&c->state, memory_order_acquire) == WEFT__ONCE_SET) {
		*value = c->value;
		return 0;
	}
	return (weft_once_cell_get)(c, value);
}

/* Private: weft_once_cell_get_or_init, inline while the cell is set. */
static inline int weft__once_cell_get_or_init_inline(weft_once_cell *c,
						     weft_once_cell_future *f,
						     weft_future *init,
						     void *const *init_value,
						     const int *init_status)
{
	/* Acquire: as in weft__once_cell_get_inline. */
	if (c != NULL && f != NULL && init != NULL && init_value != NULL &&
	    atomic_load_explicit(&c->state, memory_order_acquire) == WEFT__ONCE_SET) {
		/* `result` and `value` are filled in now. */
		f->base.poll = weft_future_done_poll;
		f->base.drop = NULL;
		f->result = 0;
		f->value = c->value;
		return 0;
	}
	return (weft_once_cell_get_or_init)(c, f, init, init_value, init_status);
}

/* weft_once_cell_get (above), with the set-cell case inline. */
#define weft_once_cell_get(c, value) weft__once_cell_get_inline((c), (value))
/* weft_once_cell_get_or_init (above), with the set-cell case inline. */
#define weft_once_cell_get_or_init(c, f, init, init_value, init_status) \
	weft__once_cell_get_or_init_inline((c), (f), (init), (init_value), (init_status))
#endif /* !__cplusplus */

/* ======================================================================== */
/* Cancellation token                                                        */
/* ======================================================================== */

/*
 * A cancellation token: cancel() is remembered forever, is_cancelled() reads
 * it with one atomic load, and a future waits for it.  Tokens form trees:
 * cancelling a token cancels all its descendants, never its ancestors.  A
 * tree shares one lock, owned by its root token, which is taken only to
 * link tokens or waiters and to cancel.
 *
 * Lifetime: a token is caller-owned.  Finish every future waiting on a token
 * before finishing the token; finishing a child hands its own children to
 * its parent; the root is finished last (weft_cancel_token_finish returns
 * -EBUSY otherwise).
 */
typedef struct weft_cancel_token {
	WEFT__ATOMIC(unsigned) cancelled;         /* private */
	struct weft_cancel_token *root;           /* private */
	struct weft_cancel_token *parent;         /* private */
	struct weft_cancel_token *first_child;    /* private */
	struct weft_cancel_token *prev_sibling;   /* private */
	struct weft_cancel_token *next_sibling;   /* private */
	struct weft__waitlist waiters;            /* private */
	size_t waiting;                           /* private */
	/* Private, used in the root only: the tree lock, waiters being woken
	 * after a cancel, and the number of tokens in the tree. */
	union weft__lock_slot lock;
	struct weft__waitlist waking;
	size_t members;
} weft_cancel_token;

/* Initialises `t` as a root token, not cancelled.  Returns 0, or -EINVAL
 * for NULL. */
int weft_cancel_token_init(weft_cancel_token *t);

/*
 * Initialises `child` as a child of `parent` (cancelled at once if `parent`
 * already is).  Returns 0, or -EINVAL for NULL arguments or child == parent.
 * Any thread.
 */
int weft_cancel_token_init_child(weft_cancel_token *child, weft_cancel_token *parent);

/*
 * Finishes `t`.  Its children become children of its parent.  Returns 0;
 * -EBUSY (and does nothing) when a future still waits on `t`, or when `t` is
 * a root whose tree still has other tokens; -EINVAL for NULL.  Any thread.
 */
int weft_cancel_token_finish(weft_cancel_token *t);

/*
 * Cancels `t` and all its descendants and wakes everything waiting on them.
 * Returns 0, -EINVAL for NULL.  Idempotent.  Any thread; never waits.
 */
int weft_cancel_token_cancel(weft_cancel_token *t);

/* Returns true once `t` (or an ancestor) was cancelled; false for NULL.
 * One atomic load with acquire ordering.  Any thread. */
bool weft_cancel_token_is_cancelled(const weft_cancel_token *t);

/* Private: a cancellation waiter. */
struct weft__cancel_wait {
	struct weft__waiter node;
	struct weft_cancel_token *token;
	/* The list the node is on (the token's, or the root's waking list);
	 * under the tree lock. */
	struct weft__waitlist *list;
	WEFT__ATOMIC(unsigned) state;
};

/* A future that completes when a token is cancelled.  Fields other than
 * `result` are private. */
typedef struct weft_cancel_future {
	weft_future base;
	/* Once ready: 0, or -EINVAL for bad arguments. */
	int result;
	struct weft__cancel_wait wait;
} weft_cancel_future;

/*
 * Initialises `f` to wait until `t` is cancelled.  Returns 0; -EINVAL for a
 * NULL `f`, or for a NULL `t` (then `f` completes at once with -EINVAL).
 */
int weft_cancel_token_cancelled(weft_cancel_token *t, weft_cancel_future *f);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_SYNC_H */

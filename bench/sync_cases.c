/*
 * bench/sync_cases.c - benchmark cases of src/sync for the weft-bench binary.
 *
 * Exposes `weft_sync_cases` / `weft_sync_cases_len` (struct bench_case from
 * bench/harness.h) for the lead to register.  Three groups:
 *
 *  - Tokio's own sync benches (benches/sync_semaphore.rs, sync_notify.rs,
 *    sync_rwlock.rs), same names, worker counts and defaults as the
 *    BENCH_TOKIO_CASES table in harness.h and as bench/peers/tokio;
 *  - st/... : one primitive operation on one thread, futures polled by hand
 *    with no runtime, so the time is the cost of the operation itself
 *    (`batch` operations per sample, ns per operation);
 *  - sync_mutex/contended_4x2500: 4 tasks on 4 workers doing 2,500
 *    lock/unlock each on one mutex (one iteration = all 10,000).
 *
 * Runtimes come from bench_runtime (bench/common.c), with the default
 * allocator; weft-bench counts the process's allocations for the st/ rows.
 */
#include "common.h"

#include <stdatomic.h>

/* Awaits `n` join handles in order; counts the ones that finished. */
struct join_all {
	weft_join_handle *h;
	int n, i, ok;
};

static weft_poll join_all_poll(struct join_all *j, weft_cx *cx)
{
	while (j->i < j->n) {
		if (weft_future_poll(&j->h[j->i].base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		j->ok += j->h[j->i].status == 0;
		weft_join_detach(&j->h[j->i]);
		j->i++;
	}
	return WEFT_READY;
}

/* ======================================================================== */
/* sync_semaphore                                                            */
/* ======================================================================== */

struct sem_state {
	weft_runtime *rt;
	weft_semaphore sem;
	size_t permits;
};

static int sem_setup(int workers, size_t permits, void **state)
{
	struct sem_state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return -ENOMEM;
	st->permits = permits;
	if (weft_semaphore_init(&st->sem, permits) != 0 ||
	    (st->rt = bench_runtime(workers, false)) == NULL) {
		free(st);
		return -ENOMEM;
	}
	*state = st;
	return 0;
}

static void sem_teardown(void *state)
{
	struct sem_state *st = state;

	weft_runtime_destroy(st->rt);
	weft_semaphore_finish(&st->sem);
	free(st);
}

/* Tokio's acquire_release task: acquire one permit, drop it. */
struct acquire_release {
	weft_future base;
	weft_semaphore *sem;
	weft_semaphore_acquire_future af;
	bool live;
};

static weft_poll acquire_release_poll(weft_future *f, weft_cx *cx)
{
	struct acquire_release *t = (struct acquire_release *)f;

	if (!t->live) {
		weft_semaphore_acquire(t->sem, 1, &t->af);
		t->live = true;
	}
	if (weft_future_poll(&t->af.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	t->live = false;
	weft_future_drop(&t->af.base);
	if (t->af.result == 0)
		weft_semaphore_release(t->sem, 1);
	return WEFT_READY;
}

static void acquire_release_drop(weft_future *f)
{
	struct acquire_release *t = (struct acquire_release *)f;

	if (t->live)
		weft_future_drop(&t->af.base);
}

/* uncontended_multi: six acquire/release in a row inside block_on. */
struct sem_seq {
	weft_future base;
	weft_semaphore *sem;
	weft_semaphore_acquire_future af;
	int i, ok;
	bool live;
};

static weft_poll sem_seq_poll(weft_future *f, weft_cx *cx)
{
	struct sem_seq *s = (struct sem_seq *)f;

	for (; s->i < 6; s->i++) {
		if (!s->live) {
			weft_semaphore_acquire(s->sem, 1, &s->af);
			s->live = true;
		}
		if (weft_future_poll(&s->af.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		s->live = false;
		weft_future_drop(&s->af.base);
		if (s->af.result == 0) {
			s->ok++;
			weft_semaphore_release(s->sem, 1);
		}
	}
	return WEFT_READY;
}

static int sem_uncontended_multi_setup(const struct bench_case *bc, int workers, void **state)
{
	(void)bc;
	return sem_setup(workers, 10, state);
}

static int sem_uncontended_multi_run(void *state, long iterations)
{
	struct sem_state *st = state;
	long k;

	for (k = 0; k < iterations; k++) {
		struct sem_seq s;

		memset(&s, 0, sizeof(s));
		s.base.poll = sem_seq_poll;
		s.sem = &st->sem;
		if (weft_block_on(st->rt, &s.base) != 0 || bench_check(s.ok == 6, "an acquire failed"))
			return -1;
	}
	return 0;
}

/* The concurrent cases: spawn six acquire_release tasks, join them all. */
struct spawn_six {
	weft_future base;
	weft_runtime *rt;
	weft_semaphore *sem;
	weft_join_handle h[6];
	struct join_all join;
	bool spawned;
	int err;
};

static weft_poll spawn_six_poll(weft_future *f, weft_cx *cx)
{
	struct spawn_six *s = (struct spawn_six *)f;
	int i;

	if (!s->spawned) {
		s->spawned = true;
		for (i = 0; i < 6; i++) {
			struct acquire_release t;

			memset(&t, 0, sizeof(t));
			t.base.poll = acquire_release_poll;
			t.base.drop = acquire_release_drop;
			t.sem = s->sem;
			if (weft_spawn(s->rt, &t.base, sizeof(t), &s->h[i]) != 0)
				s->err = -1;
		}
		s->join.h = s->h;
		s->join.n = 6;
	}
	return join_all_poll(&s->join, cx);
}

static int sem_concurrent_run(void *state, long iterations)
{
	struct sem_state *st = state;
	long k;

	for (k = 0; k < iterations; k++) {
		struct spawn_six s;

		memset(&s, 0, sizeof(s));
		s.base.poll = spawn_six_poll;
		s.rt = st->rt;
		s.sem = &st->sem;
		if (weft_block_on(st->rt, &s.base) != 0 || s.err != 0 ||
		    bench_check(s.join.ok == 6, "a task failed") ||
		    bench_check(weft_semaphore_available(&st->sem) == st->permits, "permits leaked"))
			return -1;
	}
	return 0;
}

static int sem_uncontended_concurrent_setup(const struct bench_case *bc, int workers, void **state)
{
	(void)bc;
	return sem_setup(workers, 10, state);
}

static int sem_contention_concurrent_setup(const struct bench_case *bc, int workers, void **state)
{
	(void)bc;
	return sem_setup(workers, 5, state);
}

/* ======================================================================== */
/* sync_notify                                                               */
/* ======================================================================== */

#define NOTIFY_N_ITERS 500

/* The counter has a cache line of its own, as in the peers: Tokio's bench
 * keeps it and the Notify in two separate Arc allocations, Go's in two
 * variables.  On the notify's line, the notifier's spinning loads of it
 * would pull the state line away from the waiters. */
struct notify_state {
	weft_runtime *rt;
	weft_notify notify;
	_Alignas(64) _Atomic long counter;
};

/* loop { notify.notified().await; counter += 1 } */
struct notify_waiter {
	weft_future base;
	struct notify_state *st;
	weft_notify_future nf;
	bool live;
};

static weft_poll notify_waiter_poll(weft_future *f, weft_cx *cx)
{
	struct notify_waiter *w = (struct notify_waiter *)f;

	for (;;) {
		if (!w->live) {
			weft_notify_notified(&w->st->notify, &w->nf);
			w->live = true;
		}
		if (weft_future_poll(&w->nf.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		weft_future_drop(&w->nf.base);
		w->live = false;
		/* Relaxed: a statistic, as in Tokio's bench. */
		atomic_fetch_add_explicit(&w->st->counter, 1, memory_order_relaxed);
	}
}

static void notify_waiter_drop(weft_future *f)
{
	struct notify_waiter *w = (struct notify_waiter *)f;

	if (w->live)
		weft_future_drop(&w->nf.base);
}

static int notify_setup(const struct bench_case *bc, int workers, void **state)
{
	/* sizeof is a multiple of the 64-byte alignment, as aligned_alloc
	 * requires. */
	struct notify_state *st = aligned_alloc(_Alignof(struct notify_state), sizeof(*st));
	long waiters = *(const long *)bc->param, i;

	if (st == NULL)
		return -ENOMEM;
	memset(st, 0, sizeof(*st));
	if (weft_notify_init(&st->notify) != 0 || (st->rt = bench_runtime(workers, false)) == NULL) {
		free(st);
		return -ENOMEM;
	}
	for (i = 0; i < waiters; i++) {
		struct notify_waiter w;

		memset(&w, 0, sizeof(w));
		w.base.poll = notify_waiter_poll;
		w.base.drop = notify_waiter_drop;
		w.st = st;
		if (weft_spawn(st->rt, &w.base, sizeof(w), NULL) != 0)
			return -ENOMEM;
	}
	*state = st;
	return 0;
}

static int notify_run(void *state, long iterations)
{
	struct notify_state *st = state;
	long k;

	for (k = 0; k < iterations; k++) {
		atomic_store_explicit(&st->counter, 0, memory_order_relaxed);
		do
			weft_notify_one(&st->notify);
		while (atomic_load_explicit(&st->counter, memory_order_relaxed) < NOTIFY_N_ITERS);
	}
	return 0;
}

static void notify_teardown(void *state)
{
	struct notify_state *st = state;

	weft_runtime_destroy(st->rt); /* drops the waiting tasks first */
	weft_notify_finish(&st->notify);
	free(st);
}

static const long notify_10 = 10, notify_100 = 100;

/* ======================================================================== */
/* sync_rwlock                                                               */
/* ======================================================================== */

struct rw_state {
	weft_runtime *rt;
	weft_rwlock rw;
};

static int rw_make(int workers, bool current_thread, void **state)
{
	struct rw_state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return -ENOMEM;
	if (weft_rwlock_init(&st->rw) != 0 ||
	    (st->rt = bench_runtime(workers, current_thread)) == NULL) {
		free(st);
		return -ENOMEM;
	}
	*state = st;
	return 0;
}

static int rw_setup(const struct bench_case *bc, int workers, void **state)
{
	(void)bc;
	return rw_make(workers, false, state);
}

/* Tokio runs read_concurrent_contended on a current-thread runtime. */
static int rw_setup_current(const struct bench_case *bc, int workers, void **state)
{
	(void)bc;
	(void)workers;
	return rw_make(0, true, state);
}

static void rw_teardown(void *state)
{
	struct rw_state *st = state;

	weft_runtime_destroy(st->rt);
	weft_rwlock_finish(&st->rw);
	free(st);
}

/* Tokio's read task: take a read lock, drop it. */
struct read_task {
	weft_future base;
	weft_rwlock *rw;
	weft_rwlock_read_future rf;
	bool live, done;
};

static weft_poll read_task_poll(weft_future *f, weft_cx *cx)
{
	struct read_task *t = (struct read_task *)f;

	if (t->done)
		return WEFT_READY;
	if (!t->live) {
		weft_rwlock_read(t->rw, &t->rf);
		t->live = true;
	}
	if (weft_future_poll(&t->rf.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	t->live = false;
	t->done = true;
	weft_future_drop(&t->rf.base);
	bench_black_box((uint64_t)(uintptr_t)t);
	weft_rwlock_unlock_read(t->rw);
	return WEFT_READY;
}

static void read_task_drop(weft_future *f)
{
	struct read_task *t = (struct read_task *)f;

	if (t->live)
		weft_future_drop(&t->rf.base);
}

static struct read_task read_task_make(weft_rwlock *rw)
{
	struct read_task t;

	memset(&t, 0, sizeof(t));
	t.base.poll = read_task_poll;
	t.base.drop = read_task_drop;
	t.rw = rw;
	return t;
}

/* read_uncontended: six reads in a row inside block_on, each awaited in
 * the block_on future itself, as Tokio's `lock.read().await` in its async
 * block (no task or future per read around the lock's own). */
struct read_seq {
	weft_future base;
	weft_rwlock_read_future rf;
	weft_rwlock *rw;
	int i;
	bool live;
};

static weft_poll read_seq_poll(weft_future *f, weft_cx *cx)
{
	struct read_seq *s = (struct read_seq *)f;

	for (; s->i < 6; s->i++) {
		if (!s->live) {
			weft_rwlock_read(s->rw, &s->rf);
			s->live = true;
		}
		if (weft_future_poll(&s->rf.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		s->live = false;
		weft_future_drop(&s->rf.base);
		bench_black_box((uint64_t)(uintptr_t)&s->rf);
		weft_rwlock_unlock_read(s->rw);
	}
	return WEFT_READY;
}

static int rw_read_uncontended_run(void *state, long iterations)
{
	struct rw_state *st = state;
	long k;

	for (k = 0; k < iterations; k++) {
		struct read_seq s;

		memset(&s, 0, sizeof(s));
		s.base.poll = read_seq_poll;
		s.rw = &st->rw;
		if (weft_block_on(st->rt, &s.base) != 0 || bench_check(s.i == 6, "a read failed"))
			return -1;
	}
	return 0;
}

/* The spawning cases: optionally write-lock first, spawn the readers,
 * drop the write lock, join the readers. */
struct spawn_readers {
	weft_future base;
	weft_runtime *rt;
	weft_rwlock *rw;
	weft_rwlock_write_future wf;
	weft_join_handle h[6];
	struct join_all join;
	int readers, step, err;
	bool write_first;
};

static weft_poll spawn_readers_poll(weft_future *f, weft_cx *cx)
{
	struct spawn_readers *s = (struct spawn_readers *)f;
	int i;

	if (s->step == 0) {
		s->step = 1;
		if (s->write_first)
			weft_rwlock_write(s->rw, &s->wf);
	}
	if (s->step == 1) {
		if (s->write_first) {
			if (weft_future_poll(&s->wf.base, cx) == WEFT_PENDING)
				return WEFT_PENDING;
			weft_future_drop(&s->wf.base);
		}
		s->step = 2;
		for (i = 0; i < s->readers; i++) {
			struct read_task t = read_task_make(s->rw);

			if (weft_spawn(s->rt, &t.base, sizeof(t), &s->h[i]) != 0)
				s->err = -1;
		}
		if (s->write_first)
			weft_rwlock_unlock_write(s->rw);
		s->join.h = s->h;
		s->join.n = s->readers;
	}
	return join_all_poll(&s->join, cx);
}

static int rw_spawn_run(struct rw_state *st, long iterations, int readers, bool write_first)
{
	long k;

	for (k = 0; k < iterations; k++) {
		struct spawn_readers s;

		memset(&s, 0, sizeof(s));
		s.base.poll = spawn_readers_poll;
		s.rt = st->rt;
		s.rw = &st->rw;
		s.readers = readers;
		s.write_first = write_first;
		if (weft_block_on(st->rt, &s.base) != 0 || s.err != 0 ||
		    bench_check(s.join.ok == readers, "a reader failed"))
			return -1;
	}
	return 0;
}

static int rw_concurrent_uncontended_multi_run(void *state, long iterations)
{
	return rw_spawn_run(state, iterations, 6, false);
}

static int rw_concurrent_contended_multi_run(void *state, long iterations)
{
	return rw_spawn_run(state, iterations, 5, true);
}

/* read_concurrent_contended (current thread): write-lock, then a join of
 * "drop the write lock" and five read futures polled in place. */
struct join_readers {
	weft_future base;
	weft_rwlock *rw;
	weft_rwlock_write_future wf;
	struct read_task t[5];
	int step;
};

static weft_poll join_readers_poll(weft_future *f, weft_cx *cx)
{
	struct join_readers *s = (struct join_readers *)f;
	int i, pending = 0;

	if (s->step == 0) {
		weft_rwlock_write(s->rw, &s->wf);
		s->step = 1;
	}
	if (s->step == 1) {
		if (weft_future_poll(&s->wf.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		weft_future_drop(&s->wf.base);
		for (i = 0; i < 5; i++)
			s->t[i] = read_task_make(s->rw);
		s->step = 2;
		/* The join's first branch: drop the write lock. */
		weft_rwlock_unlock_write(s->rw);
	}
	for (i = 0; i < 5; i++)
		if (weft_future_poll(&s->t[i].base, cx) == WEFT_PENDING)
			pending++;
	return pending ? WEFT_PENDING : WEFT_READY;
}

static int rw_concurrent_contended_run(void *state, long iterations)
{
	struct rw_state *st = state;
	long k;

	for (k = 0; k < iterations; k++) {
		struct join_readers s;

		memset(&s, 0, sizeof(s));
		s.base.poll = join_readers_poll;
		s.rw = &st->rw;
		if (weft_block_on(st->rt, &s.base) != 0)
			return -1;
		if (bench_check(weft_rwlock_try_write(&st->rw) == 0, "the lock was left held"))
			return -1;
		weft_rwlock_unlock_write(&st->rw);
	}
	return 0;
}

/* ======================================================================== */
/* sync_mutex/contended_4x2500                                               */
/* ======================================================================== */

#define CONTENDED_TASKS 4
#define CONTENDED_ROUNDS 2500

struct mutex_state {
	weft_runtime *rt;
	weft_mutex m;
	long counter; /* under the mutex */
};

struct locker {
	weft_future base;
	struct mutex_state *st;
	weft_mutex_lock_future lf;
	int i;
	bool live;
};

static weft_poll locker_poll(weft_future *f, weft_cx *cx)
{
	struct locker *l = (struct locker *)f;

	for (; l->i < CONTENDED_ROUNDS; l->i++) {
		if (!l->live) {
			weft_mutex_lock(&l->st->m, &l->lf);
			l->live = true;
		}
		if (weft_future_poll(&l->lf.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		weft_future_drop(&l->lf.base);
		l->live = false;
		l->st->counter++;
		weft_mutex_unlock(&l->st->m);
	}
	return WEFT_READY;
}

static void locker_drop(weft_future *f)
{
	struct locker *l = (struct locker *)f;

	if (l->live)
		weft_future_drop(&l->lf.base);
}

struct spawn_lockers {
	weft_future base;
	struct mutex_state *st;
	weft_join_handle h[CONTENDED_TASKS];
	struct join_all join;
	bool spawned;
	int err;
};

static weft_poll spawn_lockers_poll(weft_future *f, weft_cx *cx)
{
	struct spawn_lockers *s = (struct spawn_lockers *)f;
	int i;

	if (!s->spawned) {
		s->spawned = true;
		for (i = 0; i < CONTENDED_TASKS; i++) {
			struct locker l;

			memset(&l, 0, sizeof(l));
			l.base.poll = locker_poll;
			l.base.drop = locker_drop;
			l.st = s->st;
			if (weft_spawn(s->st->rt, &l.base, sizeof(l), &s->h[i]) != 0)
				s->err = -1;
		}
		s->join.h = s->h;
		s->join.n = CONTENDED_TASKS;
	}
	return join_all_poll(&s->join, cx);
}

static int mutex_contended_setup(const struct bench_case *bc, int workers, void **state)
{
	struct mutex_state *st = calloc(1, sizeof(*st));

	(void)bc;
	if (st == NULL)
		return -ENOMEM;
	if (weft_mutex_init(&st->m) != 0 || (st->rt = bench_runtime(workers, false)) == NULL) {
		free(st);
		return -ENOMEM;
	}
	*state = st;
	return 0;
}

static int mutex_contended_run(void *state, long iterations)
{
	struct mutex_state *st = state;
	long k;

	for (k = 0; k < iterations; k++) {
		struct spawn_lockers s;
		long before = st->counter;

		memset(&s, 0, sizeof(s));
		s.base.poll = spawn_lockers_poll;
		s.st = st;
		if (weft_block_on(st->rt, &s.base) != 0 || s.err != 0 ||
		    bench_check(s.join.ok == CONTENDED_TASKS, "a locker failed") ||
		    bench_check(st->counter - before == CONTENDED_TASKS * CONTENDED_ROUNDS,
				"lost increments"))
			return -1;
	}
	return 0;
}

static void mutex_contended_teardown(void *state)
{
	struct mutex_state *st = state;

	weft_runtime_destroy(st->rt);
	weft_mutex_finish(&st->m);
	free(st);
}

/* ======================================================================== */
/* st/... : one operation on one thread, polled by hand                      */
/* ======================================================================== */

/* Everything the single-thread cases touch; one instance per case run. */
struct st_state {
	weft_waker waker;
	weft_cx cx;
	weft_mutex m;
	weft_rwlock rw;
	weft_semaphore sem;
	weft_notify notify;
	weft_barrier b1, b2;
	weft_once_cell cell;
	weft_cancel_token token;
	int value;
};

static int st_setup(const struct bench_case *bc, int workers, void **state)
{
	struct st_state *st = calloc(1, sizeof(*st));

	(void)bc;
	(void)workers;
	if (st == NULL)
		return -ENOMEM;
	st->waker = weft_waker_noop();
	weft_cx_init(&st->cx, &st->waker);
	if (weft_mutex_init(&st->m) || weft_rwlock_init(&st->rw) ||
	    weft_semaphore_init(&st->sem, 10) || weft_notify_init(&st->notify) ||
	    weft_barrier_init(&st->b1, 1) || weft_barrier_init(&st->b2, 2) ||
	    weft_once_cell_init(&st->cell) || weft_once_cell_set(&st->cell, &st->value) ||
	    weft_cancel_token_init(&st->token)) {
		free(st);
		return -ENOMEM;
	}
	*state = st;
	return 0;
}

static void st_teardown(void *state)
{
	struct st_state *st = state;

	weft_mutex_finish(&st->m);
	weft_rwlock_finish(&st->rw);
	weft_semaphore_finish(&st->sem);
	weft_notify_finish(&st->notify);
	weft_barrier_finish(&st->b1);
	weft_barrier_finish(&st->b2);
	weft_once_cell_finish(&st->cell);
	weft_cancel_token_finish(&st->token);
	free(st);
}

/* Lock through the future (init, poll to ready, drop), then unlock. */
static int st_mutex_lock_unlock(void *state, long n)
{
	struct st_state *st = state;
	long k;

	for (k = 0; k < n; k++) {
		weft_mutex_lock_future f;

		weft_mutex_lock(&st->m, &f);
		if (weft_future_poll(&f.base, &st->cx) != WEFT_READY)
			return bench_check(0, "uncontended lock was pending");
		weft_future_drop(&f.base);
		weft_mutex_unlock(&st->m);
	}
	return 0;
}

static int st_mutex_try_lock_unlock(void *state, long n)
{
	struct st_state *st = state;
	long k;

	for (k = 0; k < n; k++) {
		if (weft_mutex_try_lock(&st->m) != 0)
			return bench_check(0, "try_lock failed");
		weft_mutex_unlock(&st->m);
	}
	return 0;
}

static int st_rwlock_read(void *state, long n)
{
	struct st_state *st = state;
	long k;

	for (k = 0; k < n; k++) {
		weft_rwlock_read_future f;

		weft_rwlock_read(&st->rw, &f);
		if (weft_future_poll(&f.base, &st->cx) != WEFT_READY)
			return bench_check(0, "uncontended read was pending");
		weft_future_drop(&f.base);
		weft_rwlock_unlock_read(&st->rw);
	}
	return 0;
}

static int st_rwlock_write(void *state, long n)
{
	struct st_state *st = state;
	long k;

	for (k = 0; k < n; k++) {
		weft_rwlock_write_future f;

		weft_rwlock_write(&st->rw, &f);
		if (weft_future_poll(&f.base, &st->cx) != WEFT_READY)
			return bench_check(0, "uncontended write was pending");
		weft_future_drop(&f.base);
		weft_rwlock_unlock_write(&st->rw);
	}
	return 0;
}

static int st_semaphore(void *state, long n)
{
	struct st_state *st = state;
	long k;

	for (k = 0; k < n; k++) {
		weft_semaphore_acquire_future f;

		weft_semaphore_acquire(&st->sem, 1, &f);
		if (weft_future_poll(&f.base, &st->cx) != WEFT_READY)
			return bench_check(0, "uncontended acquire was pending");
		weft_future_drop(&f.base);
		weft_semaphore_release(&st->sem, 1);
	}
	return 0;
}

/* notify_one stores the permit; a notified future consumes it. */
static int st_notify(void *state, long n)
{
	struct st_state *st = state;
	long k;

	for (k = 0; k < n; k++) {
		weft_notify_future f;

		weft_notify_one(&st->notify);
		weft_notify_notified(&st->notify, &f);
		if (weft_future_poll(&f.base, &st->cx) != WEFT_READY)
			return bench_check(0, "the permit was not stored");
		weft_future_drop(&f.base);
	}
	return 0;
}

/* notify_one hands the notification to a queued waiter (the lock path). */
static int st_notify_waiter(void *state, long n)
{
	struct st_state *st = state;
	long k;

	for (k = 0; k < n; k++) {
		weft_notify_future f;

		weft_notify_notified(&st->notify, &f);
		if (weft_future_poll(&f.base, &st->cx) != WEFT_PENDING)
			return bench_check(0, "a stale permit was found");
		weft_notify_one(&st->notify);
		if (weft_future_poll(&f.base, &st->cx) != WEFT_READY)
			return bench_check(0, "the waiter was not notified");
		weft_future_drop(&f.base);
	}
	return 0;
}

/* A one-party barrier: every wait is the leader at once. */
static int st_barrier(void *state, long n)
{
	struct st_state *st = state;
	long k;

	for (k = 0; k < n; k++) {
		weft_barrier_wait_future f;

		weft_barrier_wait(&st->b1, &f);
		if (weft_future_poll(&f.base, &st->cx) != WEFT_READY || !f.is_leader)
			return bench_check(0, "a one-party barrier waited");
		weft_future_drop(&f.base);
	}
	return 0;
}

/* A two-party barrier: one waits (queued), the other releases it.  One
 * operation is one whole generation. */
static int st_barrier_2(void *state, long n)
{
	struct st_state *st = state;
	long k;

	for (k = 0; k < n; k++) {
		weft_barrier_wait_future a, b;

		weft_barrier_wait(&st->b2, &a);
		weft_barrier_wait(&st->b2, &b);
		if (weft_future_poll(&a.base, &st->cx) != WEFT_PENDING ||
		    weft_future_poll(&b.base, &st->cx) != WEFT_READY ||
		    weft_future_poll(&a.base, &st->cx) != WEFT_READY)
			return bench_check(0, "the barrier misbehaved");
		weft_future_drop(&a.base);
		weft_future_drop(&b.base);
	}
	return 0;
}

static int st_once_cell_get(void *state, long n)
{
	struct st_state *st = state;
	long k;
	void *v;

	for (k = 0; k < n; k++) {
		if (weft_once_cell_get(&st->cell, &v) != 0)
			return bench_check(0, "the cell was empty");
		bench_black_box((uint64_t)(uintptr_t)v);
	}
	return 0;
}

/* get_or_init on a set cell: the future's fast path. */
static int st_once_cell_get_or_init(void *state, long n)
{
	struct st_state *st = state;
	weft_ready init;
	long k;

	weft_ready_init(&init, NULL);
	for (k = 0; k < n; k++) {
		weft_once_cell_future f;

		weft_once_cell_get_or_init(&st->cell, &f, &init.base, &init.value, NULL);
		if (weft_future_poll(&f.base, &st->cx) != WEFT_READY || f.value != &st->value)
			return bench_check(0, "get_or_init misread the cell");
		weft_future_drop(&f.base);
	}
	return 0;
}

/* A fresh cell set once: init, set, finish. */
static int st_once_cell_set(void *state, long n)
{
	struct st_state *st = state;
	long k;

	for (k = 0; k < n; k++) {
		weft_once_cell c;

		if (weft_once_cell_init(&c) != 0 || weft_once_cell_set(&c, &st->value) != 0)
			return bench_check(0, "set failed");
		weft_once_cell_finish(&c);
	}
	return 0;
}

/* A fresh cell initialised through get_or_init with a ready initialiser. */
static int st_once_cell_init(void *state, long n)
{
	struct st_state *st = state;
	weft_ready init;
	long k;

	weft_ready_init(&init, &st->value);
	for (k = 0; k < n; k++) {
		weft_once_cell c;
		weft_once_cell_future f;

		if (weft_once_cell_init(&c) != 0)
			return bench_check(0, "init failed");
		weft_once_cell_get_or_init(&c, &f, &init.base, &init.value, NULL);
		if (weft_future_poll(&f.base, &st->cx) != WEFT_READY || f.value != &st->value)
			return bench_check(0, "get_or_init failed");
		weft_future_drop(&f.base);
		weft_once_cell_finish(&c);
	}
	return 0;
}

/* A child token made, cancelled (waking one queued future) and finished. */
static int st_cancel_child(void *state, long n)
{
	struct st_state *st = state;
	long k;

	for (k = 0; k < n; k++) {
		weft_cancel_token child;
		weft_cancel_future f;

		weft_cancel_token_init_child(&child, &st->token);
		weft_cancel_token_cancelled(&child, &f);
		if (weft_future_poll(&f.base, &st->cx) != WEFT_PENDING)
			return bench_check(0, "a fresh token was cancelled");
		weft_cancel_token_cancel(&child);
		if (weft_future_poll(&f.base, &st->cx) != WEFT_READY)
			return bench_check(0, "cancel did not wake");
		weft_future_drop(&f.base);
		weft_cancel_token_finish(&child);
	}
	return 0;
}

static int st_cancel_is_cancelled(void *state, long n)
{
	struct st_state *st = state;
	long k, hits = 0;

	for (k = 0; k < n; k++)
		hits += weft_cancel_token_is_cancelled(&st->token);
	bench_black_box((uint64_t)hits);
	return bench_check(hits == 0, "the root token was cancelled");
}

/* ======================================================================== */
/* The table                                                                 */
/* ======================================================================== */

#define ST_ITERS 200
#define ST_WARMUP 10
#define ST_BATCH 20000

#define ST_CASE(name, fn) \
	{ name, 1, ST_ITERS, ST_WARMUP, ST_BATCH, st_setup, fn, st_teardown, NULL }

const struct bench_case weft_sync_cases[] = {
	/* Tokio's benches: names and defaults as in BENCH_TOKIO_CASES
	 * (bench/harness.h); keep them in step with that table. */
	{ "sync_semaphore/uncontended_multi", 6, 500, 20, 1000, sem_uncontended_multi_setup,
	  sem_uncontended_multi_run, sem_teardown, NULL },
	{ "sync_semaphore/uncontended_concurrent_multi", 6, 2000, 100, 10,
	  sem_uncontended_concurrent_setup, sem_concurrent_run, sem_teardown, NULL },
	{ "sync_semaphore/contention_concurrent_multi", 6, 2000, 100, 10,
	  sem_contention_concurrent_setup, sem_concurrent_run, sem_teardown, NULL },
	{ "sync_notify/notify_one_10", 6, 200, 10, 1, notify_setup, notify_run, notify_teardown,
	  &notify_10 },
	{ "sync_notify/notify_one_100", 6, 500, 10, 1, notify_setup, notify_run, notify_teardown,
	  &notify_100 },
	{ "sync_rwlock/read_uncontended", 6, 500, 20, 1000, rw_setup, rw_read_uncontended_run,
	  rw_teardown, NULL },
	{ "sync_rwlock/read_concurrent_uncontended_multi", 6, 2000, 100, 10, rw_setup,
	  rw_concurrent_uncontended_multi_run, rw_teardown, NULL },
	{ "sync_rwlock/read_concurrent_contended_multi", 6, 2000, 100, 10, rw_setup,
	  rw_concurrent_contended_multi_run, rw_teardown, NULL },
	{ "sync_rwlock/read_concurrent_contended", 1, 2000, 100, 100, rw_setup_current,
	  rw_concurrent_contended_run, rw_teardown, NULL },

	/* Contended mutex: one iteration = 4 tasks x 2,500 lock/unlock. */
	{ "sync_mutex/contended_4x2500", 4, 200, 10, 1, mutex_contended_setup,
	  mutex_contended_run, mutex_contended_teardown, NULL },

	/* One operation on one thread, no runtime. */
	ST_CASE("st/mutex_lock_unlock", st_mutex_lock_unlock),
	ST_CASE("st/mutex_try_lock_unlock", st_mutex_try_lock_unlock),
	ST_CASE("st/rwlock_read", st_rwlock_read),
	ST_CASE("st/rwlock_write", st_rwlock_write),
	ST_CASE("st/semaphore_acquire_release", st_semaphore),
	ST_CASE("st/notify_one_permit", st_notify),
	ST_CASE("st/notify_one_waiter", st_notify_waiter),
	ST_CASE("st/barrier_wait_1", st_barrier),
	ST_CASE("st/barrier_wait_2", st_barrier_2),
	ST_CASE("st/once_cell_get", st_once_cell_get),
	ST_CASE("st/once_cell_get_or_init_set", st_once_cell_get_or_init),
	ST_CASE("st/once_cell_init_set", st_once_cell_set),
	ST_CASE("st/once_cell_init_get_or_init", st_once_cell_init),
	ST_CASE("st/cancel_token_is_cancelled", st_cancel_is_cancelled),
	ST_CASE("st/cancel_token_child_cancel", st_cancel_child),
};

const size_t weft_sync_cases_len = BENCH_COUNT(weft_sync_cases);

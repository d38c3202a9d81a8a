/* Cancelling acquires at every point (never polled, queued, partly served, handed off, done) loses no permit. */
#include "sync_test.h"

/* ---- by hand: each point once ------------------------------------------ */

static void test_points_semaphore(void)
{
	struct hand ha, hb;
	weft_semaphore s;
	weft_semaphore_acquire_future a, b;

	hand_init(&ha);
	hand_init(&hb);
	CHECK_EQ(weft_semaphore_init(&s, 10), 0);

	/* Before the first poll. */
	CHECK_EQ(weft_semaphore_acquire(&s, 4, &a), 0);
	weft_future_drop(&a.base);
	CHECK_EQ(weft_semaphore_available(&s), 10);

	/* Queued with part of its permits: they go to the next waiter. */
	CHECK_EQ(weft_semaphore_try_acquire(&s, 8), 0);
	CHECK_EQ(weft_semaphore_acquire(&s, 5, &a), 0);
	CHECK_EQ(hand_poll(&ha, &a.base), WEFT_PENDING); /* took 2, owes 3 */
	CHECK_EQ(weft_semaphore_acquire(&s, 1, &b), 0);
	CHECK_EQ(hand_poll(&hb, &b.base), WEFT_PENDING);
	CHECK_EQ(weft_semaphore_available(&s), 0);
	weft_future_drop(&a.base);
	CHECK_EQ(hand_wakes(&hb), 1); /* b got one of a's two */
	CHECK_EQ(weft_semaphore_available(&s), 1);
	CHECK_EQ(hand_poll(&hb, &b.base), WEFT_READY);
	CHECK_EQ(b.result, 0);
	weft_future_drop(&b.base);
	CHECK_EQ(weft_semaphore_release(&s, 1 + 8), 0);
	CHECK_EQ(weft_semaphore_available(&s), 10);

	/* Queued alone with nothing collected: the queue empties cleanly. */
	CHECK_EQ(weft_semaphore_try_acquire(&s, 10), 0);
	CHECK_EQ(weft_semaphore_acquire(&s, 1, &a), 0);
	CHECK_EQ(hand_poll(&ha, &a.base), WEFT_PENDING);
	weft_future_drop(&a.base);
	CHECK_EQ(weft_semaphore_release(&s, 10), 0); /* fast path again */
	CHECK_EQ(weft_semaphore_available(&s), 10);
	CHECK_EQ(weft_semaphore_try_acquire(&s, 10), 0);

	/* Handed every permit, woken, dropped before seeing it: passed on. */
	CHECK_EQ(weft_semaphore_acquire(&s, 3, &a), 0);
	CHECK_EQ(weft_semaphore_acquire(&s, 2, &b), 0);
	CHECK_EQ(hand_poll(&ha, &a.base), WEFT_PENDING);
	CHECK_EQ(hand_poll(&hb, &b.base), WEFT_PENDING);
	CHECK_EQ(weft_semaphore_release(&s, 3), 0);
	CHECK_EQ(hand_wakes(&ha), 1);
	CHECK_EQ(hand_wakes(&hb), 1);
	weft_future_drop(&a.base); /* its 3 go to b (2) and the count (1) */
	CHECK_EQ(hand_wakes(&hb), 2);
	CHECK_EQ(weft_semaphore_available(&s), 1);
	CHECK_EQ(hand_poll(&hb, &b.base), WEFT_READY);

	/* Done: the caller owns the permits; drop gives nothing back. */
	weft_future_drop(&b.base);
	CHECK_EQ(weft_semaphore_available(&s), 1);
	CHECK_EQ(weft_semaphore_release(&s, 2 + 7), 0);
	CHECK_EQ(weft_semaphore_available(&s), 10);
	CHECK_EQ(hand_refs(&ha) + hand_refs(&hb), 0);
	weft_semaphore_finish(&s);
}

static void test_points_mutex(void)
{
	struct hand ha, hb;
	weft_mutex m;
	weft_mutex_lock_future a, b;

	hand_init(&ha);
	hand_init(&hb);
	CHECK_EQ(weft_mutex_init(&m), 0);
	CHECK_EQ(weft_mutex_try_lock(&m), 0);
	CHECK_EQ(weft_mutex_lock(&m, &a), 0);
	CHECK_EQ(weft_mutex_lock(&m, &b), 0);
	CHECK_EQ(hand_poll(&ha, &a.base), WEFT_PENDING);
	CHECK_EQ(hand_poll(&hb, &b.base), WEFT_PENDING);
	CHECK_EQ(weft_mutex_unlock(&m), 0); /* hand-off to a */
	CHECK(weft_mutex_is_locked(&m));
	CHECK_EQ(weft_mutex_try_lock(&m), -EAGAIN);
	weft_future_drop(&a.base); /* a never saw it: b gets it */
	CHECK_EQ(hand_wakes(&hb), 1);
	CHECK_EQ(hand_poll(&hb, &b.base), WEFT_READY);
	weft_future_drop(&b.base);
	CHECK(weft_mutex_is_locked(&m));
	CHECK_EQ(weft_mutex_unlock(&m), 0);
	CHECK(!weft_mutex_is_locked(&m));
	CHECK_EQ(weft_mutex_unlock(&m), -EPERM);

	/* Hand-off with nobody behind: back to unlocked. */
	CHECK_EQ(weft_mutex_try_lock(&m), 0);
	CHECK_EQ(weft_mutex_lock(&m, &a), 0);
	CHECK_EQ(hand_poll(&ha, &a.base), WEFT_PENDING);
	CHECK_EQ(weft_mutex_unlock(&m), 0);
	weft_future_drop(&a.base);
	CHECK(!weft_mutex_is_locked(&m));
	CHECK_EQ(hand_refs(&ha) + hand_refs(&hb), 0);
	weft_mutex_finish(&m);
}

static void test_points_rwlock(void)
{
	struct hand hw, hr;
	weft_rwlock rw;
	weft_rwlock_write_future w;
	weft_rwlock_read_future r;

	hand_init(&hw);
	hand_init(&hr);
	CHECK_EQ(weft_rwlock_init_max_readers(&rw, 4), 0);
	CHECK_EQ(weft_rwlock_try_read(&rw), 0);
	CHECK_EQ(weft_rwlock_try_read(&rw), 0);
	CHECK_EQ(weft_rwlock_write(&rw, &w), 0);
	CHECK_EQ(hand_poll(&hw, &w.base), WEFT_PENDING); /* collected 2 of 4 */
	CHECK_EQ(weft_rwlock_read(&rw, &r), 0);
	CHECK_EQ(hand_poll(&hr, &r.base), WEFT_PENDING); /* behind the writer */
	CHECK_EQ(weft_rwlock_unlock_read(&rw), 0);
	weft_future_drop(&w.base); /* its 3 permits go to the reader and back */
	CHECK_EQ(hand_wakes(&hr), 1);
	CHECK_EQ(hand_poll(&hr, &r.base), WEFT_READY);
	weft_future_drop(&r.base);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), 0);
	CHECK_EQ(weft_rwlock_try_write(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_write(&rw), 0);
	CHECK_EQ(hand_refs(&hw) + hand_refs(&hr), 0);
	weft_rwlock_finish(&rw);
}

/* ---- on a runtime: random cancellation, many times ---------------------- */

enum kind { KIND_SEM, KIND_MUTEX, KIND_RWLOCK };
#define PERMITS 4

struct shared {
	enum kind kind;
	weft_semaphore sem;
	weft_mutex mutex;
	weft_rwlock rw;
	_Atomic long in_use;
	_Atomic long acquired, cancelled;
};

union any_acquire {
	weft_future base;
	weft_semaphore_acquire_future sem;
	weft_mutex_lock_future mutex;
	weft_rwlock_read_future read;
	weft_rwlock_write_future write;
};

static int any_result(const union any_acquire *a, enum kind k, size_t n)
{
	if (k == KIND_SEM)
		return a->sem.result;
	if (k == KIND_MUTEX)
		return a->mutex.result;
	return n == 1 ? a->read.result : a->write.result;
}

static void any_start(struct shared *sh, union any_acquire *a, size_t n)
{
	if (sh->kind == KIND_SEM)
		CHECK_EQ(weft_semaphore_acquire(&sh->sem, n, &a->sem), 0);
	else if (sh->kind == KIND_MUTEX)
		CHECK_EQ(weft_mutex_lock(&sh->mutex, &a->mutex), 0);
	else if (n == 1)
		CHECK_EQ(weft_rwlock_read(&sh->rw, &a->read), 0);
	else
		CHECK_EQ(weft_rwlock_write(&sh->rw, &a->write), 0);
}

static void any_release(struct shared *sh, size_t n)
{
	if (sh->kind == KIND_SEM)
		CHECK_EQ(weft_semaphore_release(&sh->sem, n), 0);
	else if (sh->kind == KIND_MUTEX)
		CHECK_EQ(weft_mutex_unlock(&sh->mutex), 0);
	else if (n == 1)
		CHECK_EQ(weft_rwlock_unlock_read(&sh->rw), 0);
	else
		CHECK_EQ(weft_rwlock_unlock_write(&sh->rw), 0);
}

enum step { STEP_START, STEP_WAITING, STEP_HOLDING, STEP_DONE };
enum mode { MODE_WAIT, MODE_DROP_QUEUED, MODE_DROP_WOKEN, MODE_DROP_UNPOLLED, MODES };

struct churn {
	weft_future base;
	struct shared *sh;
	union any_acquire acq;
	uint64_t rng;
	long i, iters;
	size_t n;
	enum step step;
	enum mode mode;
	bool live, was_pending;
};

static void churn_cancel_acquire(struct churn *c)
{
	weft_future_drop(&c->acq.base);
	c->live = false;
	atomic_fetch_add(&c->sh->cancelled, 1);
	c->i++;
	c->step = STEP_START;
}

static weft_poll churn_poll(weft_future *f, weft_cx *cx)
{
	struct churn *c = (struct churn *)f;
	struct shared *sh = c->sh;

	for (;;) {
		switch (c->step) {
		case STEP_START:
			if (c->i == c->iters) {
				c->step = STEP_DONE;
				return WEFT_READY;
			}
			if (sh->kind == KIND_MUTEX)
				c->n = 1;
			else if (sh->kind == KIND_RWLOCK)
				c->n = test_rand(&c->rng) % 3 == 0 ? PERMITS : 1;
			else
				c->n = 1 + test_rand(&c->rng) % PERMITS;
			c->mode = (enum mode)(test_rand(&c->rng) % MODES);
			any_start(sh, &c->acq, c->n);
			c->live = true;
			c->was_pending = false;
			if (c->mode == MODE_DROP_UNPOLLED) {
				churn_cancel_acquire(c);
				continue;
			}
			c->step = STEP_WAITING;
			/* fall through */
		case STEP_WAITING:
			if (c->was_pending && c->mode == MODE_DROP_WOKEN) {
				/* Woken (usually: handed the permits) and
				 * dropped without looking. */
				churn_cancel_acquire(c);
				continue;
			}
			if (weft_future_poll(&c->acq.base, cx) == WEFT_PENDING) {
				if (c->mode == MODE_DROP_QUEUED) {
					churn_cancel_acquire(c);
					continue;
				}
				c->was_pending = true;
				return WEFT_PENDING;
			}
			CHECK_EQ(any_result(&c->acq, sh->kind, c->n), 0);
			weft_future_drop(&c->acq.base); /* done: releases nothing */
			c->live = false;
			CHECK(atomic_fetch_add(&sh->in_use, (long)c->n) + (long)c->n <= PERMITS);
			atomic_fetch_add(&sh->acquired, 1);
			c->step = STEP_HOLDING;
			weft_waker_wake_by_ref(weft_cx_waker(cx)); /* hold across a yield */
			return WEFT_PENDING;
		case STEP_HOLDING:
			atomic_fetch_sub(&sh->in_use, (long)c->n);
			any_release(sh, c->n);
			c->i++;
			c->step = STEP_START;
			continue;
		case STEP_DONE:
			return WEFT_READY;
		}
	}
}

static void churn_drop(weft_future *f)
{
	struct churn *c = (struct churn *)f;

	if (c->live)
		weft_future_drop(&c->acq.base);
	if (c->step == STEP_HOLDING) { /* aborted while holding */
		atomic_fetch_sub(&c->sh->in_use, (long)c->n);
		any_release(c->sh, c->n);
	}
}

static void run_churn(unsigned workers, enum kind kind, long iters, int tasks, int rounds)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	struct shared sh;
	weft_join_handle h[16];
	uint64_t rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)kind ^ ((uint64_t)workers << 8);
	int r, t;

	CHECK(tasks <= 16);
	memset(&sh, 0, sizeof(sh));
	sh.kind = kind;
	CHECK_EQ(weft_semaphore_init(&sh.sem, PERMITS), 0);
	CHECK_EQ(weft_mutex_init(&sh.mutex), 0);
	CHECK_EQ(weft_rwlock_init_max_readers(&sh.rw, PERMITS), 0);
	for (r = 0; r < rounds; r++) {
		for (t = 0; t < tasks; t++) {
			struct churn c;

			memset(&c, 0, sizeof(c));
			c.base.poll = churn_poll;
			c.base.drop = churn_drop;
			c.sh = &sh;
			c.rng = test_rand(&rng) | 1;
			c.iters = iters;
			c.step = STEP_START;
			CHECK_EQ(weft_spawn(rt, &c.base, sizeof(c), &h[t]), 0);
		}
		/* Abort a few tasks wherever they are (a current-thread
		 * runtime: before they ever run). */
		for (t = 0; t < tasks; t++)
			if (test_rand(&rng) % 4 == 0)
				CHECK_EQ(weft_join_abort(&h[t]), 0);
		for (t = 0; t < tasks; t++) {
			if (workers == 0)
				CHECK_EQ(weft_block_on(rt, &h[t].base), 0);
			else
				(void)weft_join(&h[t]);
			weft_join_detach(&h[t]);
		}
		CHECK_EQ(atomic_load(&sh.in_use), 0);
	}
	CHECK(atomic_load(&sh.acquired) > 0);
	CHECK(atomic_load(&sh.cancelled) > 0);
	/* Every permit is back. */
	CHECK_EQ(weft_semaphore_available(&sh.sem), PERMITS);
	CHECK_EQ(weft_mutex_try_lock(&sh.mutex), 0);
	CHECK_EQ(weft_mutex_unlock(&sh.mutex), 0);
	CHECK_EQ(weft_rwlock_try_write(&sh.rw), 0);
	CHECK_EQ(weft_rwlock_unlock_write(&sh.rw), 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	weft_semaphore_finish(&sh.sem);
	weft_mutex_finish(&sh.mutex);
	weft_rwlock_finish(&sh.rw);
}

int main(void)
{
	long scale = test_scale();
	enum kind k;

	test_points_semaphore();
	test_points_mutex();
	test_points_rwlock();
	for (k = KIND_SEM; k <= KIND_RWLOCK; k++) {
		run_churn(4, k, 2000 * scale, 8, 4);
		run_churn(0, k, 500 * scale, 6, 2);
	}
	return 0;
}

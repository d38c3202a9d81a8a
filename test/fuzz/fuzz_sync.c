/*
 * fuzz_sync: operation sequences over the semaphore, the mutex, the rwlock
 * and notify, checked against a model.
 *
 * The bytes pick operations: try calls, starting, polling and dropping an
 * acquire future of one of several simulated tasks, releasing what a task
 * holds, closing the semaphore, downgrading a write lock, notify_one and
 * notify_waiters.  Every future is polled by hand with its task's counting
 * waker, so the run is deterministic.
 *
 * The semaphore, the mutex and the rwlock share one model, since all three
 * are the FIFO semaphore underneath (src/common/sem.c): a mutex is one
 * permit, a rwlock is max_readers permits (a reader takes one, a writer
 * all).  The model keeps the free count, the FIFO queue with what each
 * waiter has collected, and what each task holds.  It checks: every
 * answer (ready or pending, the result, -EAGAIN, -EPIPE, -EPERM), the free
 * count against weft_semaphore_available after every step (permits
 * conserved: free + collected + granted + held is always the total), the
 * lock's locked state, exclusion (never a writer with readers, never more
 * than max_readers readers, never two mutex holders), FIFO hand-off, and
 * that a waiter that was handed what it waited for had been woken.
 * Notify's model keeps the stored permit and the waiters in the order of
 * their first poll.  At the end nothing may hold a waker clone.
 */
#include "fuzz.h"

#define NSLOT 4

enum { S_IDLE, S_QUEUED, S_GRANTED, S_FAILED, S_HOLDS };

struct slot {
	int state;
	size_t n, coll; /* permits asked for and collected while queued */
	bool expect_wake;
	union {
		weft_semaphore_acquire_future sem;
		weft_mutex_lock_future mutex;
		weft_rwlock_read_future read;
		weft_rwlock_write_future write;
	} f;
	struct fz_task task;
};

/* The model of one FIFO semaphore. */
struct sem_model {
	size_t total, avail;
	bool closed;
	unsigned q[NSLOT];
	unsigned nq;
	struct slot s[NSLOT];
	size_t extra; /* permits held through try calls */
};

static void sm_unqueue(struct sem_model *m, unsigned i)
{
	unsigned j;

	for (j = 0; j < m->nq && m->q[j] != i; j++)
		;
	FZ_CHECK(j < m->nq);
	memmove(m->q + j, m->q + j + 1, (--m->nq - j) * sizeof m->q[0]);
}

/* Permits come back: to the head of the queue first, then to the count. */
static void sm_release(struct sem_model *m, size_t n)
{
	while (n > 0 && m->nq > 0) {
		struct slot *h = &m->s[m->q[0]];
		size_t g = h->n - h->coll < n ? h->n - h->coll : n;

		h->coll += g;
		n -= g;
		if (h->coll == h->n) {
			sm_unqueue(m, m->q[0]);
			h->state = S_GRANTED;
			h->expect_wake = true;
		}
	}
	m->avail += n;
}

static void sm_close(struct sem_model *m)
{
	unsigned i;

	m->closed = true;
	for (i = 0; i < m->nq; i++) {
		struct slot *s = &m->s[m->q[i]];

		m->avail += s->coll;
		s->state = S_FAILED;
		s->expect_wake = true;
	}
	m->nq = 0;
}

/* A try call for n permits: the expected answer, applied to the model. */
static int sm_try(struct sem_model *m, size_t n)
{
	if (m->closed)
		return -EPIPE;
	if (m->nq > 0 || m->avail < n)
		return -EAGAIN;
	m->avail -= n;
	return 0;
}

/* The first poll of slot i's acquire of n: returns the expected poll. */
static weft_poll sm_first_poll(struct sem_model *m, unsigned i, size_t n, int *result)
{
	struct slot *s = &m->s[i];

	s->n = n;
	s->coll = 0;
	s->expect_wake = false;
	*result = sm_try(m, n);
	if (*result == -EAGAIN) {
		s->coll = m->avail;
		m->avail = 0;
		s->state = S_QUEUED;
		m->q[m->nq++] = i;
		return WEFT_PENDING;
	}
	s->state = *result == 0 ? S_HOLDS : S_IDLE;
	return WEFT_READY;
}

/* A later poll: ready with 0 once granted, -EPIPE once failed. */
static weft_poll sm_poll(struct sem_model *m, unsigned i, int *result)
{
	struct slot *s = &m->s[i];

	if (s->state == S_QUEUED)
		return WEFT_PENDING;
	if (s->expect_wake)
		FZ_CHECK(fz_woken(&s->task));
	*result = s->state == S_GRANTED ? 0 : -EPIPE;
	s->state = s->state == S_GRANTED ? S_HOLDS : S_IDLE;
	return WEFT_READY;
}

/* Slot i's future is dropped (not after ready). */
static void sm_drop(struct sem_model *m, unsigned i)
{
	struct slot *s = &m->s[i];

	if (s->state == S_QUEUED) {
		sm_unqueue(m, i);
		s->state = S_IDLE;
		sm_release(m, s->coll);
	} else if (s->state == S_GRANTED) {
		s->state = S_IDLE;
		sm_release(m, s->n);
	} else if (s->state == S_FAILED) {
		s->state = S_IDLE;
	}
}

/* Conservation: what is free, collected, granted and held is the total. */
static void sm_conserved(const struct sem_model *m)
{
	size_t sum = m->avail + m->extra;
	unsigned i;

	for (i = 0; i < NSLOT; i++) {
		const struct slot *s = &m->s[i];

		if (s->state == S_QUEUED)
			sum += s->coll;
		else if (s->state == S_GRANTED || s->state == S_HOLDS)
			sum += s->n;
	}
	FZ_CHECK_EQ(sum, m->total);
}

/* Whether slot i has a future that was initialised and not dropped. */
static bool sm_pending(const struct slot *s)
{
	return s->state == S_QUEUED || s->state == S_GRANTED || s->state == S_FAILED;
}

/* ---- semaphore ----------------------------------------------------------- */

static void sem_step(weft_semaphore *sem, struct sem_model *m, struct fz_in *in)
{
	unsigned i = fz_pick(in, NSLOT);
	struct slot *s = &m->s[i];
	size_t n = 1 + fz_pick(in, 4);
	weft_poll p;
	int want;

	switch (fz_pick(in, 7)) {
	case 0:
		want = sm_try(m, n);
		FZ_CHECK_EQ(weft_semaphore_try_acquire(sem, n), want);
		if (want == 0)
			m->extra += n;
		break;
	case 1:
	case 2:
		if (s->state == S_HOLDS)
			break;
		if (s->state == S_IDLE) {
			FZ_CHECK_EQ(weft_semaphore_acquire(sem, n, &s->f.sem), 0);
			p = fz_poll(&s->task, &s->f.sem.base);
			FZ_CHECK_EQ(p, sm_first_poll(m, i, n, &want));
		} else {
			weft_poll exp;

			want = 0;
			exp = sm_poll(m, i, &want); /* checks the wake first */
			p = fz_poll(&s->task, &s->f.sem.base);
			FZ_CHECK_EQ(p, exp);
		}
		if (p == WEFT_READY) {
			FZ_CHECK_EQ(s->f.sem.result, want);
			weft_future_drop(&s->f.sem.base); /* gives nothing back */
		}
		break;
	case 3:
		if (sm_pending(s)) {
			weft_future_drop(&s->f.sem.base);
			sm_drop(m, i);
		}
		break;
	case 4:
		if (s->state == S_HOLDS) {
			FZ_CHECK_EQ(weft_semaphore_release(sem, s->n), 0);
			s->state = S_IDLE;
			sm_release(m, s->n);
		} else if (m->extra > 0) {
			n = 1 + fz_pick(in, (unsigned)m->extra);
			FZ_CHECK_EQ(weft_semaphore_release(sem, n), 0);
			m->extra -= n;
			sm_release(m, n);
		}
		break;
	case 5:
		/* New permits from nowhere (the total grows). */
		if (m->total < 16) {
			FZ_CHECK_EQ(weft_semaphore_release(sem, 1), 0);
			m->total++;
			sm_release(m, 1);
		}
		break;
	default:
		if (fz_pick(in, 8) == 0) {
			FZ_CHECK_EQ(weft_semaphore_close(sem), 0);
			sm_close(m);
		}
		break;
	}
	sm_conserved(m);
	FZ_CHECK_EQ(weft_semaphore_available(sem), m->avail);
	FZ_CHECK_EQ(weft_semaphore_is_closed(sem), m->closed);
}

/* ---- mutex ---------------------------------------------------------------- */

/* The mutex is locked when its one permit is anywhere but free. */
static void mutex_step(weft_mutex *mx, struct sem_model *m, struct fz_in *in)
{
	unsigned i = fz_pick(in, NSLOT), j, holders = 0;
	struct slot *s = &m->s[i];
	weft_poll p;
	int want;

	switch (fz_pick(in, 5)) {
	case 0:
		want = sm_try(m, 1);
		FZ_CHECK_EQ(weft_mutex_try_lock(mx), want);
		if (want == 0)
			m->extra++;
		break;
	case 1:
	case 2:
		if (s->state == S_HOLDS)
			break;
		if (s->state == S_IDLE) {
			FZ_CHECK_EQ(weft_mutex_lock(mx, &s->f.mutex), 0);
			p = fz_poll(&s->task, &s->f.mutex.base);
			FZ_CHECK_EQ(p, sm_first_poll(m, i, 1, &want));
		} else {
			weft_poll exp;

			want = 0;
			exp = sm_poll(m, i, &want); /* checks the wake first */
			p = fz_poll(&s->task, &s->f.mutex.base);
			FZ_CHECK_EQ(p, exp);
		}
		if (p == WEFT_READY) {
			FZ_CHECK_EQ(s->f.mutex.result, want);
			weft_future_drop(&s->f.mutex.base);
		}
		break;
	case 3:
		if (sm_pending(s)) {
			weft_future_drop(&s->f.mutex.base);
			sm_drop(m, i);
		}
		break;
	default:
		if (s->state == S_HOLDS) {
			FZ_CHECK_EQ(weft_mutex_unlock(mx), 0);
			s->state = S_IDLE;
			sm_release(m, 1);
		} else if (m->extra > 0) {
			FZ_CHECK_EQ(weft_mutex_unlock(mx), 0);
			m->extra--;
			sm_release(m, 1);
		} else if (m->avail == 1) {
			FZ_CHECK_EQ(weft_mutex_unlock(mx), -EPERM);
		}
		break;
	}
	for (j = 0; j < NSLOT; j++)
		holders += m->s[j].state == S_HOLDS || m->s[j].state == S_GRANTED;
	FZ_CHECK(holders + m->extra + m->avail == 1); /* exclusion */
	FZ_CHECK_EQ(weft_mutex_is_locked(mx), m->avail == 0);
}

/* ---- rwlock --------------------------------------------------------------- */

struct rw_model {
	struct sem_model sm;
	bool is_writer[NSLOT]; /* the slot's future is a write lock */
	size_t try_readers;
	bool try_writer;
};

static void rw_check(struct rw_model *rw)
{
	struct sem_model *m = &rw->sm;
	size_t readers = rw->try_readers, writers = rw->try_writer;
	unsigned i;

	for (i = 0; i < NSLOT; i++) {
		if (m->s[i].state != S_HOLDS && m->s[i].state != S_GRANTED)
			continue;
		if (rw->is_writer[i])
			writers++;
		else
			readers++;
	}
	FZ_CHECK(writers <= 1);
	FZ_CHECK(writers == 0 || readers == 0);
	FZ_CHECK(readers <= m->total);
	sm_conserved(m);
}

static void rw_step(weft_rwlock *rwl, struct rw_model *rw, struct fz_in *in)
{
	struct sem_model *m = &rw->sm;
	unsigned i = fz_pick(in, NSLOT);
	struct slot *s = &m->s[i];
	bool write = fz_pick(in, 2) == 0;
	weft_future *base;
	weft_poll p;
	int want, res;

	switch (fz_pick(in, 6)) {
	case 0:
		if (write && !rw->try_writer) {
			want = sm_try(m, m->total);
			FZ_CHECK_EQ(weft_rwlock_try_write(rwl), want);
			rw->try_writer = want == 0;
		} else if (!write) {
			want = sm_try(m, 1);
			FZ_CHECK_EQ(weft_rwlock_try_read(rwl), want);
			rw->try_readers += want == 0;
		}
		break;
	case 1:
	case 2:
		if (s->state == S_HOLDS)
			break;
		if (s->state == S_IDLE) {
			rw->is_writer[i] = write;
			if (write) {
				FZ_CHECK_EQ(weft_rwlock_write(rwl, &s->f.write), 0);
				base = &s->f.write.base;
			} else {
				FZ_CHECK_EQ(weft_rwlock_read(rwl, &s->f.read), 0);
				base = &s->f.read.base;
			}
			p = fz_poll(&s->task, base);
			FZ_CHECK_EQ(p, sm_first_poll(m, i, write ? m->total : 1, &want));
		} else {
			base = rw->is_writer[i] ? &s->f.write.base : &s->f.read.base;
			weft_poll exp;

			want = 0;
			exp = sm_poll(m, i, &want); /* checks the wake first */
			p = fz_poll(&s->task, base);
			FZ_CHECK_EQ(p, exp);
		}
		if (p == WEFT_READY) {
			res = rw->is_writer[i] ? s->f.write.result : s->f.read.result;
			FZ_CHECK_EQ(res, want);
			weft_future_drop(base);
		}
		break;
	case 3:
		if (sm_pending(s)) {
			weft_future_drop(rw->is_writer[i] ? &s->f.write.base : &s->f.read.base);
			sm_drop(m, i);
		}
		break;
	case 4:
		/* Downgrade a write lock to a read lock. */
		if (s->state == S_HOLDS && rw->is_writer[i]) {
			FZ_CHECK_EQ(weft_rwlock_downgrade(rwl), 0);
			rw->is_writer[i] = false;
			s->n = 1;
			sm_release(m, m->total - 1);
		} else if (rw->try_writer) {
			FZ_CHECK_EQ(weft_rwlock_downgrade(rwl), 0);
			rw->try_writer = false;
			rw->try_readers++;
			m->extra -= m->total - 1;
			sm_release(m, m->total - 1);
		} else if (m->avail == m->total) {
			FZ_CHECK_EQ(weft_rwlock_downgrade(rwl), -EPERM);
		}
		break;
	default:
		if (s->state == S_HOLDS) {
			if (rw->is_writer[i])
				FZ_CHECK_EQ(weft_rwlock_unlock_write(rwl), 0);
			else
				FZ_CHECK_EQ(weft_rwlock_unlock_read(rwl), 0);
			s->state = S_IDLE;
			sm_release(m, s->n);
		} else if (rw->try_writer) {
			FZ_CHECK_EQ(weft_rwlock_unlock_write(rwl), 0);
			rw->try_writer = false;
			m->extra -= m->total;
			sm_release(m, m->total);
		} else if (rw->try_readers > 0) {
			FZ_CHECK_EQ(weft_rwlock_unlock_read(rwl), 0);
			rw->try_readers--;
			m->extra--;
			sm_release(m, 1);
		} else if (m->avail == m->total) {
			FZ_CHECK_EQ(weft_rwlock_unlock_read(rwl), -EPERM);
			FZ_CHECK_EQ(weft_rwlock_unlock_write(rwl), -EPERM);
		}
		break;
	}
	m->extra = rw->try_readers + (rw->try_writer ? m->total : 0);
	rw_check(rw);
}

/* ---- notify --------------------------------------------------------------- */

enum { N_IDLE, N_UNPOLLED, N_QUEUED, N_BY_ONE, N_BY_ALL };

struct notify_model {
	bool permit;
	int state[NSLOT];
	bool expect_wake[NSLOT];
	unsigned q[NSLOT];
	unsigned nq;
	weft_notify_future f[NSLOT];
	struct fz_task task[NSLOT];
};

static void nm_unqueue(struct notify_model *m, unsigned i)
{
	unsigned j;

	for (j = 0; j < m->nq && m->q[j] != i; j++)
		;
	FZ_CHECK(j < m->nq);
	memmove(m->q + j, m->q + j + 1, (--m->nq - j) * sizeof m->q[0]);
}

static void nm_one(struct notify_model *m)
{
	unsigned h;

	if (m->nq == 0) {
		m->permit = true;
		return;
	}
	h = m->q[0];
	nm_unqueue(m, h);
	m->state[h] = N_BY_ONE;
	m->expect_wake[h] = true;
}

static void notify_step(weft_notify *n, struct notify_model *m, struct fz_in *in)
{
	unsigned i = fz_pick(in, NSLOT), j;
	weft_poll p;

	switch (fz_pick(in, 6)) {
	case 0:
		FZ_CHECK_EQ(weft_notify_one(n), 0);
		nm_one(m);
		break;
	case 1:
		FZ_CHECK_EQ(weft_notify_waiters(n), 0);
		for (j = 0; j < NSLOT; j++) {
			if (m->state[j] == N_UNPOLLED || m->state[j] == N_QUEUED) {
				if (m->state[j] == N_QUEUED) {
					nm_unqueue(m, j);
					m->expect_wake[j] = true;
				}
				m->state[j] = N_BY_ALL;
			}
		}
		break;
	case 2:
		FZ_CHECK_EQ(weft_notify_try_notified(n), m->permit ? 0 : -EAGAIN);
		m->permit = false;
		break;
	case 3:
		if (m->state[i] == N_IDLE) {
			FZ_CHECK_EQ(weft_notify_notified(n, &m->f[i]), 0);
			m->state[i] = N_UNPOLLED;
			m->expect_wake[i] = false;
		}
		break;
	case 4:
		if (m->state[i] == N_IDLE)
			break;
		if (m->state[i] != N_UNPOLLED && m->state[i] != N_QUEUED && m->expect_wake[i])
			FZ_CHECK(fz_woken(&m->task[i]));
		p = fz_poll(&m->task[i], &m->f[i].base);
		if (m->state[i] == N_UNPOLLED && m->permit) {
			m->permit = false;
			m->state[i] = N_BY_ONE;
		} else if (m->state[i] == N_UNPOLLED) {
			m->state[i] = N_QUEUED;
			m->q[m->nq++] = i;
		}
		if (m->state[i] == N_QUEUED) {
			FZ_CHECK_EQ(p, WEFT_PENDING);
			break;
		}
		FZ_CHECK_EQ(p, WEFT_READY);
		FZ_CHECK_EQ(m->f[i].result, 0);
		weft_future_drop(&m->f[i].base);
		m->state[i] = N_IDLE;
		break;
	default:
		if (m->state[i] == N_IDLE)
			break;
		weft_future_drop(&m->f[i].base);
		if (m->state[i] == N_QUEUED)
			nm_unqueue(m, i);
		else if (m->state[i] == N_BY_ONE)
			nm_one(m); /* passed on */
		m->state[i] = N_IDLE;
		break;
	}
}

/* ---- the run -------------------------------------------------------------- */

struct world {
	weft_semaphore sem;
	weft_mutex mx;
	weft_rwlock rwl;
	weft_notify nt;
	struct sem_model sm, mm;
	struct rw_model rw;
	struct notify_model nm;
};

static void drop_all(struct sem_model *m, weft_future *(*base_of)(struct sem_model *, unsigned))
{
	unsigned i;

	for (i = 0; i < NSLOT; i++) {
		if (sm_pending(&m->s[i])) {
			weft_future_drop(base_of(m, i));
			sm_drop(m, i);
		}
	}
}

static weft_future *sem_base(struct sem_model *m, unsigned i)
{
	return &m->s[i].f.sem.base;
}

static struct rw_model *rw_of_sm;

static weft_future *rw_base(struct sem_model *m, unsigned i)
{
	return rw_of_sm->is_writer[i] ? &m->s[i].f.write.base : &m->s[i].f.read.base;
}

int fuzz_one(const uint8_t *data, size_t size)
{
	static struct world w;
	struct fz_in in = { data, size };
	unsigned i;

	memset(&w, 0, sizeof w);
	w.sm.total = w.sm.avail = fz_pick(&in, 6);
	w.mm.total = w.mm.avail = 1;
	w.rw.sm.total = w.rw.sm.avail = 1 + fz_pick(&in, 3);
	FZ_CHECK_EQ(weft_semaphore_init(&w.sem, w.sm.total), 0);
	FZ_CHECK_EQ(weft_mutex_init(&w.mx), 0);
	FZ_CHECK_EQ(weft_rwlock_init_max_readers(&w.rwl, w.rw.sm.total), 0);
	FZ_CHECK_EQ(weft_notify_init(&w.nt), 0);
	while (fz_more(&in)) {
		switch (fz_pick(&in, 4)) {
		case 0:
			sem_step(&w.sem, &w.sm, &in);
			break;
		case 1:
			mutex_step(&w.mx, &w.mm, &in);
			break;
		case 2:
			rw_step(&w.rwl, &w.rw, &in);
			break;
		default:
			notify_step(&w.nt, &w.nm, &in);
			break;
		}
	}
	/* Drop every waiting future; what is held is released. */
	drop_all(&w.sm, sem_base);
	drop_all(&w.mm, sem_base);
	rw_of_sm = &w.rw;
	drop_all(&w.rw.sm, rw_base);
	for (i = 0; i < NSLOT; i++) {
		if (w.mm.s[i].state == S_HOLDS)
			FZ_CHECK_EQ(weft_mutex_unlock(&w.mx), 0);
		if (w.rw.sm.s[i].state == S_HOLDS) {
			if (w.rw.is_writer[i])
				FZ_CHECK_EQ(weft_rwlock_unlock_write(&w.rwl), 0);
			else
				FZ_CHECK_EQ(weft_rwlock_unlock_read(&w.rwl), 0);
		}
		if (w.nm.state[i] != N_IDLE)
			weft_future_drop(&w.nm.f[i].base);
	}
	if (w.mm.extra > 0)
		FZ_CHECK_EQ(weft_mutex_unlock(&w.mx), 0);
	FZ_CHECK(!weft_mutex_is_locked(&w.mx));
	while (w.rw.try_readers-- > 0)
		FZ_CHECK_EQ(weft_rwlock_unlock_read(&w.rwl), 0);
	if (w.rw.try_writer)
		FZ_CHECK_EQ(weft_rwlock_unlock_write(&w.rwl), 0);
	FZ_CHECK_EQ(weft_rwlock_try_write(&w.rwl), 0); /* everything came back */
	FZ_CHECK_EQ(weft_rwlock_unlock_write(&w.rwl), 0);
	weft_semaphore_finish(&w.sem);
	weft_mutex_finish(&w.mx);
	weft_rwlock_finish(&w.rwl);
	weft_notify_finish(&w.nt);
	for (i = 0; i < NSLOT; i++) {
		FZ_CHECK_EQ(w.sm.s[i].task.clones, 0);
		FZ_CHECK_EQ(w.mm.s[i].task.clones, 0);
		FZ_CHECK_EQ(w.rw.sm.s[i].task.clones, 0);
		FZ_CHECK_EQ(w.nm.task[i].clones, 0);
	}
	return 0;
}

/* RwLock: shared readers, exclusive writer, a queued writer bars later readers, reader cap, downgrade, the inline first polls' budget (and the mutex's), stress on 4 workers. */
#include "sync_test.h"

static void test_policy_by_hand(void)
{
	struct hand hw, hr1, hr2, hw2;
	weft_rwlock rw;
	weft_rwlock_write_future w, w2;
	weft_rwlock_read_future r1, r2;

	hand_init(&hw);
	hand_init(&hr1);
	hand_init(&hr2);
	hand_init(&hw2);
	CHECK_EQ(weft_rwlock_init(&rw), 0);
	CHECK_EQ(weft_rwlock_try_read(&rw), 0);
	CHECK_EQ(weft_rwlock_try_read(&rw), 0);
	CHECK_EQ(weft_rwlock_try_write(&rw), -EAGAIN);

	/* A writer queues behind the two readers... */
	CHECK_EQ(weft_rwlock_write(&rw, &w), 0);
	CHECK_EQ(hand_poll(&hw, &w.base), WEFT_PENDING);
	/* ...and bars readers that come after it (writer preference). */
	CHECK_EQ(weft_rwlock_try_read(&rw), -EAGAIN);
	CHECK_EQ(weft_rwlock_read(&rw, &r1), 0);
	CHECK_EQ(hand_poll(&hr1, &r1.base), WEFT_PENDING);
	CHECK_EQ(weft_rwlock_read(&rw, &r2), 0);
	CHECK_EQ(hand_poll(&hr2, &r2.base), WEFT_PENDING);
	CHECK_EQ(weft_rwlock_write(&rw, &w2), 0);
	CHECK_EQ(hand_poll(&hw2, &w2.base), WEFT_PENDING);

	CHECK_EQ(weft_rwlock_unlock_read(&rw), 0);
	CHECK_EQ(hand_wakes(&hw), 0);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), 0);
	CHECK_EQ(hand_wakes(&hw), 1);
	CHECK_EQ(hand_wakes(&hr1), 0);
	CHECK_EQ(hand_poll(&hw, &w.base), WEFT_READY);
	CHECK_EQ(w.result, 0);
	weft_future_drop(&w.base);

	/* Writer out: both queued readers enter together; the second writer
	 * waits for them. */
	CHECK_EQ(weft_rwlock_unlock_write(&rw), 0);
	CHECK_EQ(hand_wakes(&hr1), 1);
	CHECK_EQ(hand_wakes(&hr2), 1);
	CHECK_EQ(hand_wakes(&hw2), 0);
	CHECK_EQ(hand_poll(&hr1, &r1.base), WEFT_READY);
	CHECK_EQ(hand_poll(&hr2, &r2.base), WEFT_READY);
	weft_future_drop(&r1.base);
	weft_future_drop(&r2.base);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), 0);
	CHECK_EQ(hand_wakes(&hw2), 0);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), 0);
	CHECK_EQ(hand_wakes(&hw2), 1);
	CHECK_EQ(hand_poll(&hw2, &w2.base), WEFT_READY);
	weft_future_drop(&w2.base);

	/* Downgrade: the writer becomes a reader; other readers may enter,
	 * writers may not. */
	CHECK_EQ(weft_rwlock_downgrade(&rw), 0);
	CHECK_EQ(weft_rwlock_try_read(&rw), 0);
	CHECK_EQ(weft_rwlock_try_write(&rw), -EAGAIN);
	CHECK_EQ(weft_rwlock_downgrade(&rw), -EPERM);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_write(&rw), -EPERM);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), -EPERM);
	CHECK_EQ(weft_rwlock_try_write(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_write(&rw), 0);
	CHECK_EQ(hand_refs(&hw) + hand_refs(&hr1) + hand_refs(&hr2) + hand_refs(&hw2), 0);
	weft_rwlock_finish(&rw);
}

/*
 * The inline first polls (the header's weft_mutex_lock, weft_rwlock_read
 * and weft_rwlock_write) spend the coop budget exactly as the exported
 * futures do: one unit when they take the lock at once, and when the lock
 * is held or the budget spent, what the exported poll leaves (the inline
 * one spends its unit before the CAS and gives it back when the CAS
 * fails).  Each kind runs the same three polls both ways.
 */
struct lock_kind {
	void *lock;
	weft_future *fut;
	const int *result;
	/* Makes `fut` for `lock`, through the inline form or the exported one. */
	void (*make)(struct lock_kind *k, bool use_inline);
	/* Holds the lock another way (a try form), and lets it go. */
	int (*hold)(void *lock);
	int (*let_go)(void *lock);
	/* Releases what `fut` acquired. */
	int (*unlock)(void *lock);
};

struct budgets_seen {
	uint32_t ready, held, exhausted;
};

static void lock_budgets(struct lock_kind *k, bool use_inline, uint32_t start,
			 struct budgets_seen *seen)
{
	struct hand h;

	hand_init(&h);
	/* Free: ready at the first poll. */
	h.cx.budget = start;
	k->make(k, use_inline);
	CHECK_EQ(hand_poll(&h, k->fut), WEFT_READY);
	CHECK_EQ(*k->result, 0);
	seen->ready = h.cx.budget;
	weft_future_drop(k->fut);
	CHECK_EQ(k->unlock(k->lock), 0);

	/* Held: pending, then handed the lock by the release. */
	CHECK_EQ(k->hold(k->lock), 0);
	h.cx.budget = start;
	k->make(k, use_inline);
	CHECK_EQ(hand_poll(&h, k->fut), WEFT_PENDING);
	seen->held = h.cx.budget;
	CHECK_EQ(hand_wakes(&h), 0);
	CHECK_EQ(k->let_go(k->lock), 0);
	CHECK_EQ(hand_wakes(&h), 1);
	CHECK_EQ(hand_poll(&h, k->fut), WEFT_READY);
	CHECK_EQ(*k->result, 0);
	weft_future_drop(k->fut);
	CHECK_EQ(k->unlock(k->lock), 0);

	/* A spent budget: pending with a wake to run again, the lock free. */
	h.cx.budget = 0;
	k->make(k, use_inline);
	CHECK_EQ(hand_poll(&h, k->fut), WEFT_PENDING);
	seen->exhausted = h.cx.budget;
	CHECK_EQ(hand_wakes(&h), 2);
	CHECK_EQ(k->hold(k->lock), 0); /* nothing was taken */
	CHECK_EQ(k->let_go(k->lock), 0);
	h.cx.budget = start;
	CHECK_EQ(hand_poll(&h, k->fut), WEFT_READY);
	weft_future_drop(k->fut);
	CHECK_EQ(k->unlock(k->lock), 0);
	CHECK_EQ(hand_refs(&h), 0);
}

static void check_inline_budgets(struct lock_kind *k)
{
	static const uint32_t starts[] = { 3, 1, WEFT_COOP_BUDGET, WEFT_COOP_UNCONSTRAINED };
	size_t i;

	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		struct budgets_seen in, out;

		lock_budgets(k, true, starts[i], &in);
		lock_budgets(k, false, starts[i], &out);
		CHECK_EQ(in.ready, starts[i] == WEFT_COOP_UNCONSTRAINED ? starts[i] : starts[i] - 1);
		CHECK_EQ(in.ready, out.ready);
		CHECK_EQ(in.held, out.held);
		CHECK_EQ(in.exhausted, out.exhausted);
	}
}

static weft_mutex_lock_future mutex_fut;
static weft_rwlock_read_future read_fut;
static weft_rwlock_write_future write_fut;

static void make_mutex_lock(struct lock_kind *k, bool use_inline)
{
	CHECK_EQ(use_inline ? weft_mutex_lock(k->lock, &mutex_fut)
			    : (weft_mutex_lock)(k->lock, &mutex_fut), 0);
}

static void make_read(struct lock_kind *k, bool use_inline)
{
	CHECK_EQ(use_inline ? weft_rwlock_read(k->lock, &read_fut)
			    : (weft_rwlock_read)(k->lock, &read_fut), 0);
}

static void make_write(struct lock_kind *k, bool use_inline)
{
	CHECK_EQ(use_inline ? weft_rwlock_write(k->lock, &write_fut)
			    : (weft_rwlock_write)(k->lock, &write_fut), 0);
}

static int mutex_try(void *m) { return weft_mutex_try_lock(m); }
static int mutex_unlock(void *m) { return weft_mutex_unlock(m); }
static int try_read(void *rw) { return weft_rwlock_try_read(rw); }
static int try_write(void *rw) { return weft_rwlock_try_write(rw); }
static int unlock_read(void *rw) { return weft_rwlock_unlock_read(rw); }
static int unlock_write(void *rw) { return weft_rwlock_unlock_write(rw); }

static void test_inline_budgets(void)
{
	weft_mutex m;
	weft_rwlock rw;
	struct lock_kind mutex = { &m, &mutex_fut.base, &mutex_fut.result, make_mutex_lock,
				   mutex_try, mutex_unlock, mutex_unlock };
	/* A reader waits for a writer; a writer for a reader. */
	struct lock_kind reader = { &rw, &read_fut.base, &read_fut.result, make_read,
				    try_write, unlock_write, unlock_read };
	struct lock_kind writer = { &rw, &write_fut.base, &write_fut.result, make_write,
				    try_read, unlock_read, unlock_write };

	CHECK_EQ(weft_mutex_init(&m), 0);
	CHECK_EQ(weft_rwlock_init(&rw), 0);
	check_inline_budgets(&mutex);
	check_inline_budgets(&reader);
	check_inline_budgets(&writer);
	CHECK(!weft_mutex_is_locked(&m));
	CHECK_EQ(weft_rwlock_try_write(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_write(&rw), 0);
	weft_mutex_finish(&m);
	weft_rwlock_finish(&rw);
}

static void test_reader_cap(void)
{
	struct hand h;
	weft_rwlock rw;
	weft_rwlock_read_future r;
	int i;

	hand_init(&h);
	CHECK_EQ(weft_rwlock_init_max_readers(&rw, 0), -EINVAL);
	CHECK_EQ(weft_rwlock_init_max_readers(&rw, WEFT_RWLOCK_MAX_READERS + 1), -EINVAL);
	CHECK_EQ(weft_rwlock_init_max_readers(&rw, 3), 0);
	for (i = 0; i < 3; i++)
		CHECK_EQ(weft_rwlock_try_read(&rw), 0);
	CHECK_EQ(weft_rwlock_try_read(&rw), -EAGAIN);
	CHECK_EQ(weft_rwlock_read(&rw, &r), 0);
	CHECK_EQ(hand_poll(&h, &r.base), WEFT_PENDING);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), 0);
	CHECK_EQ(hand_wakes(&h), 1);
	CHECK_EQ(hand_poll(&h, &r.base), WEFT_READY);
	weft_future_drop(&r.base);
	for (i = 0; i < 3; i++)
		CHECK_EQ(weft_rwlock_unlock_read(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), -EPERM);
	CHECK_EQ(weft_rwlock_try_write(&rw), 0);
	CHECK_EQ(weft_rwlock_try_read(&rw), -EAGAIN);
	CHECK_EQ(weft_rwlock_unlock_write(&rw), 0);
	CHECK_EQ(hand_refs(&h), 0);
	weft_rwlock_finish(&rw);

	/* One reader at a time: a mutex with two kinds of lock. */
	CHECK_EQ(weft_rwlock_init_max_readers(&rw, 1), 0);
	CHECK_EQ(weft_rwlock_try_read(&rw), 0);
	CHECK_EQ(weft_rwlock_try_read(&rw), -EAGAIN);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), 0);
	CHECK_EQ(weft_rwlock_try_write(&rw), 0);
	CHECK_EQ(weft_rwlock_downgrade(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), 0);
	weft_rwlock_finish(&rw);
}

/* ---- stress ------------------------------------------------------------- */

#define MAX_READERS 3

struct shared {
	weft_rwlock rw;
	/* Written only by writers; readers check they are equal.  Plain. */
	long a, b;
	_Atomic int readers;
	_Atomic bool writer;
	_Atomic long reads, writes;
};

struct rw_task {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct shared *sh;
	uint64_t rng;
	long i, iters;
	int mode;
	bool write, live;
	union {
		weft_rwlock_read_future r;
		weft_rwlock_write_future w;
	} f;
	weft_yield y;
};

static weft_poll rw_poll(weft_future *f, weft_cx *cx)
{
	struct rw_task *self = (struct rw_task *)f;
	struct shared *sh = self->sh;
	int n;

	WEFT_ASYNC_BEGIN(self);
	for (self->i = 0; self->i < self->iters; self->i++) {
		self->write = test_rand(&self->rng) % 4 == 0;
		/* Mix the tiers, and sync.h's inline fast paths with the
		 * exported functions (what C++ calls). */
		self->mode = (int)(test_rand(&self->rng) % 4);
		if (self->mode == 3 &&
		    (self->write ? weft_rwlock_try_write(&sh->rw) : weft_rwlock_try_read(&sh->rw)) == 0) {
			self->f.r.base.drop = NULL; /* nothing to drop below */
		} else if (self->write) {
			if (self->mode == 1)
				CHECK_EQ((weft_rwlock_write)(&sh->rw, &self->f.w), 0);
			else
				CHECK_EQ(weft_rwlock_write(&sh->rw, &self->f.w), 0);
			self->live = true;
			WEFT_AWAIT(self, cx, &self->f.w.base);
			CHECK_EQ(self->f.w.result, 0);
		} else {
			if (self->mode == 1)
				CHECK_EQ((weft_rwlock_read)(&sh->rw, &self->f.r), 0);
			else
				CHECK_EQ(weft_rwlock_read(&sh->rw, &self->f.r), 0);
			self->live = true;
			WEFT_AWAIT(self, cx, &self->f.r.base);
			CHECK_EQ(self->f.r.result, 0);
		}
		if (self->write) {
			CHECK(!atomic_exchange(&sh->writer, true));
			CHECK_EQ(atomic_load(&sh->readers), 0);
			sh->a++;
			sh->b++;
		} else {
			n = atomic_fetch_add(&sh->readers, 1) + 1;
			CHECK(n <= MAX_READERS);
			CHECK(!atomic_load(&sh->writer));
			CHECK_EQ(sh->a, sh->b);
		}
		weft_future_drop(&self->f.r.base); /* same place in both */
		self->live = false;
		if (test_rand(&self->rng) % 8 == 0) {
			weft_yield_now(&self->y);
			WEFT_AWAIT(self, cx, &self->y.base);
		}
		if (self->write) {
			atomic_store(&sh->writer, false);
			atomic_fetch_add(&sh->writes, 1);
			if (self->mode == 2)
				CHECK_EQ((weft_rwlock_unlock_write)(&sh->rw), 0);
			else
				CHECK_EQ(weft_rwlock_unlock_write(&sh->rw), 0);
		} else {
			atomic_fetch_sub(&sh->readers, 1);
			atomic_fetch_add(&sh->reads, 1);
			if (self->mode == 2)
				CHECK_EQ((weft_rwlock_unlock_read)(&sh->rw), 0);
			else
				CHECK_EQ(weft_rwlock_unlock_read(&sh->rw), 0);
		}
	}
	WEFT_ASYNC_END(self);
}

static void rw_drop(weft_future *f)
{
	struct rw_task *self = (struct rw_task *)f;

	if (self->live)
		weft_future_drop(&self->f.r.base);
}

static void stress(unsigned workers, int tasks, long iters)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	struct shared sh;
	weft_join_handle h[8];
	int t;

	memset(&sh, 0, sizeof(sh));
	CHECK_EQ(weft_rwlock_init_max_readers(&sh.rw, MAX_READERS), 0);
	for (t = 0; t < tasks; t++) {
		struct rw_task task;

		memset(&task, 0, sizeof(task));
		task.base.poll = rw_poll;
		task.base.drop = rw_drop;
		task.sh = &sh;
		task.rng = 0x1234567ULL * (uint64_t)(t + 1);
		task.iters = iters;
		CHECK_EQ(weft_spawn(rt, &task.base, sizeof(task), &h[t]), 0);
	}
	join_all(rt, workers, h, tasks);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(atomic_load(&sh.reads) + atomic_load(&sh.writes), tasks * iters);
	CHECK_EQ(sh.a, atomic_load(&sh.writes));
	CHECK_EQ(weft_rwlock_try_write(&sh.rw), 0);
	CHECK_EQ(weft_rwlock_unlock_write(&sh.rw), 0);
	weft_rwlock_finish(&sh.rw);
}

int main(void)
{
	long scale = test_scale();

	test_policy_by_hand();
	test_reader_cap();
	test_inline_budgets();
	stress(4, 6, 20000 * scale);
	stress(0, 6, 5000 * scale);
	return 0;
}

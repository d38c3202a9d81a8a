/* Mutex: 4 tasks x 10^5 lock/unlock on 4 workers (plus a plain thread), inline and exported paths mixed, keep a non-atomic counter exact. */
#include "sync_test.h"

#include <pthread.h>

struct shared {
	weft_mutex m;
	/* Plain, not atomic: only the mutex protects them (TSan would report
	 * a race if it did not). */
	long counter;
	int holders;
};

struct locker {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct shared *sh;
	long i, iters;
	weft_mutex_lock_future lf;
	weft_yield y;
	bool lf_live;
};

static void critical_section(struct shared *sh)
{
	CHECK_EQ(++sh->holders, 1);
	sh->counter++;
	CHECK_EQ(--sh->holders, 0);
}

static weft_poll locker_poll(weft_future *f, weft_cx *cx)
{
	struct locker *self = (struct locker *)f;

	WEFT_ASYNC_BEGIN(self);
	for (self->i = 0; self->i < self->iters; self->i++) {
		/* Mix the two tiers: every 7th round tries first. */
		if (self->i % 7 != 0 || weft_mutex_try_lock(&self->sh->m) != 0) {
			/* Mix sync.h's inline fast paths with the exported
			 * functions (what C++ calls): every 5th round locks
			 * through the exported constructor and poll. */
			if (self->i % 5 == 0)
				CHECK_EQ((weft_mutex_lock)(&self->sh->m, &self->lf), 0);
			else
				CHECK_EQ(weft_mutex_lock(&self->sh->m, &self->lf), 0);
			self->lf_live = true;
			WEFT_AWAIT(self, cx, &self->lf.base);
			CHECK_EQ(self->lf.result, 0);
			weft_future_drop(&self->lf.base);
			self->lf_live = false;
		}
		critical_section(self->sh);
		if (self->i % 256 == 0) {
			/* Sometimes hold the lock across a suspension. */
			weft_yield_now(&self->y);
			WEFT_AWAIT(self, cx, &self->y.base);
		}
		if (self->i % 3 == 0)
			CHECK_EQ((weft_mutex_unlock)(&self->sh->m), 0);
		else
			CHECK_EQ(weft_mutex_unlock(&self->sh->m), 0);
	}
	WEFT_ASYNC_END(self);
}

static void locker_drop(weft_future *f)
{
	struct locker *self = (struct locker *)f;

	if (self->lf_live)
		weft_future_drop(&self->lf.base);
}

static struct locker locker_make(struct shared *sh, long iters)
{
	struct locker l;

	memset(&l, 0, sizeof(l));
	l.base.poll = locker_poll;
	l.base.drop = locker_drop;
	l.sh = sh;
	l.iters = iters;
	return l;
}

struct outside_arg {
	weft_runtime *rt;
	struct shared *sh;
	long iters;
};

/* A plain thread locking through block_on: wakes cross the runtime. */
static void *outside_thread(void *p)
{
	struct outside_arg *a = p;
	struct locker l = locker_make(a->sh, a->iters);

	CHECK_EQ(weft_block_on(a->rt, &l.base), 0);
	weft_future_drop(&l.base);
	return NULL;
}

static void run(unsigned workers, int tasks, long iters, long outside_iters)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	struct shared sh;
	weft_join_handle h[8];
	pthread_t th;
	struct outside_arg arg = { rt, &sh, outside_iters };
	int t;

	memset(&sh, 0, sizeof(sh));
	CHECK_EQ(weft_mutex_init(&sh.m), 0);
	for (t = 0; t < tasks; t++) {
		struct locker l = locker_make(&sh, iters);

		CHECK_EQ(weft_spawn(rt, &l.base, sizeof(l), &h[t]), 0);
	}
	if (workers > 0) {
		CHECK_EQ(pthread_create(&th, NULL, outside_thread, &arg), 0);
		CHECK_EQ(pthread_join(th, NULL), 0);
		for (t = 0; t < tasks; t++)
			CHECK_EQ(weft_join(&h[t]), 0);
	} else {
		for (t = 0; t < tasks; t++)
			CHECK_EQ(weft_block_on(rt, &h[t].base), 0);
	}
	for (t = 0; t < tasks; t++)
		weft_join_detach(&h[t]);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(sh.counter, tasks * iters + (workers > 0 ? outside_iters : 0));
	CHECK(!weft_mutex_is_locked(&sh.m));
	weft_mutex_finish(&sh.m);
}

int main(void)
{
	long scale = test_scale();

	run(4, 4, 100000 * scale, 5000 * scale);
	run(0, 4, 20000 * scale, 0);
	return 0;
}

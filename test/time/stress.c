/* time_stress: with a shard per worker (the default), one wheel and 3 shards, threads and tasks register, cancel and fire timers of one runtime across 4 workers; every timer is woken exactly once or cancelled (never both, never woken after its cancel returned), and aborted sleeping tasks end cancelled.  Run under TSan. */
#include "time_test.h"

#include "driver/time.h"

#define THREADS 4
#define ROUND 64

struct timer_slot {
	weft_sleep_future sleep;
	_Atomic long wakes;
	struct round *round;
	bool cancelled;
};

struct round {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	long fired;
};

static weft_waker slot_clone(void *d);
static void slot_wake(void *d)
{
	struct timer_slot *s = d;
	struct round *r = s->round;

	atomic_fetch_add(&s->wakes, 1);
	pthread_mutex_lock(&r->lock);
	r->fired++;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}
static void slot_drop(void *d)
{
	(void)d;
}
static const weft_waker_vtable slot_vtable = { slot_clone, slot_wake, slot_wake, slot_drop };
static weft_waker slot_clone(void *d)
{
	weft_waker w = { d, &slot_vtable };
	return w;
}

struct thread_arg {
	weft_runtime *rt;
	uint64_t rng;
	long rounds, cancelled, fired;
};

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *hammer(void *p)
{
	struct thread_arg *a = p;
	struct timer_slot *slots = calloc(ROUND, sizeof(*slots));
	struct round r;
	long k;
	int i;

	CHECK(slots != NULL);
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	for (k = 0; k < a->rounds; k++) {
		long expect = 0;

		r.fired = 0;
		for (i = 0; i < ROUND; i++) {
			weft_waker w = slot_clone(&slots[i]);
			uint64_t us = next_rand(&a->rng) % 1500;

			atomic_store(&slots[i].wakes, 0);
			slots[i].round = &r;
			slots[i].cancelled = false;
			weft_sleep(&slots[i].sleep, a->rt, us * 1000);
			if (poll_with(&slots[i].sleep.base, &w) == WEFT_READY) {
				/* Due at once (0 us): never registered. */
				slots[i].cancelled = true;
			}
		}
		/* Cancel a random half while the workers fire the rest. */
		for (i = 0; i < ROUND; i++)
			if (!slots[i].cancelled && next_rand(&a->rng) % 2 &&
			    weft__timer_cancel(&slots[i].sleep.timer)) {
				slots[i].cancelled = true;
				a->cancelled++;
			}
		for (i = 0; i < ROUND; i++)
			expect += !slots[i].cancelled;
		pthread_mutex_lock(&r.lock);
		while (r.fired < expect)
			pthread_cond_wait(&r.cond, &r.lock);
		pthread_mutex_unlock(&r.lock);
		for (i = 0; i < ROUND; i++) {
			weft_waker w = slot_clone(&slots[i]);

			CHECK_EQ(atomic_load(&slots[i].wakes), slots[i].cancelled ? 0 : 1);
			if (!slots[i].cancelled) {
				CHECK_EQ(poll_with(&slots[i].sleep.base, &w), WEFT_READY);
				CHECK_EQ(slots[i].sleep.result, 0);
				a->fired++;
			}
			weft_future_drop(&slots[i].sleep.base);
		}
		/* No wake arrived late for a cancelled timer. */
		pthread_mutex_lock(&r.lock);
		CHECK_EQ(r.fired, expect);
		pthread_mutex_unlock(&r.lock);
	}
	pthread_mutex_destroy(&r.lock);
	pthread_cond_destroy(&r.cond);
	free(slots);
	return NULL;
}

/* A task that sleeps in a loop, sometimes in a select of two sleeps (the
 * loser is cancelled by the select). */
static _Atomic long task_sleeps;

struct sleepy {
	weft_future base;
	weft_sleep_future a, b;
	weft_select sel;
	uint64_t rng;
	int i, n;
	bool armed, use_select;
};

static weft_poll sleepy_poll(weft_future *f, weft_cx *cx)
{
	struct sleepy *s = (struct sleepy *)f;

	while (s->i < s->n) {
		if (!s->armed) {
			s->use_select = next_rand(&s->rng) % 2;
			weft_sleep(&s->a, NULL, (next_rand(&s->rng) % 1000) * 1000);
			if (s->use_select) {
				weft_future *br[2] = { &s->a.base, &s->b.base };

				weft_sleep(&s->b, NULL, (next_rand(&s->rng) % 1000) * 1000);
				CHECK_EQ(weft_select_init(&s->sel, br, 2), 0);
			}
			s->armed = true;
		}
		if (weft_future_poll(s->use_select ? &s->sel.base : &s->a.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		weft_future_drop(s->use_select ? &s->sel.base : &s->a.base);
		s->armed = false;
		s->i++;
		atomic_fetch_add(&task_sleeps, 1);
	}
	return WEFT_READY;
}

static void sleepy_drop(weft_future *f)
{
	struct sleepy *s = (struct sleepy *)f;

	if (s->armed)
		weft_future_drop(s->use_select ? &s->sel.base : &s->a.base);
}

static void run(const char *shards)
{
	weft_runtime *rt;
	struct thread_arg args[THREADS];
	pthread_t th[THREADS];
	enum { NTASKS = 200 };
	weft_join_handle h[NTASKS];
	long rounds = 100 * test_scale(), fired = 0, cancelled = 0, done = 0, aborted = 0;
	int i;

	/* No other thread exists here: setenv is safe.  The runtime reads it
	 * at creation. */
	if (shards != NULL)
		CHECK_EQ(setenv("WEFT_TIME_SHARDS", shards, 1), 0);
	else
		CHECK_EQ(unsetenv("WEFT_TIME_SHARDS"), 0);
	rt = test_runtime(4, NULL);
	atomic_store(&task_sleeps, 0);
	for (i = 0; i < NTASKS; i++) {
		struct sleepy s;

		memset(&s, 0, sizeof(s));
		s.base.poll = sleepy_poll;
		s.base.drop = sleepy_drop;
		s.rng = 0x9e3779b97f4a7c15u * (uint64_t)(i + 1);
		s.n = 20;
		CHECK_EQ(weft_spawn(rt, &s.base, sizeof s, &h[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		args[i] = (struct thread_arg){ rt, 0x2545f4914f6cdd1du * (uint64_t)(i + 1), rounds, 0, 0 };
		CHECK_EQ(pthread_create(&th[i], NULL, hammer, &args[i]), 0);
	}
	/* Abort every third task while it sleeps (or after it finished). */
	for (i = 0; i < NTASKS; i += 3)
		CHECK_EQ(weft_join_abort(&h[i]), 0);
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		fired += args[i].fired;
		cancelled += args[i].cancelled;
	}
	for (i = 0; i < NTASKS; i++) {
		int st = weft_join(&h[i]);

		CHECK(st == 0 || (st == -ECANCELED && i % 3 == 0));
		done += st == 0;
		aborted += st == -ECANCELED;
		weft_join_detach(&h[i]);
	}
	CHECK_EQ(done + aborted, NTASKS);
	CHECK(atomic_load(&task_sleeps) >= done * 20);
	CHECK(fired > 0 && cancelled > 0);
	fprintf(stderr, "shards %s: %ld fired, %ld cancelled by threads; %ld tasks done, "
			"%ld aborted\n", shards != NULL ? shards : "default", fired, cancelled,
		done, aborted);
	weft_runtime_destroy(rt);
}

int main(void)
{
	/* The default (a shard per worker: four), one shared wheel, then
	 * three shards, which some workers share with each other and with
	 * the foreign threads. */
	run(NULL);
	run("1");
	run("3");
	return 0;
}

/*
 * The scheduler under stress: 4 workers and 2 external spawner threads,
 * rounds of 10^6 tasks that wake each other at random.  Every task runs to
 * completion exactly once, is polled exactly twice, and nothing leaks.
 * WEFT_STRESS_SCALE sets the number of rounds, not the size of one: what is
 * alive at once stays the same however long the run
 * (WEFT_SCHED_STRESS_TASKS sets the tasks per round).
 *
 * Each task, on its first poll, publishes a clone of its waker in its slot
 * and then takes and wakes the wakers of two random other tasks.  A task
 * completes on its second poll, which only a wake through its slot causes.
 * After the spawners finish, the main thread sweeps every slot so that no
 * task waits forever.
 */
#include "test.h"

#include <sched.h>

enum { SLOT_EMPTY, SLOT_FILLING, SLOT_FULL, SLOT_TAKEN };

struct slot {
	_Atomic int state;
	weft_waker waker;
};

static struct slot *slots;
static _Atomic unsigned char *completed;
static long total;
static _Atomic long polls, done_count, cross_wakes;

struct racer {
	weft_future base;
	long id;
	unsigned rng;
	bool first_done;
};

/* Takes the waker from `s` if it is there; returns true if it woke it. */
static bool take_and_wake(struct slot *s)
{
	int expected = SLOT_FULL;
	weft_waker w;

	if (!atomic_compare_exchange_strong(&s->state, &expected, SLOT_TAKEN))
		return false;
	w = s->waker;
	weft_waker_wake(&w);
	return true;
}

static weft_poll racer_poll(weft_future *f, weft_cx *cx)
{
	struct racer *r = (struct racer *)f;
	struct slot *mine = &slots[r->id];
	int k;

	atomic_fetch_add_explicit(&polls, 1, memory_order_relaxed);
	if (!r->first_done) {
		int expected = SLOT_EMPTY;

		r->first_done = true;
		CHECK(atomic_compare_exchange_strong(&mine->state, &expected, SLOT_FILLING));
		mine->waker = weft_waker_clone(weft_cx_waker(cx));
		atomic_store(&mine->state, SLOT_FULL);
		for (k = 0; k < 2; k++) {
			long other;

			r->rng = r->rng * 1103515245u + 12345u;
			other = (long)((r->rng >> 4) % (unsigned long)total);
			if (other != r->id && take_and_wake(&slots[other]))
				atomic_fetch_add_explicit(&cross_wakes, 1, memory_order_relaxed);
		}
		return WEFT_PENDING;
	}
	/* Only a wake through our slot gets us here. */
	CHECK_EQ(atomic_load(&mine->state), SLOT_TAKEN);
	CHECK_EQ(atomic_fetch_add(&completed[r->id], 1), 0);
	atomic_fetch_add(&done_count, 1);
	return WEFT_READY;
}

struct spawner_arg {
	weft_runtime *rt;
	long first, count;
};

static void *spawner(void *p)
{
	struct spawner_arg *a = p;
	long i;

	for (i = a->first; i < a->first + a->count; i++) {
		struct racer r = { { racer_poll, NULL }, i, (unsigned)i * 2654435761u, false };

		CHECK_EQ(weft_spawn(a->rt, &r.base, sizeof r, NULL), 0);
	}
	return NULL;
}

/* One round: `total` tasks spawned, cross-woken, swept and finished. */
static void run_round(weft_runtime *rt)
{
	struct spawner_arg args[2];
	pthread_t th[2];
	long i;

	memset(slots, 0, (size_t)total * sizeof(*slots));
	memset((void *)completed, 0, (size_t)total);
	atomic_store(&polls, 0);
	atomic_store(&done_count, 0);
	atomic_store(&cross_wakes, 0);
	for (i = 0; i < 2; i++) {
		args[i].rt = rt;
		args[i].first = i * (total / 2);
		args[i].count = i == 0 ? total / 2 : total - total / 2;
		CHECK_EQ(pthread_create(&th[i], NULL, spawner, &args[i]), 0);
	}
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	/* Sweep: wake every task whose slot nobody took. */
	for (i = 0; i < total; i++) {
		for (;;) {
			int s = atomic_load(&slots[i].state);

			if (s == SLOT_TAKEN || take_and_wake(&slots[i]))
				break;
			sched_yield(); /* not polled yet: let the workers run */
		}
	}
	while (atomic_load(&done_count) < total)
		sched_yield();
	CHECK_EQ(atomic_load(&polls), 2 * total);
	for (i = 0; i < total; i++)
		CHECK_EQ(completed[i], 1);
	CHECK(atomic_load(&cross_wakes) > 0);
}

int main(void)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime *rt = test_runtime(4, &alloc);
	long round, rounds = test_scale();

	total = 1000000;
	if (getenv("WEFT_SCHED_STRESS_TASKS") != NULL)
		total = atol(getenv("WEFT_SCHED_STRESS_TASKS"));
	CHECK(total >= 2);
	slots = calloc((size_t)total, sizeof(*slots));
	completed = calloc((size_t)total, 1);
	CHECK(slots != NULL && completed != NULL);
	for (round = 0; round < rounds; round++) {
		run_round(rt);
		fprintf(stderr, "round %ld: %ld tasks, %ld woken by other tasks\n", round,
			total, atomic_load(&cross_wakes));
	}
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	free(slots);
	free((void *)completed);
	return 0;
}

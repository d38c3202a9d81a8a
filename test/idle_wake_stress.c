/*
 * Wakes into an idle runtime, over and over: the idle protocol's handoffs
 * (a worker woken for one task, the last searcher's check of the queues,
 * the wake it owes after its first poll) must never lose a wake-up.
 *
 * PAIRS plain threads each play ping-pong with a task of their own on a
 * 4-worker runtime: the task publishes a clone of its waker and posts the
 * thread's semaphore; the thread waits on it, then wakes the task from
 * outside the runtime, so most wakes land on parked workers.  On every
 * poll the task also spawns two child tasks from its worker (stealable
 * work queued while the woken worker stops searching).  A lost wake-up
 * leaves a task or a thread waiting for ever and the test times out.
 * Every child runs once, every task sees every round, nothing leaks.
 * WEFT_STRESS_SCALE multiplies the rounds.
 */
#include "test.h"

#include <sched.h>
#include <semaphore.h>

#define PAIRS 3
#define WORKERS 4

struct pair {
	sem_t back;         /* posted by the task: its waker is published */
	weft_waker waker;   /* written by the task before it posts */
	long rounds;        /* how many wakes the thread sends */
	long polls;         /* written by the task only */
	weft_runtime *rt;
};

static _Atomic long children_run;

static weft_poll child_poll(weft_future *f, weft_cx *cx)
{
	(void)f;
	(void)cx;
	atomic_fetch_add_explicit(&children_run, 1, memory_order_relaxed);
	return WEFT_READY;
}

struct pinger {
	weft_future base;
	struct pair *p;
};

static weft_poll pinger_poll(weft_future *f, weft_cx *cx)
{
	struct pinger *t = (struct pinger *)f;
	struct pair *p = t->p;
	weft_future child = { child_poll, NULL };
	int i;

	for (i = 0; i < 2; i++)
		CHECK_EQ(weft_spawn(p->rt, &child, sizeof(child), NULL), 0);
	if (p->polls++ == p->rounds)
		return WEFT_READY;
	p->waker = weft_waker_clone(weft_cx_waker(cx));
	CHECK_EQ(sem_post(&p->back), 0);
	return WEFT_PENDING;
}

static void *waker_thread(void *arg)
{
	struct pair *p = arg;
	long i;

	for (i = 0; i < p->rounds; i++) {
		while (sem_wait(&p->back) != 0)
			CHECK_EQ(errno, EINTR);
		/* Now and then, let every worker park first. */
		if (i % 1024 == 0)
			test_sleep_ms(1);
		weft_waker_wake(&p->waker);
	}
	return NULL;
}

int main(void)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime *rt = test_runtime(WORKERS, &alloc);
	struct pair pairs[PAIRS];
	weft_join_handle handles[PAIRS];
	pthread_t th[PAIRS];
	long rounds = 20000 * test_scale();
	int i;

	atomic_store(&children_run, 0);
	for (i = 0; i < PAIRS; i++) {
		struct pinger t = { { pinger_poll, NULL }, &pairs[i] };

		CHECK_EQ(sem_init(&pairs[i].back, 0, 0), 0);
		pairs[i].rounds = rounds;
		pairs[i].polls = 0;
		pairs[i].rt = rt;
		CHECK_EQ(weft_spawn(rt, &t.base, sizeof(t), &handles[i]), 0);
		CHECK_EQ(pthread_create(&th[i], NULL, waker_thread, &pairs[i]), 0);
	}
	for (i = 0; i < PAIRS; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(weft_join(&handles[i]), 0);
		weft_join_detach(&handles[i]);
		/* The join saw the task's end, and with it its last poll. */
		CHECK_EQ(pairs[i].polls, rounds + 1);
		sem_destroy(&pairs[i].back);
	}
	/* Every child runs, also those spawned by the last polls: a child
	 * whose wake-up was lost would keep this loop waiting. */
	while (atomic_load(&children_run) < 2 * PAIRS * (rounds + 1))
		sched_yield();
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(atomic_load(&children_run), 2 * PAIRS * (rounds + 1));
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	return 0;
}

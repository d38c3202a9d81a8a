/*
 * The injector (src/sched/injector.c) under contention: producers push
 * single tasks and linked batches while consumers pop batches of random
 * sizes, so that pops that take the whole list and put the rest back at
 * the front meet pushes and other pops in every order.  Checks that every
 * task is taken exactly once, that the length hint is zero when all are
 * taken, and, in a round with one consumer, that each producer's tasks
 * come out in the order it pushed them.  WEFT_STRESS_SCALE multiplies the
 * rounds.
 */
#include "test.h"

#include <sched.h>

#include "injector.h"
#include "task.h"

#define PRODUCERS 3
#define MAX_CONSUMERS 3
#define PER_PRODUCER 60000L

static struct weft_task tasks[PRODUCERS * PER_PRODUCER];
static _Atomic unsigned char taken[PRODUCERS * PER_PRODUCER];
static struct injector inj;
static _Atomic long taken_count;
static _Atomic int producers_done;
static bool check_order;

static unsigned next_rand(unsigned *r)
{
	*r = *r * 1103515245u + 12345u;
	return *r >> 16;
}

static void *producer(void *arg)
{
	long me = (long)arg;
	struct weft_task *base = &tasks[me * PER_PRODUCER];
	unsigned r = (unsigned)me * 7919u + 1u;
	long next = 0;

	while (next < PER_PRODUCER) {
		long n = next_rand(&r) % 3 == 0 ? 1 + (long)(next_rand(&r) % 40) : 1;
		long i;

		if (n > PER_PRODUCER - next)
			n = PER_PRODUCER - next;
		for (i = 0; i < n - 1; i++)
			base[next + i].queue_next = &base[next + i + 1];
		CHECK(weft__injector_push_batch(&inj, &base[next], &base[next + n - 1], (size_t)n));
		next += n;
		if (next_rand(&r) % 64 == 0)
			sched_yield();
	}
	atomic_fetch_add(&producers_done, 1);
	return NULL;
}

static void *consumer(void *arg)
{
	long last_seen[PRODUCERS];
	unsigned r = (unsigned)(uintptr_t)arg * 104729u + 3u;
	int i;

	for (i = 0; i < PRODUCERS; i++)
		last_seen[i] = -1;
	for (;;) {
		size_t max = next_rand(&r) % 4 == 0 ? 1 : 1 + next_rand(&r) % 200, n = 0, got = 0;
		bool done = atomic_load(&producers_done) == PRODUCERS;
		struct weft_task *t = weft__injector_pop_batch(&inj, max, &n);

		CHECK(n <= max);
		CHECK((t == NULL) == (n == 0));
		while (t != NULL) {
			struct weft_task *next = t->queue_next;
			long id = t - tasks;

			CHECK(id >= 0 && id < PRODUCERS * PER_PRODUCER);
			CHECK_EQ(atomic_fetch_add(&taken[id], 1), 0);
			if (check_order) {
				CHECK(id % PER_PRODUCER > last_seen[id / PER_PRODUCER]);
				last_seen[id / PER_PRODUCER] = id % PER_PRODUCER;
			}
			got++;
			t = next;
		}
		CHECK_EQ(got, n);
		if (atomic_fetch_add(&taken_count, (long)n) + (long)n == PRODUCERS * PER_PRODUCER)
			break;
		if (n == 0 && done && atomic_load(&taken_count) == PRODUCERS * PER_PRODUCER)
			break;
		if (n == 0)
			sched_yield();
	}
	return NULL;
}

static void run_round(int consumers)
{
	pthread_t prod[PRODUCERS], cons[MAX_CONSUMERS];
	long i;

	memset(tasks, 0, sizeof(tasks));
	for (i = 0; i < PRODUCERS * PER_PRODUCER; i++)
		atomic_store(&taken[i], 0);
	atomic_store(&taken_count, 0);
	atomic_store(&producers_done, 0);
	check_order = consumers == 1;
	CHECK_EQ(weft__injector_init(&inj), 0);
	for (i = 0; i < consumers; i++)
		CHECK_EQ(pthread_create(&cons[i], NULL, consumer, (void *)i), 0);
	for (i = 0; i < PRODUCERS; i++)
		CHECK_EQ(pthread_create(&prod[i], NULL, producer, (void *)i), 0);
	for (i = 0; i < PRODUCERS; i++)
		pthread_join(prod[i], NULL);
	/* Every consumer leaves once the last task is counted. */
	for (i = 0; i < consumers; i++)
		pthread_join(cons[i], NULL);
	CHECK_EQ(atomic_load(&taken_count), PRODUCERS * PER_PRODUCER);
	for (i = 0; i < PRODUCERS * PER_PRODUCER; i++)
		CHECK_EQ(atomic_load(&taken[i]), 1);
	CHECK(weft__injector_is_empty(&inj));
	CHECK_EQ(weft__injector_len(&inj), 0);
	CHECK(weft__injector_close(&inj) == NULL);
	/* Closed: a push is refused and takes nothing. */
	CHECK(!weft__injector_push(&inj, &tasks[0]));
	CHECK(weft__injector_is_empty(&inj));
	weft__injector_finish(&inj);
}

/* One thread: a pop longer than max cuts the list and puts the rest back
 * in order, ahead of what comes later. */
static void sequential(void)
{
	struct weft_task *t;
	size_t n;
	long i;

	memset(tasks, 0, sizeof(tasks));
	CHECK_EQ(weft__injector_init(&inj), 0);
	for (i = 0; i < 10; i++)
		CHECK(weft__injector_push(&inj, &tasks[i]));
	t = weft__injector_pop_batch(&inj, 3, &n);
	CHECK_EQ(n, 3);
	for (i = 0; i < 3; i++, t = t->queue_next)
		CHECK(t == &tasks[i]);
	CHECK(t == NULL);
	CHECK_EQ(weft__injector_len(&inj), 7);
	CHECK(weft__injector_push(&inj, &tasks[10]));
	t = weft__injector_pop_batch(&inj, 1, &n);
	CHECK(n == 1 && t == &tasks[3] && t->queue_next == NULL);
	t = weft__injector_pop_batch(&inj, 100, &n);
	CHECK_EQ(n, 7);
	for (i = 4; i <= 10; i++, t = t->queue_next)
		CHECK(t == &tasks[i]);
	CHECK(t == NULL);
	CHECK(weft__injector_is_empty(&inj));
	CHECK(weft__injector_pop_batch(&inj, 5, &n) == NULL && n == 0);
	/* Close hands back what is left, in order. */
	for (i = 0; i < 4; i++)
		CHECK(weft__injector_push(&inj, &tasks[i]));
	t = weft__injector_close(&inj);
	for (i = 0; i < 4; i++, t = t->queue_next)
		CHECK(t == &tasks[i]);
	CHECK(t == NULL);
	CHECK(weft__injector_pop_batch(&inj, 5, &n) == NULL && n == 0);
	weft__injector_finish(&inj);
}

int main(void)
{
	long round, rounds = 20 * test_scale();

	sequential();
	for (round = 0; round < rounds; round++) {
		run_round(1);
		run_round(MAX_CONSUMERS);
	}
	return 0;
}

/*
 * The local queue under contention: one owner pushing and popping (with
 * overflow to a sink), stealers stealing half into their own queues and
 * from each other.  Every task is taken exactly once.  WEFT_STRESS_SCALE
 * multiplies the rounds, not the tasks alive in one.
 */
#include "test.h"

#include <sched.h>

#include "queue.h"
#include "task.h"

#define STEALERS 2

static struct weft_task *tasks;
static _Atomic unsigned char *taken;
static long total;
static struct local_queue owner_q;
static struct local_queue stealer_q[STEALERS];
static _Atomic bool owner_done;
static _Atomic long taken_count;

static void take(struct weft_task *t)
{
	long id = t - tasks;

	CHECK(id >= 0 && id < total);
	CHECK_EQ(atomic_fetch_add(&taken[id], 1), 0);
	atomic_fetch_add(&taken_count, 1);
}

static void overflow_sink(void *ctx, struct weft_task *first, struct weft_task *last,
			  uint32_t n)
{
	uint32_t got = 0;

	(void)ctx;
	while (first != NULL) {
		struct weft_task *next = first->queue_next;

		CHECK(got < n);
		take(first);
		got++;
		if (first == last)
			break;
		first = next;
	}
	CHECK_EQ(got, n);
}

static void *owner(void *arg)
{
	unsigned r = 1;
	long next = 0;

	(void)arg;
	while (next < total) {
		int burst = (int)((r = r * 1103515245u + 12345u) >> 16) % 300;

		/* Push a burst (sometimes past capacity: overflow), pop a few. */
		while (burst-- > 0 && next < total)
			weft__local_queue_push_back(&owner_q, &tasks[next++], overflow_sink, NULL);
		burst = (int)((r = r * 1103515245u + 12345u) >> 16) % 200;
		while (burst-- > 0) {
			struct weft_task *t = weft__local_queue_pop(&owner_q);

			if (t == NULL)
				break;
			take(t);
		}
	}
	atomic_store(&owner_done, true);
	return NULL;
}

static void *stealer(void *arg)
{
	long me = (long)arg;
	struct local_queue *mine = &stealer_q[me];

	for (;;) {
		struct weft_task *t;
		bool done = atomic_load(&owner_done);

		/* Drain our own queue first (we own it). */
		while ((t = weft__local_queue_pop(mine)) != NULL)
			take(t);
		t = weft__local_queue_steal_half(&owner_q, mine);
		if (t == NULL)
			t = weft__local_queue_steal_half(&stealer_q[(me + 1) % STEALERS], mine);
		if (t != NULL) {
			take(t);
			continue;
		}
		if (done && atomic_load(&taken_count) == total)
			break;
		if (done && weft__local_queue_is_empty(&owner_q))
			sched_yield();
	}
	return NULL;
}

int main(void)
{
	pthread_t th[STEALERS + 1];
	struct weft_task *t;
	long i;
	long round, rounds = 3 * test_scale();

	total = 200000;
	tasks = calloc((size_t)total, sizeof(*tasks));
	taken = calloc((size_t)total, 1);
	CHECK(tasks != NULL && taken != NULL);
	for (round = 0; round < rounds; round++) {
		memset((void *)taken, 0, (size_t)total);
		atomic_store(&taken_count, 0);
		atomic_store(&owner_done, false);
		weft__local_queue_init(&owner_q);
		for (i = 0; i < STEALERS; i++)
			weft__local_queue_init(&stealer_q[i]);
		CHECK_EQ(pthread_create(&th[0], NULL, owner, NULL), 0);
		for (i = 0; i < STEALERS; i++)
			CHECK_EQ(pthread_create(&th[i + 1], NULL, stealer, (void *)i), 0);
		pthread_join(th[0], NULL);
		/* The owner's leftovers, popped by the owner's role (no owner
		 * thread runs now). */
		while ((t = weft__local_queue_pop(&owner_q)) != NULL)
			take(t);
		for (i = 0; i < STEALERS; i++)
			pthread_join(th[i + 1], NULL);
		CHECK_EQ(atomic_load(&taken_count), total);
		for (i = 0; i < total; i++)
			CHECK_EQ(taken[i], 1);
	}
	free(tasks);
	free((void *)taken);
	return 0;
}

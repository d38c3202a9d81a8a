/* obs_stress: snapshots taken in a loop from two threads while four workers spawn, yield, steal and finish tasks with hooks and the watchdog on: every counter only grows, live tasks never exceed spawned, the hooks see every task start and finish exactly once, and the final counts are exact.  Runs under TSan to check the counters' and poll slots' protocol. */
#include <pthread.h>

#include "obs_test.h"

static _Atomic uint64_t spawns, finishes;
static _Atomic bool stop;

static void on_spawn(void *ctx, const weft_task_event *ev)
{
	(void)ctx;
	CHECK(ev->id != 0);
	atomic_fetch_add(&spawns, 1);
}

static void on_finish(void *ctx, const weft_task_event *ev)
{
	(void)ctx;
	CHECK(!ev->flag);
	atomic_fetch_add(&finishes, 1);
}

/* Spawns `fanout` yielding children from its worker, then is ready. */
struct fan {
	weft_future base;
	int fanout;
};

static weft_poll fan_poll(weft_future *f, weft_cx *cx)
{
	struct fan *fan = (struct fan *)f;
	int i;

	(void)cx;
	for (i = 0; i < fan->fanout; i++) {
		struct yielder y = yielder_make(i % 5);

		CHECK_EQ(weft_spawn_named(weft_runtime_current(), "child", &y.base, sizeof(y),
					  NULL),
			 0);
	}
	return WEFT_READY;
}

static void *reader(void *arg)
{
	weft_runtime *rt = arg;
	uint64_t last_polls[4] = { 0 }, last_spawned = 0;

	while (!atomic_load(&stop)) {
		weft_metrics m = { .size = sizeof(m) };
		unsigned i;

		CHECK_EQ(weft_runtime_metrics(rt, &m), 0);
		CHECK(m.spawned >= last_spawned);
		CHECK(m.live_tasks <= m.spawned);
		last_spawned = m.spawned;
		for (i = 0; i < 4; i++) {
			weft_worker_metrics w = { .size = sizeof(w) };

			CHECK_EQ(weft_runtime_worker_metrics(rt, i, &w), 0);
			CHECK(w.polls >= last_polls[i]);
			CHECK(w.steal_attempts >= w.steals);
			CHECK(w.local_queue_depth <= 256);
			last_polls[i] = w.polls;
		}
	}
	return NULL;
}

/* The polls every worker counted so far. */
static uint64_t all_polls(weft_runtime *rt)
{
	uint64_t polls = 0;
	unsigned i;

	for (i = 0; i < 4; i++) {
		weft_worker_metrics w = { .size = sizeof(w) };

		CHECK_EQ(weft_runtime_worker_metrics(rt, i, &w), 0);
		polls += w.polls;
	}
	return polls;
}

int main(void)
{
	weft_task_hooks hooks = { on_spawn, NULL, NULL, on_finish, NULL };
	weft_runtime_config cfg = { 0 };
	long rounds = 2000 * test_scale();
	pthread_t readers[2];
	weft_runtime *rt;
	uint64_t total = 0, polls = 0;
	weft_metrics m = { .size = sizeof(m) };
	long r;
	int i;

	cfg.workers = 4;
	cfg.task_hooks = &hooks;
	/* On, with a threshold no poll here reaches. */
	cfg.stall_threshold_ns = 30ull * 1000000000u;
	rt = obs_runtime(&cfg);
	for (i = 0; i < 2; i++)
		CHECK_EQ(pthread_create(&readers[i], NULL, reader, rt), 0);
	for (r = 0; r < rounds; r++) {
		struct fan fan = { { fan_poll, NULL }, 20 };
		weft_join_handle h;

		CHECK_EQ(weft_spawn(rt, &fan.base, sizeof(fan), &h), 0);
		CHECK_EQ(weft_join(&h), 0);
		weft_join_detach(&h);
		total += 21;
	}
	/* Children are detached: wait until every task has finished and
	 * has left the runtime's count (the finish hook runs just before a
	 * task is removed from the live count, so a reader can fall between
	 * the two), and until every worker counted its last poll. */
	for (i = 0; i < 20000; i++) {
		if (atomic_load(&finishes) >= total && weft_runtime_metrics(rt, &m) == 0 &&
		    m.live_tasks == 0 && all_polls(rt) >= (uint64_t)rounds * (1 + 60))
			break;
		test_sleep_ms(1);
	}
	atomic_store(&stop, true);
	for (i = 0; i < 2; i++)
		CHECK_EQ(pthread_join(readers[i], NULL), 0);
	CHECK_EQ(atomic_load(&spawns), total);
	CHECK_EQ(atomic_load(&finishes), total);
	CHECK_EQ(weft_runtime_metrics(rt, &m), 0);
	CHECK_EQ(m.spawned, total);
	CHECK_EQ(m.live_tasks, 0);
	polls = all_polls(rt);
	/* Each fan polls once; child k is polled k % 5 + 1 times (20
	 * children: 60 polls).  No thread blocks on a future here, so every
	 * poll is a worker's. */
	CHECK_EQ(polls, (uint64_t)rounds * (1 + 60));
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	return 0;
}

/* Stress of the blocking pool under many submitters: aborts race starts, threads exit and restart, every job runs or is dropped exactly once. */
#include "test.h"

#include "blocking/blocking.h"

#define SUBMITTERS 4

static _Atomic long ran, dropped, accepted, cancelled_joins, done_joins;

static void *job(void *arg)
{
	atomic_fetch_add(&ran, 1);
	return arg;
}

static void drop_arg(void *arg)
{
	(void)arg;
	atomic_fetch_add(&dropped, 1);
}

struct submitter {
	weft_runtime *rt;
	long iterations;
	uint64_t rng;
};

static uint32_t next(struct submitter *s)
{
	s->rng = s->rng * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(s->rng >> 33);
}

static void *submit_loop(void *arg)
{
	struct submitter *s = arg;
	weft_join_handle h[8];
	long i;
	int k, n, rc;

	for (i = 0; i < s->iterations; i++) {
		n = 1 + (int)(next(s) % 8);
		for (k = 0; k < n; k++) {
			rc = weft_spawn_blocking_drop(s->rt, job, NULL, drop_arg, &h[k]);
			CHECK_EQ(rc, 0);
			atomic_fetch_add(&accepted, 1);
			if (next(s) % 3 == 0)
				CHECK_EQ(weft_join_abort(&h[k]), 0);
		}
		for (k = 0; k < n; k++) {
			switch (next(s) % 3) {
			case 0: /* detach without waiting */
				weft_join_detach(&h[k]);
				break;
			default:
				rc = weft_join(&h[k]);
				CHECK(rc == 0 || rc == -ECANCELED);
				atomic_fetch_add(rc == 0 ? &done_joins : &cancelled_joins, 1);
				weft_join_detach(&h[k]);
			}
		}
	}
	return NULL;
}

int main(void)
{
	weft_runtime_config cfg = { 0 };
	struct submitter subs[SUBMITTERS];
	pthread_t threads[SUBMITTERS];
	weft_runtime *rt = NULL;
	long iterations = 3000 * test_scale();
	int i;

	cfg.workers = 2;
	cfg.max_blocking_threads = 3;
	/* A tiny keep-alive makes threads exit and restart all the time. */
	cfg.blocking_keep_alive_ns = 50000;
	CHECK_EQ(weft_runtime_create(&cfg, &rt), 0);
	for (i = 0; i < SUBMITTERS; i++) {
		subs[i].rt = rt;
		subs[i].iterations = iterations;
		subs[i].rng = 0x1234567u + (uint64_t)i;
		CHECK_EQ(pthread_create(&threads[i], NULL, submit_loop, &subs[i]), 0);
	}
	for (i = 0; i < SUBMITTERS; i++)
		pthread_join(threads[i], NULL);
	CHECK(weft__blocking_threads(rt) <= 3);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	/* Every accepted job either ran or had its argument dropped, once. */
	CHECK_EQ(atomic_load(&ran) + atomic_load(&dropped), atomic_load(&accepted));
	fprintf(stderr, "accepted %ld ran %ld dropped %ld\n", atomic_load(&accepted), atomic_load(&ran), atomic_load(&dropped));
	CHECK(atomic_load(&done_joins) <= atomic_load(&ran));
	CHECK(atomic_load(&cancelled_joins) <= atomic_load(&dropped));
	return 0;
}

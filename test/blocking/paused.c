/* A paused clock does not jump while a blocking job runs, and moves on once the job ends. */
#include "../test.h"

#include <weft.h>

struct state {
	_Atomic int job_running;
	int running_when_fired;
	uint64_t slept;
};

static void *job(void *arg)
{
	struct state *s = arg;

	atomic_store(&s->job_running, 1);
	/* Long enough for the driving thread to run out of work and park;
	 * the test passes either way, it only tests less without it. */
	test_sleep_ms(100);
	atomic_store(&s->job_running, 0);
	return NULL;
}

struct main_future {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_runtime *rt;
	struct state *s;
	weft_join_handle job;
	weft_sleep_future sleep;
	uint64_t t0;
	int err;
};

static weft_poll main_poll(weft_future *f, weft_cx *cx)
{
	struct main_future *m = (struct main_future *)f;

	WEFT_ASYNC_BEGIN(m);
	m->t0 = weft_now(m->rt);
	m->err = weft_spawn_blocking(m->rt, job, m->s, &m->job);
	if (m->err < 0)
		return WEFT_READY;
	weft_sleep(&m->sleep, m->rt, WEFT_SEC);
	WEFT_AWAIT(m, cx, &m->sleep.base);
	/* Without the job's end kicking the parked thread, this point is
	 * never reached (the test times out); with a clock that jumped while
	 * the job ran, the job would still be running here. */
	m->s->running_when_fired = atomic_load(&m->s->job_running);
	m->s->slept = weft_now(m->rt) - m->t0;
	WEFT_AWAIT(m, cx, &m->job.base);
	WEFT_ASYNC_END(m);
}

int main(void)
{
	weft_runtime_config cfg = { .flavor = WEFT_RUNTIME_CURRENT_THREAD, .start_paused = true };
	struct state s = { 0 };
	struct main_future m = { .base = { main_poll, NULL } };
	weft_runtime *rt;

	CHECK_EQ(weft_runtime_create(&cfg, &rt), 0);
	m.rt = rt;
	m.s = &s;
	CHECK_EQ(weft_block_on(rt, &m.base), 0);
	CHECK_EQ(m.err, 0);
	CHECK_EQ(m.sleep.result, 0);
	CHECK_EQ(s.running_when_fired, 0);
	CHECK_EQ(s.slept, WEFT_SEC);
	weft_future_drop(&m.sleep.base);
	weft_join_detach(&m.job);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	return 0;
}

/*
 * Stress: wakes from other threads racing workers that park in the driver
 * (remote spawns and joins, fd readiness written from plain threads), and
 * cancels handed across threads (tasks aborted while their read is in a
 * ring that another worker owns; plain threads' block_on starting and
 * dropping reads, which go to a worker's ring).  Every task completes; run
 * under TSan.  WEFT_STRESS_SCALE makes it longer.
 *
 * The last phase has tasks play ping-pong with each other over pipes while
 * plain threads spawn into the runtime: each read's readiness is reaped by
 * a worker parked in its driver, which runs the woken task itself and
 * leaves park on its own (multi_thread.c), racing the notifiers that claim
 * parked workers for the remote spawns.  Every byte arrives in order.
 */
#include "driver_test.h"

#define THREADS 4

static weft_runtime *rt;
static long rounds;

static void *add_one(void *arg)
{
	atomic_fetch_add((_Atomic long *)arg, 1);
	return NULL;
}

/* Remote spawns into parked workers, and readiness fed by this thread. */
static void *waker_main(void *arg)
{
	_Atomic long *ran = arg;
	int p[2], out;
	long i;

	drv_pipe(p);
	for (i = 0; i < rounds; i++) {
		weft_join_handle h;
		struct ready_task t;
		char c;

		CHECK_EQ(weft_spawn_fn(rt, add_one, (void *)ran, &h), 0);
		CHECK_EQ(weft_join(&h), 0);
		weft_join_detach(&h);
		out = 0;
		t = ready_task_make(p[0], WEFT_IO_READABLE, &out, NULL);
		CHECK_EQ(weft_spawn(rt, &t.base, sizeof(t), &h), 0);
		if (i % 3 == 0)
			drv_sleep_ms(0); /* let the workers reach their parks */
		CHECK_EQ(write(p[1], "w", 1), 1);
		CHECK_EQ(weft_join(&h), 0);
		CHECK(out & WEFT_IO_READABLE);
		weft_join_detach(&h);
		CHECK_EQ(read(p[0], &c, 1), 1);
	}
	close(p[0]);
	close(p[1]);
	return NULL;
}

/* Tasks whose reads are in flight get aborted from this thread. */
static void *aborter_main(void *arg)
{
	enum { BATCH = 8 };
	long i;
	int j;

	(void)arg;
	for (i = 0; i < rounds / 4 + 1; i++) {
		struct test_event polled[BATCH];
		weft_join_handle h[BATCH];
		int p[BATCH][2];
		long got[BATCH];

		for (j = 0; j < BATCH; j++) {
			struct read_task r;

			drv_pipe(p[j]);
			test_event_init(&polled[j]);
			got[j] = -1;
			r = read_task_make(p[j][0], &got[j], NULL, &polled[j]);
			CHECK_EQ(weft_spawn(rt, &r.base, sizeof(r), &h[j]), 0);
		}
		for (j = 0; j < BATCH; j++) {
			test_event_wait(&polled[j]);
			CHECK_EQ(weft_join_abort(&h[j]), 0);
		}
		for (j = 0; j < BATCH; j++) {
			CHECK_EQ(weft_join(&h[j]), -ECANCELED);
			weft_join_detach(&h[j]);
			CHECK_EQ(got[j], -1);
			test_event_finish(&polled[j]);
			close(p[j][0]);
			close(p[j][1]);
		}
	}
	return NULL;
}

/* A future that starts a read and drops it in flight on its next poll. */
struct start_drop {
	weft_future base;
	weft_read rd;
	char buf[8];
	int step, fd;
};

static weft_poll start_drop_poll(weft_future *f, weft_cx *cx)
{
	struct start_drop *s = (struct start_drop *)f;

	if (s->step == 0) {
		CHECK_EQ(weft_read_init(&s->rd, s->fd, s->buf, sizeof(s->buf)), 0);
		CHECK(weft_future_poll(&s->rd.base, cx) == WEFT_PENDING);
		s->step = 1;
		weft_waker_wake_by_ref(weft_cx_waker(cx));
		return WEFT_PENDING;
	}
	weft_future_drop(&s->rd.base);
	return WEFT_READY;
}

static void *block_on_main(void *arg)
{
	int p[2];
	long i;

	(void)arg;
	drv_pipe(p);
	for (i = 0; i < rounds; i++) {
		struct start_drop s;

		memset(&s, 0, sizeof(s));
		s.base.poll = start_drop_poll;
		s.fd = p[0];
		CHECK_EQ(weft_block_on(rt, &s.base), 0);
	}
	close(p[0]);
	close(p[1]);
	return NULL;
}

/* One side of a pipe ping-pong: the first side writes byte 0; then each
 * side reads the byte it expects and writes the next one. */
struct pong {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_read rd;
	char buf[1];
	int in, out;
	long k, rounds, expect;
	int first;
};

static void pong_write(struct pong *p, long v)
{
	char c = (char)(v & 0x7f);

	CHECK_EQ(write(p->out, &c, 1), 1);
}

static weft_poll pong_poll(weft_future *f, weft_cx *cx)
{
	struct pong *p = (struct pong *)f;

	WEFT_ASYNC_BEGIN(p);
	if (p->first)
		pong_write(p, 0);
	p->expect = p->first ? 1 : 0;
	for (p->k = 0; p->k < p->rounds; p->k++) {
		CHECK_EQ(weft_read_init(&p->rd, p->in, p->buf, 1), 0);
		WEFT_AWAIT(p, cx, &p->rd.base);
		weft_future_drop(&p->rd.base);
		CHECK_EQ(p->rd.result, 1);
		CHECK_EQ(p->buf[0], (char)(p->expect & 0x7f));
		pong_write(p, p->expect + 1);
		p->expect += 2;
	}
	WEFT_ASYNC_END(p);
}

static void pong_drop(weft_future *f)
{
	(void)f;
}

/* Plain threads spawn into the runtime while the ping-pongs run. */
static _Atomic bool spawning;

static void *spawner_main(void *arg)
{
	_Atomic long *ran = arg;

	/* Acquire: pairs with the release store that ends the phase. */
	while (atomic_load_explicit(&spawning, memory_order_acquire)) {
		weft_join_handle h;

		CHECK_EQ(weft_spawn_fn(rt, add_one, (void *)ran, &h), 0);
		CHECK_EQ(weft_join(&h), 0);
		weft_join_detach(&h);
	}
	return NULL;
}

static void pingpong_phase(void)
{
	enum { PAIRS = 4 };
	weft_join_handle h[2 * PAIRS];
	pthread_t th[2];
	_Atomic long ran = 0;
	int ab[PAIRS][2], ba[PAIRS][2], i;

	atomic_store(&spawning, true);
	for (i = 0; i < 2; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, spawner_main, (void *)&ran), 0);
	for (i = 0; i < PAIRS; i++) {
		struct pong a, b;

		drv_pipe(ab[i]);
		drv_pipe(ba[i]);
		memset(&a, 0, sizeof(a));
		a.base.poll = pong_poll;
		a.base.drop = pong_drop;
		a.rounds = rounds;
		b = a;
		a.first = 1;
		a.in = ba[i][0];
		a.out = ab[i][1];
		b.in = ab[i][0];
		b.out = ba[i][1];
		CHECK_EQ(weft_spawn(rt, &a.base, sizeof(a), &h[2 * i]), 0);
		CHECK_EQ(weft_spawn(rt, &b.base, sizeof(b), &h[2 * i + 1]), 0);
	}
	for (i = 0; i < 2 * PAIRS; i++) {
		CHECK_EQ(weft_join(&h[i]), 0);
		weft_join_detach(&h[i]);
	}
	/* Release: pairs with the spawners' acquire load. */
	atomic_store_explicit(&spawning, false, memory_order_release);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < PAIRS; i++) {
		close(ab[i][0]);
		close(ab[i][1]);
		close(ba[i][0]);
		close(ba[i][1]);
	}
}

static void run(void *(*fn)(void *), void *arg)
{
	pthread_t th[THREADS];
	int i;

	for (i = 0; i < THREADS; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, fn, arg), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
}

int main(void)
{
	_Atomic long ran = 0;

	rounds = 1000 * test_scale();
	rt = drv_runtime(3);
	run(waker_main, (void *)&ran);
	CHECK_EQ(atomic_load(&ran), THREADS * rounds);
	run(aborter_main, NULL);
	run(block_on_main, NULL);
	pingpong_phase();
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	return 0;
}

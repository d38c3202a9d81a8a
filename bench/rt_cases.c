/*
 * bench/rt_cases.c - the runtime benchmarks: Tokio's rt_multi_threaded and
 * spawn benches at Tokio's parameters, the remote_spawn bench, two
 * current-thread rows (spawn+join of 10k empty tasks, 10^6 yields), and the
 * memory row mem/idle_task_bytes (value mode: bytes of resident memory per
 * idle task, 10^6 tasks each waiting on a notify that never comes).
 *
 * Every case checks that all of its tasks ran.
 */
#include "common.h"

#include <stdlib.h>

#define RT_WORKERS 4
#define NUM_SPAWN 10000
#define NUM_SPAWN_BUSY2 1000
#define NUM_YIELD 1000
#define YIELD_TASKS 200
#define CHAIN_LEN 1000
#define REMOTE_SPAWN 12800

struct rt_state {
	weft_runtime *rt;
	weft_join_handle *handles;
	struct bench_signal done;
	_Atomic long remaining;
	_Atomic bool busy;      /* background tasks keep going while set */
	weft_join_handle *busy_handles;
	int busy_count;
};

static struct rt_state *state_new(int workers, bool current_thread, size_t handles)
{
	struct rt_state *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->rt = bench_runtime(workers, current_thread);
	s->handles = handles != 0 ? calloc(handles, sizeof(*s->handles)) : NULL;
	if (s->rt == NULL || (handles != 0 && s->handles == NULL)) {
		weft_runtime_destroy(s->rt);
		free(s->handles);
		free(s);
		return NULL;
	}
	bench_signal_init(&s->done);
	atomic_init(&s->remaining, 0);
	atomic_init(&s->busy, false);
	return s;
}

static int setup_multi(const struct bench_case *bc, int workers, void **state)
{
	(void)bc;
	*state = state_new(workers, false, NUM_SPAWN);
	return *state != NULL ? 0 : -ENOMEM;
}

static int setup_current(const struct bench_case *bc, int workers, void **state)
{
	(void)bc;
	(void)workers;
	*state = state_new(0, true, NUM_SPAWN);
	return *state != NULL ? 0 : -ENOMEM;
}

static void teardown(void *state)
{
	struct rt_state *s = state;
	int i;

	atomic_store(&s->busy, false);
	for (i = 0; i < s->busy_count; i++) {
		weft_join(&s->busy_handles[i]);
		weft_join_detach(&s->busy_handles[i]);
	}
	weft_runtime_destroy(s->rt);
	bench_signal_finish(&s->done);
	free(s->busy_handles);
	free(s->handles);
	free(s);
}

/* ---- tiny futures ---------------------------------------------------------- */

static weft_poll empty_poll(weft_future *f, weft_cx *cx)
{
	(void)f;
	(void)cx;
	return WEFT_READY;
}

/* Counts down `remaining`; the last one posts `done`. */
struct countdown {
	weft_future base;
	struct rt_state *s;
};

static weft_poll countdown_poll(weft_future *f, weft_cx *cx)
{
	struct countdown *c = (struct countdown *)f;

	(void)cx;
	if (atomic_fetch_sub_explicit(&c->s->remaining, 1, memory_order_acq_rel) == 1)
		bench_signal_post(&c->s->done);
	return WEFT_READY;
}

/* Awaits handles[0..n) and detaches them; counts the successes. */
struct join_all {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_join_handle *h;
	long n, i, ok;
};

static weft_poll join_all_poll(weft_future *f, weft_cx *cx)
{
	struct join_all *j = (struct join_all *)f;

	WEFT_ASYNC_BEGIN(j);
	for (j->i = 0; j->i < j->n; j->i++) {
		WEFT_AWAIT(j, cx, &j->h[j->i].base);
		if (j->h[j->i].status == 0)
			j->ok++;
		weft_join_detach(&j->h[j->i]);
	}
	WEFT_ASYNC_END(j);
}

static int await_all(struct rt_state *s, long n)
{
	struct join_all j = { .base = { join_all_poll, NULL }, .h = s->handles, .n = n };
	int err = weft_block_on(s->rt, &j.base);

	if (err < 0)
		return err;
	return bench_check(j.ok == n, "a spawned task did not complete");
}

/* ---- spawn_many_local ---------------------------------------------------- */

/* Spawns NUM_SPAWN countdown tasks from inside block_on. */
struct spawner {
	weft_future base;
	struct rt_state *s;
	long n;
	int err;
};

static weft_poll spawner_poll(weft_future *f, weft_cx *cx)
{
	struct spawner *sp = (struct spawner *)f;
	struct countdown c = { { countdown_poll, NULL }, sp->s };
	long i;

	(void)cx;
	for (i = 0; i < sp->n && sp->err == 0; i++)
		sp->err = weft_spawn(weft_runtime_current(), &c.base, sizeof c, NULL);
	return WEFT_READY;
}

static int run_spawn_many_local(void *state, long iterations)
{
	struct rt_state *s = state;
	long it;

	for (it = 0; it < iterations; it++) {
		struct spawner sp = { { spawner_poll, NULL }, s, NUM_SPAWN, 0 };
		int err;

		atomic_store(&s->remaining, NUM_SPAWN);
		err = weft_block_on(s->rt, &sp.base);
		if (err < 0 || sp.err < 0)
			return err < 0 ? err : sp.err;
		bench_signal_wait(&s->done, 1);
		if (bench_check(atomic_load(&s->remaining) == 0, "tasks were lost"))
			return -1;
	}
	return 0;
}

/* ---- spawn_many_remote_* --------------------------------------------------- */

static int spawn_remote_and_join(struct rt_state *s, long n)
{
	weft_future e = { empty_poll, NULL };
	long i;
	int err;

	for (i = 0; i < n; i++) {
		err = weft_spawn(s->rt, &e, sizeof e, &s->handles[i]);
		if (err < 0)
			return err;
	}
	return await_all(s, n);
}

static int run_spawn_many_remote(void *state, long iterations)
{
	struct rt_state *s = state;
	long it;
	int err;

	for (it = 0; it < iterations; it++) {
		err = spawn_remote_and_join(s, NUM_SPAWN);
		if (err < 0)
			return err;
	}
	return 0;
}

static int run_spawn_many_remote_busy2(void *state, long iterations)
{
	struct rt_state *s = state;
	long it;
	int err;

	for (it = 0; it < iterations; it++) {
		err = spawn_remote_and_join(s, NUM_SPAWN_BUSY2);
		if (err < 0)
			return err;
	}
	return 0;
}

/* busy1: 2 * workers tasks that loop yield + 10 us stall. */
struct staller {
	weft_future base;
	struct rt_state *s;
};

static weft_poll staller_poll(weft_future *f, weft_cx *cx)
{
	struct staller *st = (struct staller *)f;

	if (!atomic_load_explicit(&st->s->busy, memory_order_relaxed))
		return WEFT_READY;
	bench_stall_10us();
	weft_waker_wake_by_ref(weft_cx_waker(cx)); /* yield */
	return WEFT_PENDING;
}

static int start_busy(struct rt_state *s, int count, weft_future *f, size_t size)
{
	int i, err;

	s->busy_handles = calloc((size_t)count, sizeof(*s->busy_handles));
	if (s->busy_handles == NULL)
		return -ENOMEM;
	atomic_store(&s->busy, true);
	for (i = 0; i < count; i++) {
		err = weft_spawn(s->rt, f, size, &s->busy_handles[i]);
		if (err < 0)
			return err;
		s->busy_count++;
	}
	return 0;
}

static int setup_busy1(const struct bench_case *bc, int workers, void **state)
{
	struct rt_state *s;
	struct staller st;
	int err = setup_multi(bc, workers, state);

	if (err < 0)
		return err;
	s = *state;
	st.base.poll = staller_poll;
	st.base.drop = NULL;
	st.s = s;
	err = start_busy(s, 2 * workers, &st.base, sizeof st);
	if (err == 0)
		bench_sleep_ms(BENCH_BUSY_SETTLE_MS); /* as the peers do */
	return err;
}

/* busy2: `workers` endless chains, each task stalls and spawns the next. */
struct chain_link {
	weft_future base;
	struct rt_state *s;
};

static weft_poll chain_link_poll(weft_future *f, weft_cx *cx)
{
	struct chain_link *c = (struct chain_link *)f;
	struct chain_link next = *c;

	(void)cx;
	if (atomic_load_explicit(&c->s->busy, memory_order_relaxed)) {
		bench_stall_10us();
		if (weft_spawn(weft_runtime_current(), &next.base, sizeof next, NULL) < 0)
			return WEFT_READY; /* shutting down */
	}
	return WEFT_READY;
}

static int setup_busy2(const struct bench_case *bc, int workers, void **state)
{
	struct rt_state *s;
	struct chain_link c;
	int err = setup_multi(bc, workers, state);

	if (err < 0)
		return err;
	s = *state;
	c.base.poll = chain_link_poll;
	c.base.drop = NULL;
	c.s = s;
	/* The chain's first links finish at once; only the flag stops the
	 * chains, so the handles are joined immediately by teardown. */
	err = start_busy(s, workers, &c.base, sizeof c);
	if (err == 0)
		bench_sleep_ms(BENCH_BUSY_SETTLE_MS); /* as the peers do */
	return err;
}

/* ---- ping_pong -------------------------------------------------------------- */

#define NUM_PINGS 1000

/* Receives on os1, then sends on os2. */
struct pong {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_oneshot *os1, *os2;
	weft_oneshot_recv_future recv;
	char byte;
};

static weft_poll pong_poll(weft_future *f, weft_cx *cx)
{
	struct pong *p = (struct pong *)f;

	WEFT_ASYNC_BEGIN(p);
	weft_oneshot_recv(p->os1, &p->byte, &p->recv);
	WEFT_AWAIT(p, cx, &p->recv.base);
	weft_oneshot_send(p->os2, &p->byte);
	WEFT_ASYNC_END(p);
}

/* Makes two oneshots, spawns the pong, sends, awaits the reply. */
struct ping {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct rt_state *s;
	weft_oneshot *os2;
	weft_oneshot_recv_future recv;
	char byte;
	int err;
};

static weft_poll ping_poll(weft_future *f, weft_cx *cx)
{
	struct ping *p = (struct ping *)f;
	struct pong pong = { .base = { pong_poll, NULL } };
	weft_oneshot *os1;

	WEFT_ASYNC_BEGIN(p);
	if (weft_oneshot_create(1, &os1) < 0 || weft_oneshot_create(1, &p->os2) < 0) {
		p->err = -ENOMEM;
		return WEFT_READY;
	}
	pong.os1 = os1;
	pong.os2 = p->os2;
	p->err = weft_spawn(weft_runtime_current(), &pong.base, sizeof pong, NULL);
	if (p->err < 0)
		return WEFT_READY;
	p->byte = 1;
	weft_oneshot_send(os1, &p->byte);
	weft_oneshot_recv(p->os2, &p->byte, &p->recv);
	WEFT_AWAIT(p, cx, &p->recv.base);
	if (p->recv.status == 0 &&
	    atomic_fetch_sub_explicit(&p->s->remaining, 1, memory_order_acq_rel) == 1)
		bench_signal_post(&p->s->done);
	WEFT_ASYNC_END(p);
}

/* Spawns NUM_PINGS ping tasks from inside a task. */
static weft_poll ping_root_poll(weft_future *f, weft_cx *cx)
{
	struct ping *root = (struct ping *)f;
	struct ping ping = { .base = { ping_poll, NULL }, .s = root->s };
	int i;

	(void)cx;
	for (i = 0; i < NUM_PINGS; i++)
		if (weft_spawn(weft_runtime_current(), &ping.base, sizeof ping, NULL) < 0)
			break;
	return WEFT_READY;
}

static int run_ping_pong(void *state, long iterations)
{
	struct rt_state *s = state;
	long it;

	for (it = 0; it < iterations; it++) {
		struct ping root = { .base = { ping_root_poll, NULL }, .s = s };
		int err;

		atomic_store(&s->remaining, NUM_PINGS);
		err = weft_spawn(s->rt, &root.base, sizeof root, NULL);
		if (err < 0)
			return err;
		bench_signal_wait(&s->done, 1);
		if (bench_check(atomic_load(&s->remaining) == 0, "a ping was lost"))
			return -1;
	}
	return 0;
}

/* ---- yield_many ----------------------------------------------------------- */

struct yielder {
	weft_future base;
	struct rt_state *s;
	int left;
};

static weft_poll yielder_poll(weft_future *f, weft_cx *cx)
{
	struct yielder *y = (struct yielder *)f;

	if (y->left-- > 0) {
		weft_waker_wake_by_ref(weft_cx_waker(cx));
		return WEFT_PENDING;
	}
	bench_signal_post(&y->s->done);
	return WEFT_READY;
}

static int run_yield_many(void *state, long iterations)
{
	struct rt_state *s = state;
	struct yielder y = { { yielder_poll, NULL }, s, NUM_YIELD };
	long it;
	int i, err;

	for (it = 0; it < iterations; it++) {
		for (i = 0; i < YIELD_TASKS; i++) {
			err = weft_spawn(s->rt, &y.base, sizeof y, NULL);
			if (err < 0)
				return err;
		}
		bench_signal_wait(&s->done, YIELD_TASKS);
	}
	return 0;
}

/* ---- chained_spawn ------------------------------------------------------- */

struct chained {
	weft_future base;
	struct rt_state *s;
	int n;
};

static weft_poll chained_poll(weft_future *f, weft_cx *cx)
{
	struct chained *c = (struct chained *)f;
	struct chained next = { { chained_poll, NULL }, c->s, c->n - 1 };

	(void)cx;
	if (c->n == 0)
		bench_signal_post(&c->s->done);
	else if (weft_spawn(weft_runtime_current(), &next.base, sizeof next, NULL) < 0)
		bench_signal_post(&c->s->done); /* reported by the count check */
	else
		atomic_fetch_add_explicit(&c->s->remaining, 1, memory_order_relaxed);
	return WEFT_READY;
}

/* Spawns the head of the chain from inside block_on. */
static weft_poll chain_head_poll(weft_future *f, weft_cx *cx)
{
	struct chained *c = (struct chained *)f;
	struct chained first = { { chained_poll, NULL }, c->s, c->n };

	(void)cx;
	if (weft_spawn(weft_runtime_current(), &first.base, sizeof first, NULL) < 0)
		bench_signal_post(&c->s->done);
	return WEFT_READY;
}

static int run_chained_spawn(void *state, long iterations)
{
	struct rt_state *s = state;
	long it;

	for (it = 0; it < iterations; it++) {
		struct chained head = { { chain_head_poll, NULL }, s, CHAIN_LEN };
		int err;

		atomic_store(&s->remaining, 0);
		err = weft_block_on(s->rt, &head.base);
		if (err < 0)
			return err;
		bench_signal_wait(&s->done, 1);
		if (bench_check(atomic_load(&s->remaining) == CHAIN_LEN, "the chain broke"))
			return -1;
	}
	return 0;
}

/* ---- spawn / spawn10 (1 worker) ---------------------------------------------- */

/* Tokio's work(): 1 + 1, yield once, return it. */
struct work {
	weft_future base;
	bool yielded;
	int out;
};

static weft_poll work_poll(weft_future *f, weft_cx *cx)
{
	struct work *w = (struct work *)f;

	if (!w->yielded) {
		w->yielded = true;
		weft_waker_wake_by_ref(weft_cx_waker(cx));
		return WEFT_PENDING;
	}
	w->out = 1 + 1;
	return WEFT_READY;
}

/* In one block_on: `iterations` times spawn `per` work tasks and await them. */
struct spawn_loop {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_join_handle h[10];
	long iterations, it;
	int per, i, err;
	long sum;
};

static weft_poll spawn_loop_poll(weft_future *f, weft_cx *cx)
{
	struct spawn_loop *l = (struct spawn_loop *)f;

	WEFT_ASYNC_BEGIN(l);
	for (l->it = 0; l->it < l->iterations; l->it++) {
		for (l->i = 0; l->i < l->per; l->i++) {
			struct work w = { { work_poll, NULL }, false, 0 };

			l->err = weft_spawn(weft_runtime_current(), &w.base, sizeof w, &l->h[l->i]);
			if (l->err < 0)
				return WEFT_READY;
		}
		for (l->i = 0; l->i < l->per; l->i++) {
			WEFT_AWAIT(l, cx, &l->h[l->i].base);
			if (l->h[l->i].status == 0)
				l->sum += ((struct work *)weft_join_output(&l->h[l->i]))->out;
			weft_join_detach(&l->h[l->i]);
		}
	}
	WEFT_ASYNC_END(l);
}

static int run_spawn_n(void *state, long iterations, int per)
{
	struct rt_state *s = state;
	struct spawn_loop l = { .base = { spawn_loop_poll, NULL }, .iterations = iterations,
				.per = per };
	int err = weft_block_on(s->rt, &l.base);

	if (err < 0)
		return err;
	if (l.err < 0)
		return l.err;
	return bench_check(l.sum == 2 * per * iterations, "a work task was lost");
}

static int run_spawn1(void *state, long iterations)
{
	return run_spawn_n(state, iterations, 1);
}

static int run_spawn10(void *state, long iterations)
{
	return run_spawn_n(state, iterations, 10);
}

/* ---- remote_spawn: 12,800 spawns from N threads ------------------------------ */

struct remote_thread {
	pthread_t th;
	struct rt_state *s;
	long n;
	int err;
};

static void *remote_spawner(void *arg)
{
	struct remote_thread *t = arg;
	struct countdown c = { { countdown_poll, NULL }, t->s };
	long i;

	for (i = 0; i < t->n && t->err == 0; i++)
		t->err = weft_spawn(t->s->rt, &c.base, sizeof c, NULL);
	return NULL;
}

static int run_remote_spawn(void *state, long iterations, int threads)
{
	struct rt_state *s = state;
	struct remote_thread t[8];
	long it;
	int i;

	for (it = 0; it < iterations; it++) {
		atomic_store(&s->remaining, REMOTE_SPAWN);
		for (i = 0; i < threads; i++) {
			t[i].s = s;
			t[i].n = REMOTE_SPAWN / threads;
			t[i].err = 0;
			if (pthread_create(&t[i].th, NULL, remote_spawner, &t[i]) != 0)
				return -EAGAIN;
		}
		for (i = 0; i < threads; i++) {
			pthread_join(t[i].th, NULL);
			if (t[i].err < 0)
				return t[i].err;
		}
		bench_signal_wait(&s->done, 1);
	}
	return 0;
}

static int run_remote_spawn_1(void *state, long iterations)
{
	return run_remote_spawn(state, iterations, 1);
}

static int run_remote_spawn_2(void *state, long iterations)
{
	return run_remote_spawn(state, iterations, 2);
}

static int run_remote_spawn_4(void *state, long iterations)
{
	return run_remote_spawn(state, iterations, 4);
}

/* ---- current-thread rows ------------------------------------------------------ */

/* Spawns 10k empty tasks from inside block_on and awaits every handle. */
struct spawn_join_many {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct join_all join;
	struct rt_state *s;
	int err;
};

static weft_poll spawn_join_many_poll(weft_future *f, weft_cx *cx)
{
	struct spawn_join_many *m = (struct spawn_join_many *)f;
	weft_future e = { empty_poll, NULL };
	long i;

	WEFT_ASYNC_BEGIN(m);
	for (i = 0; i < NUM_SPAWN; i++) {
		m->err = weft_spawn(weft_runtime_current(), &e, sizeof e, &m->s->handles[i]);
		if (m->err < 0)
			return WEFT_READY;
	}
	m->join = (struct join_all){ .base = { join_all_poll, NULL }, .h = m->s->handles,
				     .n = NUM_SPAWN };
	WEFT_AWAIT(m, cx, &m->join.base);
	WEFT_ASYNC_END(m);
}

static int run_ct_spawn_join(void *state, long iterations)
{
	struct rt_state *s = state;
	long it;

	for (it = 0; it < iterations; it++) {
		struct spawn_join_many m = { .base = { spawn_join_many_poll, NULL }, .s = s };
		int err = weft_block_on(s->rt, &m.base);

		if (err < 0 || m.err < 0)
			return err < 0 ? err : m.err;
		if (bench_check(m.join.ok == NUM_SPAWN, "a task did not complete"))
			return -1;
	}
	return 0;
}

/* Yields `left` times inside block_on. */
struct yield_loop {
	weft_future base;
	long left;
};

static weft_poll yield_loop_poll(weft_future *f, weft_cx *cx)
{
	struct yield_loop *y = (struct yield_loop *)f;

	if (y->left-- > 0) {
		weft_waker_wake_by_ref(weft_cx_waker(cx));
		return WEFT_PENDING;
	}
	return WEFT_READY;
}

/* A task that yields `left` times. */
static int run_ct_yield(void *state, long iterations)
{
	struct rt_state *s = state;
	long it;

	for (it = 0; it < iterations; it++) {
		struct yield_loop y = { { yield_loop_poll, NULL }, 1000000 };
		weft_join_handle h;
		int err = weft_spawn(s->rt, &y.base, sizeof y, &h);

		if (err < 0)
			return err;
		err = weft_block_on(s->rt, &h.base);
		if (err < 0)
			return err;
		err = h.status;
		if (bench_check(err == 0 && ((struct yield_loop *)weft_join_output(&h))->left == -1,
				"the yielding task did not finish"))
			err = -1;
		weft_join_detach(&h);
		if (err < 0)
			return err;
	}
	return 0;
}

/* ======================================================================== */
/* mem/idle_task_bytes                                                       */
/* ======================================================================== */

#define IDLE_TASKS 1000000

/* Shared by the idle tasks of one sample. */
struct idle_shared {
	weft_notify never;      /* nobody notifies it until the sample ends */
	_Atomic long parked;    /* tasks that have polled their wait once */
	_Atomic long finished;  /* tasks that saw the end-of-sample wake */
};

/* A task that waits on `never`: the first poll registers the wait. */
struct idle_task {
	weft_future base;
	struct idle_shared *sh;
	weft_notify_future wait;
	bool waiting;
};

static weft_poll idle_task_poll(weft_future *f, weft_cx *cx)
{
	struct idle_task *t = (struct idle_task *)f;

	if (!t->waiting) {
		weft_notify_notified(&t->sh->never, &t->wait);
		t->waiting = true;
		if (weft_future_poll(&t->wait.base, cx) == WEFT_PENDING) {
			atomic_fetch_add_explicit(&t->sh->parked, 1, memory_order_relaxed);
			return WEFT_PENDING;
		}
		atomic_fetch_add_explicit(&t->sh->parked, 1, memory_order_relaxed);
	} else if (weft_future_poll(&t->wait.base, cx) == WEFT_PENDING) {
		return WEFT_PENDING;
	}
	weft_future_drop(&t->wait.base);
	t->waiting = false;
	atomic_fetch_add_explicit(&t->sh->finished, 1, memory_order_relaxed);
	return WEFT_READY;
}

static void idle_task_drop(weft_future *f)
{
	struct idle_task *t = (struct idle_task *)f;

	if (t->waiting)
		weft_future_drop(&t->wait.base);
}

/* Waits (sleeping 1 ms at a time) until *counter reaches `want`; gives up
 * after about 60 s.  Returns 0 or -1. */
static int wait_count(_Atomic long *counter, long want, const char *what)
{
	int ms;

	for (ms = 0; ms < 60000; ms++) {
		if (atomic_load_explicit(counter, memory_order_relaxed) >= want)
			return 0;
		bench_sleep_ms(1);
	}
	return bench_check(0, what);
}

/* One sample: resident bytes before, 10^6 idle tasks spawned and parked,
 * resident bytes after; the value is the difference per task.  Then every
 * task is woken and finishes, so a further sample starts from an idle
 * runtime (though its memory is then reused and reads lower: bench/run
 * takes one sample per process). */
static int sample_idle_task_bytes(void *state, double *value)
{
	struct rt_state *s = state;
	struct idle_shared *sh = calloc(1, sizeof(*sh));
	uint64_t before, after;
	long i;
	int err = 0;

	if (sh == NULL || weft_notify_init(&sh->never) != 0) {
		free(sh);
		return -ENOMEM;
	}
	before = bench_rss_bytes();
	for (i = 0; i < IDLE_TASKS && err == 0; i++) {
		struct idle_task t;

		memset(&t, 0, sizeof(t));
		t.base.poll = idle_task_poll;
		t.base.drop = idle_task_drop;
		t.sh = sh;
		err = weft_spawn(s->rt, &t.base, sizeof(t), NULL);
	}
	if (err == 0)
		err = wait_count(&sh->parked, IDLE_TASKS, "the idle tasks did not all park");
	after = bench_rss_bytes();
	*value = ((double)after - (double)before) / (double)IDLE_TASKS;
	weft_notify_waiters(&sh->never);
	if (wait_count(&sh->finished, i, "the idle tasks did not all finish") != 0)
		return -1; /* tasks still reference sh: leak it */
	weft_notify_finish(&sh->never);
	free(sh);
	if (err == 0 && before == 0)
		err = bench_check(0, "no resident-memory figure (/proc/self/statm)");
	return err;
}

static int setup_idle(const struct bench_case *bc, int workers, void **state)
{
	(void)bc;
	*state = state_new(workers, false, 0);
	return *state != NULL ? 0 : -ENOMEM;
}

const struct bench_case weft_rt_cases[] = {
	{ "rt_multi/spawn_many_local", RT_WORKERS, 100, 5, 1, setup_multi,
	  run_spawn_many_local, teardown, NULL },
	{ "rt_multi/spawn_many_remote_idle", RT_WORKERS, 100, 5, 1, setup_multi,
	  run_spawn_many_remote, teardown, NULL },
	{ "rt_multi/spawn_many_remote_busy1", RT_WORKERS, 50, 3, 1, setup_busy1,
	  run_spawn_many_remote, teardown, NULL },
	{ "rt_multi/spawn_many_remote_busy2", RT_WORKERS, 20, 2, 1, setup_busy2,
	  run_spawn_many_remote_busy2, teardown, NULL },
	{ "rt_multi/ping_pong", RT_WORKERS, 300, 10, 1, setup_multi, run_ping_pong, teardown,
	  NULL },
	{ "rt_multi/yield_many", RT_WORKERS, 25, 2, 1, setup_multi, run_yield_many, teardown,
	  NULL },
	{ "rt_multi/chained_spawn", RT_WORKERS, 1000, 20, 1, setup_multi, run_chained_spawn,
	  teardown, NULL },
	{ "spawn/spawn", 1, 3000, 50, 20, setup_multi, run_spawn1, teardown, NULL },
	{ "spawn/spawn10", 1, 1000, 50, 10, setup_multi, run_spawn10, teardown, NULL },
	{ "remote_spawn/threads_1", 0, 40, 3, 1, setup_multi, run_remote_spawn_1, teardown,
	  NULL },
	{ "remote_spawn/threads_2", 0, 40, 3, 1, setup_multi, run_remote_spawn_2, teardown,
	  NULL },
	{ "remote_spawn/threads_4", 0, 40, 3, 1, setup_multi, run_remote_spawn_4, teardown,
	  NULL },
	{ "current_thread/spawn_join_10k", 1, 100, 5, 1, setup_current, run_ct_spawn_join,
	  teardown, NULL },
	{ "current_thread/yield_1m", 1, 10, 2, 1, setup_current, run_ct_yield, teardown, NULL },
	{ "mem/idle_task_bytes", 0, 1, 0, 1, setup_idle, NULL, teardown, NULL,
	  sample_idle_task_bytes, "bytes" },
};

const size_t weft_rt_cases_len = BENCH_COUNT(weft_rt_cases);

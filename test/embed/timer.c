/*
 * A real short sleep inside a current-thread runtime driven by a plain
 * poll() host loop (weft/embed.h): the timer fires through the backend
 * timeout alone, completes, and is never early (its task wakes at or after
 * the deadline, and the host never wakes before the deadline it was
 * given).  No duration is asserted.  Also: the timeout is -1 with nothing
 * pending, 0 with work ready, and positive but not past the timer while
 * only the timer waits.
 */
#include "embed_test.h"

struct sleeper {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_runtime *rt;
	uint64_t dur;
	weft_sleep_future sl;
	uint64_t start, end, deadline;
	int result;
	_Atomic int *done;
};

static weft_poll sleeper_poll(weft_future *f, weft_cx *cx)
{
	struct sleeper *s = (struct sleeper *)f;

	WEFT_ASYNC_BEGIN(s);
	s->start = weft_now(s->rt);
	weft_sleep(&s->sl, NULL, s->dur);
	WEFT_AWAIT(s, cx, &s->sl.base);
	s->end = weft_now(s->rt);
	s->result = s->sl.result;
	s->deadline = weft_sleep_deadline(&s->sl);
	weft_future_drop(&s->sl.base);
	atomic_fetch_add(s->done, 1);
	WEFT_ASYNC_END(s);
}

static void sleeper_drop(weft_future *f)
{
	struct sleeper *s = (struct sleeper *)f;

	if (s->weft_resume_ > 0)
		weft_future_drop(&s->sl.base);
}

/* A sleep of `ms`; the results land in *out when it completes. */
static struct sleeper sleeper_make(weft_runtime *rt, uint64_t ms, _Atomic int *done)
{
	struct sleeper s;

	memset(&s, 0, sizeof(s));
	s.base.poll = sleeper_poll;
	s.base.drop = sleeper_drop;
	s.rt = rt;
	s.dur = ms * WEFT_MS;
	s.done = done;
	return s;
}

/* Collects a finished sleeper's fields through a join handle. */
struct sleep_out {
	weft_future base;
	struct sleeper s;
	struct sleeper *out;
};

static weft_poll sleep_out_poll(weft_future *f, weft_cx *cx)
{
	struct sleep_out *o = (struct sleep_out *)f;

	if (sleeper_poll(&o->s.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	*o->out = o->s;
	return WEFT_READY;
}

static void sleep_out_drop(weft_future *f)
{
	sleeper_drop(&((struct sleep_out *)f)->s.base);
}

static void one_sleep(uint64_t ms)
{
	weft_runtime *rt = emb_runtime(false);
	_Atomic int done = 0;
	struct sleeper got;
	struct sleep_out o;
	struct emb_stats st = { 0 };
	int to;

	memset(&got, 0, sizeof(got));
	CHECK(weft_runtime_backend_fd(rt) >= 0);
	/* Nothing pending: no timeout. */
	emb_drain(rt);
	CHECK_EQ(weft_runtime_backend_timeout(rt), -1);
	o.base.poll = sleep_out_poll;
	o.base.drop = sleep_out_drop;
	o.s = sleeper_make(rt, ms, &done);
	o.out = &got;
	emb_spawn(rt, &o, sizeof(o));
	/* A spawned task is ready: 0. */
	CHECK_EQ(weft_runtime_backend_timeout(rt), 0);
	emb_drain(rt);
	if (atomic_load(&done) == 0) {
		/* Only the timer waits: a timeout no later than the timer. */
		to = weft_runtime_backend_timeout(rt);
		CHECK(to >= 0);
		CHECK(to <= (int)ms + 1);
	}
	emb_run(rt, &done, &st);
	CHECK_EQ(atomic_load(&done), 1);
	CHECK_EQ(got.result, 0);
	/* Never early. */
	CHECK(got.deadline >= got.start + ms * WEFT_MS);
	CHECK(got.end >= got.deadline);
	emb_drain(rt);
	CHECK_EQ(weft_runtime_backend_timeout(rt), -1);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* Several sleeps at once, in one host loop: each completes, none early. */
static void many_sleeps(void)
{
	static const uint64_t ms[] = { 3, 1, 7, 2, 5, 0, 4 };
	weft_runtime *rt = emb_runtime(false);
	struct sleeper got[7];
	struct sleep_out o;
	_Atomic int done = 0;
	struct emb_stats st = { 0 };
	unsigned i;

	CHECK(weft_runtime_backend_fd(rt) >= 0);

	memset(got, 0, sizeof(got));
	for (i = 0; i < 7; i++) {
		o.base.poll = sleep_out_poll;
		o.base.drop = sleep_out_drop;
		o.s = sleeper_make(rt, ms[i], &done);
		o.out = &got[i];
		emb_spawn(rt, &o, sizeof(o));
	}
	/* emb_run stops when done is set: wait until all seven are. */
	while (atomic_load(&done) < 7) {
		emb_drain(rt);
		if (atomic_load(&done) == 7)
			break;
		{
			int to = weft_runtime_backend_timeout(rt);
			int fd = weft_runtime_backend_fd(rt);
			uint64_t deadline = weft__time_park_deadline(rt->time);

			CHECK(to >= 0); /* a timer always waits here */
			if (emb_readable(fd, to) == 0 && to > 0)
				CHECK(weft__now_ns() >= deadline);
		}
		st.turns++;
	}
	for (i = 0; i < 7; i++) {
		CHECK_EQ(got[i].result, 0);
		CHECK(got[i].deadline >= got[i].start + got[i].dur);
		CHECK(got[i].end >= got[i].deadline);
	}
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/*
 * A timer of the embedded runtime registered from another thread (a sleep
 * bound to it, polled by a block_on on a second runtime): the host, asleep
 * on the fd with no timeout, is woken to re-read the timeout, and the
 * embedded runtime's tick fires the timer.
 */
struct foreign {
	weft_runtime *rt;
	uint64_t deadline, end;
	int result;
	_Atomic int *done;
	unsigned wait_for; /* emb_wait_host_waiting's n before the timer starts */
};

static void *foreign_main(void *arg)
{
	struct foreign *fo = arg;
	weft_runtime *other = emb_runtime(false);
	weft_sleep_future sl;

	/* The host sleeps on the fd with no timeout when the timer starts. */
	emb_wait_host_waiting(fo->wait_for);
	weft_sleep(&sl, fo->rt, 10 * WEFT_MS);
	CHECK_EQ(weft_block_on(other, &sl.base), 0);
	fo->result = sl.result;
	fo->deadline = weft_sleep_deadline(&sl);
	fo->end = weft_now(fo->rt);
	weft_future_drop(&sl.base);
	CHECK_EQ(weft_runtime_destroy(other), 0);
	/* Tell the host through the runtime, which wakes it. */
	{
		struct test_count_task d = { { test_count_task_poll, NULL }, fo->done };

		CHECK_EQ(weft_spawn(fo->rt, &d.base, sizeof(d), NULL), 0);
	}
	return NULL;
}

static void timer_from_thread(void)
{
	weft_runtime *rt = emb_runtime(false);
	_Atomic int done = 0;
	struct foreign fo = { rt, 0, 0, 1, &done, 0 };
	struct emb_stats st = { 0 };
	pthread_t th;
	int fd = weft_runtime_backend_fd(rt);

	CHECK(fd >= 0);
	emb_drain(rt);
	CHECK_EQ(weft_runtime_backend_timeout(rt), -1);
	fo.wait_for = atomic_load(&emb_waits_begun) + 1;
	CHECK_EQ(pthread_create(&th, NULL, foreign_main, &fo), 0);
	emb_run(rt, &done, &st);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(fo.result, 0);
	CHECK(fo.end >= fo.deadline);
	CHECK(st.fd_wakes >= 1); /* the new timer signalled the fd */
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

int main(void)
{
	timer_from_thread();
	one_sleep(20);
	one_sleep(1);
	many_sleeps();
	printf("ok\n");
	return 0;
}

/*
 * Ending a task releases what its future holds (issue 9.2): the future's
 * drop runs when the task finishes, not when its join handle is released,
 * while its result fields stay readable through weft_join_output until then.
 *
 * The regression: a task that releases its mpsc sender in its drop, and
 * whose handle is still held, kept the channel open, so the sink of a
 * pipeline never saw end-of-stream.  The last part races completions
 * against handles being released, joined and kept, from several threads.
 */
#include "test.h"

#define VALUES 1000

/* Sends VALUES values and finishes; its drop releases the sender. */
struct source {
	weft_future base;
	weft_mpsc_tx *tx;
	_Atomic int *drops;
	long sent; /* result */
};

static weft_poll source_poll(weft_future *f, weft_cx *cx)
{
	struct source *s = (struct source *)f;
	long v;

	(void)cx;
	for (v = 0; v < VALUES; v++)
		CHECK_EQ(weft_mpsc_try_send(s->tx, &v), 0);
	s->sent = VALUES;
	return WEFT_READY;
}

static void source_drop(weft_future *f)
{
	struct source *s = (struct source *)f;

	weft_mpsc_tx_release(s->tx);
	s->tx = NULL;
	atomic_fetch_add(s->drops, 1);
}

/* Forwards from `rx` to `tx` (bounded: the send may wait) until
 * end-of-stream; its drop releases both.  It always runs to the end here. */
struct stage {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_rx *rx;
	weft_mpsc_tx *tx;
	weft_mpsc_recv_future recv;
	weft_mpsc_send_future send;
	long value;
	long forwarded; /* result */
};

static weft_poll stage_poll(weft_future *f, weft_cx *cx)
{
	struct stage *s = (struct stage *)f;

	WEFT_ASYNC_BEGIN(s);
	for (;;) {
		weft_mpsc_recv(s->rx, &s->value, &s->recv);
		WEFT_AWAIT(s, cx, &s->recv.base);
		if (s->recv.status == -EPIPE)
			break;
		CHECK_EQ(s->recv.status, 0);
		weft_mpsc_send(s->tx, &s->value, &s->send);
		WEFT_AWAIT(s, cx, &s->send.base);
		CHECK_EQ(s->send.status, 0);
		weft_future_drop(&s->send.base);
		s->forwarded++;
	}
	WEFT_ASYNC_END(s);
}

static void stage_drop(weft_future *f)
{
	struct stage *s = (struct stage *)f;

	weft_mpsc_rx_release(s->rx);
	weft_mpsc_tx_release(s->tx);
}

/* Sums what arrives until end-of-stream. */
struct sink {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_rx *rx;
	weft_mpsc_recv_future recv;
	long value;
	long count, sum; /* results */
};

static weft_poll sink_poll(weft_future *f, weft_cx *cx)
{
	struct sink *s = (struct sink *)f;

	WEFT_ASYNC_BEGIN(s);
	for (;;) {
		weft_mpsc_recv(s->rx, &s->value, &s->recv);
		WEFT_AWAIT(s, cx, &s->recv.base);
		if (s->recv.status == -EPIPE)
			break;
		s->count++;
		s->sum += s->value;
	}
	WEFT_ASYNC_END(s);
}

static void sink_drop(weft_future *f)
{
	weft_mpsc_rx_release(((struct sink *)f)->rx);
}

static int join_on(weft_runtime *rt, unsigned workers, weft_join_handle *h)
{
	if (workers == 0) {
		CHECK_EQ(weft_block_on(rt, &h->base), 0);
		return h->status;
	}
	return weft_join(h);
}

/* The finished task's drop closed the channel before the join returned. */
static void test_drop_at_completion(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	_Atomic int drops = 0;
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	struct source src = { { source_poll, source_drop }, NULL, &drops, 0 };
	weft_join_handle h;
	long v, expect = 0;
	int err;

	CHECK_EQ(weft_mpsc_unbounded(sizeof(long), &tx, &rx), 0);
	src.tx = tx;
	CHECK_EQ(weft_spawn(rt, &src.base, sizeof src, &h), 0);
	CHECK_EQ(join_on(rt, workers, &h), 0);
	/* The handle is still held: the drop has run all the same... */
	CHECK_EQ(atomic_load(&drops), 1);
	/* ...the result fields are still readable... */
	CHECK_EQ(((struct source *)weft_join_output(&h))->sent, VALUES);
	CHECK(((struct source *)weft_join_output(&h))->tx == NULL);
	/* ...and the receiver sees every value, then end-of-stream. */
	while ((err = weft_mpsc_try_recv(rx, &v)) == 0)
		CHECK_EQ(v, expect++);
	CHECK_EQ(expect, VALUES);
	CHECK_EQ(err, -EPIPE);
	weft_join_detach(&h);
	CHECK_EQ(atomic_load(&drops), 1); /* releasing the handle drops nothing */
	weft_mpsc_rx_release(rx);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/*
 * source -> stage -> sink, every handle held until the sink is done: the
 * sink sees end-of-stream only because the finished source's drop, and then
 * the finished stage's, released their senders.
 */
static void test_pipeline(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	_Atomic int drops = 0;
	weft_mpsc_tx *tx1, *tx2;
	weft_mpsc_rx *rx1, *rx2;
	weft_join_handle hs, hm, hk;
	struct source src = { { source_poll, source_drop }, NULL, &drops, 0 };
	struct stage mid = { .base = { stage_poll, stage_drop } };
	struct sink snk = { .base = { sink_poll, sink_drop } };
	struct sink *out;

	CHECK_EQ(weft_mpsc_unbounded(sizeof(long), &tx1, &rx1), 0);
	CHECK_EQ(weft_mpsc_bounded(sizeof(long), 16, &tx2, &rx2), 0);
	snk.rx = rx2;
	mid.rx = rx1;
	mid.tx = tx2;
	src.tx = tx1;
	CHECK_EQ(weft_spawn(rt, &snk.base, sizeof snk, &hk), 0);
	CHECK_EQ(weft_spawn(rt, &mid.base, sizeof mid, &hm), 0);
	CHECK_EQ(weft_spawn(rt, &src.base, sizeof src, &hs), 0);
	CHECK_EQ(join_on(rt, workers, &hk), 0);
	out = weft_join_output(&hk);
	CHECK(out != NULL);
	CHECK_EQ(out->count, VALUES);
	CHECK_EQ(out->sum, (long)VALUES * (VALUES - 1) / 2);
	CHECK_EQ(join_on(rt, workers, &hm), 0);
	CHECK_EQ(((struct stage *)weft_join_output(&hm))->forwarded, VALUES);
	CHECK_EQ(join_on(rt, workers, &hs), 0);
	CHECK_EQ(atomic_load(&drops), 1);
	weft_join_detach(&hk);
	weft_join_detach(&hm);
	weft_join_detach(&hs);
	CHECK_EQ(atomic_load(&drops), 1);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* Sends its id through its own sender clone and finishes. */
struct sender_task {
	weft_future base;
	weft_mpsc_tx *tx;
	long id;
};

static weft_poll sender_task_poll(weft_future *f, weft_cx *cx)
{
	struct sender_task *t = (struct sender_task *)f;

	(void)cx;
	CHECK_EQ(weft_mpsc_try_send(t->tx, &t->id), 0);
	return WEFT_READY;
}

static void sender_task_drop(weft_future *f)
{
	weft_mpsc_tx_release(((struct sender_task *)f)->tx);
}

#define STRESS_THREADS 2
#define STRESS_TASKS 20000

struct stress_thread {
	weft_runtime *rt;
	weft_mpsc_tx *tx;
	long first;
	weft_join_handle *kept; /* released only after the sink saw the end */
};

static void *stress_spawner(void *arg)
{
	struct stress_thread *a = arg;
	unsigned rng = (unsigned)a->first * 2654435761u + 1;
	long i;

	for (i = 0; i < STRESS_TASKS; i++) {
		struct sender_task t = { { sender_task_poll, sender_task_drop }, NULL,
					 a->first + i };
		weft_join_handle h;

		t.tx = weft_mpsc_tx_clone(a->tx);
		CHECK(t.tx != NULL);
		rng = rng * 1103515245u + 12345u;
		switch ((rng >> 8) % 3) {
		case 0: /* no handle */
			CHECK_EQ(weft_spawn(a->rt, &t.base, sizeof t, NULL), 0);
			a->kept[i].task = NULL;
			break;
		case 1: /* released at once, racing the completion */
			CHECK_EQ(weft_spawn(a->rt, &t.base, sizeof t, &h), 0);
			weft_join_detach(&h);
			a->kept[i].task = NULL;
			break;
		default: /* kept while the sink waits for the end */
			CHECK_EQ(weft_spawn(a->rt, &t.base, sizeof t, &a->kept[i]), 0);
			break;
		}
	}
	weft_mpsc_tx_release(a->tx);
	return NULL;
}

static void test_stress(long rounds)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime *rt = test_runtime(2, &alloc);
	struct stress_thread args[STRESS_THREADS];
	pthread_t th[STRESS_THREADS];
	long round, i;
	int k;

	for (k = 0; k < STRESS_THREADS; k++) {
		args[k].kept = calloc(STRESS_TASKS, sizeof(weft_join_handle));
		CHECK(args[k].kept != NULL);
	}
	for (round = 0; round < rounds; round++) {
		weft_mpsc_tx *tx;
		weft_mpsc_rx *rx;
		struct sink snk = { .base = { sink_poll, sink_drop } };
		weft_join_handle hk;
		struct sink *out;

		CHECK_EQ(weft_mpsc_unbounded(sizeof(long), &tx, &rx), 0);
		snk.rx = rx;
		CHECK_EQ(weft_spawn(rt, &snk.base, sizeof snk, &hk), 0);
		for (k = 0; k < STRESS_THREADS; k++) {
			args[k].rt = rt;
			args[k].tx = k == 0 ? tx : weft_mpsc_tx_clone(tx);
			args[k].first = (long)k * STRESS_TASKS;
			CHECK(args[k].tx != NULL);
		}
		for (k = 0; k < STRESS_THREADS; k++)
			CHECK_EQ(pthread_create(&th[k], NULL, stress_spawner, &args[k]), 0);
		for (k = 0; k < STRESS_THREADS; k++)
			pthread_join(th[k], NULL);
		/* Every sender is gone once every task has ended, although a
		 * third of the handles are still held. */
		CHECK_EQ(weft_join(&hk), 0);
		out = weft_join_output(&hk);
		CHECK_EQ(out->count, (long)STRESS_THREADS * STRESS_TASKS);
		CHECK_EQ(out->sum, (long)STRESS_THREADS * STRESS_TASKS *
					   (STRESS_THREADS * STRESS_TASKS - 1) / 2);
		weft_join_detach(&hk);
		for (k = 0; k < STRESS_THREADS; k++) {
			for (i = 0; i < STRESS_TASKS; i++) {
				if (args[k].kept[i].task == NULL)
					continue;
				CHECK_EQ(weft_join_try(&args[k].kept[i]), 0);
				weft_join_detach(&args[k].kept[i]);
			}
		}
	}
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	for (k = 0; k < STRESS_THREADS; k++)
		free(args[k].kept);
}

int main(void)
{
	test_drop_at_completion(0);
	test_drop_at_completion(2);
	test_pipeline(0);
	test_pipeline(2);
	test_stress(3 * test_scale());
	return 0;
}

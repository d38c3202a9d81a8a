/*
 * Bad input and misuse of the embedding API (weft/embed.h): NULL, a
 * multi-threaded runtime, a zero budget (-EINVAL, nothing runs); a tick
 * from inside a task or a block_on future (-EDEADLK); a tick while another
 * thread is inside weft_block_on, and weft_block_on while a tick runs on
 * another thread (-EBUSY both); the timeout while another thread drives
 * (-1, and the fd turns readable when that thread leaves).
 */
#include "embed_test.h"

static void nulls_and_flavour(void)
{
	weft_runtime *mt = drv_runtime(1);
	weft_runtime *rt = emb_runtime(false);
	static _Atomic int runs;
	weft_ready r;

	CHECK_EQ(weft_runtime_tick(NULL, 1), -EINVAL);
	CHECK_EQ(weft_runtime_backend_fd(NULL), -EINVAL);
	CHECK_EQ(weft_runtime_backend_timeout(NULL), -EINVAL);
	CHECK_EQ(weft_runtime_tick(mt, 1), -EINVAL);
	CHECK_EQ(weft_runtime_backend_fd(mt), -EINVAL);
	CHECK_EQ(weft_runtime_backend_timeout(mt), -EINVAL);
	CHECK_EQ(weft_runtime_destroy(mt), 0);
	/* A zero budget runs nothing and changes nothing. */
	weft_ready_init(&r, (void *)&runs);
	CHECK_EQ(weft_spawn(rt, &r.base, sizeof(r), NULL), 0);
	CHECK_EQ(weft_runtime_tick(rt, 0), -EINVAL);
	CHECK_EQ(weft_runtime_backend_timeout(rt), 0); /* still ready */
	CHECK_EQ(weft_runtime_tick(rt, 1), 0);
	CHECK_EQ(weft_runtime_backend_timeout(rt), -1);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* Calls the API from inside a task. */
struct inner {
	weft_future base;
	weft_runtime *rt, *other;
	int tick, tick_other, fd, timeout;
};

static weft_poll inner_poll(weft_future *f, weft_cx *cx)
{
	struct inner *t = (struct inner *)f;

	(void)cx;
	t->tick = weft_runtime_tick(t->rt, 1);
	t->tick_other = weft_runtime_tick(t->other, 1);
	t->fd = weft_runtime_backend_fd(t->rt);
	t->timeout = weft_runtime_backend_timeout(t->rt);
	return WEFT_READY;
}

static void from_inside(void)
{
	weft_runtime *rt = emb_runtime(false), *other = emb_runtime(false);
	struct inner t = { { inner_poll, NULL }, rt, other, 1, 1, -1, -2 };
	struct inner *out;
	weft_join_handle h;

	CHECK_EQ(weft_spawn(rt, &t.base, sizeof(t), &h), 0);
	emb_drain(rt);
	CHECK_EQ(weft_join_try(&h), 0);
	out = weft_join_output(&h);
	CHECK_EQ(out->tick, -EDEADLK);
	CHECK_EQ(out->tick_other, -EDEADLK);
	CHECK_EQ(out->fd, weft_runtime_backend_fd(rt));
	CHECK(out->timeout >= -1); /* an answer, not an error */
	weft_join_detach(&h);
	/* The main future of a block_on is inside the runtime too. */
	t.tick = t.tick_other = 1;
	CHECK_EQ(weft_block_on(rt, &t.base), 0);
	CHECK_EQ(t.tick, -EDEADLK);
	CHECK_EQ(t.tick_other, -EDEADLK);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(weft_runtime_destroy(other), 0);
}

/* A future that reports its first poll and then waits for a oneshot. */
struct gate {
	weft_future base;
	weft_oneshot *os;
	weft_oneshot_recv_future recv;
	int value;
	bool started;
	struct test_event *polled;
};

static weft_poll gate_poll(weft_future *f, weft_cx *cx)
{
	struct gate *g = (struct gate *)f;

	if (!g->started) {
		g->started = true;
		CHECK_EQ(weft_oneshot_recv(g->os, &g->value, &g->recv), 0);
	}
	if (weft_future_poll(&g->recv.base, cx) == WEFT_PENDING) {
		test_event_set(g->polled);
		return WEFT_PENDING;
	}
	return WEFT_READY;
}

struct blocker {
	weft_runtime *rt;
	struct gate *g;
	int rc;
};

static void *blocker_main(void *arg)
{
	struct blocker *b = arg;

	b->rc = weft_block_on(b->rt, &b->g->base);
	return NULL;
}

static void busy_during_block_on(void)
{
	weft_runtime *rt = emb_runtime(false);
	int fd = weft_runtime_backend_fd(rt), one = 1;
	struct test_event polled;
	weft_oneshot *os;
	struct gate g;
	struct blocker b;
	pthread_t th;

	emb_drain(rt);
	CHECK_EQ(emb_readable(fd, 0), 0);
	CHECK_EQ(weft_oneshot_create(sizeof(int), &os), 0);
	test_event_init(&polled);
	memset(&g, 0, sizeof(g));
	g.base.poll = gate_poll;
	g.os = os;
	g.polled = &polled;
	b.rt = rt;
	b.g = &g;
	b.rc = 1;
	CHECK_EQ(pthread_create(&th, NULL, blocker_main, &b), 0);
	test_event_wait(&polled); /* the thread is inside block_on */
	CHECK_EQ(weft_runtime_tick(rt, 1), -EBUSY);
	/* Someone else drives: wait for the fd... */
	CHECK_EQ(weft_runtime_backend_timeout(rt), -1);
	CHECK_EQ(weft_oneshot_send(os, &one), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(b.rc, 0);
	CHECK_EQ(g.value, 1);
	/* ...which turns readable when block_on leaves. */
	CHECK_EQ(emb_readable(fd, EMB_LOST_MS), 1);
	emb_drain(rt);
	CHECK_EQ(emb_readable(fd, 0), 0);
	weft_future_drop(&g.recv.base); /* the receive completed: os is freed */
	test_event_finish(&polled);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* A task that blocks its tick (a test only!) until released. */
struct holder {
	weft_future base;
	struct test_event *inside, *release;
};

static weft_poll holder_poll(weft_future *f, weft_cx *cx)
{
	struct holder *h = (struct holder *)f;

	(void)cx;
	test_event_set(h->inside);
	test_event_wait(h->release);
	return WEFT_READY;
}

struct ticker {
	weft_runtime *rt;
	int rc;
};

static void *ticker_main(void *arg)
{
	struct ticker *t = arg;

	t->rc = weft_runtime_tick(t->rt, WEFT_TICK_BUDGET);
	return NULL;
}

static void busy_during_tick(void)
{
	weft_runtime *rt = emb_runtime(false);
	struct test_event inside, release;
	struct holder h = { { holder_poll, NULL }, &inside, &release };
	struct ticker t = { rt, 7 };
	weft_ready r;
	pthread_t th;

	test_event_init(&inside);
	test_event_init(&release);
	emb_spawn(rt, &h, sizeof(h));
	CHECK_EQ(pthread_create(&th, NULL, ticker_main, &t), 0);
	test_event_wait(&inside);
	weft_ready_init(&r, NULL);
	CHECK_EQ(weft_block_on(rt, &r.base), -EBUSY);
	CHECK_EQ(weft_runtime_tick(rt, 1), -EBUSY);
	test_event_set(&release);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(t.rc, 0);
	CHECK_EQ(weft_block_on(rt, &r.base), 0);
	test_event_finish(&inside);
	test_event_finish(&release);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

int main(void)
{
	nulls_and_flavour();
	from_inside();
	busy_during_block_on();
	busy_during_tick();
	printf("ok\n");
	return 0;
}

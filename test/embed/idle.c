/*
 * The backend fd is not readable when nothing is pending (after a tick
 * drained the runtime), whatever waits: nothing, a read on an empty pipe,
 * a long timer, a channel receive; a wake from another thread makes it
 * readable without any tick in between, a tick drains it again, and
 * several wakes between two ticks cost one driver wake.  A weft_block_on
 * of an embedded runtime leaves the fd readable once.
 */
#include "embed_test.h"

/* Receives from rx for ever, counting. */
struct counter {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_rx *rx;
	weft_mpsc_recv_future recv;
	int value;
	_Atomic int *count;
};

static weft_poll counter_poll(weft_future *f, weft_cx *cx)
{
	struct counter *c = (struct counter *)f;

	WEFT_ASYNC_BEGIN(c);
	for (;;) {
		weft_mpsc_recv(c->rx, &c->value, &c->recv);
		WEFT_AWAIT(c, cx, &c->recv.base);
		weft_future_drop(&c->recv.base);
		atomic_fetch_add(c->count, 1);
	}
	WEFT_ASYNC_END(c);
}

static void counter_drop(weft_future *f)
{
	struct counter *c = (struct counter *)f;

	if (c->weft_resume_ > 0)
		weft_future_drop(&c->recv.base);
}

/* Waits on a pipe that is never written. */
struct idle_read {
	weft_future base;
	weft_read r;
	char buf[8];
};

static weft_poll idle_read_poll(weft_future *f, weft_cx *cx)
{
	struct idle_read *t = (struct idle_read *)f;

	return weft_future_poll(&t->r.base, cx);
}

static void idle_read_drop(weft_future *f)
{
	weft_future_drop(&((struct idle_read *)f)->r.base);
}

struct long_sleep {
	weft_future base;
	weft_sleep_future s;
};

static weft_poll long_sleep_poll(weft_future *f, weft_cx *cx)
{
	return weft_future_poll(&((struct long_sleep *)f)->s.base, cx);
}

static void long_sleep_drop(weft_future *f)
{
	weft_future_drop(&((struct long_sleep *)f)->s.base);
}

struct sends {
	weft_mpsc_tx *tx;
	int n;
};

static void *send_main(void *arg)
{
	struct sends *s = arg;
	int i;

	for (i = 0; i < s->n; i++)
		CHECK_EQ(weft_mpsc_try_send(s->tx, &i), 0);
	return NULL;
}

static void send_from_thread(weft_mpsc_tx *tx, int n)
{
	struct sends s = { tx, n };
	pthread_t th;

	CHECK_EQ(pthread_create(&th, NULL, send_main, &s), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
}

static void idle_then_wake(void)
{
	weft_runtime *rt = emb_runtime(false);
	_Atomic int count = 0;
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	struct counter c;
	struct idle_read ir;
	struct long_sleep ls;
	int fd, pfd[2], round;
	uint64_t wakes;

	fd = weft_runtime_backend_fd(rt);
	CHECK(fd >= 0);
	CHECK_EQ(weft_runtime_backend_fd(rt), fd); /* the same fd for ever */
	/* Nothing at all. */
	emb_drain(rt);
	CHECK_EQ(emb_readable(fd, 0), 0);
	/* A read on an empty pipe waits in the driver. */
	CHECK_EQ(pipe2(pfd, O_CLOEXEC), 0);
	memset(&ir, 0, sizeof(ir));
	ir.base.poll = idle_read_poll;
	ir.base.drop = idle_read_drop;
	CHECK_EQ(weft_read_init(&ir.r, pfd[0], ir.buf, sizeof(ir.buf)), 0);
	emb_spawn(rt, &ir, sizeof(ir));
	/* A long timer. */
	memset(&ls, 0, sizeof(ls));
	ls.base.poll = long_sleep_poll;
	ls.base.drop = long_sleep_drop;
	weft_sleep(&ls.s, NULL, 3600 * WEFT_SEC);
	emb_spawn(rt, &ls, sizeof(ls));
	/* A channel receive. */
	CHECK_EQ(weft_mpsc_unbounded(sizeof(int), &tx, &rx), 0);
	memset(&c, 0, sizeof(c));
	c.base.poll = counter_poll;
	c.base.drop = counter_drop;
	c.rx = rx;
	c.count = &count;
	emb_spawn(rt, &c, sizeof(c));
	/* Spawning from this thread, outside a tick, signalled the fd. */
	CHECK_EQ(emb_readable(fd, 0), 1);
	emb_drain(rt);
	CHECK_EQ(emb_readable(fd, 0), 0);
	CHECK(weft_runtime_backend_timeout(rt) > 0);
	for (round = 1; round <= 20; round++) {
		/* One message from another thread: readable, no tick needed. */
		send_from_thread(tx, 1);
		CHECK_EQ(emb_readable(fd, EMB_LOST_MS), 1);
		CHECK_EQ(atomic_load(&count), round - 1); /* not run yet */
		emb_drain(rt);
		CHECK_EQ(atomic_load(&count), round);
		CHECK_EQ(emb_readable(fd, 0), 0);
	}
	/* Five messages between two ticks: one driver wake. */
	wakes = drv_counter(&weft__driver_counters.wakes);
	send_from_thread(tx, 5);
	CHECK_EQ(drv_counter(&weft__driver_counters.wakes), wakes + 1);
	CHECK_EQ(emb_readable(fd, EMB_LOST_MS), 1);
	emb_drain(rt);
	CHECK_EQ(atomic_load(&count), 25);
	CHECK_EQ(emb_readable(fd, 0), 0);
	weft_mpsc_tx_release(tx);
	weft_mpsc_rx_release(rx);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	close(pfd[0]);
	close(pfd[1]);
}

/* A task that stores its waker, for a plain thread to wake. */
static weft_waker stored;
static _Atomic int polls;

static weft_poll parked_poll(weft_future *f, weft_cx *cx)
{
	(void)f;
	if (atomic_fetch_add(&polls, 1) == 0) {
		stored = weft_waker_clone(weft_cx_waker(cx));
		return WEFT_PENDING;
	}
	return WEFT_READY;
}

static void *wake_main(void *arg)
{
	(void)arg;
	weft_waker_wake(&stored);
	return NULL;
}

static void waker_from_thread(void)
{
	weft_runtime *rt = emb_runtime(false);
	weft_future t = { parked_poll, NULL };
	pthread_t th;
	int fd = weft_runtime_backend_fd(rt);

	atomic_store(&polls, 0);
	emb_spawn(rt, &t, sizeof(t));
	emb_drain(rt);
	CHECK_EQ(atomic_load(&polls), 1);
	CHECK_EQ(emb_readable(fd, 0), 0);
	CHECK_EQ(pthread_create(&th, NULL, wake_main, NULL), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(emb_readable(fd, EMB_LOST_MS), 1);
	emb_drain(rt);
	CHECK_EQ(atomic_load(&polls), 2);
	CHECK_EQ(emb_readable(fd, 0), 0);
	CHECK_EQ(weft_runtime_backend_timeout(rt), -1);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* block_on on an embedded runtime: the fd is readable once afterwards. */
static void block_on_then_tick(void)
{
	weft_runtime *rt = emb_runtime(false);
	int fd = weft_runtime_backend_fd(rt);
	weft_ready r;

	emb_drain(rt);
	CHECK_EQ(emb_readable(fd, 0), 0);
	weft_ready_init(&r, NULL);
	CHECK_EQ(weft_block_on(rt, &r.base), 0);
	CHECK_EQ(emb_readable(fd, EMB_LOST_MS), 1);
	CHECK_EQ(weft_runtime_tick(rt, WEFT_TICK_BUDGET), 0);
	CHECK_EQ(emb_readable(fd, 0), 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

int main(void)
{
	idle_then_wake();
	waker_from_thread();
	block_on_then_tick();
	printf("ok\n");
	return 0;
}

/* oneshot: caller-owned and heap oneshots, close on each side, a dropped receive gives its value back, request-reply across threads. */
#include "chan_test.h"

struct big {
	uint64_t a, b, c;
};

static void test_basic(void)
{
	struct count_waker cw = { 0 };
	weft_waker w = count_waker_ref(&cw);
	weft_oneshot_recv_future rf;
	struct big in = { 1, 2, 3 }, out = { 0 }, storage;
	weft_oneshot os;
	uint64_t v = 0;
	void *p = NULL;
	int x;
	weft_cx cx;

	weft_cx_init(&cx, &w);

	/* Inline storage, try tier. */
	CHECK_EQ(weft_oneshot_init(&os, NULL, sizeof(uint64_t)), 0);
	CHECK_EQ(weft_oneshot_try_recv(&os, &v), -EAGAIN);
	v = 42;
	CHECK_EQ(weft_oneshot_send(&os, &v), 0);
	CHECK_EQ(weft_oneshot_send(&os, &v), -EINVAL); /* one value only */
	v = 0;
	CHECK_EQ(weft_oneshot_try_recv(&os, &v), 0);
	CHECK_EQ(v, 42);
	CHECK_EQ(weft_oneshot_try_recv(&os, &v), -EINVAL); /* receiver done */
	weft_oneshot_finish(&os);

	/* Caller storage, future tier: waits, is woken, receives. */
	CHECK_EQ(weft_oneshot_init(&os, &storage, sizeof(storage)), 0);
	weft_oneshot_recv(&os, &out, &rf);
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_PENDING);
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_PENDING); /* same waker: no clone */
	CHECK_EQ(atomic_load(&cw.clones), 1);
	CHECK_EQ(weft_oneshot_send(&os, &in), 0);
	CHECK_EQ(count_wakes(&cw), 1);
	CHECK_EQ(atomic_load(&cw.clones), 0); /* the sender took and woke it */
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_READY);
	CHECK_EQ(rf.status, 0);
	CHECK(out.a == 1 && out.b == 2 && out.c == 3);
	weft_future_drop(&rf.base);
	weft_oneshot_finish(&os);

	/* Pointers. */
	CHECK_EQ(weft_oneshot_init(&os, NULL, sizeof(void *)), 0);
	CHECK_EQ(weft_oneshot_send_ptr(&os, &x), 0);
	CHECK_EQ(weft_oneshot_try_recv(&os, &p), 0);
	CHECK(p == &x);
	CHECK_EQ(weft_oneshot_init(&os, NULL, 4), 0);
	CHECK_EQ(weft_oneshot_send_ptr(&os, &x), -EINVAL);

	/* Bad arguments. */
	CHECK_EQ(weft_oneshot_init(NULL, NULL, 4), -EINVAL);
	CHECK_EQ(weft_oneshot_init(&os, NULL, WEFT_ONESHOT_INLINE_SIZE + 1), -EINVAL);
	CHECK_EQ(weft_oneshot_create(8, NULL), -EINVAL);
	weft_oneshot_finish(NULL);
	CHECK_EQ(atomic_load(&cw.clones), 0);
}

static void test_close(void)
{
	struct count_waker cw = { 0 };
	weft_waker w = count_waker_ref(&cw);
	weft_oneshot_recv_future rf;
	weft_oneshot os;
	uint64_t v = 5;
	weft_cx cx;

	weft_cx_init(&cx, &w);

	/* The sender gives up: a waiting receiver is woken with -EPIPE. */
	CHECK_EQ(weft_oneshot_init(&os, NULL, 8), 0);
	weft_oneshot_recv(&os, &v, &rf);
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_PENDING);
	weft_oneshot_tx_close(&os);
	CHECK_EQ(count_wakes(&cw), 1);
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_READY);
	CHECK_EQ(rf.status, -EPIPE);
	weft_future_drop(&rf.base);
	weft_oneshot_tx_close(&os); /* idempotent */
	weft_oneshot_finish(&os);

	/* Same through the try tier. */
	CHECK_EQ(weft_oneshot_init(&os, NULL, 8), 0);
	weft_oneshot_tx_close(&os);
	CHECK_EQ(weft_oneshot_send(&os, &v), -EINVAL);
	CHECK_EQ(weft_oneshot_try_recv(&os, &v), -EPIPE);

	/* The receiver gives up: the send fails and keeps its value. */
	CHECK_EQ(weft_oneshot_init(&os, NULL, 8), 0);
	CHECK(!weft_oneshot_is_closed(&os));
	weft_oneshot_recv(&os, &v, &rf);
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_PENDING);
	weft_future_drop(&rf.base); /* unregisters */
	CHECK_EQ(atomic_load(&cw.clones), 0);
	weft_oneshot_rx_close(&os);
	CHECK(weft_oneshot_is_closed(&os));
	CHECK_EQ(weft_oneshot_send(&os, &v), -EPIPE);
	weft_oneshot_finish(&os);

	/* The receiver closes with a value inside: it is discarded. */
	CHECK_EQ(weft_oneshot_init(&os, NULL, 8), 0);
	CHECK_EQ(weft_oneshot_send(&os, &v), 0);
	weft_oneshot_rx_close(&os);
	weft_oneshot_finish(&os);

	/* A waker left behind by a receiver that never closed. */
	CHECK_EQ(weft_oneshot_init(&os, NULL, 8), 0);
	weft_oneshot_recv(&os, &v, &rf);
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_PENDING);
	CHECK_EQ(atomic_load(&cw.clones), 1);
	weft_oneshot_finish(&os);
	CHECK_EQ(atomic_load(&cw.clones), 0);
}

static void test_value_given_back(void)
{
	struct count_waker cw = { 0 };
	weft_waker w = count_waker_ref(&cw);
	weft_oneshot_recv_future rf;
	weft_oneshot os;
	uint64_t v = 77, out = 0;
	weft_cx cx;

	weft_cx_init(&cx, &w);
	CHECK_EQ(weft_oneshot_init(&os, NULL, 8), 0);
	weft_oneshot_recv(&os, &out, &rf);
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_PENDING);
	CHECK_EQ(weft_oneshot_send(&os, &v), 0);
	/* The value was delivered for rf, but rf is dropped unpolled. */
	weft_future_drop(&rf.base);
	CHECK_EQ(out, 0);
	weft_oneshot_recv(&os, &out, &rf);
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_READY);
	CHECK_EQ(rf.status, 0);
	CHECK_EQ(out, 77);
	weft_future_drop(&rf.base);
	weft_oneshot_finish(&os);
	CHECK_EQ(atomic_load(&cw.clones), 0);
}

static void test_heap(void)
{
	struct count_waker cw = { 0 };
	weft_waker w = count_waker_ref(&cw);
	weft_oneshot_recv_future rf;
	weft_oneshot *os;
	struct big in = { 4, 5, 6 }, out;
	weft_cx cx;

	weft_cx_init(&cx, &w);
	/* Every order of the two sides finishing frees it exactly once
	 * (AddressSanitizer checks). */
	CHECK_EQ(weft_oneshot_create(sizeof(struct big), &os), 0);
	CHECK_EQ(weft_oneshot_send(os, &in), 0);
	CHECK_EQ(weft_oneshot_try_recv(os, &out), 0);
	CHECK_EQ(out.c, 6);

	CHECK_EQ(weft_oneshot_create(sizeof(struct big), &os), 0);
	weft_oneshot_recv(os, &out, &rf);
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_PENDING);
	CHECK_EQ(weft_oneshot_send(os, &in), 0);
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_READY);
	weft_future_drop(&rf.base);

	CHECK_EQ(weft_oneshot_create(8, &os), 0);
	weft_oneshot_rx_close(os);
	CHECK_EQ(weft_oneshot_send(os, &in), -EPIPE);

	CHECK_EQ(weft_oneshot_create(8, &os), 0);
	weft_oneshot_tx_close(os);
	weft_oneshot_rx_close(os);

	CHECK_EQ(weft_oneshot_create(8, &os), 0);
	weft_oneshot_recv(os, &out, &rf);
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_PENDING);
	weft_future_drop(&rf.base);
	weft_oneshot_rx_close(os);
	weft_oneshot_tx_close(os);

	CHECK_EQ(weft_oneshot_create(8, &os), 0);
	weft_oneshot_tx_close(os);
	CHECK_EQ(weft_oneshot_try_recv(os, &out), -EPIPE);
	CHECK_EQ(atomic_load(&cw.clones), 0);
}

/* ---- request-reply across threads ------------------------------------------------- */

struct request {
	weft_oneshot *reply;
	uint64_t question;
};

struct server {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_rx *rx;
	struct request req;
	uint64_t answer;
	weft_mpsc_recv_future rf;
};

static weft_poll server_poll(weft_future *f, weft_cx *cx)
{
	struct server *self = (struct server *)f;

	WEFT_ASYNC_BEGIN(self);
	for (;;) {
		weft_mpsc_recv(self->rx, &self->req, &self->rf);
		WEFT_AWAIT(self, cx, &self->rf.base);
		weft_future_drop(&self->rf.base);
		if (self->rf.status == -EPIPE)
			break;
		self->answer = self->req.question * 2;
		/* The client may have given up (heap oneshots): -EPIPE. */
		(void)weft_oneshot_send(self->req.reply, &self->answer);
	}
	weft_mpsc_rx_release(self->rx);
	self->rx = NULL;
	WEFT_ASYNC_END(self);
}

static void server_drop(weft_future *f)
{
	weft_mpsc_rx_release(((struct server *)f)->rx);
}

/* Makes the request channel (room for `capacity` requests) and spawns the
 * server on its receiving side; returns the sending side in *tx. */
static void start_server(weft_runtime *rt, size_t capacity, weft_mpsc_tx **tx,
			 weft_join_handle *h)
{
	struct server s = { 0 };
	weft_mpsc_rx *rx;

	CHECK_EQ(weft_mpsc_bounded(sizeof(struct request), capacity, tx, &rx), 0);
	s.base.poll = server_poll;
	s.base.drop = server_drop;
	s.rx = rx;
	SPAWN(rt, &s, h);
}

/* Waits for the server, which ends once every sender is gone. */
static void stop_server(weft_runtime *rt, weft_join_handle *h)
{
	CHECK_EQ(weft_block_on(rt, &h->base), 0);
	weft_join_detach(h);
}

struct client {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_tx *tx;
	uint64_t i, n, answer;
	bool heap;
	struct request req;
	weft_oneshot os; /* caller-owned: lives in this future */
	weft_oneshot_recv_future rf;
	weft_mpsc_send_future sf;
	_Atomic long *answered;
};

static weft_poll client_poll(weft_future *f, weft_cx *cx)
{
	struct client *self = (struct client *)f;

	WEFT_ASYNC_BEGIN(self);
	for (self->i = 0; self->i < self->n; self->i++) {
		if (self->heap) {
			CHECK_EQ(weft_oneshot_create(sizeof(uint64_t), &self->req.reply), 0);
		} else {
			CHECK_EQ(weft_oneshot_init(&self->os, &self->answer, sizeof(uint64_t)), 0);
			self->req.reply = &self->os;
		}
		self->req.question = self->i;
		weft_mpsc_send(self->tx, &self->req, &self->sf);
		WEFT_AWAIT(self, cx, &self->sf.base);
		CHECK_EQ(self->sf.status, 0);
		weft_future_drop(&self->sf.base);
		weft_oneshot_recv(self->req.reply, &self->answer, &self->rf);
		WEFT_AWAIT(self, cx, &self->rf.base);
		CHECK_EQ(self->rf.status, 0);
		CHECK_EQ(self->answer, self->i * 2);
		weft_future_drop(&self->rf.base);
		atomic_fetch_add(self->answered, 1);
	}
	weft_mpsc_tx_release(self->tx);
	self->tx = NULL;
	WEFT_ASYNC_END(self);
}

static void request_reply(unsigned workers, bool heap, uint64_t per_client)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	_Atomic long answered = 0;
	weft_join_handle sh, ch[8];
	weft_mpsc_tx *tx;
	unsigned i;

	start_server(rt, 10, &tx, &sh);
	for (i = 0; i < 8; i++) {
		struct client c = { 0 };

		c.base.poll = client_poll;
		c.tx = weft_mpsc_tx_clone(tx);
		c.n = per_client;
		c.heap = heap;
		c.answered = &answered;
		SPAWN(rt, &c, &ch[i]);
	}
	weft_mpsc_tx_release(tx);
	for (i = 0; i < 8; i++) {
		CHECK_EQ(weft_block_on(rt, &ch[i].base), 0);
		CHECK_EQ(ch[i].status, 0);
		weft_join_detach(&ch[i]);
	}
	stop_server(rt, &sh);
	CHECK_EQ(atomic_load(&answered), (long)(8 * per_client));
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* Clients that give up at random points: heap oneshots keep the server
 * safe. */
struct quitter {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_tx *tx;
	struct request req;
	uint64_t answer;
	int stage;
	weft_mpsc_send_future sf;
	weft_oneshot_recv_future rf;
};

static weft_poll quitter_poll(weft_future *f, weft_cx *cx)
{
	struct quitter *self = (struct quitter *)f;

	WEFT_ASYNC_BEGIN(self);
	CHECK_EQ(weft_oneshot_create(sizeof(uint64_t), &self->req.reply), 0);
	self->stage = 1;
	weft_mpsc_send(self->tx, &self->req, &self->sf);
	WEFT_AWAIT(self, cx, &self->sf.base);
	weft_future_drop(&self->sf.base);
	if (self->sf.status != 0) {
		/* Not delivered: both sides are ours to finish. */
		weft_oneshot_tx_close(self->req.reply);
		weft_oneshot_rx_close(self->req.reply);
		self->stage = 0;
	} else {
		self->stage = 2;
		weft_oneshot_recv(self->req.reply, &self->answer, &self->rf);
		WEFT_AWAIT(self, cx, &self->rf.base);
		weft_future_drop(&self->rf.base);
		self->stage = 0;
	}
	weft_mpsc_tx_release(self->tx);
	self->tx = NULL;
	WEFT_ASYNC_END(self);
}

static void quitter_drop(weft_future *f)
{
	struct quitter *self = (struct quitter *)f;

	if (self->stage == 1) {
		/* Aborted while sending: the request never reached the
		 * server, so the receiver side is the only one left. */
		weft_future_drop(&self->sf.base);
		weft_oneshot_tx_close(self->req.reply);
		weft_oneshot_rx_close(self->req.reply);
	} else if (self->stage == 2) {
		weft_future_drop(&self->rf.base);
		weft_oneshot_rx_close(self->req.reply);
	}
	weft_mpsc_tx_release(self->tx);
}

static void quitters(void)
{
	weft_runtime *rt = test_runtime(0, NULL);
	weft_join_handle sh, qh;
	weft_mpsc_tx *tx;
	unsigned i;

	start_server(rt, 2, &tx, &sh);
	for (i = 0; i < 2000; i++) {
		struct quitter q = { 0 };

		q.base.poll = quitter_poll;
		q.base.drop = quitter_drop;
		q.tx = weft_mpsc_tx_clone(tx);
		SPAWN(rt, &q, &qh);
		if (i % 3 != 0)
			CHECK_EQ(weft_join_abort(&qh), 0);
		CHECK_EQ(weft_block_on(rt, &qh.base), 0);
		weft_join_detach(&qh);
	}
	weft_mpsc_tx_release(tx);
	stop_server(rt, &sh);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

int main(void)
{
	uint64_t n = 2000 * (uint64_t)test_scale();

	test_basic();
	test_close();
	test_value_given_back();
	test_heap();
	request_reply(4, false, n);
	request_reply(4, true, n / 4);
	request_reply(0, false, n / 4);
	quitters();
	return 0;
}

/* broadcast: every receiver sees every value in order; a slow one is told how many it lagged; close; concurrent receivers on both runtimes. */
#include "chan_test.h"

static void test_basic(void)
{
	weft_broadcast_tx *tx;
	weft_broadcast_rx a, b, c;
	uint64_t v, lagged = 0, i;

	CHECK_EQ(weft_broadcast_create(sizeof(uint64_t), 4, &tx), 0);
	v = 1;
	CHECK_EQ(weft_broadcast_send(tx, &v), -EPIPE); /* no receiver */
	CHECK_EQ(weft_broadcast_subscribe(tx, &a), 0);
	CHECK_EQ(weft_broadcast_subscribe(tx, &b), 0);
	CHECK_EQ(weft_broadcast_receiver_count(tx), 2);
	CHECK_EQ(weft_broadcast_try_recv(&a, &v, NULL), -EAGAIN);
	for (i = 0; i < 3; i++)
		CHECK_EQ(weft_broadcast_send(tx, &i), 0);
	/* A subscriber sees only what comes after it. */
	CHECK_EQ(weft_broadcast_subscribe(tx, &c), 0);
	CHECK_EQ(weft_broadcast_try_recv(&c, &v, NULL), -EAGAIN);
	for (i = 0; i < 3; i++) {
		CHECK_EQ(weft_broadcast_try_recv(&a, &v, NULL), 0);
		CHECK_EQ(v, i);
		CHECK_EQ(weft_broadcast_try_recv(&b, &v, NULL), 0);
		CHECK_EQ(v, i);
	}
	CHECK_EQ(weft_broadcast_try_recv(&a, &v, NULL), -EAGAIN);

	/* b falls behind: capacity 4, 10 more values. */
	for (i = 3; i < 13; i++)
		CHECK_EQ(weft_broadcast_send(tx, &i), 0);
	CHECK_EQ(weft_broadcast_try_recv(&b, &v, &lagged), -EOVERFLOW);
	CHECK_EQ(lagged, 6); /* 3..8 are gone, 9..12 remain */
	for (i = 9; i < 13; i++) {
		CHECK_EQ(weft_broadcast_try_recv(&b, &v, &lagged), 0);
		CHECK_EQ(v, i);
	}
	CHECK_EQ(weft_broadcast_try_recv(&b, &v, NULL), -EAGAIN);
	/* c lagged too (it joined at 3). */
	CHECK_EQ(weft_broadcast_try_recv(&c, &v, &lagged), -EOVERFLOW);
	CHECK_EQ(lagged, 6);
	CHECK_EQ(weft_broadcast_try_recv(&c, &v, NULL), 0);
	CHECK_EQ(v, 9);
	/* A clone starts where its source is. */
	weft_broadcast_rx d;
	CHECK_EQ(weft_broadcast_rx_clone(&c, &d), 0);
	CHECK_EQ(weft_broadcast_try_recv(&d, &v, NULL), 0);
	CHECK_EQ(v, 10);
	weft_broadcast_rx_finish(&d);
	weft_broadcast_rx_finish(&d); /* finished twice: ignored */

	/* Close: the rest is still readable, then -EPIPE. */
	weft_broadcast_tx_release(tx);
	CHECK_EQ(weft_broadcast_try_recv(&c, &v, NULL), 0);
	CHECK_EQ(v, 10);
	CHECK_EQ(weft_broadcast_try_recv(&c, &v, NULL), 0);
	CHECK_EQ(weft_broadcast_try_recv(&c, &v, NULL), 0);
	CHECK_EQ(v, 12);
	CHECK_EQ(weft_broadcast_try_recv(&c, &v, NULL), -EPIPE);
	CHECK_EQ(weft_broadcast_try_recv(&b, &v, NULL), -EPIPE);
	CHECK_EQ(weft_broadcast_try_recv(&a, &v, &lagged), -EOVERFLOW);
	weft_broadcast_rx_finish(&a);
	weft_broadcast_rx_finish(&b);
	weft_broadcast_rx_finish(&c);

	CHECK_EQ(weft_broadcast_create(8, 0, &tx), -EINVAL);
	CHECK_EQ(weft_broadcast_create(8, 1, NULL), -EINVAL);
	CHECK_EQ(weft_broadcast_subscribe(NULL, &a), -EINVAL);
}

static void test_odd_sizes(void)
{
	unsigned char in[13], out[13];
	weft_broadcast_tx *tx;
	weft_broadcast_rx rx;
	unsigned i;

	CHECK_EQ(weft_broadcast_create(sizeof(in), 3, &tx), 0); /* 3 -> 4 */
	CHECK_EQ(weft_broadcast_subscribe(tx, &rx), 0);
	for (i = 0; i < 4; i++) {
		memset(in, (int)i + 1, sizeof(in));
		CHECK_EQ(weft_broadcast_send(tx, in), 0);
	}
	for (i = 0; i < 4; i++) {
		CHECK_EQ(weft_broadcast_try_recv(&rx, out, NULL), 0);
		CHECK_EQ(out[0], i + 1);
		CHECK_EQ(out[12], i + 1);
	}
	weft_broadcast_rx_finish(&rx);
	weft_broadcast_tx_release(tx);
}

static void test_futures_by_hand(void)
{
	struct count_waker cw = { 0 };
	weft_waker w = count_waker_ref(&cw);
	weft_broadcast_recv_future f1, f2;
	weft_broadcast_tx *tx;
	weft_broadcast_rx a, b;
	uint64_t v = 3, out1 = 0, out2 = 0;
	weft_cx cx;

	weft_cx_init(&cx, &w);
	CHECK_EQ(weft_broadcast_create(8, 2, &tx), 0);
	CHECK_EQ(weft_broadcast_subscribe(tx, &a), 0);
	CHECK_EQ(weft_broadcast_subscribe(tx, &b), 0);
	weft_broadcast_recv(&a, &out1, &f1);
	weft_broadcast_recv(&b, &out2, &f2);
	CHECK_EQ(poll_once(&f1.base, &cx), WEFT_PENDING);
	CHECK_EQ(poll_once(&f2.base, &cx), WEFT_PENDING);
	CHECK_EQ(weft_broadcast_send(tx, &v), 0);
	CHECK_EQ(count_wakes(&cw), 2); /* both woken */
	CHECK_EQ(poll_once(&f1.base, &cx), WEFT_READY);
	CHECK_EQ(f1.status, 0);
	CHECK_EQ(out1, 3);
	weft_future_drop(&f1.base);
	/* f2 is dropped without taking its value: b still has it. */
	weft_future_drop(&f2.base);
	CHECK_EQ(weft_broadcast_try_recv(&b, &out2, NULL), 0);
	CHECK_EQ(out2, 3);

	/* Lag through the future. */
	for (v = 0; v < 5; v++)
		CHECK_EQ(weft_broadcast_send(tx, &v), 0);
	weft_broadcast_recv(&a, &out1, &f1);
	CHECK_EQ(poll_once(&f1.base, &cx), WEFT_READY);
	CHECK_EQ(f1.status, -EOVERFLOW);
	CHECK_EQ(f1.lagged, 3);
	weft_future_drop(&f1.base);

	/* Close wakes waiters with -EPIPE once they have read everything. */
	CHECK_EQ(weft_broadcast_try_recv(&a, &out1, NULL), 0);
	CHECK_EQ(weft_broadcast_try_recv(&a, &out1, NULL), 0);
	CHECK_EQ(out1, 4);
	weft_broadcast_recv(&a, &out1, &f1);
	CHECK_EQ(poll_once(&f1.base, &cx), WEFT_PENDING);
	weft_broadcast_tx_release(tx);
	CHECK_EQ(poll_once(&f1.base, &cx), WEFT_READY);
	CHECK_EQ(f1.status, -EPIPE);
	weft_future_drop(&f1.base);
	weft_broadcast_rx_finish(&a);
	weft_broadcast_rx_finish(&b);
	CHECK_EQ(atomic_load(&cw.clones), 0);
}

/* ---- concurrent receivers -------------------------------------------------------- */

#define RECEIVERS 4

struct listener {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_broadcast_rx rx;
	uint64_t value, expect, got, lagged;
	weft_broadcast_recv_future rf;
};

static weft_poll listener_poll(weft_future *f, weft_cx *cx)
{
	struct listener *self = (struct listener *)f;

	WEFT_ASYNC_BEGIN(self);
	for (;;) {
		weft_broadcast_recv(&self->rx, &self->value, &self->rf);
		WEFT_AWAIT(self, cx, &self->rf.base);
		weft_future_drop(&self->rf.base);
		if (self->rf.status == -EPIPE)
			break;
		if (self->rf.status == -EOVERFLOW) {
			CHECK(self->rf.lagged > 0);
			self->lagged += self->rf.lagged;
			self->expect += self->rf.lagged;
			continue;
		}
		CHECK_EQ(self->rf.status, 0);
		CHECK_EQ(self->value, self->expect); /* in order, nothing skipped silently */
		self->expect++;
		self->got++;
	}
	weft_broadcast_rx_finish(&self->rx);
	WEFT_ASYNC_END(self);
}

static void listener_drop(weft_future *f)
{
	weft_broadcast_rx_finish(&((struct listener *)f)->rx);
}

struct talker {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_broadcast_tx *tx;
	uint64_t i, n, period;
	weft_yield y;
};

static weft_poll talker_poll(weft_future *f, weft_cx *cx)
{
	struct talker *self = (struct talker *)f;

	WEFT_ASYNC_BEGIN(self);
	for (self->i = 0; self->i < self->n; self->i++) {
		CHECK_EQ(weft_broadcast_send(self->tx, &self->i), 0);
		if (self->i % self->period == self->period - 1) {
			weft_yield_now(&self->y);
			WEFT_AWAIT(self, cx, &self->y.base);
		}
	}
	weft_broadcast_tx_release(self->tx);
	WEFT_ASYNC_END(self);
}

static void concurrent(unsigned workers, size_t capacity, uint64_t n, uint64_t period)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	weft_join_handle lh[RECEIVERS];
	struct talker t = { 0 };
	weft_broadcast_tx *tx;
	uint64_t lagged = 0;
	unsigned i;

	CHECK_EQ(weft_broadcast_create(sizeof(uint64_t), capacity, &tx), 0);
	for (i = 0; i < RECEIVERS; i++) {
		struct listener l = { 0 };

		l.base.poll = listener_poll;
		l.base.drop = listener_drop;
		CHECK_EQ(weft_broadcast_subscribe(tx, &l.rx), 0);
		SPAWN(rt, &l, &lh[i]);
	}
	t.base.poll = talker_poll;
	t.tx = tx;
	t.n = n;
	t.period = period;
	CHECK_EQ(weft_block_on(rt, &t.base), 0);
	for (i = 0; i < RECEIVERS; i++) {
		struct listener *l;

		CHECK_EQ(weft_block_on(rt, &lh[i].base), 0);
		l = weft_join_output(&lh[i]);
		CHECK(l != NULL);
		/* Every value was either received or reported as missed. */
		CHECK_EQ(l->got + l->lagged, n);
		CHECK_EQ(l->expect, n);
		lagged += l->lagged;
		weft_join_detach(&lh[i]);
	}
	if (capacity >= n)
		CHECK_EQ(lagged, 0);
	fprintf(stderr, "concurrent(workers=%u, capacity=%zu): %llu values, %llu missed in all\n",
		workers, capacity, (unsigned long long)n, (unsigned long long)lagged);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

int main(void)
{
	uint64_t n = 20000 * (uint64_t)test_scale();

	test_basic();
	test_odd_sizes();
	test_futures_by_hand();
	concurrent(4, 8, n, 16);
	concurrent(4, 8, n, 1);
	concurrent(4, (size_t)n, n, 16);
	concurrent(0, 8, n, 16);
	concurrent(0, 64, n, 16);
	return 0;
}

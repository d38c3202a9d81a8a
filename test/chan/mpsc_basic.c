/* mpsc_basic: try tier, futures polled by hand, capacity, close on each side, budget. */
#include "chan_test.h"

struct blob {
	uint32_t tag;
	unsigned char bytes[20];
};

static void test_bounded_capacity(void)
{
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	uint64_t v, i;

	CHECK_EQ(weft_mpsc_bounded(sizeof(uint64_t), 5, &tx, &rx), 0);
	for (i = 0; i < 5; i++)
		CHECK_EQ(weft_mpsc_try_send(tx, &i), 0);
	CHECK_EQ(weft_mpsc_try_send(tx, &i), -EAGAIN);
	CHECK_EQ(weft_mpsc_len(rx), 5);
	CHECK_EQ(weft_mpsc_try_recv(rx, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(weft_mpsc_try_send(tx, &i), 0); /* room for exactly one */
	CHECK_EQ(weft_mpsc_try_send(tx, &i), -EAGAIN);
	for (i = 1; i <= 5; i++) {
		CHECK_EQ(weft_mpsc_try_recv(rx, &v), 0);
		CHECK_EQ(v, i);
	}
	CHECK_EQ(weft_mpsc_try_recv(rx, &v), -EAGAIN);
	CHECK_EQ(weft_mpsc_len(rx), 0);
	/* Many rounds through the capacity cross many blocks. */
	for (i = 0; i < 1000; i++) {
		CHECK_EQ(weft_mpsc_try_send(tx, &i), 0);
		CHECK_EQ(weft_mpsc_try_recv(rx, &v), 0);
		CHECK_EQ(v, i);
	}
	weft_mpsc_tx_release(tx);
	CHECK_EQ(weft_mpsc_try_recv(rx, &v), -EPIPE);
	weft_mpsc_rx_release(rx);
}

static void test_elem_sizes(void)
{
	static const size_t sizes[] = { 0, 1, 3, 8, sizeof(struct blob), 100 };
	unsigned char in[100], out[100];
	size_t k, n;
	unsigned i;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		weft_mpsc_tx *tx;
		weft_mpsc_rx *rx;

		n = sizes[k];
		CHECK_EQ(weft_mpsc_unbounded(n, &tx, &rx), 0);
		CHECK_EQ(weft_mpsc_elem_size(tx), n);
		for (i = 0; i < 300; i++) {
			memset(in, (int)(i & 0xff), sizeof(in));
			CHECK_EQ(weft_mpsc_try_send(tx, in), 0);
		}
		CHECK_EQ(weft_mpsc_len(rx), 300);
		for (i = 0; i < 300; i++) {
			memset(out, 0xee, sizeof(out));
			CHECK_EQ(weft_mpsc_try_recv(rx, out), 0);
			if (n > 0) {
				CHECK_EQ(out[0], i & 0xff);
				CHECK_EQ(out[n - 1], i & 0xff);
			}
			if (n < sizeof(out))
				CHECK_EQ(out[n], 0xee); /* nothing written past n */
		}
		CHECK_EQ(weft_mpsc_try_recv(rx, out), -EAGAIN);
		weft_mpsc_rx_release(rx);
		weft_mpsc_tx_release(tx);
	}
}

static void test_pointers(void)
{
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	int a, b;
	void *p;

	CHECK_EQ(weft_mpsc_bounded(sizeof(void *), 2, &tx, &rx), 0);
	CHECK_EQ(weft_mpsc_try_send_ptr(tx, &a), 0);
	CHECK_EQ(weft_mpsc_try_send_ptr(tx, &b), 0);
	CHECK_EQ(weft_mpsc_try_recv_ptr(rx, &p), 0);
	CHECK(p == &a);
	CHECK_EQ(weft_mpsc_try_recv_ptr(rx, &p), 0);
	CHECK(p == &b);
	weft_mpsc_rx_release(rx);
	weft_mpsc_tx_release(tx);

	CHECK_EQ(weft_mpsc_unbounded(4, &tx, &rx), 0);
	CHECK_EQ(weft_mpsc_try_send_ptr(tx, &a), -EINVAL);
	CHECK_EQ(weft_mpsc_try_recv_ptr(rx, &p), -EINVAL);
	weft_mpsc_tx_release(tx);
	weft_mpsc_rx_release(rx);
}

static void test_bad_args(void)
{
	weft_mpsc_tx *tx = NULL;
	weft_mpsc_rx *rx = NULL;

	CHECK_EQ(weft_mpsc_bounded(8, 0, &tx, &rx), -EINVAL);
	CHECK_EQ(weft_mpsc_bounded(8, 1, NULL, &rx), -EINVAL);
	CHECK_EQ(weft_mpsc_unbounded(8, &tx, NULL), -EINVAL);
	CHECK_EQ(weft_mpsc_unbounded((size_t)1 << 30, &tx, &rx), -EINVAL);
	CHECK(tx == NULL && rx == NULL);
	weft_mpsc_tx_release(NULL);
	weft_mpsc_rx_release(NULL);
}

static void test_close(void)
{
	weft_mpsc_tx *tx, *tx2;
	weft_mpsc_rx *rx;
	uint64_t v = 7;

	/* Sender side: explicit close. */
	CHECK_EQ(weft_mpsc_bounded(8, 4, &tx, &rx), 0);
	tx2 = weft_mpsc_tx_clone(tx);
	CHECK(tx2 == tx);
	CHECK_EQ(weft_mpsc_try_send(tx, &v), 0);
	CHECK(!weft_mpsc_tx_is_closed(tx));
	weft_mpsc_tx_close(tx2);
	weft_mpsc_tx_close(tx2); /* idempotent */
	CHECK(weft_mpsc_tx_is_closed(tx));
	CHECK_EQ(weft_mpsc_try_send(tx, &v), -EPIPE);
	CHECK_EQ(weft_mpsc_try_recv(rx, &v), 0); /* buffered value survives */
	CHECK_EQ(v, 7);
	CHECK_EQ(weft_mpsc_try_recv(rx, &v), -EPIPE);
	weft_mpsc_tx_release(tx);
	weft_mpsc_tx_release(tx2);
	weft_mpsc_rx_release(rx);

	/* Sender side: the last release closes, not the first. */
	CHECK_EQ(weft_mpsc_unbounded(8, &tx, &rx), 0);
	tx2 = weft_mpsc_tx_clone(tx);
	weft_mpsc_tx_release(tx);
	CHECK_EQ(weft_mpsc_try_send(tx2, &v), 0);
	CHECK_EQ(weft_mpsc_try_recv(rx, &v), 0);
	CHECK_EQ(weft_mpsc_try_recv(rx, &v), -EAGAIN);
	weft_mpsc_tx_release(tx2);
	CHECK_EQ(weft_mpsc_try_recv(rx, &v), -EPIPE);
	weft_mpsc_rx_release(rx);

	/* Receiver side: close keeps what is buffered. */
	CHECK_EQ(weft_mpsc_bounded(8, 4, &tx, &rx), 0);
	v = 1;
	CHECK_EQ(weft_mpsc_try_send(tx, &v), 0);
	v = 2;
	CHECK_EQ(weft_mpsc_try_send(tx, &v), 0);
	weft_mpsc_rx_close(rx);
	CHECK_EQ(weft_mpsc_try_send(tx, &v), -EPIPE);
	CHECK(weft_mpsc_tx_is_closed(tx));
	CHECK_EQ(weft_mpsc_try_recv(rx, &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(weft_mpsc_try_recv(rx, &v), 0);
	CHECK_EQ(v, 2);
	CHECK_EQ(weft_mpsc_try_recv(rx, &v), -EPIPE);
	weft_mpsc_rx_release(rx);
	weft_mpsc_tx_release(tx);

	/* Receiver side: release discards (the sanitizers check the frees). */
	CHECK_EQ(weft_mpsc_unbounded(8, &tx, &rx), 0);
	for (v = 0; v < 100; v++)
		CHECK_EQ(weft_mpsc_try_send(tx, &v), 0);
	weft_mpsc_rx_release(rx);
	CHECK_EQ(weft_mpsc_try_send(tx, &v), -EPIPE);
	weft_mpsc_tx_release(tx);
}

static void test_futures_by_hand(void)
{
	struct count_waker cw = { 0 };
	weft_waker w = count_waker_ref(&cw);
	weft_mpsc_send_future sf, sf2;
	weft_mpsc_recv_future rf;
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	uint64_t a = 1, b = 2, c = 3, out = 0;
	weft_cx cx;

	weft_cx_init(&cx, &w);
	CHECK_EQ(weft_mpsc_bounded(8, 1, &tx, &rx), 0);

	/* A receive on an empty channel waits, and a send wakes it. */
	weft_mpsc_recv(rx, &out, &rf);
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_PENDING);
	CHECK_EQ(weft_mpsc_try_send(tx, &a), 0);
	CHECK_EQ(count_wakes(&cw), 1);
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_READY);
	CHECK_EQ(rf.status, 0);
	CHECK_EQ(out, 1);
	weft_future_drop(&rf.base);

	/* Backpressure: the second send waits until the receiver makes room,
	 * and the third waits behind it (FIFO). */
	weft_mpsc_send(tx, &a, &sf);
	CHECK_EQ(poll_once(&sf.base, &cx), WEFT_READY);
	CHECK_EQ(sf.status, 0);
	weft_future_drop(&sf.base);
	weft_mpsc_send(tx, &b, &sf);
	weft_mpsc_send(tx, &c, &sf2);
	CHECK_EQ(poll_once(&sf.base, &cx), WEFT_PENDING);
	CHECK_EQ(poll_once(&sf2.base, &cx), WEFT_PENDING);
	CHECK_EQ(poll_once(&sf.base, &cx), WEFT_PENDING); /* spurious poll */
	CHECK_EQ(weft_mpsc_try_send(tx, &c), -EAGAIN);     /* no barging */
	CHECK_EQ(weft_mpsc_len(rx), 1);
	CHECK_EQ(weft_mpsc_try_recv(rx, &out), 0);
	CHECK_EQ(out, 1);
	CHECK_EQ(count_wakes(&cw), 2);
	/* The permit went to sf; even a try_send cannot take it. */
	CHECK_EQ(weft_mpsc_try_send(tx, &c), -EAGAIN);
	CHECK_EQ(poll_once(&sf2.base, &cx), WEFT_PENDING);
	CHECK_EQ(poll_once(&sf.base, &cx), WEFT_READY);
	CHECK_EQ(sf.status, 0);
	weft_future_drop(&sf.base);
	CHECK_EQ(weft_mpsc_try_recv(rx, &out), 0);
	CHECK_EQ(out, 2);
	CHECK_EQ(poll_once(&sf2.base, &cx), WEFT_READY);
	CHECK_EQ(weft_mpsc_try_recv(rx, &out), 0);
	CHECK_EQ(out, 3);
	weft_future_drop(&sf2.base);

	/* A waiting send is woken by close and fails without sending. */
	CHECK_EQ(weft_mpsc_try_send(tx, &a), 0);
	weft_mpsc_send(tx, &b, &sf);
	CHECK_EQ(poll_once(&sf.base, &cx), WEFT_PENDING);
	weft_mpsc_rx_close(rx);
	CHECK_EQ(poll_once(&sf.base, &cx), WEFT_READY);
	CHECK_EQ(sf.status, -EPIPE);
	weft_future_drop(&sf.base);
	CHECK_EQ(weft_mpsc_try_recv(rx, &out), 0);
	CHECK_EQ(out, 1);

	/* A waiting receive is woken by close and reports end-of-stream. */
	weft_mpsc_recv(rx, &out, &rf);
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_READY);
	CHECK_EQ(rf.status, -EPIPE);
	weft_future_drop(&rf.base);
	weft_mpsc_rx_release(rx);
	weft_mpsc_tx_release(tx);

	CHECK_EQ(weft_mpsc_unbounded(8, &tx, &rx), 0);
	weft_mpsc_recv(rx, &out, &rf);
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_PENDING);
	weft_mpsc_tx_release(tx);
	CHECK(count_wakes(&cw) >= 3);
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_READY);
	CHECK_EQ(rf.status, -EPIPE);
	weft_future_drop(&rf.base);
	weft_mpsc_rx_release(rx);

	/* send_ptr with a wrong element size. */
	CHECK_EQ(weft_mpsc_unbounded(4, &tx, &rx), 0);
	weft_mpsc_send_ptr(tx, &a, &sf);
	CHECK_EQ(poll_once(&sf.base, &cx), WEFT_READY);
	CHECK_EQ(sf.status, -EINVAL);
	weft_future_drop(&sf.base);
	weft_mpsc_rx_release(rx);
	weft_mpsc_tx_release(tx);
	CHECK_EQ(atomic_load(&cw.clones), 0); /* every stored waker released */
}

static void test_budget(void)
{
	struct count_waker cw = { 0 };
	weft_waker w = count_waker_ref(&cw);
	weft_mpsc_recv_future rf;
	weft_mpsc_send_future sf;
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	uint64_t v = 5, out;
	weft_cx cx;

	CHECK_EQ(weft_mpsc_unbounded(8, &tx, &rx), 0);
	weft_cx_init(&cx, &w);
	cx.budget = 2;
	weft_mpsc_send(tx, &v, &sf);
	CHECK_EQ(poll_once(&sf.base, &cx), WEFT_READY);
	weft_future_drop(&sf.base);
	weft_mpsc_send(tx, &v, &sf);
	CHECK_EQ(poll_once(&sf.base, &cx), WEFT_READY);
	weft_future_drop(&sf.base);
	/* The budget is spent: a ready receive still yields, and wakes. */
	weft_mpsc_recv(rx, &out, &rf);
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_PENDING);
	CHECK_EQ(count_wakes(&cw), 1);
	cx.budget = WEFT_COOP_BUDGET;
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_READY);
	CHECK_EQ(out, 5);
	CHECK_EQ(cx.budget, WEFT_COOP_BUDGET - 1);
	weft_future_drop(&rf.base);
	/* Waiting costs no budget. */
	CHECK_EQ(weft_mpsc_try_recv(rx, &out), 0);
	weft_mpsc_recv(rx, &out, &rf);
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_PENDING);
	CHECK_EQ(cx.budget, WEFT_COOP_BUDGET - 1);
	weft_future_drop(&rf.base);
	weft_mpsc_rx_release(rx);
	weft_mpsc_tx_release(tx);
	CHECK_EQ(atomic_load(&cw.clones), 0);
}

int main(void)
{
	test_bounded_capacity();
	test_elem_sizes();
	test_pointers();
	test_bad_args();
	test_close();
	test_futures_by_hand();
	test_budget();
	return 0;
}

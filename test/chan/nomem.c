/* nomem: every allocation failure in the channels returns -ENOMEM with nothing leaked and nothing half-sent. */
#include "chan_test.h"

#include "chan/chan_internal.h"

static void fail_at(long k)
{
	atomic_store(&weft__chan_fail_alloc_at, k);
}

static void test_constructors(void)
{
	weft_broadcast_tx *btx = NULL;
	weft_watch_tx *wtx = NULL;
	weft_oneshot *os = NULL;
	weft_mpsc_tx *tx = NULL;
	weft_mpsc_rx *rx = NULL;
	long k;

	/* An mpsc channel makes two allocations (the channel, the first
	 * block): failing either fails the call. */
	for (k = 1; k <= 2; k++) {
		fail_at(k);
		CHECK_EQ(weft_mpsc_bounded(8, 10, &tx, &rx), -ENOMEM);
		CHECK(tx == NULL && rx == NULL);
		fail_at(k);
		CHECK_EQ(weft_mpsc_unbounded(8, &tx, &rx), -ENOMEM);
		CHECK(tx == NULL && rx == NULL);
	}
	fail_at(3);
	CHECK_EQ(weft_mpsc_unbounded(8, &tx, &rx), 0);
	fail_at(0);
	weft_mpsc_tx_release(tx);
	weft_mpsc_rx_release(rx);

	fail_at(1);
	CHECK_EQ(weft_oneshot_create(8, &os), -ENOMEM);
	CHECK(os == NULL);
	fail_at(1);
	CHECK_EQ(weft_broadcast_create(8, 16, &btx), -ENOMEM);
	CHECK(btx == NULL);
	fail_at(1);
	CHECK_EQ(weft_watch_create(8, NULL, &wtx), -ENOMEM);
	CHECK(wtx == NULL);
	fail_at(0);
}

static void test_growth(void)
{
	struct count_waker cw = { 0 };
	weft_waker w = count_waker_ref(&cw);
	weft_mpsc_send_future sf;
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	uint64_t v, out, sent = 0, i;
	weft_cx cx;

	weft_cx_init(&cx, &w);

	/* Unbounded: the 33rd value needs a second block. */
	CHECK_EQ(weft_mpsc_unbounded(8, &tx, &rx), 0);
	for (v = 0; v < 32; v++)
		CHECK_EQ(weft_mpsc_try_send(tx, &v), 0);
	fail_at(1);
	CHECK_EQ(weft_mpsc_try_send(tx, &v), -ENOMEM);
	CHECK_EQ(weft_mpsc_len(rx), 32); /* nothing claimed */
	CHECK_EQ(weft_mpsc_try_send(tx, &v), 0); /* the next one grows */
	for (i = 0; i <= 32; i++) {
		CHECK_EQ(weft_mpsc_try_recv(rx, &out), 0);
		CHECK_EQ(out, i);
	}
	CHECK_EQ(weft_mpsc_try_recv(rx, &out), -EAGAIN);
	weft_mpsc_tx_release(tx);
	weft_mpsc_rx_release(rx);

	/* Bounded: a send that gets room but no block gives the room back. */
	CHECK_EQ(weft_mpsc_bounded(8, 40, &tx, &rx), 0);
	for (v = 0; v < 32; v++)
		CHECK_EQ(weft_mpsc_try_send(tx, &v), 0);
	fail_at(1);
	weft_mpsc_send(tx, &v, &sf);
	CHECK_EQ(poll_once(&sf.base, &cx), WEFT_READY);
	CHECK_EQ(sf.status, -ENOMEM);
	weft_future_drop(&sf.base);
	fail_at(1);
	CHECK_EQ(weft_mpsc_try_send(tx, &v), -ENOMEM);
	for (; v < 40; v++)
		CHECK_EQ(weft_mpsc_try_send(tx, &v), 0); /* all 40 slots usable */
	CHECK_EQ(weft_mpsc_try_send(tx, &v), -EAGAIN);
	for (i = 0; i < 40; i++) {
		CHECK_EQ(weft_mpsc_try_recv(rx, &out), 0);
		CHECK_EQ(out, i);
	}
	weft_mpsc_tx_release(tx);
	weft_mpsc_rx_release(rx);

	/* Failures sprinkled over a long run: the receiver sees exactly the
	 * successful sends, in order. */
	CHECK_EQ(weft_mpsc_unbounded(8, &tx, &rx), 0);
	uint64_t rng = 99, expect = 0;
	for (v = 0; v < 20000; v++) {
		int err;

		if (test_rand(&rng) % 7 == 0)
			fail_at(1 + (long)(test_rand(&rng) % 3));
		err = weft_mpsc_try_send(tx, &sent);
		CHECK(err == 0 || err == -ENOMEM);
		if (err == 0)
			sent++;
		if (test_rand(&rng) % 3 == 0) {
			while (weft_mpsc_try_recv(rx, &out) == 0)
				CHECK_EQ(out, expect++);
		}
	}
	fail_at(0);
	while (weft_mpsc_try_recv(rx, &out) == 0)
		CHECK_EQ(out, expect++);
	CHECK_EQ(expect, sent);
	weft_mpsc_tx_release(tx);
	weft_mpsc_rx_release(rx);
	CHECK_EQ(atomic_load(&cw.clones), 0);
}

int main(void)
{
	test_constructors();
	test_growth();
	return 0;
}

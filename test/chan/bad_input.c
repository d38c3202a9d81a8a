/* Chan API on NULL and other bad arguments: -EINVAL (or NULL / 0 / false / a no-op), never a crash; futures made from bad arguments complete with -EINVAL and drop safely. */
#include "chan_test.h"

static struct count_waker cw;
static weft_waker waker;
static weft_cx cx;

/* Polls `f` once (it must be ready at once), then drops it. */
static int poll_ready_drop(weft_future *f, const int *status)
{
	int st;

	CHECK_EQ(weft_future_poll(f, &cx), WEFT_READY);
	st = *status;
	weft_future_drop(f);
	return st;
}

static void test_mpsc(void)
{
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	weft_mpsc_send_future sf;
	weft_mpsc_recv_future rf;
	uint64_t v = 7;
	void *p;

	CHECK_EQ(weft_mpsc_bounded(8, 4, NULL, &rx), -EINVAL);
	CHECK_EQ(weft_mpsc_bounded(8, 4, &tx, NULL), -EINVAL);
	CHECK_EQ(weft_mpsc_bounded(8, 0, &tx, &rx), -EINVAL);
	CHECK_EQ(weft_mpsc_bounded(8, ((size_t)1 << 40) + 1, &tx, &rx), -EINVAL);
	CHECK_EQ(weft_mpsc_bounded(((size_t)1 << 24) + 1, 4, &tx, &rx), -EINVAL);
	CHECK_EQ(weft_mpsc_unbounded(8, NULL, NULL), -EINVAL);
	CHECK_EQ(weft_mpsc_unbounded(((size_t)1 << 24) + 1, &tx, &rx), -EINVAL);

	/* NULL handles. */
	CHECK(weft_mpsc_tx_clone(NULL) == NULL);
	weft_mpsc_tx_release(NULL);
	CHECK_EQ(weft_mpsc_tx_close(NULL), -EINVAL);
	CHECK(!weft_mpsc_tx_is_closed(NULL));
	CHECK_EQ(weft_mpsc_try_send(NULL, &v), -EINVAL);
	CHECK_EQ(weft_mpsc_try_send_ptr(NULL, &v), -EINVAL);
	CHECK_EQ(weft_mpsc_rx_close(NULL), -EINVAL);
	weft_mpsc_rx_release(NULL);
	CHECK_EQ(weft_mpsc_try_recv(NULL, &v), -EINVAL);
	CHECK_EQ(weft_mpsc_try_recv_ptr(NULL, &p), -EINVAL);
	CHECK_EQ(weft_mpsc_len(NULL), 0);
	CHECK_EQ(weft_mpsc_elem_size(NULL), 0);
	CHECK_EQ(weft_mpsc_send(NULL, &v, NULL), -EINVAL);
	CHECK_EQ(weft_mpsc_send(NULL, &v, &sf), -EINVAL);
	CHECK_EQ(poll_ready_drop(&sf.base, &sf.status), -EINVAL);
	CHECK_EQ(weft_mpsc_send_ptr(NULL, &v, NULL), -EINVAL);
	CHECK_EQ(weft_mpsc_send_ptr(NULL, &v, &sf), -EINVAL);
	CHECK_EQ(poll_ready_drop(&sf.base, &sf.status), -EINVAL);
	CHECK_EQ(weft_mpsc_recv(NULL, &v, NULL), -EINVAL);
	CHECK_EQ(weft_mpsc_recv(NULL, &v, &rf), -EINVAL);
	CHECK_EQ(poll_ready_drop(&rf.base, &rf.status), -EINVAL);

	/* Valid handles, bad buffers and element sizes (bounded and not). */
	for (int bounded = 0; bounded < 2; bounded++) {
		if (bounded)
			CHECK_EQ(weft_mpsc_bounded(sizeof(v), 2, &tx, &rx), 0);
		else
			CHECK_EQ(weft_mpsc_unbounded(sizeof(v), &tx, &rx), 0);
		CHECK_EQ(weft_mpsc_try_send(tx, NULL), -EINVAL);
		CHECK_EQ(weft_mpsc_try_recv(rx, NULL), -EINVAL);
		CHECK_EQ(weft_mpsc_try_recv_ptr(rx, NULL), -EINVAL);
		CHECK_EQ(weft_mpsc_send(tx, NULL, &sf), -EINVAL);
		CHECK_EQ(poll_ready_drop(&sf.base, &sf.status), -EINVAL);
		CHECK_EQ(weft_mpsc_recv(rx, NULL, &rf), -EINVAL);
		CHECK_EQ(poll_ready_drop(&rf.base, &rf.status), -EINVAL);
		if (sizeof(void *) != sizeof(v)) {
			CHECK_EQ(weft_mpsc_try_send_ptr(tx, &v), -EINVAL);
			CHECK_EQ(weft_mpsc_try_recv_ptr(rx, &p), -EINVAL);
		}
		/* Nothing was sent by any of it. */
		CHECK_EQ(weft_mpsc_len(rx), 0);
		CHECK_EQ(weft_mpsc_try_recv(rx, &v), -EAGAIN);
		CHECK_EQ(weft_mpsc_try_send(tx, &v), 0);
		CHECK_EQ(weft_mpsc_len(rx), 1);
		weft_mpsc_tx_release(tx);
		weft_mpsc_rx_release(rx);
	}

	/* A channel of empty values takes NULL buffers. */
	CHECK_EQ(weft_mpsc_bounded(0, 1, &tx, &rx), 0);
	CHECK_EQ(weft_mpsc_try_send(tx, NULL), 0);
	CHECK_EQ(weft_mpsc_try_recv(rx, NULL), 0);
	weft_mpsc_tx_release(tx);
	weft_mpsc_rx_release(rx);

	/* _ptr calls on a channel that is not pointer-sized. */
	CHECK_EQ(weft_mpsc_unbounded(sizeof(void *) + 1, &tx, &rx), 0);
	CHECK_EQ(weft_mpsc_try_send_ptr(tx, &v), -EINVAL);
	CHECK_EQ(weft_mpsc_try_recv_ptr(rx, &p), -EINVAL);
	CHECK_EQ(weft_mpsc_send_ptr(tx, &v, &sf), -EINVAL);
	CHECK_EQ(poll_ready_drop(&sf.base, &sf.status), -EINVAL);
	CHECK_EQ(weft_mpsc_len(rx), 0);
	weft_mpsc_tx_release(tx);
	weft_mpsc_rx_release(rx);
}

static void test_oneshot(void)
{
	weft_oneshot os, *heap;
	weft_oneshot_recv_future f;
	uint64_t v = 3, big[4];

	CHECK_EQ(weft_oneshot_init(NULL, NULL, 8), -EINVAL);
	CHECK_EQ(weft_oneshot_init(&os, NULL, WEFT_ONESHOT_INLINE_SIZE + 1), -EINVAL);
	CHECK_EQ(weft_oneshot_init(&os, big, ((size_t)1 << 31) + 1), -EINVAL);
	CHECK_EQ(weft_oneshot_create(8, NULL), -EINVAL);
	CHECK_EQ(weft_oneshot_create(((size_t)1 << 31) + 1, &heap), -EINVAL);
	weft_oneshot_finish(NULL);

	CHECK_EQ(weft_oneshot_send(NULL, &v), -EINVAL);
	CHECK_EQ(weft_oneshot_send_ptr(NULL, &v), -EINVAL);
	CHECK_EQ(weft_oneshot_tx_close(NULL), -EINVAL);
	CHECK(!weft_oneshot_is_closed(NULL));
	CHECK_EQ(weft_oneshot_try_recv(NULL, &v), -EINVAL);
	CHECK_EQ(weft_oneshot_rx_close(NULL), -EINVAL);
	CHECK_EQ(weft_oneshot_recv(NULL, &v, NULL), -EINVAL);
	CHECK_EQ(weft_oneshot_recv(NULL, &v, &f), -EINVAL);
	CHECK_EQ(poll_ready_drop(&f.base, &f.status), -EINVAL);

	/* Bad buffers leave the oneshot untouched: a real send still works. */
	CHECK_EQ(weft_oneshot_init(&os, NULL, sizeof(v)), 0);
	CHECK_EQ(weft_oneshot_send(&os, NULL), -EINVAL);
	CHECK_EQ(weft_oneshot_try_recv(&os, NULL), -EINVAL);
	CHECK_EQ(weft_oneshot_recv(&os, NULL, &f), -EINVAL);
	CHECK_EQ(poll_ready_drop(&f.base, &f.status), -EINVAL);
	if (sizeof(void *) != sizeof(v))
		CHECK_EQ(weft_oneshot_send_ptr(&os, &v), -EINVAL);
	CHECK_EQ(weft_oneshot_try_recv(&os, &v), -EAGAIN);
	CHECK_EQ(weft_oneshot_send(&os, &v), 0);
	CHECK_EQ(weft_oneshot_send(&os, &v), -EINVAL); /* sender done */
	v = 0;
	CHECK_EQ(weft_oneshot_try_recv(&os, &v), 0);
	CHECK_EQ(v, 3);
	CHECK_EQ(weft_oneshot_try_recv(&os, &v), -EINVAL); /* receiver done */
	CHECK_EQ(weft_oneshot_tx_close(&os), 0);
	CHECK_EQ(weft_oneshot_rx_close(&os), 0);
	weft_oneshot_finish(&os);

	CHECK_EQ(weft_oneshot_init(&os, NULL, sizeof(void *) + 1), 0);
	CHECK_EQ(weft_oneshot_send_ptr(&os, &v), -EINVAL);
	CHECK_EQ(weft_oneshot_tx_close(&os), 0);
	CHECK_EQ(weft_oneshot_try_recv(&os, big), -EPIPE);
	weft_oneshot_finish(&os);
}

static void test_broadcast(void)
{
	weft_broadcast_tx *tx;
	weft_broadcast_rx rx, rx2;
	weft_broadcast_recv_future f;
	uint64_t v = 5, lagged;

	CHECK_EQ(weft_broadcast_create(8, 4, NULL), -EINVAL);
	CHECK_EQ(weft_broadcast_create(8, 0, &tx), -EINVAL);
	CHECK_EQ(weft_broadcast_create(8, ((size_t)1 << 30) + 1, &tx), -EINVAL);
	CHECK_EQ(weft_broadcast_create(((size_t)1 << 24) + 1, 4, &tx), -EINVAL);

	CHECK(weft_broadcast_tx_clone(NULL) == NULL);
	weft_broadcast_tx_release(NULL);
	CHECK_EQ(weft_broadcast_send(NULL, &v), -EINVAL);
	CHECK_EQ(weft_broadcast_receiver_count(NULL), 0);
	CHECK_EQ(weft_broadcast_subscribe(NULL, &rx), -EINVAL);
	CHECK_EQ(weft_broadcast_rx_clone(NULL, &rx), -EINVAL);
	weft_broadcast_rx_finish(NULL);
	CHECK_EQ(weft_broadcast_try_recv(NULL, &v, &lagged), -EINVAL);
	CHECK_EQ(weft_broadcast_recv(NULL, &v, NULL), -EINVAL);
	CHECK_EQ(weft_broadcast_recv(NULL, &v, &f), -EINVAL);
	CHECK_EQ(poll_ready_drop(&f.base, &f.status), -EINVAL);

	CHECK_EQ(weft_broadcast_create(sizeof(v), 4, &tx), 0);
	CHECK_EQ(weft_broadcast_subscribe(tx, NULL), -EINVAL);
	CHECK_EQ(weft_broadcast_subscribe(tx, &rx), 0);
	CHECK_EQ(weft_broadcast_rx_clone(&rx, NULL), -EINVAL);
	CHECK_EQ(weft_broadcast_send(tx, NULL), -EINVAL);
	CHECK_EQ(weft_broadcast_try_recv(&rx, NULL, &lagged), -EINVAL);
	CHECK_EQ(weft_broadcast_recv(&rx, NULL, &f), -EINVAL);
	CHECK_EQ(poll_ready_drop(&f.base, &f.status), -EINVAL);
	CHECK_EQ(weft_broadcast_try_recv(&rx, &v, &lagged), -EAGAIN); /* nothing sent */
	CHECK_EQ(weft_broadcast_receiver_count(tx), 1);

	/* A finished receiver is bad input, not a crash. */
	weft_broadcast_rx_finish(&rx);
	weft_broadcast_rx_finish(&rx);
	CHECK_EQ(weft_broadcast_try_recv(&rx, &v, &lagged), -EINVAL);
	CHECK_EQ(weft_broadcast_rx_clone(&rx, &rx2), -EINVAL);
	CHECK_EQ(weft_broadcast_recv(&rx, &v, &f), -EINVAL);
	CHECK_EQ(poll_ready_drop(&f.base, &f.status), -EINVAL);
	CHECK_EQ(weft_broadcast_receiver_count(tx), 0);
	weft_broadcast_tx_release(tx);
}

static void test_watch(void)
{
	weft_watch_tx *tx;
	weft_watch_rx rx, rx2;
	weft_watch_changed_future f;
	uint64_t v = 9, version;

	CHECK_EQ(weft_watch_create(8, &v, NULL), -EINVAL);
	CHECK_EQ(weft_watch_create(0, &v, &tx), -EINVAL);
	CHECK_EQ(weft_watch_create(((size_t)1 << 24) + 1, NULL, &tx), -EINVAL);

	CHECK(weft_watch_tx_clone(NULL) == NULL);
	weft_watch_tx_release(NULL);
	CHECK_EQ(weft_watch_send(NULL, &v), -EINVAL);
	CHECK_EQ(weft_watch_version(NULL), 0);
	CHECK_EQ(weft_watch_subscribe(NULL, &rx), -EINVAL);
	CHECK_EQ(weft_watch_rx_clone(NULL, &rx), -EINVAL);
	weft_watch_rx_finish(NULL);
	CHECK_EQ(weft_watch_read(NULL, &v, &version), -EINVAL);
	CHECK_EQ(weft_watch_has_changed(NULL), -EINVAL);
	CHECK_EQ(weft_watch_changed(NULL, NULL), -EINVAL);
	CHECK_EQ(weft_watch_changed(NULL, &f), -EINVAL);
	CHECK_EQ(poll_ready_drop(&f.base, &f.status), -EINVAL);

	CHECK_EQ(weft_watch_create(sizeof(v), &v, &tx), 0);
	CHECK_EQ(weft_watch_subscribe(tx, NULL), -EINVAL);
	CHECK_EQ(weft_watch_subscribe(tx, &rx), 0);
	CHECK_EQ(weft_watch_rx_clone(&rx, NULL), -EINVAL);
	CHECK_EQ(weft_watch_send(tx, NULL), -EINVAL);
	CHECK_EQ(weft_watch_version(tx), 0);
	CHECK_EQ(weft_watch_read(&rx, NULL, &version), -EINVAL);
	CHECK_EQ(weft_watch_has_changed(&rx), 0);

	weft_watch_rx_finish(&rx);
	weft_watch_rx_finish(&rx);
	CHECK_EQ(weft_watch_read(&rx, &v, &version), -EINVAL);
	CHECK_EQ(weft_watch_has_changed(&rx), -EINVAL);
	CHECK_EQ(weft_watch_rx_clone(&rx, &rx2), -EINVAL);
	CHECK_EQ(weft_watch_changed(&rx, &f), -EINVAL);
	CHECK_EQ(poll_ready_drop(&f.base, &f.status), -EINVAL);
	weft_watch_tx_release(tx);
}

static void test_select(void)
{
	weft_select sel;
	weft_future *branches[WEFT_SELECT_MAX + 1] = { NULL };

	CHECK_EQ(weft_select_init(NULL, branches, 1), -EINVAL);
	CHECK_EQ(weft_select_init(&sel, NULL, 1), -EINVAL);
	CHECK_EQ(weft_future_poll(&sel.base, &cx), WEFT_READY);
	CHECK_EQ(sel.winner, -1);
	weft_future_drop(&sel.base);
	CHECK_EQ(weft_select_init(&sel, branches, 0), -EINVAL);
	weft_future_drop(&sel.base);
	CHECK_EQ(weft_select_init(&sel, branches, WEFT_SELECT_MAX + 1), -EINVAL);
	weft_future_drop(&sel.base);
}

int main(void)
{
	waker = count_waker_ref(&cw);
	weft_cx_init(&cx, &waker);
	test_mpsc();
	test_oneshot();
	test_broadcast();
	test_watch();
	test_select();
	CHECK_EQ(atomic_load(&cw.clones), 0);
	return 0;
}

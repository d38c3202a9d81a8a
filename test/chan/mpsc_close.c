/* mpsc_close: closing from either side while tasks wait: waiting senders fail without sending, the receiver drains then sees end-of-stream. */
#include "chan_test.h"

#define SENDERS 8

/* Receives until end-of-stream, or until `stop_after` values then closes
 * the receiving side and drains. */
struct receiver {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_rx *rx;
	uint64_t value, got, stop_after;
	weft_mpsc_recv_future rf;
};

static weft_poll receiver_poll(weft_future *f, weft_cx *cx)
{
	struct receiver *self = (struct receiver *)f;

	WEFT_ASYNC_BEGIN(self);
	for (;;) {
		weft_mpsc_recv(self->rx, &self->value, &self->rf);
		WEFT_AWAIT(self, cx, &self->rf.base);
		weft_future_drop(&self->rf.base);
		if (self->rf.status == -EPIPE)
			break;
		CHECK_EQ(self->rf.status, 0);
		if (++self->got == self->stop_after)
			weft_mpsc_rx_close(self->rx);
	}
	WEFT_ASYNC_END(self);
}

/* Yields until `*counter` reaches `target`. */
struct wait_count {
	weft_future base;
	WEFT_ASYNC_STATE;
	_Atomic long *counter;
	long target;
	weft_yield y;
};

static weft_poll wait_count_poll(weft_future *f, weft_cx *cx)
{
	struct wait_count *self = (struct wait_count *)f;

	WEFT_ASYNC_BEGIN(self);
	while (atomic_load(self->counter) < self->target) {
		weft_yield_now(&self->y);
		WEFT_AWAIT(self, cx, &self->y.base);
	}
	WEFT_ASYNC_END(self);
}

static void wait_for(weft_runtime *rt, _Atomic long *counter, long target)
{
	struct wait_count w = { 0 };

	w.base.poll = wait_count_poll;
	w.counter = counter;
	w.target = target;
	CHECK_EQ(weft_block_on(rt, &w.base), 0);
}

/* What the senders of one test count. */
struct counts {
	_Atomic long started, sent, refused;
};

/* Spawns SENDERS senders of `count` values each into `tx`, counting into
 * `n`; they stop at the close. */
static void spawn_senders(weft_runtime *rt, weft_mpsc_tx *tx, uint64_t count, struct counts *n,
			  weft_join_handle *h)
{
	unsigned i;

	for (i = 0; i < SENDERS; i++) {
		struct test_sender s = { 0 };

		s.count = count;
		s.started = &n->started;
		s.sent = &n->sent;
		s.refused = &n->refused;
		spawn_test_sender(rt, tx, s, &h[i]);
	}
}

/* Waits for the SENDERS senders in `h`; each must finish cleanly. */
static void join_senders(weft_runtime *rt, weft_join_handle *h)
{
	unsigned i;

	for (i = 0; i < SENDERS; i++) {
		CHECK_EQ(weft_block_on(rt, &h[i].base), 0);
		CHECK_EQ(h[i].status, 0);
		weft_join_detach(&h[i]);
	}
}

/* Spawns the receiver (closing its side after `stop_after` values when
 * not 0). */
static void spawn_receiver(weft_runtime *rt, weft_mpsc_rx *rx, uint64_t stop_after,
			   weft_join_handle *h)
{
	struct receiver r = { 0 };

	r.base.poll = receiver_poll;
	r.rx = rx;
	r.stop_after = stop_after;
	SPAWN(rt, &r, h);
}

/* Waits for the receiver to see end-of-stream; returns how many values it
 * took. */
static uint64_t receiver_got(weft_runtime *rt, weft_join_handle *h)
{
	uint64_t got;

	CHECK_EQ(weft_block_on(rt, &h->base), 0);
	got = ((struct receiver *)weft_join_output(h))->got;
	weft_join_detach(h);
	return got;
}

/* The receiver goes away while senders wait for room. */
static void receiver_release_wakes_senders(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	struct counts n = { 0 };
	weft_join_handle h[SENDERS];
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;

	CHECK_EQ(weft_mpsc_bounded(8, 2, &tx, &rx), 0);
	spawn_senders(rt, tx, 1, &n, h);
	wait_for(rt, &n.started, SENDERS);
	wait_for(rt, &n.sent, 2); /* the channel is full */
	weft_mpsc_rx_release(rx);
	join_senders(rt, h);
	CHECK_EQ(atomic_load(&n.sent), 2);
	CHECK_EQ(atomic_load(&n.refused), SENDERS - 2);
	weft_mpsc_tx_release(tx);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* The last sender goes away while the receiver waits. */
static void sender_release_ends_stream(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	struct counts n = { 0 };
	weft_join_handle h[SENDERS], rh;
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;

	CHECK_EQ(weft_mpsc_bounded(8, 3, &tx, &rx), 0);
	spawn_receiver(rt, rx, 0, &rh);
	spawn_senders(rt, tx, 100, &n, h);
	weft_mpsc_tx_release(tx); /* the senders hold the remaining references */
	join_senders(rt, h);
	CHECK_EQ(receiver_got(rt, &rh), SENDERS * 100);
	CHECK_EQ(atomic_load(&n.sent), SENDERS * 100);
	weft_mpsc_rx_release(rx);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* One sender closes the channel for all while the others keep sending. */
static void sender_close_midstream(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	struct counts n = { 0 };
	weft_join_handle h[SENDERS], rh;
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;

	CHECK_EQ(weft_mpsc_bounded(8, 4, &tx, &rx), 0);
	spawn_receiver(rt, rx, 0, &rh);
	spawn_senders(rt, tx, UINT64_MAX, &n, h);
	wait_for(rt, &n.sent, 1000);
	weft_mpsc_tx_close(tx);
	join_senders(rt, h);
	CHECK_EQ(atomic_load(&n.refused), SENDERS); /* every sender saw the close */
	weft_mpsc_tx_release(tx);
	/* Everything sent before the close was received. */
	CHECK_EQ(receiver_got(rt, &rh), atomic_load(&n.sent));
	weft_mpsc_rx_release(rx);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* The receiver closes its side midstream, then drains. */
static void receiver_close_midstream(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	struct counts n = { 0 };
	weft_join_handle h[SENDERS], rh;
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;

	CHECK_EQ(weft_mpsc_unbounded(8, &tx, &rx), 0);
	spawn_receiver(rt, rx, 500, &rh);
	spawn_senders(rt, tx, UINT64_MAX, &n, h);
	join_senders(rt, h);
	CHECK_EQ(atomic_load(&n.refused), SENDERS);
	CHECK_EQ(receiver_got(rt, &rh), atomic_load(&n.sent));
	CHECK(atomic_load(&n.sent) >= 500);
	weft_mpsc_tx_release(tx);
	weft_mpsc_rx_release(rx);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

int main(void)
{
	static const unsigned flavours[] = { 4, 0 };
	unsigned i;

	for (i = 0; i < 2; i++) {
		receiver_release_wakes_senders(flavours[i]);
		sender_release_ends_stream(flavours[i]);
		sender_close_midstream(flavours[i]);
		receiver_close_midstream(flavours[i]);
	}
	return 0;
}

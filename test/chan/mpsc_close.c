/* mpsc_close: closing from either side while tasks wait: waiting senders fail without sending, the receiver drains then sees end-of-stream. */
#include "chan_test.h"

#define SENDERS 8

struct sender {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_tx *tx;
	_Atomic long *started, *sent, *refused;
	uint64_t value, count, i;
	bool sending;
	weft_mpsc_send_future sf;
};

/* Sends `count` values (or until the channel closes), counting outcomes. */
static weft_poll sender_poll(weft_future *f, weft_cx *cx)
{
	struct sender *self = (struct sender *)f;

	WEFT_ASYNC_BEGIN(self);
	atomic_fetch_add(self->started, 1);
	for (self->i = 0; self->i < self->count; self->i++) {
		weft_mpsc_send(self->tx, &self->value, &self->sf);
		self->sending = true;
		WEFT_AWAIT(self, cx, &self->sf.base);
		self->sending = false;
		weft_future_drop(&self->sf.base);
		if (self->sf.status == -EPIPE) {
			atomic_fetch_add(self->refused, 1);
			break;
		}
		CHECK_EQ(self->sf.status, 0);
		atomic_fetch_add(self->sent, 1);
	}
	weft_mpsc_tx_release(self->tx);
	self->tx = NULL;
	WEFT_ASYNC_END(self);
}

static void sender_drop(weft_future *f)
{
	struct sender *self = (struct sender *)f;

	if (self->sending)
		weft_future_drop(&self->sf.base);
	weft_mpsc_tx_release(self->tx);
}

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

static void spawn_sender(weft_runtime *rt, weft_mpsc_tx *tx, uint64_t count, _Atomic long *started,
			 _Atomic long *sent, _Atomic long *refused, weft_join_handle *h)
{
	struct sender s = { 0 };

	s.base.poll = sender_poll;
	s.base.drop = sender_drop;
	s.tx = weft_mpsc_tx_clone(tx);
	s.count = count;
	s.started = started;
	s.sent = sent;
	s.refused = refused;
	SPAWN(rt, &s, h);
}

static void join(weft_runtime *rt, weft_join_handle *h)
{
	CHECK_EQ(weft_block_on(rt, &h->base), 0);
	CHECK_EQ(h->status, 0);
	weft_join_detach(h);
}

/* The receiver goes away while senders wait for room. */
static void receiver_release_wakes_senders(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	_Atomic long started = 0, sent = 0, refused = 0;
	weft_join_handle h[SENDERS];
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	unsigned i;

	CHECK_EQ(weft_mpsc_bounded(8, 2, &tx, &rx), 0);
	for (i = 0; i < SENDERS; i++)
		spawn_sender(rt, tx, 1, &started, &sent, &refused, &h[i]);
	wait_for(rt, &started, SENDERS);
	wait_for(rt, &sent, 2); /* the channel is full */
	weft_mpsc_rx_release(rx);
	for (i = 0; i < SENDERS; i++)
		join(rt, &h[i]);
	CHECK_EQ(atomic_load(&sent), 2);
	CHECK_EQ(atomic_load(&refused), SENDERS - 2);
	weft_mpsc_tx_release(tx);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* The last sender goes away while the receiver waits. */
static void sender_release_ends_stream(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	_Atomic long started = 0, sent = 0, refused = 0;
	struct receiver r = { 0 };
	weft_join_handle h[SENDERS], rh;
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	unsigned i;

	CHECK_EQ(weft_mpsc_bounded(8, 3, &tx, &rx), 0);
	r.base.poll = receiver_poll;
	r.rx = rx;
	SPAWN(rt, &r, &rh);
	for (i = 0; i < SENDERS; i++)
		spawn_sender(rt, tx, 100, &started, &sent, &refused, &h[i]);
	weft_mpsc_tx_release(tx); /* the senders hold the remaining references */
	for (i = 0; i < SENDERS; i++)
		join(rt, &h[i]);
	CHECK_EQ(weft_block_on(rt, &rh.base), 0);
	CHECK_EQ(((struct receiver *)weft_join_output(&rh))->got, SENDERS * 100);
	weft_join_detach(&rh);
	CHECK_EQ(atomic_load(&sent), SENDERS * 100);
	weft_mpsc_rx_release(rx);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* One sender closes the channel for all while the others keep sending. */
static void sender_close_midstream(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	_Atomic long started = 0, sent = 0, refused = 0;
	struct receiver r = { 0 };
	weft_join_handle h[SENDERS], rh;
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	unsigned i;

	CHECK_EQ(weft_mpsc_bounded(8, 4, &tx, &rx), 0);
	r.base.poll = receiver_poll;
	r.rx = rx;
	SPAWN(rt, &r, &rh);
	for (i = 0; i < SENDERS; i++)
		spawn_sender(rt, tx, UINT64_MAX, &started, &sent, &refused, &h[i]);
	wait_for(rt, &sent, 1000);
	weft_mpsc_tx_close(tx);
	for (i = 0; i < SENDERS; i++)
		join(rt, &h[i]);
	CHECK_EQ(atomic_load(&refused), SENDERS); /* every sender saw the close */
	weft_mpsc_tx_release(tx);
	CHECK_EQ(weft_block_on(rt, &rh.base), 0);
	/* Everything sent before the close was received. */
	CHECK_EQ(((struct receiver *)weft_join_output(&rh))->got, atomic_load(&sent));
	weft_join_detach(&rh);
	weft_mpsc_rx_release(rx);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* The receiver closes its side midstream, then drains. */
static void receiver_close_midstream(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	_Atomic long started = 0, sent = 0, refused = 0;
	struct receiver r = { 0 };
	weft_join_handle h[SENDERS], rh;
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	unsigned i;

	CHECK_EQ(weft_mpsc_unbounded(8, &tx, &rx), 0);
	r.base.poll = receiver_poll;
	r.rx = rx;
	r.stop_after = 500;
	SPAWN(rt, &r, &rh);
	for (i = 0; i < SENDERS; i++)
		spawn_sender(rt, tx, UINT64_MAX, &started, &sent, &refused, &h[i]);
	for (i = 0; i < SENDERS; i++)
		join(rt, &h[i]);
	CHECK_EQ(atomic_load(&refused), SENDERS);
	CHECK_EQ(weft_block_on(rt, &rh.base), 0);
	CHECK_EQ(((struct receiver *)weft_join_output(&rh))->got, atomic_load(&sent));
	CHECK(atomic_load(&sent) >= 500);
	weft_join_detach(&rh);
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

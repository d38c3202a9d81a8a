/*
 * examples/tutorial/07_pipeline.c - a channel pipeline (docs/tutorial.md,
 * chapter 6): a producer task sends 1..10 into a bounded channel, a squarer
 * task turns each value into its square on a second channel, and the main
 * future sums what arrives until end-of-stream.  Releasing the last sender
 * of a channel is what ends the stream.
 */
#include <stdio.h>
#include <weft.h>

struct producer {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_tx *out;
	weft_mpsc_send_future send;
	long i;
};

static weft_poll producer_poll(weft_future *f, weft_cx *cx)
{
	struct producer *self = (struct producer *)f;

	WEFT_ASYNC_BEGIN(self);
	for (self->i = 1; self->i <= 10; self->i++) {
		weft_mpsc_send(self->out, &self->i, &self->send);
		WEFT_AWAIT(self, cx, &self->send.base);
		weft_future_drop(&self->send.base);
	}
	weft_mpsc_tx_release(self->out); /* the end of the stream */
	self->out = NULL;
	WEFT_ASYNC_END(self);
}

struct squarer {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_rx *in;
	weft_mpsc_tx *out;
	weft_mpsc_recv_future recv;
	weft_mpsc_send_future send;
	long value;
};

static weft_poll squarer_poll(weft_future *f, weft_cx *cx)
{
	struct squarer *self = (struct squarer *)f;

	WEFT_ASYNC_BEGIN(self);
	for (;;) {
		weft_mpsc_recv(self->in, &self->value, &self->recv);
		WEFT_AWAIT(self, cx, &self->recv.base);
		weft_future_drop(&self->recv.base);
		if (self->recv.status != 0)
			break; /* -EPIPE: the producer is done */
		self->value *= self->value;
		weft_mpsc_send(self->out, &self->value, &self->send);
		WEFT_AWAIT(self, cx, &self->send.base);
		weft_future_drop(&self->send.base);
	}
	weft_mpsc_rx_release(self->in);
	weft_mpsc_tx_release(self->out);
	self->in = NULL;
	self->out = NULL;
	WEFT_ASYNC_END(self);
}

struct collector {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_rx *in;
	weft_mpsc_recv_future recv;
	long value, sum;
};

static weft_poll collector_poll(weft_future *f, weft_cx *cx)
{
	struct collector *self = (struct collector *)f;

	WEFT_ASYNC_BEGIN(self);
	for (;;) {
		weft_mpsc_recv(self->in, &self->value, &self->recv);
		WEFT_AWAIT(self, cx, &self->recv.base);
		weft_future_drop(&self->recv.base);
		if (self->recv.status != 0)
			break;
		self->sum += self->value;
	}
	WEFT_ASYNC_END(self);
}

int main(void)
{
	weft_runtime_config cfg = { .workers = 2 };
	weft_runtime *rt;
	weft_mpsc_tx *tx1, *tx2;
	weft_mpsc_rx *rx1, *rx2;
	struct producer p = { .base = { producer_poll, NULL } };
	struct squarer s = { .base = { squarer_poll, NULL } };
	struct collector c = { .base = { collector_poll, NULL } };

	if (weft_runtime_create(&cfg, &rt) < 0 ||
	    weft_mpsc_bounded(sizeof(long), 4, &tx1, &rx1) < 0 ||
	    weft_mpsc_bounded(sizeof(long), 4, &tx2, &rx2) < 0)
		return 1;
	p.out = tx1;
	s.in = rx1;
	s.out = tx2;
	c.in = rx2;
	if (weft_spawn(rt, &p.base, sizeof p, NULL) < 0 ||
	    weft_spawn(rt, &s.base, sizeof s, NULL) < 0 ||
	    weft_block_on(rt, &c.base) < 0)
		return 1;
	weft_mpsc_rx_release(rx2);
	printf("sum of squares 1..10: %ld\n", c.sum);
	weft_runtime_destroy(rt);
	return c.sum == 385 ? 0 : 1;
}

/*
 * examples/tutorial/08_select.c - select over a channel and a oneshot
 * (docs/tutorial.md, chapter 6): the main future takes numbers from a
 * channel until a "stop" oneshot fires, then drains what is still
 * buffered.  A select owns its branches and drops the losers, so each round
 * sets up fresh receives; a losing receive takes nothing.
 */
#include <stdio.h>
#include <weft.h>

/* Sends 1..5 without waiting (the channel has room), then says stop. */
struct feeder {
	weft_future base;
	weft_mpsc_tx *tx;
	weft_oneshot *stop;
};

static weft_poll feeder_poll(weft_future *f, weft_cx *cx)
{
	struct feeder *self = (struct feeder *)f;
	int go = 1;

	(void)cx;
	for (long i = 1; i <= 5; i++)
		weft_mpsc_try_send(self->tx, &i);
	weft_oneshot_send(self->stop, &go);
	weft_mpsc_tx_release(self->tx);
	return WEFT_READY;
}

struct main_future {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_rx *rx;
	weft_oneshot *stop;
	weft_mpsc_recv_future recv;
	weft_oneshot_recv_future stopped;
	weft_select sel;
	long value, sum;
	int count, go;
};

static weft_poll main_poll(weft_future *f, weft_cx *cx)
{
	struct main_future *self = (struct main_future *)f;
	weft_future *branches[2];

	WEFT_ASYNC_BEGIN(self);
	for (;;) {
		weft_mpsc_recv(self->rx, &self->value, &self->recv);
		weft_oneshot_recv(self->stop, &self->go, &self->stopped);
		branches[0] = &self->recv.base;
		branches[1] = &self->stopped.base;
		weft_select_init(&self->sel, branches, 2);
		WEFT_AWAIT(self, cx, &self->sel.base);
		if (self->sel.winner == 0 && self->recv.status == 0) {
			self->sum += self->value;
			self->count++;
		}
		weft_future_drop(&self->sel.base); /* drops the winner too */
		if (self->sel.winner == 1 || self->recv.status != 0)
			break;
	}
	/* The channel may have ended first: then the stop is not awaited, and
	 * the receiver gives the oneshot up (so that it can free itself). */
	if (self->sel.winner != 1)
		weft_oneshot_rx_close(self->stop);
	/* Stopped: what is still buffered was sent before the stop. */
	while (weft_mpsc_try_recv(self->rx, &self->value) == 0) {
		self->sum += self->value;
		self->count++;
	}
	WEFT_ASYNC_END(self);
}

int main(void)
{
	weft_runtime_config cfg = { .workers = 2 };
	weft_runtime *rt;
	weft_mpsc_tx *tx;
	struct main_future m = { .base = { main_poll, NULL } };
	struct feeder feed = { .base = { feeder_poll, NULL } };

	if (weft_runtime_create(&cfg, &rt) < 0 ||
	    weft_mpsc_bounded(sizeof(long), 8, &tx, &m.rx) < 0 ||
	    weft_oneshot_create(sizeof(int), &m.stop) < 0)
		return 1;
	feed.tx = tx;
	feed.stop = m.stop;
	if (weft_spawn(rt, &feed.base, sizeof feed, NULL) < 0 || weft_block_on(rt, &m.base) < 0)
		return 1;
	printf("received %d values, sum %ld, then stopped\n", m.count, m.sum);
	weft_mpsc_rx_release(m.rx);
	weft_runtime_destroy(rt);
	return m.count == 5 && m.sum == 15 ? 0 : 1;
}

/* mpsc_cancel: send and receive futures dropped at every point (by hand, by select, by task abort) lose and duplicate nothing, and leak no capacity. */
#include <time.h>

#include "chan_test.h"

/* ---- by hand --------------------------------------------------------------- */

static void test_send_drop_points(void)
{
	struct count_waker cw = { 0 };
	weft_waker w = count_waker_ref(&cw);
	weft_mpsc_send_future f0, f1, f2, f3;
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	uint64_t v0 = 100, v1 = 101, v2 = 102, v3 = 103, out;
	weft_cx cx;

	weft_cx_init(&cx, &w);
	CHECK_EQ(weft_mpsc_bounded(8, 1, &tx, &rx), 0);

	/* Dropped before its first poll: nothing happens. */
	weft_mpsc_send(tx, &v0, &f0);
	weft_future_drop(&f0.base);
	CHECK_EQ(weft_mpsc_try_recv(rx, &out), -EAGAIN);

	/* Fill the channel, queue three senders. */
	CHECK_EQ(weft_mpsc_try_send(tx, &v0), 0);
	weft_mpsc_send(tx, &v1, &f1);
	weft_mpsc_send(tx, &v2, &f2);
	weft_mpsc_send(tx, &v3, &f3);
	CHECK_EQ(poll_once(&f1.base, &cx), WEFT_PENDING);
	CHECK_EQ(poll_once(&f2.base, &cx), WEFT_PENDING);
	CHECK_EQ(poll_once(&f3.base, &cx), WEFT_PENDING);

	/* Dropped while queued (in the middle): it leaves the queue. */
	weft_future_drop(&f2.base);

	/* The receiver makes room: the permit goes to f1 (the oldest). */
	CHECK_EQ(weft_mpsc_try_recv(rx, &out), 0);
	CHECK_EQ(out, 100);
	CHECK_EQ(count_wakes(&cw), 1);

	/* f1 is dropped after it was handed the permit but before it used
	 * it: the permit passes to f3, and f1 delivers nothing. */
	weft_future_drop(&f1.base);
	CHECK_EQ(count_wakes(&cw), 2);
	CHECK_EQ(weft_mpsc_try_recv(rx, &out), -EAGAIN);
	CHECK_EQ(poll_once(&f3.base, &cx), WEFT_READY);
	CHECK_EQ(f3.status, 0);
	weft_future_drop(&f3.base); /* dropping a finished send is a no-op */
	CHECK_EQ(weft_mpsc_try_recv(rx, &out), 0);
	CHECK_EQ(out, 103);
	CHECK_EQ(weft_mpsc_try_recv(rx, &out), -EAGAIN);

	/* Capacity is intact: exactly one slot. */
	CHECK_EQ(weft_mpsc_try_send(tx, &v0), 0);
	CHECK_EQ(weft_mpsc_try_send(tx, &v0), -EAGAIN);
	CHECK_EQ(weft_mpsc_try_recv(rx, &out), 0);

	/* A granted permit that is dropped with nobody queued goes back. */
	CHECK_EQ(weft_mpsc_try_send(tx, &v0), 0);
	weft_mpsc_send(tx, &v1, &f1);
	CHECK_EQ(poll_once(&f1.base, &cx), WEFT_PENDING);
	CHECK_EQ(weft_mpsc_try_recv(rx, &out), 0);
	weft_future_drop(&f1.base);
	CHECK_EQ(weft_mpsc_try_send(tx, &v2), 0);
	CHECK_EQ(weft_mpsc_try_send(tx, &v2), -EAGAIN);
	CHECK_EQ(weft_mpsc_try_recv(rx, &out), 0);
	CHECK_EQ(out, 102);

	/* Dropped after close woke it. */
	CHECK_EQ(weft_mpsc_try_send(tx, &v0), 0);
	weft_mpsc_send(tx, &v1, &f1);
	CHECK_EQ(poll_once(&f1.base, &cx), WEFT_PENDING);
	weft_mpsc_tx_close(tx);
	weft_future_drop(&f1.base);
	CHECK_EQ(weft_mpsc_try_recv(rx, &out), 0);
	CHECK_EQ(out, 100);
	CHECK_EQ(weft_mpsc_try_recv(rx, &out), -EPIPE);

	weft_mpsc_rx_release(rx);
	weft_mpsc_tx_release(tx);
	CHECK_EQ(atomic_load(&cw.clones), 0);
}

static void test_recv_drop_points(void)
{
	struct count_waker cw = { 0 };
	weft_waker w = count_waker_ref(&cw);
	weft_mpsc_recv_future rf;
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	uint64_t v = 9, out = 0;
	weft_cx cx;

	weft_cx_init(&cx, &w);
	CHECK_EQ(weft_mpsc_unbounded(8, &tx, &rx), 0);

	/* Dropped while waiting, then a value arrives: nobody loses it. */
	weft_mpsc_recv(rx, &out, &rf);
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_PENDING);
	weft_future_drop(&rf.base);
	CHECK_EQ(weft_mpsc_try_send(tx, &v), 0);
	CHECK_EQ(weft_mpsc_try_recv(rx, &out), 0);
	CHECK_EQ(out, 9);

	/* Woken for a value and dropped before the next poll: the value
	 * stays for the next receive. */
	weft_mpsc_recv(rx, &out, &rf);
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_PENDING);
	v = 10;
	CHECK_EQ(weft_mpsc_try_send(tx, &v), 0);
	weft_future_drop(&rf.base);
	out = 0;
	weft_mpsc_recv(rx, &out, &rf);
	CHECK_EQ(poll_once(&rf.base, &cx), WEFT_READY);
	CHECK_EQ(rf.status, 0);
	CHECK_EQ(out, 10);
	weft_future_drop(&rf.base);

	weft_mpsc_tx_release(tx);
	weft_mpsc_rx_release(rx);
	CHECK_EQ(atomic_load(&cw.clones), 0);
}

/* ---- cancellation storms ------------------------------------------------------ */

/*
 * Producers send numbered values into a small bounded channel while the
 * main thread cancels them (and the receiver) at random moments, either by
 * aborting the task (the runtime drops its future at the next scheduling
 * point) or by completing a "stop" oneshot that the task selects on (the
 * select drops the send).  Either way a send that did not complete must
 * not deliver, and one that did must be received exactly once, in order.
 */

#define CAP 4
#define LIVE_PRODUCERS 4
#define MAX_IDS 4096
#define SENTINEL UINT64_MAX

enum cancel_mode { BY_ABORT, BY_STOP };

struct shared {
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	weft_mpsc_tx *noise_tx;
	weft_mpsc_rx *noise_rx;
	/* Stop signals (BY_STOP), owned by the main thread. */
	weft_oneshot stop[LIVE_PRODUCERS];
	weft_oneshot rx_stop;
	/* Sends of each producer that returned 0. */
	_Atomic uint64_t completed[MAX_IDS];
	/* The receiver's expectation; one receiver task at a time. */
	uint64_t next[MAX_IDS];
	uint64_t noise_next;
	uint64_t received;
};

enum { IDLE, SENDING, SELECTING };

struct producer {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct shared *sh;
	weft_oneshot *stop;
	uint64_t id, seq, value;
	int active, status;
	weft_mpsc_send_future sf;
	weft_oneshot_recv_future stopf;
	weft_select sel;
};

static weft_poll producer_poll(weft_future *f, weft_cx *cx)
{
	struct producer *self = (struct producer *)f;
	weft_future *branches[2];

	WEFT_ASYNC_BEGIN(self);
	for (;;) {
		self->value = self->id << 32 | self->seq;
		weft_mpsc_send(self->sh->tx, &self->value, &self->sf);
		if (self->stop == NULL) {
			self->active = SENDING;
			WEFT_AWAIT(self, cx, &self->sf.base);
			self->active = IDLE;
			self->status = self->sf.status;
			weft_future_drop(&self->sf.base);
		} else {
			weft_oneshot_recv(self->stop, NULL, &self->stopf);
			branches[0] = &self->sf.base;
			branches[1] = &self->stopf.base;
			CHECK_EQ(weft_select_init(&self->sel, branches, 2), 0);
			self->active = SELECTING;
			WEFT_AWAIT(self, cx, &self->sel.base);
			self->active = IDLE;
			self->status = self->sel.winner == 0 ? self->sf.status : 1;
			weft_future_drop(&self->sel.base);
		}
		if (self->status != 0)
			break;
		/* In the same poll as the send completing: a cancellation
		 * cannot come in between. */
		atomic_store(&self->sh->completed[self->id], ++self->seq);
	}
	WEFT_ASYNC_END(self);
}

static void producer_drop(weft_future *f)
{
	struct producer *self = (struct producer *)f;

	if (self->active == SENDING)
		weft_future_drop(&self->sf.base);
	else if (self->active == SELECTING)
		weft_future_drop(&self->sel.base);
}

struct receiver {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct shared *sh;
	weft_oneshot *stop;
	uint64_t value, noise;
	bool selecting, done;
	weft_mpsc_recv_future rf, nf;
	weft_oneshot_recv_future stopf;
	weft_select sel;
};

static void receiver_take(struct receiver *self)
{
	struct shared *sh = self->sh;
	uint64_t id, seq;

	if (self->sel.winner == 2) {
		CHECK_EQ(self->stopf.status, 0);
		self->done = true;
		return;
	}
	if (self->sel.winner == 1) {
		CHECK_EQ(self->nf.status, 0);
		CHECK_EQ(self->noise, sh->noise_next);
		sh->noise_next++;
		return;
	}
	CHECK_EQ(self->sel.winner, 0);
	CHECK_EQ(self->rf.status, 0);
	if (self->value == SENTINEL) {
		self->done = true;
		return;
	}
	id = self->value >> 32;
	seq = self->value & 0xffffffffu;
	CHECK(id < MAX_IDS);
	CHECK_EQ(seq, sh->next[id]); /* in order, exactly once */
	sh->next[id]++;
	sh->received++;
}

static weft_poll receiver_poll(weft_future *f, weft_cx *cx)
{
	struct receiver *self = (struct receiver *)f;
	weft_future *branches[3];

	WEFT_ASYNC_BEGIN(self);
	while (!self->done) {
		weft_mpsc_recv(self->sh->rx, &self->value, &self->rf);
		weft_mpsc_recv(self->sh->noise_rx, &self->noise, &self->nf);
		branches[0] = &self->rf.base;
		branches[1] = &self->nf.base;
		branches[2] = NULL; /* a disabled branch */
		if (self->stop != NULL) {
			weft_oneshot_recv(self->stop, NULL, &self->stopf);
			branches[2] = &self->stopf.base;
		}
		CHECK_EQ(weft_select_init(&self->sel, branches, 3), 0);
		self->selecting = true;
		WEFT_AWAIT(self, cx, &self->sel.base);
		/* Take the value in the poll that completed the select. */
		receiver_take(self);
		self->selecting = false;
		weft_future_drop(&self->sel.base);
	}
	WEFT_ASYNC_END(self);
}

static void receiver_drop(weft_future *f)
{
	struct receiver *self = (struct receiver *)f;

	if (self->selecting)
		weft_future_drop(&self->sel.base);
}

/* Lets the runtime run for a while: yields `n` times in block_on. */
struct yielder {
	weft_future base;
	WEFT_ASYNC_STATE;
	unsigned n;
	weft_yield y;
};

static weft_poll yielder_poll(weft_future *f, weft_cx *cx)
{
	struct yielder *self = (struct yielder *)f;

	WEFT_ASYNC_BEGIN(self);
	while (self->n-- > 0) {
		weft_yield_now(&self->y);
		WEFT_AWAIT(self, cx, &self->y.base);
	}
	WEFT_ASYNC_END(self);
}

static void run_for_a_while(weft_runtime *rt, unsigned workers, uint64_t *rng)
{
	struct yielder y = { 0 };

	y.base.poll = yielder_poll;
	y.n = (unsigned)(test_rand(rng) % 8);
	CHECK_EQ(weft_block_on(rt, &y.base), 0);
	if (workers > 0) {
		struct timespec ts = { 0, (long)(test_rand(rng) % 100000) };

		nanosleep(&ts, NULL);
	}
}

/* Cancels (or just awaits) a task and releases its handle. */
static void finish_task(weft_runtime *rt, weft_join_handle *h, enum cancel_mode mode,
			weft_oneshot *stop, bool cancel)
{
	if (cancel && mode == BY_ABORT)
		CHECK_EQ(weft_join_abort(h), 0);
	if (cancel && mode == BY_STOP)
		CHECK_EQ(weft_oneshot_send(stop, NULL), 0);
	CHECK_EQ(weft_block_on(rt, &h->base), 0);
	CHECK(h->status == 0 || h->status == -ECANCELED);
	weft_join_detach(h);
	if (stop != NULL) {
		weft_oneshot_finish(stop);
		CHECK_EQ(weft_oneshot_init(stop, NULL, 0), 0);
	}
}

static void spawn_producer(weft_runtime *rt, struct shared *sh, uint64_t id, weft_oneshot *stop,
			   weft_join_handle *h)
{
	struct producer p = { 0 };

	p.base.poll = producer_poll;
	p.base.drop = producer_drop;
	p.sh = sh;
	p.stop = stop;
	p.id = id;
	SPAWN(rt, &p, h);
}

static void spawn_receiver(weft_runtime *rt, struct shared *sh, weft_oneshot *stop,
			   weft_join_handle *h)
{
	struct receiver r = { 0 };

	r.base.poll = receiver_poll;
	r.base.drop = receiver_drop;
	r.sh = sh;
	r.stop = stop;
	SPAWN(rt, &r, h);
}

struct sentinel_send {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct shared *sh;
	uint64_t value;
	weft_mpsc_send_future sf;
};

static weft_poll sentinel_poll(weft_future *f, weft_cx *cx)
{
	struct sentinel_send *self = (struct sentinel_send *)f;

	WEFT_ASYNC_BEGIN(self);
	self->value = SENTINEL;
	weft_mpsc_send(self->sh->tx, &self->value, &self->sf);
	WEFT_AWAIT(self, cx, &self->sf.base);
	CHECK_EQ(self->sf.status, 0);
	weft_future_drop(&self->sf.base);
	WEFT_ASYNC_END(self);
}

static void storm(unsigned workers, enum cancel_mode mode, unsigned rounds)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	struct shared *sh = calloc(1, sizeof(*sh));
	weft_join_handle prod[LIVE_PRODUCERS], recv;
	struct sentinel_send ss = { 0 };
	uint64_t rng = 0x1234567 + workers, ids = 0, noise = 0, out, total = 0;
	weft_oneshot *stop, *rx_stop;
	unsigned r, k;

	CHECK(sh != NULL);
	CHECK_EQ(weft_mpsc_bounded(sizeof(uint64_t), CAP, &sh->tx, &sh->rx), 0);
	CHECK_EQ(weft_mpsc_unbounded(sizeof(uint64_t), &sh->noise_tx, &sh->noise_rx), 0);
	for (k = 0; k < LIVE_PRODUCERS; k++)
		CHECK_EQ(weft_oneshot_init(&sh->stop[k], NULL, 0), 0);
	CHECK_EQ(weft_oneshot_init(&sh->rx_stop, NULL, 0), 0);
	rx_stop = mode == BY_STOP ? &sh->rx_stop : NULL;
	spawn_receiver(rt, sh, rx_stop, &recv);
	for (k = 0; k < LIVE_PRODUCERS; k++) {
		stop = mode == BY_STOP ? &sh->stop[k] : NULL;
		spawn_producer(rt, sh, ids++, stop, &prod[k]);
	}
	for (r = 0; r < rounds && ids < MAX_IDS - 1; r++) {
		run_for_a_while(rt, workers, &rng);
		k = (unsigned)(test_rand(&rng) % LIVE_PRODUCERS);
		stop = mode == BY_STOP ? &sh->stop[k] : NULL;
		finish_task(rt, &prod[k], mode, stop, true);
		spawn_producer(rt, sh, ids++, stop, &prod[k]);
		if (test_rand(&rng) % 4 == 0) {
			finish_task(rt, &recv, mode, rx_stop, true);
			spawn_receiver(rt, sh, rx_stop, &recv);
		}
		if (test_rand(&rng) % 3 == 0) {
			CHECK_EQ(weft_mpsc_try_send(sh->noise_tx, &noise), 0);
			noise++;
		}
	}
	for (k = 0; k < LIVE_PRODUCERS; k++)
		finish_task(rt, &prod[k], mode, mode == BY_STOP ? &sh->stop[k] : NULL, true);

	/* The sentinel goes behind everything sent; the receiver stops at it. */
	ss.base.poll = sentinel_poll;
	ss.sh = sh;
	CHECK_EQ(weft_block_on(rt, &ss.base), 0);
	finish_task(rt, &recv, mode, rx_stop, false);

	for (k = 0; k < ids; k++) {
		CHECK_EQ(sh->next[k], atomic_load(&sh->completed[k]));
		total += sh->next[k];
	}
	CHECK_EQ(total, sh->received);
	while (sh->noise_next < noise) {
		CHECK_EQ(weft_mpsc_try_recv(sh->noise_rx, &out), 0);
		CHECK_EQ(out, sh->noise_next++);
	}
	CHECK_EQ(weft_mpsc_try_recv(sh->noise_rx, &out), -EAGAIN);

	/* Nothing left, and the capacity is exactly what it was. */
	CHECK_EQ(weft_mpsc_try_recv(sh->rx, &out), -EAGAIN);
	for (k = 0; k < CAP; k++)
		CHECK_EQ(weft_mpsc_try_send(sh->tx, &out), 0);
	CHECK_EQ(weft_mpsc_try_send(sh->tx, &out), -EAGAIN);

	for (k = 0; k < LIVE_PRODUCERS; k++)
		weft_oneshot_finish(&sh->stop[k]);
	weft_oneshot_finish(&sh->rx_stop);
	weft_mpsc_tx_release(sh->tx);
	weft_mpsc_rx_release(sh->rx);
	weft_mpsc_tx_release(sh->noise_tx);
	weft_mpsc_rx_release(sh->noise_rx);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	fprintf(stderr, "storm(workers=%u, %s): %llu producers, %llu messages\n", workers,
		mode == BY_ABORT ? "abort" : "stop", (unsigned long long)ids,
		(unsigned long long)total);
	free(sh);
}

int main(void)
{
	unsigned rounds = 150 * (unsigned)test_scale();

	test_send_drop_points();
	test_recv_drop_points();
	storm(4, BY_STOP, rounds);
	storm(0, BY_STOP, rounds);
	storm(0, BY_ABORT, rounds);
	storm(4, BY_ABORT, rounds);
	return 0;
}

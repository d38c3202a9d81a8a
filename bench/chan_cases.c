/*
 * bench/chan_cases.c - benchmark cases of src/chan for the weft-bench binary.
 *
 * Exposes `weft_chan_cases` / `weft_chan_cases_len` (struct bench_case from
 * bench/harness.h), joined into weft-bench by bench/main.c.  Three groups:
 *
 *  - Tokio's own channel benches (benches/sync_mpsc.rs, sync_mpsc_oneshot.rs,
 *    sync_broadcast.rs, sync_watch.rs): same names, worker counts, constants
 *    and defaults as BENCH_TOKIO_CASES in harness.h and bench/peers/tokio;
 *  - st/... : one channel operation on one thread, futures polled by hand
 *    with a no-op waker and no runtime, so the time is the cost of the
 *    operation itself (ns per operation; weft-bench also counts bytes and
 *    allocations per operation for these rows);
 *  - chan/mpsc_4x4: 4 producers and 4 consumers on 4 workers.  mpsc has one
 *    consumer per channel, so this is 4 mpsc channels, each fed by all 4
 *    producers (round-robin) and drained by its own consumer task: every
 *    channel is multi-producer, and every consumer competes for the same
 *    workers.  One iteration moves 100,000 values.
 *
 * Every case checks its counts after each iteration and fails the run when
 * a message is missing.
 */
#include "common.h"

#include <stdatomic.h>

/* ======================================================================== */
/* helpers                                                                   */
/* ======================================================================== */

/* A runtime plus a failure flag set by tasks that cannot return errors. */
struct rt_state {
	weft_runtime *rt;
	_Atomic int failed;
};

static int rt_state_setup(int workers, size_t size, void **state)
{
	struct rt_state *st = calloc(1, size);

	if (st == NULL)
		return -ENOMEM;
	st->rt = bench_runtime(workers, false);
	if (st->rt == NULL) {
		free(st);
		return -ENOMEM;
	}
	*state = st;
	return 0;
}

/* Frees a state made by rt_state_setup whose other fields own nothing. */
static void rt_state_teardown(void *state)
{
	struct rt_state *st = state;

	weft_runtime_destroy(st->rt);
	free(st);
}

static void fail(struct rt_state *st, const char *what)
{
	if (atomic_exchange(&st->failed, 1) == 0)
		fprintf(stderr, "bench: check failed: %s\n", what);
}

/* ======================================================================== */
/* sync_mpsc                                                                 */
/* ======================================================================== */

#define MPSC_SENDERS 5
#define MPSC_PER_SENDER 1000

struct mpsc_case {
	struct rt_state rs;
	size_t capacity; /* 0: unbounded */
};

static const size_t cap_1m = 1000000, cap_100 = 100, cap_unbounded = 0;

static int mpsc_setup(const struct bench_case *bc, int workers, void **state)
{
	int err = rt_state_setup(workers, sizeof(struct mpsc_case), state);

	if (err == 0)
		((struct mpsc_case *)*state)->capacity = *(const size_t *)bc->param;
	return err;
}

static int make_channel(size_t capacity, weft_mpsc_tx **tx, weft_mpsc_rx **rx)
{
	if (capacity == 0)
		return weft_mpsc_unbounded(sizeof(uint64_t), tx, rx);
	return weft_mpsc_bounded(sizeof(uint64_t), capacity, tx, rx);
}

/* One of Tokio's five senders: 1,000 sends (awaited when bounded). */
struct mpsc_sender {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct rt_state *rs;
	weft_mpsc_tx *tx;
	bool bounded, sending;
	uint64_t i, value;
	weft_mpsc_send_future sf;
};

static weft_poll mpsc_sender_poll(weft_future *f, weft_cx *cx)
{
	struct mpsc_sender *s = (struct mpsc_sender *)f;

	WEFT_ASYNC_BEGIN(s);
	for (s->i = 0; s->i < MPSC_PER_SENDER; s->i++) {
		s->value = s->i;
		if (!s->bounded) {
			if (weft_mpsc_try_send(s->tx, &s->value) != 0)
				fail(s->rs, "unbounded send failed");
			continue;
		}
		weft_mpsc_send(s->tx, &s->value, &s->sf);
		s->sending = true;
		WEFT_AWAIT(s, cx, &s->sf.base);
		s->sending = false;
		weft_future_drop(&s->sf.base);
		if (s->sf.status != 0)
			fail(s->rs, "send failed");
	}
	weft_mpsc_tx_release(s->tx);
	s->tx = NULL;
	WEFT_ASYNC_END(s);
}

static void mpsc_sender_drop(weft_future *f)
{
	struct mpsc_sender *s = (struct mpsc_sender *)f;

	if (s->sending)
		weft_future_drop(&s->sf.base);
	weft_mpsc_tx_release(s->tx);
}

/*
 * The block_on future of both benches.  `got` is what the receives add up
 * to: their count (contention) or the sum of the values (uncontended).
 */
struct mpsc_main {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct mpsc_case *c;
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	int err;
	uint64_t i, got, value;
	weft_mpsc_send_future sf;
	weft_mpsc_recv_future rf;
};

/* contention: 5 senders spawned, 5,000 receives. */
static weft_poll mpsc_contention_poll(weft_future *f, weft_cx *cx)
{
	struct mpsc_main *m = (struct mpsc_main *)f;

	WEFT_ASYNC_BEGIN(m);
	m->err = make_channel(m->c->capacity, &m->tx, &m->rx);
	if (m->err != 0)
		return WEFT_READY;
	for (m->i = 0; m->i < MPSC_SENDERS; m->i++) {
		struct mpsc_sender s = { 0 };

		s.base.poll = mpsc_sender_poll;
		s.base.drop = mpsc_sender_drop;
		s.rs = &m->c->rs;
		s.tx = weft_mpsc_tx_clone(m->tx);
		s.bounded = m->c->capacity != 0;
		if (weft_spawn(m->c->rs.rt, &s.base, sizeof(s), NULL) != 0) {
			weft_mpsc_tx_release(s.tx);
			fail(&m->c->rs, "spawn failed");
		}
	}
	for (m->i = 0; m->i < MPSC_SENDERS * MPSC_PER_SENDER; m->i++) {
		weft_mpsc_recv(m->rx, &m->value, &m->rf);
		WEFT_AWAIT(m, cx, &m->rf.base);
		weft_future_drop(&m->rf.base);
		m->got += m->rf.status == 0;
	}
	weft_mpsc_tx_release(m->tx);
	weft_mpsc_rx_release(m->rx);
	WEFT_ASYNC_END(m);
}

/* uncontended: 5,000 sends then 5,000 receives in one task. */
static weft_poll mpsc_uncontended_poll(weft_future *f, weft_cx *cx)
{
	struct mpsc_main *m = (struct mpsc_main *)f;

	WEFT_ASYNC_BEGIN(m);
	m->err = make_channel(m->c->capacity, &m->tx, &m->rx);
	if (m->err != 0)
		return WEFT_READY;
	for (m->i = 0; m->i < 5000; m->i++) {
		m->value = m->i;
		if (m->c->capacity == 0) {
			m->err |= weft_mpsc_try_send(m->tx, &m->value);
			continue;
		}
		weft_mpsc_send(m->tx, &m->value, &m->sf);
		WEFT_AWAIT(m, cx, &m->sf.base);
		weft_future_drop(&m->sf.base);
		m->err |= m->sf.status;
	}
	for (m->i = 0; m->i < 5000; m->i++) {
		weft_mpsc_recv(m->rx, &m->value, &m->rf);
		WEFT_AWAIT(m, cx, &m->rf.base);
		weft_future_drop(&m->rf.base);
		if (m->rf.status == 0)
			m->got += m->value;
	}
	weft_mpsc_tx_release(m->tx);
	weft_mpsc_rx_release(m->rx);
	WEFT_ASYNC_END(m);
}

/* Runs `poll` as a fresh mpsc_main in block_on `n` times; each run must
 * add up to `want`, with no sender failing. */
static int mpsc_main_run(struct mpsc_case *c, long n, weft_poll (*poll)(weft_future *, weft_cx *),
			 uint64_t want)
{
	long k;

	for (k = 0; k < n; k++) {
		struct mpsc_main m = { 0 };

		m.base.poll = poll;
		m.c = c;
		if (weft_block_on(c->rs.rt, &m.base) != 0 || m.err != 0)
			return bench_check(0, "block_on, channel creation or a send failed");
		if (bench_check(m.got == want, "messages were lost") ||
		    bench_check(!atomic_load(&c->rs.failed), "a sender failed"))
			return -1;
	}
	return 0;
}

static int mpsc_contention_run(void *state, long n)
{
	return mpsc_main_run(state, n, mpsc_contention_poll, MPSC_SENDERS * MPSC_PER_SENDER);
}

static int mpsc_uncontended_run(void *state, long n)
{
	return mpsc_main_run(state, n, mpsc_uncontended_poll, 4999 * 5000 / 2);
}

/* ======================================================================== */
/* sync_mpsc_oneshot/request_reply                                           */
/* ======================================================================== */

struct rr_case {
	struct rt_state rs;
	weft_mpsc_tx *tx;
	weft_join_handle server;
};

/* The server: for each request (a oneshot pointer), reply with (). */
struct rr_server {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_rx *rx;
	void *reply;
	weft_mpsc_recv_future rf;
};

static weft_poll rr_server_poll(weft_future *f, weft_cx *cx)
{
	struct rr_server *s = (struct rr_server *)f;

	WEFT_ASYNC_BEGIN(s);
	for (;;) {
		weft_mpsc_recv(s->rx, &s->reply, &s->rf);
		WEFT_AWAIT(s, cx, &s->rf.base);
		weft_future_drop(&s->rf.base);
		if (s->rf.status != 0)
			break;
		(void)weft_oneshot_send(s->reply, NULL);
	}
	weft_mpsc_rx_release(s->rx);
	s->rx = NULL;
	WEFT_ASYNC_END(s);
}

static void rr_server_drop(weft_future *f)
{
	weft_mpsc_rx_release(((struct rr_server *)f)->rx);
}

static int rr_setup(const struct bench_case *bc, int workers, void **state)
{
	struct rr_server s = { 0 };
	struct rr_case *c;
	weft_mpsc_rx *rx;
	int err;

	(void)bc;
	err = rt_state_setup(workers, sizeof(*c), state);
	if (err != 0)
		return err;
	c = *state;
	err = weft_mpsc_bounded(sizeof(void *), 10, &c->tx, &rx);
	if (err != 0)
		goto fail;
	s.base.poll = rr_server_poll;
	s.base.drop = rr_server_drop;
	s.rx = rx;
	err = weft_spawn(c->rs.rt, &s.base, sizeof(s), &c->server);
	if (err == 0)
		return 0;
	weft_mpsc_rx_release(rx);
	weft_mpsc_tx_release(c->tx);
fail:
	weft_runtime_destroy(c->rs.rt);
	free(c);
	return err;
}

static void rr_teardown(void *state)
{
	struct rr_case *c = state;

	weft_mpsc_tx_release(c->tx); /* the server sees end-of-stream */
	weft_join(&c->server);
	weft_join_detach(&c->server);
	weft_runtime_destroy(c->rs.rt);
	free(c);
}

/* 1,000 times: a new (caller-owned, allocation-free) oneshot, its address
 * sent to the server, the reply awaited. */
struct rr_client {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_tx *tx;
	int i, replies;
	weft_oneshot os;
	weft_mpsc_send_future sf;
	weft_oneshot_recv_future rf;
};

static weft_poll rr_client_poll(weft_future *f, weft_cx *cx)
{
	struct rr_client *c = (struct rr_client *)f;

	WEFT_ASYNC_BEGIN(c);
	for (c->i = 0; c->i < 1000; c->i++) {
		weft_oneshot_init(&c->os, NULL, 0);
		weft_mpsc_send_ptr(c->tx, &c->os, &c->sf);
		WEFT_AWAIT(c, cx, &c->sf.base);
		weft_future_drop(&c->sf.base);
		if (c->sf.status != 0) {
			weft_oneshot_finish(&c->os);
			continue;
		}
		weft_oneshot_recv(&c->os, NULL, &c->rf);
		WEFT_AWAIT(c, cx, &c->rf.base);
		weft_future_drop(&c->rf.base);
		c->replies += c->rf.status == 0;
		weft_oneshot_finish(&c->os);
	}
	WEFT_ASYNC_END(c);
}

static int rr_run(void *state, long n)
{
	struct rr_case *rc = state;
	long k;

	for (k = 0; k < n; k++) {
		struct rr_client c = { 0 };

		c.base.poll = rr_client_poll;
		c.tx = rc->tx;
		if (weft_block_on(rc->rs.rt, &c.base) != 0)
			return bench_check(0, "block_on failed");
		if (bench_check(c.replies == 1000, "requests went unanswered"))
			return -1;
	}
	return 0;
}

/* ======================================================================== */
/* sync_broadcast and sync_watch: fan-out with a wait group                  */
/* ======================================================================== */

#define FANOUT_ITERS 100

struct fanout_case {
	struct rt_state rs;
	size_t tasks;
	bool bare; /* the _bare rows: no do_work (see fanout_param) */
	_Atomic uint64_t count;
	weft_notify notify;
	weft_broadcast_tx *btx;
	weft_watch_tx *wtx;
};

/*
 * A fan-out row's receiver count and per-message work.  Tokio's rows run
 * do_work (ten float formats into a fresh string; C's snprintf is slower
 * than Rust's and Go's formatting, and that work is most of the row's
 * time).  The _bare rows, in all three implementations, replace it with
 * one SplitMix64 step kept alive with black_box, so that they time the
 * channel and the wake-ups only.
 */
struct fanout_param {
	size_t tasks;
	bool bare;
};

static const struct fanout_param tasks_10 = { 10, false }, tasks_100 = { 100, false };
static const struct fanout_param tasks_10_bare = { 10, true }, tasks_100_bare = { 100, true };

/* The receivers' per-message work (see fanout_param). */
static uint32_t fanout_work(const struct fanout_case *c, uint64_t *rng)
{
	if (c->bare)
		return (uint32_t)bench_splitmix64(rng);
	return bench_do_work(rng);
}

static void fanout_done_one(struct fanout_case *c, memory_order order)
{
	if (atomic_fetch_sub_explicit(&c->count, 1, order) == 1)
		weft_notify_one(&c->notify);
}

/* A broadcast receiver task: recv, do_work, count down. */
struct bc_receiver {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct fanout_case *c;
	weft_broadcast_rx rx;
	uint64_t rng, value;
	weft_broadcast_recv_future rf;
};

static weft_poll bc_receiver_poll(weft_future *f, weft_cx *cx)
{
	struct bc_receiver *r = (struct bc_receiver *)f;

	WEFT_ASYNC_BEGIN(r);
	for (;;) {
		weft_broadcast_recv(&r->rx, &r->value, &r->rf);
		WEFT_AWAIT(r, cx, &r->rf.base);
		weft_future_drop(&r->rf.base);
		if (r->rf.status == -EPIPE)
			break; /* teardown */
		if (r->rf.status != 0) {
			/* Tokio's loop ends on a lag, and the peer exits. */
			fprintf(stderr, "weft-bench: a broadcast receiver lagged\n");
			exit(1);
		}
		bench_black_box(fanout_work(r->c, &r->rng));
		fanout_done_one(r->c, memory_order_relaxed);
	}
	weft_broadcast_rx_finish(&r->rx);
	WEFT_ASYNC_END(r);
}

static void bc_receiver_drop(weft_future *f)
{
	weft_broadcast_rx_finish(&((struct bc_receiver *)f)->rx);
}

/* A watch receiver task: changed, read (the value's lock in Tokio),
 * do_work, count down. */
struct w_receiver {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct fanout_case *c;
	weft_watch_rx rx;
	uint64_t rng;
	int32_t value;
	weft_watch_changed_future cf;
};

static weft_poll w_receiver_poll(weft_future *f, weft_cx *cx)
{
	struct w_receiver *r = (struct w_receiver *)f;

	WEFT_ASYNC_BEGIN(r);
	for (;;) {
		weft_watch_changed(&r->rx, &r->cf);
		WEFT_AWAIT(r, cx, &r->cf.base);
		weft_future_drop(&r->cf.base);
		if (r->cf.status != 0)
			break;
		weft_watch_read(&r->rx, &r->value, NULL);
		bench_black_box(fanout_work(r->c, &r->rng));
		fanout_done_one(r->c, memory_order_release);
	}
	weft_watch_rx_finish(&r->rx);
	WEFT_ASYNC_END(r);
}

static void w_receiver_drop(weft_future *f)
{
	weft_watch_rx_finish(&((struct w_receiver *)f)->rx);
}

static void fanout_free(struct fanout_case *c)
{
	weft_broadcast_tx_release(c->btx); /* receivers see end-of-stream */
	weft_watch_tx_release(c->wtx);
	weft_runtime_destroy(c->rs.rt);
	weft_notify_finish(&c->notify);
	free(c);
}

static int fanout_setup(const struct bench_case *bc, int workers, void **state, bool watch)
{
	struct fanout_case *c;
	int32_t zero = 0;
	size_t n;
	int err;

	err = rt_state_setup(workers, sizeof(*c), state);
	if (err != 0)
		return err;
	c = *state;
	c->tasks = ((const struct fanout_param *)bc->param)->tasks;
	c->bare = ((const struct fanout_param *)bc->param)->bare;
	if (weft_notify_init(&c->notify) != 0) {
		weft_runtime_destroy(c->rs.rt);
		free(c);
		return -ENOMEM;
	}
	err = watch ? weft_watch_create(sizeof(int32_t), &zero, &c->wtx)
		    : weft_broadcast_create(sizeof(uint64_t), 1000, &c->btx);
	for (n = 0; err == 0 && n < c->tasks; n++) {
		if (watch) {
			struct w_receiver r = { 0 };

			r.base.poll = w_receiver_poll;
			r.base.drop = w_receiver_drop;
			r.c = c;
			r.rng = n;
			weft_watch_subscribe(c->wtx, &r.rx);
			err = weft_spawn(c->rs.rt, &r.base, sizeof(r), NULL);
			if (err != 0)
				weft_watch_rx_finish(&r.rx);
		} else {
			struct bc_receiver r = { 0 };

			r.base.poll = bc_receiver_poll;
			r.base.drop = bc_receiver_drop;
			r.c = c;
			r.rng = n;
			weft_broadcast_subscribe(c->btx, &r.rx);
			err = weft_spawn(c->rs.rt, &r.base, sizeof(r), NULL);
			if (err != 0)
				weft_broadcast_rx_finish(&r.rx);
		}
	}
	if (err != 0) {
		fanout_free(c);
		return err;
	}
	return 0;
}

static int broadcast_setup(const struct bench_case *bc, int workers, void **state)
{
	return fanout_setup(bc, workers, state, false);
}

static int watch_setup(const struct bench_case *bc, int workers, void **state)
{
	return fanout_setup(bc, workers, state, true);
}

static void fanout_teardown(void *state)
{
	fanout_free(state);
}

/*
 * The sending side of both benches: FANOUT_ITERS times, add the receiver
 * count, send, and wait on the notify until every receiver has counted
 * down.  Broadcast runs it in block_on, watch in a spawned task (as Tokio).
 */
struct fanout_sender {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct fanout_case *c;
	bool watch;
	int i;
	uint64_t value;
	weft_notify_future nf;
};

static weft_poll fanout_sender_poll(weft_future *f, weft_cx *cx)
{
	struct fanout_sender *s = (struct fanout_sender *)f;
	struct fanout_case *c = s->c;
	int32_t v = 42;

	WEFT_ASYNC_BEGIN(s);
	for (s->i = 0; s->i < FANOUT_ITERS; s->i++) {
		if (atomic_fetch_add_explicit(&c->count, c->tasks, memory_order_relaxed) != 0)
			fail(&c->rs, "a receiver missed a message");
		if (s->watch) {
			weft_watch_send(c->wtx, &v);
		} else {
			s->value = (uint64_t)s->i;
			if (weft_broadcast_send(c->btx, &s->value) != 0)
				fail(&c->rs, "send failed");
		}
		while (atomic_load_explicit(&c->count, s->watch ? memory_order_acquire
								: memory_order_relaxed) > 0) {
			weft_notify_notified(&c->notify, &s->nf);
			WEFT_AWAIT(s, cx, &s->nf.base);
			weft_future_drop(&s->nf.base);
		}
	}
	WEFT_ASYNC_END(s);
}

/* One round of the sender: broadcast in block_on, watch in a spawned task
 * (as Tokio).  Returns 0 or -1. */
static int fanout_round(struct fanout_case *c, struct fanout_sender *s)
{
	weft_join_handle h;
	int err;

	if (!s->watch)
		return weft_block_on(c->rs.rt, &s->base) != 0 ? -1 : 0;
	if (weft_spawn(c->rs.rt, &s->base, sizeof(*s), &h) != 0)
		return -1;
	err = weft_block_on(c->rs.rt, &h.base) != 0 || h.status != 0 ? -1 : 0;
	weft_join_detach(&h);
	return err;
}

static int fanout_run(struct fanout_case *c, long n, bool watch)
{
	long k;

	for (k = 0; k < n; k++) {
		struct fanout_sender s = { 0 };

		s.base.poll = fanout_sender_poll;
		s.c = c;
		s.watch = watch;
		if (fanout_round(c, &s) != 0)
			return bench_check(0, "the sender failed");
		if (bench_check(!atomic_load(&c->rs.failed), watch ? "watch check" : "broadcast check"))
			return -1;
	}
	return 0;
}

static int broadcast_run(void *state, long n)
{
	return fanout_run(state, n, false);
}

static int watch_run(void *state, long n)
{
	return fanout_run(state, n, true);
}

/* ======================================================================== */
/* chan/mpsc_4x4                                                             */
/* ======================================================================== */

#define X4_CHANNELS 4
#define X4_PER_PRODUCER 25000

struct x4_producer {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct rt_state *rs;
	weft_mpsc_tx *tx[X4_CHANNELS];
	uint64_t i, value;
	bool sending;
	weft_mpsc_send_future sf;
};

static weft_poll x4_producer_poll(weft_future *f, weft_cx *cx)
{
	struct x4_producer *p = (struct x4_producer *)f;
	unsigned k;

	WEFT_ASYNC_BEGIN(p);
	for (p->i = 0; p->i < X4_PER_PRODUCER; p->i++) {
		p->value = p->i;
		weft_mpsc_send(p->tx[p->i % X4_CHANNELS], &p->value, &p->sf);
		p->sending = true;
		WEFT_AWAIT(p, cx, &p->sf.base);
		p->sending = false;
		weft_future_drop(&p->sf.base);
		if (p->sf.status != 0)
			fail(p->rs, "send failed");
	}
	for (k = 0; k < X4_CHANNELS; k++) {
		weft_mpsc_tx_release(p->tx[k]);
		p->tx[k] = NULL;
	}
	WEFT_ASYNC_END(p);
}

static void x4_producer_drop(weft_future *f)
{
	struct x4_producer *p = (struct x4_producer *)f;
	unsigned k;

	if (p->sending)
		weft_future_drop(&p->sf.base);
	for (k = 0; k < X4_CHANNELS; k++)
		weft_mpsc_tx_release(p->tx[k]);
}

struct x4_consumer {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_rx *rx;
	uint64_t got, value;
	weft_mpsc_recv_future rf;
};

static weft_poll x4_consumer_poll(weft_future *f, weft_cx *cx)
{
	struct x4_consumer *c = (struct x4_consumer *)f;

	WEFT_ASYNC_BEGIN(c);
	for (;;) {
		weft_mpsc_recv(c->rx, &c->value, &c->rf);
		WEFT_AWAIT(c, cx, &c->rf.base);
		weft_future_drop(&c->rf.base);
		if (c->rf.status != 0)
			break;
		c->got++;
	}
	weft_mpsc_rx_release(c->rx);
	c->rx = NULL;
	WEFT_ASYNC_END(c);
}

static void x4_consumer_drop(weft_future *f)
{
	weft_mpsc_rx_release(((struct x4_consumer *)f)->rx);
}

static int x4_setup(const struct bench_case *bc, int workers, void **state)
{
	(void)bc;
	return rt_state_setup(workers, sizeof(struct rt_state), state);
}

static int x4_iteration(struct rt_state *st)
{
	weft_mpsc_tx *tx[X4_CHANNELS];
	weft_mpsc_rx *rx[X4_CHANNELS];
	weft_join_handle ch[X4_CHANNELS];
	unsigned k, p;
	int err = 0;

	for (k = 0; k < X4_CHANNELS; k++)
		if (weft_mpsc_bounded(sizeof(uint64_t), 256, &tx[k], &rx[k]) != 0)
			return bench_check(0, "channel creation failed");
	for (k = 0; k < X4_CHANNELS; k++) {
		struct x4_consumer c = { 0 };

		c.base.poll = x4_consumer_poll;
		c.base.drop = x4_consumer_drop;
		c.rx = rx[k];
		if (weft_spawn(st->rt, &c.base, sizeof(c), &ch[k]) != 0)
			return bench_check(0, "spawn failed");
	}
	for (p = 0; p < 4; p++) {
		struct x4_producer pr = { 0 };

		pr.base.poll = x4_producer_poll;
		pr.base.drop = x4_producer_drop;
		pr.rs = st;
		for (k = 0; k < X4_CHANNELS; k++)
			pr.tx[k] = weft_mpsc_tx_clone(tx[k]);
		if (weft_spawn(st->rt, &pr.base, sizeof(pr), NULL) != 0)
			return bench_check(0, "spawn failed");
	}
	for (k = 0; k < X4_CHANNELS; k++)
		weft_mpsc_tx_release(tx[k]);
	for (k = 0; k < X4_CHANNELS; k++) {
		struct x4_consumer *c;

		if (weft_block_on(st->rt, &ch[k].base) != 0 || ch[k].status != 0) {
			err = -1;
		} else {
			c = weft_join_output(&ch[k]);
			if (c->got != 4 * X4_PER_PRODUCER / X4_CHANNELS)
				err = -1;
		}
		weft_join_detach(&ch[k]);
	}
	return bench_check(err == 0 && !atomic_load(&st->failed), "messages were lost");
}

static int x4_run(void *state, long n)
{
	long k;

	for (k = 0; k < n; k++)
		if (x4_iteration(state) != 0)
			return -1;
	return 0;
}

/* ======================================================================== */
/* st/... : one operation on one thread, polled by hand                      */
/* ======================================================================== */

struct st_state {
	weft_waker waker;
	weft_cx cx;
	weft_mpsc_tx *tx, *tx2;
	weft_mpsc_rx *rx, *rx2;
	weft_broadcast_tx *btx;
	weft_broadcast_rx brx[4];
	weft_watch_tx *wtx;
	weft_watch_rx wrx;
	uint64_t value;
	long round;
};

/* Values queued for st/mpsc_recv: enough for the default samples. */
#define ST_RECV_PREFILL ((uint64_t)(ST_ITERS + ST_WARMUP) * ST_GROW_BATCH + ST_GROW_BATCH)

#define ST_ITERS 200
#define ST_WARMUP 10
#define ST_BATCH 20000
/* The two rows that grow or drain a long queue use smaller samples. */
#define ST_GROW_BATCH 5000

static int st_setup(const struct bench_case *bc, int workers, void **state)
{
	struct st_state *st = calloc(1, sizeof(*st));
	const char *what = bc->param;
	uint64_t i;
	int err = 0, k;

	(void)workers;
	if (st == NULL)
		return -ENOMEM;
	st->waker = weft_waker_noop();
	weft_cx_init(&st->cx, &st->waker);
	if (strcmp(what, "send") == 0 || strcmp(what, "recv") == 0) {
		err = weft_mpsc_unbounded(sizeof(uint64_t), &st->tx, &st->rx);
		for (i = 0; err == 0 && strcmp(what, "recv") == 0 && i < ST_RECV_PREFILL; i++)
			err = weft_mpsc_try_send(st->tx, &i);
	} else if (strcmp(what, "roundtrip") == 0) {
		err = weft_mpsc_bounded(sizeof(uint64_t), 1, &st->tx, &st->rx);
	} else if (strcmp(what, "select") == 0) {
		err = weft_mpsc_unbounded(sizeof(uint64_t), &st->tx, &st->rx);
		if (err == 0)
			err = weft_mpsc_unbounded(sizeof(uint64_t), &st->tx2, &st->rx2);
	} else if (strcmp(what, "broadcast") == 0) {
		err = weft_broadcast_create(sizeof(uint64_t), 16, &st->btx);
		for (k = 0; err == 0 && k < 4; k++)
			err = weft_broadcast_subscribe(st->btx, &st->brx[k]);
	} else if (strcmp(what, "watch") == 0) {
		err = weft_watch_create(sizeof(uint64_t), &st->value, &st->wtx);
		if (err == 0)
			err = weft_watch_subscribe(st->wtx, &st->wrx);
	}
	if (err != 0) {
		free(st);
		return err;
	}
	*state = st;
	return 0;
}

static void st_teardown(void *state)
{
	struct st_state *st = state;
	int k;

	weft_mpsc_tx_release(st->tx);
	weft_mpsc_rx_release(st->rx);
	weft_mpsc_tx_release(st->tx2);
	weft_mpsc_rx_release(st->rx2);
	for (k = 0; k < 4; k++)
		weft_broadcast_rx_finish(&st->brx[k]);
	weft_broadcast_tx_release(st->btx);
	weft_watch_rx_finish(&st->wrx);
	weft_watch_tx_release(st->wtx);
	free(st);
}

/* One awaited send (init, poll to ready, drop) into an unbounded channel
 * that nobody drains during the samples: the cost of a send, including
 * the buffer's growth (one 32-slot block per 32 sends). */
static int st_mpsc_send(void *state, long n)
{
	struct st_state *st = state;
	long k;

	for (k = 0; k < n; k++) {
		weft_mpsc_send_future f;

		st->value = (uint64_t)k;
		weft_mpsc_send(st->tx, &st->value, &f);
		if (weft_future_poll(&f.base, &st->cx) != WEFT_READY || f.status != 0)
			return bench_check(0, "send failed");
		weft_future_drop(&f.base);
	}
	return 0;
}

/* One awaited receive from a channel filled in setup: the cost of a
 * receive, including handing drained blocks back (recycled or freed). */
static int st_mpsc_recv(void *state, long n)
{
	struct st_state *st = state;
	long k;

	for (k = 0; k < n; k++) {
		weft_mpsc_recv_future f;

		weft_mpsc_recv(st->rx, &st->value, &f);
		if (weft_future_poll(&f.base, &st->cx) != WEFT_READY || f.status != 0) {
			/* More samples than prefilled (--iters): top up. */
			uint64_t i;

			weft_future_drop(&f.base);
			for (i = 0; i < ST_GROW_BATCH; i++)
				if (weft_mpsc_try_send(st->tx, &i) != 0)
					return bench_check(0, "refill failed");
			continue;
		}
		weft_future_drop(&f.base);
	}
	bench_black_box(st->value);
	return 0;
}

/* Send and receive one value through a bounded(1) channel, both awaited. */
static int st_mpsc_roundtrip(void *state, long n)
{
	struct st_state *st = state;
	long k;

	for (k = 0; k < n; k++) {
		weft_mpsc_send_future sf;
		weft_mpsc_recv_future rf;
		uint64_t out;

		st->value = (uint64_t)k;
		weft_mpsc_send(st->tx, &st->value, &sf);
		if (weft_future_poll(&sf.base, &st->cx) != WEFT_READY)
			return bench_check(0, "send was pending");
		weft_future_drop(&sf.base);
		weft_mpsc_recv(st->rx, &out, &rf);
		if (weft_future_poll(&rf.base, &st->cx) != WEFT_READY || out != (uint64_t)k)
			return bench_check(0, "recv lost the value");
		weft_future_drop(&rf.base);
	}
	return 0;
}

/* The same with the try tier. */
static int st_mpsc_try_roundtrip(void *state, long n)
{
	struct st_state *st = state;
	uint64_t out = 0;
	long k;

	for (k = 0; k < n; k++) {
		st->value = (uint64_t)k;
		if (weft_mpsc_try_send(st->tx, &st->value) != 0 ||
		    weft_mpsc_try_recv(st->rx, &out) != 0 || out != (uint64_t)k)
			return bench_check(0, "try roundtrip failed");
	}
	return 0;
}

/* A caller-owned oneshot: the receive waits (registers its waker), the
 * send wakes it, the receive completes.  Allocates nothing. */
static int st_oneshot(void *state, long n)
{
	struct st_state *st = state;
	long k;

	for (k = 0; k < n; k++) {
		weft_oneshot_recv_future f;
		weft_oneshot os;
		uint64_t out = 0;

		weft_oneshot_init(&os, NULL, sizeof(uint64_t));
		weft_oneshot_recv(&os, &out, &f);
		if (weft_future_poll(&f.base, &st->cx) != WEFT_PENDING)
			return bench_check(0, "oneshot was ready early");
		st->value = (uint64_t)k;
		weft_oneshot_send(&os, &st->value);
		if (weft_future_poll(&f.base, &st->cx) != WEFT_READY || out != (uint64_t)k)
			return bench_check(0, "oneshot lost the value");
		weft_future_drop(&f.base);
		weft_oneshot_finish(&os);
	}
	return 0;
}

/* A heap oneshot: create, send, receive (which frees it). */
static int st_oneshot_heap(void *state, long n)
{
	struct st_state *st = state;
	long k;

	for (k = 0; k < n; k++) {
		weft_oneshot *os;
		uint64_t out = 0;

		if (weft_oneshot_create(sizeof(uint64_t), &os) != 0)
			return bench_check(0, "create failed");
		st->value = (uint64_t)k;
		weft_oneshot_send(os, &st->value);
		if (weft_oneshot_try_recv(os, &out) != 0 || out != (uint64_t)k)
			return bench_check(0, "oneshot lost the value");
	}
	return 0;
}

/* One send to 4 receivers, each receiving it through its future. */
static int st_broadcast_4rx(void *state, long n)
{
	struct st_state *st = state;
	long k;
	int r;

	for (k = 0; k < n; k++) {
		st->value = (uint64_t)k;
		if (weft_broadcast_send(st->btx, &st->value) != 0)
			return bench_check(0, "broadcast send failed");
		for (r = 0; r < 4; r++) {
			weft_broadcast_recv_future f;
			uint64_t out = 0;

			weft_broadcast_recv(&st->brx[r], &out, &f);
			if (weft_future_poll(&f.base, &st->cx) != WEFT_READY || f.status != 0 ||
			    out != (uint64_t)k)
				return bench_check(0, "a receiver missed the value");
			weft_future_drop(&f.base);
		}
	}
	return 0;
}

/* Send a new value; the receiver's changed() is ready; it reads the value. */
static int st_watch(void *state, long n)
{
	struct st_state *st = state;
	long k;

	for (k = 0; k < n; k++) {
		weft_watch_changed_future f;
		uint64_t out = 0;

		st->value = (uint64_t)k;
		weft_watch_send(st->wtx, &st->value);
		weft_watch_changed(&st->wrx, &f);
		if (weft_future_poll(&f.base, &st->cx) != WEFT_READY || f.status != 0)
			return bench_check(0, "change not seen");
		weft_future_drop(&f.base);
		weft_watch_read(&st->wrx, &out, NULL);
		if (out != (uint64_t)k)
			return bench_check(0, "watch read a stale value");
	}
	return 0;
}

/* A biased select (as the Tokio peer's `biased;`) over two receives, one
 * of which has a value (alternating). */
static int st_select2(void *state, long n)
{
	struct st_state *st = state;
	long k;

	for (k = 0; k < n; k++) {
		weft_mpsc_recv_future r0, r1;
		weft_future *br[2];
		weft_select sel;
		uint64_t a = 0, b = 0;

		st->value = (uint64_t)k;
		weft_mpsc_try_send((k & 1) ? st->tx2 : st->tx, &st->value);
		weft_mpsc_recv(st->rx, &a, &r0);
		weft_mpsc_recv(st->rx2, &b, &r1);
		br[0] = &r0.base;
		br[1] = &r1.base;
		weft_select_init_biased(&sel, br, 2);
		if (weft_future_poll(&sel.base, &st->cx) != WEFT_READY ||
		    sel.winner != (int)(k & 1))
			return bench_check(0, "select picked the wrong branch");
		weft_future_drop(&sel.base);
	}
	return 0;
}

/* ======================================================================== */
/* the table                                                                 */
/* ======================================================================== */

#define ST_CASE(name, fn, what, batch) \
	{ name, 1, ST_ITERS, ST_WARMUP, batch, st_setup, fn, st_teardown, what }

const struct bench_case weft_chan_cases[] = {
	/* Tokio's benches: names and defaults as in harness.h. */
	{ "sync_mpsc/contention_bounded", 6, 150, 10, 1, mpsc_setup, mpsc_contention_run,
	  rt_state_teardown, &cap_1m },
	{ "sync_mpsc/contention_bounded_full", 6, 150, 10, 1, mpsc_setup, mpsc_contention_run,
	  rt_state_teardown, &cap_100 },
	{ "sync_mpsc/contention_unbounded", 6, 150, 10, 1, mpsc_setup, mpsc_contention_run,
	  rt_state_teardown, &cap_unbounded },
	{ "sync_mpsc/uncontended_bounded", 6, 300, 10, 1, mpsc_setup, mpsc_uncontended_run,
	  rt_state_teardown, &cap_1m },
	{ "sync_mpsc/uncontended_unbounded", 6, 300, 10, 1, mpsc_setup, mpsc_uncontended_run,
	  rt_state_teardown, &cap_unbounded },
	{ "sync_mpsc_oneshot/request_reply", 1, 200, 10, 1, rr_setup, rr_run, rr_teardown, NULL },
	{ "sync_broadcast/contended_10", 6, 100, 5, 1, broadcast_setup, broadcast_run,
	  fanout_teardown, &tasks_10 },
	{ "sync_broadcast/contended_100", 6, 30, 3, 1, broadcast_setup, broadcast_run,
	  fanout_teardown, &tasks_100 },
	{ "sync_watch/contention_resubscribe_10", 6, 100, 5, 1, watch_setup, watch_run,
	  fanout_teardown, &tasks_10 },
	{ "sync_watch/contention_resubscribe_100", 6, 30, 3, 1, watch_setup, watch_run,
	  fanout_teardown, &tasks_100 },
	/* The same without do_work (see fanout_param); not Tokio's rows. */
	{ "sync_broadcast/contended_10_bare", 6, 100, 5, 1, broadcast_setup, broadcast_run,
	  fanout_teardown, &tasks_10_bare },
	{ "sync_broadcast/contended_100_bare", 6, 20, 2, 1, broadcast_setup, broadcast_run,
	  fanout_teardown, &tasks_100_bare },
	{ "sync_watch/contention_resubscribe_10_bare", 6, 100, 5, 1, watch_setup, watch_run,
	  fanout_teardown, &tasks_10_bare },
	{ "sync_watch/contention_resubscribe_100_bare", 6, 20, 2, 1, watch_setup, watch_run,
	  fanout_teardown, &tasks_100_bare },

	/* 4 producers x 4 consumers over 4 mpsc channels (see the top). */
	{ "chan/mpsc_4x4", 4, 50, 3, 1, x4_setup, x4_run, rt_state_teardown, NULL },

	/* One operation on one thread, no runtime. */
	ST_CASE("st/mpsc_send", st_mpsc_send, "send", ST_GROW_BATCH),
	ST_CASE("st/mpsc_recv", st_mpsc_recv, "recv", ST_GROW_BATCH),
	ST_CASE("st/mpsc_roundtrip", st_mpsc_roundtrip, "roundtrip", ST_BATCH),
	ST_CASE("st/mpsc_try_roundtrip", st_mpsc_try_roundtrip, "roundtrip", ST_BATCH),
	ST_CASE("st/oneshot", st_oneshot, "none", ST_BATCH),
	ST_CASE("st/oneshot_heap", st_oneshot_heap, "none", ST_BATCH),
	ST_CASE("st/broadcast_4rx", st_broadcast_4rx, "broadcast", ST_BATCH),
	ST_CASE("st/watch", st_watch, "watch", ST_BATCH),
	ST_CASE("st/select2", st_select2, "select", ST_BATCH),
};

const size_t weft_chan_cases_len = BENCH_COUNT(weft_chan_cases);

/*
 * Stress of the embedding handshakes (weft/embed.h), for ThreadSanitizer:
 * a host thread drives a current-thread runtime from a poll() loop while
 * other threads send channel messages, spawn tasks, ask for the timeout
 * (racing the seat), and run weft_block_on on the same runtime (so the
 * host's ticks meet -EBUSY and the seat_missed path).  Tasks sleep for
 * real now and then, so timeouts mix with fd wakes.  Every message and
 * every spawned task must be run, and no wait without a timer may last
 * long (a lost wake-up).
 */
#include "embed_test.h"

#define SENDERS 3
#define SPAWNERS 2

static _Atomic int received, spawned_runs, stop;
static int expect_msgs, expect_spawns;

struct receiver {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_rx *rx;
	weft_mpsc_recv_future recv;
	weft_sleep_future sl;
	int value;
};

static weft_poll receiver_poll(weft_future *f, weft_cx *cx)
{
	struct receiver *r = (struct receiver *)f;

	WEFT_ASYNC_BEGIN(r);
	for (;;) {
		weft_mpsc_recv(r->rx, &r->value, &r->recv);
		WEFT_AWAIT(r, cx, &r->recv.base);
		if (r->recv.status != 0)
			break;
		weft_future_drop(&r->recv.base);
		atomic_fetch_add(&received, 1);
		if (r->value % 97 == 0) {
			weft_sleep(&r->sl, NULL, WEFT_MS);
			WEFT_AWAIT(r, cx, &r->sl.base);
			weft_future_drop(&r->sl.base);
		}
	}
	weft_future_drop(&r->recv.base);
	WEFT_ASYNC_END(r);
}

static void receiver_drop(weft_future *f)
{
	(void)f;
}

static weft_poll bump_poll(weft_future *f, weft_cx *cx)
{
	(void)f;
	(void)cx;
	atomic_fetch_add(&spawned_runs, 1);
	return WEFT_READY;
}

struct ctx {
	weft_runtime *rt;
	weft_mpsc_tx *tx;
	int n;
};

static void *sender_main(void *arg)
{
	struct ctx *c = arg;
	int i;

	for (i = 1; i <= c->n; i++) {
		CHECK_EQ(weft_mpsc_try_send(c->tx, &i), 0);
		if (i % 64 == 0)
			test_sleep_ms(1);
	}
	weft_mpsc_tx_release(c->tx);
	return NULL;
}

static void *spawner_main(void *arg)
{
	struct ctx *c = arg;
	weft_future t = { bump_poll, NULL };
	int i;

	for (i = 0; i < c->n; i++) {
		CHECK_EQ(weft_spawn(c->rt, &t, sizeof(t), NULL), 0);
		if (i % 50 == 0)
			test_sleep_ms(1);
	}
	return NULL;
}

/* Asks for the timeout and the fd from another thread. */
static void *querier_main(void *arg)
{
	struct ctx *c = arg;

	while (!atomic_load(&stop)) {
		CHECK(weft_runtime_backend_timeout(c->rt) >= -1);
		CHECK(weft_runtime_backend_fd(c->rt) >= 0);
		test_sleep_ms(1);
	}
	return NULL;
}

/* Takes the runtime from the host now and then with weft_block_on. */
static void *blocker_main(void *arg)
{
	struct ctx *c = arg;

	while (!atomic_load(&stop)) {
		weft_yield y;
		int rc;

		weft_yield_now(&y);
		rc = weft_block_on(c->rt, &y.base);
		CHECK(rc == 0 || rc == -EBUSY);
		test_sleep_ms(2);
	}
	return NULL;
}

static bool all_done(void)
{
	return atomic_load(&received) == expect_msgs &&
	       atomic_load(&spawned_runs) == expect_spawns;
}

/* The host loop, tolerating -EBUSY while the blocker drives. */
static void host(weft_runtime *rt)
{
	int fd = weft_runtime_backend_fd(rt);

	while (!all_done()) {
		int r, to, n;
		struct pollfd p = { fd, POLLIN, 0 };

		while ((r = weft_runtime_tick(rt, 16)) == 1)
			;
		CHECK(r == 0 || r == -EBUSY);
		if (all_done())
			break;
		to = weft_runtime_backend_timeout(rt);
		do
			n = poll(&p, 1, to < 0 ? EMB_LOST_MS : to);
		while (n < 0 && errno == EINTR);
		CHECK(n >= 0);
		if (n == 0 && to < 0) {
			fprintf(stderr, "lost wake-up: %d/%d messages, %d/%d spawns\n",
				atomic_load(&received), expect_msgs,
				atomic_load(&spawned_runs), expect_spawns);
			exit(1);
		}
	}
}

static void round_trip(bool with_blocker)
{
	weft_runtime *rt = emb_runtime(false);
	long scale = test_scale();
	struct ctx senders[SENDERS], spawners[SPAWNERS], q;
	pthread_t ts[SENDERS], tp[SPAWNERS], tq, tb;
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	struct receiver r;
	weft_join_handle h;
	int i;

	atomic_store(&received, 0);
	atomic_store(&spawned_runs, 0);
	atomic_store(&stop, 0);
	CHECK_EQ(weft_mpsc_unbounded(sizeof(int), &tx, &rx), 0);
	memset(&r, 0, sizeof(r));
	r.base.poll = receiver_poll;
	r.base.drop = receiver_drop;
	r.rx = rx;
	CHECK_EQ(weft_spawn(rt, &r.base, sizeof(r), &h), 0);
	expect_msgs = SENDERS * (int)(500 * scale);
	expect_spawns = SPAWNERS * (int)(300 * scale);
	CHECK(weft_runtime_backend_fd(rt) >= 0);
	for (i = 0; i < SENDERS; i++) {
		senders[i].rt = rt;
		senders[i].tx = weft_mpsc_tx_clone(tx);
		senders[i].n = (int)(500 * scale);
		CHECK_EQ(pthread_create(&ts[i], NULL, sender_main, &senders[i]), 0);
	}
	weft_mpsc_tx_release(tx);
	for (i = 0; i < SPAWNERS; i++) {
		spawners[i].rt = rt;
		spawners[i].n = (int)(300 * scale);
		CHECK_EQ(pthread_create(&tp[i], NULL, spawner_main, &spawners[i]), 0);
	}
	q.rt = rt;
	CHECK_EQ(pthread_create(&tq, NULL, querier_main, &q), 0);
	if (with_blocker)
		CHECK_EQ(pthread_create(&tb, NULL, blocker_main, &q), 0);
	host(rt);
	atomic_store(&stop, 1);
	for (i = 0; i < SENDERS; i++)
		CHECK_EQ(pthread_join(ts[i], NULL), 0);
	for (i = 0; i < SPAWNERS; i++)
		CHECK_EQ(pthread_join(tp[i], NULL), 0);
	CHECK_EQ(pthread_join(tq, NULL), 0);
	if (with_blocker)
		CHECK_EQ(pthread_join(tb, NULL), 0);
	/* Every sender released: the receiver ends. */
	for (i = 0; i < 100000 && weft_join_try(&h) == -EAGAIN; i++) {
		int rc = weft_runtime_tick(rt, 16);

		CHECK(rc >= 0);
		if (rc == 0)
			emb_readable(weft_runtime_backend_fd(rt), 100);
	}
	CHECK_EQ(weft_join_try(&h), 0);
	weft_join_detach(&h);
	weft_mpsc_rx_release(rx);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

int main(void)
{
	round_trip(false);
	round_trip(true);
	printf("ok\n");
	return 0;
}

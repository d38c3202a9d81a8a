/* select: the first ready branch wins (a biased one in branch order), the losers are cancelled cleanly, two always-ready channels are both served within a bound, any future (a stand-in timer, a join handle) can be a branch. */
#include "chan_test.h"

static void test_first_ready_wins(void)
{
	struct count_waker cw = { 0 };
	weft_waker w = count_waker_ref(&cw);
	weft_mpsc_tx *tx1, *tx2, *tx3;
	weft_mpsc_rx *rx1, *rx2, *rx3;
	weft_mpsc_recv_future r1, r2;
	weft_mpsc_send_future s3;
	weft_future *br[3];
	weft_select sel;
	uint64_t a = 0, b = 0, v = 5, full = 9, out;
	weft_cx cx;

	weft_cx_init(&cx, &w);
	CHECK_EQ(weft_mpsc_unbounded(8, &tx1, &rx1), 0);
	CHECK_EQ(weft_mpsc_unbounded(8, &tx2, &rx2), 0);
	CHECK_EQ(weft_mpsc_bounded(8, 1, &tx3, &rx3), 0);
	CHECK_EQ(weft_mpsc_try_send(tx3, &full), 0); /* tx3 is full */

	/* Nothing ready: pending, every branch registered. */
	weft_mpsc_recv(rx1, &a, &r1);
	weft_mpsc_recv(rx2, &b, &r2);
	weft_mpsc_send(tx3, &v, &s3);
	br[0] = &r1.base;
	br[1] = &r2.base;
	br[2] = &s3.base;
	CHECK_EQ(weft_select_init(&sel, br, 3), 0);
	CHECK_EQ(sel.winner, -1);
	CHECK_EQ(poll_once(&sel.base, &cx), WEFT_PENDING);

	/* A value on channel 2 wakes the task; the select takes it. */
	v = 5;
	CHECK_EQ(weft_mpsc_try_send(tx2, &v), 0);
	CHECK(count_wakes(&cw) >= 1);
	CHECK_EQ(poll_once(&sel.base, &cx), WEFT_READY);
	CHECK_EQ(sel.winner, 1);
	CHECK_EQ(r2.status, 0);
	CHECK_EQ(b, 5);
	CHECK_EQ(a, 0);
	CHECK_EQ(poll_once(&sel.base, &cx), WEFT_READY); /* stays ready */
	weft_future_drop(&sel.base);

	/* The losing send left the queue and delivered nothing: freeing the
	 * slot leaves room for a new send, and only 9 is there. */
	CHECK_EQ(weft_mpsc_try_recv(rx3, &out), 0);
	CHECK_EQ(out, 9);
	CHECK_EQ(weft_mpsc_try_recv(rx3, &out), -EAGAIN);
	CHECK_EQ(weft_mpsc_try_send(tx3, &full), 0);
	CHECK_EQ(weft_mpsc_try_send(tx3, &full), -EAGAIN);
	CHECK_EQ(weft_mpsc_try_recv(rx3, &out), 0);

	/* A send branch can win too. */
	weft_mpsc_recv(rx1, &a, &r1);
	weft_mpsc_send(tx3, &v, &s3);
	br[0] = &r1.base;
	br[1] = &s3.base;
	CHECK_EQ(weft_select_init(&sel, br, 2), 0);
	CHECK_EQ(poll_once(&sel.base, &cx), WEFT_READY);
	CHECK_EQ(sel.winner, 1);
	CHECK_EQ(s3.status, 0);
	weft_future_drop(&sel.base);
	CHECK_EQ(weft_mpsc_try_recv(rx3, &out), 0);
	CHECK_EQ(out, 5);

	/* A select dropped while pending cancels everything. */
	weft_mpsc_recv(rx1, &a, &r1);
	weft_mpsc_recv(rx2, &b, &r2);
	br[0] = &r1.base;
	br[1] = &r2.base;
	CHECK_EQ(weft_select_init(&sel, br, 2), 0);
	CHECK_EQ(poll_once(&sel.base, &cx), WEFT_PENDING);
	weft_future_drop(&sel.base);
	v = 6;
	CHECK_EQ(weft_mpsc_try_send(tx1, &v), 0);
	CHECK_EQ(weft_mpsc_try_recv(rx1, &out), 0);
	CHECK_EQ(out, 6);

	weft_mpsc_tx_release(tx1);
	weft_mpsc_tx_release(tx2);
	weft_mpsc_tx_release(tx3);
	weft_mpsc_rx_release(rx1);
	weft_mpsc_rx_release(rx2);
	weft_mpsc_rx_release(rx3);
	CHECK_EQ(atomic_load(&cw.clones), 0);
}

static void test_edge_cases(void)
{
	struct count_waker cw = { 0 };
	weft_waker w = count_waker_ref(&cw);
	weft_future *br[WEFT_SELECT_MAX + 1] = { NULL };
	weft_oneshot_recv_future of;
	weft_pending never;
	weft_oneshot os;
	weft_select sel;
	uint64_t v = 1, out = 0;
	weft_cx cx;

	weft_cx_init(&cx, &w);
	CHECK_EQ(weft_select_init(NULL, br, 1), -EINVAL);
	CHECK_EQ(weft_select_init(&sel, br, 0), -EINVAL);
	CHECK_EQ(poll_once(&sel.base, &cx), WEFT_READY);
	CHECK_EQ(sel.winner, -1);
	weft_future_drop(&sel.base);
	CHECK_EQ(weft_select_init(&sel, br, WEFT_SELECT_MAX + 1), -EINVAL);
	weft_future_drop(&sel.base);

	/* Every branch disabled. */
	CHECK_EQ(weft_select_init(&sel, br, 3), 0);
	CHECK_EQ(poll_once(&sel.base, &cx), WEFT_READY);
	CHECK_EQ(sel.winner, -1);
	weft_future_drop(&sel.base);

	/* A branch that never completes stands in for the timer a timeout
	 * will use; a oneshot wins against it, and a disabled branch sits
	 * in between. */
	CHECK_EQ(weft_oneshot_init(&os, NULL, 8), 0);
	weft_pending_init(&never);
	weft_oneshot_recv(&os, &out, &of);
	br[0] = &never.base;
	br[1] = NULL;
	br[2] = &of.base;
	CHECK_EQ(weft_select_init(&sel, br, 3), 0);
	CHECK_EQ(poll_once(&sel.base, &cx), WEFT_PENDING);
	CHECK_EQ(weft_oneshot_send(&os, &v), 0);
	CHECK_EQ(poll_once(&sel.base, &cx), WEFT_READY);
	CHECK_EQ(sel.winner, 2);
	CHECK_EQ(of.status, 0);
	CHECK_EQ(out, 1);
	weft_future_drop(&sel.base);
	weft_oneshot_finish(&os);
	CHECK_EQ(atomic_load(&cw.clones), 0);
}

/* Two channels that always have a value: neither may starve. */
static void test_fairness_by_hand(void)
{
	struct count_waker cw = { 0 };
	weft_waker w = count_waker_ref(&cw);
	weft_mpsc_tx *tx[2];
	weft_mpsc_rx *rx[2];
	weft_mpsc_recv_future rf[2];
	weft_future *br[2];
	weft_select sel;
	uint64_t v = 0, out[2];
	long wins[2] = { 0, 0 }, streak = 0, longest = 0;
	int last = -1, i, k;
	const int rounds = 10000;
	weft_cx cx;

	weft_cx_init(&cx, &w);
	for (k = 0; k < 2; k++) {
		CHECK_EQ(weft_mpsc_unbounded(8, &tx[k], &rx[k]), 0);
		CHECK_EQ(weft_mpsc_try_send(tx[k], &v), 0);
	}
	for (i = 0; i < rounds; i++) {
		for (k = 0; k < 2; k++) {
			weft_mpsc_recv(rx[k], &out[k], &rf[k]);
			br[k] = &rf[k].base;
		}
		CHECK_EQ(weft_select_init(&sel, br, 2), 0);
		CHECK_EQ(poll_once(&sel.base, &cx), WEFT_READY);
		k = sel.winner;
		weft_future_drop(&sel.base);
		CHECK_EQ(weft_mpsc_try_send(tx[k], &v), 0); /* always ready again */
		wins[k]++;
		streak = k == last ? streak + 1 : 1;
		last = k;
		if (streak > longest)
			longest = streak;
	}
	/* The start is random each time: about half each, and a run of 64
	 * wins in a row has probability 2^-63. */
	CHECK(wins[0] > rounds * 4 / 10 && wins[1] > rounds * 4 / 10);
	CHECK(longest <= 64);
	for (k = 0; k < 2; k++) {
		weft_mpsc_tx_release(tx[k]);
		weft_mpsc_rx_release(rx[k]);
	}
}

/* A biased select visits its branches in order: with both always ready the
 * first always wins; with the first empty, the second wins and the first,
 * polled before it, was registered (a send to it wakes the task). */
static void test_biased(void)
{
	struct count_waker cw = { 0 };
	weft_waker w = count_waker_ref(&cw);
	weft_mpsc_tx *tx[2];
	weft_mpsc_rx *rx[2];
	weft_mpsc_recv_future rf[2];
	weft_future *br[2];
	weft_select sel;
	uint64_t v = 0, out[2];
	long wakes;
	int i, k;
	weft_cx cx;

	weft_cx_init(&cx, &w);
	br[0] = br[1] = NULL;
	CHECK_EQ(weft_select_init_biased(NULL, br, 2), -EINVAL);
	for (k = 0; k < 2; k++) {
		CHECK_EQ(weft_mpsc_unbounded(8, &tx[k], &rx[k]), 0);
		CHECK_EQ(weft_mpsc_try_send(tx[k], &v), 0);
	}
	for (i = 0; i < 1000; i++) {
		for (k = 0; k < 2; k++) {
			weft_mpsc_recv(rx[k], &out[k], &rf[k]);
			br[k] = &rf[k].base;
		}
		CHECK_EQ(weft_select_init_biased(&sel, br, 2), 0);
		CHECK_EQ(poll_once(&sel.base, &cx), WEFT_READY);
		CHECK_EQ(sel.winner, 0);
		weft_future_drop(&sel.base);
		v = (uint64_t)i + 1;
		CHECK_EQ(weft_mpsc_try_send(tx[0], &v), 0); /* ready again */
	}
	CHECK_EQ(weft_mpsc_try_recv(rx[0], &out[0]), 0); /* channel 0 empty */
	for (i = 0; i < 100; i++) {
		for (k = 0; k < 2; k++) {
			weft_mpsc_recv(rx[k], &out[k], &rf[k]);
			br[k] = &rf[k].base;
		}
		CHECK_EQ(weft_select_init_biased(&sel, br, 2), 0);
		CHECK_EQ(poll_once(&sel.base, &cx), WEFT_READY);
		CHECK_EQ(sel.winner, 1);
		weft_future_drop(&sel.base);
		CHECK_EQ(weft_mpsc_try_send(tx[1], &v), 0);
	}
	/* Branch 0 was polled (and parked) before branch 1 won. */
	wakes = count_wakes(&cw);
	CHECK_EQ(weft_mpsc_try_send(tx[0], &v), 0);
	CHECK_EQ(count_wakes(&cw), wakes + 1);
	for (k = 0; k < 2; k++) {
		weft_mpsc_tx_release(tx[k]);
		weft_mpsc_rx_release(rx[k]);
	}
	CHECK_EQ(atomic_load(&cw.clones), 0);
}

/* ---- on a runtime ---------------------------------------------------------------- */

#define CHANNELS 3

struct feeder {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_tx *tx;
	uint64_t i, n, value;
	weft_mpsc_send_future sf;
};

static weft_poll feeder_poll(weft_future *f, weft_cx *cx)
{
	struct feeder *self = (struct feeder *)f;

	WEFT_ASYNC_BEGIN(self);
	for (self->i = 0; self->i < self->n; self->i++) {
		self->value = self->i;
		weft_mpsc_send(self->tx, &self->value, &self->sf);
		WEFT_AWAIT(self, cx, &self->sf.base);
		CHECK_EQ(self->sf.status, 0);
		weft_future_drop(&self->sf.base);
	}
	weft_mpsc_tx_release(self->tx);
	self->tx = NULL;
	WEFT_ASYNC_END(self);
}

/* Selects over every channel still open, until all have ended; checks each
 * stream is received whole and in order; a closed channel's branch is
 * disabled (NULL). */
struct merger {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_rx *rx[CHANNELS];
	bool open[CHANNELS];
	unsigned open_count;
	uint64_t next[CHANNELS], out[CHANNELS];
	weft_mpsc_recv_future rf[CHANNELS];
	weft_select sel;
};

static weft_poll merger_poll(weft_future *f, weft_cx *cx)
{
	struct merger *self = (struct merger *)f;
	weft_future *br[CHANNELS];
	unsigned k;
	int win;

	WEFT_ASYNC_BEGIN(self);
	while (self->open_count > 0) {
		for (k = 0; k < CHANNELS; k++) {
			br[k] = NULL;
			if (self->open[k]) {
				weft_mpsc_recv(self->rx[k], &self->out[k], &self->rf[k]);
				br[k] = &self->rf[k].base;
			}
		}
		CHECK_EQ(weft_select_init(&self->sel, br, CHANNELS), 0);
		WEFT_AWAIT(self, cx, &self->sel.base);
		win = self->sel.winner;
		CHECK(win >= 0);
		if (self->rf[win].status == -EPIPE) {
			self->open[win] = false;
			self->open_count--;
		} else {
			CHECK_EQ(self->rf[win].status, 0);
			CHECK_EQ(self->out[win], self->next[win]);
			self->next[win]++;
		}
		weft_future_drop(&self->sel.base);
	}
	WEFT_ASYNC_END(self);
}

static void merge(unsigned workers, uint64_t n)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	struct merger m = { 0 };
	unsigned k;

	for (k = 0; k < CHANNELS; k++) {
		struct feeder fd = { 0 };
		weft_mpsc_tx *tx;

		CHECK_EQ(weft_mpsc_bounded(8, 1 + k * 8, &tx, &m.rx[k]), 0);
		fd.base.poll = feeder_poll;
		fd.tx = tx;
		fd.n = n;
		SPAWN(rt, &fd, NULL);
		m.open[k] = true;
	}
	m.open_count = CHANNELS;
	m.base.poll = merger_poll;
	CHECK_EQ(weft_block_on(rt, &m.base), 0);
	for (k = 0; k < CHANNELS; k++) {
		CHECK_EQ(m.next[k], n);
		weft_mpsc_rx_release(m.rx[k]);
	}
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* A join handle as a branch: wait for a task or a message, whichever
 * comes first. */
static void *slow_task(void *arg)
{
	return arg;
}

struct join_or_recv {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_join_handle h;
	weft_mpsc_rx *rx;
	uint64_t out;
	weft_mpsc_recv_future rf;
	weft_select sel;
	int winner;
};

static weft_poll join_or_recv_poll(weft_future *f, weft_cx *cx)
{
	struct join_or_recv *self = (struct join_or_recv *)f;
	weft_future *br[2];

	WEFT_ASYNC_BEGIN(self);
	weft_mpsc_recv(self->rx, &self->out, &self->rf);
	br[0] = &self->h.base;
	br[1] = &self->rf.base;
	CHECK_EQ(weft_select_init(&self->sel, br, 2), 0);
	WEFT_AWAIT(self, cx, &self->sel.base);
	self->winner = self->sel.winner;
	if (self->winner == 0)
		CHECK_EQ(self->h.status, 0);
	weft_future_drop(&self->sel.base); /* detaches the handle too */
	WEFT_ASYNC_END(self);
}

static void join_branch(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	struct join_or_recv j = { 0 };
	weft_mpsc_tx *tx;

	CHECK_EQ(weft_mpsc_unbounded(8, &tx, &j.rx), 0);
	CHECK_EQ(weft_spawn_fn(rt, slow_task, NULL, &j.h), 0);
	j.base.poll = join_or_recv_poll;
	CHECK_EQ(weft_block_on(rt, &j.base), 0);
	CHECK_EQ(j.winner, 0); /* nothing was ever sent */
	weft_mpsc_tx_release(tx);
	weft_mpsc_rx_release(j.rx);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

int main(void)
{
	uint64_t n = 20000 * (uint64_t)test_scale();

	test_first_ready_wins();
	test_edge_cases();
	test_fairness_by_hand();
	test_biased();
	merge(4, n);
	merge(0, n);
	join_branch(4);
	join_branch(0);
	return 0;
}

/* chan races: a select whose losing receives park and are dropped while other threads send (no lost value or wake-up), and heap oneshots received on one thread while another sends (the receiver frees them). */
#include "chan_test.h"

#include <pthread.h>
#include <sched.h>

struct producer {
	weft_mpsc_tx *tx;
	uint64_t n;
};

static void *producer_main(void *arg)
{
	struct producer *p = arg;
	uint64_t i;

	for (i = 1; i <= p->n; i++) {
		CHECK_EQ(weft_mpsc_try_send(p->tx, &i), 0);
		if (i % 64 == 0)
			sched_yield();
	}
	return NULL;
}

/* Waits until `c` has counted more than `seen` wakes. */
static void wait_wake(struct count_waker *c, long seen)
{
	while (count_wakes(c) == seen)
		sched_yield();
}

/*
 * Two producer threads, one per channel; the main thread selects over a
 * receive from each.  When the select is pending, both receives have
 * parked; the thread waits for a wake, then drops the select (both
 * receives, as a select drops its losers) and starts a fresh one.  Every
 * value must arrive once, in order per channel, and every wait must end
 * (a lost wake-up hangs until the test's timeout).
 */
static void select_losers(uint64_t n)
{
	struct count_waker cw = { 0 };
	weft_waker w = count_waker_ref(&cw);
	weft_mpsc_tx *tx[2];
	weft_mpsc_rx *rx[2];
	struct producer p[2];
	pthread_t th[2];
	uint64_t next[2] = { 1, 1 }, got = 0;
	weft_cx cx;
	int k;

	weft_cx_init(&cx, &w);
	for (k = 0; k < 2; k++) {
		CHECK_EQ(weft_mpsc_unbounded(sizeof(uint64_t), &tx[k], &rx[k]), 0);
		p[k].tx = tx[k];
		p[k].n = n;
		CHECK_EQ(pthread_create(&th[k], NULL, producer_main, &p[k]), 0);
	}
	while (got < 2 * n) {
		weft_mpsc_recv_future r[2];
		weft_future *br[2] = { &r[0].base, &r[1].base };
		uint64_t v[2] = { 0, 0 };
		weft_select sel;
		long seen = count_wakes(&cw);

		for (k = 0; k < 2; k++)
			CHECK_EQ(weft_mpsc_recv(rx[k], &v[k], &r[k]), 0);
		CHECK_EQ(weft_select_init(&sel, br, 2), 0);
		if (poll_once(&sel.base, &cx) == WEFT_PENDING) {
			wait_wake(&cw, seen);
			weft_future_drop(&sel.base);
			continue;
		}
		k = sel.winner;
		CHECK(k == 0 || k == 1);
		CHECK_EQ(r[k].status, 0);
		CHECK_EQ(v[k], next[k]);
		next[k]++;
		got++;
		weft_future_drop(&sel.base);
	}
	for (k = 0; k < 2; k++) {
		uint64_t extra;

		CHECK_EQ(pthread_join(th[k], NULL), 0);
		CHECK_EQ(weft_mpsc_try_recv(rx[k], &extra), -EAGAIN);
		weft_mpsc_tx_release(tx[k]);
		weft_mpsc_rx_release(rx[k]);
	}
	CHECK_EQ(atomic_load(&cw.clones), 0);
}

/* The oneshot the sender thread sends next, and how many it handles. */
struct handoff {
	_Atomic(weft_oneshot *) slot;
	uint64_t n;
};

static void *oneshot_sender_main(void *arg)
{
	struct handoff *h = arg;
	uint64_t i;

	for (i = 1; i <= h->n; i++) {
		weft_oneshot *os;

		/* Acquire: pairs with the main thread's release of the slot. */
		while ((os = atomic_exchange_explicit(&h->slot, NULL, memory_order_acquire)) == NULL)
			sched_yield();
		/* The receiver may free `os` as soon as this returns. */
		CHECK_EQ(weft_oneshot_send(os, &i), 0);
	}
	return NULL;
}

/*
 * Heap oneshots handed to a sender thread; the main thread receives each
 * either with try_recv (spinning) or with a future that may park, so the
 * receiver's completion (which frees the oneshot) races with the sender's
 * last transition.
 */
static void oneshot_heap_handoff(uint64_t n)
{
	struct count_waker cw = { 0 };
	weft_waker w = count_waker_ref(&cw);
	struct handoff h = { NULL, n };
	pthread_t th;
	uint64_t i;
	weft_cx cx;

	weft_cx_init(&cx, &w);
	CHECK_EQ(pthread_create(&th, NULL, oneshot_sender_main, &h), 0);
	for (i = 1; i <= n; i++) {
		weft_oneshot_recv_future f;
		weft_oneshot *os;
		uint64_t v = 0;
		int err;

		CHECK_EQ(weft_oneshot_create(sizeof(uint64_t), &os), 0);
		if (i % 2 == 0)
			CHECK_EQ(weft_oneshot_recv(os, &v, &f), 0);
		/* Release: publishes the new oneshot to the sender thread;
		 * pairs with its acquire exchange. */
		atomic_store_explicit(&h.slot, os, memory_order_release);
		if (i % 2 == 1) {
			while ((err = weft_oneshot_try_recv(os, &v)) == -EAGAIN)
				sched_yield();
			CHECK_EQ(err, 0);
		} else {
			long seen = count_wakes(&cw);

			while (poll_once(&f.base, &cx) == WEFT_PENDING) {
				wait_wake(&cw, seen);
				seen = count_wakes(&cw);
			}
			CHECK_EQ(f.status, 0);
			weft_future_drop(&f.base);
		}
		CHECK_EQ(v, i);
	}
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(atomic_load(&cw.clones), 0);
}

int main(void)
{
	uint64_t n = 20000 * (uint64_t)test_scale();

	select_losers(n);
	oneshot_heap_handoff(n);
	return 0;
}

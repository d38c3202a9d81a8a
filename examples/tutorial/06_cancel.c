/*
 * examples/tutorial/06_cancel.c - cancellation and what it guarantees
 * (docs/tutorial.md, chapter 5): an aborted task's future is dropped
 * exactly once, at its next scheduling point, even though nothing would
 * ever wake it; its join completes with -ECANCELED.  A task that already
 * finished keeps its result.  Destroying the runtime drops every unfinished
 * task the same way.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <weft.h>

static atomic_int drops;

/* Waits for a message that never comes; its drop releases the receive. */
struct waiter {
	weft_future base;
	weft_mpsc_rx *rx;
	weft_mpsc_recv_future recv;
	bool receiving;
	int value;
};

static weft_poll waiter_poll(weft_future *f, weft_cx *cx)
{
	struct waiter *w = (struct waiter *)f;

	if (!w->receiving) {
		weft_mpsc_recv(w->rx, &w->value, &w->recv);
		w->receiving = true;
	}
	return weft_future_poll(&w->recv.base, cx);
}

static void waiter_drop(weft_future *f)
{
	struct waiter *w = (struct waiter *)f;

	if (w->receiving)
		weft_future_drop(&w->recv.base);
	weft_mpsc_rx_release(w->rx);
	atomic_fetch_add(&drops, 1);
}

static int spawn_waiter(weft_runtime *rt, weft_join_handle *h, weft_mpsc_tx **tx)
{
	struct waiter w = { .base = { waiter_poll, waiter_drop } };

	if (weft_mpsc_bounded(sizeof(int), 1, tx, &w.rx) < 0)
		return -1;
	if (weft_spawn(rt, &w.base, sizeof w, h) < 0) {
		weft_future_drop(&w.base); /* spawn failed: still ours to drop */
		return -1;
	}
	return 0;
}

static void *seven(void *arg)
{
	(void)arg;
	return (void *)7L;
}

int main(void)
{
	weft_runtime_config cfg = { .workers = 2 };
	weft_runtime *rt;
	weft_join_handle idle, done, orphan;
	weft_mpsc_tx *tx1, *tx2;
	int err;

	if (weft_runtime_create(&cfg, &rt) < 0)
		return 1;

	/* 1. Abort a task that waits forever. */
	if (spawn_waiter(rt, &idle, &tx1) < 0)
		return 1;
	weft_join_abort(&idle);
	err = weft_join(&idle);
	printf("aborted task: join %s, drops %d\n",
	       err == -ECANCELED ? "-ECANCELED" : "?", atomic_load(&drops));
	weft_join_detach(&idle);
	weft_mpsc_tx_release(tx1);

	/* 2. Abort after it finished: nothing happens, the result stays. */
	if (weft_spawn_fn(rt, seven, NULL, &done) < 0 || weft_join(&done) < 0)
		return 1;
	weft_join_abort(&done);
	printf("finished task: join %d, result %ld\n", weft_join(&done),
	       (long)((weft_fn_future *)weft_join_output(&done))->result);
	weft_join_detach(&done);

	/* 3. Shutdown drops what is still running, once. */
	if (spawn_waiter(rt, &orphan, &tx2) < 0)
		return 1;
	weft_runtime_destroy(rt);
	err = weft_join(&orphan);
	printf("after destroy: join %s, drops %d\n",
	       err == -ECANCELED ? "-ECANCELED" : "?", atomic_load(&drops));
	weft_join_detach(&orphan);
	weft_mpsc_tx_release(tx2);
	return atomic_load(&drops) == 2 ? 0 : 1;
}

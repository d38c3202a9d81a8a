/* Notify: one stored permit, notify_waiters stores none and covers created futures, the first poll's guessed state, FIFO notify_one, cancellation passes a notification on. */
#include "sync_test.h"

static void test_permit(void)
{
	struct hand h;
	weft_notify n;
	weft_notify_future a, b;

	hand_init(&h);
	CHECK_EQ(weft_notify_init(&n), 0);
	CHECK_EQ(weft_notify_try_notified(&n), -EAGAIN);

	/* notify_one with nobody waiting stores one permit... */
	CHECK_EQ(weft_notify_one(&n), 0);
	CHECK_EQ(weft_notify_one(&n), 0); /* ...and only one */
	CHECK_EQ(weft_notify_notified(&n, &a), 0);
	CHECK_EQ(hand_poll(&h, &a.base), WEFT_READY);
	CHECK_EQ(a.result, 0);
	weft_future_drop(&a.base);
	CHECK_EQ(weft_notify_notified(&n, &b), 0);
	CHECK_EQ(hand_poll(&h, &b.base), WEFT_PENDING);
	CHECK_EQ(hand_poll(&h, &b.base), WEFT_PENDING); /* spurious poll */
	CHECK_EQ(hand_refs(&h), 1);                     /* one stored waker */
	CHECK_EQ(weft_notify_one(&n), 0); /* goes to b, not to the permit */
	CHECK_EQ(hand_wakes(&h), 1);
	CHECK_EQ(hand_poll(&h, &b.base), WEFT_READY);
	CHECK_EQ(hand_poll(&h, &b.base), WEFT_READY); /* after ready: stays */
	weft_future_drop(&b.base);
	CHECK_EQ(weft_notify_try_notified(&n), -EAGAIN);

	/* The try tier consumes the permit. */
	CHECK_EQ(weft_notify_one(&n), 0);
	CHECK_EQ(weft_notify_try_notified(&n), 0);
	CHECK_EQ(weft_notify_try_notified(&n), -EAGAIN);

	/* A permit stored before a future is created is consumed by it. */
	CHECK_EQ(weft_notify_one(&n), 0);
	CHECK_EQ(weft_notify_notified(&n, &a), 0);
	CHECK_EQ(hand_poll(&h, &a.base), WEFT_READY);
	weft_future_drop(&a.base);

	/* A dropped future that never polled consumes nothing. */
	CHECK_EQ(weft_notify_one(&n), 0);
	CHECK_EQ(weft_notify_notified(&n, &a), 0);
	weft_future_drop(&a.base);
	CHECK_EQ(weft_notify_try_notified(&n), 0);
	CHECK_EQ(hand_refs(&h), 0);
	weft_notify_finish(&n);
}

static void test_notify_waiters(void)
{
	enum { N = 100 }; /* more than one wake batch */
	static weft_notify_future f[N];
	struct hand h, hl;
	weft_notify n;
	weft_notify_future early, late;
	int i;

	hand_init(&h);
	hand_init(&hl);
	CHECK_EQ(weft_notify_init(&n), 0);
	/* No permit is stored. */
	CHECK_EQ(weft_notify_waiters(&n), 0);
	CHECK_EQ(weft_notify_try_notified(&n), -EAGAIN);

	for (i = 0; i < N; i++) {
		CHECK_EQ(weft_notify_notified(&n, &f[i]), 0);
		CHECK_EQ(hand_poll(&h, &f[i].base), WEFT_PENDING);
	}
	/* Created before the call but never polled: covered too. */
	CHECK_EQ(weft_notify_notified(&n, &early), 0);
	CHECK_EQ(weft_notify_waiters(&n), 0);
	CHECK_EQ(hand_wakes(&h), N);
	/* Created after: not covered. */
	CHECK_EQ(weft_notify_notified(&n, &late), 0);
	CHECK_EQ(hand_poll(&hl, &late.base), WEFT_PENDING);
	CHECK_EQ(hand_poll(&h, &early.base), WEFT_READY);
	for (i = 0; i < N; i++) {
		CHECK_EQ(hand_poll(&h, &f[i].base), WEFT_READY);
		weft_future_drop(&f[i].base);
	}
	weft_future_drop(&early.base);
	CHECK_EQ(hand_wakes(&hl), 0);
	CHECK_EQ(weft_notify_one(&n), 0);
	CHECK_EQ(hand_wakes(&hl), 1);
	CHECK_EQ(hand_poll(&hl, &late.base), WEFT_READY);
	weft_future_drop(&late.base);
	CHECK_EQ(weft_notify_try_notified(&n), -EAGAIN);
	CHECK_EQ(hand_refs(&h) + hand_refs(&hl), 0);
	weft_notify_finish(&n);
}

/*
 * A first poll guesses the state it finds (a permit, the future's own
 * generation) unless others were queued when the future was made: each
 * way the guess can be wrong - no permit, a newer generation with or
 * without a permit - gives the answer a plain look would have.
 */
static void test_first_poll_guess(void)
{
	struct hand h;
	weft_notify n;
	weft_notify_future a, b;

	hand_init(&h);
	CHECK_EQ(weft_notify_init(&n), 0);

	/* Made with nothing stored; a permit stored before its first poll
	 * is taken by it. */
	CHECK_EQ(weft_notify_notified(&n, &a), 0);
	CHECK_EQ(weft_notify_one(&n), 0);
	CHECK_EQ(hand_poll(&h, &a.base), WEFT_READY);
	CHECK_EQ(a.result, 0);
	weft_future_drop(&a.base);
	CHECK_EQ(weft_notify_try_notified(&n), -EAGAIN);

	/* Made with nothing stored, covered by a notify_waiters before its
	 * first poll: ready, and no permit appears or goes. */
	CHECK_EQ(weft_notify_notified(&n, &a), 0);
	CHECK_EQ(weft_notify_waiters(&n), 0);
	CHECK_EQ(hand_poll(&h, &a.base), WEFT_READY);
	weft_future_drop(&a.base);
	CHECK_EQ(weft_notify_try_notified(&n), -EAGAIN);

	/* Made after that notify_waiters (a newer generation) with a permit
	 * stored: the guess of the new generation takes it. */
	CHECK_EQ(weft_notify_one(&n), 0);
	CHECK_EQ(weft_notify_notified(&n, &a), 0);
	CHECK_EQ(hand_poll(&h, &a.base), WEFT_READY);
	weft_future_drop(&a.base);
	CHECK_EQ(weft_notify_try_notified(&n), -EAGAIN);

	/* A permit stored, then a notify_waiters between the future's
	 * creation and its first poll: the generation completes it and the
	 * permit stays for the next wait. */
	CHECK_EQ(weft_notify_one(&n), 0);
	CHECK_EQ(weft_notify_notified(&n, &a), 0);
	CHECK_EQ(weft_notify_waiters(&n), 0);
	CHECK_EQ(hand_poll(&h, &a.base), WEFT_READY);
	weft_future_drop(&a.base);
	CHECK_EQ(weft_notify_try_notified(&n), 0);

	/* Made while another waits (no guess): queues behind it, and the
	 * next two notify_one go to the two in order. */
	CHECK_EQ(weft_notify_notified(&n, &a), 0);
	CHECK_EQ(hand_poll(&h, &a.base), WEFT_PENDING);
	CHECK_EQ(weft_notify_notified(&n, &b), 0);
	CHECK_EQ(hand_poll(&h, &b.base), WEFT_PENDING);
	CHECK_EQ(weft_notify_one(&n), 0);
	CHECK_EQ(hand_wakes(&h), 1);
	CHECK_EQ(hand_poll(&h, &a.base), WEFT_READY);
	CHECK_EQ(hand_poll(&h, &b.base), WEFT_PENDING);
	CHECK_EQ(weft_notify_one(&n), 0);
	CHECK_EQ(hand_wakes(&h), 2);
	CHECK_EQ(hand_poll(&h, &b.base), WEFT_READY);
	weft_future_drop(&a.base);
	weft_future_drop(&b.base);
	CHECK_EQ(weft_notify_try_notified(&n), -EAGAIN);
	CHECK_EQ(hand_refs(&h), 0);
	weft_notify_finish(&n);
}

static void test_fifo_and_cancel(void)
{
	enum { N = 5 };
	struct hand h[N];
	weft_notify_future f[N];
	weft_notify n;
	int i;

	CHECK_EQ(weft_notify_init(&n), 0);
	for (i = 0; i < N; i++) {
		hand_init(&h[i]);
		CHECK_EQ(weft_notify_notified(&n, &f[i]), 0);
		CHECK_EQ(hand_poll(&h[i], &f[i].base), WEFT_PENDING);
	}
	/* FIFO: the oldest waiter first. */
	CHECK_EQ(weft_notify_one(&n), 0);
	CHECK_EQ(hand_wakes(&h[0]), 1);
	CHECK_EQ(hand_wakes(&h[1]), 0);
	CHECK_EQ(hand_poll(&h[0], &f[0].base), WEFT_READY);
	weft_future_drop(&f[0].base);

	/* Chosen, then dropped before it looked: the next one gets it. */
	CHECK_EQ(weft_notify_one(&n), 0);
	CHECK_EQ(hand_wakes(&h[1]), 1);
	weft_future_drop(&f[1].base);
	CHECK_EQ(hand_wakes(&h[2]), 1);

	/* Dropped while queued: just leaves (3 is skipped). */
	weft_future_drop(&f[3].base);
	CHECK_EQ(hand_poll(&h[2], &f[2].base), WEFT_READY);
	weft_future_drop(&f[2].base);
	CHECK_EQ(weft_notify_one(&n), 0);
	CHECK_EQ(hand_wakes(&h[3]), 0);
	CHECK_EQ(hand_wakes(&h[4]), 1);

	/* The last one chosen and dropped: the notification becomes the
	 * stored permit. */
	weft_future_drop(&f[4].base);
	CHECK_EQ(weft_notify_try_notified(&n), 0);
	CHECK_EQ(weft_notify_try_notified(&n), -EAGAIN);
	for (i = 0; i < N; i++)
		CHECK_EQ(hand_refs(&h[i]), 0);
	weft_notify_finish(&n);
}

/*
 * notify_one in the gap between two wake batches of a notify_waiters: the
 * first waiter's waker (run outside the lock, with older waiters still
 * queued) queues a new waiter and calls notify_one.  The broadcast still
 * reaches every old waiter, the notify_one reaches the new one, and no
 * permit is left over.  Also shows wakers may re-enter the primitive.
 */
struct gap {
	weft_notify *n;
	struct hand *hl;
	weft_notify_future *late;
	_Atomic int fired;
	_Atomic long refs;
};

static weft_waker gap_clone(void *data);

static void gap_wake_by_ref(void *data)
{
	struct gap *g = data;

	if (atomic_fetch_add(&g->fired, 1) == 0) {
		CHECK_EQ(weft_notify_notified(g->n, g->late), 0);
		CHECK_EQ(hand_poll(g->hl, &g->late->base), WEFT_PENDING);
		CHECK_EQ(weft_notify_one(g->n), 0);
	}
}

static void gap_wake(void *data)
{
	gap_wake_by_ref(data);
	atomic_fetch_sub(&((struct gap *)data)->refs, 1);
}

static void gap_drop(void *data)
{
	atomic_fetch_sub(&((struct gap *)data)->refs, 1);
}

static const weft_waker_vtable gap_vtable = { gap_clone, gap_wake, gap_wake_by_ref, gap_drop };

static weft_waker gap_clone(void *data)
{
	weft_waker w = { data, &gap_vtable };

	atomic_fetch_add(&((struct gap *)data)->refs, 1);
	return w;
}

static void test_one_inside_broadcast(void)
{
	enum { N = 70 }; /* three wake batches */
	static weft_notify_future f[N];
	struct hand h, hl;
	struct gap g;
	weft_waker gw = { &g, &gap_vtable };
	weft_cx gcx;
	weft_notify n;
	weft_notify_future late;
	int i;

	hand_init(&h);
	hand_init(&hl);
	CHECK_EQ(weft_notify_init(&n), 0);
	g.n = &n;
	g.hl = &hl;
	g.late = &late;
	atomic_init(&g.fired, 0);
	atomic_init(&g.refs, 0);
	weft_cx_init(&gcx, &gw);
	CHECK_EQ(weft_notify_notified(&n, &f[0]), 0);
	CHECK_EQ(weft_future_poll(&f[0].base, &gcx), WEFT_PENDING);
	for (i = 1; i < N; i++) {
		CHECK_EQ(weft_notify_notified(&n, &f[i]), 0);
		CHECK_EQ(hand_poll(&h, &f[i].base), WEFT_PENDING);
	}
	CHECK_EQ(weft_notify_waiters(&n), 0);
	CHECK_EQ(atomic_load(&g.fired), 1);
	CHECK_EQ(hand_wakes(&h), N - 1);
	CHECK_EQ(hand_wakes(&hl), 1);
	for (i = 0; i < N; i++) {
		CHECK_EQ(weft_future_poll(&f[i].base, i == 0 ? &gcx : &h.cx), WEFT_READY);
		weft_future_drop(&f[i].base);
	}
	CHECK_EQ(hand_poll(&hl, &late.base), WEFT_READY);
	weft_future_drop(&late.base);
	CHECK_EQ(weft_notify_try_notified(&n), -EAGAIN);
	CHECK_EQ(hand_refs(&h) + hand_refs(&hl) + atomic_load(&g.refs), 0);
	weft_notify_finish(&n);
}

/* ---- producers and consumers on a runtime -------------------------------- */

struct shared {
	weft_notify n;
	_Atomic long items;
	_Atomic long consumed;
	_Atomic bool done;
};

struct consumer {
	weft_future base;
	struct shared *sh;
	weft_notify_future nf;
	bool live;
};

static bool take_item(struct shared *sh)
{
	long v = atomic_load(&sh->items);

	while (v > 0)
		if (atomic_compare_exchange_weak(&sh->items, &v, v - 1))
			return true;
	return false;
}

static weft_poll consumer_poll(weft_future *f, weft_cx *cx)
{
	struct consumer *c = (struct consumer *)f;

	for (;;) {
		if (!c->live) {
			/* Create first, then check: no notification is lost. */
			CHECK_EQ(weft_notify_notified(&c->sh->n, &c->nf), 0);
			c->live = true;
			while (take_item(c->sh))
				atomic_fetch_add(&c->sh->consumed, 1);
			if (atomic_load(&c->sh->done)) {
				weft_future_drop(&c->nf.base);
				c->live = false;
				return WEFT_READY;
			}
		}
		if (weft_future_poll(&c->nf.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		weft_future_drop(&c->nf.base);
		c->live = false;
	}
}

static void consumer_drop(weft_future *f)
{
	struct consumer *c = (struct consumer *)f;

	if (c->live)
		weft_future_drop(&c->nf.base);
}

static void producer_consumer(unsigned workers, int consumers, long items)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	struct shared sh;
	weft_join_handle h[8];
	long i;
	int t;

	memset(&sh, 0, sizeof(sh));
	CHECK_EQ(weft_notify_init(&sh.n), 0);
	for (t = 0; t < consumers; t++) {
		struct consumer c;

		memset(&c, 0, sizeof(c));
		c.base.poll = consumer_poll;
		c.base.drop = consumer_drop;
		c.sh = &sh;

		CHECK_EQ(weft_spawn(rt, &c.base, sizeof(c), &h[t]), 0);
	}
	for (i = 0; i < items; i++) {
		atomic_fetch_add(&sh.items, 1);
		CHECK_EQ(weft_notify_one(&sh.n), 0);
		if (workers == 0 && i % 16 == 0)
			block_on_yield(rt);
	}
	atomic_store(&sh.done, true);
	CHECK_EQ(weft_notify_waiters(&sh.n), 0);
	join_all(rt, workers, h, consumers);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(atomic_load(&sh.consumed), items);
	weft_notify_finish(&sh.n);
}

int main(void)
{
	long scale = test_scale();

	test_permit();
	test_notify_waiters();
	test_first_poll_guess();
	test_fifo_and_cancel();
	test_one_inside_broadcast();
	producer_consumer(4, 4, 50000 * scale);
	producer_consumer(0, 3, 5000 * scale);
	return 0;
}

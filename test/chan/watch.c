/* watch: receivers see the latest value and its version, wait for changes, never see a torn value; close. */
#include <pthread.h>

#include "chan_test.h"

#define WORDS 8

struct big {
	uint64_t w[WORDS]; /* every word holds the same number */
};

static void fill(struct big *b, uint64_t v)
{
	unsigned i;

	for (i = 0; i < WORDS; i++)
		b->w[i] = v;
}

static uint64_t check_whole(const struct big *b)
{
	unsigned i;

	for (i = 1; i < WORDS; i++)
		CHECK_EQ(b->w[i], b->w[0]); /* not torn */
	return b->w[0];
}

static void test_basic(void)
{
	struct count_waker cw = { 0 };
	weft_waker w = count_waker_ref(&cw);
	weft_watch_changed_future cf;
	weft_watch_tx *tx;
	weft_watch_rx rx, rx2;
	uint64_t v = 10, version = 99;
	weft_cx cx;

	weft_cx_init(&cx, &w);
	CHECK_EQ(weft_watch_create(sizeof(v), &v, &tx), 0);
	CHECK_EQ(weft_watch_subscribe(tx, &rx), 0);
	CHECK_EQ(weft_watch_has_changed(&rx), 0); /* the initial value counts as seen */
	CHECK_EQ(weft_watch_read(&rx, &v, &version), 0);
	CHECK_EQ(v, 10);
	CHECK_EQ(version, 0);

	/* Several sends: the receiver sees only the latest. */
	for (v = 1; v <= 3; v++)
		CHECK_EQ(weft_watch_send(tx, &v), 0);
	CHECK_EQ(weft_watch_version(tx), 3);
	CHECK_EQ(weft_watch_has_changed(&rx), 1);
	CHECK_EQ(weft_watch_read(&rx, &v, &version), 0);
	CHECK_EQ(v, 3);
	CHECK_EQ(version, 3);
	CHECK_EQ(weft_watch_has_changed(&rx), 0);

	/* changed() waits, a send wakes it, it marks the value seen. */
	weft_watch_changed(&rx, &cf);
	CHECK_EQ(poll_once(&cf.base, &cx), WEFT_PENDING);
	v = 4;
	CHECK_EQ(weft_watch_send(tx, &v), 0);
	CHECK_EQ(count_wakes(&cw), 1);
	CHECK_EQ(poll_once(&cf.base, &cx), WEFT_READY);
	CHECK_EQ(cf.status, 0);
	weft_future_drop(&cf.base);
	CHECK_EQ(weft_watch_has_changed(&rx), 0);
	CHECK_EQ(weft_watch_read(&rx, &v, NULL), 0);
	CHECK_EQ(v, 4);

	/* A dropped waiter unregisters; the change stays for the next one. */
	weft_watch_changed(&rx, &cf);
	CHECK_EQ(poll_once(&cf.base, &cx), WEFT_PENDING);
	weft_future_drop(&cf.base);
	CHECK_EQ(atomic_load(&cw.clones), 0);
	v = 5;
	CHECK_EQ(weft_watch_send(tx, &v), 0);
	CHECK_EQ(count_wakes(&cw), 1);
	weft_watch_changed(&rx, &cf);
	CHECK_EQ(poll_once(&cf.base, &cx), WEFT_READY);
	CHECK_EQ(cf.status, 0);
	weft_future_drop(&cf.base);

	/* A second receiver subscribed now starts at the current version. */
	CHECK_EQ(weft_watch_subscribe(tx, &rx2), 0);
	CHECK_EQ(weft_watch_has_changed(&rx2), 0);

	/* Close: an unseen change is still reported, then -EPIPE; the value
	 * stays readable. */
	weft_watch_changed(&rx, &cf);
	CHECK_EQ(poll_once(&cf.base, &cx), WEFT_PENDING);
	v = 6;
	CHECK_EQ(weft_watch_send(tx, &v), 0);
	weft_watch_tx_release(tx);
	CHECK_EQ(poll_once(&cf.base, &cx), WEFT_READY);
	CHECK_EQ(cf.status, 0);
	weft_future_drop(&cf.base);
	weft_watch_changed(&rx, &cf);
	CHECK_EQ(poll_once(&cf.base, &cx), WEFT_READY);
	CHECK_EQ(cf.status, -EPIPE);
	weft_future_drop(&cf.base);
	CHECK_EQ(weft_watch_has_changed(&rx), -EPIPE);
	CHECK_EQ(weft_watch_has_changed(&rx2), 1);
	CHECK_EQ(weft_watch_read(&rx2, &v, NULL), 0);
	CHECK_EQ(v, 6);
	weft_watch_rx_finish(&rx);
	weft_watch_rx_finish(&rx2);
	weft_watch_rx_finish(&rx2);
	CHECK_EQ(atomic_load(&cw.clones), 0);

	CHECK_EQ(weft_watch_create(0, NULL, &tx), -EINVAL);
	CHECK_EQ(weft_watch_create(8, NULL, NULL), -EINVAL);
	CHECK_EQ(weft_watch_create(3, NULL, &tx), 0); /* zeros, odd size */
	CHECK_EQ(weft_watch_subscribe(tx, &rx), 0);
	v = UINT64_MAX;
	CHECK_EQ(weft_watch_read(&rx, &v, NULL), 0);
	CHECK_EQ(v, UINT64_MAX & ~(uint64_t)0xffffff); /* 3 bytes written */
	weft_watch_tx_release(tx);
	weft_watch_rx_finish(&rx);
}

/* ---- concurrent ---------------------------------------------------------------- */

#define READERS 4

struct reader {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_watch_rx rx;
	struct big value;
	uint64_t last, reads, target;
	weft_watch_changed_future cf;
};

static weft_poll reader_poll(weft_future *f, weft_cx *cx)
{
	struct reader *self = (struct reader *)f;
	uint64_t v, version;

	WEFT_ASYNC_BEGIN(self);
	for (;;) {
		weft_watch_changed(&self->rx, &self->cf);
		WEFT_AWAIT(self, cx, &self->cf.base);
		weft_future_drop(&self->cf.base);
		if (self->cf.status == -EPIPE)
			break;
		CHECK_EQ(self->cf.status, 0);
		CHECK_EQ(weft_watch_read(&self->rx, &self->value, &version), 0);
		v = check_whole(&self->value);
		CHECK_EQ(v, version); /* the writer sends its version number */
		CHECK(v > self->last); /* a change is always newer */
		self->last = v;
		self->reads++;
	}
	/* The latest value is the last one sent. */
	CHECK_EQ(weft_watch_read(&self->rx, &self->value, NULL), 0);
	CHECK_EQ(check_whole(&self->value), self->target);
	weft_watch_rx_finish(&self->rx);
	WEFT_ASYNC_END(self);
}

static void reader_drop(weft_future *f)
{
	weft_watch_rx_finish(&((struct reader *)f)->rx);
}

struct writer {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_watch_tx *tx;
	uint64_t i, n;
	struct big value;
	weft_yield y;
};

static weft_poll writer_poll(weft_future *f, weft_cx *cx)
{
	struct writer *self = (struct writer *)f;

	WEFT_ASYNC_BEGIN(self);
	for (self->i = 1; self->i <= self->n; self->i++) {
		fill(&self->value, self->i);
		CHECK_EQ(weft_watch_send(self->tx, &self->value), 0);
		if (self->i % 8 == 0) {
			weft_yield_now(&self->y);
			WEFT_AWAIT(self, cx, &self->y.base);
		}
	}
	weft_watch_tx_release(self->tx);
	WEFT_ASYNC_END(self);
}

/* Plain threads hammering the optimistic read path. */
struct thread_reader {
	weft_watch_rx rx;
	uint64_t target;
};

static void *thread_reader_main(void *arg)
{
	struct thread_reader *t = arg;
	struct big value;
	uint64_t last = 0, v, version;

	do {
		CHECK_EQ(weft_watch_read(&t->rx, &value, &version), 0);
		v = check_whole(&value);
		CHECK_EQ(v, version);
		CHECK(v >= last); /* never goes back */
		last = v;
	} while (v < t->target);
	weft_watch_rx_finish(&t->rx);
	return NULL;
}

static void concurrent(unsigned workers, uint64_t n)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	struct thread_reader tr[2];
	weft_join_handle rh[READERS];
	struct writer w = { 0 };
	pthread_t threads[2];
	weft_watch_tx *tx;
	struct big zero;
	unsigned i;

	fill(&zero, 0);
	CHECK_EQ(weft_watch_create(sizeof(struct big), &zero, &tx), 0);
	for (i = 0; i < READERS; i++) {
		struct reader r = { 0 };

		r.base.poll = reader_poll;
		r.base.drop = reader_drop;
		r.target = n;
		CHECK_EQ(weft_watch_subscribe(tx, &r.rx), 0);
		SPAWN(rt, &r, &rh[i]);
	}
	for (i = 0; i < 2; i++) {
		CHECK_EQ(weft_watch_subscribe(tx, &tr[i].rx), 0);
		tr[i].target = n;
		CHECK_EQ(pthread_create(&threads[i], NULL, thread_reader_main, &tr[i]), 0);
	}
	w.base.poll = writer_poll;
	w.tx = tx;
	w.n = n;
	CHECK_EQ(weft_block_on(rt, &w.base), 0);
	for (i = 0; i < READERS; i++) {
		CHECK_EQ(weft_block_on(rt, &rh[i].base), 0);
		CHECK_EQ(rh[i].status, 0);
		CHECK(((struct reader *)weft_join_output(&rh[i]))->reads >= 1);
		weft_join_detach(&rh[i]);
	}
	for (i = 0; i < 2; i++)
		CHECK_EQ(pthread_join(threads[i], NULL), 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

int main(void)
{
	uint64_t n = 20000 * (uint64_t)test_scale();

	test_basic();
	concurrent(4, n);
	concurrent(0, n / 4);
	return 0;
}

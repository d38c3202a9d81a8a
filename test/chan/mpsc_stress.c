/* mpsc_stress: 4 producers x 10^5 messages into one receiver; each message exactly once, per-producer order kept, capacity never exceeded. */
#include <pthread.h>
#include <sched.h>

#include "chan_test.h"

#define PRODUCERS 4

/* The receiving side, run by weft_block_on. */
struct consumer {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_rx *rx;
	size_t capacity; /* 0: unbounded */
	uint64_t next[PRODUCERS];
	uint64_t got, value;
	weft_mpsc_recv_future rf;
};

static weft_poll consumer_poll(weft_future *f, weft_cx *cx)
{
	struct consumer *self = (struct consumer *)f;
	uint64_t p, seq;

	WEFT_ASYNC_BEGIN(self);
	for (;;) {
		weft_mpsc_recv(self->rx, &self->value, &self->rf);
		WEFT_AWAIT(self, cx, &self->rf.base);
		weft_future_drop(&self->rf.base);
		if (self->rf.status == -EPIPE)
			break;
		CHECK_EQ(self->rf.status, 0);
		p = self->value >> 32;
		seq = self->value & 0xffffffffu;
		CHECK(p < PRODUCERS);
		CHECK_EQ(seq, self->next[p]); /* exactly once, in order */
		self->next[p]++;
		self->got++;
		if (self->capacity != 0)
			CHECK(weft_mpsc_len(self->rx) <= self->capacity);
	}
	WEFT_ASYNC_END(self);
}

static void run(unsigned workers, size_t capacity, uint64_t per_producer)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	struct consumer c = { 0 };
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	unsigned i;

	make_mpsc(capacity, &tx, &rx);
	for (i = 0; i < PRODUCERS; i++) {
		struct test_sender p = { 0 };

		p.id = i;
		p.count = per_producer;
		spawn_test_sender(rt, tx, p, NULL);
	}
	weft_mpsc_tx_release(tx);
	c.base.poll = consumer_poll;
	c.rx = rx;
	c.capacity = capacity;
	CHECK_EQ(weft_block_on(rt, &c.base), 0);
	CHECK_EQ(c.got, PRODUCERS * per_producer);
	for (i = 0; i < PRODUCERS; i++)
		CHECK_EQ(c.next[i], per_producer);
	weft_mpsc_rx_release(rx);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* Plain threads on the try tier: senders race on the claim word and the
 * block chain while the receiver recycles and frees blocks behind them. */
struct thread_producer {
	weft_mpsc_tx *tx;
	uint64_t id, n;
};

static void *thread_producer_main(void *arg)
{
	struct thread_producer *p = arg;
	uint64_t i, v;
	int err;

	for (i = 0; i < p->n; i++) {
		v = p->id << 32 | i;
		while ((err = weft_mpsc_try_send(p->tx, &v)) == -EAGAIN)
			sched_yield();
		CHECK_EQ(err, 0);
	}
	weft_mpsc_tx_release(p->tx);
	return NULL;
}

static void run_threads(size_t capacity, uint64_t per_producer)
{
	struct thread_producer p[PRODUCERS];
	pthread_t threads[PRODUCERS];
	uint64_t next[PRODUCERS] = { 0 }, v, got = 0;
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	unsigned i;
	int err;

	make_mpsc(capacity, &tx, &rx);
	for (i = 0; i < PRODUCERS; i++) {
		p[i].tx = weft_mpsc_tx_clone(tx);
		p[i].id = i;
		p[i].n = per_producer;
		CHECK_EQ(pthread_create(&threads[i], NULL, thread_producer_main, &p[i]), 0);
	}
	weft_mpsc_tx_release(tx);
	for (;;) {
		err = weft_mpsc_try_recv(rx, &v);
		if (err == -EAGAIN) {
			sched_yield();
			continue;
		}
		if (err == -EPIPE)
			break;
		CHECK_EQ(err, 0);
		CHECK(v >> 32 < PRODUCERS);
		CHECK_EQ(v & 0xffffffffu, next[v >> 32]);
		next[v >> 32]++;
		got++;
		if (capacity != 0)
			CHECK(weft_mpsc_len(rx) <= capacity);
	}
	CHECK_EQ(got, PRODUCERS * per_producer);
	for (i = 0; i < PRODUCERS; i++)
		CHECK_EQ(pthread_join(threads[i], NULL), 0);
	weft_mpsc_rx_release(rx);
}

int main(void)
{
	uint64_t n = 100000 * (uint64_t)test_scale();

	/* The headline case at full size; the variations smaller, so that
	 * the whole program stays within seconds under ThreadSanitizer. */
	run(4, 64, n);
	run(4, 0, n / 4);
	run(4, 1, n / 50);
	run(0, 16, n / 10);
	run(0, 0, n / 10);
	run_threads(0, n / 10);
	run_threads(40, n / 10);
	return 0;
}

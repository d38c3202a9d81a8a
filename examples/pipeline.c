/*
 * examples/pipeline.c - producer -> workers -> sink over channels.
 *
 *   pipeline [COUNT] [WORKERS]     (defaults: 100000 items, 4 workers)
 *
 * A producer task hands the numbers 1..COUNT out round robin to WORKERS
 * worker tasks, each over its own bounded channel; every worker squares what
 * it gets and sends the square to the sink over one shared channel (each
 * worker holds a clone of its sender); the sink, run by weft_block_on, adds
 * them up until the last worker lets go of its sender.  Back pressure comes
 * from the bounded channels.  It prints
 *
 *   items COUNT sum SUM
 *
 * and exits 0 when SUM is 1^2 + ... + COUNT^2 (COUNT(COUNT+1)(2COUNT+1)/6).
 */
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>

#define MAX_WORKERS 64

struct producer {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_tx *out[MAX_WORKERS];
	int nworkers;
	unsigned long long i, count;
	weft_mpsc_send_future send;
};

static weft_poll producer_poll(weft_future *f, weft_cx *cx)
{
	struct producer *p = (struct producer *)f;

	WEFT_ASYNC_BEGIN(p);
	for (p->i = 1; p->i <= p->count; p->i++) {
		weft_mpsc_send(p->out[p->i % (unsigned)p->nworkers], &p->i, &p->send);
		WEFT_AWAIT(p, cx, &p->send.base);
		weft_future_drop(&p->send.base);
	}
	WEFT_ASYNC_END(p);
}

static void producer_drop(weft_future *f)
{
	struct producer *p = (struct producer *)f;
	int i;

	/* Releasing the senders ends the workers' streams. */
	for (i = 0; i < p->nworkers; i++)
		weft_mpsc_tx_release(p->out[i]);
}

struct worker {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_rx *in;
	weft_mpsc_tx *out;
	unsigned long long value;
	weft_mpsc_recv_future recv;
	weft_mpsc_send_future send;
};

static weft_poll worker_poll(weft_future *f, weft_cx *cx)
{
	struct worker *w = (struct worker *)f;

	WEFT_ASYNC_BEGIN(w);
	for (;;) {
		weft_mpsc_recv(w->in, &w->value, &w->recv);
		WEFT_AWAIT(w, cx, &w->recv.base);
		weft_future_drop(&w->recv.base);
		if (w->recv.status != 0)
			break; /* the producer is done */
		w->value *= w->value;
		weft_mpsc_send(w->out, &w->value, &w->send);
		WEFT_AWAIT(w, cx, &w->send.base);
		weft_future_drop(&w->send.base);
	}
	WEFT_ASYNC_END(w);
}

static void worker_drop(weft_future *f)
{
	struct worker *w = (struct worker *)f;

	weft_mpsc_rx_release(w->in);
	weft_mpsc_tx_release(w->out);
}

struct sink {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_rx *in;
	unsigned long long value, sum, items;
	weft_mpsc_recv_future recv;
};

static weft_poll sink_poll(weft_future *f, weft_cx *cx)
{
	struct sink *s = (struct sink *)f;

	WEFT_ASYNC_BEGIN(s);
	for (;;) {
		weft_mpsc_recv(s->in, &s->value, &s->recv);
		WEFT_AWAIT(s, cx, &s->recv.base);
		weft_future_drop(&s->recv.base);
		if (s->recv.status != 0)
			break; /* every worker is done */
		s->sum += s->value;
		s->items++;
	}
	WEFT_ASYNC_END(s);
}

int main(int argc, char **argv)
{
	unsigned long long count = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000;
	int nworkers = argc > 2 ? atoi(argv[2]) : 4, i;
	struct producer p = { .base = { producer_poll, producer_drop } };
	struct sink s = { .base = { sink_poll, NULL } };
	weft_mpsc_tx *to_sink;
	weft_runtime *rt;
	unsigned long long want;

	if (nworkers < 1 || nworkers > MAX_WORKERS || count > 2000000)
		return 2;
	if (weft_runtime_create(NULL, &rt) < 0 ||
	    weft_mpsc_bounded(sizeof(unsigned long long), 64, &to_sink, &s.in) < 0)
		return 1;
	p.nworkers = nworkers;
	p.count = count;
	for (i = 0; i < nworkers; i++) {
		struct worker w = { .base = { worker_poll, worker_drop } };

		if (weft_mpsc_bounded(sizeof(unsigned long long), 64, &p.out[i], &w.in) < 0)
			return 1;
		w.out = weft_mpsc_tx_clone(to_sink);
		if (weft_spawn(rt, &w.base, sizeof(w), NULL) < 0)
			return 1;
	}
	weft_mpsc_tx_release(to_sink); /* the workers hold the sink's senders */
	if (weft_spawn(rt, &p.base, sizeof(p), NULL) < 0 || weft_block_on(rt, &s.base) < 0)
		return 1;
	weft_mpsc_rx_release(s.in);
	weft_runtime_destroy(rt);
	printf("items %llu sum %llu\n", s.items, s.sum);
	want = count * (count + 1) * (2 * count + 1) / 6;
	return s.items == count && s.sum == want ? 0 : 1;
}

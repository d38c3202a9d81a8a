/*
 * Channel messages sent from another thread wake a current-thread runtime
 * that a plain poll() loop drives (weft/embed.h): the host waits on the
 * backend fd with no timeout (no timer is pending), so only the fd can
 * wake it, and every message arrives, in order, then the close.  Also a
 * task spawned from another thread, and a waker woken there.
 */
#include "embed_test.h"

#define MESSAGES 50

struct receiver {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_rx *rx;
	weft_mpsc_recv_future recv;
	int value, next, status;
	_Atomic int *done;
};

static weft_poll receiver_poll(weft_future *f, weft_cx *cx)
{
	struct receiver *r = (struct receiver *)f;

	WEFT_ASYNC_BEGIN(r);
	for (;;) {
		weft_mpsc_recv(r->rx, &r->value, &r->recv);
		WEFT_AWAIT(r, cx, &r->recv.base);
		r->status = r->recv.status;
		weft_future_drop(&r->recv.base);
		if (r->status != 0)
			break;
		CHECK_EQ(r->value, r->next);
		r->next++;
	}
	atomic_store(r->done, 1);
	WEFT_ASYNC_END(r);
}

static void receiver_drop(weft_future *f)
{
	struct receiver *r = (struct receiver *)f;

	if (r->weft_resume_ > 0)
		weft_future_drop(&r->recv.base);
}

struct sender {
	weft_mpsc_tx *tx;
	int n;
	unsigned wait_for; /* emb_wait_host_waiting's n for the first send */
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	int i;

	/* The first message reaches a host asleep on the fd (fd_wakes >= 1). */
	emb_wait_host_waiting(s->wait_for);
	for (i = 0; i < s->n; i++) {
		CHECK_EQ(weft_mpsc_try_send(s->tx, &i), 0);
		/* Now and then let the host go back to sleep on the fd. */
		if (i % 10 == 0)
			test_sleep_ms(2);
	}
	weft_mpsc_tx_release(s->tx);
	return NULL;
}

static void messages_from_thread(void)
{
	weft_runtime *rt = emb_runtime(false);
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	struct receiver r;
	struct sender s;
	struct emb_stats st = { 0 };
	_Atomic int done = 0;
	weft_join_handle h;
	pthread_t th;

	CHECK_EQ(weft_mpsc_unbounded(sizeof(int), &tx, &rx), 0);
	memset(&r, 0, sizeof(r));
	r.base.poll = receiver_poll;
	r.base.drop = receiver_drop;
	r.rx = rx;
	r.done = &done;
	CHECK_EQ(weft_spawn(rt, &r.base, sizeof(r), &h), 0);
	CHECK(weft_runtime_backend_fd(rt) >= 0);
	/* The receiver waits; nothing else is pending. */
	emb_drain(rt);
	CHECK_EQ(weft_runtime_backend_timeout(rt), -1);
	CHECK_EQ(emb_readable(weft_runtime_backend_fd(rt), 0), 0);
	s.tx = tx;
	s.n = MESSAGES;
	s.wait_for = atomic_load(&emb_waits_begun) + 1;
	CHECK_EQ(pthread_create(&th, NULL, sender_main, &s), 0);
	emb_run(rt, &done, &st);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(weft_join_try(&h), 0);
	weft_join_detach(&h);
	CHECK(st.fd_wakes >= 1);
	CHECK_EQ(st.timeouts, 0); /* no timer: only the fd woke the host */
	weft_mpsc_rx_release(rx);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

struct spawner {
	weft_runtime *rt;
	_Atomic int *flag;
	unsigned wait_for; /* emb_wait_host_waiting's n before the spawn */
};

static void *spawner_main(void *arg)
{
	struct spawner *sp = arg;
	struct test_count_task t = { { test_count_task_poll, NULL }, sp->flag };

	emb_wait_host_waiting(sp->wait_for); /* the host sleeps on the fd */
	CHECK_EQ(weft_spawn(sp->rt, &t.base, sizeof(t), NULL), 0);
	return NULL;
}

static void spawn_from_thread(void)
{
	weft_runtime *rt = emb_runtime(false);
	_Atomic int flag = 0;
	struct spawner sp = { rt, &flag, 0 };
	struct emb_stats st = { 0 };
	pthread_t th;

	CHECK(weft_runtime_backend_fd(rt) >= 0);
	sp.wait_for = atomic_load(&emb_waits_begun) + 1;
	CHECK_EQ(pthread_create(&th, NULL, spawner_main, &sp), 0);
	emb_run(rt, &flag, &st);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(atomic_load(&flag), 1);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

int main(void)
{
	int i;

	for (i = 0; i < 3; i++)
		messages_from_thread();
	spawn_from_thread();
	printf("ok\n");
	return 0;
}

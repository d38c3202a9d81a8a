/*
 * A realistic mixed workload -- tasks spawned from a task, producers
 * sending through an unbounded and a bounded channel to a consumer, tasks
 * sharing a mutex and a semaphore, sleepers on the (paused) clock, a
 * oneshot reply -- run once cleanly to count its allocations, and then
 * once for every k with the k-th allocation failing: first the runtime's
 * allocator (tasks, timer and driver state), then the channels' allocation
 * hook (channel and buffer blocks).
 *
 * Every failing call must return -ENOMEM and the workload carries on
 * without what failed.  Checked each time: block_on returns (no waiter is
 * stranded: every join completes, the consumer sees end-of-stream), the
 * consumer got exactly the values whose send succeeded, in each sender's
 * order, the mutex and the semaphore end free, every spawned future was
 * dropped exactly once, and the allocator got every byte back.
 */
#include "test.h"

#include "chan/chan_internal.h"

#define NPROD 3
#define NVAL 70 /* more than two buffer blocks of 32 */
#define NTASKS 12

struct shared {
	weft_mpsc_tx *utx, *btx;
	weft_mpsc_rx *urx, *brx;
	weft_mutex mx;
	weft_semaphore sem;
	weft_oneshot *reply;
	int sent[NPROD], received[NPROD];
	int drops, spawned, enomem;
	bool consumer_eof[2];
};

struct worker {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct shared *sh;
	int kind, id, i;
	bool in_flight;
	uint64_t v;
	weft_mpsc_tx *tx;
	union {
		weft_mpsc_send_future send;
		weft_mpsc_recv_future recv;
		weft_mutex_lock_future lock;
		weft_semaphore_acquire_future acq;
		weft_sleep_future sleep;
	} f;
	weft_yield y;
};

enum { W_PRODUCER, W_CONSUMER, W_LOCKER, W_SLEEPER };

static weft_poll worker_poll(weft_future *base, weft_cx *cx)
{
	struct worker *w = (struct worker *)base;
	struct shared *sh = w->sh;

	WEFT_ASYNC_BEGIN(w);
	if (w->kind == W_PRODUCER) {
		for (w->i = 0; w->i < NVAL; w->i++) {
			w->v = (uint64_t)w->id << 32 | (uint64_t)sh->sent[w->id];
			weft_mpsc_send(w->tx, &w->v, &w->f.send);
			w->in_flight = true;
			WEFT_AWAIT(w, cx, &w->f.send.base);
			w->in_flight = false;
			weft_future_drop(&w->f.send.base);
			if (w->f.send.status == -EPIPE)
				break; /* the consumer could not be spawned */
			if (w->f.send.status == 0)
				sh->sent[w->id]++;
			else
				CHECK_EQ(w->f.send.status, -ENOMEM);
		}
	} else if (w->kind == W_CONSUMER) {
		for (;;) {
			weft_mpsc_recv(w->id == 0 ? sh->urx : sh->brx, &w->v, &w->f.recv);
			w->in_flight = true;
			WEFT_AWAIT(w, cx, &w->f.recv.base);
			w->in_flight = false;
			weft_future_drop(&w->f.recv.base);
			if (w->f.recv.status == -EPIPE)
				break;
			CHECK_EQ(w->f.recv.status, 0);
			/* In order, nothing lost inside a sender's run. */
			CHECK_EQ((uint32_t)w->v, (uint32_t)sh->received[w->v >> 32]);
			sh->received[w->v >> 32]++;
		}
		sh->consumer_eof[w->id] = true;
	} else if (w->kind == W_LOCKER) {
		for (w->i = 0; w->i < 5; w->i++) {
			weft_mutex_lock(&sh->mx, &w->f.lock);
			w->in_flight = true;
			WEFT_AWAIT(w, cx, &w->f.lock.base);
			w->in_flight = false;
			weft_future_drop(&w->f.lock.base);
			weft_yield_now(&w->y);
			WEFT_AWAIT(w, cx, &w->y.base);
			CHECK_EQ(weft_mutex_unlock(&sh->mx), 0);
			weft_semaphore_acquire(&sh->sem, 2, &w->f.acq);
			w->in_flight = true;
			WEFT_AWAIT(w, cx, &w->f.acq.base);
			w->in_flight = false;
			weft_future_drop(&w->f.acq.base);
			CHECK_EQ(weft_semaphore_release(&sh->sem, 2), 0);
		}
	} else {
		weft_sleep(&w->f.sleep, NULL, (uint64_t)(w->id + 1) * 3 * WEFT_MS);
		w->in_flight = true;
		WEFT_AWAIT(w, cx, &w->f.sleep.base);
		w->in_flight = false;
		CHECK_EQ(w->f.sleep.result, 0);
		weft_future_drop(&w->f.sleep.base);
		if (w->id == 0 && sh->reply != NULL) {
			uint64_t answer = 42;

			CHECK(weft_oneshot_send(sh->reply, &answer) == 0 ||
			      weft_oneshot_is_closed(sh->reply));
			sh->reply = NULL;
		}
	}
	WEFT_ASYNC_END(w);
}

static void worker_drop(weft_future *base)
{
	struct worker *w = (struct worker *)base;

	if (w->in_flight)
		weft_future_drop(&w->f.send.base); /* the first member of each */
	weft_mpsc_tx_release(w->tx);
	if (w->kind == W_CONSUMER)
		weft_mpsc_rx_release(w->id == 0 ? w->sh->urx : w->sh->brx);
	if (w->kind == W_SLEEPER && w->id == 0 && w->sh->reply != NULL) {
		weft_oneshot_tx_close(w->sh->reply);
		w->sh->reply = NULL;
	}
	w->sh->drops++;
}

/* The root: builds everything, spawns the workers, joins them. */
struct root {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct shared *sh;
	weft_join_handle h[NTASKS];
	int n, i;
	weft_oneshot *reply;
	uint64_t answer;
	bool have_reply;
	weft_oneshot_recv_future rf;
};

static void spawn_worker(struct root *r, int kind, int id, weft_mpsc_tx *tx)
{
	struct worker w;
	int rc;

	memset(&w, 0, sizeof w);
	w.base.poll = worker_poll;
	w.base.drop = worker_drop;
	w.sh = r->sh;
	w.kind = kind;
	w.id = id;
	w.tx = tx;
	rc = weft_spawn(weft_runtime_current(), &w.base, sizeof w, &r->h[r->n]);
	if (rc == 0) {
		r->n++;
		r->sh->spawned++;
		return;
	}
	CHECK_EQ(rc, -ENOMEM);
	r->sh->enomem++;
	/* Still ours: release what the worker would have released. */
	worker_drop(&w.base);
	r->sh->drops--;
}

static weft_poll root_poll(weft_future *base, weft_cx *cx)
{
	struct root *r = (struct root *)base;
	struct shared *sh = r->sh;
	int i, rc;

	WEFT_ASYNC_BEGIN(r);
	rc = weft_oneshot_create(8, &r->reply);
	CHECK(rc == 0 || rc == -ENOMEM);
	r->have_reply = rc == 0;
	sh->reply = r->have_reply ? r->reply : NULL;
	/* The consumers own the receivers; a failed spawn releases them. */
	if (sh->urx != NULL)
		spawn_worker(r, W_CONSUMER, 0, NULL);
	if (sh->brx != NULL)
		spawn_worker(r, W_CONSUMER, 1, NULL);
	for (i = 0; i < NPROD; i++) {
		weft_mpsc_tx *tx = i == 2 ? sh->btx : sh->utx;

		if (tx != NULL)
			spawn_worker(r, W_PRODUCER, i, weft_mpsc_tx_clone(tx));
	}
	weft_mpsc_tx_release(sh->utx);
	weft_mpsc_tx_release(sh->btx);
	for (i = 0; i < 3; i++)
		spawn_worker(r, W_LOCKER, i, NULL);
	/* A sleeper that answers on the oneshot, and two more. */
	for (i = 0; i < 3; i++)
		spawn_worker(r, W_SLEEPER, i, NULL);
	/* When the answering sleeper could not be spawned, its drop (run by
	 * spawn_worker) closed the oneshot: the receive gets -EPIPE. */
	if (r->have_reply) {
		weft_oneshot_recv(r->reply, &r->answer, &r->rf);
		WEFT_AWAIT(r, cx, &r->rf.base);
		weft_future_drop(&r->rf.base);
		CHECK(r->rf.status == 0 ? r->answer == 42 : r->rf.status == -EPIPE);
	}
	for (r->i = 0; r->i < r->n; r->i++) {
		WEFT_AWAIT(r, cx, &r->h[r->i].base);
		CHECK_EQ(r->h[r->i].status, 0);
		weft_join_detach(&r->h[r->i]);
	}
	WEFT_ASYNC_END(r);
}

/* Runs the workload; returns the allocations it made (runtime, channel). */
static void run(long rt_fail, long chan_fail, long *rt_count, long *chan_count)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime_config cfg = { 0 };
	weft_runtime *rt = NULL;
	struct shared sh;
	struct root root;
	const long big = 1L << 30; /* long is 32 bits on Windows */
	int i, rc;

	memset(&sh, 0, sizeof sh);
	memset(&root, 0, sizeof root);
	cfg.flavor = WEFT_RUNTIME_CURRENT_THREAD;
	cfg.start_paused = true;
	cfg.allocator = &alloc;
	CHECK_EQ(weft_runtime_create(&cfg, &rt), 0);
	CHECK_EQ(weft_mutex_init(&sh.mx), 0);
	CHECK_EQ(weft_semaphore_init(&sh.sem, 3), 0);
	atomic_store(&weft__chan_fail_alloc_at, chan_fail > 0 ? chan_fail : big);
	rc = weft_mpsc_unbounded(8, &sh.utx, &sh.urx);
	CHECK(rc == 0 || rc == -ENOMEM);
	rc = weft_mpsc_bounded(8, 40, &sh.btx, &sh.brx);
	CHECK(rc == 0 || rc == -ENOMEM);
	root.base.poll = root_poll;
	root.sh = &sh;
	if (rt_fail > 0)
		atomic_store(&ta.fail_at, atomic_load(&ta.count) + rt_fail);
	CHECK_EQ(weft_block_on(rt, &root.base), 0);
	atomic_store(&ta.fail_at, 0);
	*rt_count = atomic_load(&ta.count);
	*chan_count = big - atomic_load(&weft__chan_fail_alloc_at);
	atomic_store(&weft__chan_fail_alloc_at, 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);

	CHECK_EQ(sh.drops, sh.spawned);
	for (i = 0; i < NPROD; i++) {
		bool consumed = i == 2 ? sh.consumer_eof[1] : sh.consumer_eof[0];

		CHECK(sh.received[i] <= sh.sent[i]);
		if (consumed)
			CHECK_EQ(sh.received[i], sh.sent[i]);
	}
	if (rt_fail == 0 && chan_fail == 0) {
		CHECK_EQ(sh.enomem, 0);
		CHECK_EQ(sh.received[0] + sh.received[1] + sh.received[2], NPROD * NVAL);
	}
	CHECK(!weft_mutex_is_locked(&sh.mx));
	CHECK_EQ(weft_semaphore_available(&sh.sem), 3);
	weft_mutex_finish(&sh.mx);
	weft_semaphore_finish(&sh.sem);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
}

int main(void)
{
	long rt_count, chan_count, base_count, rc2, cc2, k;

	run(0, 0, &rt_count, &chan_count);
	/* The allocations made by creation are not part of the sweep. */
	base_count = rt_count;
	{
		struct test_alloc ta;
		weft_allocator alloc = test_allocator(&ta);
		weft_runtime_config cfg = { 0 };
		weft_runtime *rt = NULL;

		cfg.flavor = WEFT_RUNTIME_CURRENT_THREAD;
		cfg.start_paused = true;
		cfg.allocator = &alloc;
		CHECK_EQ(weft_runtime_create(&cfg, &rt), 0);
		base_count -= atomic_load(&ta.count);
		CHECK_EQ(weft_runtime_destroy(rt), 0);
	}
	printf("workload: %ld runtime allocations, %ld channel allocations\n", base_count,
	       chan_count);
	CHECK(base_count > NTASKS / 2 && chan_count > 4);
	for (k = 1; k <= base_count; k++)
		run(k, 0, &rc2, &cc2);
	for (k = 1; k <= chan_count; k++)
		run(0, k, &rc2, &cc2);
	printf("failed each of them once: all held\n");
	return 0;
}

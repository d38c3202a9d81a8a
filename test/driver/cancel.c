/*
 * An in-flight read is cancelled (its task aborted while the read waits in
 * the kernel or in epoll), its fd is closed, its slot is reused by another
 * operation, and a late completion carrying the old slot generation
 * reaches nobody: the new operation is neither woken nor completed by it.
 * Also the same through a plain thread's block_on, whose operations and
 * cancels are handed to a worker's ring.  Run under ASan: the slot's
 * buffer is freed only by the final completion.
 */
#include "driver_test.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <netinet/in.h>
#include <sys/socket.h>

static struct op_slab *slab_of(weft_runtime *rt)
{
	/* One worker: every operation of its tasks lives in this slab. */
	return weft__drv_thread_at(rt->driver, 0)->slab;
}

static void cancel_then_reuse(weft_runtime *rt)
{
	uint64_t freed0 = drv_counter(&weft__driver_counters.orphan_freed);
	uint64_t stale0 = drv_counter(&weft__driver_counters.stale);
	struct test_event polled, polled2;
	int p1[2], p2[2], out = 0;
	long got = -1;
	uint32_t idx = 0, gen = 0;
	struct read_task r;
	struct ready_task t;
	weft_join_handle h;
	struct weft__op *op;

	drv_pipe(p1);
	drv_pipe(p2);
	test_event_init(&polled);
	test_event_init(&polled2);
	r = read_task_make(p1[0], &got, NULL, &polled);
	r.slot_index = &idx;
	r.slot_gen = &gen;
	CHECK_EQ(weft_spawn(rt, &r.base, sizeof(r), &h), 0);
	test_event_wait(&polled);
	CHECK(gen != 0);
	CHECK_EQ(weft_join_abort(&h), 0);
	CHECK_EQ(weft_join(&h), -ECANCELED);
	weft_join_detach(&h);
	CHECK_EQ(got, -1); /* the read never completed for its future */
	if (drv_is_uring(rt)) {
		/* The final completion (-ECANCELED) frees the orphan slot. */
		drv_wait_counter(&weft__driver_counters.orphan_freed, freed0 + 1);
	}
	close(p1[0]);
	close(p1[1]);

	/* The freed slot is the next one taken: reuse it. */
	t = ready_task_make(p2[0], WEFT_IO_READABLE, &out, &polled2);
	CHECK_EQ(weft_spawn(rt, &t.base, sizeof(t), &h), 0);
	test_event_wait(&polled2);
	weft__slab_lock(slab_of(rt));
	op = weft__slab_get(slab_of(rt), idx);
	CHECK(op->gen != gen);
	CHECK_EQ(op->state, OP_INFLIGHT);
	weft__slab_unlock(slab_of(rt));
	/* A late completion of the cancelled read: stale, dropped. */
	CHECK(!weft__op_complete(slab_of(rt), idx, gen, 5));
	CHECK_EQ(drv_counter(&weft__driver_counters.stale), stale0 + 1);
	weft__slab_lock(slab_of(rt));
	CHECK_EQ(op->state, OP_INFLIGHT);
	weft__slab_unlock(slab_of(rt));
	/* Not completed by it (`out` is read only after the join: the pipe
	 * write below is no synchronisation TSan can see). */
	CHECK_EQ(weft_join_try(&h), -EAGAIN);
	CHECK_EQ(write(p2[1], "x", 1), 1);
	CHECK_EQ(weft_join(&h), 0);
	CHECK(out & WEFT_IO_READABLE);
	weft_join_detach(&h);
	test_event_finish(&polled);
	test_event_finish(&polled2);
	close(p2[0]);
	close(p2[1]);
}

/* A future that starts a read, and on its second poll drops it (the read
 * still in flight) and reports done. */
struct start_drop {
	weft_future base;
	weft_read rd;
	char buf[32];
	int step;
	int fd;
};

static weft_poll start_drop_poll(weft_future *f, weft_cx *cx)
{
	struct start_drop *s = (struct start_drop *)f;

	if (s->step == 0) {
		CHECK_EQ(weft_read_init(&s->rd, s->fd, s->buf, sizeof(s->buf)), 0);
		CHECK(weft_future_poll(&s->rd.base, cx) == WEFT_PENDING);
		s->step = 1;
		weft_waker_wake_by_ref(weft_cx_waker(cx));
		return WEFT_PENDING;
	}
	weft_future_drop(&s->rd.base);
	return WEFT_READY;
}

/* Reads one byte from `fd` through a block_on of a weft_read; it must be
 * `want`: no read dropped before took it. */
static void read_back(weft_runtime *rt, int fd, char want)
{
	weft_read rd;
	char buf[8];

	CHECK_EQ(weft_read_init(&rd, fd, buf, sizeof(buf)), 0);
	CHECK_EQ(weft_block_on(rt, &rd.base), 0);
	CHECK_EQ(rd.result, 1);
	CHECK_EQ(buf[0], want);
	weft_future_drop(&rd.base);
}

/*
 * A plain thread's block_on starts a pipe read and drops it, then writes a
 * byte at once and reads it back: the dropped read must not take it.  On
 * a multi-threaded runtime the read lives on a worker's ring and the drop
 * hands its cancel over, so this checks that the drop returns only once
 * the cancel is in the kernel (before, the byte now and then went to the
 * dropped read and the read back waited forever).
 */
static void plain_thread_cancels(weft_runtime *rt, int rounds)
{
	int p[2], i;
	struct start_drop s;

	drv_pipe(p);
	for (i = 0; i < rounds; i++) {
		memset(&s, 0, sizeof(s));
		s.base.poll = start_drop_poll;
		s.fd = p[0];
		CHECK_EQ(weft_block_on(rt, &s.base), 0);
		CHECK_EQ(write(p[1], "y", 1), 1);
		read_back(rt, p[0], 'y');
	}
	close(p[0]);
	close(p[1]);
}

/*
 * Several plain threads at once do what plain_thread_cancels does, on one
 * 2-worker runtime: their drops wait on the same slabs' drained word at
 * the same time, so every waiter must be woken by a drain that took its
 * cancel (a missed wake holds a thread, and the test, past its timeout).
 */
#define PLAIN_THREADS 4

static void *plain_thread_main(void *arg)
{
	plain_thread_cancels(arg, 100);
	return NULL;
}

static void many_plain_threads(void)
{
	weft_runtime *rt = drv_runtime(2);
	pthread_t th[PLAIN_THREADS];
	int i;

	for (i = 0; i < PLAIN_THREADS; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, plain_thread_main, rt), 0);
	for (i = 0; i < PLAIN_THREADS; i++)
		CHECK_EQ(pthread_join(th[i], NULL), 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* A future that starts a read and reports done with the read still in
 * flight: the caller drops it later, outside block_on. */
struct start_keep {
	weft_future base;
	weft_read *rd;
};

static weft_poll start_keep_poll(weft_future *f, weft_cx *cx)
{
	struct start_keep *k = (struct start_keep *)f;

	CHECK(weft_future_poll(&k->rd->base, cx) == WEFT_PENDING);
	return WEFT_READY;
}

/*
 * A read started in block_on and dropped after it returned, on a thread
 * that drives nothing: on a current-thread runtime the dropping thread
 * takes the free seat and puts the cancel in itself, on a multi-threaded
 * one it waits for the worker.  Either way the byte written next is read
 * by the read after it.
 */
static void dropped_outside_block_on(weft_runtime *rt, int rounds)
{
	int p[2], i;

	drv_pipe(p);
	for (i = 0; i < rounds; i++) {
		struct start_keep k;
		weft_read rd;
		char buf[8];

		CHECK_EQ(weft_read_init(&rd, p[0], buf, sizeof(buf)), 0);
		memset(&k, 0, sizeof(k));
		k.base.poll = start_keep_poll;
		k.rd = &rd;
		CHECK_EQ(weft_block_on(rt, &k.base), 0);
		weft_future_drop(&rd.base);
		CHECK_EQ(write(p[1], "z", 1), 1);
		read_back(rt, p[0], 'z');
	}
	close(p[0]);
	close(p[1]);
}

/*
 * On a current-thread runtime, a read started inside one thread's block_on
 * and dropped by another thread while the first still drives: the dropper
 * cannot take the seat, so it waits for the driving thread (asleep in the
 * ring; the drop's kick wakes it) to put the cancel in.  The byte written
 * after the drop goes to the read after it.
 */
struct foreign {
	weft_future base;
	weft_read rd;
	char buf[8];
	int fd;
	bool polled;
	weft_waker waker;
	_Atomic int started, go;
};

static weft_poll foreign_poll(weft_future *f, weft_cx *cx)
{
	struct foreign *x = (struct foreign *)f;

	if (!x->polled) {
		x->polled = true;
		CHECK_EQ(weft_read_init(&x->rd, x->fd, x->buf, sizeof(x->buf)), 0);
		CHECK(weft_future_poll(&x->rd.base, cx) == WEFT_PENDING);
		x->waker = weft_waker_clone(weft_cx_waker(cx));
		/* Release: publishes the read and the waker to the dropper. */
		atomic_store_explicit(&x->started, 1, memory_order_release);
		return WEFT_PENDING;
	}
	/* Acquire: pairs with the dropper's release after its drop. */
	return atomic_load_explicit(&x->go, memory_order_acquire) ? WEFT_READY : WEFT_PENDING;
}

struct foreign_run {
	weft_runtime *rt;
	struct foreign *x;
};

static void *foreign_driver(void *arg)
{
	struct foreign_run *r = arg;

	CHECK_EQ(weft_block_on(r->rt, &r->x->base), 0);
	return NULL;
}

static void dropped_while_another_drives(weft_runtime *ct, int rounds)
{
	int p[2], i;

	drv_pipe(p);
	for (i = 0; i < rounds; i++) {
		struct foreign x;
		struct foreign_run r = { ct, &x };
		pthread_t th;

		memset(&x, 0, sizeof(x));
		x.base.poll = foreign_poll;
		x.fd = p[0];
		CHECK_EQ(pthread_create(&th, NULL, foreign_driver, &r), 0);
		/* Acquire: pairs with the release in foreign_poll. */
		while (!atomic_load_explicit(&x.started, memory_order_acquire))
			drv_sleep_ms(0);
		weft_future_drop(&x.rd.base);
		CHECK_EQ(write(p[1], "f", 1), 1);
		/* Release: pairs with the acquire in foreign_poll. */
		atomic_store_explicit(&x.go, 1, memory_order_release);
		weft_waker_wake(&x.waker);
		CHECK_EQ(pthread_join(th, NULL), 0);
		read_back(ct, p[0], 'f');
	}
	close(p[0]);
	close(p[1]);
}

/*
 * Two tasks each start a read on a pipe of their own and then drop the
 * other's, on a 2-worker runtime: when they run on different workers, each
 * drop hands its cancel to the other worker while that worker may be
 * waiting for its own drop's cancel in turn (each drains its own ring
 * while it waits).  Afterwards a byte written to each pipe is read back by
 * a fresh read: no dropped read took it.
 */
struct crossed {
	weft_read rd[2];
	char buf[2][8];
	int fd[2];
	_Atomic int started, dropped;
	_Atomic int apart; /* rounds in which the two ran on different workers */
	struct weft__drv_thread *ring[2];
};

struct crossed_task {
	weft_future base;
	struct crossed *c;
	int me, step;
};

static weft_poll crossed_poll(weft_future *f, weft_cx *cx)
{
	struct crossed_task *t = (struct crossed_task *)f;
	struct crossed *c = t->c;

	if (t->step == 0) {
		CHECK_EQ(weft_read_init(&c->rd[t->me], c->fd[t->me], c->buf[t->me], 8), 0);
		CHECK(weft_future_poll(&c->rd[t->me].base, cx) == WEFT_PENDING);
		c->ring[t->me] = weft__ctx.drv;
		/* Release: publishes our read to the other task's acquire. */
		atomic_fetch_add_explicit(&c->started, 1, memory_order_release);
		t->step = 1;
	}
	if (t->step == 1) {
		/* Hold the worker for a moment first, so that the other task,
		 * queued behind us, is stolen by the other worker (a yield
		 * alone would run both here).  Acquire: pairs with the other
		 * task's release above. */
		uint64_t until = weft__now_ns() + 2000000u;

		while (atomic_load_explicit(&c->started, memory_order_acquire) < 2 &&
		       weft__now_ns() < until)
			;
		if (atomic_load_explicit(&c->started, memory_order_acquire) < 2) {
			weft_waker_wake_by_ref(weft_cx_waker(cx));
			return WEFT_PENDING;
		}
		if (c->ring[1 - t->me] != weft__ctx.drv)
			atomic_fetch_add_explicit(&c->apart, 1, memory_order_relaxed);
		weft_future_drop(&c->rd[1 - t->me].base);
		atomic_fetch_add_explicit(&c->dropped, 1, memory_order_relaxed);
		t->step = 2;
	}
	return WEFT_READY;
}

static void crossed_drops(int rounds)
{
	weft_runtime *rt = drv_runtime(2);
	struct crossed c;
	int p[2][2], i, k, apart = 0;

	drv_pipe(p[0]);
	drv_pipe(p[1]);
	for (i = 0; i < rounds; i++) {
		struct crossed_task t[2];
		weft_join_handle h[2];

		memset(&c, 0, sizeof(c));
		c.fd[0] = p[0][0];
		c.fd[1] = p[1][0];
		for (k = 0; k < 2; k++) {
			memset(&t[k], 0, sizeof(t[k]));
			t[k].base.poll = crossed_poll;
			t[k].c = &c;
			t[k].me = k;
			CHECK_EQ(weft_spawn(rt, &t[k].base, sizeof(t[k]), &h[k]), 0);
		}
		for (k = 0; k < 2; k++) {
			CHECK_EQ(weft_join(&h[k]), 0);
			weft_join_detach(&h[k]);
		}
		CHECK_EQ(atomic_load(&c.dropped), 2);
		apart += atomic_load(&c.apart);
		for (k = 0; k < 2; k++) {
			CHECK_EQ(write(p[k][1], "c", 1), 1);
			read_back(rt, p[k][0], 'c');
		}
	}
	/* Which worker runs which task is the scheduler's choice: shown,
	 * not asserted. */
	printf("crossed_drops: %d of %d drops came from the other worker\n", apart,
	       2 * rounds);
	for (k = 0; k < 2; k++) {
		close(p[k][0]);
		close(p[k][1]);
	}
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/*
 * An accept (an operation that yields an fd) whose future is dropped
 * before it took the result: the driver closes the accepted fd, whether
 * the completion came before the drop or after it (orphan).  io_uring
 * only (epoll has no accept operation: sockets do readiness + accept4).
 */
struct accept_drop {
	weft_future base;
	struct weft__io_op op;
	int lfd, step;
};

static weft_poll accept_drop_poll(weft_future *f, weft_cx *cx)
{
	struct accept_drop *a = (struct accept_drop *)f;
	struct weft__io_req req = { WEFT__OP_ACCEPT, a->lfd, 0, NULL, 0, 0, 0 };

	(void)cx;
	CHECK_EQ(weft__io_start(&a->op, &req), 0);
	weft__io_cancel(&a->op); /* never looked at the result */
	return WEFT_READY;
}

static void accept_dropped(weft_runtime *rt)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	uint64_t closed0 = drv_counter(&weft__driver_counters.fd_closed);
	int lfd, cfd, before, i;

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(lfd >= 0);
	CHECK_EQ(bind(lfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	CHECK_EQ(listen(lfd, 16), 0);
	CHECK_EQ(getsockname(lfd, (struct sockaddr *)&addr, &len), 0);
	before = drv_open_fds();
	for (i = 0; i < 4; i++) {
		struct accept_drop a;
		weft_join_handle h;

		cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CHECK_EQ(connect(cfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
		memset(&a, 0, sizeof(a));
		a.base.poll = accept_drop_poll;
		a.lfd = lfd;
		CHECK_EQ(weft_spawn(rt, &a.base, sizeof(a), &h), 0);
		CHECK_EQ(weft_join(&h), 0);
		weft_join_detach(&h);
		/* The accept completed (a connection was pending) and its fd
		 * was closed by the driver, possibly after the drop. */
		drv_wait_counter(&weft__driver_counters.fd_closed, closed0 + i + 1);
		close(cfd);
	}
	CHECK_EQ(drv_open_fds(), before);
	close(lfd);
}

/* Destroying a runtime with reads in flight (tasks and the current-thread
 * runtime's own) drops them all; nothing leaks, nothing is written late. */
static void destroy_in_flight(unsigned workers)
{
	enum { N = 16 };
	weft_runtime *r = drv_runtime(workers);
	struct test_event polled[N];
	weft_join_handle h[N];
	int p[N][2], i;
	long got[N];

	for (i = 0; i < N; i++) {
		struct read_task t;

		drv_pipe(p[i]);
		test_event_init(&polled[i]);
		got[i] = -1;
		t = read_task_make(p[i][0], &got[i], NULL, &polled[i]);
		CHECK_EQ(weft_spawn(r, &t.base, sizeof(t), &h[i]), 0);
	}
	if (workers != 0) {
		for (i = 0; i < N; i++)
			test_event_wait(&polled[i]);
	} else {
		/* Run the tasks once: block_on a future that yields once. */
		weft_yield y;

		weft_yield_now(&y);
		CHECK_EQ(weft_block_on(r, &y.base), 0);
	}
	CHECK_EQ(weft_runtime_destroy(r), 0);
	for (i = 0; i < N; i++) {
		/* Dropped; or, with two workers, polled by one after the other
		 * stopped and cancelled its ring's reads, so it saw its read
		 * cancelled. */
		int rc = weft_join(&h[i]);

		CHECK(rc == -ECANCELED || (rc == 0 && got[i] == -ECANCELED));
		weft_join_detach(&h[i]);
		test_event_finish(&polled[i]);
		close(p[i][0]);
		close(p[i][1]);
	}
}

int main(void)
{
	weft_runtime *rt = drv_runtime(1);
	weft_runtime *ct;
	int i;

	for (i = 0; i < 10; i++)
		cancel_then_reuse(rt);
	if (drv_is_uring(rt))
		accept_dropped(rt);
	plain_thread_cancels(rt, 50);
	dropped_outside_block_on(rt, 50);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	/* The current-thread runtime: cancels from its own driving thread,
	 * and from the thread after block_on returned. */
	ct = drv_runtime(0);
	plain_thread_cancels(ct, 50);
	dropped_outside_block_on(ct, 50);
	dropped_while_another_drives(ct, 50);
	CHECK_EQ(weft_runtime_destroy(ct), 0);
	crossed_drops(200);
	many_plain_threads();
	destroy_in_flight(2);
	destroy_in_flight(0);
	return 0;
}

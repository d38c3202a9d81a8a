/*
 * Driver submissions made to fail (the weft__driver_fail_submit_at hook):
 * a sequence of I/O futures over a pipe -- readiness, a read that has to
 * wait, a write, a read of what was written -- is run once for every k
 * with the k-th submission failing, and for each error a submission can
 * meet: -EBUSY (a full ring), -EAGAIN and -ENOMEM (the kernel short of
 * resources).  The future whose submission failed is ready at once with
 * that error in its result (a clear error, nothing waits for a completion
 * that will never come), the others behave as without the fault, a new
 * operation on the same descriptor works afterwards, and destroying the
 * runtime gets every byte of its allocator back (no slot or buffer
 * leaked).  Then the same with 6 sequences as tasks on a 2-worker runtime
 * (submissions from both workers at once): for every k exactly one future
 * of one task fails, every task finishes, nothing leaks.  Runs once per
 * backend (WEFT_DRIVER).  Last, the socket futures: an accept and a read
 * on loopback whose submission fails report the error, and the next accept
 * and read get the waiting connection and every byte.
 */
#include "net/net_test.h"

#include <fcntl.h>
#include <unistd.h>

struct seq {
	weft_future base;
	WEFT_ASYNC_STATE;
	int rfd, wfd;
	int step, failed_step;
	char buf[8];
	weft_fd_ready ready;
	weft_read rd;
	weft_write wr;
	weft_sleep_future sl;
	weft_yield y;
	long results[4];
};

/* The error the hook injects (weft__driver_fail_submit_err). */
static int fault_err = -EBUSY;

static void note(struct seq *s, int step, long result)
{
	s->results[step] = result;
	if (result == fault_err) {
		CHECK_EQ(s->failed_step, -1); /* one failure per run */
		s->failed_step = step;
	}
}

static weft_poll seq_poll(weft_future *f, weft_cx *cx)
{
	struct seq *s = (struct seq *)f;

	WEFT_ASYNC_BEGIN(s);
	/* 0: writability of the pipe (ready at once, or -EBUSY). */
	CHECK_EQ(weft_fd_ready_init(&s->ready, s->wfd, WEFT_IO_WRITABLE), 0);
	WEFT_AWAIT(s, cx, &s->ready.base);
	weft_future_drop(&s->ready.base);
	note(s, 0, s->ready.result < 0 ? s->ready.result : 0);
	/* 1: a read of the empty pipe waits, then a write fills it. */
	CHECK_EQ(weft_read_init(&s->rd, s->rfd, s->buf, sizeof s->buf), 0);
	if (weft_future_poll(&s->rd.base, cx) == WEFT_READY) {
		/* Only a failed submission makes it ready this early. */
		CHECK_EQ(s->rd.result, fault_err);
		weft_future_drop(&s->rd.base);
		note(s, 1, s->rd.result);
		CHECK_EQ(weft_read_init(&s->rd, s->rfd, s->buf, sizeof s->buf), 0);
	}
	/* 2: the write (a submission on io_uring, a syscall on epoll). */
	CHECK_EQ(weft_write_init(&s->wr, s->wfd, "abc", 3), 0);
	WEFT_AWAIT(s, cx, &s->wr.base);
	weft_future_drop(&s->wr.base);
	note(s, 2, s->wr.result);
	if (s->wr.result == fault_err) {
		CHECK_EQ(weft_write_init(&s->wr, s->wfd, "abc", 3), 0);
		WEFT_AWAIT(s, cx, &s->wr.base);
		weft_future_drop(&s->wr.base);
	}
	CHECK_EQ(s->wr.result, 3);
	/* 3: the read completes with the bytes (retried once if its late
	 * submission was the one that failed). */
	WEFT_AWAIT(s, cx, &s->rd.base);
	weft_future_drop(&s->rd.base);
	if (s->rd.result == fault_err) {
		note(s, 3, s->rd.result);
		CHECK_EQ(weft_read_init(&s->rd, s->rfd, s->buf, sizeof s->buf), 0);
		WEFT_AWAIT(s, cx, &s->rd.base);
		weft_future_drop(&s->rd.base);
	}
	CHECK_EQ(s->rd.result, 3);
	CHECK(memcmp(s->buf, "abc", 3) == 0);
	WEFT_ASYNC_END(s);
}

/* Runs the sequence with the k-th submission failing (0: none).  Returns
 * the submissions made when k is 0, or whether the fault was hit. */
static long run(long k)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime *rt = test_runtime(0, &alloc);
	const long big = 1L << 40;
	struct seq s;
	int fds[2];
	long left;

	CHECK_EQ(pipe(fds), 0);
	memset(&s, 0, sizeof s);
	s.base.poll = seq_poll;
	s.rfd = fds[0];
	s.wfd = fds[1];
	s.failed_step = -1;
	atomic_store(&weft__driver_fail_submit_at, k > 0 ? k : big);
	CHECK_EQ(weft_block_on(rt, &s.base), 0);
	left = atomic_load(&weft__driver_fail_submit_at);
	atomic_store(&weft__driver_fail_submit_at, 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
	close(fds[0]);
	close(fds[1]);
	if (k == 0) {
		CHECK_EQ(s.failed_step, -1);
		return big - left;
	}
	/* The k-th submission existed: it failed, and exactly one future
	 * reported -EBUSY. */
	CHECK_EQ(left, 0);
	CHECK(s.failed_step >= 0);
	return 1;
}

#define TASKS 6

/* What each task's sequence did (the task runs a copy of its seq). */
static _Atomic int task_failed[TASKS], task_done[TASKS];

struct task_seq {
	struct seq s;
	int id;
};

static weft_poll task_seq_poll(weft_future *f, weft_cx *cx)
{
	struct task_seq *t = (struct task_seq *)f;

	if (seq_poll(&t->s.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	atomic_store(&task_failed[t->id], t->s.failed_step >= 0);
	atomic_store(&task_done[t->id], 1);
	return WEFT_READY;
}

/* TASKS sequences on a 2-worker runtime, the k-th submission of all
 * failing (0: none).  Returns the submissions made when k is 0. */
static long run_mt(long k)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime *rt = test_runtime(2, &alloc);
	const long big = 1L << 40;
	weft_join_handle h[TASKS];
	int fds[TASKS][2], i, failed = 0;
	long left;

	atomic_store(&weft__driver_fail_submit_at, k > 0 ? k : big);
	for (i = 0; i < TASKS; i++) {
		struct task_seq t;

		CHECK_EQ(pipe(fds[i]), 0);
		memset(&t, 0, sizeof t);
		t.s.base.poll = task_seq_poll;
		t.s.rfd = fds[i][0];
		t.s.wfd = fds[i][1];
		t.s.failed_step = -1;
		t.id = i;
		atomic_store(&task_failed[i], 0);
		atomic_store(&task_done[i], 0);
		CHECK_EQ(weft_spawn(rt, &t.s.base, sizeof t, &h[i]), 0);
	}
	for (i = 0; i < TASKS; i++) {
		CHECK_EQ(weft_join(&h[i]), 0);
		weft_join_detach(&h[i]);
		CHECK_EQ(atomic_load(&task_done[i]), 1);
		failed += atomic_load(&task_failed[i]);
	}
	left = atomic_load(&weft__driver_fail_submit_at);
	atomic_store(&weft__driver_fail_submit_at, 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
	for (i = 0; i < TASKS; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
	}
	if (k == 0) {
		CHECK_EQ(failed, 0);
		return big - left;
	}
	CHECK_EQ(left, 0);
	CHECK_EQ(failed, 1);
	return 1;
}

/* An accept that waits, then a read that waits, the k-th submission
 * failing with fault_err.  Returns how many futures reported it. */
static int run_socket(long k)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime *rt = test_runtime(0, &alloc);
	weft_socket l;
	weft_addr addr;
	weft_accept_future acc;
	weft_sock_read rd;
	char buf[8];
	int c, failed = 0;

	net_listen_any(&l, &addr);
	atomic_store(&weft__driver_fail_submit_at, k);
	CHECK_EQ(weft_accept_init(&acc, &l), 0);
	if (net_poll_once(rt, &acc.base)) {
		/* Only a failed submission makes it ready before the connect. */
		CHECK_EQ(acc.result, fault_err);
		CHECK_EQ(acc.socket.fd, -1);
		weft_future_drop(&acc.base);
		failed++;
		CHECK_EQ(weft_accept_init(&acc, &l), 0);
	}
	c = net_plain_connect(&addr);
	net_block_on(rt, &acc.base);
	CHECK_EQ(acc.result, 0);
	CHECK_EQ(weft_sock_read_init(&rd, &acc.socket, buf, sizeof buf), 0);
	if (net_poll_once(rt, &rd.base)) {
		CHECK_EQ(rd.result, fault_err);
		weft_future_drop(&rd.base);
		failed++;
		CHECK_EQ(weft_sock_read_init(&rd, &acc.socket, buf, sizeof buf), 0);
	}
	net_write_full(c, "xyz", 3);
	net_block_on(rt, &rd.base);
	CHECK_EQ(rd.result, 3);
	CHECK(memcmp(buf, "xyz", 3) == 0);
	atomic_store(&weft__driver_fail_submit_at, 0);
	CHECK_EQ(weft_socket_close(&acc.socket), 0);
	CHECK_EQ(weft_socket_close(&l), 0);
	close(c);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
	return failed;
}

int main(void)
{
	static const int errs[] = { -EBUSY, -EAGAIN, -ENOMEM };
	const char *drv = getenv("WEFT_DRIVER") ? getenv("WEFT_DRIVER") : "auto";
	long n = run(0), nmt = run_mt(0), k;
	size_t e;

	printf("%s: %ld submissions, %ld with %d tasks on 2 workers\n", drv, n, nmt, TASKS);
	CHECK(n >= 1 && nmt >= TASKS);
	for (e = 0; e < sizeof errs / sizeof errs[0]; e++) {
		fault_err = errs[e];
		atomic_store(&weft__driver_fail_submit_err, fault_err);
		for (k = 1; k <= n; k++)
			run(k);
		for (k = 1; k <= nmt; k++)
			run_mt(k);
		/* The accept's wait is submission 1, the read's 2. */
		CHECK_EQ(run_socket(1), 1);
		CHECK_EQ(run_socket(2), 1);
		CHECK_EQ(run_socket(3), 0);
	}
	atomic_store(&weft__driver_fail_submit_err, 0);
	printf("each submission failed in turn with -EBUSY, -EAGAIN and -ENOMEM (pipes, "
	       "2 workers, sockets)\n");
	return 0;
}

/*
 * Driver submissions made to fail (the weft__driver_fail_submit_at hook):
 * a sequence of I/O futures over a pipe -- readiness, a read that has to
 * wait, a write, a read of what was written -- is run once for every k
 * with the k-th submission failing.  The future whose submission failed is
 * ready at once with -EBUSY in its result (a clear error, nothing waits
 * for a completion that will never come), the others behave as without
 * the fault, a new operation on the same descriptor works afterwards, and
 * destroying the runtime gets every byte of its allocator back (no slot or
 * buffer leaked).  Runs once per backend (WEFT_DRIVER).
 */
#include "test.h"

#include "driver/driver.h"

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

static void note(struct seq *s, int step, long result)
{
	s->results[step] = result;
	if (result == -EBUSY) {
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
		CHECK_EQ(s->rd.result, -EBUSY);
		weft_future_drop(&s->rd.base);
		note(s, 1, s->rd.result);
		CHECK_EQ(weft_read_init(&s->rd, s->rfd, s->buf, sizeof s->buf), 0);
	}
	/* 2: the write (a submission on io_uring, a syscall on epoll). */
	CHECK_EQ(weft_write_init(&s->wr, s->wfd, "abc", 3), 0);
	WEFT_AWAIT(s, cx, &s->wr.base);
	weft_future_drop(&s->wr.base);
	note(s, 2, s->wr.result);
	if (s->wr.result == -EBUSY) {
		CHECK_EQ(weft_write_init(&s->wr, s->wfd, "abc", 3), 0);
		WEFT_AWAIT(s, cx, &s->wr.base);
		weft_future_drop(&s->wr.base);
	}
	CHECK_EQ(s->wr.result, 3);
	/* 3: the read completes with the bytes (retried once if its late
	 * submission was the one that failed). */
	WEFT_AWAIT(s, cx, &s->rd.base);
	weft_future_drop(&s->rd.base);
	if (s->rd.result == -EBUSY) {
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

int main(void)
{
	long n = run(0), k;

	printf("%s: %ld submissions\n", getenv("WEFT_DRIVER") ? getenv("WEFT_DRIVER") : "auto", n);
	CHECK(n >= 1);
	for (k = 1; k <= n; k++)
		run(k);
	return 0;
}

/*
 * Bad input to the fd futures: a NULL future is -EINVAL; a negative fd is
 * -EBADF at init; a closed fd is -EBADF at weft_fd_ready_init and as the
 * result of a read's or write's first poll (their init makes no system
 * call), as is an fd open only for the other direction, and an fd closed
 * after init; no or unknown events and bad buffers are -EINVAL, a future
 * polled outside any runtime reports -EINVAL; failed futures are safe to
 * poll and drop, and nothing leaks (ASan/LSan).
 */
#include "driver_test.h"

static void init_errors(void)
{
	weft_fd_ready r;
	weft_read rd;
	weft_write wr;
	char buf[4];
	int p[2];

	CHECK_EQ(weft_fd_ready_init(NULL, 0, WEFT_IO_READABLE), -EINVAL);
	CHECK_EQ(weft_read_init(NULL, 0, buf, 1), -EINVAL);
	CHECK_EQ(weft_write_init(NULL, 0, buf, 1), -EINVAL);
	CHECK_EQ(weft_fd_ready_init(&r, -1, WEFT_IO_READABLE), -EBADF);
	weft_future_drop(&r.base);
	CHECK_EQ(weft_read_init(&rd, -5, buf, 1), -EBADF);
	weft_future_drop(&rd.base);
	drv_pipe(p);
	close(p[0]);
	close(p[1]);
	CHECK_EQ(weft_fd_ready_init(&r, p[0], WEFT_IO_READABLE), -EBADF);
	weft_future_drop(&r.base);
	/* A closed fd: the read's first poll says so (poll_errors). */
	CHECK_EQ(weft_write_init(&wr, p[1], buf, 1), 0);
	weft_future_drop(&wr.base);
	drv_pipe(p);
	CHECK_EQ(weft_fd_ready_init(&r, p[0], 0), -EINVAL);
	weft_future_drop(&r.base);
	CHECK_EQ(weft_fd_ready_init(&r, p[0], 0x100), -EINVAL);
	weft_future_drop(&r.base);
	CHECK_EQ(weft_read_init(&rd, p[0], NULL, 4), -EINVAL);
	weft_future_drop(&rd.base);
	CHECK_EQ(weft_read_init(&rd, p[0], buf, (size_t)1 << 31), -EINVAL);
	weft_future_drop(&rd.base);
	/* Outside a runtime: polled by hand, the future reports -EINVAL. */
	{
		weft_waker noop = weft_waker_noop();
		weft_cx cx;

		weft_cx_init(&cx, &noop);
		CHECK_EQ(weft_fd_ready_init(&r, p[0], WEFT_IO_READABLE), 0);
		CHECK(weft_future_poll(&r.base, &cx) == WEFT_READY);
		CHECK_EQ(r.result, -EINVAL);
		weft_future_drop(&r.base);
	}
	close(p[0]);
	close(p[1]);
}

static void poll_errors(weft_runtime *rt)
{
	weft_fd_ready r;
	weft_read rd;
	char buf[4];
	int p[2];

	/* A failed init still block_ons to its error. */
	CHECK_EQ(weft_fd_ready_init(&r, -1, WEFT_IO_WRITABLE), -EBADF);
	CHECK_EQ(weft_block_on(rt, &r.base), 0);
	CHECK_EQ(r.result, -EBADF);
	weft_future_drop(&r.base);
	CHECK_EQ(weft_read_init(&rd, -1, buf, 4), -EBADF);
	CHECK_EQ(weft_block_on(rt, &rd.base), 0);
	CHECK_EQ(rd.result, -EBADF);
	weft_future_drop(&rd.base);
	/* Closed between init and the first poll. */
	drv_pipe(p);
	CHECK_EQ(weft_fd_ready_init(&r, p[0], WEFT_IO_READABLE), 0);
	CHECK_EQ(weft_read_init(&rd, p[0], buf, 4), 0);
	close(p[0]);
	close(p[1]);
	CHECK_EQ(weft_block_on(rt, &r.base), 0);
	CHECK_EQ(r.result, -EBADF);
	weft_future_drop(&r.base);
	CHECK_EQ(weft_block_on(rt, &rd.base), 0);
	CHECK_EQ(rd.result, -EBADF);
	weft_future_drop(&rd.base);
	/* A closed fd given to a write: -EBADF from its first poll. */
	{
		weft_write wr;
		int q[2];

		drv_pipe(q);
		close(q[0]);
		close(q[1]);
		CHECK_EQ(weft_write_init(&wr, q[1], buf, 1), 0);
		CHECK_EQ(weft_block_on(rt, &wr.base), 0);
		CHECK_EQ(wr.result, -EBADF);
		weft_future_drop(&wr.base);
	}
	/* Read from a write end, write to a read end: -EBADF, as read(2) and
	 * write(2) say, at once (no wait that never ends); the same for an
	 * O_NONBLOCK end. */
	drv_pipe(p);
	for (int nb = 0; nb < 2; nb++) {
		weft_write wr;

		if (nb) {
			CHECK_EQ(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
			CHECK_EQ(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
		}
		CHECK_EQ(weft_read_init(&rd, p[1], buf, 4), 0);
		CHECK_EQ(weft_block_on(rt, &rd.base), 0);
		CHECK_EQ(rd.result, -EBADF);
		weft_future_drop(&rd.base);
		CHECK_EQ(weft_write_init(&wr, p[0], buf, 4), 0);
		CHECK_EQ(weft_block_on(rt, &wr.base), 0);
		CHECK_EQ(wr.result, -EBADF);
		weft_future_drop(&wr.base);
	}
	/* Dropped without ever being polled. */
	CHECK_EQ(weft_read_init(&rd, p[0], buf, 4), 0);
	weft_future_drop(&rd.base);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	weft_runtime *rt;

	init_errors();
	rt = drv_runtime(2);
	poll_errors(rt);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	rt = drv_runtime(0);
	poll_errors(rt);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	return 0;
}

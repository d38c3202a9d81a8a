/*
 * Bad input to the fd futures: a NULL future is -EINVAL, a closed or
 * invalid fd is -EBADF (at init, and at poll time for an fd closed after
 * init), no or unknown events and bad buffers are -EINVAL, a future polled
 * outside any runtime reports -EINVAL; failed futures are safe to poll and
 * drop, and nothing leaks (ASan/LSan).
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
	CHECK_EQ(weft_write_init(&wr, p[1], buf, 1), -EBADF);
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
	/* Read from a write end, write to a read end: -EBADF, as read(2). */
	drv_pipe(p);
	CHECK_EQ(weft_read_init(&rd, p[1], buf, 4), -EBADF);
	CHECK_EQ(weft_block_on(rt, &rd.base), 0);
	CHECK_EQ(rd.result, -EBADF);
	weft_future_drop(&rd.base);
	{
		weft_write wr;

		CHECK_EQ(weft_write_init(&wr, p[0], buf, 4), -EBADF);
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

/*
 * Readiness and reads on a pipe written from another thread (a plain
 * thread, and another task), readable and writable, on the multi-threaded
 * runtime (tasks and a plain thread's block_on) and the current-thread
 * runtime, on the backend WEFT_DRIVER names.
 */
#include "driver_test.h"

struct writer {
	int fd;
	struct test_event *after; /* wait for it before writing (may be NULL) */
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	if (w->after != NULL)
		test_event_wait(w->after);
	CHECK_EQ(write(w->fd, "hello", 5), 5);
	return NULL;
}

/* A task that writes to an fd with weft_write. */
struct write_task {
	weft_future base;
	weft_write wr;
	long *out;
};

static weft_poll write_task_poll(weft_future *f, weft_cx *cx)
{
	struct write_task *t = (struct write_task *)f;

	if (weft_future_poll(&t->wr.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	*t->out = t->wr.result;
	return WEFT_READY;
}

static void write_task_drop(weft_future *f)
{
	weft_future_drop(&((struct write_task *)f)->wr.base);
}

static void readable_from_thread(weft_runtime *rt)
{
	struct test_event polled;
	struct writer w;
	pthread_t th;
	int fds[2], out = 0;
	struct ready_task t;
	weft_join_handle h;

	drv_pipe(fds);
	test_event_init(&polled);
	t = ready_task_make(fds[0], WEFT_IO_READABLE, &out, &polled);
	CHECK_EQ(weft_spawn(rt, &t.base, sizeof(t), &h), 0);
	w.fd = fds[1];
	w.after = &polled;
	CHECK_EQ(pthread_create(&th, NULL, writer_main, &w), 0);
	CHECK_EQ(weft_join(&h), 0);
	CHECK(out > 0);
	CHECK(out & WEFT_IO_READABLE);
	weft_join_detach(&h);
	pthread_join(th, NULL);
	test_event_finish(&polled);
	close(fds[0]);
	close(fds[1]);
}

static void read_from_task(weft_runtime *rt)
{
	struct test_event polled;
	int fds[2];
	long got = 0, wrote = 0;
	char data[64] = { 0 };
	struct read_task r;
	struct write_task wt;
	weft_join_handle hr, hw;

	drv_pipe(fds);
	test_event_init(&polled);
	r = read_task_make(fds[0], &got, data, &polled);
	CHECK_EQ(weft_spawn(rt, &r.base, sizeof(r), &hr), 0);
	test_event_wait(&polled); /* the read is waiting in the driver */
	memset(&wt, 0, sizeof(wt));
	wt.base.poll = write_task_poll;
	wt.base.drop = write_task_drop;
	wt.out = &wrote;
	CHECK_EQ(weft_write_init(&wt.wr, fds[1], "ping!", 5), 0);
	CHECK_EQ(weft_spawn(rt, &wt.base, sizeof(wt), &hw), 0);
	CHECK_EQ(weft_join(&hw), 0);
	CHECK_EQ(weft_join(&hr), 0);
	CHECK_EQ(wrote, 5);
	CHECK_EQ(got, 5);
	CHECK(memcmp(data, "ping!", 5) == 0);
	weft_join_detach(&hr);
	weft_join_detach(&hw);
	test_event_finish(&polled);
	close(fds[0]);
	close(fds[1]);
}

static void writable_at_once(weft_runtime *rt)
{
	int fds[2], out = 0;
	struct ready_task t;
	weft_join_handle h;

	drv_pipe(fds);
	t = ready_task_make(fds[1], WEFT_IO_WRITABLE | WEFT_IO_READABLE, &out, NULL);
	CHECK_EQ(weft_spawn(rt, &t.base, sizeof(t), &h), 0);
	CHECK_EQ(weft_join(&h), 0);
	CHECK(out & WEFT_IO_WRITABLE);
	CHECK(!(out & WEFT_IO_READABLE)); /* never readable: a write end */
	weft_join_detach(&h);
	close(fds[0]);
	close(fds[1]);
}

/* A plain thread's block_on awaits readiness and a read (on the
 * multi-threaded runtime the operation is handed to a worker's ring). */
static void block_on_read(weft_runtime *rt, bool nonblock)
{
	struct writer w;
	pthread_t th;
	int fds[2];
	weft_fd_ready ready;
	weft_read rd;
	char buf[16];

	drv_pipe(fds);
	if (nonblock)
		CHECK_EQ(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
	w.fd = fds[1];
	w.after = NULL;
	CHECK_EQ(pthread_create(&th, NULL, writer_main, &w), 0);
	CHECK_EQ(weft_fd_ready_init(&ready, fds[0], WEFT_IO_READABLE), 0);
	CHECK_EQ(weft_block_on(rt, &ready.base), 0);
	CHECK(ready.result & WEFT_IO_READABLE);
	weft_future_drop(&ready.base);
	CHECK_EQ(weft_read_init(&rd, fds[0], buf, sizeof(buf)), 0);
	CHECK_EQ(weft_block_on(rt, &rd.base), 0);
	CHECK_EQ(rd.result, 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	weft_future_drop(&rd.base);
	pthread_join(th, NULL);
	/* A read that must wait: the writer comes after the read is in. */
	CHECK_EQ(weft_read_init(&rd, fds[0], buf, sizeof(buf)), 0);
	CHECK_EQ(pthread_create(&th, NULL, writer_main, &w), 0);
	CHECK_EQ(weft_block_on(rt, &rd.base), 0);
	CHECK_EQ(rd.result, 5);
	weft_future_drop(&rd.base);
	pthread_join(th, NULL);
	close(fds[1]);
	/* End of file. */
	CHECK_EQ(weft_read_init(&rd, fds[0], buf, sizeof(buf)), 0);
	CHECK_EQ(weft_block_on(rt, &rd.base), 0);
	CHECK_EQ(rd.result, 0);
	weft_future_drop(&rd.base);
	close(fds[0]);
}

/* On the current-thread runtime, tasks run inside block_on: block on the
 * join handle. */
static void ct_readable(void)
{
	weft_runtime *rt = drv_runtime(0);
	struct test_event polled;
	struct writer w;
	pthread_t th;
	int fds[2], out = 0;
	struct ready_task t;
	weft_join_handle h;

	drv_pipe(fds);
	test_event_init(&polled);
	t = ready_task_make(fds[0], WEFT_IO_READABLE, &out, &polled);
	CHECK_EQ(weft_spawn(rt, &t.base, sizeof(t), &h), 0);
	w.fd = fds[1];
	w.after = &polled;
	CHECK_EQ(pthread_create(&th, NULL, writer_main, &w), 0);
	CHECK_EQ(weft_block_on(rt, &h.base), 0);
	CHECK_EQ(h.status, 0);
	CHECK(out & WEFT_IO_READABLE);
	weft_join_detach(&h);
	pthread_join(th, NULL);
	test_event_finish(&polled);
	block_on_read(rt, false);
	block_on_read(rt, true);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	weft_runtime *rt = drv_runtime(2);
	int i;

	for (i = 0; i < 20; i++) {
		readable_from_thread(rt);
		read_from_task(rt);
		writable_at_once(rt);
	}
	block_on_read(rt, false);
	block_on_read(rt, true);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	ct_readable();
	return 0;
}

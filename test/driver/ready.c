/*
 * Readiness and reads on a pipe written from another thread (a plain
 * thread, and another task), readable and writable, on the multi-threaded
 * runtime (tasks and a plain thread's block_on) and the current-thread
 * runtime, on the backend WEFT_DRIVER names.
 */
#include "driver_test.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <termios.h>

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

/* A read of the empty pipe `fds` waits until a plain thread writes. */
static void block_on_read_waits(weft_runtime *rt, int fds[2])
{
	struct writer w = { fds[1], NULL };
	weft_read rd;
	pthread_t th;
	char buf[16];

	CHECK_EQ(weft_read_init(&rd, fds[0], buf, sizeof(buf)), 0);
	CHECK_EQ(pthread_create(&th, NULL, writer_main, &w), 0);
	CHECK_EQ(weft_block_on(rt, &rd.base), 0);
	CHECK_EQ(rd.result, 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	weft_future_drop(&rd.base);
	pthread_join(th, NULL);
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

/* ---- the call first ------------------------------------------------------ */

static uint64_t submissions(weft_runtime *rt)
{
	weft_metrics m;

	memset(&m, 0, sizeof(m));
	m.size = sizeof(m);
	CHECK_EQ(weft_runtime_metrics(rt, &m), 0);
	return m.driver_submissions;
}

/* A task whose one poll writes three bytes to `wfd` and reads them back
 * from `rfd`, each future ready in its first poll. */
struct at_once {
	weft_future base;
	int rfd, wfd;
	char buf[16];
};

static weft_poll at_once_poll(weft_future *f, weft_cx *cx)
{
	struct at_once *t = (struct at_once *)f;
	weft_write wr;
	weft_read rd;

	CHECK_EQ(weft_write_init(&wr, t->wfd, "abc", 3), 0);
	CHECK(weft_future_poll(&wr.base, cx) == WEFT_READY);
	CHECK_EQ(wr.result, 3);
	weft_future_drop(&wr.base);
	CHECK_EQ(weft_read_init(&rd, t->rfd, t->buf, sizeof(t->buf)), 0);
	CHECK(weft_future_poll(&rd.base, cx) == WEFT_READY);
	CHECK_EQ(rd.result, 3);
	CHECK(memcmp(t->buf, "abc", 3) == 0);
	weft_future_drop(&rd.base);
	return WEFT_READY;
}

/*
 * Bytes already in a pipe, blocking or O_NONBLOCK, are read by the read's
 * first poll, and a write with room is made by its first poll, without a
 * driver operation (driver_submissions does not move): in a task, and in
 * a plain thread's block_on, which on the multi-threaded runtime has no
 * ring of its own.  What that read would otherwise have cost is in
 * docs/driver.md (io/block_on_read).
 */
static void call_first(weft_runtime *rt, bool nonblock)
{
	struct at_once t = { { at_once_poll, NULL }, -1, -1, { 0 } };
	weft_join_handle h;
	weft_read rd;
	char buf[16];
	uint64_t before;
	int fds[2];

	drv_pipe(fds);
	if (nonblock) {
		CHECK_EQ(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
		CHECK_EQ(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
	}
	before = submissions(rt);
	CHECK_EQ(write(fds[1], "hello", 5), 5);
	CHECK_EQ(weft_read_init(&rd, fds[0], buf, sizeof(buf)), 0);
	CHECK_EQ(weft_block_on(rt, &rd.base), 0);
	CHECK_EQ(rd.result, 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	weft_future_drop(&rd.base);
	/* A short read is a result: two of the three bytes. */
	CHECK_EQ(write(fds[1], "xyz", 3), 3);
	CHECK_EQ(weft_read_init(&rd, fds[0], buf, 2), 0);
	CHECK_EQ(weft_block_on(rt, &rd.base), 0);
	CHECK_EQ(rd.result, 2);
	weft_future_drop(&rd.base);
	CHECK_EQ(weft_read_init(&rd, fds[0], buf, sizeof(buf)), 0);
	CHECK_EQ(weft_block_on(rt, &rd.base), 0);
	CHECK_EQ(rd.result, 1);
	CHECK_EQ(buf[0], 'z');
	weft_future_drop(&rd.base);
	t.rfd = fds[0];
	t.wfd = fds[1];
	CHECK_EQ(weft_spawn(rt, &t.base, sizeof(t), &h), 0);
	CHECK_EQ(weft_block_on(rt, &h.base), 0);
	CHECK_EQ(h.status, 0);
	weft_join_detach(&h);
	CHECK_EQ(submissions(rt), before);
	/* An empty pipe still waits, and gets what comes. */
	block_on_read_waits(rt, fds);
	close(fds[0]);
	close(fds[1]);
}

#if WEFT_HAVE_EPOLL && defined(RWF_NOWAIT)
/* Writes `text` to the pty's slave and reads it back from the master. */
static void pty_read_back(weft_runtime *rt, int slave, int master, const char *text)
{
	size_t n = strlen(text);
	weft_read rd;
	char buf[16];

	CHECK_EQ(write(slave, text, n), (ssize_t)n);
	CHECK_EQ(weft_read_init(&rd, master, buf, sizeof(buf)), 0);
	CHECK_EQ(weft_block_on(rt, &rd.base), 0);
	CHECK_EQ(rd.result, (long)n);
	CHECK(memcmp(buf, text, n) == 0);
	weft_future_drop(&rd.base);
}

/*
 * A pty master refuses RWF_NOWAIT (EOPNOTSUPP): a blocking read of it
 * takes the fallback (the ring on io_uring; readiness and the plain read
 * on epoll and kqueue) and still gets the bytes.  An O_NONBLOCK master
 * gets the plain read(2) in the same first poll (the read's init does not
 * know the mode; the refusal makes the poll learn it), so bytes already
 * there cost no driver operation, and a read that must wait waits for
 * readiness and then gets the bytes a writer sends.
 */
static void nowait_refused(weft_runtime *rt)
{
	struct termios raw;
	weft_read rd;
	char buf[16];
	int m, sl;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) {
		printf("driver_ready: no pty here (%s); the RWF_NOWAIT fallback is not tried\n",
		       strerror(errno));
		if (m >= 0)
			close(m);
		return;
	}
	sl = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	CHECK(sl >= 0);
	CHECK_EQ(tcgetattr(sl, &raw), 0);
	cfmakeraw(&raw);
	CHECK_EQ(tcsetattr(sl, TCSANOW, &raw), 0);
	pty_read_back(rt, sl, m, "pty");
	CHECK_EQ(fcntl(m, F_SETFL, O_NONBLOCK), 0);
	{
		uint64_t before = submissions(rt);
		struct writer w = { sl, NULL };
		pthread_t th;

		pty_read_back(rt, sl, m, "nb");
		CHECK_EQ(submissions(rt), before);
		/* Nothing there yet: the read waits for the writer. */
		CHECK_EQ(weft_read_init(&rd, m, buf, sizeof(buf)), 0);
		CHECK_EQ(pthread_create(&th, NULL, writer_main, &w), 0);
		CHECK_EQ(weft_block_on(rt, &rd.base), 0);
		CHECK(rd.result > 0 && rd.result <= 5);
		CHECK(memcmp(buf, "hello", (size_t)rd.result) == 0);
		weft_future_drop(&rd.base);
		pthread_join(th, NULL);
	}
	close(sl);
	close(m);
}
#endif

/* The call first on O_NONBLOCK pipes everywhere, and on blocking ones
 * where the system has RWF_NOWAIT (Linux; src/driver/io.c): a build for
 * another system waits for readiness first on a blocking fd, as before. */
static void call_first_all(weft_runtime *rt)
{
#if WEFT_HAVE_EPOLL && defined(RWF_NOWAIT)
	call_first(rt, false);
	nowait_refused(rt);
#endif
	call_first(rt, true);
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
	call_first_all(rt);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	ct_readable();
	rt = drv_runtime(0);
	call_first_all(rt);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	return 0;
}

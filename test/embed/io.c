/*
 * A pipe and a socket pair read entirely through weft's futures (weft_read,
 * weft_fd_ready) by tasks of a current-thread runtime that a plain poll()
 * loop drives with the backend fd and timeout (weft/embed.h).  A plain
 * thread writes in chunks, pausing between them so that the reads wait in
 * the driver and the host sleeps on the fd; every byte arrives in order,
 * then end of file.  Also a write by a task, read by another task.
 */
#include "embed_test.h"

#define CHUNKS 20
#define CHUNK 37

/* Reads fd until end of file into buf. */
struct reader {
	weft_future base;
	WEFT_ASYNC_STATE;
	int fd;
	bool ready_first; /* await weft_fd_ready before each read */
	weft_fd_ready rd;
	weft_read r;
	unsigned char buf[CHUNKS * CHUNK + 16];
	size_t got;
	long last;
	_Atomic int *done;
};

static weft_poll reader_poll(weft_future *f, weft_cx *cx)
{
	struct reader *t = (struct reader *)f;

	WEFT_ASYNC_BEGIN(t);
	for (;;) {
		if (t->ready_first) {
			CHECK_EQ(weft_fd_ready_init(&t->rd, t->fd, WEFT_IO_READABLE), 0);
			WEFT_AWAIT(t, cx, &t->rd.base);
			CHECK(t->rd.result > 0);
			weft_future_drop(&t->rd.base);
		}
		CHECK_EQ(weft_read_init(&t->r, t->fd, t->buf + t->got, sizeof(t->buf) - t->got), 0);
		WEFT_AWAIT(t, cx, &t->r.base);
		t->last = t->r.result;
		weft_future_drop(&t->r.base);
		if (t->last <= 0)
			break;
		t->got += (size_t)t->last;
	}
	atomic_store(t->done, 1);
	WEFT_ASYNC_END(t);
}

static void reader_drop(weft_future *f)
{
	(void)f; /* every child is dropped before the task finishes */
}

struct writer {
	int fd;
	bool is_socket;
	unsigned wait_for; /* emb_wait_host_waiting's n for the first write */
};

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + 3);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	unsigned char chunk[CHUNK];
	size_t off = 0;
	int i, j;

	/* The first chunk reaches a host asleep on the fd (fd_wakes >= 1). */
	emb_wait_host_waiting(w->wait_for);
	for (i = 0; i < CHUNKS; i++) {
		for (j = 0; j < CHUNK; j++)
			chunk[j] = pattern(off + (size_t)j);
		CHECK_EQ(write(w->fd, chunk, CHUNK), CHUNK);
		off += CHUNK;
		if (i % 4 == 0)
			test_sleep_ms(2); /* let the read wait in the driver */
	}
	if (w->is_socket)
		CHECK_EQ(shutdown(w->fd, SHUT_WR), 0);
	else
		CHECK_EQ(close(w->fd), 0);
	return NULL;
}

static void read_all(bool socket, bool ready_first)
{
	weft_runtime *rt = emb_runtime(false);
	struct reader *t = calloc(1, sizeof(*t));
	struct emb_stats st = { 0 };
	struct writer w;
	_Atomic int done = 0;
	weft_join_handle h;
	struct reader *out;
	pthread_t th;
	int fds[2];
	size_t i;

	CHECK(t != NULL);
	if (socket)
		CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
	else
		CHECK_EQ(pipe2(fds, O_CLOEXEC), 0);
	t->base.poll = reader_poll;
	t->base.drop = reader_drop;
	t->fd = fds[0];
	t->ready_first = ready_first;
	t->done = &done;
	CHECK_EQ(weft_spawn(rt, &t->base, sizeof(*t), &h), 0);
	CHECK(weft_runtime_backend_fd(rt) >= 0);
	emb_drain(rt);
	/* The read waits in the driver; nothing has arrived: not readable. */
	CHECK_EQ(emb_readable(weft_runtime_backend_fd(rt), 0), 0);
	CHECK_EQ(weft_runtime_backend_timeout(rt), -1);
	w.fd = fds[1];
	w.is_socket = socket;
	w.wait_for = atomic_load(&emb_waits_begun) + 1;
	CHECK_EQ(pthread_create(&th, NULL, writer_main, &w), 0);
	emb_run(rt, &done, &st);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(weft_join_try(&h), 0);
	out = weft_join_output(&h);
	CHECK(out != NULL);
	CHECK_EQ(out->last, 0); /* end of file */
	CHECK_EQ(out->got, CHUNKS * CHUNK);
	for (i = 0; i < out->got; i++)
		CHECK_EQ(out->buf[i], pattern(i));
	CHECK(st.fd_wakes >= 1);
	CHECK_EQ(st.timeouts, 0);
	weft_join_detach(&h);
	close(fds[0]);
	if (socket)
		close(fds[1]);
	free(t);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* A task writes with weft_write; another reads with weft_read. */
struct task_writer {
	weft_future base;
	WEFT_ASYNC_STATE;
	int fd;
	weft_write w;
	long result;
};

static weft_poll task_writer_poll(weft_future *f, weft_cx *cx)
{
	struct task_writer *t = (struct task_writer *)f;

	WEFT_ASYNC_BEGIN(t);
	CHECK_EQ(weft_write_init(&t->w, t->fd, "embedded", 8), 0);
	WEFT_AWAIT(t, cx, &t->w.base);
	t->result = t->w.result;
	weft_future_drop(&t->w.base);
	close(t->fd); /* end of file for the reader */
	WEFT_ASYNC_END(t);
}

static void task_to_task(void)
{
	weft_runtime *rt = emb_runtime(false);
	struct reader *t = calloc(1, sizeof(*t));
	struct task_writer w;
	struct emb_stats st = { 0 };
	_Atomic int done = 0;
	weft_join_handle hr, hw;
	struct reader *out;
	int fds[2];

	CHECK(t != NULL);
	CHECK_EQ(pipe2(fds, O_CLOEXEC), 0);
	t->base.poll = reader_poll;
	t->base.drop = reader_drop;
	t->fd = fds[0];
	t->done = &done;
	CHECK_EQ(weft_spawn(rt, &t->base, sizeof(*t), &hr), 0);
	memset(&w, 0, sizeof(w));
	w.base.poll = task_writer_poll;
	w.fd = fds[1];
	CHECK_EQ(weft_spawn(rt, &w.base, sizeof(w), &hw), 0);
	emb_run(rt, &done, &st);
	CHECK_EQ(weft_join_try(&hr), 0);
	CHECK_EQ(weft_join_try(&hw), 0);
	CHECK_EQ(((struct task_writer *)weft_join_output(&hw))->result, 8);
	out = weft_join_output(&hr);
	CHECK_EQ(out->got, 8);
	CHECK(memcmp(out->buf, "embedded", 8) == 0);
	weft_join_detach(&hr);
	weft_join_detach(&hw);
	close(fds[0]);
	free(t);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

int main(void)
{
	read_all(false, false);
	read_all(false, true);
	read_all(true, false);
	read_all(true, true);
	task_to_task();
	printf("ok\n");
	return 0;
}

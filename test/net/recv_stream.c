/*
 * weft_recv_stream (a stream socket's receive side as one multishot
 * receive with provided buffers) on the backend WEFT_DRIVER names, on a
 * current-thread and a 2-worker runtime.  On io_uring the stream runs the
 * multishot path (checked through its mode); on epoll it is the plain read
 * path, and every check holds there too.  Checks:
 *  - round trip: 1 MiB in random-sized writes from a plain thread, read in
 *    random-sized reads, every byte compared, then end of stream (0); with
 *    the ring's pool cut to 4 buffers (weft__driver_pool_bufs) and 64 KiB
 *    waiting before the first read, so the pool runs dry: on io_uring the
 *    -ENOBUFS re-arm path runs (recv_dry counted) and loses nothing;
 *  - a read dropped after its wake-up, with the bytes already queued in
 *    the stream: the next read gets every byte;
 *  - finish with buffers outstanding, then the socket closed and the
 *    runtime destroyed: nothing leaks (ASan), and a later stream on the
 *    same ring still round-trips (the buffers went back to the pool);
 *  - bad input.
 */
#include "net_test.h"

#include <pthread.h>

#define TOTAL (1u << 20)
#define EARLY (64u * 1024u)

static unsigned char pattern(size_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

/* A connected pair: *server is weft's side, *client a plain blocking fd. */
static void make_pair(weft_runtime *rt, weft_socket *server, int *client)
{
	weft_socket l;
	weft_addr addr;
	weft_accept_future acc;

	net_listen_any(&l, &addr);
	*client = net_plain_connect(&addr);
	CHECK_EQ(weft_accept_init(&acc, &l), 0);
	net_block_on(rt, &acc.base);
	CHECK_EQ(acc.result, 0);
	*server = acc.socket;
	CHECK_EQ(weft_socket_close(&l), 0);
}

struct writer {
	int fd;
	size_t from;
};

/* A small generator of the test's own (rand_r is not on every platform). */
static unsigned next_rand(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 16) & 0x7fffu;
}

static void write_range(int fd, size_t from, size_t to, unsigned *seed)
{
	unsigned char buf[8192];

	while (from < to) {
		size_t n = 1 + (size_t)(next_rand(seed) % sizeof(buf)), i;

		if (n > to - from)
			n = to - from;
		for (i = 0; i < n; i++)
			buf[i] = pattern(from + i);
		net_write_full(fd, buf, n);
		from += n;
	}
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	unsigned seed = 7;

	write_range(w->fd, w->from, TOTAL, &seed);
	CHECK_EQ(shutdown(w->fd, SHUT_WR), 0);
	return NULL;
}

/* Reads the whole stream in random-sized reads, checking every byte. */
struct reader {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_recv_stream *rs;
	weft_recv_stream_read rd;
	size_t got;
	unsigned seed;
	int mode_seen;
	unsigned char buf[6000];
};

static weft_poll reader_poll(weft_future *f, weft_cx *cx)
{
	struct reader *r = (struct reader *)f;
	size_t i;

	WEFT_ASYNC_BEGIN(r);
	for (;;) {
		CHECK_EQ(weft_recv_stream_read_init(&r->rd, r->rs, r->buf,
						    1 + (size_t)(next_rand(&r->seed) % sizeof(r->buf))),
			 0);
		WEFT_AWAIT(r, cx, &r->rd.base);
		weft_future_drop(&r->rd.base);
		if (r->rs->mode_ == 1)
			r->mode_seen = 1;
		CHECK(r->rd.result >= 0);
		if (r->rd.result == 0)
			break;
		for (i = 0; i < (size_t)r->rd.result; i++)
			CHECK_EQ(r->buf[i], pattern(r->got + i));
		r->got += (size_t)r->rd.result;
		CHECK(r->got <= TOTAL);
	}
	WEFT_ASYNC_END(r);
}

static void round_trip(weft_runtime *rt, bool uring, bool dry)
{
	static struct reader r;
	weft_recv_stream rs;
	weft_socket s;
	struct writer w;
	pthread_t th;
	unsigned seed = 3;
	uint64_t dry0 = drv_counter(&weft__driver_counters.recv_dry);
	int c;

	make_pair(rt, &s, &c);
	CHECK_EQ(weft_recv_stream_init(&rs, &s), 0);
	/* Bytes waiting before the first read: the multishot receive's
	 * first submission finds more than a 4-buffer pool holds. */
	if (dry)
		write_range(c, 0, EARLY, &seed);
	w.fd = c;
	w.from = dry ? EARLY : 0;
	CHECK_EQ(pthread_create(&th, NULL, writer_main, &w), 0);
	memset(&r, 0, sizeof(r));
	r.base.poll = reader_poll;
	r.rs = &rs;
	r.seed = 11;
	CHECK_EQ(weft_block_on(rt, &r.base), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(r.got, TOTAL);
	CHECK_EQ(r.mode_seen, uring ? 1 : 0);
	if (uring && dry)
		CHECK(drv_counter(&weft__driver_counters.recv_dry) > dry0);
	weft_recv_stream_finish(&rs);
	CHECK_EQ(weft_socket_close(&s), 0);
	close(c);
}

/* Polls a read once (it waits), and on the wake-up that follows (the
 * bytes are in the stream now) drops it unread. */
struct drop_after_wake {
	weft_future base;
	weft_recv_stream_read *rd;
	int step;
};

static weft_poll daw_poll(weft_future *f, weft_cx *cx)
{
	struct drop_after_wake *d = (struct drop_after_wake *)f;

	if (d->step == 0) {
		d->step = 1;
		if (weft_future_poll(&d->rd->base, cx) == WEFT_READY)
			return WEFT_READY; /* epoll: the plain read took them */
		return WEFT_PENDING;
	}
	weft_future_drop(&d->rd->base);
	d->step = 2;
	return WEFT_READY;
}

static void dropped_read(weft_runtime *rt, bool uring, unsigned workers)
{
	static const char msg[] = "every byte of this survives a dropped read";
	weft_recv_stream_read rd;
	weft_recv_stream rs;
	weft_socket s;
	char buf[128];
	struct drop_after_wake d = { { daw_poll, NULL }, &rd, 0 };
	int c;

	make_pair(rt, &s, &c);
	CHECK_EQ(weft_recv_stream_init(&rs, &s), 0);
	net_write_full(c, msg, sizeof(msg));
	CHECK_EQ(weft_recv_stream_read_init(&rd, &rs, buf, sizeof(buf)), 0);
	CHECK_EQ(weft_block_on(rt, &d.base), 0);
	if (d.step == 1) {
		/* Ready at its first poll: the plain path read the socket, or
		 * (a worker's ring, from this plain thread) the receive
		 * completed before the poll looked.  On a current-thread
		 * io_uring runtime the start waits for the runtime's next
		 * turn, so the drop after the wake-up always happens there. */
		CHECK(!uring || workers != 0);
		CHECK_EQ(rd.result, (long)sizeof(msg));
		weft_future_drop(&rd.base);
	} else {
		CHECK_EQ(rs.mode_, 1);
		CHECK_EQ(weft_recv_stream_read_init(&rd, &rs, buf, sizeof(buf)), 0);
		CHECK(net_poll_once(rt, &rd.base)); /* queued: ready at once */
		CHECK_EQ(rd.result, (long)sizeof(msg));
		weft_future_drop(&rd.base);
	}
	CHECK_EQ(memcmp(buf, msg, sizeof(msg)), 0);
	weft_recv_stream_finish(&rs);
	CHECK_EQ(weft_socket_close(&s), 0);
	close(c);
}

/* Finish while the stream holds buffers nobody read. */
static void finish_with_buffers(weft_runtime *rt)
{
	weft_recv_stream_read rd;
	weft_recv_stream rs;
	weft_socket s;
	char buf[16];
	struct drop_after_wake d = { { daw_poll, NULL }, &rd, 0 };
	unsigned seed = 5;
	int c;

	make_pair(rt, &s, &c);
	CHECK_EQ(weft_recv_stream_init(&rs, &s), 0);
	write_range(c, 0, 12000, &seed); /* three 4 KiB buffers */
	CHECK_EQ(weft_recv_stream_read_init(&rd, &rs, buf, sizeof(buf)), 0);
	CHECK_EQ(weft_block_on(rt, &d.base), 0);
	if (d.step == 1)
		weft_future_drop(&rd.base);
	weft_recv_stream_finish(&rs);
	CHECK_EQ(weft_socket_close(&s), 0);
	close(c);
}

static void bad_input(weft_runtime *rt)
{
	weft_recv_stream rs;
	weft_recv_stream_read rd;
	weft_socket closed = WEFT_SOCKET_INIT;
	char b;

	CHECK_EQ(weft_recv_stream_init(NULL, &closed), -EINVAL);
	CHECK_EQ(weft_recv_stream_init(&rs, NULL), -EINVAL);
	CHECK_EQ(weft_recv_stream_init(&rs, &closed), -EBADF);
	CHECK_EQ(weft_recv_stream_read_init(NULL, &rs, &b, 1), -EINVAL);
	CHECK_EQ(weft_recv_stream_read_init(&rd, NULL, &b, 1), -EINVAL);
	net_block_on(rt, &rd.base);
	CHECK_EQ(rd.result, -EINVAL);
	CHECK_EQ(weft_recv_stream_read_init(&rd, &rs, &b, 1), -EBADF);
	net_block_on(rt, &rd.base);
	CHECK_EQ(rd.result, -EBADF);
	weft_recv_stream_finish(&rs);
	weft_recv_stream_finish(NULL);
}

static void run(unsigned workers, unsigned pool)
{
	weft_runtime *rt;
	bool uring;

	atomic_store(&weft__driver_pool_bufs, pool);
	rt = drv_runtime(workers);
	uring = drv_is_uring(rt) && (rt->driver->features & WEFT__FEAT_RECV_MULTI);
	round_trip(rt, uring, pool != 0);
	dropped_read(rt, uring, workers);
	finish_with_buffers(rt);
	round_trip(rt, uring, false); /* the pool got its buffers back */
	bad_input(rt);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	atomic_store(&weft__driver_pool_bufs, 0u);
}

int main(void)
{
	run(0, 0);
	run(0, 4);
	run(2, 4);
	return 0;
}

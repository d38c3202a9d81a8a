/*
 * test/net/write_drop.c - writes dropped while the send buffer is full, on
 * every backend: a dropped write says how much went out.  On IOCP a write
 * that finds the send buffer full sends the rest as an overlapped WSASend
 * (src/net/sockops.c; the test checks that it is in the kernel while the
 * future waits), and the drop cancels it, waits for the kernel and counts
 * what it had sent; elsewhere the write waits for readiness and the count
 * is what the sends before the wait wrote.  Checked:
 *  - weft_write_all of 32 MiB to a peer that reads nothing, dropped once it
 *    waits and the peer made some room (1/16 to all of what it had sent;
 *    on IOCP the WSASend may go on meanwhile and be cut short), then a
 *    second weft_write_all from `written` on: the peer reads exactly the
 *    32 MiB, every byte checked, and then the end, so `written` was exact;
 *  - weft_sock_write of the rest dropped the same way: its `result` after the
 *    drop is what the peer reads (or 0), and nothing follows;
 *  - the operation slots are all released afterwards.
 * On a current-thread runtime and on two workers; every wait is bounded.
 */
#include "net_test.h"

#include "weft/net.h"
#include "weft/time.h"

#include <stdlib.h>
#include <string.h>

/* More than a loopback connection buffers (Linux: up to 4 MiB sending and
 * 6 MiB receiving by default). */
#define BIG (32u << 20)

static bool is_iocp(weft_runtime *rt)
{
	return strcmp(weft_runtime_driver(rt), "iocp") == 0;
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 29u + (i >> 12) + 5u);
}

/* Reads exactly n bytes from blocking fd and checks them against the
 * pattern from offset `from`. */
static void peer_read(int fd, size_t from, size_t n)
{
	unsigned char *buf = malloc(65536);
	size_t got = 0, i;

	CHECK(buf != NULL);
	while (got < n) {
		size_t want = n - got < 65536 ? n - got : 65536;

		CHECK(net_read_full(fd, buf, want));
		for (i = 0; i < want; i++)
			CHECK_EQ(buf[i], pattern(from + got + i));
		got += want;
	}
	free(buf);
}

/* A reader thread: reads n bytes from fd from offset `from`. */
struct reader {
	int fd;
	size_t from, n;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	peer_read(r->fd, r->from, r->n);
	return NULL;
}

static void run(unsigned workers)
{
	weft_runtime *rt = drv_runtime(workers);
	bool iocp = is_iocp(rt);
	unsigned char *out = malloc(BIG);
	weft_socket l, s;
	weft_addr addr;
	size_t i, first, second;
	int cfd, round;

	CHECK(out != NULL);
	for (i = 0; i < BIG; i++)
		out[i] = pattern(i);
	net_listen_any(&l, &addr);
	cfd = net_plain_connect(&addr);
	CHECK_EQ(weft_try_accept(&l, &s, NULL), 0);

	/* write_all, dropped while it waits, after the peer made room for
	 * 1/16 to 1/1 of what it had sent (a fresh connection each time);
	 * then the rest, while a thread reads it. */
	for (round = 0; round < 5; round++) {
		weft_write_all_future w, rest;
		weft_timeout_future t;
		weft_socket ws;
		struct reader r;
		pthread_t th;
		size_t before;
		int wfd = net_plain_connect(&addr);

		CHECK_EQ(weft_try_accept(&l, &ws, NULL), 0);
		CHECK_EQ(weft_write_all_init(&w, &ws, out, BIG), 0);
		CHECK(!net_poll_once(rt, &w.base));
		if (iocp)
			CHECK_EQ(net_slots(rt, WEFT__OP_SEND), 1);
		/* Room for more while it waits: on IOCP its WSASend goes on
		 * sending, and the drop may cut it short. */
		before = w.written;
		CHECK(before > 0 && before < BIG);
		peer_read(wfd, 0, before >> (4 - round));
		weft_future_drop(&w.base);
		first = w.written;
		CHECK(first >= before && first < BIG);
		fprintf(stderr, "%u workers: the drop of a waiting write_all counted %zu more bytes\n",
			workers, first - before);
		r.fd = wfd;
		r.from = before >> (4 - round);
		r.n = BIG - r.from;
		CHECK_EQ(pthread_create(&th, NULL, reader_main, &r), 0);
		CHECK_EQ(weft_write_all_init(&rest, &ws, out + first, BIG - first), 0);
		weft_timeout(&t, &rest.base, rt, 60ull * 1000000000u);
		CHECK_EQ(weft_block_on(rt, &t.base), 0);
		CHECK_EQ(t.result, 0);
		CHECK_EQ(rest.result, 0);
		CHECK_EQ(rest.written, BIG - first);
		weft_future_drop(&t.base);
		CHECK_EQ(pthread_join(th, NULL), 0);
		/* Nothing was sent that was not counted: the end comes next. */
		CHECK_EQ(weft_socket_close(&ws), 0);
		{
			char b;

			CHECK_EQ(read(wfd, &b, 1), 0);
		}
		close(wfd);
	}
	/* One write, dropped while it waits (the buffer full again first). */
	{
		weft_write_all_future fill;
		weft_sock_write w;

		CHECK_EQ(weft_write_all_init(&fill, &s, out, BIG), 0);
		CHECK(!net_poll_once(rt, &fill.base));
		weft_future_drop(&fill.base);
		first = fill.written;
		CHECK_EQ(weft_sock_write_init(&w, &s, out + first, BIG - first), 0);
		CHECK(!net_poll_once(rt, &w.base));
		if (iocp)
			CHECK_EQ(net_slots(rt, WEFT__OP_SEND), 1);
		weft_future_drop(&w.base);
		CHECK(w.result >= 0);
		second = (size_t)w.result;
		peer_read(cfd, 0, first + second);
		/* Nothing was sent that was not counted: the end comes next. */
		CHECK_EQ(weft_socket_shutdown(&s, WEFT_SHUT_WRITE), 0);
		{
			char b;

			CHECK_EQ(read(cfd, &b, 1), 0);
		}
	}
	close(cfd);
	CHECK_EQ(weft_socket_close(&s), 0);
	CHECK_EQ(weft_socket_close(&l), 0);
	if (iocp) {
		for (i = 0; i < 20000 && net_slots(rt, -1) != 0; i++) {
			weft_sleep_future sl;

			weft_sleep(&sl, rt, 1000000);
			net_block_on(rt, &sl.base);
		}
		CHECK_EQ(net_slots(rt, -1), 0);
	}
	weft_runtime_destroy(rt);
	free(out);
	fprintf(stderr, "%u workers: a dropped write_all had written %zu bytes, a dropped write %zu\n",
		workers, first, second);
}

int main(void)
{
	run(0);
	run(2);
	return 0;
}

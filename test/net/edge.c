/*
 * Edge-triggered readiness of the socket futures (docs/driver.md, "the
 * readiness layer"), on the backend WEFT_DRIVER names: fd numbers reused
 * after weft_socket_close start afresh (a stale registration would hang
 * the next socket), closing a socket wakes a read waiting on it with
 * -EBADF (readiness backends), and a byte-at-a-time writer racing 1-byte
 * reads loses no edge (every byte arrives, in order), and a short read
 * whose event also carried the end of the stream leaves the end for the
 * next read (a read that drained the socket forgets its readiness, but
 * never an end of stream no event will repeat).
 */
#include "net_test.h"

#include <pthread.h>

/* A weft socket accepted from `l` and the plain client fd of its peer. */
static void pair(weft_runtime *rt, weft_socket *l, const weft_addr *addr, weft_socket *s,
		 int *client)
{
	weft_accept_future acc;

	*client = net_plain_connect(addr);
	CHECK_EQ(weft_accept_init(&acc, l), 0);
	net_block_on(rt, &acc.base);
	CHECK_EQ(acc.result, 0);
	*s = acc.socket;
}

static void reuse(weft_runtime *rt)
{
	weft_socket l, s;
	weft_addr addr;
	weft_sock_read rd;
	char buf[8];
	int i, c;

	net_listen_any(&l, &addr);
	for (i = 0; i < 200; i++) {
		pair(rt, &l, &addr, &s, &c);
		/* A read that waits (registers the socket), dropped. */
		CHECK_EQ(weft_sock_read_init(&rd, &s, buf, sizeof(buf)), 0);
		CHECK(!net_poll_once(rt, &rd.base));
		weft_future_drop(&rd.base);
		/* Then a read that completes once the peer writes. */
		net_write_full(c, "ping", 4);
		CHECK_EQ(weft_sock_read_init(&rd, &s, buf, sizeof(buf)), 0);
		net_block_on(rt, &rd.base);
		CHECK_EQ(rd.result, 4);
		CHECK(memcmp(buf, "ping", 4) == 0);
		/* The next pair reuses these numbers. */
		CHECK_EQ(weft_socket_close(&s), 0);
		CHECK_EQ(close(c), 0);
	}
	CHECK_EQ(weft_socket_close(&l), 0);
}

static void close_wakes_waiter(weft_runtime *rt)
{
	weft_socket l, s, copy;
	weft_addr addr;
	weft_sock_read rd;
	char buf[8];
	int c;

	net_listen_any(&l, &addr);
	pair(rt, &l, &addr, &s, &c);
	CHECK_EQ(weft_sock_read_init(&rd, &s, buf, sizeof(buf)), 0);
	CHECK(!net_poll_once(rt, &rd.base)); /* waiting in the driver */
	copy = s;
	CHECK_EQ(weft_socket_close(&copy), 0);
	net_block_on(rt, &rd.base);
	CHECK_EQ(rd.result, -EBADF);
	CHECK_EQ(close(c), 0);
	CHECK_EQ(weft_socket_close(&l), 0);
}

static void short_read_then_eof(weft_runtime *rt)
{
	weft_socket l, s;
	weft_addr addr;
	weft_sock_read rd;
	char buf[16];
	int i, c;

	net_listen_any(&l, &addr);
	for (i = 0; i < 50; i++) {
		pair(rt, &l, &addr, &s, &c);
		/* Waiting (registered), then woken by the bytes and the end. */
		CHECK_EQ(weft_sock_read_init(&rd, &s, buf, sizeof(buf)), 0);
		CHECK(!net_poll_once(rt, &rd.base));
		net_write_full(c, "abc", 3);
		CHECK_EQ(shutdown(c, SHUT_WR), 0);
		net_block_on(rt, &rd.base);
		CHECK_EQ(rd.result, 3);
		CHECK(memcmp(buf, "abc", 3) == 0);
		CHECK_EQ(weft_sock_read_init(&rd, &s, buf, sizeof(buf)), 0);
		net_block_on(rt, &rd.base);
		CHECK_EQ(rd.result, 0);
		CHECK_EQ(weft_socket_close(&s), 0);
		CHECK_EQ(close(c), 0);
	}
	CHECK_EQ(weft_socket_close(&l), 0);
}

struct trickle {
	int fd;
	int n;
};

static void *trickle_main(void *arg)
{
	struct trickle *t = arg;
	int i;

	for (i = 0; i < t->n; i++) {
		unsigned char b = (unsigned char)(i * 7 + 3);

		net_write_full(t->fd, &b, 1);
	}
	return NULL;
}

static void trickle(weft_runtime *rt)
{
	struct trickle t;
	weft_socket l, s;
	weft_addr addr;
	pthread_t th;
	int i, c;

	t.n = NET_TSAN ? 2000 : 20000;
	net_listen_any(&l, &addr);
	pair(rt, &l, &addr, &s, &c);
	t.fd = c;
	CHECK_EQ(pthread_create(&th, NULL, trickle_main, &t), 0);
	for (i = 0; i < t.n; i++) {
		unsigned char b = 0;
		weft_sock_read rd;

		CHECK_EQ(weft_sock_read_init(&rd, &s, &b, 1), 0);
		net_block_on(rt, &rd.base);
		CHECK_EQ(rd.result, 1);
		CHECK_EQ(b, (unsigned char)(i * 7 + 3));
	}
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(weft_socket_close(&s), 0);
	CHECK_EQ(close(c), 0);
	CHECK_EQ(weft_socket_close(&l), 0);
}

int main(void)
{
	unsigned workers[] = { 0, 2 };
	size_t i;

	for (i = 0; i < sizeof(workers) / sizeof(workers[0]); i++) {
		weft_runtime *rt = drv_runtime(workers[i]);

		reuse(rt);
		/* io_uring's poll holds the file: a close does not end it. */
		if (!drv_is_uring(rt))
			close_wakes_waiter(rt);
		short_read_then_eof(rt);
		trickle(rt);
		CHECK_EQ(weft_runtime_destroy(rt), 0);
	}
	return 0;
}

/*
 * Socket failures and cancellation on the backend WEFT_DRIVER names: a
 * connect to a closed port is -ECONNREFUSED; a server that closes while its
 * clients are mid-write gives each client an error (nothing hangs); a
 * dropped accept accepts nothing and a dropped read reads nothing (the next
 * ones get the connection and every byte); a dropped write_all says how many
 * bytes went out, and exactly those arrive; every bad input gets -EINVAL or
 * -EBADF, and a future whose init failed is ready with the error and safe to
 * drop.  Leaks are LeakSanitizer's to find in the ASan build.
 */
#include "net_test.h"

/* Runs a connect to `addr` to the end; returns its result (closing the
 * socket it made). */
static int connect_result(weft_runtime *rt, const weft_addr *addr)
{
	weft_connect_future c;
	int r;

	CHECK_EQ(weft_connect_init(&c, addr), 0);
	CHECK_EQ(weft_block_on(rt, &c.base), 0);
	r = c.result;
	weft_future_drop(&c.base);
	if (r == 0)
		weft_socket_close(&c.socket);
	else
		CHECK_EQ(c.socket.fd, -1);
	return r;
}

static void refused(weft_runtime *rt)
{
	weft_addr addr, ua;
	int port_fd = net_refusing_port(&addr);

	CHECK_EQ(connect_result(rt, &addr), -ECONNREFUSED);
	close(port_fd);
	CHECK_EQ(weft_addr_unix(&ua, "/nonexistent/weft-net-test.sock"), 0);
	if (net_have_unix(SOCK_STREAM))
		CHECK_EQ(connect_result(rt, &ua), -ENOENT);
	else
		printf("no Unix-domain sockets here: refused unix connect not checked\n");
}

/* A connected pair: *a from weft (connect), *b accepted by weft. */
static void tcp_pair(weft_runtime *rt, weft_socket *a, weft_socket *b)
{
	weft_socket l;
	weft_addr addr;
	weft_connect_future c;
	weft_accept_future acc;

	net_listen_any(&l, &addr);
	CHECK_EQ(weft_connect_init(&c, &addr), 0);
	net_block_on(rt, &c.base);
	CHECK_EQ(c.result, 0);
	CHECK_EQ(weft_accept_init(&acc, &l), 0);
	net_block_on(rt, &acc.base);
	CHECK_EQ(acc.result, 0);
	*a = c.socket;
	*b = acc.socket;
	CHECK_EQ(weft_socket_close(&l), 0);
}

static void dropped_accept(weft_runtime *rt)
{
	weft_socket l, s, s2;
	weft_addr addr, peer, local;
	weft_accept_future acc;
	int fd;

	net_listen_any(&l, &addr);
	CHECK_EQ(weft_accept_init(&acc, &l), 0);
	CHECK(!net_poll_once(rt, &acc.base)); /* waiting in the driver */
	weft_future_drop(&acc.base);
	CHECK_EQ(weft_try_accept(&l, &s, NULL), -EAGAIN);
	fd = net_plain_connect(&addr);
	/* The connection is still there for the next accept. */
	CHECK_EQ(weft_accept_init(&acc, &l), 0);
	net_block_on(rt, &acc.base);
	CHECK_EQ(acc.result, 0);
	s = acc.socket;
	CHECK_EQ(weft_socket_peer_addr(&s, &peer), 0);
	CHECK_EQ(weft_socket_local_addr(&s, &local), 0);
	CHECK_EQ(weft_addr_port(&local), weft_addr_port(&addr));
	CHECK_EQ(weft_addr_port(&peer), weft_addr_port(&acc.peer));
	CHECK_EQ(weft_try_accept(&l, &s2, NULL), -EAGAIN);
	CHECK_EQ(s2.fd, -1);
	close(fd);
	CHECK_EQ(weft_socket_close(&s), 0);
	CHECK_EQ(weft_socket_close(&l), 0);
}

static void dropped_read(weft_runtime *rt)
{
	weft_socket a, b;
	weft_sock_read rd;
	char buf[16];
	int i;

	tcp_pair(rt, &a, &b);
	/* Several dropped reads in a row: none may eat data later. */
	for (i = 0; i < 3; i++) {
		CHECK_EQ(weft_sock_read_init(&rd, &b, buf, sizeof(buf)), 0);
		CHECK(!net_poll_once(rt, &rd.base));
		weft_future_drop(&rd.base);
	}
	CHECK_EQ(weft_try_write(&a, "abc", 3), 3);
	CHECK_EQ(weft_sock_read_init(&rd, &b, buf, sizeof(buf)), 0);
	net_block_on(rt, &rd.base);
	CHECK_EQ(rd.result, 3);
	CHECK(memcmp(buf, "abc", 3) == 0);
	CHECK_EQ(weft_try_read(&b, buf, sizeof(buf)), -EAGAIN);
	/* End of stream reads 0. */
	CHECK_EQ(weft_socket_shutdown(&a, WEFT_SHUT_WRITE), 0);
	CHECK_EQ(weft_sock_read_init(&rd, &b, buf, sizeof(buf)), 0);
	net_block_on(rt, &rd.base);
	CHECK_EQ(rd.result, 0);
	CHECK_EQ(weft_socket_close(&a), 0);
	CHECK_EQ(weft_socket_close(&b), 0);
}

static void dropped_write_all(weft_runtime *rt)
{
	size_t big = 16u << 20, got = 0;
	char *data = malloc(big), *sink = malloc(1 << 16);
	weft_socket a, b;
	weft_write_all_future wr;
	size_t i;
	long n;

	CHECK(data != NULL && sink != NULL);
	for (i = 0; i < big; i++)
		data[i] = (char)(i * 13 + (i >> 12));
	tcp_pair(rt, &a, &b);
	CHECK_EQ(weft_write_all_init(&wr, &a, data, big), 0);
	CHECK(!net_poll_once(rt, &wr.base)); /* the peer reads nothing: it fills up */
	weft_future_drop(&wr.base);
	CHECK(wr.written > 0 && wr.written < big);
	/* Exactly `written` bytes arrive, in order. */
	while (got < wr.written) {
		n = read(b.fd, sink, 1 << 16);
		if (n == -1 && errno == EAGAIN) {
			struct pollfd p = { b.fd, POLLIN, 0 };

			CHECK_EQ(poll(&p, 1, 10000), 1);
			continue;
		}
		CHECK(n > 0);
		CHECK(memcmp(sink, data + got, (size_t)n) == 0);
		got += (size_t)n;
	}
	CHECK_EQ(got, wr.written);
	CHECK_EQ(weft_try_read(&b, sink, 1), -EAGAIN);
	CHECK_EQ(weft_socket_close(&a), 0);
	CHECK_EQ(weft_socket_close(&b), 0);
	free(data);
	free(sink);
}

/* A client writing without end to a server that closes under it. */
struct writer {
	weft_future base;
	const weft_addr *addr;
	weft_connect_future conn;
	weft_write_all_future wr;
	const char *data;
	size_t len;
	int stage;
	int *result;
};

static weft_poll writer_poll(weft_future *f, weft_cx *cx)
{
	struct writer *w = (struct writer *)f;

	if (w->stage == 0) {
		CHECK_EQ(weft_connect_init(&w->conn, w->addr), 0);
		w->stage = 1;
	}
	if (w->stage == 1) {
		if (weft_future_poll(&w->conn.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		weft_future_drop(&w->conn.base);
		CHECK_EQ(w->conn.result, 0);
		w->stage = 2;
	}
	for (;;) {
		if (w->stage == 2) {
			CHECK_EQ(weft_write_all_init(&w->wr, &w->conn.socket, w->data, w->len), 0);
			w->stage = 3;
		}
		if (weft_future_poll(&w->wr.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		weft_future_drop(&w->wr.base);
		w->stage = 2;
		if (w->wr.result < 0)
			break;
	}
	*w->result = w->wr.result;
	weft_socket_close(&w->conn.socket);
	w->stage = 4;
	return WEFT_READY;
}

static void writer_drop(weft_future *f)
{
	struct writer *w = (struct writer *)f;

	if (w->stage == 1)
		weft_future_drop(&w->conn.base);
	if (w->stage == 3)
		weft_future_drop(&w->wr.base);
	if (w->stage >= 2 && w->stage < 4)
		weft_socket_close(&w->conn.socket);
}

static void server_closes_mid_write(weft_runtime *rt)
{
	enum { N = 8 };
	size_t len = 1 << 20;
	char *data = calloc(1, len);
	weft_socket l, acc[N];
	weft_addr addr;
	weft_join_handle h[N];
	int results[N], i;
	char byte;

	CHECK(data != NULL);
	net_listen_any(&l, &addr);
	for (i = 0; i < N; i++) {
		struct writer w;

		memset(&w, 0, sizeof(w));
		w.base.poll = writer_poll;
		w.base.drop = writer_drop;
		w.addr = &addr;
		w.data = data;
		w.len = len;
		results[i] = 1;
		w.result = &results[i];
		CHECK_EQ(weft_spawn(rt, &w.base, sizeof(w), &h[i]), 0);
	}
	for (i = 0; i < N; i++) {
		weft_accept_future a;

		CHECK_EQ(weft_accept_init(&a, &l), 0);
		net_block_on(rt, &a.base);
		CHECK_EQ(a.result, 0);
		acc[i] = a.socket;
	}
	/* Let the data flow, then close with unread data: the kernel resets. */
	for (i = 0; i < N; i++) {
		struct pollfd p = { acc[i].fd, POLLIN, 0 };

		CHECK_EQ(poll(&p, 1, 10000), 1);
		CHECK_EQ(read(acc[i].fd, &byte, 1), 1);
		CHECK_EQ(weft_socket_close(&acc[i]), 0);
	}
	for (i = 0; i < N; i++) {
		CHECK_EQ(weft_join(&h[i]), 0);
		weft_join_detach(&h[i]);
		CHECK(results[i] == -EPIPE || results[i] == -ECONNRESET);
	}
	CHECK_EQ(weft_socket_close(&l), 0);
	free(data);
}

static void bad_input(weft_runtime *rt)
{
	weft_socket closed = WEFT_SOCKET_INIT, s;
	weft_addr a, empty;
	weft_sock_read rd;
	weft_sock_write wr;
	weft_write_all_future wa;
	weft_accept_future acc;
	weft_connect_future c;
	weft_send_to_future st;
	weft_recv_from_future rf;
	char buf[4];
	int v;

	memset(&empty, 0, sizeof(empty));
	CHECK_EQ(weft_addr_parse(&a, "127.0.0.1:1"), 0);
	CHECK_EQ(weft_tcp_listen(NULL, &a, 0, 0), -EINVAL);
	CHECK_EQ(weft_tcp_listen(&s, NULL, 0, 0), -EINVAL);
	CHECK_EQ(weft_tcp_listen(&s, &a, 0, 0x100), -EINVAL);
	CHECK_EQ(s.fd, -1);
	CHECK_EQ(weft_udp_bind(NULL, &a, 0), -EINVAL);
	CHECK_EQ(weft_unix_listen(&s, NULL, 0), -EINVAL);
	CHECK_EQ(weft_unix_listen(NULL, "/tmp/x", 0), -EINVAL);
	CHECK_EQ(weft_unix_datagram_bind(NULL, NULL), -EINVAL);
	CHECK_EQ(weft_addr_unix(&empty, "unix"), 0);
	CHECK_EQ(weft_tcp_listen(&s, &empty, 0, 0), -EAFNOSUPPORT);
	CHECK_EQ(weft_socket_close(NULL), -EINVAL);
	CHECK_EQ(weft_socket_close(&closed), -EBADF);
	CHECK_EQ(weft_socket_shutdown(&closed, WEFT_SHUT_BOTH), -EBADF);
	CHECK_EQ(weft_socket_shutdown(NULL, WEFT_SHUT_BOTH), -EINVAL);
	CHECK_EQ(weft_socket_local_addr(&closed, &a), -EBADF);
	CHECK_EQ(weft_socket_peer_addr(NULL, &a), -EINVAL);
	CHECK_EQ(weft_socket_set(&closed, WEFT_SO_NODELAY, 1), -EBADF);
	CHECK_EQ(weft_socket_get(&closed, WEFT_SO_NODELAY, &v), -EBADF);
	CHECK_EQ(weft_socket_set(NULL, WEFT_SO_NODELAY, 1), -EINVAL);
	CHECK_EQ(weft_socket_from_fd(&s, -1), -EBADF);
	CHECK_EQ(weft_socket_from_fd(&s, 0 + 999999), -EBADF);
	CHECK_EQ(weft_datagram_connect(&closed, &a), -EBADF);
	CHECK_EQ(weft_try_accept(&closed, &s, NULL), -EBADF);
	CHECK_EQ(weft_try_accept(NULL, &s, NULL), -EINVAL);
	CHECK_EQ(weft_try_read(&closed, buf, 4), -EBADF);
	CHECK_EQ(weft_try_read(NULL, buf, 4), -EINVAL);
	CHECK_EQ(weft_try_write(&closed, buf, 4), -EBADF);
	CHECK_EQ(weft_try_send_to(&closed, buf, 4, NULL), -EBADF);
	CHECK_EQ(weft_try_recv_from(&closed, buf, 4, NULL), -EBADF);
	/* Futures: init errors, then ready at once with the error, and the
	 * drop is safe. */
	CHECK_EQ(weft_sock_read_init(NULL, &closed, buf, 4), -EINVAL);
	CHECK_EQ(weft_sock_read_init(&rd, &closed, buf, 4), -EBADF);
	CHECK(net_poll_once(rt, &rd.base));
	CHECK_EQ(rd.result, -EBADF);
	weft_future_drop(&rd.base);
	CHECK_EQ(weft_sock_write_init(&wr, NULL, buf, 4), -EINVAL);
	CHECK(net_poll_once(rt, &wr.base));
	CHECK_EQ(wr.result, -EINVAL);
	weft_future_drop(&wr.base);
	CHECK_EQ(weft_write_all_init(&wa, &closed, buf, 4), -EBADF);
	CHECK(net_poll_once(rt, &wa.base));
	CHECK_EQ(wa.result, -EBADF);
	CHECK_EQ(wa.written, 0);
	weft_future_drop(&wa.base);
	CHECK_EQ(weft_accept_init(&acc, &closed), -EBADF);
	CHECK(net_poll_once(rt, &acc.base));
	CHECK_EQ(acc.result, -EBADF);
	weft_future_drop(&acc.base);
	CHECK_EQ(weft_connect_init(&c, NULL), -EINVAL);
	CHECK(net_poll_once(rt, &c.base));
	CHECK_EQ(c.result, -EINVAL);
	weft_future_drop(&c.base);
	CHECK_EQ(weft_connect_init(&c, &empty), 0); /* a Unix path */
	weft_future_drop(&c.base);                  /* never polled */
	CHECK_EQ(weft_send_to_init(&st, &closed, buf, 4, NULL), -EBADF);
	weft_future_drop(&st.base);
	CHECK_EQ(weft_recv_from_init(&rf, &closed, buf, 4), -EBADF);
	weft_future_drop(&rf.base);
	CHECK_EQ(weft_resolve_init(NULL, "x", 1), -EINVAL);
}

int main(void)
{
	unsigned workers[] = { 2, 0 };
	size_t i;

	for (i = 0; i < 2; i++) {
		weft_runtime *rt = drv_runtime(workers[i]);

		refused(rt);
		dropped_accept(rt);
		dropped_read(rt);
		dropped_write_all(rt);
		bad_input(rt);
		if (workers[i] != 0)
			server_closes_mid_write(rt);
		CHECK_EQ(weft_runtime_destroy(rt), 0);
	}
	return 0;
}

/*
 * 1,000 concurrent TCP connections on loopback, each echoing 64 KiB sent in
 * random-sized writes, every byte checked; server and clients are tasks of
 * one multi-threaded runtime on the backend WEFT_DRIVER names.  Raises
 * RLIMIT_NOFILE (skips with 77 when it cannot get enough descriptors);
 * under ThreadSanitizer it runs 100 connections (TSan's per-thread
 * bookkeeping makes 1,000 too slow for the suite's timeout).
 */
#include "net_test.h"

#define TOTAL (64 * 1024)
#define CHUNK_MAX 8192

static uint8_t pattern(unsigned id, size_t off)
{
	return (uint8_t)(off * 31u + id * 7u + (off >> 8));
}

/* The server side of one connection: read, write back, until EOF. */
struct echo_conn {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_socket sock;
	weft_future *active;
	weft_sock_read rd;
	weft_write_all_future wr;
	char buf[CHUNK_MAX];
};

static weft_poll echo_conn_poll(weft_future *f, weft_cx *cx)
{
	struct echo_conn *c = (struct echo_conn *)f;

	WEFT_ASYNC_BEGIN(c);
	for (;;) {
		CHECK_EQ(weft_sock_read_init(&c->rd, &c->sock, c->buf, sizeof(c->buf)), 0);
		c->active = &c->rd.base;
		WEFT_AWAIT(c, cx, &c->rd.base);
		c->active = NULL;
		weft_future_drop(&c->rd.base);
		if (c->rd.result <= 0)
			break;
		CHECK_EQ(weft_write_all_init(&c->wr, &c->sock, c->buf, (size_t)c->rd.result), 0);
		c->active = &c->wr.base;
		WEFT_AWAIT(c, cx, &c->wr.base);
		c->active = NULL;
		weft_future_drop(&c->wr.base);
		CHECK_EQ(c->wr.result, 0);
		CHECK_EQ(c->wr.written, (size_t)c->rd.result);
	}
	CHECK_EQ(c->rd.result, 0); /* a clean end of stream */
	WEFT_ASYNC_END(c);
}

static void echo_conn_drop(weft_future *f)
{
	struct echo_conn *c = (struct echo_conn *)f;

	if (c->active != NULL)
		weft_future_drop(c->active);
	weft_socket_close(&c->sock);
}

/* Accepts `n` connections and spawns an echo_conn for each. */
struct acceptor {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_socket *listener;
	weft_accept_future acc;
	int n, i;
};

static weft_poll acceptor_poll(weft_future *f, weft_cx *cx)
{
	struct acceptor *a = (struct acceptor *)f;
	struct echo_conn *c;

	WEFT_ASYNC_BEGIN(a);
	for (a->i = 0; a->i < a->n; a->i++) {
		CHECK_EQ(weft_accept_init(&a->acc, a->listener), 0);
		WEFT_AWAIT(a, cx, &a->acc.base);
		weft_future_drop(&a->acc.base);
		CHECK_EQ(a->acc.result, 0);
		CHECK(a->acc.socket.fd >= 0);
		CHECK_EQ(weft_addr_family(&a->acc.peer), AF_INET);
		c = calloc(1, sizeof(*c));
		CHECK(c != NULL);
		c->base.poll = echo_conn_poll;
		c->base.drop = echo_conn_drop;
		c->sock = a->acc.socket;
		CHECK_EQ(weft_spawn(weft_runtime_current(), &c->base, sizeof(*c), NULL), 0);
		free(c);
	}
	WEFT_ASYNC_END(a);
}

/* A client: connect, then TOTAL bytes in random chunks, each echoed back
 * and checked before the next. */
struct client {
	weft_future base;
	WEFT_ASYNC_STATE;
	const weft_addr *addr;
	unsigned id;
	uint32_t rng;
	weft_socket sock;
	weft_future *active;
	weft_connect_future conn;
	weft_write_all_future wr;
	weft_sock_read rd;
	size_t sent, chunk, got;
	uint8_t out[CHUNK_MAX], in[CHUNK_MAX];
};

static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void client_fill(struct client *c)
{
	size_t i;

	c->chunk = 1 + next_rand(&c->rng) % CHUNK_MAX;
	if (c->chunk > TOTAL - c->sent)
		c->chunk = TOTAL - c->sent;
	for (i = 0; i < c->chunk; i++)
		c->out[i] = pattern(c->id, c->sent + i);
}

static weft_poll client_poll(weft_future *f, weft_cx *cx)
{
	struct client *c = (struct client *)f;

	WEFT_ASYNC_BEGIN(c);
	CHECK_EQ(weft_connect_init(&c->conn, c->addr), 0);
	c->active = &c->conn.base;
	WEFT_AWAIT(c, cx, &c->conn.base);
	c->active = NULL;
	weft_future_drop(&c->conn.base);
	CHECK_EQ(c->conn.result, 0);
	c->sock = c->conn.socket;
	CHECK_EQ(weft_socket_set(&c->sock, WEFT_SO_NODELAY, 1), 0);
	while (c->sent < TOTAL) {
		client_fill(c);
		CHECK_EQ(weft_write_all_init(&c->wr, &c->sock, c->out, c->chunk), 0);
		c->active = &c->wr.base;
		WEFT_AWAIT(c, cx, &c->wr.base);
		c->active = NULL;
		weft_future_drop(&c->wr.base);
		CHECK_EQ(c->wr.result, 0);
		for (c->got = 0; c->got < c->chunk;) {
			CHECK_EQ(weft_sock_read_init(&c->rd, &c->sock, c->in + c->got,
						     c->chunk - c->got), 0);
			c->active = &c->rd.base;
			WEFT_AWAIT(c, cx, &c->rd.base);
			c->active = NULL;
			weft_future_drop(&c->rd.base);
			CHECK(c->rd.result > 0);
			c->got += (size_t)c->rd.result;
		}
		CHECK(memcmp(c->in, c->out, c->chunk) == 0);
		c->sent += c->chunk;
	}
	CHECK_EQ(weft_socket_shutdown(&c->sock, WEFT_SHUT_WRITE), 0);
	CHECK_EQ(weft_socket_close(&c->sock), 0);
	WEFT_ASYNC_END(c);
}

static void client_drop(weft_future *f)
{
	struct client *c = (struct client *)f;

	if (c->active != NULL)
		weft_future_drop(c->active);
	if (c->sock.fd >= 0)
		weft_socket_close(&c->sock);
}

int main(void)
{
	int n = NET_TSAN ? 100 : 1000, i;
	weft_runtime *rt;
	weft_socket listener;
	weft_addr addr;
	struct acceptor acc;
	weft_join_handle hacc, *hs;
	struct client *c;

	if (!net_raise_nofile((rlim_t)(2 * n + 64))) {
		fprintf(stderr, "cannot raise RLIMIT_NOFILE to %d: skip\n", 2 * n + 64);
		return 77;
	}
	rt = drv_runtime(2);
	net_listen_any(&listener, &addr);
	memset(&acc, 0, sizeof(acc));
	acc.base.poll = acceptor_poll;
	acc.listener = &listener;
	acc.n = n;
	CHECK_EQ(weft_spawn(rt, &acc.base, sizeof(acc), &hacc), 0);
	hs = calloc((size_t)n, sizeof(*hs));
	c = calloc(1, sizeof(*c));
	CHECK(hs != NULL && c != NULL);
	for (i = 0; i < n; i++) {
		memset(c, 0, sizeof(*c));
		c->base.poll = client_poll;
		c->base.drop = client_drop;
		c->addr = &addr;
		c->id = (unsigned)i;
		c->rng = 2463534242u + (uint32_t)i * 7919u;
		c->sock.fd = -1;
		CHECK_EQ(weft_spawn(rt, &c->base, sizeof(*c), &hs[i]), 0);
	}
	for (i = 0; i < n; i++) {
		CHECK_EQ(weft_join(&hs[i]), 0);
		CHECK_EQ(hs[i].status, 0);
		weft_join_detach(&hs[i]);
	}
	CHECK_EQ(weft_join(&hacc), 0);
	weft_join_detach(&hacc);
	CHECK_EQ(weft_socket_close(&listener), 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	free(hs);
	free(c);
	printf("%d connections x %d bytes echoed on %s\n", n, TOTAL,
	       drv_expected() != NULL ? drv_expected() : "default");
	return 0;
}

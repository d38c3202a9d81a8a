/*
 * bench/net/weft_echo.c - the weft side of the TCP echo benchmark.
 *
 *   weft_echo [PORT]             (default 0: a free port)
 *
 * A raw-bytes echo server: listens on 127.0.0.1:PORT, runs each connection
 * as its own task, and writes back whatever a read returned, all of it,
 * before reading again.  The Tokio, Go and libuv echo servers of the
 * benchmark (bench/peers/tokio/src/bin/net.rs, bench/peers/go/net/,
 * bench/net/uv_echo.c) do exactly this work, so bench/net/loadgen.c
 * measures the runtimes and not the protocol.  TCP_NODELAY is set on every
 * accepted connection, as in the peers.
 *
 * The runtime gets one worker per CPU this process may run on (bench/run
 * pins the server to one core with taskset), as Tokio's
 * available_parallelism and Go's NumCPU do.  It prints "listening on
 * ADDRESS" once it listens, and runs until it is killed.  WEFT_DRIVER
 * selects the I/O backend (io_uring by default, epoll for weft-epoll).
 * WEFT_ECHO_RECV=stream reads each connection through a weft_recv_stream
 * (multishot receive with provided buffers on io_uring) instead of
 * weft_sock_read, for the comparison in docs/net.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft.h>

#define BUF 16384

/* One connection: read, write all of it back, repeat. */
struct conn {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_socket sock;
	weft_future *active; /* the operation being awaited, for the drop */
	weft_sock_read rd;
	weft_recv_stream rs;
	weft_recv_stream_read srd;
	bool use_stream;
	weft_write_all_future wr;
	char buf[BUF];
};

static weft_poll conn_poll(weft_future *f, weft_cx *cx)
{
	struct conn *c = (struct conn *)f;

	WEFT_ASYNC_BEGIN(c);
	if (c->use_stream)
		weft_recv_stream_init(&c->rs, &c->sock);
	for (;;) {
		if (c->use_stream) {
			weft_recv_stream_read_init(&c->srd, &c->rs, c->buf, BUF);
			c->active = &c->srd.base;
			WEFT_AWAIT(c, cx, &c->srd.base);
			c->rd.result = c->srd.result;
		} else {
			weft_sock_read_init(&c->rd, &c->sock, c->buf, BUF);
			c->active = &c->rd.base;
			WEFT_AWAIT(c, cx, &c->rd.base);
		}
		weft_future_drop(c->active);
		c->active = NULL;
		if (c->rd.result <= 0)
			break; /* end of stream or an error */
		weft_write_all_init(&c->wr, &c->sock, c->buf, (size_t)c->rd.result);
		c->active = &c->wr.base;
		WEFT_AWAIT(c, cx, &c->wr.base);
		weft_future_drop(&c->wr.base);
		c->active = NULL;
		if (c->wr.result < 0)
			break;
	}
	if (c->use_stream)
		weft_recv_stream_finish(&c->rs);
	weft_socket_close(&c->sock);
	WEFT_ASYNC_END(c);
}

static void conn_drop(weft_future *f)
{
	struct conn *c = (struct conn *)f;

	if (c->active != NULL)
		weft_future_drop(c->active);
	if (c->use_stream && c->sock.fd >= 0)
		weft_recv_stream_finish(&c->rs);
	if (c->sock.fd >= 0)
		weft_socket_close(&c->sock);
}

/* The listener: accepts forever, spawning a task per connection.  The new
 * task's state is the whole struct conn, copied by weft_spawn from
 * `proto`, so only the socket and the two callbacks need setting. */
struct acceptor {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_socket listener;
	weft_accept_future acc;
	struct conn proto;
};

static weft_poll acceptor_poll(weft_future *f, weft_cx *cx)
{
	struct acceptor *a = (struct acceptor *)f;

	WEFT_ASYNC_BEGIN(a);
	for (;;) {
		weft_accept_init(&a->acc, &a->listener);
		WEFT_AWAIT(a, cx, &a->acc.base);
		weft_future_drop(&a->acc.base);
		if (a->acc.result < 0) {
			fprintf(stderr, "weft_echo: accept: %s\n", strerror(-a->acc.result));
			WEFT_YIELD(a, cx); /* EMFILE and the like: let others run */
			continue;
		}
		weft_socket_set(&a->acc.socket, WEFT_SO_NODELAY, 1);
		a->proto.sock = a->acc.socket;
		if (weft_spawn(weft_runtime_current(), &a->proto.base, sizeof(a->proto), NULL) < 0)
			weft_socket_close(&a->acc.socket);
	}
	WEFT_ASYNC_END(a);
}

/* The number of CPUs this process may run on (1 under taskset -c 1). */
static unsigned usable_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	return 0; /* weft's default: every online CPU */
}

int main(int argc, char **argv)
{
	static struct acceptor a; /* large (two buffers); not on the stack */
	char text[64], shown[WEFT_ADDR_STRLEN];
	weft_runtime_config cfg;
	weft_runtime *rt;
	weft_pending forever;
	weft_addr addr;
	int err;

	memset(&cfg, 0, sizeof(cfg));
	cfg.workers = usable_cpus();
	if (weft_runtime_create(&cfg, &rt) < 0)
		return 1;
	snprintf(text, sizeof(text), "127.0.0.1:%s", argc > 1 ? argv[1] : "0");
	err = weft_addr_parse(&addr, text);
	if (err == 0)
		err = weft_tcp_listen(&a.listener, &addr, 4096, WEFT_BIND_REUSEADDR);
	if (err == 0)
		err = weft_socket_local_addr(&a.listener, &addr);
	if (err < 0) {
		fprintf(stderr, "weft_echo: listen on %s: %s\n", text, strerror(-err));
		return 1;
	}
	weft_addr_format(&addr, shown, sizeof(shown));
	printf("listening on %s\n", shown);
	fflush(stdout);
	a.base.poll = acceptor_poll;
	a.proto.base.poll = conn_poll;
	a.proto.base.drop = conn_drop;
	a.proto.use_stream = getenv("WEFT_ECHO_RECV") != NULL &&
			     strcmp(getenv("WEFT_ECHO_RECV"), "stream") == 0;
	if (weft_spawn(rt, &a.base, sizeof(a), NULL) < 0)
		return 1;
	weft_pending_init(&forever);
	weft_block_on(rt, &forever.base); /* runs until the process is killed */
	weft_runtime_destroy(rt);
	return 0;
}

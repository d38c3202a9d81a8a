/*
 * examples/http_hello.c - a small HTTP/1.1 server answering "Hello, World!".
 *
 *   http_hello [PORT]            (default 8080; 0 picks a free port)
 *
 * Listens on 127.0.0.1:PORT and runs each connection as its own task.  Every
 * request (a request line and headers up to the empty line; bodies are not
 * read, so send none) gets
 *
 *   HTTP/1.1 200 OK
 *   Content-Length: 13
 *   Content-Type: text/plain
 *
 *   Hello, World!
 *
 * Connections are kept alive (HTTP/1.1's default) until the client closes
 * them or sends "Connection: close"; pipelined requests are answered in
 * order.  It prints "listening on ADDRESS" once it listens.  Drive it with
 * wrk -t1 -c64 -d10s --latency http://127.0.0.1:8080/  or run http_get.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft.h>

#define BUF 4096

/* One connection: reads, answers every complete request, repeats. */
struct conn {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_socket sock;
	weft_future *active; /* the operation being awaited, for the drop */
	weft_sock_read rd;
	weft_write_all_future wr;
	size_t have, outlen;
	int closing;
	char in[BUF], out[8 * BUF];
};

static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n"
			    "Content-Type: text/plain\r\n\r\nHello, World!";

/* True when the header block [p, p+n) asks to close the connection. */
static int wants_close(const char *p, size_t n)
{
	static const char hdr[] = "\r\nconnection: close";
	size_t i, k, hl = sizeof(hdr) - 1;

	for (i = 0; i + hl <= n; i++) {
		for (k = 0; k < hl; k++) {
			char ch = p[i + k];

			if (ch >= 'A' && ch <= 'Z')
				ch = (char)(ch - 'A' + 'a');
			if (ch != hdr[k])
				break;
		}
		if (k == hl)
			return 1;
	}
	return 0;
}

/* Answers every complete request in c->in into c->out; keeps the rest. */
static void answer(struct conn *c)
{
	size_t start = 0;

	c->outlen = 0;
	while (start < c->have) {
		const char *p = c->in + start, *end = NULL;
		size_t i, n = c->have - start;

		for (i = 0; i + 4 <= n; i++)
			if (memcmp(p + i, "\r\n\r\n", 4) == 0) {
				end = p + i + 4;
				break;
			}
		if (end == NULL || c->outlen + sizeof(reply) > sizeof(c->out))
			break;
		memcpy(c->out + c->outlen, reply, sizeof(reply) - 1);
		c->outlen += sizeof(reply) - 1;
		if (wants_close(p, (size_t)(end - p)))
			c->closing = 1;
		start += (size_t)(end - p);
	}
	if (start == 0 && c->have == BUF)
		c->closing = 1, start = BUF; /* headers too long: give up */
	memmove(c->in, c->in + start, c->have - start);
	c->have -= start;
}

static weft_poll conn_poll(weft_future *f, weft_cx *cx)
{
	struct conn *c = (struct conn *)f;

	WEFT_ASYNC_BEGIN(c);
	for (;;) {
		weft_sock_read_init(&c->rd, &c->sock, c->in + c->have, BUF - c->have);
		c->active = &c->rd.base;
		WEFT_AWAIT(c, cx, &c->rd.base);
		weft_future_drop(&c->rd.base);
		c->active = NULL;
		if (c->rd.result <= 0)
			break; /* end of stream or an error */
		c->have += (size_t)c->rd.result;
		answer(c);
		if (c->outlen == 0 && !c->closing)
			continue;
		weft_write_all_init(&c->wr, &c->sock, c->out, c->outlen);
		c->active = &c->wr.base;
		WEFT_AWAIT(c, cx, &c->wr.base);
		weft_future_drop(&c->wr.base);
		c->active = NULL;
		if (c->wr.result < 0 || c->closing)
			break;
	}
	weft_socket_close(&c->sock);
	WEFT_ASYNC_END(c);
}

static void conn_drop(weft_future *f)
{
	struct conn *c = (struct conn *)f;

	if (c->active != NULL)
		weft_future_drop(c->active);
	if (c->sock.fd >= 0)
		weft_socket_close(&c->sock);
}

/* One listener: accepts forever, spawning a task per connection. */
struct acceptor {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_socket listener;
	weft_accept_future acc;
	struct conn proto; /* the initial state copied into each new task */
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
			fprintf(stderr, "accept: %s\n", strerror(-a->acc.result));
			WEFT_YIELD(a, cx); /* EMFILE and the like: let others run */
			continue;
		}
		a->proto.sock = a->acc.socket;
		if (weft_spawn(weft_runtime_current(), &a->proto.base, sizeof(a->proto), NULL) < 0)
			weft_socket_close(&a->acc.socket);
	}
	WEFT_ASYNC_END(a);
}

static int listen_on(const char *port, weft_socket *out)
{
	char text[64], shown[WEFT_ADDR_STRLEN];
	weft_addr addr;
	int err;

	snprintf(text, sizeof(text), "127.0.0.1:%s", port);
	err = weft_addr_parse(&addr, text);
	if (err == 0)
		err = weft_tcp_listen(out, &addr, 1024, WEFT_BIND_REUSEADDR);
	if (err == 0)
		err = weft_socket_local_addr(out, &addr);
	if (err < 0) {
		fprintf(stderr, "listen on %s: %s\n", text, strerror(-err));
		return err;
	}
	weft_addr_format(&addr, shown, sizeof(shown));
	printf("listening on %s\n", shown);
	return 0;
}

int main(int argc, char **argv)
{
	const char *port = argc > 1 ? argv[1] : "8080";
	weft_runtime *rt;
	weft_pending forever;
	struct acceptor a;

	if (weft_runtime_create(NULL, &rt) < 0)
		return 1;
	memset(&a, 0, sizeof(a));
	a.base.poll = acceptor_poll;
	a.proto.base.poll = conn_poll;
	a.proto.base.drop = conn_drop;
	if (listen_on(port, &a.listener) < 0 || weft_spawn(rt, &a.base, sizeof(a), NULL) < 0)
		return 1;
	fflush(stdout);
	weft_pending_init(&forever);
	weft_block_on(rt, &forever.base); /* runs until the process is killed */
	weft_runtime_destroy(rt);
	return 0;
}

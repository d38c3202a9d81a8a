/*
 * examples/ping_server.c - a line server on several ports at once.
 *
 *   ping_server [PORT...]        (default: 6767 6768 6769; 0 picks a port)
 *
 * Listens on 127.0.0.1 at every port given, one accept task per port, and
 * runs each connection as its own task with its own state (the bytes it has
 * read and not yet answered).  A line "ping" is answered "pong"; any other
 * line is echoed back.  Lines end with "\n" (a "\r" before it is dropped).
 * It prints "listening on ADDRESS" for each port once it listens, so a
 * script (test/net/example_ping.c) can read which port 0 became.
 *
 * Try it:  ./ping_server &   then   printf 'ping\nhello\n' | nc 127.0.0.1 6767
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft.h>

#define BUF 4096

/* One connection: reads, answers every complete line, repeats. */
struct conn {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_socket sock;
	weft_future *active; /* the operation being awaited, for the drop */
	weft_sock_read rd;
	weft_write_all_future wr;
	size_t have, outlen;
	char in[BUF], out[BUF + 1];
};

/* Answers every complete line in c->in into c->out; keeps the rest. */
static void answer_lines(struct conn *c)
{
	size_t start = 0;
	char *nl;

	c->outlen = 0;
	while ((nl = memchr(c->in + start, '\n', c->have - start)) != NULL) {
		size_t len = (size_t)(nl - (c->in + start));
		const char *line = c->in + start;

		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len == 4 && memcmp(line, "ping", 4) == 0) {
			memcpy(c->out + c->outlen, "pong", 4);
		} else {
			memmove(c->out + c->outlen, line, len);
		}
		c->outlen += len == 4 && memcmp(line, "ping", 4) == 0 ? 4 : len;
		c->out[c->outlen++] = '\n';
		start = (size_t)(nl - c->in) + 1;
	}
	if (start == 0 && c->have == BUF) {
		/* A line longer than the buffer: echo what we have. */
		memcpy(c->out, c->in, BUF);
		c->outlen = BUF;
		start = BUF;
	}
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
		answer_lines(c);
		if (c->outlen == 0)
			continue;
		weft_write_all_init(&c->wr, &c->sock, c->out, c->outlen);
		c->active = &c->wr.base;
		WEFT_AWAIT(c, cx, &c->wr.base);
		weft_future_drop(&c->wr.base);
		c->active = NULL;
		if (c->wr.result < 0)
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
	static const char *defaults[] = { "6767", "6768", "6769" };
	const char **ports = argc > 1 ? (const char **)argv + 1 : defaults;
	int nports = argc > 1 ? argc - 1 : 3, i;
	weft_runtime *rt;
	weft_pending forever;

	if (weft_runtime_create(NULL, &rt) < 0)
		return 1;
	for (i = 0; i < nports; i++) {
		struct acceptor a;

		memset(&a, 0, sizeof(a));
		a.base.poll = acceptor_poll;
		a.proto.base.poll = conn_poll;
		a.proto.base.drop = conn_drop;
		if (listen_on(ports[i], &a.listener) < 0)
			return 1;
		if (weft_spawn(rt, &a.base, sizeof(a), NULL) < 0)
			return 1;
	}
	fflush(stdout);
	weft_pending_init(&forever);
	weft_block_on(rt, &forever.base); /* runs until the process is killed */
	weft_runtime_destroy(rt);
	return 0;
}

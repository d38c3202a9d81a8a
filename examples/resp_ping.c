/*
 * examples/resp_ping.c - a RESP (Redis protocol) server that answers PING.
 *
 *   resp_ping [PORT]             (default 6380; 0 picks a free port)
 *
 * Listens on 127.0.0.1:PORT, one task per connection.  It reads commands
 * in both forms Redis accepts -- inline ("PING\r\n") and multibulk
 * ("*1\r\n$4\r\nPING\r\n") -- and answers PING with +PONG, PING with an
 * argument with that argument as a bulk string, and anything else with
 * -ERR.  Pipelined commands are answered in order, in one write per read.
 * So redis-benchmark can drive it:
 *
 *   redis-benchmark -p 6380 -t ping_inline,ping_mbulk -c 50 [-P 16]
 *
 * It prints "listening on ADDRESS" once it listens.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft.h>

#define BUF 4096

/* One connection: reads, answers every complete command, repeats. */
struct conn {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_socket sock;
	weft_future *active; /* the operation being awaited, for the drop */
	weft_sock_read rd;
	weft_write_all_future wr;
	size_t have, outlen;
	int closing;
	char in[BUF], out[4 * BUF];
};

/* Parses one command at p[0..n): returns the bytes it used (0: not
 * complete yet, -1: a protocol error) and stores the first two words.  */
static long parse_command(const char *p, size_t n, const char **w, size_t *wl, int *nw)
{
	const char *end = memchr(p, '\n', n), *q;
	long count, i;

	*nw = 0;
	if (end == NULL)
		return 0;
	if (p[0] != '*') { /* inline: words separated by spaces */
		const char *e = end > p && end[-1] == '\r' ? end - 1 : end;

		for (q = p; q < e && *nw < 2;) {
			while (q < e && *q == ' ')
				q++;
			if (q == e)
				break;
			w[*nw] = q;
			while (q < e && *q != ' ')
				q++;
			wl[*nw] = (size_t)(q - w[*nw]);
			(*nw)++;
		}
		return (long)(end - p) + 1;
	}
	count = strtol(p + 1, NULL, 10);
	if (count <= 0 || count > 1024)
		return -1;
	q = end + 1;
	for (i = 0; i < count; i++) {
		long len;

		if ((size_t)(q - p) >= n)
			return 0;
		if (*q != '$')
			return -1;
		end = memchr(q, '\n', n - (size_t)(q - p));
		if (end == NULL)
			return 0;
		len = strtol(q + 1, NULL, 10);
		if (len < 0 || len > BUF)
			return -1;
		q = end + 1;
		if ((size_t)(q - p) + (size_t)len + 2 > n)
			return 0;
		if (i < 2) {
			w[i] = q;
			wl[i] = (size_t)len;
			*nw = (int)i + 1;
		}
		q += len + 2;
	}
	return (long)(q - p);
}

static int is_ping(const char *w, size_t n)
{
	static const char ping[] = "ping";
	size_t i;

	if (n != 4)
		return 0;
	for (i = 0; i < 4; i++)
		if ((w[i] | 0x20) != ping[i])
			return 0;
	return 1;
}

/* Appends the reply to one command to c->out (room checked by answer). */
static void reply(struct conn *c, const char **w, const size_t *wl, int nw)
{
	char *o = c->out + c->outlen;

	if (nw >= 1 && is_ping(w[0], wl[0]) && nw == 1) {
		memcpy(o, "+PONG\r\n", 7); /* 7 bytes: no NUL */
		c->outlen += 7;
	} else if (nw == 2 && is_ping(w[0], wl[0])) {
		c->outlen += (size_t)sprintf(o, "$%zu\r\n", wl[1]);
		memcpy(c->out + c->outlen, w[1], wl[1]);
		c->outlen += wl[1];
		memcpy(c->out + c->outlen, "\r\n", 2);
		c->outlen += 2;
	} else if (nw > 0) {
		static const char err[] = "-ERR unknown command\r\n";

		memcpy(o, err, sizeof(err) - 1);
		c->outlen += sizeof(err) - 1;
	}
}

/* Answers every complete command in c->in into c->out; keeps the rest. */
static void answer(struct conn *c)
{
	size_t start = 0;

	c->outlen = 0;
	while (start < c->have && c->outlen + BUF + 32 <= sizeof(c->out)) {
		const char *w[2];
		size_t wl[2];
		int nw;
		long used = parse_command(c->in + start, c->have - start, w, wl, &nw);

		if (used == 0)
			break;
		if (used < 0) {
			static const char err[] = "-ERR protocol error\r\n";

			memcpy(c->out + c->outlen, err, sizeof(err) - 1);
			c->outlen += sizeof(err) - 1;
			c->closing = 1;
			start = c->have;
			break;
		}
		reply(c, w, wl, nw);
		start += (size_t)used;
	}
	if (start == 0 && c->have == BUF)
		c->closing = 1, start = BUF; /* a command longer than the buffer */
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
	const char *port = argc > 1 ? argv[1] : "6380";
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

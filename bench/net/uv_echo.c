/*
 * bench/net/uv_echo.c - the libuv side of the TCP echo benchmark.
 *
 *   uv_echo [PORT]               (default 0: a free port)
 *
 * The same raw-bytes echo server as bench/net/weft_echo.c, on one libuv
 * loop (libuv has no multi-threaded scheduler; bench/run pins the server to
 * one core anyway): every read is written back whole before the next read
 * is accepted (reading stops while a write is in flight), TCP_NODELAY is
 * set on each connection.  Prints "listening on ADDRESS", runs until
 * killed.  Built against Debian's libuv1-dev when present.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define BUF 16384

/* One connection with its buffer; the write request lives in it too. */
struct conn {
	uv_tcp_t tcp;
	uv_write_t wr;
	char buf[BUF];
};

static void on_close(uv_handle_t *h)
{
	free(h->data);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *out)
{
	struct conn *c = h->data;

	(void)hint;
	*out = uv_buf_init(c->buf, BUF);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

/* The echo is written: read the next message. */
static void on_write(uv_write_t *req, int status)
{
	struct conn *c = req->data;

	if (status < 0 || uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
		uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	uv_buf_t out;

	if (n == 0)
		return; /* EAGAIN */
	if (n < 0) {
		uv_close((uv_handle_t *)s, on_close);
		return;
	}
	/* One buffer per connection: stop reading until it is written back. */
	uv_read_stop(s);
	out = uv_buf_init(buf->base, (unsigned)n);
	c->wr.data = c;
	if (uv_write(&c->wr, s, &out, 1, on_write) < 0)
		uv_close((uv_handle_t *)s, on_close);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct conn *c;

	if (status < 0)
		return;
	c = malloc(sizeof(*c));
	if (c == NULL)
		return;
	uv_tcp_init(server->loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
		uv_close((uv_handle_t *)&c->tcp, on_close);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
		uv_close((uv_handle_t *)&c->tcp, on_close);
}

int main(int argc, char **argv)
{
	uv_loop_t *loop = uv_default_loop();
	struct sockaddr_in addr;
	struct sockaddr_storage bound;
	int len = sizeof(bound), err;
	uv_tcp_t server;

	uv_ip4_addr("127.0.0.1", argc > 1 ? atoi(argv[1]) : 0, &addr);
	uv_tcp_init(loop, &server);
	err = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
	if (err == 0)
		err = uv_listen((uv_stream_t *)&server, 4096, on_connection);
	if (err == 0)
		err = uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &len);
	if (err < 0) {
		fprintf(stderr, "uv_echo: listen: %s\n", uv_strerror(err));
		return 1;
	}
	printf("listening on 127.0.0.1:%d\n", ntohs(((struct sockaddr_in *)&bound)->sin_port));
	fflush(stdout);
	return uv_run(loop, UV_RUN_DEFAULT);
}

/*
 * examples/http_get.c - an HTTP/1.1 client: fetches a URL and prints the body.
 *
 *   http_get http://HOST:PORT/PATH
 *
 * Resolves HOST (a name or an address, through weft_resolve_init on the
 * blocking pool), connects, sends "GET PATH HTTP/1.1" with
 * "Connection: close", reads the whole answer, and writes the body to
 * stdout: the Content-Length bytes, the decoded chunks of a chunked body,
 * or everything up to the end of the stream.  Exits 0 for a 2xx status, 1
 * otherwise (the status line goes to stderr).  Only http:// (no TLS).
 *
 * Try it:  ./http_hello 8080 &   ./http_get http://127.0.0.1:8080/
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft.h>

#define MAX_RESPONSE (1 << 20)

struct fetch {
	weft_future base;
	WEFT_ASYNC_STATE;
	char host[256], path[1024], request[1400];
	uint16_t port;
	int i, err;
	weft_resolve_future resolve;
	weft_connect_future conn;
	weft_socket sock;
	weft_write_all_future wr;
	weft_sock_read rd;
	char *resp;
	size_t have;
};

/* Splits "http://host:port/path"; returns 0 or -EINVAL. */
static int parse_url(struct fetch *f, const char *url)
{
	const char *p, *slash, *colon;
	size_t hl;

	if (strncmp(url, "http://", 7) != 0)
		return -EINVAL;
	p = url + 7;
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	if (p[0] == '[') /* [v6]:port */
		colon = memchr(p, ']', (size_t)(slash - p)) != NULL
				? memchr(memchr(p, ']', (size_t)(slash - p)), ':',
					 (size_t)(slash - p))
				: NULL;
	hl = (size_t)((colon != NULL ? colon : slash) - p);
	if (p[0] == '[' && hl >= 2)
		p++, hl -= 2;
	if (hl == 0 || hl >= sizeof(f->host) || strlen(slash) >= sizeof(f->path) - 1)
		return -EINVAL;
	memcpy(f->host, p, hl);
	f->host[hl] = '\0';
	f->port = colon != NULL ? (uint16_t)atoi(colon + 1) : 80;
	snprintf(f->path, sizeof(f->path), "%s", *slash != '\0' ? slash : "/");
	snprintf(f->request, sizeof(f->request),
		 "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: weft-http_get\r\n"
		 "Connection: close\r\n\r\n",
		 f->path, f->host);
	return 0;
}

static weft_poll fetch_poll(weft_future *base, weft_cx *cx)
{
	struct fetch *f = (struct fetch *)base;

	WEFT_ASYNC_BEGIN(f);
	weft_resolve_init(&f->resolve, f->host, f->port);
	WEFT_AWAIT(f, cx, &f->resolve.base);
	weft_future_drop(&f->resolve.base);
	f->err = f->resolve.result < 0 ? f->resolve.result : -ECONNREFUSED;
	/* Try each address in turn until one connects. */
	for (f->i = 0; f->i < f->resolve.result; f->i++) {
		weft_connect_init(&f->conn, &f->resolve.addrs[f->i]);
		WEFT_AWAIT(f, cx, &f->conn.base);
		weft_future_drop(&f->conn.base);
		f->err = f->conn.result;
		if (f->err == 0)
			break;
	}
	if (f->err < 0)
		goto out;
	f->sock = f->conn.socket;
	weft_write_all_init(&f->wr, &f->sock, f->request, strlen(f->request));
	WEFT_AWAIT(f, cx, &f->wr.base);
	weft_future_drop(&f->wr.base);
	f->err = f->wr.result;
	while (f->err == 0 && f->have < MAX_RESPONSE) {
		weft_sock_read_init(&f->rd, &f->sock, f->resp + f->have, MAX_RESPONSE - f->have);
		WEFT_AWAIT(f, cx, &f->rd.base);
		weft_future_drop(&f->rd.base);
		if (f->rd.result <= 0) {
			f->err = (int)f->rd.result;
			break;
		}
		f->have += (size_t)f->rd.result;
	}
	weft_socket_close(&f->sock);
out:
	WEFT_ASYNC_END(f);
}

/* Writes the decoded chunked body at p[0..n) to stdout. */
static void print_chunked(const char *p, size_t n)
{
	const char *end = p + n;

	while (p < end) {
		char *after;
		unsigned long len = strtoul(p, &after, 16);
		const char *line_end = memchr(p, '\n', (size_t)(end - p));

		if (line_end == NULL || len == 0 || (size_t)(end - line_end - 1) < len)
			return;
		fwrite(line_end + 1, 1, len, stdout);
		p = line_end + 1 + len + 2;
	}
}

/* Prints the body of the response; returns the status code or -1. */
static int print_body(const char *r, size_t n)
{
	const char *hdr_end = NULL, *eol, *cl;
	int status = -1;
	size_t i, body_len;

	for (i = 0; i + 4 <= n; i++)
		if (memcmp(r + i, "\r\n\r\n", 4) == 0) {
			hdr_end = r + i + 4;
			break;
		}
	if (hdr_end == NULL || sscanf(r, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	/* The status line ends at the first CR before the blank line, which
	 * memchr finds even past a NUL byte that strchr would stop at. */
	eol = memchr(r, '\r', (size_t)(hdr_end - r));
	if (eol != NULL)
		fprintf(stderr, "%.*s\n", (int)(eol - r), r);
	body_len = n - (size_t)(hdr_end - r);
	cl = strstr(r, "Content-Length:");
	if (cl == NULL)
		cl = strstr(r, "content-length:");
	if (cl != NULL && cl < hdr_end) {
		size_t want = strtoul(cl + 15, NULL, 10);

		fwrite(hdr_end, 1, want < body_len ? want : body_len, stdout);
	} else if (strstr(r, "chunked") != NULL && strstr(r, "chunked") < hdr_end) {
		print_chunked(hdr_end, body_len);
	} else {
		fwrite(hdr_end, 1, body_len, stdout);
	}
	return status;
}

int main(int argc, char **argv)
{
	static struct fetch f;
	weft_runtime_config cfg = { .flavor = WEFT_RUNTIME_CURRENT_THREAD };
	weft_runtime *rt;
	int status;

	if (argc != 2 || parse_url(&f, argv[1]) < 0) {
		fprintf(stderr, "usage: http_get http://HOST:PORT/PATH\n");
		return 2;
	}
	f.base.poll = fetch_poll;
	f.sock.fd = -1;
	f.resp = malloc(MAX_RESPONSE + 1);
	if (f.resp == NULL || weft_runtime_create(&cfg, &rt) < 0)
		return 1;
	weft_block_on(rt, &f.base);
	weft_runtime_destroy(rt);
	if (f.err < 0) {
		fprintf(stderr, "http_get: %s\n", strerror(-f.err));
		free(f.resp);
		return 1;
	}
	f.resp[f.have] = '\0';
	status = print_body(f.resp, f.have);
	free(f.resp);
	return status >= 200 && status < 300 ? 0 : 1;
}

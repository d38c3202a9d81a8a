/*
 * src/net/addr.c - socket addresses: parsing and formatting the text forms
 * "1.2.3.4:80", "[::1]:80" and "unix:/path" (weft/net.h).
 *
 * Parsing is strict: the whole text must be one of the forms, the port is
 * decimal without sign and at most 65535, an IPv6 address is always in
 * brackets (so the last colon is never ambiguous), and host names are left
 * to weft_resolve_init.  Formatting writes the form parsing reads back.
 */
#define _GNU_SOURCE
#include "weft/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

/* Parses a decimal port that ends the text; -1 when it is not one. */
static int parse_port(const char *p)
{
	long v = 0;

	if (*p == '\0')
		return -1;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
		if (v > 65535)
			return -1;
	}
	return (int)v;
}

static int parse_v6(weft_addr *out, const char *text)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->storage;
	const char *close = strchr(text, ']');
	char host[INET6_ADDRSTRLEN];
	size_t n;
	int port;

	if (close == NULL || close[1] != ':')
		return -EINVAL;
	n = (size_t)(close - (text + 1));
	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, text + 1, n);
	host[n] = '\0';
	port = parse_port(close + 2);
	if (port < 0 || inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
		return -EINVAL;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons((uint16_t)port);
	out->len = sizeof(*s6);
	return 0;
}

static int parse_v4(weft_addr *out, const char *text)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&out->storage;
	const char *colon = strrchr(text, ':');
	char host[INET_ADDRSTRLEN];
	size_t n;
	int port;

	if (colon == NULL)
		return -EINVAL;
	n = (size_t)(colon - text);
	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, n);
	host[n] = '\0';
	port = parse_port(colon + 1);
	if (port < 0 || inet_pton(AF_INET, host, &s4->sin_addr) != 1)
		return -EINVAL;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	out->len = sizeof(*s4);
	return 0;
}

int weft_addr_parse(weft_addr *out, const char *text)
{
	int err;

	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (text == NULL)
		return -EINVAL;
	if (strncmp(text, "unix:", 5) == 0)
		err = weft_addr_unix(out, text + 5);
	else if (text[0] == '[')
		err = parse_v6(out, text);
	else
		err = parse_v4(out, text);
	if (err < 0)
		memset(out, 0, sizeof(*out));
	return err;
}

int weft_addr_unix(weft_addr *out, const char *path)
{
	struct sockaddr_un *su;
	size_t n;

	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (path == NULL || path[0] == '\0')
		return -EINVAL;
	su = (struct sockaddr_un *)&out->storage;
	n = strlen(path);
	if (n >= sizeof(su->sun_path))
		return -ENAMETOOLONG;
	su->sun_family = AF_UNIX;
	memcpy(su->sun_path, path, n + 1);
	out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

int weft_addr_from_sockaddr(weft_addr *out, const struct sockaddr *sa, socklen_t len)
{
	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (sa == NULL || len < (socklen_t)sizeof(sa_family_t) ||
	    len > (socklen_t)sizeof(out->storage))
		return -EINVAL;
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6 && sa->sa_family != AF_UNIX)
		return -EAFNOSUPPORT;
	if ((sa->sa_family == AF_INET && len < (socklen_t)sizeof(struct sockaddr_in)) ||
	    (sa->sa_family == AF_INET6 && len < (socklen_t)sizeof(struct sockaddr_in6)))
		return -EINVAL;
	memcpy(&out->storage, sa, len);
	out->len = len;
	return 0;
}

static int format_unix(const weft_addr *a, char *buf, size_t size)
{
	const struct sockaddr_un *su = (const struct sockaddr_un *)&a->storage;
	size_t off = offsetof(struct sockaddr_un, sun_path), n = 0;
	int w;

	if (a->len > off)
		n = strnlen(su->sun_path, a->len - off);
	/* An abstract name (leading NUL) has no text form: "unix:" alone. */
	w = snprintf(buf, size, "unix:%.*s", (int)n, su->sun_path);
	return w;
}

int weft_addr_format(const weft_addr *a, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];
	int w, fam = weft_addr_family(a);

	if (fam < 0 || buf == NULL)
		return -EINVAL;
	if (fam == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->storage;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		w = snprintf(buf, size, "%s:%u", host, (unsigned)ntohs(s4->sin_port));
	} else if (fam == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->storage;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		w = snprintf(buf, size, "[%s]:%u", host, (unsigned)ntohs(s6->sin6_port));
	} else if (fam == AF_UNIX) {
		w = format_unix(a, buf, size);
	} else {
		return -EINVAL;
	}
	if (w < 0)
		return -EINVAL;
	if ((size_t)w >= size) {
		if (size != 0)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return w;
}

int weft_addr_port(const weft_addr *a)
{
	int fam = weft_addr_family(a);

	if (fam == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->storage)->sin_port);
	if (fam == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->storage)->sin6_port);
	return -EINVAL;
}

int weft_addr_family(const weft_addr *a)
{
	if (a == NULL || a->len < (socklen_t)sizeof(sa_family_t))
		return -EINVAL;
	return a->storage.ss_family;
}

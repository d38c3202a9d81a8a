/*
 * test/net/net_test.h - helpers for the socket tests: the backend under test
 * (through test/driver/driver_test.h), loopback listeners on free ports, and
 * futures that run a whole echo client or server.
 */
#ifndef WEFT_TEST_NET_TEST_H
#define WEFT_TEST_NET_TEST_H

#include "driver/driver_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>

/* True when this system has Unix-domain sockets of `type` (wine and
 * Windows before 10 have none; Windows 10 has no datagram ones). */
static inline bool net_have_unix(int type)
{
	int fd = socket(AF_UNIX, type, 0);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* A TCP listener on 127.0.0.1 at a free port; *addr gets its address. */
static inline void net_listen_any(weft_socket *l, weft_addr *addr)
{
	CHECK_EQ(weft_addr_parse(addr, "127.0.0.1:0"), 0);
	CHECK_EQ(weft_tcp_listen(l, addr, 4096, WEFT_BIND_REUSEADDR), 0);
	CHECK_EQ(weft_socket_local_addr(l, addr), 0);
	CHECK(weft_addr_port(addr) > 0);
}

/*
 * A port on 127.0.0.1 that refuses connections: a TCP socket bound to it
 * that does not listen.  Returns that socket, which keeps the port: a
 * listener closed before the connect would give the port back, and a test
 * running beside this one could listen on it meanwhile (seen under wine).
 * The caller closes the socket after the connect.
 */
static inline int net_refusing_port(weft_addr *addr)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	CHECK(fd >= 0);
	CHECK_EQ(weft_addr_parse(addr, "127.0.0.1:0"), 0);
	CHECK_EQ(bind(fd, (struct sockaddr *)&addr->storage, addr->len), 0);
	addr->len = sizeof(addr->storage);
	CHECK_EQ(getsockname(fd, (struct sockaddr *)&addr->storage, &addr->len), 0);
	CHECK(weft_addr_port(addr) > 0);
	return fd;
}

/* Raises RLIMIT_NOFILE to at least `want`; false when impossible. */
static inline bool net_raise_nofile(rlim_t want)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) != 0)
		return false;
	if (r.rlim_cur >= want)
		return true;
	if (r.rlim_max < want) {
		r.rlim_max = want;
		r.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &r) == 0)
			return true;
		return false;
	}
	r.rlim_cur = want;
	return setrlimit(RLIMIT_NOFILE, &r) == 0;
}

/* True under ThreadSanitizer (tests scale down there). */
#if defined(__SANITIZE_THREAD__)
#define NET_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NET_TSAN 1
#endif
#endif
/* Windows builds run under wine here, whose loopback sockets take some
 * milliseconds a round trip: they scale down as TSan does. */
#if defined(_WIN32) && !defined(NET_TSAN)
#define NET_TSAN 1
#endif
#ifndef NET_TSAN
#define NET_TSAN 0
#endif

/* Runs `f` to completion on `rt` with weft_block_on and drops it. */
static inline void net_block_on(weft_runtime *rt, weft_future *f)
{
	CHECK_EQ(weft_block_on(rt, f), 0);
	weft_future_drop(f);
}

/* A future that polls a child future once more than needed: polls `child`
 * exactly `polls` times (or until ready) and then returns, leaving the
 * child as it is (for cancellation tests: the caller drops it). */
struct poll_n {
	weft_future base;
	weft_future *child;
	int polls, done;
};

static inline weft_poll poll_n_poll(weft_future *f, weft_cx *cx)
{
	struct poll_n *p = (struct poll_n *)f;

	if (weft_future_poll(p->child, cx) == WEFT_READY) {
		p->done = 1;
		return WEFT_READY;
	}
	if (--p->polls <= 0)
		return WEFT_READY;
	return WEFT_PENDING;
}

/* Polls `child` once inside `rt`; returns true when it was ready. */
static inline bool net_poll_once(weft_runtime *rt, weft_future *child)
{
	struct poll_n p = { { poll_n_poll, NULL }, child, 1, 0 };

	CHECK_EQ(weft_block_on(rt, &p.base), 0);
	return p.done != 0;
}

/* A plain blocking client socket connected to `addr` (loopback tests). */
static inline int net_plain_connect(const weft_addr *addr)
{
	int fd = socket(addr->storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	CHECK_EQ(connect(fd, (const struct sockaddr *)&addr->storage, addr->len), 0);
	return fd;
}

/* Reads exactly n bytes from a blocking fd; false at EOF or error. */
static inline bool net_read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		/* io_uring task work of this process can interrupt a read that
		 * has a receive timeout (the socket returns EINTR then). */
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

static inline void net_write_full(int fd, const void *buf, size_t n)
{
	size_t put = 0;

	while (put < n) {
		ssize_t w = write(fd, (const char *)buf + put, n - put);

		if (w < 0 && errno == EINTR)
			continue;
		CHECK(w > 0);
		put += (size_t)w;
	}
}

/* Slots of kind `kind` (a WEFT__OP_ value) held for a live future (not
 * orphaned): queued, in flight, or completed and not yet taken, since with
 * workers the completion may be reaped between the future's poll and the
 * count.  Every slot that is not free for kind < 0.  Counted in the slab of
 * rt's first driver thread (on IOCP the one slab the runtime shares). */
static inline unsigned net_slots(weft_runtime *rt, int kind)
{
	struct op_slab *s = rt->driver->threads[0]->slab;
	unsigned n = 0;
	uint32_t i;

	weft__slab_lock(s);
	for (i = 0; i < s->nchunks * 64u; i++) {
		struct weft__op *op = weft__slab_get(s, i);

		if (op->state != OP_FREE &&
		    (kind < 0 || (!op->orphan && op->kind == (uint8_t)kind)))
			n++;
	}
	weft__slab_unlock(s);
	return n;
}

#endif /* WEFT_TEST_NET_TEST_H */

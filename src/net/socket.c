/*
 * src/net/socket.c - opening, configuring and closing sockets, and the
 * non-blocking tier (weft_try_*) of weft/net.h.
 *
 * Every socket weft opens is SOCK_NONBLOCK | SOCK_CLOEXEC, so a system call
 * made from a poll never blocks a worker: it answers EAGAIN and the future
 * waits for readiness (future.c).  Writes use MSG_NOSIGNAL, so a peer that
 * went away is -EPIPE, never SIGPIPE.  The try functions are one system
 * call each and translate errno into a negative return; EINTR is retried.
 */
#define _GNU_SOURCE
#include "net_internal.h"
#include "../driver/driver.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void socket_reset(weft_socket *s)
{
	s->fd = -1;
	s->type_ = 0;
}

int weft__net_open(weft_socket *out, int family, int type)
{
	int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	out->fd = fd;
	out->type_ = type;
	return 0;
}

static int set_flag(int fd, int level, int name, int on)
{
	return setsockopt(fd, level, name, &on, sizeof(on)) < 0 ? -errno : 0;
}

static int bind_flags(int fd, int family, unsigned flags)
{
	int err = 0;

	if (flags & WEFT_BIND_REUSEADDR)
		err = set_flag(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (err == 0 && (flags & WEFT_BIND_REUSEPORT))
		err = set_flag(fd, SOL_SOCKET, SO_REUSEPORT, 1);
	if (err == 0 && (flags & WEFT_BIND_V6ONLY) && family == AF_INET6)
		err = set_flag(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	return err;
}

/* Opens a socket of `type` bound to `addr`, listening when `backlog` is
 * not -1.  Returns 0 or -errno; `out` is closed on failure. */
static int open_bound(weft_socket *out, const weft_addr *addr, int type, int backlog,
		      unsigned flags)
{
	int fam = addr->storage.ss_family, err;

	err = weft__net_open(out, fam, type);
	if (err < 0)
		return err;
	err = bind_flags(out->fd, fam, flags);
	if (err == 0 && bind(out->fd, (const struct sockaddr *)&addr->storage, addr->len) < 0)
		err = -errno;
	if (err == 0 && backlog != -1 && listen(out->fd, backlog > 0 ? backlog : SOMAXCONN) < 0)
		err = -errno;
	if (err < 0) {
		close(out->fd);
		socket_reset(out);
	}
	return err;
}

static int check_inet(weft_socket *out, const weft_addr *addr, unsigned flags)
{
	int fam;

	if (out == NULL)
		return -EINVAL;
	socket_reset(out);
	fam = weft_addr_family(addr);
	if (fam < 0 || (flags & ~(WEFT_BIND_REUSEADDR | WEFT_BIND_REUSEPORT | WEFT_BIND_V6ONLY)))
		return -EINVAL;
	if (fam != AF_INET && fam != AF_INET6)
		return -EAFNOSUPPORT;
	return 0;
}

int weft_tcp_listen(weft_socket *out, const weft_addr *addr, int backlog, unsigned flags)
{
	int err = check_inet(out, addr, flags);

	if (err < 0)
		return err;
	return open_bound(out, addr, SOCK_STREAM, backlog < 0 ? 0 : backlog, flags);
}

int weft_udp_bind(weft_socket *out, const weft_addr *addr, unsigned flags)
{
	int err = check_inet(out, addr, flags);

	if (err < 0)
		return err;
	return open_bound(out, addr, SOCK_DGRAM, -1, flags);
}

int weft_unix_listen(weft_socket *out, const char *path, int backlog)
{
	weft_addr a;
	int err;

	if (out == NULL)
		return -EINVAL;
	socket_reset(out);
	err = weft_addr_unix(&a, path);
	if (err < 0)
		return err;
	return open_bound(out, &a, SOCK_STREAM, backlog < 0 ? 0 : backlog, 0);
}

int weft_unix_datagram_bind(weft_socket *out, const char *path)
{
	weft_addr a;
	int err;

	if (out == NULL)
		return -EINVAL;
	socket_reset(out);
	if (path == NULL)
		return weft__net_open(out, AF_UNIX, SOCK_DGRAM);
	err = weft_addr_unix(&a, path);
	if (err < 0)
		return err;
	return open_bound(out, &a, SOCK_DGRAM, -1, 0);
}

int weft_datagram_connect(weft_socket *s, const weft_addr *addr)
{
	int err = weft__net_check(s);

	if (err < 0)
		return err;
	if (weft_addr_family(addr) < 0)
		return -EINVAL;
	if (connect(s->fd, (const struct sockaddr *)&addr->storage, addr->len) < 0)
		return -errno;
	return 0;
}

int weft_socket_from_fd(weft_socket *out, int fd)
{
	struct stat st;
	int fl, type;
	socklen_t tl = sizeof(type);

	if (out == NULL)
		return -EINVAL;
	socket_reset(out);
	if (fd < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
		type = 0;
	out->fd = fd;
	out->type_ = type;
	return 0;
}

int weft_socket_close(weft_socket *s)
{
	int err = weft__net_check(s);

	if (err < 0)
		return err;
	/* The readiness drivers forget the socket first (its number may be
	 * reused at once), and so does the io_uring drained hint.  Linux
	 * frees the descriptor even when close reports an error. */
	weft__io_fd_close(s->fd);
	weft__net_hint_forget(s->fd);
	close(s->fd);
	socket_reset(s);
	return 0;
}

int weft_socket_shutdown(weft_socket *s, weft_shutdown_how how)
{
	static const int hows[] = { SHUT_RD, SHUT_WR, SHUT_RDWR };
	int err = weft__net_check(s);

	if (err < 0)
		return err;
	if ((unsigned)how > 2)
		return -EINVAL;
	return shutdown(s->fd, hows[how]) < 0 ? -errno : 0;
}

static int get_name(const weft_socket *s, weft_addr *out, bool peer)
{
	int err = weft__net_check(s);
	socklen_t len = sizeof(out->storage);
	int rc;

	if (err < 0 || out == NULL)
		return err < 0 ? err : -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = peer ? getpeername(s->fd, (struct sockaddr *)&out->storage, &len)
		  : getsockname(s->fd, (struct sockaddr *)&out->storage, &len);
	if (rc < 0)
		return -errno;
	out->len = len;
	return 0;
}

int weft_socket_local_addr(const weft_socket *s, weft_addr *out)
{
	return get_name(s, out, false);
}

int weft_socket_peer_addr(const weft_socket *s, weft_addr *out)
{
	return get_name(s, out, true);
}

static int opt_of(weft_sockopt opt, int *level, int *name)
{
	static const int table[][2] = {
		{ SOL_SOCKET, SO_REUSEADDR }, { SOL_SOCKET, SO_REUSEPORT },
		{ IPPROTO_TCP, TCP_NODELAY }, { SOL_SOCKET, SO_KEEPALIVE },
		{ SOL_SOCKET, SO_RCVBUF },    { SOL_SOCKET, SO_SNDBUF },
		{ IPPROTO_IPV6, IPV6_V6ONLY },
	};

	if ((unsigned)opt >= sizeof(table) / sizeof(table[0]))
		return -EINVAL;
	*level = table[opt][0];
	*name = table[opt][1];
	return 0;
}

/* TCP options on a Unix socket: say so plainly instead of the kernel's
 * -EOPNOTSUPP. */
static int check_level(const weft_socket *s, int level)
{
	weft_addr a;

	if (level == SOL_SOCKET)
		return 0;
	if (get_name(s, &a, false) == 0 && a.storage.ss_family == AF_UNIX)
		return -ENOPROTOOPT;
	return 0;
}

int weft_socket_set(weft_socket *s, weft_sockopt opt, int value)
{
	int level, name, err = weft__net_check(s);

	if (err < 0)
		return err;
	if (value < 0 || opt_of(opt, &level, &name) < 0)
		return -EINVAL;
	err = check_level(s, level);
	if (err < 0)
		return err;
	return setsockopt(s->fd, level, name, &value, sizeof(value)) < 0 ? -errno : 0;
}

int weft_socket_get(const weft_socket *s, weft_sockopt opt, int *value)
{
	int level, name, v = 0, err = weft__net_check(s);
	socklen_t len = sizeof(v);

	if (err < 0)
		return err;
	if (value == NULL || opt_of(opt, &level, &name) < 0)
		return -EINVAL;
	err = check_level(s, level);
	if (err < 0)
		return err;
	if (getsockopt(s->fd, level, name, &v, &len) < 0)
		return -errno;
	*value = v;
	return 0;
}

/* ---- the non-blocking tier ------------------------------------------------ */

static long neg_errno(void)
{
	return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

int weft_try_accept(const weft_socket *l, weft_socket *out, weft_addr *peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int err = weft__net_check(l), fd;

	if (out == NULL)
		return -EINVAL;
	socket_reset(out);
	if (err < 0)
		return err;
	do
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return (int)neg_errno();
	out->fd = fd;
	out->type_ = SOCK_STREAM;
	if (peer != NULL && weft_addr_from_sockaddr(peer, (struct sockaddr *)&ss, len) < 0)
		memset(peer, 0, sizeof(*peer));
	return 0;
}

static int check_buf(const weft_socket *s, const void *buf, size_t len)
{
	int err = weft__net_check(s);

	if (err < 0)
		return err;
	if (buf == NULL && len != 0)
		return -EINVAL;
	return 0;
}

long weft_try_read(const weft_socket *s, void *buf, size_t len)
{
	int err = check_buf(s, buf, len);
	ssize_t n;

	if (err < 0)
		return err;
	do
		n = recv(s->fd, buf, len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == ENOTSOCK) {
		/* An adopted pipe or tty: plain read. */
		do
			n = read(s->fd, buf, len);
		while (n < 0 && errno == EINTR);
	}
	return n < 0 ? neg_errno() : (long)n;
}

long weft_try_write(const weft_socket *s, const void *buf, size_t len)
{
	int err = check_buf(s, buf, len);
	ssize_t n;

	if (err < 0)
		return err;
	do
		n = send(s->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? neg_errno() : (long)n;
}

long weft_try_send_to(const weft_socket *s, const void *buf, size_t len, const weft_addr *to)
{
	int err = check_buf(s, buf, len);
	ssize_t n;

	if (err < 0)
		return err;
	if (to != NULL && to->len == 0)
		return -EINVAL;
	do
		n = sendto(s->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL,
			   to != NULL ? (const struct sockaddr *)&to->storage : NULL,
			   to != NULL ? to->len : 0);
	while (n < 0 && errno == EINTR);
	return n < 0 ? neg_errno() : (long)n;
}

long weft_try_recv_from(const weft_socket *s, void *buf, size_t len, weft_addr *from)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int err = check_buf(s, buf, len);
	ssize_t n;

	if (err < 0)
		return err;
	do
		n = recvfrom(s->fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return neg_errno();
	if (from != NULL) {
		memset(from, 0, sizeof(*from));
		if (sl >= (socklen_t)sizeof(sa_family_t) && sl <= (socklen_t)sizeof(ss)) {
			memcpy(&from->storage, &ss, sl);
			from->len = sl;
		}
	}
	return (long)n;
}

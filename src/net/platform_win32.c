/*
 * src/net/platform_win32.c - the wrappers of platform_win32.h: Winsock
 * behind the POSIX calls src/net makes, with failures reported in errno
 * as the POSIX value.  Windows builds only.
 */
#include "platform_win32.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>

/* The macros of platform_win32.h would rename the Winsock calls below. */
#undef socket
#undef accept4
#undef connect
#undef bind
#undef listen
#undef close
#undef fcntl
#undef fstat
#undef read
#undef write
#undef recv
#undef send
#undef recvfrom
#undef sendto
#undef getsockopt
#undef setsockopt
#undef getsockname
#undef getpeername
#undef shutdown
#undef getaddrinfo

static pthread_once_t wsa_once = PTHREAD_ONCE_INIT;
static int wsa_err;

static void wsa_start_once(void)
{
	WSADATA data;
	int rc = WSAStartup(MAKEWORD(2, 2), &data);

	wsa_err = rc == 0 ? 0 : -weft__errno_from_wsa(rc);
}

int weft__wsa_start(void)
{
	pthread_once(&wsa_once, wsa_start_once);
	return wsa_err;
}

int weft__errno_from_wsa(int wsa)
{
	switch (wsa) {
	case WSAEWOULDBLOCK: return EAGAIN;
	case WSAEINPROGRESS: return EINPROGRESS;
	case WSAEALREADY: return EALREADY;
	case WSAEINTR: return EINTR;
	case WSAEBADF: case WSAENOTSOCK: return ENOTSOCK;
	case WSAEACCES: return EACCES;
	case WSAEFAULT: return EFAULT;
	case WSAEINVAL: return EINVAL;
	case WSAEMFILE: return EMFILE;
	case WSAEMSGSIZE: return EMSGSIZE;
	case WSAEPROTOTYPE: return EPROTOTYPE;
	case WSAENOPROTOOPT: return ENOPROTOOPT;
	case WSAEPROTONOSUPPORT: return EPROTONOSUPPORT;
	case WSAEOPNOTSUPP: return EOPNOTSUPP;
	case WSAEAFNOSUPPORT: case WSAEPFNOSUPPORT: return EAFNOSUPPORT;
	case WSAEADDRINUSE: return EADDRINUSE;
	case WSAEADDRNOTAVAIL: return EADDRNOTAVAIL;
	case WSAENETDOWN: return ENETDOWN;
	case WSAENETUNREACH: return ENETUNREACH;
	case WSAENETRESET: return ENETRESET;
	case WSAECONNABORTED: return ECONNABORTED;
	case WSAECONNRESET: return ECONNRESET;
	case WSAENOBUFS: return ENOBUFS;
	case WSAEISCONN: return EISCONN;
	case WSAENOTCONN: return ENOTCONN;
	case WSAESHUTDOWN: return EPIPE;
	case WSAETIMEDOUT: return ETIMEDOUT;
	case WSAECONNREFUSED: return ECONNREFUSED;
	case WSAEHOSTUNREACH: case WSAEHOSTDOWN: return EHOSTUNREACH;
	case WSA_OPERATION_ABORTED: return ECANCELED;
	case WSA_NOT_ENOUGH_MEMORY: return ENOMEM;
	case WSANOTINITIALISED: case WSASYSNOTREADY: return ENETDOWN;
	default: return EIO;
	}
}

/* Stores the last Winsock error in errno; returns -1. */
static int fail(void)
{
	errno = weft__errno_from_wsa(WSAGetLastError());
	return -1;
}

static int set_nonblocking(SOCKET s)
{
	u_long on = 1;

	return ioctlsocket(s, FIONBIO, &on) == 0 ? 0 : fail();
}

int weft__w_socket(int family, int type, int protocol)
{
	int err = weft__wsa_start();
	SOCKET s;

	if (err < 0) {
		errno = -err;
		return -1;
	}
	/* Inherit no handle to child processes: close-on-exec's analogue. */
	s = WSASocketW(family, type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), protocol, NULL, 0,
		       WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
	if (s == INVALID_SOCKET)
		return fail();
	if ((type & SOCK_NONBLOCK) && set_nonblocking(s) < 0) {
		int e = errno;

		closesocket(s);
		errno = e;
		return -1;
	}
	return (int)s;
}

/* A connection an AcceptEx accepted (carry_win32.c): already
 * non-blocking and not inheritable (iocp.c); its peer is asked for. */
static int queued_conn(int c, struct sockaddr *sa, socklen_t *len)
{
	if (sa != NULL && len != NULL && getpeername((SOCKET)c, sa, len) != 0)
		*len = 0; /* the peer already left: no address */
	return c;
}

int weft__w_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	int c = weft__w_conn_take(fd);
	SOCKET s;

	/* What the driver's AcceptEx accepted comes first (carry_win32.c). */
	if (c >= 0)
		return queued_conn(c, sa, len);
	s = accept((SOCKET)fd, sa, len);
	if (s == INVALID_SOCKET)
		return fail();
	/* An accepted socket inherits the listener's overlapped mode; its
	 * non-blocking mode is set here. */
	if ((flags & SOCK_NONBLOCK) && set_nonblocking(s) < 0) {
		int e = errno;

		closesocket(s);
		errno = e;
		return -1;
	}
	if (flags & SOCK_CLOEXEC)
		(void)SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
	return (int)s;
}

int weft__w_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	if (connect((SOCKET)fd, sa, len) == 0)
		return 0;
	fail();
	/* A non-blocking connect in progress says WSAEWOULDBLOCK there. */
	if (errno == EAGAIN)
		errno = EINPROGRESS;
	return -1;
}

int weft__w_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	return bind((SOCKET)fd, sa, len) == 0 ? 0 : fail();
}

int weft__w_listen(int fd, int backlog)
{
	return listen((SOCKET)fd, backlog) == 0 ? 0 : fail();
}

int weft__w_close(int fd)
{
	weft__w_carry_forget(fd);
	weft__w_conn_forget(fd);
	return closesocket((SOCKET)fd) == 0 ? 0 : fail();
}

int weft__w_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	int arg = 0;

	va_start(ap, cmd);
	if (cmd == F_SETFL)
		arg = va_arg(ap, int);
	va_end(ap);
	/* Windows cannot read a socket's blocking mode back: weft's sockets
	 * are all made non-blocking, so F_GETFL says so. */
	if (cmd == F_GETFL)
		return O_NONBLOCK;
	if (cmd == F_GETFD) {
		DWORD hf;

		if (!GetHandleInformation((HANDLE)(uintptr_t)(unsigned)fd, &hf)) {
			errno = EBADF;
			return -1;
		}
		return (hf & HANDLE_FLAG_INHERIT) ? 0 : FD_CLOEXEC;
	}
	if (cmd == F_SETFL) {
		u_long on = (arg & O_NONBLOCK) != 0;

		return ioctlsocket((SOCKET)fd, FIONBIO, &on) == 0 ? 0 : fail();
	}
	errno = EINVAL;
	return -1;
}

int weft__w_fstat(int fd, struct stat *st)
{
	int type;
	int len = sizeof(type);

	if (getsockopt((SOCKET)fd, SOL_SOCKET, SO_TYPE, (char *)&type, &len) != 0) {
		errno = EBADF;
		return -1;
	}
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFSOCK;
	return 0;
}

/* read(2) and write(2) on a socket are recv and send; weft adopts no
 * other descriptor on Windows (weft__w_fstat refuses them). */
int weft__w_read(int fd, void *buf, unsigned int len)
{
	long c = weft__w_carry_take(fd, buf, len, false);
	int n;

	/* What a dropped overlapped receive took comes first (carry_win32.c). */
	if (c >= 0)
		return (int)c;
	n = recv((SOCKET)fd, buf, len > INT_MAX ? INT_MAX : (int)len, 0);

	return n == SOCKET_ERROR ? fail() : n;
}

int weft__w_write(int fd, const void *buf, unsigned int len)
{
	int n = send((SOCKET)fd, buf, len > INT_MAX ? INT_MAX : (int)len, 0);

	return n == SOCKET_ERROR ? fail() : n;
}

long weft__w_recv(int fd, void *buf, size_t len, int flags)
{
	long c = weft__w_carry_take(fd, buf, len, (flags & MSG_PEEK) != 0);
	int n;

	/* What a dropped overlapped receive took comes first (carry_win32.c). */
	if (c >= 0)
		return c;
	n = recv((SOCKET)fd, buf, len > INT_MAX ? INT_MAX : (int)len, flags);

	return n == SOCKET_ERROR ? fail() : n;
}

long weft__w_send(int fd, const void *buf, size_t len, int flags)
{
	int n = send((SOCKET)fd, buf, len > INT_MAX ? INT_MAX : (int)len, flags);

	return n == SOCKET_ERROR ? fail() : n;
}

long weft__w_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *sa,
		      socklen_t *sl)
{
	int n = recvfrom((SOCKET)fd, buf, len > INT_MAX ? INT_MAX : (int)len, flags, sa, sl);

	/* A datagram larger than the buffer: POSIX truncates silently. */
	if (n == SOCKET_ERROR && WSAGetLastError() == WSAEMSGSIZE)
		return (long)len;
	return n == SOCKET_ERROR ? fail() : n;
}

long weft__w_sendto(int fd, const void *buf, size_t len, int flags,
		    const struct sockaddr *sa, socklen_t sl)
{
	int n = sendto((SOCKET)fd, buf, len > INT_MAX ? INT_MAX : (int)len, flags, sa, sl);

	return n == SOCKET_ERROR ? fail() : n;
}

int weft__w_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	if (getsockopt((SOCKET)fd, level, name, val, len) != 0)
		return fail();
	/* A pending error (a failed connect) is a Winsock code there. */
	if (level == SOL_SOCKET && name == SO_ERROR && *len >= (socklen_t)sizeof(int) &&
	    *(int *)val != 0)
		*(int *)val = weft__errno_from_wsa(*(int *)val);
	return 0;
}

int weft__w_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	if (level == SOL_SOCKET && name == SO_REUSEPORT) {
		errno = ENOPROTOOPT;
		return -1;
	}
	return setsockopt((SOCKET)fd, level, name, val, len) == 0 ? 0 : fail();
}

int weft__w_getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
	return getsockname((SOCKET)fd, sa, len) == 0 ? 0 : fail();
}

int weft__w_getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
	return getpeername((SOCKET)fd, sa, len) == 0 ? 0 : fail();
}

int weft__w_shutdown(int fd, int how)
{
	return shutdown((SOCKET)fd, how) == 0 ? 0 : fail();
}

int weft__w_getaddrinfo(const char *node, const char *service,
			const struct addrinfo *hints, struct addrinfo **res)
{
	int err = weft__wsa_start();

	if (err < 0)
		return EAI_FAIL;
	return getaddrinfo(node, service, hints, res);
}

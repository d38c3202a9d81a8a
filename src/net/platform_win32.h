/*
 * src/net/platform_win32.h - the POSIX socket interface src/net is written
 * against, mapped onto Winsock.  Private; Windows builds only.
 *
 * The files of src/net include the usual POSIX headers (<sys/socket.h>,
 * <poll.h>, <netinet/in.h>, ...).  On Windows the directory src/net/win is
 * on the include path and holds a header of each of those names that
 * includes this one, so the POSIX code compiles unchanged.  What differs
 * is mapped here, once:
 *  - a socket is a SOCKET, kept in weft's `int fd` (Windows' socket
 *    handles fit in 32 bits);
 *  - the calls that differ (socket, accept4, connect, close, fcntl, the
 *    transfers ...) are macros for wrappers in platform_win32.c which
 *    start Winsock on first use and store a failure's WSAGetLastError()
 *    in errno as the matching POSIX value, so `-errno` works as on Linux;
 *  - flags Windows lacks: SOCK_NONBLOCK / SOCK_CLOEXEC (applied by the
 *    wrappers), MSG_NOSIGNAL / MSG_DONTWAIT (every weft socket is
 *    non-blocking already and Windows raises no SIGPIPE), SHUT_*.
 */
#ifndef WEFT_SRC_NET_PLATFORM_WIN32_H
#define WEFT_SRC_NET_PLATFORM_WIN32_H

#include <winsock2.h>
#include <ws2tcpip.h>
#include <afunix.h>

/* Declared before the macros below so that a later include of these
 * headers (include guards) cannot be rewritten by them. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <io.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

typedef ADDRESS_FAMILY sa_family_t;

#define SOCK_NONBLOCK 0x40000000
#define SOCK_CLOEXEC 0x20000000
#define MSG_NOSIGNAL 0
#define MSG_DONTWAIT 0
#define SHUT_RD SD_RECEIVE
#define SHUT_WR SD_SEND
#define SHUT_RDWR SD_BOTH
/* Windows has no SO_REUSEPORT: the option fails with ENOPROTOOPT. */
#define SO_REUSEPORT 0x7fff0001
#ifndef O_NONBLOCK
#define O_NONBLOCK 0x4000
#endif
#define F_GETFD 1
#define F_GETFL 3
#define F_SETFL 4
#define FD_CLOEXEC 1
typedef unsigned long nfds_t;
#define S_IFSOCK 0xC000
#define S_ISSOCK(m) (((m) & 0xF000) == S_IFSOCK)
/* getaddrinfo never answers this on Windows (its errors are WSA codes). */
#ifndef EAI_SYSTEM
#define EAI_SYSTEM (-11)
#endif
#ifndef POLLRDHUP
#define POLLRDHUP 0
#endif

/* Starts Winsock once (WSAStartup 2.2).  Returns 0 or -errno. */
int weft__wsa_start(void);
/* The POSIX errno for a Winsock error code. */
int weft__errno_from_wsa(int wsa);

int weft__w_socket(int family, int type, int protocol);
int weft__w_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags);
int weft__w_connect(int fd, const struct sockaddr *sa, socklen_t len);
int weft__w_bind(int fd, const struct sockaddr *sa, socklen_t len);
int weft__w_listen(int fd, int backlog);
int weft__w_close(int fd);
int weft__w_fcntl(int fd, int cmd, ...);
int weft__w_fstat(int fd, struct stat *st);
int weft__w_read(int fd, void *buf, unsigned int len);
int weft__w_write(int fd, const void *buf, unsigned int len);
long weft__w_recv(int fd, void *buf, size_t len, int flags);
long weft__w_send(int fd, const void *buf, size_t len, int flags);
long weft__w_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *sa,
		      socklen_t *sl);
long weft__w_sendto(int fd, const void *buf, size_t len, int flags,
		    const struct sockaddr *sa, socklen_t sl);
int weft__w_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
int weft__w_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int weft__w_getsockname(int fd, struct sockaddr *sa, socklen_t *len);
int weft__w_getpeername(int fd, struct sockaddr *sa, socklen_t *len);
int weft__w_shutdown(int fd, int how);
int weft__w_getaddrinfo(const char *node, const char *service,
			const struct addrinfo *hints, struct addrinfo **res);

/*
 * The carry (carry_win32.c): bytes an overlapped receive took for a
 * future that was dropped, kept for the socket's next read.
 *  - weft__w_carry_put: appends len bytes of `buf` for fd (one datagram
 *    when `dgram`); 0 or -ENOMEM (the bytes are then lost).  Any thread.
 *  - weft__w_carry_take: copies up to len carried bytes of fd to buf (a
 *    stream's across chunks, a datagram's one chunk), consuming them
 *    unless `peek`; the count, or -EAGAIN when fd has nothing carried.
 *    Any thread; one load when nothing is carried anywhere.
 *  - weft__w_carry_forget: drops what fd has carried (its close).
 */
int weft__w_carry_put(int fd, const void *buf, size_t len, bool dgram);
long weft__w_carry_take(int fd, void *buf, size_t len, bool peek);
void weft__w_carry_forget(int fd);

/*
 * The listeners' queues of accepted connections (carry_win32.c): every
 * socket an AcceptEx of the IOCP driver accepted, kept for the listener's
 * next accept (the accept4 wrapper takes from it first).
 *  - weft__w_conn_put: appends socket fd to listener's queue; 0 or -ENOMEM
 *    (the caller still owns fd then).  Any thread.
 *  - weft__w_conn_take: removes and returns listener's oldest socket (the
 *    caller's from then on), or -EAGAIN.  Any thread; one load when no
 *    listener queues anything.
 *  - weft__w_conn_queued: true when listener queues a socket.  Any thread.
 *  - weft__w_conn_kick: when listener queues a socket, cancels every
 *    operation in the kernel on it, so that the accepts waiting there for
 *    a new connection end (-ECANCELED) and accept again, taking the queued
 *    one.  Called after an accept future that had an AcceptEx out was
 *    dropped (src/net/sockops.c): the connection that AcceptEx queued has
 *    no future left to take it.  Any thread.
 *  - weft__w_conn_forget: closes what listener queues (its close).
 */
int weft__w_conn_put(int listener, int fd);
int weft__w_conn_take(int listener);
bool weft__w_conn_queued(int listener);
void weft__w_conn_kick(int listener);
void weft__w_conn_forget(int listener);

/* Function-like, so that fields and other names spelt the same stay. */
#define socket(...) weft__w_socket(__VA_ARGS__)
#define accept4(...) weft__w_accept4(__VA_ARGS__)
#define connect(...) weft__w_connect(__VA_ARGS__)
#define bind(...) weft__w_bind(__VA_ARGS__)
#define listen(...) weft__w_listen(__VA_ARGS__)
#define close(...) weft__w_close(__VA_ARGS__)
#define fcntl(...) weft__w_fcntl(__VA_ARGS__)
#undef fstat /* the C library's maps it to _fstat64 */
#define fstat(fd, st) weft__w_fstat(fd, st)
#define read(...) weft__w_read(__VA_ARGS__)
#define write(...) weft__w_write(__VA_ARGS__)
#define recv(...) weft__w_recv(__VA_ARGS__)
#define send(...) weft__w_send(__VA_ARGS__)
#define recvfrom(...) weft__w_recvfrom(__VA_ARGS__)
#define sendto(...) weft__w_sendto(__VA_ARGS__)
#define getsockopt(...) weft__w_getsockopt(__VA_ARGS__)
#define setsockopt(...) weft__w_setsockopt(__VA_ARGS__)
#define getsockname(...) weft__w_getsockname(__VA_ARGS__)
#define getpeername(...) weft__w_getpeername(__VA_ARGS__)
#define shutdown(...) weft__w_shutdown(__VA_ARGS__)
#define getaddrinfo(...) weft__w_getaddrinfo(__VA_ARGS__)

/* poll(2) is WSAPoll for sockets (a function: `poll` is also the name of
 * a future's member, which a function-like macro would rewrite). */
static inline int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	return WSAPoll(fds, (ULONG)n, timeout);
}

#endif /* WEFT_SRC_NET_PLATFORM_WIN32_H */

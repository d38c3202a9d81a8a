/*
 * weft/net.h - sockets as futures: TCP listeners and streams, UDP, Unix
 * stream and datagram sockets, addresses.
 *
 * A weft_socket is a small struct the caller owns (a file descriptor in
 * non-blocking mode, close-on-exec).  One socket type serves every kind, as
 * libuv's stream handle does: the constructors say what kind it is
 * (weft_tcp_listen, weft_connect_init, weft_udp_bind, weft_unix_listen,
 * weft_unix_datagram_bind), and the operations apply to the kinds that have
 * them (accept on a listener, read and write on a stream, send_to and
 * recv_from on a datagram socket); a mismatch is the kernel's errno
 * (-EINVAL, -ENOTCONN, -EOPNOTSUPP, ...).
 *
 * Every operation has two forms:
 *  - weft_try_X: one non-blocking system call, from any thread, inside a
 *    runtime or not.  Returns what the call returns, or -EAGAIN when it
 *    would block;
 *  - weft_X_init: a future that tries the same call when polled and, when
 *    it would block, waits for readiness in the runtime's I/O driver
 *    (io_uring: IORING_OP_POLL_ADD; epoll: a one-shot registration) and
 *    tries again.  The futures must be polled inside a runtime (a task, or
 *    weft_block_on), and spend one unit of the cooperative budget per poll.
 *
 * Cancellation.  Every socket future may be dropped at any point: the data
 * moves only inside a poll, in one system call whose result the future
 * records before returning, so a dropped read has read nothing (the next
 * read sees every byte), a dropped write has written nothing beyond what it
 * reported, a dropped weft_write_all keeps `written` (the bytes sent before
 * the drop) readable after the drop, and a dropped accept or connect leaves
 * no descriptor open.  Nothing in the kernel keeps a pointer to a future or
 * to a caller's buffer after the poll that used it returns.
 *
 * Errors are negative errno values: -EINVAL for a NULL pointer or a bad
 * argument, -EBADF for a closed socket (fd -1), -ECONNREFUSED for a connect
 * to a closed port, -EPIPE or -ECONNRESET for a write to a peer that went
 * away (SIGPIPE is never raised: writes use MSG_NOSIGNAL).  A future whose
 * init failed is ready at its first poll with the error in `result` and is
 * safe to drop.
 *
 * Threads.  A socket may be used from several threads at once as the
 * kernel allows (one reader and one writer at a time is the useful case).
 * The caller must not close a socket while a future on it is alive.
 */
#ifndef WEFT_NET_H
#define WEFT_NET_H

#include <stddef.h>
#include <stdint.h>
#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <sys/socket.h>
#endif

#include "weft/future.h"
#include "weft/io.h"
#include "weft/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- addresses ---------------------------------------------------------- */

/*
 * A socket address: IPv4, IPv6 or a Unix path, with its length.  Plain
 * data; copy it freely.
 */
typedef struct weft_addr {
	socklen_t len; /* 0: no address */
	struct sockaddr_storage storage;
} weft_addr;

/* Room for the longest text weft_addr_format writes, with its NUL. */
#define WEFT_ADDR_STRLEN 128

/*
 * Parses `text` into `out`: "1.2.3.4:80" (IPv4), "[::1]:80" (IPv6, the
 * brackets required), or "unix:/path" (a Unix socket path).  Ports are
 * 0..65535 in decimal; no host names (see weft_resolve_init).  Returns 0;
 * -EINVAL for a NULL argument or text that is none of these forms (`out`
 * is then zeroed); -ENAMETOOLONG for a Unix path that does not fit.  Any
 * thread.
 */
int weft_addr_parse(weft_addr *out, const char *text);

/*
 * Makes a Unix socket address for `path` (a file system path).  Returns 0,
 * -EINVAL for NULL or an empty path, -ENAMETOOLONG when it does not fit in
 * sockaddr_un.  Any thread.
 */
int weft_addr_unix(weft_addr *out, const char *path);

/*
 * Makes an address from a sockaddr of `len` bytes (AF_INET, AF_INET6 or
 * AF_UNIX).  Returns 0, -EINVAL for NULL or a length that does not fit,
 * -EAFNOSUPPORT for another family.  Any thread.
 */
int weft_addr_from_sockaddr(weft_addr *out, const struct sockaddr *sa, socklen_t len);

/*
 * Writes `a` as text into `buf` (`size` bytes, NUL-terminated), in the form
 * weft_addr_parse reads: "1.2.3.4:80", "[::1]:80", "unix:/path" (an
 * unnamed Unix socket: "unix:").  Returns the length written without the
 * NUL; -EINVAL for NULL or an address of no known family; -ENOSPC when
 * `size` is too small (WEFT_ADDR_STRLEN always suffices).  Any thread.
 */
int weft_addr_format(const weft_addr *a, char *buf, size_t size);

/* Returns the port of an IPv4 or IPv6 address (0..65535), or -EINVAL for
 * NULL or another family.  Any thread. */
int weft_addr_port(const weft_addr *a);

/* Returns the family of `a` (AF_INET, AF_INET6, AF_UNIX), or -EINVAL for
 * NULL or an empty address.  Any thread. */
int weft_addr_family(const weft_addr *a);

/* ---- sockets ------------------------------------------------------------ */

/* A socket.  `fd` is the descriptor (-1 when closed or never opened); the
 * rest is private.  Initialise with WEFT_SOCKET_INIT or a constructor. */
typedef struct weft_socket {
	int fd;
	int type_; /* private: SOCK_STREAM or SOCK_DGRAM, 0 when unknown */
} weft_socket;

/* An unopened socket (fd -1). */
#define WEFT_SOCKET_INIT { -1, 0 }

/* Flag for weft_tcp_listen and weft_udp_bind: SO_REUSEADDR before bind. */
#define WEFT_BIND_REUSEADDR 0x1u
/* Flag for weft_tcp_listen and weft_udp_bind: SO_REUSEPORT before bind. */
#define WEFT_BIND_REUSEPORT 0x2u
/* Flag for weft_tcp_listen and weft_udp_bind: IPV6_V6ONLY (IPv6 only). */
#define WEFT_BIND_V6ONLY 0x4u

/*
 * Opens a TCP listener bound to `addr` (IPv4 or IPv6; port 0 picks a free
 * port: read it back with weft_socket_local_addr) with a backlog of
 * `backlog` (<= 0: SOMAXCONN) and the WEFT_BIND_* `flags`.  On success
 * `out` owns the new socket (close it with weft_socket_close).  Returns 0;
 * -EINVAL for NULL or unknown flags; -EAFNOSUPPORT for a Unix address (see
 * weft_unix_listen); the kernel's errno (-EADDRINUSE, -EACCES, ...), `out`
 * then left closed.  Any thread.
 */
int weft_tcp_listen(weft_socket *out, const weft_addr *addr, int backlog, unsigned flags);

/*
 * Opens a Unix stream listener at `path` (the file must not exist: remove
 * it first if it is stale).  Returns as weft_tcp_listen (-ENAMETOOLONG for
 * a path that does not fit).  Any thread.
 */
int weft_unix_listen(weft_socket *out, const char *path, int backlog);

/*
 * Opens a UDP socket bound to `addr` (port 0: a free port) with the
 * WEFT_BIND_* `flags`.  Returns as weft_tcp_listen.  Any thread.
 */
int weft_udp_bind(weft_socket *out, const weft_addr *addr, unsigned flags);

/*
 * Opens a Unix datagram socket bound to `path`, or unbound when `path` is
 * NULL (it can send, and receive replies only on a connected pair; see
 * weft_datagram_connect).  Returns as weft_unix_listen.  Any thread.
 */
int weft_unix_datagram_bind(weft_socket *out, const char *path);

/*
 * Sets the default destination of a datagram socket (UDP or Unix) and
 * filters what it receives to that peer; send_to with a NULL address then
 * goes there.  Never blocks.  Returns 0, -EINVAL for NULL, -EBADF for a
 * closed socket, or the kernel's errno.  Any thread.
 */
int weft_datagram_connect(weft_socket *s, const weft_addr *addr);

/*
 * Adopts an open socket descriptor: puts it in non-blocking mode and
 * stores it in `out`, which owns it from then on.  Returns 0, -EINVAL for
 * NULL, -EBADF for a descriptor that is not open, -ENOTSOCK for one that
 * is not a socket.  Any thread.
 */
int weft_socket_from_fd(weft_socket *out, int fd);

/*
 * Closes the socket and sets its fd to -1.  Returns 0; -EINVAL for NULL;
 * -EBADF when it is already closed.  No future on it may be alive.  Any
 * thread.
 */
int weft_socket_close(weft_socket *s);

/* How weft_socket_shutdown shuts a stream down. */
typedef enum weft_shutdown_how {
	WEFT_SHUT_READ = 0,  /* no more reads */
	WEFT_SHUT_WRITE = 1, /* send end-of-stream to the peer (FIN) */
	WEFT_SHUT_BOTH = 2,
} weft_shutdown_how;

/*
 * Shuts down one or both directions of a connected stream (the descriptor
 * stays open; close it with weft_socket_close).  Returns 0, -EINVAL for
 * NULL or a bad `how`, -EBADF for a closed socket, -ENOTCONN when not
 * connected.  Any thread.
 */
int weft_socket_shutdown(weft_socket *s, weft_shutdown_how how);

/* Stores the socket's own address in *out.  Returns 0, -EINVAL for NULL,
 * -EBADF for a closed socket, or the kernel's errno.  Any thread. */
int weft_socket_local_addr(const weft_socket *s, weft_addr *out);

/* Stores the connected peer's address in *out.  Returns 0, -EINVAL for
 * NULL, -EBADF for a closed socket, -ENOTCONN when not connected.  Any
 * thread. */
int weft_socket_peer_addr(const weft_socket *s, weft_addr *out);

/* The socket options a server sets (weft_socket_set / weft_socket_get). */
typedef enum weft_sockopt {
	WEFT_SO_REUSEADDR = 0, /* SO_REUSEADDR: 0 or 1 */
	WEFT_SO_REUSEPORT = 1, /* SO_REUSEPORT: 0 or 1 */
	WEFT_SO_NODELAY = 2,   /* TCP_NODELAY: 0 or 1 (TCP only) */
	WEFT_SO_KEEPALIVE = 3, /* SO_KEEPALIVE: 0 or 1 */
	WEFT_SO_RCVBUF = 4,    /* SO_RCVBUF: bytes (the kernel doubles it) */
	WEFT_SO_SNDBUF = 5,    /* SO_SNDBUF: bytes (the kernel doubles it) */
	WEFT_SO_V6ONLY = 6,    /* IPV6_V6ONLY: 0 or 1 (IPv6 only) */
} weft_sockopt;

/*
 * Sets option `opt` to `value`.  Returns 0; -EINVAL for NULL, an unknown
 * option or a negative value; -EBADF for a closed socket; the kernel's
 * errno (-ENOPROTOOPT for TCP_NODELAY on a Unix socket).  Any thread.
 */
int weft_socket_set(weft_socket *s, weft_sockopt opt, int value);

/* Reads option `opt` into *value.  Returns as weft_socket_set.  Any
 * thread. */
int weft_socket_get(const weft_socket *s, weft_sockopt opt, int *value);

/* ---- the non-blocking tier ------------------------------------------------ */

/*
 * Accepts one pending connection on listener `l`: `out` owns the new
 * socket (non-blocking, close-on-exec) and *peer (when not NULL) holds the
 * peer's address.  Returns 0; -EAGAIN when none is pending; -EINVAL for a
 * NULL `l` or `out`; -EBADF for a closed listener; the kernel's errno.
 * Any thread.
 */
int weft_try_accept(const weft_socket *l, weft_socket *out, weft_addr *peer);

/* Reads at most `len` bytes: returns the count (0 at end of stream),
 * -EAGAIN when nothing is there, -EINVAL for NULL `s` or a NULL `buf` with
 * nonzero `len`, -EBADF for a closed socket, or the kernel's errno.  Any
 * thread. */
long weft_try_read(const weft_socket *s, void *buf, size_t len);

/* Writes at most `len` bytes: returns the count written, -EAGAIN when the
 * send buffer is full, or errors as weft_try_read.  Any thread. */
long weft_try_write(const weft_socket *s, const void *buf, size_t len);

/* Sends one datagram of `len` bytes to `to` (NULL: the connected peer).
 * Returns the bytes sent, -EAGAIN, or errors as weft_try_read.  Any
 * thread. */
long weft_try_send_to(const weft_socket *s, const void *buf, size_t len,
		      const weft_addr *to);

/* Receives one datagram into `buf` (a longer one is cut to `len` bytes);
 * *from (when not NULL) gets the sender.  Returns the bytes stored,
 * -EAGAIN, or errors as weft_try_read.  Any thread. */
long weft_try_recv_from(const weft_socket *s, void *buf, size_t len, weft_addr *from);

/* ---- futures -------------------------------------------------------------- */

/* Private: the readiness wait a socket future may be in. */
typedef struct weft_net_wait_ {
	weft_io_slot_ slot;
	int fd;
	int phase;
} weft_net_wait_;

/*
 * Accepting a connection, as a future.  When ready, `result` is 0 and
 * `socket` (owned by the caller from then on) and `peer` hold the new
 * connection; or `result` is a negative errno and `socket` is closed.
 * Dropping it before it is ready accepts nothing.
 */
typedef struct weft_accept_future {
	weft_future base;
	int result;
	weft_socket socket;
	weft_addr peer;
	weft_net_wait_ wait_; /* private */
} weft_accept_future;

/* Initialises an accept on listener `l`.  Returns 0, -EINVAL for NULL,
 * -EBADF for a closed listener (the future is then ready with the error).
 * Any thread. */
int weft_accept_init(weft_accept_future *f, const weft_socket *l);

/*
 * A listener's stream of incoming connections, for servers that accept in
 * a loop.  On io_uring it is one multishot accept (IORING_ACCEPT_MULTISHOT,
 * kernel 5.19+) that stays in the kernel and queues every connection it
 * accepts in driver-owned memory until a weft_incoming_next takes it, so a
 * burst of connections costs one submission; on epoll, and on a kernel
 * without multishot accept, each next is a single accept (as
 * weft_accept_init).  Initialise it with weft_incoming_init, take
 * connections with weft_incoming_next_init, and stop it with
 * weft_incoming_finish.  One next future at a time per incoming; the
 * incoming may move between threads.  The caller owns the struct; the
 * listener must stay open until weft_incoming_finish.
 */
typedef struct weft_incoming {
	int fd_;               /* private: the listener */
	int mode_;             /* private: 0 idle, 1 multishot, 2 single accepts */
	weft_io_slot_ slot_;   /* private: the multishot operation */
} weft_incoming;

/* Initialises `in` over listener `l` (nothing starts until the first next
 * is polled).  Returns 0; -EINVAL for NULL; -EBADF for a closed listener
 * (then `in` is finished and its nexts are ready with -EBADF).  Any
 * thread. */
int weft_incoming_init(weft_incoming *in, const weft_socket *l);

/*
 * Stops `in`: cancels the multishot accept and closes every connection it
 * accepted that no next took (the peers see the connection reset or
 * closed).  Connections still in the listener's backlog stay there.  No
 * next future on `in` may be alive, and it must be called before the
 * runtime is destroyed (a runtime destroyed first closes the queued
 * connections itself; `in` is then only safe to forget).  NULL is
 * ignored.  Any thread; the
 * multishot operation is cancelled by its ring's owner thread, so on a
 * current-thread runtime called outside weft_block_on the connections are
 * closed at the next weft_block_on or at weft_runtime_destroy.
 */
void weft_incoming_finish(weft_incoming *in);

/*
 * The next connection of an incoming stream, as a future.  When ready,
 * `result` is 0 and `socket` (non-blocking, close-on-exec, owned by the
 * caller) and `peer` hold the connection; or `result` is a negative errno
 * (-EMFILE, ...; the stream goes on: a later next tries again; -EBADF
 * after weft_incoming_finish).  Dropping it before it is ready loses no
 * connection: what the kernel accepted meanwhile waits in the stream.
 */
typedef struct weft_incoming_next {
	weft_future base;
	int result;
	weft_socket socket;
	weft_addr peer;
	weft_incoming *in_;   /* private */
	weft_net_wait_ wait_; /* private: the single-accept fallback */
} weft_incoming_next;

/* Initialises the next accept of `in`.  Returns 0; -EINVAL for NULL (the
 * future is then ready with the error); -EBADF for a finished stream.  Any
 * thread; poll it inside a runtime. */
int weft_incoming_next_init(weft_incoming_next *f, weft_incoming *in);

/*
 * A connected stream socket's receive side, for servers that read one
 * connection in a loop.  On io_uring (kernel 6.0+) it is one multishot
 * receive (IORING_RECV_MULTISHOT) that stays in the kernel and fills
 * buffers of a pool the worker's ring provides (a registered buffer ring);
 * each filled buffer is queued in driver-owned memory until a
 * weft_recv_stream_read copies it out, so a message costs no system call
 * to read.  On epoll, on an older kernel, and whenever the pool is dry for
 * this stream, a read is the plain one of weft_sock_read.  Cancellation is
 * as safe as weft_sock_read's: a read dropped before it was ready took
 * nothing, and the bytes the kernel received meanwhile wait in the stream
 * for the next read.  Initialise it with weft_recv_stream_init, read with
 * weft_recv_stream_read_init, and stop it with weft_recv_stream_finish
 * before closing the socket.  One read future at a time per stream; the
 * stream may move between threads.  The caller owns the struct; the socket
 * must stay open until weft_recv_stream_finish.  docs/net.md says when it
 * is faster than weft_sock_read.
 */
typedef struct weft_recv_stream {
	int fd_;               /* private: the socket */
	int mode_;             /* private: idle, multishot, plain, finished */
	weft_io_slot_ slot_;   /* private: the multishot operation */
} weft_recv_stream;

/* Initialises `rs` over connected stream socket `s` (nothing starts until
 * the first read is polled).  Returns 0; -EINVAL for NULL; -EBADF for a
 * closed socket (then `rs` is finished and its reads are ready with
 * -EBADF).  Any thread. */
int weft_recv_stream_init(weft_recv_stream *rs, const weft_socket *s);

/*
 * Stops `rs`: cancels the multishot receive and gives back every buffer it
 * holds; bytes received and not read are dropped.  No read future on `rs`
 * may be alive.  Call it before closing the socket, and before the runtime
 * is destroyed (a runtime destroyed first releases the buffers itself;
 * `rs` is then only safe to forget).  NULL is ignored.  Any thread; the
 * cancel is made by the ring's owner thread.
 */
void weft_recv_stream_finish(weft_recv_stream *rs);

/*
 * A read of at most `len` bytes from a receive stream, as a future.
 * `result` is the count (0: the peer ended the stream) or a negative
 * errno.  `buf` must stay valid while the future lives.
 */
typedef struct weft_recv_stream_read {
	weft_future base;
	long result;
	weft_recv_stream *rs_; /* private */
	void *buf_;            /* private */
	size_t len_;           /* private */
	weft_net_wait_ wait_;  /* private: the plain read */
} weft_recv_stream_read;

/* Initialises a read from `rs`.  Returns 0; -EINVAL for NULL `f` or `rs`
 * or a NULL `buf` with nonzero `len`; -EBADF for a finished stream (the
 * future is then ready with the error).  Any thread; poll it inside a
 * runtime. */
int weft_recv_stream_read_init(weft_recv_stream_read *f, weft_recv_stream *rs, void *buf,
			       size_t len);

/*
 * Connecting, as a future: opens a TCP socket (for an IPv4 or IPv6
 * address) or a Unix stream socket (for a Unix address) and connects it to
 * `addr`.  When ready, `result` is 0 and `socket` (the caller's from then
 * on) is connected; or `result` is a negative errno (-ECONNREFUSED,
 * -ENETUNREACH, -ENOENT for a missing Unix path, ...) and nothing is left
 * open.  Dropping it before it is ready closes the half-made socket.
 */
typedef struct weft_connect_future {
	weft_future base;
	int result;
	weft_socket socket;
	weft_addr addr_;      /* private */
	weft_net_wait_ wait_; /* private */
} weft_connect_future;

/* Initialises a connect to `addr` (copied).  Returns 0, -EINVAL for NULL
 * or an empty address, -EAFNOSUPPORT for an unknown family.  Any thread. */
int weft_connect_init(weft_connect_future *f, const weft_addr *addr);

/*
 * A read of at most `len` bytes into `buf`, as a future.  `result` is the
 * count (0: the peer ended the stream) or a negative errno.  `buf` must
 * stay valid while the future lives.
 */
typedef struct weft_sock_read {
	weft_future base;
	long result;
	void *buf_;           /* private */
	size_t len_;          /* private */
	weft_net_wait_ wait_; /* private */
} weft_sock_read;

/* Initialises a read from stream `s`.  Returns 0, -EINVAL for NULL `f` or
 * `s` or a NULL `buf` with nonzero `len`, -EBADF for a closed socket.  Any
 * thread. */
int weft_sock_read_init(weft_sock_read *f, const weft_socket *s, void *buf, size_t len);

/*
 * A write of at most `len` bytes, as a future (one system call once the
 * socket is writable: it may write fewer; see weft_write_all).  `result`
 * is the count written or a negative errno.  `buf` must stay valid while
 * the future lives.  After a drop before it was ready, `result` is what it
 * wrote: 0, except on Windows, where a write that waited sends as an
 * overlapped operation that the drop may cut short (docs/platforms.md).
 */
typedef struct weft_sock_write {
	weft_future base;
	long result;
	const void *buf_;     /* private */
	size_t len_;          /* private */
	weft_net_wait_ wait_; /* private */
} weft_sock_write;

/* Initialises a write to stream `s`; returns as weft_sock_read_init.  Any
 * thread. */
int weft_sock_write_init(weft_sock_write *f, const weft_socket *s, const void *buf,
			 size_t len);

/*
 * Writing all `len` bytes, as a future.  `result` is 0 once every byte was
 * written, or a negative errno.  `written` counts the bytes written so
 * far, and stays readable after an error and after a drop: a cancelled
 * write_all says how much went out.
 */
typedef struct weft_write_all_future {
	weft_future base;
	int result;
	size_t written;
	const void *buf_;     /* private */
	size_t len_;          /* private */
	weft_net_wait_ wait_; /* private */
} weft_write_all_future;

/* Initialises a write_all to stream `s`; returns as weft_sock_read_init.
 * Any thread. */
int weft_write_all_init(weft_write_all_future *f, const weft_socket *s, const void *buf,
			size_t len);

/*
 * Sending one datagram, as a future.  `result` is the bytes sent or a
 * negative errno.  `buf` must stay valid while the future lives; the
 * address is copied.
 */
typedef struct weft_send_to_future {
	weft_future base;
	long result;
	const void *buf_;     /* private */
	size_t len_;          /* private */
	weft_addr to_;        /* private; len 0: connected peer */
	weft_net_wait_ wait_; /* private */
} weft_send_to_future;

/* Initialises a send of `len` bytes to `to` (NULL: the connected peer) on
 * datagram socket `s`.  Returns as weft_sock_read_init.  Any thread. */
int weft_send_to_init(weft_send_to_future *f, const weft_socket *s, const void *buf,
		      size_t len, const weft_addr *to);

/*
 * Receiving one datagram, as a future.  `result` is the bytes stored (a
 * longer datagram is cut) or a negative errno; `from` holds the sender.
 */
typedef struct weft_recv_from_future {
	weft_future base;
	long result;
	weft_addr from;
	void *buf_;           /* private */
	size_t len_;          /* private */
	weft_net_wait_ wait_; /* private */
} weft_recv_from_future;

/* Initialises a receive into `buf` on datagram socket `s`.  Returns as
 * weft_sock_read_init.  Any thread. */
int weft_recv_from_init(weft_recv_from_future *f, const weft_socket *s, void *buf,
			size_t len);

/* ---- name resolution ------------------------------------------------------ */

/* At most this many addresses are kept by weft_resolve_init. */
#define WEFT_RESOLVE_MAX 8

/*
 * Resolving a host name, as a future: getaddrinfo(3) on the runtime's
 * blocking pool (it may block on DNS).  When ready, `result` is the number
 * of addresses in `addrs` (1..WEFT_RESOLVE_MAX, stream sockets, IPv4 and
 * IPv6 in the resolver's order, each with `port`), or a negative errno:
 * -ENOENT when the name does not resolve, -EAGAIN for a temporary failure,
 * -ENOMEM, -EINVAL.  Dropping it before it is ready abandons the lookup
 * (the pool thread finishes it and frees what it made).
 */
typedef struct weft_resolve_future {
	weft_future base;
	int result;
	weft_addr addrs[WEFT_RESOLVE_MAX];
	void *job_;              /* private */
	int started_;            /* private */
	weft_join_handle handle_; /* private: the blocking job */
} weft_resolve_future;

/*
 * Initialises a lookup of `host` (a name or a numeric address; copied) with
 * `port` put in every result.  Returns 0; -EINVAL for NULL or a host longer
 * than 255 bytes (the future is then ready with the error).  Any thread;
 * poll it inside a runtime.
 */
int weft_resolve_init(weft_resolve_future *f, const char *host, uint16_t port);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_NET_H */

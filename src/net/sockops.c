/*
 * src/net/sockops.c - accept and connect as completion operations, on a
 * driver that has them beside its readiness waits (WEFT__FEAT_SOCK_OPS:
 * the IOCP driver's AcceptEx and ConnectEx).
 *
 * Why not readiness there
 * =======================
 *
 * On IOCP a readiness wait for a listener or a connecting socket is
 * WSAEventSelect plus a thread-pool wait that posts to the port
 * (src/driver/iocp.c): a kernel event, a thread-pool thread and a
 * registration per wait.  AcceptEx and ConnectEx are plain overlapped
 * operations on the port, the way Windows means sockets to be waited for.
 *
 * Accept
 * ======
 *
 * The attempt (accept4 through the wrapper, non-blocking) comes first, as
 * everywhere: a connection already in the backlog costs one call.  On
 * EAGAIN the future starts a WEFT__OP_ACCEPT.  The driver's AcceptEx does
 * not hand its socket to the future: it puts it in the listener's queue of
 * connections (src/net/carry_win32.c) and completes with -EAGAIN, and the
 * future then makes the attempt again, which takes the oldest queued
 * connection first.  So a connection is never in a future's hands before
 * the attempt returns it, and a dropped accept takes none: one that came
 * for it after the drop is in the queue, for the next accept of the
 * listener (the driver's drop waits for the AcceptEx to be over; then
 * weft__net_accept_drop kicks the listener's other accepts, so that one
 * waiting in the kernel for a new connection takes the queued one).  An accept that ends with -ECANCELED (such a kick), -ECONNRESET or
 * -ECONNABORTED (the peer left before it was accepted) is not the
 * listener's failure either: the future accepts again.
 *
 * Connect
 * =======
 *
 * For an IPv4 or IPv6 address the future opens its socket and starts one
 * WEFT__OP_CONNECT (ConnectEx binds the socket to the wildcard address
 * first); there is no attempt first, since a TCP connect is never done
 * within the call.  A dropped connect is cancelled, and the driver waits
 * until the operation is over before the future's drop closes the socket
 * (future.c).  A Unix-domain address takes the syscall and readiness path
 * (ConnectEx is TCP only).
 *
 * Send
 * ====
 *
 * weft_sock_write and weft_write_all make their send first, as everywhere;
 * when the send buffer is full they send the rest (up to SEND_CHUNK at a
 * time) as one WEFT__OP_SEND, an overlapped WSASend of a copy in the slot's
 * buffer, in place of a readiness wait (an event selection there).  A
 * dropped one is exact: the driver cancels it and waits for the kernel to
 * finish it, and weft__io_cancel_sent says how many of its bytes went out
 * before the cancel, which the future adds to what it reports (`written`
 * of weft_write_all, `result` of weft_sock_write after the drop).
 */
#include "net_internal.h"
#include "../driver/driver.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#ifdef _WIN32
#include "platform_win32.h"
#endif

static struct weft__io_op *op_of(weft_net_wait_ *w)
{
	return (struct weft__io_op *)(void *)&w->slot;
}

bool weft__net_accept_ops(void)
{
	return weft__io_has(WEFT__FEAT_SOCK_OPS);
}

/* An accept operation's end that means "accept again" (above). */
static bool accept_again(int32_t res)
{
	return res == -EAGAIN || res == -ECANCELED || res == -ECONNRESET ||
	       res == -ECONNABORTED;
}

int weft__net_accept_drive(weft_net_wait_ *w, weft_cx *cx, int (*attempt)(void *self),
			   void *self)
{
	int32_t res;

	if (w->phase == W_DONE)
		return 1;
	if (!weft_coop_proceed(cx))
		return 0;
	for (;;) {
		struct weft__io_req req = { WEFT__OP_ACCEPT, w->fd, 0, NULL, 0, 0, 0 };
		int err;

		if (w->phase == W_RING) {
			if (weft__io_poll(op_of(w), cx, &res, NULL, 0) == WEFT_PENDING) {
				weft_coop_refund(cx);
				return 0;
			}
			w->phase = W_IDLE;
			/* The driver never yields an fd here (its connections
			 * go to the listener's queue). */
			if (res < 0 && !accept_again(res)) {
				w->phase = W_DONE;
				return res;
			}
		}
		if (attempt(self)) {
			w->phase = W_DONE;
			return 1;
		}
		err = weft__io_start(op_of(w), &req);
		if (err < 0) {
			w->phase = W_DONE;
			return err;
		}
		w->phase = W_RING;
	}
}

void weft__net_accept_drop(weft_net_wait_ *w)
{
	bool op = w->phase == W_RING;

	weft__net_wait_cancel(w);
#ifdef _WIN32
	/* Its AcceptEx may have queued a connection (before the drop, or
	 * while the drop waited for it): the kick lets an accept waiting in
	 * the kernel take it. */
	if (op)
		weft__w_conn_kick(w->fd);
#else
	(void)op;
#endif
}

/*
 * The drop of weft_sock_read.  A receive operation in flight is settled by
 * the driver (what it took goes to the socket's carry); one that completed
 * and that nobody polled yet holds its bytes in its slot, which the drop
 * takes and carries itself, so that the next read gets them.  (If the
 * memory for that copy cannot be had, those bytes are lost: the only case
 * a dropped read loses any.)
 */
void weft__net_read_drop(weft_net_wait_ *w, size_t len)
{
#ifdef _WIN32
	if (w->phase == W_RING) {
		char small[2048], *tmp = len <= sizeof(small) ? small : malloc(len);
		int type = SOCK_STREAM;
		socklen_t tl = sizeof(type);
		long n;

		if (tmp == NULL) {
			weft__net_wait_cancel(w);
			return;
		}
		n = weft__io_cancel_recv(op_of(w), tmp, len);
		if (n > 0) {
			(void)getsockopt(w->fd, SOL_SOCKET, SO_TYPE, &type, &tl);
			(void)weft__w_carry_put(w->fd, tmp, (size_t)n, type != SOCK_STREAM);
		}
		if (tmp != small)
			free(tmp);
		return;
	}
#endif
	(void)len;
	weft__net_wait_cancel(w);
}

/* The most one send operation copies and sends (the rest follows once it
 * completed). */
#define SEND_CHUNK (1u << 20)

bool weft__net_send_ops(const weft_net_wait_ *w)
{
	return w->phase == W_RING || (w->phase == W_IDLE && weft__io_has(WEFT__FEAT_SOCK_OPS));
}

int weft__net_send_drive(weft_net_wait_ *w, weft_cx *cx, const void *buf, size_t len,
			 size_t *sent, bool all, int (*attempt)(void *self), void *self)
{
	int32_t res;

	if (w->phase == W_DONE)
		return 1;
	if (!weft_coop_proceed(cx))
		return 0;
	for (;;) {
		struct weft__io_req req = { WEFT__OP_SEND, w->fd, 0, NULL, 0, 0, 0 };
		int err;

		if (w->phase == W_RING) {
			if (weft__io_poll(op_of(w), cx, &res, NULL, 0) == WEFT_PENDING) {
				weft_coop_refund(cx);
				return 0;
			}
			w->phase = W_IDLE;
			if (res < 0) {
				w->phase = W_DONE;
				return res;
			}
			*sent += (size_t)res;
			if (!all || *sent >= len) {
				w->phase = W_DONE;
				return 1;
			}
		}
		if (attempt(self)) {
			w->phase = W_DONE;
			return 1;
		}
		req.data = (const char *)buf + *sent;
		req.len = len - *sent < SEND_CHUNK ? len - *sent : SEND_CHUNK;
		err = weft__io_start(op_of(w), &req);
		if (err < 0) {
			w->phase = W_DONE;
			return err;
		}
		w->phase = W_RING;
	}
}

size_t weft__net_send_drop(weft_net_wait_ *w)
{
	long n;

	if (w->phase != W_RING) {
		weft__net_wait_cancel(w);
		return 0;
	}
	n = weft__io_cancel_sent(op_of(w));
	return n > 0 ? (size_t)n : 0;
}

bool weft__net_connect_ops(const weft_net_wait_ *w, const weft_addr *to)
{
	int fam = to->storage.ss_family;

	return w->phase == W_RING ||
	       (w->phase == W_IDLE && (fam == AF_INET || fam == AF_INET6) &&
		weft__io_has(WEFT__FEAT_SOCK_OPS));
}

int weft__net_connect_drive(weft_net_wait_ *w, weft_cx *cx, weft_socket *s,
			    const weft_addr *to)
{
	int32_t res;

	if (w->phase == W_DONE)
		return 1;
	if (!weft_coop_proceed(cx))
		return 0;
	if (w->phase == W_IDLE) {
		struct weft__io_req req = { WEFT__OP_CONNECT, -1, 0, &to->storage, to->len, 0, 0 };
		int err = weft__net_open(s, to->storage.ss_family, SOCK_STREAM);

		if (err == 0) {
			w->fd = req.fd = s->fd;
			err = weft__io_start(op_of(w), &req);
		}
		if (err < 0) {
			w->phase = W_DONE;
			return err;
		}
		w->phase = W_RING;
	}
	if (weft__io_poll(op_of(w), cx, &res, NULL, 0) == WEFT_PENDING) {
		weft_coop_refund(cx);
		return 0;
	}
	w->phase = W_DONE;
	return res < 0 ? res : 1;
}

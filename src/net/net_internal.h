/*
 * src/net/net_internal.h - what the files of src/net share.  Private.
 */
#ifndef WEFT_SRC_NET_INTERNAL_H
#define WEFT_SRC_NET_INTERNAL_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "weft/net.h"

/* The phase of a weft_net_wait_: idle, a readiness wait out, finished, or
 * a completion operation out (the ring reads and writes of future.c, the
 * accepts and connects of sockops.c). */
enum { W_IDLE = 0, W_WAITING = 1, W_DONE = 2, W_RING = 3 };

/* 0 for an open socket; -EINVAL for NULL, -EBADF for fd -1.  Inline:
 * every socket future's init checks its socket. */
static inline int weft__net_check(const weft_socket *s)
{
	if (s == NULL)
		return -EINVAL;
	return s->fd < 0 ? -EBADF : 0;
}

/* Opens a non-blocking, close-on-exec socket into `out`.  Returns 0 or
 * -errno. */
int weft__net_open(weft_socket *out, int family, int type);

/*
 * The step every socket future shares (future.c): if a readiness wait is
 * in progress, polls it; then calls attempt(self), which makes the system
 * call and returns 1 when the future is finished (it stored the result)
 * or 0 when the call would block; on 0 starts a readiness wait for
 * `events` (POLLIN / POLLOUT) on w->fd and polls it.  Returns 1 (ready),
 * 0 (pending: the waker is stored) or a negative errno from the driver
 * (the future is finished with that error).  Spends one unit of budget.
 */
int weft__net_drive(weft_net_wait_ *w, weft_cx *cx, uint32_t events,
		    int (*attempt)(void *self), void *self);

/* The attempt of weft_sock_read (future.c); weft__net_drive knows it by
 * its address: it is the one attempt the drained hint applies to. */
int weft__net_read_attempt(void *self);

/* Forgets the drained hint of `fd` (future.c), when it is closed.  Any
 * thread. */
void weft__net_hint_forget(int fd);

/* Lets go of a readiness wait in progress (drop).  Any thread. */
void weft__net_wait_cancel(weft_net_wait_ *w);

/* Makes `w` idle on `fd`; phase done when `failed`. */
void weft__net_wait_init(weft_net_wait_ *w, int fd, bool failed);

/* True while `w` has a readiness wait out. */
bool weft__net_wait_busy(const weft_net_wait_ *w);

/* True once the future owning `w` finished. */
bool weft__net_wait_done(const weft_net_wait_ *w);

/*
 * Accept and connect as the driver's completion operations (sockops.c),
 * on a driver that has them beside readiness (WEFT__FEAT_SOCK_OPS: IOCP).
 *  - weft__net_accept_ops: true when accepts on the current runtime take
 *    weft__net_accept_drive.
 *  - weft__net_accept_drive: weft__net_drive for an accept attempt (the
 *    same returns): the attempt first; on EAGAIN an accept operation on
 *    w->fd, and the attempt again once it completed.
 *  - weft__net_accept_drop: the drop of an accept future driven so: lets
 *    go of its operation and, when that may have queued a connection,
 *    makes the listener's other accepts take it.  Any thread.
 *  - weft__net_connect_ops: true when a connect to `to` on the current
 *    runtime takes weft__net_connect_drive.
 *  - weft__net_connect_drive: opens *s for `to` (w->fd becomes it) and
 *    connects it with one connect operation; returns 1 connected, 0
 *    pending, or -errno (*s may then be open: the caller closes it).
 */
/*
 * Sends as completion operations, on the same drivers (sockops.c).
 *  - weft__net_send_ops: true when a write future with wait `w` takes
 *    weft__net_send_drive.
 *  - weft__net_send_drive: the attempt first (which sends what it can and
 *    stores the result when it finishes: 1, or 0 for EAGAIN); then the
 *    bytes of buf from *sent on (to len) as send operations, adding what
 *    each sent to *sent; with `all` until *sent is len, else after one.
 *    Returns as weft__net_drive.
 *  - weft__net_send_drop: the drop of such a future: lets go of its wait
 *    or operation and returns how many bytes an operation in flight had
 *    sent when its cancel took effect (0 when unknown).  Any thread.
 */
/* The drop of weft_sock_read (sockops.c): lets go of its wait or
 * operation; on IOCP a receive that completed unpolled gives its bytes (at
 * most len) to the socket's carry for the next read.  Any thread. */
void weft__net_read_drop(weft_net_wait_ *w, size_t len);

bool weft__net_send_ops(const weft_net_wait_ *w);
int weft__net_send_drive(weft_net_wait_ *w, weft_cx *cx, const void *buf, size_t len,
			 size_t *sent, bool all, int (*attempt)(void *self), void *self);
size_t weft__net_send_drop(weft_net_wait_ *w);

bool weft__net_accept_ops(void);
int weft__net_accept_drive(weft_net_wait_ *w, weft_cx *cx, int (*attempt)(void *self),
			   void *self);
void weft__net_accept_drop(weft_net_wait_ *w);
bool weft__net_connect_ops(const weft_net_wait_ *w, const weft_addr *to);
int weft__net_connect_drive(weft_net_wait_ *w, weft_cx *cx, weft_socket *s,
			    const weft_addr *to);

/* Test hook (future.c): nonzero makes weft_sock_read / weft_sock_write
 * ring operations on io_uring (the measurement of docs/net.md). */
extern _Atomic int weft__net_ring_rw;

#endif /* WEFT_SRC_NET_INTERNAL_H */

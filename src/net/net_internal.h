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

/* Test hook (future.c): nonzero makes weft_sock_read / weft_sock_write
 * ring operations on io_uring (the measurement of docs/net.md). */
extern _Atomic int weft__net_ring_rw;

#endif /* WEFT_SRC_NET_INTERNAL_H */

/*
 * src/net/incoming.c - a listener's stream of connections (weft_incoming).
 *
 * The protocol
 * ============
 *
 * An incoming stream has a mode, chosen at the first poll of a next:
 *  - MULTI (io_uring with WEFT__FEAT_ACCEPT_MULTI): one WEFT__OP_ACCEPT_MULTI
 *    operation whose slot belongs to the stream, not to a next.  The driver
 *    queues every fd the kernel accepts in the slot (op.c); a next pops one
 *    (weft__io_poll_multi) or stores its waker.  So a next dropped while
 *    waiting loses nothing: the fds stay in the slot for the next next.
 *    The multishot operation may end on its own: with an error such as
 *    EMFILE, which that next reports, the stream returning to IDLE so that
 *    the following next starts a new one; or without one (the kernel
 *    stopped it, e.g. its completion queue overflowed), when that next
 *    itself starts a new one (at its next poll) and goes on waiting.  A
 *    kernel before 5.19 refuses the multishot flag with -EINVAL before
 *    anything was accepted: the stream then falls back to SINGLE for good.
 *  - SINGLE (epoll, or no multishot): every next is one accept4 made in its
 *    poll, with a readiness wait on EAGAIN (future.c's weft__net_drive), so
 *    a dropped next accepted nothing; on IOCP an AcceptEx in place of the
 *    readiness wait (sockops.c), whose connection waits for the next
 *    accept when the next that started it was dropped.
 * weft_incoming_finish cancels the multishot operation through the
 * operation layer; the slot is freed by its final completion, which closes
 * every fd still queued (the driver's fd_closed counter).
 */
#define _GNU_SOURCE
#include "net_internal.h"
#include "../driver/driver.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

enum { M_IDLE = 0, M_MULTI = 1, M_SINGLE = 2, M_FINISHED = 3 };

static struct weft__io_op *slot_of(weft_incoming *in)
{
	return (struct weft__io_op *)(void *)&in->slot_;
}

int weft_incoming_init(weft_incoming *in, const weft_socket *l)
{
	int err;

	if (in == NULL)
		return -EINVAL;
	memset(in, 0, sizeof(*in));
	err = weft__net_check(l);
	in->fd_ = err < 0 ? -1 : l->fd;
	in->mode_ = err < 0 ? M_FINISHED : M_IDLE;
	return err;
}

void weft_incoming_finish(weft_incoming *in)
{
	if (in == NULL)
		return;
	if (in->mode_ == M_MULTI)
		weft__io_cancel(slot_of(in));
	in->mode_ = M_FINISHED;
}

/* Fills the next's socket from an accepted fd. */
static void take_fd(weft_incoming_next *f, int fd)
{
	f->socket.fd = fd;
	f->socket.type_ = SOCK_STREAM;
	if (weft_socket_peer_addr(&f->socket, &f->peer) < 0)
		memset(&f->peer, 0, sizeof(f->peer)); /* the peer already left */
	f->result = 0;
}

static int start_multi(weft_incoming *in)
{
	struct weft__io_req req = { WEFT__OP_ACCEPT_MULTI, in->fd_, 0, NULL, 0, 0, 0 };
	int err = weft__io_start(slot_of(in), &req);

	if (err == 0)
		in->mode_ = M_MULTI;
	return err;
}

/* MULTI: 1 ready (result or socket set), 0 pending, -1 switch to SINGLE. */
static int poll_multi(weft_incoming_next *f, weft_cx *cx)
{
	weft_incoming *in = f->in_;
	int32_t res;

	if (weft__io_poll_multi(slot_of(in), cx, &res) == WEFT_PENDING)
		return 0;
	if (res >= 0) {
		take_fd(f, res);
		return 1;
	}
	/* The operation ended and its slot is free. */
	in->mode_ = M_IDLE;
	if (res == -EINVAL) {
		in->mode_ = M_SINGLE; /* no multishot accept in this kernel */
		return -1;
	}
	/* Ended without an error (op.c reports -ECANCELED then): the kernel
	 * stopped it, e.g. when its completion queue overflowed under load.
	 * Not the caller's error: the next poll starts a new one. */
	if (res == -ECANCELED)
		return -2;
	f->result = res;
	return 1;
}

static int single_attempt(void *self)
{
	weft_incoming_next *f = self;
	weft_socket l = { f->wait_.fd, SOCK_STREAM };
	int rc = weft_try_accept(&l, &f->socket, &f->peer);

	if (rc == -EAGAIN)
		return 0;
	f->result = rc;
	return 1;
}

static weft_poll next_poll(weft_future *base, weft_cx *cx)
{
	weft_incoming_next *f = (weft_incoming_next *)base;
	weft_incoming *in = f->in_;
	int rc;

	if (weft__net_wait_done(&f->wait_))
		return WEFT_READY;
	if (in->mode_ == M_FINISHED) {
		f->result = -EBADF;
		weft__net_wait_init(&f->wait_, -1, true);
		return WEFT_READY;
	}
	if (in->mode_ == M_IDLE) {
		rc = weft__io_has(WEFT__FEAT_ACCEPT_MULTI) ? start_multi(in) : 0;
		if (in->mode_ == M_IDLE)
			in->mode_ = M_SINGLE;
		(void)rc; /* a failed start falls back to single accepts */
	}
	if (in->mode_ == M_MULTI) {
		if (!weft_coop_proceed(cx))
			return WEFT_PENDING;
		rc = poll_multi(f, cx);
		if (rc == 0) {
			weft_coop_refund(cx);
			return WEFT_PENDING;
		}
		if (rc == 1) {
			weft__net_wait_init(&f->wait_, -1, true);
			return WEFT_READY;
		}
		weft_coop_refund(cx);
		if (rc == -2) {
			weft_waker_wake_by_ref(weft_cx_waker(cx)); /* restart it */
			return WEFT_PENDING;
		}
	}
	rc = weft__net_accept_ops() ? weft__net_accept_drive(&f->wait_, cx, single_attempt, f)
				    : weft__net_drive(&f->wait_, cx, POLLIN, single_attempt, f);
	if (rc < 0)
		f->result = rc;
	return rc == 0 ? WEFT_PENDING : WEFT_READY;
}

static void next_drop(weft_future *base)
{
	/* MULTI: the operation is the stream's (a stored waker may wake the
	 * task once more, harmlessly).  SINGLE: cancel the readiness wait
	 * (or the accept operation, sockops.c). */
	weft__net_accept_drop(&((weft_incoming_next *)base)->wait_);
}

int weft_incoming_next_init(weft_incoming_next *f, weft_incoming *in)
{
	int err = 0;

	if (f == NULL)
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	f->base.poll = next_poll;
	f->base.drop = next_drop;
	f->socket.fd = -1;
	f->in_ = in;
	if (in == NULL)
		err = -EINVAL;
	else if (in->mode_ == M_FINISHED)
		err = -EBADF;
	weft__net_wait_init(&f->wait_, err < 0 ? -1 : in->fd_, err < 0);
	f->result = err;
	return err;
}

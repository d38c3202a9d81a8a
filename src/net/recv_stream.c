/*
 * src/net/recv_stream.c - weft_recv_stream: a stream socket's receive side
 * as one multishot receive with provided buffers (weft/net.h).
 *
 * How it runs
 * ===========
 *
 * The stream is a small state machine over one driver operation,
 * WEFT__OP_RECV_MULTI (uring.c: IORING_OP_RECV with IORING_RECV_MULTISHOT
 * and IOSQE_BUFFER_SELECT from the ring's pool of provided buffers):
 *  - idle: the first read starts the operation (mode multi).  On epoll, or
 *    when the start fails (no pool: a kernel without buffer rings), the
 *    stream turns plain for good.
 *  - multi: a read takes bytes from the buffers the operation queued
 *    (weft__io_poll_recv copies them and gives emptied buffers back to the
 *    pool) or waits.  The operation ends when the kernel stops it: with
 *    -ENOBUFS when the pool was dry (every buffer held by unread
 *    streams), or after a final completion that carried bytes (both read
 *    here as -ENOBUFS); the stream goes idle and that read is a plain one,
 *    so a stream always makes progress while the pool is dry, and the
 *    next read starts a new operation.  End of stream (0) and errors are
 *    that read's result and make the stream plain.  -EINVAL (a kernel
 *    before 6.0, which has buffer rings but no multishot receive) makes it
 *    plain too.
 *  - plain: each read is weft_sock_read's (syscall first, readiness wait
 *    on EAGAIN), through future.c's weft__net_drive.
 *  - finished: weft_recv_stream_finish cancelled the operation; the
 *    driver frees its slot and gives its buffers back at the final
 *    completion.
 *
 * Cancellation: the operation belongs to the stream, not to the read, so a
 * dropped read leaves every queued byte to the next read; a plain read is
 * cancellation-safe as weft_sock_read is.
 */
#define _GNU_SOURCE
#include "net_internal.h"
#include "../driver/driver.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

enum { R_IDLE = 0, R_MULTI = 1, R_PLAIN = 2, R_FINISHED = 3 };

static struct weft__io_op *slot_of(weft_recv_stream *rs)
{
	return (struct weft__io_op *)(void *)&rs->slot_;
}

int weft_recv_stream_init(weft_recv_stream *rs, const weft_socket *s)
{
	int err;

	if (rs == NULL)
		return -EINVAL;
	memset(rs, 0, sizeof(*rs));
	err = weft__net_check(s);
	rs->fd_ = err < 0 ? -1 : s->fd;
	rs->mode_ = err < 0 ? R_FINISHED : R_IDLE;
	return err;
}

void weft_recv_stream_finish(weft_recv_stream *rs)
{
	if (rs == NULL)
		return;
	if (rs->mode_ == R_MULTI)
		weft__io_cancel(slot_of(rs));
	rs->mode_ = R_FINISHED;
}

static int start_multi(weft_recv_stream *rs)
{
	struct weft__io_req req = { WEFT__OP_RECV_MULTI, rs->fd_, 0, NULL, 0, 0, 0 };
	int err = weft__io_start(slot_of(rs), &req);

	if (err == 0)
		rs->mode_ = R_MULTI;
	return err;
}

/* MULTI: 1 ready (result set), 0 pending, -1 this read goes plain. */
static int poll_multi(weft_recv_stream_read *f, weft_cx *cx)
{
	weft_recv_stream *rs = f->rs_;
	long res;

	if (weft__io_poll_recv(slot_of(rs), cx, f->buf_, f->len_, &res) == WEFT_PENDING)
		return 0;
	if (res > 0) {
		f->result = res;
		return 1;
	}
	/* The operation ended and its slot is free. */
	if (res == -ENOBUFS) {
		rs->mode_ = R_IDLE; /* this read is plain, the next starts again */
		return -1;
	}
	rs->mode_ = R_PLAIN;
	if (res == -EINVAL)
		return -1; /* no multishot receive in this kernel */
	/* The end of the stream (0) or an error: this read reports it, and
	 * the plain reads after it see the socket's own answer. */
	f->result = res;
	return 1;
}

static int plain_attempt(void *self)
{
	weft_recv_stream_read *f = self;
	weft_socket s = { f->wait_.fd, 0 };
	long n = weft_try_read(&s, f->buf_, f->len_);

	if (n == -EAGAIN)
		return 0;
	f->result = n;
	return 1;
}

/* IDLE: starts the multishot receive, or turns the stream plain. */
static void leave_idle(weft_recv_stream *rs)
{
	if (!weft__io_has(WEFT__FEAT_RECV_MULTI) || start_multi(rs) < 0)
		rs->mode_ = R_PLAIN;
}

static weft_poll read_poll(weft_future *base, weft_cx *cx)
{
	weft_recv_stream_read *f = (weft_recv_stream_read *)base;
	weft_recv_stream *rs = f->rs_;
	int rc;

	if (weft__net_wait_done(&f->wait_))
		return WEFT_READY;
	if (rs->mode_ == R_FINISHED) {
		f->result = -EBADF;
		weft__net_wait_init(&f->wait_, -1, true);
		return WEFT_READY;
	}
	/* A plain read in progress (its wait is out) goes on as one. */
	if (rs->mode_ == R_IDLE && !weft__net_wait_busy(&f->wait_))
		leave_idle(rs);
	if (rs->mode_ == R_MULTI && f->len_ != 0) {
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
	}
	rc = weft__net_drive(&f->wait_, cx, POLLIN, plain_attempt, f);
	if (rc < 0)
		f->result = rc;
	return rc == 0 ? WEFT_PENDING : WEFT_READY;
}

static void read_drop(weft_future *base)
{
	/* MULTI: the operation is the stream's (a stored waker may wake the
	 * task once more, harmlessly).  Plain: cancel the readiness wait. */
	weft__net_wait_cancel(&((weft_recv_stream_read *)base)->wait_);
}

int weft_recv_stream_read_init(weft_recv_stream_read *f, weft_recv_stream *rs, void *buf,
			       size_t len)
{
	int err = 0;

	if (f == NULL)
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	f->base.poll = read_poll;
	f->base.drop = read_drop;
	f->rs_ = rs;
	f->buf_ = buf;
	f->len_ = len;
	if (rs == NULL || (buf == NULL && len != 0))
		err = -EINVAL;
	else if (rs->mode_ == R_FINISHED)
		err = -EBADF;
	weft__net_wait_init(&f->wait_, err < 0 ? -1 : rs->fd_, err < 0);
	f->result = err;
	return err;
}

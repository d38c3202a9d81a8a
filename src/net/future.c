/*
 * src/net/future.c - the socket futures of weft/net.h.
 *
 * How a socket future runs
 * ========================
 *
 * Each future makes its system call (recv, send, accept4, connect,
 * recvfrom, sendto) inside its own poll, non-blocking.  When the call
 * answers EAGAIN the future starts a readiness wait in the runtime's
 * driver (WEFT__OP_POLL: IORING_OP_POLL_ADD on io_uring; on epoll and
 * kqueue an edge-triggered registration made once per socket, with the
 * readiness kept by the driver, WEFT__POLL_EDGE), stores its waker there,
 * and returns pending; the next poll after readiness makes the call again.
 * A socket is closed through weft__io_fd_close so that the driver forgets
 * it.  So:
 *  - latency first: a socket with data (or room) costs one system call and
 *    no driver round trip, on both backends;
 *  - cancellation is trivially safe: data only moves inside a poll, and the
 *    result is recorded before the poll returns, so a dropped read read
 *    nothing, a dropped write wrote nothing it did not report, a dropped
 *    accept accepted nothing.  The kernel holds no pointer to the future or
 *    to the caller's buffer after a poll returns (a readiness wait has no
 *    buffer), so no copy through a driver-owned buffer is needed either;
 *  - a dropped future with a readiness wait in flight cancels it through
 *    the operation layer (the slot is freed by the final completion).
 *
 * The shared step is weft__net_drive; each future supplies an `attempt`
 * that makes its call and stores its result.
 *
 * On a driver whose socket waits are better made as completion operations
 * (WEFT__FEAT_SOCK_OPS: IOCP) the call still comes first, and what follows
 * an EAGAIN is the operation itself: a receive, the rest of a send, an
 * accept, a connect (sockops.c, use_recv_op below), each exact when
 * dropped because the driver settles a cancel before the drop returns.
 */
#define _GNU_SOURCE
#include "net_internal.h"
#include "../driver/driver.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Test hook: 1 makes weft_sock_read and weft_sock_write ring operations
 * (IORING_OP_RECV / SEND) on io_uring, for the measurement in docs/net.md;
 * 0 (the default) is the syscall first. */
_Atomic int weft__net_ring_rw;

static struct weft__io_op *op_of(weft_net_wait_ *w)
{
	return (struct weft__io_op *)(void *)&w->slot;
}

void weft__net_wait_init(weft_net_wait_ *w, int fd, bool failed)
{
	w->slot.thread_ = NULL;
	w->slot.index_ = 0;
	w->slot.gen_ = 0;
	w->fd = fd;
	w->phase = failed ? W_DONE : W_IDLE;
}

bool weft__net_wait_busy(const weft_net_wait_ *w)
{
	return w->phase == W_WAITING;
}

bool weft__net_wait_done(const weft_net_wait_ *w)
{
	return w->phase == W_DONE;
}

void weft__net_wait_cancel(weft_net_wait_ *w)
{
	weft__io_cancel(op_of(w));
}

/*
 * The drained hint (io_uring).  A stream read that returned fewer bytes than
 * it asked for emptied the socket, so the next read of that socket will
 * most likely find nothing: a request/response connection reads, answers,
 * and reads again long before the peer's next request arrives.  That read
 * then starts its readiness wait at once instead of making a recv that
 * answers EAGAIN first.  IORING_OP_POLL_ADD checks the socket when the
 * entry is submitted and completes there if the socket is readable, so a
 * wrong hint costs one trip through the ring and never a lost wake-up.
 * One bit per fd below HINT_FDS (higher fds get no hint); relaxed bit
 * operations, since a stale bit is only a guess that is wrong.  A read
 * that filled its buffer clears the bit, and so does closing the socket.
 * (Tokio clears its readiness on a short read for the same reason.)
 */
#define HINT_FDS 65536
#define HINT_BITS (8 * sizeof(unsigned long))
static _Atomic unsigned long drained_hint[HINT_FDS / HINT_BITS];

static void hint_set(int fd, bool drained)
{
	unsigned long bit;

	if (fd < 0 || fd >= HINT_FDS)
		return;
	bit = 1ul << ((unsigned)fd % HINT_BITS);
	/* Relaxed: a hint, read without ordering (above).  The load first
	 * keeps the common case, no change, free of a locked operation. */
	if (((atomic_load_explicit(&drained_hint[fd / HINT_BITS], memory_order_relaxed) &
	      bit) != 0) == drained)
		return;
	if (drained)
		atomic_fetch_or_explicit(&drained_hint[fd / HINT_BITS], bit,
					 memory_order_relaxed);
	else
		atomic_fetch_and_explicit(&drained_hint[fd / HINT_BITS], ~bit,
					  memory_order_relaxed);
}

static bool hint_drained(int fd)
{
	if (fd < 0 || fd >= HINT_FDS)
		return false;
	/* Relaxed: see hint_set. */
	return (atomic_load_explicit(&drained_hint[fd / HINT_BITS], memory_order_relaxed) >>
		((unsigned)fd % HINT_BITS)) &
	       1u;
}

void weft__net_hint_forget(int fd)
{
	hint_set(fd, false);
}

/* Readiness `res` of a finished wait as poll_wait returns it. */
static int wait_result(int32_t res)
{
	if (res < 0)
		return res;
	if (res & POLLNVAL)
		return -EBADF;
	return 1;
}

/* Polls the readiness wait: 1 ready, 0 pending, or -errno. */
static int poll_wait(weft_net_wait_ *w, weft_cx *cx)
{
	int32_t res;

	if (weft__io_poll(op_of(w), cx, &res, NULL, 0) == WEFT_PENDING)
		return 0;
	w->phase = W_IDLE;
	return wait_result(res);
}

/* Starts the readiness wait (edge-triggered on the readiness drivers, with
 * the tick read before the failed attempt; driver.h, WEFT__POLL_EDGE) and
 * polls it once, in one trip to the slab: 1 when the readiness was there
 * at once (try again), 0 pending (the waker is stored), or -errno. */
static int start_wait(weft_net_wait_ *w, weft_cx *cx, uint32_t events, uint32_t tick)
{
	struct weft__io_req req = { WEFT__OP_POLL, w->fd, events | WEFT__POLL_EDGE,
				    NULL, 0, tick, 0 };
	int32_t res = 0;
	int rc = weft__io_start_poll(op_of(w), &req, cx, &res);

	if (rc == 0)
		w->phase = W_WAITING;
	else if (rc == 1)
		rc = wait_result(res);
	return rc;
}

int weft__net_drive(weft_net_wait_ *w, weft_cx *cx, uint32_t events,
		    int (*attempt)(void *self), void *self)
{
	bool completion;
	int rc;

	if (w->phase == W_DONE)
		return 1;
	if (!weft_coop_proceed(cx))
		return 0;
	rc = 1;
	/* Asked once per poll: the readiness tick below exists only on the
	 * readiness drivers, the drained hint's early wait only on io_uring. */
	completion = weft__io_completion_based();
	if (w->phase == W_IDLE && events == POLLIN && attempt == weft__net_read_attempt &&
	    completion && hint_drained(w->fd))
		rc = start_wait(w, cx, events, 0);
	for (;;) {
		bool unready = false;
		uint32_t tick = 0;

		if (rc == 1 && w->phase == W_WAITING)
			rc = poll_wait(w, cx);
		if (rc == 0) {
			weft_coop_refund(cx);
			return 0;
		}
		if (rc < 0)
			break;
		/* Edge-triggered readiness (driver.h, WEFT__POLL_EDGE): the
		 * tick before the call, no call when it would say EAGAIN. */
		if (!completion)
			tick = weft__io_ready_tick(w->fd, events, &unready);
		if (!unready && attempt(self)) {
			/* A short read drained the socket: the readiness
			 * driver forgets it now, and the next read waits
			 * without a recv that says EAGAIN (the drained hint's
			 * counterpart on epoll and kqueue). */
			if (tick != 0 && attempt == weft__net_read_attempt &&
			    hint_drained(w->fd))
				weft__io_ready_drained(w->fd, POLLIN, tick);
			w->phase = W_DONE;
			return 1;
		}
		rc = start_wait(w, cx, events, tick);
	}
	w->phase = W_DONE;
	return rc;
}

/* ---- accept --------------------------------------------------------------- */

static int accept_attempt(void *self)
{
	weft_accept_future *f = self;
	weft_socket l = { f->wait_.fd, SOCK_STREAM };
	int rc = weft_try_accept(&l, &f->socket, &f->peer);

	if (rc == -EAGAIN)
		return 0;
	f->result = rc;
	return 1;
}

static weft_poll accept_poll(weft_future *base, weft_cx *cx)
{
	weft_accept_future *f = (weft_accept_future *)base;
	int rc = weft__net_accept_ops() ? weft__net_accept_drive(&f->wait_, cx, accept_attempt, f)
					: weft__net_drive(&f->wait_, cx, POLLIN, accept_attempt, f);

	if (rc < 0)
		f->result = rc;
	return rc == 0 ? WEFT_PENDING : WEFT_READY;
}

static void accept_drop(weft_future *base)
{
	weft__net_accept_drop(&((weft_accept_future *)base)->wait_);
}

int weft_accept_init(weft_accept_future *f, const weft_socket *l)
{
	int err;

	if (f == NULL)
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	f->base.poll = accept_poll;
	f->base.drop = accept_drop;
	f->socket.fd = -1;
	err = weft__net_check(l);
	weft__net_wait_init(&f->wait_, err < 0 ? -1 : l->fd, err < 0);
	f->result = err;
	return err;
}

/* ---- connect ------------------------------------------------------------- */

static int connect_fail(weft_connect_future *f, int err)
{
	weft__io_fd_close(f->socket.fd);
	close(f->socket.fd);
	f->socket.fd = -1;
	f->socket.type_ = 0;
	f->result = err;
	return 1;
}

static int connect_attempt(void *self)
{
	weft_connect_future *f = self;
	int err = 0;
	socklen_t len = sizeof(err);

	if (f->socket.fd < 0) {
		err = weft__net_open(&f->socket, f->addr_.storage.ss_family, SOCK_STREAM);
		if (err < 0) {
			f->result = err;
			return 1;
		}
		f->wait_.fd = f->socket.fd;
		if (connect(f->socket.fd, (const struct sockaddr *)&f->addr_.storage,
			    f->addr_.len) == 0) {
			f->result = 0;
			return 1;
		}
		if (errno == EINPROGRESS || errno == EINTR)
			return 0;
		return connect_fail(f, -errno);
	}
	if (getsockopt(f->socket.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0)
		return connect_fail(f, -err);
	f->result = 0;
	return 1;
}

static weft_poll connect_poll(weft_future *base, weft_cx *cx)
{
	weft_connect_future *f = (weft_connect_future *)base;
	int rc = weft__net_connect_ops(&f->wait_, &f->addr_)
			 ? weft__net_connect_drive(&f->wait_, cx, &f->socket, &f->addr_)
			 : weft__net_drive(&f->wait_, cx, POLLOUT, connect_attempt, f);

	if (rc < 0 && f->socket.fd >= 0)
		connect_fail(f, rc);
	else if (rc < 0)
		f->result = rc;
	return rc == 0 ? WEFT_PENDING : WEFT_READY;
}

static void connect_drop(weft_future *base)
{
	weft_connect_future *f = (weft_connect_future *)base;

	weft__net_wait_cancel(&f->wait_);
	/* Not finished: the half-made socket is ours to close.  Finished
	 * with success: the socket is the caller's. */
	if (!weft__net_wait_done(&f->wait_) && f->socket.fd >= 0) {
		weft__io_fd_close(f->socket.fd);
		close(f->socket.fd);
		f->socket.fd = -1;
	}
}

int weft_connect_init(weft_connect_future *f, const weft_addr *addr)
{
	int fam, err = 0;

	if (f == NULL)
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	f->base.poll = connect_poll;
	f->base.drop = connect_drop;
	f->socket.fd = -1;
	fam = weft_addr_family(addr);
	if (fam < 0)
		err = -EINVAL;
	else if (fam != AF_INET && fam != AF_INET6 && fam != AF_UNIX)
		err = -EAFNOSUPPORT;
	else
		f->addr_ = *addr;
	weft__net_wait_init(&f->wait_, -1, err < 0);
	f->result = err;
	return err;
}

/* ---- read and write -------------------------------------------------------- */

int weft__net_read_attempt(void *self)
{
	weft_sock_read *f = self;
	weft_socket s = { f->wait_.fd, 0 };
	long n = weft_try_read(&s, f->buf_, f->len_);

	/* A short read or EAGAIN emptied the socket; a full one may not
	 * have (the drained hint above). */
	hint_set(f->wait_.fd, n == -EAGAIN || (n > 0 && (size_t)n < f->len_));
	if (n == -EAGAIN)
		return 0;
	f->result = n;
	return 1;
}

/*
 * The ring variant (weft__net_ring_rw): one IORING_OP_RECV or SEND whose
 * bytes go through the slot's buffer.  Returns 1 ready (*result set), 0
 * pending.  Not the default: a recv that completes while its cancel is in
 * flight consumed bytes that nobody will see (docs/net.md).
 */
static int ring_rw(weft_net_wait_ *w, weft_cx *cx, bool send, void *buf, size_t len,
		   long *result)
{
	int32_t res;

	if (w->phase == W_DONE)
		return 1;
	if (!weft_coop_proceed(cx))
		return 0;
	if (w->phase == W_IDLE) {
		struct weft__io_req req = { send ? WEFT__OP_SEND : WEFT__OP_RECV, w->fd, 0, buf,
					    len, 0, 0 };
		int err = weft__io_start(op_of(w), &req);

		if (err < 0) {
			*result = err;
			w->phase = W_DONE;
			return 1;
		}
		w->phase = W_RING;
	}
	if (weft__io_poll(op_of(w), cx, &res, send ? NULL : buf, len) == WEFT_PENDING) {
		weft_coop_refund(cx);
		return 0;
	}
	*result = res;
	w->phase = W_DONE;
	return 1;
}

static bool use_ring_rw(const weft_net_wait_ *w)
{
	/* Relaxed: a test sets it before the futures start. */
	return w->phase == W_RING ||
	       (w->phase == W_IDLE &&
		atomic_load_explicit(&weft__net_ring_rw, memory_order_relaxed) != 0 &&
		(weft__io_completion_based() || weft__io_has(WEFT__FEAT_SOCK_OPS)));
}

/*
 * The read's wait on a driver with socket operations beside readiness
 * (WEFT__FEAT_SOCK_OPS: IOCP): the recv first, as everywhere, and when it
 * finds nothing, one receive operation (an overlapped WSARecv into the
 * slot's buffer) in place of a readiness wait and a second recv.  A
 * dropped receive there is exact (the driver cancels it and waits, and
 * what it took goes to the socket's carry, which every later read takes
 * first: src/net/carry_win32.c), so the promise of the syscall-first path
 * holds: a dropped read took nothing the next read does not get.
 */
static bool use_recv_op(const weft_net_wait_ *w)
{
	return w->phase == W_IDLE && weft__io_has(WEFT__FEAT_SOCK_OPS);
}

static weft_poll read_poll(weft_future *base, weft_cx *cx)
{
	weft_sock_read *f = (weft_sock_read *)base;
	int rc;

	if (use_ring_rw(&f->wait_))
		return ring_rw(&f->wait_, cx, false, f->buf_, f->len_, &f->result) ? WEFT_READY
										    : WEFT_PENDING;
	if (use_recv_op(&f->wait_)) {
		if (!weft_coop_proceed(cx))
			return WEFT_PENDING;
		if (weft__net_read_attempt(f)) {
			f->wait_.phase = W_DONE;
			return WEFT_READY;
		}
		weft_coop_refund(cx); /* ring_rw spends it */
		return ring_rw(&f->wait_, cx, false, f->buf_, f->len_, &f->result) ? WEFT_READY
										    : WEFT_PENDING;
	}
	rc = weft__net_drive(&f->wait_, cx, POLLIN, weft__net_read_attempt, f);

	if (rc < 0)
		f->result = rc;
	return rc == 0 ? WEFT_PENDING : WEFT_READY;
}

static void read_drop(weft_future *base)
{
	weft_sock_read *f = (weft_sock_read *)base;

	weft__net_read_drop(&f->wait_, f->len_);
}

/* Common init of the buffer futures: 0 or the error the future holds. */
static int buf_init(weft_net_wait_ *w, const weft_socket *s, const void *buf, size_t len)
{
	int err = weft__net_check(s);

	if (err == 0 && buf == NULL && len != 0)
		err = -EINVAL;
	weft__net_wait_init(w, err < 0 ? -1 : s->fd, err < 0);
	return err;
}

int weft_sock_read_init(weft_sock_read *f, const weft_socket *s, void *buf, size_t len)
{
	if (f == NULL)
		return -EINVAL;
	f->base.poll = read_poll;
	f->base.drop = read_drop;
	f->buf_ = buf;
	f->len_ = len;
	f->result = buf_init(&f->wait_, s, buf, len);
	return (int)f->result;
}

static int write_attempt(void *self)
{
	weft_sock_write *f = self;
	weft_socket s = { f->wait_.fd, 0 };
	long n = weft_try_write(&s, f->buf_, f->len_);

	if (n == -EAGAIN)
		return 0;
	f->result = n;
	return 1;
}

static weft_poll write_poll(weft_future *base, weft_cx *cx)
{
	weft_sock_write *f = (weft_sock_write *)base;
	int rc;

	if (use_ring_rw(&f->wait_))
		return ring_rw(&f->wait_, cx, true, (void *)f->buf_, f->len_, &f->result)
			       ? WEFT_READY
			       : WEFT_PENDING;
	if (weft__net_send_ops(&f->wait_)) {
		size_t sent = 0; /* one operation: it finishes the future */

		rc = weft__net_send_drive(&f->wait_, cx, f->buf_, f->len_, &sent, false,
					  write_attempt, f);
		if (rc == 1 && sent != 0)
			f->result = (long)sent;
	} else {
		rc = weft__net_drive(&f->wait_, cx, POLLOUT, write_attempt, f);
	}

	if (rc < 0)
		f->result = rc;
	return rc == 0 ? WEFT_PENDING : WEFT_READY;
}

static void write_drop(weft_future *base)
{
	weft_sock_write *f = (weft_sock_write *)base;
	size_t sent = weft__net_send_drop(&f->wait_);

	/* A send operation cut short by the drop (IOCP) says what it sent. */
	if (sent != 0)
		f->result = (long)sent;
}

int weft_sock_write_init(weft_sock_write *f, const weft_socket *s, const void *buf,
			 size_t len)
{
	if (f == NULL)
		return -EINVAL;
	f->base.poll = write_poll;
	f->base.drop = write_drop;
	f->buf_ = buf;
	f->len_ = len;
	f->result = buf_init(&f->wait_, s, buf, len);
	return (int)f->result;
}

static int write_all_attempt(void *self)
{
	weft_write_all_future *f = self;
	weft_socket s = { f->wait_.fd, 0 };

	while (f->written < f->len_) {
		long n = weft_try_write(&s, (const char *)f->buf_ + f->written,
					f->len_ - f->written);

		if (n == -EAGAIN)
			return 0;
		if (n < 0) {
			f->result = (int)n;
			return 1;
		}
		f->written += (size_t)n;
	}
	f->result = 0;
	return 1;
}

static weft_poll write_all_poll(weft_future *base, weft_cx *cx)
{
	weft_write_all_future *f = (weft_write_all_future *)base;
	int rc = weft__net_send_ops(&f->wait_)
			 ? weft__net_send_drive(&f->wait_, cx, f->buf_, f->len_, &f->written, true,
						write_all_attempt, f)
			 : weft__net_drive(&f->wait_, cx, POLLOUT, write_all_attempt, f);

	if (rc < 0)
		f->result = rc;
	return rc == 0 ? WEFT_PENDING : WEFT_READY;
}

static void write_all_drop(weft_future *base)
{
	weft_write_all_future *f = (weft_write_all_future *)base;

	/* What a send operation cut short by the drop sent counts (IOCP). */
	f->written += weft__net_send_drop(&f->wait_);
}

int weft_write_all_init(weft_write_all_future *f, const weft_socket *s, const void *buf,
			size_t len)
{
	if (f == NULL)
		return -EINVAL;
	f->base.poll = write_all_poll;
	f->base.drop = write_all_drop;
	f->buf_ = buf;
	f->len_ = len;
	f->written = 0;
	f->result = buf_init(&f->wait_, s, buf, len);
	return f->result;
}

/* ---- datagrams --------------------------------------------------------------- */

static int send_to_attempt(void *self)
{
	weft_send_to_future *f = self;
	weft_socket s = { f->wait_.fd, SOCK_DGRAM };
	long n = weft_try_send_to(&s, f->buf_, f->len_, f->to_.len != 0 ? &f->to_ : NULL);

	if (n == -EAGAIN)
		return 0;
	f->result = n;
	return 1;
}

static weft_poll send_to_poll(weft_future *base, weft_cx *cx)
{
	weft_send_to_future *f = (weft_send_to_future *)base;
	int rc = weft__net_drive(&f->wait_, cx, POLLOUT, send_to_attempt, f);

	if (rc < 0)
		f->result = rc;
	return rc == 0 ? WEFT_PENDING : WEFT_READY;
}

static void send_to_drop(weft_future *base)
{
	weft__net_wait_cancel(&((weft_send_to_future *)base)->wait_);
}

int weft_send_to_init(weft_send_to_future *f, const weft_socket *s, const void *buf,
		      size_t len, const weft_addr *to)
{
	if (f == NULL)
		return -EINVAL;
	f->base.poll = send_to_poll;
	f->base.drop = send_to_drop;
	f->buf_ = buf;
	f->len_ = len;
	memset(&f->to_, 0, sizeof(f->to_));
	f->result = buf_init(&f->wait_, s, buf, len);
	if (f->result == 0 && to != NULL) {
		if (to->len == 0 || to->len > (socklen_t)sizeof(to->storage)) {
			f->result = -EINVAL;
			weft__net_wait_init(&f->wait_, -1, true);
		} else {
			f->to_ = *to;
		}
	}
	return (int)f->result;
}

static int recv_from_attempt(void *self)
{
	weft_recv_from_future *f = self;
	weft_socket s = { f->wait_.fd, SOCK_DGRAM };
	long n = weft_try_recv_from(&s, f->buf_, f->len_, &f->from);

	if (n == -EAGAIN)
		return 0;
	f->result = n;
	return 1;
}

static weft_poll recv_from_poll(weft_future *base, weft_cx *cx)
{
	weft_recv_from_future *f = (weft_recv_from_future *)base;
	int rc = weft__net_drive(&f->wait_, cx, POLLIN, recv_from_attempt, f);

	if (rc < 0)
		f->result = rc;
	return rc == 0 ? WEFT_PENDING : WEFT_READY;
}

static void recv_from_drop(weft_future *base)
{
	weft__net_wait_cancel(&((weft_recv_from_future *)base)->wait_);
}

int weft_recv_from_init(weft_recv_from_future *f, const weft_socket *s, void *buf,
			size_t len)
{
	if (f == NULL)
		return -EINVAL;
	f->base.poll = recv_from_poll;
	f->base.drop = recv_from_drop;
	f->buf_ = buf;
	f->len_ = len;
	memset(&f->from, 0, sizeof(f->from));
	f->result = buf_init(&f->wait_, s, buf, len);
	return (int)f->result;
}

/*
 * src/driver/io.c - the public fd futures (weft/io.h) over the operation
 * layer (op.c).
 *
 * Readiness (weft_fd_ready) is one WEFT__OP_POLL operation on every
 * backend: IORING_OP_POLL_ADD (one shot) on io_uring, a one-shot
 * registration on epoll and kqueue (ready.c).  These futures take any fd
 * the caller owns, and weft never sees such an fd closed, so they do not
 * use the edge-triggered registrations of src/net's sockets
 * (WEFT__POLL_EDGE), which must be forgotten at close.
 *
 * Reads and writes are a small state machine.  The first poll makes the
 * call itself, in a form that cannot block (try_nowait): preadv2(2) or
 * pwritev2(2) with RWF_NOWAIT, which a blocking fd and an O_NONBLOCK one
 * both take, so the init makes no system call at all (it checks only what
 * it can see: a negative fd, the buffer, the length), and a closed fd or
 * one open only for the other direction is the EBADF of that first call.
 * Bytes already there (or room to write) therefore cost one syscall and no
 * driver round trip, on every thread: a plain thread's block_on no longer
 * hands the read to a worker's ring.  When that call does not finish, the
 * fd's mode decides what follows, so the poll learns it then (fcntl); an
 * O_NONBLOCK fd that refuses RWF_NOWAIT gets the plain read(2) or
 * write(2), and so does every later call on an O_NONBLOCK fd.
 * When that call would block:
 *  - io_uring: a blocking fd gets the read or write as a ring operation; an
 *    O_NONBLOCK fd waits for readiness and calls again.
 *  - epoll, kqueue: readiness, then the call again.  A blocking fd whose
 *    kind refuses RWF_NOWAIT (EOPNOTSUPP: a tty, say) waits for readiness
 *    first and then makes the plain call (which another reader of the fd
 *    can make block: give such fds O_NONBLOCK); on io_uring it goes to the
 *    ring at once, as before.
 */
#define _GNU_SOURCE
#include "weft/io.h"
#include "driver.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <sys/uio.h>
#include <unistd.h>

_Static_assert(sizeof(weft_io_slot_) == sizeof(struct weft__io_op) &&
		       offsetof(weft_io_slot_, index_) == offsetof(struct weft__io_op, index) &&
		       offsetof(weft_io_slot_, gen_) == offsetof(struct weft__io_op, gen),
	       "the public slot mirror matches the driver's handle");

#define MAX_IO_LEN ((size_t)1 << 30)

/* preadv2 / pwritev2 with RWF_NOWAIT: Linux 4.14 and later (a build for
 * another system, such as cross/posix-no-linux.ini, takes the old path). */
#if WEFT_HAVE_EPOLL && defined(RWF_NOWAIT)
#define HAVE_RWF_NOWAIT 1
#else
#define HAVE_RWF_NOWAIT 0
#endif

enum { PHASE_START, PHASE_WAIT_READY, PHASE_IN_KERNEL, PHASE_FAILED };

static struct weft__io_op *op_of(weft_io_slot_ *s)
{
	return (struct weft__io_op *)(void *)s;
}

static void slot_reset(weft_io_slot_ *s)
{
	s->thread_ = NULL;
	s->index_ = 0;
	s->gen_ = 0;
}

/* 0 for an open fd, -EBADF otherwise; *nonblock says O_NONBLOCK.
 * `access` (O_RDONLY for a read, O_WRONLY for a write, -1: any) must be
 * allowed by the fd's mode, as read(2) and write(2) check: otherwise a
 * readiness wait for it (epoll) would never end. */
static int check_fd(int fd, int *nonblock, int access)
{
	int fl, mode;

	if (fd < 0)
		return -EBADF;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -EBADF;
	mode = fl & O_ACCMODE;
	if (access != -1 && mode != O_RDWR && mode != access)
		return -EBADF;
	if (nonblock != NULL)
		*nonblock = (fl & O_NONBLOCK) != 0;
	return 0;
}

static unsigned to_weft_events(int32_t revents)
{
	unsigned r = 0;

	if (revents & POLLIN)
		r |= WEFT_IO_READABLE;
	if (revents & POLLOUT)
		r |= WEFT_IO_WRITABLE;
	if (revents & POLLERR)
		r |= WEFT_IO_ERROR;
	if (revents & (POLLHUP | POLLRDHUP))
		r |= WEFT_IO_HUP;
	return r;
}

static uint32_t to_poll_events(unsigned events)
{
	return ((events & WEFT_IO_READABLE) ? POLLIN : 0) |
	       ((events & WEFT_IO_WRITABLE) ? POLLOUT : 0);
}

/* ---- readiness ------------------------------------------------------------ */

static weft_poll fd_ready_poll(weft_future *base, weft_cx *cx)
{
	weft_fd_ready *f = (weft_fd_ready *)base;
	int32_t res;

	if (f->started == 2)
		return WEFT_READY; /* init failed: result holds the error */
	if (!weft_coop_proceed(cx))
		return WEFT_PENDING;
	if (!f->started) {
		struct weft__io_req req = { WEFT__OP_POLL, f->fd, to_poll_events(f->events),
					    NULL, 0, 0, 0 };
		int err = weft__io_start(op_of(&f->slot), &req);

		if (err < 0) {
			f->result = err;
			return WEFT_READY;
		}
		f->started = 1;
	}
	if (weft__io_poll(op_of(&f->slot), cx, &res, NULL, 0) == WEFT_PENDING) {
		weft_coop_refund(cx);
		return WEFT_PENDING;
	}
	f->result = res < 0 ? res : (int)to_weft_events(res);
	if (res >= 0 && (res & POLLNVAL))
		f->result = -EBADF;
	return WEFT_READY;
}

static void fd_ready_drop(weft_future *base)
{
	weft_fd_ready *f = (weft_fd_ready *)base;

	weft__io_cancel(op_of(&f->slot));
}

int weft_fd_ready_init(weft_fd_ready *f, int fd, unsigned events)
{
	int err;

	if (f == NULL)
		return -EINVAL;
	f->base.poll = fd_ready_poll;
	f->base.drop = fd_ready_drop;
	f->result = 0;
	f->fd = fd;
	f->events = events;
	f->started = 0;
	slot_reset(&f->slot);
	if (events == 0 || (events & ~(WEFT_IO_READABLE | WEFT_IO_WRITABLE)) != 0)
		err = -EINVAL;
	else
		err = check_fd(fd, NULL, -1);
	if (err < 0) {
		/* Polling it reports the error; dropping it is a no-op. */
		f->started = 2;
		f->result = err;
	}
	return err;
}

/* ---- reads and writes -------------------------------------------------- */

struct rw {
	int fd;
	int *phase;
	/* 1: O_NONBLOCK, 0: blocking, -1: not known yet (resolve_mode). */
	int *nonblock;
	bool write;
	void *buf;
	size_t len;
	weft_io_slot_ *slot;
	long *result;
};

static int start_ready_wait(struct rw *rw)
{
	struct weft__io_req req = { WEFT__OP_POLL, rw->fd, rw->write ? POLLOUT : POLLIN,
				    NULL, 0, 0, 0 };
	int err = weft__io_start(op_of(rw->slot), &req);

	if (err == 0)
		*rw->phase = PHASE_WAIT_READY;
	return err;
}

static int start_in_kernel(struct rw *rw)
{
	struct weft__io_req req = { rw->write ? WEFT__OP_WRITE : WEFT__OP_READ, rw->fd, 0,
				    rw->buf, rw->len, 0, 0 };
	int err = weft__io_start(op_of(rw->slot), &req);

	if (err == 0)
		*rw->phase = PHASE_IN_KERNEL;
	return err;
}

/* Learns whether the fd is O_NONBLOCK, and checks it as check_fd does.
 * Returns 0 or -EBADF. */
static int resolve_mode(struct rw *rw)
{
	int nonblock;
	int err = check_fd(rw->fd, &nonblock, rw->write ? O_WRONLY : O_RDONLY);

	if (err == 0)
		*rw->nonblock = nonblock;
	return err;
}

/* RWF_NOWAIT refused: EOPNOTSUPP for an fd kind without it, EINVAL or
 * ENOSYS from a kernel before 4.14. */
static bool nowait_refused(int err)
{
	return err == EOPNOTSUPP || err == EINVAL || err == ENOSYS;
}

/*
 * The call, in a form that cannot block: the plain call on an O_NONBLOCK
 * fd, RWF_NOWAIT at the current file position on a blocking one, and
 * RWF_NOWAIT too on an fd whose mode is not known yet (the first call:
 * either mode takes it, so bytes already there cost this one system call
 * and no fcntl).  When that first call does not finish, the mode is
 * learnt (resolve_mode), since what comes next depends on it.  Returns 1
 * when done (`result` set; a short count is a result, as from read(2)), 0
 * when the fd would block, -1 when a blocking fd cannot be asked without
 * blocking (nowait_refused).  After 0 or -1 the mode is known.
 */
static int try_nowait(struct rw *rw)
{
	ssize_t n;
	int err;

	if (!HAVE_RWF_NOWAIT && *rw->nonblock < 0) {
		err = resolve_mode(rw);
		if (err < 0) {
			*rw->result = err;
			return 1;
		}
	}
	if (*rw->nonblock > 0) {
		n = rw->write ? write(rw->fd, rw->buf, rw->len) : read(rw->fd, rw->buf, rw->len);
	} else {
#if HAVE_RWF_NOWAIT
		struct iovec v = { rw->buf, rw->len };

		n = rw->write ? pwritev2(rw->fd, &v, 1, -1, RWF_NOWAIT)
			      : preadv2(rw->fd, &v, 1, -1, RWF_NOWAIT);
#else
		return -1; /* no way to ask without blocking */
#endif
	}
	if (n >= 0) {
		*rw->result = (long)n;
		return 1;
	}
	err = errno;
	if (*rw->nonblock < 0) {
		/* A closed fd, or one not open for this direction: the
		 * answer read(2) and write(2) give, with nothing to learn. */
		if (err == EBADF) {
			*rw->result = -EBADF;
			return 1;
		}
		if (resolve_mode(rw) < 0) {
			*rw->result = -EBADF;
			return 1;
		}
		/* An O_NONBLOCK fd that refuses RWF_NOWAIT: the plain call. */
		if (*rw->nonblock > 0 && nowait_refused(err))
			return try_nowait(rw);
	}
	if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR)
		return 0;
	if (!*rw->nonblock && nowait_refused(err))
		return -1;
	*rw->result = -err;
	return 1;
}

/* epoll, kqueue: the plain call, after readiness, on a blocking fd that
 * refused RWF_NOWAIT.  Returns 1 when done, 0 to wait again. */
static int try_syscall(struct rw *rw)
{
	ssize_t n = rw->write ? write(rw->fd, rw->buf, rw->len) : read(rw->fd, rw->buf, rw->len);

	if (n >= 0) {
		*rw->result = (long)n;
		return 1;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	*rw->result = -errno;
	return 1;
}

/* Moves the machine on until it must wait; returns WEFT_READY when done. */
static weft_poll rw_step(struct rw *rw, weft_cx *cx)
{
	bool uring = weft__io_completion_based();
	int32_t res;
	int err = 0;

	if (*rw->phase == PHASE_FAILED)
		return WEFT_READY; /* init failed: result holds the error */
	for (;;) {
		if (*rw->phase == PHASE_START) {
			int now = try_nowait(rw);

			if (now == 1)
				return WEFT_READY;
			/* io_uring: a blocking fd's read or write waits in the
			 * ring, one operation; everything else waits for
			 * readiness and calls again. */
			if (uring && !(now == 0 && *rw->nonblock))
				err = start_in_kernel(rw);
			else
				err = start_ready_wait(rw);
			if (err < 0)
				break;
		}
		if (weft__io_poll(op_of(rw->slot), cx, &res, rw->write ? NULL : rw->buf,
				  rw->len) == WEFT_PENDING)
			return WEFT_PENDING;
		if (res < 0 && !(res == -EAGAIN && *rw->phase == PHASE_IN_KERNEL)) {
			err = res;
			break;
		}
		if (*rw->phase == PHASE_IN_KERNEL && res >= 0) {
			*rw->result = res;
			return WEFT_READY;
		}
		if (*rw->phase == PHASE_IN_KERNEL) {
			/* -EAGAIN: an O_NONBLOCK fd; wait for readiness. */
			err = start_ready_wait(rw);
		} else if (res & POLLNVAL) {
			err = -EBADF;
			break;
		} else if (uring && !*rw->nonblock) {
			err = start_in_kernel(rw);
		} else {
			int now = try_nowait(rw);

			if (now < 0)
				now = try_syscall(rw);
			if (now == 1)
				return WEFT_READY;
			err = start_ready_wait(rw);
		}
		if (err < 0)
			break;
	}
	*rw->result = err;
	return WEFT_READY;
}

static weft_poll read_poll(weft_future *base, weft_cx *cx)
{
	weft_read *f = (weft_read *)base;
	struct rw rw = { f->fd, &f->phase, &f->nonblock, false, f->buf, f->len, &f->slot,
			 &f->result };

	if (!weft_coop_proceed(cx))
		return WEFT_PENDING;
	if (rw_step(&rw, cx) == WEFT_PENDING) {
		weft_coop_refund(cx);
		return WEFT_PENDING;
	}
	return WEFT_READY;
}

static weft_poll write_poll(weft_future *base, weft_cx *cx)
{
	weft_write *f = (weft_write *)base;
	struct rw rw = { f->fd, &f->phase, &f->nonblock, true, (void *)f->buf, f->len,
			 &f->slot, &f->result };

	if (!weft_coop_proceed(cx))
		return WEFT_PENDING;
	if (rw_step(&rw, cx) == WEFT_PENDING) {
		weft_coop_refund(cx);
		return WEFT_PENDING;
	}
	return WEFT_READY;
}

static void read_drop(weft_future *base)
{
	weft__io_cancel(op_of(&((weft_read *)base)->slot));
}

static void write_drop(weft_future *base)
{
	weft__io_cancel(op_of(&((weft_write *)base)->slot));
}

/* The checks that need no system call; whether the fd is open, and for
 * which direction, the first poll's call says (try_nowait). */
static int rw_check(int fd, const void *buf, size_t len)
{
	if (buf == NULL && len != 0)
		return -EINVAL;
	if (len > MAX_IO_LEN)
		return -EINVAL;
	return fd < 0 ? -EBADF : 0;
}

/* The part of weft_read_init and weft_write_init that the two share: the
 * state fields, and the checks whose failure leaves the future ready at
 * once with the error. */
static int rw_setup(long *result, int *phase, int *nonblock, weft_io_slot_ *slot, int fd,
		    const void *buf, size_t len)
{
	int err;

	*result = 0;
	*phase = PHASE_START;
	*nonblock = -1; /* learnt by the first poll if it needs it */
	slot_reset(slot);
	err = rw_check(fd, buf, len);
	if (err < 0) {
		*result = err;
		*phase = PHASE_FAILED;
	}
	return err;
}

int weft_read_init(weft_read *f, int fd, void *buf, size_t len)
{
	if (f == NULL)
		return -EINVAL;
	f->base.poll = read_poll;
	f->base.drop = read_drop;
	f->fd = fd;
	f->buf = buf;
	f->len = len;
	return rw_setup(&f->result, &f->phase, &f->nonblock, &f->slot, fd, buf, len);
}

int weft_write_init(weft_write *f, int fd, const void *buf, size_t len)
{
	if (f == NULL)
		return -EINVAL;
	f->base.poll = write_poll;
	f->base.drop = write_drop;
	f->fd = fd;
	f->buf = buf;
	f->len = len;
	return rw_setup(&f->result, &f->phase, &f->nonblock, &f->slot, fd, buf, len);
}

/*
 * weft/io.h - waiting for file descriptors, and reads and writes as futures.
 *
 * These futures work on both I/O backends (io_uring and epoll; see
 * weft_runtime_driver) and must be polled inside a runtime: from a task, or
 * from weft_block_on (on a multi-threaded runtime a plain thread's operation
 * is handed to a worker's ring).  They spend one unit of the cooperative
 * budget per poll, and dropping one at any point is safe: an operation still
 * in the kernel is cancelled, and the kernel never touches the future or the
 * caller's buffer after the drop (docs/driver.md).  The cancel is in the
 * kernel when weft_future_drop returns, on whichever thread it is called:
 * a dropped read takes no byte written after that.  (The one exception is
 * the kernel's: an operation it already runs on a worker thread of its
 * own, such as a read of a regular file, finishes anyway.)  A read that
 * the kernel already completed, but whose future was not polled since,
 * takes its bytes with it when dropped: they were consumed from the fd and
 * are discarded with the slot.  Where a drop must never lose input, read a
 * socket through weft/net.h (it waits for readiness and reads in the
 * caller's poll), or poll the read to its end before dropping it.
 *
 * The file descriptors stay the caller's: a future never closes them.  The
 * caller must not close an fd while a future on it is alive.
 */
#ifndef WEFT_IO_H
#define WEFT_IO_H

#include <stddef.h>
#include <stdint.h>

#include "weft/future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Readiness event "readable": an interest given to weft_fd_ready_init and
 * a bit of its result. */
#define WEFT_IO_READABLE 0x1u
/* Readiness event "writable": an interest given to weft_fd_ready_init and
 * a bit of its result. */
#define WEFT_IO_WRITABLE 0x2u
/* Result only: an error condition on the descriptor. */
#define WEFT_IO_ERROR 0x4u
/* Result only: the peer hung up. */
#define WEFT_IO_HUP 0x8u

/* Private: a future's reference to its operation slot in the driver. */
typedef struct weft_io_slot_ {
	void *thread_;
	uint32_t index_;
	uint32_t gen_;
} weft_io_slot_;

/*
 * A future that is ready when `fd` is ready for the requested events.
 * Result: `result` holds the ready events (a nonzero mix of the WEFT_IO_*
 * bits: the requested ones that are ready, plus WEFT_IO_ERROR / WEFT_IO_HUP
 * when the condition holds), or a negative errno (-EBADF for an fd the
 * kernel rejects, -ENOMEM, -EINVAL when polled outside a runtime).  One
 * shot: it reports readiness once; make a new one to wait again.
 */
typedef struct weft_fd_ready {
	weft_future base;
	int result;
	int fd;             /* private */
	unsigned events;    /* private */
	int started;        /* private */
	weft_io_slot_ slot; /* private */
} weft_fd_ready;

/*
 * Initialises `f` to wait until `fd` has one of `events` (WEFT_IO_READABLE,
 * WEFT_IO_WRITABLE or both).  Returns 0; -EINVAL for a NULL `f`, no events
 * or unknown bits; -EBADF when `fd` is not an open file descriptor.  After
 * an error `f` is still safe to poll (ready at once with the error in
 * `result`) and to drop.  Any thread; the future is then
 * polled in a runtime and dropped with weft_future_drop.
 */
int weft_fd_ready_init(weft_fd_ready *f, int fd, unsigned events);

/*
 * A read of at most `len` bytes from `fd` into `buf`, as a future.
 * Result: `result` holds the bytes read (0 at end of file) or a negative
 * errno; like read(2), it may be fewer than `len`.  The first poll makes
 * the read itself in a form that cannot block (preadv2(2) with RWF_NOWAIT,
 * which blocking and O_NONBLOCK fds both take; read(2) on an O_NONBLOCK fd
 * that refuses it), so bytes already there cost one syscall and no driver
 * round trip on any thread; only when that would block does the future
 * wait (on io_uring a blocking fd's read is then a ring operation,
 * otherwise readiness and the call again).  Buffer
 * lifetime: `buf` must stay valid while the future is alive (until it is
 * ready or dropped), and the kernel writes to it only inside a poll: a
 * ring read fills a buffer the driver owns, copied to `buf` by the poll
 * that completes.  The current file position is used (pread offsets are
 * not offered yet).
 */
typedef struct weft_read {
	weft_future base;
	long result;
	int fd;             /* private */
	int phase;          /* private */
	int nonblock;       /* private */
	void *buf;          /* private */
	size_t len;         /* private */
	weft_io_slot_ slot; /* private */
} weft_read;

/*
 * Initialises a read; makes no system call.  Returns 0; -EINVAL for a NULL
 * `f`, a NULL `buf` with nonzero `len`, or `len` above 1 GiB; -EBADF for a
 * negative `fd`.  An fd that is not open, or not open for reading, is the
 * -EBADF `result` of the first poll, as read(2) reports it.  After an
 * error `f` is safe to poll (ready at once with the error in `result`)
 * and to drop.  Any thread.
 */
int weft_read_init(weft_read *f, int fd, void *buf, size_t len);

/*
 * A write of at most `len` bytes from `buf` to `fd`, as a future.  Result:
 * `result` holds the bytes written or a negative errno; like write(2), it
 * may be fewer than `len`.  The first poll makes the write itself when it
 * cannot block, as weft_read does.  On io_uring, a blocking fd's write
 * that must wait is a ring operation whose bytes are copied into a driver
 * buffer in that first poll, so `buf` need only be valid until then;
 * otherwise (epoll, or an O_NONBLOCK fd) until the future is ready or
 * dropped.  Keep it valid while the future lives.
 */
typedef struct weft_write {
	weft_future base;
	long result;
	int fd;             /* private */
	int phase;          /* private */
	int nonblock;       /* private */
	const void *buf;    /* private */
	size_t len;         /* private */
	weft_io_slot_ slot; /* private */
} weft_write;

/* Initialises a write; returns as weft_read_init (an fd not open for
 * writing is the -EBADF `result` of the first poll).  Any thread. */
int weft_write_init(weft_write *f, int fd, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_IO_H */

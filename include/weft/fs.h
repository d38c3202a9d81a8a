/*
 * weft/fs.h - files as futures: open, read and write at an offset, fsync,
 * stat, close.
 *
 * Regular files are always "ready" to readiness interfaces, so a read of a
 * slow disk would block a worker.  These futures never do: on io_uring
 * each is one ring operation (IORING_OP_OPENAT, READ and WRITE at an
 * offset, FSYNC, STATX, CLOSE); on epoll, and on a kernel whose ring lacks
 * one of those opcodes, each runs its system call on the runtime's blocking
 * pool (weft_spawn_blocking).  Both paths give the same results.  See
 * docs/fs.md.
 *
 * Buffers and paths.  The caller's buffer and path must stay valid while
 * the future lives (until it is ready or dropped); the kernel and the pool
 * never touch them after the poll that started the operation returns: a
 * path and the bytes of a write are copied when the operation starts, and
 * a read lands in a buffer the driver (or the pool job) owns and is copied
 * to the caller's buffer by the poll that completes it.
 *
 * Cancellation.  Any future may be dropped at any point.  A file operation
 * that already reached the kernel or the pool usually cannot be stopped: a
 * dropped write may still happen (its count is then lost), a dropped read
 * reads into a buffer nobody sees (it does not move a file position: every
 * read and write here has an explicit offset).  A dropped open whose file
 * was opened anyway has that descriptor closed for it (no leak); a dropped
 * close still closes.
 *
 * Every future must be polled inside a runtime (a task or weft_block_on);
 * polled outside one it is ready with -EINVAL.  Each poll spends one unit of
 * the cooperative budget.  Errors are negative errno values; a future whose
 * init failed is ready at its first poll with the error and is safe to drop.
 */
#ifndef WEFT_FS_H
#define WEFT_FS_H

#include <stddef.h>
#include <stdint.h>

#include "weft/future.h"
#include "weft/io.h"
#include "weft/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An open file: `fd` is its descriptor (-1 when closed).  Plain data owned
 * by the caller; close it with weft_file_close_init (or close(2)). */
typedef struct weft_file {
	int fd;
} weft_file;

/* A file that is not open (fd -1). */
#define WEFT_FILE_INIT { -1 }

/* What weft_file_stat_init and weft_path_stat_init report (statx(2)). */
typedef struct weft_file_stat {
	uint64_t size;      /* bytes */
	uint64_t blocks;    /* 512-byte blocks allocated */
	uint64_t ino;       /* inode number */
	uint32_t mode;      /* file type and permission bits (st_mode) */
	uint32_t nlink;     /* hard links */
	uint32_t uid;       /* owner */
	uint32_t gid;       /* group */
	int64_t mtime_sec;  /* last modification, seconds since the epoch */
	uint32_t mtime_nsec; /* and nanoseconds */
	uint32_t blksize;   /* preferred I/O block size */
} weft_file_stat;

/* Private: the state every file future shares. */
typedef struct weft_fs_op_ {
	weft_io_slot_ slot;
	weft_join_handle handle;
	void *job;
	const void *buf;
	const char *path;
	uint64_t off;
	size_t len;
	int fd;
	int kind;
	int phase;
	unsigned flags;
	unsigned mode;
} weft_fs_op_;

/*
 * Opening a file, as a future.  When ready, `result` is 0 and `file` is
 * open (the caller's from then on: close it), or `result` is a negative
 * errno (-ENOENT, -EACCES, -EEXIST, ...) and `file.fd` is -1.
 */
typedef struct weft_file_open_future {
	weft_future base;
	int result;
	weft_file file;
	weft_fs_op_ op_; /* private */
} weft_file_open_future;

/*
 * Initialises an open of `path` (relative paths from the process's
 * working directory) with the open(2) `flags` (O_RDONLY, O_WRONLY, O_RDWR,
 * O_CREAT, O_TRUNC, O_APPEND, O_EXCL, ...; O_CLOEXEC is always added) and
 * `mode` (the permissions of a created file, at most 07777).  `path` must
 * stay valid until the future is ready or dropped.  Returns 0; -EINVAL for
 * a NULL `f` or `path` or a mode above 07777; -ENAMETOOLONG for a path of
 * PATH_MAX bytes or more.  Any thread.
 */
int weft_file_open_init(weft_file_open_future *f, const char *path, int flags,
			unsigned mode);

/*
 * A read of at most `len` bytes at byte offset `offset` of a file, as a
 * future (pread(2): the file position does not move).  `result` is the
 * count read (0 at or past the end of the file) or a negative errno.
 */
typedef struct weft_file_read_at_future {
	weft_future base;
	long result;
	weft_fs_op_ op_; /* private */
} weft_file_read_at_future;

/*
 * Initialises a read from `file` into `buf`.  Returns 0; -EINVAL for a NULL
 * `f` or `file`, a NULL `buf` with nonzero `len`, `len` above 1 GiB or an
 * offset above INT64_MAX; -EBADF for a closed file (fd -1).  Any thread.
 */
int weft_file_read_at_init(weft_file_read_at_future *f, const weft_file *file, void *buf,
			   size_t len, uint64_t offset);

/*
 * A write of at most `len` bytes at byte offset `offset`, as a future
 * (pwrite(2); a file opened with O_APPEND appends whatever the offset).
 * `result` is the count written (a regular file takes them all unless the
 * disk is full) or a negative errno.
 */
typedef struct weft_file_write_at_future {
	weft_future base;
	long result;
	weft_fs_op_ op_; /* private */
} weft_file_write_at_future;

/* Initialises a write of `buf` to `file`; returns as weft_file_read_at_init.
 * Any thread. */
int weft_file_write_at_init(weft_file_write_at_future *f, const weft_file *file,
			    const void *buf, size_t len, uint64_t offset);

/* Flag for weft_file_fsync_init: flush the data only (fdatasync(2)). */
#define WEFT_FSYNC_DATA 0x1u

/*
 * Flushing a file to its storage, as a future.  `result` is 0 or a
 * negative errno (-EIO, -EINVAL for a file that cannot be synced).
 */
typedef struct weft_file_fsync_future {
	weft_future base;
	int result;
	weft_fs_op_ op_; /* private */
} weft_file_fsync_future;

/* Initialises an fsync of `file` with `flags` (0 or WEFT_FSYNC_DATA).
 * Returns 0; -EINVAL for NULL or unknown flags; -EBADF for a closed file.
 * Any thread. */
int weft_file_fsync_init(weft_file_fsync_future *f, const weft_file *file, unsigned flags);

/*
 * Reading a file's metadata, as a future.  When ready, `result` is 0 and
 * `stat` is filled, or a negative errno (-ENOENT for a missing path).
 */
typedef struct weft_file_stat_future {
	weft_future base;
	int result;
	weft_file_stat stat;
	weft_fs_op_ op_; /* private */
} weft_file_stat_future;

/* Initialises a stat of the open `file`.  Returns 0; -EINVAL for NULL;
 * -EBADF for a closed file.  Any thread. */
int weft_file_stat_init(weft_file_stat_future *f, const weft_file *file);

/* Initialises a stat of `path` (symbolic links followed).  `path` must stay
 * valid until the future is ready or dropped.  Returns 0; -EINVAL for NULL;
 * -ENAMETOOLONG for a path of PATH_MAX bytes or more.  Any thread. */
int weft_path_stat_init(weft_file_stat_future *f, const char *path);

/*
 * Closing a file, as a future.  `result` is 0 or a negative errno (-EBADF
 * for a file that was not open; -EIO from a file system that reports a
 * failed write-back at close: the descriptor is closed all the same).
 */
typedef struct weft_file_close_future {
	weft_future base;
	int result;
	weft_fs_op_ op_; /* private */
} weft_file_close_future;

/*
 * Initialises a close of `file`: the descriptor moves to the future and
 * `file->fd` becomes -1 at once, so a second close of the same weft_file is
 * -EBADF and never closes a descriptor number reused by someone else.  A
 * close future dropped before it ran closes the descriptor in its drop.
 * Returns 0; -EINVAL for NULL; -EBADF when `file` is not open.  Any thread.
 */
int weft_file_close_init(weft_file_close_future *f, weft_file *file);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_FS_H */

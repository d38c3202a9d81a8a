/*
 * src/fs/file.c - the file futures of weft/fs.h.
 *
 * Two paths, one result
 * =====================
 *
 * Every file future is a small machine over a weft_fs_op_: START, then
 * either RING (one operation of the driver's operation layer) or POOL (one
 * job on the blocking pool), then DONE.  The path is chosen at the first
 * poll: RING when the runtime's driver has WEFT__FEAT_FS (io_uring whose
 * probe found OPENAT, STATX, CLOSE and FSYNC), POOL otherwise (epoll, an
 * older kernel, or a test that masks the feature).
 *
 * RING.  The slot owns what the kernel touches (op.c): the path of an open
 * or a stat and the bytes of a write are copied into the slot, a read and
 * a statx land in the slot and are copied out by the completing poll.  A
 * dropped future orphans the slot and asks for a cancel; the final
 * completion frees it, closing the descriptor of an open that succeeded
 * anyway, and closing the descriptor of a close that the cancel stopped
 * (op.c, close_yielded).
 *
 * POOL.  The job shares one heap record with the future (struct fs_job),
 * holding copies of the path or the bytes to write and the buffer a read
 * lands in.  Two owners, counted in `refs`: the job and the future; the
 * last to let go frees the record, and it is also the one that sees the
 * whole story, so it cleans up what the future never took: the
 * descriptor of an open nobody collected, the descriptor of a close that
 * never ran (aborted while queued).  A job that never starts drops its
 * reference through the pool's arg_drop.
 */
#define _GNU_SOURCE
#include "weft/fs.h"
#include "weft/blocking.h"
#include "weft/runtime.h"
#include "../driver/driver.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(sizeof(struct statx) <= WEFT__STATX_ROOM,
	       "a slot's statx room holds the kernel's record");

#define MAX_IO_LEN ((size_t)1 << 30)

enum fs_kind { K_OPEN, K_READ, K_WRITE, K_FSYNC, K_STAT, K_CLOSE };
enum { P_START, P_RING, P_POOL, P_DONE };

struct fs_job {
	_Atomic int refs;
	int kind;
	int fd;
	unsigned flags, mode;
	bool ran;   /* the job ran (a close that never ran leaves the fd open) */
	bool taken; /* the future took the result (an open's fd is its) */
	uint64_t off;
	size_t len;
	long result;
	struct statx stx;
	char data[]; /* the path, the bytes to write, or the read buffer */
};

/* ---- the pool path ---------------------------------------------------------- */

static void job_unref(void *arg)
{
	struct fs_job *j = arg;

	/* AcqRel: the last owner sees every write of the other (the result,
	 * `ran`, `taken`) before it cleans up; pairs with the other owner's
	 * decrement. */
	if (atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (j->kind == K_OPEN && j->ran && !j->taken && j->result >= 0) {
		close((int)j->result);
		atomic_fetch_add_explicit(&weft__driver_counters.fd_closed, 1,
					  memory_order_relaxed);
	} else if (j->kind == K_CLOSE && !j->ran) {
		close(j->fd);
	}
	free(j);
}

static long job_call(struct fs_job *j)
{
	ssize_t n;

	switch (j->kind) {
	case K_OPEN:
		return open(j->data, (int)j->flags | O_CLOEXEC, (mode_t)j->mode);
	case K_READ:
		do
			n = pread(j->fd, j->data, j->len, (off_t)j->off);
		while (n < 0 && errno == EINTR);
		return (long)n;
	case K_WRITE:
		do
			n = pwrite(j->fd, j->data, j->len, (off_t)j->off);
		while (n < 0 && errno == EINTR);
		return (long)n;
	case K_FSYNC:
		return (j->flags & WEFT_FSYNC_DATA) ? fdatasync(j->fd) : fsync(j->fd);
	case K_STAT:
		return statx(j->fd, j->data, (int)j->flags, STATX_BASIC_STATS, &j->stx);
	default:
		return close(j->fd);
	}
}

static void *job_main(void *arg)
{
	struct fs_job *j = arg;
	long rc = job_call(j);

	j->result = rc < 0 ? -errno : rc;
	j->ran = true;
	job_unref(j);
	return NULL;
}

/* Copies of the caller's bytes the job needs (path + NUL, write data) or
 * room for a read. */
static size_t job_bytes(const weft_fs_op_ *o)
{
	if (o->path != NULL)
		return strlen(o->path) + 1;
	if (o->kind == K_READ || o->kind == K_WRITE)
		return o->len;
	return 0;
}

static int pool_start(weft_fs_op_ *o)
{
	size_t n = job_bytes(o);
	struct fs_job *j = malloc(sizeof(*j) + (n != 0 ? n : 1));
	int err;

	if (j == NULL)
		return -ENOMEM;
	memset(j, 0, sizeof(*j));
	j->kind = o->kind;
	j->fd = o->kind == K_STAT && o->path != NULL ? AT_FDCWD : o->fd;
	j->flags = o->flags;
	j->mode = o->mode;
	j->off = o->off;
	j->len = o->len;
	j->result = -ECANCELED;
	if (o->path != NULL)
		memcpy(j->data, o->path, n);
	else if (o->kind == K_WRITE && n != 0)
		memcpy(j->data, o->buf, n);
	else if (o->kind == K_STAT)
		j->data[0] = '\0';
	/* The job's reference; the future keeps the other.  Relaxed: the
	 * pool's hand-over publishes the record to the job. */
	atomic_init(&j->refs, 2);
	err = weft_spawn_blocking_drop(weft_runtime_current(), job_main, j, job_unref,
				       &o->handle);
	if (err < 0) {
		atomic_store_explicit(&j->refs, 1, memory_order_relaxed);
		if (o->kind == K_CLOSE)
			j->kind = K_FSYNC; /* the caller's fallback closes it */
		job_unref(j);
		return err;
	}
	o->job = j;
	o->phase = P_POOL;
	return 0;
}

static weft_poll pool_poll(weft_fs_op_ *o, weft_cx *cx, long *result, void *out)
{
	struct fs_job *j = o->job;

	if (weft_future_poll(&o->handle.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	*result = o->handle.status != 0 ? o->handle.status : j->result;
	if (o->handle.status == 0) {
		if (o->kind == K_READ && j->result > 0)
			memcpy(out, j->data, (size_t)j->result);
		else if (o->kind == K_STAT && j->result == 0)
			memcpy(out, &j->stx, sizeof(j->stx));
		j->taken = true;
	}
	weft_join_detach(&o->handle);
	o->job = NULL;
	job_unref(j);
	return WEFT_READY;
}

static void pool_drop(weft_fs_op_ *o)
{
	/* A queued job never starts (arg_drop unrefs); a running one
	 * finishes, and the last unref cleans up after it. */
	weft_join_abort(&o->handle);
	weft_join_detach(&o->handle);
	if (o->job != NULL)
		job_unref(o->job);
	o->job = NULL;
}

/* ---- the ring path ---------------------------------------------------------- */

static struct weft__io_op *slot_of(weft_fs_op_ *o)
{
	return (struct weft__io_op *)(void *)&o->slot;
}

static int ring_start(weft_fs_op_ *o)
{
	static const enum weft__op_kind kinds[] = { WEFT__OP_OPENAT, WEFT__OP_READ_AT,
						    WEFT__OP_WRITE_AT, WEFT__OP_FSYNC,
						    WEFT__OP_STATX, WEFT__OP_CLOSE };
	struct weft__io_req req = { kinds[o->kind], o->fd, o->flags, NULL, 0, 0, o->off };
	int err;

	if (o->kind == K_OPEN || o->kind == K_STAT) {
		req.data = o->path != NULL ? o->path : "";
		req.len = strlen(req.data) + 1;
		req.aux = o->kind == K_OPEN ? o->mode : STATX_BASIC_STATS;
		if (o->kind == K_STAT && o->path != NULL)
			req.fd = AT_FDCWD;
	} else if (o->kind == K_READ || o->kind == K_WRITE) {
		req.data = o->kind == K_WRITE ? o->buf : NULL;
		req.len = o->len;
	}
	err = weft__io_start(slot_of(o), &req);
	if (err == 0)
		o->phase = P_RING;
	return err;
}

static weft_poll ring_poll(weft_fs_op_ *o, weft_cx *cx, long *result, void *out,
			   size_t out_len)
{
	int32_t res;

	if (weft__io_poll(slot_of(o), cx, &res, out, out_len) == WEFT_PENDING)
		return WEFT_PENDING;
	*result = res;
	return WEFT_READY;
}

/* ---- the shared machine ------------------------------------------------------ */

/*
 * Moves `o` on: READY with *result (and, for a read, the bytes in `out`;
 * for a stat, the kernel's struct statx in `out`) or PENDING.  Spends one
 * unit of budget.
 */
static weft_poll fs_drive(weft_fs_op_ *o, weft_cx *cx, long *result, void *out,
			  size_t out_len)
{
	weft_poll p;
	int err;

	if (o->phase == P_DONE)
		return WEFT_READY;
	if (!weft_coop_proceed(cx))
		return WEFT_PENDING;
	if (o->phase == P_START) {
		err = weft__io_has(WEFT__FEAT_FS) ? ring_start(o) : pool_start(o);
		if (err < 0) {
			if (o->kind == K_CLOSE)
				err = close(o->fd) < 0 ? -errno : err;
			*result = err;
			o->phase = P_DONE;
			return WEFT_READY;
		}
	}
	if (o->phase == P_RING)
		p = ring_poll(o, cx, result, out, out_len);
	else
		p = pool_poll(o, cx, result, out);
	if (p == WEFT_PENDING) {
		weft_coop_refund(cx);
		return WEFT_PENDING;
	}
	o->phase = P_DONE;
	return WEFT_READY;
}

static void fs_drop(weft_fs_op_ *o)
{
	if (o->phase == P_START && o->kind == K_CLOSE)
		close(o->fd); /* never started: the descriptor is ours */
	else if (o->phase == P_RING)
		weft__io_cancel(slot_of(o));
	else if (o->phase == P_POOL)
		pool_drop(o);
	o->phase = P_DONE;
}

/* Resets `o` for `kind` on `fd`; `err` < 0 makes it ready with that
 * error.  Returns err. */
static int fs_init(weft_fs_op_ *o, int kind, int fd, int err)
{
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->fd = fd;
	o->phase = err < 0 ? P_DONE : P_START;
	return err;
}

static int check_file(const weft_file *file)
{
	if (file == NULL)
		return -EINVAL;
	return file->fd < 0 ? -EBADF : 0;
}

static int check_path(const char *path)
{
	if (path == NULL)
		return -EINVAL;
	return strnlen(path, PATH_MAX) >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static int check_buf(const weft_file *file, const void *buf, size_t len, uint64_t off)
{
	int err = check_file(file);

	if (err == 0 && ((buf == NULL && len != 0) || len > MAX_IO_LEN || off > INT64_MAX))
		err = -EINVAL;
	return err;
}

/* ---- open -------------------------------------------------------------------- */

static weft_poll open_poll(weft_future *base, weft_cx *cx)
{
	weft_file_open_future *f = (weft_file_open_future *)base;
	long res;

	if (f->op_.phase == P_DONE)
		return WEFT_READY;
	if (fs_drive(&f->op_, cx, &res, NULL, 0) == WEFT_PENDING)
		return WEFT_PENDING;
	if (res >= 0)
		f->file.fd = (int)res;
	f->result = res < 0 ? (int)res : 0;
	return WEFT_READY;
}

static void open_drop(weft_future *base)
{
	fs_drop(&((weft_file_open_future *)base)->op_);
}

int weft_file_open_init(weft_file_open_future *f, const char *path, int flags,
			unsigned mode)
{
	int err;

	if (f == NULL)
		return -EINVAL;
	f->base.poll = open_poll;
	f->base.drop = open_drop;
	f->file.fd = -1;
	err = check_path(path);
	if (err == 0 && mode > 07777)
		err = -EINVAL;
	f->result = fs_init(&f->op_, K_OPEN, -1, err);
	f->op_.path = path;
	f->op_.flags = (unsigned)flags;
	f->op_.mode = mode;
	return err;
}

/* ---- read_at and write_at -------------------------------------------------------- */

static weft_poll read_at_poll(weft_future *base, weft_cx *cx)
{
	weft_file_read_at_future *f = (weft_file_read_at_future *)base;

	if (f->op_.phase == P_DONE)
		return WEFT_READY;
	return fs_drive(&f->op_, cx, &f->result, (void *)f->op_.buf, f->op_.len);
}

static void read_at_drop(weft_future *base)
{
	fs_drop(&((weft_file_read_at_future *)base)->op_);
}

int weft_file_read_at_init(weft_file_read_at_future *f, const weft_file *file, void *buf,
			   size_t len, uint64_t offset)
{
	int err;

	if (f == NULL)
		return -EINVAL;
	f->base.poll = read_at_poll;
	f->base.drop = read_at_drop;
	err = check_buf(file, buf, len, offset);
	f->result = fs_init(&f->op_, K_READ, err < 0 ? -1 : file->fd, err);
	f->op_.buf = buf;
	f->op_.len = len;
	f->op_.off = offset;
	return err;
}

static weft_poll write_at_poll(weft_future *base, weft_cx *cx)
{
	weft_file_write_at_future *f = (weft_file_write_at_future *)base;

	if (f->op_.phase == P_DONE)
		return WEFT_READY;
	return fs_drive(&f->op_, cx, &f->result, NULL, 0);
}

static void write_at_drop(weft_future *base)
{
	fs_drop(&((weft_file_write_at_future *)base)->op_);
}

int weft_file_write_at_init(weft_file_write_at_future *f, const weft_file *file,
			    const void *buf, size_t len, uint64_t offset)
{
	int err;

	if (f == NULL)
		return -EINVAL;
	f->base.poll = write_at_poll;
	f->base.drop = write_at_drop;
	err = check_buf(file, buf, len, offset);
	f->result = fs_init(&f->op_, K_WRITE, err < 0 ? -1 : file->fd, err);
	f->op_.buf = buf;
	f->op_.len = len;
	f->op_.off = offset;
	return err;
}

/* ---- fsync ---------------------------------------------------------------------- */

static weft_poll fsync_poll(weft_future *base, weft_cx *cx)
{
	weft_file_fsync_future *f = (weft_file_fsync_future *)base;
	long res;

	if (f->op_.phase == P_DONE)
		return WEFT_READY;
	if (fs_drive(&f->op_, cx, &res, NULL, 0) == WEFT_PENDING)
		return WEFT_PENDING;
	f->result = (int)res;
	return WEFT_READY;
}

static void fsync_drop(weft_future *base)
{
	fs_drop(&((weft_file_fsync_future *)base)->op_);
}

int weft_file_fsync_init(weft_file_fsync_future *f, const weft_file *file, unsigned flags)
{
	int err;

	if (f == NULL)
		return -EINVAL;
	f->base.poll = fsync_poll;
	f->base.drop = fsync_drop;
	err = check_file(file);
	if (err == 0 && (flags & ~WEFT_FSYNC_DATA) != 0)
		err = -EINVAL;
	f->result = fs_init(&f->op_, K_FSYNC, err < 0 ? -1 : file->fd, err);
	f->op_.flags = flags;
	return err;
}

/* ---- stat ----------------------------------------------------------------------- */

static void stat_from_statx(weft_file_stat *st, const struct statx *x)
{
	st->size = x->stx_size;
	st->blocks = x->stx_blocks;
	st->ino = x->stx_ino;
	st->mode = x->stx_mode;
	st->nlink = x->stx_nlink;
	st->uid = x->stx_uid;
	st->gid = x->stx_gid;
	st->mtime_sec = x->stx_mtime.tv_sec;
	st->mtime_nsec = x->stx_mtime.tv_nsec;
	st->blksize = x->stx_blksize;
}

static weft_poll stat_poll(weft_future *base, weft_cx *cx)
{
	weft_file_stat_future *f = (weft_file_stat_future *)base;
	struct statx x;
	long res;

	if (f->op_.phase == P_DONE)
		return WEFT_READY;
	if (fs_drive(&f->op_, cx, &res, &x, sizeof(x)) == WEFT_PENDING)
		return WEFT_PENDING;
	if (res == 0)
		stat_from_statx(&f->stat, &x);
	f->result = (int)res;
	return WEFT_READY;
}

static void stat_drop(weft_future *base)
{
	fs_drop(&((weft_file_stat_future *)base)->op_);
}

static int stat_init(weft_file_stat_future *f, int fd, const char *path, int err)
{
	f->base.poll = stat_poll;
	f->base.drop = stat_drop;
	memset(&f->stat, 0, sizeof(f->stat));
	f->result = fs_init(&f->op_, K_STAT, fd, err);
	f->op_.path = path;
	f->op_.flags = path != NULL ? 0 : AT_EMPTY_PATH;
	return err;
}

int weft_file_stat_init(weft_file_stat_future *f, const weft_file *file)
{
	int err;

	if (f == NULL)
		return -EINVAL;
	err = check_file(file);
	return stat_init(f, err < 0 ? -1 : file->fd, NULL, err);
}

int weft_path_stat_init(weft_file_stat_future *f, const char *path)
{
	int err;

	if (f == NULL)
		return -EINVAL;
	err = check_path(path);
	return stat_init(f, -1, err < 0 ? NULL : path, err);
}

/* ---- close ---------------------------------------------------------------------- */

static weft_poll close_poll(weft_future *base, weft_cx *cx)
{
	weft_file_close_future *f = (weft_file_close_future *)base;
	long res;

	if (f->op_.phase == P_DONE)
		return WEFT_READY;
	if (fs_drive(&f->op_, cx, &res, NULL, 0) == WEFT_PENDING)
		return WEFT_PENDING;
	/* A ring close refused before it ran (the ring's owner left) still
	 * owns the descriptor. */
	if (res == -ECANCELED && f->op_.slot.thread_ == NULL && f->op_.job == NULL)
		res = close(f->op_.fd) < 0 ? -errno : 0;
	f->result = (int)res;
	return WEFT_READY;
}

static void close_drop(weft_future *base)
{
	fs_drop(&((weft_file_close_future *)base)->op_);
}

int weft_file_close_init(weft_file_close_future *f, weft_file *file)
{
	int err;

	if (f == NULL)
		return -EINVAL;
	f->base.poll = close_poll;
	f->base.drop = close_drop;
	err = check_file(file);
	f->result = fs_init(&f->op_, K_CLOSE, err < 0 ? -1 : file->fd, err);
	if (err == 0)
		file->fd = -1; /* the future owns the descriptor now */
	return err;
}

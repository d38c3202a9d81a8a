/*
 * weft/fs.h on the backend WEFT_DRIVER names, on both paths it has (on
 * io_uring: ring operations, then the blocking-pool fallback forced through
 * weft__driver_mask_features; on epoll: the pool), on a current-thread and
 * a multi-threaded runtime: write then read back at offsets (holes read as
 * zeros, reads past the end are 0), fsync and fdatasync, stat of a file and
 * of a path, open of a missing file -ENOENT, close twice -EBADF, a read of
 * a write-only file -EBADF, dropped opens whose completion comes late close
 * their descriptors (counted in /proc/self/fd), dropped closes still
 * close, every bad input, and tasks on several workers reading and writing
 * one file at once.  Files live in a mkdtemp directory.
 */
#include "driver/driver_test.h"

#include <limits.h>
#include <sys/stat.h>

static char dir[64];

/* Runs `f` to completion with weft_block_on and drops it. */
static void run(weft_runtime *rt, weft_future *f)
{
	CHECK_EQ(weft_block_on(rt, f), 0);
	weft_future_drop(f);
}

/* Polls `child` once inside `rt`; true when it was ready then. */
struct poll_once {
	weft_future base;
	weft_future *child;
	int ready;
};

static weft_poll poll_once_poll(weft_future *f, weft_cx *cx)
{
	struct poll_once *p = (struct poll_once *)f;

	p->ready = weft_future_poll(p->child, cx) == WEFT_READY;
	return WEFT_READY;
}

static bool poll_once(weft_runtime *rt, weft_future *child)
{
	struct poll_once p = { { poll_once_poll, NULL }, child, 0 };

	CHECK_EQ(weft_block_on(rt, &p.base), 0);
	return p.ready != 0;
}

static void path_of(char *out, size_t size, const char *name)
{
	CHECK((size_t)snprintf(out, size, "%s/%s", dir, name) < size);
}

static int open_file(weft_runtime *rt, weft_file *file, const char *path, int flags)
{
	weft_file_open_future o;

	CHECK_EQ(weft_file_open_init(&o, path, flags, 0644), 0);
	run(rt, &o.base);
	*file = o.file;
	if (o.result < 0)
		CHECK_EQ(o.file.fd, -1);
	else
		CHECK(o.file.fd >= 0);
	return o.result;
}

static int close_file(weft_runtime *rt, weft_file *file)
{
	weft_file_close_future c;
	int rc = weft_file_close_init(&c, file);

	CHECK_EQ(file->fd, -1);
	run(rt, &c.base);
	CHECK_EQ(c.result, rc < 0 ? rc : c.result);
	return c.result;
}

static long write_at(weft_runtime *rt, weft_file *file, const void *buf, size_t len,
		     uint64_t off)
{
	weft_file_write_at_future w;

	CHECK_EQ(weft_file_write_at_init(&w, file, buf, len, off), 0);
	run(rt, &w.base);
	return w.result;
}

static long read_at(weft_runtime *rt, weft_file *file, void *buf, size_t len, uint64_t off)
{
	weft_file_read_at_future r;

	CHECK_EQ(weft_file_read_at_init(&r, file, buf, len, off), 0);
	run(rt, &r.base);
	return r.result;
}

static void round_trip(weft_runtime *rt)
{
	char path[PATH_MAX], buf[64];
	weft_file file;
	weft_file_fsync_future fs;
	weft_file_stat_future st;

	path_of(path, sizeof(path), "rt.dat");
	CHECK_EQ(open_file(rt, &file, path, O_RDWR | O_CREAT | O_TRUNC), 0);
	CHECK(fcntl(file.fd, F_GETFD) & FD_CLOEXEC);
	CHECK_EQ(write_at(rt, &file, "hello", 5, 0), 5);
	CHECK_EQ(write_at(rt, &file, "world", 5, 100), 5);
	CHECK_EQ(read_at(rt, &file, buf, 5, 100), 5);
	CHECK(memcmp(buf, "world", 5) == 0);
	CHECK_EQ(read_at(rt, &file, buf, 5, 0), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	memset(buf, 'x', sizeof(buf));
	CHECK_EQ(read_at(rt, &file, buf, 10, 50), 10); /* a hole reads as zeros */
	CHECK(memcmp(buf, "\0\0\0\0\0\0\0\0\0\0", 10) == 0);
	CHECK_EQ(read_at(rt, &file, buf, 64, 98), 7); /* short at the end */
	CHECK(memcmp(buf, "\0\0world", 7) == 0);
	CHECK_EQ(read_at(rt, &file, buf, 64, 105), 0);
	CHECK_EQ(read_at(rt, &file, buf, 64, 1u << 20), 0);
	CHECK_EQ(read_at(rt, &file, buf, 0, 0), 0);
	CHECK_EQ(weft_file_fsync_init(&fs, &file, 0), 0);
	run(rt, &fs.base);
	CHECK_EQ(fs.result, 0);
	CHECK_EQ(weft_file_fsync_init(&fs, &file, WEFT_FSYNC_DATA), 0);
	run(rt, &fs.base);
	CHECK_EQ(fs.result, 0);
	CHECK_EQ(weft_file_stat_init(&st, &file), 0);
	run(rt, &st.base);
	CHECK_EQ(st.result, 0);
	CHECK_EQ(st.stat.size, 105);
	CHECK(S_ISREG(st.stat.mode));
	CHECK_EQ(st.stat.mode & 0777, 0644 & ~0); /* umask is 022 or less here */
	CHECK_EQ(st.stat.nlink, 1);
	CHECK_EQ(close_file(rt, &file), 0);
	CHECK_EQ(close_file(rt, &file), -EBADF); /* twice */
	CHECK_EQ(weft_path_stat_init(&st, path), 0);
	run(rt, &st.base);
	CHECK_EQ(st.result, 0);
	CHECK_EQ(st.stat.size, 105);
	CHECK_EQ(weft_path_stat_init(&st, dir), 0);
	run(rt, &st.base);
	CHECK_EQ(st.result, 0);
	CHECK(S_ISDIR(st.stat.mode));
	/* The bytes are really in the file. */
	{
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		CHECK(fd >= 0);
		CHECK_EQ(pread(fd, buf, 5, 100), 5);
		CHECK(memcmp(buf, "world", 5) == 0);
		close(fd);
	}
}

static void errors(weft_runtime *rt)
{
	char path[PATH_MAX], buf[8];
	weft_file file;
	weft_file_stat_future st;

	path_of(path, sizeof(path), "missing");
	CHECK_EQ(open_file(rt, &file, path, O_RDONLY), -ENOENT);
	CHECK_EQ(weft_path_stat_init(&st, path), 0);
	run(rt, &st.base);
	CHECK_EQ(st.result, -ENOENT);
	CHECK_EQ(open_file(rt, &file, "", O_RDONLY), -ENOENT);
	path_of(path, sizeof(path), "excl");
	unlink(path);
	CHECK_EQ(open_file(rt, &file, path, O_WRONLY | O_CREAT | O_EXCL), 0);
	CHECK_EQ(read_at(rt, &file, buf, sizeof(buf), 0), -EBADF); /* write-only */
	CHECK_EQ(close_file(rt, &file), 0);
	CHECK_EQ(open_file(rt, &file, path, O_WRONLY | O_CREAT | O_EXCL), -EEXIST);
	CHECK_EQ(open_file(rt, &file, path, O_RDONLY), 0);
	CHECK_EQ(write_at(rt, &file, "x", 1, 0), -EBADF); /* read-only */
	CHECK_EQ(close_file(rt, &file), 0);
	CHECK_EQ(open_file(rt, &file, dir, O_RDONLY), 0);
	CHECK_EQ(read_at(rt, &file, buf, sizeof(buf), 0), -EISDIR);
	CHECK_EQ(close_file(rt, &file), 0);
}

/* Each init's error, and the future ready with it at its first poll. */
static void bad_input(weft_runtime *rt)
{
	static char longpath[PATH_MAX + 8];
	weft_file_open_future o;
	weft_file_read_at_future r;
	weft_file_write_at_future w;
	weft_file_fsync_future fs;
	weft_file_stat_future st;
	weft_file_close_future c;
	weft_file closed = WEFT_FILE_INIT, open_one;
	char buf[4];

	memset(longpath, 'a', sizeof(longpath) - 1);
	CHECK_EQ(open_file(rt, &open_one, dir, O_RDONLY), 0);
	CHECK_EQ(weft_file_open_init(NULL, "x", O_RDONLY, 0), -EINVAL);
	CHECK_EQ(weft_file_open_init(&o, NULL, O_RDONLY, 0), -EINVAL);
	run(rt, &o.base);
	CHECK_EQ(o.result, -EINVAL);
	CHECK_EQ(o.file.fd, -1);
	CHECK_EQ(weft_file_open_init(&o, "x", O_RDONLY | O_CREAT, 010000), -EINVAL);
	weft_future_drop(&o.base); /* never polled */
	CHECK_EQ(weft_file_open_init(&o, longpath, O_RDONLY, 0), -ENAMETOOLONG);
	run(rt, &o.base);
	CHECK_EQ(o.result, -ENAMETOOLONG);
	CHECK_EQ(weft_file_read_at_init(NULL, &open_one, buf, 4, 0), -EINVAL);
	CHECK_EQ(weft_file_read_at_init(&r, NULL, buf, 4, 0), -EINVAL);
	CHECK_EQ(weft_file_read_at_init(&r, &closed, buf, 4, 0), -EBADF);
	run(rt, &r.base);
	CHECK_EQ(r.result, -EBADF);
	CHECK_EQ(weft_file_read_at_init(&r, &open_one, NULL, 4, 0), -EINVAL);
	CHECK_EQ(weft_file_read_at_init(&r, &open_one, buf, (size_t)1 << 31, 0), -EINVAL);
	CHECK_EQ(weft_file_read_at_init(&r, &open_one, buf, 4, (uint64_t)INT64_MAX + 1),
		 -EINVAL);
	run(rt, &r.base);
	CHECK_EQ(r.result, -EINVAL);
	CHECK_EQ(weft_file_write_at_init(NULL, &open_one, buf, 4, 0), -EINVAL);
	CHECK_EQ(weft_file_write_at_init(&w, &closed, buf, 4, 0), -EBADF);
	CHECK_EQ(weft_file_write_at_init(&w, &open_one, NULL, 4, 0), -EINVAL);
	run(rt, &w.base);
	CHECK_EQ(w.result, -EINVAL);
	CHECK_EQ(weft_file_fsync_init(NULL, &open_one, 0), -EINVAL);
	CHECK_EQ(weft_file_fsync_init(&fs, NULL, 0), -EINVAL);
	CHECK_EQ(weft_file_fsync_init(&fs, &closed, 0), -EBADF);
	CHECK_EQ(weft_file_fsync_init(&fs, &open_one, 2), -EINVAL);
	run(rt, &fs.base);
	CHECK_EQ(fs.result, -EINVAL);
	CHECK_EQ(weft_file_stat_init(NULL, &open_one), -EINVAL);
	CHECK_EQ(weft_file_stat_init(&st, NULL), -EINVAL);
	CHECK_EQ(weft_file_stat_init(&st, &closed), -EBADF);
	run(rt, &st.base);
	CHECK_EQ(st.result, -EBADF);
	CHECK_EQ(weft_path_stat_init(NULL, "x"), -EINVAL);
	CHECK_EQ(weft_path_stat_init(&st, NULL), -EINVAL);
	CHECK_EQ(weft_path_stat_init(&st, longpath), -ENAMETOOLONG);
	run(rt, &st.base);
	CHECK_EQ(st.result, -ENAMETOOLONG);
	CHECK_EQ(weft_file_close_init(NULL, &open_one), -EINVAL);
	CHECK(open_one.fd >= 0);
	CHECK_EQ(weft_file_close_init(&c, NULL), -EINVAL);
	CHECK_EQ(weft_file_close_init(&c, &closed), -EBADF);
	run(rt, &c.base);
	CHECK_EQ(c.result, -EBADF);
	CHECK_EQ(close_file(rt, &open_one), 0);
}

/* Opens dropped after one poll: the ones that completed anyway are closed
 * by the driver or the pool job (fd_closed), the ones ready at once are
 * ours; no descriptor is left over once the runtime is gone. */
static void dropped(unsigned workers, bool masked)
{
	uint64_t closed0 = drv_counter(&weft__driver_counters.fd_closed);
	int before = drv_open_fds(), i, ours = 0, n = 50;
	char path[PATH_MAX];
	weft_runtime *rt;

	path_of(path, sizeof(path), "drop.dat");
	close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	atomic_store(&weft__driver_mask_features, masked ? WEFT__FEAT_FS : 0u);
	rt = drv_runtime(workers);
	atomic_store(&weft__driver_mask_features, 0u);
	for (i = 0; i < n; i++) {
		weft_file_open_future o;

		CHECK_EQ(weft_file_open_init(&o, path, O_RDONLY, 0), 0);
		if (poll_once(rt, &o.base)) {
			CHECK_EQ(o.result, 0);
			close(o.file.fd);
			ours++;
		}
		weft_future_drop(&o.base);
	}
	/* Closes dropped before and after their first poll. */
	for (i = 0; i < 20; i++) {
		weft_file file;
		weft_file_close_future c;

		CHECK_EQ(open_file(rt, &file, path, O_RDONLY), 0);
		CHECK_EQ(weft_file_close_init(&c, &file), 0);
		if (i % 2 == 1)
			poll_once(rt, &c.base);
		weft_future_drop(&c.base);
	}
	weft_runtime_destroy(rt);
	CHECK_EQ(drv_open_fds(), before);
	/* A dropped open either never ran (a queued pool job is aborted, a
	 * ring cancel won) or its descriptor was closed for it. */
	CHECK(drv_counter(&weft__driver_counters.fd_closed) - closed0 + (uint64_t)ours <=
	      (uint64_t)n);
	fprintf(stderr, "%s%s, %u workers: %d dropped opens, %d ready at once, %llu closed "
		"late\n", masked ? "masked " : "", drv_expected() ? drv_expected() : "?",
		workers, n, ours,
		(unsigned long long)(drv_counter(&weft__driver_counters.fd_closed) - closed0));
}

/*
 * A dropped open that certainly completes after its drop: the open of a
 * FIFO for reading blocks until a writer comes.  The test waits until the
 * open is in progress (a non-blocking writer's open succeeds only while a
 * reader is there), which also lets it finish, then drops the future.  (On
 * io_uring the open may not wait at all: then the test only checks that
 * the descriptor it got is the only one.)  On
 * the pool path the job's descriptor is closed by the last owner of the
 * job's record; on the ring path by the orphan's completion, unless the
 * cancel interrupted the open first.  Either way no descriptor is left.
 */
static void dropped_fifo(unsigned workers, bool masked)
{
	uint64_t closed0 = drv_counter(&weft__driver_counters.fd_closed);
	int before = drv_open_fds(), wfd = -1, i;
	char path[PATH_MAX];
	weft_file_open_future o;
	weft_runtime *rt;
	bool pool;

	path_of(path, sizeof(path), "fifo");
	unlink(path);
	CHECK_EQ(mkfifo(path, 0600), 0);
	atomic_store(&weft__driver_mask_features, masked ? WEFT__FEAT_FS : 0u);
	rt = drv_runtime(workers);
	atomic_store(&weft__driver_mask_features, 0u);
	pool = !(rt->driver->features & WEFT__FEAT_FS);
	CHECK_EQ(weft_file_open_init(&o, path, O_RDONLY, 0), 0);
	if (poll_once(rt, &o.base)) {
		/* io_uring opens a FIFO without waiting for a writer (it tries
		 * the open non-blocking first); the pool's open(2) waits. */
		CHECK(!pool);
		CHECK_EQ(o.result, 0);
		close(o.file.fd);
		wfd = dup(2); /* nothing to wait for: a stand-in to close */
	}
	for (i = 0; i < 20000 && wfd < 0; i++) {
		wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (wfd < 0) {
			CHECK_EQ(errno, ENXIO);
			drv_sleep_ms(1);
		}
	}
	CHECK(wfd >= 0);
	weft_future_drop(&o.base);
	weft_runtime_destroy(rt);
	close(wfd);
	CHECK_EQ(drv_open_fds(), before);
	if (pool)
		CHECK_EQ(drv_counter(&weft__driver_counters.fd_closed) - closed0, 1);
	unlink(path);
}

/* Tasks writing and reading back their own blocks of one file at once. */
#define BLOCK 4096
struct rw_task {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_file *file;
	int id, round;
	char out[BLOCK], in[BLOCK];
	weft_file_write_at_future w;
	weft_file_read_at_future r;
};

static weft_poll rw_task_poll(weft_future *f, weft_cx *cx)
{
	struct rw_task *t = (struct rw_task *)f;

	WEFT_ASYNC_BEGIN(t);
	for (t->round = 0; t->round < 20; t->round++) {
		memset(t->out, 'a' + (t->id + t->round) % 26, BLOCK);
		CHECK_EQ(weft_file_write_at_init(&t->w, t->file, t->out, BLOCK,
						 (uint64_t)t->id * BLOCK), 0);
		WEFT_AWAIT(t, cx, &t->w.base);
		weft_future_drop(&t->w.base);
		CHECK_EQ(t->w.result, BLOCK);
		CHECK_EQ(weft_file_read_at_init(&t->r, t->file, t->in, BLOCK,
						(uint64_t)t->id * BLOCK), 0);
		WEFT_AWAIT(t, cx, &t->r.base);
		weft_future_drop(&t->r.base);
		CHECK_EQ(t->r.result, BLOCK);
		CHECK(memcmp(t->in, t->out, BLOCK) == 0);
	}
	WEFT_ASYNC_END(t);
}

static void concurrent(weft_runtime *rt)
{
	enum { TASKS = 16 };
	char path[PATH_MAX];
	weft_join_handle h[TASKS];
	weft_file file;
	struct rw_task *t = calloc(1, sizeof(*t));
	int i;

	CHECK(t != NULL);
	path_of(path, sizeof(path), "many.dat");
	CHECK_EQ(open_file(rt, &file, path, O_RDWR | O_CREAT | O_TRUNC), 0);
	for (i = 0; i < TASKS; i++) {
		t->base.poll = rw_task_poll;
		t->file = &file;
		t->id = i;
		CHECK_EQ(weft_spawn(rt, &t->base, sizeof(*t), &h[i]), 0);
	}
	for (i = 0; i < TASKS; i++)
		CHECK_EQ(weft_join(&h[i]), 0);
	for (i = 0; i < TASKS; i++)
		weft_join_detach(&h[i]);
	free(t);
	CHECK_EQ(close_file(rt, &file), 0);
}

static void suite(unsigned workers, bool masked)
{
	weft_runtime *rt;

	atomic_store(&weft__driver_mask_features, masked ? WEFT__FEAT_FS : 0u);
	rt = drv_runtime(workers);
	atomic_store(&weft__driver_mask_features, 0u);
	if (drv_is_uring(rt) && !masked && !(rt->driver->features & WEFT__FEAT_FS))
		fprintf(stderr, "this kernel's ring lacks the file opcodes: pool path\n");
	if (masked || !drv_is_uring(rt))
		CHECK(!(rt->driver->features & WEFT__FEAT_FS));
	round_trip(rt);
	errors(rt);
	bad_input(rt);
	if (workers > 0)
		concurrent(rt);
	weft_runtime_destroy(rt);
	dropped(workers, masked);
	dropped_fifo(workers, masked);
}

int main(void)
{
	int pass;

	umask(022);
	strcpy(dir, "/tmp/weft-fs-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	for (pass = 0; pass < 2; pass++) {
		bool masked = pass == 1;

		suite(0, masked);
		suite(3, masked);
	}
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		CHECK_EQ(system(cmd), 0);
	}
	return 0;
}

/*
 * test/driver/driver_test.h - helpers for the driver tests: the backend
 * under test (WEFT_DRIVER, set by test/driver/meson.build), the driver's
 * private counters and test hooks, and small futures over weft/io.h.
 */
#ifndef WEFT_TEST_DRIVER_TEST_H
#define WEFT_TEST_DRIVER_TEST_H

#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "driver/driver.h"
#include "park.h"
#include "runtime.h"

#ifndef _WIN32
#include <dirent.h>

/* How many descriptors the process has open (the entries of /proc/self/fd,
 * less the directory's own): tests count before and after to show that
 * nothing leaked. */
static inline int drv_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	CHECK(d != NULL);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;
}
#endif

/* The backend the test was registered for ("io_uring", "epoll" or "kqueue"), or
 * NULL when the environment does not say. */
static inline const char *drv_expected(void)
{
	const char *s = getenv("WEFT_DRIVER");

	if (s == NULL)
		return NULL;
	if (strcmp(s, "uring") == 0 || strcmp(s, "io_uring") == 0)
		return "io_uring";
	if (strcmp(s, "epoll") == 0)
		return "epoll";
	if (strcmp(s, "kqueue") == 0)
		return "kqueue";
	return NULL;
}

/* A runtime from `cfg` on the backend under test; exits 77 when io_uring
 * was asked for and cannot start here. */
static inline weft_runtime *drv_runtime_with(const weft_runtime_config *cfg)
{
	weft_runtime *rt = NULL;
	int rc = weft_runtime_create(cfg, &rt);

	if (rc != 0 && drv_expected() != NULL && strcmp(drv_expected(), "io_uring") == 0) {
		fprintf(stderr, "io_uring cannot start here (%d): skip\n", rc);
		exit(77);
	}
	CHECK_EQ(rc, 0);
	if (drv_expected() != NULL)
		CHECK(strcmp(weft_runtime_driver(rt), drv_expected()) == 0);
	return rt;
}

/* drv_runtime_with for `workers` workers (0: current-thread). */
static inline weft_runtime *drv_runtime(unsigned workers)
{
	weft_runtime_config cfg = { 0 };

	cfg.flavor = workers == 0 ? WEFT_RUNTIME_CURRENT_THREAD : WEFT_RUNTIME_MULTI_THREAD;
	cfg.workers = workers;
	return drv_runtime_with(&cfg);
}

static inline bool drv_is_uring(weft_runtime *rt)
{
	return strcmp(weft_runtime_driver(rt), "io_uring") == 0;
}

static inline uint64_t drv_counter(_Atomic uint64_t *c)
{
	return atomic_load(c);
}

static inline void drv_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Waits (yielding the CPU) until *c >= want; gives up after ~20 s. */
static inline void drv_wait_counter(_Atomic uint64_t *c, uint64_t want)
{
	int i;

	for (i = 0; i < 20000 && atomic_load(c) < want; i++)
		drv_sleep_ms(1);
	CHECK(atomic_load(c) >= want);
}

static inline void drv_pipe(int fds[2])
{
	CHECK_EQ(pipe2(fds, O_CLOEXEC), 0);
}

/* A task that waits for readiness and stores the result in *out. */
struct ready_task {
	weft_future base;
	weft_fd_ready ready;
	int *out;
	struct test_event *polled; /* set after the first pending poll */
	int first;
};

static inline weft_poll ready_task_poll(weft_future *f, weft_cx *cx)
{
	struct ready_task *t = (struct ready_task *)f;

	if (weft_future_poll(&t->ready.base, cx) == WEFT_PENDING) {
		if (!t->first && t->polled != NULL)
			test_event_set(t->polled);
		t->first = 1;
		return WEFT_PENDING;
	}
	*t->out = t->ready.result;
	return WEFT_READY;
}

static inline void ready_task_drop(weft_future *f)
{
	weft_future_drop(&((struct ready_task *)f)->ready.base);
}

static inline struct ready_task ready_task_make(int fd, unsigned events, int *out,
					        struct test_event *polled)
{
	struct ready_task t;

	memset(&t, 0, sizeof(t));
	t.base.poll = ready_task_poll;
	t.base.drop = ready_task_drop;
	CHECK_EQ(weft_fd_ready_init(&t.ready, fd, events), 0);
	t.out = out;
	t.polled = polled;
	return t;
}

/* A task that reads into its own buffer; *out gets the count, and the
 * bytes land in out_buf. */
struct read_task {
	weft_future base;
	weft_read rd;
	char buf[64];
	long *out;
	char *out_buf;
	struct test_event *polled;
	int first, inited, fd;
	/* The slot of the read after its first poll (for reuse checks). */
	uint32_t *slot_index, *slot_gen;
};

static inline weft_poll read_task_poll(weft_future *f, weft_cx *cx)
{
	struct read_task *t = (struct read_task *)f;

	if (!t->inited) {
		/* Here, not at make time: spawn moved the struct. */
		CHECK_EQ(weft_read_init(&t->rd, t->fd, t->buf, sizeof(t->buf)), 0);
		t->inited = 1;
	}
	if (weft_future_poll(&t->rd.base, cx) == WEFT_PENDING) {
		if (!t->first) {
			if (t->slot_index != NULL) {
				*t->slot_index = t->rd.slot.index_;
				*t->slot_gen = t->rd.slot.gen_;
			}
			if (t->polled != NULL)
				test_event_set(t->polled);
		}
		t->first = 1;
		return WEFT_PENDING;
	}
	*t->out = t->rd.result;
	if (t->rd.result > 0 && t->out_buf != NULL)
		memcpy(t->out_buf, t->buf, (size_t)t->rd.result);
	return WEFT_READY;
}

static inline void read_task_drop(weft_future *f)
{
	weft_future_drop(&((struct read_task *)f)->rd.base);
}

static inline struct read_task read_task_make(int fd, long *out, char *out_buf,
					      struct test_event *polled)
{
	struct read_task t;

	memset(&t, 0, sizeof(t));
	t.base.poll = read_task_poll;
	t.base.drop = read_task_drop;
	t.out = out;
	t.out_buf = out_buf;
	t.polled = polled;
	t.fd = fd;
	return t;
}

#endif /* WEFT_TEST_DRIVER_TEST_H */

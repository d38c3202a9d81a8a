/*
 * test/embed/embed_test.h - helpers for the embedding tests (weft/embed.h):
 * a current-thread runtime on the backend under test, and a plain poll()
 * host loop that drives it with ticks, the backend fd and the timeout.
 */
#ifndef WEFT_TEST_EMBED_TEST_H
#define WEFT_TEST_EMBED_TEST_H

#include "../driver/driver_test.h"
#include "../../src/driver/time.h"

#include <poll.h>
#include <sys/socket.h>

/* A current-thread runtime on the backend under test (77 when io_uring
 * was asked for and cannot start here). */
static inline weft_runtime *emb_runtime(bool paused)
{
	weft_runtime_config cfg = { 0 };
	weft_runtime *rt = NULL;
	int rc;

	cfg.flavor = WEFT_RUNTIME_CURRENT_THREAD;
	cfg.start_paused = paused;
	rc = weft_runtime_create(&cfg, &rt);
	if (rc != 0 && drv_expected() != NULL && strcmp(drv_expected(), "io_uring") == 0) {
		fprintf(stderr, "io_uring cannot start here (%d): skip\n", rc);
		exit(77);
	}
	CHECK_EQ(rc, 0);
	if (drv_expected() != NULL)
		CHECK(strcmp(weft_runtime_driver(rt), drv_expected()) == 0);
	return rt;
}

/* 1 when `fd` polls readable within `ms` (0: now), else 0. */
static inline int emb_readable(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int n;

	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	CHECK(n >= 0);
	return n > 0 && (p.revents & POLLIN) ? 1 : 0;
}

/* Ticks until a tick says nothing is left; returns the number of ticks. */
static inline unsigned emb_drain(weft_runtime *rt)
{
	unsigned n = 0;
	int r;

	while ((r = weft_runtime_tick(rt, WEFT_TICK_BUDGET)) == 1) {
		n++;
		CHECK(n < 10000000);
	}
	CHECK_EQ(r, 0);
	return n + 1;
}

/* What a host loop saw. */
struct emb_stats {
	unsigned turns;      /* waits in poll() */
	unsigned fd_wakes;   /* of which the fd woke */
	unsigned timeouts;   /* of which the timeout passed */
};

/*
 * How many times emb_run has been about to call poll(): set after its
 * drain, so a thread that waits for it (emb_wait_host_waiting) and then
 * wakes the runtime knows that the wake is seen by that poll() as the fd
 * becoming readable, not by a drain that happens to run first (which a busy
 * machine makes likely).  The release pairs with the acquire load in
 * emb_wait_host_waiting.
 */
static _Atomic unsigned emb_waits_begun;

/* Waits until emb_run is about to wait in poll() for the n-th time (1 = the first). */
static inline void emb_wait_host_waiting(unsigned n)
{
	while (atomic_load_explicit(&emb_waits_begun, memory_order_acquire) < n)
		test_sleep_ms(1);
}

/* No wait of a test is this long: a longer one is a lost wake-up. */
#define EMB_LOST_MS 20000

/*
 * The host loop: tick until idle, read the timeout, poll the fd with it,
 * until *done is set (read after every tick).  Fails when a wait without a
 * timer lasts EMB_LOST_MS (a lost wake-up), or when a wait that timed out
 * woke before the timer deadline it was computed for (the timeout was
 * rounded down).
 */
static inline void emb_run(weft_runtime *rt, _Atomic int *done, struct emb_stats *st)
{
	int fd = weft_runtime_backend_fd(rt);

	CHECK(fd >= 0);
	for (;;) {
		uint64_t deadline;
		int to, n;
		struct pollfd p = { fd, POLLIN, 0 };

		emb_drain(rt);
		if (atomic_load(done))
			return;
		to = weft_runtime_backend_timeout(rt);
		CHECK(to >= -1);
		deadline = weft__time_park_deadline(rt->time);
		/* Pairs with the acquire in emb_wait_host_waiting. */
		atomic_fetch_add_explicit(&emb_waits_begun, 1, memory_order_release);
		do
			n = poll(&p, 1, to < 0 ? EMB_LOST_MS : to);
		while (n < 0 && errno == EINTR);
		CHECK(n >= 0);
		st->turns++;
		if (n > 0) {
			st->fd_wakes++;
			continue;
		}
		if (to < 0) {
			fprintf(stderr, "no wake-up in %d ms: lost\n", EMB_LOST_MS);
			exit(1);
		}
		st->timeouts++;
		/* Never early: the wait lasted at least until the deadline. */
		if (to > 0 && deadline != UINT64_MAX)
			CHECK(weft__now_ns() >= deadline);
	}
}

/* Spawns `f` (of `size` bytes) on rt and detaches it. */
static inline void emb_spawn(weft_runtime *rt, const void *f, size_t size)
{
	CHECK_EQ(weft_spawn(rt, (const weft_future *)f, size, NULL), 0);
}

#endif /* WEFT_TEST_EMBED_TEST_H */

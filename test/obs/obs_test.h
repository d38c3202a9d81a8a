/* test/obs/obs_test.h - helpers shared by the observability tests. */
#ifndef WEFT_TEST_OBS_H
#define WEFT_TEST_OBS_H

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "weft/metrics.h"

/* Creates a runtime from `cfg`; exits 77 when the backend under test
 * (WEFT_DRIVER) cannot start on this machine. */
static inline weft_runtime *obs_runtime(const weft_runtime_config *cfg)
{
	weft_runtime *rt = NULL;
	int err = weft_runtime_create(cfg, &rt);

	if (err == -ENOSYS || err == -EPERM || err == -ENOTSUP) {
		fprintf(stderr, "backend unavailable (%d): skipped\n", err);
		exit(77);
	}
	CHECK_EQ(err, 0);
	return rt;
}

/* A multi-threaded runtime with `workers` workers (0: current-thread). */
static inline weft_runtime *obs_runtime_n(unsigned workers)
{
	weft_runtime_config cfg = { 0 };

	cfg.flavor = workers == 0 ? WEFT_RUNTIME_CURRENT_THREAD : WEFT_RUNTIME_MULTI_THREAD;
	cfg.workers = workers;
	return obs_runtime(&cfg);
}

/* Waits (bounded: 20 s) until *flag is true; false on time-out.  Only to
 * let other threads reach a point, never to check a timer. */
static inline bool obs_wait_flag(_Atomic bool *flag)
{
	int i;

	for (i = 0; i < 20000; i++) {
		if (atomic_load(flag))
			return true;
		test_sleep_ms(1);
	}
	return atomic_load(flag);
}

/* A future that yields `left` times (waking itself), then is ready. */
struct yielder {
	weft_future base;
	int left;
};

static inline weft_poll yielder_poll(weft_future *f, weft_cx *cx)
{
	struct yielder *y = (struct yielder *)f;

	if (y->left == 0)
		return WEFT_READY;
	y->left--;
	weft_waker_wake_by_ref(weft_cx_waker(cx));
	return WEFT_PENDING;
}

static inline struct yielder yielder_make(int n)
{
	struct yielder y = { { yielder_poll, NULL }, n };

	return y;
}

#endif /* WEFT_TEST_OBS_H */

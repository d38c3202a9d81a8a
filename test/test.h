/*
 * test/test.h - tiny helpers shared by the test programs.
 *
 * Each test is one program: exit 0 on pass, 1 on failure, 77 to skip.
 */
#ifndef WEFT_TEST_H
#define WEFT_TEST_H

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "weft.h"
#include "test_win.h"

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			exit(1);                                               \
		}                                                              \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long va_ = (long long)(a), vb_ = (long long)(b);          \
		if (va_ != vb_) {                                              \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, "  \
					"%s == %lld\n",                        \
				__FILE__, __LINE__, #a, va_, #b, vb_);         \
			exit(1);                                               \
		}                                                              \
	} while (0)

/* Multiplier for stress iteration counts: WEFT_STRESS_SCALE, default 1. */
static inline long test_scale(void)
{
	const char *s = getenv("WEFT_STRESS_SCALE");
	long v = s != NULL ? strtol(s, NULL, 10) : 1;

	return v > 0 ? v : 1;
}

/*
 * Sleeps `ms` milliseconds.  Only to let threads settle (workers park) so
 * that a test exercises a path more often; never to check a timer.
 */
static inline void test_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}


/* A task that adds one to *count when it is polled (it is ready at its
 * first poll, so it counts its one run). */
struct test_count_task {
	weft_future base;
	_Atomic int *count;
};

static inline weft_poll test_count_task_poll(weft_future *f, weft_cx *cx)
{
	(void)cx;
	atomic_fetch_add(((struct test_count_task *)f)->count, 1);
	return WEFT_READY;
}
/* A runtime with `workers` workers, or a current-thread one for 0. */
static inline weft_runtime *test_runtime(unsigned workers, const weft_allocator *alloc)
{
	weft_runtime_config cfg = { 0 };
	weft_runtime *rt = NULL;

	cfg.flavor = workers == 0 ? WEFT_RUNTIME_CURRENT_THREAD : WEFT_RUNTIME_MULTI_THREAD;
	cfg.workers = workers;
	cfg.allocator = alloc;
	CHECK_EQ(weft_runtime_create(&cfg, &rt), 0);
	CHECK(rt != NULL);
	return rt;
}

/*
 * A counting allocator that can be told to fail the k-th allocation
 * (1-based; 0 = never).
 */
struct test_alloc {
	_Atomic long allocs, frees, fail_at, count;
	_Atomic long live_bytes;
};

static inline void *test_alloc_fn(void *ctx, size_t size, size_t align)
{
	struct test_alloc *ta = ctx;
	long n = atomic_fetch_add(&ta->count, 1) + 1;
	void *p;

	if (atomic_load(&ta->fail_at) != 0 && n == atomic_load(&ta->fail_at))
		return NULL;
	if (align <= _Alignof(max_align_t))
		p = malloc(size);
	else
		p = test_aligned_alloc(align, size);
	if (p != NULL) {
		atomic_fetch_add(&ta->allocs, 1);
		atomic_fetch_add(&ta->live_bytes, (long)size);
	}
	return p;
}

static inline void test_free_fn(void *ctx, void *ptr, size_t size, size_t align)
{
	struct test_alloc *ta = ctx;

	atomic_fetch_add(&ta->frees, 1);
	atomic_fetch_sub(&ta->live_bytes, (long)size);
	if (align <= _Alignof(max_align_t))
		free(ptr);
	else
		test_aligned_free(ptr);
}

static inline weft_allocator test_allocator(struct test_alloc *ta)
{
	weft_allocator a = { test_alloc_fn, test_free_fn, ta };

	memset(ta, 0, sizeof(*ta));
	return a;
}

/* A one-shot event threads can wait on (mutex + condvar, no spinning). */
struct test_event {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool set;
};

static inline void test_event_init(struct test_event *e)
{
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
	e->set = false;
}

static inline void test_event_set(struct test_event *e)
{
	pthread_mutex_lock(&e->lock);
	e->set = true;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

static inline void test_event_wait(struct test_event *e)
{
	pthread_mutex_lock(&e->lock);
	while (!e->set)
		pthread_cond_wait(&e->cond, &e->lock);
	pthread_mutex_unlock(&e->lock);
}

static inline bool test_event_is_set(struct test_event *e)
{
	bool v;

	pthread_mutex_lock(&e->lock);
	v = e->set;
	pthread_mutex_unlock(&e->lock);
	return v;
}

static inline void test_event_finish(struct test_event *e)
{
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->cond);
}

/*
 * A probe future: counts polls and drops in shared counters, and is ready
 * once `*ready` is true (or at once when `ready` is NULL).  It stores no
 * waker: tests wake it through clones they took.
 */
struct probe {
	weft_future base;
	_Atomic int *polls;
	_Atomic int *drops;
	_Atomic bool *ready;
	int value;
};

static inline weft_poll probe_poll(weft_future *f, weft_cx *cx)
{
	struct probe *p = (struct probe *)f;

	(void)cx;
	atomic_fetch_add(p->polls, 1);
	if (p->ready == NULL || atomic_load(p->ready)) {
		p->value = 1234;
		return WEFT_READY;
	}
	return WEFT_PENDING;
}

static inline void probe_drop(weft_future *f)
{
	struct probe *p = (struct probe *)f;

	atomic_fetch_add(p->drops, 1);
}

static inline struct probe probe_make(_Atomic int *polls, _Atomic int *drops, _Atomic bool *ready)
{
	struct probe p = { { probe_poll, probe_drop }, polls, drops, ready, 0 };

	return p;
}

#endif /* WEFT_TEST_H */

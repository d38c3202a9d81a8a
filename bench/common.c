/*
 * bench/common.c - shared pieces of the weft benchmarks.
 */
#include "common.h"

#include <stdlib.h>

static _Atomic uint64_t alloc_bytes, alloc_calls;

static void *count_alloc(void *ctx, size_t size, size_t align)
{
	(void)ctx;
	atomic_fetch_add_explicit(&alloc_bytes, size, memory_order_relaxed);
	atomic_fetch_add_explicit(&alloc_calls, 1, memory_order_relaxed);
	if (align <= _Alignof(max_align_t))
		return malloc(size);
	return aligned_alloc(align, (size + align - 1) & ~(align - 1));
}

static void count_free(void *ctx, void *ptr, size_t size, size_t align)
{
	(void)ctx;
	(void)size;
	(void)align;
	free(ptr);
}

static const weft_allocator counting_allocator = { count_alloc, count_free, NULL };

const weft_allocator *bench_weft_allocator(void)
{
	return &counting_allocator;
}

static void read_counts(void *ctx, uint64_t *bytes, uint64_t *allocs)
{
	(void)ctx;
	*bytes = atomic_load_explicit(&alloc_bytes, memory_order_relaxed);
	*allocs = atomic_load_explicit(&alloc_calls, memory_order_relaxed);
}

const struct bench_alloc_counter bench_weft_alloc_counter = { read_counts, NULL };

weft_runtime *bench_runtime(int workers, bool current_thread)
{
	weft_runtime_config cfg = { 0 };
	weft_runtime *rt = NULL;
	int err;

	cfg.flavor = current_thread ? WEFT_RUNTIME_CURRENT_THREAD : WEFT_RUNTIME_MULTI_THREAD;
	cfg.workers = workers > 0 ? (unsigned)workers : 0;
	cfg.allocator = &counting_allocator;
	err = weft_runtime_create(&cfg, &rt);
	if (err < 0) {
		fprintf(stderr, "weft_runtime_create: %s\n", strerror(-err));
		return NULL;
	}
	return rt;
}

void bench_signal_init(struct bench_signal *s)
{
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->count = 0;
}

void bench_signal_finish(struct bench_signal *s)
{
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
}

void bench_signal_post(struct bench_signal *s)
{
	pthread_mutex_lock(&s->lock);
	s->count++;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void bench_signal_wait(struct bench_signal *s, long target)
{
	pthread_mutex_lock(&s->lock);
	while (s->count < target)
		pthread_cond_wait(&s->cond, &s->lock);
	s->count -= target;
	pthread_mutex_unlock(&s->lock);
}

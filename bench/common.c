/*
 * bench/common.c - shared pieces of the weft benchmarks.
 */
#include "common.h"

#include <stdlib.h>

static _Atomic uint64_t alloc_bytes, alloc_calls;

/* Set by main.c for the cases whose bytes/op are reported; off, counting
 * costs one predictable branch per call. */
bool bench_count_allocations;

/*
 * Allocation counting for bytes/op and allocs/op: the benchmark binary
 * defines the C library's allocation functions, which the dynamic linker
 * then uses for the whole process (weft included), counts each call and
 * forwards to glibc's own implementation.  Runtimes use the default
 * allocator, so the numbers are those a user gets.
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define BENCH_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define BENCH_SANITIZED 1
#endif

/* Sanitizers own malloc: no interposition (and no counts) there. */
#if defined(__GLIBC__) && !defined(BENCH_SANITIZED)
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *p);


static void count(size_t bytes)
{
	if (!bench_count_allocations)
		return;
	atomic_fetch_add_explicit(&alloc_bytes, bytes, memory_order_relaxed);
	atomic_fetch_add_explicit(&alloc_calls, 1, memory_order_relaxed);
}

void *malloc(size_t size)
{
	count(size);
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	count(n * size);
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	count(size);
	return __libc_realloc(p, size);
}

void *aligned_alloc(size_t align, size_t size)
{
	count(size);
	return __libc_memalign(align, size);
}

void *memalign(size_t align, size_t size);
void *memalign(size_t align, size_t size)
{
	count(size);
	return __libc_memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
	void *p;

	count(size);
	p = __libc_memalign(align, size);
	if (p == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}

void free(void *p)
{
	__libc_free(p);
}
#endif

const weft_allocator *bench_weft_allocator(void)
{
	return NULL; /* the default allocator */
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

/*
 * src/chan/alloc.c - allocation for the channels.
 *
 * Channels use the C library's malloc and free: there is no allocator hook
 * for them yet (the runtime's weft_allocator belongs to a runtime, and a
 * channel may outlive or span runtimes).  Every allocation goes through
 * here so that the tests can make the k-th one fail and check that each
 * caller returns -ENOMEM with nothing leaked.
 */
#include <stdlib.h>

#include "chan_internal.h"
#include "../common/platform.h"

_Atomic long weft__chan_fail_alloc_at;

static bool injected_failure(void)
{
	long k = atomic_load_explicit(&weft__chan_fail_alloc_at, memory_order_relaxed);

	if (k <= 0)
		return false;
	/* Relaxed: the hook is for single-threaded tests (see the header). */
	atomic_store_explicit(&weft__chan_fail_alloc_at, k - 1, memory_order_relaxed);
	return k == 1;
}

void *weft__chan_alloc(size_t size)
{
	if (injected_failure())
		return NULL;
	return malloc(size);
}

void *weft__chan_calloc(size_t size)
{
	if (injected_failure())
		return NULL;
	return calloc(1, size);
}

void *weft__chan_alloc_aligned(size_t size, size_t align)
{
	void *p;

	if (injected_failure())
		return NULL;
	p = weft__aligned_alloc(align, size);
	if (p != NULL)
		memset(p, 0, size);
	return p;
}

void weft__chan_free(void *p)
{
	free(p);
}

void weft__chan_free_aligned(void *p)
{
	weft__aligned_free(p);
}

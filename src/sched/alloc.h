/*
 * src/sched/alloc.h - calls through a runtime's allocator.  Private.
 *
 * Inline: a spawn and a task's end each make one of these calls, and they
 * are on the spawn path's budget.
 */
#ifndef WEFT_SRC_SCHED_ALLOC_H
#define WEFT_SRC_SCHED_ALLOC_H

#include <stddef.h>

#include "weft/runtime.h"

/* malloc and free (aligned_alloc for alignments above max_align_t): the
 * allocator of a runtime whose config names none (runtime.c). */
extern const weft_allocator weft__default_allocator;

/* Allocates `size` bytes aligned to `align` through `a`; NULL on failure. */
static inline void *weft__alloc(const weft_allocator *a, size_t size, size_t align)
{
	return a->alloc(a->ctx, size, align);
}

/* Frees what weft__alloc returned, with the same size and alignment;
 * NULL does nothing. */
static inline void weft__free(const weft_allocator *a, void *p, size_t size, size_t align)
{
	if (p != NULL)
		a->free(a->ctx, p, size, align);
}

#endif /* WEFT_SRC_SCHED_ALLOC_H */

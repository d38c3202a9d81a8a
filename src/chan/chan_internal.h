/*
 * src/chan/chan_internal.h - what the channel files share: the waiter list
 * and wake batches of src/common, allocation (with a fault-injection hook for
 * the tests), and copying values through atomic words.  Private.
 */
#ifndef WEFT_SRC_CHAN_INTERNAL_H
#define WEFT_SRC_CHAN_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The list layer of src/common (waiter lists and wake batches), shared
 * with src/sync; the nodes themselves are laid out in weft/waiter.h. */
#include "../common/wakebatch.h"
#include "../common/waitlist.h"
#include "weft/chan.h"

#define CHAN_CONTAINER_OF(ptr, type, member) \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* ---- allocation ------------------------------------------------------- */

/*
 * Test hook: when set to k > 0, the k-th channel allocation from now fails
 * (the counter then goes back to 0).  Relaxed: a test sets it while no
 * other thread allocates.
 */
extern _Atomic long weft__chan_fail_alloc_at;

/* malloc / calloc / free, through the hook above. */
void *weft__chan_alloc(size_t size);
void *weft__chan_calloc(size_t size);
/* Zeroed memory aligned to `align` (a power of two, at most 4096). */
void *weft__chan_alloc_aligned(size_t size, size_t align);
void weft__chan_free(void *p);
/* Frees a block of weft__chan_alloc_aligned. */
void weft__chan_free_aligned(void *p);

/*
 * weft__chan_alloc and weft__chan_free for the hot paths (a heap oneshot
 * per request): the hook is checked inline and the C library called
 * directly, saving a call when no test armed the hook.
 */
static inline void *chan_alloc_inline(size_t size)
{
	/* Relaxed: see weft__chan_fail_alloc_at. */
	if (atomic_load_explicit(&weft__chan_fail_alloc_at, memory_order_relaxed) > 0)
		return weft__chan_alloc(size);
	return malloc(size);
}

static inline void chan_free_inline(void *p)
{
	free(p);
}

/* ---- values in atomic words ------------------------------------------- */

/*
 * Broadcast slots and the watch value are read while a writer may be
 * rewriting them (a sequence lock): the reader copies, then checks that
 * the sequence did not move.  To keep that free of data races the value is
 * stored as atomic 64-bit words.  The writer marks the sequence odd, then
 * stores each word with release; the reader loads each word with acquire,
 * then the sequence again.  A reader that saw any word of a newer write
 * therefore also sees the odd sequence (or later) on its second look, and
 * throws the copy away: no standalone fences, which ThreadSanitizer cannot
 * follow.  On x86 these are plain moves.
 */
static inline size_t value_words(size_t size)
{
	return (size + 7) / 8;
}

static inline void words_store(_Atomic uint64_t *dst, const void *src, size_t size)
{
	const unsigned char *s = src;
	uint64_t w;

	while (size >= 8) {
		memcpy(&w, s, 8);
		/* Release: orders the odd sequence before this word; pairs
		 * with the acquire in words_load. */
		atomic_store_explicit(dst++, w, memory_order_release);
		s += 8;
		size -= 8;
	}
	if (size > 0) {
		w = 0;
		memcpy(&w, s, size);
		/* Release: as above. */
		atomic_store_explicit(dst, w, memory_order_release);
	}
}

static inline void words_load(void *dst, const _Atomic uint64_t *src, size_t size)
{
	unsigned char *d = dst;
	uint64_t w;

	while (size >= 8) {
		/* Acquire: pairs with the release in words_store, so the
		 * sequence re-check that follows sees a newer writer. */
		w = atomic_load_explicit(src++, memory_order_acquire);
		memcpy(d, &w, 8);
		d += 8;
		size -= 8;
	}
	if (size > 0) {
		/* Acquire: as above. */
		w = atomic_load_explicit(src, memory_order_acquire);
		memcpy(d, &w, size);
	}
}

/* Copies `size` bytes with a fast path for pointer-sized values. */
static inline void value_copy(void *dst, const void *src, size_t size)
{
	if (size == sizeof(void *))
		memcpy(dst, src, sizeof(void *));
	else if (size > 0)
		memcpy(dst, src, size);
}

/* Marks a slow path (a new block, a wake, a reclaim) so that the compiler
 * keeps it out of line and the fast path of its caller stays small (no
 * callee-saved registers to save).  Empty where unsupported. */
#if defined(__GNUC__)
#define CHAN_COLD __attribute__((noinline, cold))
#else
#define CHAN_COLD
#endif

/* Keeps a helper that is not cold out of line (a fast path's tail call to
 * it then saves no registers).  Empty where unsupported. */
#if defined(__GNUC__)
#define CHAN_NOINLINE __attribute__((noinline))
#else
#define CHAN_NOINLINE
#endif

#define CHAN_MAX_ELEM_SIZE ((size_t)1 << 24)

#endif /* WEFT_SRC_CHAN_INTERNAL_H */

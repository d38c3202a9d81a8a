/*
 * src/sched/task_cache.h - task allocations kept for reuse, for runtimes
 * on the default allocator.  Private.  task_cache.c has the design.
 *
 * API (every call: any thread):
 *   weft__task_cache_alloc(total)   a block of `total` bytes (16-aligned),
 *                                   from the cache or malloc; NULL when
 *                                   malloc fails
 *   weft__task_cache_free(p, total) gives back a block of that call, with
 *                                   the same `total`; NULL is ignored
 *   weft__task_cache_enabled()      false when WEFT_TASK_CACHE=0 said so
 *                                   (read once per process)
 *   weft__task_cache_take(total)    a cached block of `total` bytes from
 *                                   this thread's list or the depot, or
 *                                   NULL when none is cached (never malloc)
 *   weft__task_cache_keep(p, total) keeps a malloc'd block of `total` bytes
 *                                   in this thread's list or the depot and
 *                                   returns true, or returns false when
 *                                   both are full (the caller keeps `p`)
 *
 * take and keep are for a cache of its own behind this one (the blocking
 * pool's job cache): what this cache cannot hold goes there, not to free.
 *
 * Blocks are plain malloc memory: a block may be given back on another
 * thread than the one that took it, and after the runtime that used it
 * is gone.
 */
#ifndef WEFT_SRC_SCHED_TASK_CACHE_H
#define WEFT_SRC_SCHED_TASK_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Per size class: the blocks a thread keeps, how many move to or from
 * the depot at once, and the most batches the depot keeps. */
#define WEFT__TASK_CACHE_MAX 64u
#define WEFT__TASK_CACHE_BATCH 32u
#define WEFT__TASK_CACHE_DEPOT_MAX 32u

void *weft__task_cache_alloc(size_t total);
void weft__task_cache_free(void *p, size_t total);
void *weft__task_cache_take(size_t total);
bool weft__task_cache_keep(void *p, size_t total);
bool weft__task_cache_enabled(void);

/* Test hooks: blocks now in the calling thread's lists, in the depot (all
 * classes; takes its lock), and batches taken from the depot so far. */
size_t weft__task_cache_thread_count(void);
size_t weft__task_cache_depot_count(void);
uint64_t weft__task_cache_depot_takes(void);

#endif /* WEFT_SRC_SCHED_TASK_CACHE_H */

/*
 * src/sched/task_cache.c - task allocations kept for reuse.
 *
 * Why.  A task is one allocation, made by the thread that spawns and freed
 * by the thread that drops its last reference, which is often another one:
 * a thread outside the runtime spawns and a worker runs the task; a task
 * spawns on one worker and the other worker steals and finishes it.  With
 * glibc's malloc the spawner's per-thread cache is then always empty (its
 * blocks are freed elsewhere), so each spawn goes to its arena under the
 * arena's lock, and each free that overflows the freeing thread's cache
 * goes back to that same arena under the same lock: in
 * remote_spawn/threads_1 the spawning thread spent 13% of all the
 * process's samples in _int_malloc (docs/benchmarks.md).
 *
 * How.  Each thread keeps up to CACHE_MAX blocks of each size class in a
 * list of its own, touched by no other thread and so without atomics.  A
 * free pushes on it; a thread whose list is full hands CACHE_BATCH blocks
 * to a process-wide depot first.  An allocation pops from it; a thread
 * whose list is empty takes one batch from the depot, and only when the
 * depot has none calls malloc.  Blocks thus cross between threads a batch
 * at a time, for one lock taken on each side per CACHE_BATCH tasks (Go's
 * scheduler moves dead goroutines between its per-P lists and a global
 * one the same way).  The depot keeps whole batches, each a chain formed
 * by the thread that gave it, so taking or giving one is O(1) under the
 * lock.
 *
 * Size classes.  A task's allocation is its 64-byte header (after a
 * 32-byte annex when the task is named or its runtime observed) plus its
 * future rounded up to 16 bytes (task.c).  Every total from 80 to 256
 * bytes (futures of up to 192 bytes) is a class of its own, so a block is
 * only reused at its own size and no allocation grows; other sizes go to
 * malloc and free as before.
 *
 * Lifetime.  Only runtimes on the default allocator use the cache (task.c
 * decides), so its blocks are plain malloc memory that any thread may
 * free at any time: the depot belongs to no runtime and outlives them
 * all, and a thread's lists are freed when it exits (a pthread key
 * destructor).  The depot keeps at most DEPOT_MAX batches per class and
 * frees what comes beyond, so a burst of a million tasks does not stay
 * allocated after it has run.  What the depot and the main thread hold at
 * exit stays reachable (LeakSanitizer does not report it).
 *
 * Under AddressSanitizer a cached block is poisoned past its two link
 * words, so a use of a task after its free is still reported.
 * WEFT_TASK_CACHE=0 in the environment turns the cache off (malloc and
 * free for every task), for measurements.
 */
#include "task_cache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h" /* WEFT__TLS */
#include "../common/lock.h"

#if defined(__SANITIZE_ADDRESS__)
#define CACHE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CACHE_ASAN 1
#endif
#endif
#ifdef CACHE_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define CLASS_MIN 80u
#define CLASS_MAX 256u
#define CLASS_STEP 16u
#define CLASSES ((CLASS_MAX - CLASS_MIN) / CLASS_STEP + 1)
#define CACHE_MAX WEFT__TASK_CACHE_MAX
#define CACHE_BATCH WEFT__TASK_CACHE_BATCH
#define DEPOT_MAX WEFT__TASK_CACHE_DEPOT_MAX

/* The first bytes of a cached block. */
struct node {
	struct node *next;       /* the next block of its list or chain */
	struct node *next_batch; /* in the depot, on a chain's first block */
};

#define LINK_BYTES sizeof(struct node)

struct thread_cache {
	struct node *head[CLASSES];
	uint32_t count[CLASSES];
	/* The exit destructor knows this thread's lists. */
	bool registered;
};

static WEFT__TLS struct thread_cache tc;

static struct {
	struct weft__lock lock;
	struct node *batches[CLASSES];
	/* Batches of each class: written under the lock, read without it as
	 * a hint (an empty depot is not locked to find it empty, a full one
	 * not to find it full). */
	_Atomic uint32_t count[CLASSES];
} depot;

/* Batches taken from the depot since the start (test hook). */
static _Atomic uint64_t depot_takes;

static uint32_t depot_hint(int c)
{
	/* Relaxed: a hint; the lock orders what is acted on. */
	return atomic_load_explicit(&depot.count[c], memory_order_relaxed);
}

static void depot_count_add(int c, int d)
{
	/* Relaxed: under the lock, which orders the list; see depot_hint. */
	atomic_store_explicit(&depot.count[c], depot_hint(c) + (uint32_t)d,
			      memory_order_relaxed);
}

static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static pthread_key_t cache_key;
static bool cache_key_ok;
static bool cache_on = true;

static void free_list(struct node *n, size_t total)
{
	while (n != NULL) {
		struct node *next = n->next;

		UNPOISON(n, total);
		free(n);
		n = next;
	}
}

static size_t class_size(unsigned c)
{
	return CLASS_MIN + (size_t)c * CLASS_STEP;
}

/* Thread exit: this thread's blocks go back to malloc. */
static void thread_exit(void *arg)
{
	struct thread_cache *cache = arg;
	unsigned c;

	for (c = 0; c < CLASSES; c++) {
		free_list(cache->head[c], class_size(c));
		cache->head[c] = NULL;
		cache->count[c] = 0;
	}
	cache->registered = false;
}

static void cache_init(void)
{
	const char *env = getenv("WEFT_TASK_CACHE");

	if (env != NULL && strcmp(env, "0") == 0)
		cache_on = false;
	cache_key_ok = pthread_key_create(&cache_key, thread_exit) == 0;
}

bool weft__task_cache_enabled(void)
{
	pthread_once(&cache_once, cache_init);
	return cache_on;
}

/* The class of `total`, or -1 when it has none. */
static int class_of(size_t total)
{
	if (total < CLASS_MIN || total > CLASS_MAX || total % CLASS_STEP != 0)
		return -1;
	return (int)((total - CLASS_MIN) / CLASS_STEP);
}

/* Makes the exit destructor know this thread's lists; false when it cannot,
 * and then the thread keeps nothing. */
static bool thread_register(void)
{
	if (tc.registered)
		return true;
	pthread_once(&cache_once, cache_init);
	if (!cache_key_ok || pthread_setspecific(cache_key, &tc) != 0)
		return false;
	tc.registered = true;
	return true;
}

/* This thread's list `c` is empty: a batch from the depot, or NULL when
 * the depot has none (or this thread cannot keep blocks). */
static struct node *take_batch(int c, size_t total)
{
	struct node *n;

	if (depot_hint(c) == 0 || !thread_register())
		return NULL;
	weft__lock_acquire(&depot.lock);
	n = depot.batches[c];
	if (n != NULL) {
		depot.batches[c] = n->next_batch;
		depot_count_add(c, -1);
		/* Relaxed: a statistic. */
		atomic_fetch_add_explicit(&depot_takes, 1, memory_order_relaxed);
	}
	weft__lock_release(&depot.lock);
	if (n == NULL)
		return NULL;
	tc.head[c] = n->next;
	tc.count[c] = CACHE_BATCH - 1;
	UNPOISON(n, total);
	return n;
}

static __attribute__((noinline)) void *alloc_slow(int c, size_t total)
{
	void *p = take_batch(c, total);

	return p != NULL ? p : malloc(total);
}

/* A block from this thread's list `c`, else from the depot; NULL when
 * both are empty. */
static void *take(int c, size_t total)
{
	struct node *n = tc.head[c];

	if (n == NULL)
		return take_batch(c, total);
	tc.head[c] = n->next;
	tc.count[c]--;
	UNPOISON(n, total);
	return n;
}

void *weft__task_cache_alloc(size_t total)
{
	int c = class_of(total);
	struct node *n;

	if (c < 0)
		return malloc(total);
	n = tc.head[c];
	if (n == NULL)
		return alloc_slow(c, total);
	tc.head[c] = n->next;
	tc.count[c]--;
	UNPOISON(n, total);
	return n;
}

void *weft__task_cache_take(size_t total)
{
	int c = class_of(total);

	if (c < 0 || !weft__task_cache_enabled())
		return NULL;
	return take(c, total);
}

/* Moves the first CACHE_BATCH blocks of this thread's list `c` to the
 * depot, or frees them when the depot is full. */
static void give_batch(int c)
{
	struct node *first = tc.head[c], *last = first;
	uint32_t i;

	for (i = 1; i < CACHE_BATCH; i++)
		last = last->next;
	tc.head[c] = last->next;
	tc.count[c] -= CACHE_BATCH;
	last->next = NULL;
	weft__lock_acquire(&depot.lock);
	if (depot_hint(c) < DEPOT_MAX) {
		first->next_batch = depot.batches[c];
		depot.batches[c] = first;
		depot_count_add(c, 1);
		first = NULL;
	}
	weft__lock_release(&depot.lock);
	free_list(first, class_size((unsigned)c));
}

static void push(int c, struct node *n, size_t total)
{
	n->next = tc.head[c];
	tc.head[c] = n;
	tc.count[c]++;
	POISON((char *)n + LINK_BYTES, total - LINK_BYTES);
}

/* This thread is not registered yet, or its list `c` is full: keeps the
 * block (moving a batch to the depot first when the list is full), or
 * returns false when neither this thread nor the depot can take it. */
static __attribute__((noinline)) bool keep_slow(int c, struct node *n, size_t total)
{
	if (!thread_register())
		return false;
	if (tc.count[c] == CACHE_MAX) {
		/* A full depot takes nothing, and the list stays as it is. */
		if (depot_hint(c) >= DEPOT_MAX)
			return false;
		give_batch(c);
	}
	push(c, n, total);
	return true;
}

static bool keep(int c, struct node *n, size_t total)
{
	if (!tc.registered || tc.count[c] == CACHE_MAX)
		return keep_slow(c, n, total);
	push(c, n, total);
	return true;
}

void weft__task_cache_free(void *p, size_t total)
{
	int c = class_of(total);

	if (p == NULL)
		return;
	if (c < 0 || !keep(c, p, total))
		free(p);
}

bool weft__task_cache_keep(void *p, size_t total)
{
	int c = class_of(total);

	if (c < 0 || !weft__task_cache_enabled())
		return false;
	return keep(c, p, total);
}

size_t weft__task_cache_thread_count(void)
{
	size_t sum = 0;
	unsigned c;

	for (c = 0; c < CLASSES; c++)
		sum += tc.count[c];
	return sum;
}

size_t weft__task_cache_depot_count(void)
{
	size_t sum = 0;
	unsigned c;

	weft__lock_acquire(&depot.lock);
	for (c = 0; c < CLASSES; c++)
		sum += (size_t)depot_hint((int)c) * CACHE_BATCH;
	weft__lock_release(&depot.lock);
	return sum;
}

uint64_t weft__task_cache_depot_takes(void)
{
	/* Relaxed: a statistic. */
	return atomic_load_explicit(&depot_takes, memory_order_relaxed);
}

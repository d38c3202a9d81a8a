/*
 * bench/common.h - what weft's benchmark case files share: a counting
 * allocator for bytes/allocations per operation, runtime creation, and a
 * blocking signal (the plain std channel of Tokio's benches).
 */
#ifndef WEFT_BENCH_COMMON_H
#define WEFT_BENCH_COMMON_H

#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "weft.h"

/* The allocator benchmark runtimes use: NULL, the default (malloc), which
 * bench/common.c counts for the whole process (bytes and calls, read by the
 * harness around the timed samples). */
const weft_allocator *bench_weft_allocator(void);
extern const struct bench_alloc_counter bench_weft_alloc_counter;
/* Whether the malloc wrappers count (see main.c for which cases). */
extern bool bench_count_allocations;

/*
 * Creates a runtime for a case: `workers` threads, or a current-thread
 * runtime when `workers` is 0 and `current_thread` is set.  Returns NULL
 * (after printing why) on failure.
 */
weft_runtime *bench_runtime(int workers, bool current_thread);

/* A counting signal: wait until `target` posts have arrived. */
struct bench_signal {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	long count;
};

void bench_signal_init(struct bench_signal *s);
void bench_signal_finish(struct bench_signal *s);
/* Adds one post.  Any thread. */
void bench_signal_post(struct bench_signal *s);
/* Waits until `target` posts arrived since the last reset, then resets. */
void bench_signal_wait(struct bench_signal *s, long target);

/* A case file's table, as bench/main.c joins them.  Each file
 * bench/<name>_cases.c listed in bench/meson.build defines
 * `const struct bench_case weft_<name>_cases[]` and
 * `const size_t weft_<name>_cases_len`. */
struct bench_case_table {
	const struct bench_case *cases;
	size_t len;
};

#endif /* WEFT_BENCH_COMMON_H */

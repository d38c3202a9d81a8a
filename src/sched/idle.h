/*
 * src/sched/idle.h - idle coordination of workers: how many search for
 * work, how many are awake, and which are parked.  Private.
 */
#ifndef WEFT_SRC_SCHED_IDLE_H
#define WEFT_SRC_SCHED_IDLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/runtime.h"

struct idle {
	/* Low 32 bits: searching workers; high 32 bits: unparked workers. */
	_Alignas(64) _Atomic uint64_t state;
	unsigned num_workers;
	size_t words;
	/* One bit per parked worker, one word per 64 workers. */
	_Atomic uint64_t *parked;
};

int weft__idle_init(struct idle *idle, unsigned num_workers, const weft_allocator *alloc);
void weft__idle_finish(struct idle *idle, const weft_allocator *alloc);

/* A worker wants to search; at most half the workers search at once.
 * Returns true when it may (it is now counted as searching). */
bool weft__idle_transition_to_searching(struct idle *idle);

/* A searching worker found work.  Returns true when it was the last
 * searcher: the caller must then check every queue once more (after a
 * SeqCst fence) and wake a worker if it finds work. */
bool weft__idle_transition_from_searching(struct idle *idle);

/*
 * A worker is about to park: marks it parked and no longer unparked (nor
 * searching, with `searching`).  Returns true when it was the last
 * searcher: the caller must then check every queue once more and wake a
 * worker if it finds work.
 */
bool weft__idle_transition_to_parked(struct idle *idle, unsigned index, bool searching);

/*
 * Called after work was made available.  When no worker is searching and
 * some are parked, claims a parked worker (it is counted as searching and
 * unparked from now on) and returns its index; otherwise returns -1.
 */
int weft__idle_worker_to_notify(struct idle *idle);

/*
 * A parked worker found work of its own (its driver's completions woke
 * tasks into its LIFO slot or local queue) and leaves park by itself,
 * counted as unparked and not searching.  Returns true when it did so;
 * false when a notifier counted or claimed it meanwhile: that notifier's
 * unpark goes to this worker or, when another worker parked after the
 * notifier counted, possibly to that one, so the worker must leave its
 * work where others can steal it (not in its LIFO slot) and park again
 * (the park returns at once when the unpark was its own).  Never fails to leave the counts consistent: when the worker
 * raced a notifier for its own bit, it wakes one other parked worker in
 * its place and says so through *wake (its index, or -1 for none).
 */
bool weft__idle_unpark_self(struct idle *idle, unsigned index, int *wake);

#endif /* WEFT_SRC_SCHED_IDLE_H */

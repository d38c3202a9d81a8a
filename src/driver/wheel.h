/*
 * src/driver/wheel.h - a hierarchical timing wheel over intrusive timer
 * entries.  Private.  Not thread-safe: the caller (time.c) holds its lock.
 *
 * An entry has an exact deadline (`deadline`, in any unit: ns in weft) and
 * the tick that holds it (`when`, 1 ms in weft), which the caller computes
 * with a monotone floor conversion (the wheel itself does not care which).
 * The wheel places entries by tick and fires them by exact deadline.  Six
 * levels of 64 slots: level L slot s holds the entries whose tick lies in a
 * 64^L-tick span, so the wheel covers 64^6 ticks (about 2.2 years of
 * milliseconds) ahead of `elapsed`; anything further waits in an overflow
 * list that is drained back into the wheel when the wheel reaches it.  The
 * entries of the current tick that are not due yet wait in the `current`
 * list, sorted by deadline.  See the essay in wheel.c.
 */
#ifndef WEFT_SRC_DRIVER_WHEEL_H
#define WEFT_SRC_DRIVER_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/time.h"

#define WHEEL_LEVELS 6
#define WHEEL_SLOTS 64
/* Values of weft__timer.level besides 0..WHEEL_LEVELS-1 (time.c uses 7
 * for its fired list). */
#define WHEEL_LEVEL_OVERFLOW 6
#define WHEEL_LEVEL_CURRENT 8
#define WHEEL_LEVEL_NONE 0xff

struct weft__wheel {
	/* The clock the wheel was last advanced to: its tick and the exact
	 * instant.  Every entry with when < elapsed, or when == elapsed and
	 * deadline <= now, has been handed out. */
	uint64_t elapsed;
	uint64_t now;
	/* The entries with when == elapsed and deadline > now, sorted by
	 * deadline (head first). */
	struct weft__timer *current, *current_tail;
	/* Bit s of occupied[L]: slot s of level L is not empty. */
	uint64_t occupied[WHEEL_LEVELS];
	struct weft__timer *slots[WHEEL_LEVELS][WHEEL_SLOTS];
	/* A lower bound of the exact deadlines in each slot: the minimum
	 * over the entries linked since the slot was last empty (a removal
	 * leaves it stale-low, which costs at most an early wake-up). */
	uint64_t slot_min[WHEEL_LEVELS][WHEEL_SLOTS];
	/* Entries too far ahead for the wheel, and lower bounds of their
	 * ticks and deadlines (stale-low after a removal, which only costs an
	 * early drain). */
	struct weft__timer *overflow;
	uint64_t overflow_min;
	uint64_t overflow_min_deadline;
	size_t count;
};

/* An empty wheel whose clock starts at tick `elapsed`, instant `now` (the
 * instant must lie in that tick). */
void weft__wheel_init(struct weft__wheel *w, uint64_t elapsed, uint64_t now);

/*
 * Links `e` (e->when and e->deadline set) into the wheel.  Returns false and
 * leaves `e` unlinked when it is already due: e->when < elapsed, or
 * e->when == elapsed and e->deadline <= now.
 */
bool weft__wheel_insert(struct weft__wheel *w, struct weft__timer *e);

/* Unlinks `e`, which must be in the wheel, in constant time. */
void weft__wheel_remove(struct weft__wheel *w, struct weft__timer *e);

/*
 * A lower bound of the earliest exact deadline in the wheel, always later
 * than `now`; UINT64_MAX when the wheel is empty.  Exact unless a removal
 * left a stale-low slot minimum; advancing to a stale-low value moves the
 * wheel on (the slot that held it is emptied), so repeating "advance to the
 * next deadline" always reaches the earliest entry.  Constant time.
 */
uint64_t weft__wheel_next_deadline(const struct weft__wheel *w);

/*
 * The tick at which the wheel next has to empty a slot: the start of the
 * slot that holds the earliest tick, or of the wheel span the overflow list
 * needs next (> elapsed), or `elapsed` itself when the current list is not
 * empty; UINT64_MAX when the wheel is empty.  A lower bound of every
 * entry's tick.
 */
uint64_t weft__wheel_next_expiration(const struct weft__wheel *w);

/*
 * Advances the wheel's clock to instant `now`, in tick `tick` (nothing
 * happens if now <= the wheel's `now`), and hands every entry with
 * deadline <= now to fire(ctx, e), unlinked, in the order of their exact
 * deadlines (equal deadlines in any order).  The others stay linked.
 */
void weft__wheel_advance(struct weft__wheel *w, uint64_t tick, uint64_t now,
			 void (*fire)(void *ctx, struct weft__timer *e), void *ctx);

/* Unlinks every entry and hands it to fn(ctx, e), in no particular order. */
void weft__wheel_take_all(struct weft__wheel *w,
			  void (*fn)(void *ctx, struct weft__timer *e), void *ctx);

static inline bool weft__wheel_is_empty(const struct weft__wheel *w)
{
	return w->count == 0;
}

#endif /* WEFT_SRC_DRIVER_WHEEL_H */

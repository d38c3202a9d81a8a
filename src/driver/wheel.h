/*
 * src/driver/wheel.h - a hierarchical timing wheel over intrusive timer
 * entries.  Private.  Not thread-safe: the caller (time.c) holds its lock.
 *
 * Time is counted in ticks (1 ms in weft; the wheel itself does not care).
 * Six levels of 64 slots: level L slot s holds the entries whose deadline
 * lies in a 64^L-tick span, so the wheel covers 64^6 ticks (about 2.2 years
 * of milliseconds) ahead of `elapsed`; anything further waits in an overflow
 * list that is drained back into the wheel when the wheel reaches it.  See
 * the essay in wheel.c.
 */
#ifndef WEFT_SRC_DRIVER_WHEEL_H
#define WEFT_SRC_DRIVER_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/time.h"

#define WHEEL_LEVELS 6
#define WHEEL_SLOTS 64
/* Values of weft__timer.level besides 0..WHEEL_LEVELS-1. */
#define WHEEL_LEVEL_OVERFLOW 6
#define WHEEL_LEVEL_NONE 0xff

struct weft__wheel {
	/* Every entry with when <= elapsed has been handed out. */
	uint64_t elapsed;
	/* Bit s of occupied[L]: slot s of level L is not empty. */
	uint64_t occupied[WHEEL_LEVELS];
	struct weft__timer *slots[WHEEL_LEVELS][WHEEL_SLOTS];
	/* Entries too far ahead for the wheel, and a lower bound of their
	 * deadlines (exact after each drain, possibly stale-low after a
	 * removal, which only costs an early drain). */
	struct weft__timer *overflow;
	uint64_t overflow_min;
	size_t count;
};

/* An empty wheel whose clock starts at tick `elapsed`. */
void weft__wheel_init(struct weft__wheel *w, uint64_t elapsed);

/*
 * Links `e` (e->when set) into the wheel.  Returns false and leaves `e`
 * unlinked when e->when <= elapsed: it is already due.
 */
bool weft__wheel_insert(struct weft__wheel *w, struct weft__timer *e);

/* Unlinks `e`, which must be in the wheel, in constant time. */
void weft__wheel_remove(struct weft__wheel *w, struct weft__timer *e);

/*
 * The tick at which the wheel next has something to do: a lower bound of
 * the earliest deadline in it (the start of the slot that holds it, or of
 * the wheel span the overflow list needs next), always > elapsed;
 * UINT64_MAX when the wheel is empty.
 */
uint64_t weft__wheel_next_expiration(const struct weft__wheel *w);

/*
 * Advances the wheel's clock to `now` (no-op if now <= elapsed) and hands
 * every entry with when <= now to fire(ctx, e), unlinked, in the order of
 * their deadlines (entries with equal deadlines in any order).
 */
void weft__wheel_advance(struct weft__wheel *w, uint64_t now,
			 void (*fire)(void *ctx, struct weft__timer *e), void *ctx);

/* Unlinks every entry and hands it to fn(ctx, e), in no particular order. */
void weft__wheel_take_all(struct weft__wheel *w,
			  void (*fn)(void *ctx, struct weft__timer *e), void *ctx);

static inline bool weft__wheel_is_empty(const struct weft__wheel *w)
{
	return w->count == 0;
}

#endif /* WEFT_SRC_DRIVER_WHEEL_H */

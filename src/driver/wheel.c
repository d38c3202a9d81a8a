/*
 * src/driver/wheel.c - the hierarchical timing wheel.
 *
 * How an entry is placed
 * ======================
 *
 * Write ticks in base 64: digit L of a tick is (tick >> 6L) & 63.  An entry
 * whose deadline `when` is later than `elapsed` goes to the level of the
 * highest digit in which `when` and `elapsed` differ, into the slot named
 * by that digit of `when`.  So every entry at level L agrees with `elapsed`
 * on all digits above L and has a larger digit L: it lies in the current
 * turn of level L, in a slot after the current one.  Level 0 slots are
 * single ticks; a level L slot spans 64^L ticks.  Deadlines that differ from
 * `elapsed` above the sixth digit (64^6 ticks away or more) wait in the
 * overflow list.
 *
 * The next expiration
 * ===================
 *
 * Every level 0 entry lies before every level 1 slot that is still to come,
 * and so on up, so the next thing to do is at the lowest non-empty level:
 * its first occupied slot after the current digit (one count-trailing-zeros
 * on the level's occupancy word), at the start of that slot.  With the six
 * levels empty, it is the start of the 64^6-tick span that holds the
 * overflow list's earliest deadline.  Either way the answer is a lower
 * bound of the earliest deadline, which is what a parker needs.
 *
 * Advancing
 * =========
 *
 * To advance to `now`, the wheel repeatedly takes the next expiration while
 * it is <= now, moves `elapsed` to it and empties that slot (or the whole
 * overflow list): an entry whose deadline is that tick fires, every other
 * one is placed again relative to the new `elapsed`, which puts it at a
 * lower level (or back into the overflow list).  Entries therefore fire in
 * deadline order, never before their tick, and each moves down at most six
 * times in its life.  Finally `elapsed` becomes `now`; what is left is
 * still correctly placed, because `now` agrees with every remaining entry's
 * slot on the digits above it.
 *
 * Removal unlinks from a doubly linked slot list and clears the slot's
 * occupancy bit when the list empties: constant time.
 */
#include "wheel.h"

#include <assert.h>

#define LEVEL_BITS 6
#define WHEEL_SPAN_BITS (LEVEL_BITS * WHEEL_LEVELS) /* 36 */

static unsigned level_for(uint64_t elapsed, uint64_t when)
{
	uint64_t masked = (elapsed ^ when) | (WHEEL_SLOTS - 1);
	unsigned significant = 63u - (unsigned)__builtin_clzll(masked);

	return significant / LEVEL_BITS;
}

static struct weft__timer **list_of(struct weft__wheel *w, const struct weft__timer *e)
{
	if (e->level == WHEEL_LEVEL_OVERFLOW)
		return &w->overflow;
	return &w->slots[e->level][e->slot];
}

static void push_front(struct weft__timer **head, struct weft__timer *e)
{
	e->prev = NULL;
	e->next = *head;
	if (*head != NULL)
		(*head)->prev = e;
	*head = e;
}

void weft__wheel_init(struct weft__wheel *w, uint64_t elapsed)
{
	unsigned l, s;

	w->elapsed = elapsed;
	for (l = 0; l < WHEEL_LEVELS; l++) {
		w->occupied[l] = 0;
		for (s = 0; s < WHEEL_SLOTS; s++)
			w->slots[l][s] = NULL;
	}
	w->overflow = NULL;
	w->overflow_min = UINT64_MAX;
	w->count = 0;
}

bool weft__wheel_insert(struct weft__wheel *w, struct weft__timer *e)
{
	unsigned level;

	if (e->when <= w->elapsed)
		return false;
	level = level_for(w->elapsed, e->when);
	if (level >= WHEEL_LEVELS) {
		e->level = WHEEL_LEVEL_OVERFLOW;
		e->slot = 0;
		push_front(&w->overflow, e);
		if (e->when < w->overflow_min)
			w->overflow_min = e->when;
	} else {
		e->level = (uint8_t)level;
		e->slot = (uint8_t)((e->when >> (level * LEVEL_BITS)) & (WHEEL_SLOTS - 1));
		push_front(&w->slots[level][e->slot], e);
		w->occupied[level] |= (uint64_t)1 << e->slot;
	}
	w->count++;
	return true;
}

void weft__wheel_remove(struct weft__wheel *w, struct weft__timer *e)
{
	struct weft__timer **head = list_of(w, e);

	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		*head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	if (*head == NULL && e->level < WHEEL_LEVELS)
		w->occupied[e->level] &= ~((uint64_t)1 << e->slot);
	e->prev = e->next = NULL;
	e->level = WHEEL_LEVEL_NONE;
	w->count--;
}

/* The next expiration, and where: *level is WHEEL_LEVEL_OVERFLOW for the
 * overflow list. */
static uint64_t find_next(const struct weft__wheel *w, unsigned *level, unsigned *slot)
{
	unsigned l;

	for (l = 0; l < WHEEL_LEVELS; l++) {
		unsigned shift = l * LEVEL_BITS;
		unsigned current = (unsigned)(w->elapsed >> shift) & (WHEEL_SLOTS - 1);
		uint64_t later, turn_start;

		if (w->occupied[l] == 0)
			continue;
		/* Only slots after the current digit can be occupied (see the
		 * essay); the mask keeps that true even if it were not. */
		later = current == WHEEL_SLOTS - 1 ? 0 : w->occupied[l] & (~(uint64_t)0 << (current + 1));
		assert(later == w->occupied[l]);
		if (later == 0)
			continue;
		*level = l;
		*slot = (unsigned)__builtin_ctzll(later);
		turn_start = w->elapsed & ~(((uint64_t)1 << (shift + LEVEL_BITS)) - 1);
		return turn_start + ((uint64_t)*slot << shift);
	}
	if (w->overflow != NULL) {
		*level = WHEEL_LEVEL_OVERFLOW;
		*slot = 0;
		return w->overflow_min & ~(((uint64_t)1 << WHEEL_SPAN_BITS) - 1);
	}
	return UINT64_MAX;
}

uint64_t weft__wheel_next_expiration(const struct weft__wheel *w)
{
	unsigned level, slot;

	return find_next(w, &level, &slot);
}

/* Empties one slot (or the overflow list) at tick `at`: fires what is due
 * then, places the rest again. */
static void process_slot(struct weft__wheel *w, unsigned level, unsigned slot, uint64_t at,
			 void (*fire)(void *ctx, struct weft__timer *e), void *ctx)
{
	struct weft__timer *e, *next;

	w->elapsed = at;
	if (level == WHEEL_LEVEL_OVERFLOW) {
		e = w->overflow;
		w->overflow = NULL;
		w->overflow_min = UINT64_MAX;
	} else {
		e = w->slots[level][slot];
		w->slots[level][slot] = NULL;
		w->occupied[level] &= ~((uint64_t)1 << slot);
	}
	for (; e != NULL; e = next) {
		next = e->next;
		e->prev = e->next = NULL;
		e->level = WHEEL_LEVEL_NONE;
		w->count--;
		if (!weft__wheel_insert(w, e))
			fire(ctx, e);
	}
}

void weft__wheel_advance(struct weft__wheel *w, uint64_t now,
			 void (*fire)(void *ctx, struct weft__timer *e), void *ctx)
{
	for (;;) {
		unsigned level, slot;
		uint64_t at = find_next(w, &level, &slot);

		if (at > now)
			break;
		process_slot(w, level, slot, at, fire, ctx);
	}
	if (now > w->elapsed)
		w->elapsed = now;
}

void weft__wheel_take_all(struct weft__wheel *w,
			  void (*fn)(void *ctx, struct weft__timer *e), void *ctx)
{
	unsigned l, s;

	for (l = 0; l <= WHEEL_LEVELS; l++) {
		for (s = 0; s < (l < WHEEL_LEVELS ? WHEEL_SLOTS : 1u); s++) {
			struct weft__timer **head = l < WHEEL_LEVELS ? &w->slots[l][s] : &w->overflow;

			while (*head != NULL) {
				struct weft__timer *e = *head;

				weft__wheel_remove(w, e);
				fn(ctx, e);
			}
		}
	}
	w->overflow_min = UINT64_MAX;
}

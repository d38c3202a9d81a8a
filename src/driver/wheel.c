/*
 * src/driver/wheel.c - the hierarchical timing wheel.
 *
 * Ticks and exact deadlines
 * =========================
 *
 * Every entry has an exact deadline and its tick (`when`), the tick the
 * deadline lies in (time.c: milliseconds since the runtime's creation,
 * rounded down).  The wheel places entries by tick, which is cheap and
 * coarse, and fires them by exact deadline, which makes timers precise: an
 * entry fires as soon as the clock has reached its deadline, not at the
 * next tick after it, and never before it.  Since the tick conversion is a
 * monotone floor, an entry whose tick is before the clock's tick is due,
 * one whose tick is after it is not, and only the entries of the clock's
 * own tick need their exact deadline compared.
 *
 * How an entry is placed
 * ======================
 *
 * Write ticks in base 64: digit L of a tick is (tick >> 6L) & 63.  An entry
 * whose tick `when` is later than `elapsed` goes to the level of the
 * highest digit in which `when` and `elapsed` differ, into the slot named
 * by that digit of `when`.  So every entry at level L agrees with `elapsed`
 * on all digits above L and has a larger digit L: it lies in the current
 * turn of level L, in a slot after the current one.  Level 0 slots are
 * single ticks; a level L slot spans 64^L ticks.  Ticks that differ from
 * `elapsed` above the sixth digit (64^6 ticks away or more) wait in the
 * overflow list.  An entry of tick `elapsed` itself that is not due yet
 * waits in the `current` list, sorted by deadline (inserted from the tail,
 * which is where a new entry usually belongs: later registrations tend to
 * have later deadlines).
 *
 * The next deadline
 * =================
 *
 * Every current entry lies before every slot; every level 0 entry lies
 * before every level 1 slot that is still to come, and so on up; the
 * overflow list is last.  So the earliest entry is the head of the current
 * list, else in the first occupied slot after the current digit of the
 * lowest non-empty level (one count-trailing-zeros on the level's occupancy
 * word), else in the overflow list.  Each slot keeps the minimum exact
 * deadline of the entries linked into it since it was last empty
 * (`slot_min`, lowered on insert), so the earliest deadline is one load:
 * the parker sleeps until exactly then.  A removal leaves the minimum
 * stale-low, never high; a stale value still lies inside its slot, so a
 * thread that wakes at it finds the slot due and empties it, and the next
 * answer is exact or later.
 *
 * Advancing
 * =========
 *
 * To advance to instant `now` in tick `tick`: if the tick moved on, every
 * current entry is due (its deadline lies in an earlier tick) and fires in
 * list order.  Then the wheel repeatedly takes the next slot while its
 * start is <= tick, moves `elapsed` to it and empties that slot (or the
 * whole overflow list): the entries of that very tick form a batch, sorted
 * by deadline (a merge sort of the list); every other one is placed again
 * relative to the new `elapsed`, which puts it at a lower level (or back
 * into the overflow list).  A batch of an earlier tick than `tick` fires
 * whole, in order; the batch of `tick` itself becomes the current list.
 * Finally `elapsed` becomes `tick` and the current list fires from its
 * head while the head's deadline is <= now.  Entries therefore fire in
 * exact deadline order, never before their deadline, and each moves down
 * at most six times in its life.  What is left is still correctly placed,
 * because `tick` agrees with every remaining entry's slot on the digits
 * above it.
 *
 * Removal unlinks from a doubly linked list and clears the slot's
 * occupancy bit (and its minimum) when the list empties: constant time.
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
	if (e->level == WHEEL_LEVEL_CURRENT)
		return &w->current;
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

void weft__wheel_init(struct weft__wheel *w, uint64_t elapsed, uint64_t now)
{
	unsigned l, s;

	w->elapsed = elapsed;
	w->now = now;
	w->current = w->current_tail = NULL;
	for (l = 0; l < WHEEL_LEVELS; l++) {
		w->occupied[l] = 0;
		for (s = 0; s < WHEEL_SLOTS; s++) {
			w->slots[l][s] = NULL;
			w->slot_min[l][s] = UINT64_MAX;
		}
	}
	w->overflow = NULL;
	w->overflow_min = UINT64_MAX;
	w->overflow_min_deadline = UINT64_MAX;
	w->count = 0;
}

/* Links `e` into the current list at its place by deadline, searching
 * from the tail. */
static void current_insert(struct weft__wheel *w, struct weft__timer *e)
{
	struct weft__timer *after = w->current_tail;

	while (after != NULL && after->deadline > e->deadline)
		after = after->prev;
	e->level = WHEEL_LEVEL_CURRENT;
	e->slot = 0;
	e->prev = after;
	e->next = after != NULL ? after->next : w->current;
	if (e->next != NULL)
		e->next->prev = e;
	else
		w->current_tail = e;
	if (after != NULL)
		after->next = e;
	else
		w->current = e;
}

/* Links `e`, whose tick is later than `elapsed`, into its slot. */
static void slot_insert(struct weft__wheel *w, struct weft__timer *e)
{
	unsigned level = level_for(w->elapsed, e->when);

	if (level >= WHEEL_LEVELS) {
		e->level = WHEEL_LEVEL_OVERFLOW;
		e->slot = 0;
		push_front(&w->overflow, e);
		if (e->when < w->overflow_min)
			w->overflow_min = e->when;
		if (e->deadline < w->overflow_min_deadline)
			w->overflow_min_deadline = e->deadline;
	} else {
		unsigned slot = (unsigned)((e->when >> (level * LEVEL_BITS)) & (WHEEL_SLOTS - 1));

		e->level = (uint8_t)level;
		e->slot = (uint8_t)slot;
		push_front(&w->slots[level][slot], e);
		w->occupied[level] |= (uint64_t)1 << slot;
		if (e->deadline < w->slot_min[level][slot])
			w->slot_min[level][slot] = e->deadline;
	}
}

bool weft__wheel_insert(struct weft__wheel *w, struct weft__timer *e)
{
	if (e->when < w->elapsed || (e->when == w->elapsed && e->deadline <= w->now))
		return false;
	if (e->when == w->elapsed)
		current_insert(w, e);
	else
		slot_insert(w, e);
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
	else if (e->level == WHEEL_LEVEL_CURRENT)
		w->current_tail = e->prev;
	if (*head == NULL) {
		if (e->level < WHEEL_LEVELS) {
			w->occupied[e->level] &= ~((uint64_t)1 << e->slot);
			w->slot_min[e->level][e->slot] = UINT64_MAX;
		} else if (e->level == WHEEL_LEVEL_OVERFLOW) {
			w->overflow_min = UINT64_MAX;
			w->overflow_min_deadline = UINT64_MAX;
		}
	}
	e->prev = e->next = NULL;
	e->level = WHEEL_LEVEL_NONE;
	w->count--;
}

/* The next slot to empty, and where: *level is WHEEL_LEVEL_OVERFLOW for the
 * overflow list.  Ignores the current list. */
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

	if (w->current != NULL)
		return w->elapsed;
	return find_next(w, &level, &slot);
}

uint64_t weft__wheel_next_deadline(const struct weft__wheel *w)
{
	unsigned level, slot;

	if (w->current != NULL)
		return w->current->deadline;
	if (find_next(w, &level, &slot) == UINT64_MAX)
		return UINT64_MAX;
	if (level == WHEEL_LEVEL_OVERFLOW)
		return w->overflow_min_deadline;
	return w->slot_min[level][slot];
}

/* Sorts a NULL-terminated list linked through `next` by deadline (merge
 * sort; `prev` is left stale).  Returns the new head. */
static struct weft__timer *sort_by_deadline(struct weft__timer *list)
{
	struct weft__timer *a = NULL, *b = NULL, *head = NULL, **tail = &head;

	if (list == NULL || list->next == NULL)
		return list;
	/* Split by alternation, sort each half, merge. */
	while (list != NULL) {
		struct weft__timer *next = list->next;

		list->next = a;
		a = list;
		list = next;
		if (list != NULL) {
			next = list->next;
			list->next = b;
			b = list;
			list = next;
		}
	}
	a = sort_by_deadline(a);
	b = sort_by_deadline(b);
	while (a != NULL && b != NULL) {
		struct weft__timer **from = a->deadline <= b->deadline ? &a : &b;

		*tail = *from;
		tail = &(*from)->next;
		*from = (*from)->next;
	}
	*tail = a != NULL ? a : b;
	return head;
}

/* Unlinks the whole current list and hands it out in order. */
static void fire_current(struct weft__wheel *w,
			 void (*fire)(void *ctx, struct weft__timer *e), void *ctx)
{
	struct weft__timer *e = w->current, *next;

	w->current = w->current_tail = NULL;
	for (; e != NULL; e = next) {
		next = e->next;
		e->prev = e->next = NULL;
		e->level = WHEEL_LEVEL_NONE;
		w->count--;
		fire(ctx, e);
	}
}

/* Empties one slot (or the overflow list) at tick `at`: places again the
 * entries of later ticks, and makes the entries of tick `at`, sorted by
 * deadline, the current list (which is empty when this is called). */
static void process_slot(struct weft__wheel *w, unsigned level, unsigned slot, uint64_t at)
{
	struct weft__timer *e, *next, *batch = NULL, *prev = NULL;

	w->elapsed = at;
	if (level == WHEEL_LEVEL_OVERFLOW) {
		e = w->overflow;
		w->overflow = NULL;
		w->overflow_min = UINT64_MAX;
		w->overflow_min_deadline = UINT64_MAX;
	} else {
		e = w->slots[level][slot];
		w->slots[level][slot] = NULL;
		w->occupied[level] &= ~((uint64_t)1 << slot);
		w->slot_min[level][slot] = UINT64_MAX;
	}
	for (; e != NULL; e = next) {
		next = e->next;
		if (e->when == at) {
			e->next = batch;
			batch = e;
		} else {
			slot_insert(w, e);
		}
	}
	batch = sort_by_deadline(batch);
	w->current = batch;
	for (e = batch; e != NULL; e = e->next) {
		e->prev = prev;
		e->level = WHEEL_LEVEL_CURRENT;
		e->slot = 0;
		prev = e;
	}
	w->current_tail = prev;
}

void weft__wheel_advance(struct weft__wheel *w, uint64_t tick, uint64_t now,
			 void (*fire)(void *ctx, struct weft__timer *e), void *ctx)
{
	if (now <= w->now)
		return;
	if (tick > w->elapsed) {
		/* Every current entry lies in an earlier tick: due. */
		fire_current(w, fire, ctx);
		for (;;) {
			unsigned level, slot;
			uint64_t at = find_next(w, &level, &slot);

			if (at > tick)
				break;
			process_slot(w, level, slot, at);
			if (at < tick)
				fire_current(w, fire, ctx);
		}
		w->elapsed = tick;
	}
	w->now = now;
	while (w->current != NULL && w->current->deadline <= now) {
		struct weft__timer *e = w->current;

		w->current = e->next;
		if (w->current != NULL)
			w->current->prev = NULL;
		else
			w->current_tail = NULL;
		e->prev = e->next = NULL;
		e->level = WHEEL_LEVEL_NONE;
		w->count--;
		fire(ctx, e);
	}
}

void weft__wheel_take_all(struct weft__wheel *w,
			  void (*fn)(void *ctx, struct weft__timer *e), void *ctx)
{
	unsigned l, s;

	fire_current(w, fn, ctx);
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
}

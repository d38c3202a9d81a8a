/*
 * src/sched/park.h - a one-shot thread parker on a futex, and the
 * per-thread parker that blocking calls (block_on, join) use as a waker.
 * Private.
 */
#ifndef WEFT_SRC_SCHED_PARK_H
#define WEFT_SRC_SCHED_PARK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "weft/future.h"

struct weft__drv_thread;
struct weft__time;

struct weft__parker {
	/* PARKER_EMPTY, PARKER_PARKED, PARKER_NOTIFIED or
	 * PARKER_PARKED_DRIVER; the futex word. */
	_Atomic uint32_t state;
	/* The driver thread this parker sleeps in with
	 * weft__parker_park_driver; NULL for futex-only parkers.  Set before
	 * the parker is shared. */
	struct weft__drv_thread *drv;
	/* References of a heap parker (the thread and each waker clone). */
	_Atomic uint32_t refs;
	/* Set by the parker's waker before it unparks, so the owner can tell
	 * a wake of its future from other unparks. */
	_Atomic bool woken;
	/* Unparkers that may be about to wake `drv`: counted before the
	 * claim of a PARKED_DRIVER park, left after the driver wake, so that
	 * the runtime can wait for them before it frees the driver
	 * (weft__parker_quiesce). */
	_Atomic uint32_t waking;
};

void weft__parker_init(struct weft__parker *p);

/* Blocks until weft__parker_unpark was called since the last return.
 * Only the owning thread parks. */
void weft__parker_park(struct weft__parker *p);

/* As park, but returns false when the monotonic clock passes
 * `deadline_ns` first (true when unparked). */
bool weft__parker_park_until(struct weft__parker *p, uint64_t deadline_ns);

/*
 * Parks in the driver instead of on the futex: waits in `p->drv` until an
 * unpark, an I/O completion or wake of that driver thread, or the timer
 * deadline of `time` (read after the parker is marked asleep, so a new
 * earliest timer either is seen or kicks the wait; NULL: no timeout).
 * Returns true when it consumed an unpark, false when it returned for
 * another reason (the caller reaps the driver and decides).  Owner only.
 */
bool weft__parker_park_driver(struct weft__parker *p, struct weft__time *time);

/* Makes the next (or current) park return: a futex wake for a futex
 * park, a driver wake for a driver park, nothing for a running owner.
 * Any thread. */
void weft__parker_unpark(struct weft__parker *p);

/* Waits until no unpark of `p` is still on its way to `p->drv`.  Called
 * by the owner when it has parked for the last time (runtime shutdown),
 * before the driver thread is freed: an unpark that claimed the owner's
 * last driver park may still be about to write to its eventfd after the
 * owner came back by itself (a deadline) and took the wake.  Unparks that
 * start later see a parker that is not PARKED_DRIVER and do not touch the
 * driver.  Owner only. */
void weft__parker_quiesce(struct weft__parker *p);

/* Test hook: ns an unpark of a driver park spins between claiming the
 * wake and making it (0: none).  Tests only. */
extern _Atomic uint64_t weft__park_wake_delay_ns;

/* The calling thread's reference-counted parker, created on first use;
 * NULL when it cannot be allocated.  Borrowed: valid until thread exit. */
struct weft__parker *weft__thread_parker(void);

/* Futex syscalls made by parkers (for tests of idleness). */
struct weft__park_counters {
	_Atomic uint64_t futex_waits;
	_Atomic uint64_t futex_wakes;
};
extern struct weft__park_counters weft__park_counters;

/* Monotonic clock in nanoseconds. */
uint64_t weft__now_ns(void);

/*
 * The monotonic deadline `timeout_ns` from now, saturated at UINT64_MAX (a
 * deadline that never passes) instead of wrapping into the past.  Every
 * deadline made from a caller's duration goes through here.
 */
static inline uint64_t weft__deadline_after(uint64_t timeout_ns)
{
	uint64_t now = weft__now_ns();

	return timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
}

extern const weft_waker_vtable weft__thread_parker_vtable;

/*
 * A borrowed waker over a thread parker, for a weft_cx during one poll: waking
 * it sets `woken` and unparks `p`; its clone takes a reference on `p`.
 */
static inline weft_waker weft__thread_parker_waker_ref(struct weft__parker *p)
{
	weft_waker w = { p, &weft__thread_parker_vtable };
	return w;
}

#endif /* WEFT_SRC_SCHED_PARK_H */

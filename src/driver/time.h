/*
 * src/driver/time.h - the contract between the timer subsystem and the
 * schedulers that park.  Private.
 *
 * The timer subsystem (src/driver/time*.c, the wheel beside it) owns every
 * timer of a runtime and the runtime's clock, which is the monotonic clock
 * (weft__now_ns) or, for a runtime created paused, a virtual clock that
 * moves only when advanced.  The schedulers own parking.  They meet here:
 *
 *  - Before a thread of the runtime parks (a worker, a current-thread
 *    block_on, a plain thread inside block_on), it first asks
 *    weft__time_auto_advance, which on a paused clock with pending timers
 *    jumps to the next deadline and fires what is due (then there is work:
 *    do not park).  Otherwise it parks with weft__time_park_deadline as an
 *    absolute timeout on the real monotonic clock (UINT64_MAX: no timeout),
 *    and after waking calls weft__time_process.
 *  - A busy worker calls weft__time_process on the same cadence as its
 *    injector check, so timers fire while every worker is busy.
 *  - When a timer is registered that becomes the earliest, the timer
 *    subsystem calls weft__runtime_timer_changed, which the schedulers
 *    implement: a thread parked with a later timeout must wake and re-read
 *    the deadline (or one thread that will process timers must be awake).
 *
 * Every function here may be called from any thread unless it says
 * otherwise.
 */
#ifndef WEFT_SRC_DRIVER_TIME_H
#define WEFT_SRC_DRIVER_TIME_H

#include <stdbool.h>
#include <stdint.h>

#include "weft/time.h"

struct weft_runtime;
struct weft__time;

/* Creates the timer state of `rt` (paused: a virtual clock that starts at
 * the current monotonic time and moves only when advanced).  Returns 0 and
 * stores it in *out, or -ENOMEM.  Called by weft_runtime_create. */
int weft__time_create(struct weft_runtime *rt, bool paused, struct weft__time **out);

/* Frees the timer state.  Called by weft_runtime_destroy after every task
 * was dropped (a timer future dropped then unlinks itself first).  NULL is
 * ignored. */
void weft__time_destroy(struct weft__time *t);

/* The absolute instant, on the real monotonic clock in ns, at which the
 * caller must wake to fire the earliest timer; UINT64_MAX when there is no
 * timer or the clock is paused.  Cheap: one atomic load. */
uint64_t weft__time_park_deadline(struct weft__time *t);

/* Reads the clock, caches it, and fires (wakes) every timer due by then.
 * Wakes run outside any lock.  Returns how many fired. */
unsigned weft__time_process(struct weft__time *t);

/* On a paused clock with at least one timer and no blocking job running:
 * moves the clock to the earliest deadline, fires what is due and returns
 * true.  Otherwise returns false and changes nothing.  Called by a
 * scheduler only when it has nothing to run. */
bool weft__time_auto_advance(struct weft__time *t);

/* Whether the clock of `t` is paused (fixed at creation). */
bool weft__time_paused(const struct weft__time *t);

/* Implemented by src/sched: the earliest deadline of `rt` moved earlier;
 * see the essay above.  Called without any timer lock held, after the new
 * deadline was published with a SeqCst store (the store that
 * weft__time_park_deadline loads), so a scheduler that marks a thread as
 * parking with a SeqCst write and then loads the deadline, and here loads
 * those marks after a SeqCst fence, either has the thread see the new
 * deadline or sees the thread and wakes it. */
void weft__runtime_timer_changed(struct weft_runtime *rt);

/* ---- timer entries (for the timer futures in time_future.c) ------------- */

/* Initialises an entry: `relative` counts `value` ns from the first poll,
 * else `value` is an absolute deadline on the runtime clock. */
void weft__timer_init(struct weft__timer *e, struct weft_runtime *rt, bool relative,
		      uint64_t value);

/*
 * Polls an entry: registers it on its first poll (binding it to its
 * runtime), stores the waker on later ones.  Spends one unit of budget.
 * Returns WEFT_READY with *result set (0, -ESHUTDOWN, -EINVAL) once the
 * deadline has passed.
 */
weft_poll weft__timer_poll(struct weft__timer *e, weft_cx *cx, int *result);

/* Unlinks the entry if it is waiting and releases its binding.  Returns true
 * when it was waiting (it will never fire), false when it had fired, was
 * never registered or was already cancelled.  Any thread; idempotent. */
bool weft__timer_cancel(struct weft__timer *e);

/* Re-arms a completed (or never polled) entry with a new absolute deadline,
 * keeping its binding.  The entry must not be waiting. */
void weft__timer_reset(struct weft__timer *e, uint64_t deadline);

/* The clock of a timer state (virtual when paused).  Any thread. */
uint64_t weft__time_now(struct weft__time *t);

/* Moves a paused clock by `d` ns and fires what is due; -EINVAL when the
 * clock is not paused. */
int weft__time_advance(struct weft__time *t, uint64_t d);

#endif /* WEFT_SRC_DRIVER_TIME_H */

/*
 * weft/time.h - time: the runtime clock, sleeps, intervals and timeouts.
 *
 * Every runtime has a clock in nanoseconds.  Normally it is the monotonic
 * clock (CLOCK_MONOTONIC, the same scale as clock_gettime).  A
 * current-thread runtime created with `start_paused` (weft/runtime.h) has a
 * virtual clock instead: it starts at the monotonic time of creation and
 * moves only when weft_time_advance moves it, or when the runtime has
 * nothing to run and jumps straight to its next timer, so that a test of a
 * 30-day timeout finishes at once.
 *
 * Timers are exact to the nanosecond: a timer completes once the runtime
 * clock has reached its deadline, never before it.  On the real clock it
 * completes as soon as a parked worker wakes at the deadline (tens of
 * microseconds late on an idle machine; a busy runtime fires timers on its
 * scheduling cadence); on a paused clock, auto-advance moves the clock to
 * exactly the earliest deadline.
 *
 * Durations are uint64_t nanoseconds.  A zero duration, or a deadline that
 * has passed, is ready at its first poll.  A deadline computed from a
 * duration saturates at UINT64_MAX instead of wrapping, so UINT64_MAX means
 * "practically never".
 *
 * Timer futures are caller-allocated and allocate nothing: the timer entry
 * lives in the future.  Each poll spends one unit of the cooperative budget
 * (weft_coop_proceed).  Dropping one unlinks it from its runtime's timers in
 * constant time, from any thread and in any state.  A timer future is bound
 * to a runtime at its first poll: the one passed at init, or, when that was
 * NULL, the runtime whose task or block_on polls it (weft_runtime_current).
 *
 * A timer future may outlive its runtime: when the runtime is destroyed the
 * timers still waiting complete with -ESHUTDOWN, and the futures can still
 * be polled and dropped safely afterwards (the timer state stays allocated
 * until the last of them is dropped).
 */
#ifndef WEFT_TIME_H
#define WEFT_TIME_H

#include <stdbool.h>
#include <stdint.h>

#include "weft/future.h"
#include "weft/runtime.h"
#include "weft/waiter.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Nanoseconds per millisecond, for building durations. */
#define WEFT_MS ((uint64_t)1000000u)
/* Nanoseconds per second, for building durations. */
#define WEFT_SEC ((uint64_t)1000000000u)

struct weft__time;

/* Private: a timer entry, embedded in every timer future.  The fields are
 * touched only by the library (src/driver/time.c and wheel.c). */
struct weft__timer {
	struct weft__timer *prev, *next; /* the wheel slot or list it is on */
	uint64_t when;                   /* the 1 ms wheel tick holding the deadline */
	uint64_t deadline;               /* deadline in ns, runtime clock */
	uint64_t duration;               /* relative: added at first poll */
	struct weft__time *time;         /* bound timer state (a reference) */
	weft_runtime *rt;                /* the runtime given at init, or NULL */
	weft_waker waker;                /* under the timer state's lock */
	WEFT__ATOMIC(uint32_t) state;
	uint8_t level, slot;
	uint8_t shard;                   /* the wheel shard it is linked on */
	bool relative;
};

/*
 * A sleep: ready once the runtime clock has reached its deadline.  Fields
 * other than `result` are private.
 */
typedef struct weft_sleep_future {
	weft_future base;
	/* Once ready: 0 (the deadline passed), -ESHUTDOWN (the runtime was
	 * destroyed first), -EINVAL (polled outside any runtime and bound to
	 * none). */
	int result;
	struct weft__timer timer; /* private */
} weft_sleep_future;

/*
 * Initialises `f` to sleep for `duration_ns`, counted from its first poll,
 * on runtime `rt` (NULL: the runtime that first polls it).  A zero duration
 * is ready at the first poll.  Never fails (errors surface in f->result).
 * Drop it with weft_future_drop.  Any thread.
 */
void weft_sleep(weft_sleep_future *f, weft_runtime *rt, uint64_t duration_ns);

/*
 * Initialises `f` to sleep until the runtime clock reads `deadline_ns` (see
 * weft_now); ready at once if it already does.  `rt` as for weft_sleep.
 * Never fails.  Any thread.
 */
void weft_sleep_until(weft_sleep_future *f, weft_runtime *rt, uint64_t deadline_ns);

/*
 * Returns the deadline of `f` on the runtime clock once it has been polled
 * (for a relative sleep: first poll + duration, saturated), or, before the
 * first poll, the absolute deadline of weft_sleep_until; UINT64_MAX for a
 * relative sleep not yet polled or NULL.
 */
uint64_t weft_sleep_deadline(const weft_sleep_future *f);

/*
 * Returns the clock of `rt` in nanoseconds: the monotonic clock, or the
 * virtual clock of a paused runtime.  Returns 0 for NULL.  Any thread.
 */
uint64_t weft_now(weft_runtime *rt);

/*
 * Moves the paused clock of `rt` forward by exactly `duration_ns`
 * (saturating) and fires every timer that is then due: their wakers are
 * woken before the call returns, so the tasks they wake are queued and run
 * at their next turn (from inside a task: after the calling task's current
 * poll; its own timers are already complete when it polls them next).
 * Returns 0; -EINVAL when `rt` is NULL or its clock is not paused.  Any
 * thread: from inside a task or block_on of `rt`, or from the thread that
 * owns the runtime while nobody is inside weft_block_on.
 */
int weft_time_advance(weft_runtime *rt, uint64_t duration_ns);

/* ---- intervals ---------------------------------------------------------- */

/*
 * What an interval does when a tick was missed (it is polled more than 5 ms
 * after the tick was due), exactly as Tokio's MissedTickBehavior:
 *  - BURST: the next ticks keep their schedule (start + k * period) and
 *    complete at once until the interval has caught up;
 *  - DELAY: the next tick is one period after the poll that found the
 *    missed one; the schedule shifts;
 *  - SKIP: the missed ticks are skipped; the next tick is the next instant
 *    of the original schedule after the poll.
 */
typedef enum weft_missed_tick {
	WEFT_MISSED_TICK_BURST = 0,
	WEFT_MISSED_TICK_DELAY = 1,
	WEFT_MISSED_TICK_SKIP = 2,
} weft_missed_tick;

/* An interval: ticks at start, start + period, ...  Fields are private. */
typedef struct weft_interval {
	weft_sleep_future next; /* the next tick */
	uint64_t period;
	weft_missed_tick missed;
} weft_interval;

/*
 * Initialises `iv` on runtime `rt` (NULL: the current runtime) to tick
 * every `period_ns`, the first tick at `start_ns` on the runtime clock (pass
 * weft_now(rt) for a first tick at once), with the BURST behaviour.
 * Returns 0; -EINVAL when `iv` is NULL, `period_ns` is 0, or `rt` is NULL
 * and no runtime is current.  Release it with weft_interval_finish.  Any
 * thread.
 */
int weft_interval_init(weft_interval *iv, weft_runtime *rt, uint64_t start_ns,
		       uint64_t period_ns);

/* Sets the missed-tick behaviour (an unknown value is ignored).  The caller
 * serialises it with the interval's polls. */
void weft_interval_set_missed_tick(weft_interval *iv, weft_missed_tick missed);

/* Releases `iv` (unlinks its timer).  NULL is ignored.  Any thread, not
 * while a tick future of it is being polled. */
void weft_interval_finish(weft_interval *iv);

/*
 * A future that completes at the interval's next tick.  It borrows the
 * interval (one tick future at a time per interval); dropping it before it
 * is ready consumes no tick (it has nothing to release).
 */
typedef struct weft_interval_tick_future {
	weft_future base;
	/* Once ready: 0, or the sleep's error (-ESHUTDOWN, -EINVAL). */
	int result;
	/* Once ready: the instant the tick was scheduled for (not the time
	 * of the poll), as Tokio's Interval::tick returns. */
	uint64_t instant;
	weft_interval *iv; /* private */
} weft_interval_tick_future;

/* Initialises `f` to wait for the next tick of `iv`.  Never fails. */
void weft_interval_tick(weft_interval *iv, weft_interval_tick_future *f);

/* ---- timeouts ----------------------------------------------------------- */

/*
 * A timeout around another future (the "inner" one), held by pointer: it
 * must stay in place while the timeout lives.  Each poll polls the inner
 * future first; when it is ready the timeout is ready with `result` 0 and
 * the inner future's result is in its own fields.  When the deadline passes
 * first the inner future is dropped at once and `result` is -ETIMEDOUT.  The
 * timer is checked even when the inner future spent the whole cooperative
 * budget, so an always-busy inner future still times out.
 *
 * Ownership: from weft_timeout on, the timeout owns the inner future's drop:
 * it runs it exactly once (on timing out, or in the timeout's own drop), so
 * the caller never drops the inner future itself.
 */
typedef struct weft_timeout_future {
	weft_future base;
	/* Once ready: 0 (the inner future finished), -ETIMEDOUT, or the
	 * timer's error (-ESHUTDOWN, -EINVAL; the inner future was dropped). */
	int result;
	/* private */
	weft_future *inner;
	weft_sleep_future sleep;
	bool done;
	bool inner_dropped;
} weft_timeout_future;

/*
 * Initialises `f` to run `inner` with a deadline `duration_ns` after the
 * first poll in which `inner` is pending (saturating), on runtime `rt` (NULL:
 * the current one at that poll).  A zero duration still polls `inner` once.
 * A NULL `inner` makes a timeout that is ready at once with -EINVAL.  Never
 * fails.  Any thread.
 */
void weft_timeout(weft_timeout_future *f, weft_future *inner, weft_runtime *rt,
		  uint64_t duration_ns);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_TIME_H */

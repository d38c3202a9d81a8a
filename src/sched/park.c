/*
 * src/sched/park.c - futex parking, and parking inside the I/O driver.
 *
 * A parker is one 32-bit word with four values.  EMPTY: nobody parked and
 * no wake pending.  PARKED: the owner sleeps (or is about to) on the futex.
 * PARKED_DRIVER: the owner sleeps (or is about to) in its driver thread
 * (an io_uring ring, or the epoll instance).  NOTIFIED: a wake is pending;
 * the next park consumes it and returns at once.  An unpark puts in
 * NOTIFIED and makes a syscall only when it replaced a parked value: a
 * futex wake for PARKED, a driver wake (an eventfd write the driver
 * watches) for PARKED_DRIVER, so a wake of a running thread costs one
 * CAS (a driver wake is also counted: see weft__parker_unpark).  The
 * driver wake is sticky (the eventfd counter), so a wake that lands
 * between the swap to PARKED_DRIVER and the wait syscall makes that wait
 * return at once: the same argument as the futex's compare.
 *
 * A driver park also returns without an unpark: an I/O completion, a kick
 * (a request for the ring's owner, a new earliest timer) or the deadline.
 * It then swaps back to EMPTY, unless an unpark came meanwhile.
 */
#define _GNU_SOURCE
#include "park.h"
#include "runtime.h"
#include "../driver/driver.h"
#include "../driver/time.h"
#include "../common/platform.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

enum {
	PARKER_EMPTY = 0,
	PARKER_PARKED = 1,
	PARKER_NOTIFIED = 2,
	PARKER_PARKED_DRIVER = 3,
};

struct weft__park_counters weft__park_counters;

uint64_t weft__now_ns(void)
{
	return weft__mono_ns();
}

/* The futex (or WaitOnAddress, or bucket) wait of platform.h; the
 * absolute monotonic deadline UINT64_MAX means none. */
static void futex_wait(_Atomic uint32_t *word, uint32_t expected, uint64_t deadline_ns)
{
	atomic_fetch_add_explicit(&weft__park_counters.futex_waits, 1,
				  memory_order_relaxed);
	weft__addr_wait(word, expected, deadline_ns);
}

static void futex_wake_one(_Atomic uint32_t *word)
{
	atomic_fetch_add_explicit(&weft__park_counters.futex_wakes, 1,
				  memory_order_relaxed);
	weft__addr_wake_one(word);
}

void weft__parker_init(struct weft__parker *p)
{
	atomic_init(&p->state, PARKER_EMPTY);
	atomic_init(&p->refs, 1);
	atomic_init(&p->woken, false);
	atomic_init(&p->waking, 0);
	p->drv = NULL;
}

static bool park_common(struct weft__parker *p, uint64_t deadline_ns)
{
	uint32_t expected = PARKER_NOTIFIED;

	/* Acquire: sees what the unparker wrote before its release swap. */
	if (atomic_compare_exchange_strong_explicit(&p->state, &expected, PARKER_EMPTY,
						    memory_order_acquire,
						    memory_order_relaxed))
		return true;
	expected = PARKER_EMPTY;
	if (!atomic_compare_exchange_strong_explicit(&p->state, &expected, PARKER_PARKED,
						     memory_order_acquire,
						     memory_order_relaxed)) {
		/* Only an unpark can have changed EMPTY: consume it.
		 * Acquire: pairs with the release swap in unpark. */
		atomic_exchange_explicit(&p->state, PARKER_EMPTY, memory_order_acquire);
		return true;
	}
	for (;;) {
		futex_wait(&p->state, PARKER_PARKED, deadline_ns);
		expected = PARKER_NOTIFIED;
		/* Acquire: pairs with the release swap in unpark. */
		if (atomic_compare_exchange_strong_explicit(&p->state, &expected,
							    PARKER_EMPTY,
							    memory_order_acquire,
							    memory_order_relaxed))
			return true;
		if (deadline_ns != UINT64_MAX && weft__now_ns() >= deadline_ns) {
			expected = PARKER_PARKED;
			if (atomic_compare_exchange_strong_explicit(
				    &p->state, &expected, PARKER_EMPTY,
				    memory_order_relaxed, memory_order_relaxed))
				return false;
			/* Notified in between: consume it (acquire as above). */
			atomic_exchange_explicit(&p->state, PARKER_EMPTY,
						 memory_order_acquire);
			return true;
		}
		/* Spurious wake: sleep again. */
	}
}

void weft__parker_park(struct weft__parker *p)
{
	park_common(p, UINT64_MAX);
}

bool weft__parker_park_until(struct weft__parker *p, uint64_t deadline_ns)
{
	/* A saturated deadline (UINT64_MAX) never passes: the wait then has
	 * no timeout. */
	return park_common(p, deadline_ns);
}

bool weft__parker_park_driver(struct weft__parker *p, struct weft__time *time)
{
	uint32_t expected = PARKER_NOTIFIED;
	uint64_t deadline;

	/* Acquire: pairs with the release swap in unpark. */
	if (atomic_compare_exchange_strong_explicit(&p->state, &expected, PARKER_EMPTY,
						    memory_order_acquire,
						    memory_order_relaxed))
		return true;
	expected = PARKER_EMPTY;
	/* SeqCst: the mark is visible before the deadline is read below and
	 * before the driver reads its request queue. */
	if (!atomic_compare_exchange_strong_explicit(&p->state, &expected,
						     PARKER_PARKED_DRIVER,
						     memory_order_seq_cst,
						     memory_order_relaxed)) {
		/* Acquire: pairs with the release swap in unpark. */
		atomic_exchange_explicit(&p->state, PARKER_EMPTY, memory_order_acquire);
		return true;
	}
	weft__drv_sleep_begin(p->drv);
	deadline = time != NULL ? weft__time_park_deadline(time) : UINT64_MAX;
	weft__drv_wait(p->drv, deadline);
	expected = PARKER_PARKED_DRIVER;
	if (atomic_compare_exchange_strong_explicit(&p->state, &expected, PARKER_EMPTY,
						    memory_order_relaxed,
						    memory_order_relaxed))
		return false;
	/* Notified meanwhile: consume it.  Acquire: pairs with the release
	 * swap in unpark. */
	atomic_exchange_explicit(&p->state, PARKER_EMPTY, memory_order_acquire);
	return true;
}

_Atomic uint64_t weft__park_wake_delay_ns;

static void delay_for_test(void)
{
	uint64_t ns = atomic_load_explicit(&weft__park_wake_delay_ns,
					   memory_order_relaxed);
	uint64_t end;

	if (ns == 0)
		return;
	end = weft__now_ns() + ns;
	while (weft__now_ns() < end)
		weft__cpu_relax();
}

/*
 * An unpark of a driver park counts itself in `waking` before its claim
 * (the CAS from PARKED_DRIVER) and leaves the count after the driver
 * wake.  The owner may come back from its wait by itself between the
 * claim and the wake (its deadline passed), take NOTIFIED and go on to
 * destroy its runtime; weft__parker_quiesce makes that destruction wait
 * for the count, so the driver outlives the wake.  The owner's park
 * itself never waits for an unparker (a woken owner often runs before its
 * waker is back from the write).  Every other unpark is one CAS, as the
 * swap it replaces.
 */
void weft__parker_unpark(struct weft__parker *p)
{
	/* Relaxed: only a guess at which CAS to try; each CAS below checks
	 * the value it replaces. */
	uint32_t prev = atomic_load_explicit(&p->state, memory_order_relaxed);

	for (;;) {
		if (prev == PARKER_PARKED_DRIVER) {
			/* SeqCst: the count is ordered before the claim below,
			 * so an owner that takes the claimed wake (its acquire
			 * exchange reads the claim) and then quiesces sees the
			 * count; pairs with the acquire load in quiesce. */
			atomic_fetch_add_explicit(&p->waking, 1, memory_order_seq_cst);
			/* Release: publishes what the waker wrote before waking;
			 * pairs with the acquire operations in park_common and
			 * park_driver.  SeqCst as well: one side of the
			 * handshake with the parker's SeqCst swap to
			 * PARKED_DRIVER. */
			if (atomic_compare_exchange_strong_explicit(
				    &p->state, &prev, PARKER_NOTIFIED,
				    memory_order_seq_cst, memory_order_relaxed)) {
				delay_for_test();
				weft__drv_wake(p->drv);
				/* Release: the wake is done before a quiescing
				 * owner frees the driver; pairs with the acquire
				 * load in quiesce. */
				atomic_fetch_sub_explicit(&p->waking, 1, memory_order_release);
				return;
			}
			/* Not parked in the driver any more: no driver access
			 * happened.  Relaxed: nothing to publish. */
			atomic_fetch_sub_explicit(&p->waking, 1, memory_order_relaxed);
			continue; /* prev holds the value seen */
		}
		/* Release and SeqCst: as the claim above. */
		if (atomic_compare_exchange_weak_explicit(&p->state, &prev, PARKER_NOTIFIED,
							  memory_order_seq_cst,
							  memory_order_relaxed))
			break;
	}
	if (prev == PARKER_PARKED)
		futex_wake_one(&p->state);
}

void weft__parker_quiesce(struct weft__parker *p)
{
	/* Acquire: pairs with the release decrement after the driver wake,
	 * so the wake happens before the caller frees the driver.  Waits
	 * only for an unparker between its claim and its fetch_sub: a few
	 * instructions and one write, unless it was preempted. */
	uint32_t n;

	while ((n = atomic_load_explicit(&p->waking, memory_order_acquire)) != 0)
		/* Nobody wakes this word: the wait is a 20 us sleep. */
		weft__addr_wait(&p->waking, n, weft__now_ns() + 20000);
}

/* ---- the per-thread parker ---------------------------------------------- */

static pthread_key_t parker_key;
static pthread_once_t parker_key_once = PTHREAD_ONCE_INIT;
static WEFT__TLS struct weft__parker *thread_parker;

static void parker_release(struct weft__parker *p)
{
	/* AcqRel: the last release sees every use by other threads before it
	 * frees; pairs with the other releases of the count. */
	if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
		free(p);
}

static void parker_key_destroy(void *p)
{
	parker_release(p);
}

static void parker_key_create(void)
{
	if (pthread_key_create(&parker_key, parker_key_destroy) != 0)
		parker_key = (pthread_key_t)-1;
}

struct weft__parker *weft__thread_parker(void)
{
	struct weft__parker *p = thread_parker;

	if (p != NULL)
		return p;
	pthread_once(&parker_key_once, parker_key_create);
	p = malloc(sizeof(*p));
	if (p == NULL)
		return NULL;
	weft__parker_init(p);
	if (parker_key == (pthread_key_t)-1 || pthread_setspecific(parker_key, p) != 0) {
		free(p);
		return NULL;
	}
	thread_parker = p;
	return p;
}

static weft_waker parker_clone(void *data)
{
	struct weft__parker *p = data;

	atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	return weft__thread_parker_waker_ref(p);
}

static void parker_wake_by_ref(void *data)
{
	struct weft__parker *p = data;

	/* Release: publishes what the waker wrote before waking to an owner
	 * that sees the flag without parking; pairs with its acquire load. */
	atomic_store_explicit(&p->woken, true, memory_order_release);
	weft__parker_unpark(p);
}

static void parker_wake(void *data)
{
	parker_wake_by_ref(data);
	parker_release(data);
}

static void parker_drop(void *data)
{
	parker_release(data);
}

const weft_waker_vtable weft__thread_parker_vtable = {
	.clone = parker_clone,
	.wake = parker_wake,
	.wake_by_ref = parker_wake_by_ref,
	.drop = parker_drop,
};


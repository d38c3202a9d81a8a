/*
 * src/common/platform.h - what differs between the operating systems weft
 * runs on, behind one set of calls.  Private; shared by every subsystem.
 *
 * The scheduler, the synchronisation primitives and the channels are
 * written once against this header and contain no platform test of their
 * own.  Each call has one implementation per platform:
 *  - platform_posix.c: Linux and the other POSIX systems (the clock, thread
 *    names, timer slack, the CPU count, monotonic condition variables);
 *  - platform_win32.c: Windows (QueryPerformanceCounter, WaitOnAddress,
 *    SetThreadDescription, GetActiveProcessorCount);
 *  - wait_futex.c: the address wait on Linux (the futex system call);
 *  - wait_condvar.c: the portable address wait for systems with neither a
 *    futex nor WaitOnAddress, a hashed table of mutex and condition
 *    variable buckets (also built on Linux with -Dparking=condvar, so the
 *    whole suite runs on it).
 * meson.build picks the files; weft_config.h says which address wait was
 * built (WEFT_PARK_FUTEX, WEFT_PARK_WAITONADDRESS or WEFT_PARK_CONDVAR).
 */
#ifndef WEFT_SRC_COMMON_PLATFORM_H
#define WEFT_SRC_COMMON_PLATFORM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ---- waiting on a 32-bit word (a futex, WaitOnAddress, or buckets) ----- */

/*
 * Blocks the calling thread while `*word` equals `expected`, until a wake
 * of `word`, the absolute monotonic `deadline_ns` (weft__mono_ns scale;
 * UINT64_MAX: none), or a spurious return.  The comparison and the sleep
 * are atomic against weft__addr_wake_*: a wake made after the word changed
 * is never lost.  Callers re-check the word and loop.  Any thread.
 */
void weft__addr_wait(_Atomic uint32_t *word, uint32_t expected, uint64_t deadline_ns);

/* Wakes at least one thread waiting on `word` (possibly more, on the
 * bucket fallback).  Call after changing the word.  Any thread. */
void weft__addr_wake_one(_Atomic uint32_t *word);

/* Wakes every thread waiting on `word`.  Any thread. */
void weft__addr_wake_all(_Atomic uint32_t *word);

/* The name of the address wait that was built: "futex", "WaitOnAddress"
 * or "condvar". */
extern const char weft__addr_wait_name[];

/* A hint to the CPU that the caller is in a spin-wait loop (x86 pause,
 * Arm yield; nothing elsewhere).  Any thread. */
static inline void weft__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
	__asm__ __volatile__("yield");
#endif
}

/* ---- time ---------------------------------------------------------------- */

/* The monotonic clock in nanoseconds (CLOCK_MONOTONIC on POSIX,
 * QueryPerformanceCounter on Windows).  Any thread. */
uint64_t weft__mono_ns(void);

/*
 * Initialises `c` so that weft__cond_deadline's timespecs are its
 * deadlines: on the monotonic clock where pthread_condattr_setclock can
 * (Linux, the BSDs), on the realtime clock otherwise.  Returns 0 or the
 * positive errno of pthread_cond_init.
 */
int weft__cond_init_mono(pthread_cond_t *c);

/* The timespec for pthread_cond_timedwait on a condition variable from
 * weft__cond_init_mono that expires at monotonic `deadline_ns`. */
struct timespec weft__cond_deadline(uint64_t deadline_ns);

/* ---- memory -------------------------------------------------------------- */

/* `size` bytes aligned to `align` (a power of two), or NULL; size need not
 * be a multiple of align.  Freed with weft__aligned_free only (Windows
 * keeps aligned blocks apart from malloc's). */
void *weft__aligned_alloc(size_t align, size_t size);

/* Frees a block of weft__aligned_alloc; NULL is ignored. */
void weft__aligned_free(void *p);

/* ---- threads ------------------------------------------------------------- */

/* Names the calling thread for debuggers and top (best effort; Linux keeps
 * 15 characters). */
void weft__thread_set_name(const char *name);

/* Asks that the calling thread's timed waits end at most `ns` after their
 * deadline (Linux's timer slack; a no-op elsewhere).  Best effort. */
void weft__thread_timer_slack(unsigned long ns);

/* The CPUs this process may run on (at least 1). */
unsigned weft__cpu_count(void);

#endif /* WEFT_SRC_COMMON_PLATFORM_H */

/*
 * src/common/platform_posix.c - platform.h on Linux and the other POSIX
 * systems: the clock, monotonic condition variables, thread names, timer
 * slack and the CPU count.  The address wait lives in wait_futex.c
 * (Linux) or wait_condvar.c (elsewhere).
 */
#define _GNU_SOURCE
#include "platform.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

/* Systems whose condition variables can wait on CLOCK_MONOTONIC (macOS
 * cannot: there the deadline is translated to the realtime clock). */
#if defined(__linux__) || defined(__FreeBSD__) || defined(__NetBSD__) || \
	defined(__OpenBSD__) || defined(__DragonFly__)
#define COND_MONOTONIC 1
#else
#define COND_MONOTONIC 0
#endif

void *weft__aligned_alloc(size_t align, size_t size)
{
	return aligned_alloc(align, (size + align - 1) & ~(align - 1));
}

void weft__aligned_free(void *p)
{
	free(p);
}

uint64_t weft__mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int weft__cond_init_mono(pthread_cond_t *c)
{
#if COND_MONOTONIC
	pthread_condattr_t attr;
	int err;

	err = pthread_condattr_init(&attr);
	if (err != 0)
		return err;
	err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (err == 0)
		err = pthread_cond_init(c, &attr);
	pthread_condattr_destroy(&attr);
	return err;
#else
	return pthread_cond_init(c, NULL);
#endif
}

static struct timespec ns_to_timespec(uint64_t ns)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ns / 1000000000u);
	ts.tv_nsec = (long)(ns % 1000000000u);
	return ts;
}

struct timespec weft__cond_deadline(uint64_t deadline_ns)
{
#if COND_MONOTONIC
	return ns_to_timespec(deadline_ns);
#else
	struct timespec now;
	uint64_t mono = weft__mono_ns(), real;

	clock_gettime(CLOCK_REALTIME, &now);
	real = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	if (deadline_ns <= mono)
		return now;
	if (deadline_ns - mono > UINT64_MAX / 2 - real)
		return ns_to_timespec(UINT64_MAX / 2);
	return ns_to_timespec(real + (deadline_ns - mono));
#endif
}

void weft__thread_set_name(const char *name)
{
#if defined(__linux__) || defined(__FreeBSD__)
	(void)pthread_setname_np(pthread_self(), name);
#elif defined(__APPLE__)
	(void)pthread_setname_np(name);
#else
	(void)name;
#endif
}

void weft__thread_timer_slack(unsigned long ns)
{
#if defined(__linux__)
	(void)prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0);
#else
	(void)ns;
#endif
}

unsigned weft__cpu_count(void)
{
	long n;
#if defined(__linux__)
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
#endif
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

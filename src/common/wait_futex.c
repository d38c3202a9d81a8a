/*
 * src/common/wait_futex.c - the address wait of platform.h on Linux: the
 * futex system call on a private (process-local) 32-bit word.
 */
#define _GNU_SOURCE
#include "platform.h"

#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

const char weft__addr_wait_name[] = "futex";

void weft__addr_wait(_Atomic uint32_t *word, uint32_t expected, uint64_t deadline_ns)
{
	struct timespec ts, *abs = NULL;

	/* A saturated deadline never passes: wait without a timeout rather
	 * than hand the kernel a time_t it may not hold. */
	if (deadline_ns != UINT64_MAX) {
		ts.tv_sec = (time_t)(deadline_ns / 1000000000u);
		ts.tv_nsec = (long)(deadline_ns % 1000000000u);
		abs = &ts;
	}
	/* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline. */
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
		expected, abs, NULL, FUTEX_BITSET_MATCH_ANY);
}

void weft__addr_wake_one(_Atomic uint32_t *word)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1,
		NULL, NULL, 0);
}

void weft__addr_wake_all(_Atomic uint32_t *word)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX,
		NULL, NULL, 0);
}

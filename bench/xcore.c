/*
 * bench/xcore.c - weft-xcore: how long a cache line takes to go from one
 * core to another, right now.
 *
 * Two threads, pinned to two CPUs the process may use (the first two of its
 * affinity mask, or the two given), pass a counter back and forth on one
 * 64-byte line: each waits for the other's value, then stores the next.
 * Every store has to fetch the line from the other core first, so the time
 * per store is one transfer of the line between the two cores (plus a few
 * cycles).  It prints that, in nanoseconds, on one line:
 *
 *     xcore_ns,38.7
 *
 * Why bench/run runs it before every run of a case: on a virtual machine the
 * hypervisor places the two vCPUs on cores that share a cache or do not, and
 * moves them every few minutes.  On the 2-core AMD EPYC VM of
 * docs/benchmarks.md the transfer is about 35 ns in one placement and 200 to
 * 240 ns in the other, and every row that passes lines between cores per
 * message runs two to three times slower in the second.  A row's figure
 * means little without the placement it was measured in.
 *
 * Usage: weft-xcore [--rounds N] [--cpus A,B]
 * Exit status 0 with the line above; 0 with "xcore_ns," (no figure) when the
 * process has fewer than two CPUs; 2 on bad arguments; 1 if a thread cannot
 * be started or pinned.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The line the two threads pass between them, alone on its line. */
static struct {
	_Alignas(64) _Atomic unsigned long value;
	char pad[64 - sizeof(unsigned long)];
} line;

struct side {
	int cpu;
	unsigned long rounds;
	/* Starts at 0 (this side stores the odd values) or 1 (the even ones). */
	unsigned long first;
};

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* Waits for each value this side answers and stores the next one. */
static void play(const struct side *s)
{
	unsigned long v;

	for (v = s->first; v < 2 * s->rounds; v += 2) {
		/* Acquire: pairs with the other side's release store of v. */
		while (atomic_load_explicit(&line.value, memory_order_acquire) != v)
			;
		/* Release: pairs with the other side's acquire load above. */
		atomic_store_explicit(&line.value, v + 1, memory_order_release);
	}
}

static void *other_side(void *arg)
{
	play(arg);
	return NULL;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int parse_cpus(const char *arg, int *a, int *b)
{
	char *end;
	long x, y;

	errno = 0;
	x = strtol(arg, &end, 10);
	if (errno != 0 || *end != ',' || x < 0 || x >= CPU_SETSIZE)
		return -1;
	y = strtol(end + 1, &end, 10);
	if (errno != 0 || *end != '\0' || y < 0 || y >= CPU_SETSIZE || y == x)
		return -1;
	*a = (int)x;
	*b = (int)y;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long rounds = 20000;
	int cpus[2] = { -1, -1 };
	struct side mine, theirs;
	pthread_t thread;
	pthread_attr_t attr;
	cpu_set_t theirs_set;
	double start, took;
	int i, n;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
			char *end;

			errno = 0;
			rounds = strtoul(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || rounds == 0 || rounds > (1ul << 40)) {
				fprintf(stderr, "weft-xcore: bad --rounds\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--cpus") == 0 && i + 1 < argc) {
			if (parse_cpus(argv[++i], &cpus[0], &cpus[1]) < 0) {
				fprintf(stderr, "weft-xcore: --cpus takes two different CPU numbers, A,B\n");
				return 2;
			}
		} else {
			fprintf(stderr, "usage: weft-xcore [--rounds N] [--cpus A,B]\n");
			return 2;
		}
	}
	if (cpus[0] < 0) {
		cpu_set_t set;

		if (sched_getaffinity(0, sizeof(set), &set) != 0) {
			perror("weft-xcore: sched_getaffinity");
			return 1;
		}
		for (i = 0, n = 0; i < CPU_SETSIZE && n < 2; i++)
			if (CPU_ISSET(i, &set))
				cpus[n++] = i;
		if (n < 2) {
			printf("xcore_ns,\n");
			return 0;
		}
	}

	mine = (struct side){ .cpu = cpus[0], .rounds = rounds, .first = 0 };
	theirs = (struct side){ .cpu = cpus[1], .rounds = rounds, .first = 1 };
	if (pin(mine.cpu) != 0) {
		fprintf(stderr, "weft-xcore: cannot run on CPU %d\n", mine.cpu);
		return 1;
	}
	atomic_store_explicit(&line.value, 0, memory_order_relaxed);
	/* The other thread starts pinned (or not at all), so neither side can
	 * wait for a partner that never plays. */
	CPU_ZERO(&theirs_set);
	CPU_SET(theirs.cpu, &theirs_set);
	if ((errno = pthread_attr_init(&attr)) != 0 ||
	    (errno = pthread_attr_setaffinity_np(&attr, sizeof(theirs_set), &theirs_set)) != 0 ||
	    (errno = pthread_create(&thread, &attr, other_side, &theirs)) != 0) {
		fprintf(stderr, "weft-xcore: cannot start a thread on CPU %d: %s\n", theirs.cpu,
			strerror(errno));
		return 1;
	}
	pthread_attr_destroy(&attr);
	start = now_ns();
	play(&mine);
	took = now_ns() - start;
	pthread_join(thread, NULL);
	/* 2 * rounds stores, each one transfer of the line. */
	printf("xcore_ns,%.1f\n", took / (2.0 * (double)rounds));
	return 0;
}

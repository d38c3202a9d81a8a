/*
 * bench/harness.h - the shared driver of weft's benchmark binaries.
 *
 * Every benchmark binary (weft's, and the Tokio and Go peers in bench/peers/)
 * speaks the same command line and prints the same CSV, so bench/run can put
 * them side by side. This header gives a C benchmark that behaviour in one
 * call: describe the cases in a table of `struct bench_case`, then
 *
 *     int main(int argc, char **argv)
 *     {
 *         return bench_main(argc, argv, "weft", cases, BENCH_COUNT(cases), NULL);
 *     }
 *
 * Command line:
 *
 *     BIN --list                                  case names, one a line
 *     BIN --case NAME [--iters N] [--warmup N]    run one case
 *
 * `--case` calls the case's setup (untimed), runs `--warmup` untimed samples,
 * then `--iters` timed samples, and prints exactly one line on stdout:
 *
 *     impl,case,workers,median_ns,min_ns,p90_ns,iters,bytes_per_op,allocs_per_op,
 *     mean_ns,max_ns,p99_ns,unit
 *
 * (one line; the first nine columns are the original format, the last four
 * were added after them so older readers still find theirs in place).
 *
 * Two kinds of case:
 *
 *  - timed (the default): a sample runs `batch` iterations of the case back
 *    to back, timed by the harness, and is divided by `batch`, so every
 *    figure is nanoseconds per iteration as Tokio's own bench defines one
 *    iteration. `unit` is "ns/iter" (so a reader can tell a timed row from
 *    a value-mode row).
 *  - value mode (`sample` set): the case measures each sample itself and
 *    returns its value: a latency in ns (a timer's lateness, a wake-up's
 *    delay), or something that is not a time at all (bytes per idle task).
 *    `batch` is ignored; `unit` names what the figures are ("ns" for a
 *    latency, the default; "bytes").
 *    The *_ns columns then hold values in that unit; the names stay for the
 *    sake of the format.
 *
 * A value-mode row, for example (bench/rt_cases.c has mem/idle_task_bytes):
 *
 *     static int lateness_sample(void *state, double *value)
 *     {
 *         ... sleep 1 ms in a task, note when it woke ...
 *         *value = (double)woke_ns - (double)deadline_ns;
 *         return 0;
 *     }
 *     { "time/sleep_lateness_1ms", 0, 1000, 10, 1, setup, NULL, teardown, NULL,
 *       lateness_sample, "ns" },
 *
 * `iters` is the number of timed samples. The median is the middle sample
 * (the mean of the two middle ones for an even count); p90 and p99 are
 * nearest-rank percentiles (the ceil(0.9 n)-th and ceil(0.99 n)-th smallest
 * sample); mean is the arithmetic mean, min and max the extremes. Figures of
 * 100 and more are printed as integers, smaller ones with three decimals, so
 * sub-nanosecond costs keep their fractions. `bytes_per_op` and
 * `allocs_per_op` are left empty unless an allocation counter is passed to
 * bench_main (see struct bench_alloc_counter).
 *
 * Without --iters / --warmup the case's defaults apply, multiplied by the
 * environment variable WEFT_BENCH_SCALE when set (bench/run --quick sets 0.2;
 * the scaled sample count never drops below 3, or below the default when
 * that is smaller).
 *
 * Exit status: 0 success, 1 a case failed (setup error or a counter check),
 * 2 bad arguments or an unknown case. Progress and diagnostics go to stderr.
 *
 * Everything here is `static inline`, C11 plus POSIX (clock_gettime, sysconf,
 * sched_yield). Include this header first in its translation unit, or define
 * _POSIX_C_SOURCE to 200809L yourself: with -std=c11 the POSIX declarations
 * are hidden otherwise. The harness runs on one thread; the case's own code
 * may start as many as it likes.
 */
#ifndef WEFT_BENCH_HARNESS_H
#define WEFT_BENCH_HARNESS_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fmt_f64.h"

/* The header line of results.csv; binaries print rows only. */
#define BENCH_CSV_HEADER \
    "impl,case,workers,median_ns,min_ns,p90_ns,iters,bytes_per_op,allocs_per_op," \
    "mean_ns,max_ns,p99_ns,unit"

/* Number of elements of an array (not a pointer). */
#define BENCH_COUNT(array) (sizeof(array) / sizeof((array)[0]))

/*
 * One benchmark case.
 *
 * Ownership: the table and its strings are static; `state` belongs to the
 * case from setup until teardown. The harness calls setup once, run (or
 * sample, in value mode) warmup + iters times, and teardown once, all from
 * the main thread. Tables may leave the last fields out of their
 * initialisers (C zeroes them): a case is timed unless `sample` is set.
 */
struct bench_case {
    /* "group/case", as listed in bench/README.md; unique in the table. */
    const char *name;
    /* Worker threads the case's runtime gets; 0 means the number of online
     * CPUs (Tokio's default). The resolved number is passed to setup and
     * printed in the `workers` column. */
    int workers;
    /* Timed samples when --iters is not given (at least 1). */
    int default_iters;
    /* Untimed samples first when --warmup is not given. */
    int default_warmup;
    /* Iterations per sample (at least 1): more than 1 only for cases whose
     * iteration is too short to time alone. */
    long batch;
    /* Builds the runtime and whatever lives across iterations, and stores it
     * in *state (which may stay NULL). Untimed. NULL when there is nothing to
     * build. Returns 0 on success, a negative errno on failure. */
    int (*setup)(const struct bench_case *bc, int workers, void **state);
    /* Runs `iterations` iterations of the case. Must check that every task
     * ran and every message arrived (see bench_check). Returns 0 on success,
     * a negative errno or -1 on failure after saying why on stderr. */
    int (*run)(void *state, long iterations);
    /* Releases what setup built; called after the result line is printed
     * (and flushed), so a slow shutdown is never timed. May be NULL. */
    void (*teardown)(void *state);
    /* A constant for run functions shared by several cases (a waiter count,
     * a capacity, ...); the harness never touches it. */
    const void *param;
    /* Value mode: when not NULL, the harness calls this once per sample
     * instead of timing `run` (which may then be NULL), and the sample is
     * what it stores in *value, in `unit`. Returns 0, or a negative errno
     * or -1 on failure after saying why on stderr. */
    int (*sample)(void *state, double *value);
    /* Value mode: what the figures are; NULL means "ns". Timed cases print
     * "ns/iter" whatever this says. */
    const char *unit;
};

/*
 * Optional allocation counting. When passed to bench_main, `read` is called
 * right before the first timed sample and right after the last one, and
 * must store running totals (bytes allocated, allocation calls) since any
 * fixed point: for example counters a malloc wrapper or a runtime statistic
 * keeps. The differences, divided by the timed iterations (iters * batch),
 * fill `bytes_per_op` and `allocs_per_op`. `read` runs on the main thread.
 */
struct bench_alloc_counter {
    void (*read)(void *ctx, uint64_t *bytes, uint64_t *allocs);
    void *ctx;
};

/* Summary of one case run, as printed. */
struct bench_result {
    double median_ns;
    double min_ns;
    double p90_ns;
    double mean_ns;
    double max_ns;
    double p99_ns;
    const char *unit;
    int iters;
    int alloc_measured;
    double bytes_per_op;
    double allocs_per_op;
};

/* Monotonic clock in nanoseconds. */
static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Online CPUs (at least 1): the worker count of a case with workers == 0. */
static inline int bench_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* Returns 0 when `ok`, else says `what` on stderr and returns -1. Use it for
 * the counter checks: `if (bench_check(got == want, "messages were lost"))
 * return -1;`. */
static inline int bench_check(int ok, const char *what)
{
    if (ok)
        return 0;
    fprintf(stderr, "bench: check failed: %s\n", what);
    return -1;
}

/* Keeps the compiler from removing a computation whose result is unused:
 * pass the result (`bench_black_box(sum)`). */
static inline void bench_black_box(uint64_t value)
{
#if defined(__GNUC__) || defined(__clang__)
    /* The value must be in a register here, and the compiler must assume
     * the empty statement reads memory; it costs no instruction. */
    __asm__ volatile("" : : "r"(value) : "memory");
#else
    static volatile uint64_t sink;
    sink = value;
    (void)sink;
#endif
}

/*
 * Helpers that reproduce the work Tokio's benches do inside tasks, so every
 * implementation does the same.
 */

/* Tokio's stall(): burn 10 us, yielding the OS thread in between. */
static inline void bench_stall_10us(void)
{
    uint64_t start = bench_now_ns();
    while (bench_now_ns() - start < 10000u)
        sched_yield();
}

/* Resident memory of the process in bytes (Linux: /proc/self/statm), or 0
 * when it cannot be read. */
static inline uint64_t bench_rss_bytes(void)
{
    unsigned long long size = 0, resident = 0;
    long page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%llu %llu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (uint64_t)resident * (uint64_t)(page > 0 ? page : 4096);
}

/* Sleeps for `ms` milliseconds (untimed setup work). */
static inline void bench_sleep_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* How long the busy cases (rt_multi/spawn_many_remote_busy1 and busy2) let
 * their background load run at the end of setup, before the first sample;
 * every implementation does this. Criterion's 3 s warm-up gives Tokio's own
 * run the same; without it the first samples can run before the load has
 * built up and come out far faster than the rest. */
#define BENCH_BUSY_SETTLE_MS 100

/* SplitMix64, standing in for rand's StdRng (seed = receiver index), the
 * same generator the Rust and Go peers use. */
static inline uint64_t bench_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double bench_next_f64(uint64_t *state)
{
    return (double)(bench_splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
}

/*
 * The per-message work of the broadcast and watch benches: format
 * " 1=<x1> 2=<x2> ... 10=<x10>" with fresh random doubles into a freshly
 * allocated string and add up its bytes.  The doubles are printed in their
 * shortest round-trip form, the same bytes as Rust's `{}` and Go's
 * AppendFloat(x, 'f', -1, 64) (bench/fmt_f64.h; C's printf has no such
 * conversion).  Returns 0 if the buffer cannot be allocated.
 */
static inline uint32_t bench_do_work(uint64_t *rng)
{
    size_t cap = 256, len = 0;
    char *msg = malloc(cap);
    uint32_t sum = 0;
    if (!msg)
        return 0;
    for (int i = 1; i <= 10; i++) {
        /* " 10=" and a double's at most 64 bytes fit in 80; grow the
         * string as Rust's String and Go's append do. */
        if (cap - len < 80) {
            char *bigger = realloc(msg, cap * 2);
            if (!bigger)
                break;
            msg = bigger;
            cap *= 2;
        }
        msg[len++] = ' ';
        if (i == 10)
            msg[len++] = '1';
        msg[len++] = (char)('0' + i % 10);
        msg[len++] = '=';
        len += bench_fmt_f64(msg + len, bench_next_f64(rng));
    }
    for (size_t i = 0; i < len; i++)
        sum += (unsigned char)msg[i];
    free(msg);
    return sum;
}

/*
 * Statistics and output.
 */

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The nearest-rank percentile `pct` (1..100) of n sorted samples: the
 * ceil(pct n / 100)-th smallest. */
static inline double bench_percentile(const double *sorted, int n, int pct)
{
    long rank = ((long)n * pct + 99) / 100;
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

/* Sorts `samples` (ns per iteration, or values in value mode) and fills
 * median, min, max, mean, p90 and p99 (not `unit`). */
static inline void bench_summarize(double *samples, int n, struct bench_result *r)
{
    double sum = 0.0;
    qsort(samples, (size_t)n, sizeof(*samples), bench_cmp_double);
    r->median_ns = n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2.0;
    r->min_ns = samples[0];
    r->max_ns = samples[n - 1];
    for (int i = 0; i < n; i++)
        sum += samples[i];
    r->mean_ns = sum / (double)n;
    r->p90_ns = bench_percentile(samples, n, 90);
    r->p99_ns = bench_percentile(samples, n, 99);
    r->iters = n;
}

/* Formats one figure for the CSV: integers from 100 up, three decimals
 * below (so sub-nanosecond costs keep their fractions). */
static inline void bench_format_figure(char *buf, size_t len, double v)
{
    snprintf(buf, len, (v >= 100.0 || v <= -100.0) ? "%.0f" : "%.3f", v);
}

/* Prints the CSV row (no header) and flushes stdout. Returns 0 or -EIO. */
static inline int bench_print_result(const char *impl, const char *name, int workers,
                                     const struct bench_result *r)
{
    char bytes[32] = "", allocs[32] = "";
    char med[32], min[32], p90[32], mean[32], max[32], p99[32];
    if (r->alloc_measured) {
        snprintf(bytes, sizeof(bytes), "%.1f", r->bytes_per_op);
        snprintf(allocs, sizeof(allocs), "%.2f", r->allocs_per_op);
    }
    bench_format_figure(med, sizeof(med), r->median_ns);
    bench_format_figure(min, sizeof(min), r->min_ns);
    bench_format_figure(p90, sizeof(p90), r->p90_ns);
    bench_format_figure(mean, sizeof(mean), r->mean_ns);
    bench_format_figure(max, sizeof(max), r->max_ns);
    bench_format_figure(p99, sizeof(p99), r->p99_ns);
    if (printf("%s,%s,%d,%s,%s,%s,%d,%s,%s,%s,%s,%s,%s\n", impl, name, workers, med, min, p90,
               r->iters, bytes, allocs, mean, max, p99, r->unit ? r->unit : "ns") < 0 ||
        fflush(stdout) != 0)
        return -EIO;
    return 0;
}

/* Default sample count scaled by WEFT_BENCH_SCALE (unset: unscaled), never
 * below `floor` (nor above `count` because of it). */
static inline int bench_scaled(int count, int floor)
{
    const char *env = getenv("WEFT_BENCH_SCALE");
    double scale;
    char *end;
    if (!env || !*env)
        return count;
    scale = strtod(env, &end);
    if (*end != '\0' || !(scale > 0.0))
        return count;
    {
        double scaled = (double)count * scale;
        count = (int)scaled;
        if ((double)count < scaled)
            count++; /* round up */
    }
    return count < floor ? floor : count;
}

/* The floor bench_main applies to scaled sample counts: 3, or the default
 * itself when that is smaller (a case that takes one sample keeps one). */
static inline int bench_sample_floor(int count)
{
    return count < 3 ? count : 3;
}

/*
 * Runs one case: setup, `warmup` untimed samples, `iters` timed samples,
 * result line, teardown. Returns 0 on success, -1 when setup, a run or the
 * output failed (after saying why on stderr).
 */
static inline int bench_run_case(const char *impl, const struct bench_case *bc, int iters,
                                 int warmup, const struct bench_alloc_counter *alloc)
{
    int workers = bc->workers > 0 ? bc->workers : bench_cpu_count();
    long batch = bc->batch > 0 ? bc->batch : 1;
    uint64_t bytes0 = 0, allocs0 = 0, bytes1 = 0, allocs1 = 0;
    struct bench_result r;
    void *state = NULL;
    double *samples;
    int err, i;

    if (iters < 1)
        iters = 1;
    memset(&r, 0, sizeof(r));
    samples = malloc(sizeof(*samples) * (size_t)iters);
    if (!samples) {
        fprintf(stderr, "%s: %s: out of memory\n", impl, bc->name);
        return -1;
    }
    fprintf(stderr, "%s: %s workers=%d warmup=%d iters=%d batch=%ld%s\n", impl, bc->name,
            workers, warmup, iters, bc->sample ? 1L : batch, bc->sample ? " (value mode)" : "");
    err = bc->setup ? bc->setup(bc, workers, &state) : 0;
    if (err) {
        fprintf(stderr, "%s: %s: setup failed: %s\n", impl, bc->name, strerror(-err));
        free(samples);
        return -1;
    }
    if (bc->sample)
        batch = 1; /* value mode: one sample is one operation */
    for (i = 0; i < warmup && !err; i++) {
        double ignored;
        err = bc->sample ? bc->sample(state, &ignored) : bc->run(state, batch);
    }
    if (!err && alloc && alloc->read)
        alloc->read(alloc->ctx, &bytes0, &allocs0);
    for (i = 0; i < iters && !err; i++) {
        if (bc->sample) {
            err = bc->sample(state, &samples[i]);
        } else {
            uint64_t start = bench_now_ns();
            err = bc->run(state, batch);
            samples[i] = (double)(bench_now_ns() - start) / (double)batch;
        }
    }
    if (!err && alloc && alloc->read) {
        double ops = (double)iters * (double)batch;
        alloc->read(alloc->ctx, &bytes1, &allocs1);
        r.alloc_measured = 1;
        r.bytes_per_op = (double)(bytes1 - bytes0) / ops;
        r.allocs_per_op = (double)(allocs1 - allocs0) / ops;
    }
    if (err) {
        fprintf(stderr, "%s: %s: FAILED (%d)\n", impl, bc->name, err);
    } else {
        bench_summarize(samples, iters, &r);
        r.unit = !bc->sample ? "ns/iter" : bc->unit ? bc->unit : "ns";
        if (bench_print_result(impl, bc->name, workers, &r))
            err = -1;
    }
    free(samples);
    if (bc->teardown)
        bc->teardown(state);
    return err ? -1 : 0;
}

static inline void bench_usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s --list\n"
            "       %s --case NAME [--iters N] [--warmup N]\n",
            prog, prog);
}

/* Parses a non-negative int; returns 0 or -EINVAL. */
static inline int bench_parse_count(const char *s, int *out)
{
    char *end;
    long v;
    if (!s || !*s)
        return -EINVAL;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end != '\0' || v < 0 || v > 100000000L)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

/*
 * The whole command line. `impl` names the implementation in the first CSV
 * column ("weft"); `alloc` may be NULL. Returns the process exit status.
 */
static inline int bench_main(int argc, char **argv, const char *impl,
                             const struct bench_case *cases, size_t ncases,
                             const struct bench_alloc_counter *alloc)
{
    const char *prog = argc > 0 ? argv[0] : "bench";
    const char *name = NULL;
    int list = 0, iters = -1, warmup = -1;
    const struct bench_case *bc = NULL;
    size_t k;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--list") == 0) {
            list = 1;
        } else if (strcmp(arg, "--case") == 0 && i + 1 < argc) {
            name = argv[++i];
        } else if (strcmp(arg, "--iters") == 0 && i + 1 < argc) {
            if (bench_parse_count(argv[++i], &iters)) {
                fprintf(stderr, "%s: --iters needs a non-negative integer\n", prog);
                return 2;
            }
        } else if (strcmp(arg, "--warmup") == 0 && i + 1 < argc) {
            if (bench_parse_count(argv[++i], &warmup)) {
                fprintf(stderr, "%s: --warmup needs a non-negative integer\n", prog);
                return 2;
            }
        } else {
            if (strcmp(arg, "-h") != 0 && strcmp(arg, "--help") != 0)
                fprintf(stderr, "%s: unknown or incomplete argument '%s'\n", prog, arg);
            bench_usage(prog);
            return 2;
        }
    }
    if (list) {
        for (k = 0; k < ncases; k++)
            printf("%s\n", cases[k].name);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (!name) {
        bench_usage(prog);
        return 2;
    }
    for (k = 0; k < ncases && !bc; k++)
        if (strcmp(cases[k].name, name) == 0)
            bc = &cases[k];
    if (!bc) {
        fprintf(stderr, "%s: unknown case '%s' (see --list)\n", prog, name);
        return 2;
    }
    if (iters < 0)
        iters = bench_scaled(bc->default_iters, bench_sample_floor(bc->default_iters));
    if (warmup < 0)
        warmup = bench_scaled(bc->default_warmup, bc->default_warmup > 0 ? 1 : 0);
    return bench_run_case(impl, bc, iters, warmup, alloc) == 0 ? 0 : 1;
}

/*
 * The canonical case table: every implementation (weft, bench/peers/tokio,
 * bench/peers/go) uses these names, worker counts and defaults, and
 * bench/README.md says what each case does. A C benchmark may build its
 * table from it, for example
 *
 *     #define ROW(id, name, workers, iters, warmup, batch) \
 *         { name, workers, iters, warmup, batch, id##_setup, id##_run, \
 *           id##_teardown, NULL },
 *     static const struct bench_case cases[] = { BENCH_TOKIO_CASES(ROW) };
 *
 * Columns: C identifier, name, workers (0 = CPUs), default iters (timed
 * samples), default warm-up samples, batch (iterations per sample).
 * read_concurrent_contended runs on a current-thread runtime, as in Tokio;
 * so do the current_thread/ rows (weft's own, not from tokio/benches).
 */
#define BENCH_TOKIO_CASES(X)                                                                                            \
    X(rt_multi_spawn_many_local, "rt_multi/spawn_many_local", 4, 100, 5, 1)                                             \
    X(rt_multi_spawn_many_remote_idle, "rt_multi/spawn_many_remote_idle", 4, 100, 5, 1)                                 \
    X(rt_multi_spawn_many_remote_busy1, "rt_multi/spawn_many_remote_busy1", 4, 50, 3, 1)                                \
    X(rt_multi_spawn_many_remote_busy2, "rt_multi/spawn_many_remote_busy2", 4, 20, 2, 1)                                \
    X(rt_multi_ping_pong, "rt_multi/ping_pong", 4, 300, 10, 1)                                                          \
    X(rt_multi_yield_many, "rt_multi/yield_many", 4, 25, 2, 1)                                                          \
    X(rt_multi_chained_spawn, "rt_multi/chained_spawn", 4, 1000, 20, 1)                                                 \
    X(spawn_spawn, "spawn/spawn", 1, 3000, 50, 20)                                                                      \
    X(spawn_spawn10, "spawn/spawn10", 1, 1000, 50, 10)                                                                  \
    X(sync_mpsc_contention_bounded, "sync_mpsc/contention_bounded", 6, 150, 10, 1)                                      \
    X(sync_mpsc_contention_bounded_full, "sync_mpsc/contention_bounded_full", 6, 300, 10, 1)                            \
    X(sync_mpsc_contention_unbounded, "sync_mpsc/contention_unbounded", 6, 500, 10, 1)                                  \
    X(sync_mpsc_uncontended_bounded, "sync_mpsc/uncontended_bounded", 6, 150, 10, 1)                                    \
    X(sync_mpsc_uncontended_unbounded, "sync_mpsc/uncontended_unbounded", 6, 1000, 10, 1)                               \
    X(sync_mpsc_oneshot_request_reply, "sync_mpsc_oneshot/request_reply", 1, 100, 5, 1)                                 \
    X(sync_semaphore_uncontended_multi, "sync_semaphore/uncontended_multi", 6, 500, 20, 1000)                           \
    X(sync_semaphore_uncontended_concurrent_multi, "sync_semaphore/uncontended_concurrent_multi", 6, 2000, 100, 10)     \
    X(sync_semaphore_contention_concurrent_multi, "sync_semaphore/contention_concurrent_multi", 6, 2000, 100, 10)       \
    X(sync_notify_notify_one_10, "sync_notify/notify_one_10", 6, 200, 10, 1)                                            \
    X(sync_notify_notify_one_100, "sync_notify/notify_one_100", 6, 500, 10, 1)                                          \
    X(sync_rwlock_read_uncontended, "sync_rwlock/read_uncontended", 6, 500, 20, 1000)                                   \
    X(sync_rwlock_read_concurrent_uncontended_multi, "sync_rwlock/read_concurrent_uncontended_multi", 6, 2000, 100, 10) \
    X(sync_rwlock_read_concurrent_contended_multi, "sync_rwlock/read_concurrent_contended_multi", 6, 2000, 100, 10)     \
    X(sync_rwlock_read_concurrent_contended, "sync_rwlock/read_concurrent_contended", 1, 2000, 100, 100)                \
    X(sync_broadcast_contended_10, "sync_broadcast/contended_10", 6, 100, 5, 1)                                         \
    X(sync_broadcast_contended_100, "sync_broadcast/contended_100", 6, 20, 2, 1)                                        \
    X(sync_watch_contention_resubscribe_10, "sync_watch/contention_resubscribe_10", 6, 100, 5, 1)                       \
    X(sync_watch_contention_resubscribe_100, "sync_watch/contention_resubscribe_100", 6, 20, 2, 1)                      \
    X(time_timeout, "time/timeout", 8, 30, 3, 16000)                                                                    \
    X(spawn_blocking_spawn_blocking, "spawn_blocking/spawn_blocking", 0, 50, 3, 1)                                      \
    X(remote_spawn_threads_1, "remote_spawn/threads_1", 0, 40, 3, 1)                                                    \
    X(remote_spawn_threads_2, "remote_spawn/threads_2", 0, 40, 3, 1)                                                    \
    X(remote_spawn_threads_4, "remote_spawn/threads_4", 0, 40, 3, 1)                                                    \
    X(current_thread_spawn_join_10k, "current_thread/spawn_join_10k", 1, 100, 5, 1)                                     \
    X(current_thread_yield_1m, "current_thread/yield_1m", 1, 10, 2, 1)

/*
 * The rows that are not Tokio's benches but have the same peers: weft's
 * single-thread primitives (st/), two contended rows, the memory row, and
 * the timer, wake-up, blocking-pool and combinator rows, the plain-thread
 * pipe reads (io/) and the spawn_blocking batches as tasks (spawn_fn).  Same columns as
 * BENCH_TOKIO_CASES; bench/run takes the sample counts of both tables.
 * Rows in value mode (see struct bench_case) have batch 1:
 * mem/idle_task_bytes (bytes per idle task, one sample per process, since
 * a second one would reuse the freed memory), time/sleep_lateness_1ms and
 * wake/remote_idle (ns per sample).
 */
#define BENCH_EXTRA_CASES(X)                                                                            \
    X(st_mutex_lock_unlock, "st/mutex_lock_unlock", 1, 200, 10, 20000)                                  \
    X(st_mutex_try_lock_unlock, "st/mutex_try_lock_unlock", 1, 200, 10, 20000)                          \
    X(st_rwlock_read, "st/rwlock_read", 1, 200, 10, 20000)                                              \
    X(st_rwlock_write, "st/rwlock_write", 1, 200, 10, 20000)                                            \
    X(st_semaphore_acquire_release, "st/semaphore_acquire_release", 1, 200, 10, 20000)                  \
    X(st_notify_one_permit, "st/notify_one_permit", 1, 200, 10, 20000)                                  \
    X(st_notify_one_waiter, "st/notify_one_waiter", 1, 200, 10, 20000)                                  \
    X(st_barrier_wait_1, "st/barrier_wait_1", 1, 200, 10, 20000)                                        \
    X(st_barrier_wait_2, "st/barrier_wait_2", 1, 200, 10, 20000)                                        \
    X(st_once_cell_get, "st/once_cell_get", 1, 200, 10, 20000)                                          \
    X(st_once_cell_get_or_init_set, "st/once_cell_get_or_init_set", 1, 200, 10, 20000)                  \
    X(st_once_cell_init_set, "st/once_cell_init_set", 1, 200, 10, 20000)                                \
    X(st_once_cell_init_get_or_init, "st/once_cell_init_get_or_init", 1, 200, 10, 20000)                \
    X(st_cancel_token_is_cancelled, "st/cancel_token_is_cancelled", 1, 200, 10, 20000)                  \
    X(st_cancel_token_child_cancel, "st/cancel_token_child_cancel", 1, 200, 10, 20000)                  \
    X(st_mpsc_send, "st/mpsc_send", 1, 200, 10, 5000)                                                   \
    X(st_mpsc_recv, "st/mpsc_recv", 1, 200, 10, 5000)                                                   \
    X(st_mpsc_roundtrip, "st/mpsc_roundtrip", 1, 200, 10, 20000)                                        \
    X(st_mpsc_try_roundtrip, "st/mpsc_try_roundtrip", 1, 200, 10, 20000)                                \
    X(st_oneshot, "st/oneshot", 1, 200, 10, 20000)                                                      \
    X(st_oneshot_heap, "st/oneshot_heap", 1, 200, 10, 20000)                                            \
    X(st_broadcast_4rx, "st/broadcast_4rx", 1, 200, 10, 20000)                                          \
    X(st_watch, "st/watch", 1, 200, 10, 20000)                                                          \
    X(st_select2, "st/select2", 1, 200, 10, 20000)                                                      \
    X(chan_mpsc_4x4, "chan/mpsc_4x4", 4, 50, 3, 1)                                                      \
    X(sync_mutex_contended_4x2500, "sync_mutex/contended_4x2500", 4, 200, 10, 1)                        \
    X(mem_idle_task_bytes, "mem/idle_task_bytes", 0, 1, 0, 1)                                           \
    X(time_timer_churn, "time/timer_churn", 0, 50, 3, 10000)                                            \
    X(time_sleep_lateness_1ms, "time/sleep_lateness_1ms", 0, 1000, 10, 1)                               \
    X(wake_remote_idle, "wake/remote_idle", 0, 1000, 10, 1)                                             \
    X(spawn_blocking_burst_100k, "spawn_blocking/burst_100k", 0, 10, 1, 1)                              \
    X(combinators_join_all_10k, "combinators/join_all_10k", 1, 100, 5, 1)                               \
    X(time_timer_churn_4tasks, "time/timer_churn_4tasks", 4, 100, 5, 10000)                             \
    X(io_block_on_read, "io/block_on_read", 2, 2000, 50, 10)                                            \
    X(io_ct_block_on_read, "io/ct_block_on_read", 1, 2000, 50, 10)                                      \
    X(spawn_blocking_spawn_fn, "spawn_blocking/spawn_fn", 0, 50, 3, 1)

#endif /* WEFT_BENCH_HARNESS_H */

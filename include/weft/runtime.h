/*
 * weft/runtime.h - creating, driving and destroying a runtime.
 *
 * A runtime runs spawned tasks.  Two flavours share one task model:
 *  - multi-threaded: N worker threads with work stealing (the default);
 *  - current-thread: every task runs on the thread that calls
 *    weft_block_on, and only while it is inside weft_block_on (or, for a
 *    runtime embedded in another event loop, inside weft_runtime_tick:
 *    weft/embed.h).
 */
#ifndef WEFT_RUNTIME_H
#define WEFT_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/future.h"

#ifdef __cplusplus
extern "C" {
#endif

struct weft_task_hooks;
struct weft_report;

/* An opaque runtime.  Created by weft_runtime_create. */
typedef struct weft_runtime weft_runtime;

/*
 * A memory allocator.  weft allocates tasks and runtime structures through
 * it.  `alloc` returns memory of at least `size` bytes aligned to `align`
 * (a power of two, at most 64), or NULL; `free` releases it and is given the
 * same size and alignment.  Both may be called from any thread at once, and
 * from any thread that wakes or drops a task's waker, for as long as any
 * task of the runtime is alive (which may be after weft_runtime_destroy,
 * while join handles or wakers remain).
 */
typedef struct weft_allocator {
	void *(*alloc)(void *ctx, size_t size, size_t align);
	void (*free)(void *ctx, void *ptr, size_t size, size_t align);
	void *ctx;
} weft_allocator;

/* The scheduler a runtime uses (weft_runtime_config.flavor). */
typedef enum weft_runtime_flavor {
	WEFT_RUNTIME_MULTI_THREAD = 0,   /* Worker threads with work stealing. */
	WEFT_RUNTIME_CURRENT_THREAD = 1, /* Everything on the block_on thread. */
} weft_runtime_flavor;

/*
 * Whether a thread inside weft_block_on of a multi-threaded runtime runs
 * queued tasks itself while its future is pending ("helps"), instead of
 * only sleeping until the future is woken.
 *
 * Helping runs one task from the shared injector at a time and looks at the
 * blocked future between two tasks, so the future is never delayed by more
 * than one task poll.  A future that only talks to tasks (spawn, then await
 * the handle; send a request, await the reply) then completes without a
 * cross-thread wake per step, and the thread also skips waking a worker for
 * a single task it queued and will run itself (a worker is woken as soon as
 * more than one task waits, or when block_on returns with work queued).
 * Turning it off makes every spawn and wake from that thread wake a worker
 * and the thread sleep while its future is pending.
 *
 * The environment variable WEFT_BLOCK_ON_HELP, when set to "0" or "1" at
 * runtime creation, overrides this field (so that a built program can be
 * measured both ways).  The current-thread flavour ignores it: there every
 * task runs on the blocked thread anyway.
 */
typedef enum weft_block_on_help {
	/* The default: on. */
	WEFT_BLOCK_ON_HELP_DEFAULT = 0,
	WEFT_BLOCK_ON_HELP_ON = 1,
	WEFT_BLOCK_ON_HELP_OFF = 2,
} weft_block_on_help;

/*
 * The I/O driver (backend) of a runtime; see docs/driver.md.
 *  - WEFT_DRIVER_AUTO: io_uring when the kernel accepts it, else epoll,
 *    silently.  The environment variable
 *    WEFT_DRIVER=uring|io_uring|epoll|kqueue|iocp turns AUTO into that
 *    choice (and then behaves as forced).
 *  - WEFT_DRIVER_URING / WEFT_DRIVER_EPOLL / WEFT_DRIVER_KQUEUE: that
 *    backend or an error (-ENOTSUP when it was not built; on Linux kqueue
 *    is built only over the test emulation, -Dkqueue_emulation=true).
 *  - WEFT_DRIVER_IOCP: the I/O completion port backend (Windows, where it
 *    is also what AUTO chooses; WEFT_DRIVER=iocp); -ENOTSUP elsewhere.
 */
typedef enum weft_driver_kind {
	WEFT_DRIVER_AUTO = 0,
	WEFT_DRIVER_URING = 1,
	WEFT_DRIVER_EPOLL = 2,
	WEFT_DRIVER_KQUEUE = 3,
	WEFT_DRIVER_IOCP = 4,
} weft_driver_kind;

/*
 * Runtime configuration.  A zeroed struct means "all defaults".
 */
typedef struct weft_runtime_config {
	/* Which scheduler.  Default: multi-threaded. */
	weft_runtime_flavor flavor;
	/* Worker threads of the multi-threaded flavour; 0 = the number of CPUs the process may run on (its affinity mask, e.g. from taskset).
	 * Ignored by the current-thread flavour. */
	unsigned workers;
	/* Allocator; NULL = the C library's malloc/free.  Copied at creation:
	 * the struct itself need not outlive the call, but ctx must outlive
	 * every task of the runtime.  With NULL, the multi-threaded runtime
	 * recycles task allocations of up to 256 bytes (a 64-byte header and
	 * a future of up to 192 bytes): each thread keeps up to 64 freed task
	 * allocations of each size for its next spawns, and hands surplus to
	 * a process-wide depot in batches that other threads take (at most
	 * 1,024 per size; the rest goes back to free).  That memory stays
	 * allocated after the runtime is destroyed, until the thread holding
	 * it exits.  WEFT_TASK_CACHE=0 in the environment turns it off.  A
	 * runtime with an allocator of its own gets every task allocation and
	 * free through it. */
	const weft_allocator *allocator;
	/* Whether weft_block_on runs queued tasks while it waits (see
	 * weft_block_on_help).  Default: on. */
	weft_block_on_help block_on_help;
	/* Most threads of the blocking pool (weft/blocking.h), not counting
	 * the workers; 0 = 512. */
	unsigned max_blocking_threads;
	/* How long an idle blocking-pool thread waits for a job before it
	 * exits, in nanoseconds; 0 = 10 seconds. */
	uint64_t blocking_keep_alive_ns;
	/* Start with a paused (virtual) clock: it moves only with
	 * weft_time_advance, and jumps to the next timer whenever nothing is
	 * runnable inside weft_block_on (weft/time.h).  Current-thread only:
	 * weft_runtime_create returns -EINVAL for a multi-threaded runtime
	 * with it set.  Default false. */
	bool start_paused;
	/* I/O backend; default AUTO (see weft_driver_kind).  The config wins
	 * over WEFT_DRIVER. */
	weft_driver_kind driver;
	/* Observability (weft/metrics.h).  Hooks called around every task;
	 * NULL = none.  The struct is copied at creation. */
	const struct weft_task_hooks *task_hooks;
	/* The stall watchdog: report every task poll that holds a worker
	 * longer than this many nanoseconds.  0 = off, unless WEFT_STALL_MS
	 * is set.  Multi-threaded flavour only (ignored otherwise).  While on,
	 * a watchdog thread wakes every threshold / 2, also when the runtime
	 * is idle; while off, no thread is started. */
	uint64_t stall_threshold_ns;
	/* Where watchdog and debug-check reports go (weft_report_fn); NULL =
	 * one line each on stderr.  report_ctx is passed to it. */
	void (*report)(void *ctx, const struct weft_report *report);
	void *report_ctx;
	/* How long a worker that has I/O in flight polls its ring for
	 * completions before it goes to sleep, in nanoseconds.  A completion
	 * that arrives within that time is taken without the worker sleeping
	 * and being woken (no wake-up for the thread whose send or write
	 * caused it to pay, no scheduler latency): a server with one busy
	 * connection answers about three times sooner here (docs/driver.md,
	 * "Spinning before sleep").  The price is the CPU time spun when
	 * nothing comes.  0 = WEFT_IO_SPIN_NS if that is set to a number,
	 * else 50 microseconds; negative = never spin.  The spin ends at
	 * once when the worker is unparked or a timer is due.  Multi-threaded
	 * runtime only, on io_uring (a ring with deferred task running and
	 * its task-run flag: a look is a load, no system call) and on epoll
	 * (the worker that waits in the epoll instance; a look is an
	 * epoll_wait with a zero timeout); ignored on kqueue, IOCP, an older
	 * kernel's ring and a current-thread runtime. */
	int64_t io_spin_ns;
} weft_runtime_config;

/*
 * Creates a runtime.  `config` may be NULL (all defaults).  On success stores
 * the runtime in *out and returns 0; the multi-threaded flavour has started
 * its workers.  Returns -EINVAL for a NULL `out`, an unknown flavour, an
 * allocator without alloc or free, more than 65536 workers, or
 * start_paused on a multi-threaded runtime;
 * -ENOMEM when an allocation fails, -EAGAIN (or another -errno from
 * pthread_create) when a thread cannot be started; for a forced driver
 * (config or WEFT_DRIVER) that cannot start, -ENOTSUP (not built, or a
 * needed io_uring opcode missing) or the kernel's -errno (-ENOSYS,
 * -EPERM, ...), and -EINVAL for an unknown driver kind or WEFT_DRIVER
 * value; *out is then untouched and nothing is leaked.  Any thread.
 */
int weft_runtime_create(const weft_runtime_config *config, weft_runtime **out);

/*
 * Shuts `rt` down and frees it: new spawns are refused, the workers stop
 * after the poll they are in, every unfinished task's future is dropped
 * (its drop runs exactly once), every join handle completes with
 * -ECANCELED, and all threads are joined.  Then the blocking pool
 * (weft/blocking.h) is shut down: queued blocking jobs are cancelled and
 * running ones are waited for, without a deadline (see
 * weft_runtime_shutdown_timeout for one).  Join handles stay valid and must
 * still be detached by their owners.  Returns 0; returns -EDEADLK (and does
 * nothing) when called from inside one of `rt`'s own tasks or workers.
 * `rt` == NULL returns 0 quietly.  Any thread but the runtime's own, once:
 * no other thread may be inside weft_block_on(rt) or call into `rt` during
 * or after the call (wakers and join handles of its tasks stay usable).
 */
int weft_runtime_destroy(weft_runtime *rt);

/*
 * Polls `future` on the calling thread until it is ready; its result stays
 * in the caller's struct.  Spawned tasks keep running meanwhile (on the
 * workers, or, for a current-thread runtime, on this thread).  The future is
 * not dropped: the caller owns it and drops it.  Returns 0 when the future is
 * ready; -EINVAL when `rt` or `future` is NULL; -EDEADLK when called from
 * inside a task or worker (waiting there would block the runtime); -EBUSY
 * when another thread is already inside weft_block_on or weft_runtime_tick
 * (weft/embed.h) of the same current-thread runtime; -ENOMEM when the thread's parker cannot be
 * allocated (first call on a thread only).  Any thread outside the runtime.
 */
int weft_block_on(weft_runtime *rt, weft_future *future);

/*
 * Returns the runtime whose task or block_on is running on this thread, or
 * NULL outside of any runtime.  The pointer is borrowed.
 */
weft_runtime *weft_runtime_current(void);

/*
 * Returns the number of worker threads (1 for a current-thread runtime), or
 * 0 for NULL.
 */
unsigned weft_runtime_workers(const weft_runtime *rt);

/*
 * Returns the name of the I/O backend `rt` runs on, "io_uring", "epoll"
 * or "kqueue" (a static string), or NULL for NULL.  Any thread.
 */
const char *weft_runtime_driver(const weft_runtime *rt);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_RUNTIME_H */

/*
 * src/sched/runtime.h - the runtime object, its flavours, and the
 * thread-local "current runtime" context.  Private.
 */
#ifndef WEFT_SRC_SCHED_RUNTIME_H
#define WEFT_SRC_SCHED_RUNTIME_H

#include <stdatomic.h>
#include <stdbool.h>

#include "weft/runtime.h"
#include "task.h"

struct weft__runtime_ops {
	int (*block_on)(struct weft_runtime *rt, weft_future *f);
	/* Optional (NULL: not counted): the flavour's part of a metrics
	 * snapshot, and worker `i`'s counters (i < rt->workers).  Any
	 * thread; relaxed loads only. */
	void (*metrics)(const struct weft_runtime *rt, weft_metrics *m);
	void (*worker_metrics)(const struct weft_runtime *rt, unsigned i,
			       weft_worker_metrics *m);
	/* Stops threads and cancels every task; frees the flavour's state
	 * (the common sched is released by the caller). */
	void (*shutdown)(struct weft_runtime *rt);
	/* A timer that is now the earliest was registered (see
	 * src/driver/time.h, weft__runtime_timer_changed).  Any thread. */
	void (*timer_changed)(struct weft_runtime *rt);
};

struct weft__driver;
struct weft__drv_thread;
struct weft__time;

struct weft_runtime {
	const struct weft__runtime_ops *ops;
	weft_runtime_flavor flavor;
	unsigned workers;
	/* weft_runtime_config.block_on_help, resolved (environment included)
	 * at creation; read by the multi-threaded flavour's block_on. */
	bool block_on_help;
	/* The flavour's scheduler; its first member is a struct weft__sched. */
	struct weft__sched *sched;
	weft_allocator alloc;
	/* The blocking pool (src/blocking/), made by the first
	 * weft_spawn_blocking; NULL until then.  Its settings come from the
	 * config. */
	_Atomic(struct weft__blocking_pool *) blocking;
	unsigned blocking_max_threads;
	uint64_t blocking_keep_alive_ns;
	/* The I/O driver (src/driver/driver.h) and the timers
	 * (src/driver/time.h); created before the scheduler, destroyed
	 * after its shutdown. */
	struct weft__driver *driver;
	struct weft__time *time;
	/* Hooks, watchdog, reports, WEFT_METRICS (observe.h), resolved at
	 * creation. */
	struct weft__obs_config obs;
};

static inline struct weft__time *weft__runtime_time(struct weft_runtime *rt)
{
	return rt->time;
}

/*
 * The number of blocking-pool jobs of `rt` running now; a paused clock does
 * not jump ahead while it is not zero (weft__time_auto_advance).  An
 * indirection so that the timers need no weak symbol: the blocking pool
 * (src/blocking) wires it to weft__blocking_active when it lands.
 */
size_t weft__runtime_blocking_active(struct weft_runtime *rt);

/*
 * What runs on this thread: set by workers for their whole life and by
 * block_on / the current-thread scheduler while they poll.
 */
struct weft__context {
	struct weft_runtime *rt;
	/* The worker (multi-thread) or core (current-thread) owned by this
	 * thread, or NULL on a thread that only blocks on a future. */
	void *owner;
	/* True while polling a task or a worker loop: blocking here would
	 * stall the runtime. */
	bool in_runtime;
	/* Set on a thread inside block_on that runs injected tasks itself:
	 * its pushes to the injector skip waking a worker and set
	 * `notify_deferred` instead; block_on decides afterwards whether a
	 * worker is needed (see multi_thread.c). */
	bool defer_notify;
	bool notify_deferred;
	/* The driver thread this thread owns (a worker's ring, the
	 * current-thread runtime's while inside block_on), or NULL: I/O
	 * started here goes to the owner of another (driver.h). */
	struct weft__drv_thread *drv;
	/* The multi-threaded worker's index plus one, 0 on any other thread
	 * (weft_task_event.worker). */
	unsigned worker_id;
	/* A worker's share of its scheduler's reference count (task.c): the
	 * references its tasks take and drop come out of and go back to
	 * `ref_spare`, which always holds at least 0 references of
	 * `ref_sched` taken on the shared count, so the shared word is
	 * touched once per REF_BATCH instead of once per task.  Set by the
	 * worker at its start; its spare references are given back
	 * (weft__sched_ref_cache_flush) before it exits.  Only workers
	 * change them, and a worker never enters block_on (in_runtime), so
	 * block_on's save and restore of this struct leaves them alone. */
	struct weft__sched *ref_sched;
	uint64_t ref_spare;
};

/* Initial-exec TLS: one instruction per access instead of a call to
 * __tls_get_addr from the shared library (the block is small). */
#if defined(__GNUC__)
#define WEFT__TLS _Thread_local __attribute__((tls_model("initial-exec")))
#else
#define WEFT__TLS _Thread_local
#endif

extern WEFT__TLS struct weft__context weft__ctx;

int weft__current_thread_create(struct weft_runtime *rt);
int weft__multi_thread_create(struct weft_runtime *rt);

#endif /* WEFT_SRC_SCHED_RUNTIME_H */

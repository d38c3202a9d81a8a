/*
 * src/sched/runtime.c - runtime creation and destruction, block_on
 * dispatch, the current-runtime context and the default allocator.
 */
#define _GNU_SOURCE
#include "runtime.h"
#include "../driver/driver.h"
#include "../driver/time.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "park.h"
#include "../common/platform.h"
#include "weft/blocking.h"
#include "weft/metrics.h"
#include "../blocking/blocking.h"

WEFT__TLS struct weft__context weft__ctx;

static void *default_alloc(void *ctx, size_t size, size_t align)
{
	(void)ctx;
	if (align <= _Alignof(max_align_t))
		return malloc(size);
	return weft__aligned_alloc(align, size);
}

static void default_free(void *ctx, void *ptr, size_t size, size_t align)
{
	(void)ctx;
	(void)size;
	if (align <= _Alignof(max_align_t))
		free(ptr);
	else
		weft__aligned_free(ptr);
}

const weft_allocator weft__default_allocator = {
	.alloc = default_alloc,
	.free = default_free,
	.ctx = NULL,
};

/* The config's block_on_help, unless WEFT_BLOCK_ON_HELP says otherwise. */
static bool resolve_block_on_help(weft_block_on_help configured)
{
	const char *env = getenv("WEFT_BLOCK_ON_HELP");

	if (env != NULL && strcmp(env, "0") == 0)
		return false;
	if (env != NULL && strcmp(env, "1") == 0)
		return true;
	return configured != WEFT_BLOCK_ON_HELP_OFF;
}

/* The default of weft_runtime_config.io_spin_ns: 50 us.  On this project's
 * 2-core machine a loopback echo round trip with one connection took 72 us
 * without a spin, 27-31 us with 20 us and 24 us with 50 us; redis-benchmark
 * against examples/resp_ping (50 connections, 16 pipelined) found the
 * server asleep 12,000-14,000 times per 10^6 requests without, 200-600
 * times with 50 us (docs/driver.md, "Spinning before sleep"). */
#define IO_SPIN_DEFAULT_NS 50000u

/* The config's io_spin_ns resolved: nanoseconds to spin, 0 for none.
 * WEFT_IO_SPIN_NS counts when the config leaves it 0; a value that is not
 * a whole number is ignored. */
static uint64_t resolve_io_spin(int64_t configured)
{
	const char *env;
	char *end;
	unsigned long long ns;

	if (configured < 0)
		return 0;
	if (configured > 0)
		return (uint64_t)configured;
	env = getenv("WEFT_IO_SPIN_NS");
	if (env == NULL || *env == '\0')
		return IO_SPIN_DEFAULT_NS;
	ns = strtoull(env, &end, 10);
	if (*end != '\0' || *env == '-')
		return IO_SPIN_DEFAULT_NS;
	return (uint64_t)ns;
}

/* Threads the scheduler will run: 1 for current-thread, else the
 * configured count or the number of CPUs this process may run on (its
 * affinity mask, as `taskset` or a container's cpuset sets it; Tokio's
 * default counts the same way), falling back to the online CPUs. */
static unsigned resolve_workers(const weft_runtime_config *config)
{
	if (config->flavor == WEFT_RUNTIME_CURRENT_THREAD)
		return 1;
	if (config->workers != 0)
		return config->workers;
	return weft__cpu_count();
}

int weft_runtime_create(const weft_runtime_config *config, weft_runtime **out)
{
	weft_runtime_config defaults = { 0 };
	const weft_allocator *alloc;
	weft_runtime *rt;
	int err;

	if (out == NULL)
		return -EINVAL;
	if (config == NULL)
		config = &defaults;
	if (config->flavor != WEFT_RUNTIME_MULTI_THREAD &&
	    config->flavor != WEFT_RUNTIME_CURRENT_THREAD)
		return -EINVAL;
	if (config->block_on_help != WEFT_BLOCK_ON_HELP_DEFAULT &&
	    config->block_on_help != WEFT_BLOCK_ON_HELP_ON &&
	    config->block_on_help != WEFT_BLOCK_ON_HELP_OFF)
		return -EINVAL;
	alloc = config->allocator != NULL ? config->allocator : &weft__default_allocator;
	if (alloc->alloc == NULL || alloc->free == NULL)
		return -EINVAL;
	/* A paused clock needs a single thread that knows when nothing runs. */
	if (config->start_paused && config->flavor != WEFT_RUNTIME_CURRENT_THREAD)
		return -EINVAL;

	rt = alloc->alloc(alloc->ctx, sizeof(*rt), _Alignof(weft_runtime));
	if (rt == NULL)
		return -ENOMEM;
	rt->alloc = *alloc;
	rt->flavor = config->flavor;
	rt->workers = resolve_workers(config);
	rt->block_on_help = resolve_block_on_help(config->block_on_help);
	rt->sched = NULL;
	rt->ops = NULL;
	rt->driver = NULL;
	rt->time = NULL;
	atomic_init(&rt->blocking, NULL);
	rt->blocking_max_threads = config->max_blocking_threads;
	rt->blocking_keep_alive_ns = config->blocking_keep_alive_ns;
	weft__obs_config_resolve(&rt->obs, config);
	err = -EINVAL;
	if (rt->workers > 65536)
		goto fail_rt;
	err = weft__time_create(rt, config->start_paused, &rt->time);
	if (err < 0)
		goto fail_rt;
	err = weft__driver_create(rt, config->driver, rt->workers,
				  config->flavor == WEFT_RUNTIME_CURRENT_THREAD, &rt->alloc,
				  &rt->driver);
	if (err < 0)
		goto fail_time;
	/* Before any worker starts: read-only from here on. */
	rt->driver->spin_ns = resolve_io_spin(config->io_spin_ns);
	if (config->flavor == WEFT_RUNTIME_CURRENT_THREAD) {
		err = weft__current_thread_create(rt);
		/* No thread of it runs yet: nothing reads the observer. */
		if (err == 0)
			weft__sched_observe(rt->sched, &rt->obs);
	} else {
		/* Observes its scheduler before it starts the workers. */
		err = weft__multi_thread_create(rt);
	}
	if (err < 0)
		goto fail_driver;
	*out = rt;
	return 0;

fail_driver:
	weft__driver_destroy(rt->driver);
fail_time:
	weft__time_destroy(rt->time);
fail_rt:
	alloc->free(alloc->ctx, rt, sizeof(*rt), _Alignof(weft_runtime));
	return err;
}

/* Destroys `rt`; the blocking pool waits for its running jobs until
 * `deadline_ns` (UINT64_MAX: for ever).  Returns 0, -ETIMEDOUT or -EDEADLK. */
static int runtime_destroy(weft_runtime *rt, uint64_t deadline_ns)
{
	weft_allocator alloc;
	int err;

	if (rt == NULL)
		return 0;
	if ((weft__ctx.rt == rt && weft__ctx.in_runtime) || weft__blocking_on_pool_thread(rt))
		return -EDEADLK;
	rt->ops->shutdown(rt);
	err = weft__blocking_shutdown(rt, deadline_ns);
	/* Every thread has stopped: the counters are final. */
	if (rt->obs.print_metrics)
		weft_runtime_metrics_print(rt);
	alloc = rt->alloc;
	weft__sched_unref(rt->sched);
	/* Every task was dropped and every worker finished its driver
	 * thread: nothing is in the kernel any more. */
	weft__driver_destroy(rt->driver);
	/* After every task was dropped (their timers unlinked themselves):
	 * what still waits belongs to futures outside the runtime. */
	weft__time_destroy(rt->time);
	alloc.free(alloc.ctx, rt, sizeof(*rt), _Alignof(weft_runtime));
	return err;
}

int weft_runtime_destroy(weft_runtime *rt)
{
	return runtime_destroy(rt, UINT64_MAX);
}

int weft_runtime_shutdown_timeout(weft_runtime *rt, uint64_t timeout_ns)
{
	uint64_t now = weft__now_ns();

	return runtime_destroy(rt, timeout_ns > UINT64_MAX - 1 - now ? UINT64_MAX - 1
								       : now + timeout_ns);
}

int weft_block_on(weft_runtime *rt, weft_future *future)
{
	if (rt == NULL || future == NULL || future->poll == NULL)
		return -EINVAL;
	if (weft__ctx.in_runtime)
		return -EDEADLK;
	return rt->ops->block_on(rt, future);
}

weft_runtime *weft_runtime_current(void)
{
	return weft__ctx.rt;
}

unsigned weft_runtime_workers(const weft_runtime *rt)
{
	return rt != NULL ? rt->workers : 0;
}

const char *weft_runtime_driver(const weft_runtime *rt)
{
	return rt != NULL && rt->driver != NULL ? weft__driver_name(rt->driver) : NULL;
}

void weft__runtime_timer_changed(struct weft_runtime *rt)
{
	if (rt != NULL && rt->ops != NULL && rt->ops->timer_changed != NULL)
		rt->ops->timer_changed(rt);
}

size_t weft__runtime_blocking_active(struct weft_runtime *rt)
{
	/* Queued and running jobs of the blocking pool: a paused clock does
	 * not jump while one of them may still register or wake something. */
	return weft__blocking_active(rt);
}

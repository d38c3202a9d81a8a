/*
 * src/sched/metrics.c - metrics snapshots of a runtime and the table that
 * WEFT_METRICS=1 prints at shutdown.
 *
 * A snapshot only reads: relaxed loads of counters that their writers keep
 * with relaxed stores (observe.h), the injector's and local queues' atomic
 * lengths, and the blocking pool's counts under its own lock (which no
 * worker takes).  Nothing here makes a worker wait.  The snapshot is filled
 * into a full struct on the stack and copied out up to the caller's
 * `size`, so that callers built against a shorter struct keep working.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "runtime.h"
#include "weft/metrics.h"
#include "../blocking/blocking.h"
#include "../driver/driver.h"

static uint64_t load(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static void driver_counts(const struct weft__driver *d, weft_metrics *m)
{
	unsigned i;

	m->driver = weft__driver_name(d);
	m->driver_fallback = d->fell_back;
	for (i = 0; i < d->nthreads; i++) {
		struct weft__drv_thread *dt = d->threads[i];

		m->driver_submissions += load(&dt->submissions);
		m->driver_completions += load(&dt->completions);
		m->driver_wakes += load(&dt->wakes);
		m->driver_spins += load(&dt->spins);
	}
}

int weft_runtime_metrics(const weft_runtime *rt, weft_metrics *out)
{
	weft_metrics m;
	unsigned i;

	if (rt == NULL || out == NULL ||
	    out->size < offsetof(weft_metrics, workers) + sizeof(unsigned))
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.workers = rt->workers;
	for (i = 0; i < OWNED_SHARDS; i++) {
		const struct owned_shard *sh = &rt->sched->shards[i];

		/* Acquire: pairs with the release store of `live` in
		 * weft__owned_insert, so spawned never trails live. */
		m.live_tasks += atomic_load_explicit((_Atomic uint32_t *)&sh->live,
						     memory_order_acquire);
		m.spawned += load((_Atomic uint64_t *)&sh->inserted);
	}
	if (rt->ops->metrics != NULL)
		rt->ops->metrics(rt, &m);
	m.blocking_threads = weft__blocking_threads((struct weft_runtime *)rt);
	m.blocking_idle_threads = weft__blocking_idle((struct weft_runtime *)rt);
	m.blocking_queue_depth = weft__blocking_queued((struct weft_runtime *)rt);
	if (rt->driver != NULL)
		driver_counts(rt->driver, &m);
	m.size = out->size < sizeof(m) ? out->size : sizeof(m);
	memcpy(out, &m, m.size);
	return 0;
}

int weft_runtime_worker_metrics(const weft_runtime *rt, unsigned worker,
				weft_worker_metrics *out)
{
	weft_worker_metrics m;

	if (rt == NULL || out == NULL || out->size < sizeof(size_t) + sizeof(uint64_t))
		return -EINVAL;
	if (worker >= rt->workers)
		return -ERANGE;
	memset(&m, 0, sizeof(m));
	if (rt->ops->worker_metrics != NULL)
		rt->ops->worker_metrics(rt, worker, &m);
	m.size = out->size < sizeof(m) ? out->size : sizeof(m);
	memcpy(out, &m, m.size);
	return 0;
}

static void print_workers(const weft_runtime *rt)
{
	unsigned i;

	fprintf(stderr, "%-7s %12s %9s %9s %10s %8s %10s %9s %12s %6s\n", "worker", "polls",
		"steals", "attempts", "lifo_hits", "parks", "inj_pops", "budget", "busy_ms",
		"queue");
	for (i = 0; i < rt->workers; i++) {
		weft_worker_metrics w = { .size = sizeof(w) };

		if (weft_runtime_worker_metrics(rt, i, &w) < 0)
			continue;
		fprintf(stderr, "%-7u %12llu %9llu %9llu %10llu %8llu %10llu %9llu %12.1f %6llu\n", i,
			(unsigned long long)w.polls, (unsigned long long)w.steals,
			(unsigned long long)w.steal_attempts, (unsigned long long)w.lifo_hits,
			(unsigned long long)w.parks, (unsigned long long)w.injector_pops,
			(unsigned long long)w.budget_yields, (double)w.busy_ns / 1e6,
			(unsigned long long)w.local_queue_depth);
	}
}

int weft_runtime_metrics_print(const weft_runtime *rt)
{
	weft_metrics m = { .size = sizeof(m) };

	if (rt == NULL)
		return -EINVAL;
	weft_runtime_metrics(rt, &m);
	fprintf(stderr, "weft metrics: %u workers, driver %s%s\n", m.workers,
		m.driver != NULL ? m.driver : "none", m.driver_fallback ? " (fallback)" : "");
	fprintf(stderr, "tasks: spawned %llu, live %llu, injector %llu\n",
		(unsigned long long)m.spawned, (unsigned long long)m.live_tasks,
		(unsigned long long)m.injector_depth);
	fprintf(stderr, "blocking: threads %llu (idle %llu), queued %llu\n",
		(unsigned long long)m.blocking_threads, (unsigned long long)m.blocking_idle_threads,
		(unsigned long long)m.blocking_queue_depth);
	fprintf(stderr, "driver: submissions %llu, completions %llu, wakes %llu, spins %llu\n",
		(unsigned long long)m.driver_submissions,
		(unsigned long long)m.driver_completions, (unsigned long long)m.driver_wakes,
		(unsigned long long)m.driver_spins);
	print_workers(rt);
	return 0;
}

/*
 * src/sched/observe.c - the observer of a runtime: resolving its settings,
 * delivering reports, the task hooks, and the debug builds' protocol
 * checks.  Only tasks with an annex come here (observe.h explains when a
 * task has one); the plain paths of task.c and join.c never call in.
 *
 * The debug checks (-Ddebug_checks=true)
 * ======================================
 *
 * Each check costs a few instructions on a path that is already taken and
 * reports through weft__report; none stops the program.
 *
 *  - Poll after ready.  When a task ends, its future's bytes stay readable
 *    through weft_join_output, but nothing may poll or drop them again.  A
 *    debug build replaces the ended future's poll and drop pointers (the
 *    header, never the result fields after it) with traps that report and
 *    do nothing else: the trap poll returns WEFT_READY.
 *  - Lost wake-up.  A poll that returns pending must have stored a clone
 *    of its waker (or kept one from before).  A task's waker clone sets the
 *    annex's `cloned` flag, cleared when a poll starts; a pending poll that
 *    ends with it clear marks the task `suspect`.  At shutdown, a claimed
 *    task that is suspect, not notified, and has no reference beyond the
 *    owned list's, the claimer's and its join handle's (so no waker of it
 *    exists anywhere) could never have been woken: it is reported.
 *  - Shared join handle.  Every join-handle call but abort (which any
 *    thread may make at any time) sets the annex's `join_busy` flag with an
 *    exchange and clears it on return; finding it set means two threads
 *    are inside calls on the same handle at once.
 */
#include "task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

/* WEFT_STALL_MS as nanoseconds, or 0 when unset or not a number. */
static uint64_t stall_from_env(void)
{
	const char *env = getenv("WEFT_STALL_MS");
	char *end;
	unsigned long long ms;

	if (env == NULL || *env == '\0')
		return 0;
	ms = strtoull(env, &end, 10);
	if (*end != '\0' || ms > UINT64_MAX / 1000000)
		return 0;
	return (uint64_t)ms * 1000000;
}

void weft__obs_config_resolve(struct weft__obs_config *out, const weft_runtime_config *config)
{
	const char *env = getenv("WEFT_METRICS");

	memset(out, 0, sizeof(*out));
	if (config->task_hooks != NULL) {
		out->hooks = *config->task_hooks;
		out->hooks_on = out->hooks.on_spawn != NULL || out->hooks.on_poll_start != NULL ||
				out->hooks.on_poll_end != NULL || out->hooks.on_finish != NULL;
	}
	out->report = config->report;
	out->report_ctx = config->report_ctx;
	out->stall_ns = config->stall_threshold_ns != 0 ? config->stall_threshold_ns
							: stall_from_env();
	/* Below 2 ms the scan period would be under a millisecond. */
	if (out->stall_ns != 0 && out->stall_ns < 2000000)
		out->stall_ns = 2000000;
	if (config->flavor != WEFT_RUNTIME_MULTI_THREAD)
		out->stall_ns = 0;
	out->print_metrics = env != NULL && strcmp(env, "1") == 0;
}

void weft__sched_observe(struct weft__sched *s, const struct weft__obs_config *c)
{
	struct weft__observer *o = &s->obs;

	o->hooks = c->hooks;
	o->hooks_on = c->hooks_on;
	o->report = c->report;
	o->report_ctx = c->report_ctx;
	o->annex = c->hooks_on || c->stall_ns != 0 || WEFT_DEBUG_CHECKS;
}

static const char *kind_name(weft_report_kind kind)
{
	switch (kind) {
	case WEFT_REPORT_STALL:
		return "stall";
	case WEFT_REPORT_POLL_AFTER_READY:
		return "poll after ready";
	case WEFT_REPORT_DROP_AFTER_END:
		return "drop after end";
	case WEFT_REPORT_LOST_WAKEUP:
		return "lost wake-up";
	case WEFT_REPORT_JOIN_SHARED:
		return "shared join handle";
	}
	return "report";
}

void weft__report(const struct weft__observer *o, weft_report_kind kind, uint64_t task_id,
		  const char *name, int worker, uint64_t duration_ns, const char *message)
{
	weft_report r = {
		.kind = kind,
		.task_id = task_id,
		.task_name = name,
		.worker = worker,
		.duration_ns = duration_ns,
		.message = message,
	};

	if (o != NULL && o->report != NULL) {
		o->report(o->report_ctx, &r);
		return;
	}
	fprintf(stderr, "weft: %s: task %llu%s%s%s on worker %d", kind_name(kind),
		(unsigned long long)task_id, name != NULL ? " (" : "", name != NULL ? name : "",
		name != NULL ? ")" : "", worker);
	if (kind == WEFT_REPORT_STALL)
		fprintf(stderr, " for %llu ms", (unsigned long long)(duration_ns / 1000000));
	fprintf(stderr, ": %s\n", message);
}

/* ---- hooks ------------------------------------------------------------------ */

static void event_of(struct weft_task *t, weft_task_event *ev, bool flag)
{
	struct task_annex *a = task_annex(t);

	ev->id = a->id;
	ev->name = a->name;
	ev->worker = weft__ctx.worker_id != 0 && weft__ctx.rt == t->sched->rt
			     ? (int)weft__ctx.worker_id - 1
			     : -1;
	ev->flag = flag;
}

void weft__obs_task_spawn(struct weft_task *t)
{
	const struct weft__observer *o = &t->sched->obs;
	weft_task_event ev;

	if (o->hooks.on_spawn == NULL)
		return;
	event_of(t, &ev, false);
	o->hooks.on_spawn(o->hooks.ctx, &ev);
}

void weft__obs_poll_start(struct weft_task *t)
{
	const struct weft__observer *o = &t->sched->obs;
	weft_task_event ev;

#if WEFT_DEBUG_CHECKS
	atomic_store_explicit(&task_annex(t)->cloned, 0, memory_order_relaxed);
#endif
	if (o->hooks.on_poll_start == NULL)
		return;
	event_of(t, &ev, false);
	o->hooks.on_poll_start(o->hooks.ctx, &ev);
}

void weft__obs_poll_end(struct weft_task *t, weft_poll res)
{
	const struct weft__observer *o = &t->sched->obs;
	weft_task_event ev;

#if WEFT_DEBUG_CHECKS
	/* Before the task goes idle: the next poller or shutdown reads it
	 * after the state word's release (to_idle) and acquire. */
	task_annex(t)->suspect =
		res == WEFT_PENDING &&
		!atomic_load_explicit(&task_annex(t)->cloned, memory_order_relaxed);
#endif
	if (o->hooks.on_poll_end == NULL)
		return;
	event_of(t, &ev, res == WEFT_READY);
	o->hooks.on_poll_end(o->hooks.ctx, &ev);
}

void weft__obs_task_finish(struct weft_task *t, bool cancelled)
{
	const struct weft__observer *o = &t->sched->obs;
	weft_task_event ev;

	if (o->hooks.on_finish == NULL)
		return;
	event_of(t, &ev, cancelled);
	o->hooks.on_finish(o->hooks.ctx, &ev);
}

/* ---- debug checks ---------------------------------------------------------- */

/* Lost wake-ups listed one by one on stderr before a summary (a report
 * callback is given every one). */
#define LOST_LISTED 8

static struct weft_task *task_of_future(weft_future *f)
{
	return (struct weft_task *)((char *)f - sizeof(struct weft_task));
}

static void report_task(struct weft_task *t, weft_report_kind kind, const char *msg)
{
	struct task_annex *a = task_annex(t);
	int worker = weft__ctx.worker_id != 0 ? (int)weft__ctx.worker_id - 1 : -1;

	weft__report(&t->sched->obs, kind, a->id, a->name, worker, 0, msg);
}

static weft_poll trap_poll(weft_future *f, weft_cx *cx)
{
	(void)cx;
	report_task(task_of_future(f), WEFT_REPORT_POLL_AFTER_READY,
		    "the future of a finished task was polled again");
	return WEFT_READY;
}

static void trap_drop(weft_future *f)
{
	report_task(task_of_future(f), WEFT_REPORT_DROP_AFTER_END,
		    "the future of a finished task was dropped again");
}

void weft__obs_trap_future(struct weft_task *t)
{
	weft_future *f = task_future(t);

	f->poll = trap_poll;
	f->drop = trap_drop;
}

void weft__obs_check_lost_wakeup(struct weft_task *t)
{
	/* Relaxed: the claim's acquire already ordered us after the last
	 * poll; a concurrent wake or release only makes us report less. */
	uint64_t cur = atomic_load_explicit(&t->state, memory_order_relaxed);
	uint64_t refs = cur >> TASK_REF_SHIFT;
	/* The owned list's, the claimer's, and the handle's. */
	uint64_t known = 2 + ((cur & TASK_JOIN_INTEREST) ? 1 : 0);

	if (!task_annex(t)->suspect || (cur & TASK_NOTIFIED) || refs > known)
		return;
	/* Shutdown runs on one thread: a plain count. */
	if (++t->sched->obs.lost_wakeups > LOST_LISTED && t->sched->obs.report == NULL)
		return;
	report_task(t, WEFT_REPORT_LOST_WAKEUP,
		    "returned pending without keeping a waker; nothing could wake it");
}

void weft__obs_shutdown_summary(struct weft__sched *s)
{
	struct weft__observer *o = &s->obs;
	char msg[128];

	if (o->lost_wakeups <= LOST_LISTED || o->report != NULL)
		return;
	snprintf(msg, sizeof(msg),
		 "%llu tasks in all returned pending without keeping a waker (%d listed)",
		 (unsigned long long)o->lost_wakeups, LOST_LISTED);
	weft__report(o, WEFT_REPORT_LOST_WAKEUP, 0, NULL, -1, 0, msg);
}

#if WEFT_DEBUG_CHECKS
void weft__obs_join_enter(struct weft_task *t)
{
	/* Relaxed: a detector only; the handle's own accesses are ordered by
	 * the state word. */
	if (atomic_exchange_explicit(&task_annex(t)->join_busy, 1, memory_order_relaxed) != 0)
		report_task(t, WEFT_REPORT_JOIN_SHARED,
			    "a join handle is used by two threads at once");
}

void weft__obs_join_exit(struct weft_task *t)
{
	atomic_store_explicit(&task_annex(t)->join_busy, 0, memory_order_relaxed);
}
#endif

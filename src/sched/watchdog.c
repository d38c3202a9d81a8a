/*
 * src/sched/watchdog.c - the stall watchdog: a thread that reports task
 * polls holding a worker for longer than a threshold.
 *
 * It exists only while weft_runtime_config.stall_threshold_ns (or
 * WEFT_STALL_MS) is set; otherwise no thread is started and an idle
 * runtime stays without wake-ups.  While it exists it wakes every
 * threshold / 2 (a timed wait on its own condition variable), also when
 * the runtime is idle, and scans every worker's poll slot (observe.h):
 *
 *  - a slot whose sequence is even holds no poll: forget it;
 *  - an odd sequence seen for the first time: remember it and the scan's
 *    time;
 *  - the same odd sequence again, at least a threshold after it was
 *    first seen, not yet reported: report the poll (id, name, worker, and
 *    the time since it was first seen, which is a lower bound), once.
 *
 * The worker is never stopped, signalled or waited for; it pays two
 * relaxed stores, a release store and a release fence per poll.  A poll is
 * reported between one threshold and one and a half thresholds after it
 * began.  Shutdown sets `stop` under the lock, signals, and joins.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "park.h"
#include "../common/platform.h"
#include "task.h"

/* What the watchdog remembers of one worker's slot. */
struct seen {
	uint64_t seq;
	uint64_t since_ns;
	bool reported;
};

struct weft__watchdog {
	const struct weft__observer *obs;
	weft_allocator alloc;
	struct weft__poll_slot **slots;
	struct seen *seen;
	unsigned n;
	uint64_t threshold_ns;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop; /* under the lock */
	pthread_t thread;
};

static void scan_slot(struct weft__watchdog *wd, unsigned i, uint64_t now)
{
	struct weft__poll_slot *s = wd->slots[i];
	struct seen *seen = &wd->seen[i];
	/* Acquire: pairs with the release store of an odd sequence in
	 * weft__poll_slot_enter, so id and name are the poll's. */
	uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
	uint64_t id = atomic_load_explicit(&s->task_id, memory_order_relaxed);
	const char *name = atomic_load_explicit(&s->name, memory_order_relaxed);
	char msg[96];

	/* Acquire fence: an id of a later poll implies that we see the
	 * sequence moved (pairs with the release fence in enter). */
	atomic_thread_fence(memory_order_acquire);
	if ((seq & 1) == 0 || atomic_load_explicit(&s->seq, memory_order_relaxed) != seq) {
		seen->seq = 0;
		return;
	}
	if (seen->seq != seq) {
		seen->seq = seq;
		seen->since_ns = now;
		seen->reported = false;
		return;
	}
	if (seen->reported || now - seen->since_ns < wd->threshold_ns)
		return;
	seen->reported = true;
	snprintf(msg, sizeof(msg), "a poll has held its worker for over %llu ms",
		 (unsigned long long)((now - seen->since_ns) / 1000000));
	weft__report(wd->obs, WEFT_REPORT_STALL, id, name, (int)i, now - seen->since_ns, msg);
}

/* The condition variable's deadline for monotonic `ns` (platform.h). */
static struct timespec abs_time(uint64_t ns)
{
	return weft__cond_deadline(ns);
}

static void *watchdog_main(void *arg)
{
	struct weft__watchdog *wd = arg;
	uint64_t period = wd->threshold_ns / 2;
	uint64_t next = weft__now_ns() + period;

	weft__thread_set_name("weft-watchdog");
	pthread_mutex_lock(&wd->lock);
	while (!wd->stop) {
		struct timespec ts = abs_time(next);
		uint64_t now;
		unsigned i;

		if (pthread_cond_timedwait(&wd->cond, &wd->lock, &ts) != ETIMEDOUT)
			continue; /* signalled (stop) or spurious */
		pthread_mutex_unlock(&wd->lock);
		now = weft__now_ns();
		for (i = 0; i < wd->n; i++)
			scan_slot(wd, i, now);
		next = now + period;
		pthread_mutex_lock(&wd->lock);
	}
	pthread_mutex_unlock(&wd->lock);
	return NULL;
}

static int cond_init_monotonic(pthread_cond_t *c)
{
	return weft__cond_init_mono(c);
}

static void watchdog_free(struct weft__watchdog *wd)
{
	weft_allocator a = wd->alloc;

	weft__free(&a, wd->seen, wd->n * sizeof(*wd->seen), _Alignof(struct seen));
	weft__free(&a, wd->slots, wd->n * sizeof(*wd->slots), _Alignof(struct weft__poll_slot *));
	weft__free(&a, wd, sizeof(*wd), _Alignof(struct weft__watchdog));
}

int weft__watchdog_start(const struct weft__observer *o, const weft_allocator *alloc,
			 struct weft__poll_slot *(*slot_at)(void *ctx, unsigned i), void *ctx,
			 unsigned n, uint64_t threshold_ns, struct weft__watchdog **out)
{
	struct weft__watchdog *wd;
	unsigned i;
	int err = ENOMEM;

	wd = weft__alloc(alloc, sizeof(*wd), _Alignof(struct weft__watchdog));
	if (wd == NULL)
		return -ENOMEM;
	memset(wd, 0, sizeof(*wd));
	wd->obs = o;
	wd->alloc = *alloc;
	wd->n = n;
	wd->threshold_ns = threshold_ns;
	wd->slots = weft__alloc(alloc, n * sizeof(*wd->slots), _Alignof(struct weft__poll_slot *));
	wd->seen = weft__alloc(alloc, n * sizeof(*wd->seen), _Alignof(struct seen));
	if (wd->slots == NULL || wd->seen == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		wd->slots[i] = slot_at(ctx, i);
		wd->seen[i].seq = 0;
		wd->seen[i].reported = false;
	}
	err = pthread_mutex_init(&wd->lock, NULL);
	if (err != 0)
		goto fail;
	err = cond_init_monotonic(&wd->cond);
	if (err != 0)
		goto fail_lock;
	err = pthread_create(&wd->thread, NULL, watchdog_main, wd);
	if (err != 0)
		goto fail_cond;
	*out = wd;
	return 0;

fail_cond:
	pthread_cond_destroy(&wd->cond);
fail_lock:
	pthread_mutex_destroy(&wd->lock);
fail:
	watchdog_free(wd);
	return -err;
}

void weft__watchdog_stop(struct weft__watchdog *wd)
{
	if (wd == NULL)
		return;
	pthread_mutex_lock(&wd->lock);
	wd->stop = true;
	pthread_cond_signal(&wd->cond);
	pthread_mutex_unlock(&wd->lock);
	pthread_join(wd->thread, NULL);
	pthread_cond_destroy(&wd->cond);
	pthread_mutex_destroy(&wd->lock);
	watchdog_free(wd);
}

/*
 * Load: 10^6 live tasks, each waiting for something, then all woken and
 * joined.
 *
 * On a 2-worker runtime (the backend WEFT_DRIVER names) on the counting
 * allocator, NTASKS tasks are spawned from the main thread: the even ones
 * wait on one weft_notify, the odd ones for a permit of a semaphore that
 * starts with none.  Once every task has been polled and is waiting (a
 * counter each bumps at its first pending poll), the main thread checks
 * that the runtime really holds them all live (its allocator's live bytes,
 * printed per task), wakes the notify waiters at once and releases the
 * permits, and joins every task: each woke exactly once with result 0,
 * each future was dropped exactly once, and destroying the runtime gives
 * every byte back.  10^6 tasks in the plain build; 10^5 under a sanitizer
 * (memory); WEFT_LOAD_TASKS overrides.
 */
#include "test.h"

#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LOAD_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define LOAD_SANITIZED 1
#endif
#endif

#ifdef LOAD_SANITIZED
#define DEFAULT_TASKS 100000L
#else
#define DEFAULT_TASKS 1000000L
#endif

static weft_notify notify;
static weft_semaphore sem;
static _Atomic long waiting, woke, drops;

struct waiter {
	weft_future base;
	long id;
	bool started, counted;
	weft_notify_future nf;
	weft_semaphore_acquire_future acq;
};

static weft_poll waiter_poll(weft_future *f, weft_cx *cx)
{
	struct waiter *w = (struct waiter *)f;
	weft_future *child = w->id % 2 == 0 ? &w->nf.base : &w->acq.base;

	if (!w->started) {
		if (w->id % 2 == 0)
			CHECK_EQ(weft_notify_notified(&notify, &w->nf), 0);
		else
			CHECK_EQ(weft_semaphore_acquire(&sem, 1, &w->acq), 0);
		w->started = true;
	}
	if (weft_future_poll(child, cx) == WEFT_PENDING) {
		if (!w->counted) {
			w->counted = true;
			atomic_fetch_add(&waiting, 1);
		}
		return WEFT_PENDING;
	}
	CHECK_EQ(w->id % 2 == 0 ? w->nf.result : w->acq.result, 0);
	weft_future_drop(child);
	w->started = false;
	atomic_fetch_add(&woke, 1);
	return WEFT_READY;
}

static void waiter_drop(weft_future *f)
{
	struct waiter *w = (struct waiter *)f;

	CHECK(!w->started); /* every task ran to its end */
	atomic_fetch_add(&drops, 1);
}

static long rss_kb(void)
{
	long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	CHECK(f != NULL);
	CHECK_EQ(fscanf(f, "%ld %ld", &size, &res), 2);
	fclose(f);
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

int main(void)
{
	const char *env = getenv("WEFT_LOAD_TASKS");
	long n = env != NULL ? atol(env) : DEFAULT_TASKS, i, live, rss0, rss_live;
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime *rt;
	weft_join_handle *h;

	if (n < 2)
		n = DEFAULT_TASKS;
	h = calloc((size_t)n, sizeof(*h));
	CHECK(h != NULL);
	rss0 = rss_kb();
	rt = test_runtime(2, &alloc);
	CHECK_EQ(weft_notify_init(&notify), 0);
	CHECK_EQ(weft_semaphore_init(&sem, 0), 0);
	for (i = 0; i < n; i++) {
		struct waiter w;

		memset(&w, 0, sizeof w);
		w.base.poll = waiter_poll;
		w.base.drop = waiter_drop;
		w.id = i;
		CHECK_EQ(weft_spawn(rt, &w.base, sizeof w, &h[i]), 0);
	}
	/* Wait for the condition (every task polled and waiting), not for a
	 * time; give up after about 10 minutes. */
	for (i = 0; i < 600000 && atomic_load(&waiting) < n; i++)
		test_sleep_ms(1);
	CHECK_EQ(atomic_load(&waiting), n);
	CHECK_EQ(atomic_load(&woke), 0);
	live = (long)atomic_load(&ta.live_bytes);
	rss_live = rss_kb();
	CHECK(live >= n * (long)sizeof(struct waiter));
	CHECK_EQ(weft_notify_waiters(&notify), 0);
	CHECK_EQ(weft_semaphore_release(&sem, (size_t)(n / 2)), 0);
	for (i = 0; i < n; i++) {
		CHECK_EQ(weft_join(&h[i]), 0);
		weft_join_detach(&h[i]);
	}
	CHECK_EQ(atomic_load(&woke), n);
	CHECK_EQ(atomic_load(&drops), n);
	CHECK_EQ(weft_semaphore_available(&sem), 0);
	printf("%s: %ld tasks live at once (%ld bytes of runtime memory, %ld per task; RSS %ld -> "
	       "%ld KB), all woken and joined\n",
	       weft_runtime_driver(rt), n, live, live / n, rss0, rss_live);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	weft_notify_finish(&notify);
	weft_semaphore_finish(&sem);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
	free(h);
	return 0;
}

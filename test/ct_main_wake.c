/*
 * A wake of a current-thread runtime's main future happens-before the poll
 * it causes, also when block_on sees the wake without parking (a busy
 * runtime never parks).  A thread writes a plain value and then wakes the
 * future; the poll that wake causes reads the value.  ThreadSanitizer
 * reports the read as a race when the wake does not publish the write (it
 * was a relaxed store before issue 9.4); every build checks the value.
 */
#include "test.h"

static _Atomic bool stop;

/* Yields until `stop`, so that the runtime always has a task to run and
 * block_on never parks. */
struct spinner {
	weft_future base;
	long polls;
};

static weft_poll spinner_poll(weft_future *f, weft_cx *cx)
{
	struct spinner *s = (struct spinner *)f;

	s->polls++;
	if (atomic_load_explicit(&stop, memory_order_relaxed))
		return WEFT_READY;
	weft_waker_wake_by_ref(weft_cx_waker(cx));
	return WEFT_PENDING;
}

struct waking_thread {
	pthread_t thread;
	weft_waker waker;
	int payload; /* plain: published by the wake alone */
};

static void *waking_main(void *arg)
{
	struct waking_thread *w = arg;

	w->payload = 42;
	weft_waker_wake(&w->waker);
	return NULL;
}

struct main_future {
	weft_future base;
	struct waking_thread *w;
	int polls;
	int seen;
};

static weft_poll main_poll(weft_future *f, weft_cx *cx)
{
	struct main_future *m = (struct main_future *)f;
	struct spinner sp = { { spinner_poll, NULL }, 0 };

	if (m->polls++ == 0) {
		CHECK_EQ(weft_spawn(weft_runtime_current(), &sp.base, sizeof sp, NULL), 0);
		m->w->waker = weft_waker_clone(weft_cx_waker(cx));
		CHECK_EQ(pthread_create(&m->w->thread, NULL, waking_main, m->w), 0);
		return WEFT_PENDING;
	}
	/* Only the thread's wake polls us again. */
	m->seen = m->w->payload;
	atomic_store(&stop, true);
	return WEFT_READY;
}

int main(void)
{
	long round, rounds = 20 * test_scale();

	for (round = 0; round < rounds; round++) {
		weft_runtime *rt = test_runtime(0, NULL);
		struct waking_thread w = { .payload = 0 };
		struct main_future m = { { main_poll, NULL }, &w, 0, 0 };

		atomic_store(&stop, false);
		CHECK_EQ(weft_block_on(rt, &m.base), 0);
		CHECK_EQ(m.polls, 2);
		CHECK_EQ(m.seen, 42);
		pthread_join(w.thread, NULL);
		CHECK_EQ(weft_runtime_destroy(rt), 0);
	}
	return 0;
}

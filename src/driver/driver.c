/*
 * src/driver/driver.c - choosing a backend and the thin layer over its ops
 * table that the schedulers call.
 *
 * The choice (docs/driver.md):
 *  - weft_runtime_config.driver forces a backend; a forced backend that
 *    cannot start fails runtime creation with its error (-ENOTSUP when it
 *    was not built, else the kernel's errno).
 *  - On Windows the one backend is the completion port (iocp.c): AUTO and
 *    WEFT_DRIVER=iocp choose it.
 *  - With WEFT_DRIVER_AUTO, the environment
 *    WEFT_DRIVER=uring|io_uring|epoll|kqueue|iocp forces one the same way (the config wins over the environment: a
 *    program that asks for a backend in code gets it).
 *  - Otherwise io_uring is tried and any refusal by the kernel (ENOSYS,
 *    EPERM from io_uring_disabled or a seccomp profile, ENOMEM or a
 *    memlock limit, a missing opcode) falls back to epoll silently.  Where
 *    neither was built (the BSDs and macOS: epoll is built on Linux only),
 *    kqueue is the choice.  An
 *    allocation failure of weft's own allocator is not a refusal: it fails
 *    creation with -ENOMEM.
 */
#include "driver.h"
#include "weft_config.h"
#include "../common/platform.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

_Atomic int weft__driver_refuse_uring;
_Atomic(weft__thread_create_fn) weft__worker_thread_create_hook;

int weft__worker_thread_create(pthread_t *thread, void *(*start)(void *), void *arg)
{
	/* Relaxed: tests set the hook before creating the runtime. */
	weft__thread_create_fn fn =
		atomic_load_explicit(&weft__worker_thread_create_hook, memory_order_relaxed);

	if (fn != NULL)
		return fn(thread, NULL, start, arg);
	return pthread_create(thread, NULL, start, arg);
}

static const struct weft__driver_ops *ops_for(weft_driver_kind kind)
{
	switch (kind) {
	case WEFT_DRIVER_EPOLL:
#if WEFT_HAVE_EPOLL
		return &weft__epoll_ops;
#else
		return NULL;
#endif
	case WEFT_DRIVER_IOCP:
#ifdef WEFT_HAVE_IOCP
		return &weft__iocp_ops;
#else
		return NULL;
#endif
	case WEFT_DRIVER_URING:
#ifdef WEFT_HAVE_URING
		return &weft__uring_ops;
#else
		return NULL;
#endif
	case WEFT_DRIVER_KQUEUE:
#ifdef WEFT_HAVE_KQUEUE
		return &weft__kqueue_ops;
#else
		return NULL;
#endif
	default:
		return NULL;
	}
}

/* WEFT_DRIVER from the environment; -EINVAL for an unknown value. */
static int kind_from_env(weft_driver_kind *kind)
{
	const char *s = getenv("WEFT_DRIVER");

	if (s == NULL || *s == '\0' || strcmp(s, "auto") == 0)
		return 0;
	if (strcmp(s, "uring") == 0 || strcmp(s, "io_uring") == 0)
		*kind = WEFT_DRIVER_URING;
	else if (strcmp(s, "epoll") == 0)
		*kind = WEFT_DRIVER_EPOLL;
	else if (strcmp(s, "kqueue") == 0)
		*kind = WEFT_DRIVER_KQUEUE;
	else if (strcmp(s, "iocp") == 0)
		*kind = WEFT_DRIVER_IOCP;
	else
		return -EINVAL;
	return 0;
}

static int start(struct weft__driver *d, weft_driver_kind kind)
{
	const struct weft__driver_ops *ops = ops_for(kind);

	if (ops == NULL)
		return -ENOTSUP;
	d->ops = ops;
	d->kind = kind;
	return ops->init(d);
}

int weft__driver_create(struct weft_runtime *rt, weft_driver_kind kind,
			unsigned nthreads, bool shared_owner,
			const weft_allocator *alloc, struct weft__driver **out)
{
	struct weft__driver *d;
	int err;

	if (kind == WEFT_DRIVER_AUTO) {
		err = kind_from_env(&kind);
		if (err < 0)
			return err;
	}
	if (kind != WEFT_DRIVER_AUTO && kind != WEFT_DRIVER_URING &&
	    kind != WEFT_DRIVER_EPOLL && kind != WEFT_DRIVER_KQUEUE &&
	    kind != WEFT_DRIVER_IOCP)
		return -EINVAL;
	d = weft__alloc(alloc, sizeof(*d), _Alignof(struct weft__driver));
	if (d == NULL)
		return -ENOMEM;
	memset(d, 0, sizeof(*d));
	d->rt = rt;
	d->alloc = alloc;
	d->nthreads = nthreads;
	d->shared_owner = shared_owner;
	if (kind == WEFT_DRIVER_AUTO) {
		err = -ENOTSUP;
#ifdef WEFT_HAVE_URING
		err = start(d, WEFT_DRIVER_URING);
#endif
		/* A refusal by the kernel falls back; our own allocator's
		 * failure does not. */
#if WEFT_HAVE_EPOLL
		if (err < 0 && (err == -ENOTSUP || d->refused)) {
			err = start(d, WEFT_DRIVER_EPOLL);
			d->fell_back = err == 0;
		}
#endif
#ifdef WEFT_HAVE_KQUEUE
		/* The BSDs and macOS: no io_uring, no epoll. */
		if (err == -ENOTSUP)
			err = start(d, WEFT_DRIVER_KQUEUE);
#endif
#ifdef WEFT_HAVE_IOCP
		err = start(d, WEFT_DRIVER_IOCP);
#endif
	} else {
		err = start(d, kind);
	}
	if (err < 0) {
		weft__free(alloc, d, sizeof(*d), _Alignof(struct weft__driver));
		return err;
	}
	*out = d;
	return 0;
}

void weft__driver_destroy(struct weft__driver *d)
{
	if (d == NULL)
		return;
	d->ops->finish(d);
	weft__free(d->alloc, d, sizeof(*d), _Alignof(struct weft__driver));
}

const char *weft__driver_name(const struct weft__driver *d)
{
	return d->ops->name;
}

/*
 * The timer slack of a driver thread's timed waits, in ns.  Linux lets a
 * timed wait (futex, epoll_pwait2, io_uring's wait) end up to the thread's
 * slack after its timeout so that wake-ups can be batched; the default is
 * 50 us, which would be most of a timer's lateness.  A worker thread is the
 * runtime's own, so it asks for 1 us (docs/time.md: lateness).
 */
#define WORKER_TIMER_SLACK_NS 1000

int weft__drv_thread_init(struct weft__drv_thread *dt)
{
	/* Best effort: a kernel that refuses keeps the default slack. */
	if (!dt->driver->shared_owner)
		weft__thread_timer_slack(WORKER_TIMER_SLACK_NS);
	return dt->driver->ops->thread_init(dt);
}

void weft__drv_thread_finish(struct weft__drv_thread *dt)
{
	dt->driver->ops->thread_finish(dt);
}

void weft__drv_sleep_begin(struct weft__drv_thread *dt)
{
	/* SeqCst: a kicker publishes its request (or new deadline) and then
	 * reads this mark; we set it and then read theirs. */
	atomic_store_explicit(&dt->sleeping, true, memory_order_seq_cst);
	/* SeqCst: orders the mark before our (possibly relaxed) reads of the
	 * request count and the timer deadline; pairs with the fence in
	 * weft__drv_kick. */
	atomic_thread_fence(memory_order_seq_cst);
}

void weft__drv_sleep_cancel(struct weft__drv_thread *dt)
{
	atomic_store_explicit(&dt->sleeping, false, memory_order_relaxed);
}

void weft__drv_wait(struct weft__drv_thread *dt, uint64_t deadline_ns)
{
	atomic_fetch_add_explicit(&weft__driver_counters.waits, 1, memory_order_relaxed);
	dt->driver->ops->wait(dt, deadline_ns);
	atomic_store_explicit(&dt->sleeping, false, memory_order_relaxed);
}

void weft__drv_wake(struct weft__drv_thread *dt)
{
	atomic_fetch_add_explicit(&weft__driver_counters.wakes, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&dt->wakes, 1, memory_order_relaxed);
	dt->driver->ops->wake(dt);
}

void weft__drv_kick(struct weft__drv_thread *dt)
{
	/* SeqCst: orders the caller's publication before reading the mark;
	 * pairs with the SeqCst store in weft__drv_sleep_begin. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&dt->sleeping, memory_order_seq_cst))
		weft__drv_wake(dt);
}

unsigned weft__drv_reap(struct weft__drv_thread *dt)
{
	unsigned n = dt->driver->ops->reap(dt);

	if (n != 0)
		atomic_fetch_add_explicit(&dt->completions, n, memory_order_relaxed);
	return n;
}

void weft__drv_drain(struct weft__drv_thread *dt)
{
	if (dt->driver->ops->drain != NULL)
		dt->driver->ops->drain(dt);
}

int weft__drv_poll_fd(struct weft__drv_thread *dt)
{
	return dt->driver->ops->poll_fd(dt);
}

bool weft__drv_poll_prepare(struct weft__drv_thread *dt, bool drain)
{
	return dt->driver->ops->poll_prepare(dt, drain);
}

/*
 * src/driver/epoll.c - the readiness backend on Linux: the epoll system
 * calls under the readiness layer (ready.h), which holds the slab, the
 * per-fd table of waiters, the generations and the dispatch.
 *
 * One epoll instance per runtime and one eventfd in it for wakes.  Every
 * operation here is a readiness wait (WEFT__OP_POLL); reads and writes are
 * a readiness wait followed by the syscall in the future's own poll
 * (src/driver/io.c, src/net).  The layer arms an fd one of two ways
 * (kernel_arm; EPOLL_CTL_MOD, or EPOLL_CTL_ADD for a fresh registration,
 * whose user data carries the fd and the entry's generation; a MOD that
 * answers ENOENT means the fd number now names another file):
 *  - one shot: EPOLLONESHOT and the union of the waiters' interests,
 *    re-armed for every wait (weft/io.h's futures on any fd);
 *  - edge: EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, once, until
 *    weft__io_fd_close (the sockets of src/net), with the readiness kept
 *    by the layer.  epoll refuses a regular
 * file with EPERM, which the layer reads as always ready.
 *
 * Any thread may register or cancel (epoll_ctl is thread-safe) and any
 * thread may collect events (epoll_wait from several threads is allowed):
 * a busy worker does it with a zero timeout on its reap cadence, the parked
 * worker holding the timer duty (multi_thread.c) with the timer deadline.
 *
 * Spinning before sleep (weft_runtime_config.io_spin_ns; uring.c has the
 * reasons): the worker that waits in the instance, while some fd waits for
 * readiness, first polls it with a zero timeout for up to the spin time
 * (the timer deadline cuts it short).  Each look is a system call here,
 * where io_uring's is a load; what it saves is the same: an event that
 * comes meanwhile is taken without a sleeping thread for its sender to
 * wake.  The current-thread runtime's instance never spins.
 * Embedding (weft/embed.h): a host event loop polls the epoll instance
 * itself, which is readable while an event is ready in it, the wake
 * eventfd (level-triggered) included.  poll_prepare with `drain` reads the
 * eventfd, so that a wake already seen stops making the instance readable.
 */
#define _GNU_SOURCE
#include "driver.h"
#include "ready.h"
#include "../common/platform.h"
#include "../sched/park.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define EVENTS 64
#define WAKE_TAG UINT64_MAX

struct ep_thread {
	struct weft__drv_thread base;
	struct epoll_event ev[EVENTS];
	int nready;
};

struct ep {
	int epfd, efd;
	/* The slab, the per-fd table and the dispatch (ready.h). */
	struct weft__ready ready;
	struct ep_thread *threads;
};

static struct ep *ep_of(struct weft__drv_thread *dt)
{
	return dt->driver->backend;
}

static void ep_free(struct weft__driver *d, struct ep *e)
{
	const weft_allocator *a = d->alloc;

	if (e->threads != NULL) {
		weft__free(a, d->threads, d->nthreads * sizeof(*d->threads),
			   _Alignof(void *));
		weft__free(a, e->threads, d->nthreads * sizeof(*e->threads),
			   _Alignof(struct ep_thread));
	}
	if (e->efd >= 0)
		close(e->efd);
	if (e->epfd >= 0)
		close(e->epfd);
	weft__free(a, e, sizeof(*e), _Alignof(struct ep));
	d->backend = NULL;
	d->ready = NULL;
	d->threads = NULL;
}

static int ep_make_threads(struct weft__driver *d, struct ep *e)
{
	unsigned i;

	e->threads = weft__alloc(d->alloc, d->nthreads * sizeof(*e->threads),
				 _Alignof(struct ep_thread));
	if (e->threads == NULL)
		return -ENOMEM;
	d->threads = weft__alloc(d->alloc, d->nthreads * sizeof(*d->threads),
				 _Alignof(void *));
	if (d->threads == NULL) {
		weft__free(d->alloc, e->threads, d->nthreads * sizeof(*e->threads),
			   _Alignof(struct ep_thread));
		e->threads = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < d->nthreads; i++) {
		struct ep_thread *t = &e->threads[i];

		memset(t, 0, sizeof(*t));
		t->base.driver = d;
		t->base.slab = &e->ready.slab;
		t->base.index = i;
		atomic_init(&t->base.sleeping, false);
		d->threads[i] = &t->base;
	}
	return 0;
}

/* The layer's arm (ready.h): a one-shot registration for `events`, or an
 * edge-triggered one for everything. */
static int kernel_arm(void *ctx, int fd, uint64_t tag, uint32_t events, bool modify, bool edge)
{
	struct ep *e = ctx;
	struct epoll_event ev;

	if (edge)
		ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	else
		ev.events = events | EPOLLONESHOT;
	ev.data.u64 = tag;
	if (epoll_ctl(e->epfd, modify ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) == 0)
		return 0;
	return -errno;
}

/* The layer's forget (ready.h). */
static void kernel_forget(void *ctx, int fd)
{
	struct ep *e = ctx;

	(void)epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static int ep_init(struct weft__driver *d)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WAKE_TAG };
	struct ep *e = weft__alloc(d->alloc, sizeof(*e), _Alignof(struct ep));
	struct weft__ready_kernel k = { kernel_arm, kernel_forget, e };
	int err;

	if (e == NULL)
		return -ENOMEM;
	memset(e, 0, sizeof(*e));

	e->epfd = e->efd = -1;
	d->backend = e;
	err = weft__ready_init(&e->ready, d->alloc, &k);
	d->ready = &e->ready;
	if (err < 0) {
		weft__free(d->alloc, e, sizeof(*e), _Alignof(struct ep));
		d->backend = NULL;
		d->ready = NULL;
		return err;
	}
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	e->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	err = -errno;
	if (e->epfd < 0 || e->efd < 0)
		goto fail;
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->efd, &ev) < 0) {
		err = -errno;
		goto fail;
	}
	err = ep_make_threads(d, e);
	if (err < 0)
		goto fail;
	return 0;
fail:
	weft__ready_finish(&e->ready);
	ep_free(d, e);
	return err;
}

static void ep_finish(struct weft__driver *d)
{
	struct ep *e = d->backend;

	weft__ready_finish(&e->ready);
	ep_free(d, e);
}

static int ep_thread_init(struct weft__drv_thread *dt)
{
	(void)dt;
	return 0;
}

static void ep_thread_finish(struct weft__drv_thread *dt)
{
	(void)dt;
}

static int ep_submit(struct weft__drv_thread *dt, struct weft__op *op, uint32_t index)
{
	return weft__ready_submit(&ep_of(dt)->ready, op, index);
}

static void ep_cancel(struct weft__drv_thread *dt, struct weft__op *op, uint32_t index)
{
	weft__ready_cancel(&ep_of(dt)->ready, op, index);
}

/* Whether epoll_pwait2 (Linux 5.11, nanosecond timeouts) works here: 1 yes,
 * 0 no (ENOSYS, or EPERM from a seccomp filter), -1 not tried yet. */
static _Atomic int have_pwait2 = -1;

/*
 * Waits for events until `deadline_ns` (UINT64_MAX: none).  The timeout is
 * relative, counted from a clock reading taken before the call, so the wait
 * never ends before the deadline.  With epoll_pwait2 it is exact to the ns;
 * plain epoll_wait takes milliseconds, so there the timeout is rounded up
 * (a wake up to 1 ms late, never early).
 */
static int wait_events(struct ep *e, struct ep_thread *t, uint64_t deadline_ns)
{
	uint64_t now, rel;
	int n;

	if (deadline_ns == UINT64_MAX)
		return epoll_wait(e->epfd, t->ev, EVENTS, -1);
	now = weft__now_ns();
	rel = deadline_ns > now ? deadline_ns - now : 0;
	/* Relaxed: a cache of what the kernel answered; every thread would
	 * find the same. */
	if (atomic_load_explicit(&have_pwait2, memory_order_relaxed) != 0) {
		struct timespec ts = {
			.tv_sec = (time_t)(rel / 1000000000u),
			.tv_nsec = (long)(rel % 1000000000u),
		};

		n = epoll_pwait2(e->epfd, t->ev, EVENTS, &ts, NULL);
		if (n >= 0 || (errno != ENOSYS && errno != EPERM)) {
			/* Relaxed: as above. */
			atomic_store_explicit(&have_pwait2, 1, memory_order_relaxed);
			return n;
		}
		/* Relaxed: as above. */
		atomic_store_explicit(&have_pwait2, 0, memory_order_relaxed);
	}
	rel = (rel + 999999u) / 1000000u;
	return epoll_wait(e->epfd, t->ev, EVENTS, rel > 1000000000u ? 1000000000 : (int)rel);
}

/* Spinning before sleep (see the top of the file).  Returns the events
 * collected, 0 when the spin ran out. */
static int spin_for_events(struct ep *e, struct ep_thread *t, uint64_t deadline_ns)
{
	const struct weft__driver *d = t->base.driver;
	uint64_t end;
	int n;

	if (d->spin_ns == 0 || d->shared_owner || !weft__ready_any(&e->ready))
		return 0;
	end = weft__drv_spin_end(d->spin_ns, deadline_ns);
	do {
		n = epoll_wait(e->epfd, t->ev, EVENTS, 0);
		if (n > 0) {
			atomic_fetch_add_explicit(&t->base.spins, 1, memory_order_relaxed);
			return n;
		}
		weft__cpu_relax();
	} while (weft__now_ns() < end);
	return 0;
}

static void ep_wait(struct weft__drv_thread *dt, uint64_t deadline_ns)
{
	struct ep_thread *t = (struct ep_thread *)dt;
	struct ep *e = ep_of(dt);
	int n, i;

	if (t->nready != 0)
		return;
	n = spin_for_events(e, t, deadline_ns);
	if (n == 0)
		n = wait_events(e, t, deadline_ns);
	t->nready = n > 0 ? n : 0;
	for (i = 0; i < t->nready; i++) {
		if (t->ev[i].data.u64 == WAKE_TAG) {
			/* Only the waiter consumes a wake: a busy reaper that
			 * sees the eventfd leaves it readable for the waiter
			 * it was meant for. */
			uint64_t v;
			ssize_t rc = read(e->efd, &v, sizeof(v));

			(void)rc;
		}
	}
}

static void ep_wake(struct weft__drv_thread *dt)
{
	uint64_t one = 1;
	ssize_t rc = write(ep_of(dt)->efd, &one, sizeof(one));

	(void)rc; /* EAGAIN: the counter is saturated, a wake is pending. */
}

static int ep_poll_fd(struct weft__drv_thread *dt)
{
	return ep_of(dt)->epfd;
}

static bool ep_poll_prepare(struct weft__drv_thread *dt, bool drain)
{
	struct ep_thread *t = (struct ep_thread *)dt;

	if (drain) {
		uint64_t v;
		ssize_t rc = read(ep_of(dt)->efd, &v, sizeof(v));

		(void)rc; /* EAGAIN: no wake was pending. */
	}
	/* Events collected by a wait but not yet dispatched. */
	return t->nready != 0;
}

static unsigned ep_reap(struct weft__drv_thread *dt)
{
	struct ep_thread *t = (struct ep_thread *)dt;
	struct ep *e = ep_of(dt);
	unsigned done = 0;
	int i, n;

	if (t->nready == 0) {
		if (!weft__ready_any(&e->ready))
			return 0;
		n = epoll_wait(e->epfd, t->ev, EVENTS, 0);
		t->nready = n > 0 ? n : 0;
	}
	n = t->nready;
	t->nready = 0;
	for (i = 0; i < n; i++) {
		if (t->ev[i].data.u64 == WAKE_TAG)
			continue; /* consumed by ep_wait, or left for the waiter */
		done += weft__ready_event(&e->ready, t->ev[i].data.u64, t->ev[i].events);
	}
	return done;
}

const struct weft__driver_ops weft__epoll_ops = {
	.name = "epoll",
	.any_thread = true,
	.init = ep_init,
	.finish = ep_finish,
	.thread_init = ep_thread_init,
	.thread_finish = ep_thread_finish,
	.submit = ep_submit,
	.cancel = ep_cancel,
	.wait = ep_wait,
	.wake = ep_wake,
	.reap = ep_reap,
	.poll_fd = ep_poll_fd,
	.poll_prepare = ep_poll_prepare,
};

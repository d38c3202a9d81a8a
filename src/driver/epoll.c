/*
 * src/driver/epoll.c - the readiness backend.
 *
 * One epoll instance per runtime, one eventfd in it for wakes, and one
 * slab of operation slots shared by every thread (its lock also guards the
 * per-fd table).  Every operation here is a readiness wait (WEFT__OP_POLL);
 * reads and writes are a readiness wait followed by the syscall in the
 * future's own poll (src/driver/io.c).
 *
 * Per-fd state: the table, indexed by fd, lists the slots waiting on that
 * fd.  The fd is registered with EPOLLONESHOT and the union of the waiters'
 * interests; an event completes every waiter it satisfies and re-arms the
 * fd for the ones left.  The recorded interests are trusted only while a
 * waiter exists (the fd cannot be closed then): an event that empties the
 * list leaves the registration disarmed, and a cancel that empties it
 * deletes the registration, so the next waiter always arms afresh (MOD,
 * or ADD when the fd number now names another file).  The event's data carries the fd and the
 * registration's generation (bumped at each EPOLL_CTL_ADD), so an event of
 * an older registration of the same fd number is dropped.  A file that
 * epoll refuses (EPERM: a regular file) is always ready.
 *
 * Any thread may register or cancel (epoll_ctl is thread-safe) and any
 * thread may collect events (epoll_wait from several threads is allowed):
 * a busy worker does it with a zero timeout on its reap cadence, the parked
 * worker holding the timer duty (multi_thread.c) with the timer deadline.
 *
 * Embedding (weft/embed.h): a host event loop polls the epoll instance
 * itself, which is readable while an event is ready in it, the wake
 * eventfd (level-triggered) included.  poll_prepare with `drain` reads the
 * eventfd, so that a wake already seen stops making the instance readable.
 */
#define _GNU_SOURCE
#include "driver.h"
#include "../sched/park.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define EVENTS 64
#define WAKE_TAG UINT64_MAX

struct fd_entry {
	uint32_t gen;
	uint32_t head;  /* waiting slots, through op->next */
	uint32_t armed; /* interests registered, 0 when disarmed */
	bool added;
};

struct ep_thread {
	struct weft__drv_thread base;
	struct epoll_event ev[EVENTS];
	int nready;
};

struct ep {
	int epfd, efd;
	struct op_slab slab;
	struct fd_entry *fds; /* under slab.lock */
	size_t nfds;
	/* Slots registered; read without the lock by the reap shortcut. */
	_Atomic uint32_t registered;
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
	if (e->fds != NULL)
		weft__free(a, e->fds, e->nfds * sizeof(*e->fds), _Alignof(struct fd_entry));
	if (e->efd >= 0)
		close(e->efd);
	if (e->epfd >= 0)
		close(e->epfd);
	weft__free(a, e, sizeof(*e), _Alignof(struct ep));
	d->backend = NULL;
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
		t->base.slab = &e->slab;
		t->base.index = i;
		atomic_init(&t->base.sleeping, false);
		d->threads[i] = &t->base;
	}
	return 0;
}

static int ep_init(struct weft__driver *d)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WAKE_TAG };
	struct ep *e = weft__alloc(d->alloc, sizeof(*e), _Alignof(struct ep));
	int err;

	if (e == NULL)
		return -ENOMEM;
	memset(e, 0, sizeof(*e));
	e->epfd = e->efd = -1;
	atomic_init(&e->registered, 0);
	d->backend = e;
	err = weft__slab_init(&e->slab, d->alloc);
	if (err < 0) {
		weft__free(d->alloc, e, sizeof(*e), _Alignof(struct ep));
		d->backend = NULL;
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
	weft__slab_finish(&e->slab);
	ep_free(d, e);
	return err;
}

static void ep_finish(struct weft__driver *d)
{
	struct ep *e = d->backend;

	weft__slab_finish(&e->slab);
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

/* Makes fds[fd] exist (lock held).  Returns 0 or -ENOMEM. */
static int fd_table_reserve(struct weft__driver *d, struct ep *e, int fd)
{
	size_t n = e->nfds != 0 ? e->nfds : 64, i;
	struct fd_entry *fds;

	if ((size_t)fd < e->nfds)
		return 0;
	while (n <= (size_t)fd)
		n *= 2;
	fds = weft__alloc(d->alloc, n * sizeof(*fds), _Alignof(struct fd_entry));
	if (fds == NULL)
		return -ENOMEM;
	if (e->nfds != 0) {
		memcpy(fds, e->fds, e->nfds * sizeof(*fds));
		weft__free(d->alloc, e->fds, e->nfds * sizeof(*fds), _Alignof(struct fd_entry));
	}
	for (i = e->nfds; i < n; i++) {
		fds[i].gen = 1;
		fds[i].head = WEFT__OP_NONE;
		fds[i].armed = 0;
		fds[i].added = false;
	}
	e->fds = fds;
	e->nfds = n;
	return 0;
}

static uint32_t waiters_union(struct op_slab *s, struct fd_entry *fe)
{
	uint32_t idx, u = 0;

	for (idx = fe->head; idx != WEFT__OP_NONE; idx = weft__slab_get(s, idx)->next)
		u |= weft__slab_get(s, idx)->events;
	return u;
}

/* Registers fd with `events` (lock held).  Returns 0 or -errno. */
static int fd_arm(struct ep *e, int fd, struct fd_entry *fe, uint32_t events)
{
	struct epoll_event ev;

	ev.events = events | EPOLLONESHOT;
	if (fe->added) {
		ev.data.u64 = ((uint64_t)fe->gen << 32) | (uint32_t)fd;
		if (epoll_ctl(e->epfd, EPOLL_CTL_MOD, fd, &ev) == 0) {
			fe->armed = events;
			return 0;
		}
		if (errno != ENOENT)
			return -errno;
		/* The fd number now names another file: add it afresh. */
	}
	fe->gen++;
	ev.data.u64 = ((uint64_t)fe->gen << 32) | (uint32_t)fd;
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		fe->added = false;
		return -errno;
	}
	fe->added = true;
	fe->armed = events;
	return 0;
}

static int ep_submit(struct weft__drv_thread *dt, struct weft__op *op, uint32_t index)
{
	struct ep *e = ep_of(dt);
	struct fd_entry *fe;
	uint32_t u;
	int err;

	if (op->kind != WEFT__OP_POLL)
		return -ENOTSUP;
	if (op->fd < 0)
		return -EBADF;
	err = fd_table_reserve(dt->driver, e, op->fd);
	if (err < 0)
		return err;
	fe = &e->fds[op->fd];
	u = waiters_union(&e->slab, fe) | op->events;
	if ((u & ~fe->armed) != 0 || fe->armed == 0) {
		err = fd_arm(e, op->fd, fe, u);
		if (err == -EPERM) {
			/* Not pollable (a regular file): always ready. */
			op->state = OP_DONE;
			op->result = (int32_t)op->events;
			return 0;
		}
		if (err < 0)
			return err;
	}
	op->next = fe->head;
	fe->head = index;
	op->state = OP_INFLIGHT;
	e->slab.inflight++;
	atomic_fetch_add_explicit(&e->registered, 1, memory_order_relaxed);
	return 0;
}

/* Unlinks slot `index` from its fd's waiters (lock held). */
static void fd_unlink(struct ep *e, struct weft__op *op, uint32_t index)
{
	struct fd_entry *fe = &e->fds[op->fd];
	uint32_t *link = &fe->head;

	while (*link != WEFT__OP_NONE && *link != index)
		link = &weft__slab_get(&e->slab, *link)->next;
	if (*link == index)
		*link = op->next;
	atomic_fetch_sub_explicit(&e->registered, 1, memory_order_relaxed);
}

static void ep_cancel(struct weft__drv_thread *dt, struct weft__op *op, uint32_t index)
{
	struct ep *e = ep_of(dt);

	struct fd_entry *fe = &e->fds[op->fd];

	/* No kernel operation to wait for: the slot goes at once. */
	fd_unlink(e, op, index);
	if (fe->head == WEFT__OP_NONE && fe->added) {
		/* Nobody waits on this fd any more, and the caller may close
		 * it next: forget the registration (interests are only
		 * trusted while a waiter exists). */
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, op->fd, NULL);
		fe->added = false;
		fe->armed = 0;
	}
	weft__slab_release(&e->slab, index);
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

static void ep_wait(struct weft__drv_thread *dt, uint64_t deadline_ns)
{
	struct ep_thread *t = (struct ep_thread *)dt;
	struct ep *e = ep_of(dt);
	int n, i;

	if (t->nready != 0)
		return;
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

/* Completes the waiters of one event; returns how many completed. */
static unsigned dispatch(struct ep *e, uint64_t data, uint32_t revents)
{
	int fd = (int)(uint32_t)data;
	uint32_t gen = (uint32_t)(data >> 32), *link, left = 0;
	weft_waker wake[16];
	unsigned nw = 0, done = 0, i;
	struct fd_entry *fe;

	pthread_mutex_lock(&e->slab.lock);
	if ((size_t)fd >= e->nfds || e->fds[fd].gen != gen) {
		pthread_mutex_unlock(&e->slab.lock);
		atomic_fetch_add_explicit(&weft__driver_counters.stale, 1, memory_order_relaxed);
		return 0;
	}
	fe = &e->fds[fd];
	fe->armed = 0; /* one-shot: disarmed by this event */
	link = &fe->head;
	while (*link != WEFT__OP_NONE) {
		uint32_t idx = *link;
		struct weft__op *op = weft__slab_get(&e->slab, idx);
		uint32_t hit = revents & (op->events | POLLERR | POLLHUP);

		if (hit == 0 || nw == 16) {
			left |= op->events;
			link = &op->next;
			continue;
		}
		*link = op->next;
		atomic_fetch_sub_explicit(&e->registered, 1, memory_order_relaxed);
		e->slab.inflight--;
		op->state = OP_DONE;
		op->result = (int32_t)hit;
		wake[nw++] = op->waker;
		op->waker.vtable = NULL;
		op->waker.data = NULL;
		done++;
	}
	if (left != 0 && fd_arm(e, fd, fe, left) < 0)
		fe->armed = 0;
	pthread_mutex_unlock(&e->slab.lock);
	for (i = 0; i < nw; i++)
		weft_waker_wake(&wake[i]);
	return done;
}

static unsigned ep_reap(struct weft__drv_thread *dt)
{
	struct ep_thread *t = (struct ep_thread *)dt;
	struct ep *e = ep_of(dt);
	unsigned done = 0;
	int i, n;

	if (t->nready == 0) {
		if (atomic_load_explicit(&e->registered, memory_order_relaxed) == 0)
			return 0;
		n = epoll_wait(e->epfd, t->ev, EVENTS, 0);
		t->nready = n > 0 ? n : 0;
	}
	n = t->nready;
	t->nready = 0;
	for (i = 0; i < n; i++) {
		if (t->ev[i].data.u64 == WAKE_TAG)
			continue; /* consumed by ep_wait, or left for the waiter */
		done += dispatch(e, t->ev[i].data.u64, t->ev[i].events);
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

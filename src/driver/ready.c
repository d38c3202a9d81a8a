/*
 * src/driver/ready.c - the readiness layer shared by epoll.c and kqueue.c
 * (see ready.h for what it holds and docs/driver.md for the long form).
 *
 * The protocol, one fd at a time:
 *  - A wait (submit) links its slot into the fd's waiter list.  When the
 *    union of the waiters' interests is not all armed in the kernel, the
 *    fd is (re-)armed for the union, one shot.
 *  - An event (from whichever thread collected it) is checked against the
 *    entry's generation: a different generation is an older registration
 *    of the same fd number and is dropped.  Otherwise the registration is
 *    spent (one shot): every waiter whose interest the event satisfies
 *    (or any waiter, for an error or hang-up) completes, and the fd is
 *    re-armed for the waiters left.
 *  - The recorded interests are trusted only while a waiter exists (the
 *    fd cannot be closed then): an event that empties the list leaves the
 *    registration disarmed, and a cancel that empties it forgets the
 *    registration, so the next waiter always arms afresh (a modification,
 *    or a new registration with a new generation when the kernel says the
 *    fd number now names another file).
 *  - A file the kernel refuses to poll (EPERM: a regular file) is always
 *    ready: the wait completes at once.
 */
#define _GNU_SOURCE
#include "ready.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

/* Waiters woken per event before the rest wait for the next event. */
#define WAKE_BATCH 16

int weft__ready_init(struct weft__ready *r, const weft_allocator *alloc,
		     const struct weft__ready_kernel *kernel)
{
	memset(r, 0, sizeof(*r));
	atomic_init(&r->registered, 0);
	r->kernel = *kernel;
	r->alloc = alloc;
	return weft__slab_init(&r->slab, alloc);
}

void weft__ready_finish(struct weft__ready *r)
{
	weft__slab_finish(&r->slab);
	if (r->fds != NULL)
		weft__free(r->alloc, r->fds, r->nfds * sizeof(*r->fds),
			   _Alignof(struct weft__ready_fd));
	r->fds = NULL;
	r->nfds = 0;
}

/* Makes fds[fd] exist (lock held).  Returns 0 or -ENOMEM. */
static int table_reserve(struct weft__ready *r, int fd)
{
	size_t n = r->nfds != 0 ? r->nfds : 64, i;
	struct weft__ready_fd *fds;

	if ((size_t)fd < r->nfds)
		return 0;
	while (n <= (size_t)fd)
		n *= 2;
	fds = weft__alloc(r->alloc, n * sizeof(*fds), _Alignof(struct weft__ready_fd));
	if (fds == NULL)
		return -ENOMEM;
	if (r->nfds != 0) {
		memcpy(fds, r->fds, r->nfds * sizeof(*fds));
		weft__free(r->alloc, r->fds, r->nfds * sizeof(*fds),
			   _Alignof(struct weft__ready_fd));
	}
	for (i = r->nfds; i < n; i++) {
		memset(&fds[i], 0, sizeof(fds[i]));
		fds[i].gen = 1;
		fds[i].head = WEFT__OP_NONE;
	}
	r->fds = fds;
	r->nfds = n;
	return 0;
}

static uint32_t waiters_union(struct weft__ready *r, struct weft__ready_fd *fe)
{
	uint32_t idx, u = 0;

	for (idx = fe->head; idx != WEFT__OP_NONE; idx = weft__slab_get(&r->slab, idx)->next)
		u |= weft__slab_get(&r->slab, idx)->events;
	return u;
}

/* Arms fd for `events` (lock held): a modification of a registration the
 * kernel still has, else a fresh one.  Returns 0 or -errno. */
static int fd_arm(struct weft__ready *r, int fd, struct weft__ready_fd *fe, uint32_t events)
{
	const struct weft__ready_kernel *k = &r->kernel;
	int err;

	if (fe->added) {
		err = k->arm(k->ctx, fd, weft__ready_tag(fd, fe->gen), events, true);
		if (err == 0) {
			fe->armed = events;
			return 0;
		}
		if (err != -ENOENT)
			return err;
		/* The fd number now names another file: add it afresh. */
	}
	fe->gen++;
	err = k->arm(k->ctx, fd, weft__ready_tag(fd, fe->gen), events, false);
	if (err < 0) {
		fe->added = false;
		return err;
	}
	fe->added = true;
	fe->armed = events;
	return 0;
}

int weft__ready_submit(struct weft__ready *r, struct weft__op *op, uint32_t index)
{
	struct weft__ready_fd *fe;
	uint32_t u;
	int err;

	if (op->kind != WEFT__OP_POLL)
		return -ENOTSUP;
	if (op->fd < 0)
		return -EBADF;
	err = table_reserve(r, op->fd);
	if (err < 0)
		return err;
	fe = &r->fds[op->fd];
	u = waiters_union(r, fe) | op->events;
	if ((u & ~fe->armed) != 0 || fe->armed == 0) {
		err = fd_arm(r, op->fd, fe, u);
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
	r->slab.inflight++;
	atomic_fetch_add_explicit(&r->registered, 1, memory_order_relaxed);
	return 0;
}

/* Unlinks slot `index` from its fd's waiters (lock held). */
static void fd_unlink(struct weft__ready *r, struct weft__op *op, uint32_t index)
{
	uint32_t *link = &r->fds[op->fd].head;

	while (*link != WEFT__OP_NONE && *link != index)
		link = &weft__slab_get(&r->slab, *link)->next;
	if (*link == index)
		*link = op->next;
	atomic_fetch_sub_explicit(&r->registered, 1, memory_order_relaxed);
}

void weft__ready_cancel(struct weft__ready *r, struct weft__op *op, uint32_t index)
{
	struct weft__ready_fd *fe = &r->fds[op->fd];

	/* No kernel operation to wait for: the slot goes at once. */
	fd_unlink(r, op, index);
	if (fe->head == WEFT__OP_NONE && fe->added) {
		/* Nobody waits on this fd any more, and the caller may close
		 * it next: forget the registration (interests are only
		 * trusted while a waiter exists). */
		r->kernel.forget(r->kernel.ctx, op->fd);
		fe->added = false;
		fe->armed = 0;
	}
	weft__slab_release(&r->slab, index);
}

unsigned weft__ready_event(struct weft__ready *r, uint64_t tag, uint32_t revents)
{
	int fd = (int)(uint32_t)tag;
	uint32_t gen = (uint32_t)(tag >> 32), *link, left = 0;
	weft_waker wake[WAKE_BATCH];
	unsigned nw = 0, done = 0, i;
	struct weft__ready_fd *fe;

	pthread_mutex_lock(&r->slab.lock);
	if ((size_t)fd >= r->nfds || r->fds[fd].gen != gen) {
		pthread_mutex_unlock(&r->slab.lock);
		atomic_fetch_add_explicit(&weft__driver_counters.stale, 1, memory_order_relaxed);
		return 0;
	}
	fe = &r->fds[fd];
	fe->armed = 0; /* one shot: disarmed by this event */
	link = &fe->head;
	while (*link != WEFT__OP_NONE) {
		uint32_t idx = *link;
		struct weft__op *op = weft__slab_get(&r->slab, idx);
		uint32_t hit = revents & (op->events | POLLERR | POLLHUP);

		if (hit == 0 || nw == WAKE_BATCH) {
			left |= op->events;
			link = &op->next;
			continue;
		}
		*link = op->next;
		atomic_fetch_sub_explicit(&r->registered, 1, memory_order_relaxed);
		r->slab.inflight--;
		op->state = OP_DONE;
		op->result = (int32_t)hit;
		wake[nw++] = op->waker;
		op->waker.vtable = NULL;
		op->waker.data = NULL;
		done++;
	}
	if (left != 0 && fd_arm(r, fd, fe, left) < 0)
		fe->armed = 0;
	pthread_mutex_unlock(&r->slab.lock);
	for (i = 0; i < nw; i++)
		weft_waker_wake(&wake[i]);
	return done;
}

/*
 * src/driver/kqueue.c - the readiness backend on the BSDs and macOS: the
 * kqueue system calls under the readiness layer (ready.h), which holds
 * the slab, the per-fd table of waiters, the generations and the
 * dispatch.  The same file as epoll.c in another dialect.
 *
 * One kqueue per runtime.  Readiness: an fd is armed with one knote per
 * interest (EVFILT_READ for POLLIN, EVFILT_WRITE for POLLOUT), whose udata
 * carries the fd and the entry's generation (weft__ready_tag; so a 64-bit
 * udata is required): EV_ADD | EV_ONESHOT for a one-shot entry, re-armed
 * for every wait; EV_ADD | EV_CLEAR on both filters, once, for an edge
 * entry (the sockets of src/net; ready.c).  EV_ADD of an existing knote
 * modifies it and evaluates the filter again, so arming never answers
 * ENOENT: a reused fd number is simply armed afresh (a kqueue drops an
 * fd's knotes when the fd is closed, unlike epoll).
 * Results: EVFILT_READ is POLLIN, plus POLLRDHUP when EV_EOF says the peer
 * shut down; EVFILT_WRITE is POLLOUT, plus POLLHUP with EV_EOF; a socket
 * error (EV_EOF with fflags) adds POLLERR.  EV_ERROR (a change refused)
 * is POLLERR.
 *
 * Wakes: an EVFILT_USER knote (WAKE_IDENT) registered without EV_CLEAR,
 * triggered with NOTE_TRIGGER.  It stays pending until the waiter resets
 * it (EV_DELETE then EV_ADD, in one kevent call), as epoll.c's eventfd
 * stays readable until the waiter reads it: a busy reaper that collects
 * it leaves it for the waiter it was meant for.
 *
 * Timeouts: the wheel's deadline, turned into kevent's relative timespec
 * from a clock reading taken just before the call (never early).
 *
 * Where this runs: on Linux only over the test emulation
 * (src/driver/emu/, -Dkqueue_emulation=true); on a real BSD the same
 * code includes <sys/event.h>.  docs/driver.md says what was run.
 */
#define _GNU_SOURCE
#include "driver.h"
#include "ready.h"
#include "../sched/park.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#ifdef WEFT_KQUEUE_EMU
#include "emu/kqueue_emu.h"
#define kq_close(fd) weft__emu_kqueue_close(fd)
#else
#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>
#define kq_close(fd) close(fd)
#endif

#ifndef POLLRDHUP
/* Linux's bit for "the peer shut down writing"; the layer and io.c read
 * it as a hang-up.  Other systems' poll.h lacks it. */
#define POLLRDHUP 0x2000
#endif

_Static_assert(sizeof(void *) >= sizeof(uint64_t),
	       "kqueue.c carries fd and generation in a knote's udata");

#define EVENTS 64
#define WAKE_IDENT 1

struct kq_thread {
	struct weft__drv_thread base;
	struct kevent ev[EVENTS];
	int nready;
};

struct kq {
	int kqfd;
	/* The slab, the per-fd table and the dispatch (ready.h). */
	struct weft__ready ready;
	struct kq_thread *threads;
};

static struct kq *kq_of(struct weft__drv_thread *dt)
{
	return dt->driver->backend;
}

static void kq_free(struct weft__driver *d, struct kq *k)
{
	const weft_allocator *a = d->alloc;

	if (k->threads != NULL) {
		weft__free(a, d->threads, d->nthreads * sizeof(*d->threads),
			   _Alignof(void *));
		weft__free(a, k->threads, d->nthreads * sizeof(*k->threads),
			   _Alignof(struct kq_thread));
	}
	if (k->kqfd >= 0)
		kq_close(k->kqfd);
	weft__free(a, k, sizeof(*k), _Alignof(struct kq));
	d->backend = NULL;
	d->ready = NULL;
	d->threads = NULL;
}

static int kq_make_threads(struct weft__driver *d, struct kq *k)
{
	unsigned i;

	k->threads = weft__alloc(d->alloc, d->nthreads * sizeof(*k->threads),
				 _Alignof(struct kq_thread));
	if (k->threads == NULL)
		return -ENOMEM;
	d->threads = weft__alloc(d->alloc, d->nthreads * sizeof(*d->threads),
				 _Alignof(void *));
	if (d->threads == NULL) {
		weft__free(d->alloc, k->threads, d->nthreads * sizeof(*k->threads),
			   _Alignof(struct kq_thread));
		k->threads = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < d->nthreads; i++) {
		struct kq_thread *t = &k->threads[i];

		memset(t, 0, sizeof(*t));
		t->base.driver = d;
		t->base.slab = &k->ready.slab;
		t->base.index = i;
		atomic_init(&t->base.sleeping, false);
		d->threads[i] = &t->base;
	}
	return 0;
}

/* Applies `n` changes; 0 or -errno. */
static int kq_change(struct kq *k, const struct kevent *ch, int n)
{
	return kevent(k->kqfd, ch, n, NULL, 0, NULL) < 0 ? -errno : 0;
}

static void kernel_forget(void *ctx, int fd);

/* The layer's arm (ready.h): one-shot knotes for `events`, or EV_CLEAR
 * knotes for both filters. */
static int kernel_arm(void *ctx, int fd, uint64_t tag, uint32_t events, bool modify, bool edge)
{
	unsigned short flags = EV_ADD | (edge ? EV_CLEAR : EV_ONESHOT);
	struct kevent ch[2];
	int n = 0;

	/* EV_ADD of an existing knote updates its udata but keeps the flags
	 * it was made with: going from one shot to edge needs new knotes. */
	if (modify && edge)
		kernel_forget(ctx, fd);
	if (edge)
		events = POLLIN | POLLOUT;
	if (events & POLLIN)
		EV_SET(&ch[n++], (uintptr_t)fd, EVFILT_READ, flags, 0, 0, (void *)(uintptr_t)tag);
	if (events & POLLOUT)
		EV_SET(&ch[n++], (uintptr_t)fd, EVFILT_WRITE, flags, 0, 0, (void *)(uintptr_t)tag);
	return kq_change(ctx, ch, n);
}

/* The layer's forget (ready.h): one call per filter, since a kevent call
 * without room for receipts stops at the first change that fails (ENOENT
 * for a filter that was not armed). */
static void kernel_forget(void *ctx, int fd)
{
	struct kevent ch;

	EV_SET(&ch, (uintptr_t)fd, EVFILT_READ, EV_DELETE, 0, 0, NULL);
	(void)kq_change(ctx, &ch, 1);
	EV_SET(&ch, (uintptr_t)fd, EVFILT_WRITE, EV_DELETE, 0, 0, NULL);
	(void)kq_change(ctx, &ch, 1);
}

static int kq_init(struct weft__driver *d)
{
	struct kq *k = weft__alloc(d->alloc, sizeof(*k), _Alignof(struct kq));
	struct weft__ready_kernel rk = { kernel_arm, kernel_forget, k };
	struct kevent ch;
	int err;

	if (k == NULL)
		return -ENOMEM;
	memset(k, 0, sizeof(*k));
	k->kqfd = -1;
	d->backend = k;
	err = weft__ready_init(&k->ready, d->alloc, &rk);
	d->ready = &k->ready;
	if (err < 0) {
		weft__free(d->alloc, k, sizeof(*k), _Alignof(struct kq));
		d->backend = NULL;
		d->ready = NULL;
		return err;
	}
	k->kqfd = kqueue();
	if (k->kqfd < 0) {
		err = -errno;
		d->refused = true;
		goto fail;
	}
	EV_SET(&ch, WAKE_IDENT, EVFILT_USER, EV_ADD, 0, 0, NULL);
	err = kq_change(k, &ch, 1);
	if (err < 0)
		goto fail;
	err = kq_make_threads(d, k);
	if (err < 0)
		goto fail;
	return 0;
fail:
	weft__ready_finish(&k->ready);
	kq_free(d, k);
	return err;
}

static void kq_finish(struct weft__driver *d)
{
	struct kq *k = d->backend;

	weft__ready_finish(&k->ready);
	kq_free(d, k);
}

static int kq_thread_init(struct weft__drv_thread *dt)
{
	(void)dt;
	return 0;
}

static void kq_thread_finish(struct weft__drv_thread *dt)
{
	(void)dt;
}

static int kq_submit(struct weft__drv_thread *dt, struct weft__op *op, uint32_t index)
{
	return weft__ready_submit(&kq_of(dt)->ready, op, index);
}

static void kq_cancel(struct weft__drv_thread *dt, struct weft__op *op, uint32_t index)
{
	weft__ready_cancel(&kq_of(dt)->ready, op, index);
}

/* Un-triggers the wake knote: a wake already seen no longer makes a wait
 * return.  A wake that lands after this is kept. */
static void wake_reset(struct kq *k)
{
	struct kevent ch[2];

	EV_SET(&ch[0], WAKE_IDENT, EVFILT_USER, EV_DELETE, 0, 0, NULL);
	EV_SET(&ch[1], WAKE_IDENT, EVFILT_USER, EV_ADD, 0, 0, NULL);
	(void)kq_change(k, ch, 2);
}

static bool is_wake(const struct kevent *ev)
{
	return ev->filter == EVFILT_USER && ev->ident == WAKE_IDENT;
}

/* Waits for events until `deadline_ns` (UINT64_MAX: none). */
static int wait_events(struct kq *k, struct kq_thread *t, uint64_t deadline_ns)
{
	struct timespec ts;
	uint64_t now, rel;

	if (deadline_ns == UINT64_MAX)
		return kevent(k->kqfd, NULL, 0, t->ev, EVENTS, NULL);
	now = weft__now_ns();
	rel = deadline_ns > now ? deadline_ns - now : 0;
	ts.tv_sec = (time_t)(rel / 1000000000u);
	ts.tv_nsec = (long)(rel % 1000000000u);
	return kevent(k->kqfd, NULL, 0, t->ev, EVENTS, &ts);
}

static void kq_wait(struct weft__drv_thread *dt, uint64_t deadline_ns)
{
	struct kq_thread *t = (struct kq_thread *)dt;
	struct kq *k = kq_of(dt);
	int n, i;

	if (t->nready != 0)
		return;
	n = wait_events(k, t, deadline_ns);
	t->nready = n > 0 ? n : 0;
	for (i = 0; i < t->nready; i++) {
		/* Only the waiter consumes a wake (see the top). */
		if (is_wake(&t->ev[i])) {
			wake_reset(k);
			break;
		}
	}
}

static void kq_wake(struct weft__drv_thread *dt)
{
	struct kevent ch;

	EV_SET(&ch, WAKE_IDENT, EVFILT_USER, 0, NOTE_TRIGGER, 0, NULL);
	(void)kq_change(kq_of(dt), &ch, 1);
}

static int kq_poll_fd(struct weft__drv_thread *dt)
{
	return kq_of(dt)->kqfd;
}

static bool kq_poll_prepare(struct weft__drv_thread *dt, bool drain)
{
	struct kq_thread *t = (struct kq_thread *)dt;

	if (drain)
		wake_reset(kq_of(dt));
	/* Events collected by a wait but not yet dispatched. */
	return t->nready != 0;
}

/* The layer's view of one event. */
static uint32_t revents_of(const struct kevent *ev)
{
	uint32_t r;

	if (ev->flags & EV_ERROR)
		return POLLERR;
	r = ev->filter == EVFILT_READ ? POLLIN : POLLOUT;
	if (ev->flags & EV_EOF)
		r |= ev->filter == EVFILT_READ ? POLLRDHUP : POLLHUP;
	if ((ev->flags & EV_EOF) && ev->fflags != 0)
		r |= POLLERR;
	return r;
}

static unsigned kq_reap(struct weft__drv_thread *dt)
{
	static const struct timespec zero = { 0, 0 };
	struct kq_thread *t = (struct kq_thread *)dt;
	struct kq *k = kq_of(dt);
	unsigned done = 0;
	int i, n;

	if (t->nready == 0) {
		if (!weft__ready_any(&k->ready))
			return 0;
		n = kevent(k->kqfd, NULL, 0, t->ev, EVENTS, &zero);
		t->nready = n > 0 ? n : 0;
	}
	n = t->nready;
	t->nready = 0;
	for (i = 0; i < n; i++) {
		if (is_wake(&t->ev[i]))
			continue; /* reset by kq_wait, or left for the waiter */
		done += weft__ready_event(&k->ready, (uint64_t)(uintptr_t)t->ev[i].udata,
					  revents_of(&t->ev[i]));
	}
	return done;
}

const struct weft__driver_ops weft__kqueue_ops = {
	.name = "kqueue",
	.any_thread = true,
	.init = kq_init,
	.finish = kq_finish,
	.thread_init = kq_thread_init,
	.thread_finish = kq_thread_finish,
	.submit = kq_submit,
	.cancel = kq_cancel,
	.wait = kq_wait,
	.wake = kq_wake,
	.reap = kq_reap,
	.poll_fd = kq_poll_fd,
	.poll_prepare = kq_poll_prepare,
};

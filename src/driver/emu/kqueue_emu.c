/*
 * src/driver/emu/kqueue_emu.c - a TEST-ONLY kqueue over epoll and
 * eventfd (see kqueue_emu.h).  Built only with -Dkqueue_emulation=true.
 *
 * What it implements, and nothing more:
 *  - EVFILT_READ and EVFILT_WRITE on an fd, with EV_ADD (add, or modify an
 *    existing knote: new flags and udata, readiness evaluated again),
 *    EV_DELETE (ENOENT when absent), EV_ONESHOT (the knote is deleted when
 *    its event is returned) and EV_CLEAR (edge: the knote fires again only
 *    on new readiness).  Both filters of one fd share one epoll
 *    registration whose interest is the union of the live knotes: with
 *    every live knote EV_CLEAR and none EV_ONESHOT it is edge-triggered
 *    (EPOLLET), else it is EPOLLONESHOT and re-armed, after each delivery,
 *    for the knotes that remain (level behaviour for plain knotes).
 *    Output: EV_EOF on the read filter for EPOLLRDHUP / EPOLLHUP, on the
 *    write filter for EPOLLHUP; with EPOLLERR, EV_EOF and EIO in fflags
 *    (a real kqueue gives the socket error itself).  `data` is always 0 (the driver does not read it).
 *  - EVFILT_USER with EV_ADD, EV_DELETE, EV_CLEAR and NOTE_TRIGGER: one
 *    eventfd per knote in the epoll instance; a triggered knote stays
 *    pending until it is retrieved with EV_CLEAR set, or deleted.
 *  - A timeout (relative, to the nanosecond through epoll_pwait2, else
 *    rounded up to the millisecond).
 * EV_ENABLE, EV_DISABLE, EV_DISPATCH, EV_RECEIPT, other filters and
 * fflags are refused with EINVAL.
 *
 * Threads: several may call kevent on one queue at once.  The changes and
 * the translation of events run under the queue's lock; the epoll wait
 * itself does not.  So an event collected just before its knote was
 * changed is translated with the knote as it is now (or dropped when the
 * knote is gone) - a spurious readiness at worst, as on a real kqueue the
 * driver treats readiness as a hint.
 */
#define _GNU_SOURCE
#include "kqueue_emu.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define USER_TAG (UINT64_C(1) << 63)
#define MAX_USER 4
#define MAX_BATCH 64

struct knote {
	bool live;
	unsigned short flags; /* EV_ONESHOT, EV_CLEAR */
	void *udata;
};

struct fd_notes {
	struct knote rd, wr;
	bool in_epoll;
	/* The registration is EPOLLET (else EPOLLONESHOT). */
	bool edge;
};

struct user_note {
	bool live;
	uintptr_t ident;
	unsigned short flags;
	void *udata;
	int efd;
};

struct queue {
	int epfd;
	pthread_mutex_t lock;
	struct fd_notes *fds;
	size_t nfds;
	struct user_note users[MAX_USER];
	struct queue *next;
};

static pthread_mutex_t queues_lock = PTHREAD_MUTEX_INITIALIZER;
static struct queue *queues;

static struct queue *queue_find(int kq)
{
	struct queue *q;

	pthread_mutex_lock(&queues_lock);
	for (q = queues; q != NULL && q->epfd != kq; q = q->next)
		;
	pthread_mutex_unlock(&queues_lock);
	return q;
}

int weft__emu_kqueue(void)
{
	struct queue *q = calloc(1, sizeof(*q));
	int i;

	if (q == NULL) {
		errno = ENOMEM;
		return -1;
	}
	q->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (q->epfd < 0) {
		free(q);
		return -1;
	}
	for (i = 0; i < MAX_USER; i++)
		q->users[i].efd = -1;
	pthread_mutex_init(&q->lock, NULL);
	pthread_mutex_lock(&queues_lock);
	q->next = queues;
	queues = q;
	pthread_mutex_unlock(&queues_lock);
	return q->epfd;
}

int weft__emu_kqueue_close(int kq)
{
	struct queue **link, *q = NULL;
	int i;

	pthread_mutex_lock(&queues_lock);
	for (link = &queues; *link != NULL; link = &(*link)->next) {
		if ((*link)->epfd == kq) {
			q = *link;
			*link = q->next;
			break;
		}
	}
	pthread_mutex_unlock(&queues_lock);
	if (q == NULL) {
		errno = EBADF;
		return -1;
	}
	for (i = 0; i < MAX_USER; i++)
		if (q->users[i].efd >= 0)
			close(q->users[i].efd);
	free(q->fds);
	pthread_mutex_destroy(&q->lock);
	close(q->epfd);
	free(q);
	return 0;
}

/* fds[fd] exists (lock held); 0 or ENOMEM. */
static int fds_reserve(struct queue *q, size_t fd)
{
	size_t n = q->nfds != 0 ? q->nfds : 64;
	struct fd_notes *fds;

	if (fd < q->nfds)
		return 0;
	while (n <= fd)
		n *= 2;
	fds = realloc(q->fds, n * sizeof(*fds));
	if (fds == NULL)
		return ENOMEM;
	memset(fds + q->nfds, 0, (n - q->nfds) * sizeof(*fds));
	q->fds = fds;
	q->nfds = n;
	return 0;
}

/* Brings fd's epoll registration in line with its live knotes (lock
 * held); 0 or an errno. */
static int fd_sync(struct queue *q, int fd)
{
	struct fd_notes *n = &q->fds[fd];
	struct epoll_event ev = { 0 };
	bool edge = true;

	if (n->rd.live) {
		ev.events |= EPOLLIN | EPOLLRDHUP;
		edge = edge && (n->rd.flags & (EV_CLEAR | EV_ONESHOT)) == EV_CLEAR;
	}
	if (n->wr.live) {
		ev.events |= EPOLLOUT;
		edge = edge && (n->wr.flags & (EV_CLEAR | EV_ONESHOT)) == EV_CLEAR;
	}
	if (ev.events == 0) {
		if (n->in_epoll)
			(void)epoll_ctl(q->epfd, EPOLL_CTL_DEL, fd, NULL);
		n->in_epoll = false;
		return 0;
	}
	ev.events |= edge ? EPOLLET : EPOLLONESHOT;
	ev.data.u64 = (uint64_t)fd;
	n->edge = edge;
	if (n->in_epoll && epoll_ctl(q->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		return 0;
	if (n->in_epoll && errno != ENOENT)
		return errno;
	/* Not registered (or the fd now names another file). */
	if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		n->in_epoll = false;
		return errno;
	}
	n->in_epoll = true;
	return 0;
}

/* One EVFILT_READ / EVFILT_WRITE change (lock held); 0 or an errno. */
static int change_fd(struct queue *q, const struct kevent *c)
{
	unsigned short known = EV_ADD | EV_DELETE | EV_ONESHOT | EV_CLEAR;
	struct knote *k, old;
	int fd = (int)c->ident, err;

	if ((c->flags & ~known) != 0 || c->fflags != 0 || fd < 0 || (int)c->ident != fd)
		return EINVAL;
	if (fcntl(fd, F_GETFD) < 0)
		return EBADF;
	err = fds_reserve(q, (size_t)fd);
	if (err != 0)
		return err;
	k = c->filter == EVFILT_READ ? &q->fds[fd].rd : &q->fds[fd].wr;
	old = *k;
	if (c->flags & EV_DELETE) {
		if (!k->live)
			return ENOENT;
		k->live = false;
	} else if (c->flags & EV_ADD) {
		k->live = true;
		k->flags = c->flags & (EV_ONESHOT | EV_CLEAR);
		k->udata = c->udata;
	} else {
		return k->live ? EINVAL : ENOENT;
	}
	err = fd_sync(q, fd);
	if (err != 0)
		*k = old;
	return err;
}

static struct user_note *user_find(struct queue *q, uintptr_t ident)
{
	int i;

	for (i = 0; i < MAX_USER; i++)
		if (q->users[i].live && q->users[i].ident == ident)
			return &q->users[i];
	return NULL;
}

/* Empties a user knote's eventfd: it is no longer triggered. */
static void user_reset(struct user_note *u)
{
	uint64_t v;
	ssize_t rc = read(u->efd, &v, sizeof(v));

	(void)rc; /* EAGAIN: it was not triggered. */
}

/* Adds a user knote (lock held); 0 or an errno. */
static int user_add(struct queue *q, const struct kevent *c)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct user_note *u = NULL;
	int i;

	for (i = 0; i < MAX_USER && u == NULL; i++)
		if (!q->users[i].live)
			u = &q->users[i];
	if (u == NULL)
		return ENOMEM;
	if (u->efd < 0) {
		u->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (u->efd < 0)
			return errno;
		ev.data.u64 = USER_TAG | (uint64_t)(u - q->users);
		if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, u->efd, &ev) < 0) {
			int err = errno;

			close(u->efd);
			u->efd = -1;
			return err;
		}
	}
	u->live = true;
	u->ident = c->ident;
	u->flags = c->flags & EV_CLEAR;
	u->udata = c->udata;
	return 0;
}

/* One EVFILT_USER change (lock held); 0 or an errno. */
static int change_user(struct queue *q, const struct kevent *c)
{
	unsigned short known = EV_ADD | EV_DELETE | EV_CLEAR;
	struct user_note *u = user_find(q, c->ident);
	uint64_t one = 1;
	int err = 0;

	if ((c->flags & ~known) != 0 || (c->fflags & ~NOTE_TRIGGER) != 0)
		return EINVAL;
	if (c->flags & EV_DELETE) {
		if (u == NULL)
			return ENOENT;
		user_reset(u);
		u->live = false;
		return 0;
	}
	if (c->flags & EV_ADD) {
		if (u == NULL) {
			err = user_add(q, c);
			if (err != 0)
				return err;
			u = user_find(q, c->ident);
		} else {
			u->flags = c->flags & EV_CLEAR;
			u->udata = c->udata;
		}
	}
	if (u == NULL)
		return ENOENT;
	if ((c->fflags & NOTE_TRIGGER) && write(u->efd, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		return errno;
	return 0;
}

static int change(struct queue *q, const struct kevent *c)
{
	if (c->filter == EVFILT_READ || c->filter == EVFILT_WRITE)
		return change_fd(q, c);
	if (c->filter == EVFILT_USER)
		return change_user(q, c);
	return EINVAL;
}

/* Applies the changes (lock held).  Returns the EV_ERROR events written,
 * or -1 with errno for a failure with no room left. */
static int apply_changes(struct queue *q, const struct kevent *changes, int nchanges,
			 struct kevent *events, int nevents)
{
	int i, nerr = 0;

	for (i = 0; i < nchanges; i++) {
		int err = change(q, &changes[i]);

		if (err == 0)
			continue;
		if (nerr == nevents) {
			errno = err;
			return -1;
		}
		events[nerr] = changes[i];
		events[nerr].flags = EV_ERROR;
		events[nerr].data = err;
		nerr++;
	}
	return nerr;
}

/* Turns one fd knote's readiness into an event (lock held). */
static void put_fd_event(struct kevent *out, int fd, short filter, struct knote *k,
			 uint32_t revents, bool eof)
{
	EV_SET(out, (uintptr_t)fd, filter, 0, 0, 0, k->udata);
	if (eof)
		out->flags |= EV_EOF;
	if (revents & EPOLLERR) {
		out->flags |= EV_EOF;
		/* A real kqueue puts the socket error here; reading it on
		 * Linux (SO_ERROR) would clear it before its owner sees it,
		 * so the emulation says EIO. */
		out->fflags = EIO;
	}
	if (k->flags & EV_ONESHOT)
		k->live = false;
}

/* Translates one epoll event of an fd into at most two events (lock
 * held); returns how many were written (room for two at `out`). */
static int translate_fd(struct queue *q, int fd, uint32_t revents, struct kevent *out)
{
	struct fd_notes *n;
	int k = 0;

	if ((size_t)fd >= q->nfds || !q->fds[fd].in_epoll)
		return 0;
	n = &q->fds[fd];
	if (n->rd.live && (revents & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		put_fd_event(&out[k++], fd, EVFILT_READ, &n->rd, revents,
			     (revents & (EPOLLRDHUP | EPOLLHUP)) != 0);
	if (n->wr.live && (revents & (EPOLLOUT | EPOLLHUP | EPOLLERR)))
		put_fd_event(&out[k++], fd, EVFILT_WRITE, &n->wr, revents,
			     (revents & EPOLLHUP) != 0);
	/* An EPOLLONESHOT registration is spent: arm what is left.  With
	 * nothing left it stays registered and disabled (no system call,
	 * so none races with the owner closing the fd once it has heard).
	 * An edge-triggered one stays as it is: its knotes are EV_CLEAR,
	 * never EV_ONESHOT, and a modification would evaluate readiness
	 * again (level behaviour). */
	if (!n->edge && (n->rd.live || n->wr.live))
		(void)fd_sync(q, fd);
	return k;
}

/* Translates a user knote's event (lock held); 0 or 1 written. */
static int translate_user(struct queue *q, unsigned idx, struct kevent *out)
{
	struct user_note *u;

	if (idx >= MAX_USER || !q->users[idx].live)
		return 0;
	u = &q->users[idx];
	EV_SET(out, u->ident, EVFILT_USER, 0, 0, 0, u->udata);
	if (u->flags & EV_CLEAR)
		user_reset(u);
	return 1;
}

/* epoll_wait with a kevent timeout. */
static int wait_epoll(struct queue *q, struct epoll_event *ev, int n, const struct timespec *ts)
{
	long long ms;
	int rc;

	if (ts == NULL)
		return epoll_wait(q->epfd, ev, n, -1);
	rc = epoll_pwait2(q->epfd, ev, n, ts, NULL);
	if (rc >= 0 || (errno != ENOSYS && errno != EPERM))
		return rc;
	ms = (long long)ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000;
	return epoll_wait(q->epfd, ev, n, ms > 1000000000 ? 1000000000 : (int)ms);
}

int weft__emu_kevent(int kq, const struct kevent *changes, int nchanges,
		     struct kevent *events, int nevents, const struct timespec *timeout)
{
	struct epoll_event ev[MAX_BATCH];
	struct queue *q = queue_find(kq);
	int nout, n, i;

	if (q == NULL || nchanges < 0 || nevents < 0 || nevents == 1 ||
	    (nchanges > 0 && changes == NULL) || (nevents > 0 && events == NULL)) {
		errno = q == NULL ? EBADF : EINVAL;
		return -1;
	}
	pthread_mutex_lock(&q->lock);
	nout = apply_changes(q, changes, nchanges, events, nevents);
	pthread_mutex_unlock(&q->lock);
	if (nout != 0 || nevents == 0)
		return nout;
	/* Each epoll event gives at most two: ask for half the room. */
	n = nevents / 2 > 0 ? nevents / 2 : 1;
	n = wait_epoll(q, ev, n < MAX_BATCH ? n : MAX_BATCH, timeout);
	if (n < 0)
		return -1;
	pthread_mutex_lock(&q->lock);
	for (i = 0; i < n && nout + 2 <= nevents; i++) {
		if (ev[i].data.u64 & USER_TAG)
			nout += translate_user(q, (unsigned)(ev[i].data.u64 & ~USER_TAG),
					       &events[nout]);
		else
			nout += translate_fd(q, (int)ev[i].data.u64, ev[i].events,
					     &events[nout]);
	}
	pthread_mutex_unlock(&q->lock);
	return nout;
}

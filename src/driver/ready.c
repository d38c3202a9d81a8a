/*
 * src/driver/ready.c - the readiness layer shared by epoll.c and kqueue.c
 * (see ready.h for what it holds and docs/driver.md for the long form).
 *
 * An fd entry is in one of two modes.
 *
 * One shot (an fd whose closing weft does not see: weft/io.h's futures on
 * any fd the caller owns):
 *  - A wait (submit) links its slot into the fd's waiter list.  When the
 *    union of the waiters' interests is not all armed in the kernel, the
 *    fd is (re-)armed for the union, one shot.
 *  - An event spends the registration: every waiter whose interest it
 *    satisfies (or any waiter, for an error or hang-up) completes, and the
 *    fd is re-armed for the waiters left.
 *  - The recorded interests are trusted only while a waiter exists (the
 *    fd cannot be closed then): an event that empties the list leaves the
 *    registration disarmed, and a cancel that empties it forgets it, so
 *    the next waiter always arms afresh (a modification, or a new
 *    registration with a new generation when the kernel says the fd
 *    number now names another file).
 *
 * Edge (WEFT__POLL_EDGE: an fd whose owner calls weft__io_fd_close before
 * closing it, the sockets of src/net):
 *  - The first edge wait registers the fd once, edge-triggered, for both
 *    directions; it stays registered, with no system call per wait, until
 *    weft__io_fd_close.
 *  - Every event ORs its readiness into the entry and bumps the entry's
 *    tick; waiters that the readiness satisfies complete.
 *  - A caller reads the tick (weft__io_ready_tick) before its syscall and
 *    passes it with its wait after EAGAIN.  If the tick is unchanged no
 *    event came since the caller looked, so the readiness it waits for is
 *    really gone and is cleared; otherwise an event came in between and
 *    may have brought what the syscall missed, so the readiness stays and
 *    the wait completes at once (the caller tries again).  No edge is ever
 *    lost: the kernel reports an edge after the state it changed, and the
 *    tick orders our view of the two.
 *  - A wait without the flag (weft/io.h on such an fd) cannot clear by
 *    tick; when the entry says ready it checks with poll(2), zero timeout.
 *  - weft__io_fd_close forgets the registration, completes the waiters
 *    with POLLNVAL and moves the generation on (the fd number will name
 *    another file), in every readiness layer of the process (a list
 *    under a process-wide lock, as a socket may be closed outside any
 *    runtime).
 *
 * Both modes: an event is checked against the entry's generation and
 * dropped when it belongs to an older registration of the fd number; a
 * file the kernel refuses to poll (EPERM: a regular file) is always ready.
 */
#define _GNU_SOURCE
#include "ready.h"
#include "../sched/runtime.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

/* Waiters woken per batch (the lock is dropped to wake them). */
#define WAKE_BATCH 16
/* What every waiter hears about, whatever it waits for. */
#define ALWAYS (POLLERR | POLLHUP | POLLNVAL)

/* The fields weft__io_ready_tick reads without the lock (ready.h).  Every
 * write is under the lock, so a relaxed load there reads the latest. */
static uint32_t ld(_Atomic uint32_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static void set_ready(struct weft__ready_fd *fe, uint32_t ready)
{
	atomic_store_explicit(&fe->ready, ready, memory_order_relaxed);
}

static bool is_edge(struct weft__ready_fd *fe)
{
	return atomic_load_explicit(&fe->edge, memory_order_relaxed);
}

static void set_edge(struct weft__ready_fd *fe, bool edge)
{
	atomic_store_explicit(&fe->edge, edge, memory_order_relaxed);
}

static uint32_t next_tick(uint32_t t)
{
	return t + 1 != 0 ? t + 1 : 1;
}

/* Release: publishes the `ready` and `edge` written before it; pairs with
 * the acquire load of the tick in weft__io_ready_tick. */
static void bump_tick(struct weft__ready_fd *fe)
{
	atomic_store_explicit(&fe->tick, next_tick(ld(&fe->tick)), memory_order_release);
}

/* Every readiness layer of the process, for weft__io_fd_close. */
static pthread_mutex_t layers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct weft__ready *layers;

int weft__ready_init(struct weft__ready *r, const weft_allocator *alloc,
		     const struct weft__ready_kernel *kernel)
{
	int err;

	memset(r, 0, sizeof(*r));
	atomic_init(&r->registered, 0);
	r->kernel = *kernel;
	r->alloc = alloc;
	err = weft__slab_init(&r->slab, alloc);
	if (err < 0)
		return err;
	pthread_mutex_lock(&layers_lock);
	r->next = layers;
	layers = r;
	pthread_mutex_unlock(&layers_lock);
	return 0;
}

void weft__ready_finish(struct weft__ready *r)
{
	struct weft__ready **link;

	pthread_mutex_lock(&layers_lock);
	for (link = &layers; *link != NULL && *link != r; link = &(*link)->next)
		;
	if (*link == r)
		*link = r->next;
	pthread_mutex_unlock(&layers_lock);
	weft__slab_finish(&r->slab);
	if (r->fds != NULL)
		weft__free(r->alloc, r->fds, r->nfds * sizeof(*r->fds),
			   _Alignof(struct weft__ready_fd));
	while (r->nretired > 0) {
		r->nretired--;
		weft__free(r->alloc, r->retired[r->nretired],
			   r->retired_n[r->nretired] * sizeof(*r->fds),
			   _Alignof(struct weft__ready_fd));
	}
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
	if (r->nretired == sizeof(r->retired) / sizeof(r->retired[0]))
		return -ENOMEM;
	while (n <= (size_t)fd)
		n *= 2;
	fds = weft__alloc(r->alloc, n * sizeof(*fds), _Alignof(struct weft__ready_fd));
	if (fds == NULL)
		return -ENOMEM;
	if (r->nfds != 0) {
		memcpy(fds, r->fds, r->nfds * sizeof(*fds));
		/* Not freed: a lock-free reader may still look at it. */
		r->retired[r->nretired] = r->fds;
		r->retired_n[r->nretired++] = r->nfds;
	}
	for (i = r->nfds; i < n; i++) {
		memset(&fds[i], 0, sizeof(fds[i]));
		fds[i].gen = 1;
		atomic_init(&fds[i].tick, 1);
		fds[i].head = WEFT__OP_NONE;
	}
	r->fds = fds;
	r->nfds = n;
	/* Release: the table's contents before its pointer, and the pointer
	 * before the size that makes its new entries reachable; pair with
	 * the acquire loads in weft__io_ready_tick. */
	atomic_store_explicit(&r->pub_fds, fds, memory_order_release);
	atomic_store_explicit(&r->pub_nfds, n, memory_order_release);
	return 0;
}

static uint32_t waiters_union(struct weft__ready *r, struct weft__ready_fd *fe)
{
	uint32_t idx, u = 0;

	for (idx = fe->head; idx != WEFT__OP_NONE; idx = weft__slab_get(&r->slab, idx)->next)
		u |= weft__slab_get(&r->slab, idx)->events;
	return u & (POLLIN | POLLOUT);
}

/* Arms fd for `events`, one shot or edge (lock held): a modification of a
 * registration the kernel still has, else a fresh one.  Returns 0 or
 * -errno. */
static int fd_arm(struct weft__ready *r, int fd, struct weft__ready_fd *fe, uint32_t events,
		  bool edge)
{
	const struct weft__ready_kernel *k = &r->kernel;
	int err;

	if (fe->added) {
		err = k->arm(k->ctx, fd, weft__ready_tag(fd, fe->gen), events, true, edge);
		if (err == 0) {
			fe->armed = events;
			return 0;
		}
		if (err != -ENOENT)
			return err;
		/* The fd number now names another file: add it afresh. */
	}
	fe->gen++;
	err = k->arm(k->ctx, fd, weft__ready_tag(fd, fe->gen), events, false, edge);
	if (err < 0) {
		fe->added = false;
		return err;
	}
	fe->added = true;
	fe->armed = events;
	return 0;
}

/* Links slot `index` as a waiter of `fe` (lock held). */
static void link_waiter(struct weft__ready *r, struct weft__ready_fd *fe,
			struct weft__op *op, uint32_t index)
{
	op->next = fe->head;
	fe->head = index;
	op->state = OP_INFLIGHT;
	r->slab.inflight++;
	atomic_fetch_add_explicit(&r->registered, 1, memory_order_relaxed);
}

/* What readiness `ready` means for a waiter on `want` (POLLIN/POLLOUT). */
static uint32_t hit_of(uint32_t ready, uint32_t want)
{
	uint32_t mask = want | ALWAYS | ((want & POLLIN) ? POLLRDHUP : 0);

	return (ready & want) != 0 || (ready & ALWAYS) != 0 ? ready & mask : 0;
}

/* Registers fd edge-triggered, once (lock held).  0 or -errno. */
static int edge_register(struct weft__ready *r, int fd, struct weft__ready_fd *fe)
{
	int err;

	if (is_edge(fe))
		return 0;
	err = fd_arm(r, fd, fe, POLLIN | POLLOUT, true);
	if (err < 0)
		return err;
	/* The kernel reports the current state as a first event. */
	set_ready(fe, 0);
	set_edge(fe, true);
	bump_tick(fe);
	return 0;
}

/* A plain wait on an edge entry that says ready: asks poll(2) whether it
 * still is, and keeps only what is true (lock held). */
static void edge_verify(int fd, struct weft__ready_fd *fe, uint32_t want)
{
	struct pollfd p = { .fd = fd, .events = (short)(want | POLLRDHUP) };

	if (poll(&p, 1, 0) < 0)
		return;
	set_ready(fe, (ld(&fe->ready) & ~(want | POLLRDHUP | ALWAYS)) | (uint32_t)p.revents);
}

/* The wait of slot `op` on an edge entry (lock held). */
static int edge_wait(struct weft__ready *r, struct weft__ready_fd *fe, struct weft__op *op,
		     uint32_t index)
{
	uint32_t want = op->events & (POLLIN | POLLOUT), hit;

	if ((op->events & WEFT__POLL_EDGE) && op->aux == ld(&fe->tick))
		/* The caller's EAGAIN, and nothing since. */
		set_ready(fe, ld(&fe->ready) & ~(want | POLLERR));
	else if (!(op->events & WEFT__POLL_EDGE) && hit_of(ld(&fe->ready), want) != 0)
		edge_verify(op->fd, fe, want);
	hit = hit_of(ld(&fe->ready), want);
	if (hit != 0) {
		op->state = OP_DONE;
		op->result = (int32_t)hit;
		return 0;
	}
	link_waiter(r, fe, op, index);
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
	err = (op->events & WEFT__POLL_EDGE) ? edge_register(r, op->fd, fe) : 0;
	if (err == 0 && is_edge(fe))
		return edge_wait(r, fe, op, index);
	u = waiters_union(r, fe) | (op->events & (POLLIN | POLLOUT));
	if (err == 0 && ((u & ~fe->armed) != 0 || fe->armed == 0))
		err = fd_arm(r, op->fd, fe, u, false);
	if (err == -EPERM) {
		/* Not pollable (a regular file): always ready. */
		op->state = OP_DONE;
		op->result = (int32_t)(op->events & (POLLIN | POLLOUT));
		return 0;
	}
	if (err < 0)
		return err;
	link_waiter(r, fe, op, index);
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
	if (fe->head == WEFT__OP_NONE && fe->added && !is_edge(fe)) {
		/* Nobody waits on this fd any more, and the caller may close
		 * it next: forget the one-shot registration (its interests
		 * are only trusted while a waiter exists).  An edge one
		 * lives until weft__io_fd_close. */
		r->kernel.forget(r->kernel.ctx, op->fd);
		fe->added = false;
		fe->armed = 0;
	}
	weft__slab_release(&r->slab, index);
}

/*
 * Completes, from the waiters of `fe`, at most WAKE_BATCH of those that
 * `ready` satisfies (all of them, with `all`), storing their wakers in
 * `wake` (lock held).  *left gets the interests of the waiters that stay.
 * Returns how many completed.
 */
static unsigned complete_some(struct weft__ready *r, struct weft__ready_fd *fe, uint32_t ready,
			      bool all, weft_waker *wake, uint32_t *left)
{
	uint32_t *link = &fe->head;
	unsigned nw = 0;

	*left = 0;
	while (*link != WEFT__OP_NONE) {
		uint32_t idx = *link;
		struct weft__op *op = weft__slab_get(&r->slab, idx);
		uint32_t hit = all ? ready : hit_of(ready, op->events & (POLLIN | POLLOUT));

		if (hit == 0 || nw == WAKE_BATCH) {
			*left |= op->events & (POLLIN | POLLOUT);
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
	}
	return nw;
}

static void wake_all(weft_waker *wake, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		weft_waker_wake(&wake[i]);
}

/* An event of a one-shot entry (lock held, released here). */
static unsigned oneshot_event(struct weft__ready *r, int fd, struct weft__ready_fd *fe,
			      uint32_t revents)
{
	weft_waker wake[WAKE_BATCH];
	uint32_t left;
	unsigned nw;

	fe->armed = 0; /* one shot: disarmed by this event */
	nw = complete_some(r, fe, revents, false, wake, &left);
	/* Waiters past the batch are re-armed: level, so they hear at once. */
	if (left != 0 && fd_arm(r, fd, fe, left, false) < 0)
		fe->armed = 0;
	weft__slab_unlock(&r->slab);
	wake_all(wake, nw);
	return nw;
}

/* An event of an edge entry (lock held, released here).  The readiness
 * stays recorded, so every satisfied waiter completes, batch by batch. */
static unsigned edge_event(struct weft__ready *r, int fd, uint32_t gen, uint32_t revents)
{
	weft_waker wake[WAKE_BATCH];
	struct weft__ready_fd *fe = &r->fds[fd];
	unsigned nw, done = 0;
	uint32_t left;

	set_ready(fe, ld(&fe->ready) | revents);
	bump_tick(fe);
	for (;;) {
		nw = complete_some(r, fe, ld(&fe->ready), false, wake, &left);
		weft__slab_unlock(&r->slab);
		wake_all(wake, nw);
		done += nw;
		if (nw < WAKE_BATCH)
			return done;
		weft__slab_lock(&r->slab);
		fe = &r->fds[fd];
		if (fe->gen != gen || !is_edge(fe)) {
			weft__slab_unlock(&r->slab);
			return done;
		}
	}
}

unsigned weft__ready_event(struct weft__ready *r, uint64_t tag, uint32_t revents)
{
	int fd = (int)(uint32_t)tag;
	uint32_t gen = (uint32_t)(tag >> 32);

	weft__slab_lock(&r->slab);
	if ((size_t)fd >= r->nfds || r->fds[fd].gen != gen) {
		weft__slab_unlock(&r->slab);
		atomic_fetch_add_explicit(&weft__driver_counters.stale, 1, memory_order_relaxed);
		return 0;
	}
	if (is_edge(&r->fds[fd]))
		return edge_event(r, fd, gen, revents);
	return oneshot_event(r, fd, &r->fds[fd], revents);
}

/*
 * Without the lock: the caller owns the fd, so it is neither closed nor
 * registered afresh meanwhile, and the table it reads is never freed
 * before the layer (ready.h).  A stale table or a stale value only costs
 * a retry: the wait compares the tick again under the lock, and a tick
 * that moved keeps the readiness.  The tick is loaded first, with
 * acquire, so that `ready` is at least as new as the event that set it
 * (the writer stores `ready` before the tick): a reader that saw the tick
 * of an event also sees its readiness, and never clears it unseen.
 */
uint32_t weft__io_ready_tick(int fd, uint32_t events, bool *unready)
{
	struct weft_runtime *rt = weft__ctx.rt;
	struct weft__ready *r = rt != NULL && rt->driver != NULL ? rt->driver->ready : NULL;
	struct weft__ready_fd *fds, *fe;
	uint32_t tick;

	*unready = false;
	if (r == NULL || fd < 0)
		return 0;
	/* Acquire: pairs with the release stores in table_reserve. */
	if ((size_t)fd >= atomic_load_explicit(&r->pub_nfds, memory_order_acquire))
		return 0;
	fds = atomic_load_explicit(&r->pub_fds, memory_order_acquire);
	fe = &fds[fd];
	/* Acquire: pairs with the release in bump_tick. */
	tick = atomic_load_explicit(&fe->tick, memory_order_acquire);
	if (!is_edge(fe))
		return 0;
	*unready = hit_of(ld(&fe->ready), events & (POLLIN | POLLOUT)) == 0;
	return tick;
}

void weft__io_ready_drained(int fd, uint32_t events, uint32_t tick)
{
	struct weft_runtime *rt = weft__ctx.rt;
	struct weft__ready *r = rt != NULL && rt->driver != NULL ? rt->driver->ready : NULL;
	struct weft__ready_fd *fe;

	if (r == NULL || fd < 0 || tick == 0)
		return;
	weft__slab_lock(&r->slab);
	if ((size_t)fd < r->nfds) {
		fe = &r->fds[fd];
		/* Not with a hang-up, an end of stream (POLLRDHUP) or an
		 * error recorded: the next read must see it, and no event
		 * will come again for it. */
		if (is_edge(fe) && ld(&fe->tick) == tick &&
		    (ld(&fe->ready) & (POLLRDHUP | ALWAYS)) == 0)
			set_ready(fe, ld(&fe->ready) & ~(events & (POLLIN | POLLOUT)));
	}
	weft__slab_unlock(&r->slab);
}

/* weft__io_fd_close in one layer. */
static void layer_fd_close(struct weft__ready *r, int fd)
{
	weft_waker wake[WAKE_BATCH];
	struct weft__ready_fd *fe;
	uint32_t left;
	unsigned nw;

	weft__slab_lock(&r->slab);
	if ((size_t)fd >= r->nfds) {
		weft__slab_unlock(&r->slab);
		return;
	}
	fe = &r->fds[fd];
	if (fe->added)
		r->kernel.forget(r->kernel.ctx, fd);
	fe->added = false;
	set_edge(fe, false);
	fe->armed = 0;
	set_ready(fe, 0);
	fe->gen++;
	bump_tick(fe);
	do {
		nw = complete_some(r, fe, POLLNVAL, true, wake, &left);
		weft__slab_unlock(&r->slab);
		wake_all(wake, nw);
		weft__slab_lock(&r->slab);
		fe = &r->fds[fd];
	} while (nw == WAKE_BATCH);
	weft__slab_unlock(&r->slab);
}

void weft__io_fd_close(int fd)
{
	struct weft__ready *r;

	if (fd < 0)
		return;
	pthread_mutex_lock(&layers_lock);
	for (r = layers; r != NULL; r = r->next)
		layer_fd_close(r, fd);
	pthread_mutex_unlock(&layers_lock);
}

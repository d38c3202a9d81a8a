/*
 * src/driver/ready.h - the readiness layer that the readiness backends
 * (epoll.c, kqueue.c) share.  Private.
 *
 * A readiness backend turns every operation into a wait for an fd's
 * readiness (WEFT__OP_POLL); the syscall itself runs in the future's poll
 * (io.c, src/net).  What such a backend needs besides its kernel calls is
 * the same on epoll and kqueue, and lives here:
 *  - one slab of operation slots for the whole runtime, whose lock also
 *    guards the per-fd table;
 *  - the per-fd table: for each fd number, the list of slots waiting on
 *    it (through op->next), the union of their interests, whether the fd
 *    is registered with the kernel and what is armed there;
 *  - a generation per fd entry, carried in every registration's user data
 *    (weft__ready_tag), so that an event of an older registration of the
 *    same fd number (the fd was closed and the number reused) is dropped;
 *  - dispatch: an event completes every waiter it satisfies and re-arms
 *    the fd for the ones left.
 * The backend supplies two calls (struct weft__ready_kernel): `arm`, which
 * registers an fd with the kernel for a set of interests (POLLIN,
 * POLLOUT), and `forget`, which removes the registration.  See
 * docs/driver.md ("the readiness layer").
 *
 * Threads: every function may be called from any thread; submit and
 * cancel with the slab lock held (the operation layer holds it), event
 * without it.
 */
#ifndef WEFT_SRC_DRIVER_READY_H
#define WEFT_SRC_DRIVER_READY_H

#include "driver.h"

/* One fd number's state; under the slab lock. */
struct weft__ready_fd {
	/* Bumped at each fresh registration and at close; events of older
	 * registrations are stale. */
	uint32_t gen;
	/* Waiting slots, through op->next; WEFT__OP_NONE when none. */
	uint32_t head;
	/* One shot: interests armed in the kernel, 0 when disarmed.  Edge:
	 * POLLIN | POLLOUT. */
	uint32_t armed;
	/* Edge only: the readiness (POLLIN, POLLOUT, POLLRDHUP, POLLHUP,
	 * POLLERR) events reported and nobody has cleared since.  Written
	 * under the lock; read without it by weft__io_ready_tick. */
	_Atomic uint32_t ready;
	/* Edge only: bumped by every event and by close, never 0.  Written
	 * under the lock (release, after `ready`); read without it. */
	_Atomic uint32_t tick;
	/* Registered with the kernel (possibly disarmed). */
	bool added;
	/* Registered edge-triggered and persistent (see ready.c).  Written
	 * under the lock; read without it. */
	_Atomic bool edge;
};

/*
 * The kernel side, filled by the backend.
 *  - arm: registers `fd` for `events` (POLLIN / POLLOUT bits) with `tag`
 *    (weft__ready_tag) as the user data: one shot, or with `edge`,
 *    edge-triggered and persistent for both directions plus hang-up
 *    (epoll: EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET; kqueue: both
 *    filters EV_CLEAR).  `modify` says the fd is registered already (a
 *    modification, possibly from one shot to edge); the backend returns
 *    -ENOENT when the kernel says it is not (the fd number now names
 *    another file), and the layer then calls again with a new tag and
 *    `modify` false.  Returns 0 or -errno (-EPERM: the file cannot be
 *    polled, it is then always ready).  Slab lock held.
 *  - forget: removes the registration of `fd`; errors are ignored.  Slab
 *    lock held.
 */
struct weft__ready_kernel {
	int (*arm)(void *ctx, int fd, uint64_t tag, uint32_t events, bool modify, bool edge);
	void (*forget)(void *ctx, int fd);
	void *ctx;
};

struct weft__ready {
	struct op_slab slab;
	/* Indexed by fd number, under slab.lock.  Also read without the lock
	 * by weft__io_ready_tick, through `pub_fds` and `pub_nfds`: a grown
	 * table replaces the old one, which stays allocated (in `retired`)
	 * until weft__ready_finish, so a reader never touches freed memory. */
	struct weft__ready_fd *fds;
	size_t nfds;
	_Atomic(struct weft__ready_fd *) pub_fds;
	_Atomic size_t pub_nfds;
	/* Tables replaced by a larger one, and their sizes (each at least
	 * twice the last, so an int fd needs fewer than 32). */
	struct weft__ready_fd *retired[32];
	size_t retired_n[32];
	unsigned nretired;
	/* Slots registered; read without the lock by a reap's shortcut. */
	_Atomic uint32_t registered;
	struct weft__ready_kernel kernel;
	const weft_allocator *alloc;
	/* The process-wide list of readiness layers (weft__io_fd_close). */
	struct weft__ready *next;
};

/* An fd and a generation packed as a registration's user data. */
static inline uint64_t weft__ready_tag(int fd, uint32_t gen)
{
	return ((uint64_t)gen << 32) | (uint32_t)fd;
}

/* Initialises `r` (its slab included) with the backend's kernel calls.
 * Returns 0, -ENOMEM or -errno.  Any thread. */
int weft__ready_init(struct weft__ready *r, const weft_allocator *alloc,
		     const struct weft__ready_kernel *kernel);

/* Frees the table and finishes the slab.  Any thread, once no thread uses
 * `r` any more. */
void weft__ready_finish(struct weft__ready *r);

/* The ops table's submit for a readiness backend: starts the readiness
 * wait of slot `op` (WEFT__OP_POLL only; anything else is -ENOTSUP).
 * With WEFT__POLL_EDGE in op->events the fd is registered edge-triggered
 * and op->aux is the caller's tick (weft__io_ready_tick).
 * Returns 0 (the slot is OP_INFLIGHT, or OP_DONE for a file that cannot
 * be polled) or -errno.  Slab lock held; any thread. */
int weft__ready_submit(struct weft__ready *r, struct weft__op *op, uint32_t index);

/* The ops table's cancel: unlinks and frees the slot at once (no kernel
 * operation to wait for).  Slab lock held; any thread. */
void weft__ready_cancel(struct weft__ready *r, struct weft__op *op, uint32_t index);

/* Delivers one event of registration `tag` with `revents` (POLLIN,
 * POLLOUT, POLLERR, POLLHUP, POLLRDHUP bits): completes the waiters it
 * satisfies and wakes them.  Returns how many completed.  Slab lock NOT
 * held; any thread. */
unsigned weft__ready_event(struct weft__ready *r, uint64_t tag, uint32_t revents);

/* True when some slot waits for readiness (a cheap hint, no lock). */
static inline bool weft__ready_any(struct weft__ready *r)
{
	return atomic_load_explicit(&r->registered, memory_order_relaxed) != 0;
}

#endif /* WEFT_SRC_DRIVER_READY_H */

/*
 * src/driver/driver.h - the one interface between the schedulers, the I/O
 * futures and the I/O backends (uring.c; iocp.c; epoll.c and kqueue.c
 * over the readiness layer, ready.h).  Private.
 *
 * A runtime owns one driver (struct weft__driver) and the driver owns one
 * driver thread (struct weft__drv_thread) per thread that parks in it: one
 * per worker of a multi-threaded runtime, one for a current-thread runtime.
 * A driver thread is the unit that waits: on io_uring it is a ring, on
 * epoll (kqueue) it is a seat at the runtime's single epoll instance
 * (kqueue); only the seat that holds the runtime's timer duty waits there
 * (see multi_thread.c).
 *
 * Operations live in slots that the driver owns (struct weft__op, in a
 * slab per ring, or one slab for the epoll instance), never only in a
 * future: a future holds a handle (slab, index, generation), and the
 * kernel's user data is index plus generation, so a completion that comes
 * after the future was dropped, or after the slot was reused, finds a
 * different generation and reaches nobody.  The slot owns the buffer the
 * kernel may write until the operation's final completion.  See
 * docs/driver.md for the long form, and op.c for the slot protocol.
 *
 * Which thread may call what is written on each function.  "Owner" is the
 * thread that waits in that driver thread: the worker, or the thread inside
 * weft_block_on of a current-thread runtime.
 */
#ifndef WEFT_SRC_DRIVER_DRIVER_H
#define WEFT_SRC_DRIVER_DRIVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/future.h"
#include "weft/runtime.h"
#include "weft_config.h"
#include "../common/lock.h"
#include "../common/platform.h"

struct weft_runtime;
struct weft__driver;
struct weft__drv_thread;
struct op_slab;
struct weft__ready;

/* What an operation does. */
enum weft__op_kind {
	WEFT__OP_POLL,   /* readiness of fd for `events` (POLLIN/POLLOUT) */
	WEFT__OP_READ,   /* read up to len bytes into the slot's buffer */
	WEFT__OP_WRITE,  /* write len bytes from the slot's buffer */
	WEFT__OP_ACCEPT, /* accept(fd): yields a new fd */
	/* The file operations of weft/fs.h (io_uring only; epoll answers
	 * -ENOTSUP and src/fs uses the blocking pool there). */
	WEFT__OP_OPENAT,   /* openat(AT_FDCWD, path in buf, events, aux): yields an fd */
	WEFT__OP_READ_AT,  /* pread of len bytes at `off` into the slot's buffer */
	WEFT__OP_WRITE_AT, /* pwrite of len bytes at `off` from the slot's buffer */
	WEFT__OP_FSYNC,    /* fsync(fd), or fdatasync when events is 1 */
	WEFT__OP_STATX,    /* statx(fd, path after the statx record, events, aux) */
	WEFT__OP_CLOSE,    /* close(fd) */
	/* Socket ring operations (io_uring; IOCP with WEFT__FEAT_SOCK_OPS). */
	WEFT__OP_RECV,     /* recv of up to len bytes into the slot's buffer */
	WEFT__OP_SEND,     /* send (MSG_NOSIGNAL) of len bytes from the slot's buffer */
	/* Multishot accept (io_uring only): stays in flight; every accepted fd
	 * is queued in the slot's buffer (int32s, qhead/qcount) until taken
	 * with weft__io_poll_multi. */
	WEFT__OP_ACCEPT_MULTI,
	/* Multishot receive with provided buffers (io_uring only): stays in
	 * flight; each completion names a buffer of the ring's pool that the
	 * kernel filled, queued in the slot's buffer (pairs of uint32: buffer
	 * id, length; `off` bytes of the first are consumed) until read with
	 * weft__io_poll_recv, which gives the buffer back to the pool. */
	WEFT__OP_RECV_MULTI,
	/* connect(fd) to the sockaddr of len bytes copied into the slot's
	 * buffer (IOCP only: ConnectEx; yields 0). */
	WEFT__OP_CONNECT,
};

/* Optional kernel features a backend found (weft__driver.features). */
#define WEFT__FEAT_FS 0x1u /* OPENAT, STATX, CLOSE, FSYNC ring operations */
#define WEFT__FEAT_ACCEPT_MULTI 0x2u /* IORING_ACCEPT_MULTISHOT (5.19+) */
#define WEFT__FEAT_RECV_MULTI 0x4u /* IORING_RECV_MULTISHOT + buffer rings (6.0+) */
/* RECV, SEND, ACCEPT and CONNECT as completion operations on a backend
 * whose other waits are readiness (IOCP: overlapped WSARecv, WSASend,
 * AcceptEx, ConnectEx). */
#define WEFT__FEAT_SOCK_OPS 0x8u
/* The room at the start of a WEFT__OP_STATX slot buffer for the kernel's
 * struct statx (256 bytes in every kernel so far). */
#define WEFT__STATX_ROOM 256u

/* Life of a slot; every transition happens under the slab's lock. */
enum weft__op_state {
	OP_FREE,     /* on the free list */
	OP_QUEUED,   /* handed to the owner, not yet in the kernel */
	OP_INFLIGHT, /* in the kernel (or registered with epoll) */
	OP_DONE,     /* completed; result valid; waiting for the future */
};

/*
 * An operation slot.  The slab's lock guards every field but `buf`, which
 * the kernel owns while the state is OP_INFLIGHT on io_uring.
 */
struct weft__op {
	uint32_t gen;
	uint8_t kind;
	uint8_t state;
	/* The future let go (dropped) while the operation was in flight:
	 * the final completion frees the slot (and closes a yielded fd). */
	bool orphan;
	/* A cancel was requested (queued to, or submitted by, the owner). */
	bool cancel_requested;
	/* In the slab's request queue: only the owner that pops it may free
	 * it. */
	bool queued;
	int fd;
	uint32_t events;
	uint32_t aux;  /* OPENAT: mode; STATX: mask */
	uint64_t off;  /* READ_AT / WRITE_AT */
	uint32_t qhead, qcount; /* ACCEPT_MULTI: queued fds in buf */
	int32_t result;
	void *buf;
	size_t len;
	size_t cap; /* bytes allocated at buf */
	weft_waker waker;
	/* Free list, owner request queue, or epoll per-fd waiter list. */
	uint32_t next;
};

#define WEFT__OP_NONE UINT32_MAX

/*
 * A ring's provided buffers (io_uring, WEFT__OP_RECV_MULTI): `count`
 * buffers of `size` bytes at `mem`, registered as buffer group `bgid`.
 * Created by the ring's owner on first use; guarded by the slab's lock
 * like the slots that hold its buffers.  `recycle` gives buffer `bid` back
 * to the kernel (lock held; any thread).
 */
struct weft__buf_pool {
	char *mem;
	uint32_t count, size;
	void (*recycle)(struct weft__buf_pool *p, uint32_t bid);
};

/* Slots per chunk of a slab. */
#define WEFT__SLAB_CHUNK 64u

/*
 * A slab of operation slots: chunks of 64 that never move, so the kernel
 * may keep pointers to a slot's buffer and the owner may keep slot
 * pointers across a lock release.
 */
struct op_slab {
	/* The futex-word lock of src/common/lock.h: taken about three times
	 * per socket message, always briefly and almost never contended (a
	 * ring's slab is its owner's), so the inline CAS and exchange of an
	 * uncontended acquire and release are what it costs. */
	struct weft__lock lock;
	struct weft__op **chunks;
	uint32_t nchunks;
	uint32_t free_head;
	uint32_t inflight; /* slots in OP_INFLIGHT */
	/* Requests for the owner (io_uring: queued submissions and
	 * cancels), a FIFO through `next`. */
	uint32_t req_head, req_tail;
	_Atomic uint32_t req_count;
	/* Bumped by the owner after a drain that popped requests, and woken
	 * when `drain_waiters` is not 0: a thread that handed a cancel over
	 * waits on it until the owner took the cancel (weft__io_cancel). */
	_Atomic uint32_t drained;
	_Atomic uint32_t drain_waiters;
	bool closed; /* the owner left: nothing new may go in flight */
	const weft_allocator *alloc;
	/* The ring's provided buffers, or NULL (io_uring only). */
	struct weft__buf_pool *pool;
};

/*
 * The ops table every backend fills.
 *  - init / finish: the runtime's driver (init creates every driver
 *    thread too, so refusals show at runtime creation); thread creator.
 *  - thread_init / thread_finish: on the owner thread, before its first
 *    use and at its exit (io_uring: enable the ring; cancel and drain
 *    everything in flight before the thread leaves).  thread_finish runs
 *    on the destroying thread for a current-thread runtime.
 *  - submit: put slot `op` (state OP_QUEUED, fields filled) in flight.
 *    io_uring: owner only; epoll: any thread.  Returns 0 (the slot is now
 *    OP_INFLIGHT or already OP_DONE) or -errno (nothing was queued).
 *    Called with the slab lock held.
 *  - cancel: ask the kernel to finish an OP_INFLIGHT slot early.  Same
 *    threads and lock as submit.  The slot is freed by its completion.
 *  - wait: block until a completion, a wake, or the absolute monotonic
 *    `deadline_ns` (UINT64_MAX: none).  Owner only.  Completions are not
 *    dispatched here but by the next reap.
 *  - wake: make a current or next wait of `dt` return.  Any thread.
 *  - reap: dispatch every completion that is ready, without blocking;
 *    returns how many.  Owner only (epoll: any thread).
 *  - poll_fd: the file descriptor a host event loop may poll in place of
 *    `wait` (weft/embed.h): readable while a completion, a readiness
 *    event or a wake is waiting to be reaped.  io_uring: the ring fd;
 *    epoll: the epoll instance.  Any thread.
 *  - poll_prepare: the owner is about to let a host wait on poll_fd
 *    instead of waiting itself.  Submits what other threads handed over
 *    and makes sure a later wake or completion makes poll_fd readable
 *    (io_uring: the eventfd read is armed and submitted); with `drain`,
 *    also consumes wakes already delivered so that they no longer make
 *    poll_fd readable (epoll: reads the eventfd; io_uring consumes them
 *    in reap).  Returns true when completions wait to be reaped (the
 *    host must not wait).  Owner only.
 *  - drain: submit and cancel what other threads handed over, now, and
 *    nothing else (no completion is dispatched).  Owner only.  NULL where
 *    any_thread is set (nothing is ever handed over).
 */
struct weft__driver_ops {
	const char *name;
	/* Submissions and cancels may come from any thread (epoll). */
	bool any_thread;
	int (*init)(struct weft__driver *d);
	void (*finish)(struct weft__driver *d);
	int (*thread_init)(struct weft__drv_thread *dt);
	void (*thread_finish)(struct weft__drv_thread *dt);
	int (*submit)(struct weft__drv_thread *dt, struct weft__op *op, uint32_t index);
	void (*cancel)(struct weft__drv_thread *dt, struct weft__op *op, uint32_t index);
	void (*wait)(struct weft__drv_thread *dt, uint64_t deadline_ns);
	void (*wake)(struct weft__drv_thread *dt);
	unsigned (*reap)(struct weft__drv_thread *dt);
	int (*poll_fd)(struct weft__drv_thread *dt);
	bool (*poll_prepare)(struct weft__drv_thread *dt, bool drain);
	void (*drain)(struct weft__drv_thread *dt);
};

/* The common head of every backend's driver thread. */
struct weft__drv_thread {
	struct weft__driver *driver;
	/* The slab this thread's operations live in (epoll: shared). */
	struct op_slab *slab;
	unsigned index;
	/* True from weft__drv_sleep_begin until its wait returned: a kick
	 * (weft__drv_kick) then costs a wake. */
	_Atomic bool sleeping;
	/* Counters for weft_runtime_metrics (relaxed fetch-adds; on
	 * io_uring only the owner counts its submissions and completions):
	 * operations started here, completions dispatched, wakes sent. */
	_Atomic uint64_t submissions;
	_Atomic uint64_t completions;
	_Atomic uint64_t wakes;
	/* Waits that ended in the spin before sleep (owner counts). */
	_Atomic uint64_t spins;
};

struct weft__driver {
	const struct weft__driver_ops *ops;
	weft_driver_kind kind;
	struct weft_runtime *rt;
	const weft_allocator *alloc;
	unsigned nthreads;
	/* Created by the backend's init; each starts with a weft__drv_thread. */
	struct weft__drv_thread **threads;
	/* The current-thread runtime's ring is used by whichever thread
	 * drives it: no single-issuer setup. */
	bool shared_owner;
	/* Set by a backend's init when the kernel refused it (as opposed to
	 * an allocation failure): auto selection then falls back. */
	bool refused;
	/* AUTO chose epoll because io_uring could not start. */
	bool fell_back;
	/* Set by a scheduler whose driver threads have no fixed owner (the
	 * current-thread runtime): takes the right to drive `dt` when nobody
	 * holds it, runs weft__drv_drain on it and gives the right back;
	 * false when another thread holds it (that thread drains).  Any
	 * thread.  NULL: every driver thread has an owner that drains. */
	bool (*drain_if_free)(struct weft__driver *d, struct weft__drv_thread *dt);
	void *sched;
	/* How long a driver thread with operations in flight looks for
	 * completions before it sleeps (weft_runtime_config.io_spin_ns,
	 * resolved; 0 = never).  Set before any driver thread starts. */
	uint64_t spin_ns;
	/* WEFT__FEAT_* the backend found, minus weft__driver_mask_features;
	 * written at init, read-only afterwards. */
	unsigned features;
	/* The readiness layer of a readiness backend (epoll, kqueue; set by
	 * its init), NULL for a completion backend. */
	struct weft__ready *ready;
	void *backend;
};

/* The runtime's allocator calls (weft__alloc, weft__free). */
#include "../sched/alloc.h"

/* ---- creation (runtime.c) ----------------------------------------------- */

/*
 * Chooses and starts the backend for `rt` with `nthreads` driver threads
 * (see weft_runtime_config.driver and docs/driver.md for the choice and
 * WEFT_DRIVER).  `shared_owner`: the threads are not tied to one OS thread
 * (current-thread runtime).  Returns 0 and stores the driver, -ENOMEM, or
 * for a forced backend that cannot start, -ENOTSUP or the kernel's errno.
 * Any thread.
 */
int weft__driver_create(struct weft_runtime *rt, weft_driver_kind kind,
			unsigned nthreads, bool shared_owner,
			const weft_allocator *alloc, struct weft__driver **out);

/* Frees the driver; every driver thread was finished.  NULL is ignored. */
void weft__driver_destroy(struct weft__driver *d);

/* ---- used by the schedulers ------------------------------------------- */

static inline struct weft__drv_thread *weft__drv_thread_at(struct weft__driver *d,
							    unsigned i)
{
	return d->threads[i];
}

int weft__drv_thread_init(struct weft__drv_thread *dt);
void weft__drv_thread_finish(struct weft__drv_thread *dt);

/* Marks `dt` as about to sleep (a kick now wakes it).  Owner only; call
 * before reading the deadline that the wait will use. */
void weft__drv_sleep_begin(struct weft__drv_thread *dt);
/* Waits (see the ops table) and clears the sleeping mark.  Owner only. */
void weft__drv_wait(struct weft__drv_thread *dt, uint64_t deadline_ns);
/* Clears the sleeping mark without waiting.  Owner only. */
void weft__drv_sleep_cancel(struct weft__drv_thread *dt);
/* Wakes `dt` unconditionally.  Any thread. */
void weft__drv_wake(struct weft__drv_thread *dt);
/* Wakes `dt` only when it sleeps (or is about to).  Any thread. */
void weft__drv_kick(struct weft__drv_thread *dt);
/* Dispatches ready completions and handed-over requests; returns how many
 * completions.  Owner only.  Cheap when nothing is in flight. */
unsigned weft__drv_reap(struct weft__drv_thread *dt);
/* Submits and cancels what other threads handed over to `dt` (the drain
 * op; nothing on a backend without one).  Owner only. */
void weft__drv_drain(struct weft__drv_thread *dt);

/* The fd a host loop polls for `dt` (see poll_fd in the ops table).  Any
 * thread. */
int weft__drv_poll_fd(struct weft__drv_thread *dt);
/* Readies `dt` for a host's wait on its poll fd (see poll_prepare in the
 * ops table); true when completions wait to be reaped.  Owner only. */
bool weft__drv_poll_prepare(struct weft__drv_thread *dt, bool drain);

/* The name of the backend: "io_uring", "epoll" or "kqueue". */
const char *weft__driver_name(const struct weft__driver *d);

/* When a spin before sleep that starts now must end: `spin_ns` from now,
 * or the wait's absolute `deadline_ns` if that comes first (UINT64_MAX:
 * none).  Any thread. */
static inline uint64_t weft__drv_spin_end(uint64_t spin_ns, uint64_t deadline_ns)
{
	uint64_t now = weft__mono_ns();

	return now < deadline_ns && spin_ns < deadline_ns - now ? now + spin_ns : deadline_ns;
}

/* Counts an operation started on `dt` (weft_metrics.driver_submissions). */
static inline void weft__drv_count_submit(struct weft__drv_thread *dt)
{
	atomic_fetch_add_explicit(&dt->submissions, 1, memory_order_relaxed);
}

/* Takes and releases a slab's lock (weft__lock_acquire / release).  Any
 * thread; never held across a wait or a wake. */
static inline void weft__slab_lock(struct op_slab *s)
{
	weft__lock_acquire(&s->lock);
}

static inline void weft__slab_unlock(struct op_slab *s)
{
	weft__lock_release(&s->lock);
}

/* ---- the operation layer (op.c), used by the I/O futures --------------- */

/* A future's handle on its operation slot. */
struct weft__io_op {
	struct weft__drv_thread *dt; /* NULL: no operation */
	uint32_t index;
	uint32_t gen;
};

/* What to start. */
struct weft__io_req {
	enum weft__op_kind kind;
	int fd;
	uint32_t events;    /* WEFT__OP_POLL; OPENAT flags; FSYNC, STATX flags */
	const void *data;   /* WRITE, WRITE_AT: copied into the slot; OPENAT,
			     * STATX: the NUL-terminated path, copied */
	size_t len;         /* READ / WRITE / READ_AT / WRITE_AT; path + NUL */
	uint32_t aux;       /* OPENAT: mode; STATX: mask; POLL with WEFT__POLL_EDGE: tick */
	uint64_t off;       /* READ_AT / WRITE_AT */
};

/*
 * Starts an operation on the driver of the current runtime: on the calling
 * thread's ring when it owns one, else handed to a ring owner (queue plus
 * kick).  Returns 0 (h now refers to the slot), -EINVAL outside a runtime
 * with a driver, -ENOMEM, or -ECANCELED when the ring's owner has left.
 * Any thread inside a runtime (a task, block_on).
 */
int weft__io_start(struct weft__io_op *h, const struct weft__io_req *req);

/*
 * weft__io_start followed by the first weft__io_poll, in one critical
 * section: for an operation without a slot buffer (WEFT__OP_POLL), whose
 * submission may complete at once (a readiness backend that knows the fd
 * is ready).  Returns 1 when it did (*result holds its result, the slot is
 * already freed and h refers to nothing), 0 when it is in flight (h refers
 * to the slot and the waker of cx is stored: poll it with weft__io_poll
 * after the wake), or a negative errno as weft__io_start (-EINVAL for a
 * NULL cx or result).  Same threads as weft__io_start.
 */
int weft__io_start_poll(struct weft__io_op *h, const struct weft__io_req *req, weft_cx *cx,
			int32_t *result);

/*
 * Checks the operation: WEFT_READY with *result (and, for a read, the
 * bytes copied to `out`, at most `out_len`; for a statx that succeeded,
 * the kernel's struct statx, at most `out_len` bytes) when it completed, the slot
 * then freed and h reset; otherwise stores the waker and returns
 * WEFT_PENDING.  Any thread.
 */
weft_poll weft__io_poll(struct weft__io_op *h, weft_cx *cx, int32_t *result,
			void *out, size_t out_len);

/*
 * Checks a multishot operation: WEFT_READY with *result >= 0 (the next
 * queued fd, which the caller owns now) while any is queued; WEFT_READY
 * with a negative *result once the operation ended and the queue is empty
 * (the slot is then freed and h reset; -ECANCELED for a cancel);
 * otherwise stores the waker and returns WEFT_PENDING.  Any thread.
 */
weft_poll weft__io_poll_multi(struct weft__io_op *h, weft_cx *cx, int32_t *result);

/*
 * Lets go of the operation: frees a completed or never-submitted slot at
 * once; for one in flight, requests a cancel (from the owner) and leaves,
 * the final completion frees the slot.  When the cancel had to be handed
 * to the owner of another ring, returns only once that owner put it in the
 * kernel (readiness waits excepted), so nothing the caller does afterwards
 * reaches the dropped operation; a ring owner waiting so drains its own
 * ring meanwhile.  h is reset.  Any thread.
 */
void weft__io_cancel(struct weft__io_op *h);

/*
 * weft__io_cancel for a WEFT__OP_SEND, which also says how many of its
 * bytes the send wrote: its result when it had completed (0 for a failed
 * one); for one in flight, what the backend found when it settled the
 * cancel before returning (IOCP: the cancel waits for the kernel to finish
 * the WSASend and reads its count, which the backend stores in the slot's
 * `aux`); -1 when the backend does not settle cancels (io_uring: the
 * bytes, if any went out, are unknown), or when h refers to nothing
 * (0 then).  Any thread.
 */
long weft__io_cancel_sent(struct weft__io_op *h);

/*
 * weft__io_cancel for a WEFT__OP_RECV that hands over the bytes it had
 * received when it had completed and nobody polled it yet (copied to
 * `out`, at most out_len): returns how many, or -1 when it had not
 * completed with bytes (a receive in flight is settled by the backend:
 * IOCP keeps what it took in the socket's carry).  Any thread.
 */
long weft__io_cancel_recv(struct weft__io_op *h, void *out, size_t out_len);

/* The `aux` of a WEFT__OP_SEND slot whose cancel no backend settled. */
#define WEFT__SENT_UNKNOWN UINT32_MAX

/*
 * The edge-triggered readiness protocol of the readiness backends (epoll,
 * kqueue; ready.c, docs/driver.md), for an fd whose owner calls
 * weft__io_fd_close before closing it (the sockets of src/net):
 *   tick = weft__io_ready_tick(fd, events, &unready);
 *   if (!unready) try the syscall; done unless it says EAGAIN;
 *   start WEFT__OP_POLL with events | WEFT__POLL_EDGE and aux = tick.
 * The fd is then registered once, edge-triggered, until it is closed; the
 * driver keeps its readiness, and a wait whose tick is still current
 * clears the readiness it waits for (the caller's syscall saw EAGAIN and
 * no event came since), else completes at once.  On io_uring the flag is
 * ignored and the tick is 0.
 */
#define WEFT__POLL_EDGE 0x80000000u

/*
 * The current readiness tick of `fd` on the current runtime's readiness
 * driver, to pass as aux of a WEFT__POLL_EDGE wait; *unready is set true
 * when the driver knows that none of `events` (POLLIN / POLLOUT) is ready,
 * so that the syscall would say EAGAIN.  Returns 0 (and *unready false)
 * outside a runtime, on io_uring, or for an fd not registered edge.  Any
 * thread inside a runtime.
 */
uint32_t weft__io_ready_tick(int fd, uint32_t events, bool *unready);

/*
 * The caller's syscall on `fd`, made after it read `tick`, drained what
 * `events` (POLLIN / POLLOUT) waits for without saying EAGAIN (a short
 * read of a stream socket): when the tick is still current the driver
 * forgets that readiness, as a wait after EAGAIN would, so the next
 * attempt skips the syscall that would say EAGAIN.  No effect outside a
 * runtime, on io_uring, for an fd not registered edge, or when an event
 * came since.  Any thread inside a runtime.
 */
void weft__io_ready_drained(int fd, uint32_t events, uint32_t tick);

/*
 * Tells every readiness driver of the process that `fd` is about to be
 * closed: its registration is removed, waiters on it complete with
 * POLLNVAL (their futures answer -EBADF), and the generation moves on so
 * that a later file with the same number starts afresh.  Call it before
 * close(fd) for every fd that was waited on with WEFT__POLL_EDGE.  Any
 * thread, inside a runtime or not; cheap when no readiness driver exists.
 */
void weft__io_fd_close(int fd);

/* True when the current runtime's driver is completion-based (io_uring);
 * false for readiness (epoll) or outside a runtime. */
bool weft__io_completion_based(void);

/* True when the current runtime's driver has every WEFT__FEAT_* bit of
 * `feat`; false outside a runtime.  Any thread. */
bool weft__io_has(unsigned feat);

/* ---- for the backends (op.c) ------------------------------------------ */

int weft__slab_init(struct op_slab *s, const weft_allocator *alloc);
void weft__slab_finish(struct op_slab *s);
/* The slot at `index` (NULL past the end); caller holds the lock or owns
 * the slot.  Inline: every step of the slot protocol looks slots up. */
static inline struct weft__op *weft__slab_get(struct op_slab *s, uint32_t index)
{
	if (index / WEFT__SLAB_CHUNK >= s->nchunks)
		return NULL;
	return &s->chunks[index / WEFT__SLAB_CHUNK][index % WEFT__SLAB_CHUNK];
}
/* Frees slot `index` (lock held): bumps the generation, frees the buffer. */
void weft__slab_release(struct op_slab *s, uint32_t index);
/*
 * Records the completion of slot `index` if its generation is `gen`
 * (lock NOT held): stores the result and wakes the future, or frees an
 * orphan (closing a yielded fd).  A stale generation is counted and
 * ignored.  Returns true when it matched.
 */
bool weft__op_complete(struct op_slab *s, uint32_t index, uint32_t gen, int32_t res);
/* Closes what a let-go operation yielded (an accepted or opened fd, res
 * >= 0) or still owns (a close that did not run, res -ECANCELED). */
void weft__op_close_yielded(struct weft__op *op, int32_t res);
/*
 * Records one completion of a multishot slot (lock NOT held): queues a
 * yielded fd (res >= 0), and when `more` is false finishes the operation
 * (state OP_DONE, result res when negative).  An orphan closes what it
 * gets and is freed by its last completion.  Returns true when it matched.
 */
bool weft__op_complete_multi(struct op_slab *s, uint32_t index, uint32_t gen, int32_t res,
			     bool more);
/*
 * Records one completion of a WEFT__OP_RECV_MULTI slot (lock NOT held):
 * res > 0 with `has_buf` queues buffer `bid` (res bytes); a completion
 * without `more` finishes the operation (state OP_DONE, result res, 0 for
 * the end of the stream).  A buffer that reaches an orphan, a stale slot
 * or a full queue goes back to the pool (and, for a full queue, the bytes
 * are lost: the queue only fills when allocation fails, and the stream then
 * ends with -ENOMEM).  Returns true when it matched.
 */
bool weft__op_complete_recv(struct op_slab *s, uint32_t index, uint32_t gen, int32_t res,
			    bool more, bool has_buf, uint32_t bid);

/*
 * Reads from a WEFT__OP_RECV_MULTI operation: WEFT_READY with *result > 0
 * bytes copied to `out` (at most `len`, from as many queued buffers as
 * fit, len > 0; emptied buffers go back to the pool) while any is queued; WEFT_READY
 * with *result <= 0 once the operation ended and its queue is empty (0:
 * end of stream; -ENOBUFS: the pool ran dry, start another; the slot is
 * then freed and h reset); otherwise stores the waker and returns
 * WEFT_PENDING.  Any thread.
 */
weft_poll weft__io_poll_recv(struct weft__io_op *h, weft_cx *cx, void *out, size_t len,
			     long *result);

/* Pops the owner's request queue (lock held); WEFT__OP_NONE when empty. */
uint32_t weft__slab_pop_request(struct op_slab *s);
/* The owner popped requests (lock not held): lets the threads waiting
 * for their cancels to be taken look again.  Owner only. */
void weft__slab_note_drained(struct op_slab *s);

/* user_data packing: index in the low 32 bits, generation in the high. */
static inline uint64_t weft__op_user_data(uint32_t index, uint32_t gen)
{
	return ((uint64_t)gen << 32) | index;
}

/* ---- counters and test hooks (driver_test.h re-exports them) ---------- */

struct weft__driver_counters {
	_Atomic uint64_t waits;        /* blocking waits in a driver */
	_Atomic uint64_t wakes;        /* wakes sent through a driver */
	_Atomic uint64_t stale;        /* completions that matched no slot */
	_Atomic uint64_t orphan_freed; /* slots freed by a final completion */
	_Atomic uint64_t fd_closed;    /* yielded fds closed after a cancel */
	_Atomic uint64_t recv_dry;     /* multishot receives ended by a dry pool */
};

extern struct weft__driver_counters weft__driver_counters;
/* When nonzero, io_uring setup fails with -weft__driver_refuse_uring. */
extern _Atomic int weft__driver_refuse_uring;
/* WEFT__FEAT_* bits a runtime created from now on pretends the kernel
 * lacks (tests force the fallback paths with it). */
extern _Atomic unsigned weft__driver_mask_features;
/* When set to k > 0, the k-th operation started from now (weft__io_start,
 * on any thread) fails before anything reaches the kernel, with
 * weft__driver_fail_submit_err when that is negative (-EAGAIN, -ENOMEM:
 * what io_uring_enter or epoll_ctl can answer) or else -EBUSY (a full
 * ring: io_uring_enter with its completion queue overcommitted). */
extern _Atomic long weft__driver_fail_submit_at;
extern _Atomic int weft__driver_fail_submit_err;
/* The function the multi-threaded runtime starts its workers with (same
 * contract as pthread_create: 0 or a positive errno); NULL, the default,
 * is pthread_create.  Tests make it fail the k-th start.  Process-wide;
 * set it while no runtime is being created. */
typedef int (*weft__thread_create_fn)(pthread_t *thread, const pthread_attr_t *attr,
				      void *(*start)(void *), void *arg);
extern _Atomic(weft__thread_create_fn) weft__worker_thread_create_hook;
/* Starts a worker thread through that hook: returns 0 or a positive errno. */
int weft__worker_thread_create(pthread_t *thread, void *(*start)(void *), void *arg);

/* When nonzero (a power of two), the provided-buffer pool a ring creates
 * from now on has that many buffers instead of 256 (tests run the pool
 * dry with it). */
extern _Atomic unsigned weft__driver_pool_bufs;

#if WEFT_HAVE_EPOLL
extern const struct weft__driver_ops weft__epoll_ops;
#endif
#ifdef WEFT_HAVE_IOCP
extern const struct weft__driver_ops weft__iocp_ops;
#endif
#ifdef WEFT_HAVE_KQUEUE
extern const struct weft__driver_ops weft__kqueue_ops;
#endif
#ifdef WEFT_HAVE_URING
extern const struct weft__driver_ops weft__uring_ops;
#endif

#endif /* WEFT_SRC_DRIVER_DRIVER_H */

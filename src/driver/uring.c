/*
 * src/driver/uring.c - the io_uring backend (liburing).
 *
 * One ring per driver thread (per worker; one for a current-thread
 * runtime), each with its own slab of operation slots and its own eventfd.
 *
 * Setup.  Every ring of a multi-threaded runtime is created at runtime
 * creation, so a refusal shows there, with IORING_SETUP_SINGLE_ISSUER |
 * DEFER_TASKRUN | SUBMIT_ALL and R_DISABLED: the worker that owns it
 * enables it on its own thread (thread_init), which makes that worker the
 * ring's single issuer.  TASKRUN_FLAG is asked for too (the kernel then
 * says in the ring's flags when deferred completions wait: see ur_reap);
 * a kernel that refuses it gets the same without it, and one that refuses
 * those flags (-EINVAL) gets SUBMIT_ALL | COOP_TASKRUN, then no flags.  The current-thread runtime's
 * ring is driven by whichever thread is inside block_on, so it never asks
 * for single issuer.  The opcodes weft needs are probed once
 * (io_uring_get_probe_ring); one missing is a refusal.
 *
 * Ownership.  Only the owner thread touches its ring: it submits the
 * operations its tasks start, submits cancels, and reaps.  Other threads
 * hand work over through the slab's request queue and a kick (op.c); the
 * owner drains that queue on every reap and before every wait.
 *
 * Waking.  The ring keeps a read of 8 bytes on its eventfd in flight; a
 * wake writes the eventfd, the read completes, and the wait returns.  The
 * read is re-armed at the next wait.  (docs/driver.md compares this with
 * a ring message, IORING_OP_MSG_RING.)
 *
 * Embedding.  A host event loop that drives a current-thread runtime
 * (weft/embed.h) polls the ring fd itself, which is readable exactly while
 * completions wait in the completion ring.  Before the host waits,
 * poll_prepare submits what is queued and arms the eventfd read, so that a
 * wake from any thread posts a completion and the fd turns readable.
 * (With COOP_TASKRUN a completion is posted by task work on the thread
 * that submitted it; that thread's sleep in poll() is interrupted to run
 * it, so the host should tick and poll on one thread.)
 *
 * Batching.  Starting a readiness wait or a socket recv or send only
 * fills a submission entry; entries reach the kernel at the owner's next reap
 * (io_uring_submit_and_get_events, which also collects what is ready) or
 * wait (io_uring_submit_and_wait_timeout), both of which come before the
 * owner can sleep.  A worker reaps every GLOBAL_INTERVAL polls when busy
 * and before it parks, so an entry waits at most that long; a readiness
 * wait or a receive that is already satisfiable completes at that
 * submission.  One system call thus carries every operation a turn
 * started, where submitting each at once cost one io_uring_enter per
 * operation (docs/net.md, "Performance").  A cancel of an entry still
 * unsubmitted turns it into a no-op (unqueue); any other cancel, and
 * every other kind of operation, is submitted at once.
 *
 * Spinning before sleep.  A worker about to sleep with operations in
 * flight first watches its ring for up to the runtime's spin time
 * (weft_runtime_config.io_spin_ns; the timer deadline cuts it short).
 * With deferred task running and the task-run flag, a completion, a wake
 * of the eventfd (every unpark and kick writes it) and a cancel all show
 * as IORING_SQ_TASKRUN in the ring's flags, so looking is a load from
 * shared memory, not a system call; when the flag shows, one
 * submit_and_get_events posts what is ready and the wait returns as if
 * it had slept.  Where the spin catches it, the thread whose send made
 * the completion (often another process's) does not pay for waking a
 * sleeping thread, and the worker does not wait to be scheduled again.
 * Rings without both flags (the current-thread runtime's, older
 * kernels') never spin.
 *
 * Leaving.  A worker that stops (thread_finish) closes its slab to new
 * operations, cancels everything in flight (IORING_ASYNC_CANCEL_ANY) and
 * reaps until nothing is in the kernel, so no buffer is written after
 * the runtime frees it.
 */
#define _GNU_SOURCE
#include "driver.h"
#include "../common/platform.h"
#include "../sched/park.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define RING_ENTRIES 256
/* Tags in the user data of our own operations; liburing reserves
 * UINT64_MAX for its internal timeouts. */
#define WAKE_TAG (UINT64_MAX - 1)
#define CANCEL_TAG (UINT64_MAX - 2)
/* Set in the index half of a multishot operation's user data: its
 * completions go to weft__op_complete_multi.  (Slab indices stay far
 * below 2^31.) */
#define MULTI_BIT 0x80000000u
/* With MULTI_BIT: a multishot receive (weft__op_complete_recv). */
#define RECV_BIT 0x40000000u

/* The provided-buffer pool of a ring (WEFT__OP_RECV_MULTI): POOL_BUFS
 * buffers of POOL_BUF_SIZE bytes, buffer group POOL_BGID. */
#define POOL_BUFS 256u
#define POOL_BUF_SIZE 4096u
#define POOL_BGID 1

struct ur_pool {
	struct weft__buf_pool base;
	struct io_uring_buf_ring *br;
	size_t ring_bytes;
	unsigned mask;
};

struct ur_thread {
	struct weft__drv_thread base;
	struct ur_pool *pool;
	struct io_uring ring;
	struct op_slab slab;
	unsigned flags;
	bool ring_ok;
	bool efd_armed;
	/* A wait returned and no reap followed yet: the wait already ran the
	 * deferred task work, so that reap needs no syscall of its own. */
	bool waited;
	int efd;
	uint64_t efd_buf;
	unsigned cancels; /* cancel requests whose completion is pending */
};

/* The index of the first tier without SINGLE_ISSUER. */
#define SHARED_FROM 2

static const unsigned setup_tiers[] = {
	IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
		IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_R_DISABLED,
	IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
		IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
	IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
	0,
};

static struct ur_thread *ur_of(struct weft__drv_thread *dt)
{
	return (struct ur_thread *)dt;
}

/* io_uring_disabled = 2 refuses every process; 1 refuses those outside
 * io_uring_group, which io_uring_setup reports as EPERM itself.  Read once
 * per process (it was 4 of the 11 system calls of a runtime's creation):
 * a kernel that has the knob also enforces it in io_uring_setup, so a
 * value changed later is still seen, as that EPERM. */
static _Atomic int sysctl_answer = 1; /* 1: not read yet */

static int sysctl_refuses(void)
{
	/* Relaxed: a cache of a file every thread would read the same. */
	int v = atomic_load_explicit(&sysctl_answer, memory_order_relaxed);
	FILE *f;

	if (v != 1)
		return v;
	v = 0;
	f = fopen("/proc/sys/kernel/io_uring_disabled", "re");
	if (f != NULL) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	v = v == 2 ? -EPERM : 0;
	/* Relaxed: as above. */
	atomic_store_explicit(&sysctl_answer, v, memory_order_relaxed);
	return v;
}

/* The opcodes of the optional file operations (WEFT__FEAT_FS); READ and
 * WRITE with an offset are the needed ones. */
static const int fs_opcodes[] = { IORING_OP_OPENAT, IORING_OP_STATX, IORING_OP_CLOSE,
				  IORING_OP_FSYNC };

/* Probes the opcodes: a needed one missing is a refusal (-ENOTSUP); the
 * optional ones set d->features (minus the tests' mask). */
static int probe_opcodes(struct weft__driver *d, struct io_uring *ring)
{
	static const int needed[] = { IORING_OP_POLL_ADD, IORING_OP_READ, IORING_OP_WRITE,
				      IORING_OP_ASYNC_CANCEL, IORING_OP_ACCEPT };
	struct io_uring_probe *p = io_uring_get_probe_ring(ring);
	/* Multishot accept and multishot receive have no opcode of their
	 * own: assumed here.  A kernel before 5.19 answers a multishot
	 * accept with -EINVAL, one before 6.0 a multishot receive (and one
	 * before 5.19 the buffer ring's registration), on which src/net
	 * falls back to single accepts and plain reads. */
	unsigned feat = WEFT__FEAT_FS | WEFT__FEAT_ACCEPT_MULTI | WEFT__FEAT_RECV_MULTI;
	size_t i;
	int err = 0;

	if (p == NULL)
		return -ENOTSUP;
	for (i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (!io_uring_opcode_supported(p, needed[i]))
			err = -ENOTSUP;
	for (i = 0; i < sizeof(fs_opcodes) / sizeof(fs_opcodes[0]); i++)
		if (!io_uring_opcode_supported(p, fs_opcodes[i]))
			feat &= ~WEFT__FEAT_FS;
	io_uring_free_probe(p);
	/* Relaxed: a test sets the mask before creating the runtime. */
	d->features = feat & ~atomic_load_explicit(&weft__driver_mask_features,
						   memory_order_relaxed);
	return err;
}

/* Creates the ring of `t`, trying the flag tiers from `*tier` on; stores
 * the tier that worked.  Returns 0 or the kernel's -errno. */
static int ring_create(struct ur_thread *t, bool shared, size_t *tier)
{
	size_t i = *tier;
	int err = -EINVAL;

	/* The first SHARED_FROM tiers are single-issuer. */
	if (shared && i < SHARED_FROM)
		i = SHARED_FROM;
	for (; i < sizeof(setup_tiers) / sizeof(setup_tiers[0]); i++) {
		struct io_uring_params p;

		memset(&p, 0, sizeof(p));
		p.flags = setup_tiers[i];
		err = io_uring_queue_init_params(RING_ENTRIES, &t->ring, &p);
		if (err == 0) {
			t->flags = setup_tiers[i];
			t->ring_ok = true;
			*tier = i;
			return 0;
		}
		if (err != -EINVAL)
			break;
	}
	return err;
}

static void pool_free(struct ur_thread *t, const weft_allocator *alloc);

/* The buffer rings go with their rings (io_uring_queue_exit unregisters
 * them), so the pool's memory is unmapped after the ring's exit. */
static void ur_free_threads(struct weft__driver *d, struct ur_thread *ts, unsigned n)
{
	while (n-- > 0) {
		if (ts[n].ring_ok)
			io_uring_queue_exit(&ts[n].ring);
		if (ts[n].efd >= 0)
			close(ts[n].efd);
		weft__slab_finish(&ts[n].slab);
		pool_free(&ts[n], d->alloc);
	}
	weft__free(d->alloc, ts, d->nthreads * sizeof(*ts), _Alignof(struct ur_thread));
	if (d->threads != NULL)
		weft__free(d->alloc, d->threads, d->nthreads * sizeof(*d->threads),
			   _Alignof(void *));
	d->threads = NULL;
	d->backend = NULL;
}

static void arm_wake(struct ur_thread *t)
{
	struct io_uring_sqe *sqe;

	if (t->efd_armed)
		return;
	sqe = io_uring_get_sqe(&t->ring);
	if (sqe == NULL) {
		io_uring_submit(&t->ring);
		sqe = io_uring_get_sqe(&t->ring);
		if (sqe == NULL)
			return; /* retried at the next wait */
	}
	io_uring_prep_read(sqe, t->efd, &t->efd_buf, sizeof(t->efd_buf), 0);
	io_uring_sqe_set_data64(sqe, WAKE_TAG);
	t->efd_armed = true;
}

/* Sets up thread i: slab, eventfd, ring.  Returns 0 or -errno; `refused`
 * says whether the kernel refused. */
static int ur_thread_setup(struct weft__driver *d, struct ur_thread *t, unsigned i,
			   size_t *tier, bool *refused)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->efd = -1;
	t->base.driver = d;
	t->base.slab = &t->slab;
	t->base.index = i;
	atomic_init(&t->base.sleeping, false);
	err = weft__slab_init(&t->slab, d->alloc);
	if (err < 0)
		return err;
	t->efd = eventfd(0, EFD_CLOEXEC);
	if (t->efd < 0)
		return -errno;
	err = ring_create(t, d->shared_owner, tier);
	if (err < 0) {
		*refused = true;
		return err;
	}
	if (i == 0) {
		err = probe_opcodes(d, &t->ring);
		if (err < 0) {
			*refused = true;
			return err;
		}
	}
	if (!(t->flags & IORING_SETUP_R_DISABLED))
		arm_wake(t);
	return 0;
}

static int ur_init(struct weft__driver *d)
{
	struct ur_thread *ts;
	size_t tier = 0;
	bool refused = false;
	unsigned i;
	int err;

	/* Relaxed: a test sets it before creating the runtime. */
	err = -atomic_load_explicit(&weft__driver_refuse_uring, memory_order_relaxed);
	if (err == 0)
		err = sysctl_refuses();
	if (err < 0) {
		d->refused = true;
		return err;
	}
	ts = weft__alloc(d->alloc, d->nthreads * sizeof(*ts), _Alignof(struct ur_thread));
	if (ts == NULL)
		return -ENOMEM;
	d->backend = ts;
	d->threads = weft__alloc(d->alloc, d->nthreads * sizeof(*d->threads),
				 _Alignof(void *));
	if (d->threads == NULL) {
		ur_free_threads(d, ts, 0);
		return -ENOMEM;
	}
	for (i = 0; i < d->nthreads; i++) {
		err = ur_thread_setup(d, &ts[i], i, &tier, &refused);
		if (err < 0) {
			/* The slab of ts[i] may be set up: free it too. */
			ur_free_threads(d, ts, i + (ts[i].slab.alloc != NULL ? 1 : 0));
			d->refused = refused;
			return err;
		}
		d->threads[i] = &ts[i].base;
	}
	return 0;
}

static void ur_finish(struct weft__driver *d)
{
	ur_free_threads(d, d->backend, d->nthreads);
}

/* liburing 2.3 declares io_uring_enable_rings but does not export it:
 * the same request through its exported register call. */
static int enable_rings(struct io_uring *ring)
{
	return io_uring_register((unsigned)ring->ring_fd, IORING_REGISTER_ENABLE_RINGS,
				 NULL, 0);
}

static int ur_thread_init(struct weft__drv_thread *dt)
{
	struct ur_thread *t = ur_of(dt);
	int err;

	if (!(t->flags & IORING_SETUP_R_DISABLED))
		return 0;
	/* Enabling on this thread makes it the single issuer. */
	err = enable_rings(&t->ring);
	if (err < 0)
		return err;
	arm_wake(t);
	io_uring_submit(&t->ring);
	return 0;
}

/* ---- the provided-buffer pool (WEFT__OP_RECV_MULTI) ----------------- */

/* Gives buffer `bid` back to the kernel (slab lock held; any thread: the
 * buffer ring is shared memory, not a submission). */
static void pool_recycle(struct weft__buf_pool *bp, uint32_t bid)
{
	struct ur_pool *p = (struct ur_pool *)bp;

	io_uring_buf_ring_add(p->br, p->base.mem + (size_t)bid * p->base.size, p->base.size,
			      (unsigned short)bid, (int)p->mask, 0);
	io_uring_buf_ring_advance(p->br, 1);
}

/*
 * What io_uring_setup_buf_ring does in later liburing, which 2.3 lacks:
 * maps memory for a ring of `entries` buffer descriptors (page-aligned, as
 * the kernel requires), registers it as group `bgid`, and initialises its
 * tail.  Returns the ring or NULL with *err set (-ENOMEM, or the kernel's
 * -EINVAL on a kernel before 5.19).  Owner thread only (io_uring_register
 * on a single-issuer ring).
 */
static struct io_uring_buf_ring *setup_buf_ring(struct io_uring *ring, unsigned entries,
						int bgid, size_t *bytes, int *err)
{
	struct io_uring_buf_reg reg;
	size_t len = entries * sizeof(struct io_uring_buf);
	void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);

	if (mem == MAP_FAILED) {
		*err = -ENOMEM;
		return NULL;
	}
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long)mem;
	reg.ring_entries = entries;
	reg.bgid = (unsigned short)bgid;
	*err = io_uring_register_buf_ring(ring, &reg, 0);
	if (*err < 0) {
		munmap(mem, len);
		return NULL;
	}
	io_uring_buf_ring_init(mem);
	*bytes = len;
	return mem;
}

static void pool_free(struct ur_thread *t, const weft_allocator *alloc)
{
	struct ur_pool *p = t->pool;

	if (p == NULL)
		return;
	if (p->br != NULL)
		munmap(p->br, p->ring_bytes);
	if (p->base.mem != NULL)
		weft__free(alloc, p->base.mem, (size_t)p->base.count * p->base.size, 64);
	weft__free(alloc, p, sizeof(*p), _Alignof(struct ur_pool));
	t->pool = NULL;
	t->slab.pool = NULL;
}

/* Creates the pool of `t` on its first multishot receive (owner, slab lock
 * held): every buffer starts in the kernel's hands.  Returns 0 or -errno. */
static int pool_ensure(struct ur_thread *t)
{
	const weft_allocator *alloc = t->base.driver->alloc;
	struct ur_pool *p;
	/* Relaxed: a test sets it before the pool is created. */
	uint32_t i, n = atomic_load_explicit(&weft__driver_pool_bufs, memory_order_relaxed);
	int err = -ENOMEM;

	if (t->pool != NULL)
		return 0;
	if (n == 0 || (n & (n - 1)) != 0 || n > 32768)
		n = POOL_BUFS;
	p = weft__alloc(alloc, sizeof(*p), _Alignof(struct ur_pool));
	if (p == NULL)
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	t->pool = p;
	p->base.count = n;
	p->base.size = POOL_BUF_SIZE;
	p->base.recycle = pool_recycle;
	p->base.mem = weft__alloc(alloc, (size_t)n * POOL_BUF_SIZE, 64);
	if (p->base.mem != NULL)
		p->br = setup_buf_ring(&t->ring, n, POOL_BGID, &p->ring_bytes, &err);
	if (p->br == NULL) {
		pool_free(t, alloc);
		return err;
	}
	p->mask = (unsigned)io_uring_buf_ring_mask(n);
	for (i = 0; i < n; i++)
		io_uring_buf_ring_add(p->br, p->base.mem + (size_t)i * POOL_BUF_SIZE,
				      POOL_BUF_SIZE, (unsigned short)i, (int)p->mask, (int)i);
	io_uring_buf_ring_advance(p->br, (int)n);
	t->slab.pool = &p->base;
	return 0;
}

static struct io_uring_sqe *get_sqe(struct ur_thread *t)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&t->ring);

	if (sqe == NULL) {
		/* Full: push what is queued and try once more. */
		io_uring_submit(&t->ring);
		sqe = io_uring_get_sqe(&t->ring);
	}
	return sqe;
}

/* The file operations of weft/fs.h and the socket ring operations
 * (anything else becomes a no-op). */
static void prep_file_op(struct io_uring_sqe *sqe, struct weft__op *op)
{
	switch (op->kind) {
	case WEFT__OP_OPENAT:
		io_uring_prep_openat(sqe, AT_FDCWD, op->buf, (int)(op->events | O_CLOEXEC),
				     op->aux);
		break;
	case WEFT__OP_READ_AT:
		io_uring_prep_read(sqe, op->fd, op->buf, (unsigned)op->len, op->off);
		break;
	case WEFT__OP_WRITE_AT:
		io_uring_prep_write(sqe, op->fd, op->buf, (unsigned)op->len, op->off);
		break;
	case WEFT__OP_FSYNC:
		io_uring_prep_fsync(sqe, op->fd, op->events ? IORING_FSYNC_DATASYNC : 0);
		break;
	case WEFT__OP_STATX:
		io_uring_prep_statx(sqe, op->fd, (char *)op->buf + WEFT__STATX_ROOM,
				    (int)op->events, op->aux, (struct statx *)op->buf);
		break;
	case WEFT__OP_CLOSE:
		io_uring_prep_close(sqe, op->fd);
		break;
	case WEFT__OP_RECV:
		io_uring_prep_recv(sqe, op->fd, op->buf, op->len, 0);
		break;
	case WEFT__OP_SEND:
		io_uring_prep_send(sqe, op->fd, op->buf, op->len, MSG_NOSIGNAL);
		break;
	default:
		io_uring_prep_nop(sqe);
		break;
	}
}

static void prep_op(struct io_uring_sqe *sqe, struct weft__op *op)
{
	switch (op->kind) {
	case WEFT__OP_POLL:
		io_uring_prep_poll_add(sqe, op->fd, op->events);
		break;
	case WEFT__OP_READ:
		io_uring_prep_read(sqe, op->fd, op->buf, (unsigned)op->len, (uint64_t)-1);
		break;
	case WEFT__OP_WRITE:
		io_uring_prep_write(sqe, op->fd, op->buf, (unsigned)op->len, (uint64_t)-1);
		break;
	case WEFT__OP_ACCEPT:
		io_uring_prep_accept(sqe, op->fd, NULL, NULL, SOCK_CLOEXEC);
		break;
	case WEFT__OP_ACCEPT_MULTI:
		/* The sockets weft hands out are non-blocking (weft/net.h). */
		io_uring_prep_multishot_accept(sqe, op->fd, NULL, NULL,
					       SOCK_NONBLOCK | SOCK_CLOEXEC);
		break;
	case WEFT__OP_RECV_MULTI:
		io_uring_prep_recv_multishot(sqe, op->fd, NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = POOL_BGID;
		break;
	default:
		prep_file_op(sqe, op);
		break;
	}
}

static uint64_t user_data_of(const struct weft__op *op, uint32_t index)
{
	if (op->kind == WEFT__OP_ACCEPT_MULTI)
		index |= MULTI_BIT;
	else if (op->kind == WEFT__OP_RECV_MULTI)
		index |= MULTI_BIT | RECV_BIT;
	return weft__op_user_data(index, op->gen);
}

/* The kinds whose submission waits for the next reap or wait: readiness
 * waits and socket transfers, which nothing outside the runtime can
 * observe before the runtime runs again. */
static bool batched(uint8_t kind)
{
	return kind == WEFT__OP_POLL || kind == WEFT__OP_RECV || kind == WEFT__OP_SEND ||
	       kind == WEFT__OP_RECV_MULTI;
}

static int ur_submit(struct weft__drv_thread *dt, struct weft__op *op, uint32_t index)
{
	struct ur_thread *t = ur_of(dt);
	struct io_uring_sqe *sqe;

	if (op->kind == WEFT__OP_RECV_MULTI) {
		int err = pool_ensure(t);

		if (err < 0)
			return err;
	}
	sqe = get_sqe(t);
	if (sqe == NULL)
		return -EBUSY;
	prep_op(sqe, op);
	io_uring_sqe_set_data64(sqe, user_data_of(op, index));
	op->state = OP_INFLIGHT;
	t->slab.inflight++;
	/* The socket data path is not submitted here but with the next reap
	 * or wait (see "Batching" above).  Everything else goes in now: an
	 * open or a read a caller holds across two block_on calls must be
	 * in the kernel in between.  A failed submit leaves the entry queued
	 * in the ring: it goes in with the next one. */
	if (!batched(op->kind))
		io_uring_submit(&t->ring);
	return 0;
}

/*
 * Takes back the entry of slot `index` if it is still in the submission
 * queue, unsubmitted (between liburing's sqe_head and sqe_tail): the entry
 * becomes a no-op whose completion is ignored, and the slot, an orphan, is
 * finished at once with -ECANCELED (lock held).  So a read that was started
 * and dropped in one turn never reaches the kernel, and can never consume
 * bytes that a later read should get.  Returns true when it did.
 */
static bool unqueue(struct ur_thread *t, struct weft__op *op, uint32_t index)
{
	struct io_uring_sq *sq = &t->ring.sq;
	uint64_t ud = user_data_of(op, index);
	unsigned i;

	for (i = sq->sqe_head; i != sq->sqe_tail; i++) {
		struct io_uring_sqe *sqe = &sq->sqes[i & sq->ring_mask];

		if (sqe->user_data != ud)
			continue;
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, CANCEL_TAG);
		t->cancels++;
		op->state = OP_DONE;
		op->result = -ECANCELED;
		t->slab.inflight--;
		weft__op_close_yielded(op, -ECANCELED);
		atomic_fetch_add_explicit(&weft__driver_counters.orphan_freed, 1,
					  memory_order_relaxed);
		/* A slot in the request queue is freed by the owner that
		 * pops it (drain_requests). */
		if (!op->queued)
			weft__slab_release(&t->slab, index);
		return true;
	}
	return false;
}

static void ur_cancel(struct weft__drv_thread *dt, struct weft__op *op, uint32_t index)
{
	struct ur_thread *t = ur_of(dt);
	struct io_uring_sqe *sqe;

	if (op->orphan && unqueue(t, op, index))
		return;
	sqe = get_sqe(t);
	if (sqe == NULL)
		return; /* The operation finishes on its own; its slot is an orphan. */
	io_uring_prep_cancel64(sqe, user_data_of(op, index), 0);
	io_uring_sqe_set_data64(sqe, CANCEL_TAG);
	t->cancels++;
	/* At once: the operation is in the kernel, and must stop before the
	 * caller's next block_on (a read would consume bytes meanwhile). */
	io_uring_submit(&t->ring);
}

/* Owner: submits or cancels what other threads handed over. */
static void drain_requests(struct ur_thread *t)
{
	struct op_slab *s = &t->slab;
	uint32_t idx;

	/* Relaxed: a request seen late is drained by the next call; the
	 * sleeping handshake (driver.c) covers the wait. */
	if (atomic_load_explicit(&s->req_count, memory_order_relaxed) == 0)
		return;
	weft__slab_lock(s);
	while ((idx = weft__slab_pop_request(s)) != WEFT__OP_NONE) {
		struct weft__op *op = weft__slab_get(s, idx);

		if (op->orphan && op->state != OP_INFLIGHT) {
			/* A close that never went in still owns its fd. */
			if (op->state == OP_QUEUED)
				weft__op_close_yielded(op, -ECANCELED);
			weft__slab_release(s, idx);
		} else if (op->state == OP_QUEUED) {
			int err = s->closed ? -ECANCELED : ur_submit(&t->base, op, idx);

			if (err < 0) {
				op->state = OP_INFLIGHT;
				s->inflight++;
				weft__slab_unlock(s);
				weft__op_complete(s, idx, op->gen, err);
				weft__slab_lock(s);
			}
		} else if (op->state == OP_INFLIGHT && op->cancel_requested) {
			ur_cancel(&t->base, op, idx);
		}
	}
	weft__slab_unlock(s);
	/* The cancels popped above are in the kernel: their droppers may go
	 * on (await_handover in op.c). */
	weft__slab_note_drained(s);
}

static void ur_drain(struct weft__drv_thread *dt)
{
	drain_requests(ur_of(dt));
}

static unsigned process_cqes(struct ur_thread *t)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0, done = 0;

	io_uring_for_each_cqe(&t->ring, head, cqe) {
		uint64_t ud = io_uring_cqe_get_data64(cqe);

		seen++;
		if (ud == WAKE_TAG) {
			t->efd_armed = false;
		} else if (ud == CANCEL_TAG) {
			t->cancels--;
		} else if (((uint32_t)ud & (MULTI_BIT | RECV_BIT)) == (MULTI_BIT | RECV_BIT)) {
			if (weft__op_complete_recv(&t->slab, (uint32_t)ud & ~(MULTI_BIT | RECV_BIT),
						   (uint32_t)(ud >> 32), cqe->res,
						   (cqe->flags & IORING_CQE_F_MORE) != 0,
						   (cqe->flags & IORING_CQE_F_BUFFER) != 0,
						   cqe->flags >> IORING_CQE_BUFFER_SHIFT))
				done++;
		} else if ((uint32_t)ud & MULTI_BIT) {
			if (weft__op_complete_multi(&t->slab, (uint32_t)ud & ~MULTI_BIT,
						    (uint32_t)(ud >> 32), cqe->res,
						    (cqe->flags & IORING_CQE_F_MORE) != 0))
				done++;
		} else if (weft__op_complete(&t->slab, (uint32_t)ud, (uint32_t)(ud >> 32),
					     cqe->res)) {
			done++;
		}
	}
	io_uring_cq_advance(&t->ring, seen);
	return done;
}

static bool ring_busy(struct ur_thread *t)
{
	return t->slab.inflight != 0 || t->cancels != 0;
}

static unsigned ur_reap(struct weft__drv_thread *dt)
{
	struct ur_thread *t = ur_of(dt);

	bool waited = t->waited;

	t->waited = false;
	drain_requests(t);
	if (!ring_busy(t) && io_uring_cq_ready(&t->ring) == 0)
		return 0;
	/* Flushes queued entries and, with deferred task running, posts
	 * the completions that are ready.  Right after a wait the kernel
	 * has just done the posting (the wait runs the deferred work before
	 * it returns), so unless entries wait for submission the reap takes
	 * what is in the completion ring without a syscall: a wake of a
	 * parked worker costs one syscall less.  Completions posted later
	 * are taken by the next reap or wait. */
	if ((t->flags & (IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG)) ==
	    (IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG)) {
		/* The kernel marks IORING_SQ_TASKRUN while deferred work
		 * (completions to post) waits, so the enter is made exactly
		 * when there is something to submit or to post: a reap that
		 * finds neither (the busy cadence, the reap after an unpark
		 * that did not wait) costs no system call. */
		if (io_uring_sq_ready(&t->ring) != 0 ||
		    (IO_URING_READ_ONCE(*t->ring.sq.kflags) & IORING_SQ_TASKRUN))
			io_uring_submit_and_get_events(&t->ring);
	} else if (t->flags & IORING_SETUP_DEFER_TASKRUN) {
		if (!waited || io_uring_sq_ready(&t->ring) != 0)
			io_uring_submit_and_get_events(&t->ring);
	} else if (io_uring_sq_ready(&t->ring) != 0) {
		io_uring_submit(&t->ring);
	}
	return process_cqes(t);
}

/* The task-run flag: deferred completions (or a wake) wait to be posted. */
static bool taskrun_pending(struct ur_thread *t)
{
	return (IO_URING_READ_ONCE(*t->ring.sq.kflags) & IORING_SQ_TASKRUN) != 0 ||
	       io_uring_cq_ready(&t->ring) != 0;
}

/* Spinning before sleep (see the top of the file).  Returns true when
 * completions were posted, so the wait need not sleep. */
static bool spin_for_completions(struct ur_thread *t, uint64_t deadline_ns)
{
	uint64_t spin = t->base.driver->spin_ns, end;

	if (spin == 0 || !ring_busy(t) ||
	    (t->flags & (IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG)) !=
		    (IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG))
		return false;
	/* Entries queued this turn (the eventfd read, readiness waits) go in
	 * first; the same call posts what is already ready. */
	if (io_uring_sq_ready(&t->ring) != 0) {
		io_uring_submit_and_get_events(&t->ring);
		if (io_uring_cq_ready(&t->ring) != 0)
			return true;
	}
	end = weft__drv_spin_end(spin, deadline_ns);
	do {
		if (taskrun_pending(t)) {
			io_uring_submit_and_get_events(&t->ring);
			atomic_fetch_add_explicit(&t->base.spins, 1, memory_order_relaxed);
			return true;
		}
		weft__cpu_relax();
	} while (weft__now_ns() < end);
	return false;
}

static void ur_wait(struct weft__drv_thread *dt, uint64_t deadline_ns)
{
	struct ur_thread *t = ur_of(dt);
	struct __kernel_timespec ts, *tsp = NULL;
	struct io_uring_cqe *cqe;

	drain_requests(t);
	arm_wake(t);
	if (io_uring_cq_ready(&t->ring) != 0)
		return;
	if (spin_for_completions(t, deadline_ns)) {
		/* Like a wait that slept: the deferred work has run. */
		t->waited = true;
		return;
	}
	if (deadline_ns != UINT64_MAX) {
		uint64_t now = weft__now_ns(), rel = deadline_ns > now ? deadline_ns - now : 0;

		ts.tv_sec = (long long)(rel / 1000000000u);
		ts.tv_nsec = (long long)(rel % 1000000000u);
		tsp = &ts;
	}
	io_uring_submit_and_wait_timeout(&t->ring, &cqe, 1, tsp, NULL);
	t->waited = true;
}

static void ur_wake(struct weft__drv_thread *dt)
{
	uint64_t one = 1;
	ssize_t rc = write(ur_of(dt)->efd, &one, sizeof(one));

	(void)rc; /* A full counter means a wake is already pending. */
}

static int ur_poll_fd(struct weft__drv_thread *dt)
{
	return ur_of(dt)->ring.ring_fd;
}

static bool ur_poll_prepare(struct weft__drv_thread *dt, bool drain)
{
	struct ur_thread *t = ur_of(dt);

	/* Wakes arrive as completions of the eventfd read: reap consumed
	 * them already, there is nothing else to drain. */
	(void)drain;
	drain_requests(t);
	arm_wake(t);
	if (io_uring_sq_ready(&t->ring) != 0)
		io_uring_submit(&t->ring);
	return io_uring_cq_ready(&t->ring) != 0;
}

static void ur_thread_finish(struct weft__drv_thread *dt)
{
	struct ur_thread *t = ur_of(dt);
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;

	weft__slab_lock(&t->slab);
	t->slab.closed = true;
	weft__slab_unlock(&t->slab);
	drain_requests(t);
	if ((t->flags & IORING_SETUP_R_DISABLED) && !t->efd_armed && !ring_busy(t))
		return; /* never enabled: nothing can be in flight */
	sqe = get_sqe(t);
	if (sqe != NULL) {
		io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
		io_uring_sqe_set_data64(sqe, CANCEL_TAG);
		t->cancels++;
	}
	while (ring_busy(t) || t->efd_armed) {
		if (io_uring_submit_and_wait(&t->ring, 1) < 0 &&
		    io_uring_cq_ready(&t->ring) == 0) {
			/* Our cancel is gone; wake the eventfd read instead. */
			ur_wake(dt);
			if (io_uring_wait_cqe(&t->ring, &cqe) < 0)
				break;
		}
		process_cqes(t);
		drain_requests(t);
	}
}

const struct weft__driver_ops weft__uring_ops = {
	.name = "io_uring",
	.any_thread = false,
	.init = ur_init,
	.finish = ur_finish,
	.thread_init = ur_thread_init,
	.thread_finish = ur_thread_finish,
	.submit = ur_submit,
	.cancel = ur_cancel,
	.wait = ur_wait,
	.wake = ur_wake,
	.reap = ur_reap,
	.poll_fd = ur_poll_fd,
	.poll_prepare = ur_poll_prepare,
	.drain = ur_drain,
};

/*
 * src/driver/iocp.c - the Windows backend: an I/O completion port.
 *
 * One completion port per runtime
 * ===============================
 *
 * The runtime has one port, one slab of operation slots shared by every
 * thread (as epoll shares its instance), and one driver thread per worker.
 * The choice follows epoll's, for the same reason: only the worker that
 * holds the timer duty (multi_thread.c) waits in the driver; the others
 * sleep on their parker word (WaitOnAddress).  With one waiter at a time a
 * port per worker would add nothing but ports to wake and completions to
 * route between them, and a port per runtime lets any worker reap any
 * completion with a zero-timeout GetQueuedCompletionStatusEx on its reap
 * cadence, as any worker may on epoll.  (Windows also spreads one port's
 * completions over its waiters itself, so a later move to several waiters
 * would not need more ports.)
 *
 * Wakes are completion packets: PostQueuedCompletionStatus with the key
 * WAKE_KEY and no OVERLAPPED.  A wake meant for one seat that another seat
 * collects only makes that wait return early (a spurious return, which the
 * callers allow), and a wake posted while nobody waits stays in the port, so
 * the next wait returns at once: sticky like epoll's eventfd, which the
 * parker's protocol relies on (park.c).  The timer wheel's deadline is the
 * wait's timeout, in milliseconds rounded up (never early).
 *
 * Operations
 * ==========
 *
 * Readiness (WEFT__OP_POLL, what src/net uses by default: it makes every
 * transfer itself, non-blocking, and waits only after EAGAIN) comes in two
 * forms:
 *  - readable on a connected stream socket: a zero-byte overlapped
 *    WSARecv, which completes when data, the peer's FIN or an error is
 *    there and consumes nothing, so a wait dropped at any point loses no
 *    byte;
 *  - everything else (writable, a connect finishing, a listener with a
 *    connection, a datagram socket readable): WSAEventSelect on an event
 *    of the request, and a thread-pool wait on that event
 *    (RegisterWaitForSingleObject) whose callback posts the request to the
 *    port.  Winsock signals the event at once when the condition already
 *    holds, so a readiness that came before the registration is not lost.
 *    A socket has one such registration at a time (a second replaces the
 *    first): weft's futures wait for one direction of a socket at a time
 *    this way (connect, accept, a full send buffer, datagrams).
 *
 * The transfers (WEFT__FEAT_SOCK_OPS) are completion operations, as on
 * io_uring: WEFT__OP_RECV / SEND are one overlapped WSARecv / WSASend of
 * the slot's buffer, WEFT__OP_ACCEPT is AcceptEx into a socket the request
 * creates (SO_UPDATE_ACCEPT_CONTEXT and non-blocking once it holds a
 * connection, then handed to the listener's queue of connections in
 * src/net/carry_win32.c: the operation yields no fd but -EAGAIN, "accept
 * again"), WEFT__OP_CONNECT is ConnectEx (the socket bound to the wildcard
 * address first when the caller did not bind it; SO_UPDATE_CONNECT_CONTEXT
 * after).  src/net makes its call first and, on EAGAIN, waits with these
 * in place of readiness (src/net/sockops.c): a read with a receive, a full
 * send buffer with a send of the rest, an accept with AcceptEx, a connect
 * with ConnectEx.
 *
 * A dropped transfer is exact, unlike io_uring's: the drop cancels it and
 * waits, on the dropping thread, until the kernel has finished it (the
 * settle_* functions), so nothing moves on the socket after the drop
 * returns.  What it did before the cancel reached it is kept: a receive's
 * bytes go to the socket's carry (src/net/carry_win32.c), which every
 * later read takes first; a send's count goes to the slot (`aux`), which
 * weft__io_cancel_sent hands to the dropped future; an accept's connection
 * is in the listener's queue; a connect's socket is the future's to close.
 * Accepts and connects have a second step after the kernel's (the
 * context updates): the drop and the packet's dispatch claim the request
 * with a CAS, and a drop that loses waits until the dispatch is done.
 *
 * Every operation that reaches the kernel has a request (struct iocp_req)
 * on the heap holding its OVERLAPPED, the slot's index and generation, and
 * nothing else the future owns.  The kernel owns the request until its
 * completion packet is dequeued, and only the thread that dequeues it frees
 * it, once it has completed the slot (a cancel runs under the slab lock
 * while the slot is in flight, so it never meets a freed request): so a
 * completion that comes after a cancel, after the future was
 * dropped or after its slot was reused touches only its own request, and
 * weft__op_complete matches the generation before it writes anything to
 * the slot.  The slot keeps the request's address in `off` (unused by
 * socket operations) for CancelIoEx, which names one OVERLAPPED and so
 * cancels that operation only, not the others on the same socket.  An
 * event-select request is cancelled by whoever claims it first: the
 * thread-pool callback (CAS 0 -> 1) or the cancel (0 -> 2), and the
 * claimer posts it, so it reaches the port exactly once either way and is
 * freed there, after UnregisterWaitEx has waited out the callback.
 */
#define WIN32_LEAN_AND_MEAN
#include "driver.h"
#include "../sched/park.h"

#include "../net/platform_win32.h"

#include <windows.h>
#include <mswsock.h>

#include <errno.h>
#include <string.h>

#define EVENTS 64
#define WAKE_KEY ((ULONG_PTR)1)
#define OP_KEY ((ULONG_PTR)2)  /* the sockets' association: real I/O */
#define EVT_KEY ((ULONG_PTR)3) /* an event-select request, posted */

struct iocp_thread {
	struct weft__drv_thread base;
	OVERLAPPED_ENTRY ev[EVENTS];
	ULONG nready;
};

struct iocp {
	HANDLE port;
	struct op_slab slab;
	/* Requests in the kernel; read without the lock by the reap shortcut. */
	_Atomic uint32_t pending;
	struct iocp_thread *threads;
	/* ConnectEx, looked up at the first connect (slab lock held). */
	LPFN_CONNECTEX connect_ex;
};

static struct iocp *iocp_of(struct weft__drv_thread *dt)
{
	return dt->driver->backend;
}

static void iocp_free(struct weft__driver *d, struct iocp *c)
{
	const weft_allocator *a = d->alloc;

	if (c->threads != NULL) {
		weft__free(a, d->threads, d->nthreads * sizeof(*d->threads), _Alignof(void *));
		weft__free(a, c->threads, d->nthreads * sizeof(*c->threads),
			   _Alignof(struct iocp_thread));
	}
	if (c->port != NULL)
		CloseHandle(c->port);
	weft__free(a, c, sizeof(*c), _Alignof(struct iocp));
	d->backend = NULL;
	d->threads = NULL;
}

static int iocp_make_threads(struct weft__driver *d, struct iocp *c)
{
	unsigned i;

	c->threads = weft__alloc(d->alloc, d->nthreads * sizeof(*c->threads),
				 _Alignof(struct iocp_thread));
	if (c->threads == NULL)
		return -ENOMEM;
	d->threads = weft__alloc(d->alloc, d->nthreads * sizeof(*d->threads), _Alignof(void *));
	if (d->threads == NULL) {
		weft__free(d->alloc, c->threads, d->nthreads * sizeof(*c->threads),
			   _Alignof(struct iocp_thread));
		c->threads = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < d->nthreads; i++) {
		struct iocp_thread *t = &c->threads[i];

		memset(t, 0, sizeof(*t));
		t->base.driver = d;
		t->base.slab = &c->slab;
		t->base.index = i;
		atomic_init(&t->base.sleeping, false);
		d->threads[i] = &t->base;
	}
	return 0;
}

static int iocp_init(struct weft__driver *d)
{
	struct iocp *c = weft__alloc(d->alloc, sizeof(*c), _Alignof(struct iocp));
	int err;

	if (c == NULL)
		return -ENOMEM;
	memset(c, 0, sizeof(*c));
	atomic_init(&c->pending, 0);
	d->backend = c;
	err = weft__slab_init(&c->slab, d->alloc);
	if (err < 0) {
		weft__free(d->alloc, c, sizeof(*c), _Alignof(struct iocp));
		d->backend = NULL;
		return err;
	}
	/* Concurrency 0: as many running threads as CPUs may dequeue. */
	c->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
	if (c->port == NULL) {
		d->refused = true;
		err = -ENOMEM;
		goto fail;
	}
	err = iocp_make_threads(d, c);
	if (err < 0)
		goto fail;
	/* Relaxed: a test sets the mask before creating the runtime. */
	d->features = WEFT__FEAT_SOCK_OPS & ~atomic_load_explicit(&weft__driver_mask_features,
								 memory_order_relaxed);
	return 0;
fail:
	weft__slab_finish(&c->slab);
	iocp_free(d, c);
	return err;
}

/* ---- requests ------------------------------------------------------------- */

/* Room for one address AcceptEx writes (its documented minimum: the
 * largest sockaddr plus 16 bytes), twice: the local and the remote one. */
#define ACCEPT_ADDR (sizeof(struct sockaddr_storage) + 16)

/* One operation in the kernel.  Owned by the kernel from submission until
 * its packet is dequeued; freed by the thread that dequeues it. */
struct iocp_req {
	OVERLAPPED ov; /* first: the packet's OVERLAPPED is the request */
	uint32_t index, gen;
	/* The slot's kind (WEFT__OP_POLL, RECV, SEND, ACCEPT, CONNECT). */
	uint8_t kind;
	/* The socket the OVERLAPPED was issued on (the listener for an
	 * accept): CancelIoEx names it with the OVERLAPPED. */
	SOCKET sock;
	WSABUF wb;
	DWORD flags;
	/* WEFT__OP_ACCEPT: the socket AcceptEx accepts into, created at
	 * submission and owned by the request until its packet says it
	 * holds a connection; and the addresses AcceptEx writes. */
	SOCKET acc;
	char addrs[2 * ACCEPT_ADDR];
	/* Event-select requests: the port to post to, the events asked for
	 * (POLLIN / POLLOUT), the event and the thread-pool wait, and who
	 * claimed the request (0 nobody, 1 the callback, 2 a cancel). */
	bool evsel;
	HANDLE port;
	uint32_t events;
	WSAEVENT event;
	HANDLE wait;
	/* Who claimed the request: event-select (above), and accepts and
	 * connects, which a dropping thread may finish itself (settle_sock):
	 * 0 nobody, 1 the dispatch of its packet, 2 the drop. */
	_Atomic int claimed;
	/* Accepts and connects claimed by the dispatch: set once that thread
	 * is done with the sockets, with the result it found (settle_sock). */
	_Atomic bool finished;
	int32_t res;
};

/* A negative errno for a Winsock or Win32 error: the Win32 codes an
 * overlapped socket operation ends with here, the Winsock ones through
 * the one table of src/net/platform_win32.c. */
static int32_t err_from_win(DWORD e)
{
	switch (e) {
	case ERROR_OPERATION_ABORTED: /* = WSA_OPERATION_ABORTED */
		return -ECANCELED;
	case ERROR_NETNAME_DELETED:
		return -ECONNRESET;
	case ERROR_CONNECTION_ABORTED:
		return -ECONNABORTED;
	case ERROR_INVALID_HANDLE:
		return -EBADF;
	case ERROR_NOT_ENOUGH_MEMORY:
		return -ENOMEM;
	case ERROR_INVALID_PARAMETER:
		return -EINVAL;
	case ERROR_CONNECTION_REFUSED:
		return -ECONNREFUSED;
	case ERROR_NETWORK_UNREACHABLE:
		return -ENETUNREACH;
	case ERROR_HOST_UNREACHABLE:
		return -EHOSTUNREACH;
	case ERROR_SEM_TIMEOUT:
		return -ETIMEDOUT;
	default:
		return -weft__errno_from_wsa((int)e);
	}
}

/* Associates `s` with the port (once per socket; a second association of
 * the same port fails with ERROR_INVALID_PARAMETER, which is fine). */
static int associate(struct iocp *c, SOCKET s)
{
	if (CreateIoCompletionPort((HANDLE)s, c->port, OP_KEY, 0) != NULL)
		return 0;
	if (GetLastError() == ERROR_INVALID_PARAMETER)
		return 0;
	return err_from_win(GetLastError());
}

/* Readable: a zero-byte overlapped WSARecv, which completes when data (or
 * the peer's FIN, or an error) is there and consumes nothing, so a
 * readiness wait dropped at any point loses no byte. */
static int start_readable(struct iocp_req *r)
{
	DWORD got = 0;

	r->wb.buf = NULL;
	r->wb.len = 0;
	r->flags = 0;
	if (WSARecv(r->sock, &r->wb, 1, &got, &r->flags, &r->ov, NULL) == 0)
		return 0; /* done at once: the packet is still queued */
	if (WSAGetLastError() == WSA_IO_PENDING)
		return 0;
	return err_from_win((DWORD)WSAGetLastError());
}

/* The thread-pool callback of an event-select request: posts it unless a
 * cancel claimed it first. */
static VOID CALLBACK on_signal(PVOID ctx, BOOLEAN timed_out)
{
	struct iocp_req *r = ctx;
	int expected = 0;

	(void)timed_out;
	/* AcqRel: pairs with the cancel's CAS; the winner alone posts. */
	if (atomic_compare_exchange_strong_explicit(&r->claimed, &expected, 1,
						    memory_order_acq_rel, memory_order_relaxed))
		(void)PostQueuedCompletionStatus(r->port, 0, EVT_KEY, &r->ov);
}

/* Starts an event-select wait for r->events. */
static int start_evsel(struct iocp *c, struct iocp_req *r)
{
	long mask = FD_CLOSE;

	if (r->events & POLLIN)
		mask |= FD_READ | FD_ACCEPT;
	if (r->events & POLLOUT)
		mask |= FD_WRITE | FD_CONNECT;
	r->evsel = true;
	r->port = c->port;
	r->event = WSACreateEvent();
	if (r->event == WSA_INVALID_EVENT)
		return -ENOMEM;
	if (WSAEventSelect(r->sock, r->event, mask) != 0) {
		int err = err_from_win((DWORD)WSAGetLastError());

		WSACloseEvent(r->event);
		return err;
	}
	if (!RegisterWaitForSingleObject(&r->wait, r->event, on_signal, r, INFINITE,
					 WT_EXECUTEONLYONCE)) {
		(void)WSAEventSelect(r->sock, NULL, 0);
		WSACloseEvent(r->event);
		return -ENOMEM;
	}
	return 0;
}

/* True for a connected stream socket (readable by a zero-byte recv). */
static bool connected_stream(SOCKET s)
{
	int type = 0, listening = 0, len = sizeof(type);
	struct sockaddr_storage peer;
	int plen = sizeof(peer);

	if (getsockopt(s, SOL_SOCKET, SO_TYPE, (char *)&type, &len) != 0 ||
	    type != SOCK_STREAM)
		return false;
	len = sizeof(listening);
	if (getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, (char *)&listening, &len) == 0 &&
	    listening)
		return false;
	return getpeername(s, (struct sockaddr *)&peer, &plen) == 0;
}

/* ---- transfers: overlapped receive, send, accept and connect ------------ */

/*
 * WEFT__OP_RECV / WEFT__OP_SEND: one overlapped WSARecv / WSASend of the
 * slot's buffer.  The slot owns that buffer (op.c copies a send into it
 * and a receive out of it when the future polls), and a slot in flight is
 * freed only by its completion, an orphan's too: so the kernel never
 * writes or reads memory that a dropped future owned.
 */
static int start_transfer(struct iocp_req *r, struct weft__op *op)
{
	DWORD got = 0;
	int rc;

	r->wb.buf = op->buf;
	r->wb.len = op->len > INT32_MAX ? INT32_MAX : (ULONG)op->len;
	r->flags = 0;
	if (op->kind == WEFT__OP_RECV)
		rc = WSARecv(r->sock, &r->wb, 1, &got, &r->flags, &r->ov, NULL);
	else
		rc = WSASend(r->sock, &r->wb, 1, &got, 0, &r->ov, NULL);
	/* Done at once or pending: either way the packet comes to the port
	 * (the socket does not skip the port on success). */
	if (rc == 0 || WSAGetLastError() == WSA_IO_PENDING)
		return 0;
	return err_from_win((DWORD)WSAGetLastError());
}

/*
 * WEFT__OP_ACCEPT: AcceptEx into a socket of the listener's family made
 * here.  The request owns that socket until its packet says it holds a
 * connection: a failed or cancelled accept closes it in its dispatch, an
 * accept that succeeded for an orphan is closed by op.c (the yielded fd).
 * Winsock calls take SOCKETs here, so the POSIX wrappers of
 * platform_win32.h are bypassed with parentheses.
 */
static int start_accept(struct iocp_req *r)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss), err;
	DWORD got = 0;

	if ((getsockname)(r->sock, (struct sockaddr *)&ss, &len) != 0)
		return err_from_win((DWORD)WSAGetLastError());
	r->acc = WSASocketW(ss.ss_family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
			    WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
	if (r->acc == INVALID_SOCKET)
		return err_from_win((DWORD)WSAGetLastError());
	if (AcceptEx(r->sock, r->acc, r->addrs, 0, ACCEPT_ADDR, ACCEPT_ADDR, &got, &r->ov) ||
	    WSAGetLastError() == ERROR_IO_PENDING)
		return 0;
	err = err_from_win((DWORD)WSAGetLastError());
	closesocket(r->acc);
	r->acc = INVALID_SOCKET;
	return err;
}

/*
 * The accepted socket, made a full weft socket: the listener's context
 * (getpeername, shutdown work on it), non-blocking like every weft
 * socket; then handed to the listener's queue of connections
 * (src/net/carry_win32.c), from which the next accept of the listener
 * takes it (the future this accept was for, polled again, or another).
 * Returns -EAGAIN ("accept again: a connection is queued"; never an fd, so
 * that op.c, which closes the fd an orphaned accept yields, closes
 * nothing), or -errno with the socket closed.
 */
static int32_t accept_done(struct iocp_req *r)
{
	u_long nb = 1;
	int32_t err;

	if ((setsockopt)(r->acc, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (char *)&r->sock,
			 sizeof(r->sock)) == 0 &&
	    ioctlsocket(r->acc, FIONBIO, &nb) == 0) {
		err = weft__w_conn_put((int)r->sock, (int)r->acc);
		if (err == 0)
			return -EAGAIN;
	} else {
		err = err_from_win((DWORD)WSAGetLastError());
	}
	closesocket(r->acc);
	return err;
}

/* ConnectEx, looked up once per driver (slab lock held); NULL when the
 * provider has none. */
static LPFN_CONNECTEX connect_ex(struct iocp *c, SOCKET s)
{
	GUID id = WSAID_CONNECTEX;
	DWORD got = 0;

	if (c->connect_ex == NULL &&
	    WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &id, sizeof(id), &c->connect_ex,
		     sizeof(c->connect_ex), &got, NULL, NULL) != 0)
		c->connect_ex = NULL;
	return c->connect_ex;
}

/*
 * WEFT__OP_CONNECT: ConnectEx to the address in the slot's buffer.
 * ConnectEx needs a bound socket: one the caller did not bind is bound to
 * the wildcard address of its family and port 0 first, as connect does
 * implicitly.
 */
static int start_connect(struct iocp *c, struct iocp_req *r, struct weft__op *op)
{
	const struct sockaddr *to = op->buf;
	struct sockaddr_storage local;
	int len = sizeof(local);
	LPFN_CONNECTEX fn;

	if (op->buf == NULL || op->len < sizeof(struct sockaddr_in))
		return -EINVAL;
	if (to->sa_family != AF_INET && to->sa_family != AF_INET6)
		return -EAFNOSUPPORT; /* ConnectEx is for TCP */
	fn = connect_ex(c, r->sock);
	if (fn == NULL)
		return -ENOTSUP;
	if ((getsockname)(r->sock, (struct sockaddr *)&local, &len) != 0) {
		memset(&local, 0, sizeof(local));
		local.ss_family = to->sa_family;
		len = to->sa_family == AF_INET6 ? (int)sizeof(struct sockaddr_in6)
						: (int)sizeof(struct sockaddr_in);
		if ((bind)(r->sock, (struct sockaddr *)&local, len) != 0)
			return err_from_win((DWORD)WSAGetLastError());
	}
	if (fn(r->sock, to, (int)op->len, NULL, 0, NULL, &r->ov) ||
	    WSAGetLastError() == ERROR_IO_PENDING)
		return 0;
	return err_from_win((DWORD)WSAGetLastError());
}

/* The result of a finished transfer (not a readiness wait): bytes moved,
 * -EAGAIN for an accept (its connection queued), 0 for a connect, or
 * -errno. */
static int32_t transfer_result(struct iocp_req *r)
{
	DWORD bytes = 0, flags = 0;
	int32_t err;

	if (!WSAGetOverlappedResult(r->sock, &r->ov, &bytes, FALSE, &flags)) {
		err = err_from_win((DWORD)WSAGetLastError());
		if (r->kind == WEFT__OP_ACCEPT)
			closesocket(r->acc);
		return err;
	}
	switch (r->kind) {
	case WEFT__OP_ACCEPT:
		return accept_done(r);
	case WEFT__OP_CONNECT:
		/* getpeername, shutdown and SO_ERROR work after this. */
		if ((setsockopt)(r->sock, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, NULL, 0) != 0)
			return err_from_win((DWORD)WSAGetLastError());
		return 0;
	default:
		return bytes > INT32_MAX ? INT32_MAX : (int32_t)bytes;
	}
}

/* Starts request r for slot op, by kind. */
static int start_req(struct iocp *c, struct iocp_req *r, struct weft__op *op)
{
	int err;

	if (op->kind == WEFT__OP_POLL && !(r->events == POLLIN && connected_stream(r->sock)))
		return start_evsel(c, r);
	err = associate(c, r->sock);
	if (err < 0)
		return err;
	switch (op->kind) {
	case WEFT__OP_POLL:
		return start_readable(r);
	case WEFT__OP_RECV:
	case WEFT__OP_SEND:
		return start_transfer(r, op);
	case WEFT__OP_ACCEPT:
		return start_accept(r);
	default:
		return start_connect(c, r, op);
	}
}

static int iocp_submit(struct weft__drv_thread *dt, struct weft__op *op, uint32_t index)
{
	struct iocp *c = iocp_of(dt);
	struct iocp_req *r;
	int err;

	if (op->kind != WEFT__OP_POLL && op->kind != WEFT__OP_RECV &&
	    op->kind != WEFT__OP_SEND && op->kind != WEFT__OP_ACCEPT &&
	    op->kind != WEFT__OP_CONNECT)
		return -ENOTSUP; /* the fd and file operations are POSIX */
	if (op->kind == WEFT__OP_RECV) {
		/* What a dropped receive took comes first (settle_recv); a recv
		 * of nothing answers 0 at once, as recv(2) does (a zero-byte
		 * WSARecv would wait for data first). */
		long n = weft__w_carry_take(op->fd, op->buf, op->len, false);

		if (n >= 0 || op->len == 0) {
			op->result = n > 0 ? (int32_t)n : 0;
			op->state = OP_DONE;
			return 0;
		}
	}
	if (op->kind == WEFT__OP_ACCEPT && weft__w_conn_queued(op->fd)) {
		/* A connection waits in the listener's queue already: accept
		 * again (its socket is taken by the accept4 wrapper).  Checked
		 * under the slab lock, under which every accept that queued a
		 * connection completes: an accept either sees the connection
		 * here or is in the kernel before its queuer is dropped, and
		 * that drop's kick (weft__w_conn_kick) reaches it. */
		op->result = -EAGAIN;
		op->state = OP_DONE;
		return 0;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->index = index;
	r->gen = op->gen;
	r->kind = op->kind;
	r->sock = (SOCKET)(uintptr_t)(unsigned)op->fd;
	r->acc = INVALID_SOCKET;
	r->events = op->events & (POLLIN | POLLOUT);
	atomic_init(&r->claimed, 0);
	atomic_init(&r->finished, false);
	/* Counted before it can complete (another thread may dequeue its
	 * packet before this returns).  Relaxed: only the reap shortcut and
	 * the final drain read it. */
	atomic_fetch_add_explicit(&c->pending, 1, memory_order_relaxed);
	err = start_req(c, r, op);
	if (err < 0) {
		/* Relaxed: as above. */
		atomic_fetch_sub_explicit(&c->pending, 1, memory_order_relaxed);
		free(r);
		return err;
	}
	/* The slab lock is held: a packet already dequeued elsewhere waits
	 * in weft__op_complete until the slot below is in flight. */
	op->off = (uint64_t)(uintptr_t)r;
	op->state = OP_INFLIGHT;
	c->slab.inflight++;
	weft__drv_count_submit(dt);
	return 0;
}

/*
 * Makes the request's packet come early.  The packet still comes exactly
 * once (ERROR_OPERATION_ABORTED, or the result if the operation finished
 * first) and frees the request; the slot goes with it (op.c marked it
 * orphan or keeps the result).
 */
static void cancel_req(struct iocp_req *r)
{
	int expected = 0;

	if (!r->evsel) {
		(void)CancelIoEx((HANDLE)r->sock, &r->ov);
		return;
	}
	/* AcqRel: pairs with the callback's CAS; the winner alone posts.  A
	 * winning cancel also ends the socket's selection here, on the
	 * cancelling thread: the future that dropped this wait may start a
	 * new one on the same socket at once, and the packet's dispatch
	 * (evsel_result), which comes later on the port's thread, must not
	 * clear that newer selection (a socket has one at a time). */
	if (atomic_compare_exchange_strong_explicit(&r->claimed, &expected, 2,
						    memory_order_acq_rel, memory_order_relaxed)) {
		(void)WSAEventSelect(r->sock, NULL, 0);
		(void)PostQueuedCompletionStatus(r->port, 0, EVT_KEY, &r->ov);
	}
}

/* How long a dropped receive's cancel may take before settle_recv stops
 * waiting for it (never seen: a pending receive cancels at once). */
#define SETTLE_NS (5ull * 1000000000u)

/*
 * Cancels a dropped receive and waits for the kernel to finish it, so that
 * nothing is read from the socket after the drop returns; the bytes it
 * took before the cancel reached it (it raced with data) go to the carry
 * (src/net/carry_win32.c), which every later read of the socket takes
 * first.  Called by the dropping thread with the slab lock held and the
 * slot in flight: its buffer lives until the completion, which still
 * comes and frees the request and the orphaned slot (dispatch frees the
 * request only after weft__op_complete, which waits for this lock).
 */
static void settle_recv(struct iocp_req *r, struct weft__op *op)
{
	uint64_t limit = weft__now_ns() + SETTLE_NS;
	DWORD bytes = 0, flags = 0;
	int type = SOCK_STREAM, len = sizeof(type);

	(void)CancelIoEx((HANDLE)r->sock, &r->ov);
	/* The kernel sets the status, then queues the packet. */
	while (!HasOverlappedIoCompleted(&r->ov)) {
		if (weft__now_ns() > limit)
			return; /* the bytes, if any come, are then lost */
		SleepEx(0, TRUE);
	}
	if (!WSAGetOverlappedResult(r->sock, &r->ov, &bytes, FALSE, &flags) || bytes == 0)
		return;
	(void)(getsockopt)(r->sock, SOL_SOCKET, SO_TYPE, (char *)&type, &len);
	(void)weft__w_carry_put(op->fd, op->buf, bytes, type != SOCK_STREAM);
}

/*
 * Cancels a dropped send and waits for the kernel to finish it, then
 * stores in the slot's `aux` how many bytes it wrote (weft__io_cancel_sent:
 * a dropped write says how much went out).  The count comes with the
 * cancelled status as well: a WSASend the cancel cut short reports the
 * bytes it had handed to the connection (checked under wine: the peer
 * received exactly that many, in order).  Same threads, lock and lifetime
 * as settle_recv; when the kernel does not finish it in time the count
 * stays unknown (WEFT__SENT_UNKNOWN).
 */
static void settle_send(struct iocp_req *r, struct weft__op *op)
{
	uint64_t limit = weft__now_ns() + SETTLE_NS;
	DWORD bytes = 0, flags = 0;

	(void)CancelIoEx((HANDLE)r->sock, &r->ov);
	while (!HasOverlappedIoCompleted(&r->ov)) {
		if (weft__now_ns() > limit)
			return;
		SleepEx(0, TRUE);
	}
	if (!WSAGetOverlappedResult(r->sock, &r->ov, &bytes, FALSE, &flags))
		bytes = (DWORD)r->ov.InternalHigh; /* cancelled: what it wrote */
	op->aux = bytes > op->len ? (uint32_t)op->len : (uint32_t)bytes;
}

/* Waits (bounded by SETTLE_NS from `limit`) until *flag is true;
 * false when it never was. */
static bool wait_flag(_Atomic bool *flag, uint64_t limit)
{
	/* Acquire: pairs with the release store of claimed_result. */
	while (!atomic_load_explicit(flag, memory_order_acquire)) {
		if (weft__now_ns() > limit)
			return false;
		SleepEx(0, TRUE);
	}
	return true;
}

/*
 * Cancels a dropped accept or connect and waits until it is over, so that
 * no operation uses the sockets after the drop returns (the connect
 * future closes its socket right after; an accept's connection is in the
 * listener's queue by then, for the next accept).  Like settle_recv: the
 * dropping thread, slab lock held, slot in flight.  The kernel finishes
 * the operation; then whoever claims the request first finishes the rest
 * (accept_done, SO_UPDATE_CONNECT_CONTEXT): this thread, or the thread
 * that dequeued its packet already, which this one then waits for (that
 * thread takes no slab lock until it is done: claimed_result).
 * An accept's connection is in the listener's queue when this returns;
 * src/net kicks the listener's other accepts then (weft__w_conn_kick).
 */
static void settle_sock(struct iocp_req *r)
{
	uint64_t limit = weft__now_ns() + SETTLE_NS;
	int expected = 0;
	int32_t res;

	(void)CancelIoEx((HANDLE)r->sock, &r->ov);
	while (!HasOverlappedIoCompleted(&r->ov)) {
		if (weft__now_ns() > limit)
			return; /* its packet finishes it, later */
		SleepEx(0, TRUE);
	}
	/* AcqRel: pairs with claimed_result's CAS; the winner finishes it. */
	if (atomic_compare_exchange_strong_explicit(&r->claimed, &expected, 2,
						    memory_order_acq_rel, memory_order_relaxed))
		res = transfer_result(r);
	else if (wait_flag(&r->finished, limit))
		res = r->res;
	else
		return;
	(void)res;
}

static void iocp_cancel(struct weft__drv_thread *dt, struct weft__op *op, uint32_t index)
{
	struct iocp_req *r = (struct iocp_req *)(uintptr_t)op->off;

	(void)dt;
	(void)index;
	if (r != NULL && r->kind == WEFT__OP_RECV)
		settle_recv(r, op);
	else if (r != NULL && r->kind == WEFT__OP_SEND)
		settle_send(r, op);
	else if (r != NULL && (r->kind == WEFT__OP_ACCEPT || r->kind == WEFT__OP_CONNECT))
		settle_sock(r);
	else if (r != NULL)
		cancel_req(r);
}

/* ---- waiting and reaping ---------------------------------------------------- */

/* Milliseconds until `deadline_ns`, rounded up so that a wait never ends
 * before its deadline (INFINITE for none). */
static DWORD timeout_ms(uint64_t deadline_ns)
{
	uint64_t now, ms;

	if (deadline_ns == UINT64_MAX)
		return INFINITE;
	now = weft__now_ns();
	if (deadline_ns <= now)
		return 0;
	ms = (deadline_ns - now + 999999u) / 1000000u;
	return ms >= INFINITE ? INFINITE - 1 : (DWORD)ms;
}

/* Dequeues up to EVENTS packets into t (none when some are still there). */
static void collect(struct iocp *c, struct iocp_thread *t, DWORD ms)
{
	ULONG n = 0;

	if (t->nready != 0)
		return;
	if (!GetQueuedCompletionStatusEx(c->port, t->ev, EVENTS, &n, ms, FALSE))
		n = 0; /* WAIT_TIMEOUT */
	t->nready = n;
}

static void iocp_wait(struct weft__drv_thread *dt, uint64_t deadline_ns)
{
	collect(iocp_of(dt), (struct iocp_thread *)dt, timeout_ms(deadline_ns));
}

static void iocp_wake(struct weft__drv_thread *dt)
{
	/* Fails only when the system is out of memory; the wake is then
	 * lost, as an eventfd write cannot be. */
	(void)PostQueuedCompletionStatus(iocp_of(dt)->port, 0, WAKE_KEY, NULL);
}

/* The result of a finished event-select request; ends its registration. */
static int32_t evsel_result(struct iocp_req *r)
{
	WSANETWORKEVENTS ne;
	int32_t res = 0;

	/* Waits out a callback still returning (it posted already). */
	(void)UnregisterWaitEx(r->wait, INVALID_HANDLE_VALUE);
	/* Acquire: pairs with the claimer's CAS. */
	if (atomic_load_explicit(&r->claimed, memory_order_acquire) == 2) {
		res = -ECANCELED;
	} else if (WSAEnumNetworkEvents(r->sock, r->event, &ne) == 0) {
		if (ne.lNetworkEvents & (FD_READ | FD_ACCEPT))
			res |= POLLIN;
		if (ne.lNetworkEvents & (FD_WRITE | FD_CONNECT))
			res |= POLLOUT;
		if (ne.lNetworkEvents & FD_CLOSE)
			res |= POLLIN | POLLHUP;
		if ((ne.lNetworkEvents & FD_CONNECT) && ne.iErrorCode[FD_CONNECT_BIT] != 0)
			res |= POLLERR;
	}
	/* Nothing recorded (a stale signal): report what was asked; the
	 * future's next call says EAGAIN and it waits again. */
	if (res == 0)
		res = (int32_t)r->events;
	/* A cancelled request's selection was ended by its cancel (cancel_req);
	 * the socket may carry a newer one by now. */
	if (res != -ECANCELED)
		(void)WSAEventSelect(r->sock, NULL, 0);
	WSACloseEvent(r->event);
	return res;
}

/* The result of a zero-byte receive (readable). */
static int32_t readable_result(struct iocp_req *r)
{
	DWORD bytes = 0, flags = 0;
	int32_t res;

	/* The packet's status, read from the OVERLAPPED (no wait). */
	if (WSAGetOverlappedResult(r->sock, &r->ov, &bytes, FALSE, &flags))
		return POLLIN;
	res = err_from_win((DWORD)WSAGetLastError());
	/* A reset or an abort is still "readable": the next recv reports it. */
	if (res == -ECONNRESET || res == -ECONNABORTED)
		res = POLLIN | POLLHUP;
	return res;
}

/* The result of an accept or connect whose packet was dequeued, unless a
 * drop claimed it first (settle_sock finished it then: -ECANCELED). */
static int32_t claimed_result(struct iocp_req *r)
{
	int expected = 0;

	/* AcqRel: pairs with settle_sock's CAS; the winner finishes it. */
	if (!atomic_compare_exchange_strong_explicit(&r->claimed, &expected, 1,
						     memory_order_acq_rel, memory_order_relaxed))
		return -ECANCELED;
	r->res = transfer_result(r);
	/* Release: pairs with settle_sock's acquire (wait_flag): the dropper
	 * reads r->res and closes the sockets only after this. */
	atomic_store_explicit(&r->finished, true, memory_order_release);
	return r->res;
}

/* Frees the request of one dequeued packet and completes its slot. */
static unsigned dispatch(struct iocp *c, OVERLAPPED_ENTRY *e)
{
	struct iocp_req *r = (struct iocp_req *)(void *)e->lpOverlapped;
	uint32_t index = r->index, gen = r->gen;
	unsigned done;
	int32_t res;

	if (r->evsel)
		res = evsel_result(r);
	else if (r->kind == WEFT__OP_POLL)
		res = readable_result(r);
	else if (r->kind == WEFT__OP_ACCEPT || r->kind == WEFT__OP_CONNECT)
		res = claimed_result(r);
	else
		res = transfer_result(r);
	/* The socket was closed under the operation (its handle is gone):
	 * -EBADF, as the readiness drivers answer (weft__io_fd_close). */
	if (res == -ENOTSOCK)
		res = -EBADF;
	/* The request is freed after the slot is completed: until then a
	 * cancel (under the slab lock, the slot in flight) may still use it. */
	done = weft__op_complete(&c->slab, index, gen, res) ? 1 : 0;
	free(r);
	/* Relaxed: see iocp_submit (a reap that misses a new request finds
	 * its packet at the next one). */
	atomic_fetch_sub_explicit(&c->pending, 1, memory_order_relaxed);
	return done;
}

static unsigned iocp_reap(struct weft__drv_thread *dt)
{
	struct iocp_thread *t = (struct iocp_thread *)dt;
	struct iocp *c = iocp_of(dt);
	unsigned done = 0;
	ULONG i, n;

	if (t->nready == 0) {
		/* Relaxed: a request missed here is found at the next reap or
		 * by the waiter. */
		if (atomic_load_explicit(&c->pending, memory_order_relaxed) == 0)
			return 0;
		collect(c, t, 0);
	}
	n = t->nready;
	t->nready = 0;
	for (i = 0; i < n; i++) {
		if (t->ev[i].lpCompletionKey == WAKE_KEY)
			continue; /* a wake: it ended the wait, nothing to do */
		done += dispatch(c, &t->ev[i]);
	}
	return done;
}

static int iocp_poll_fd(struct weft__drv_thread *dt)
{
	(void)dt;
	return -1; /* no fd for a host loop: weft/embed.h is POSIX only */
}

static bool iocp_poll_prepare(struct weft__drv_thread *dt, bool drain)
{
	(void)drain;
	return ((struct iocp_thread *)dt)->nready != 0;
}

/* ---- life --------------------------------------------------------------------- */

/* Cancels every request in the kernel and waits for their packets, so
 * that no request and no slot buffer outlives the driver. */
static void drain(struct iocp *c)
{
	uint32_t ch, i;
	OVERLAPPED_ENTRY ev[EVENTS];
	ULONG n, k;

	weft__slab_lock(&c->slab);
	for (ch = 0; ch < c->slab.nchunks; ch++) {
		for (i = 0; i < 64; i++) {
			struct weft__op *op = weft__slab_get(&c->slab, ch * 64 + i);

			if (op != NULL && op->state == OP_INFLIGHT && op->off != 0)
				cancel_req((struct iocp_req *)(uintptr_t)op->off);
		}
	}
	weft__slab_unlock(&c->slab);
	/* Relaxed: this thread is the last user of the port. */
	while (atomic_load_explicit(&c->pending, memory_order_relaxed) != 0) {
		if (!GetQueuedCompletionStatusEx(c->port, ev, EVENTS, &n, INFINITE, FALSE))
			break;
		for (k = 0; k < n; k++)
			if (ev[k].lpCompletionKey != WAKE_KEY)
				dispatch(c, &ev[k]);
	}
}

static void iocp_finish(struct weft__driver *d)
{
	struct iocp *c = d->backend;

	drain(c);
	weft__slab_finish(&c->slab);
	iocp_free(d, c);
}

static int iocp_thread_init(struct weft__drv_thread *dt)
{
	(void)dt;
	return 0;
}

static void iocp_thread_finish(struct weft__drv_thread *dt)
{
	(void)dt;
}

const struct weft__driver_ops weft__iocp_ops = {
	.name = "iocp",
	.any_thread = true,
	.init = iocp_init,
	.finish = iocp_finish,
	.thread_init = iocp_thread_init,
	.thread_finish = iocp_thread_finish,
	.submit = iocp_submit,
	.cancel = iocp_cancel,
	.wait = iocp_wait,
	.wake = iocp_wake,
	.reap = iocp_reap,
	.poll_fd = iocp_poll_fd,
	.poll_prepare = iocp_poll_prepare,
};

/*
 * src/net/carry_win32.c - bytes a dropped overlapped receive took, kept for
 * the socket's next read, and connections AcceptEx accepted, kept for the
 * listener's next accept.  Windows builds only.
 *
 * Why
 * ===
 *
 * On IOCP a receive can be an overlapped WSARecv into the slot's buffer
 * (WEFT__OP_RECV, src/driver/iocp.c).  When its future is dropped the
 * driver cancels it with CancelIoEx and waits for the kernel to finish it
 * (the cancel is immediate for a receive that has nothing; a receive that
 * raced with data finishes with those bytes).  The bytes of a receive that
 * won that race were read from the socket but reached nobody: the driver
 * puts them here, keyed by the socket, before the drop returns, and every
 * read of the socket takes them first (the recv / read wrappers of
 * platform_win32.c and the driver's next WEFT__OP_RECV).  So a dropped
 * read has taken nothing from the stream that the next read does not get,
 * in order, which is what the syscall-first design promises (docs/net.md).
 *
 * The table
 * =========
 *
 * A list of chunks (socket, bytes, how many taken) under one lock, with an
 * atomic count of chunks so that a read of a socket with nothing carried
 * (every read but the one after a lost race) costs one load.  A stream
 * read takes across chunks of its socket up to its length; a datagram
 * read takes one chunk (one datagram, cut to the read's length as recv
 * does).  Closing the socket (weft__w_close) forgets its chunks, so a
 * later socket with the same handle value starts empty.
 */
#include "platform_win32.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct chunk {
	struct chunk *next;
	int fd;
	bool dgram;
	size_t len, off;
	char bytes[];
};

static SRWLOCK lock = SRWLOCK_INIT;
static struct chunk *head, **tail = &head;
static _Atomic unsigned chunks;

int weft__w_carry_put(int fd, const void *buf, size_t len, bool dgram)
{
	struct chunk *c;

	if (len == 0)
		return 0;
	c = malloc(sizeof(*c) + len);
	if (c == NULL)
		return -ENOMEM;
	c->next = NULL;
	c->fd = fd;
	c->dgram = dgram;
	c->len = len;
	c->off = 0;
	memcpy(c->bytes, buf, len);
	AcquireSRWLockExclusive(&lock);
	*tail = c;
	tail = &c->next;
	/* Release: pairs with the acquire in weft__w_carry_take (a read that
	 * sees the count sees the chunk under the lock anyway; the order
	 * only keeps the shortcut honest). */
	atomic_fetch_add_explicit(&chunks, 1, memory_order_release);
	ReleaseSRWLockExclusive(&lock);
	return 0;
}

/* Unlinks *pp (lock held). */
static void unlink_chunk(struct chunk **pp)
{
	struct chunk *c = *pp;

	*pp = c->next;
	if (tail == &c->next)
		tail = pp;
	free(c);
	/* Relaxed: under the lock; the shortcut only needs the put's order. */
	atomic_fetch_sub_explicit(&chunks, 1, memory_order_relaxed);
}

long weft__w_carry_take(int fd, void *buf, size_t len, bool peek)
{
	struct chunk **pp, *c;
	size_t got = 0;
	bool any = false;

	/* Acquire: pairs with weft__w_carry_put's release. */
	if (atomic_load_explicit(&chunks, memory_order_acquire) == 0)
		return -EAGAIN;
	AcquireSRWLockExclusive(&lock);
	pp = &head;
	while ((c = *pp) != NULL && got < len) {
		size_t k;
		bool dgram = c->dgram;

		if (c->fd != fd) {
			pp = &c->next;
			continue;
		}
		any = true;
		k = c->len - c->off < len - got ? c->len - c->off : len - got;
		memcpy((char *)buf + got, c->bytes + c->off, k);
		got += k;
		if (!peek)
			c->off += k;
		/* A datagram is taken whole (cut to the read), one per read. */
		if (!peek && (c->off == c->len || dgram))
			unlink_chunk(pp);
		else
			pp = &c->next;
		if (dgram)
			break;
	}
	ReleaseSRWLockExclusive(&lock);
	return any ? (long)got : -EAGAIN;
}

void weft__w_carry_forget(int fd)
{
	struct chunk **pp = &head;

	/* Acquire: pairs with weft__w_carry_put's release. */
	if (atomic_load_explicit(&chunks, memory_order_acquire) == 0)
		return;
	AcquireSRWLockExclusive(&lock);
	while (*pp != NULL) {
		if ((*pp)->fd == fd)
			unlink_chunk(pp);
		else
			pp = &(*pp)->next;
	}
	ReleaseSRWLockExclusive(&lock);
}

/*
 * Connections
 * ===========
 *
 * The same for accepted connections: on IOCP an accept operation is an
 * AcceptEx, which creates the connection's socket itself.  The driver hands
 * every socket an AcceptEx produced to this queue of its listener (a
 * future polled later, or a future that was dropped meanwhile, takes it
 * from here), and every accept of the listener, the accept4 wrapper of
 * platform_win32.c and the driver's next accept, takes the oldest queued
 * one first.  So a dropped accept has taken no connection from the
 * listener that the next accept does not get.  Closing the listener closes
 * what it still queues (the peers see the connection reset).
 */
struct conn {
	struct conn *next;
	int listener, fd;
};

static struct conn *conn_head, **conn_tail = &conn_head;
static _Atomic unsigned conns;

int weft__w_conn_put(int listener, int fd)
{
	struct conn *c = malloc(sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	c->next = NULL;
	c->listener = listener;
	c->fd = fd;
	AcquireSRWLockExclusive(&lock);
	*conn_tail = c;
	conn_tail = &c->next;
	/* Release: pairs with the acquire loads of the shortcuts below. */
	atomic_fetch_add_explicit(&conns, 1, memory_order_release);
	ReleaseSRWLockExclusive(&lock);
	return 0;
}

/* Unlinks *pp (lock held) and returns its socket. */
static int unlink_conn(struct conn **pp)
{
	struct conn *c = *pp;
	int fd = c->fd;

	*pp = c->next;
	if (conn_tail == &c->next)
		conn_tail = pp;
	free(c);
	/* Relaxed: under the lock; the shortcuts only need the put's order. */
	atomic_fetch_sub_explicit(&conns, 1, memory_order_relaxed);
	return fd;
}

/* The link of listener's oldest connection (lock held), or NULL. */
static struct conn **find_conn(int listener)
{
	struct conn **pp = &conn_head;

	while (*pp != NULL && (*pp)->listener != listener)
		pp = &(*pp)->next;
	return *pp != NULL ? pp : NULL;
}

int weft__w_conn_take(int listener)
{
	struct conn **pp;
	int fd = -EAGAIN;

	/* Acquire: pairs with weft__w_conn_put's release. */
	if (atomic_load_explicit(&conns, memory_order_acquire) == 0)
		return -EAGAIN;
	AcquireSRWLockExclusive(&lock);
	pp = find_conn(listener);
	if (pp != NULL)
		fd = unlink_conn(pp);
	ReleaseSRWLockExclusive(&lock);
	return fd;
}

bool weft__w_conn_queued(int listener)
{
	bool any;

	/* Acquire: pairs with weft__w_conn_put's release. */
	if (atomic_load_explicit(&conns, memory_order_acquire) == 0)
		return false;
	AcquireSRWLockShared(&lock);
	any = find_conn(listener) != NULL;
	ReleaseSRWLockShared(&lock);
	return any;
}

void weft__w_conn_kick(int listener)
{
	if (weft__w_conn_queued(listener))
		(void)CancelIoEx((HANDLE)(uintptr_t)(unsigned)listener, NULL);
}

void weft__w_conn_forget(int listener)
{
	int fd;

	while ((fd = weft__w_conn_take(listener)) >= 0)
		closesocket((SOCKET)(uintptr_t)(unsigned)fd);
}

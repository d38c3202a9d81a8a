/*
 * src/net/carry_win32.c - bytes a dropped overlapped receive took, kept for
 * the socket's next read.  Windows builds only.
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

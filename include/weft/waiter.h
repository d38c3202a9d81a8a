/*
 * weft/waiter.h - private layouts that public futures embed by value: the
 * intrusive waiter node and FIFO list of the waiting primitives, the FIFO
 * semaphore core, and the WEFT__ATOMIC field helper.  Nothing here is API:
 * the fields are touched only by the library (src/common/waitlist.h and
 * src/common/sem.h have the operations).  It is a public header only
 * because weft/sync.h and weft/chan.h need the sizes.
 */
#ifndef WEFT_WAITER_H
#define WEFT_WAITER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/future.h"

/*
 * Private fields that are atomics in C.  C++ sees the plain type so that it
 * can include the headers and hold the structs; it must not touch the
 * fields.  Both languages must lay the structs out alike, and a plain type
 * is not always aligned like its atomic: on i386, uint64_t is 4-aligned in
 * a struct while _Atomic uint64_t is 8-aligned, so weft_barrier would be 4
 * bytes shorter in C++.  Hence the explicit alignment in both languages:
 * every type used here (size_t, unsigned, uint32_t, uint64_t, uintptr_t)
 * has a power-of-two size and is lock-free, so its atomic has that size
 * and is aligned to it, in C as in C++.  test/sync/layout.cpp checks every
 * public struct's size and alignment against the C compiler's.
 */
#ifdef __cplusplus
#define WEFT__ATOMIC(T) alignas(sizeof(T)) T
#else
#define WEFT__ATOMIC(T) _Alignas(sizeof(T)) _Atomic T
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Private: the lock word that guards a primitive's waiter list
 * (src/common/lock.h has the operations and lock.c the protocol).
 */
struct weft__lock {
	/* FREE, HELD or CONTENDED. */
	WEFT__ATOMIC(uint32_t) word;
};

/*
 * Private: the slot a primitive keeps its lock in.  It has the size and
 * alignment of the pthread_mutex_t that weft 0.1 kept there, so that the
 * layout of every public struct (and the offsets of the fields that the
 * inline fast paths of weft/sync.h compile in) stays the same.
 */
union weft__lock_slot {
	/* The lock itself. */
	struct weft__lock lock;
	/* Unused: keeps the 0.1 size and alignment. */
	pthread_mutex_t reserved_;
};

/* Private: a waiter node, inside the waiting future. */
struct weft__waiter {
	struct weft__waiter *prev, *next;
	weft_waker waker;
	bool linked;
};

/* Private: a FIFO of waiter nodes, under the owning primitive's lock. */
struct weft__waitlist {
	struct weft__waiter *head, *tail;
};

/*
 * Private: the FIFO counting semaphore at the core of weft_semaphore,
 * weft_mutex, weft_rwlock and weft_once_cell (src/common/sem.c),
 * and of the bounded mpsc channel.
 */
struct weft__sem {
	/* Available permits << 2 | WAITERS | CLOSED. */
	WEFT__ATOMIC(size_t) state;
	/* The largest count (1 for a mutex); fixed at init. */
	size_t max;
	/* Protects `waiters`; taken only when somebody waits. */
	union weft__lock_slot lock;
	struct weft__waitlist waiters;
};

/*
 * Private: the encoding of weft__sem's state word, shared by sem.c and the
 * inline fast paths of weft/sync.h (which take and return a free mutex or
 * rwlock without a call): permits << WEFT__SEM_SHIFT | WEFT__SEM_WAITERS |
 * WEFT__SEM_CLOSED.  Part of the ABI once inlined into a program: change
 * it only with the library's major version.
 */
#define WEFT__SEM_CLOSED  ((size_t)1)
#define WEFT__SEM_WAITERS ((size_t)2)
#define WEFT__SEM_SHIFT   2

/* Private: the states of an acquire (struct weft__sem_wait's `state`;
 * src/common/sem.c's essay has the transitions). */
enum {
	WEFT__SEM_WAIT_IDLE,    /* not polled yet (or polled but never queued) */
	WEFT__SEM_WAIT_QUEUED,  /* linked in the queue */
	WEFT__SEM_WAIT_GRANTED, /* unlinked by a releaser that gave it every permit */
	WEFT__SEM_WAIT_CLOSED,  /* unlinked by close; its permits went back */
	WEFT__SEM_WAIT_OWNED,   /* returned ready with result 0: the caller owns them */
	WEFT__SEM_WAIT_DONE,    /* returned ready with an error, or dropped */
};

/* Private: one acquire of `needed` permits, inside the acquiring future. */
struct weft__sem_wait {
	struct weft__waiter node;
	struct weft__sem *sem;
	size_t needed;
	/* Permits still owed while queued; under sem->lock. */
	size_t remaining;
	WEFT__ATOMIC(unsigned) state;
};

#ifdef __cplusplus
}
#endif

#endif /* WEFT_WAITER_H */

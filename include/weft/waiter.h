/*
 * weft/waiter.h - private layouts that public futures embed by value: the
 * intrusive waiter node and FIFO list of the waiting primitives, and the
 * WEFT__ATOMIC field helper.  Nothing here is API: the fields are touched
 * only by the library (src/sync/waitlist.h has the operations).  It is a
 * public header only because weft/sync.h and weft/chan.h need the sizes.
 */
#ifndef WEFT_WAITER_H
#define WEFT_WAITER_H

#include <stdbool.h>

#include "weft/future.h"

/*
 * Private fields that are atomics in C.  C++ sees the plain type of the same
 * size so that it can include the headers and hold the structs; it must not
 * touch the fields.
 */
#ifdef __cplusplus
#define WEFT__ATOMIC(T) T
#else
#define WEFT__ATOMIC(T) _Atomic T
#endif

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
}
#endif

#endif /* WEFT_WAITER_H */

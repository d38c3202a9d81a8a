/*
 * src/sync/sem.h - the FIFO counting semaphore shared by weft_semaphore,
 * weft_mutex, weft_rwlock and weft_once_cell.  Private; see the essay at the
 * top of sem.c.
 */
#ifndef WEFT_SRC_SYNC_SEM_H
#define WEFT_SRC_SYNC_SEM_H

#include <stdbool.h>
#include <stddef.h>

#include "weft/sync.h"

/* The largest permit count (the state word keeps two flag bits and one bit
 * of headroom so that a sum of two valid counts cannot overflow). */
#define SEM_MAX_PERMITS WEFT_SEMAPHORE_MAX_PERMITS

/*
 * Initialises `s` with `permits` available permits and a maximum of `max`
 * (permits <= max <= SEM_MAX_PERMITS): the count never exceeds `max`.
 * Returns 0 or the negative errno of pthread_mutex_init.
 */
int weft__sem_init(struct weft__sem *s, size_t permits, size_t max);
void weft__sem_finish(struct weft__sem *s);

/* Takes `n` permits without waiting.  Returns 0, -EAGAIN or -EPIPE. */
int weft__sem_try_acquire(struct weft__sem *s, size_t n);

/*
 * Returns `n` permits.  Fails with -EOVERFLOW, releasing nothing, when the
 * count would exceed the maximum given to weft__sem_init (1 for a mutex,
 * max_readers for a rwlock).
 */
int weft__sem_release(struct weft__sem *s, size_t n);

/* Closes `s` (idempotent). */
void weft__sem_close(struct weft__sem *s);
bool weft__sem_is_closed(const struct weft__sem *s);
size_t weft__sem_available(const struct weft__sem *s);

/* Prepares `w` to acquire `n` permits of `s`. */
void weft__sem_wait_init(struct weft__sem_wait *w, struct weft__sem *s, size_t n);

/*
 * Polls the acquire (spending one unit of the budget).  On WEFT_READY,
 * *result is 0 (the caller holds the permits) or -EPIPE (closed).  Must not
 * be polled again after WEFT_READY.
 */
weft_poll weft__sem_wait_poll(struct weft__sem_wait *w, weft_cx *cx, int *result);

/*
 * Cancels the acquire: unlinks it if queued and passes on every permit it
 * was handed but had not yet returned as ready.  After a ready poll it does
 * nothing (the caller owns the permits).  Idempotent.
 */
void weft__sem_wait_drop(struct weft__sem_wait *w);

#endif /* WEFT_SRC_SYNC_SEM_H */

/*
 * src/common/wakebatch.h - a bounded batch of wakers collected under a lock
 * and woken after it is released.  Private; part of the one list layer in
 * src/common, used by sync and chan.
 *
 * Waking runs foreign code (a waker's vtable may do anything, including
 * calling back into the primitive that woke it), so the primitives never
 * wake while holding their queue lock.  They pop waiters under the lock,
 * move each waiter's waker into a batch, mark the waiter done, and wake the
 * batch once the lock is released.  A batch holds WAKE_BATCH wakers; a
 * primitive that must wake more (notify_waiters, close, a barrier release)
 * drops the lock, wakes a full batch and takes the lock again, so the lock
 * is never held for a number of steps that grows with the queue.  That
 * step is weft__wake_batch_flush_if_full, written once here; every loop
 * that pops waiters calls it after each push, and ends with
 * weft__wake_batch_unlock_wake.
 *
 * Because the lock is dropped between batches, a loop that pops waiters
 * must re-read whatever the lock protects after each flush (the list head,
 * a generation): the helpers return whether they dropped it.
 */
#ifndef WEFT_SRC_COMMON_WAKEBATCH_H
#define WEFT_SRC_COMMON_WAKEBATCH_H

#include <pthread.h>
#include <stdbool.h>

#include "weft/future.h"
#include "lock.h"

#define WAKE_BATCH 32

struct weft__wake_batch {
	weft_waker wakers[WAKE_BATCH];
	unsigned count;
};

static inline void weft__wake_batch_init(struct weft__wake_batch *b)
{
	b->count = 0;
}

static inline bool weft__wake_batch_full(const struct weft__wake_batch *b)
{
	return b->count == WAKE_BATCH;
}

/* Moves `*w` into the batch (an empty waker is skipped); `*w` is left
 * empty.  The batch must not be full. */
static inline void weft__wake_batch_push(struct weft__wake_batch *b, weft_waker *w)
{
	if (!weft_waker_is_empty(w))
		b->wakers[b->count++] = *w;
	w->data = NULL;
	w->vtable = NULL;
}

/* Wakes (and consumes) every waker in the batch; it is empty afterwards.
 * Call without holding any primitive's lock. */
static inline void weft__wake_batch_wake_all(struct weft__wake_batch *b)
{
	unsigned i;

	for (i = 0; i < b->count; i++)
		weft_waker_wake(&b->wakers[i]);
	b->count = 0;
}

/*
 * The "batch full: unlock, wake, relock" step.  Called with `lock` held
 * after a push: when the batch is full, releases `lock`, wakes the batch
 * and takes `lock` again.  Returns true when it did (so the caller knows
 * the protected state may have changed), false when the batch had room.
 * `lock` is a pthread_mutex_t * or a struct weft__lock * (lock.h); the
 * macros below pick the matching function.
 */
static inline bool weft__wake_batch_flush_if_full_pm(struct weft__wake_batch *b,
						     pthread_mutex_t *lock)
{
	if (!weft__wake_batch_full(b))
		return false;
	pthread_mutex_unlock(lock);
	weft__wake_batch_wake_all(b);
	pthread_mutex_lock(lock);
	return true;
}

static inline bool weft__wake_batch_flush_if_full_lk(struct weft__wake_batch *b,
						     struct weft__lock *lock)
{
	if (!weft__wake_batch_full(b))
		return false;
	weft__lock_release(lock);
	weft__wake_batch_wake_all(b);
	weft__lock_acquire(lock);
	return true;
}

/* Ends a waking section: releases `lock`, then wakes the batch. */
static inline void weft__wake_batch_unlock_wake_pm(struct weft__wake_batch *b,
						   pthread_mutex_t *lock)
{
	pthread_mutex_unlock(lock);
	weft__wake_batch_wake_all(b);
}

static inline void weft__wake_batch_unlock_wake_lk(struct weft__wake_batch *b,
						   struct weft__lock *lock)
{
	weft__lock_release(lock);
	weft__wake_batch_wake_all(b);
}

#define weft__wake_batch_flush_if_full(b, lock)                             \
	_Generic((lock), struct weft__lock *: weft__wake_batch_flush_if_full_lk, \
		 default: weft__wake_batch_flush_if_full_pm)((b), (lock))

#define weft__wake_batch_unlock_wake(b, lock)                               \
	_Generic((lock), struct weft__lock *: weft__wake_batch_unlock_wake_lk,   \
		 default: weft__wake_batch_unlock_wake_pm)((b), (lock))

/*
 * Stores a clone of `w` in `*slot` (the caller holds the lock that guards
 * the slot) unless the slot already wakes the same thing.  Returns the
 * waker it replaced, or an empty one; the caller drops it after unlocking,
 * so that no waker's drop runs under a primitive's lock.
 */
static inline weft_waker weft__waker_replace(weft_waker *slot, const weft_waker *w)
{
	weft_waker old = { NULL, NULL };

	if (weft_waker_will_wake(slot, w))
		return old;
	old = *slot;
	*slot = weft_waker_clone(w);
	return old;
}

/* Takes the waker out of `*slot`, leaving it empty; the caller drops or
 * wakes it after unlocking. */
static inline weft_waker weft__waker_take(weft_waker *slot)
{
	weft_waker w = *slot;

	slot->data = NULL;
	slot->vtable = NULL;
	return w;
}

#endif /* WEFT_SRC_COMMON_WAKEBATCH_H */

/*
 * src/sync/mutex.c - weft_mutex: a semaphore with one permit.
 *
 * The FIFO semaphore of sem.c gives the mutex its properties for free:
 * lock and unlock are one CAS each without contention, and an unlock with
 * waiters hands the permit straight to the oldest one (the unlocker never
 * puts it back in the counter, so nobody can barge in between).
 *
 * In C the uncontended paths never reach this file: weft/sync.h wraps
 * weft_mutex_lock, try_lock and unlock in inline functions that do the one
 * CAS in the caller (a free mutex's state word is exactly one permit, so
 * the CAS needs no load first) and come here only when it fails.  The
 * functions below are what those fall back to and what C++ calls.
 */
#include <errno.h>

#include "../common/sem.h"

int weft_mutex_init(weft_mutex *m)
{
	if (m == NULL)
		return -EINVAL;
	return weft__sem_init(&m->sem, 1, 1);
}

void weft_mutex_finish(weft_mutex *m)
{
	if (m != NULL)
		weft__sem_finish(&m->sem);
}

int (weft_mutex_try_lock)(weft_mutex *m)
{
	if (m == NULL)
		return -EINVAL;
	return weft__sem_try_acquire(&m->sem, 1);
}

static weft_poll lock_poll(weft_future *f, weft_cx *cx)
{
	weft_mutex_lock_future *self = (weft_mutex_lock_future *)f;

	if (self->wait.sem == NULL) {
		self->result = -EINVAL;
		return WEFT_READY;
	}
	return weft__sem_wait_poll(&self->wait, cx, &self->result);
}

static void lock_drop(weft_future *f)
{
	weft_mutex_lock_future *self = (weft_mutex_lock_future *)f;

	if (self->wait.sem != NULL)
		weft__sem_wait_drop(&self->wait);
}

int (weft_mutex_lock)(weft_mutex *m, weft_mutex_lock_future *f)
{
	if (f == NULL)
		return -EINVAL;
	f->base.poll = lock_poll;
	f->base.drop = lock_drop;
	f->result = -EINVAL;
	weft__sem_wait_init(&f->wait, m != NULL ? &m->sem : NULL, 1);
	return m != NULL ? 0 : -EINVAL;
}

int (weft_mutex_unlock)(weft_mutex *m)
{
	if (m == NULL)
		return -EINVAL;
	return weft__sem_release(&m->sem, 1) == 0 ? 0 : -EPERM;
}

bool weft_mutex_is_locked(const weft_mutex *m)
{
	return m != NULL && weft__sem_available(&m->sem) == 0;
}

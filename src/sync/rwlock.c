/*
 * src/sync/rwlock.c - weft_rwlock: a semaphore with max_readers permits.
 *
 * A reader takes one permit, a writer takes all of them.  Because the
 * semaphore's queue is FIFO and a queued request soaks up released permits
 * until it is complete, a writer at the head of the queue collects the
 * permits of the readers as they leave, and readers that arrive after it
 * queue behind it (the counter stays at zero while anybody waits): writers
 * are not starved.  When the writer unlocks, its max_readers permits go to
 * the queue in order, so every reader queued up to the next writer enters
 * at once: readers are not starved either.  This is the policy of Tokio's
 * RwLock.  Downgrading returns all permits but one.
 */
#include <errno.h>

#include "sem.h"

int weft_rwlock_init_max_readers(weft_rwlock *rw, size_t max_readers)
{
	int err;

	if (rw == NULL || max_readers == 0 || max_readers > WEFT_RWLOCK_MAX_READERS)
		return -EINVAL;
	err = weft__sem_init(&rw->sem, max_readers);
	if (err == 0)
		rw->max_readers = max_readers;
	return err;
}

int weft_rwlock_init(weft_rwlock *rw)
{
	return weft_rwlock_init_max_readers(rw, WEFT_RWLOCK_MAX_READERS);
}

void weft_rwlock_finish(weft_rwlock *rw)
{
	if (rw != NULL)
		weft__sem_finish(&rw->sem);
}

int weft_rwlock_try_read(weft_rwlock *rw)
{
	if (rw == NULL)
		return -EINVAL;
	return weft__sem_try_acquire(&rw->sem, 1);
}

int weft_rwlock_try_write(weft_rwlock *rw)
{
	if (rw == NULL)
		return -EINVAL;
	return weft__sem_try_acquire(&rw->sem, rw->max_readers);
}

static weft_poll read_poll(weft_future *f, weft_cx *cx)
{
	weft_rwlock_read_future *self = (weft_rwlock_read_future *)f;

	if (self->wait.sem == NULL) {
		self->result = -EINVAL;
		return WEFT_READY;
	}
	return weft__sem_wait_poll(&self->wait, cx, &self->result);
}

static void read_drop(weft_future *f)
{
	weft_rwlock_read_future *self = (weft_rwlock_read_future *)f;

	if (self->wait.sem != NULL)
		weft__sem_wait_drop(&self->wait);
}

static weft_poll write_poll(weft_future *f, weft_cx *cx)
{
	weft_rwlock_write_future *self = (weft_rwlock_write_future *)f;

	if (self->wait.sem == NULL) {
		self->result = -EINVAL;
		return WEFT_READY;
	}
	return weft__sem_wait_poll(&self->wait, cx, &self->result);
}

static void write_drop(weft_future *f)
{
	weft_rwlock_write_future *self = (weft_rwlock_write_future *)f;

	if (self->wait.sem != NULL)
		weft__sem_wait_drop(&self->wait);
}

int weft_rwlock_read(weft_rwlock *rw, weft_rwlock_read_future *f)
{
	if (f == NULL)
		return -EINVAL;
	f->base.poll = read_poll;
	f->base.drop = read_drop;
	f->result = -EINVAL;
	weft__sem_wait_init(&f->wait, rw != NULL ? &rw->sem : NULL, 1);
	return rw != NULL ? 0 : -EINVAL;
}

int weft_rwlock_write(weft_rwlock *rw, weft_rwlock_write_future *f)
{
	if (f == NULL)
		return -EINVAL;
	f->base.poll = write_poll;
	f->base.drop = write_drop;
	f->result = -EINVAL;
	weft__sem_wait_init(&f->wait, rw != NULL ? &rw->sem : NULL,
			    rw != NULL ? rw->max_readers : 0);
	return rw != NULL ? 0 : -EINVAL;
}

int weft_rwlock_unlock_read(weft_rwlock *rw)
{
	if (rw == NULL)
		return -EINVAL;
	return weft__sem_release(&rw->sem, 1, rw->max_readers) == 0 ? 0 : -EPERM;
}

int weft_rwlock_unlock_write(weft_rwlock *rw)
{
	if (rw == NULL)
		return -EINVAL;
	return weft__sem_release(&rw->sem, rw->max_readers, rw->max_readers) == 0 ? 0 : -EPERM;
}

int weft_rwlock_downgrade(weft_rwlock *rw)
{
	if (rw == NULL)
		return -EINVAL;
	/* A write lock leaves no permit in the counter; anything else is not
	 * a write lock (a hint: readers could be mistaken for it only by a
	 * caller that does not hold the write lock). */
	if (weft__sem_available(&rw->sem) != 0)
		return -EPERM;
	if (rw->max_readers == 1)
		return 0;
	return weft__sem_release(&rw->sem, rw->max_readers - 1, rw->max_readers) == 0 ? 0
										    : -EPERM;
}

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
 *
 * Misuse.  The permit count alone cannot tell a write lock from
 * max_readers read locks (both leave it at 0), so a `writer` flag records
 * that a writer holds the lock: the writer sets it once it has its permits
 * (try_write, or its future's ready poll) and clears it when it gives them
 * back (unlock_write, downgrade), before releasing them.  unlock_read while
 * the flag is set, and unlock_write or downgrade while it is clear, are
 * refused with -EPERM and change nothing.  The flag needs no ordering of
 * its own: between one writer's clear and the next writer's set there is
 * always the release and acquire of the permits themselves.
 *
 * Inline fast paths.  In C, weft/sync.h does the uncontended read, write,
 * try and unlock calls in the caller with one CAS each and comes here only
 * when that fails.  The read CAS guesses the state of a free default lock
 * rather than loading it first (a failed CAS hands back the real state for
 * a second try); the write CAS expects exactly max permits.  The inline
 * unlock_write clears the writer flag with a plain store before its CAS
 * (only the writer that holds the lock clears it, and it checked that the
 * state is 0, i.e. nobody queued) and puts the flag back if the CAS fails
 * after all, then calls release_write below.
 */
#include <errno.h>
#include <stdatomic.h>

#include "../common/sem.h"

#define RWLOCK_OF(s) ((weft_rwlock *)(void *)((char *)(s)-offsetof(weft_rwlock, sem)))

/* Relaxed (both): ordered by the permits, see the essay. */
static void set_writer(weft_rwlock *rw)
{
	atomic_store_explicit(&rw->writer, 1, memory_order_relaxed);
}

static bool clear_writer(weft_rwlock *rw)
{
	unsigned one = 1;

	return atomic_compare_exchange_strong_explicit(&rw->writer, &one, 0,
						       memory_order_relaxed,
						       memory_order_relaxed);
}

int weft_rwlock_init_max_readers(weft_rwlock *rw, size_t max_readers)
{
	int err;

	if (rw == NULL || max_readers == 0 || max_readers > WEFT_RWLOCK_MAX_READERS)
		return -EINVAL;
	err = weft__sem_init(&rw->sem, max_readers, max_readers);
	if (err == 0)
		atomic_init(&rw->writer, 0);
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

int (weft_rwlock_try_read)(weft_rwlock *rw)
{
	if (rw == NULL)
		return -EINVAL;
	return weft__sem_try_acquire(&rw->sem, 1);
}

int (weft_rwlock_try_write)(weft_rwlock *rw)
{
	int err;

	if (rw == NULL)
		return -EINVAL;
	err = weft__sem_try_acquire(&rw->sem, rw->sem.max);
	if (err == 0)
		set_writer(rw);
	return err;
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
	if (weft__sem_wait_poll(&self->wait, cx, &self->result) == WEFT_PENDING)
		return WEFT_PENDING;
	if (self->result == 0)
		set_writer(RWLOCK_OF(self->wait.sem));
	return WEFT_READY;
}

static void write_drop(weft_future *f)
{
	weft_rwlock_write_future *self = (weft_rwlock_write_future *)f;

	if (self->wait.sem != NULL)
		weft__sem_wait_drop(&self->wait);
}

int (weft_rwlock_read)(weft_rwlock *rw, weft_rwlock_read_future *f)
{
	if (f == NULL)
		return -EINVAL;
	f->base.poll = read_poll;
	f->base.drop = read_drop;
	f->result = -EINVAL;
	weft__sem_wait_init(&f->wait, rw != NULL ? &rw->sem : NULL, 1);
	return rw != NULL ? 0 : -EINVAL;
}

int (weft_rwlock_write)(weft_rwlock *rw, weft_rwlock_write_future *f)
{
	if (f == NULL)
		return -EINVAL;
	f->base.poll = write_poll;
	f->base.drop = write_drop;
	f->result = -EINVAL;
	weft__sem_wait_init(&f->wait, rw != NULL ? &rw->sem : NULL,
			    rw != NULL ? rw->sem.max : 0);
	return rw != NULL ? 0 : -EINVAL;
}

int (weft_rwlock_unlock_read)(weft_rwlock *rw)
{
	if (rw == NULL)
		return -EINVAL;
	/* Relaxed: a hint, see the essay. */
	if (atomic_load_explicit(&rw->writer, memory_order_relaxed))
		return -EPERM; /* write-locked: no read lock is held */
	return weft__sem_release_one(&rw->sem) == 0 ? 0 : -EPERM;
}

/* Gives back the writer's permits but `keep`; -EPERM when no writer holds. */
static int release_write(weft_rwlock *rw, size_t keep)
{
	if (rw == NULL)
		return -EINVAL;
	if (!clear_writer(rw))
		return -EPERM;
	if (keep == rw->sem.max)
		return 0;
	if (weft__sem_release(&rw->sem, rw->sem.max - keep) != 0) {
		set_writer(rw); /* the count disagrees: change nothing */
		return -EPERM;
	}
	return 0;
}

int (weft_rwlock_unlock_write)(weft_rwlock *rw)
{
	return release_write(rw, 0);
}

int weft_rwlock_downgrade(weft_rwlock *rw)
{
	return release_write(rw, 1);
}

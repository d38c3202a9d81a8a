/*
 * src/sync/semaphore.c - weft_semaphore: the public face of the FIFO
 * semaphore in sem.c.
 */
#include <errno.h>

#include "../common/sem.h"

int weft_semaphore_init(weft_semaphore *s, size_t permits)
{
	if (s == NULL || permits > WEFT_SEMAPHORE_MAX_PERMITS)
		return -EINVAL;
	return weft__sem_init(&s->sem, permits, WEFT_SEMAPHORE_MAX_PERMITS);
}

void weft_semaphore_finish(weft_semaphore *s)
{
	if (s != NULL)
		weft__sem_finish(&s->sem);
}

int weft_semaphore_try_acquire(weft_semaphore *s, size_t n)
{
	if (s == NULL || n > WEFT_SEMAPHORE_MAX_PERMITS)
		return -EINVAL;
	if (n == 0)
		return weft__sem_is_closed(&s->sem) ? -EPIPE : 0;
	return weft__sem_try_acquire(&s->sem, n);
}

static weft_poll acquire_poll(weft_future *f, weft_cx *cx)
{
	weft_semaphore_acquire_future *self = (weft_semaphore_acquire_future *)f;

	if (self->wait.sem == NULL) {
		self->result = -EINVAL;
		return WEFT_READY;
	}
	return weft__sem_wait_poll(&self->wait, cx, &self->result);
}

static void acquire_drop(weft_future *f)
{
	weft_semaphore_acquire_future *self = (weft_semaphore_acquire_future *)f;

	if (self->wait.sem != NULL)
		weft__sem_wait_drop(&self->wait);
}

int weft_semaphore_acquire(weft_semaphore *s, size_t n, weft_semaphore_acquire_future *f)
{
	bool bad = s == NULL || n > WEFT_SEMAPHORE_MAX_PERMITS;

	if (f == NULL)
		return -EINVAL;
	f->base.poll = acquire_poll;
	f->base.drop = acquire_drop;
	f->result = -EINVAL;
	weft__sem_wait_init(&f->wait, bad ? NULL : &s->sem, n);
	return bad ? -EINVAL : 0;
}

int weft_semaphore_release(weft_semaphore *s, size_t n)
{
	if (s == NULL)
		return -EINVAL;
	return weft__sem_release(&s->sem, n);
}

int weft_semaphore_close(weft_semaphore *s)
{
	if (s == NULL)
		return -EINVAL;
	weft__sem_close(&s->sem);
	return 0;
}

bool weft_semaphore_is_closed(const weft_semaphore *s)
{
	return s != NULL && weft__sem_is_closed(&s->sem);
}

size_t weft_semaphore_available(const weft_semaphore *s)
{
	return s != NULL ? weft__sem_available(&s->sem) : 0;
}

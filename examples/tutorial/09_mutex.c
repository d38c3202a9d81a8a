/*
 * examples/tutorial/09_mutex.c - a mutex shared by 100 tasks
 * (docs/tutorial.md, chapter 7): each task locks, reads the counter, yields
 * while holding the lock (so other tasks run and queue up), writes the
 * counter back and unlocks.  Without the lock increments would be lost.
 */
#include <stdio.h>
#include <weft.h>

struct shared {
	weft_mutex lock;
	long counter; /* protected by lock */
};

struct adder {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct shared *shared;
	weft_mutex_lock_future locking;
	weft_yield yield;
	long seen;
};

static weft_poll adder_poll(weft_future *f, weft_cx *cx)
{
	struct adder *self = (struct adder *)f;

	WEFT_ASYNC_BEGIN(self);
	weft_mutex_lock(&self->shared->lock, &self->locking);
	WEFT_AWAIT(self, cx, &self->locking.base);
	weft_future_drop(&self->locking.base);
	self->seen = self->shared->counter;
	weft_yield_now(&self->yield);
	WEFT_AWAIT(self, cx, &self->yield.base);
	self->shared->counter = self->seen + 1;
	weft_mutex_unlock(&self->shared->lock);
	WEFT_ASYNC_END(self);
}

int main(void)
{
	weft_runtime_config cfg = { .workers = 4 };
	weft_runtime *rt;
	struct shared shared = { .counter = 0 };
	weft_join_handle h[100];
	int i;

	if (weft_mutex_init(&shared.lock) < 0 || weft_runtime_create(&cfg, &rt) < 0)
		return 1;
	for (i = 0; i < 100; i++) {
		struct adder a = { .base = { adder_poll, NULL }, .shared = &shared };

		if (weft_spawn(rt, &a.base, sizeof a, &h[i]) < 0)
			return 1;
	}
	for (i = 0; i < 100; i++) {
		weft_join(&h[i]);
		weft_join_detach(&h[i]);
	}
	printf("counter: %ld\n", shared.counter);
	weft_runtime_destroy(rt);
	weft_mutex_finish(&shared.lock);
	return shared.counter == 100 ? 0 : 1;
}

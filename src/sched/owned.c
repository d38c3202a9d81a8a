/*
 * src/sched/owned.c - the owned-task list: every task whose future is
 * alive, so that shutdown can find and cancel idle tasks that no queue
 * holds.
 *
 * The list is split into OWNED_SHARDS doubly linked lists, each under its
 * own lock (the futex word of common/lock.h) and on its own cache line; a
 * task's shard is chosen from its address at spawn, so spawns on different
 * workers rarely meet.  A task is
 * linked at spawn (with a reference that the list owns) and unlinked when
 * it completes, before that reference is released.  Closing the list (at
 * shutdown, before the workers stop) makes later inserts fail, so that no
 * task appears after shutdown has walked the shards.
 */
#include "task.h"

#include <errno.h>

#include "../common/lock.h"

int weft__owned_init(struct weft__sched *s)
{
	int i;

	for (i = 0; i < OWNED_SHARDS; i++) {
		weft__lock_init(&s->shards[i].lock);
		s->shards[i].head = NULL;
		s->shards[i].closed = false;
		atomic_init(&s->shards[i].inserted, 0);
		atomic_init(&s->shards[i].live, 0);
	}
	return 0;
}

void weft__owned_finish(struct weft__sched *s)
{
	(void)s; /* the shard locks have no destroy step */
}

void weft__owned_close(struct weft__sched *s)
{
	int i;

	for (i = 0; i < OWNED_SHARDS; i++) {
		weft__lock_acquire(&s->shards[i].lock);
		s->shards[i].closed = true;
		weft__lock_release(&s->shards[i].lock);
	}
}

int weft__owned_insert(struct weft__sched *s, struct weft_task *t)
{
	struct owned_shard *sh = &s->shards[t->shard];

	weft__lock_acquire(&sh->lock);
	if (sh->closed) {
		weft__lock_release(&sh->lock);
		return -ESHUTDOWN;
	}
	t->owned_prev = NULL;
	t->owned_next = sh->head;
	if (sh->head != NULL)
		sh->head->owned_prev = t;
	sh->head = t;
	WEFT__COUNT(sh, inserted);
	/* Release: a snapshot that reads this live count (acquire, in
	 * metrics.c) also reads the insert count that includes it. */
	atomic_store_explicit(&sh->live, atomic_load_explicit(&sh->live, memory_order_relaxed) + 1,
			      memory_order_release);
	weft__lock_release(&sh->lock);
	return 0;
}

void weft__owned_remove(struct weft_task *t)
{
	struct owned_shard *sh = &t->sched->shards[t->shard];

	weft__lock_acquire(&sh->lock);
	if (t->owned_prev != NULL)
		t->owned_prev->owned_next = t->owned_next;
	else
		sh->head = t->owned_next;
	if (t->owned_next != NULL)
		t->owned_next->owned_prev = t->owned_prev;
	t->owned_prev = t->owned_next = NULL;
	atomic_store_explicit(&sh->live, atomic_load_explicit(&sh->live, memory_order_relaxed) - 1,
			      memory_order_relaxed);
	weft__lock_release(&sh->lock);
}

struct weft_task *weft__owned_claim_unfinished(struct weft__sched *s, unsigned *shard)
{
	for (; *shard < OWNED_SHARDS; (*shard)++) {
		struct owned_shard *sh = &s->shards[*shard];
		struct weft_task *t;

		/* The shard lock keeps the owned-list reference, and so every
		 * listed task, alive while we look. */
		weft__lock_acquire(&sh->lock);
		t = sh->head;
		while (t != NULL && !weft__state_claim_for_shutdown(&t->state))
			t = t->owned_next;
		if (t != NULL)
			weft__state_ref_inc(&t->state); /* ours, across the unlock */
		weft__lock_release(&sh->lock);
		if (t != NULL)
			return t;
	}
	return NULL;
}

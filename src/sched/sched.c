/*
 * src/sched/sched.c - the scheduler core shared by both flavours: its
 * reference count, closing it, and cancelling every task at shutdown.
 */
#include "task.h"

#include <string.h>

#include "alloc.h"
#include "runtime.h"
#include "task_cache.h"

int weft__sched_init(struct weft__sched *s, const struct weft__sched_ops *ops,
		     const weft_allocator *alloc, struct weft_runtime *rt)
{
	s->ops = ops;
	s->alloc = *alloc;
	s->rt = rt;
	s->unowned = false;
	s->task_cache = alloc->alloc == weft__default_allocator.alloc &&
			alloc->free == weft__default_allocator.free &&
			weft__task_cache_enabled();
	memset(&s->obs, 0, sizeof(s->obs));
	atomic_init(&s->obs.next_id, 0);
	atomic_init(&s->refs, 1);
	return weft__owned_init(s);
}

void weft__sched_unref_n(struct weft__sched *s, uint64_t n)
{
	/* AcqRel: the last reference sees every task's writes before the
	 * scheduler memory is freed; pairs with the other decrements. */
	if (atomic_fetch_sub_explicit(&s->refs, n, memory_order_acq_rel) == n) {
		weft__owned_finish(s);
		s->ops->destroy(s);
	}
}

void weft__sched_unref(struct weft__sched *s)
{
	weft__sched_unref_n(s, 1);
}

void weft__sched_ref_cache_start(struct weft__sched *s)
{
	weft__ctx.ref_sched = s;
	weft__ctx.ref_spare = 0;
}

void weft__sched_ref_cache_flush(void)
{
	struct weft__sched *s = weft__ctx.ref_sched;
	uint64_t n = weft__ctx.ref_spare;

	weft__ctx.ref_sched = NULL;
	weft__ctx.ref_spare = 0;
	if (s != NULL && n != 0)
		weft__sched_unref_n(s, n);
}

void weft__sched_close(struct weft__sched *s)
{
	weft__owned_close(s);
}

void weft__sched_shutdown_tasks(struct weft__sched *s)
{
	unsigned shard = 0;
	struct weft_task *t;

	/* Each task is dropped with no shard lock held: dropping a future may
	 * wake or drop other tasks, which takes shard locks. */
	while ((t = weft__owned_claim_unfinished(s, &shard)) != NULL)
		weft__task_cancel_claimed(t);
	weft__obs_shutdown_summary(s);
}

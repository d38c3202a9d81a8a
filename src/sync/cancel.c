/*
 * src/sync/cancel.c - weft_cancel_token: cancellation trees.
 *
 * The protocol
 * ============
 *
 * Each token has a `cancelled` flag (set once, never cleared, published
 * with a release store) and its own queue of waiting futures.  Tokens form
 * a tree through parent / first_child / sibling links.  One lock, owned by
 * the root, protects the links of the whole tree and every queue in it, so
 * linking, unlinking and cancelling see one consistent tree.  The lock is
 * taken only to link or unlink a token or a waiter and to cancel;
 * is_cancelled and a future that finds the token already cancelled use one
 * atomic load.
 *
 * Invariant: a cancelled token's descendants are all cancelled.  Cancel
 * keeps it by walking the whole subtree under the lock, a child created
 * under a cancelled parent starts cancelled, and a finished token's children
 * move to its parent (if the parent is cancelled, so was the finished token
 * and so are they).  So cancel can skip any subtree whose top is already
 * cancelled, and the work of all cancels together is linear in the tree.
 *
 * Cancel marks the subtree and moves every waiter of it onto the root's
 * `waking` queue (each node records which queue holds it, so a future
 * dropped meanwhile unlinks itself from the right one).  Then the waking
 * queue is drained in bounded batches: unlink, move the waker out, publish
 * WOKEN with a release store, drop the lock, wake the batch, repeat.  Any
 * thread that cancels helps drain.
 */
#include <errno.h>
#include <stdatomic.h>

#include "../common/wakebatch.h"
#include "../common/waitlist.h"
#include "weft/sync.h"
#include "../common/lock.h"

enum {
	CW_INIT,    /* not polled yet */
	CW_WAITING, /* on the token's queue or the root's waking queue */
	CW_WOKEN,   /* unlinked and woken by a cancel, not yet polled */
	CW_DONE,    /* returned ready, or dropped */
};

#define WAIT_OF(n) \
	((struct weft__cancel_wait *)((char *)(n) - offsetof(struct weft__cancel_wait, node)))

static void token_fields_init(weft_cancel_token *t)
{
	atomic_init(&t->cancelled, 0);
	t->parent = t->first_child = t->prev_sibling = t->next_sibling = NULL;
	weft__waitlist_init(&t->waiters);
	t->waiting = 0;
	weft__waitlist_init(&t->waking);
	t->members = 0;
}

int weft_cancel_token_init(weft_cancel_token *t)
{
	if (t == NULL)
		return -EINVAL;
	weft__lock_init(&t->lock.lock);
	token_fields_init(t);
	t->root = t;
	t->members = 1;
	return 0;
}

/* Links `child` as the first child of `parent`; under the tree lock. */
static void link_child(weft_cancel_token *parent, weft_cancel_token *child)
{
	child->parent = parent;
	child->prev_sibling = NULL;
	child->next_sibling = parent->first_child;
	if (parent->first_child != NULL)
		parent->first_child->prev_sibling = child;
	parent->first_child = child;
}

static void unlink_child(weft_cancel_token *t)
{
	if (t->prev_sibling != NULL)
		t->prev_sibling->next_sibling = t->next_sibling;
	else
		t->parent->first_child = t->next_sibling;
	if (t->next_sibling != NULL)
		t->next_sibling->prev_sibling = t->prev_sibling;
	t->parent = t->prev_sibling = t->next_sibling = NULL;
}

int weft_cancel_token_init_child(weft_cancel_token *child, weft_cancel_token *parent)
{
	weft_cancel_token *root;

	if (child == NULL || parent == NULL || child == parent)
		return -EINVAL;
	root = parent->root;
	token_fields_init(child);
	child->root = root;
	weft__lock_acquire(&root->lock.lock);
	/* Release: a child born cancelled publishes, like mark_cancelled,
	 * what the canceller did (the lock ordered it before us); pairs with
	 * the acquire in is_cancelled.  The load is under the lock cancel
	 * holds when it sets the parent's flag. */
	atomic_store_explicit(&child->cancelled,
			      atomic_load_explicit(&parent->cancelled, memory_order_relaxed),
			      memory_order_release);
	link_child(parent, child);
	root->members++;
	weft__lock_release(&root->lock.lock);
	return 0;
}

int weft_cancel_token_finish(weft_cancel_token *t)
{
	weft_cancel_token *root;

	if (t == NULL)
		return -EINVAL;
	root = t->root;
	weft__lock_acquire(&root->lock.lock);
	if (t->waiting != 0 || (t == root && root->members > 1)) {
		weft__lock_release(&root->lock.lock);
		return -EBUSY;
	}
	if (t == root) {
		weft__lock_release(&root->lock.lock);
		return 0;
	}
	/* Hand the children to the parent, then leave. */
	while (t->first_child != NULL) {
		weft_cancel_token *c = t->first_child;

		unlink_child(c);
		link_child(t->parent, c);
	}
	unlink_child(t);
	root->members--;
	weft__lock_release(&root->lock.lock);
	return 0;
}

/* Under the tree lock: marks `x` cancelled and moves its waiters to the
 * root's waking queue. */
static void mark_cancelled(weft_cancel_token *root, weft_cancel_token *x)
{
	struct weft__waiter *node;

	/* Release: publishes the canceller's writes to whoever sees the flag
	 * without the lock; pairs with the acquire in is_cancelled. */
	atomic_store_explicit(&x->cancelled, 1, memory_order_release);
	while ((node = weft__waitlist_pop_front(&x->waiters)) != NULL) {
		weft__waitlist_push_back(&root->waking, node);
		WAIT_OF(node)->list = &root->waking;
	}
}

/* Under the tree lock: cancels the subtree of `t`, pre-order, skipping
 * subtrees that are already cancelled. */
static void cancel_subtree(weft_cancel_token *root, weft_cancel_token *t)
{
	weft_cancel_token *x = t;

	for (;;) {
		if (!atomic_load_explicit(&x->cancelled, memory_order_relaxed)) {
			mark_cancelled(root, x);
			if (x->first_child != NULL) {
				x = x->first_child;
				continue;
			}
		}
		while (x != t && x->next_sibling == NULL)
			x = x->parent;
		if (x == t)
			return;
		x = x->next_sibling;
	}
}

int weft_cancel_token_cancel(weft_cancel_token *t)
{
	struct weft__wake_batch batch;
	struct weft__waiter *node;
	weft_cancel_token *root;

	if (t == NULL)
		return -EINVAL;
	/* Acquire: pairs with the release in mark_cancelled (the fast way
	 * out of a repeated cancel). */
	if (atomic_load_explicit(&t->cancelled, memory_order_acquire))
		return 0;
	root = t->root;
	weft__wake_batch_init(&batch);
	weft__lock_acquire(&root->lock.lock);
	cancel_subtree(root, t);
	while ((node = weft__waitlist_pop_front(&root->waking)) != NULL) {
		struct weft__cancel_wait *w = WAIT_OF(node);

		w->list = NULL;
		w->token->waiting--;
		weft__wake_batch_push(&batch, &node->waker);
		/* Release: pairs with the acquire loads in cancelled_poll and
		 * cancelled_drop; the node may be freed once this is seen. */
		atomic_store_explicit(&w->state, CW_WOKEN, memory_order_release);
		weft__wake_batch_flush_if_full(&batch, &root->lock.lock);
	}
	weft__wake_batch_unlock_wake(&batch, &root->lock.lock);
	return 0;
}

bool weft_cancel_token_is_cancelled(const weft_cancel_token *t)
{
	/* Acquire: pairs with the release in mark_cancelled. */
	return t != NULL && atomic_load_explicit(&t->cancelled, memory_order_acquire);
}

/* ---- the cancelled future ------------------------------------------------- */

/* Under the tree lock: takes the node off whichever queue holds it and
 * returns its waker (to be dropped after the lock). */
static weft_waker leave_locked(struct weft__cancel_wait *w)
{
	weft_waker stale = w->node.waker;

	weft__waitlist_remove(w->list, &w->node);
	w->list = NULL;
	w->token->waiting--;
	w->node.waker.data = NULL;
	w->node.waker.vtable = NULL;
	return stale;
}

static weft_poll cancelled_poll(weft_future *f, weft_cx *cx)
{
	weft_cancel_future *self = (weft_cancel_future *)f;
	struct weft__cancel_wait *w = &self->wait;
	weft_cancel_token *t = w->token;
	weft_waker stale = { NULL, NULL };
	unsigned st;

	if (t == NULL) {
		self->result = -EINVAL;
		return WEFT_READY;
	}
	/* Acquire: pairs with the release store of WOKEN. */
	st = atomic_load_explicit(&w->state, memory_order_acquire);
	if (st == CW_DONE)
		return WEFT_READY;
	if (!weft_coop_proceed(cx))
		return WEFT_PENDING;
	if (st == CW_INIT || st == CW_WAITING) {
		if (st == CW_INIT && weft_cancel_token_is_cancelled(t))
			goto done;
		weft__lock_acquire(&t->root->lock.lock);
		st = atomic_load_explicit(&w->state, memory_order_relaxed);
		/* Relaxed: the flag is set under the lock we hold. */
		if (atomic_load_explicit(&t->cancelled, memory_order_relaxed)) {
			if (st == CW_WAITING) /* still on the waking queue */
				stale = leave_locked(w);
			weft__lock_release(&t->root->lock.lock);
			weft_waker_drop(&stale);
			goto done;
		}
		if (st == CW_INIT) {
			weft__waitlist_push_back(&t->waiters, &w->node);
			w->list = &t->waiters;
			t->waiting++;
			/* Relaxed: read outside the lock only by the owner. */
			atomic_store_explicit(&w->state, CW_WAITING, memory_order_relaxed);
		}
		stale = weft__waker_replace(&w->node.waker, weft_cx_waker(cx));
		weft__lock_release(&t->root->lock.lock);
		weft_waker_drop(&stale);
		weft_coop_refund(cx);
		return WEFT_PENDING;
	}
done:
	atomic_store_explicit(&w->state, CW_DONE, memory_order_relaxed);
	self->result = 0;
	return WEFT_READY;
}

static void cancelled_drop(weft_future *f)
{
	weft_cancel_future *self = (weft_cancel_future *)f;
	struct weft__cancel_wait *w = &self->wait;
	weft_cancel_token *t = w->token;
	weft_waker stale = { NULL, NULL };

	if (t == NULL)
		return;
	/* Acquire: pairs with the release store of WOKEN. */
	if (atomic_load_explicit(&w->state, memory_order_acquire) == CW_WAITING) {
		weft__lock_acquire(&t->root->lock.lock);
		if (atomic_load_explicit(&w->state, memory_order_relaxed) == CW_WAITING)
			stale = leave_locked(w);
		weft__lock_release(&t->root->lock.lock);
		weft_waker_drop(&stale);
	}
	atomic_store_explicit(&w->state, CW_DONE, memory_order_relaxed);
}

int weft_cancel_token_cancelled(weft_cancel_token *t, weft_cancel_future *f)
{
	if (f == NULL)
		return -EINVAL;
	f->base.poll = cancelled_poll;
	f->base.drop = cancelled_drop;
	f->result = -EINVAL;
	weft__waiter_init(&f->wait.node);
	f->wait.token = t;
	f->wait.list = NULL;
	atomic_init(&f->wait.state, CW_INIT);
	return t != NULL ? 0 : -EINVAL;
}

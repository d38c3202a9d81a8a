/*
 * src/chan/watch.c - one latest value with a version.
 *
 * The value is kept as atomic words under a sequence number `seq`: even
 * while stable, odd while a sender rewrites it; the version is seq / 2.
 * Senders take the lock (it serialises them and guards the waiter list),
 * make seq odd, store the words, make seq even again, and wake every
 * receiver that was waiting before the send (the same generation rule as
 * broadcast.c).
 *
 * Receivers read without the lock: load seq, copy the words, load seq
 * again, and accept the copy when both loads agree on an even value
 * (chan_internal.h explains why that is race-free).  After a few failed
 * tries (a sender kept rewriting) the reader takes the lock, under which
 * the value cannot change, so a read never spins for long.
 *
 * Each receiver remembers the seq it last saw (always even).  "Changed"
 * means seq differs from it; a receiver that notices a send in progress
 * (odd seq) counts that send as seen, since the value it reads next is at
 * least that new.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "chan_internal.h"
#include "../common/lock.h"

/* Optimistic reads before a reader takes the lock. */
#define READ_TRIES 4

struct watch {
	pthread_mutex_t lock;
	/* Written under lock; read by receivers. */
	_Atomic uint64_t seq;
	_Atomic bool closed;
	size_t elem_size;
	size_t words;
	_Atomic uint64_t senders;
	_Atomic uint64_t refs;
	/* Under lock. */
	struct weft__waitlist waiters;
	uint64_t wake_gen;
	_Atomic uint64_t value[];
};

static struct watch *chan_of(const weft_watch_tx *tx)
{
	return (struct watch *)(void *)tx;
}

static weft_watch_changed_future *changed_future_of(struct weft__waiter *w)
{
	return CHAN_CONTAINER_OF(w, weft_watch_changed_future, waiter);
}

/* The newest version counted as seen when seq was observed: a send in
 * progress counts. */
static uint64_t seen_of(uint64_t seq)
{
	return (seq + 1) & ~(uint64_t)1;
}

static void chan_unref(struct watch *ch)
{
	/* AcqRel: the last reference sees every holder's writes before the
	 * free; pairs with the other decrements. */
	if (atomic_fetch_sub_explicit(&ch->refs, 1, memory_order_acq_rel) != 1)
		return;
	pthread_mutex_destroy(&ch->lock);
	weft__chan_free(ch);
}

int weft_watch_create(size_t elem_size, const void *initial, weft_watch_tx **tx)
{
	struct watch *ch;
	size_t words = value_words(elem_size);

	if (tx == NULL || elem_size == 0 || elem_size > CHAN_MAX_ELEM_SIZE)
		return -EINVAL;
	ch = weft__chan_calloc(sizeof(*ch) + words * sizeof(uint64_t));
	if (ch == NULL)
		return -ENOMEM;
	if (weft__mutex_init(&ch->lock) != 0) {
		weft__chan_free(ch);
		return -ENOMEM;
	}
	atomic_init(&ch->seq, 0);
	atomic_init(&ch->closed, false);
	ch->elem_size = elem_size;
	ch->words = words;
	atomic_init(&ch->senders, 1);
	atomic_init(&ch->refs, 1);
	weft__waitlist_init(&ch->waiters);
	ch->wake_gen = 0;
	if (initial != NULL)
		words_store(ch->value, initial, elem_size);
	*tx = (weft_watch_tx *)(void *)ch;
	return 0;
}

weft_watch_tx *weft_watch_tx_clone(weft_watch_tx *tx)
{
	struct watch *ch = chan_of(tx);

	/* Relaxed: made from a reference the caller holds. */
	atomic_fetch_add_explicit(&ch->senders, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&ch->refs, 1, memory_order_relaxed);
	return tx;
}

/* Under lock: as in broadcast.c. */
static void wake_waiters_locked(struct watch *ch, uint64_t gen, bool all,
				struct weft__wake_batch *batch)
{
	struct weft__waiter *w;

	while ((w = weft__waitlist_front(&ch->waiters)) != NULL) {
		if (!all && changed_future_of(w)->wait_gen >= gen)
			break;
		weft__waitlist_remove(&ch->waiters, w);
		weft__wake_batch_push(batch, &w->waker);
		if (weft__wake_batch_full(batch)) {
			pthread_mutex_unlock(&ch->lock);
			weft__wake_batch_wake_all(batch);
			pthread_mutex_lock(&ch->lock);
		}
	}
}

void weft_watch_tx_release(weft_watch_tx *tx)
{
	struct watch *ch;
	struct weft__wake_batch batch;

	if (tx == NULL)
		return;
	ch = chan_of(tx);
	/* AcqRel: the last sender closes after every sender's sends; pairs
	 * with the other decrements. */
	if (atomic_fetch_sub_explicit(&ch->senders, 1, memory_order_acq_rel) == 1) {
		weft__wake_batch_init(&batch);
		pthread_mutex_lock(&ch->lock);
		/* Release: pairs with the acquire in has_changed. */
		atomic_store_explicit(&ch->closed, true, memory_order_release);
		wake_waiters_locked(ch, 0, true, &batch);
		pthread_mutex_unlock(&ch->lock);
		weft__wake_batch_wake_all(&batch);
	}
	chan_unref(ch);
}

int weft_watch_send(weft_watch_tx *tx, const void *value)
{
	struct watch *ch = chan_of(tx);
	struct weft__wake_batch batch;
	uint64_t s, gen;

	weft__wake_batch_init(&batch);
	pthread_mutex_lock(&ch->lock);
	/* Relaxed: seq only changes under the lock we hold. */
	s = atomic_load_explicit(&ch->seq, memory_order_relaxed);
	/* Relaxed: the release stores of the words order it
	 * (chan_internal.h). */
	atomic_store_explicit(&ch->seq, s + 1, memory_order_relaxed);
	words_store(ch->value, value, ch->elem_size);
	/* Release: the new value is complete; pairs with the readers'
	 * acquire of seq. */
	atomic_store_explicit(&ch->seq, s + 2, memory_order_release);
	gen = ++ch->wake_gen;
	wake_waiters_locked(ch, gen, false, &batch);
	pthread_mutex_unlock(&ch->lock);
	weft__wake_batch_wake_all(&batch);
	return 0;
}

uint64_t weft_watch_version(const weft_watch_tx *tx)
{
	/* Acquire: pairs with the release in send. */
	return atomic_load_explicit(&chan_of(tx)->seq, memory_order_acquire) >> 1;
}

int weft_watch_subscribe(weft_watch_tx *tx, weft_watch_rx *rx)
{
	struct watch *ch;

	if (tx == NULL || rx == NULL)
		return -EINVAL;
	ch = chan_of(tx);
	/* Relaxed: made from a reference the caller holds. */
	atomic_fetch_add_explicit(&ch->refs, 1, memory_order_relaxed);
	rx->chan = tx;
	/* Acquire: pairs with the release in send. */
	rx->seen = seen_of(atomic_load_explicit(&ch->seq, memory_order_acquire));
	return 0;
}

void weft_watch_rx_finish(weft_watch_rx *rx)
{
	struct watch *ch;

	if (rx == NULL || rx->chan == NULL)
		return;
	ch = chan_of(rx->chan);
	rx->chan = NULL;
	chan_unref(ch);
}

int weft_watch_read(weft_watch_rx *rx, void *out, uint64_t *version)
{
	struct watch *ch = chan_of(rx->chan);
	uint64_t s1, s2;
	int i;

	for (i = 0; i < READ_TRIES; i++) {
		/* Acquire: pairs with the release that completed a send. */
		s1 = atomic_load_explicit(&ch->seq, memory_order_acquire);
		if (s1 & 1)
			continue;
		words_load(out, ch->value, ch->elem_size);
		/* Relaxed: the acquire loads of the words order it. */
		s2 = atomic_load_explicit(&ch->seq, memory_order_relaxed);
		if (s1 == s2)
			goto done;
	}
	pthread_mutex_lock(&ch->lock);
	/* Relaxed: no send runs while we hold the lock. */
	s1 = atomic_load_explicit(&ch->seq, memory_order_relaxed);
	words_load(out, ch->value, ch->elem_size);
	pthread_mutex_unlock(&ch->lock);
done:
	rx->seen = s1;
	if (version != NULL)
		*version = s1 >> 1;
	return 0;
}

static int has_changed(struct watch *ch, const weft_watch_rx *rx)
{
	/* Acquire: pairs with the release in send. */
	if (atomic_load_explicit(&ch->seq, memory_order_acquire) != rx->seen)
		return 1;
	/* Acquire: pairs with the release in tx_release. */
	if (atomic_load_explicit(&ch->closed, memory_order_acquire))
		return -EPIPE;
	return 0;
}

int weft_watch_has_changed(const weft_watch_rx *rx)
{
	return has_changed(chan_of(rx->chan), rx);
}

/* Under lock: as in broadcast.c. */
static weft_waker unqueue_locked(struct watch *ch, weft_watch_changed_future *f)
{
	weft_waker stale = f->waiter.waker;

	weft__waitlist_remove(&ch->waiters, &f->waiter);
	f->waiter.waker.data = NULL;
	f->waiter.waker.vtable = NULL;
	f->queued = false;
	return stale;
}

static weft_poll changed_poll(weft_future *base, weft_cx *cx)
{
	weft_watch_changed_future *f = (weft_watch_changed_future *)base;
	struct watch *ch = chan_of(f->rx->chan);
	weft_waker stale;
	int r = 0;

	if (!weft_coop_proceed(cx))
		return WEFT_PENDING;
	if (!f->queued)
		r = has_changed(ch, f->rx);
	if (r == 0) {
		/* Under the lock seq cannot move, so the look is exact. */
		pthread_mutex_lock(&ch->lock);
		r = has_changed(ch, f->rx);
		if (r == 0) {
			if (!f->waiter.linked) {
				weft__waitlist_push_back(&ch->waiters, &f->waiter);
				f->wait_gen = ch->wake_gen;
				f->queued = true;
			}
			stale = weft__waker_replace(&f->waiter.waker, weft_cx_waker(cx));
			pthread_mutex_unlock(&ch->lock);
			weft_waker_drop(&stale);
			weft_coop_refund(cx);
			return WEFT_PENDING;
		}
		stale = unqueue_locked(ch, f);
		pthread_mutex_unlock(&ch->lock);
		weft_waker_drop(&stale);
	}
	if (r == 1) {
		/* Acquire: pairs with the release in send. */
		f->rx->seen = seen_of(atomic_load_explicit(&ch->seq, memory_order_acquire));
		f->status = 0;
	} else {
		f->status = r;
	}
	return WEFT_READY;
}

static void changed_drop(weft_future *base)
{
	weft_watch_changed_future *f = (weft_watch_changed_future *)base;
	struct watch *ch;
	weft_waker stale;

	if (!f->queued)
		return;
	ch = chan_of(f->rx->chan);
	pthread_mutex_lock(&ch->lock);
	stale = unqueue_locked(ch, f);
	pthread_mutex_unlock(&ch->lock);
	weft_waker_drop(&stale);
}

void weft_watch_changed(weft_watch_rx *rx, weft_watch_changed_future *f)
{
	f->base.poll = changed_poll;
	f->base.drop = changed_drop;
	f->status = 0;
	f->rx = rx;
	f->queued = false;
	f->wait_gen = 0;
	weft__waiter_init(&f->waiter);
}

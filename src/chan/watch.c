/*
 * src/chan/watch.c - one latest value with a version.
 *
 * The value is kept as atomic words under a sequence number `seq`: even
 * while stable, odd while a sender rewrites it; the version is seq / 2.
 * Senders take the lock (it serialises them and guards the waiter list),
 * make seq odd, store the words, make seq even again, and wake every
 * receiver that was waiting before the send (the generation rule of
 * rx_wait.h, shared with broadcast.c).
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
#include <stdlib.h>

#include "chan_internal.h"
#include "rx_wait.h"

/* Optimistic reads before a reader takes the lock. */
#define READ_TRIES 4

struct watch {
	/* The lock, the waiters, the closed flag and the counts. */
	struct rx_chan core;
	/* Written under the core lock; read by receivers. */
	_Atomic uint64_t seq;
	size_t elem_size;
	size_t words;
	_Atomic uint64_t value[];
};

static struct watch *chan_of(const weft_watch_tx *tx)
{
	return (struct watch *)(void *)tx;
}

static uint64_t changed_wait_gen(const struct weft__waiter *w)
{
	return CHAN_CONTAINER_OF(w, weft_watch_changed_future, waiter)->wait_gen;
}

static struct rx_wait changed_wait_of(weft_watch_changed_future *f)
{
	return (struct rx_wait){ &f->queued, &f->wait_gen, &f->waiter };
}

/* The newest version counted as seen when seq was observed: a send in
 * progress counts. */
static uint64_t seen_of(uint64_t seq)
{
	return (seq + 1) & ~(uint64_t)1;
}

static void chan_unref(struct watch *ch)
{
	if (rx_chan_unref(&ch->core))
		weft__chan_free(ch);
}

int weft_watch_create(size_t elem_size, const void *initial, weft_watch_tx **tx)
{
	struct watch *ch;
	size_t words = value_words(elem_size);
	int err;

	if (tx == NULL || elem_size == 0 || elem_size > CHAN_MAX_ELEM_SIZE)
		return -EINVAL;
	ch = weft__chan_calloc(sizeof(*ch) + words * sizeof(uint64_t));
	if (ch == NULL)
		return -ENOMEM;
	err = rx_chan_init(&ch->core);
	if (err != 0) {
		weft__chan_free(ch);
		return err;
	}
	atomic_init(&ch->seq, 0);
	ch->elem_size = elem_size;
	ch->words = words;
	if (initial != NULL)
		words_store(ch->value, initial, elem_size);
	*tx = (weft_watch_tx *)(void *)ch;
	return 0;
}

weft_watch_tx *weft_watch_tx_clone(weft_watch_tx *tx)
{
	if (tx == NULL)
		return NULL;
	rx_chan_add_sender(&chan_of(tx)->core);
	return tx;
}

void weft_watch_tx_release(weft_watch_tx *tx)
{
	struct watch *ch;

	if (tx == NULL)
		return;
	ch = chan_of(tx);
	rx_chan_release_sender(&ch->core);
	chan_unref(ch);
}

int weft_watch_send(weft_watch_tx *tx, const void *value)
{
	struct watch *ch = chan_of(tx);
	uint64_t s;

	if (tx == NULL || value == NULL)
		return -EINVAL;
	weft__lock_acquire(&ch->core.lock);
	/* Relaxed: seq only changes under the lock we hold. */
	s = atomic_load_explicit(&ch->seq, memory_order_relaxed);
	/* Relaxed: the release stores of the words order it
	 * (chan_internal.h). */
	atomic_store_explicit(&ch->seq, s + 1, memory_order_relaxed);
	words_store(ch->value, value, ch->elem_size);
	/* Release: the new value is complete; pairs with the readers'
	 * acquire of seq. */
	atomic_store_explicit(&ch->seq, s + 2, memory_order_release);
	rx_chan_sent_unlock(&ch->core, changed_wait_gen);
	return 0;
}

uint64_t weft_watch_version(const weft_watch_tx *tx)
{
	if (tx == NULL)
		return 0;
	/* Acquire: pairs with the release in send. */
	return atomic_load_explicit(&chan_of(tx)->seq, memory_order_acquire) >> 1;
}

int weft_watch_subscribe(weft_watch_tx *tx, weft_watch_rx *rx)
{
	struct watch *ch;

	if (tx == NULL || rx == NULL)
		return -EINVAL;
	ch = chan_of(tx);
	rx_chan_ref(&ch->core);
	rx->chan = tx;
	/* Acquire: pairs with the release in send. */
	rx->seen = seen_of(atomic_load_explicit(&ch->seq, memory_order_acquire));
	return 0;
}

int weft_watch_rx_clone(const weft_watch_rx *src, weft_watch_rx *dst)
{
	if (src == NULL || dst == NULL || src->chan == NULL)
		return -EINVAL;
	rx_chan_ref(&chan_of(src->chan)->core);
	dst->chan = src->chan;
	dst->seen = src->seen;
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
	struct watch *ch;
	uint64_t s1, s2;
	int i;

	if (rx == NULL || rx->chan == NULL || out == NULL)
		return -EINVAL;
	ch = chan_of(rx->chan);
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
	weft__lock_acquire(&ch->core.lock);
	/* Relaxed: no send runs while we hold the lock. */
	s1 = atomic_load_explicit(&ch->seq, memory_order_relaxed);
	words_load(out, ch->value, ch->elem_size);
	weft__lock_release(&ch->core.lock);
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
	/* Acquire: pairs with the release in rx_chan_release_sender
	 * (rx_wait.h). */
	if (atomic_load_explicit(&ch->core.closed, memory_order_acquire))
		return -EPIPE;
	return 0;
}

int weft_watch_has_changed(const weft_watch_rx *rx)
{
	if (rx == NULL || rx->chan == NULL)
		return -EINVAL;
	return has_changed(chan_of(rx->chan), rx);
}

/* has_changed for rx_wait_poll, which waits on -EAGAIN rather than 0. */
static int changed_look(void *arg)
{
	weft_watch_changed_future *f = arg;
	int r = has_changed(chan_of(f->rx->chan), f->rx);

	return r == 0 ? -EAGAIN : r;
}

static weft_poll changed_poll(weft_future *base, weft_cx *cx)
{
	weft_watch_changed_future *f = (weft_watch_changed_future *)base;
	struct watch *ch;
	int r;

	if (f->rx == NULL) {
		f->status = -EINVAL;
		return WEFT_READY;
	}
	ch = chan_of(f->rx->chan);
	if (rx_wait_poll(&ch->core, changed_wait_of(f), cx, changed_look, f, &r) ==
	    WEFT_PENDING)
		return WEFT_PENDING;
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

	if (f->queued)
		rx_wait_drop_queued(&chan_of(f->rx->chan)->core, changed_wait_of(f));
}

int weft_watch_changed(weft_watch_rx *rx, weft_watch_changed_future *f)
{
	if (f == NULL)
		return -EINVAL;
	f->base.poll = changed_poll;
	f->base.drop = changed_drop;
	f->status = 0;
	f->rx = rx != NULL && rx->chan != NULL ? rx : NULL;
	f->queued = false;
	f->wait_gen = 0;
	weft__waiter_init(&f->waiter);
	return f->rx != NULL ? 0 : -EINVAL;
}

/*
 * src/chan/broadcast.c - every receiver sees every value, from a ring.
 *
 * The ring
 * ========
 *
 * `cap` slots (a power of two).  Position p (counted from 0 for the life
 * of the channel) lives in slot p & (cap - 1).  Each slot carries a stamp:
 * (p + 1) << 1 once it holds position p, that value | 1 while position p is
 * being written, 0 before its first write.  `tail` is the next position to
 * write; positions tail - cap .. tail - 1 are held.
 *
 * Senders take the channel lock (it serialises them and guards the waiter
 * list), write the slot as a sequence lock (odd stamp, the words, even
 * stamp; chan_internal.h), publish tail + 1 with release, and wake the
 * receivers that were waiting before this send.
 *
 * Receivers never take the lock to read.  Each keeps its own next
 * position p.  With tail == p there is nothing new; with tail - p > cap it
 * lagged: it missed tail - cap - p values and jumps to tail - cap.
 * Otherwise it copies the slot and checks the stamp before and after: both
 * must be exactly (p + 1) << 1.  Anything else means a sender is
 * overwriting p right now, which is also a lag (by at least one).  There is
 * no retry loop: every failed look moves the receiver forward.
 *
 * Waiting
 * =======
 *
 * A receive future that finds nothing takes the lock, looks again (tail
 * only moves under the lock, so the look is exact), and queues its node.
 * A send wakes the waiters queued before it; rx_wait.h, shared with
 * watch.c, holds that protocol.
 */
#include <errno.h>
#include <stdlib.h>

#include "chan_internal.h"
#include "rx_wait.h"

#define MAX_CAPACITY ((size_t)1 << 30)

struct broadcast {
	/* The lock, the waiters, the closed flag and the counts. */
	struct rx_chan core;
	/* Written under the core lock with release; read by receivers. */
	_Atomic uint64_t tail;
	size_t elem_size;
	size_t words;
	uint64_t cap;
	_Atomic uint64_t receivers;
	/* cap slots of (1 + words) words: the stamp, then the value. */
	_Atomic uint64_t ring[];
};

static struct broadcast *chan_of(const weft_broadcast_tx *tx)
{
	return (struct broadcast *)(void *)tx;
}

static _Atomic uint64_t *slot_of(struct broadcast *ch, uint64_t pos)
{
	return &ch->ring[(size_t)(pos & (ch->cap - 1)) * (1 + ch->words)];
}

static uint64_t recv_wait_gen(const struct weft__waiter *w)
{
	return CHAN_CONTAINER_OF(w, weft_broadcast_recv_future, waiter)->wait_gen;
}

static struct rx_wait recv_wait_of(weft_broadcast_recv_future *f)
{
	return (struct rx_wait){ &f->queued, &f->wait_gen, &f->waiter };
}

static void chan_unref(struct broadcast *ch)
{
	if (rx_chan_unref(&ch->core))
		weft__chan_free(ch);
}

int weft_broadcast_create(size_t elem_size, size_t capacity, weft_broadcast_tx **tx)
{
	struct broadcast *ch;
	int err;
	uint64_t cap = 1, bytes;
	size_t words = value_words(elem_size);

	if (tx == NULL || capacity == 0 || capacity > MAX_CAPACITY ||
	    elem_size > CHAN_MAX_ELEM_SIZE)
		return -EINVAL;
	while (cap < capacity)
		cap <<= 1;
	/* At most 2^30 slots of 2^21 + 1 words: no wrap in 64 bits, but the
	 * sum may not fit a 32-bit size_t. */
	bytes = cap * (1 + (uint64_t)words) * sizeof(uint64_t);
	if (bytes > SIZE_MAX - sizeof(*ch))
		return -ENOMEM;
	ch = weft__chan_calloc(sizeof(*ch) + (size_t)bytes);
	if (ch == NULL)
		return -ENOMEM;
	err = rx_chan_init(&ch->core);
	if (err != 0) {
		weft__chan_free(ch);
		return err;
	}
	atomic_init(&ch->tail, 0);
	ch->elem_size = elem_size;
	ch->words = words;
	ch->cap = cap;
	atomic_init(&ch->receivers, 0);
	*tx = (weft_broadcast_tx *)(void *)ch;
	return 0;
}

weft_broadcast_tx *weft_broadcast_tx_clone(weft_broadcast_tx *tx)
{
	if (tx == NULL)
		return NULL;
	rx_chan_add_sender(&chan_of(tx)->core);
	return tx;
}

void weft_broadcast_tx_release(weft_broadcast_tx *tx)
{
	struct broadcast *ch;

	if (tx == NULL)
		return;
	ch = chan_of(tx);
	rx_chan_release_sender(&ch->core);
	chan_unref(ch);
}

int weft_broadcast_send(weft_broadcast_tx *tx, const void *value)
{
	struct broadcast *ch = chan_of(tx);
	_Atomic uint64_t *slot;
	uint64_t t;

	if (tx == NULL || (value == NULL && ch->elem_size != 0))
		return -EINVAL;
	/* Relaxed: a receiver subscribing concurrently may or may not count,
	 * as with any send racing a subscribe. */
	if (atomic_load_explicit(&ch->receivers, memory_order_relaxed) == 0)
		return -EPIPE;
	weft__lock_acquire(&ch->core.lock);
	/* Relaxed: tail only changes under the lock we hold. */
	t = atomic_load_explicit(&ch->tail, memory_order_relaxed);
	slot = slot_of(ch, t);
	/* Relaxed: the release stores of the words that follow order it
	 * (chan_internal.h). */
	atomic_store_explicit(&slot[0], ((t + 1) << 1) | 1, memory_order_relaxed);
	words_store(&slot[1], value, ch->elem_size);
	/* Release: the slot holds position t; pairs with the receivers'
	 * acquire of the stamp. */
	atomic_store_explicit(&slot[0], (t + 1) << 1, memory_order_release);
	/* Release: publishes the slot; pairs with the acquire in
	 * bc_try_recv. */
	atomic_store_explicit(&ch->tail, t + 1, memory_order_release);
	rx_chan_sent_unlock(&ch->core, recv_wait_gen);
	return 0;
}

size_t weft_broadcast_receiver_count(const weft_broadcast_tx *tx)
{
	if (tx == NULL)
		return 0;
	/* Relaxed: a snapshot. */
	return (size_t)atomic_load_explicit(&chan_of(tx)->receivers, memory_order_relaxed);
}

static void add_receiver(struct broadcast *ch)
{
	/* Relaxed: made from a reference the caller holds. */
	atomic_fetch_add_explicit(&ch->receivers, 1, memory_order_relaxed);
	rx_chan_ref(&ch->core);
}

int weft_broadcast_subscribe(weft_broadcast_tx *tx, weft_broadcast_rx *rx)
{
	struct broadcast *ch;

	if (tx == NULL || rx == NULL)
		return -EINVAL;
	ch = chan_of(tx);
	add_receiver(ch);
	rx->chan = tx;
	/* Acquire: pairs with the release of tail in send. */
	rx->next = atomic_load_explicit(&ch->tail, memory_order_acquire);
	return 0;
}

int weft_broadcast_rx_clone(const weft_broadcast_rx *src, weft_broadcast_rx *dst)
{
	if (src == NULL || dst == NULL || src->chan == NULL)
		return -EINVAL;
	add_receiver(chan_of(src->chan));
	dst->chan = src->chan;
	dst->next = src->next;
	return 0;
}

void weft_broadcast_rx_finish(weft_broadcast_rx *rx)
{
	struct broadcast *ch;

	if (rx == NULL || rx->chan == NULL)
		return;
	ch = chan_of(rx->chan);
	rx->chan = NULL;
	/* Relaxed: counts only; the unref below orders the memory. */
	atomic_fetch_sub_explicit(&ch->receivers, 1, memory_order_relaxed);
	chan_unref(ch);
}

/* ---- receiving ------------------------------------------------------------- */

static int lag_to(weft_broadcast_rx *rx, uint64_t pos, uint64_t *lagged)
{
	if (lagged != NULL)
		*lagged = pos - rx->next;
	rx->next = pos;
	return -EOVERFLOW;
}

static int bc_try_recv(struct broadcast *ch, weft_broadcast_rx *rx, void *out, uint64_t *lagged)
{
	uint64_t p = rx->next, t, want, s;
	_Atomic uint64_t *slot;

	/* Acquire: pairs with the release of tail in send. */
	t = atomic_load_explicit(&ch->tail, memory_order_acquire);
	if (t == p) {
		/* Acquire: pairs with the release in rx_chan_release_sender
		 * (rx_wait.h); then the tail we load is final. */
		if (!atomic_load_explicit(&ch->core.closed, memory_order_acquire))
			return -EAGAIN;
		/* Acquire: as above. */
		t = atomic_load_explicit(&ch->tail, memory_order_acquire);
		if (t == p)
			return -EPIPE;
	}
	if (t - p > ch->cap)
		return lag_to(rx, t - ch->cap, lagged);
	slot = slot_of(ch, p);
	want = (p + 1) << 1;
	/* Acquire: pairs with the release that completed the write of p. */
	s = atomic_load_explicit(&slot[0], memory_order_acquire);
	if (s == want) {
		words_load(out, &slot[1], ch->elem_size);
		/* Relaxed: the acquire loads of the words order it. */
		if (atomic_load_explicit(&slot[0], memory_order_relaxed) == want) {
			rx->next = p + 1;
			return 0;
		}
	}
	/* Position p is being (or has been) overwritten: we lagged. */
	/* Acquire: as above. */
	t = atomic_load_explicit(&ch->tail, memory_order_acquire);
	return lag_to(rx, t >= ch->cap && t - ch->cap > p ? t - ch->cap : p + 1, lagged);
}

/* A receiver that is NULL or finished, or a NULL buffer for a value that
 * has bytes. */
static bool bad_recv(const weft_broadcast_rx *rx, const void *out)
{
	return rx == NULL || rx->chan == NULL ||
	       (out == NULL && chan_of(rx->chan)->elem_size != 0);
}

int weft_broadcast_try_recv(weft_broadcast_rx *rx, void *out, uint64_t *lagged)
{
	if (bad_recv(rx, out))
		return -EINVAL;
	return bc_try_recv(chan_of(rx->chan), rx, out, lagged);
}

static int recv_look(void *arg)
{
	weft_broadcast_recv_future *f = arg;

	return bc_try_recv(chan_of(f->rx->chan), f->rx, f->out, &f->lagged);
}

static weft_poll recv_poll(weft_future *base, weft_cx *cx)
{
	weft_broadcast_recv_future *f = (weft_broadcast_recv_future *)base;

	if (f->rx == NULL) {
		f->status = -EINVAL;
		return WEFT_READY;
	}
	return rx_wait_poll(&chan_of(f->rx->chan)->core, recv_wait_of(f), cx, recv_look, f,
			    &f->status);
}

static void recv_drop(weft_future *base)
{
	weft_broadcast_recv_future *f = (weft_broadcast_recv_future *)base;

	if (f->queued)
		rx_wait_drop_queued(&chan_of(f->rx->chan)->core, recv_wait_of(f));
}

int weft_broadcast_recv(weft_broadcast_rx *rx, void *out, weft_broadcast_recv_future *f)
{
	if (f == NULL)
		return -EINVAL;
	f->base.poll = recv_poll;
	f->base.drop = recv_drop;
	f->status = 0;
	f->lagged = 0;
	f->rx = bad_recv(rx, out) ? NULL : rx;
	f->out = out;
	f->queued = false;
	f->wait_gen = 0;
	weft__waiter_init(&f->waiter);
	return f->rx != NULL ? 0 : -EINVAL;
}

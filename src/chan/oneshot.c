/*
 * src/chan/oneshot.c - one value from one sender to one receiver, in
 * memory the caller owns (or one allocation that frees itself).
 *
 * The state word
 * ==============
 *
 *   VALUE      the value is in storage (set together with TX_DONE);
 *   TX_DONE    the sender is done: it sent, or closed without sending;
 *   RX_DONE    the receiver is done: it received, or closed;
 *   RX_WAKER   the waker fields hold the receiver's waker, and the sender
 *              may take it; while clear, the receiver owns the fields;
 *   HEAP       weft_oneshot_create made it: freed when both sides are done;
 *   bits 8-31  a generation, bumped each time RX_WAKER is set.
 *
 * The one hard rule is that a side must not touch the oneshot after its
 * last transition, because the other side may then free it (it lives in
 * the receiver's future, typically).  So the sender never reads the waker
 * after publishing the value: it reads the waker fields first, then sets
 * VALUE | TX_DONE and clears RX_WAKER in one CAS, and wakes its local copy.
 * If the receiver changed its waker meanwhile, it had to clear RX_WAKER
 * (and set it again with a new generation) to do so, the CAS fails, and
 * the sender reads again.  The fields are atomics so that the sender's
 * early read is never a data race, and the generation defeats ABA.
 *
 * The receiver registers by storing the fields while RX_WAKER is clear and
 * then setting it (release); to replace its waker it first takes the
 * fields back by clearing RX_WAKER.  A CAS that fails because the sender
 * finished tells the receiver the value (or the close) is there.
 *
 * Whoever of the two sets the second DONE bit frees a HEAP oneshot.  A
 * receiver that finds TX_DONE already set is the last side: it takes the
 * value and frees a HEAP oneshot without another read-modify-write (a
 * caller-owned one gets RX_DONE with a plain release store), since the
 * sender makes no transition after TX_DONE.
 */
#include <errno.h>
#include <stdlib.h>

#include "chan_internal.h"

#define OS_VALUE 1u
#define OS_TX_DONE 2u
#define OS_RX_DONE 4u
#define OS_RX_WAKER 8u
#define OS_HEAP 16u
#define OS_GEN_ONE (1u << 8)

#define MAX_SIZE ((size_t)1 << 31)

static weft_waker load_waker(const weft_oneshot *os)
{
	weft_waker w;

	/* Relaxed: ordered by the acquire load or CAS of the state word that
	 * saw RX_WAKER (pairs with the receiver's release when setting it). */
	w.data = (void *)atomic_load_explicit(&os->rx_waker_data, memory_order_relaxed);
	w.vtable = (const weft_waker_vtable *)atomic_load_explicit(&os->rx_waker_vtable,
								    memory_order_relaxed);
	return w;
}

static void store_waker(weft_oneshot *os, weft_waker w)
{
	/* Relaxed: published by the release CAS that sets RX_WAKER. */
	atomic_store_explicit(&os->rx_waker_data, (uintptr_t)w.data, memory_order_relaxed);
	atomic_store_explicit(&os->rx_waker_vtable, (uintptr_t)w.vtable, memory_order_relaxed);
}

static void oneshot_setup(weft_oneshot *os, void *storage, size_t size, uint32_t flags)
{
	atomic_init(&os->state, flags);
	os->size = (uint32_t)size;
	os->storage = storage;
	atomic_init(&os->rx_waker_data, 0);
	atomic_init(&os->rx_waker_vtable, 0);
	os->inline_storage.u[0] = 0;
	os->inline_storage.u[1] = 0;
}

int weft_oneshot_init(weft_oneshot *os, void *storage, size_t size)
{
	if (os == NULL || size > MAX_SIZE)
		return -EINVAL;
	if (storage == NULL) {
		if (size > WEFT_ONESHOT_INLINE_SIZE)
			return -EINVAL;
		storage = &os->inline_storage;
	}
	oneshot_setup(os, storage, size, 0);
	return 0;
}

int weft_oneshot_create(size_t size, weft_oneshot **out)
{
	weft_oneshot *os;

	if (out == NULL || size > MAX_SIZE)
		return -EINVAL;
	/* One allocation; a small value lives in the inline buffer. */
	os = chan_alloc_inline(sizeof(*os) + (size > WEFT_ONESHOT_INLINE_SIZE ? size : 0));
	if (os == NULL)
		return -ENOMEM;
	oneshot_setup(os, size > WEFT_ONESHOT_INLINE_SIZE ? (void *)(os + 1) : &os->inline_storage,
		      size, OS_HEAP);
	*out = os;
	return 0;
}

void weft_oneshot_finish(weft_oneshot *os)
{
	uint32_t s;

	if (os == NULL)
		return;
	/* Acquire: pairs with the receiver's release that set RX_WAKER. */
	s = atomic_load_explicit(&os->state, memory_order_acquire);
	if (s & OS_RX_WAKER) {
		weft_waker w = load_waker(os);

		weft_waker_drop(&w);
		atomic_store_explicit(&os->state, s & ~OS_RX_WAKER, memory_order_relaxed);
	}
}

/* ---- the sender ---------------------------------------------------------- */

/*
 * The sender's last transition: sets TX_DONE (and VALUE when `sent`),
 * taking the receiver's waker.  Returns 0, or -EPIPE when the receiver was
 * already done (then VALUE is not set).
 */
static int tx_finish(weft_oneshot *os, bool sent)
{
	/* Acquire: see the receiver's waker fields (pairs with its release). */
	uint32_t s = atomic_load_explicit(&os->state, memory_order_acquire);
	weft_waker w = { NULL, NULL };
	uint32_t next;

	for (;;) {
		if (s & OS_RX_DONE) {
			next = s | OS_TX_DONE;
		} else {
			if (s & OS_RX_WAKER)
				w = load_waker(os);
			next = (s | OS_TX_DONE | (sent ? OS_VALUE : 0)) & ~OS_RX_WAKER;
		}
		/* AcqRel: release publishes the value to the receiver (pairs
		 * with its acquire loads); acquire on failure re-reads the
		 * waker fields of a new registration. */
		if (atomic_compare_exchange_weak_explicit(&os->state, &s, next,
							  memory_order_acq_rel,
							  memory_order_acquire))
			break;
	}
	/* From here on `os` may be freed by the receiver unless it is done. */
	if (s & OS_RX_DONE) {
		if (s & OS_HEAP)
			chan_free_inline(os);
		return -EPIPE;
	}
	if (s & OS_RX_WAKER)
		weft_waker_wake(&w);
	return 0;
}

/* A value pointer may be NULL only for a oneshot of empty values. */
static bool bad_value(const weft_oneshot *os, const void *value)
{
	return value == NULL && os->size != 0;
}

int weft_oneshot_send(weft_oneshot *os, const void *value)
{
	uint32_t s;

	if (os == NULL || bad_value(os, value))
		return -EINVAL;
	/* Acquire: pairs with the receiver's release transitions. */
	s = atomic_load_explicit(&os->state, memory_order_acquire);
	if (s & OS_TX_DONE)
		return -EINVAL;
	/* The receiver reads storage only after it sees VALUE. */
	if (!(s & OS_RX_DONE))
		value_copy(os->storage, value, os->size);
	return tx_finish(os, true);
}

int weft_oneshot_send_ptr(weft_oneshot *os, void *p)
{
	if (os == NULL || os->size != sizeof(void *))
		return -EINVAL;
	return weft_oneshot_send(os, &p);
}

int weft_oneshot_tx_close(weft_oneshot *os)
{
	if (os == NULL)
		return -EINVAL;
	/* Acquire: pairs with the receiver's release transitions. */
	if (atomic_load_explicit(&os->state, memory_order_acquire) & OS_TX_DONE)
		return 0;
	(void)tx_finish(os, false);
	return 0;
}

bool weft_oneshot_is_closed(const weft_oneshot *os)
{
	if (os == NULL)
		return false;
	/* Acquire: pairs with the receiver's release in rx_close. */
	return (atomic_load_explicit(&os->state, memory_order_acquire) & OS_RX_DONE) != 0;
}

/* ---- the receiver -------------------------------------------------------- */

/* `s` has TX_DONE set: takes the value (if any) and finishes the receiver. */
static int rx_complete(weft_oneshot *os, void *out, uint32_t s)
{
	int err = -EPIPE;

	if (s & OS_VALUE) {
		value_copy(out, os->storage, os->size);
		err = 0;
	}
	/* The sender is done (TX_DONE is in `s`, seen with acquire), so it
	 * makes no more transitions and nothing else writes the state word
	 * before the receiver's: a HEAP oneshot is ours to free without
	 * setting RX_DONE at all, and a caller-owned one needs only a store,
	 * not a read-modify-write. */
	if (s & OS_HEAP) {
		chan_free_inline(os);
		return err;
	}
	/* Release: orders our read of the value before the owner reuses the
	 * memory; pairs with the acquire loads of the owner's thread (is_closed,
	 * finish). */
	atomic_store_explicit(&os->state, s | OS_RX_DONE, memory_order_release);
	return err;
}

int weft_oneshot_try_recv(weft_oneshot *os, void *out)
{
	uint32_t s;

	if (os == NULL || bad_value(os, out))
		return -EINVAL;
	/* Acquire: pairs with the sender's release, making the value visible. */
	s = atomic_load_explicit(&os->state, memory_order_acquire);

	if (s & OS_RX_DONE)
		return -EINVAL;
	if (s & OS_TX_DONE)
		return rx_complete(os, out, s);
	return -EAGAIN;
}

int weft_oneshot_rx_close(weft_oneshot *os)
{
	weft_waker w = { NULL, NULL };
	uint32_t s;

	if (os == NULL)
		return -EINVAL;
	/* Acquire: pairs with the sender's release transitions. */
	s = atomic_load_explicit(&os->state, memory_order_acquire);
	for (;;) {
		if (s & OS_RX_DONE)
			return 0;
		if (s & OS_RX_WAKER)
			w = load_waker(os);
		/* AcqRel: release hands the oneshot to the sender (who may
		 * free it once done); acquire sees the sender's state. */
		if (atomic_compare_exchange_weak_explicit(&os->state, &s,
							  (s | OS_RX_DONE) & ~OS_RX_WAKER,
							  memory_order_acq_rel,
							  memory_order_acquire))
			break;
	}
	if (s & OS_RX_WAKER)
		weft_waker_drop(&w);
	if ((s & OS_TX_DONE) && (s & OS_HEAP))
		chan_free_inline(os);
	return 0;
}

/*
 * Registers `waker` unless the sender is done.  Returns true when the
 * receiver must complete now (the sender is done, or the receiver was).
 */
static bool rx_register(weft_oneshot *os, const weft_waker *waker, uint32_t *state)
{
	/* Acquire: pairs with the sender's release transitions. */
	uint32_t s = atomic_load_explicit(&os->state, memory_order_acquire);
	weft_waker w;

	for (;;) {
		if (s & (OS_TX_DONE | OS_RX_DONE))
			break;
		if (s & OS_RX_WAKER) {
			weft_waker cur = load_waker(os);

			if (weft_waker_will_wake(&cur, waker))
				return false;
			/* Acquire: take the fields back from the sender. */
			if (!atomic_compare_exchange_weak_explicit(&os->state, &s, s & ~OS_RX_WAKER,
								   memory_order_acquire,
								   memory_order_acquire))
				continue;
			weft_waker_drop(&cur);
			s &= ~OS_RX_WAKER;
		}
		w = weft_waker_clone(waker);
		store_waker(os, w);
		/* Release: publishes the waker fields to the sender (pairs
		 * with its acquire load / CAS). */
		if (atomic_compare_exchange_strong_explicit(&os->state, &s,
							    (s | OS_RX_WAKER) + OS_GEN_ONE,
							    memory_order_release,
							    memory_order_acquire))
			return false;
		/* The sender finished meanwhile; the fields are still ours. */
		weft_waker_drop(&w);
	}
	*state = s;
	return true;
}

static weft_poll recv_poll(weft_future *base, weft_cx *cx)
{
	weft_oneshot_recv_future *f = (weft_oneshot_recv_future *)base;
	uint32_t s;

	if (f->done)
		return WEFT_READY;
	if (f->os == NULL) {
		f->status = -EINVAL;
		f->done = true;
		return WEFT_READY;
	}
	if (!weft_coop_proceed(cx))
		return WEFT_PENDING;
	if (!rx_register(f->os, weft_cx_waker(cx), &s)) {
		f->registered = true;
		weft_coop_refund(cx);
		return WEFT_PENDING;
	}
	f->status = (s & OS_RX_DONE) ? -EINVAL : rx_complete(f->os, f->out, s);
	f->done = true;
	return WEFT_READY;
}

static void recv_drop(weft_future *base)
{
	weft_oneshot_recv_future *f = (weft_oneshot_recv_future *)base;
	weft_oneshot *os = f->os;
	uint32_t s;

	if (f->done || !f->registered)
		return;
	f->done = true;
	/* Acquire: pairs with the sender's release transitions. */
	s = atomic_load_explicit(&os->state, memory_order_acquire);
	while ((s & OS_RX_WAKER) && !(s & OS_RX_DONE)) {
		weft_waker w = load_waker(os);

		/* Acquire: take the fields back (the sender may be reading
		 * them); on success the waker is ours to drop. */
		if (atomic_compare_exchange_weak_explicit(&os->state, &s, s & ~OS_RX_WAKER,
							  memory_order_acquire,
							  memory_order_acquire)) {
			weft_waker_drop(&w);
			return;
		}
	}
}

int weft_oneshot_recv(weft_oneshot *os, void *out, weft_oneshot_recv_future *f)
{
	if (f == NULL)
		return -EINVAL;
	f->base.poll = recv_poll;
	f->base.drop = recv_drop;
	f->status = 0;
	f->os = os != NULL && !bad_value(os, out) ? os : NULL;
	f->out = out;
	f->registered = false;
	f->done = false;
	return f->os != NULL ? 0 : -EINVAL;
}

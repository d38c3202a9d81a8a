/*
 * weft/chan.h - channels: mpsc (bounded and unbounded), oneshot, broadcast,
 * watch, and select over several operations.
 *
 * Every channel copies values in and out: a channel is made for one element
 * size, a send copies `elem_size` bytes from the caller's buffer and a
 * receive copies them into the caller's buffer.  Pointer-sized elements take
 * a fast path (and have _ptr conveniences).  A channel never looks inside a
 * value; values still buffered when a channel goes away are discarded
 * without being looked at, so a value that owns memory should be drained
 * with try_recv first (docs/chan.md).
 *
 * Two tiers everywhere (docs/chan.md): `weft_x_try_*` never waits,
 * and a caller-allocated future waits.  A future is initialised by a call
 * such as weft_mpsc_send(tx, &value, &f), awaited (WEFT_AWAIT(self, cx,
 * &self->f.base)) and then dropped with weft_future_drop(&f.base); dropping
 * is safe whether the future was never polled, is waiting, or finished, and
 * dropping it never loses a value: a send that has not completed has not
 * delivered anything, and a receive takes its value in the same poll that
 * returns WEFT_READY.  Waiting allocates nothing: the waiter node lives in
 * the future.  Each poll that does work spends one unit of the task's
 * cooperative budget (weft_coop_proceed), so a task that always finds its
 * channel ready still yields.
 *
 * Errors are negative errno values: -EAGAIN (try tier: would wait), -EPIPE
 * (the channel is closed: nothing can be sent, or nothing more will
 * arrive), -EOVERFLOW (broadcast: the receiver lagged and skipped ahead),
 * -ENOMEM, -EINVAL.  No call sets errno or aborts.
 *
 * Bad input gets the same answer as in weft/sync.h: a NULL handle or
 * buffer (or another invalid argument) makes a call that returns int
 * return -EINVAL having done nothing; release and finish calls ignore
 * NULL; queries return false, 0 or NULL.  Future initialisers all return
 * int: 0, or -EINVAL for a NULL future (nothing written) or bad arguments,
 * in which case the future is still initialised and completes at its first
 * poll with status -EINVAL (and drops safely).  A value or out pointer may
 * be NULL only for a channel of zero-byte values.
 *
 * Memory: channels allocate with the C library's malloc/free (there is no
 * allocator hook for channels yet).  Every constructor returns -ENOMEM with
 * nothing leaked when an allocation fails.  An mpsc channel allocates its
 * buffer in blocks of 32 slots as it grows and frees them as it drains,
 * keeping up to two spare blocks; a bounded send can fail with -ENOMEM only
 * when such a block cannot be allocated.
 *
 * Threads: every function may be called from any thread, inside or outside
 * a runtime, unless its comment says otherwise.  A handle documented as
 * "used by one thread at a time" may move between threads, but two threads
 * must not use it at once.
 */
#ifndef WEFT_CHAN_H
#define WEFT_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/future.h"
#include "weft/waiter.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* mpsc: many senders, one receiver                                          */
/* ======================================================================== */

/*
 * The two ends of an mpsc channel.  Both are opaque and point into one
 * shared, reference-counted allocation.
 *
 * weft_mpsc_tx is shared by every sender: weft_mpsc_tx_clone adds a sender
 * reference (and returns the same pointer), weft_mpsc_tx_release drops one.
 * When the last sender reference goes, the channel closes: the receiver
 * gets what is buffered, then end-of-stream.  Sending through a tx is safe
 * from any number of threads at once.
 *
 * weft_mpsc_rx is the single receiver; it is used by one thread at a time.
 * weft_mpsc_rx_release closes the channel and discards what is buffered.
 *
 * The allocation is freed when the receiver and every sender reference are
 * released.  A future that uses a handle must be dropped before its caller
 * releases the handle.
 */
typedef struct weft_mpsc_tx weft_mpsc_tx;
typedef struct weft_mpsc_rx weft_mpsc_rx;

/*
 * Creates a bounded channel: at most `capacity` values are buffered at once,
 * and a send waits (backpressure) while the channel is full; waiting senders
 * are served first come, first served.  `elem_size` may be 0 (values carry
 * no data).  On success stores the two ends in *tx (holding one sender
 * reference) and *rx and returns 0.  Returns -EINVAL for a NULL out pointer,
 * a capacity of 0 or above 2^40, or an elem_size above 2^24; -ENOMEM when
 * the allocation fails (nothing leaked, *tx and *rx untouched).  Any thread.
 */
int weft_mpsc_bounded(size_t elem_size, size_t capacity, weft_mpsc_tx **tx,
		      weft_mpsc_rx **rx);

/*
 * Creates an unbounded channel: a send never waits; the buffer grows in
 * blocks of 32 values and shrinks as the receiver drains it.  Otherwise as
 * weft_mpsc_bounded.  Any thread.
 */
int weft_mpsc_unbounded(size_t elem_size, weft_mpsc_tx **tx, weft_mpsc_rx **rx);

/*
 * Adds a sender reference and returns `tx` (the same pointer); each
 * reference is released with weft_mpsc_tx_release.  Never fails (NULL for
 * a NULL `tx`).  Any thread, as long as the caller holds a reference.
 */
weft_mpsc_tx *weft_mpsc_tx_clone(weft_mpsc_tx *tx);

/*
 * Drops one sender reference; the last one closes the channel (the
 * receiver drains what is buffered, then sees end-of-stream) and, if the
 * receiver is gone too, frees it.  NULL is ignored.  Any thread.
 */
void weft_mpsc_tx_release(weft_mpsc_tx *tx);

/*
 * Closes the channel from the sending side, for every sender: later sends
 * return -EPIPE, senders waiting for room get -EPIPE, and the receiver
 * drains what is buffered, then sees end-of-stream.  Idempotent.  Does not
 * release the caller's reference.  Returns 0, or -EINVAL for NULL.  Any
 * thread.
 */
int weft_mpsc_tx_close(weft_mpsc_tx *tx);

/*
 * Returns true when the channel is closed (by either side, or because the
 * receiver is gone): a send would fail with -EPIPE.  False for NULL.  Any
 * thread.
 */
bool weft_mpsc_tx_is_closed(const weft_mpsc_tx *tx);

/*
 * Sends without waiting: copies elem_size bytes from `value` into the
 * channel.  Returns 0 on success; -EAGAIN when a bounded channel is full
 * (or other senders are already waiting for room: no barging); -EPIPE when
 * the channel is closed; -ENOMEM when a block of the buffer cannot be
 * allocated; -EINVAL for a NULL `tx` or `value`.  On failure nothing was
 * sent and `value` is still the caller's.  Any thread.
 */
int weft_mpsc_try_send(weft_mpsc_tx *tx, const void *value);

/* As weft_mpsc_try_send for a channel of pointer-sized elements: sends `p`
 * itself.  -EINVAL when elem_size != sizeof(void *). */
int weft_mpsc_try_send_ptr(weft_mpsc_tx *tx, void *p);

/*
 * Closes the channel from the receiving side: later sends return -EPIPE and
 * waiting senders are woken with -EPIPE, while the receiver can still
 * receive what was sent before.  Idempotent.  Returns 0, or -EINVAL for
 * NULL.  The receiver's thread.
 */
int weft_mpsc_rx_close(weft_mpsc_rx *rx);

/*
 * Releases the receiver: closes the channel, discards what is buffered and
 * drops the receiver's reference (freeing the channel if no sender holds
 * one).  NULL is ignored.  The receiver's thread.
 */
void weft_mpsc_rx_release(weft_mpsc_rx *rx);

/*
 * Receives without waiting: copies the oldest value into `out` (elem_size
 * bytes).  Returns 0 on success; -EAGAIN when nothing is available yet;
 * -EPIPE at end-of-stream (the channel is closed and everything sent before
 * has been received); -EINVAL for a NULL `rx` or `out`.  The receiver's
 * thread.
 */
int weft_mpsc_try_recv(weft_mpsc_rx *rx, void *out);

/* As weft_mpsc_try_recv for pointer-sized elements; -EINVAL when
 * elem_size != sizeof(void *). */
int weft_mpsc_try_recv_ptr(weft_mpsc_rx *rx, void **out);

/*
 * Returns the number of values sent but not yet received (including sends
 * that are completing at this moment).  For a bounded channel it is never
 * above the capacity.  0 for NULL.  The receiver's thread.
 */
size_t weft_mpsc_len(const weft_mpsc_rx *rx);

/* The element size the channel was created with (0 for NULL).  Any
 * thread. */
size_t weft_mpsc_elem_size(const weft_mpsc_tx *tx);

/*
 * A send that waits for room.  Initialised by weft_mpsc_send; `status` is
 * valid once polled to ready: 0 (sent), -EPIPE (closed; nothing sent),
 * -ENOMEM, or -EINVAL (bad arguments).  Dropped while waiting, it sends
 * nothing and leaves its place in the queue (and passes on any room it had
 * been given).  The other fields are private.
 */
typedef struct weft_mpsc_send_future {
	weft_future base;
	int status;
	/* private */
	struct weft_mpsc_tx *tx;
	const void *value;
	void *inline_value;
	int state;
	/* A bounded send waiting for room waits here for its permit. */
	struct weft__sem_wait wait;
} weft_mpsc_send_future;

/*
 * Initialises `f` to send the elem_size bytes at `value`, which must stay
 * valid and unchanged until `f` is ready or dropped.  The copy is made in
 * the poll that returns ready.  An unbounded send is ready at its first
 * poll.  Returns 0; -EINVAL for a NULL `f`, or for a NULL `tx` or `value`
 * (then `f` completes at its first poll with status -EINVAL).  The caller
 * polls and finally drops `f`.  The future is polled by one task at a time.
 */
int weft_mpsc_send(weft_mpsc_tx *tx, const void *value, weft_mpsc_send_future *f);

/* As weft_mpsc_send, sending the pointer `p` itself (kept inside `f`), for
 * pointer-sized channels; a NULL `tx` or a wrong element size returns
 * -EINVAL and makes status -EINVAL. */
int weft_mpsc_send_ptr(weft_mpsc_tx *tx, void *p, weft_mpsc_send_future *f);

/*
 * A receive that waits for a value.  Initialised by weft_mpsc_recv;
 * `status` is valid once polled to ready: 0 (a value was copied to `out`),
 * -EPIPE (end-of-stream) or -EINVAL (bad arguments).  Dropping it at any point loses nothing (the
 * value is taken only in the poll that returns ready).  The receiver's
 * waker stays registered in the channel after such a drop, until the next
 * receive replaces it or the receiver is released: at worst one spurious
 * wake.  Polling it again after it was ready is a bug.
 */
typedef struct weft_mpsc_recv_future {
	weft_future base;
	int status;
	/* private */
	struct weft_mpsc_rx *rx;
	void *out;
} weft_mpsc_recv_future;

/*
 * Initialises `f` to receive one value into `out` (elem_size bytes, owned
 * by the caller, valid until `f` is ready or dropped).  Returns 0, or
 * -EINVAL as weft_mpsc_send does (NULL `f`, or NULL `rx` / `out`: then `f`
 * completes with -EINVAL).  Only the receiver's task polls it.
 */
int weft_mpsc_recv(weft_mpsc_rx *rx, void *out, weft_mpsc_recv_future *f);

/* ======================================================================== */
/* oneshot: one value, one sender, one receiver                              */
/* ======================================================================== */

/*
 * A oneshot carries at most one value from one sender to one receiver.
 *
 * Ownership.  A caller-owned oneshot (weft_oneshot_init) allocates nothing:
 * it lives in the caller's struct, typically the receiver's future, and the
 * value goes to storage the caller names (or to the small inline buffer).
 * Its memory must stay valid until both sides are done with it: the sender
 * is done when weft_oneshot_send or weft_oneshot_tx_close returns (it never
 * touches the oneshot afterwards), the receiver when a receive completed
 * (value or -EPIPE) or weft_oneshot_rx_close returned.  In particular a
 * receiver that may be cancelled while a sender still holds a pointer to
 * the oneshot must not own its memory: use weft_oneshot_create, which
 * allocates once and frees itself when both sides are done.
 *
 * Each side is used by one thread at a time; the two sides may be on
 * different threads.  All fields are private.
 */
typedef struct weft_oneshot {
	WEFT__ATOMIC(uint32_t) state;
	uint32_t size;
	void *storage;
	WEFT__ATOMIC(uintptr_t) rx_waker_data;
	WEFT__ATOMIC(uintptr_t) rx_waker_vtable;
	union {
		void *p[2];
		uint64_t u[2];
	} inline_storage;
} weft_oneshot;

/* Bytes of value a oneshot keeps inline (storage NULL in weft_oneshot_init). */
#define WEFT_ONESHOT_INLINE_SIZE 16

/*
 * Initialises a caller-owned oneshot for values of `size` bytes that are
 * written to `storage` (caller memory of `size` bytes, valid as long as the
 * oneshot), or, with `storage` NULL, to an inline buffer of
 * WEFT_ONESHOT_INLINE_SIZE bytes.  Returns 0, or -EINVAL when `os` is NULL,
 * `size` is above 2^31, or storage is NULL and `size` is above the inline
 * size.  Allocates nothing.  Any thread (before the oneshot is shared).
 */
int weft_oneshot_init(weft_oneshot *os, void *storage, size_t size);

/*
 * Releases what a caller-owned oneshot still holds (a receiver's waker left
 * behind when a side stopped without its closing call).  Call it once
 * neither side will touch the oneshot again; then the memory is the
 * caller's.  NULL is ignored.
 */
void weft_oneshot_finish(weft_oneshot *os);

/*
 * Allocates a oneshot with room for one value of `size` bytes and stores it
 * in *out.  It frees itself when both sides are done (see above): no finish
 * call.  Returns 0, -EINVAL (NULL out, size above 2^31) or -ENOMEM (*out
 * untouched).  Any thread.
 */
int weft_oneshot_create(size_t size, weft_oneshot **out);

/*
 * Sends the value: copies `size` bytes from `value` and wakes the receiver.
 * The sender is done with the oneshot when this returns, whatever it
 * returns.  Returns 0; -EPIPE when the receiver has closed (nothing sent,
 * `value` is still the caller's); -EINVAL when the sender was already done,
 * or for a NULL `os` or `value` (then the sender is not done).  The
 * sender's thread.
 */
int weft_oneshot_send(weft_oneshot *os, const void *value);

/* As weft_oneshot_send, sending the pointer `p` itself (size must be
 * sizeof(void *), else -EINVAL and the sender is not done). */
int weft_oneshot_send_ptr(weft_oneshot *os, void *p);

/*
 * The sender gives up without sending: the receiver gets -EPIPE.  The
 * sender is done.  Calling it after a send does nothing.  Returns 0, or
 * -EINVAL for NULL.  The sender's thread.
 */
int weft_oneshot_tx_close(weft_oneshot *os);

/* Returns true when the receiver has closed (a send would fail); false for
 * NULL.  Any thread that may still touch the oneshot. */
bool weft_oneshot_is_closed(const weft_oneshot *os);

/*
 * Receives without waiting.  Returns 0 with the value copied to `out` (the
 * receiver is then done); -EPIPE when the sender closed without sending
 * (the receiver is done); -EAGAIN when nothing has arrived yet; -EINVAL
 * when the receiver was already done, or for a NULL `os` or `out`.  The
 * receiver's thread.
 */
int weft_oneshot_try_recv(weft_oneshot *os, void *out);

/*
 * The receiver gives up: a later send returns -EPIPE; a value already sent
 * is discarded.  The receiver is done.  Returns 0, or -EINVAL for NULL.
 * The receiver's thread.
 */
int weft_oneshot_rx_close(weft_oneshot *os);

/*
 * A receive that waits for the value.  `status` once ready: 0 (value copied
 * to `out`) or -EPIPE (the sender closed without sending), -EINVAL (the
 * receiver was already done).  Dropping it before it is ready leaves the
 * oneshot open (a value that arrived meanwhile stays for the next receive),
 * so a receive inside a select that loses gives its value back.
 */
typedef struct weft_oneshot_recv_future {
	weft_future base;
	int status;
	/* private */
	weft_oneshot *os;
	void *out;
	bool registered;
	bool done;
} weft_oneshot_recv_future;

/* Initialises `f` to receive into `out` (`size` bytes).  Returns 0, or
 * -EINVAL for a NULL `f`, `os` or `out` (then `f` completes with -EINVAL).
 * Only the receiver's task polls it. */
int weft_oneshot_recv(weft_oneshot *os, void *out, weft_oneshot_recv_future *f);

/* ======================================================================== */
/* broadcast: every receiver sees every value                                */
/* ======================================================================== */

/*
 * A broadcast channel keeps the last `capacity` values (rounded up to a
 * power of two) in a ring.  Every receiver reads every value in order; a
 * receiver that falls more than the capacity behind loses the oldest
 * values: its next receive returns -EOVERFLOW with the number it missed and
 * skips ahead to the oldest value still held.  A send never waits.
 *
 * weft_broadcast_tx is shared by every sender (clone / release as for
 * mpsc); the channel closes when the last sender reference goes.
 * Receivers are caller-owned structs made by weft_broadcast_subscribe and
 * released by weft_broadcast_rx_finish; each is used by one thread at a
 * time.  The channel is freed when every sender reference and receiver is
 * gone.  A receiver holds one reference to the channel: it may be moved
 * (copied to another address, the original never used or finished again)
 * while no future uses it, but not copied; a second receiver comes from
 * weft_broadcast_rx_clone or weft_broadcast_subscribe.
 */
typedef struct weft_broadcast_tx weft_broadcast_tx;

/* A receiver; fields private. */
typedef struct weft_broadcast_rx {
	struct weft_broadcast_tx *chan;
	uint64_t next;
} weft_broadcast_rx;

/*
 * Creates a broadcast channel for values of `elem_size` bytes keeping the
 * last `capacity` values.  Stores the sender in *tx (one reference) and
 * returns 0; -EINVAL for a NULL tx, capacity 0 or above 2^30, elem_size
 * above 2^24; -ENOMEM (nothing leaked).  Any thread.
 */
int weft_broadcast_create(size_t elem_size, size_t capacity, weft_broadcast_tx **tx);

/* Adds a sender reference and returns `tx`.  Never fails (NULL for NULL).
 * Any thread, as long as the caller holds a reference. */
weft_broadcast_tx *weft_broadcast_tx_clone(weft_broadcast_tx *tx);

/* Drops a sender reference; the last one closes the channel (receivers
 * drain what they have not read, then get -EPIPE) and frees it once no
 * receiver is left.  NULL is ignored.  Any thread. */
void weft_broadcast_tx_release(weft_broadcast_tx *tx);

/*
 * Sends `value` (elem_size bytes, copied) to every current receiver; never
 * waits.  When the ring is full the oldest value is overwritten (slow
 * receivers lag).  Returns 0; -EPIPE when there is no receiver (nothing
 * stored); -EINVAL for a NULL `tx` or `value`.  Any thread; concurrent
 * sends are serialised.
 */
int weft_broadcast_send(weft_broadcast_tx *tx, const void *value);

/* Returns the number of receivers (0 for NULL).  Any thread. */
size_t weft_broadcast_receiver_count(const weft_broadcast_tx *tx);

/*
 * Initialises the caller-owned receiver `rx` on the channel of `tx`; it
 * sees the values sent from now on.  Returns 0, or -EINVAL for NULL
 * arguments.  Allocates nothing.  Any thread.
 */
int weft_broadcast_subscribe(weft_broadcast_tx *tx, weft_broadcast_rx *rx);

/* Initialises `dst` as a new receiver at the same position as `src` (it
 * will see the same values), with its own reference to the channel.
 * Returns 0, or -EINVAL for NULL arguments or a finished `src`.  The
 * thread that uses `src`. */
int weft_broadcast_rx_clone(const weft_broadcast_rx *src, weft_broadcast_rx *dst);

/* Releases the receiver (and frees the channel when it was the last user).
 * No future may still use it.  NULL or an already finished receiver is
 * ignored.  The receiver's thread. */
void weft_broadcast_rx_finish(weft_broadcast_rx *rx);

/*
 * Receives without waiting.  Returns 0 with the next value in `out`;
 * -EAGAIN when there is nothing new; -EPIPE when the channel is closed and
 * everything was read; -EOVERFLOW when the receiver lagged: *lagged (when
 * `lagged` is not NULL) holds how many values it missed, and the next
 * receive returns the oldest value still held; -EINVAL for a NULL or
 * finished `rx` or a NULL `out`.  The receiver's thread.
 */
int weft_broadcast_try_recv(weft_broadcast_rx *rx, void *out, uint64_t *lagged);

/*
 * A receive that waits.  `status` once ready: 0 (value in `out`), -EPIPE,
 * -EOVERFLOW with `lagged` set (as weft_broadcast_try_recv), or -EINVAL
 * (bad arguments).  Dropping
 * it loses nothing: the receiver's position only moves when a value is
 * copied out.
 */
typedef struct weft_broadcast_recv_future {
	weft_future base;
	int status;
	uint64_t lagged;
	/* private */
	weft_broadcast_rx *rx;
	void *out;
	bool queued;
	uint64_t wait_gen;
	struct weft__waiter waiter;
} weft_broadcast_recv_future;

/* Initialises `f`.  Returns 0, or -EINVAL for a NULL `f`, a NULL or
 * finished `rx` or a NULL `out` (then `f` completes with -EINVAL).  Only
 * the receiver's task polls it. */
int weft_broadcast_recv(weft_broadcast_rx *rx, void *out, weft_broadcast_recv_future *f);

/* ======================================================================== */
/* watch: the latest value, with a version                                   */
/* ======================================================================== */

/*
 * A watch channel holds one value.  A send replaces it and bumps its
 * version; receivers read the latest value at any time and can wait until
 * it changes (they see the latest value, not every value).
 *
 * weft_watch_tx is shared by the senders (clone / release); the channel
 * closes when the last sender reference goes.  Receivers are caller-owned
 * structs (subscribe / finish), each used by one thread at a time.  A
 * receiver holds one reference to the channel: it may be moved (copied to
 * another address, the original never used or finished again) while no
 * future uses it, but not copied; a second receiver comes from
 * weft_watch_rx_clone or weft_watch_subscribe.
 */
typedef struct weft_watch_tx weft_watch_tx;

/* A receiver; fields private. */
typedef struct weft_watch_rx {
	struct weft_watch_tx *chan;
	uint64_t seen;
} weft_watch_rx;

/*
 * Creates a watch channel for values of `elem_size` bytes (at least 1),
 * starting with a copy of `initial` (or zeros when NULL) at version 0.
 * Returns 0, -EINVAL (NULL tx, elem_size 0 or above 2^24) or -ENOMEM.
 */
int weft_watch_create(size_t elem_size, const void *initial, weft_watch_tx **tx);

/* Adds a sender reference and returns `tx`.  Never fails (NULL for NULL).
 * Any thread, as long as the caller holds a reference. */
weft_watch_tx *weft_watch_tx_clone(weft_watch_tx *tx);

/* Drops a sender reference; the last one closes the channel (receivers see
 * an unseen change, then -EPIPE from changed; the value stays readable) and
 * frees it once no receiver is left.  NULL is ignored.  Any thread. */
void weft_watch_tx_release(weft_watch_tx *tx);

/*
 * Replaces the value with a copy of `value`, bumps the version and wakes
 * every receiver waiting for a change.  Never waits on receivers.  Returns
 * 0 (also when there is no receiver: the value is kept for later
 * subscribers), or -EINVAL for a NULL `tx` or `value`.  Any thread;
 * concurrent sends are serialised.
 */
int weft_watch_send(weft_watch_tx *tx, const void *value);

/* Returns the current version (the number of sends so far; 0 for NULL).
 * Any thread holding a sender reference. */
uint64_t weft_watch_version(const weft_watch_tx *tx);

/*
 * Subscribes the caller-owned receiver `rx`; the current value counts as
 * seen.  Returns 0 or -EINVAL.  Allocates nothing.  Any thread holding a
 * sender reference.  A receiver may be moved, not copied (see above).
 */
int weft_watch_subscribe(weft_watch_tx *tx, weft_watch_rx *rx);

/*
 * Initialises `dst` as a new receiver of the channel of `src`, with its own
 * reference and the same last-seen version.  Returns 0, or -EINVAL for NULL
 * arguments or a finished `src`.  Allocates nothing.  The thread that uses
 * `src`.
 */
int weft_watch_rx_clone(const weft_watch_rx *src, weft_watch_rx *dst);

/* Releases the receiver (and frees the channel when it was the last user).
 * No future may still use it.  NULL or an already finished receiver is
 * ignored.  The receiver's thread. */
void weft_watch_rx_finish(weft_watch_rx *rx);

/*
 * Copies the latest value into `out` and marks it seen; stores its version
 * in *version when not NULL.  Never waits for a sender for long: readers
 * copy optimistically and take the channel's lock only after a few
 * collisions with writers.  Returns 0 (the value is readable even after
 * close), or -EINVAL for a NULL or finished `rx` or a NULL `out`.  The
 * receiver's thread.
 */
int weft_watch_read(weft_watch_rx *rx, void *out, uint64_t *version);

/*
 * Returns 1 when a value newer than the last one seen is available, 0 when
 * not, -EPIPE when not and the channel is closed, -EINVAL for a NULL or
 * finished `rx`.  The receiver's thread.
 */
int weft_watch_has_changed(const weft_watch_rx *rx);

/*
 * Waits until the value changes (a version newer than the last seen),
 * then marks it seen; read it with weft_watch_read.  `status` once ready:
 * 0, -EPIPE when the channel closed with nothing new, or -EINVAL (bad
 * arguments).  Dropping it loses nothing.
 */
typedef struct weft_watch_changed_future {
	weft_future base;
	int status;
	/* private */
	weft_watch_rx *rx;
	bool queued;
	uint64_t wait_gen;
	struct weft__waiter waiter;
} weft_watch_changed_future;

/* Initialises `f`.  Returns 0, or -EINVAL for a NULL `f` or a NULL or
 * finished `rx` (then `f` completes with -EINVAL).  Only the receiver's
 * task polls it. */
int weft_watch_changed(weft_watch_rx *rx, weft_watch_changed_future *f);

/* ======================================================================== */
/* select                                                                    */
/* ======================================================================== */

/* The most branches one select takes. */
#define WEFT_SELECT_MAX 16

/*
 * A select waits on several futures ("branches") at once and completes
 * with the first one that is ready.  A branch is any weft_future: a
 * receive, a send, a oneshot, a join handle, a timer (weft/time.h: a
 * select with a sleep branch is a timeout).
 *
 * Each poll visits the branches once, starting at a random branch and
 * wrapping around, so that an always-ready branch cannot starve the
 * others (a biased select, weft_select_init_biased, visits them in order
 * instead, first to last, as Tokio's `biased;` does).  The first branch that returns ready wins: `winner` is its index
 * and the select is ready.  The losers are dropped right away (a losing
 * send delivers nothing and gives up its place, a losing receive takes
 * nothing), which is why every branch must be cancellation-safe, as all of
 * weft's futures are.
 *
 * Ownership: from weft_select_init on, the select owns its branches: it
 * drops each exactly once (the losers when it completes, everything else
 * in its own drop), so the caller never drops a branch itself.  The
 * winner's result fields stay readable until the select is dropped.  The
 * branch futures must stay in place (they are not copied).
 */
typedef struct weft_select {
	weft_future base;
	/* Index of the branch that completed, -1 before (and when every
	 * branch was NULL). */
	int winner;
	/* private */
	unsigned n;
	unsigned start;
	bool done;
	/* Private: true for weft_select_init_biased (start stays 0). */
	bool biased;
	weft_future *branches[WEFT_SELECT_MAX];
} weft_select;

/*
 * Initialises `sel` over the `n` futures in `branches` (copied; a NULL
 * entry is a disabled branch, never polled).  Returns 0, or -EINVAL when
 * `sel` is NULL or `n` is 0 or above WEFT_SELECT_MAX; on -EINVAL the select
 * does not own the branches (a valid `sel` is left as a future that is
 * ready at once with winner -1).  A select whose branches are all NULL is
 * ready at once with winner -1.
 */
int weft_select_init(weft_select *sel, weft_future *const *branches, unsigned n);

/*
 * The same as weft_select_init, but every poll visits the branches in
 * order, first to last, instead of from a random one (Tokio's `biased;`):
 * the first branch that is ready wins.  An earlier branch that is always
 * ready starves the later ones, so use it where that priority is the point
 * (a shutdown branch first) or where the branches are rarely ready
 * together; it also saves drawing a random number at each poll.  Returns
 * what weft_select_init returns.  Any thread (before the select is shared).
 */
int weft_select_init_biased(weft_select *sel, weft_future *const *branches, unsigned n);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_CHAN_H */

/*
 * src/chan/mpsc.c - the multi-producer, single-consumer channel, bounded
 * and unbounded.
 *
 * The buffer: a chain of blocks
 * =============================
 *
 * Values live in blocks of 32 slots linked into a chain.  Slot i of the
 * channel (i counts from 0 for the life of the channel) is slot i % 32 of
 * the block whose `start` is i rounded down to 32.  Four numbers describe
 * the chain:
 *
 *   tail        the next slot a sender will claim (bit 63: closed);
 *   limit       every slot below it has a block in the chain;
 *   head        the next slot the receiver reads (receiver only);
 *   block_tail  a hint: a block at or before the block of every slot that
 *               is claimed but not yet written.
 *
 * A sender claims slot t with one CAS of tail from t to t + 1, and only
 * while t < limit and the closed bit is clear.  When t == limit it first
 * grows the chain (under the channel lock, appending one block and raising
 * limit), so an allocation failure is reported before anything is claimed
 * and nothing is ever left half-sent: a claimed slot always gets written.
 * Closing sets the bit in tail, so a send succeeds exactly when its CAS
 * comes before the close, and the receiver knows that the stream ends at
 * tail once it has read that far.
 *
 * Having claimed t, the sender walks the chain from block_tail to t's
 * block, writes the value into the slot, and sets the slot's bit in the
 * block's `ready` word.  The receiver reads slot head once its ready bit is
 * set.  Bits are never cleared while a block is in use; a block is reset
 * only when it is recycled.
 *
 * Reclaiming blocks
 * -----------------
 *
 * A sender walking past a block whose 32 slots are all written moves
 * block_tail past it (one CAS), then records in the block the tail it sees
 * afterwards (`observed_tail`) and marks it released.  The receiver
 * recycles a fully read block only when it is released and head has
 * reached observed_tail.  Why that is safe: a sender touches a block only
 * while walking from a block_tail it loaded after claiming its slot s.  The
 * claim CAS, the sender's load of block_tail, the CAS that moves block_tail
 * and the advancer's load of tail are all sequentially consistent, so
 * either the sender's claim comes first (then s < observed_tail, and the
 * receiver waits until slot s has been read, which is after the sender set
 * its ready bit, its last touch of any block), or the sender's load of
 * block_tail comes after the move and never sees the old block.  Blocks
 * are recycled in chain order from free_head.  A recycled block is either
 * appended to the end of the chain again (when fewer than two spare blocks
 * lie ahead of tail) or freed, so the buffer grows with a burst and shrinks
 * after it.
 *
 * Capacity (bounded channels)
 * ---------------------------
 *
 * The FIFO semaphore core that weft_semaphore and weft_mutex are made of
 * (src/common/sem.h), with `capacity` permits and `capacity` as its
 * maximum.  A send takes a permit (one CAS, inline) before it claims a
 * slot; the receiver gives one back (one CAS, inline) after reading a slot,
 * so tail - head never exceeds the capacity.  When no permit is free the
 * send future waits in the acquire node embedded in it; the semaphore
 * queues it
 * FIFO and, while anybody waits, hands released permits to the oldest
 * waiter directly (no barging), so the fast paths of senders and the
 * receiver never take a lock.  A send future dropped while queued leaves
 * the queue; one dropped after it was handed a permit passes the permit on
 * (both are weft__sem_wait_drop).  Closing the channel closes the
 * semaphore: queued senders complete with -EPIPE.  A send that got its
 * permit but then finds the tail closed (or cannot grow the buffer) gives
 * the permit back.
 *
 * Waking the receiver
 * -------------------
 *
 * The receiver's waker lives in two atomic words of the channel, guarded by
 * one state word, rx_state, without a lock: bit 0 (RX_PARKED) says the
 * receiver waits and the senders may take the waker; the bits above count
 * the times it was set (a generation, against ABA).  Only the receiver
 * writes the waker words, and only while RX_PARKED is clear; rx_holds
 * (receiver only) then says whether they hold a live waker that it keeps
 * for next time.  A sender may read them at any time (they are atomics),
 * but uses what it read only when its CAS proves them current.
 *
 * The receiver parks by storing its waker (a clone, skipped when the kept
 * one wakes the same task), setting RX_PARKED with a new generation, and
 * looking for a value once more.  A sender sets its ready bit, then loads
 * rx_state; if RX_PARKED is set, it reads the waker words and takes them
 * with one CAS that clears RX_PARKED (the generation tells it that the
 * words it read are the ones it takes: the receiver must clear RX_PARKED
 * and set it again, with a new generation, to change them), and wakes the
 * waker it now owns.  Both pairs (ready bit then rx_state; rx_state then
 * ready bit, next link and tail) are sequentially consistent, so either the
 * receiver's second look finds the value or the sender sees RX_PARKED: no
 * lost wake-up.  A receiver that finds a value after all takes its waker
 * back with the same CAS, unless a sender beat it to it.  No wake takes the
 * channel lock, which only guards the chain of blocks.
 *
 * Fast paths
 * ----------
 *
 * The unbounded send's poll, try_send and the receive's poll each start
 * with an inline copy of the common case (push_fast; the top of
 * recv_poll): a pointer-sized value, a slot in the first block looked at,
 * a claim CAS that succeeds at once.  They make the same atomic accesses
 * with the same orderings as push and pop, and hand anything else to those
 * by a tail call (through a cold helper that stores the outcome), so the
 * fast path saves no registers.  An unbounded send future gets its own
 * poll function at init (it has no state to keep and nothing to drop); a
 * bounded one keeps send_poll and its state word.
 */
#include <errno.h>
#include <stdlib.h>

#include "chan_internal.h"
#include "../common/lock.h"
#include "../common/sem.h"

#define BLOCK_SLOTS 32u
#define BLOCK_MASK ((uint64_t)BLOCK_SLOTS - 1)
#define BLOCK_FULL 0xffffffffu
/* A recycled block is appended again while fewer spare slots lie ahead. */
#define SPARE_SLOTS ((uint64_t)2 * BLOCK_SLOTS)

#define TAIL_CLOSED ((uint64_t)1 << 63)

#define RX_PARKED ((uint64_t)1)
#define RX_GEN_ONE ((uint64_t)2)

#define MAX_CAPACITY ((size_t)1 << 40)

struct block {
	/* The channel slot of slots[0]; written before the block is linked. */
	uint64_t start;
	_Atomic(struct block *) next;
	/* Bit i: slot i holds a value. */
	_Atomic uint32_t ready;
	/* Set once block_tail has moved past this block. */
	_Atomic bool released;
	/* tail as seen right after block_tail moved past; written before
	 * `released`. */
	uint64_t observed_tail;
	max_align_t slots[];
};

struct mpsc {
	/* Senders: the claim word, on its own line. */
	_Atomic uint64_t tail;
	char pad0[64 - sizeof(uint64_t)];
	/* Senders and receiver: the permits of a bounded channel (its state
	 * word leads, on a line of its own). */
	struct weft__sem sem;
	/* Mostly read, on a line of its own. */
	_Alignas(64) _Atomic uint64_t limit;
	_Atomic(struct block *) block_tail;
	/* RX_PARKED and the generation (see the essay). */
	_Atomic uint64_t rx_state;
	/* The receiver's waker; see the essay for who may touch them. */
	_Atomic uintptr_t rx_waker_data;
	_Atomic uintptr_t rx_waker_vtable;
	bool bounded;
	size_t elem_size;
	size_t capacity;
	_Atomic uint64_t senders;
	_Atomic uint64_t refs;
	/* Under lock (the futex word of common/lock.h; growth and recycling
	 * only, once per block). */
	struct weft__lock lock;
	struct block *last;
	char pad2[64];
	/* The receiver only. */
	uint64_t head;
	/* The waker words hold a live waker while RX_PARKED is clear. */
	bool rx_holds;
	struct block *head_block;
	struct block *free_head;
};

enum { SEND_INIT, SEND_WAITING, SEND_DONE };

static struct mpsc *tx_chan(const weft_mpsc_tx *tx)
{
	return (struct mpsc *)(void *)tx;
}

static struct mpsc *rx_chan(const weft_mpsc_rx *rx)
{
	return (struct mpsc *)(void *)rx;
}

static unsigned char *slot_ptr(const struct mpsc *ch, struct block *b, uint64_t index)
{
	return (unsigned char *)b->slots + (size_t)(index & BLOCK_MASK) * ch->elem_size;
}

/* ---- blocks ------------------------------------------------------------- */

static struct block *block_alloc(const struct mpsc *ch)
{
	struct block *b = weft__chan_alloc(sizeof(*b) + BLOCK_SLOTS * ch->elem_size);

	return b;
}

static void block_reset(struct block *b, uint64_t start)
{
	b->start = start;
	atomic_init(&b->next, NULL);
	atomic_init(&b->ready, 0);
	atomic_init(&b->released, false);
	b->observed_tail = 0;
}

/* Appends `b` (reset, start == limit) to the chain.  Under lock. */
static void chain_append_locked(struct mpsc *ch, struct block *b, uint64_t limit)
{
	block_reset(b, limit);
	/* SeqCst: publishes the block's fields with the link; pairs with the
	 * walkers' acquire loads and the receiver's seq_cst re-check. */
	atomic_store_explicit(&ch->last->next, b, memory_order_seq_cst);
	ch->last = b;
	/* SeqCst: a sender that sees the new limit sees the link (pairs with
	 * the seq_cst load in push). */
	atomic_store_explicit(&ch->limit, limit + BLOCK_SLOTS, memory_order_seq_cst);
}

/* Makes sure slot t has a block.  Returns 0 or -ENOMEM. */
CHAN_COLD static int grow(struct mpsc *ch, uint64_t t)
{
	struct block *b;
	uint64_t limit;
	int err = 0;

	weft__lock_acquire(&ch->lock);
	/* Relaxed: limit only changes under the lock we hold. */
	limit = atomic_load_explicit(&ch->limit, memory_order_relaxed);
	if (limit <= t) {
		b = block_alloc(ch);
		if (b != NULL)
			chain_append_locked(ch, b, limit);
		else
			err = -ENOMEM;
	}
	weft__lock_release(&ch->lock);
	return err;
}

/*
 * Walks from `b` (block_tail as loaded after the claim) to the block that
 * starts at `start`, moving block_tail past fully written blocks on the way
 * (see the essay).
 */
CHAN_COLD static struct block *walk_to_block(struct mpsc *ch, struct block *b, uint64_t start)
{
	bool advance = true;

	while (b->start != start) {
		/* Acquire: the link was published by chain_append_locked; our
		 * slot is below limit, so the chain reaches its block. */
		struct block *next = atomic_load_explicit(&b->next, memory_order_acquire);

		/* Acquire: every slot's writer is done with this block (pairs
		 * with the release in their fetch_or). */
		if (advance && atomic_load_explicit(&b->ready, memory_order_acquire) == BLOCK_FULL) {
			struct block *expected = b;

			/* SeqCst: see the reclamation argument in the essay. */
			if (atomic_compare_exchange_strong_explicit(&ch->block_tail, &expected, next,
								    memory_order_seq_cst,
								    memory_order_relaxed)) {
				/* SeqCst: pairs with the claim CAS of later
				 * senders (the essay). */
				b->observed_tail = atomic_load_explicit(&ch->tail, memory_order_seq_cst) &
						   ~TAIL_CLOSED;
				/* Release: publishes observed_tail and our last
				 * touch of the block; pairs with the acquire in
				 * reclaim. */
				atomic_store_explicit(&b->released, true, memory_order_release);
			} else {
				advance = false;
			}
		} else {
			advance = false;
		}
		b = next;
	}
	return b;
}

/* Finds the block of claimed slot t: block_tail's, most of the time. */
static struct block *find_block(struct mpsc *ch, uint64_t t)
{
	uint64_t start = t & ~BLOCK_MASK;
	/* SeqCst: ordered after our claim CAS; pairs with the seq_cst CAS
	 * that moves block_tail (the reclamation argument). */
	struct block *b = atomic_load_explicit(&ch->block_tail, memory_order_seq_cst);

	if (b->start == start)
		return b;
	return walk_to_block(ch, b, start);
}

/* The receiver hands a fully read block back: reuse it or free it. */
static void recycle(struct mpsc *ch, struct block *b)
{
	uint64_t limit, tail;
	bool reuse;

	weft__lock_acquire(&ch->lock);
	/* Relaxed: limit changes only under the lock; tail is a heuristic. */
	limit = atomic_load_explicit(&ch->limit, memory_order_relaxed);
	tail = atomic_load_explicit(&ch->tail, memory_order_relaxed) & ~TAIL_CLOSED;
	reuse = limit - tail < SPARE_SLOTS;
	if (reuse)
		chain_append_locked(ch, b, limit);
	weft__lock_release(&ch->lock);
	if (!reuse)
		weft__chan_free(b);
}

/* Recycles, in chain order, the blocks no sender can touch any more. */
static void reclaim(struct mpsc *ch)
{
	while (ch->free_head != ch->head_block) {
		struct block *b = ch->free_head;

		/* Acquire: pairs with the release in find_block. */
		if (!atomic_load_explicit(&b->released, memory_order_acquire))
			return;
		if (b->observed_tail > ch->head)
			return;
		/* Acquire: b is before head_block, so its link is set. */
		ch->free_head = atomic_load_explicit(&b->next, memory_order_acquire);
		recycle(ch, b);
	}
}

/* ---- sending and receiving ------------------------------------------------ */

/* Reads the waker words; only meaningful as the state word says. */
static weft_waker load_rx_waker(const struct mpsc *ch)
{
	weft_waker w;

	/* Relaxed: ordered by the acquire load or CAS of rx_state that saw
	 * RX_PARKED (pairs with the receiver's seq_cst store setting it). */
	w.data = (void *)atomic_load_explicit(&ch->rx_waker_data, memory_order_relaxed);
	w.vtable = (const weft_waker_vtable *)atomic_load_explicit(&ch->rx_waker_vtable,
								    memory_order_relaxed);
	return w;
}

/* The receiver's, while RX_PARKED is clear. */
static void store_rx_waker(struct mpsc *ch, weft_waker w)
{
	/* Relaxed: published by the seq_cst store that sets RX_PARKED. */
	atomic_store_explicit(&ch->rx_waker_data, (uintptr_t)w.data, memory_order_relaxed);
	atomic_store_explicit(&ch->rx_waker_vtable, (uintptr_t)w.vtable, memory_order_relaxed);
}

/*
 * Takes the parked receiver's waker, if it is still parked: `s` is the
 * state as last loaded.  Returns true with the waker in *out.  Senders and
 * the receiver itself (taking it back) use it.
 */
static bool take_rx_waker(struct mpsc *ch, uint64_t s, weft_waker *out)
{
	while (s & RX_PARKED) {
		*out = load_rx_waker(ch);
		/* Acquire: the waker words read above (and re-read after a
		 * failure) are those the receiver published with the store
		 * that set RX_PARKED; pairs with that seq_cst store. */
		if (atomic_compare_exchange_weak_explicit(&ch->rx_state, &s, s & ~RX_PARKED,
							  memory_order_acquire,
							  memory_order_acquire))
			return true;
	}
	return false;
}

/* A sender saw RX_PARKED: takes the receiver's waker and wakes it. */
CHAN_COLD static void wake_rx(struct mpsc *ch, uint64_t s)
{
	weft_waker w;

	if (take_rx_waker(ch, s, &w))
		weft_waker_wake(&w);
}

/* Wakes the receiver if it is parked.  Call after a seq_cst publication. */
static inline void wake_rx_if_parked(struct mpsc *ch)
{
	/* SeqCst: Dekker with the receiver's seq_cst store of RX_PARKED then
	 * its re-check (the essay). */
	uint64_t s = atomic_load_explicit(&ch->rx_state, memory_order_seq_cst);

	if (s & RX_PARKED)
		wake_rx(ch, s);
}

/* Writes `value` into claimed slot t and publishes it.  Returns 0. */
static int write_claimed(struct mpsc *ch, uint64_t t, const void *value)
{
	struct block *b = find_block(ch, t);

	value_copy(slot_ptr(ch, b, t), value, ch->elem_size);
	/* SeqCst: publishes the value (release, pairs with the receiver's
	 * load) and orders it before our rx_state load (Dekker with the
	 * receiver's park). */
	atomic_fetch_or_explicit(&b->ready, 1u << (t & BLOCK_MASK), memory_order_seq_cst);
	wake_rx_if_parked(ch);
	return 0;
}

/* Claims a slot and writes `value` into it.  Returns 0, -EPIPE, -ENOMEM. */
static int push(struct mpsc *ch, const void *value)
{
	uint64_t t = atomic_load_explicit(&ch->tail, memory_order_relaxed);
	int err;

	for (;;) {
		if (t & TAIL_CLOSED)
			return -EPIPE;
		/* SeqCst: seeing limit above t means t's block is linked
		 * (pairs with the seq_cst store in chain_append_locked). */
		if (t >= atomic_load_explicit(&ch->limit, memory_order_seq_cst)) {
			err = grow(ch, t);
			if (err < 0)
				return err;
			t = atomic_load_explicit(&ch->tail, memory_order_relaxed);
			continue;
		}
		/* SeqCst: the claim is ordered against the move of
		 * block_tail (essay) and against close. */
		if (atomic_compare_exchange_weak_explicit(&ch->tail, &t, t + 1,
							  memory_order_seq_cst,
							  memory_order_relaxed))
			break;
	}
	return write_claimed(ch, t, value);
}

/* The out-of-line tails of push_fast: each stores the send's outcome in
 * *status and returns WEFT_READY, so that push_fast reaches them by tail
 * calls and keeps no registers of its own. */
CHAN_COLD static weft_poll push_slow(struct mpsc *ch, const void *value, int *status)
{
	*status = push(ch, value);
	return WEFT_READY;
}

CHAN_COLD static weft_poll write_claimed_slow(struct mpsc *ch, uint64_t t, const void *value,
					      int *status)
{
	*status = write_claimed(ch, t, value);
	return WEFT_READY;
}

CHAN_COLD static weft_poll wake_rx_ready(struct mpsc *ch, uint64_t s)
{
	wake_rx(ch, s);
	return WEFT_READY;
}

/*
 * push for the common case, inline in the unbounded send's poll: a slot
 * below limit (the closed bit makes tail larger than any limit, so one
 * compare checks both), a claim CAS that succeeds at once, the slot in
 * block_tail's block and a pointer-sized value.  Anything else goes to
 * push or write_claimed, with the same orderings.  Stores the outcome in
 * *status; returns WEFT_READY.
 */
static inline weft_poll push_fast(struct mpsc *ch, const void *value, int *status)
{
	uint64_t t = atomic_load_explicit(&ch->tail, memory_order_relaxed);
	struct block *b;
	uint64_t s;

	/* SeqCst: as in push (pairs with the seq_cst store in
	 * chain_append_locked). */
	if (t >= atomic_load_explicit(&ch->limit, memory_order_seq_cst))
		return push_slow(ch, value, status);
	/* SeqCst: the claim, as in push. */
	if (!atomic_compare_exchange_strong_explicit(&ch->tail, &t, t + 1, memory_order_seq_cst,
						     memory_order_relaxed))
		return push_slow(ch, value, status);
	/* SeqCst: as in find_block (pairs with the CAS that moves
	 * block_tail). */
	b = atomic_load_explicit(&ch->block_tail, memory_order_seq_cst);
	if (b->start != (t & ~BLOCK_MASK) || ch->elem_size != sizeof(void *))
		return write_claimed_slow(ch, t, value, status);
	memcpy((unsigned char *)b->slots + (size_t)(t & BLOCK_MASK) * sizeof(void *), value,
	       sizeof(void *));
	/* SeqCst: as in write_claimed (publishes the value; Dekker with the
	 * receiver's park). */
	atomic_fetch_or_explicit(&b->ready, 1u << (t & BLOCK_MASK), memory_order_seq_cst);
	*status = 0;
	/* SeqCst: as in wake_rx_if_parked. */
	s = atomic_load_explicit(&ch->rx_state, memory_order_seq_cst);
	if (s & RX_PARKED)
		return wake_rx_ready(ch, s);
	return WEFT_READY;
}

CHAN_COLD static int empty_or_closed(struct mpsc *ch, uint64_t index)
{
	/* SeqCst: pairs with the fetch_or in chan_close (Dekker with the
	 * receiver's park). */
	uint64_t t = atomic_load_explicit(&ch->tail, memory_order_seq_cst);

	if ((t & TAIL_CLOSED) && (t & ~TAIL_CLOSED) == index)
		return -EPIPE;
	return -EAGAIN;
}

/* The receiver has read all of `b`: moves head_block to the next block
 * (recycling what it can), or returns NULL when there is none yet. */
CHAN_COLD static struct block *next_head_block(struct mpsc *ch, struct block *b)
{
	/* SeqCst: pairs with the seq_cst link store (and the receiver's park
	 * ordering). */
	struct block *next = atomic_load_explicit(&b->next, memory_order_seq_cst);

	if (next == NULL)
		return NULL;
	ch->head_block = next;
	reclaim(ch);
	return next;
}

/* Reads the value at head into `out`.  Returns 0, -EAGAIN or -EPIPE. */
static int pop(struct mpsc *ch, void *out)
{
	struct block *b = ch->head_block;
	uint64_t index = ch->head;

	if (b->start + BLOCK_SLOTS <= index) {
		b = next_head_block(ch, b);
		if (b == NULL)
			return empty_or_closed(ch, index);
	}
	/* SeqCst: pairs with the sender's fetch_or (acquire for the value,
	 * and the park ordering). */
	if (!(atomic_load_explicit(&b->ready, memory_order_seq_cst) & (1u << (index & BLOCK_MASK))))
		return empty_or_closed(ch, index);
	value_copy(out, slot_ptr(ch, b, index), ch->elem_size);
	ch->head = index + 1;
	if (ch->bounded)
		weft__sem_release_one(&ch->sem);
	return 0;
}

/* ---- closing and freeing --------------------------------------------------- */

static void chan_close(struct mpsc *ch)
{
	uint64_t prev;

	/* SeqCst: a sender's claim either precedes this (and is received) or
	 * fails; pairs with the receiver's seq_cst re-check after parking. */
	prev = atomic_fetch_or_explicit(&ch->tail, TAIL_CLOSED, memory_order_seq_cst);
	if (prev & TAIL_CLOSED)
		return;
	/* Queued senders complete with -EPIPE; one that had its permit
	 * already fails at the closed tail and gives it back. */
	if (ch->bounded)
		weft__sem_close(&ch->sem);
	wake_rx_if_parked(ch);
}

static void chan_free(struct mpsc *ch)
{
	struct block *b = ch->free_head;

	while (b != NULL) {
		struct block *next = atomic_load_explicit(&b->next, memory_order_relaxed);

		weft__chan_free(b);
		b = next;
	}
	/* weft_mpsc_rx_release took the receiver's waker back and dropped it. */
	if (ch->bounded)
		weft__sem_finish(&ch->sem);
	weft__chan_free_aligned(ch);
}

static void chan_unref(struct mpsc *ch)
{
	/* AcqRel: the last reference sees every other holder's writes before
	 * freeing; pairs with the other decrements. */
	if (atomic_fetch_sub_explicit(&ch->refs, 1, memory_order_acq_rel) == 1)
		chan_free(ch);
}

/* ---- construction ----------------------------------------------------------- */

static int chan_create(size_t elem_size, size_t capacity, bool bounded, weft_mpsc_tx **tx,
		       weft_mpsc_rx **rx)
{
	struct mpsc *ch;
	struct block *first;
	int err = -ENOMEM;

	if (tx == NULL || rx == NULL || elem_size > CHAN_MAX_ELEM_SIZE)
		return -EINVAL;
	if (bounded && (capacity == 0 || capacity > MAX_CAPACITY))
		return -EINVAL;
	ch = weft__chan_alloc_aligned(sizeof(*ch), 64);
	if (ch == NULL)
		return -ENOMEM;
	ch->elem_size = elem_size;
	first = block_alloc(ch);
	if (first == NULL)
		goto err_free_ch;
	weft__lock_init(&ch->lock);
	if (bounded) {
		err = weft__sem_init(&ch->sem, capacity, capacity);
		if (err != 0)
			goto err_free_first;
	}
	block_reset(first, 0);
	atomic_init(&ch->tail, 0);
	atomic_init(&ch->limit, BLOCK_SLOTS);
	atomic_init(&ch->block_tail, first);
	atomic_init(&ch->rx_state, 0);
	atomic_init(&ch->rx_waker_data, 0);
	atomic_init(&ch->rx_waker_vtable, 0);
	ch->rx_holds = false;
	ch->bounded = bounded;
	ch->capacity = bounded ? capacity : 0;
	atomic_init(&ch->senders, 1);
	atomic_init(&ch->refs, 2);
	ch->last = first;
	ch->head = 0;
	ch->head_block = first;
	ch->free_head = first;
	*tx = (weft_mpsc_tx *)(void *)ch;
	*rx = (weft_mpsc_rx *)(void *)ch;
	return 0;

err_free_first:
	weft__chan_free(first);
err_free_ch:
	weft__chan_free_aligned(ch);
	return err;
}

int weft_mpsc_bounded(size_t elem_size, size_t capacity, weft_mpsc_tx **tx, weft_mpsc_rx **rx)
{
	return chan_create(elem_size, capacity, true, tx, rx);
}

int weft_mpsc_unbounded(size_t elem_size, weft_mpsc_tx **tx, weft_mpsc_rx **rx)
{
	return chan_create(elem_size, 0, false, tx, rx);
}

/* ---- handles ------------------------------------------------------------------ */

weft_mpsc_tx *weft_mpsc_tx_clone(weft_mpsc_tx *tx)
{
	struct mpsc *ch = tx_chan(tx);

	if (tx == NULL)
		return NULL;
	/* Relaxed: a new reference is made from one the caller holds. */
	atomic_fetch_add_explicit(&ch->senders, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&ch->refs, 1, memory_order_relaxed);
	return tx;
}

void weft_mpsc_tx_release(weft_mpsc_tx *tx)
{
	struct mpsc *ch;

	if (tx == NULL)
		return;
	ch = tx_chan(tx);
	/* AcqRel: the last sender's close comes after every sender's sends;
	 * pairs with the other decrements. */
	if (atomic_fetch_sub_explicit(&ch->senders, 1, memory_order_acq_rel) == 1)
		chan_close(ch);
	chan_unref(ch);
}

int weft_mpsc_tx_close(weft_mpsc_tx *tx)
{
	if (tx == NULL)
		return -EINVAL;
	chan_close(tx_chan(tx));
	return 0;
}

bool weft_mpsc_tx_is_closed(const weft_mpsc_tx *tx)
{
	if (tx == NULL)
		return false;
	/* Acquire: pairs with the fetch_or in chan_close. */
	return (atomic_load_explicit(&tx_chan(tx)->tail, memory_order_acquire) & TAIL_CLOSED) != 0;
}

size_t weft_mpsc_elem_size(const weft_mpsc_tx *tx)
{
	return tx != NULL ? tx_chan(tx)->elem_size : 0;
}

int weft_mpsc_rx_close(weft_mpsc_rx *rx)
{
	if (rx == NULL)
		return -EINVAL;
	chan_close(rx_chan(rx));
	return 0;
}

void weft_mpsc_rx_release(weft_mpsc_rx *rx)
{
	struct mpsc *ch;
	weft_waker w;
	uint64_t s;

	if (rx == NULL)
		return;
	ch = rx_chan(rx);
	chan_close(ch);
	/* The values still buffered are discarded with the blocks when the
	 * last reference goes; the receiver's waker goes now (taken back if
	 * it is parked; a sender that beat us to it wakes it instead).
	 * Relaxed: take_rx_waker's CAS orders the words it reads. */
	s = atomic_load_explicit(&ch->rx_state, memory_order_relaxed);
	if (take_rx_waker(ch, s, &w))
		ch->rx_holds = true;
	if (ch->rx_holds) {
		w = load_rx_waker(ch);
		weft_waker_drop(&w);
		ch->rx_holds = false;
	}
	chan_unref(ch);
}

/* ---- the try tier ----------------------------------------------------------------- */

/* A value pointer may be NULL only for a channel of empty values. */
static bool bad_value(const struct mpsc *ch, const void *value)
{
	return value == NULL && ch->elem_size != 0;
}

/* Sends through a permit already taken (bounded) or none needed. */
static int push_with_permit(struct mpsc *ch, const void *value)
{
	int err = push(ch, value);

	if (err < 0 && ch->bounded)
		weft__sem_release_one(&ch->sem);
	return err;
}

int weft_mpsc_try_send(weft_mpsc_tx *tx, const void *value)
{
	struct mpsc *ch = tx_chan(tx);
	int err;

	if (tx == NULL || bad_value(ch, value))
		return -EINVAL;
	if (!ch->bounded) {
		push_fast(ch, value, &err);
		return err;
	}
	err = weft__sem_try_acquire(&ch->sem, 1);
	if (err < 0)
		return err;
	return push_with_permit(ch, value);
}

int weft_mpsc_try_send_ptr(weft_mpsc_tx *tx, void *p)
{
	if (tx == NULL || tx_chan(tx)->elem_size != sizeof(void *))
		return -EINVAL;
	return weft_mpsc_try_send(tx, &p);
}

int weft_mpsc_try_recv(weft_mpsc_rx *rx, void *out)
{
	if (rx == NULL || bad_value(rx_chan(rx), out))
		return -EINVAL;
	return pop(rx_chan(rx), out);
}

int weft_mpsc_try_recv_ptr(weft_mpsc_rx *rx, void **out)
{
	if (rx == NULL || out == NULL || rx_chan(rx)->elem_size != sizeof(void *))
		return -EINVAL;
	return pop(rx_chan(rx), out);
}

size_t weft_mpsc_len(const weft_mpsc_rx *rx)
{
	const struct mpsc *ch = rx_chan(rx);
	uint64_t t;

	if (rx == NULL)
		return 0;
	/* Relaxed: a snapshot for the receiver's own use. */
	t = atomic_load_explicit(&ch->tail, memory_order_relaxed) & ~TAIL_CLOSED;
	return (size_t)(t - ch->head);
}

/* ---- the send future ---------------------------------------------------------------- */

static void send_drop(weft_future *base);

/*
 * The bounded part of a send: take a permit (one CAS), or wait for one in
 * the acquire node inside the future, then push.  Returns WEFT_PENDING or
 * WEFT_READY with the send's status in *err.
 */
static weft_poll send_bounded(struct mpsc *ch, weft_mpsc_send_future *f, weft_cx *cx, int *err)
{
	if (f->state == SEND_INIT) {
		*err = weft__sem_try_acquire(&ch->sem, 1);
		if (*err != -EAGAIN)
			goto got;
		/* The acquire spends (and refunds) its own unit. */
		weft_coop_refund(cx);
		weft__sem_wait_init(&f->wait, &ch->sem, 1);
		f->state = SEND_WAITING;
		/* Only a waiting send has anything to drop. */
		f->base.drop = send_drop;
	}
	/* On ready, *err is 0 (the permit is ours) or -EPIPE (closed). */
	if (weft__sem_wait_poll(&f->wait, cx, err) == WEFT_PENDING)
		return WEFT_PENDING;
got:
	if (*err == 0) {
		*err = push(ch, f->value);
		if (*err < 0)
			weft__sem_release_one(&ch->sem);
	}
	return WEFT_READY;
}

/* The poll of a bounded send (and of one made from bad arguments, which
 * is SEND_DONE from the start). */
static weft_poll send_poll(weft_future *base, weft_cx *cx)
{
	weft_mpsc_send_future *f = (weft_mpsc_send_future *)base;
	struct mpsc *ch = tx_chan(f->tx);
	int err;

	if (f->state == SEND_DONE)
		return WEFT_READY;
	if (f->state == SEND_INIT && !weft_coop_proceed(cx))
		return WEFT_PENDING;
	if (send_bounded(ch, f, cx, &err) == WEFT_PENDING)
		return WEFT_PENDING;
	f->status = err;
	f->state = SEND_DONE;
	return WEFT_READY;
}

/* The poll of an unbounded send: ready at once (unless the budget is
 * spent), with nothing to drop. */
static weft_poll unbounded_send_poll(weft_future *base, weft_cx *cx)
{
	weft_mpsc_send_future *f = (weft_mpsc_send_future *)base;

	if (!weft_coop_proceed(cx))
		return WEFT_PENDING;
	/* Ready from here on (weft_future_poll skips the call). */
	f->base.poll = weft_future_done_poll;
	return push_fast(tx_chan(f->tx), f->value, &f->status);
}

static void send_drop(weft_future *base)
{
	weft_mpsc_send_future *f = (weft_mpsc_send_future *)base;

	if (f->state != SEND_WAITING)
		return;
	/* Queued: leaves the queue; handed a permit: passes it on. */
	weft__sem_wait_drop(&f->wait);
	f->state = SEND_DONE;
}

int weft_mpsc_send(weft_mpsc_tx *tx, const void *value, weft_mpsc_send_future *f)
{
	if (f == NULL)
		return -EINVAL;
	f->base.drop = NULL;
	f->tx = tx;
	f->value = value;
	if (tx == NULL || bad_value(tx_chan(tx), value)) {
		f->base.poll = send_poll;
		f->status = -EINVAL;
		f->state = SEND_DONE;
		return -EINVAL;
	}
	/* An unbounded send needs neither `state` nor the status until its
	 * poll, which sets the status; inline_value is send_ptr's. */
	if (!tx_chan(tx)->bounded) {
		f->base.poll = unbounded_send_poll;
		return 0;
	}
	f->base.poll = send_poll;
	f->status = 0;
	f->state = SEND_INIT;
	return 0;
}

int weft_mpsc_send_ptr(weft_mpsc_tx *tx, void *p, weft_mpsc_send_future *f)
{
	if (f == NULL)
		return -EINVAL;
	if (tx == NULL || tx_chan(tx)->elem_size != sizeof(void *)) {
		weft_mpsc_send(NULL, NULL, f);
		return -EINVAL;
	}
	weft_mpsc_send(tx, &f->inline_value, f);
	f->inline_value = p;
	return 0;
}

/* ---- the receive future -------------------------------------------------------------- */


/*
 * Before parking: makes the waker words hold a waker that wakes `waker`'s
 * task, owned by the receiver (RX_PARKED clear).  Returns false when there
 * is nothing to do (still parked from an earlier poll, same task); true
 * with the state word to publish in *next.
 */
static bool own_rx_waker(struct mpsc *ch, const weft_waker *waker, uint64_t *next)
{
	/* Relaxed: only the receiver sets RX_PARKED; a sender clearing it
	 * concurrently is caught by the CAS in take_rx_waker. */
	uint64_t s = atomic_load_explicit(&ch->rx_state, memory_order_relaxed);
	weft_waker w;

	if (s & RX_PARKED) {
		/* Parked by an earlier poll: only the receiver writes the
		 * words, so reading them here is safe. */
		w = load_rx_waker(ch);
		if (weft_waker_will_wake(&w, waker))
			return false;
		/* Take it back to replace it; a sender may win and wake it. */
		ch->rx_holds = take_rx_waker(ch, s, &w);
		/* Relaxed: RX_PARKED is clear now, and only we set it. */
		s = atomic_load_explicit(&ch->rx_state, memory_order_relaxed);
	}
	if (ch->rx_holds) {
		w = load_rx_waker(ch);
		if (!weft_waker_will_wake(&w, waker)) {
			weft_waker_drop(&w);
			ch->rx_holds = false;
		}
	}
	if (!ch->rx_holds)
		store_rx_waker(ch, weft_waker_clone(waker));
	/* The words now belong to the state word (and the senders). */
	ch->rx_holds = false;
	*next = (s + RX_GEN_ONE) | RX_PARKED;
	return true;
}

/*
 * The receive found nothing: stores the waker (cloned only when it
 * changed), marks the receiver parked and looks once more.  Returns -EAGAIN
 * with the receiver parked, or pop's answer.  Out of line, so that the
 * ready path of recv_poll saves no registers.
 */
CHAN_COLD static int recv_park(struct mpsc *ch, weft_mpsc_recv_future *f, weft_cx *cx)
{
	weft_waker w;
	uint64_t s;
	int err;

	if (own_rx_waker(ch, weft_cx_waker(cx), &s)) {
		/* SeqCst: publishes the waker words and is the receiver's side
		 * of the Dekker with the senders' ready bit then rx_state load
		 * (and close's); the second pop's loads are seq_cst too. */
		atomic_store_explicit(&ch->rx_state, s, memory_order_seq_cst);
	}
	err = pop(ch, f->out);
	if (err != -EAGAIN) {
		/* Found one after all: take the waker back (unless a sender
		 * did, and wakes it), so that no send wakes us for nothing.
		 * Relaxed: take_rx_waker's CAS checks it. */
		s = atomic_load_explicit(&ch->rx_state, memory_order_relaxed);
		ch->rx_holds = take_rx_waker(ch, s, &w);
	}
	return err;
}

/* The whole receive after the budget was taken: pop, or park and look
 * again.  recv_poll's fast path tail-calls it for anything unusual. */
CHAN_COLD static weft_poll recv_slow(struct mpsc *ch, weft_mpsc_recv_future *f, weft_cx *cx)
{
	int err = pop(ch, f->out);

	if (err == -EAGAIN) {
		err = recv_park(ch, f, cx);
		if (err == -EAGAIN) {
			weft_coop_refund(cx);
			return WEFT_PENDING;
		}
	}
	f->status = err;
	return WEFT_READY;
}

/* recv_poll's fast path found head's slot empty (with the seq_cst load
 * pop makes): parks at once, and recv_park's second look is the one that
 * finds a value that came meanwhile (or the end of the stream). */
CHAN_COLD static weft_poll recv_empty(struct mpsc *ch, weft_mpsc_recv_future *f, weft_cx *cx)
{
	int err = recv_park(ch, f, cx);

	if (err == -EAGAIN) {
		weft_coop_refund(cx);
		return WEFT_PENDING;
	}
	f->status = err;
	return WEFT_READY;
}

/* A bounded receive read its value: gives the slot's permit back. */
CHAN_NOINLINE static weft_poll recv_release_ready(struct mpsc *ch)
{
	weft__sem_release_one(&ch->sem);
	return WEFT_READY;
}

/*
 * A receive future has no drop function: dropping it touches nothing, so
 * it may be dropped even after the receiver was released (a runtime shut
 * down after its channels were).  A parked receive that is dropped leaves
 * RX_PARKED set: the next send pays one spurious wake.  The fast path is
 * pop's for a pointer-sized value in head_block; everything else is
 * recv_slow's, reached by tail calls so that the fast path saves no
 * registers.
 */
static weft_poll recv_poll(weft_future *base, weft_cx *cx)
{
	weft_mpsc_recv_future *f = (weft_mpsc_recv_future *)base;
	struct mpsc *ch = rx_chan(f->rx);
	struct block *b = ch->head_block;
	uint64_t index = ch->head;

	if (!weft_coop_proceed(cx))
		return WEFT_PENDING;
	if (b->start + BLOCK_SLOTS <= index || ch->elem_size != sizeof(void *))
		return recv_slow(ch, f, cx);
	/* SeqCst: as in pop (pairs with the sender's fetch_or). */
	if (!(atomic_load_explicit(&b->ready, memory_order_seq_cst) & (1u << (index & BLOCK_MASK))))
		return recv_empty(ch, f, cx);
	memcpy(f->out, (unsigned char *)b->slots + (size_t)(index & BLOCK_MASK) * sizeof(void *),
	       sizeof(void *));
	ch->head = index + 1;
	f->status = 0;
	if (ch->bounded)
		return recv_release_ready(ch);
	return WEFT_READY;
}

/* The poll of a receive made from bad arguments: ready at once. */
static weft_poll bad_recv_poll(weft_future *base, weft_cx *cx)
{
	((weft_mpsc_recv_future *)base)->status = -EINVAL;
	return WEFT_READY;
}

int weft_mpsc_recv(weft_mpsc_rx *rx, void *out, weft_mpsc_recv_future *f)
{
	if (f == NULL)
		return -EINVAL;
	/* The status is set by the poll that returns ready. */
	f->base.poll = recv_poll;
	f->base.drop = NULL;
	f->rx = rx;
	f->out = out;
	if (rx == NULL || bad_value(rx_chan(rx), out)) {
		f->base.poll = bad_recv_poll;
		return -EINVAL;
	}
	return 0;
}

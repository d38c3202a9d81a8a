/*
 * src/sched/idle.c - idle coordination.
 *
 * The protocol
 * ============
 *
 * `state` packs two counts: workers searching for work (stealing or taking
 * from the injector) and workers not parked.  `parked` has one bit per
 * parked worker.
 *
 * A worker parks in two steps: it sets its bit, then decrements the
 * unparked count (and the searching count if it was searching).  So at any
 * time at least (workers - unparked) bits are set, and a notifier that
 * incremented `unparked` always finds a bit to claim.
 *
 * Whoever makes work available (a remote spawn or wake, a local push that
 * others can steal) issues a SeqCst fence and calls weft__idle_worker_to_notify:
 * if a worker searches already, the notifier leaves the work to it.
 * Otherwise, if some worker is parked, the notifier increments both counts
 * with one CAS and claims a bit with fetch_and; the claimed worker wakes up
 * counted as searching.
 *
 * A searcher stops searching in one of two ways: it parks
 * (weft__idle_transition_to_parked) or it found a task and runs it
 * (weft__idle_transition_from_searching).  Either way the decrement is a
 * SeqCst RMW, and the one that takes the count to zero -- the last
 * searcher -- then issues a SeqCst fence, re-checks every queue (the
 * injector and each local queue) and notifies when it finds work.  The
 * fence on the notifier's side and the RMW and fence on the searcher's
 * guarantee that either the notifier sees the searcher's decrement (and
 * notifies itself) or the searcher's check sees the work: the work left
 * to searchers is never stranded with nobody searching.  Work that the
 * last searcher finds queued is all a woken worker could find, so the
 * protocol asks nothing more of a searcher that found the only task.  (The
 * scheduler still wakes one worker after that task's first poll, to keep a
 * searcher around for a stream of wakes; that wake is a heuristic, and its
 * timing matters to no argument here: see stop_searching in
 * multi_thread.c.)
 *
 * A parked worker may also leave park by itself (weft__idle_unpark_self),
 * when the completions it reaped in its driver woke tasks into its own
 * queues.  It does what a notifier does, in the same order: it first
 * counts one more unparked worker with a CAS (not while every worker
 * counts as unparked: then a notifier has counted already, and will claim
 * its bit or that of a worker that parks meanwhile, so the caller must
 * leave its work where that worker finds it), then claims a bit, its own
 * first.  Counting before claiming keeps the invariant
 * above, so a notifier that counted first still finds a bit.  If its own
 * bit was gone, a notifier claimed it in between and will unpark it; the
 * count the worker added is then the claim of some other parked worker,
 * which it counts as searching, whose bit it takes and which it wakes (a
 * spurious wake, never a lost one).  It counts itself unparked but not searching: it knows where its
 * work is, and does not want the last-searcher's extra wake for it.
 *
 * Only half of the workers search at once, so that a burst of wakes does
 * not send every worker into contention on the same queues.
 */
#include "idle.h"

#include <errno.h>
#include <string.h>

#define SEARCH_ONE ((uint64_t)1)
#define UNPARK_ONE ((uint64_t)1 << 32)

static inline uint32_t num_searching(uint64_t s)
{
	return (uint32_t)s;
}

static inline uint32_t num_unparked(uint64_t s)
{
	return (uint32_t)(s >> 32);
}

int weft__idle_init(struct idle *idle, unsigned num_workers, const weft_allocator *alloc)
{
	size_t i;

	idle->num_workers = num_workers;
	idle->words = (num_workers + 63) / 64;
	idle->parked = alloc->alloc(alloc->ctx, idle->words * sizeof(uint64_t),
				    _Alignof(uint64_t));
	if (idle->parked == NULL)
		return -ENOMEM;
	for (i = 0; i < idle->words; i++)
		atomic_init(&idle->parked[i], 0);
	/* All workers start unparked and not searching. */
	atomic_init(&idle->state, (uint64_t)num_workers * UNPARK_ONE);
	return 0;
}

void weft__idle_finish(struct idle *idle, const weft_allocator *alloc)
{
	alloc->free(alloc->ctx, (void *)idle->parked, idle->words * sizeof(uint64_t),
		    _Alignof(uint64_t));
}

bool weft__idle_transition_to_searching(struct idle *idle)
{
	/* Relaxed: the limit is a heuristic; the CAS below is SeqCst. */
	uint64_t s = atomic_load_explicit(&idle->state, memory_order_relaxed);

	for (;;) {
		if (2 * num_searching(s) >= idle->num_workers)
			return false;
		/* SeqCst: part of the searching/notify handshake (essay). */
		if (atomic_compare_exchange_weak_explicit(&idle->state, &s, s + SEARCH_ONE,
							  memory_order_seq_cst,
							  memory_order_relaxed))
			return true;
	}
}

bool weft__idle_transition_from_searching(struct idle *idle)
{
	/* SeqCst: pairs with the notifiers' fence (essay). */
	uint64_t prev = atomic_fetch_sub_explicit(&idle->state, SEARCH_ONE,
						  memory_order_seq_cst);

	return num_searching(prev) == 1;
}

bool weft__idle_transition_to_parked(struct idle *idle, unsigned index, bool searching)
{
	uint64_t dec = UNPARK_ONE + (searching ? SEARCH_ONE : 0);
	uint64_t prev;

	/* SeqCst: the bit is visible before the count drops (essay). */
	atomic_fetch_or_explicit(&idle->parked[index / 64], (uint64_t)1 << (index % 64),
				 memory_order_seq_cst);
	/* SeqCst: pairs with the notifiers' fence and CAS (essay). */
	prev = atomic_fetch_sub_explicit(&idle->state, dec, memory_order_seq_cst);
	return searching && num_searching(prev) == 1;
}

/* Claims `index`'s own parked bit.  Returns true when it was set. */
static bool claim_own_bit(struct idle *idle, unsigned index)
{
	uint64_t mask = (uint64_t)1 << (index % 64);
	/* AcqRel: the claim; pairs with the fetch_or in to_parked and with
	 * the notifiers' claims. */
	uint64_t prev = atomic_fetch_and_explicit(&idle->parked[index / 64], ~mask,
						  memory_order_acq_rel);

	return (prev & mask) != 0;
}

static int claim_parked_bit(struct idle *idle)
{
	for (;;) {
		size_t i;

		for (i = 0; i < idle->words; i++) {
			/* SeqCst: pairs with the fetch_or in to_parked. */
			uint64_t word = atomic_load_explicit(&idle->parked[i],
							     memory_order_seq_cst);

			while (word != 0) {
				unsigned bit = (unsigned)__builtin_ctzll(word);
				uint64_t mask = (uint64_t)1 << bit;
				/* AcqRel: the claim; pairs with the fetch_or
				 * of the parking worker. */
				uint64_t prev = atomic_fetch_and_explicit(
					&idle->parked[i], ~mask, memory_order_acq_rel);

				if (prev & mask)
					return (int)(i * 64 + bit);
				word = prev & ~mask;
			}
		}
		/* A bit is guaranteed (essay); it may just have moved while
		 * we scanned.  Scan again. */
	}
}

int weft__idle_worker_to_notify(struct idle *idle)
{
	uint64_t s;

	/* SeqCst: orders the caller's publication of work before reading
	 * the counts; pairs with the SeqCst decrements of searchers. */
	atomic_thread_fence(memory_order_seq_cst);
	s = atomic_load_explicit(&idle->state, memory_order_seq_cst);
	for (;;) {
		if (num_searching(s) != 0 || num_unparked(s) >= idle->num_workers)
			return -1;
		/* SeqCst: as above. */
		if (atomic_compare_exchange_weak_explicit(&idle->state, &s,
							  s + SEARCH_ONE + UNPARK_ONE,
							  memory_order_seq_cst,
							  memory_order_relaxed))
			break;
	}
	return claim_parked_bit(idle);
}


bool weft__idle_unpark_self(struct idle *idle, unsigned index, int *wake)
{
	/* Relaxed: the CAS below is SeqCst and re-reads on failure. */
	uint64_t s = atomic_load_explicit(&idle->state, memory_order_relaxed);

	*wake = -1;
	for (;;) {
		if (num_unparked(s) >= idle->num_workers)
			return false; /* a notifier counted: see the essay */
		/* SeqCst: the same handshake as a notifier's CAS (essay). */
		if (atomic_compare_exchange_weak_explicit(&idle->state, &s, s + UNPARK_ONE,
							  memory_order_seq_cst,
							  memory_order_relaxed))
			break;
	}
	if (claim_own_bit(idle, index))
		return true;
	/* A notifier took our bit after our count: ours becomes the claim
	 * of another parked worker, which wakes up searching, as any
	 * notified worker does.  SeqCst: as a notifier's CAS (essay). */
	atomic_fetch_add_explicit(&idle->state, SEARCH_ONE, memory_order_seq_cst);
	*wake = claim_parked_bit(idle);
	return false;
}

/*
 * test/model/queue.pml - a Spin model of the local run queue protocol in
 * src/sched/queue.c: push_back (with both overflow paths), pop and
 * steal_half, checked over all interleavings of one owner and one or two
 * stealers.  Run it with test/model/run-spin.sh.
 *
 * What is checked
 * ===============
 *
 * Tasks 1..NTASKS are pushed once each, in order, by the owner, which mixes
 * in up to NPOPS pops in every possible order (DST_INIT more tasks start
 * in each stealer's own queue).  Each stealer makes up to
 * NSTEALS steal_half attempts into a queue of its own and, between and
 * after them, pops that queue as its owner would.  Every task that leaves a
 * queue for good goes through take(): the task a pop returns, the tasks an
 * overflow hands to the injector, the task a steal returns, the tasks a
 * stealer later pops from its own queue, and whatever is left in the owner's
 * queue when everyone is done (init drains it).  The assertions are:
 *
 *  - take() never sees the same task twice (none is run twice), and at the
 *    end every task was taken exactly once (none is lost);
 *  - slot tracking: the owner never writes a slot that a stealer has
 *    claimed but not yet copied (pending[]), nor a slot that holds a task
 *    nobody has read out yet (live[]); every claimant reads a slot that
 *    holds an unread task (live[]), so no stale slot is ever read;
 *  - a stealer never writes a slot of its own queue that still holds a
 *    task (the dst capacity check is sufficient);
 *  - and, as auxiliary invariants (AUX_ASSERT): after every write of head
 *    or tail, steal <= real <= tail <= steal + CAPACITY in wrapping order;
 *    a stealer never claims more than CAPACITY / 2 tasks; and while a
 *    stealer is releasing its slots, steal != real (only one stealer can
 *    be between its two CASes).
 *
 * How the C code maps onto the model
 * ==================================
 *
 * Each atomic load, store or CAS of queue.c is one Promela step, in the
 * order the C code does them; the packed 64-bit head is the pair
 * (head_steal, head_real), read and compare-and-swapped as one unit.  The
 * relaxed slot loads and stores are one step each.  Ghost bookkeeping
 * (take, live, pending, the invariants) rides inside the step it describes
 * and changes nothing the code can observe.  Computations on locals are
 * steps of their own, which Spin's partial-order reduction folds away.
 *
 * Deliberate simplifications, each sound for the properties above:
 *
 *  - Memory model: Spin explores sequentially consistent interleavings.
 *    The memory orders of queue.c are argued in its comments, not here.
 *  - The owner's relaxed loads of its own tail read `otail`, a local copy
 *    updated in the same step as its stores of tail: only the owner stores
 *    tail, so the load returns its own last store wherever it is placed.
 *  - The weak CASes never fail spuriously.  A spurious failure leaves head
 *    unchanged and only makes the thread re-read tail later, which is the
 *    same as an execution where that thread ran later; no new state.
 *  - A stealer's own queue (dst) has no thieves of its own, so its steal
 *    head equals its real head; the capacity check is kept as written, and
 *    DST_INIT makes that queue start with tasks of its own so the check
 *    matters.
 *  - The injector is a set under a lock: handing tasks to it is one step,
 *    and it is not popped (tasks coming back from it are fresh pushes).
 *
 * Counters: the C code uses free-running uint32_t counters and only their
 * differences (tail - steal, tail - real, dst_tail - dst_steal), equality,
 * increments, and `& MASK`.  Reduction mod M is a ring homomorphism from
 * Z/2^32 onto Z/M for any M dividing 2^32, and `x & MASK` commutes with it
 * when CAPACITY divides M, so the model computes every counter mod MOD (8
 * or 16, two or four laps of the ring).  This is exact as long as every
 * true difference compared is below MOD: all counters move only forwards
 * and never by more than NTASKS + DST_INIT in total, so NTASKS + DST_INIT <
 * MOD suffices (init asserts it).  That also rules out an ABA on head,
 * which a real 32-bit queue could only meet after 2^32 pushes within one
 * steal.  The counters start at START = MOD - 2, the state a real queue
 * reaches after 2^32 - 2 pushes and pops, so they wrap (MOD - 1 to 0 here,
 * 2^32 - 1 to 0 in C) in every run that pushes two tasks or more.  Slots
 * start as 0 ("no task"); live[] catches a stale read whatever it holds.
 *
 * Configurations (run-spin.sh searches each exhaustively; its config()
 * has the -D options):
 *   two_stealers: two stealers, one steal each, race each other, six pushes
 *     (so both overflow paths) and two pops in every order;
 *   steal_twice: one stealer whose own queue starts with two tasks steals
 *     up to twice (its queue fills exactly, or the dst check refuses),
 *     against seven pushes and three pops.
 * Each path worth reaching carries a label and a REACHED statement, and
 * run-spin.sh fails when Spin reports one unreached (except dst_full with
 * empty stealer queues and steal_busy with one stealer): an overflow while
 * a steal is in progress (overflow_one), a push_overflow CAS lost to a
 * stealer (overflow_retry), pop losing the last task to a steal
 * (pop_lost_last), a steal losing its CAS (steal_retry), a stealer finding
 * another at work (steal_busy), the dst check refusing (dst_full), the
 * release CAS retried after a pop (release_retry).
 *
 * Mutants
 * =======
 *
 * -DMUTANT=n seeds one bug; `run-spin.sh --mutant` checks that every one
 * is caught with the auxiliary assertions left out (-DCORE_ONLY), that is
 * by the properties the queue exists for.  As last run:
 *   1  pop moves `steal` up with `real` even while a steal is in progress:
 *      the owner then overwrites a slot a stealer has claimed but not yet
 *      copied (pending[] assertion in push_back).
 *   2  push_back's room check uses `real` instead of `steal`: the same.
 *   3  push_back drops the `steal != real` test and push_overflow's CAS
 *      expects the head it loaded, not (real, real): the overflow claims
 *      half of a queue that, less the stolen tasks, holds fewer, and reads
 *      a slot past tail (live[] assertion in push_overflow).
 *   4  steal_half drops the "another stealer is at work" test: the first
 *      stealer's release moves `steal` past the second's claim and the
 *      owner overwrites a slot the second is still copying (pending[]).
 *   5  push_back stores tail before the slot: a stealer reads a slot that
 *      holds no task yet (live[] assertion in the copy).
 *   6  the release CAS sets head to (r + n, r + n), the end of its own
 *      claim, instead of (real, real): head moves back, and a pop claims a
 *      slot it had already popped (live[] assertion in pop).
 *   7  push_back drops only the `steal != real` test.  One might expect
 *      this to be harmless (push_overflow's CAS expects (real, real), so it
 *      fails while a steal is in progress), but it is caught: if the stealer
 *      releases between the owner's load of head and its CAS, head becomes
 *      (real, real) and the CAS succeeds on a queue that is no longer full.
 *      Counterexample (counters mod 8 from 6): the owner pushes task 1; a
 *      stealer claims it (head (6, 7)) and copies it; the owner pushes 2-4
 *      (tail 2, tail - steal = 4: full) and pops 2 and 3 (head (6, 1));
 *      push_back(5) loads head (6, 1) and sees no room; the stealer
 *      releases (head (1, 1)); push_overflow's CAS (1, 1) -> (3, 3)
 *      succeeds, claiming positions 1 and 2 with tail at 2, and reads
 *      position 2, whose slot still holds task 1, already stolen: in C,
 *      task 1 would run twice and real would be past tail.
 *      So the test is what makes push_overflow's "the queue is full"
 *      assumption true, not only a way to avoid waiting.
 *   8  steal_half takes all the available tasks, not half: with a stealer
 *      whose queue is not empty (steal_twice), it overwrites a task of its
 *      own queue (dlive[] assertion).
 *   Mutants 1-7 are caught in two_stealers, 8 in steal_twice; each search
 *   stops at its first error within a fraction of a second.
 */

#ifndef CAP
#define CAP 4
#endif
#define MASK (CAP - 1)
#define HALF (CAP / 2)
#ifndef MOD
#define MOD 8
#endif
#ifndef START
#define START (MOD - 2)
#endif
#ifndef NTASKS
#define NTASKS 6
#endif
#ifndef NPOPS
#define NPOPS 2
#endif
#ifndef NSTEALERS
#define NSTEALERS 2
#endif
#ifndef NSTEALS
#define NSTEALS 1
#endif
#ifndef DST_INIT
#define DST_INIT 0
#endif
#ifndef MUTANT
#define MUTANT 0
#endif
/* Task ids: 1..NTASKS through the owner, then DST_INIT per stealer. */
#define NIDS (NTASKS + NSTEALERS * DST_INIT)

/* Wrapping counter arithmetic, and a counter's slot. */
#define ADD(a, b) (((a) + (b)) % MOD)
#define SUB(a, b) (((a) + MOD - (b)) % MOD)
#define SLOT(i) ((i) % CAP)

/* The source queue: the packed head as its two halves, tail, the ring. */
byte head_steal = START;
byte head_real = START;
byte tail = START;
byte buf[CAP];

/* Ghosts. */
bit live[CAP];         /* the slot holds a task nobody has read out */
byte pending[CAP];     /* stealers that claimed the slot and will read it */
bit got[NIDS + 1];      /* the task has been taken */
byte finished;         /* owner and stealers that have ended */

/* Marks a labelled path: a no-op on a local that Spin keeps (it drops a
 * bare skip), so its "unreached" report names any path never taken. */
#define REACHED ok = ok

/*
 * Auxiliary assertions: invariants of the protocol rather than the
 * properties it exists for.  -DCORE_ONLY leaves them out, so that the
 * mutants show the core properties (none lost, none run twice, no slot
 * overwritten or read stale) catch the bugs on their own.
 */
#ifdef CORE_ONLY
#define AUX_ASSERT(e) skip
#else
#define AUX_ASSERT(e) assert(e)
#endif
/* steal <= real <= tail <= steal + CAP, in wrapping order. */
#define INVARIANT \
	AUX_ASSERT(SUB(head_real, head_steal) <= SUB(tail, head_steal) && \
		   SUB(tail, head_steal) <= CAP)

inline take(id)
{
	assert(id >= 1 && id <= NIDS);
	assert(!got[id]);	/* never run twice */
	got[id] = 1
}

/* A claimant's relaxed load of slot `idx`. */
inline read_slot(idx, x)
{
	assert(live[SLOT(idx)]);	/* a task, not a stale slot */
	x = buf[SLOT(idx)];
	live[SLOT(idx)] = 0
}

/* ---- owner ---------------------------------------------------------- */

inline push_back(t)
{
	do
	::	/* h = load(head, acquire) */
		atomic { hs = head_steal; hr = head_real };
		/* tail = load(tail, relaxed): the owner's own last store */
		tl = otail;
#if MUTANT == 2
		if
		:: SUB(tl, hr) < CAP ->
#else
		if
		:: SUB(tl, hs) < CAP ->
#endif
#if MUTANT == 5
			atomic { tail = ADD(tl, 1); otail = tail };
			atomic {
				assert(pending[SLOT(tl)] == 0);
				assert(!live[SLOT(tl)]);
				buf[SLOT(tl)] = t;
				live[SLOT(tl)] = 1
			};
#else
			/* store(buffer[tail & MASK], t, relaxed) */
			atomic {
				assert(pending[SLOT(tl)] == 0);
				assert(!live[SLOT(tl)]);
				buf[SLOT(tl)] = t;
				live[SLOT(tl)] = 1
			};
			/* store(tail, tail + 1, release) */
			atomic { tail = ADD(tl, 1); otail = tail; INVARIANT };
#endif
			break
		:: else
		fi;
#if MUTANT != 3 && MUTANT != 7
		if
		:: hs != hr ->
			/* overflow(ctx, t, t, 1): a steal is in progress. */
overflow_one:		REACHED;
			take(t);
			break
		:: else
		fi;
#endif
		/* push_overflow: CAS(head, (real, real) -> (real + half, ...)) */
		atomic {
#if MUTANT == 3
			if
			:: head_steal == hs && head_real == hr ->
#else
			if
			:: head_steal == hr && head_real == hr ->
#endif
				head_steal = ADD(hr, HALF);
				head_real = ADD(hr, HALF);
				ok = 1;
				INVARIANT
			:: else ->
				ok = 0
			fi
		};
		if
		:: ok ->
			/* The relaxed loads of the claimed half. */
			i = 0;
			do
			:: i < HALF ->
				atomic { read_slot(ADD(hr, i), x); batch[i] = x };
				i++
			:: else ->
				break
			od;
			/* overflow(ctx, first, t, half + 1) */
			atomic {
				i = 0;
				do
				:: i < HALF -> take(batch[i]); i++
				:: else -> break
				od;
				take(t);
				i = 0
			};
			break
		:: else ->
overflow_retry:		REACHED	/* a stealer moved head: retry */
		fi
	od
}

inline pop()
{
	/* h = load(head, acquire) */
	atomic { hs = head_steal; hr = head_real };
	do
	::	/* tail = load(tail, relaxed): the owner's own last store */
		tl = otail;
		if
		:: hr == tl ->
pop_empty:		REACHED;
			break	/* NULL */
		:: else
		fi;
#if MUTANT == 1
		ns = ADD(hr, 1);
#else
		if
		:: hs == hr -> ns = ADD(hr, 1)
		:: else -> ns = hs
		fi;
#endif
		/* CAS(head, h -> (steal', real + 1)); h = head on failure */
		atomic {
			if
			:: head_steal == hs && head_real == hr ->
				head_steal = ns;
				head_real = ADD(hr, 1);
				ok = 1;
				INVARIANT
			:: else ->
				hs = head_steal;
				hr = head_real;
				ok = 0
			fi
		};
		if
		:: ok ->
			/* load(buffer[real & MASK], relaxed) */
			atomic { read_slot(hr, x); take(x) };
			break
		:: else ->
pop_retry:		REACHED;
			if
			:: hr == tl ->
pop_lost_last:			REACHED	/* a stealer took the last task */
			:: else
			fi
		fi
	od
}

proctype Owner()
{
	byte next = 1, pops = 0;
	byte otail = START;	/* what tail holds: only the owner stores it */
	byte hs, hr, tl, ns, x, i;
	byte batch[HALF];
	bit ok;

	do
	:: next <= NTASKS -> push_back(next); next++
	:: pops < NPOPS -> pop(); pops++
	:: else -> break
	od;
	finished++
}

/* ---- stealers ------------------------------------------------------- */

inline steal_half()
{
	/* dst_tail = load(dst->tail, relaxed) */
	dt = dtail;
	/* h = load(src->head, acquire) */
	atomic { hs = head_steal; hr = head_real };
	/* dst_head = load(dst->head, acquire); no thieves, so steal == head */
	ds = dhead;
	n = 0;
	if
	:: SUB(dt, ds) > HALF ->
dst_full:	REACHED	/* NULL */
	:: else ->
		do
#if MUTANT != 4
		:: hs != hr ->
steal_busy:		REACHED;
			break	/* NULL: another stealer is at work */
		:: else ->
#else
		:: true ->
#endif
			/* src_tail = load(src->tail, acquire) */
			st = tail;
#if MUTANT == 8
			n = SUB(st, hr);
#else
			n = SUB(st, hr);
			n = n - n / 2;
#endif
			if
			:: n == 0 ->
steal_empty:			REACHED;
				break	/* NULL */
			:: else
			fi;
			/* CAS(src->head, h -> (steal, real + n)); h = head on failure */
			atomic {
				if
				:: head_steal == hs && head_real == hr ->
					head_real = ADD(hr, n);
					ok = 1;
					INVARIANT;
					i = 0;
					do
					:: i < n -> pending[SLOT(ADD(hr, i))]++; i++
					:: else -> break
					od;
					i = 0
				:: else ->
					hs = head_steal;
					hr = head_real;
					ok = 0
				fi
			};
			if
			:: ok -> break
			:: else ->
steal_retry:			REACHED;
				n = 0
			fi
		od
	fi;
	if
	:: n > 0 ->
		AUX_ASSERT(n <= HALF);
		/* Copy: a relaxed load from src, a store into dst, per task. */
		i = 0;
		do
		:: i < n ->
			atomic {
				assert(pending[SLOT(ADD(hr, i))] > 0);
				pending[SLOT(ADD(hr, i))]--;
				read_slot(ADD(hr, i), x)
			};
			atomic {
				assert(!dlive[SLOT(ADD(dt, i))]);
				dbuf[SLOT(ADD(dt, i))] = x;
				dlive[SLOT(ADD(dt, i))] = 1
			};
			i++
		:: else ->
			break
		od;
		i = 0;
		/* h = load(src->head, acquire) */
		atomic { hs = head_steal; hr = head_real };
		do
		::	/* CAS(src->head, h -> (real(h), real(h))) */
			atomic {
				AUX_ASSERT(hs != hr);	/* only we are between CASes */
				if
				:: head_steal == hs && head_real == hr ->
#if MUTANT == 6
					head_steal = ADD(hs, n);
					head_real = ADD(hs, n);
#else
					head_steal = hr;
#endif
					ok = 1;
					INVARIANT
				:: else ->
					hs = head_steal;
					hr = head_real;
					ok = 0
				fi
			};
			if
			:: ok -> break
			:: else ->
release_retry:			REACHED
			fi
		od;
		/* Run the last stolen task; publish the rest. */
		n--;
		atomic {
			x = dbuf[SLOT(ADD(dt, n))];
			assert(dlive[SLOT(ADD(dt, n))]);
			dlive[SLOT(ADD(dt, n))] = 0;
			take(x)
		};
		if
		:: n > 0 -> dtail = ADD(dt, n)	/* store(dst->tail, release) */
		:: else
		fi;
		n = 0
	:: else
	fi
}

proctype Stealer(byte me)
{
	/* The stealer's own queue, of which it is the owner. */
	byte dbuf[CAP];
	bit dlive[CAP];
	byte dhead = START, dtail = START;
	byte k = 0;
	byte dt, ds, hs, hr, st, n, x, i;
	bit ok;

#if DST_INIT > 0
	/* Tasks the stealer's own queue already holds: pushed by itself. */
	atomic {
		i = 0;
		do
		:: i < DST_INIT ->
			dbuf[SLOT(dtail)] = NTASKS + me * DST_INIT + 1 + i;
			dlive[SLOT(dtail)] = 1;
			dtail = ADD(dtail, 1);
			i++
		:: else -> break
		od;
		i = 0
	};
#endif
	do
	:: k < NSTEALS -> steal_half(); k++
	:: dtail != dhead ->
		/* Pop its own queue: nobody else touches it in the model. */
		atomic {
			assert(dlive[SLOT(dhead)]);
			take(dbuf[SLOT(dhead)]);
			dlive[SLOT(dhead)] = 0;
			dhead = ADD(dhead, 1)
		}
	:: else -> break
	od;
	finished++
}

/* ---- the run -------------------------------------------------------- */

init
{
	byte i, x;

	/* The counters mod MOD are exact only if no difference reaches MOD. */
	assert(NTASKS + DST_INIT < MOD && MOD % CAP == 0 && CAP >= 2);
	assert(DST_INIT <= CAP);
	atomic {
		run Owner();
		i = 0;
		do
		:: i < NSTEALERS -> run Stealer(i); i++
		:: else -> break
		od
	};
	finished == 1 + NSTEALERS;
	/* Everyone is done: drain the owner's queue, then count. */
	atomic {
		assert(head_steal == head_real);
		i = head_real;
		do
		:: i != tail -> read_slot(i, x); take(x); i = ADD(i, 1)
		:: else -> break
		od;
		i = 1;
		do
		:: i <= NIDS -> assert(got[i]); i++	/* none lost */
		:: else -> break
		od
	}
}

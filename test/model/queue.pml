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
 * in up to NPOPS pops in every possible order.  Each stealer makes up to
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
 *    task (the dst capacity check is sufficient), and never claims more
 *    than CAPACITY / 2 tasks;
 *  - after every write of head or tail: steal <= real <= tail <= steal +
 *    CAPACITY in wrapping order, and while a stealer is releasing its
 *    slots, steal != real (only it can be between its two CASes).
 *
 * How the C code maps onto the model
 * ==================================
 *
 * Each atomic load, store or CAS of queue.c is one Promela step, in the
 * order the C code does them; the packed 64-bit head is the pair
 * (head_steal, head_real), read and compare-and-swapped as one unit.  The
 * relaxed slot loads and stores are one step each.  Ghost bookkeeping
 * (take, live, pending, the invariant) rides along inside the step it
 * describes and changes nothing the code can observe.  Computations on
 * locals are steps of their own, which Spin's partial-order reduction
 * folds away (they commute with everything).
 *
 * Deliberate simplifications, each sound for the properties above:
 *
 *  - Memory model: Spin explores sequentially consistent interleavings.
 *    The memory orders of queue.c are argued in its comments, not here.
 *  - The weak CASes never fail spuriously.  A spurious failure leaves head
 *    unchanged and only makes the thread re-read tail later, which is the
 *    same as an execution where that thread ran later; no new state.
 *  - A stealer's own queue (dst) has no thieves of its own, so its steal
 *    head equals its real head; the capacity check is kept as written.
 *  - The injector is a set under a lock: handing tasks to it is one step,
 *    and it is not popped (tasks coming back from it are fresh pushes).
 *
 * Counters: the C code uses free-running uint32_t counters and only their
 * differences (tail - steal, tail - real, dst_tail - dst_steal), equality,
 * increments, and `& MASK`.  Reduction mod M is a ring homomorphism from
 * Z/2^32 onto Z/M for any M dividing 2^32, and `x & MASK` commutes with it
 * when CAPACITY divides M, so the model computes every counter mod
 * MOD = 8 (twice the ring).  This is exact as long as every true
 * difference compared is below MOD: all counters move only forwards and
 * never by more than the NTASKS pushes in total, so NTASKS < MOD suffices
 * (checked below) — this also rules out the ABA on head that a real
 * 32-bit queue could only meet after 2^32 pushes within one steal.  The
 * counters start at START = MOD - 2, the state a real queue reaches after
 * 2^32 - 2 pushes and pops, so indices wrap (from 7 to 0 in the model,
 * from 2^32 - 1 to 0 in C) in every run that pushes three tasks or more.
 * Slots start as 0 ("no task"); the live[] ghost catches a read of a stale
 * slot whatever it holds.
 *
 * Configurations (run-spin.sh runs each exhaustively):
 *   -DNSTEALERS=2 -DNSTEALS=1 -DNTASKS=6 -DNPOPS=2: two stealers racing
 *     each other, pop and overflow;
 *   -DNSTEALERS=1 -DNSTEALS=2 -DNTASKS=7 -DNPOPS=3: a stealer stealing
 *     twice, with its own queue not yet empty, against a longer owner run.
 * Spin's "unreached" report shows every path below is taken, among them:
 * an overflow while a steal is in progress (overflow_one), a
 * push_overflow CAS lost to a stealer (overflow_retry), pop and steal
 * racing for the last task (pop_retry, steal_retry), a stealer seeing
 * another one at work (steal_busy) and the release CAS retried after a pop
 * (release_retry).  run-spin.sh fails if any statement is unreached.
 *
 * Mutants (compile with -DMUTANT=n; run-spin.sh --mutant checks 1-5):
 *   1  pop moves `steal` up with `real` even when a steal is in progress:
 *      caught, the owner overwrites a slot a stealer is still copying.
 *   2  push_back's room check uses `real` instead of `steal`: caught, same.
 *   3  push_back drops the `steal != real` test and push_overflow's CAS
 *      expects the head it loaded rather than (real, real): caught, the
 *      overflow claims past a stealer's claim and reuses its slots.
 *   4  steal_half drops the "another stealer is at work" test: caught, the
 *      first stealer's release moves `steal` past the second's slots.
 *   5  push_back moves tail before writing the slot: caught, a stealer
 *      reads a slot that holds no task yet.
 *   6  the release CAS sets head to (r + n, r + n), the end of its own
 *      claim, instead of the current real: caught, a popped task is
 *      claimed again (run twice).
 *   7  push_back drops only the `steal != real` test: NOT caught, and
 *      rightly so for safety: push_overflow's CAS expects (real, real) and
 *      so fails while a steal is in progress, and the owner spins until the
 *      stealer releases.  The test is there for progress, not safety.
 *   8  steal_half takes all of the available tasks instead of half: caught
 *      only in the second configuration (a stealer's queue not empty when
 *      it steals again overflows).
 * (Results as last run; see run-spin.sh --mutant for the ones it checks.)
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

/* steal <= real <= tail <= steal + CAP, in wrapping order. */
#define INVARIANT \
	assert(SUB(head_real, head_steal) <= SUB(tail, head_steal) && \
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
		/* tail = load(tail, relaxed) */
		tl = tail;
#if MUTANT == 2
		if
		:: SUB(tl, hr) < CAP ->
#else
		if
		:: SUB(tl, hs) < CAP ->
#endif
#if MUTANT == 5
			tail = ADD(tl, 1);
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
			atomic { tail = ADD(tl, 1); INVARIANT };
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
	::	/* tail = load(tail, relaxed) */
		tl = tail;
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
			:: hr == tl -> REACHED	/* a stealer took the last */
			:: else
			fi
		fi
	od
}

proctype Owner()
{
	byte next = 1, pops = 0;
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
		:: hs != hr ->
steal_busy:		REACHED;
			break	/* NULL: another stealer is at work */
		:: else ->
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
		assert(n <= HALF);
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
				assert(hs != hr);
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

	/* The abstraction of the counters is exact only if NTASKS < MOD. */
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

/*
 * fuzz_io: dropped reads on a multi-threaded runtime.  Each input decodes
 * into tasks on one runtime with 2 workers, each running a short script
 * over a few pipes that nobody writes to while the tasks run:
 *  - start a read in the task's own future, yield a few times (the task
 *    may move to the other worker meanwhile), and drop it;
 *  - start a read in a shared cell, for whoever takes the cell next;
 *  - take a cell and drop the read in it (started by another task, maybe
 *    on the other worker's ring);
 *  - yield;
 * and a list of steps for the main thread while they run: abort a task
 * (its future, and a read in flight with it, is dropped by a worker or by
 * the aborting thread), take a cell and drop its read (a plain thread's
 * drop), or pause.  So reads are dropped on their own ring's thread, on
 * the other worker's, and on a thread with no ring, at random moments.
 *
 * Checked, after every task was joined and the main thread dropped what
 * the cells still held: a byte written to each pipe is read back by a new
 * read (no dropped read is still armed in the kernel to take it; before
 * the handover wait of src/driver/op.c one often was); every task's
 * future was dropped exactly once, and its join says 0 or -ECANCELED
 * (-ECANCELED only when it was aborted); every read saw nothing while
 * the pipes were empty.
 *
 * Like fuzz_mt it is meant for ThreadSanitizer (every test build runs it)
 * and is bounded by its input count.  One runtime serves every input.
 */
#include "fuzz.h"

#include <time.h>
#include <unistd.h>

#define MAXTASK 8
#define NPIPE 3
#define NCELL 4
#define MAXSTEP 12
#define MAX_MAIN_STEPS 48

enum cell_state { CELL_EMPTY, CELL_BUSY, CELL_FULL };

struct shared {
	int fd[NPIPE][2];
	weft_read cell[NCELL];
	char cell_buf[NCELL][8];
	_Atomic int cell_state[NCELL];
	_Atomic int drops[MAXTASK];
	_Atomic bool aborted[MAXTASK];
};

enum step { S_LOCAL, S_PUBLISH, S_TAKE, S_YIELD };

struct task {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct shared *sh;
	int idx;
	uint8_t script[MAXSTEP];
	unsigned nstep, i, k;
	bool in_flight;
	weft_read rd;
	char buf[8];
	weft_yield y;
};

/* Claims cell `c` in state `from` for the caller (CELL_BUSY). */
static bool cell_claim(struct shared *sh, unsigned c, int from)
{
	int expected = from;

	/* AcqRel: taking a full cell acquires the read its filler published
	 * (pairs with the release store in cell_fill); the claim of an empty
	 * one orders nothing but is the same call. */
	return atomic_compare_exchange_strong_explicit(&sh->cell_state[c], &expected, CELL_BUSY,
						       memory_order_acq_rel,
						       memory_order_relaxed);
}

/* Starts a read on `fd` in claimed cell `c` and publishes it. */
static void cell_fill(struct shared *sh, unsigned c, int fd, weft_cx *cx)
{
	FZ_CHECK_EQ(weft_read_init(&sh->cell[c], fd, sh->cell_buf[c], sizeof sh->cell_buf[c]), 0);
	FZ_CHECK(weft_future_poll(&sh->cell[c].base, cx) == WEFT_PENDING); /* empty pipe */
	/* Release: publishes the read to whoever takes the cell. */
	atomic_store_explicit(&sh->cell_state[c], CELL_FULL, memory_order_release);
}

/* Drops the read of claimed full cell `c` and empties the cell. */
static void cell_drop(struct shared *sh, unsigned c)
{
	weft_future_drop(&sh->cell[c].base);
	/* Release: the next filler reuses the cell after our drop. */
	atomic_store_explicit(&sh->cell_state[c], CELL_EMPTY, memory_order_release);
}

static weft_poll task_poll(weft_future *f, weft_cx *cx)
{
	struct task *t = (struct task *)f;
	struct shared *sh = t->sh;

	WEFT_ASYNC_BEGIN(t);
	for (t->i = 0; t->i < t->nstep; t->i++) {
		if (t->script[t->i] % 4 == S_LOCAL) {
			FZ_CHECK_EQ(weft_read_init(&t->rd, sh->fd[(t->script[t->i] >> 2) % NPIPE][0],
						   t->buf, sizeof t->buf),
				    0);
			t->in_flight = true;
			FZ_CHECK(weft_future_poll(&t->rd.base, cx) == WEFT_PENDING);
			for (t->k = 0; t->k < (unsigned)(t->script[t->i] >> 4) % 4; t->k++) {
				weft_yield_now(&t->y);
				WEFT_AWAIT(t, cx, &t->y.base);
				FZ_CHECK(weft_future_poll(&t->rd.base, cx) == WEFT_PENDING);
			}
			t->in_flight = false;
			weft_future_drop(&t->rd.base);
		} else if (t->script[t->i] % 4 == S_PUBLISH) {
			unsigned c = (t->script[t->i] >> 2) % NCELL;

			if (cell_claim(sh, c, CELL_EMPTY))
				cell_fill(sh, c, sh->fd[(t->script[t->i] >> 4) % NPIPE][0], cx);
		} else if (t->script[t->i] % 4 == S_TAKE) {
			unsigned c = (t->script[t->i] >> 2) % NCELL;

			if (cell_claim(sh, c, CELL_FULL))
				cell_drop(sh, c);
		} else {
			weft_yield_now(&t->y);
			WEFT_AWAIT(t, cx, &t->y.base);
		}
	}
	WEFT_ASYNC_END(t);
}

/* Runs exactly once, when the task ends (finished or aborted). */
static void task_drop(weft_future *f)
{
	struct task *t = (struct task *)f;

	if (t->in_flight)
		weft_future_drop(&t->rd.base);
	atomic_fetch_add(&t->sh->drops[t->idx], 1);
}

static weft_runtime *shared_rt;
static struct shared sh;

static void destroy_runtime(void)
{
	int p;

	FZ_CHECK_EQ(weft_runtime_destroy(shared_rt), 0);
	for (p = 0; p < NPIPE; p++) {
		close(sh.fd[p][0]);
		close(sh.fd[p][1]);
	}
}

/* One runtime and one set of pipes for every input (made at the first). */
static weft_runtime *runtime(void)
{
	weft_runtime_config cfg = { 0 };
	int p;

	if (shared_rt == NULL) {
		cfg.workers = 2;
		FZ_CHECK_EQ(weft_runtime_create(&cfg, &shared_rt), 0);
		for (p = 0; p < NPIPE; p++)
			FZ_CHECK_EQ(pipe(sh.fd[p]), 0);
		atexit(destroy_runtime);
	}
	return shared_rt;
}

/* The main thread's pauses between steps: 0.5 or 1 us of spinning. */
#define PAUSE_NS 500

static void pause_ns(uint64_t ns)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((uint64_t)(t.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t.tv_nsec -
		       (uint64_t)t0.tv_nsec <
	       ns);
}

/* Writes one byte to pipe `p` and reads it back through a new read. */
static void read_back(weft_runtime *rt, int p, char want)
{
	weft_read rd;
	char buf[8];

	FZ_CHECK_EQ(write(sh.fd[p][1], &want, 1), 1);
	FZ_CHECK_EQ(weft_read_init(&rd, sh.fd[p][0], buf, sizeof buf), 0);
	FZ_CHECK_EQ(weft_block_on(rt, &rd.base), 0);
	FZ_CHECK_EQ(rd.result, 1); /* a dropped read took it, or more came */
	FZ_CHECK_EQ(buf[0], want);
	weft_future_drop(&rd.base);
}

int fuzz_one(const uint8_t *data, size_t size)
{
	static weft_join_handle h[MAXTASK];
	struct fz_in in = { data, size };
	weft_runtime *rt = runtime();
	unsigned ntask = 1 + fz_pick(&in, MAXTASK), i, s;
	int p;

	for (i = 0; i < MAXTASK; i++) {
		atomic_store(&sh.drops[i], 0);
		atomic_store(&sh.aborted[i], false);
	}
	for (i = 0; i < ntask; i++) {
		struct task t;

		memset(&t, 0, sizeof t);
		t.base.poll = task_poll;
		t.base.drop = task_drop;
		t.sh = &sh;
		t.idx = (int)i;
		t.nstep = 1 + fz_pick(&in, MAXSTEP);
		for (s = 0; s < t.nstep; s++)
			t.script[s] = fz_u8(&in);
		FZ_CHECK_EQ(weft_spawn(rt, &t.base, sizeof t, &h[i]), 0);
	}
	for (i = 0; i < MAX_MAIN_STEPS && fz_more(&in); i++) {
		unsigned what = fz_pick(&in, 4), j = fz_pick(&in, 8);

		if (what == 0 && j < ntask) {
			atomic_store(&sh.aborted[j], true);
			FZ_CHECK_EQ(weft_join_abort(&h[j]), 0);
		} else if (what == 1) {
			if (cell_claim(&sh, j % NCELL, CELL_FULL))
				cell_drop(&sh, j % NCELL);
		} else {
			pause_ns(what * PAUSE_NS);
		}
	}
	fz_join_tasks(h, ntask, sh.aborted, sh.drops);
	/* Every task has ended: no cell is being filled or taken. */
	for (i = 0; i < NCELL; i++) {
		FZ_CHECK(atomic_load(&sh.cell_state[i]) != CELL_BUSY);
		if (cell_claim(&sh, i, CELL_FULL))
			cell_drop(&sh, i);
	}
	for (p = 0; p < NPIPE; p++)
		read_back(rt, p, (char)('a' + p));
	return 0;
}

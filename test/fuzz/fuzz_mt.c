/*
 * fuzz_mt: the multi-threaded variant.  Each input decodes into a set of
 * tasks on one runtime with 4 workers -- producers sending numbered values
 * into a bounded mpsc channel, a consumer draining it, tasks taking a
 * mutex, tasks taking semaphore permits, sleepers -- and a list of aborts
 * (at most MAX_ABORT_STEPS steps, each an abort or a pause of a
 * microsecond or less) that the main thread fires at random tasks while
 * they run.  It is meant for ThreadSanitizer (every test build runs it;
 * scripts/fuzz runs it under ASan) and is bounded by its input count, not
 * by time.
 *
 * Checked: the consumer never sees a value twice or out of its sender's
 * order, and sees every value when neither it nor that producer was
 * aborted; the mutex is never held by two tasks (a plain counter inside the
 * critical section, which TSan would also flag); semaphore holders never
 * exceed the permits and every permit comes back; a sleeper never wakes
 * before its deadline (real sleeps of 20 to 60 us, deadlines that have
 * passed, which must be ready at the first poll, and long sleeps that are
 * cancelled while they wait); every task's future is dropped exactly once
 * and its join says 0 or -ECANCELED (-ECANCELED only when it was aborted);
 * nothing is held at the end.
 *
 * One runtime serves every input (starting four workers per input would
 * cost more than most inputs).  Its allocator counts: after an input's
 * joins, the runtime must give back every byte the input's tasks took
 * (the last reference to a task may be dropped by a worker just after
 * the join, so the check waits for it, bounded), which is also what keeps
 * libFuzzer's own leak check (mallocs against frees per input) quiet.
 *
 * Speed (docs/hardening.md): under libFuzzer most of an input's time used
 * to be its sleeps on the real clock and the main thread's sched_yield()s;
 * now only every eighth step of a sleeper sleeps for real, the pauses
 * spin, and scripts/fuzz builds this target without comparison tracing.
 */
#include "fuzz.h"

#include <sched.h>
#include <time.h>

#include "test.h"

#define MAXTASK 24
#define NPROD_MAX 4
#define PERMITS 3
#define MAX_ABORT_STEPS 128 /* the bytes after these are not read */

struct shared {
	weft_mutex mx;
	weft_semaphore sem;
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	int in_cs; /* plain on purpose: guarded by mx */
	_Atomic int holders;
	_Atomic int drops[MAXTASK];
	_Atomic bool aborted[MAXTASK];
	uint32_t sent[NPROD_MAX];     /* per producer, written by it */
	uint32_t received[NPROD_MAX]; /* per producer, by the consumer */
	bool consumer_done;
};

enum kind { K_PRODUCER, K_CONSUMER, K_LOCKER, K_PERMITS, K_SLEEPER };

struct task {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct shared *sh;
	int kind, idx, id;
	uint32_t count, i;
	size_t n;
	bool holding, in_flight;
	uint64_t value;
	union {
		weft_mpsc_send_future send;
		weft_mpsc_recv_future recv;
		weft_mutex_lock_future lock;
		weft_semaphore_acquire_future acq;
		weft_sleep_future sleep;
	} f;
	weft_yield y;
	weft_mpsc_tx *tx;
};

static void consume(struct task *t)
{
	unsigned id = (unsigned)(t->value >> 32);
	uint32_t seq = (uint32_t)t->value;

	FZ_CHECK(id < NPROD_MAX);
	FZ_CHECK_EQ(seq, t->sh->received[id]); /* no loss inside, no dup, in order */
	t->sh->received[id]++;
}

static void cs_enter(struct task *t)
{
	FZ_CHECK_EQ(t->sh->in_cs, 0);
	t->sh->in_cs = 1;
}

static void cs_leave(struct task *t)
{
	FZ_CHECK_EQ(t->sh->in_cs, 1);
	t->sh->in_cs = 0;
}

/*
 * A sleeper's steps are of three kinds, so that the timers are exercised
 * without the input spending most of its time asleep on the real clock:
 * every REAL_EVERY-th step a real sleep of n * REAL_UNIT_NS, awaited; the
 * others alternate between a deadline that has already passed (ready at
 * the first poll) and a long sleep that is registered in the wheel (n
 * picks its level: 5 ms, 300 ms or an hour), polled again after a yield
 * and then cancelled by its drop.
 */
#define REAL_EVERY 8
#define REAL_UNIT_NS 20000u

enum sleep_mode { S_REAL, S_PASSED, S_CANCEL };

static enum sleep_mode sleep_mode(const struct task *t)
{
	if (t->i % REAL_EVERY == 0)
		return S_REAL;
	return (t->i + t->n) % 2 == 0 ? S_PASSED : S_CANCEL;
}

static uint64_t real_sleep_ns(const struct task *t)
{
	return t->n * REAL_UNIT_NS;
}

static uint64_t long_sleep_ns(const struct task *t)
{
	static const uint64_t ns[] = { 5 * WEFT_MS, 300 * WEFT_MS, 3600 * WEFT_SEC };

	return ns[(t->n - 1) % 3];
}

/* A sleep whose deadline has passed: zero duration, or now minus n ns. */
static void passed_sleep(struct task *t)
{
	if (t->i % 3 == 0)
		weft_sleep(&t->f.sleep, NULL, 0);
	else
		weft_sleep_until(&t->f.sleep, NULL, weft_now(weft_runtime_current()) - t->n);
}

/* A sleep that is ready: it did not end before its deadline. */
static void check_slept(struct task *t)
{
	FZ_CHECK_EQ(t->f.sleep.result, 0);
	FZ_CHECK(weft_now(weft_runtime_current()) >= weft_sleep_deadline(&t->f.sleep));
}

static weft_poll task_poll(weft_future *f, weft_cx *cx)
{
	struct task *t = (struct task *)f;

	WEFT_ASYNC_BEGIN(t);
	for (t->i = 0; t->i < t->count; t->i++) {
		if (t->kind == K_PRODUCER) {
			t->value = (uint64_t)t->id << 32 | t->i;
			weft_mpsc_send(t->tx, &t->value, &t->f.send);
			t->in_flight = true;
			WEFT_AWAIT(t, cx, &t->f.send.base);
			t->in_flight = false;
			weft_future_drop(&t->f.send.base);
			if (t->f.send.status != 0)
				break;
			t->sh->sent[t->id]++;
		} else if (t->kind == K_CONSUMER) {
			weft_mpsc_recv(t->sh->rx, &t->value, &t->f.recv);
			t->in_flight = true;
			WEFT_AWAIT(t, cx, &t->f.recv.base);
			t->in_flight = false;
			weft_future_drop(&t->f.recv.base);
			if (t->f.recv.status != 0)
				break;
			consume(t);
			t->i = UINT32_MAX; /* wraps to 0: until end of stream */
		} else if (t->kind == K_LOCKER) {
			weft_mutex_lock(&t->sh->mx, &t->f.lock);
			t->in_flight = true;
			WEFT_AWAIT(t, cx, &t->f.lock.base);
			t->in_flight = false;
			weft_future_drop(&t->f.lock.base);
			t->holding = true;
			cs_enter(t);
			weft_yield_now(&t->y);
			WEFT_AWAIT(t, cx, &t->y.base);
			cs_leave(t);
			t->holding = false;
			FZ_CHECK_EQ(weft_mutex_unlock(&t->sh->mx), 0);
		} else if (t->kind == K_PERMITS) {
			weft_semaphore_acquire(&t->sh->sem, t->n, &t->f.acq);
			t->in_flight = true;
			WEFT_AWAIT(t, cx, &t->f.acq.base);
			t->in_flight = false;
			weft_future_drop(&t->f.acq.base);
			FZ_CHECK_EQ(t->f.acq.result, 0);
			t->holding = true;
			FZ_CHECK(atomic_fetch_add(&t->sh->holders, (int)t->n) + (int)t->n <= PERMITS);
			weft_yield_now(&t->y);
			WEFT_AWAIT(t, cx, &t->y.base);
			atomic_fetch_sub(&t->sh->holders, (int)t->n);
			t->holding = false;
			FZ_CHECK_EQ(weft_semaphore_release(&t->sh->sem, t->n), 0);
		} else if (sleep_mode(t) == S_REAL) {
			weft_sleep(&t->f.sleep, NULL, real_sleep_ns(t));
			t->in_flight = true;
			WEFT_AWAIT(t, cx, &t->f.sleep.base);
			t->in_flight = false;
			check_slept(t);
			weft_future_drop(&t->f.sleep.base);
		} else if (sleep_mode(t) == S_PASSED) {
			passed_sleep(t);
			t->in_flight = true;
			/* A deadline that has passed is ready at the first poll. */
			FZ_CHECK_EQ(weft_future_poll(&t->f.sleep.base, cx), WEFT_READY);
			t->in_flight = false;
			check_slept(t);
			weft_future_drop(&t->f.sleep.base);
		} else {
			/* A long sleep, registered, then cancelled while it waits. */
			weft_sleep(&t->f.sleep, NULL, long_sleep_ns(t));
			t->in_flight = true;
			if (weft_future_poll(&t->f.sleep.base, cx) == WEFT_READY)
				check_slept(t);
			weft_yield_now(&t->y);
			WEFT_AWAIT(t, cx, &t->y.base);
			if (weft_future_poll(&t->f.sleep.base, cx) == WEFT_READY)
				check_slept(t);
			t->in_flight = false;
			weft_future_drop(&t->f.sleep.base);
		}
	}
	if (t->kind == K_CONSUMER)
		t->sh->consumer_done = true;
	WEFT_ASYNC_END(t);
}

/* Runs exactly once, when the task ends (finished or aborted). */
static void task_drop(weft_future *f)
{
	struct task *t = (struct task *)f;

	if (t->in_flight)
		weft_future_drop(&t->f.send.base); /* the first member of each */
	if (t->holding && t->kind == K_LOCKER) {
		cs_leave(t);
		FZ_CHECK_EQ(weft_mutex_unlock(&t->sh->mx), 0);
	}
	if (t->holding && t->kind == K_PERMITS) {
		atomic_fetch_sub(&t->sh->holders, (int)t->n);
		FZ_CHECK_EQ(weft_semaphore_release(&t->sh->sem, t->n), 0);
	}
	if (t->kind == K_PRODUCER)
		weft_mpsc_tx_release(t->tx);
	if (t->kind == K_CONSUMER)
		weft_mpsc_rx_release(t->sh->rx);
	atomic_fetch_add(&t->sh->drops[t->idx], 1);
}

static weft_runtime *shared_rt;
static struct test_alloc shared_ta;
static weft_allocator shared_alloc;

static void destroy_runtime(void)
{
	FZ_CHECK_EQ(weft_runtime_destroy(shared_rt), 0);
	FZ_CHECK_EQ(atomic_load(&shared_ta.allocs), atomic_load(&shared_ta.frees));
	FZ_CHECK_EQ(atomic_load(&shared_ta.live_bytes), 0);
}

/* One runtime for every input (made at the first). */
static weft_runtime *runtime(void)
{
	weft_runtime_config cfg = { 0 };

	if (shared_rt == NULL) {
		cfg.workers = 4;
		shared_alloc = test_allocator(&shared_ta);
		cfg.allocator = &shared_alloc;
		FZ_CHECK_EQ(weft_runtime_create(&cfg, &shared_rt), 0);
		atexit(destroy_runtime);
	}
	return shared_rt;
}

/* The main thread's pauses between aborts: 0.5 or 1 us of spinning. */
#define PAUSE_NS 500

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Lets the workers run on for about `ns` while the main thread spins. */
static void pause_ns(uint64_t ns)
{
	uint64_t t0 = mono_ns();

	while (mono_ns() - t0 < ns)
		;
}

/*
 * Waits until the runtime's allocator holds `live` bytes again, as many
 * allocations as before the input: a worker may still be dropping a
 * task's last reference.  Bounded: 10 s.
 */
static void wait_bytes_back(long live, long net)
{
	struct timespec t0, t;
	long spins = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (atomic_load(&shared_ta.live_bytes) != live ||
	       atomic_load(&shared_ta.allocs) - atomic_load(&shared_ta.frees) != net) {
		if (++spins > 64)
			sched_yield();
		if (spins % 1024 != 0)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &t);
		FZ_CHECK(t.tv_sec - t0.tv_sec < 10); /* a task's memory never came back */
	}
}

int fuzz_one(const uint8_t *data, size_t size)
{
	long live0, net0;
	static struct shared sh;
	static weft_join_handle h[MAXTASK];
	static int kinds[MAXTASK], ids[MAXTASK];
	struct fz_in in = { data, size };
	weft_runtime *rt = runtime();
	unsigned ntask = 2 + fz_pick(&in, MAXTASK - 1), nprod = 0, i;

	live0 = atomic_load(&shared_ta.live_bytes);
	net0 = atomic_load(&shared_ta.allocs) - atomic_load(&shared_ta.frees);
	memset(&sh, 0, sizeof sh);
	FZ_CHECK_EQ(weft_mutex_init(&sh.mx), 0);
	FZ_CHECK_EQ(weft_semaphore_init(&sh.sem, PERMITS), 0);
	FZ_CHECK_EQ(weft_mpsc_bounded(8, 1 + fz_pick(&in, 4), &sh.tx, &sh.rx), 0);
	for (i = 0; i < ntask; i++) {
		struct task t;

		memset(&t, 0, sizeof t);
		t.base.poll = task_poll;
		t.base.drop = task_drop;
		t.sh = &sh;
		t.idx = (int)i;
		t.kind = i == 0 ? K_CONSUMER : (int)fz_pick(&in, 5);
		if (t.kind == K_CONSUMER && i > 0)
			t.kind = K_LOCKER;
		if (t.kind == K_PRODUCER && nprod == NPROD_MAX)
			t.kind = K_SLEEPER;
		t.count = 1 + fz_pick(&in, 40);
		t.n = 1 + fz_pick(&in, PERMITS);
		if (t.kind == K_PRODUCER) {
			t.id = (int)nprod++;
			t.tx = weft_mpsc_tx_clone(sh.tx);
		}
		if (t.kind == K_CONSUMER)
			t.count = 1;
		kinds[i] = t.kind;
		ids[i] = t.id;
		FZ_CHECK_EQ(weft_spawn(rt, &t.base, sizeof t, &h[i]), 0);
	}
	weft_mpsc_tx_release(sh.tx); /* the producers hold the channel open */
	/* Aborts while the tasks run. */
	for (i = 0; i < MAX_ABORT_STEPS && fz_more(&in); i++) {
		unsigned j = fz_pick(&in, ntask);

		unsigned what = fz_pick(&in, 3);

		if (what == 0) {
			atomic_store(&sh.aborted[j], true);
			FZ_CHECK_EQ(weft_join_abort(&h[j]), 0);
		} else {
			pause_ns(what * PAUSE_NS);
		}
	}
	fz_join_tasks(h, ntask, sh.aborted, sh.drops);
	/* Every join has completed: the tasks' writes are visible. */
	for (i = 0; i < ntask; i++) {
		if (kinds[i] != K_PRODUCER)
			continue;
		FZ_CHECK(sh.received[ids[i]] <= sh.sent[ids[i]]);
		if (!atomic_load(&sh.aborted[0]) && sh.consumer_done)
			FZ_CHECK_EQ(sh.received[ids[i]], sh.sent[ids[i]]);
	}
	FZ_CHECK_EQ(sh.in_cs, 0);
	FZ_CHECK(!weft_mutex_is_locked(&sh.mx));
	FZ_CHECK_EQ(weft_semaphore_available(&sh.sem), PERMITS);
	FZ_CHECK_EQ(atomic_load(&sh.holders), 0);
	weft_mutex_finish(&sh.mx);
	weft_semaphore_finish(&sh.sem);
	wait_bytes_back(live0, net0);
	return 0;
}

/*
 * fuzz_time_task: timers and tasks on a current-thread runtime with a
 * paused clock, checked against a model.
 *
 * One driver future runs inside weft_block_on and takes the operations
 * from the bytes a few at a time, yielding between batches so that the
 * spawned tasks run: create, poll and cancel (drop) a sleep, advance the
 * paused clock, spawn a task (it sleeps for a while and then returns a
 * value), abort it, poll or try its join handle, detach it, or join it
 * with a timeout (a select over the handle and a sleep).  Timers are
 * polled by hand with their own counting wakers.  The model checks: a
 * sleep's deadline is its first poll plus its duration; it is never ready
 * before its deadline, always ready (and woken exactly once) once the
 * clock has passed the deadline rounded up to the millisecond, and a
 * cancelled one never wakes; a task never finishes before its sleep's
 * deadline; a join completes with 0 and the task's value exactly when the
 * task finished (a select over the handle is ready then, and otherwise
 * its sleep wins once the clock passed it), with -ECANCELED when it was
 * aborted first, and the task's future was dropped exactly once by then;
 * weft_join_try agrees.  At the end the driver joins every task left (the
 * clock jumps to the next timer when nothing runs).
 *
 * One runtime serves many inputs: creating and destroying one (its
 * driver, its wheel) cost more than a typical input.  Each input starts
 * on a fresh 2^18 ms block of the clock (the clock is advanced to the next
 * multiple of 2^18 ms since creation), so the wheel's three lowest digits
 * (levels 0 to 2, where every timer of an input lies: an input spans far
 * less than 262 s of virtual time) read exactly as on a new runtime and an
 * input replays the same on a fresh runtime (the replay main(), a crash
 * file) as inside a long libFuzzer run.  Usually the input ends by waiting
 * until its detached tasks have finished too (the clock jumps), and then
 * checks that every task was dropped exactly once, that no waker clone is
 * left and that the runtime's allocator holds exactly what it held before
 * the input (every byte of the input's tasks and timers back).  When the
 * input's last byte is 0xf0 or more the runtime is destroyed instead,
 * with the detached tasks still asleep in it, and the same checks follow
 * (the destroy drops them; the allocator must then get every byte back);
 * the next input creates a new runtime.
 */
#include "fuzz.h"

#include "test.h"

#define NTIMER 4
#define NTASK 4
#define NREC 64

/* What a spawned task leaves behind, outside the runtime. */
struct record {
	int drops;
	bool done;
	uint64_t done_at, deadline;
};

struct task_future {
	weft_future base;
	weft_sleep_future sleep;
	struct record *rec;
	uint64_t dur;
	int value;
	bool started;
};

struct timer_slot {
	bool active, polled, fired, pending;
	uint64_t dur, deadline, wakes_base;
	weft_sleep_future f;
	struct fz_task task;
};

struct task_slot {
	bool active, aborted, aborted_before_done;
	unsigned rec;
	int value;
	weft_join_handle h;
	struct fz_task task;
};

struct driver {
	weft_future base;
	weft_runtime *rt;
	struct fz_in in;
	uint64_t t0;
	int phase;
	unsigned drain;
	bool linger;              /* wait for the detached tasks at the end */
	unsigned lingered;        /* polls since the final sleep fired */
	weft_sleep_future final;  /* the wait for the detached tasks */
	struct timer_slot t[NTIMER];
	struct task_slot k[NTASK];
	struct record rec[NREC];
	unsigned nrec;
	long quiet_wakes[NTIMER]; /* a slot's wakes when its last timer ended */
};

static weft_poll task_poll(weft_future *f, weft_cx *cx)
{
	struct task_future *t = (struct task_future *)f;

	if (!t->started) {
		weft_sleep(&t->sleep, NULL, t->dur);
		t->started = true;
	}
	if (weft_future_poll(&t->sleep.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	FZ_CHECK_EQ(t->sleep.result, 0);
	t->rec->deadline = weft_sleep_deadline(&t->sleep);
	t->rec->done_at = weft_now(weft_runtime_current());
	FZ_CHECK(t->rec->done_at >= t->rec->deadline); /* never early */
	t->rec->done = true;
	return WEFT_READY;
}

static void task_drop(weft_future *f)
{
	struct task_future *t = (struct task_future *)f;

	if (t->started)
		weft_future_drop(&t->sleep.base);
	t->rec->drops++;
}

/* The instant a timer due at `deadline` must have fired by. */
static uint64_t due_by(const struct driver *d, uint64_t deadline)
{
	uint64_t ticks = (deadline - d->t0 + WEFT_MS - 1) / WEFT_MS;

	return d->t0 + ticks * WEFT_MS;
}

static void timer_poll(struct driver *d, unsigned i)
{
	struct timer_slot *t = &d->t[i];
	uint64_t now = weft_now(d->rt);
	weft_poll p;

	if (t->pending && now >= due_by(d, t->deadline)) {
		FZ_CHECK(fz_woken(&t->task));
		FZ_CHECK_EQ(t->task.wakes - t->wakes_base, 1); /* fired once */
	}
	p = fz_poll(&t->task, &t->f.base);
	if (!t->polled) {
		t->polled = true;
		t->deadline = now + t->dur;
		FZ_CHECK_EQ(weft_sleep_deadline(&t->f), t->deadline);
	}
	if (now < t->deadline) {
		FZ_CHECK_EQ(p, WEFT_PENDING);
	} else if (now >= due_by(d, t->deadline)) {
		FZ_CHECK_EQ(p, WEFT_READY);
	}
	if (p == WEFT_PENDING) {
		if (!t->pending)
			t->wakes_base = t->task.wakes;
		t->pending = true;
		return;
	}
	FZ_CHECK_EQ(t->f.result, 0);
	weft_future_drop(&t->f.base);
	t->active = t->pending = false;
	d->quiet_wakes[i] = t->task.wakes;
}

static void timer_drop(struct driver *d, unsigned i)
{
	struct timer_slot *t = &d->t[i];

	if (!t->active)
		return;
	weft_future_drop(&t->f.base);
	t->active = t->pending = false;
	d->quiet_wakes[i] = t->task.wakes;
}

/* A join handle is ready: check it against the task's record. */
static void join_check(struct driver *d, struct task_slot *k)
{
	struct record *r = &d->rec[k->rec];
	struct task_future *out = weft_join_output(&k->h);

	FZ_CHECK_EQ(r->drops, 1);
	if (k->aborted_before_done) {
		FZ_CHECK_EQ(k->h.status, -ECANCELED);
		FZ_CHECK(!r->done);
	} else if (!k->aborted) {
		FZ_CHECK_EQ(k->h.status, 0);
	}
	if (k->h.status == 0) {
		FZ_CHECK(r->done);
		FZ_CHECK(out != NULL);
		FZ_CHECK_EQ(out->value, k->value);
		FZ_CHECK_EQ(weft_join_try(&k->h), 0);
	} else {
		FZ_CHECK_EQ(k->h.status, -ECANCELED);
		FZ_CHECK(out == NULL);
		FZ_CHECK_EQ(weft_join_try(&k->h), -ECANCELED);
	}
}

static void join_done(struct driver *d, struct task_slot *k)
{
	join_check(d, k);
	weft_join_detach(&k->h);
	k->active = false;
}

/*
 * A join with a timeout: a select over the task's handle and a sleep.  The
 * select owns both, so the handle is released with it whichever wins.  If
 * it is pending, the clock is advanced past the sleep, which must then
 * win (the task cannot run in between).
 */
static void join_select(struct driver *d, struct task_slot *k)
{
	struct record *r = &d->rec[k->rec];
	weft_sleep_future sl;
	weft_future *br[2];
	weft_select sel;
	uint64_t dur = (uint64_t)fz_pick(&d->in, 4) * WEFT_MS, deadline;
	weft_poll p;

	weft_sleep(&sl, d->rt, dur);
	br[0] = &k->h.base;
	br[1] = &sl.base;
	FZ_CHECK_EQ(weft_select_init(&sel, br, 2), 0);
	p = fz_poll(&k->task, &sel.base);
	deadline = weft_sleep_deadline(&sl);
	if (r->done)
		FZ_CHECK_EQ(p, WEFT_READY); /* the handle is ready */
	if (p == WEFT_PENDING) {
		FZ_CHECK(dur > 0);
		FZ_CHECK_EQ(weft_time_advance(d->rt, dur + WEFT_MS), 0);
		FZ_CHECK(fz_woken(&k->task));
		p = fz_poll(&k->task, &sel.base);
		FZ_CHECK_EQ(p, WEFT_READY);
		FZ_CHECK_EQ(sel.winner, 1);
	}
	FZ_CHECK(sel.winner == 0 || sel.winner == 1);
	if (sel.winner == 0) {
		join_check(d, k);
	} else {
		FZ_CHECK_EQ(sl.result, 0);
		FZ_CHECK(weft_now(d->rt) >= deadline);
	}
	weft_future_drop(&sel.base); /* releases the handle */
	k->active = false;
}

static void task_spawn(struct driver *d, unsigned i)
{
	struct task_slot *k = &d->k[i];
	struct task_future tf;

	if (k->active || d->nrec == NREC)
		return;
	memset(&tf, 0, sizeof tf);
	tf.base.poll = task_poll;
	tf.base.drop = task_drop;
	tf.rec = &d->rec[d->nrec];
	tf.dur = (uint64_t)fz_pick(&d->in, 8) * WEFT_MS + fz_u8(&d->in) * 1000u;
	tf.value = (int)d->nrec * 31 + 7;
	FZ_CHECK_EQ(weft_spawn(d->rt, &tf.base, sizeof tf, &k->h), 0);
	k->rec = d->nrec++;
	k->value = tf.value;
	k->active = true;
	k->aborted = k->aborted_before_done = false;
}

static void task_step(struct driver *d, unsigned i)
{
	struct task_slot *k = &d->k[i];
	struct record *r = &d->rec[k->rec];
	int rc;

	if (!k->active) {
		task_spawn(d, i);
		return;
	}
	switch (fz_pick(&d->in, 5)) {
	case 4:
		join_select(d, k);
		break;
	case 0:
		FZ_CHECK_EQ(weft_join_abort(&k->h), 0);
		if (!k->aborted && !r->done)
			k->aborted_before_done = true;
		k->aborted = true;
		break;
	case 1:
		if (fz_poll(&k->task, &k->h.base) == WEFT_READY)
			join_done(d, k);
		else
			FZ_CHECK(!r->done || r->drops == 0);
		break;
	case 2:
		rc = weft_join_try(&k->h);
		if (rc == -EAGAIN)
			FZ_CHECK_EQ(r->drops, 0);
		else
			FZ_CHECK(rc == 0 ? r->done : !r->done);
		break;
	default:
		weft_join_detach(&k->h);
		k->active = false;
		break;
	}
}

static void step(struct driver *d)
{
	unsigned i = fz_pick(&d->in, NTIMER), j;
	struct timer_slot *t = &d->t[i];
	uint64_t adv;

	switch (fz_pick(&d->in, 6)) {
	case 0:
		if (t->active) {
			timer_poll(d, i);
			break;
		}
		FZ_CHECK_EQ(t->task.wakes, d->quiet_wakes[i]); /* never woke */
		t->dur = (uint64_t)fz_pick(&d->in, 20) * WEFT_MS + fz_u16(&d->in) * 100u;
		weft_sleep(&t->f, d->rt, t->dur);
		t->active = true;
		t->polled = t->pending = false;
		timer_poll(d, i);
		break;
	case 1:
		timer_drop(d, i);
		break;
	case 2:
		adv = (uint64_t)fz_pick(&d->in, 6) * WEFT_MS + fz_u16(&d->in) * 50u;
		FZ_CHECK_EQ(weft_time_advance(d->rt, adv), 0);
		for (j = 0; j < NTIMER; j++)
			if (d->t[j].active && d->t[j].pending &&
			    weft_now(d->rt) >= due_by(d, d->t[j].deadline))
				FZ_CHECK(fz_woken(&d->t[j].task));
		break;
	default:
		task_step(d, i);
		break;
	}
}

/* True when every task spawned by this input has been dropped. */
static bool all_dropped(const struct driver *d)
{
	unsigned i;

	for (i = 0; i < d->nrec; i++)
		if (d->rec[i].drops == 0)
			return false;
	return true;
}

/*
 * Waits for the detached tasks: a sleep longer than any task's (8 ms at
 * most, from its first poll) lets the clock jump past all of them; the
 * tasks woken by then run within a few turns of the queue.
 */
static weft_poll linger_poll(struct driver *d, weft_cx *cx)
{
	if (d->phase == 1) {
		weft_sleep(&d->final, d->rt, 10 * WEFT_MS);
		d->phase = 2;
	}
	if (d->phase == 2) {
		if (weft_future_poll(&d->final.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		FZ_CHECK_EQ(d->final.result, 0);
		weft_future_drop(&d->final.base);
		d->phase = 3;
	}
	if (!all_dropped(d)) {
		FZ_CHECK(++d->lingered < 1000); /* a woken task never ran */
		weft_waker_wake_by_ref(weft_cx_waker(cx));
		return WEFT_PENDING;
	}
	return WEFT_READY;
}

static weft_poll driver_poll(weft_future *f, weft_cx *cx)
{
	struct driver *d = (struct driver *)f;
	unsigned n, i;

	if (d->phase == 0) {
		for (n = 1 + fz_pick(&d->in, 8); n > 0 && fz_more(&d->in); n--)
			step(d);
		if (fz_more(&d->in)) {
			weft_waker_wake_by_ref(weft_cx_waker(cx));
			return WEFT_PENDING;
		}
		for (i = 0; i < NTIMER; i++)
			timer_drop(d, i);
		d->phase = 1;
	}
	/* Join every task left; the clock jumps while they sleep. */
	for (; d->drain < NTASK; d->drain++) {
		struct task_slot *k = &d->k[d->drain];

		if (!k->active)
			continue;
		if (weft_future_poll(&k->h.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		if (!k->aborted)
			FZ_CHECK_EQ(k->h.status, 0);
		join_done(d, k);
	}
	return d->linger ? linger_poll(d, cx) : WEFT_READY;
}

/* The runtime shared by the inputs, its allocator and its first instant. */
static weft_runtime *shared_rt;
static struct test_alloc shared_ta;
static weft_allocator shared_alloc;
static uint64_t shared_t0;

/* Each input starts on a multiple of this since the runtime's creation. */
#define BLOCK_NS (((uint64_t)1 << 18) * WEFT_MS)

static void destroy_shared(void)
{
	if (shared_rt != NULL)
		FZ_CHECK_EQ(weft_runtime_destroy(shared_rt), 0);
	shared_rt = NULL;
}

/* The shared runtime, created on first use, its clock at a block start. */
static weft_runtime *runtime(void)
{
	static bool registered;
	weft_runtime_config cfg = { 0 };
	uint64_t off;

	if (shared_rt == NULL) {
		cfg.flavor = WEFT_RUNTIME_CURRENT_THREAD;
		cfg.start_paused = true;
		shared_alloc = test_allocator(&shared_ta);
		cfg.allocator = &shared_alloc;
		FZ_CHECK_EQ(weft_runtime_create(&cfg, &shared_rt), 0);
		shared_t0 = weft_now(shared_rt);
		if (!registered)
			atexit(destroy_shared);
		registered = true;
	}
	off = (weft_now(shared_rt) - shared_t0) % BLOCK_NS;
	if (off != 0)
		FZ_CHECK_EQ(weft_time_advance(shared_rt, BLOCK_NS - off), 0);
	FZ_CHECK_EQ((weft_now(shared_rt) - shared_t0) % BLOCK_NS, 0);
	return shared_rt;
}

int fuzz_one(const uint8_t *data, size_t size)
{
	static struct driver d;
	long allocs0, frees0, live0;
	unsigned i;

	memset(&d, 0, sizeof d);
	d.rt = runtime();
	allocs0 = atomic_load(&shared_ta.allocs);
	frees0 = atomic_load(&shared_ta.frees);
	live0 = atomic_load(&shared_ta.live_bytes);
	d.base.poll = driver_poll;
	d.in.p = data;
	d.in.n = size;
	d.t0 = shared_t0;
	d.linger = size == 0 || data[size - 1] < 0xf0;
	FZ_CHECK_EQ(weft_block_on(d.rt, &d.base), 0);
	if (!d.linger)
		destroy_shared();
	for (i = 0; i < d.nrec; i++)
		FZ_CHECK_EQ(d.rec[i].drops, 1);
	for (i = 0; i < NTIMER; i++) {
		FZ_CHECK_EQ(d.t[i].task.clones, 0);
		FZ_CHECK_EQ(d.t[i].task.wakes, d.quiet_wakes[i]);
	}
	for (i = 0; i < NTASK; i++)
		FZ_CHECK_EQ(d.k[i].task.clones, 0);
	if (d.linger) {
		/* Every allocation of this input freed, and nothing else. */
		FZ_CHECK_EQ(atomic_load(&shared_ta.allocs) - allocs0,
			    atomic_load(&shared_ta.frees) - frees0);
		FZ_CHECK_EQ(atomic_load(&shared_ta.live_bytes), live0);
	} else {
		FZ_CHECK_EQ(atomic_load(&shared_ta.allocs), atomic_load(&shared_ta.frees));
		FZ_CHECK_EQ(atomic_load(&shared_ta.live_bytes), 0);
	}
	return 0;
}

/* OnceCell: get/set, one initialiser runs, a cancelled or failed initialiser is taken over, many tasks agree on one value. */
#include "sync_test.h"

/* An initialiser future: pending until `*go` (or at once when go is NULL),
 * then ready with `value` and `status`. */
struct init_fut {
	weft_future base;
	_Atomic bool *go;
	void *value;
	int status;
	_Atomic int *polls;
	weft_waker *park; /* where it leaves its waker while pending */
};

static weft_poll init_poll(weft_future *f, weft_cx *cx)
{
	struct init_fut *i = (struct init_fut *)f;

	if (i->polls != NULL)
		atomic_fetch_add(i->polls, 1);
	if (i->go != NULL && !atomic_load(i->go)) {
		if (i->park != NULL)
			weft_waker_store(i->park, weft_cx_waker(cx));
		return WEFT_PENDING;
	}
	return WEFT_READY;
}

static struct init_fut init_make(_Atomic bool *go, void *value, int status, _Atomic int *polls)
{
	struct init_fut i = { { init_poll, NULL }, go, value, status, polls, NULL };

	return i;
}

static int v1, v2, v3;

static void test_get_set(void)
{
	weft_once_cell c;
	void *v = NULL;

	CHECK_EQ(weft_once_cell_init(&c), 0);
	CHECK_EQ(weft_once_cell_get(&c, &v), -EAGAIN);
	CHECK_EQ(weft_once_cell_set(&c, &v1), 0);
	CHECK_EQ(weft_once_cell_get(&c, &v), 0);
	CHECK(v == &v1);
	CHECK_EQ(weft_once_cell_set(&c, &v2), -EEXIST);
	CHECK_EQ(weft_once_cell_get(&c, &v), 0);
	CHECK(v == &v1);
	weft_once_cell_finish(&c);

	/* NULL is a value like any other. */
	CHECK_EQ(weft_once_cell_init(&c), 0);
	CHECK_EQ(weft_once_cell_set(&c, NULL), 0);
	v = &v3;
	CHECK_EQ(weft_once_cell_get(&c, &v), 0);
	CHECK(v == NULL);
	weft_once_cell_finish(&c);
}

static void test_get_or_init(void)
{
	struct hand h;
	weft_once_cell c;
	weft_once_cell_future a, b;
	_Atomic int pa = 0, pb = 0;
	struct init_fut ia = init_make(NULL, &v1, 0, &pa);
	struct init_fut ib = init_make(NULL, &v2, 0, &pb);

	hand_init(&h);
	CHECK_EQ(weft_once_cell_init(&c), 0);
	CHECK_EQ(weft_once_cell_get_or_init(&c, &a, &ia.base, &ia.value, &ia.status), 0);
	CHECK_EQ(hand_poll(&h, &a.base), WEFT_READY);
	CHECK_EQ(a.result, 0);
	CHECK(a.value == &v1);
	CHECK_EQ(weft_once_cell_get_or_init(&c, &b, &ib.base, &ib.value, NULL), 0);
	CHECK_EQ(hand_poll(&h, &b.base), WEFT_READY);
	CHECK(b.value == &v1);
	CHECK_EQ(atomic_load(&pa), 1);
	CHECK_EQ(atomic_load(&pb), 0); /* never ran */
	weft_future_drop(&a.base);
	weft_future_drop(&b.base);
	weft_future_drop(&ia.base);
	weft_future_drop(&ib.base);
	CHECK_EQ(weft_once_cell_set(&c, &v2), -EEXIST);
	CHECK_EQ(hand_refs(&h), 0);
	weft_once_cell_finish(&c);
}

/* On a set cell, the inline fast paths of weft/sync.h and the exported
 * functions (reached with the names in parentheses, as C++ reaches them)
 * agree: get reads the value, and a get_or_init future is ready at its
 * first poll with that value, never polls its initialiser, and its drop is
 * safe before and after the poll. */
static void test_set_cell_paths(void)
{
	struct hand h;
	weft_once_cell c;
	weft_once_cell_future a, b, d;
	_Atomic int pi = 0;
	struct init_fut in = init_make(NULL, &v2, 0, &pi);
	void *v = NULL;

	hand_init(&h);
	CHECK_EQ(weft_once_cell_init(&c), 0);
	CHECK_EQ((weft_once_cell_get)(&c, &v), -EAGAIN);
	CHECK_EQ(weft_once_cell_set(&c, &v1), 0);
	CHECK_EQ((weft_once_cell_get)(&c, &v), 0);
	CHECK(v == &v1);
	v = NULL;
	CHECK_EQ(weft_once_cell_get(&c, &v), 0);
	CHECK(v == &v1);
	CHECK_EQ(weft_once_cell_get(&c, NULL), -EINVAL);
	CHECK_EQ(weft_once_cell_get_or_init(&c, &a, &in.base, &in.value, NULL), 0);
	CHECK_EQ((weft_once_cell_get_or_init)(&c, &b, &in.base, &in.value, NULL), 0);
	CHECK_EQ(hand_poll(&h, &a.base), WEFT_READY);
	CHECK_EQ(hand_poll(&h, &b.base), WEFT_READY);
	CHECK_EQ(a.result, 0);
	CHECK_EQ(b.result, 0);
	CHECK(a.value == &v1 && b.value == &v1);
	/* Bad arguments still complete with -EINVAL on both paths. */
	CHECK_EQ(weft_once_cell_get_or_init(&c, &d, NULL, &in.value, NULL), -EINVAL);
	CHECK_EQ(hand_poll(&h, &d.base), WEFT_READY);
	CHECK_EQ(d.result, -EINVAL);
	weft_future_drop(&d.base);
	CHECK_EQ((weft_once_cell_get_or_init)(&c, &d, &in.base, NULL, NULL), -EINVAL);
	CHECK_EQ(hand_poll(&h, &d.base), WEFT_READY);
	CHECK_EQ(d.result, -EINVAL);
	weft_future_drop(&d.base);
	weft_future_drop(&a.base);
	weft_future_drop(&b.base);
	/* Made and dropped without a poll. */
	CHECK_EQ(weft_once_cell_get_or_init(&c, &a, &in.base, &in.value, NULL), 0);
	weft_future_drop(&a.base);
	weft_future_drop(&in.base);
	CHECK_EQ(atomic_load(&pi), 0); /* never ran */
	CHECK_EQ(hand_refs(&h), 0);
	weft_once_cell_finish(&c);
}

/* The initialiser is cancelled mid-way: the next waiter runs its own. */
static void test_takeover(void)
{
	struct hand ha, hb, hc;
	weft_once_cell c;
	weft_once_cell_future a, b, cf;
	_Atomic bool never = false, go_b = false;
	_Atomic int pa = 0, pb = 0, pc = 0;
	struct init_fut ia = init_make(&never, &v1, 0, &pa);
	struct init_fut ib = init_make(&go_b, &v2, 0, &pb);
	struct init_fut ic = init_make(NULL, &v3, 0, &pc);
	weft_waker parked = { NULL, NULL };
	void *v;

	hand_init(&ha);
	hand_init(&hb);
	hand_init(&hc);
	ib.park = &parked;
	CHECK_EQ(weft_once_cell_init(&c), 0);
	CHECK_EQ(weft_once_cell_get_or_init(&c, &a, &ia.base, &ia.value, NULL), 0);
	CHECK_EQ(weft_once_cell_get_or_init(&c, &b, &ib.base, &ib.value, NULL), 0);
	CHECK_EQ(weft_once_cell_get_or_init(&c, &cf, &ic.base, &ic.value, NULL), 0);
	CHECK_EQ(hand_poll(&ha, &a.base), WEFT_PENDING); /* a initialises */
	CHECK_EQ(atomic_load(&pa), 1);
	CHECK_EQ(hand_poll(&hb, &b.base), WEFT_PENDING); /* b queues */
	CHECK_EQ(hand_poll(&hc, &cf.base), WEFT_PENDING); /* c queues */
	CHECK_EQ(atomic_load(&pb), 0);
	CHECK_EQ(weft_once_cell_set(&c, &v3), -EBUSY);
	CHECK_EQ(weft_once_cell_get(&c, &v), -EAGAIN);

	weft_future_drop(&a.base); /* cancelled mid-way */
	weft_future_drop(&ia.base);
	CHECK_EQ(hand_wakes(&hb), 1); /* the oldest waiter takes over */
	CHECK_EQ(hand_wakes(&hc), 0);
	CHECK_EQ(hand_poll(&hb, &b.base), WEFT_PENDING); /* runs ib */
	CHECK_EQ(atomic_load(&pb), 1);
	CHECK_EQ(atomic_load(&pa), 1); /* a's initialiser never ran again */
	atomic_store(&go_b, true);
	weft_waker_wake(&parked);
	CHECK_EQ(hand_poll(&hb, &b.base), WEFT_READY);
	CHECK_EQ(b.result, 0);
	CHECK(b.value == &v2);
	CHECK_EQ(hand_wakes(&hc), 1); /* released by the close */
	CHECK_EQ(hand_poll(&hc, &cf.base), WEFT_READY);
	CHECK_EQ(cf.result, 0);
	CHECK(cf.value == &v2);
	CHECK_EQ(atomic_load(&pc), 0);
	CHECK_EQ(weft_once_cell_get(&c, &v), 0);
	CHECK(v == &v2);
	weft_future_drop(&b.base);
	weft_future_drop(&cf.base);
	weft_future_drop(&ib.base);
	weft_future_drop(&ic.base);
	CHECK_EQ(hand_refs(&ha) + hand_refs(&hb) + hand_refs(&hc), 0);
	weft_once_cell_finish(&c);
}

/* A failing initialiser reports its status; the next one succeeds.  A
 * waiter that was handed the right to initialise and dropped before it
 * looked passes it on. */
static void test_failure_and_handoff(void)
{
	struct hand h;
	weft_once_cell c;
	weft_once_cell_future a, b, d;
	_Atomic bool go = false;
	struct init_fut ia = init_make(&go, &v1, -EIO, NULL);
	struct init_fut ib = init_make(NULL, &v2, 0, NULL);
	struct init_fut id = init_make(NULL, &v3, 0, NULL);

	hand_init(&h);
	CHECK_EQ(weft_once_cell_init(&c), 0);
	CHECK_EQ(weft_once_cell_get_or_init(&c, &a, &ia.base, &ia.value, &ia.status), 0);
	CHECK_EQ(weft_once_cell_get_or_init(&c, &b, &ib.base, &ib.value, &ib.status), 0);
	CHECK_EQ(weft_once_cell_get_or_init(&c, &d, &id.base, &id.value, &id.status), 0);
	CHECK_EQ(hand_poll(&h, &a.base), WEFT_PENDING);
	CHECK_EQ(hand_poll(&h, &b.base), WEFT_PENDING);
	CHECK_EQ(hand_poll(&h, &d.base), WEFT_PENDING);
	atomic_store(&go, true);
	CHECK_EQ(hand_poll(&h, &a.base), WEFT_READY);
	CHECK_EQ(a.result, -EIO);
	CHECK_EQ(hand_wakes(&h), 1); /* b was handed the right */
	weft_future_drop(&b.base);   /* ...and dropped before it looked */
	CHECK_EQ(hand_wakes(&h), 2); /* so d has it */
	CHECK_EQ(hand_poll(&h, &d.base), WEFT_READY);
	CHECK_EQ(d.result, 0);
	CHECK(d.value == &v3);
	weft_future_drop(&a.base);
	weft_future_drop(&d.base);
	CHECK_EQ(hand_refs(&h), 0);
	weft_once_cell_finish(&c);
}

/* ---- on a runtime -------------------------------------------------------- */

struct shared {
	weft_once_cell c;
	_Atomic int inits_started, inits_done;
	_Atomic int got;
	int value;
};

/* An initialiser that yields a few times before producing the value. */
struct slow_init {
	weft_future base;
	struct shared *sh;
	int yields;
	bool started;
	void *value;
};

static weft_poll slow_init_poll(weft_future *f, weft_cx *cx)
{
	struct slow_init *s = (struct slow_init *)f;

	if (!s->started) {
		s->started = true;
		atomic_fetch_add(&s->sh->inits_started, 1);
	}
	if (s->yields-- > 0) {
		weft_waker_wake_by_ref(weft_cx_waker(cx));
		return WEFT_PENDING;
	}
	atomic_fetch_add(&s->sh->inits_done, 1);
	s->value = &s->sh->value;
	return WEFT_READY;
}

/*
 * The get_or_init of a task that starts it on its first poll, with `init`
 * storing the value in *value, and polls it from then on; `*started`
 * records that it began (and must be dropped).
 */
static weft_poll poll_get_or_init(weft_once_cell *c, bool *started, weft_once_cell_future *of,
				  weft_future *init, void **value, weft_cx *cx)
{
	if (!*started) {
		*started = true;
		CHECK_EQ(weft_once_cell_get_or_init(c, of, init, value, NULL), 0);
	}
	return weft_future_poll(&of->base, cx);
}

/* Drops what poll_get_or_init started, if anything. */
static void drop_get_or_init(bool started, weft_once_cell_future *of)
{
	if (started)
		weft_future_drop(&of->base);
}

struct getter {
	weft_future base;
	struct shared *sh;
	struct slow_init init;
	weft_once_cell_future of;
	bool started;
};

static weft_poll getter_poll(weft_future *f, weft_cx *cx)
{
	struct getter *g = (struct getter *)f;

	if (poll_get_or_init(&g->sh->c, &g->started, &g->of, &g->init.base, &g->init.value, cx) ==
	    WEFT_PENDING)
		return WEFT_PENDING;
	CHECK_EQ(g->of.result, 0);
	CHECK(g->of.value == &g->sh->value);
	atomic_fetch_add(&g->sh->got, 1);
	return WEFT_READY;
}

static void getter_drop(weft_future *f)
{
	struct getter *g = (struct getter *)f;

	drop_get_or_init(g->started, &g->of);
}

/* Spawns a getter whose initialiser yields `yields` times. */
static void spawn_getter(weft_runtime *rt, struct shared *sh, int yields, weft_join_handle *h)
{
	struct getter g;

	memset(&g, 0, sizeof(g));
	g.base.poll = getter_poll;
	g.base.drop = getter_drop;
	g.sh = sh;
	g.init.base.poll = slow_init_poll;
	g.init.sh = sh;
	g.init.yields = yields;
	CHECK_EQ(weft_spawn(rt, &g.base, sizeof(g), h), 0);
}

static void race(unsigned workers, int tasks, bool abort_some)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	struct shared sh;
	weft_join_handle h[32];
	int t, aborted = 0;
	void *v;

	CHECK(tasks <= 32);
	memset(&sh, 0, sizeof(sh));
	CHECK_EQ(weft_once_cell_init(&sh.c), 0);
	for (t = 0; t < tasks; t++)
		spawn_getter(rt, &sh, 20, &h[t]);
	for (t = 0; t < tasks; t++) {
		if (abort_some && t % 3 == 0)
			CHECK_EQ(weft_join_abort(&h[t]), 0);
	}
	for (t = 0; t < tasks; t++) {
		int st;

		if (workers == 0) {
			CHECK_EQ(weft_block_on(rt, &h[t].base), 0);
			st = h[t].status;
		} else {
			st = weft_join(&h[t]);
		}
		CHECK(st == 0 || (abort_some && st == -ECANCELED));
		aborted += st != 0;
		weft_join_detach(&h[t]);
	}
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(atomic_load(&sh.inits_done), 1);
	CHECK(atomic_load(&sh.inits_started) >= 1);
	CHECK_EQ(atomic_load(&sh.got), tasks - aborted);
	CHECK_EQ(weft_once_cell_get(&sh.c, &v), 0);
	CHECK(v == &sh.value);
	weft_once_cell_finish(&sh.c);
}

/* The initialising task is aborted while its initialiser is pending. */
struct stuck_init {
	weft_future base;
	struct test_event *started;
	void *value;
};

static weft_poll stuck_poll(weft_future *f, weft_cx *cx)
{
	(void)cx;
	test_event_set(((struct stuck_init *)f)->started);
	return WEFT_PENDING; /* forever; nobody wakes it */
}

struct stuck_getter {
	weft_future base;
	weft_once_cell *c;
	struct stuck_init init;
	weft_once_cell_future of;
	bool started;
};

static weft_poll stuck_getter_poll(weft_future *f, weft_cx *cx)
{
	struct stuck_getter *g = (struct stuck_getter *)f;

	return poll_get_or_init(g->c, &g->started, &g->of, &g->init.base, &g->init.value, cx);
}

static void stuck_getter_drop(weft_future *f)
{
	struct stuck_getter *g = (struct stuck_getter *)f;

	drop_get_or_init(g->started, &g->of);
}

static void abort_initialiser(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	struct shared sh;
	struct test_event started;
	struct stuck_getter sg;
	weft_join_handle hs, h[6];
	int t;
	void *v;

	memset(&sh, 0, sizeof(sh));
	test_event_init(&started);
	CHECK_EQ(weft_once_cell_init(&sh.c), 0);
	memset(&sg, 0, sizeof(sg));
	sg.base.poll = stuck_getter_poll;
	sg.base.drop = stuck_getter_drop;
	sg.c = &sh.c;
	sg.init.base.poll = stuck_poll;
	sg.init.started = &started;
	CHECK_EQ(weft_spawn(rt, &sg.base, sizeof(sg), &hs), 0);
	if (workers == 0)
		block_on_yield(rt);
	test_event_wait(&started); /* it holds the right to initialise */
	for (t = 0; t < 6; t++)
		spawn_getter(rt, &sh, 3, &h[t]);
	CHECK_EQ(weft_join_abort(&hs), 0);
	join_all(rt, workers, h, 6);
	if (workers == 0)
		CHECK_EQ(weft_block_on(rt, &hs.base), 0);
	else
		CHECK_EQ(weft_join(&hs), -ECANCELED);
	weft_join_detach(&hs);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(atomic_load(&sh.inits_done), 1);
	CHECK_EQ(atomic_load(&sh.got), 6);
	CHECK_EQ(weft_once_cell_get(&sh.c, &v), 0);
	CHECK(v == &sh.value);
	weft_once_cell_finish(&sh.c);
	test_event_finish(&started);
}

int main(void)
{
	long scale = test_scale();
	long r;

	test_get_set();
	test_get_or_init();
	test_set_cell_paths();
	test_takeover();
	test_failure_and_handoff();
	for (r = 0; r < 20 * scale; r++) {
		race(4, 16, false);
		race(4, 16, true);
	}
	race(0, 8, false);
	race(0, 8, true);
	abort_initialiser(4);
	abort_initialiser(0);
	return 0;
}

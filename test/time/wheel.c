/* wheel: the timing wheel alone - 10^5 random exact deadlines fire in exact deadline order, never before their deadline, each exactly once, cancelled ones never; many entries in one tick (current list) fire at their exact instants; every level wraps; deadlines beyond the top level; the next deadline is a lower bound, later than the clock. */
#include "test.h"

#include "driver/wheel.h"

static uint64_t rng_state = 0x1234567887654321u;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* Exact time units per tick (the test's "milliseconds"). */
#define TK 1000u

struct ctx {
	uint64_t now, prev_now, last_deadline;
	long fired;
	int *fire_count;
	struct weft__timer *base;
};

static void on_fire(void *p, struct weft__timer *e)
{
	struct ctx *c = p;
	long i = e - c->base;

	CHECK(e->deadline <= c->now);           /* never early */
	CHECK(e->deadline > c->prev_now);       /* not left behind by an earlier step */
	CHECK(e->deadline >= c->last_deadline); /* exact deadline order */
	CHECK_EQ(e->level, WHEEL_LEVEL_NONE);
	c->last_deadline = e->deadline;
	c->fire_count[i]++;
	c->fired++;
}

static void advance(struct weft__wheel *w, struct ctx *c, uint64_t now)
{
	c->now = now;
	weft__wheel_advance(w, now / TK, now, on_fire, c);
	c->prev_now = now;
	/* Whatever is left is later than the clock. */
	if (!weft__wheel_is_empty(w))
		CHECK(weft__wheel_next_deadline(w) > now);
}

/* Sets an entry's exact deadline and its tick. */
static void set_deadline(struct weft__timer *e, uint64_t deadline)
{
	e->deadline = deadline;
	e->when = deadline / TK;
}

/* A deadline `ahead` ticks ahead drawn so that every level and the
 * overflow list get entries. */
static uint64_t random_ahead(void)
{
	unsigned bits = 1 + (unsigned)(rnd() % 40);

	return 1 + (rnd() & (((uint64_t)1 << bits) - 1));
}

static void test_random(uint64_t start_tick, long n)
{
	struct weft__wheel w;
	struct weft__timer *e = calloc((size_t)n, sizeof(*e));
	int *count = calloc((size_t)n, sizeof(int));
	bool *cancelled = calloc((size_t)n, sizeof(bool));
	struct ctx c = { 0 };
	uint64_t start = start_tick * TK + 17;
	long i, ncancel = 0, steps = 0;

	CHECK(e != NULL && count != NULL && cancelled != NULL);
	weft__wheel_init(&w, start / TK, start);
	c.base = e;
	c.fire_count = count;
	c.prev_now = c.now = start;
	for (i = 0; i < n; i++) {
		/* Some in the clock's own tick, the rest anywhere ahead. */
		uint64_t ahead = rnd() % 16 == 0 ? 1 + rnd() % (TK - 17) : random_ahead() * TK;

		set_deadline(&e[i], start + ahead - (ahead >= TK ? rnd() % TK : 0));
		CHECK(weft__wheel_insert(&w, &e[i]));
	}
	CHECK_EQ(w.count, n);
	while (!weft__wheel_is_empty(&w)) {
		uint64_t next = weft__wheel_next_deadline(&w), now;

		CHECK(next > c.now);
		/* Every so often: the next deadline is a lower bound of the
		 * earliest live deadline. */
		if (steps++ % 512 == 0) {
			uint64_t min = UINT64_MAX;

			for (i = 0; i < n; i++)
				if (count[i] == 0 && !cancelled[i] && e[i].deadline < min)
					min = e[i].deadline;
			CHECK(next <= min);
			CHECK(weft__wheel_next_expiration(&w) <= min / TK);
		}
		/* Cancel a few live entries at random. */
		for (i = 0; i < 4 && ncancel < n / 2; i++) {
			long k = (long)(rnd() % (uint64_t)n);

			if (count[k] == 0 && !cancelled[k]) {
				weft__wheel_remove(&w, &e[k]);
				cancelled[k] = true;
				ncancel++;
			}
		}
		/* Either jump to the next deadline (what auto-advance does) or
		 * take a random step, sometimes inside the current tick. */
		if (rnd() % 2)
			now = next;
		else
			now = c.now + 1 + (rnd() % ((uint64_t)1 << (rnd() % 34)));
		advance(&w, &c, now);
	}
	for (i = 0; i < n; i++)
		CHECK_EQ(count[i], cancelled[i] ? 0 : 1);
	CHECK_EQ(c.fired + ncancel, n);
	free(e);
	free(count);
	free(cancelled);
}

/*
 * Many entries in one tick, registered in random order, some of them after
 * the clock has entered that tick (the current list): they fire exactly at
 * their deadlines, in order, when the clock moves in small steps inside
 * the tick and when it jumps from deadline to deadline.
 */
static void test_same_tick(bool jump)
{
	enum { N = 20000 };
	struct weft__wheel w;
	struct weft__timer *e = calloc(N, sizeof(*e));
	int *count = calloc(N, sizeof(int));
	struct ctx c = { 0 };
	uint64_t start = 5 * TK * TK; /* a tick start */
	uint64_t tick_start = start + 3 * TK * 64;
	long i, half = N / 2;

	CHECK(e != NULL && count != NULL);
	weft__wheel_init(&w, start / TK, start);
	c.base = e;
	c.fire_count = count;
	c.prev_now = c.now = start;
	/* Half now, all in one later tick (a level 1 slot). */
	for (i = 0; i < half; i++) {
		set_deadline(&e[i], tick_start + 1 + rnd() % (TK - 1));
		CHECK(weft__wheel_insert(&w, &e[i]));
	}
	/* Enter the tick: nothing due yet at its very start. */
	advance(&w, &c, tick_start);
	CHECK_EQ(c.fired, 0);
	/* The other half from inside the tick, into the current list. */
	for (i = half; i < N; i++) {
		set_deadline(&e[i], tick_start + 1 + rnd() % (TK - 1));
		CHECK(weft__wheel_insert(&w, &e[i]));
		CHECK_EQ(e[i].level, WHEEL_LEVEL_CURRENT);
	}
	while (!weft__wheel_is_empty(&w)) {
		uint64_t next = weft__wheel_next_deadline(&w);

		/* The current list is exact: the earliest live deadline. */
		CHECK(next > c.now && next < tick_start + TK);
		advance(&w, &c, jump ? next : c.now + 1 + rnd() % 7);
		if (jump)
			CHECK(c.fired > 0 && c.last_deadline == next);
	}
	for (i = 0; i < N; i++)
		CHECK_EQ(count[i], 1);
	/* A due entry is refused, a later one in the tick is taken. */
	{
		struct weft__timer due = { 0 }, later = { 0 };

		set_deadline(&due, c.now);
		CHECK(!weft__wheel_insert(&w, &due));
		set_deadline(&due, c.now - TK);
		CHECK(!weft__wheel_insert(&w, &due));
		if (c.now % TK != TK - 1) {
			set_deadline(&later, c.now + 1);
			CHECK(weft__wheel_insert(&w, &later));
			CHECK_EQ(weft__wheel_next_deadline(&w), c.now + 1);
			weft__wheel_remove(&w, &later);
		}
	}
	CHECK_EQ(weft__wheel_next_deadline(&w), UINT64_MAX);
	free(e);
	free(count);
}

/* Each entry fires at exactly its deadline, not at its tick's start, when
 * the clock moves across the end of a turn of `level`. */
static void test_wrap(unsigned level)
{
	uint64_t turn = (uint64_t)1 << (6 * (level + 1));
	uint64_t start_tick = 3 * turn - 40;
	struct weft__wheel w;
	struct weft__timer e[80];
	int count[80] = { 0 };
	struct ctx c = { 0 };
	uint64_t t;
	int i;

	memset(e, 0, sizeof(e));
	weft__wheel_init(&w, start_tick, start_tick * TK);
	c.base = e;
	c.fire_count = count;
	c.prev_now = c.now = start_tick * TK;
	for (i = 0; i < 80; i++) {
		set_deadline(&e[i], (start_tick + 1 + (uint64_t)i) * TK + 500);
		CHECK(weft__wheel_insert(&w, &e[i]));
	}
	for (t = start_tick + 1; t <= start_tick + 80; t++) {
		long before = c.fired;

		CHECK_EQ(weft__wheel_next_deadline(&w), t * TK + 500);
		advance(&w, &c, t * TK + 499);
		CHECK_EQ(c.fired, before);
		advance(&w, &c, t * TK + 500);
		CHECK_EQ(c.fired, before + 1);
		CHECK_EQ(count[t - start_tick - 1], 1);
	}
	CHECK(weft__wheel_is_empty(&w));
	CHECK_EQ(weft__wheel_next_deadline(&w), UINT64_MAX);
	CHECK_EQ(weft__wheel_next_expiration(&w), UINT64_MAX);
}

/* Deadlines beyond the top level wait in the overflow list, come back into
 * the wheel when it gets there, and fire at exactly their deadline. */
static void test_overflow(void)
{
	uint64_t span = (uint64_t)1 << 36, top = UINT64_MAX / TK - 1;
	uint64_t whens[5] = { span + 5, 3 * span + 77, 3 * span + 78, 40 * span + 1, top };
	struct weft__wheel w;
	struct weft__timer e[5];
	int count[5] = { 0 };
	struct ctx c = { 0 };
	int i, jumps = 0;

	memset(e, 0, sizeof(e));
	weft__wheel_init(&w, 7, 7 * TK);
	c.base = e;
	c.fire_count = count;
	c.prev_now = c.now = 7 * TK;
	for (i = 0; i < 5; i++) {
		set_deadline(&e[i], whens[i] * TK + 3);
		CHECK(weft__wheel_insert(&w, &e[i]));
		CHECK_EQ(e[i].level, WHEEL_LEVEL_OVERFLOW);
	}
	CHECK_EQ(weft__wheel_next_deadline(&w), whens[0] * TK + 3);
	for (i = 0; i < 5; i++) {
		/* Jump from deadline to deadline, as a paused clock does, until
		 * entry i fires: exactly at its deadline. */
		while (count[i] == 0) {
			uint64_t next = weft__wheel_next_deadline(&w);

			CHECK(next <= e[i].deadline);
			advance(&w, &c, next);
			CHECK(++jumps < 1000);
		}
		CHECK_EQ(c.prev_now, e[i].deadline);
	}
	/* Removal from the overflow list. */
	weft__wheel_init(&w, 0, 0);
	set_deadline(&e[0], 5 * span * TK);
	set_deadline(&e[1], 6 * span * TK);
	CHECK(weft__wheel_insert(&w, &e[0]));
	CHECK(weft__wheel_insert(&w, &e[1]));
	weft__wheel_remove(&w, &e[0]);
	CHECK(weft__wheel_next_deadline(&w) <= 6 * span * TK);
	weft__wheel_remove(&w, &e[1]);
	CHECK(weft__wheel_is_empty(&w));
	CHECK_EQ(weft__wheel_next_deadline(&w), UINT64_MAX);
}

static void count_taken(void *p, struct weft__timer *e)
{
	(void)e;
	(*(int *)p)++;
}

static void test_take_all(void)
{
	struct weft__wheel w;
	struct weft__timer e[100];
	int i, n = 0;

	memset(e, 0, sizeof(e));
	weft__wheel_init(&w, 0, 10);
	for (i = 0; i < 100; i++) {
		/* A few in the current tick, the rest ahead. */
		set_deadline(&e[i], i % 10 == 0 ? 11 + (uint64_t)i : random_ahead() * TK + 5);
		CHECK(weft__wheel_insert(&w, &e[i]));
	}
	weft__wheel_take_all(&w, count_taken, &n);
	CHECK_EQ(n, 100);
	CHECK(weft__wheel_is_empty(&w));
	CHECK_EQ(weft__wheel_next_deadline(&w), UINT64_MAX);
}

int main(void)
{
	unsigned l;

	test_random(0, 100000);
	test_random(((uint64_t)1 << 36) - 1000, 20000);
	test_random(UINT64_MAX / TK / 4 + 12345, 20000);
	test_same_tick(false);
	test_same_tick(true);
	for (l = 0; l < WHEEL_LEVELS; l++)
		test_wrap(l);
	test_overflow();
	test_take_all();
	return 0;
}

/* wheel: the timing wheel alone - 10^5 random deadlines fire in deadline order, each exactly once, cancelled ones never; every level wraps; deadlines beyond the top level; next expiration is a lower bound. */
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

struct ctx {
	uint64_t now, prev_now, last_when;
	long fired;
	int *fire_count;
	struct weft__timer *base;
};

static void on_fire(void *p, struct weft__timer *e)
{
	struct ctx *c = p;
	long i = e - c->base;

	CHECK(e->when <= c->now);       /* never early */
	CHECK(e->when > c->prev_now);   /* not left behind by an earlier step */
	CHECK(e->when >= c->last_when); /* deadline order */
	CHECK_EQ(e->level, WHEEL_LEVEL_NONE);
	c->last_when = e->when;
	c->fire_count[i]++;
	c->fired++;
}

static void advance(struct weft__wheel *w, struct ctx *c, uint64_t now)
{
	c->now = now;
	weft__wheel_advance(w, now, on_fire, c);
	c->prev_now = now;
}

/* A deadline `ahead` ticks ahead drawn so that every level and the
 * overflow list get entries. */
static uint64_t random_ahead(void)
{
	unsigned bits = 1 + (unsigned)(rnd() % 40);

	return 1 + (rnd() & (((uint64_t)1 << bits) - 1));
}

static void test_random(uint64_t start, long n)
{
	struct weft__wheel w;
	struct weft__timer *e = calloc((size_t)n, sizeof(*e));
	int *count = calloc((size_t)n, sizeof(int));
	bool *cancelled = calloc((size_t)n, sizeof(bool));
	struct ctx c = { 0 };
	long i, ncancel = 0, steps = 0;

	CHECK(e != NULL && count != NULL && cancelled != NULL);
	weft__wheel_init(&w, start);
	c.base = e;
	c.fire_count = count;
	c.prev_now = c.now = start;
	for (i = 0; i < n; i++) {
		e[i].when = start + random_ahead();
		CHECK(weft__wheel_insert(&w, &e[i]));
	}
	CHECK_EQ(w.count, n);
	while (!weft__wheel_is_empty(&w)) {
		uint64_t next = weft__wheel_next_expiration(&w), now;

		CHECK(next > w.elapsed);
		/* Every so often: the next expiration is a lower bound of the
		 * earliest live deadline. */
		if (steps++ % 512 == 0) {
			uint64_t min = UINT64_MAX;

			for (i = 0; i < n; i++)
				if (count[i] == 0 && !cancelled[i] && e[i].when < min)
					min = e[i].when;
			CHECK(next <= min);
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
		/* Either jump to the next expiration (what auto-advance does)
		 * or take a random step. */
		if (rnd() % 2)
			now = next;
		else
			now = c.now + 1 + (rnd() % (1u << (rnd() % 24)));
		advance(&w, &c, now);
	}
	for (i = 0; i < n; i++)
		CHECK_EQ(count[i], cancelled[i] ? 0 : 1);
	CHECK_EQ(c.fired + ncancel, n);
	free(e);
	free(count);
	free(cancelled);
}

/* Each entry fires at exactly its tick when the clock moves one tick at a
 * time across the end of a turn of `level`. */
static void test_wrap(unsigned level)
{
	uint64_t turn = (uint64_t)1 << (6 * (level + 1));
	uint64_t start = 3 * turn - 40;
	struct weft__wheel w;
	struct weft__timer e[80];
	int count[80] = { 0 };
	struct ctx c = { 0 };
	uint64_t t;
	int i;

	memset(e, 0, sizeof(e));
	weft__wheel_init(&w, start);
	c.base = e;
	c.fire_count = count;
	c.prev_now = c.now = start;
	for (i = 0; i < 80; i++) {
		e[i].when = start + 1 + (uint64_t)i;
		CHECK(weft__wheel_insert(&w, &e[i]));
	}
	for (t = start + 1; t <= start + 80; t++) {
		long before = c.fired;

		CHECK_EQ(weft__wheel_next_expiration(&w), t);
		advance(&w, &c, t);
		CHECK_EQ(c.fired, before + 1);
		CHECK_EQ(count[t - start - 1], 1);
	}
	CHECK(weft__wheel_is_empty(&w));
	CHECK_EQ(weft__wheel_next_expiration(&w), UINT64_MAX);
}

/* Deadlines beyond the top level wait in the overflow list, come back into
 * the wheel when it gets there, and fire at exactly their tick. */
static void test_overflow(void)
{
	uint64_t span = (uint64_t)1 << 36;
	uint64_t whens[5] = { span + 5, 3 * span + 77, 3 * span + 78, 40 * span + 1,
			      UINT64_MAX - 1 };
	struct weft__wheel w;
	struct weft__timer e[5];
	int count[5] = { 0 };
	struct ctx c = { 0 };
	int i, jumps = 0;

	memset(e, 0, sizeof(e));
	weft__wheel_init(&w, 7);
	c.base = e;
	c.fire_count = count;
	c.prev_now = c.now = 7;
	for (i = 0; i < 5; i++) {
		e[i].when = whens[i];
		CHECK(weft__wheel_insert(&w, &e[i]));
		CHECK_EQ(e[i].level, WHEEL_LEVEL_OVERFLOW);
	}
	/* A due entry is refused. */
	{
		struct weft__timer due = { 0 };

		due.when = 7;
		CHECK(!weft__wheel_insert(&w, &due));
	}
	for (i = 0; i < 5; i++) {
		/* Jump from expiration to expiration, as a paused clock does,
		 * until entry i fires: exactly at its tick. */
		while (count[i] == 0) {
			uint64_t next = weft__wheel_next_expiration(&w);

			CHECK(next <= whens[i]);
			advance(&w, &c, next);
			CHECK(++jumps < 1000);
		}
		CHECK_EQ(c.prev_now, whens[i]);
	}
	/* Removal from the overflow list. */
	weft__wheel_init(&w, 0);
	e[0].when = 5 * span;
	e[1].when = 6 * span;
	CHECK(weft__wheel_insert(&w, &e[0]));
	CHECK(weft__wheel_insert(&w, &e[1]));
	weft__wheel_remove(&w, &e[0]);
	CHECK(weft__wheel_next_expiration(&w) <= 6 * span);
	weft__wheel_remove(&w, &e[1]);
	CHECK(weft__wheel_is_empty(&w));
	CHECK_EQ(weft__wheel_next_expiration(&w), UINT64_MAX);
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
	weft__wheel_init(&w, 0);
	for (i = 0; i < 100; i++) {
		e[i].when = 1 + random_ahead();
		CHECK(weft__wheel_insert(&w, &e[i]));
	}
	weft__wheel_take_all(&w, count_taken, &n);
	CHECK_EQ(n, 100);
	CHECK(weft__wheel_is_empty(&w));
	CHECK_EQ(weft__wheel_next_expiration(&w), UINT64_MAX);
}

int main(void)
{
	unsigned l;

	test_random(0, 100000);
	test_random(((uint64_t)1 << 36) - 1000, 20000);
	test_random(UINT64_MAX / 2 + 12345, 20000);
	for (l = 0; l < WHEEL_LEVELS; l++)
		test_wrap(l);
	test_overflow();
	test_take_all();
	return 0;
}

/* Barrier: one leader per generation, nobody leaves early, reuse over 10^4 generations, cancelled waits withdraw. */
#include "sync_test.h"

static void test_by_hand(void)
{
	struct hand h;
	weft_barrier b;
	weft_barrier_wait_future f1, f2, f3;

	hand_init(&h);
	CHECK_EQ(weft_barrier_init(&b, 3), 0);
	CHECK_EQ(weft_barrier_try_wait(&b), -EAGAIN); /* does not arrive */
	CHECK_EQ(weft_barrier_wait(&b, &f1), 0);
	CHECK_EQ(weft_barrier_wait(&b, &f2), 0);
	CHECK_EQ(hand_poll(&h, &f1.base), WEFT_PENDING);
	CHECK_EQ(weft_barrier_try_wait(&b), -EAGAIN);
	CHECK_EQ(hand_poll(&h, &f2.base), WEFT_PENDING);
	CHECK_EQ(hand_poll(&h, &f1.base), WEFT_PENDING); /* spurious */
	CHECK_EQ(weft_barrier_try_wait(&b), 0); /* the third: leader */
	CHECK_EQ(hand_wakes(&h), 2);
	CHECK_EQ(hand_poll(&h, &f1.base), WEFT_READY);
	CHECK_EQ(hand_poll(&h, &f2.base), WEFT_READY);
	CHECK(!f1.is_leader && !f2.is_leader);
	weft_future_drop(&f1.base);
	weft_future_drop(&f2.base);

	/* Next generation, the leader through a future. */
	CHECK_EQ(weft_barrier_wait(&b, &f1), 0);
	CHECK_EQ(weft_barrier_wait(&b, &f2), 0);
	CHECK_EQ(weft_barrier_wait(&b, &f3), 0);
	CHECK_EQ(hand_poll(&h, &f1.base), WEFT_PENDING);
	CHECK_EQ(hand_poll(&h, &f2.base), WEFT_PENDING);
	CHECK_EQ(hand_poll(&h, &f3.base), WEFT_READY);
	CHECK(f3.is_leader);
	CHECK_EQ(hand_poll(&h, &f1.base), WEFT_READY);
	CHECK_EQ(hand_poll(&h, &f2.base), WEFT_READY);
	CHECK(!f1.is_leader && !f2.is_leader);
	weft_future_drop(&f1.base);
	weft_future_drop(&f2.base);
	weft_future_drop(&f3.base);

	/* A cancelled wait withdraws its arrival. */
	CHECK_EQ(weft_barrier_wait(&b, &f1), 0);
	CHECK_EQ(hand_poll(&h, &f1.base), WEFT_PENDING);
	CHECK_EQ(weft_barrier_wait(&b, &f2), 0);
	CHECK_EQ(hand_poll(&h, &f2.base), WEFT_PENDING);
	weft_future_drop(&f1.base); /* one arrival left */
	CHECK_EQ(weft_barrier_try_wait(&b), -EAGAIN);
	CHECK_EQ(weft_barrier_wait(&b, &f3), 0);
	CHECK_EQ(hand_poll(&h, &f3.base), WEFT_PENDING);
	CHECK_EQ(weft_barrier_try_wait(&b), 0);
	CHECK_EQ(hand_poll(&h, &f2.base), WEFT_READY);
	CHECK_EQ(hand_poll(&h, &f3.base), WEFT_READY);
	weft_future_drop(&f2.base);
	weft_future_drop(&f3.base);

	/* Released but dropped before it looked: nothing to undo. */
	CHECK_EQ(weft_barrier_wait(&b, &f1), 0);
	CHECK_EQ(weft_barrier_wait(&b, &f2), 0);
	CHECK_EQ(hand_poll(&h, &f1.base), WEFT_PENDING);
	CHECK_EQ(hand_poll(&h, &f2.base), WEFT_PENDING);
	CHECK_EQ(weft_barrier_try_wait(&b), 0);
	weft_future_drop(&f1.base);
	weft_future_drop(&f2.base);
	/* A never-polled wait did not arrive. */
	CHECK_EQ(weft_barrier_wait(&b, &f1), 0);
	weft_future_drop(&f1.base);
	CHECK_EQ(weft_barrier_try_wait(&b), -EAGAIN);
	CHECK_EQ(hand_refs(&h), 0);
	weft_barrier_finish(&b);

	/* 0 and 1 parties: every arrival is the leader. */
	CHECK_EQ(weft_barrier_init(&b, 0), 0);
	CHECK_EQ(weft_barrier_try_wait(&b), 0);
	CHECK_EQ(weft_barrier_wait(&b, &f1), 0);
	CHECK_EQ(hand_poll(&h, &f1.base), WEFT_READY);
	CHECK(f1.is_leader);
	weft_future_drop(&f1.base);
	weft_barrier_finish(&b);
	CHECK_EQ(weft_barrier_init(&b, (size_t)UINT32_MAX), -EINVAL);
}

/* More followers than one wake batch. */
static void test_wide(void)
{
	enum { N = 100 };
	static weft_barrier_wait_future f[N];
	struct hand h;
	weft_barrier b;
	int i, leaders = 0;

	hand_init(&h);
	CHECK_EQ(weft_barrier_init(&b, N), 0);
	for (i = 0; i < N - 1; i++) {
		CHECK_EQ(weft_barrier_wait(&b, &f[i]), 0);
		CHECK_EQ(hand_poll(&h, &f[i].base), WEFT_PENDING);
	}
	CHECK_EQ(weft_barrier_wait(&b, &f[N - 1]), 0);
	CHECK_EQ(hand_poll(&h, &f[N - 1].base), WEFT_READY);
	CHECK_EQ(hand_wakes(&h), N - 1);
	for (i = 0; i < N; i++) {
		CHECK_EQ(hand_poll(&h, &f[i].base), WEFT_READY);
		leaders += f[i].is_leader;
		weft_future_drop(&f[i].base);
	}
	CHECK_EQ(leaders, 1);
	CHECK_EQ(hand_refs(&h), 0);
	weft_barrier_finish(&b);
}

/* ---- many generations on a runtime -------------------------------------- */

struct shared {
	weft_barrier b;
	long gens;
	_Atomic int *arrived; /* per generation */
	_Atomic int *leaders; /* per generation */
};

struct party {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct shared *sh;
	int parties;
	long g;
	weft_barrier_wait_future wf;
	bool live;
};

static weft_poll party_poll(weft_future *f, weft_cx *cx)
{
	struct party *self = (struct party *)f;
	struct shared *sh = self->sh;

	WEFT_ASYNC_BEGIN(self);
	for (self->g = 0; self->g < sh->gens; self->g++) {
		atomic_fetch_add(&sh->arrived[self->g], 1);
		CHECK_EQ(weft_barrier_wait(&sh->b, &self->wf), 0);
		self->live = true;
		WEFT_AWAIT(self, cx, &self->wf.base);
		CHECK_EQ(self->wf.result, 0);
		/* Nobody leaves before everybody of this generation came. */
		CHECK_EQ(atomic_load(&sh->arrived[self->g]), self->parties);
		if (self->wf.is_leader)
			atomic_fetch_add(&sh->leaders[self->g], 1);
		weft_future_drop(&self->wf.base);
		self->live = false;
	}
	WEFT_ASYNC_END(self);
}

static void party_drop(weft_future *f)
{
	struct party *self = (struct party *)f;

	if (self->live)
		weft_future_drop(&self->wf.base);
}

static void generations(unsigned workers, int parties, long gens)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	struct shared sh;
	weft_join_handle h[8];
	long g;
	int t;

	sh.gens = gens;
	sh.arrived = calloc((size_t)gens, sizeof(*sh.arrived));
	sh.leaders = calloc((size_t)gens, sizeof(*sh.leaders));
	CHECK(sh.arrived != NULL && sh.leaders != NULL);
	CHECK_EQ(weft_barrier_init(&sh.b, (size_t)parties), 0);
	for (t = 0; t < parties; t++) {
		struct party p;

		memset(&p, 0, sizeof(p));
		p.base.poll = party_poll;
		p.base.drop = party_drop;
		p.sh = &sh;
		p.parties = parties;
		CHECK_EQ(weft_spawn(rt, &p.base, sizeof(p), &h[t]), 0);
	}
	join_all(rt, workers, h, parties);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	for (g = 0; g < gens; g++) {
		CHECK_EQ(atomic_load(&sh.arrived[g]), parties);
		CHECK_EQ(atomic_load(&sh.leaders[g]), 1);
	}
	weft_barrier_finish(&sh.b);
	free(sh.arrived);
	free(sh.leaders);
}

int main(void)
{
	long scale = test_scale();

	test_by_hand();
	test_wide();
	generations(4, 4, 10000 * scale);
	generations(4, 7, 2000 * scale);
	generations(0, 3, 10000 * scale);
	return 0;
}

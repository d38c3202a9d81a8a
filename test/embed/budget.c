/*
 * The tick budget (weft/embed.h): a tick polls at most `budget` tasks and
 * returns 1 while work is left, even when the tasks never stop (a task
 * that yields for ever, two tasks that wake each other for ever); ready
 * tasks are run in budget-sized slices; a yielded task runs once per tick.
 */
#include "embed_test.h"

static _Atomic int runs;

static weft_poll once_poll(weft_future *f, weft_cx *cx)
{
	(void)f;
	(void)cx;
	atomic_fetch_add(&runs, 1);
	return WEFT_READY;
}

static void slices(void)
{
	weft_runtime *rt = emb_runtime(false);
	weft_future t = { once_poll, NULL };
	int i;

	atomic_store(&runs, 0);
	for (i = 0; i < 100; i++)
		emb_spawn(rt, &t, sizeof(t));
	CHECK_EQ(weft_runtime_tick(rt, 10), 1);
	CHECK_EQ(atomic_load(&runs), 10);
	CHECK_EQ(weft_runtime_tick(rt, 1), 1);
	CHECK_EQ(atomic_load(&runs), 11);
	CHECK_EQ(weft_runtime_backend_timeout(rt), 0); /* work is ready */
	CHECK_EQ(weft_runtime_tick(rt, 89), 0);        /* exactly the rest */
	CHECK_EQ(atomic_load(&runs), 100);
	CHECK_EQ(weft_runtime_tick(rt, 10), 0);
	CHECK_EQ(atomic_load(&runs), 100);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* Yields for ever. */
struct yielder {
	weft_future base;
	_Atomic int *polls;
};

static weft_poll yielder_poll(weft_future *f, weft_cx *cx)
{
	atomic_fetch_add(((struct yielder *)f)->polls, 1);
	weft_waker_wake_by_ref(weft_cx_waker(cx));
	return WEFT_PENDING;
}

static void yield_forever(void)
{
	weft_runtime *rt = emb_runtime(false);
	_Atomic int polls = 0;
	struct yielder y = { { yielder_poll, NULL }, &polls };
	weft_join_handle h;
	int i;

	CHECK_EQ(weft_spawn(rt, &y.base, sizeof(y), &h), 0);
	for (i = 1; i <= 100; i++) {
		CHECK_EQ(weft_runtime_tick(rt, 1000), 1);
		CHECK_EQ(atomic_load(&polls), i); /* once per tick */
		CHECK_EQ(weft_runtime_backend_timeout(rt), 0);
	}
	CHECK_EQ(weft_join_abort(&h), 0);
	emb_drain(rt);
	CHECK_EQ(weft_join_try(&h), -ECANCELED);
	CHECK_EQ(weft_runtime_backend_timeout(rt), -1);
	weft_join_detach(&h);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* Two tasks that wake each other for ever (neither yields itself). */
static weft_waker ping_wakers[2];
static bool ping_have[2];
static _Atomic int ping_polls;

struct pinger {
	weft_future base;
	int me;
};

static weft_poll pinger_poll(weft_future *f, weft_cx *cx)
{
	struct pinger *p = (struct pinger *)f;
	int other = 1 - p->me;

	atomic_fetch_add(&ping_polls, 1);
	weft_waker_store(&ping_wakers[p->me], weft_cx_waker(cx));
	ping_have[p->me] = true;
	if (ping_have[other])
		weft_waker_wake_by_ref(&ping_wakers[other]);
	return WEFT_PENDING;
}

static void ping_pong(void)
{
	weft_runtime *rt = emb_runtime(false);
	struct pinger a = { { pinger_poll, NULL }, 0 }, b = { { pinger_poll, NULL }, 1 };
	weft_join_handle ha, hb;
	int i;

	atomic_store(&ping_polls, 0);
	CHECK_EQ(weft_spawn(rt, &a.base, sizeof(a), &ha), 0);
	CHECK_EQ(weft_spawn(rt, &b.base, sizeof(b), &hb), 0);
	for (i = 1; i <= 20; i++) {
		CHECK_EQ(weft_runtime_tick(rt, 50), 1);
		CHECK_EQ(atomic_load(&ping_polls), 50 * i);
	}
	CHECK_EQ(weft_join_abort(&ha), 0);
	CHECK_EQ(weft_join_abort(&hb), 0);
	emb_drain(rt);
	weft_join_detach(&ha);
	weft_join_detach(&hb);
	weft_waker_drop(&ping_wakers[0]);
	weft_waker_drop(&ping_wakers[1]);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

int main(void)
{
	slices();
	yield_forever();
	ping_pong();
	printf("ok\n");
	return 0;
}

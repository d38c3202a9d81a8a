/* Bad input: every documented error code, and no crash. */
#include "test.h"

static void *identity(void *arg)
{
	return arg;
}

static weft_poll nothing_poll(weft_future *f, weft_cx *cx)
{
	(void)f;
	(void)cx;
	return WEFT_READY;
}

int main(void)
{
	weft_runtime *rt = test_runtime(1, NULL);
	weft_runtime *out = NULL;
	weft_runtime_config cfg = { 0 };
	weft_allocator half = { NULL, NULL, NULL };
	weft_future f = { nothing_poll, NULL };
	weft_future nopoll = { NULL, NULL };
	weft_join_handle h;

	/* Runtime creation. */
	CHECK_EQ(weft_runtime_create(NULL, NULL), -EINVAL);
	cfg.flavor = (weft_runtime_flavor)7;
	CHECK_EQ(weft_runtime_create(&cfg, &out), -EINVAL);
	cfg.flavor = WEFT_RUNTIME_CURRENT_THREAD;
	cfg.allocator = &half;
	CHECK_EQ(weft_runtime_create(&cfg, &out), -EINVAL);
	CHECK(out == NULL);
	CHECK_EQ(weft_runtime_destroy(NULL), 0);
	CHECK_EQ(weft_runtime_workers(NULL), 0);
	CHECK_EQ(weft_runtime_workers(rt), 1);

	/* Spawning. */
	CHECK_EQ(weft_spawn(NULL, &f, sizeof f, &h), -EINVAL);
	CHECK(h.task == NULL);
	CHECK_EQ(weft_spawn(rt, NULL, sizeof f, &h), -EINVAL);
	CHECK_EQ(weft_spawn(rt, &f, 0, &h), -EINVAL);
	CHECK_EQ(weft_spawn(rt, &f, sizeof f - 1, &h), -EINVAL);
	CHECK_EQ(weft_spawn(rt, &nopoll, sizeof nopoll, &h), -EINVAL);
	CHECK_EQ(weft_spawn(rt, &f, (size_t)UINT32_MAX + 1, &h), -EINVAL);
	CHECK_EQ(weft_spawn_fn(rt, NULL, NULL, &h), -EINVAL);
	CHECK_EQ(weft_spawn_fn(NULL, identity, NULL, &h), -EINVAL);

	/* Joining. */
	CHECK_EQ(weft_join(NULL), -EINVAL);
	CHECK_EQ(weft_join(&h), -EINVAL);
	CHECK_EQ(weft_join_timeout(NULL, 5), -EINVAL);
	CHECK_EQ(weft_join_try(NULL), -EINVAL);
	CHECK_EQ(weft_join_abort(NULL), -EINVAL);
	CHECK(weft_join_output(NULL) == NULL);
	CHECK_EQ(weft_spawn_fn(rt, identity, (void *)5, &h), 0);
	CHECK_EQ(weft_join(&h), 0);
	weft_join_detach(&h);
	CHECK_EQ(weft_join(&h), -EINVAL); /* detached */

	/* block_on. */
	CHECK_EQ(weft_block_on(NULL, &f), -EINVAL);
	CHECK_EQ(weft_block_on(rt, NULL), -EINVAL);
	CHECK_EQ(weft_block_on(rt, &nopoll), -EINVAL);
	CHECK(weft_runtime_current() == NULL);

	weft_runtime_destroy(rt);
	return 0;
}

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

/* Calls that would block the runtime, made from inside a task. */
struct inside {
	weft_future base;
	weft_runtime *rt;
	int block_on_rc, join_rc, timeout_rc, destroy_rc;
};

static weft_poll inside_poll(weft_future *f, weft_cx *cx)
{
	struct inside *in = (struct inside *)f;
	weft_future nothing = { nothing_poll, NULL };
	weft_join_handle h;

	(void)cx;
	CHECK(weft_runtime_current() == in->rt);
	in->block_on_rc = weft_block_on(in->rt, &nothing);
	CHECK_EQ(weft_spawn_fn(in->rt, identity, NULL, &h), 0);
	in->join_rc = weft_join(&h);
	in->timeout_rc = weft_join_timeout(&h, 1000);
	weft_join_detach(&h);
	in->destroy_rc = weft_runtime_destroy(in->rt);
	return WEFT_READY;
}

static void test_calls_from_inside(unsigned workers)
{
	weft_runtime *rt = test_runtime(workers, NULL);
	struct inside in = { { inside_poll, NULL }, rt, 0, 0, 0, 0 };
	weft_join_handle h;

	/* From a spawned task... */
	CHECK_EQ(weft_spawn(rt, &in.base, sizeof in, &h), 0);
	if (workers == 0) {
		CHECK_EQ(weft_block_on(rt, &h.base), 0);
	} else {
		CHECK_EQ(weft_join(&h), 0);
	}
	in = *(struct inside *)weft_join_output(&h);
	weft_join_detach(&h);
	CHECK_EQ(in.block_on_rc, -EDEADLK);
	CHECK_EQ(in.join_rc, -EDEADLK);
	CHECK_EQ(in.timeout_rc, -EDEADLK);
	CHECK_EQ(in.destroy_rc, -EDEADLK);
	/* ...and from the future block_on polls. */
	memset(&in, 0, sizeof in);
	in.base.poll = inside_poll;
	in.rt = rt;
	CHECK_EQ(weft_block_on(rt, &in.base), 0);
	CHECK_EQ(in.block_on_rc, -EDEADLK);
	CHECK_EQ(in.join_rc, -EDEADLK);
	CHECK_EQ(in.destroy_rc, -EDEADLK);
	CHECK(weft_runtime_current() == NULL);
	weft_runtime_destroy(rt);
}

/* A second thread's block_on of a busy current-thread runtime is refused. */
struct busy_arg {
	weft_runtime *rt;
	struct test_event *inside;
	int rc;
};

struct announce {
	weft_future base;
	struct test_event *inside, *release;
};

static weft_poll announce_poll(weft_future *f, weft_cx *cx)
{
	struct announce *a = (struct announce *)f;

	(void)cx;
	test_event_set(a->inside);
	test_event_wait(a->release);
	return WEFT_READY;
}

static void *second_block_on(void *p)
{
	struct busy_arg *a = p;
	weft_future nothing = { nothing_poll, NULL };

	test_event_wait(a->inside);
	a->rc = weft_block_on(a->rt, &nothing);
	return NULL;
}

static struct test_event *release_after;

static void *release_thread(void *p)
{
	pthread_t *other = p;

	pthread_join(*other, NULL);
	test_event_set(release_after);
	return NULL;
}

static void test_busy_current_thread(void)
{
	weft_runtime *rt = test_runtime(0, NULL);
	struct test_event inside, release;
	struct announce a = { { announce_poll, NULL }, &inside, &release };
	struct busy_arg arg = { rt, &inside, 0 };
	pthread_t th, rel;

	test_event_init(&inside);
	test_event_init(&release);
	release_after = &release;
	CHECK_EQ(pthread_create(&th, NULL, second_block_on, &arg), 0);
	CHECK_EQ(pthread_create(&rel, NULL, release_thread, &th), 0);
	CHECK_EQ(weft_block_on(rt, &a.base), 0);
	pthread_join(rel, NULL);
	CHECK_EQ(arg.rc, -EBUSY);
	weft_runtime_destroy(rt);
	test_event_finish(&inside);
	test_event_finish(&release);
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
	cfg.flavor = WEFT_RUNTIME_MULTI_THREAD;
	cfg.allocator = NULL;
	cfg.workers = 65537;
	CHECK_EQ(weft_runtime_create(&cfg, &out), -EINVAL);
	CHECK(out == NULL);
	cfg.workers = 1;
	cfg.block_on_help = (weft_block_on_help)3;
	CHECK_EQ(weft_runtime_create(&cfg, &out), -EINVAL);
	CHECK(out == NULL);
	cfg.block_on_help = WEFT_BLOCK_ON_HELP_DEFAULT;
	cfg.workers = 0;
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
	CHECK_EQ(weft_spawn_fn_ex(rt, NULL, NULL, NULL, &h), -EINVAL);
	CHECK_EQ(weft_spawn_fn_ex(NULL, identity, NULL, NULL, &h), -EINVAL);
	CHECK(h.task == NULL);
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
	test_calls_from_inside(0);
	test_calls_from_inside(2);
	test_busy_current_thread();
	return 0;
}

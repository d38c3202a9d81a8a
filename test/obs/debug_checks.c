/* obs_debug_checks: a -Ddebug_checks=true build reports, without aborting, a finished task's future polled or dropped again, a task that returned pending without keeping a waker (at shutdown, and not one that kept it), and a join handle used by two threads at once; a correct program gets no report.  Skips in builds without the checks. */
#include <pthread.h>

#include "obs_test.h"
#include "weft_config.h"

#define MAX_REPORTS 16

struct reports {
	pthread_mutex_t lock;
	int n;
	weft_report_kind kind[MAX_REPORTS];
	uint64_t id[MAX_REPORTS];
	char name[MAX_REPORTS][32];
};

static struct reports rs = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void on_report(void *ctx, const weft_report *r)
{
	CHECK(ctx == &rs);
	CHECK(r->message != NULL);
	pthread_mutex_lock(&rs.lock);
	if (rs.n < MAX_REPORTS) {
		rs.kind[rs.n] = r->kind;
		rs.id[rs.n] = r->task_id;
		snprintf(rs.name[rs.n], sizeof(rs.name[0]), "%s",
			 r->task_name != NULL ? r->task_name : "");
		rs.n++;
	}
	pthread_mutex_unlock(&rs.lock);
}

static int count(weft_report_kind kind, const char *name)
{
	int i, n = 0;

	pthread_mutex_lock(&rs.lock);
	for (i = 0; i < rs.n; i++)
		if (rs.kind[i] == kind && (name == NULL || strcmp(rs.name[i], name) == 0))
			n++;
	pthread_mutex_unlock(&rs.lock);
	return n;
}

static void reset(void)
{
	pthread_mutex_lock(&rs.lock);
	rs.n = 0;
	pthread_mutex_unlock(&rs.lock);
}

static weft_runtime *runtime(unsigned workers)
{
	weft_runtime_config cfg = { 0 };

	cfg.flavor = workers == 0 ? WEFT_RUNTIME_CURRENT_THREAD : WEFT_RUNTIME_MULTI_THREAD;
	cfg.workers = workers;
	cfg.report = on_report;
	cfg.report_ctx = &rs;
	return obs_runtime(&cfg);
}

/* The output of a finished task polled, then dropped, again. */
static void test_poll_after_ready(void)
{
	weft_runtime *rt = runtime(1);
	struct yielder y = yielder_make(1);
	weft_waker noop = weft_waker_noop();
	weft_join_handle h;
	weft_future *out;
	weft_cx cx;

	reset();
	CHECK_EQ(weft_spawn_named(rt, "done", &y.base, sizeof(y), &h), 0);
	CHECK_EQ(weft_join(&h), 0);
	CHECK_EQ(count(WEFT_REPORT_POLL_AFTER_READY, NULL), 0);
	out = weft_join_output(&h);
	CHECK(out != NULL);
	weft_cx_init(&cx, &noop);
	CHECK_EQ(weft_future_poll(out, &cx), WEFT_READY);
	CHECK_EQ(count(WEFT_REPORT_POLL_AFTER_READY, "done"), 1);
	weft_future_drop(out);
	CHECK_EQ(count(WEFT_REPORT_DROP_AFTER_END, "done"), 1);
	/* The result fields are untouched. */
	CHECK_EQ(((struct yielder *)out)->left, 0);
	weft_join_detach(&h);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(rs.n, 2);
}

/* Pending without a waker, versus pending with a kept clone. */
static weft_waker kept;

static weft_poll forgetful_poll(weft_future *f, weft_cx *cx)
{
	(void)f;
	(void)cx;
	return WEFT_PENDING;
}

static weft_poll keeper_poll(weft_future *f, weft_cx *cx)
{
	(void)f;
	weft_waker_store(&kept, weft_cx_waker(cx));
	return WEFT_PENDING;
}

static struct test_event keeper_polled;

static weft_poll keeper_signal_poll(weft_future *f, weft_cx *cx)
{
	keeper_poll(f, cx);
	test_event_set(&keeper_polled);
	return WEFT_PENDING;
}

static void test_lost_wakeup(void)
{
	weft_runtime *rt = runtime(1);
	weft_future forgetful = { forgetful_poll, NULL };
	weft_future keeper = { keeper_signal_poll, NULL };
	weft_join_handle h;

	reset();
	test_event_init(&keeper_polled);
	CHECK_EQ(weft_spawn_named(rt, "keeper", &keeper, sizeof(keeper), NULL), 0);
	test_event_wait(&keeper_polled);
	/* A handle is not a waker: the forgetful task stays unwakeable. */
	CHECK_EQ(weft_spawn_named(rt, "forgetful", &forgetful, sizeof(forgetful), &h), 0);
	while (weft_join_try(&h) == -EAGAIN && count(WEFT_REPORT_LOST_WAKEUP, NULL) == 0) {
		/* Wait until the worker polled it: its metrics say so. */
		weft_worker_metrics w = { .size = sizeof(w) };

		CHECK_EQ(weft_runtime_worker_metrics(rt, 0, &w), 0);
		if (w.polls >= 2)
			break;
		test_sleep_ms(1);
	}
	CHECK_EQ(count(WEFT_REPORT_LOST_WAKEUP, NULL), 0); /* only at shutdown */
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(weft_join_try(&h), -ECANCELED);
	weft_join_detach(&h);
	CHECK_EQ(count(WEFT_REPORT_LOST_WAKEUP, "forgetful"), 1);
	CHECK_EQ(count(WEFT_REPORT_LOST_WAKEUP, "keeper"), 0);
	CHECK_EQ(rs.n, 1);
	weft_waker_drop(&kept);
	test_event_finish(&keeper_polled);
}

/* One thread blocks in weft_join while another calls weft_join_try. */
static weft_waker parked;
static pthread_mutex_t parked_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic bool finish;

static weft_poll waiter_poll(weft_future *f, weft_cx *cx)
{
	(void)f;
	if (atomic_load(&finish))
		return WEFT_READY;
	pthread_mutex_lock(&parked_lock);
	weft_waker_store(&parked, weft_cx_waker(cx));
	pthread_mutex_unlock(&parked_lock);
	if (atomic_load(&finish))
		return WEFT_READY;
	return WEFT_PENDING;
}

static void *joiner(void *arg)
{
	CHECK_EQ(weft_join(arg), 0);
	return NULL;
}

static void test_shared_join_handle(void)
{
	weft_runtime *rt = runtime(1);
	weft_future waiter = { waiter_poll, NULL };
	weft_join_handle h;
	pthread_t th;
	int i;

	reset();
	CHECK_EQ(weft_spawn_named(rt, "joined", &waiter, sizeof(waiter), &h), 0);
	CHECK_EQ(pthread_create(&th, NULL, joiner, &h), 0);
	/* Sooner or later the joiner is inside weft_join when we try. */
	for (i = 0; i < 20000 && count(WEFT_REPORT_JOIN_SHARED, NULL) == 0; i++) {
		CHECK_EQ(weft_join_try(&h), -EAGAIN);
		test_sleep_ms(1);
	}
	CHECK(count(WEFT_REPORT_JOIN_SHARED, "joined") >= 1);
	atomic_store(&finish, true);
	pthread_mutex_lock(&parked_lock);
	weft_waker_wake(&parked);
	pthread_mutex_unlock(&parked_lock);
	CHECK_EQ(pthread_join(th, NULL), 0);
	weft_join_detach(&h);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(count(WEFT_REPORT_JOIN_SHARED, NULL), rs.n);
}

/* A correct program: tasks that wait properly, joined, and shut down
 * while one still waits (with a waker kept): no report at all. */
static void test_clean_program(void)
{
	weft_runtime *rt = runtime(2);
	weft_future keeper = { keeper_poll, NULL };
	weft_join_handle h[16];
	int i;

	reset();
	kept.vtable = NULL;
	for (i = 0; i < 16; i++) {
		struct yielder y = yielder_make(i);

		CHECK_EQ(weft_spawn(rt, &y.base, sizeof(y), &h[i]), 0);
	}
	for (i = 0; i < 16; i++) {
		CHECK_EQ(weft_join(&h[i]), 0);
		weft_join_detach(&h[i]);
	}
	CHECK_EQ(weft_spawn(rt, &keeper, sizeof(keeper), NULL), 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(rs.n, 0);
	weft_waker_drop(&kept);
}

int main(void)
{
	if (!WEFT_DEBUG_CHECKS) {
		fprintf(stderr, "built without -Ddebug_checks=true: skipped\n");
		return 77;
	}
	test_poll_after_ready();
	test_lost_wakeup();
	test_shared_join_handle();
	test_clean_program();
	return 0;
}

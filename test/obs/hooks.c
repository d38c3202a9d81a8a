/* obs_hooks: the task hooks see, per task id, spawn, then poll start/end pairs, then finish, from several tasks on several workers; names and ids are the ones given; a task aborted before its first poll has no poll events and finishes cancelled; a hooks struct with only on_finish set calls just that, once per task. */
#include <pthread.h>

#include "obs_test.h"

#define TASKS 8
#define YIELDS 3
#define MAX_EVENTS 64

enum ev_kind { EV_SPAWN, EV_START, EV_END, EV_FINISH };

struct task_log {
	const char *name;
	int worker_seen;
	int n;
	enum ev_kind kind[MAX_EVENTS];
	bool flag[MAX_EVENTS];
};

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
/* Indexed by task id (ids start at 1). */
static struct task_log logs[TASKS + 8];
static _Atomic int bad_ids;

static void record(const weft_task_event *ev, enum ev_kind kind)
{
	struct task_log *l;

	if (ev->id == 0 || ev->id >= sizeof(logs) / sizeof(logs[0])) {
		atomic_fetch_add(&bad_ids, 1);
		return;
	}
	pthread_mutex_lock(&log_lock);
	l = &logs[ev->id];
	if (l->n < MAX_EVENTS) {
		l->kind[l->n] = kind;
		l->flag[l->n] = ev->flag;
		l->n++;
	}
	if (kind == EV_SPAWN)
		l->name = ev->name;
	if (kind == EV_START && ev->worker >= 0)
		l->worker_seen = 1;
	pthread_mutex_unlock(&log_lock);
}

static void on_spawn(void *ctx, const weft_task_event *ev)
{
	CHECK(ctx == &logs);
	record(ev, EV_SPAWN);
}

static void on_start(void *ctx, const weft_task_event *ev)
{
	(void)ctx;
	record(ev, EV_START);
}

static void on_end(void *ctx, const weft_task_event *ev)
{
	(void)ctx;
	record(ev, EV_END);
}

static void on_finish(void *ctx, const weft_task_event *ev)
{
	(void)ctx;
	record(ev, EV_FINISH);
}

static const weft_task_hooks hooks = { on_spawn, on_start, on_end, on_finish, &logs };

static const char *const names[TASKS] = { "t0", "t1", "t2", "t3", "t4", "t5", "t6", NULL };

/* Checks one task's log: spawn, (start, end) x polls, finish. */
static void check_log(const struct task_log *l, int polls, bool cancelled)
{
	int i;

	CHECK_EQ(l->n, 2 + 2 * polls);
	CHECK_EQ(l->kind[0], EV_SPAWN);
	for (i = 0; i < polls; i++) {
		CHECK_EQ(l->kind[1 + 2 * i], EV_START);
		CHECK_EQ(l->kind[2 + 2 * i], EV_END);
		/* on_poll_end's flag: ready, on the last poll only. */
		CHECK_EQ(l->flag[2 + 2 * i], i == polls - 1 && !cancelled);
	}
	CHECK_EQ(l->kind[l->n - 1], EV_FINISH);
	CHECK_EQ(l->flag[l->n - 1], cancelled);
}

static void test_order_multi_thread(void)
{
	weft_runtime_config cfg = { 0 };
	weft_join_handle h[TASKS];
	weft_runtime *rt;
	int i;

	cfg.workers = 2;
	cfg.task_hooks = &hooks;
	rt = obs_runtime(&cfg);
	for (i = 0; i < TASKS; i++) {
		struct yielder y = yielder_make(YIELDS);

		if (i == TASKS - 1)
			CHECK_EQ(weft_spawn(rt, &y.base, sizeof(y), &h[i]), 0);
		else
			CHECK_EQ(weft_spawn_named(rt, names[i], &y.base, sizeof(y), &h[i]), 0);
	}
	for (i = 0; i < TASKS; i++) {
		CHECK_EQ(weft_join(&h[i]), 0);
		weft_join_detach(&h[i]);
	}
	/* Spawned from this thread in order: ids 1..TASKS. */
	pthread_mutex_lock(&log_lock);
	for (i = 0; i < TASKS; i++) {
		const struct task_log *l = &logs[i + 1];

		check_log(l, YIELDS + 1, false);
		CHECK(l->worker_seen);
		if (names[i] == NULL)
			CHECK(l->name == NULL);
		else
			CHECK(l->name != NULL && strcmp(l->name, names[i]) == 0);
	}
	pthread_mutex_unlock(&log_lock);
	CHECK_EQ(atomic_load(&bad_ids), 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* Current-thread: a task aborted before it ran, and one that runs. */
static void test_abort_before_poll(void)
{
	weft_runtime_config cfg = { 0 };
	struct yielder y = yielder_make(1);
	weft_join_handle a, b;
	weft_runtime *rt;

	memset(logs, 0, sizeof(logs));
	cfg.flavor = WEFT_RUNTIME_CURRENT_THREAD;
	cfg.task_hooks = &hooks;
	rt = obs_runtime(&cfg);
	CHECK_EQ(weft_spawn_named(rt, "aborted", &y.base, sizeof(y), &a), 0);
	CHECK_EQ(weft_spawn_named(rt, "runs", &y.base, sizeof(y), &b), 0);
	CHECK_EQ(weft_join_abort(&a), 0);
	CHECK_EQ(weft_block_on(rt, &a.base), 0);
	CHECK_EQ(a.status, -ECANCELED);
	CHECK_EQ(weft_block_on(rt, &b.base), 0);
	CHECK_EQ(b.status, 0);
	weft_join_detach(&a);
	weft_join_detach(&b);
	check_log(&logs[1], 0, true);
	check_log(&logs[2], 2, false);
	/* Not a worker of a multi-threaded runtime. */
	CHECK(!logs[2].worker_seen);
	CHECK(strcmp(logs[1].name, "aborted") == 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* Shutdown ends a pending task: its finish says cancelled. */
static void test_finish_at_shutdown(void)
{
	weft_runtime_config cfg = { 0 };
	weft_pending p;
	weft_runtime *rt;

	memset(logs, 0, sizeof(logs));
	weft_pending_init(&p);
	cfg.flavor = WEFT_RUNTIME_CURRENT_THREAD;
	cfg.task_hooks = &hooks;
	rt = obs_runtime(&cfg);
	CHECK_EQ(weft_spawn(rt, &p.base, sizeof(p), NULL), 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	check_log(&logs[1], 0, true);
}

/* Hooks with only some functions set; the others are skipped. */
static _Atomic int finishes;

static void count_finish(void *ctx, const weft_task_event *ev)
{
	(void)ctx;
	CHECK(ev->id != 0);
	atomic_fetch_add(&finishes, 1);
}

static void test_partial_hooks(void)
{
	weft_task_hooks only_finish = { NULL, NULL, NULL, count_finish, NULL };
	weft_runtime_config cfg = { 0 };
	weft_join_handle h;
	weft_runtime *rt;
	int i;

	cfg.workers = 1;
	cfg.task_hooks = &only_finish;
	rt = obs_runtime(&cfg);
	for (i = 0; i < 5; i++) {
		struct yielder y = yielder_make(2);

		CHECK_EQ(weft_spawn(rt, &y.base, sizeof(y), &h), 0);
		CHECK_EQ(weft_join(&h), 0);
		weft_join_detach(&h);
	}
	CHECK_EQ(atomic_load(&finishes), 5);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

int main(void)
{
	test_order_multi_thread();
	test_abort_before_poll();
	test_finish_at_shutdown();
	test_partial_hooks();
	return 0;
}

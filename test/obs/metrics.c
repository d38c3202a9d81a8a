/* obs_metrics: every counter of weft_runtime_metrics and weft_runtime_worker_metrics against a scripted workload: exact values where the schedule is deterministic (one worker), lower bounds where it is not; size versioning, bad input, and the WEFT_METRICS=1 table. */
#include <pthread.h>
#include <stddef.h>
#include <unistd.h>

#include "obs_test.h"

static weft_worker_metrics worker0(weft_runtime *rt)
{
	weft_worker_metrics w;

	memset(&w, 0xff, sizeof(w));
	w.size = sizeof(w);
	CHECK_EQ(weft_runtime_worker_metrics(rt, 0, &w), 0);
	CHECK_EQ(w.size, sizeof(w));
	return w;
}

static weft_metrics snapshot(weft_runtime *rt)
{
	weft_metrics m;

	memset(&m, 0xff, sizeof(m));
	m.size = sizeof(m);
	CHECK_EQ(weft_runtime_metrics(rt, &m), 0);
	CHECK_EQ(m.size, sizeof(m));
	return m;
}

/* Spends the whole budget in its first poll (a budget-forced yield), then
 * is ready. */
struct burner {
	weft_future base;
	int polls;
};

static weft_poll burner_poll(weft_future *f, weft_cx *cx)
{
	struct burner *b = (struct burner *)f;

	if (b->polls++ > 0)
		return WEFT_READY;
	while (weft_coop_proceed(cx))
		;
	return WEFT_PENDING;
}

/* Polls, injector pops, budget yields, spawned and live: exact on one
 * worker with every task spawned from outside. */
static void test_exact_counts(void)
{
	weft_runtime *rt = obs_runtime_n(1);
	struct burner b = { { burner_poll, NULL }, 0 };
	weft_join_handle h[11];
	weft_worker_metrics w;
	weft_metrics m;
	int i;

	for (i = 0; i < 10; i++) {
		struct yielder y = yielder_make(3);

		CHECK_EQ(weft_spawn(rt, &y.base, sizeof(y), &h[i]), 0);
	}
	CHECK_EQ(weft_spawn(rt, &b.base, sizeof(b), &h[10]), 0);
	for (i = 0; i < 11; i++) {
		CHECK_EQ(weft_join(&h[i]), 0);
		weft_join_detach(&h[i]);
	}
	w = worker0(rt);
	CHECK_EQ(w.polls, 10 * 4 + 2);
	CHECK_EQ(w.injector_pops, 11);
	CHECK_EQ(w.budget_yields, 1);
	CHECK_EQ(w.lifo_hits, 0);
	CHECK_EQ(w.steals, 0);
	CHECK_EQ(w.steal_attempts, 0); /* one worker: no victim */
	CHECK(w.busy_ns > 0);
	m = snapshot(rt);
	CHECK_EQ(m.workers, 1);
	CHECK_EQ(m.spawned, 11);
	CHECK_EQ(m.live_tasks, 0);
	CHECK_EQ(m.injector_depth, 0);
	CHECK(m.driver != NULL && strcmp(m.driver, weft_runtime_driver(rt)) == 0);
	CHECK(!m.driver_fallback); /* the backend is forced by WEFT_DRIVER */
	/* The worker goes to sleep once it runs out of work. */
	for (i = 0; i < 20000 && worker0(rt).parks == 0; i++)
		test_sleep_ms(1);
	CHECK(worker0(rt).parks >= 1);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

static _Atomic bool spawned, release_spinner;
static _Atomic int done;

static void *count_done(void *arg)
{
	(void)arg;
	atomic_fetch_add(&done, 1);
	return NULL;
}

/* Spawns five children from its worker, then holds the worker until the
 * test has looked at the queues. */
static weft_poll spinner_poll(weft_future *f, weft_cx *cx)
{
	int i;

	(void)f;
	(void)cx;
	for (i = 0; i < 5; i++)
		CHECK_EQ(weft_spawn_fn(weft_runtime_current(), count_done, NULL, NULL), 0);
	atomic_store(&spawned, true);
	CHECK(obs_wait_flag(&release_spinner));
	return WEFT_READY;
}

/* Local queue and injector depth while the only worker is held; LIFO hits
 * once it lets go. */
static void test_depths(void)
{
	weft_runtime *rt = obs_runtime_n(1);
	weft_future spinner = { spinner_poll, NULL };
	weft_join_handle h;
	weft_worker_metrics w;
	weft_metrics m;
	int i;

	CHECK_EQ(weft_spawn(rt, &spinner, sizeof(spinner), &h), 0);
	CHECK(obs_wait_flag(&spawned));
	for (i = 0; i < 3; i++)
		CHECK_EQ(weft_spawn_fn(rt, count_done, NULL, NULL), 0);
	w = worker0(rt);
	/* Five spawns on the worker: the last in the LIFO slot, four queued. */
	CHECK_EQ(w.local_queue_depth, 4);
	m = snapshot(rt);
	CHECK_EQ(m.injector_depth, 3);
	CHECK_EQ(m.spawned, 9);
	CHECK_EQ(m.live_tasks, 9);
	atomic_store(&release_spinner, true);
	CHECK_EQ(weft_join(&h), 0);
	weft_join_detach(&h);
	for (i = 0; i < 20000 && atomic_load(&done) < 8; i++)
		test_sleep_ms(1);
	CHECK_EQ(atomic_load(&done), 8);
	w = worker0(rt);
	CHECK_EQ(w.lifo_hits, 1);
	CHECK_EQ(w.polls, 9);
	CHECK_EQ(w.local_queue_depth, 0);
	CHECK_EQ(snapshot(rt).live_tasks, 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

static pthread_t parent_id;
static _Atomic bool moved;

/* Yields until some child has run on a thread other than its parent's:
 * with both on worker queues, only a steal moves one. */
static weft_poll mover_poll(weft_future *f, weft_cx *cx)
{
	struct yielder *y = (struct yielder *)f;

	if (!pthread_equal(pthread_self(), parent_id))
		atomic_store(&moved, true);
	if (atomic_load(&moved) || --y->left <= 0)
		return WEFT_READY;
	weft_waker_wake_by_ref(weft_cx_waker(cx));
	return WEFT_PENDING;
}

static weft_poll parent_poll(weft_future *f, weft_cx *cx)
{
	int i;

	(void)f;
	(void)cx;
	parent_id = pthread_self();
	for (i = 0; i < 20; i++) {
		struct yielder y = { { mover_poll, NULL }, 2000000 };

		CHECK_EQ(weft_spawn(weft_runtime_current(), &y.base, sizeof(y), NULL), 0);
	}
	return WEFT_READY;
}

static void test_steals(void)
{
	weft_runtime *rt = obs_runtime_n(2);
	weft_future parent = { parent_poll, NULL };
	weft_join_handle h;
	uint64_t steals = 0, attempts = 0;
	unsigned i;

	CHECK_EQ(weft_spawn(rt, &parent, sizeof(parent), &h), 0);
	CHECK_EQ(weft_join(&h), 0);
	weft_join_detach(&h);
	CHECK(obs_wait_flag(&moved));
	for (i = 0; i < 2; i++) {
		weft_worker_metrics w = { .size = sizeof(w) };

		CHECK_EQ(weft_runtime_worker_metrics(rt, i, &w), 0);
		steals += w.steals;
		attempts += w.steal_attempts;
	}
	CHECK(steals >= 1);
	CHECK(attempts >= steals);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* Reads an empty pipe (the read must wait in the driver), then is ready. */
struct pipe_reader {
	weft_future base;
	weft_read rd;
	char buf[8];
	_Atomic bool *waiting;
};

static weft_poll pipe_reader_poll(weft_future *f, weft_cx *cx)
{
	struct pipe_reader *p = (struct pipe_reader *)f;

	if (weft_future_poll(&p->rd.base, cx) == WEFT_PENDING) {
		atomic_store(p->waiting, true);
		return WEFT_PENDING;
	}
	return WEFT_READY;
}

static void pipe_reader_drop(weft_future *f)
{
	weft_future_drop(&((struct pipe_reader *)f)->rd.base);
}

static void test_driver_counts(void)
{
	weft_runtime *rt = obs_runtime_n(1);
	static _Atomic bool waiting;
	struct pipe_reader p;
	weft_join_handle h;
	weft_metrics m;
	int fds[2];

	memset(&p, 0, sizeof(p));
	p.base.poll = pipe_reader_poll;
	p.base.drop = pipe_reader_drop;
	CHECK_EQ(pipe(fds), 0);
	p.waiting = &waiting;
	CHECK_EQ(weft_read_init(&p.rd, fds[0], p.buf, sizeof(p.buf)), 0);
	CHECK_EQ(weft_spawn(rt, &p.base, sizeof(p), &h), 0);
	CHECK(obs_wait_flag(&waiting));
	CHECK_EQ(write(fds[1], "x", 1), 1);
	CHECK_EQ(weft_join(&h), 0);
	CHECK_EQ(((struct pipe_reader *)weft_join_output(&h))->rd.result, 1);
	weft_join_detach(&h);
	m = snapshot(rt);
	CHECK(m.driver_submissions >= 1);
	CHECK(m.driver_completions >= 1);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	close(fds[0]);
	close(fds[1]);
}

static struct test_event job_go;

static void *blocking_job(void *arg)
{
	(void)arg;
	test_event_wait(&job_go);
	return NULL;
}

/* One pool thread, held by a job: the second job waits in the queue. */
static void test_blocking_counts(void)
{
	weft_runtime_config cfg = { 0 };
	weft_join_handle a, b;
	weft_runtime *rt;
	weft_metrics m;
	int i;

	cfg.workers = 1;
	cfg.max_blocking_threads = 1;
	rt = obs_runtime(&cfg);
	test_event_init(&job_go);
	m = snapshot(rt);
	CHECK_EQ(m.blocking_threads, 0);
	CHECK_EQ(weft_spawn_blocking(rt, blocking_job, NULL, &a), 0);
	CHECK_EQ(weft_spawn_blocking(rt, blocking_job, NULL, &b), 0);
	m = snapshot(rt);
	CHECK_EQ(m.blocking_threads, 1);
	CHECK_EQ(m.blocking_queue_depth, 1);
	test_event_set(&job_go);
	CHECK_EQ(weft_join(&a), 0);
	CHECK_EQ(weft_join(&b), 0);
	weft_join_detach(&a);
	weft_join_detach(&b);
	m = snapshot(rt);
	CHECK_EQ(m.blocking_queue_depth, 0);
	for (i = 0; i < 20000 && snapshot(rt).blocking_idle_threads != 1; i++)
		test_sleep_ms(1);
	CHECK_EQ(snapshot(rt).blocking_idle_threads, 1);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	test_event_finish(&job_go);
}

/* The current-thread flavour counts tasks too; its worker has zeros. */
static void test_current_thread(void)
{
	weft_runtime *rt = obs_runtime_n(0);
	struct yielder y = yielder_make(2);
	weft_join_handle h;
	weft_worker_metrics w;

	CHECK_EQ(weft_spawn(rt, &y.base, sizeof(y), &h), 0);
	CHECK_EQ(snapshot(rt).live_tasks, 1);
	CHECK_EQ(weft_block_on(rt, &h.base), 0);
	CHECK_EQ(h.status, 0);
	weft_join_detach(&h);
	CHECK_EQ(snapshot(rt).spawned, 1);
	CHECK_EQ(snapshot(rt).live_tasks, 0);
	CHECK_EQ(snapshot(rt).workers, 1);
	w = worker0(rt);
	CHECK_EQ(w.polls, 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* An older caller's shorter struct is filled up to its size only. */
static void test_versioning_and_bad_input(void)
{
	weft_runtime *rt = obs_runtime_n(1);
	unsigned char buf[sizeof(weft_metrics) + 16];
	weft_metrics *m = (weft_metrics *)buf;
	weft_worker_metrics w = { .size = sizeof(w) };
	size_t short_size = offsetof(weft_metrics, spawned) + sizeof(uint64_t);
	size_t i;

	memset(buf, 0xab, sizeof(buf));
	m->size = short_size;
	CHECK_EQ(weft_runtime_metrics(rt, m), 0);
	CHECK_EQ(m->size, short_size);
	CHECK_EQ(m->workers, 1);
	for (i = short_size; i < sizeof(buf); i++)
		CHECK_EQ(buf[i], 0xab);
	m->size = 1;
	CHECK_EQ(weft_runtime_metrics(rt, m), -EINVAL);
	CHECK_EQ(weft_runtime_metrics(NULL, m), -EINVAL);
	CHECK_EQ(weft_runtime_metrics(rt, NULL), -EINVAL);
	CHECK_EQ(weft_runtime_worker_metrics(rt, 1, &w), -ERANGE);
	CHECK_EQ(weft_runtime_worker_metrics(NULL, 0, &w), -EINVAL);
	CHECK_EQ(weft_runtime_worker_metrics(rt, 0, NULL), -EINVAL);
	w.size = 0;
	CHECK_EQ(weft_runtime_worker_metrics(rt, 0, &w), -EINVAL);
	CHECK_EQ(weft_runtime_metrics_print(NULL), -EINVAL);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

/* WEFT_METRICS=1 prints the table on stderr when the runtime goes. */
static void test_print_at_shutdown(void)
{
	char tmpl[] = "/tmp/weft-obs-metrics-XXXXXX";
	int fd = mkstemp(tmpl), saved;
	weft_runtime *rt;
	char text[4096];
	ssize_t n;

	CHECK(fd >= 0);
	unlink(tmpl);
	CHECK_EQ(setenv("WEFT_METRICS", "1", 1), 0);
	rt = obs_runtime_n(1);
	CHECK_EQ(unsetenv("WEFT_METRICS"), 0);
	fflush(stderr);
	saved = dup(2);
	CHECK(saved >= 0);
	CHECK(dup2(fd, 2) == 2);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	fflush(stderr);
	CHECK(dup2(saved, 2) == 2);
	close(saved);
	n = pread(fd, text, sizeof(text) - 1, 0);
	CHECK(n > 0);
	text[n] = '\0';
	close(fd);
	CHECK(strstr(text, "weft metrics: 1 workers") != NULL);
	CHECK(strstr(text, "tasks: spawned 0, live 0") != NULL);
	CHECK(strstr(text, "worker") != NULL);
}

int main(void)
{
	test_exact_counts();
	test_depths();
	test_steals();
	test_driver_counts();
	test_blocking_counts();
	test_current_thread();
	test_versioning_and_bad_input();
	test_print_at_shutdown();
	return 0;
}

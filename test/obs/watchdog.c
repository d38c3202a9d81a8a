/* obs_watchdog: with a 50 ms threshold the watchdog reports a named task that spins for 200 ms (and goes on spinning until the report came), naming the task, its id and its worker, without stopping it; on a healthy workload of short polls (a 1 s threshold, for 2.5 s) it reports nothing; WEFT_STALL_MS turns it on. */
#include <pthread.h>
#include <time.h>

#include "obs_test.h"

struct reports {
	pthread_mutex_t lock;
	int stalls;
	int others;
	uint64_t id;
	int worker;
	uint64_t duration_ns;
	char name[32];
};

static void on_report(void *ctx, const weft_report *r)
{
	struct reports *rs = ctx;

	pthread_mutex_lock(&rs->lock);
	if (r->kind == WEFT_REPORT_STALL) {
		rs->stalls++;
		rs->id = r->task_id;
		rs->worker = r->worker;
		rs->duration_ns = r->duration_ns;
		snprintf(rs->name, sizeof(rs->name), "%s", r->task_name != NULL ? r->task_name : "");
		CHECK(r->message != NULL);
	} else {
		rs->others++;
	}
	pthread_mutex_unlock(&rs->lock);
}

static void reports_init(struct reports *rs)
{
	memset(rs, 0, sizeof(*rs));
	CHECK_EQ(pthread_mutex_init(&rs->lock, NULL), 0);
}

static int stalls_of(struct reports *rs)
{
	int n;

	pthread_mutex_lock(&rs->lock);
	n = rs->stalls;
	pthread_mutex_unlock(&rs->lock);
	return n;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Spins for 200 ms in one poll, and then until a report arrived (at most
 * 20 s more: on a loaded machine the watchdog may be scheduled late). */
struct spinner {
	weft_future base;
	struct reports *rs;
	bool reported;
};

static weft_poll spinner_poll(weft_future *f, weft_cx *cx)
{
	struct spinner *s = (struct spinner *)f;
	uint64_t start = now_ms();

	(void)cx;
	while (now_ms() - start < 200)
		;
	while (stalls_of(s->rs) == 0 && now_ms() - start < 20200)
		;
	s->reported = stalls_of(s->rs) > 0;
	return WEFT_READY;
}

static void test_reports_spinner(void)
{
	struct reports rs;
	struct spinner s = { { spinner_poll, NULL }, &rs, false };
	weft_runtime_config cfg = { 0 };
	weft_join_handle h;
	weft_runtime *rt;

	cfg.workers = 2;
	cfg.stall_threshold_ns = 50 * 1000000ull;
	cfg.report = on_report;
	cfg.report_ctx = &rs;
	reports_init(&rs);
	rt = obs_runtime(&cfg);
	CHECK_EQ(weft_spawn_named(rt, "spinner", &s.base, sizeof(s), &h), 0);
	CHECK_EQ(weft_join(&h), 0);
	/* The task was not stopped: it finished its poll and saw the report. */
	CHECK(((struct spinner *)weft_join_output(&h))->reported);
	weft_join_detach(&h);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(rs.stalls, 1); /* once per poll */
	CHECK(strcmp(rs.name, "spinner") == 0);
	CHECK_EQ(rs.id, 1);
	CHECK(rs.worker == 0 || rs.worker == 1);
	CHECK(rs.duration_ns >= 50 * 1000000ull);
	CHECK_EQ(rs.others, 0);
}

/* Short polls for well over a threshold: nothing to report.  The threshold
 * is long because the watchdog measures wall time: with 200 ms, a loaded
 * 2-core CI machine twice held one of these short polls off its core long
 * enough to be reported (1 failure in 4 full runs of the suite).  A poll
 * slot left marked busy, the fault this guards against, is reported after
 * any threshold. */
static void test_quiet_when_healthy(void)
{
	struct reports rs;
	weft_runtime_config cfg = { 0 };
	weft_join_handle h[8];
	weft_runtime *rt;
	uint64_t start;
	int i;

	cfg.workers = 2;
	cfg.stall_threshold_ns = 1000 * 1000000ull;
	cfg.report = on_report;
	cfg.report_ctx = &rs;
	reports_init(&rs);
	rt = obs_runtime(&cfg);
	start = now_ms();
	while (now_ms() - start < 2500) {
		for (i = 0; i < 8; i++) {
			struct yielder y = yielder_make(200);

			CHECK_EQ(weft_spawn_named(rt, "short", &y.base, sizeof(y), &h[i]), 0);
		}
		for (i = 0; i < 8; i++) {
			CHECK_EQ(weft_join(&h[i]), 0);
			weft_join_detach(&h[i]);
		}
	}
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	if (rs.stalls != 0)
		fprintf(stderr, "reported: task \"%s\" (id %llu) on worker %d for %llu ms\n",
			rs.name, (unsigned long long)rs.id, rs.worker,
			(unsigned long long)(rs.duration_ns / 1000000));
	CHECK_EQ(rs.stalls, 0);
	CHECK_EQ(rs.others, 0);
}

/* WEFT_STALL_MS alone turns it on (the config leaves it off). */
static void test_env(void)
{
	struct reports rs;
	struct spinner s = { { spinner_poll, NULL }, &rs, false };
	weft_runtime_config cfg = { 0 };
	weft_join_handle h;
	weft_runtime *rt;

	CHECK_EQ(setenv("WEFT_STALL_MS", "50", 1), 0);
	cfg.workers = 1;
	cfg.report = on_report;
	cfg.report_ctx = &rs;
	reports_init(&rs);
	rt = obs_runtime(&cfg);
	CHECK_EQ(unsetenv("WEFT_STALL_MS"), 0);
	CHECK_EQ(weft_spawn_named(rt, "env-spinner", &s.base, sizeof(s), &h), 0);
	CHECK_EQ(weft_join(&h), 0);
	weft_join_detach(&h);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(rs.stalls, 1);
	CHECK(strcmp(rs.name, "env-spinner") == 0);
	CHECK_EQ(rs.worker, 0);
}

int main(void)
{
	test_reports_spinner();
	test_quiet_when_healthy();
	test_env();
	return 0;
}

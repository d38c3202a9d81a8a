/*
 * Thread starts made to fail.
 *
 * The blocking pool: with the pool's thread-start hook failing the k-th
 * start, for every k, a burst of jobs that each need a new thread (each
 * holds its thread until released) is submitted.  A job whose thread
 * cannot start is refused with -EAGAIN: it never runs, its arg_drop is not
 * called (the caller keeps arg), its handle is empty; every accepted job
 * runs and joins with 0; nothing leaks.
 *
 * The runtime's workers, through the worker-start hook
 * (weft__worker_thread_create_hook, src/driver/driver.h): for 1 and 4
 * workers the k-th start fails, for every k, with EAGAIN, EPERM and
 * ENOMEM.  Runtime creation returns that errno negated and NULL (the
 * starts after it are not tried), every byte comes back and no thread is
 * left; with no start failing the runtime runs a task.
 *
 * The same for real: the test limits the process's address space
 * (RLIMIT_AS) just above what it uses, in steps, so that creating an
 * 8-worker runtime runs out while starting its threads (each stack is a mapping) or while allocating.  Every attempt
 * either succeeds or returns -EAGAIN / -ENOMEM with nothing leaked and no
 * thread left behind.  Sanitizer builds reserve huge shadow mappings, so
 * this half runs in the plain build only.
 */
#include "test.h"

#include "blocking/blocking.h"
#include "driver/driver.h"

#include <sys/resource.h>

#define NJOBS 6

static _Atomic long starts, fail_at;
static _Atomic int ran, arg_drops;

static int failing_create(pthread_t *thread, const pthread_attr_t *attr,
			  void *(*start)(void *), void *arg)
{
	long n = atomic_fetch_add(&starts, 1) + 1;

	if (n == atomic_load(&fail_at))
		return EAGAIN;
	return pthread_create(thread, attr, start, arg);
}

static struct test_event gate;

static void *held_job(void *arg)
{
	atomic_fetch_add(&ran, 1);
	test_event_wait(&gate);
	return arg;
}

static void count_drop(void *arg)
{
	(void)arg;
	atomic_fetch_add(&arg_drops, 1);
}

static void blocking_burst(long k)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime_config cfg = { 0 };
	weft_runtime *rt = NULL;
	weft_join_handle h[NJOBS];
	bool ok[NJOBS];
	int i, accepted = 0;

	cfg.workers = 1;
	cfg.allocator = &alloc;
	cfg.max_blocking_threads = NJOBS;
	CHECK_EQ(weft_runtime_create(&cfg, &rt), 0);
	test_event_init(&gate);
	atomic_store(&starts, 0);
	atomic_store(&fail_at, k);
	atomic_store(&ran, 0);
	atomic_store(&arg_drops, 0);
	for (i = 0; i < NJOBS; i++) {
		int rc = weft_spawn_blocking_drop(rt, held_job, (void *)(long)(i + 1), count_drop,
						  &h[i]);

		ok[i] = rc == 0;
		if (rc != 0) {
			CHECK_EQ(rc, -EAGAIN);
			CHECK(h[i].task == NULL);
			CHECK_EQ(weft_join_try(&h[i]), -EINVAL);
		}
		accepted += ok[i];
	}
	CHECK_EQ(accepted, k >= 1 && k <= NJOBS ? NJOBS - 1 : NJOBS);
	test_event_set(&gate);
	for (i = 0; i < NJOBS; i++) {
		void *res;

		if (!ok[i])
			continue;
		CHECK_EQ(weft_join(&h[i]), 0);
		CHECK_EQ(weft_blocking_result(&h[i], &res), 0);
		CHECK(res == (void *)(long)(i + 1));
		weft_join_detach(&h[i]);
	}
	CHECK_EQ(atomic_load(&ran), accepted);
	CHECK_EQ(atomic_load(&arg_drops), 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
	test_event_finish(&gate);
}

#ifdef _WIN32
#include <windows.h>
#include <tlhelp32.h>

/* Windows has no /proc (under wine /proc/self/status says 1 thread
 * whatever runs): the process's threads from a Toolhelp snapshot, for
 * "Threads:" (the only field asked for there); -1 on failure. */
static long status_field(const char *name)
{
	HANDLE h = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
	DWORD me = GetCurrentProcessId();
	THREADENTRY32 e;
	long n = 0;

	CHECK(strcmp(name, "Threads:") == 0);
	if (h == INVALID_HANDLE_VALUE)
		return -1;
	e.dwSize = sizeof(e);
	if (Thread32First(h, &e)) {
		do {
			if (e.th32OwnerProcessID == me)
				n++;
			e.dwSize = sizeof(e);
		} while (Thread32Next(h, &e));
	}
	CloseHandle(h);
	return n;
}
#else
/* A field of /proc/self/status ("VmSize:", "Threads:"), or -1. */
static long status_field(const char *name)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, name, strlen(name)) == 0)
			v = strtol(line + strlen(name), NULL, 10);
	fclose(f);
	return v;
}
#endif

/*
 * The process's thread count once threads that are still exiting are gone:
 * a detached thread (a blocking-pool thread past its last job) counts in
 * /proc until it has finished exiting, after the call that let it go has
 * returned.  Waits for the count to reach `want` (for the condition, not
 * for a time; bounded so that a thread really left behind fails the test).
 */
static long threads_settled(long want)
{
	long n = status_field("Threads:");
	int i;

	for (i = 0; i < 20000 && n != want; i++) {
		test_sleep_ms(1);
		n = status_field("Threads:");
	}
	return n;
}


#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

static void workers_under_rlimit(void)
{
#if defined(SANITIZED)
	printf("worker starts: skipped under a sanitizer\n");
#elif defined(_WIN32)
	printf("worker starts under RLIMIT_AS: not on Windows (no such limit)\n");
#else
	struct rlimit old, lim;
	long threads = status_field("Threads:"), vm, step;
	int fails = 0, eagain = 0, oks = 0;

	CHECK_EQ(getrlimit(RLIMIT_AS, &old), 0);
	for (step = 0; step < 200 && oks < 2; step++) {
		struct test_alloc ta;
		weft_allocator alloc = test_allocator(&ta);
		weft_runtime_config cfg = { 0 };
		weft_runtime *rt = NULL;
		int rc;

		cfg.workers = 8;
		cfg.allocator = &alloc;
		vm = status_field("VmSize:") * 1024;
		CHECK(vm > 0);
		lim = old;
		lim.rlim_cur = (rlim_t)(vm + step * (2L << 20));
		CHECK_EQ(setrlimit(RLIMIT_AS, &lim), 0);
		rc = weft_runtime_create(&cfg, &rt);
		CHECK_EQ(setrlimit(RLIMIT_AS, &old), 0);
		if (rc == 0) {
			oks++;
			CHECK_EQ(weft_runtime_destroy(rt), 0);
		} else {
			CHECK(rc == -EAGAIN || rc == -ENOMEM);
			CHECK(rt == NULL);
			fails++;
			eagain += rc == -EAGAIN;
		}
		CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
		CHECK_EQ(atomic_load(&ta.live_bytes), 0);
		CHECK_EQ(threads_settled(threads), threads); /* nobody left */
	}
	printf("worker starts: %d refused (%d with -EAGAIN), then %d created\n", fails, eagain,
	       oks);
	CHECK(oks > 0 && fails > 0);
#endif
}

/* ---- the runtime's workers, through the worker-start hook ------------ */

static _Atomic long worker_starts, worker_fail_at;
static int worker_fail_errno = EAGAIN;

static int failing_worker_create(pthread_t *thread, const pthread_attr_t *attr,
				 void *(*start)(void *), void *arg)
{
	long n = atomic_fetch_add(&worker_starts, 1) + 1;

	if (n == atomic_load(&worker_fail_at))
		return worker_fail_errno;
	return pthread_create(thread, attr, start, arg);
}

static void *answer(void *arg)
{
	return arg;
}

/* Creates a runtime of `n` workers with the k-th worker start failing
 * (0: none); a refused one leaves nothing behind, an accepted one runs a
 * task. */
static void workers_hooked(unsigned n, long k)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime_config cfg = { 0 };
	weft_runtime *rt = NULL;
	long threads = status_field("Threads:");
	int rc;

	CHECK(threads > 0); /* the count is real, or "none left" means nothing */
	cfg.workers = n;
	cfg.allocator = &alloc;
	atomic_store(&worker_starts, 0);
	atomic_store(&worker_fail_at, k);
	rc = weft_runtime_create(&cfg, &rt);
	if (k >= 1 && k <= (long)n) {
		CHECK_EQ(rc, -worker_fail_errno);
		CHECK(rt == NULL);
		/* The starts after the failing one were not tried. */
		CHECK_EQ(atomic_load(&worker_starts), k);
	} else {
		weft_join_handle h;
		weft_fn_future *out;

		CHECK_EQ(rc, 0);
		CHECK_EQ(weft_runtime_workers(rt), n);
		CHECK_EQ(atomic_load(&worker_starts), (long)n);
		CHECK_EQ(weft_spawn_fn(rt, answer, (void *)42, &h), 0);
		CHECK_EQ(weft_join(&h), 0);
		out = weft_join_output(&h);
		CHECK(out != NULL && out->result == (void *)42);
		weft_join_detach(&h);
		CHECK_EQ(weft_runtime_destroy(rt), 0);
	}
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
	CHECK_EQ(threads_settled(threads), threads); /* no worker left */
}

int main(void)
{
	static const int errs[] = { EAGAIN, EPERM, ENOMEM };
	size_t e;
	unsigned n;

	long k;

	weft__blocking_set_thread_create_hook(failing_create);
	for (k = 0; k <= NJOBS + 1; k++)
		blocking_burst(k);
	weft__blocking_set_thread_create_hook(NULL);
	printf("blocking pool: each of %d thread starts failed in turn\n", NJOBS);
	weft__worker_thread_create_hook = failing_worker_create;
	for (e = 0; e < sizeof errs / sizeof errs[0]; e++) {
		worker_fail_errno = errs[e];
		for (n = 1; n <= 4; n += 3)
			for (k = 0; k <= (long)n + 1; k++)
				workers_hooked(n, k);
	}
	weft__worker_thread_create_hook = NULL;
	printf("runtime workers: each start of 1 and 4 failed in turn (EAGAIN, EPERM, ENOMEM)\n");
	workers_under_rlimit();
	return 0;
}

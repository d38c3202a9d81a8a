/* obs_names: worker threads are named weft-worker-N, blocking-pool threads weft-blocking-N and the watchdog weft-watchdog, as /proc/self/task/<tid>/comm shows them (top, perf and gdb read the same name); on Windows as GetThreadDescription shows them (debuggers and the Windows tools read the same). */
#ifdef _WIN32
#include <winsock2.h> /* before windows.h, as weft/net.h includes it */
#include <windows.h>
#include <tlhelp32.h>
#else
#include <dirent.h>
#endif
#include <unistd.h>

#include "obs_test.h"

#ifdef _WIN32
typedef HRESULT(WINAPI *get_description_fn)(HANDLE, PWSTR *);

/* Counts the threads of this process whose description is `name`
 * (threads from a Toolhelp snapshot; GetThreadDescription looked up at run
 * time as the library looks up SetThreadDescription: without it, skip). */
static int threads_named(const char *name)
{
	get_description_fn get = (get_description_fn)(void (*)(void))GetProcAddress(
		GetModuleHandleW(L"kernel32.dll"), "GetThreadDescription");
	HANDLE snap;
	THREADENTRY32 e;
	DWORD me = GetCurrentProcessId();
	int n = 0;

	if (get == NULL) {
		fprintf(stderr, "no GetThreadDescription: skipped\n");
		exit(77);
	}
	snap = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
	CHECK(snap != INVALID_HANDLE_VALUE);
	e.dwSize = sizeof(e);
	if (Thread32First(snap, &e)) {
		do {
			HANDLE t;
			PWSTR desc = NULL;

			if (e.th32OwnerProcessID != me)
				goto next;
			t = OpenThread(THREAD_QUERY_LIMITED_INFORMATION, FALSE, e.th32ThreadID);
			if (t == NULL)
				goto next; /* the thread exited meanwhile */
			if (SUCCEEDED(get(t, &desc)) && desc != NULL) {
				size_t i;

				for (i = 0; name[i] != '\0' && desc[i] == (wchar_t)name[i]; i++)
					;
				if (name[i] == '\0' && desc[i] == L'\0')
					n++;
				LocalFree(desc);
			}
			CloseHandle(t);
next:
			e.dwSize = sizeof(e);
		} while (Thread32Next(snap, &e));
	}
	CloseHandle(snap);
	return n;
}
#else
/* Counts the threads of this process whose comm is `name`. */
static int threads_named(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (d == NULL) {
		fprintf(stderr, "no /proc/self/task: skipped\n");
		exit(77);
	}
	while ((e = readdir(d)) != NULL) {
		char path[512], comm[64];
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue; /* the thread exited meanwhile */
		if (fgets(comm, sizeof(comm), f) != NULL) {
			comm[strcspn(comm, "\n")] = '\0';
			if (strcmp(comm, name) == 0)
				n++;
		}
		fclose(f);
	}
	closedir(d);
	return n;
}
#endif

static struct test_event job_go, job_running;

static void *job(void *arg)
{
	(void)arg;
	test_event_set(&job_running);
	test_event_wait(&job_go);
	return NULL;
}

int main(void)
{
	weft_runtime_config cfg = { 0 };
	weft_join_handle h;
	weft_runtime *rt;
	int i;

	test_event_init(&job_go);
	test_event_init(&job_running);
	cfg.workers = 3;
	cfg.stall_threshold_ns = 60ull * 1000000000u; /* on, and never reached */
	rt = obs_runtime(&cfg);
	/* A worker names itself first thing; wait until all three have. */
	for (i = 0; i < 20000 && (threads_named("weft-worker-0") == 0 ||
				  threads_named("weft-worker-1") == 0 ||
				  threads_named("weft-worker-2") == 0); i++)
		test_sleep_ms(1);
	CHECK_EQ(threads_named("weft-worker-0"), 1);
	CHECK_EQ(threads_named("weft-worker-1"), 1);
	CHECK_EQ(threads_named("weft-worker-2"), 1);
	CHECK_EQ(threads_named("weft-worker-3"), 0);
	for (i = 0; i < 20000 && threads_named("weft-watchdog") == 0; i++)
		test_sleep_ms(1);
	CHECK_EQ(threads_named("weft-watchdog"), 1);
	CHECK_EQ(weft_spawn_blocking(rt, job, NULL, &h), 0);
	test_event_wait(&job_running);
	CHECK_EQ(threads_named("weft-blocking-0"), 1);
	test_event_set(&job_go);
	CHECK_EQ(weft_join(&h), 0);
	weft_join_detach(&h);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	/* Every thread was joined. */
	CHECK_EQ(threads_named("weft-worker-0"), 0);
	CHECK_EQ(threads_named("weft-watchdog"), 0);
	test_event_finish(&job_go);
	test_event_finish(&job_running);
	return 0;
}

/*
 * src/common/platform_win32.c - platform.h on Windows (10 and later):
 * WaitOnAddress for the address wait, QueryPerformanceCounter for the
 * clock, SetThreadDescription for thread names.  winpthreads provides the
 * pthreads the rest of weft uses; its condition variables wait on the
 * realtime clock, so monotonic deadlines are translated.
 */
#define WIN32_LEAN_AND_MEAN
#include "platform.h"

#include <windows.h>

#include <malloc.h>
#include <stdbool.h>
#include <wchar.h>

const char weft__addr_wait_name[] = "WaitOnAddress";

/* ---- memory ----------------------------------------------------------------- */

void *weft__aligned_alloc(size_t align, size_t size)
{
	return _aligned_malloc(size, align);
}

void weft__aligned_free(void *p)
{
	_aligned_free(p);
}

/* ---- the clock ------------------------------------------------------------ */

static _Atomic int64_t qpc_freq;

uint64_t weft__mono_ns(void)
{
	LARGE_INTEGER c;
	int64_t f = atomic_load_explicit(&qpc_freq, memory_order_relaxed);

	if (f == 0) {
		LARGE_INTEGER fr;

		/* Never fails on Windows XP and later; the value is fixed at
		 * boot, so a racing store writes the same number. */
		QueryPerformanceFrequency(&fr);
		f = fr.QuadPart;
		atomic_store_explicit(&qpc_freq, f, memory_order_relaxed);
	}
	QueryPerformanceCounter(&c);
	/* Split to keep the multiplication from overflowing. */
	return (uint64_t)(c.QuadPart / f) * 1000000000u +
	       (uint64_t)(c.QuadPart % f) * 1000000000u / (uint64_t)f;
}

/* ---- the address wait ------------------------------------------------------ */

/* Milliseconds until `deadline_ns`, rounded up (INFINITE for none). */
static DWORD ms_until(uint64_t deadline_ns)
{
	uint64_t now, ms;

	if (deadline_ns == UINT64_MAX)
		return INFINITE;
	now = weft__mono_ns();
	if (deadline_ns <= now)
		return 0;
	ms = (deadline_ns - now + 999999u) / 1000000u;
	return ms >= INFINITE ? INFINITE - 1 : (DWORD)ms;
}

void weft__addr_wait(_Atomic uint32_t *word, uint32_t expected, uint64_t deadline_ns)
{
	DWORD ms = ms_until(deadline_ns);

	if (ms == 0)
		return;
	/* Compares *word with expected and sleeps atomically against
	 * WakeByAddress*; returns early on a wake or spuriously. */
	(void)WaitOnAddress((volatile void *)word, &expected, sizeof(expected), ms);
}

void weft__addr_wake_one(_Atomic uint32_t *word)
{
	WakeByAddressSingle((void *)word);
}

void weft__addr_wake_all(_Atomic uint32_t *word)
{
	WakeByAddressAll((void *)word);
}

/* ---- condition variables ---------------------------------------------------- */

int weft__cond_init_mono(pthread_cond_t *c)
{
	return pthread_cond_init(c, NULL);
}

struct timespec weft__cond_deadline(uint64_t deadline_ns)
{
	struct timespec now, ts;
	uint64_t mono = weft__mono_ns(), real, d;

	clock_gettime(CLOCK_REALTIME, &now);
	if (deadline_ns <= mono)
		return now;
	real = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	d = deadline_ns - mono;
	/* A far deadline: about 290 years from the epoch is plenty. */
	if (d > (UINT64_MAX / 2) - real)
		d = (UINT64_MAX / 2) - real;
	real += d;
	ts.tv_sec = (time_t)(real / 1000000000u);
	ts.tv_nsec = (long)(real % 1000000000u);
	return ts;
}

/* ---- threads ------------------------------------------------------------------ */

typedef HRESULT(WINAPI *set_description_fn)(HANDLE, PCWSTR);

void weft__thread_set_name(const char *name)
{
	/* SetThreadDescription exists from Windows 10 1607 on: looked up at
	 * run time so that older systems (and wine) simply skip it. */
	HMODULE k32 = GetModuleHandleW(L"kernel32.dll");
	set_description_fn fn;
	wchar_t wide[32];
	size_t i;

	if (k32 == NULL)
		return;
	fn = (set_description_fn)(void (*)(void))GetProcAddress(k32, "SetThreadDescription");
	if (fn == NULL)
		return;
	for (i = 0; i + 1 < sizeof(wide) / sizeof(wide[0]) && name[i] != '\0'; i++)
		wide[i] = (wchar_t)(unsigned char)name[i];
	wide[i] = L'\0';
	(void)fn(GetCurrentThread(), wide);
}

void weft__thread_timer_slack(unsigned long ns)
{
	(void)ns;
}

unsigned weft__cpu_count(void)
{
	DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);

	return n > 0 ? (unsigned)n : 1;
}

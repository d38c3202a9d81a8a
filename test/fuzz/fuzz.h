/*
 * test/fuzz/fuzz.h - what the fuzz targets share: a reader that turns the
 * fuzzer's bytes into choices, a check that aborts (so that libFuzzer
 * records the input as a crash), a waker that counts its wakes (one per
 * simulated task), and the replay main().
 *
 * Every target defines fuzz_one(data, size): it decodes the bytes into a
 * sequence of operations, runs them deterministically on one thread, and
 * checks each result against a reference model.  Built with
 * -DWEFT_LIBFUZZER the file is a libFuzzer target (scripts/fuzz); built
 * without it, the main() below replays every file of the seed corpus
 * directories given on the command line and then a deterministic
 * pseudo-random stream of inputs (FUZZ_RANDOM_RUNS of them, default 3000,
 * times WEFT_STRESS_SCALE), so the targets run in every build of the
 * normal test suite.  FUZZ_REPEAT=N replays the files N times over (the
 * inputs that once stopped fuzz_mt, in hangs/, are replayed that way).
 */
#ifndef WEFT_TEST_FUZZ_H
#define WEFT_TEST_FUZZ_H

#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"

/* The current input, printed when a check fails in replay mode. */
static const char *fz_current_name = "?";

#define FZ_CHECK(cond)                                                         \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: FZ_CHECK failed: %s (input %s)\n", \
				__FILE__, __LINE__, #cond, fz_current_name);   \
			abort();                                               \
		}                                                              \
	} while (0)

#define FZ_CHECK_EQ(a, b)                                                      \
	do {                                                                   \
		long long fa_ = (long long)(a), fb_ = (long long)(b);          \
		if (fa_ != fb_) {                                              \
			fprintf(stderr, "%s:%d: FZ_CHECK_EQ failed: %s == %lld, " \
					"%s == %lld (input %s)\n",             \
				__FILE__, __LINE__, #a, fa_, #b, fb_,          \
				fz_current_name);                              \
			abort();                                               \
		}                                                              \
	} while (0)

/* The bytes still to be decoded.  Past the end every read returns 0. */
struct fz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz_in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint16_t fz_u16(struct fz_in *in)
{
	uint16_t lo = fz_u8(in);

	return (uint16_t)(lo | (uint16_t)fz_u8(in) << 8);
}

/* A choice in [0, n). */
static inline unsigned fz_pick(struct fz_in *in, unsigned n)
{
	return n <= 256 ? fz_u8(in) % n : fz_u16(in) % n;
}

static inline bool fz_more(const struct fz_in *in)
{
	return in->n > 0;
}

/*
 * A simulated task's waker: counts wakes and live clones.  A target polls
 * a future with the context of the task that owns it and, when the model
 * says the future can now complete, checks that the task was woken since
 * its last poll (no lost wake-up).
 */
struct fz_task {
	long wakes;
	long clones;
	long wakes_at_poll; /* wakes when the task last polled */
};

static weft_waker fz_clone(void *data);

static void fz_wake_by_ref(void *data)
{
	((struct fz_task *)data)->wakes++;
}

static void fz_drop(void *data)
{
	((struct fz_task *)data)->clones--;
}

static void fz_wake(void *data)
{
	fz_wake_by_ref(data);
	fz_drop(data);
}

static const weft_waker_vtable fz_vtable = { fz_clone, fz_wake, fz_wake_by_ref, fz_drop };

static weft_waker fz_clone(void *data)
{
	weft_waker w = { data, &fz_vtable };

	((struct fz_task *)data)->clones++;
	return w;
}

/* Polls `f` as task `t` (unconstrained budget). */
static inline weft_poll fz_poll(struct fz_task *t, weft_future *f)
{
	weft_waker w = { t, &fz_vtable };
	weft_cx cx;

	weft_cx_init(&cx, &w);
	t->wakes_at_poll = t->wakes;
	return weft_future_poll(f, &cx);
}

/* True when `t` was woken since its last poll. */
static inline bool fz_woken(const struct fz_task *t)
{
	return t->wakes > t->wakes_at_poll;
}

/*
 * Joins the `n` tasks of `h` and detaches them, checking each one's end:
 * its join says 0, or -ECANCELED only when `aborted[i]` was set before its
 * abort; and its future was dropped exactly once (`drops[i]`, counted by
 * the task's drop).  For the multi-threaded targets.
 */
static inline void fz_join_tasks(weft_join_handle *h, unsigned n, _Atomic bool *aborted,
				 _Atomic int *drops)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		int status = weft_join(&h[i]);

		FZ_CHECK(status == 0 || (status == -ECANCELED && atomic_load(&aborted[i])));
		FZ_CHECK_EQ(atomic_load(&drops[i]), 1);
		weft_join_detach(&h[i]);
	}
}

int fuzz_one(const uint8_t *data, size_t size);

#ifdef WEFT_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_one(data, size);
}
#else
static void fz_replay_file(const char *path)
{
	static uint8_t buf[1 << 16];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		exit(1);
	}
	n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	fz_current_name = path;
	fuzz_one(buf, n);
}

/* Replays a file, or every regular file of a directory. */
static long fz_replay_path(const char *path)
{
	char full[4096];
	struct dirent *e;
	long count = 0;
	DIR *d = opendir(path);

	if (d == NULL) {
		fz_replay_file(path);
		return 1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(full, sizeof full, "%s/%s", path, e->d_name);
		fz_replay_file(full);
		count++;
	}
	closedir(d);
	return count;
}

static uint64_t fz_xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

int main(int argc, char **argv)
{
	static uint8_t buf[1024];
	const char *env = getenv("FUZZ_RANDOM_RUNS");
	const char *scale = getenv("WEFT_STRESS_SCALE");
	const char *repeat_env = getenv("FUZZ_REPEAT");
	long runs = env != NULL ? strtol(env, NULL, 10) : 3000;
	long repeat = repeat_env != NULL ? strtol(repeat_env, NULL, 10) : 1;
	long files = 0, i, r;
	char name[64];
	int a;

	if (scale != NULL && strtol(scale, NULL, 10) > 1)
		runs *= strtol(scale, NULL, 10);
	for (r = 0; r < repeat; r++)
		for (a = 1; a < argc; a++)
			files += fz_replay_path(argv[a]);
	for (i = 0; i < runs; i++) {
		uint64_t s = 0x9e3779b97f4a7c15ull ^ (uint64_t)(i + 1) * 0xbf58476d1ce4e5b9ull;
		size_t n = (size_t)(fz_xorshift(&s) % sizeof buf), j;

		for (j = 0; j < n; j++)
			buf[j] = (uint8_t)fz_xorshift(&s);
		snprintf(name, sizeof name, "random#%ld", i);
		fz_current_name = name;
		fuzz_one(buf, n);
	}
	printf("replayed %ld corpus files and %ld random inputs\n", files, runs);
	return 0;
}
#endif

#endif /* WEFT_TEST_FUZZ_H */

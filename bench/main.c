/*
 * bench/main.c - weft-bench: every weft benchmark case behind the common
 * command line of bench/harness.h (see bench/README.md).
 */
#include "common.h"

#include <stdlib.h>

/* WEFT_BENCH_TABLES(X): X(name) for every case file bench/meson.build
 * found (its `bench_case_files` list), in that order. */
#include "bench_tables.h"

#define DECLARE_TABLE(name)                                  \
	extern const struct bench_case weft_##name##_cases[]; \
	extern const size_t weft_##name##_cases_len;
WEFT_BENCH_TABLES(DECLARE_TABLE)

#define TABLE_ENTRY(name) { weft_##name##_cases, weft_##name##_cases_len },

int main(int argc, char **argv)
{
	const struct bench_case_table tables[] = { WEFT_BENCH_TABLES(TABLE_ENTRY) };
	size_t ntables = BENCH_COUNT(tables), total = 0, i, k = 0;
	struct bench_case *all;
	int rc;

	for (i = 0; i < ntables; i++)
		total += tables[i].len;
	all = calloc(total, sizeof(*all));
	if (all == NULL) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	for (i = 0; i < ntables; i++) {
		memcpy(&all[k], tables[i].cases, tables[i].len * sizeof(*all));
		k += tables[i].len;
	}
	/* Bytes and allocations per operation are reported for the
	 * single-thread rows (st/..., current_thread/...), where they are the
	 * point; elsewhere the counting would only add shared-counter traffic
	 * to the timings. */
	for (i = 1; i + 1 < (size_t)argc; i++)
		if (strcmp(argv[i], "--case") == 0 &&
		    (strncmp(argv[i + 1], "st/", 3) == 0 ||
		     strncmp(argv[i + 1], "current_thread/", 15) == 0))
			bench_count_allocations = true;
	rc = bench_main(argc, argv, "weft", all, total,
			bench_count_allocations ? &bench_weft_alloc_counter : NULL);
	free(all);
	return rc;
}

/*
 * bench/main.c - weft-bench: every weft benchmark case behind the common
 * command line of bench/harness.h (see bench/README.md).
 */
#include "common.h"

#include <stdlib.h>

#ifdef WEFT_BENCH_HAVE_SYNC
extern const struct bench_case weft_sync_cases[];
extern const size_t weft_sync_cases_len;
#endif
#ifdef WEFT_BENCH_HAVE_CHAN
extern const struct bench_case weft_chan_cases[];
extern const size_t weft_chan_cases_len;
#endif
#ifdef WEFT_BENCH_HAVE_IO
extern const struct bench_case_table weft_io_cases;
#endif

int main(int argc, char **argv)
{
	struct bench_case_table tables[4];
	size_t ntables = 0, total = 0, i, k = 0;
	struct bench_case *all;
	int rc;

	tables[ntables++] = weft_rt_cases;
#ifdef WEFT_BENCH_HAVE_SYNC
	tables[ntables++] = (struct bench_case_table){ weft_sync_cases, weft_sync_cases_len };
#endif
#ifdef WEFT_BENCH_HAVE_CHAN
	tables[ntables++] = (struct bench_case_table){ weft_chan_cases, weft_chan_cases_len };
#endif
#ifdef WEFT_BENCH_HAVE_IO
	tables[ntables++] = weft_io_cases;
#endif
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

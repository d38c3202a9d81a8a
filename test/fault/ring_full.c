/*
 * A full ring, for real: far more operations in flight on one driver
 * thread than its ring holds, all completing at once.
 *
 * NTASKS tasks on a 1-worker runtime (one io_uring of 256 submission and
 * 512 completion entries, or one epoll set whose wait returns a bounded
 * batch) each wait in a read of its own pipe.  Once every read is waiting,
 * the main thread writes every pipe in one go, so the kernel completes all
 * of them before the worker reaps: the completion queue overflows (the
 * kernel keeps the rest on its overflow list and the submission side meets
 * -EBUSY until they are reaped), epoll hands them over in several waits.
 * Every read must complete with its own pipe's bytes, every task end, and
 * every byte of the allocator come back.  The same again on 2 workers.
 * Needs 2 * NTASKS descriptors: raises RLIMIT_NOFILE, skips (77) when it
 * cannot.  Runs once per backend (WEFT_DRIVER).
 */
#include "net/net_test.h"

#define NTASKS 2048

static _Atomic int waiting, finished;

struct reader {
	weft_future base;
	int fd, id, polls;
	bool started;
	char buf[16];
	weft_read rd;
};

static weft_poll reader_poll(weft_future *f, weft_cx *cx)
{
	struct reader *r = (struct reader *)f;
	char want[16];
	int n;

	if (!r->started) {
		CHECK_EQ(weft_read_init(&r->rd, r->fd, r->buf, sizeof r->buf), 0);
		r->started = true;
	}
	if (weft_future_poll(&r->rd.base, cx) == WEFT_PENDING) {
		if (r->polls++ == 0)
			atomic_fetch_add(&waiting, 1);
		return WEFT_PENDING;
	}
	weft_future_drop(&r->rd.base);
	n = snprintf(want, sizeof want, "pipe %d", r->id);
	CHECK_EQ(r->rd.result, n);
	CHECK(memcmp(r->buf, want, (size_t)n) == 0);
	atomic_fetch_add(&finished, 1);
	return WEFT_READY;
}

static void round_of(unsigned workers, int (*fds)[2], weft_join_handle *h)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime *rt = test_runtime(workers, &alloc);
	int i;

	atomic_store(&waiting, 0);
	atomic_store(&finished, 0);
	for (i = 0; i < NTASKS; i++) {
		struct reader r;

		memset(&r, 0, sizeof r);
		r.base.poll = reader_poll;
		r.fd = fds[i][0];
		r.id = i;
		CHECK_EQ(weft_spawn(rt, &r.base, sizeof r, &h[i]), 0);
	}
	/* Wait for the condition: every read is in the driver. */
	for (i = 0; i < 60000 && atomic_load(&waiting) < NTASKS; i++)
		test_sleep_ms(1);
	CHECK_EQ(atomic_load(&waiting), NTASKS);
	for (i = 0; i < NTASKS; i++) {
		char msg[16];
		int n = snprintf(msg, sizeof msg, "pipe %d", i);

		CHECK_EQ(write(fds[i][1], msg, (size_t)n), n);
	}
	for (i = 0; i < NTASKS; i++) {
		CHECK_EQ(weft_join(&h[i]), 0);
		weft_join_detach(&h[i]);
	}
	CHECK_EQ(atomic_load(&finished), NTASKS);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
}

int main(void)
{
	static int fds[NTASKS][2];
	static weft_join_handle h[NTASKS];
	int i;

	if (!net_raise_nofile(2 * NTASKS + 64)) {
		printf("cannot raise RLIMIT_NOFILE to %d: skip\n", 2 * NTASKS + 64);
		return 77;
	}
	for (i = 0; i < NTASKS; i++)
		CHECK_EQ(pipe2(fds[i], O_CLOEXEC), 0);
	round_of(1, fds, h);
	round_of(2, fds, h);
	for (i = 0; i < NTASKS; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
	}
	printf("%s: %d reads in flight, all completed at once (1 worker, then 2)\n",
	       getenv("WEFT_DRIVER") ? getenv("WEFT_DRIVER") : "auto", NTASKS);
	return 0;
}

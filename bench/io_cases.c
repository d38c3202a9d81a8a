/*
 * bench/io_cases.c - the driver's wake-latency benchmark.
 *
 * wake/remote_idle: on an idle multi-threaded runtime a task awaits a
 * oneshot; a plain OS thread (the harness thread) takes t0 and sends; the
 * task takes t1 when it runs.  The sample is t1 - t0 in ns.
 * Before each sample the notifier sleeps 1 ms so that every worker has
 * parked (in its ring, or in epoll / on its futex): what is measured is a
 * wake that goes through the driver (an eventfd write) into a parked
 * worker.  Run it per backend with WEFT_DRIVER=uring|epoll.
 *
 * Value mode (bench/harness.h): each sample's value is t1 - t0 in ns, the
 * 1 ms pause is not in it.  As the peers, with one worker per CPU: each
 * sample spawns a fresh task on a fresh oneshot (Tokio: the same with
 * tokio's oneshot, the main thread sends; Go: a goroutine receives from a
 * channel, the main goroutine locked to its thread sends).
 */
#include "common.h"
#include "weft_config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>


struct wake_state {
	weft_runtime *rt;
	weft_oneshot os;
	struct bench_signal ran;
	_Atomic uint64_t t1;
};

/* The waiting task: await the oneshot, record t1, signal. */
struct waiter {
	weft_future base;
	struct wake_state *s;
	weft_oneshot_recv_future rx;
	bool armed;
};

static weft_poll waiter_poll(weft_future *f, weft_cx *cx)
{
	struct waiter *w = (struct waiter *)f;

	if (!w->armed) {
		weft_oneshot_recv(&w->s->os, NULL, &w->rx);
		w->armed = true;
	}
	if (weft_future_poll(&w->rx.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	atomic_store(&w->s->t1, bench_now_ns());
	weft_future_drop(&w->rx.base);
	w->armed = false;
	bench_signal_post(&w->s->ran);
	return WEFT_READY;
}

static void waiter_drop(weft_future *f)
{
	struct waiter *w = (struct waiter *)f;

	if (w->armed)
		weft_future_drop(&w->rx.base);
}

static int setup_wake(const struct bench_case *bc, int workers, void **state)
{
	struct wake_state *s = calloc(1, sizeof(*s));

	(void)bc;
	if (s == NULL)
		return -ENOMEM;
	s->rt = bench_runtime(workers, false);
	if (s->rt == NULL) {
		free(s);
		return -ENOMEM;
	}
	bench_signal_init(&s->ran);
	*state = s;
	return 0;
}

/* One value-mode sample, as the Tokio peer: spawn a task that awaits a
 * fresh oneshot, let the workers park, send, return t1 - t0. */
static int sample_wake(void *state, double *value)
{
	struct wake_state *s = state;
	struct waiter w;
	weft_join_handle h;
	uint64_t t0;
	int err;

	memset(&w, 0, sizeof(w));
	w.base.poll = waiter_poll;
	w.base.drop = waiter_drop;
	w.s = s;
	weft_oneshot_init(&s->os, NULL, 0);
	err = weft_spawn(s->rt, &w.base, sizeof(w), &h);
	if (err < 0) {
		weft_oneshot_finish(&s->os);
		return err;
	}
	bench_sleep_ms(1); /* the task waits, the workers park */
	t0 = bench_now_ns();
	err = weft_oneshot_send(&s->os, NULL);
	if (err == 0)
		bench_signal_wait(&s->ran, 1);
	weft_join(&h);
	weft_join_detach(&h);
	weft_oneshot_finish(&s->os);
	if (bench_check(err == 0, "the waiting task was gone"))
		return -1;
	*value = (double)(atomic_load(&s->t1) - t0);
	return 0;
}

static void teardown_wake(void *state)
{
	struct wake_state *s = state;

	fprintf(stderr, "wake/remote_idle: driver %s\n", weft_runtime_driver(s->rt));
	weft_runtime_destroy(s->rt);
	bench_signal_finish(&s->ran);
	free(s);
}

#ifdef WEFT_HAVE_URING
/*
 * wake/ring_eventfd and wake/ring_msg: the two ways to wake a thread that
 * waits in its io_uring ring, measured bare (no runtime): a waiter thread
 * blocks in io_uring_wait_cqe on its ring (single issuer, deferred task
 * running, as the workers' rings); the notifier takes t0 and either writes
 * the eventfd the ring has a read on, or submits IORING_OP_MSG_RING from
 * its own ring to the waiter's; the waiter takes t1 when the wait returns.
 * Value mode, as above.
 */
#include <liburing.h>
#include <sys/eventfd.h>

struct ring_state {
	bool msg;
	struct io_uring wring, nring;
	int efd;
	uint64_t efd_buf;
	pthread_t thread;
	struct bench_signal ready, ran;
	_Atomic uint64_t t1;
	_Atomic bool stop;
};

static void *ring_waiter(void *arg)
{
	struct ring_state *s = arg;
	unsigned flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	struct io_uring_cqe *cqe;

	if (io_uring_queue_init(8, &s->wring, flags) < 0 &&
	    io_uring_queue_init(8, &s->wring, 0) < 0)
		exit(1);
	bench_signal_post(&s->ready);
	while (!atomic_load(&s->stop)) {
		if (!s->msg) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&s->wring);

			io_uring_prep_read(sqe, s->efd, &s->efd_buf, 8, 0);
		}
		io_uring_submit_and_wait(&s->wring, 1);
		if (io_uring_peek_cqe(&s->wring, &cqe) == 0) {
			atomic_store(&s->t1, bench_now_ns());
			io_uring_cqe_seen(&s->wring, cqe);
			bench_signal_post(&s->ran);
		}
	}
	io_uring_queue_exit(&s->wring);
	return NULL;
}

static int setup_ring(const struct bench_case *bc, int workers, void **state)
{
	struct ring_state *s = calloc(1, sizeof(*s));

	(void)workers;
	if (s == NULL)
		return -ENOMEM;
	s->msg = bc->param != NULL;
	s->efd = eventfd(0, EFD_CLOEXEC);
	if (s->efd < 0 || io_uring_queue_init(8, &s->nring, 0) < 0)
		return -ENOMEM;
	bench_signal_init(&s->ready);
	bench_signal_init(&s->ran);
	if (pthread_create(&s->thread, NULL, ring_waiter, s) != 0)
		return -EAGAIN;
	bench_signal_wait(&s->ready, 1);
	*state = s;
	return 0;
}

static void ring_kick(struct ring_state *s)
{
	if (s->msg) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&s->nring);
		struct io_uring_cqe *cqe;

		io_uring_prep_msg_ring(sqe, s->wring.ring_fd, 0, 1, 0);
		io_uring_submit(&s->nring);
		if (io_uring_wait_cqe(&s->nring, &cqe) == 0)
			io_uring_cqe_seen(&s->nring, cqe);
	} else {
		uint64_t one = 1;

		if (write(s->efd, &one, 8) != 8)
			exit(1);
	}
}

static int sample_ring(void *state, double *value)
{
	struct ring_state *s = state;
	uint64_t t0;

	bench_sleep_ms(1);
	t0 = bench_now_ns();
	ring_kick(s);
	bench_signal_wait(&s->ran, 1);
	*value = (double)(atomic_load(&s->t1) - t0);
	return 0;
}

static void teardown_ring(void *state)
{
	struct ring_state *s = state;

	atomic_store(&s->stop, true);
	ring_kick(s);
	pthread_join(s->thread, NULL);
	io_uring_queue_exit(&s->nring);
	close(s->efd);
	bench_signal_finish(&s->ready);
	bench_signal_finish(&s->ran);
	free(s);
}

static const char msg_mode[] = "msg";
#endif

/*
 * io/block_on_read and io/ct_block_on_read: a plain thread writes one byte
 * to a pipe and block_ons a weft_read of it, per iteration.  On the
 * multi-threaded runtime the thread has no ring: the read is handed to a
 * worker's ring (io_uring) or registered with the runtime's epoll, and the
 * completion wakes the thread's futex.  On the current-thread runtime the
 * thread drives the runtime's own ring.  Ordinary timing (ns per read).
 */
struct read_state {
	weft_runtime *rt;
	int p[2];
};

static int setup_read(const struct bench_case *bc, int workers, void **state)
{
	struct read_state *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return -ENOMEM;
	s->rt = bench_runtime(bc->param != NULL ? 0 : workers, bc->param != NULL);
	if (s->rt == NULL || pipe(s->p) != 0) {
		weft_runtime_destroy(s->rt);
		free(s);
		return -ENOMEM;
	}
	*state = s;
	return 0;
}

static int run_read(void *state, long iterations)
{
	struct read_state *s = state;
	long i;

	for (i = 0; i < iterations; i++) {
		weft_read rd;
		char c;

		if (write(s->p[1], "r", 1) != 1 || weft_read_init(&rd, s->p[0], &c, 1) != 0)
			return -1;
		if (weft_block_on(s->rt, &rd.base) != 0 || bench_check(rd.result == 1, "read"))
			return -1;
		weft_future_drop(&rd.base);
	}
	return 0;
}

static void teardown_read(void *state)
{
	struct read_state *s = state;

	weft_runtime_destroy(s->rt);
	close(s->p[0]);
	close(s->p[1]);
	free(s);
}

static const char ct_mode[] = "ct";

const struct bench_case weft_io_cases[] = {
	{ "io/block_on_read", 2, 2000, 50, 10, setup_read, run_read, teardown_read, NULL },
	{ "io/ct_block_on_read", 1, 2000, 50, 10, setup_read, run_read, teardown_read,
	  ct_mode },
	/* Value mode (ns per sample); workers and defaults as BENCH_EXTRA_CASES. */
	{ "wake/remote_idle", 0, 1000, 10, 1, setup_wake, NULL, teardown_wake, NULL, sample_wake,
	  "ns" },
#ifdef WEFT_HAVE_URING
	{ "wake/ring_eventfd", 1, 2000, 50, 1, setup_ring, NULL, teardown_ring, NULL, sample_ring,
	  "ns" },
	{ "wake/ring_msg", 1, 2000, 50, 1, setup_ring, NULL, teardown_ring, msg_mode, sample_ring,
	  "ns" },
#endif
};

const size_t weft_io_cases_len = BENCH_COUNT(weft_io_cases);

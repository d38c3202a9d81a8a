/*
 * examples/embed_poll.c - weft inside a plain poll() loop (weft/embed.h,
 * docs/embedding.md).
 *
 * The program owns its event loop.  A current-thread runtime lives inside
 * it: the loop polls weft's backend fd next to its own fd (a pipe it
 * writes to itself, standing for a host's own events), with weft's
 * timeout, and ticks the runtime when the fd is readable or the timeout
 * passed.  Three tasks run inside:
 *  - a timer: sleeps 50 ms and checks that it did not wake early;
 *  - a channel: receives three numbers that a plain thread sends;
 *  - a pipe: reads what the host loop writes into a pipe, with weft_read.
 * The loop ends when the three are done, and prints what they saw.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <weft.h>

/* ---- the tasks ------------------------------------------------------------ */

struct timer_task {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_runtime *rt;
	weft_sleep_future sleep;
	uint64_t start;
	int *ok;      /* 1: slept, never early */
	int *done;
};

static weft_poll timer_poll(weft_future *f, weft_cx *cx)
{
	struct timer_task *t = (struct timer_task *)f;

	WEFT_ASYNC_BEGIN(t);
	t->start = weft_now(t->rt);
	weft_sleep(&t->sleep, NULL, 50 * WEFT_MS);
	WEFT_AWAIT(t, cx, &t->sleep.base);
	*t->ok = t->sleep.result == 0 && weft_now(t->rt) >= t->start + 50 * WEFT_MS;
	weft_future_drop(&t->sleep.base);
	(*t->done)++;
	WEFT_ASYNC_END(t);
}

struct chan_task {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_rx *rx;
	weft_mpsc_recv_future recv;
	int value;
	int *count, *sum, *done;
};

static weft_poll chan_poll(weft_future *f, weft_cx *cx)
{
	struct chan_task *t = (struct chan_task *)f;

	WEFT_ASYNC_BEGIN(t);
	for (;;) {
		weft_mpsc_recv(t->rx, &t->value, &t->recv);
		WEFT_AWAIT(t, cx, &t->recv.base);
		weft_future_drop(&t->recv.base);
		if (t->recv.status != 0)
			break; /* -EPIPE: the sender is gone */
		(*t->count)++;
		*t->sum += t->value;
	}
	weft_mpsc_rx_release(t->rx);
	(*t->done)++;
	WEFT_ASYNC_END(t);
}

struct pipe_task {
	weft_future base;
	WEFT_ASYNC_STATE;
	int fd;
	weft_read read;
	char *buf;
	size_t cap, *got;
	int *done;
};

static weft_poll pipe_poll(weft_future *f, weft_cx *cx)
{
	struct pipe_task *t = (struct pipe_task *)f;

	WEFT_ASYNC_BEGIN(t);
	for (;;) {
		weft_read_init(&t->read, t->fd, t->buf + *t->got, t->cap - *t->got);
		WEFT_AWAIT(t, cx, &t->read.base);
		weft_future_drop(&t->read.base);
		if (t->read.result <= 0)
			break; /* end of file (or an error) */
		*t->got += (size_t)t->read.result;
	}
	(*t->done)++;
	WEFT_ASYNC_END(t);
}

/* ---- a plain thread that sends on the channel ------------------------------ */

static void *sender(void *arg)
{
	weft_mpsc_tx *tx = arg;
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 1; i <= 3; i++) {
		nanosleep(&pause, NULL);
		weft_mpsc_try_send(tx, (int[]){ i * 10 });
	}
	weft_mpsc_tx_release(tx); /* the receiver then sees -EPIPE */
	return NULL;
}

/* ---- the host loop ----------------------------------------------------------- */

int main(void)
{
	weft_runtime_config cfg = { .flavor = WEFT_RUNTIME_CURRENT_THREAD };
	static const char message[] = "hello through weft";
	weft_runtime *rt;
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	pthread_t th;
	int to_weft[2], wakeup[2], done = 0, ok = 0, count = 0, sum = 0;
	size_t got = 0, sent = 0;
	char buf[64];
	int fd;

	int err = weft_runtime_create(&cfg, &rt);

	if (err < 0) {
		fprintf(stderr, "weft_runtime_create: %s\n", strerror(-err));
		return 1;
	}
	if (weft_mpsc_unbounded(sizeof(int), &tx, &rx) < 0 || pipe2(to_weft, O_CLOEXEC) < 0 ||
	    pipe2(wakeup, O_CLOEXEC | O_NONBLOCK) < 0)
		return 1;
	fd = weft_runtime_backend_fd(rt);
	if (fd < 0)
		return 1;
	{
		struct timer_task t = { .base = { timer_poll, NULL }, .rt = rt, .ok = &ok, .done = &done };
		struct chan_task c = { .base = { chan_poll, NULL }, .rx = rx, .count = &count,
				       .sum = &sum, .done = &done };
		struct pipe_task p = { .base = { pipe_poll, NULL }, .fd = to_weft[0], .buf = buf,
				       .cap = sizeof(buf), .got = &got, .done = &done };

		weft_spawn(rt, &t.base, sizeof(t), NULL);
		weft_spawn(rt, &c.base, sizeof(c), NULL);
		weft_spawn(rt, &p.base, sizeof(p), NULL);
	}
	pthread_create(&th, NULL, sender, tx);
	/* The host's own event source: a byte in `wakeup` asks the loop to
	 * feed the next word of the message into the pipe weft reads. */
	if (write(wakeup[1], "", 1) != 1)
		return 1;
	printf("weft in a poll() loop\n");
	while (done < 3) {
		struct pollfd fds[2] = { { fd, POLLIN, 0 }, { wakeup[0], POLLIN, 0 } };
		int timeout;

		/* Run what is ready; a tick never blocks. */
		while (weft_runtime_tick(rt, WEFT_TICK_BUDGET) > 0)
			;
		if (done == 3)
			break;
		timeout = weft_runtime_backend_timeout(rt);
		if (poll(fds, 2, timeout) < 0 && errno != EINTR)
			return 1;
		if (fds[1].revents & POLLIN) {
			char c;
			size_t n = 0;

			while (read(wakeup[0], &c, 1) == 1)
				;
			/* One word per host event, then end of file. */
			while (sent + n < sizeof(message) - 1 && (n == 0 || message[sent + n - 1] != ' '))
				n++;
			if (n > 0 && write(to_weft[1], message + sent, n) == (ssize_t)n)
				sent += n;
			if (sent == sizeof(message) - 1) {
				close(to_weft[1]);
				sent++; /* closed: no more host events */
			} else if (write(wakeup[1], "", 1) != 1) {
				return 1;
			}
		}
	}
	pthread_join(th, NULL);
	printf("timer: slept 50 ms, %s\n", ok ? "never early" : "EARLY");
	printf("channel: %d messages from a plain thread, sum %d\n", count, sum);
	printf("pipe: read \"%.*s\" (%zu bytes)\n", (int)got, buf, got);
	printf("all three tasks done\n");
	weft_runtime_destroy(rt);
	close(to_weft[0]);
	close(wakeup[0]);
	close(wakeup[1]);
	return 0;
}

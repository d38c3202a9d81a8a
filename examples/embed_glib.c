/*
 * examples/embed_glib.c - weft inside a GLib main loop, as a GSource
 * (weft/embed.h, docs/embedding.md).
 *
 * A GSource needs four answers, and weft/embed.h has one call for each:
 *  - prepare: how long may the loop sleep?  weft_runtime_backend_timeout;
 *  - the fd the loop polls: weft_runtime_backend_fd (g_source_add_unix_fd);
 *  - check: is there work?  the fd is readable, or the timeout is 0;
 *  - dispatch: weft_runtime_tick.
 * GLib itself runs the program: its timeouts send numbers into a weft
 * channel, its idle callbacks write into a pipe that a weft task reads
 * with weft_read, and a weft task sleeps with weft_sleep.  When the three
 * tasks are done, the last dispatch quits the loop.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <weft.h>

/* ---- the GSource ----------------------------------------------------------- */

typedef struct {
	GSource source;
	weft_runtime *rt;
	gpointer tag; /* the backend fd, from g_source_add_unix_fd */
} WeftSource;

static gboolean weft_source_prepare(GSource *s, gint *timeout)
{
	WeftSource *w = (WeftSource *)s;

	*timeout = weft_runtime_backend_timeout(w->rt); /* -1: no timer */
	return *timeout == 0;
}

static gboolean weft_source_check(GSource *s)
{
	WeftSource *w = (WeftSource *)s;

	return (g_source_query_unix_fd(s, w->tag) & G_IO_IN) != 0 ||
	       weft_runtime_backend_timeout(w->rt) == 0;
}

static gboolean weft_source_dispatch(GSource *s, GSourceFunc callback, gpointer data)
{
	WeftSource *w = (WeftSource *)s;

	/* One budget per dispatch: when work is left, the next prepare says
	 * so (timeout 0) and GLib dispatches again after its other sources. */
	weft_runtime_tick(w->rt, WEFT_TICK_BUDGET);
	return callback != NULL ? callback(data) : G_SOURCE_CONTINUE;
}

static GSourceFuncs weft_source_funcs = {
	.prepare = weft_source_prepare,
	.check = weft_source_check,
	.dispatch = weft_source_dispatch,
};

/* A GSource that drives `rt` in the main context it is attached to. */
static GSource *weft_source_new(weft_runtime *rt)
{
	WeftSource *w = (WeftSource *)g_source_new(&weft_source_funcs, sizeof(WeftSource));

	w->rt = rt;
	w->tag = g_source_add_unix_fd(&w->source, weft_runtime_backend_fd(rt), G_IO_IN);
	return &w->source;
}

/* ---- the tasks (as in embed_poll.c) ------------------------------------------- */

struct results {
	int done, ok, count, sum;
	char buf[64];
	size_t got;
	GMainLoop *loop;
};

struct timer_task {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_runtime *rt;
	weft_sleep_future sleep;
	uint64_t start;
	struct results *res;
};

static weft_poll timer_poll(weft_future *f, weft_cx *cx)
{
	struct timer_task *t = (struct timer_task *)f;

	WEFT_ASYNC_BEGIN(t);
	t->start = weft_now(t->rt);
	weft_sleep(&t->sleep, NULL, 30 * WEFT_MS);
	WEFT_AWAIT(t, cx, &t->sleep.base);
	t->res->ok = t->sleep.result == 0 && weft_now(t->rt) >= t->start + 30 * WEFT_MS;
	weft_future_drop(&t->sleep.base);
	t->res->done++;
	WEFT_ASYNC_END(t);
}

struct chan_task {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_rx *rx;
	weft_mpsc_recv_future recv;
	int value;
	struct results *res;
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
		t->res->count++;
		t->res->sum += t->value;
	}
	weft_mpsc_rx_release(t->rx);
	t->res->done++;
	WEFT_ASYNC_END(t);
}

struct pipe_task {
	weft_future base;
	WEFT_ASYNC_STATE;
	int fd;
	weft_read read;
	struct results *res;
};

static weft_poll pipe_poll(weft_future *f, weft_cx *cx)
{
	struct pipe_task *t = (struct pipe_task *)f;
	struct results *r = t->res;

	WEFT_ASYNC_BEGIN(t);
	for (;;) {
		weft_read_init(&t->read, t->fd, r->buf + r->got, sizeof(r->buf) - r->got);
		WEFT_AWAIT(t, cx, &t->read.base);
		weft_future_drop(&t->read.base);
		if (t->read.result <= 0)
			break; /* end of file (or an error) */
		r->got += (size_t)t->read.result;
	}
	r->done++;
	WEFT_ASYNC_END(t);
}

/* ---- GLib's side ------------------------------------------------------------------ */

struct sender {
	weft_mpsc_tx *tx;
	int sent;
};

/* A GLib timeout: sends 10, 20, 30 into the weft channel, then closes it. */
static gboolean send_next(gpointer data)
{
	struct sender *s = data;

	if (s->sent == 3) {
		weft_mpsc_tx_release(s->tx); /* the receiver then sees -EPIPE */
		return G_SOURCE_REMOVE;
	}
	s->sent++;
	weft_mpsc_try_send(s->tx, (int[]){ s->sent * 10 });
	return G_SOURCE_CONTINUE;
}

struct writer {
	int fd;
	const char *words[4];
	int next;
};

/* A GLib idle callback: writes one word per call into the pipe. */
static gboolean write_next(gpointer data)
{
	struct writer *w = data;
	const char *word = w->words[w->next];

	if (word == NULL) {
		close(w->fd); /* end of file for the reader */
		return G_SOURCE_REMOVE;
	}
	if (write(w->fd, word, strlen(word)) < 0)
		return G_SOURCE_REMOVE;
	w->next++;
	return G_SOURCE_CONTINUE;
}

/* Runs after every tick: quits the loop once the three tasks are done. */
static gboolean after_tick(gpointer data)
{
	struct results *r = data;

	if (r->done == 3)
		g_main_loop_quit(r->loop);
	return G_SOURCE_CONTINUE;
}

int main(void)
{
	weft_runtime_config cfg = { .flavor = WEFT_RUNTIME_CURRENT_THREAD };
	struct results res = { 0 };
	struct sender snd;
	struct writer wr = { .words = { "hello ", "from ", "glib", NULL } };
	weft_runtime *rt;
	weft_mpsc_rx *rx;
	GSource *src;
	int fds[2];
	int err = weft_runtime_create(&cfg, &rt);

	if (err < 0) {
		fprintf(stderr, "weft_runtime_create: %s\n", strerror(-err));
		return 1;
	}
	if (weft_mpsc_unbounded(sizeof(int), &snd.tx, &rx) < 0 || pipe2(fds, O_CLOEXEC) < 0)
		return 1;
	snd.sent = 0;
	wr.fd = fds[1];
	res.loop = g_main_loop_new(NULL, FALSE);
	{
		struct timer_task t = { .base = { timer_poll, NULL }, .rt = rt, .res = &res };
		struct chan_task c = { .base = { chan_poll, NULL }, .rx = rx, .res = &res };
		struct pipe_task p = { .base = { pipe_poll, NULL }, .fd = fds[0], .res = &res };

		weft_spawn(rt, &t.base, sizeof(t), NULL);
		weft_spawn(rt, &c.base, sizeof(c), NULL);
		weft_spawn(rt, &p.base, sizeof(p), NULL);
	}
	src = weft_source_new(rt);
	g_source_set_callback(src, after_tick, &res, NULL);
	g_source_attach(src, NULL);
	g_timeout_add(10, send_next, &snd);
	g_idle_add(write_next, &wr);
	printf("weft inside a GLib main loop\n");
	g_main_loop_run(res.loop);
	printf("timer: slept 30 ms, %s\n", res.ok ? "never early" : "EARLY");
	printf("channel: %d messages from GLib timeouts, sum %d\n", res.count, res.sum);
	printf("pipe: read \"%.*s\" (%zu bytes)\n", (int)res.got, res.buf, res.got);
	printf("all three tasks done\n");
	g_source_destroy(src);
	g_source_unref(src);
	g_main_loop_unref(res.loop);
	weft_runtime_destroy(rt);
	close(fds[0]);
	return 0;
}

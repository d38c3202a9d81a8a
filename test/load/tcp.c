/*
 * Load: 10,000 concurrent TCP connections echoed on loopback, every byte
 * checked.
 *
 * The server and the clients run in two processes (so each needs one
 * descriptor per connection, not two: the hard RLIMIT_NOFILE is often
 * 20,000), each on its own 2-worker runtime of the backend WEFT_DRIVER
 * names.  The server task accepts through a weft_incoming stream and
 * spawns one echo task per connection.  NCONN client tasks each connect
 * (at most 256 connects in flight, through a semaphore, so that the listen
 * backlog never overflows), then wait on a notify until every client is
 * connected -- so all NCONN connections are open at once, on both sides --
 * and then write 8 KB of a per-connection pattern in 2 KB pieces, reading
 * each piece's echo back and checking every byte, and close.
 *
 * Checks: every client connected, finished and checked its 8 KB (the
 * client process reports the total through a pipe and exits 0); the
 * server accepted exactly NCONN (plus the one that stops it) and every
 * echo task ended having echoed NCONN * 8 KB in all; the server's open
 * descriptors are back to what they were; both runtimes' allocators get
 * every byte back.
 *
 * Needs RLIMIT_NOFILE of NCONN + 256 (raised here; exit 77 when it cannot
 * be) and NCONN ephemeral ports (exit 77 when the range is smaller).
 * 10,000 connections in the plain build, 1,000 under a sanitizer;
 * WEFT_LOAD_CONNS overrides.
 */
#include "net/net_test.h"

#include <signal.h>
#include <sys/wait.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LOAD_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define LOAD_SANITIZED 1
#endif
#endif

#ifdef LOAD_SANITIZED
#define DEFAULT_CONNS 1000L
#else
#define DEFAULT_CONNS 10000L
#endif

#define PIECE 2048
#define PIECES 4
#define CONNECTS_IN_FLIGHT 256

static weft_runtime *rt;
static long nconn;
static weft_semaphore connect_slots;
static weft_notify all_connected;
static _Atomic long connected, finished, accepted, bytes_checked, echoes_done, bytes_echoed;
static _Atomic bool stopping;

static unsigned char pattern(long conn, size_t i)
{
	return (unsigned char)(conn * 2654435761u + i * 31 + (i >> 7));
}

/* ---- server -------------------------------------------------------------- */

struct echo {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_socket s;
	size_t echoed;
	char buf[PIECE];
	weft_sock_read rd;
	weft_write_all_future wr;
};

static weft_poll echo_poll(weft_future *f, weft_cx *cx)
{
	struct echo *e = (struct echo *)f;

	WEFT_ASYNC_BEGIN(e);
	/* The server closes first, once it echoed what a client sends, so
	 * that TIME_WAIT lands on its side and the clients' ephemeral ports
	 * are free again at once (whatever net.ipv4.tcp_tw_reuse says). */
	while (e->echoed < PIECE * PIECES) {
		CHECK_EQ(weft_sock_read_init(&e->rd, &e->s, e->buf, sizeof e->buf), 0);
		WEFT_AWAIT(e, cx, &e->rd.base);
		weft_future_drop(&e->rd.base);
		CHECK(e->rd.result > 0);
		e->echoed += (size_t)e->rd.result;
		CHECK_EQ(weft_write_all_init(&e->wr, &e->s, e->buf, (size_t)e->rd.result), 0);
		WEFT_AWAIT(e, cx, &e->wr.base);
		weft_future_drop(&e->wr.base);
		CHECK_EQ(e->wr.result, 0);
		atomic_fetch_add(&bytes_echoed, e->rd.result);
	}
	CHECK_EQ(weft_socket_close(&e->s), 0);
	atomic_fetch_add(&echoes_done, 1);
	WEFT_ASYNC_END(e);
}

/* An echo dropped by the runtime's destroy before it ended closes its
 * connection. */
static void echo_drop(weft_future *f)
{
	struct echo *e = (struct echo *)f;

	if (e->s.fd >= 0)
		weft_socket_close(&e->s);
}

struct server {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_incoming *in;
	weft_incoming_next nx;
};

static weft_poll server_poll(weft_future *f, weft_cx *cx)
{
	struct server *s = (struct server *)f;
	struct echo e;

	WEFT_ASYNC_BEGIN(s);
	for (;;) {
		CHECK_EQ(weft_incoming_next_init(&s->nx, s->in), 0);
		WEFT_AWAIT(s, cx, &s->nx.base);
		weft_future_drop(&s->nx.base);
		CHECK_EQ(s->nx.result, 0);
		if (atomic_load(&stopping)) {
			CHECK_EQ(weft_socket_close(&s->nx.socket), 0);
			break;
		}
		atomic_fetch_add(&accepted, 1);
		memset(&e, 0, sizeof e);
		e.base.poll = echo_poll;
		e.base.drop = echo_drop;
		e.s = s->nx.socket;
		CHECK_EQ(weft_spawn(rt, &e.base, sizeof e, NULL), 0);
	}
	weft_incoming_finish(s->in);
	WEFT_ASYNC_END(s);
}

/* ---- clients ------------------------------------------------------------- */

struct client {
	weft_future base;
	WEFT_ASYNC_STATE;
	const weft_addr *addr;
	long id;
	size_t piece, got;
	unsigned char out[PIECE], in[PIECE];
	weft_semaphore_acquire_future slot;
	weft_connect_future c;
	weft_notify_future all;
	weft_socket s;
	weft_write_all_future wr;
	weft_sock_read rd;
};

static weft_poll client_poll(weft_future *f, weft_cx *cx)
{
	struct client *c = (struct client *)f;
	size_t i, off;

	WEFT_ASYNC_BEGIN(c);
	CHECK_EQ(weft_semaphore_acquire(&connect_slots, 1, &c->slot), 0);
	WEFT_AWAIT(c, cx, &c->slot.base);
	weft_future_drop(&c->slot.base);
	CHECK_EQ(c->slot.result, 0);
	CHECK_EQ(weft_connect_init(&c->c, c->addr), 0);
	WEFT_AWAIT(c, cx, &c->c.base);
	weft_future_drop(&c->c.base);
	CHECK_EQ(c->c.result, 0);
	c->s = c->c.socket;
	CHECK_EQ(weft_semaphore_release(&connect_slots, 1), 0);
	/* Created before the count goes up, so notify_waiters cannot miss it. */
	CHECK_EQ(weft_notify_notified(&all_connected, &c->all), 0);
	if (atomic_fetch_add(&connected, 1) + 1 == nconn)
		CHECK_EQ(weft_notify_waiters(&all_connected), 0);
	WEFT_AWAIT(c, cx, &c->all.base);
	weft_future_drop(&c->all.base);
	for (c->piece = 0; c->piece < PIECES; c->piece++) {
		off = c->piece * PIECE;
		for (i = 0; i < PIECE; i++)
			c->out[i] = pattern(c->id, off + i);
		CHECK_EQ(weft_write_all_init(&c->wr, &c->s, c->out, PIECE), 0);
		WEFT_AWAIT(c, cx, &c->wr.base);
		weft_future_drop(&c->wr.base);
		CHECK_EQ(c->wr.result, 0);
		for (c->got = 0; c->got < PIECE;) {
			CHECK_EQ(weft_sock_read_init(&c->rd, &c->s, c->in + c->got,
						     PIECE - c->got), 0);
			WEFT_AWAIT(c, cx, &c->rd.base);
			weft_future_drop(&c->rd.base);
			CHECK(c->rd.result > 0);
			c->got += (size_t)c->rd.result;
		}
		off = c->piece * PIECE;
		for (i = 0; i < PIECE; i++)
			CHECK_EQ(c->in[i], pattern(c->id, off + i));
		atomic_fetch_add(&bytes_checked, PIECE);
	}
	/* The server ends the stream first. */
	CHECK_EQ(weft_sock_read_init(&c->rd, &c->s, c->in, sizeof c->in), 0);
	WEFT_AWAIT(c, cx, &c->rd.base);
	weft_future_drop(&c->rd.base);
	CHECK_EQ(c->rd.result, 0);
	CHECK_EQ(weft_socket_close(&c->s), 0);
	atomic_fetch_add(&finished, 1);
	WEFT_ASYNC_END(c);
}

/* ---- the run ------------------------------------------------------------- */

/* Free ephemeral ports (ip_local_port_range), or -1 when unknown. */
static long port_range(void)
{
	long lo, hi;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &lo, &hi) != 2)
		hi = lo - 2;
	fclose(f);
	return hi - lo + 1;
}

/* The client process: NCONN client tasks on its own runtime.  Writes the
 * bytes it checked to `report` and exits 0, or fails a CHECK (exit 1). */
static void run_clients(const weft_addr *addr, int report)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_join_handle *h = calloc((size_t)nconn, sizeof(*h));
	long i, bytes;

	CHECK(h != NULL);
	rt = test_runtime(2, &alloc);
	CHECK_EQ(weft_semaphore_init(&connect_slots, CONNECTS_IN_FLIGHT), 0);
	CHECK_EQ(weft_notify_init(&all_connected), 0);
	for (i = 0; i < nconn; i++) {
		struct client c;

		memset(&c, 0, sizeof c);
		c.base.poll = client_poll;
		c.addr = addr;
		c.id = i;
		CHECK_EQ(weft_spawn(rt, &c.base, sizeof c, &h[i]), 0);
	}
	for (i = 0; i < nconn; i++) {
		CHECK_EQ(weft_join(&h[i]), 0);
		weft_join_detach(&h[i]);
	}
	CHECK_EQ(atomic_load(&connected), nconn);
	CHECK_EQ(atomic_load(&finished), nconn);
	bytes = (long)atomic_load(&bytes_checked);
	CHECK_EQ(bytes, nconn * PIECE * PIECES);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	weft_semaphore_finish(&connect_slots);
	weft_notify_finish(&all_connected);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
	CHECK_EQ(write(report, &bytes, sizeof bytes), (ssize_t)sizeof bytes);
	free(h);
	exit(0);
}

int main(void)
{
	const char *env = getenv("WEFT_LOAD_CONNS");
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_socket l;
	weft_addr addr;
	weft_incoming in;
	weft_join_handle sh;
	struct server srv;
	long i, ports, client_bytes = 0;
	int fds0, stop_fd, report[2], status;
	pid_t child;
	char driver[32];

	signal(SIGPIPE, SIG_IGN);
	nconn = env != NULL && atol(env) > 0 ? atol(env) : DEFAULT_CONNS;
	/* The clients run in a child process, so each process holds one end
	 * of every connection: NCONN descriptors and a few. */
	if (!net_raise_nofile((rlim_t)(nconn + 256))) {
		printf("cannot raise RLIMIT_NOFILE to %ld: skip\n", nconn + 256);
		return 77;
	}
	ports = port_range();
	if (ports >= 0 && ports < nconn + 1000) {
		printf("only %ld ephemeral ports for %ld connections: skip\n", ports, nconn);
		return 77;
	}
	fds0 = drv_open_fds();
	net_listen_any(&l, &addr);
	CHECK_EQ(pipe(report), 0);
	fflush(stdout);
	/* Fork before any runtime (no threads yet). */
	child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		close(report[0]);
		CHECK_EQ(weft_socket_close(&l), 0);
		run_clients(&addr, report[1]);
	}
	close(report[1]);
	rt = test_runtime(2, &alloc);
	CHECK_EQ(weft_incoming_init(&in, &l), 0);
	memset(&srv, 0, sizeof srv);
	srv.base.poll = server_poll;
	srv.in = &in;
	CHECK_EQ(weft_spawn(rt, &srv.base, sizeof srv, &sh), 0);
	CHECK_EQ(read(report[0], &client_bytes, sizeof client_bytes),
		 (ssize_t)sizeof client_bytes);
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(report[0]);
	CHECK_EQ(client_bytes, nconn * PIECE * PIECES);
	atomic_store(&stopping, true);
	stop_fd = net_plain_connect(&addr);
	CHECK_EQ(weft_join(&sh), 0);
	weft_join_detach(&sh);
	close(stop_fd);
	CHECK_EQ(atomic_load(&accepted), nconn);
	/* Every echo task ends on its own once its client closed (waiting for
	 * the condition; about a minute at most). */
	for (i = 0; i < 60000 && atomic_load(&echoes_done) < nconn; i++)
		test_sleep_ms(1);
	CHECK_EQ(atomic_load(&echoes_done), nconn);
	CHECK_EQ(atomic_load(&bytes_echoed), nconn * PIECE * PIECES);
	CHECK_EQ(weft_socket_close(&l), 0);
	snprintf(driver, sizeof driver, "%s", weft_runtime_driver(rt));
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(drv_open_fds(), fds0);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
	printf("%s: %ld connections open at once, %ld bytes echoed and checked\n", driver, nconn,
	       client_bytes);
	return 0;
}

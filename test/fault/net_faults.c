/*
 * Socket faults made real on loopback, on the backend WEFT_DRIVER names.
 *
 * EMFILE on accept: the test lowers the soft RLIMIT_NOFILE to 0, so that
 * the kernel cannot give an accepted connection a descriptor.  A single accept future and a next of
 * an incoming stream (multishot on io_uring) are then ready with -EMFILE
 * and hold no socket; once the limit is back, the connections that waited
 * in the backlog are accepted by the next futures and carry their bytes.
 * Then a server task on a 2-worker runtime loops on accept while the limit
 * is low: it sees -EMFILE, keeps running, and serves every client once the
 * limit is raised.
 *
 * ECONNRESET mid-read: the peer sets SO_LINGER to 0 and closes, which
 * sends a real RST.  A read already waiting in the driver is woken with
 * -ECONNRESET; a reader task in the middle of a 1 MB stream gets only bytes
 * of the stream, in order, then -ECONNRESET; a write after the reset fails
 * with -EPIPE or -ECONNRESET.  Nothing hangs.
 *
 * Leaks: every runtime runs on the counting allocator and must get every
 * byte back, and the process's open descriptors are counted
 * (/proc/self/fd) before and after each case.
 */
#include "net/net_test.h"

#include <signal.h>
#include <netinet/tcp.h>

/* Lowers the soft RLIMIT_NOFILE to 0, so that no new descriptor can be
 * made by any thread while the descriptors already open keep working;
 * *old gets the limit to restore.  (Filling the free numbers below a
 * lowered limit instead, as this test once did, depends on no thread
 * of the process freeing a number meanwhile: a free number below the
 * limit lets an accept succeed where the test waits for -EMFILE.) */
static void exhaust_fds(struct rlimit *old)
{
	struct rlimit lim;

	CHECK_EQ(getrlimit(RLIMIT_NOFILE, old), 0);
	lim = *old;
	lim.rlim_cur = 0;
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &lim), 0);
	CHECK_EQ(dup(0), -1); /* really nothing left */
	CHECK_EQ(errno, EMFILE);
}

static void restore_fds(const struct rlimit *old)
{
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, old), 0);
}

/* A client socket made (and its descriptor taken) before the limit. */
static int client_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	return fd;
}

static void client_connect(int fd, const weft_addr *addr)
{
	CHECK_EQ(connect(fd, (const struct sockaddr *)&addr->storage, addr->len), 0);
}

/* One round trip over an accepted socket: the client writes `tag`, the
 * server side reads it through weft and writes it back. */
static void round_trip(weft_runtime *rt, weft_socket *srv, int client, const char *tag)
{
	size_t n = strlen(tag);
	char buf[64];
	weft_sock_read rd;
	weft_write_all_future wr;

	net_write_full(client, tag, n);
	CHECK_EQ(weft_sock_read_init(&rd, srv, buf, sizeof(buf)), 0);
	net_block_on(rt, &rd.base);
	CHECK_EQ(rd.result, (long)n);
	CHECK(memcmp(buf, tag, n) == 0);
	CHECK_EQ(weft_write_all_init(&wr, srv, buf, n), 0);
	net_block_on(rt, &wr.base);
	CHECK_EQ(wr.result, 0);
	CHECK(net_read_full(client, buf, n));
	CHECK(memcmp(buf, tag, n) == 0);
}

static void emfile_futures(void)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime_config cfg = { 0 };
	weft_runtime *rt = NULL;
	weft_socket l;
	weft_addr addr;
	weft_accept_future acc;
	weft_incoming in;
	weft_incoming_next nx;
	struct rlimit old;
	int c1, c2, c3, fds0;

	fds0 = drv_open_fds();
	cfg.flavor = WEFT_RUNTIME_CURRENT_THREAD;
	cfg.allocator = &alloc;
	if (weft_runtime_create(&cfg, &rt) != 0) {
		printf("io_uring cannot start here: skip\n");
		exit(77);
	}
	if (drv_expected() != NULL)
		CHECK(strcmp(weft_runtime_driver(rt), drv_expected()) == 0);
	net_listen_any(&l, &addr);
	CHECK_EQ(weft_incoming_init(&in, &l), 0);
	c1 = client_socket();
	c2 = client_socket();
	c3 = client_socket();
	exhaust_fds(&old);
	client_connect(c1, &addr);
	client_connect(c2, &addr);
	/* A single accept: the connection waits in the backlog, the future
	 * reports -EMFILE and holds nothing. */
	CHECK_EQ(weft_accept_init(&acc, &l), 0);
	net_block_on(rt, &acc.base);
	CHECK_EQ(acc.result, -EMFILE);
	CHECK_EQ(acc.socket.fd, -1);
	/* The stream's next too (io_uring: the multishot accept ends). */
	CHECK_EQ(weft_incoming_next_init(&nx, &in), 0);
	net_block_on(rt, &nx.base);
	CHECK_EQ(nx.result, -EMFILE);
	CHECK_EQ(nx.socket.fd, -1);
	restore_fds(&old);
	/* Later accepts work and get the connections that waited. */
	CHECK_EQ(weft_accept_init(&acc, &l), 0);
	net_block_on(rt, &acc.base);
	CHECK_EQ(acc.result, 0);
	round_trip(rt, &acc.socket, c1, "first after EMFILE");
	CHECK_EQ(weft_incoming_next_init(&nx, &in), 0);
	net_block_on(rt, &nx.base);
	CHECK_EQ(nx.result, 0);
	round_trip(rt, &nx.socket, c2, "second, from the stream");
	CHECK_EQ(weft_socket_close(&nx.socket), 0);
	client_connect(c3, &addr);
	CHECK_EQ(weft_incoming_next_init(&nx, &in), 0);
	net_block_on(rt, &nx.base);
	CHECK_EQ(nx.result, 0);
	round_trip(rt, &nx.socket, c3, "a new one");
	CHECK_EQ(weft_socket_close(&nx.socket), 0);
	CHECK_EQ(weft_socket_close(&acc.socket), 0);
	weft_incoming_finish(&in);
	CHECK_EQ(weft_socket_close(&l), 0);
	close(c1);
	close(c2);
	close(c3);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(drv_open_fds(), fds0);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
}

/* ---- a server task that keeps running through EMFILE ------------------ */

#define SERVER_CLIENTS 4

/* What the server task (a copy of struct server) reports. */
struct server_stats {
	_Atomic int emfile, served, done, state;
};

struct server {
	weft_future base;
	weft_socket *l;
	struct server_stats *st;
	int state, served;
	weft_accept_future acc;
	weft_socket conn;
	char buf[8];
	weft_sock_read rd;
	weft_write_all_future wr;
};

/* Accepts SERVER_CLIENTS connections, answering each one's byte; counts
 * the -EMFILE accepts and goes on. */
static weft_poll server_poll(weft_future *f, weft_cx *cx)
{
	struct server *s = (struct server *)f;

	for (;;) {
		/* Relaxed: read by the main thread only to report a hang. */
		atomic_store_explicit(&s->st->state, s->state, memory_order_relaxed);
		switch (s->state) {
		case 0:
			if (s->served == SERVER_CLIENTS) {
				atomic_store(&s->st->served, s->served);
				atomic_store(&s->st->done, 1);
				return WEFT_READY;
			}
			CHECK_EQ(weft_accept_init(&s->acc, s->l), 0);
			s->state = 1;
			/* fall through */
		case 1:
			if (weft_future_poll(&s->acc.base, cx) == WEFT_PENDING)
				return WEFT_PENDING;
			weft_future_drop(&s->acc.base);
			s->state = 0;
			if (s->acc.result == -EMFILE) {
				atomic_fetch_add(&s->st->emfile, 1);
				/* Let the main thread run (and raise the limit). */
				weft_waker_wake_by_ref(weft_cx_waker(cx));
				return WEFT_PENDING;
			}
			CHECK_EQ(s->acc.result, 0);
			s->conn = s->acc.socket;
			CHECK_EQ(weft_sock_read_init(&s->rd, &s->conn, s->buf, 1), 0);
			s->state = 2;
			/* fall through */
		case 2:
			if (weft_future_poll(&s->rd.base, cx) == WEFT_PENDING)
				return WEFT_PENDING;
			weft_future_drop(&s->rd.base);
			CHECK_EQ(s->rd.result, 1);
			s->buf[0]++;
			CHECK_EQ(weft_write_all_init(&s->wr, &s->conn, s->buf, 1), 0);
			s->state = 3;
			/* fall through */
		case 3:
			if (weft_future_poll(&s->wr.base, cx) == WEFT_PENDING)
				return WEFT_PENDING;
			weft_future_drop(&s->wr.base);
			CHECK_EQ(s->wr.result, 0);
			CHECK_EQ(weft_socket_close(&s->conn), 0);
			s->served++;
			s->state = 0;
			break;
		}
	}
}

static void emfile_server(void)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime *rt;
	weft_socket l;
	weft_addr addr;
	weft_join_handle h;
	struct server_stats st = { 0, 0, 0, 0 };
	struct server srv;
	struct rlimit old;
	int c[SERVER_CLIENTS], i, fds0;
	char b;

	fds0 = drv_open_fds();
	rt = test_runtime(2, &alloc);
	memset(&srv, 0, sizeof(srv));
	srv.base.poll = server_poll;
	srv.l = &l;
	srv.st = &st;
	net_listen_any(&l, &addr);
	for (i = 0; i < SERVER_CLIENTS; i++)
		c[i] = client_socket();
	CHECK_EQ(weft_spawn(rt, &srv.base, sizeof(srv), &h), 0);
	/* The first client is served before the fault. */
	client_connect(c[0], &addr);
	net_write_full(c[0], "a", 1);
	CHECK(net_read_full(c[0], &b, 1));
	CHECK_EQ(b, 'b');
	/* The server closed that connection before the limit is lowered. */
	CHECK_EQ(read(c[0], &b, 1), 0);
	exhaust_fds(&old);
	client_connect(c[1], &addr);
	client_connect(c[2], &addr);
	/* Wait (for the condition, not for a time) until the server saw the
	 * fault at least twice: it kept going after the first. */
	for (i = 0; i < 20000 && atomic_load(&st.emfile) < 2; i++)
		test_sleep_ms(1);
	if (atomic_load(&st.emfile) < 2)
		fprintf(stderr, "server: %d -EMFILE accepts, %d served, in state %d\n",
			atomic_load(&st.emfile), atomic_load(&st.served), atomic_load(&st.state));
	CHECK(atomic_load(&st.emfile) >= 2);
	restore_fds(&old);
	for (i = 1; i < SERVER_CLIENTS; i++) {
		if (i == 3)
			client_connect(c[i], &addr);
		b = (char)('a' + i);
		net_write_full(c[i], &b, 1);
		CHECK(net_read_full(c[i], &b, 1));
		CHECK_EQ(b, 'a' + i + 1);
		close(c[i]);
	}
	close(c[0]);
	CHECK_EQ(weft_join(&h), 0);
	weft_join_detach(&h);
	CHECK_EQ(atomic_load(&st.done), 1);
	CHECK_EQ(atomic_load(&st.served), SERVER_CLIENTS);
	printf("server: %d accepts gave -EMFILE, %d clients served\n", atomic_load(&st.emfile),
	       atomic_load(&st.served));
	CHECK_EQ(weft_socket_close(&l), 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(drv_open_fds(), fds0);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
}

/* ---- ECONNRESET ------------------------------------------------------ */

/* Accepts one connection from a plain client; *client gets the client. */
static void plain_pair(weft_runtime *rt, weft_socket *srv, int *client)
{
	weft_socket l;
	weft_addr addr;
	weft_accept_future acc;

	net_listen_any(&l, &addr);
	*client = net_plain_connect(&addr);
	CHECK_EQ(weft_accept_init(&acc, &l), 0);
	net_block_on(rt, &acc.base);
	CHECK_EQ(acc.result, 0);
	*srv = acc.socket;
	CHECK_EQ(weft_socket_close(&l), 0);
}

/* Closes `fd` with a reset (SO_LINGER on, 0 s). */
static void reset_close(int fd)
{
	struct linger lg = { 1, 0 };

	CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	CHECK_EQ(close(fd), 0);
}

static void write_after_reset(weft_runtime *rt, weft_socket *s)
{
	weft_write_all_future wr;
	static const char data[4096];
	int i;

	/* The first write after a reset may still be taken by the kernel;
	 * a few later ones fail. */
	for (i = 0; i < 4; i++) {
		CHECK_EQ(weft_write_all_init(&wr, s, data, sizeof(data)), 0);
		net_block_on(rt, &wr.base);
		if (wr.result < 0)
			break;
	}
	CHECK(wr.result == -EPIPE || wr.result == -ECONNRESET);
}

static void reset_pending_read(void)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime_config cfg = { 0 };
	weft_runtime *rt = NULL;
	weft_socket s;
	weft_sock_read rd;
	char buf[64];
	int client, fds0;

	cfg.flavor = WEFT_RUNTIME_CURRENT_THREAD;
	cfg.allocator = &alloc;
	fds0 = drv_open_fds();
	CHECK_EQ(weft_runtime_create(&cfg, &rt), 0);
	plain_pair(rt, &s, &client);
	net_write_full(client, "before", 6);
	CHECK_EQ(weft_sock_read_init(&rd, &s, buf, sizeof(buf)), 0);
	net_block_on(rt, &rd.base);
	CHECK_EQ(rd.result, 6);
	CHECK(memcmp(buf, "before", 6) == 0);
	/* A read waiting in the driver when the reset arrives. */
	CHECK_EQ(weft_sock_read_init(&rd, &s, buf, sizeof(buf)), 0);
	CHECK(!net_poll_once(rt, &rd.base));
	reset_close(client);
	net_block_on(rt, &rd.base);
	CHECK_EQ(rd.result, -ECONNRESET);
	write_after_reset(rt, &s);
	CHECK_EQ(weft_socket_close(&s), 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(drv_open_fds(), fds0);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
}

#define STREAM (1u << 20)

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + (i >> 9));
}

/* Reads the stream until an error, checking every byte. */
struct reader_out {
	size_t got;
	long last;
};

struct reader {
	weft_future base;
	weft_socket *s;
	struct reader_out *out;
	size_t got;
	bool started;
	unsigned char buf[8192];
	weft_sock_read rd;
};

static weft_poll reader_poll(weft_future *f, weft_cx *cx)
{
	struct reader *r = (struct reader *)f;

	for (;;) {
		long i;

		if (!r->started) {
			CHECK_EQ(weft_sock_read_init(&r->rd, r->s, r->buf, sizeof(r->buf)), 0);
			r->started = true;
		}
		if (weft_future_poll(&r->rd.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		weft_future_drop(&r->rd.base);
		r->started = false;
		if (r->rd.result <= 0) {
			r->out->got = r->got;
			r->out->last = r->rd.result;
			return WEFT_READY;
		}
		for (i = 0; i < r->rd.result; i++)
			CHECK_EQ(r->buf[i], pattern(r->got + (size_t)i));
		r->got += (size_t)r->rd.result;
	}
}

static void reset_mid_stream(void)
{
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	int fds0 = drv_open_fds();
	weft_runtime *rt = test_runtime(2, &alloc);
	weft_socket s;
	weft_join_handle h;
	struct reader r;
	struct reader_out out = { 0, 0 };
	unsigned char *data = malloc(STREAM);
	size_t i, half = STREAM / 2;
	int client;

	CHECK(data != NULL);
	for (i = 0; i < STREAM; i++)
		data[i] = pattern(i);
	plain_pair(rt, &s, &client);
	memset(&r, 0, sizeof(r));
	r.base.poll = reader_poll;
	r.s = &s;
	r.out = &out;
	CHECK_EQ(weft_spawn(rt, &r.base, sizeof(r), &h), 0);
	/* Half the stream, then the reset while the reader is busy with it
	 * (it has read some, may be waiting for more). */
	net_write_full(client, data, half);
	reset_close(client);
	CHECK_EQ(weft_join(&h), 0);
	weft_join_detach(&h);
	/* Only stream bytes, in order (checked in the poll), and at most what
	 * was sent; the read that met the reset reports it. */
	CHECK(out.got <= half);
	CHECK_EQ(out.last, -ECONNRESET);
	printf("reset mid-stream: %zu of %zu bytes read and checked, then -ECONNRESET\n",
	       out.got, half);
	CHECK_EQ(weft_socket_close(&s), 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(drv_open_fds(), fds0);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
	free(data);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	emfile_futures();
	emfile_server();
	reset_pending_read();
	reset_mid_stream();
	printf("EMFILE on accept and ECONNRESET mid-read held\n");
	return 0;
}

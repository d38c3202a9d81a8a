/*
 * weft_incoming (a listener's stream of connections) on the backend
 * WEFT_DRIVER names, on both of its paths: multishot accept (io_uring) and
 * the single-accept fallback (epoll, and io_uring with the multishot
 * feature masked through weft__driver_mask_features), on a current-thread
 * and a 3-worker runtime.  Checks: 20 queued connections each arrive once,
 * non-blocking, with the right peer (the client's own port, and the byte it
 * sent); a next dropped while waiting loses no connection; a task serving
 * a loop of nexts while clients connect from a plain thread; finish with
 * connections the stream accepted but nobody took closes them (the peers
 * see end of stream or a reset once the listener is closed) and leaves no
 * descriptor open (/proc/self/fd counted); bad input.
 */
#include "net_test.h"


#define CLIENTS 20

#ifdef _WIN32
#include <windows.h>

/* Windows: the process's open handles (sockets are handles). */
static int count_fds(void)
{
	DWORD n = 0;

	CHECK(GetProcessHandleCount(GetCurrentProcess(), &n));
	return (int)n;
}
#else
static int count_fds(void)
{
	return drv_open_fds();
}
#endif

/* Reads one byte from a non-blocking socket, waiting with poll(2). */
static bool net_read_full_nb(int fd, char *b, size_t n)
{
	struct pollfd p = { fd, POLLIN, 0 };

	CHECK_EQ(n, 1);
	while (poll(&p, 1, -1) < 0)
		CHECK_EQ(errno, EINTR);
	return read(fd, b, 1) == 1;
}

static bool poll_once(weft_runtime *rt, weft_future *f)
{
	return net_poll_once(rt, f);
}

/* Takes one connection from `in` and checks it against clients[]. */
static void take_one(weft_runtime *rt, weft_incoming *in, const int *clients, bool *seen)
{
	weft_incoming_next nx;
	char b;
	int i, fl;

	CHECK_EQ(weft_incoming_next_init(&nx, in), 0);
	net_block_on(rt, &nx.base);
	CHECK_EQ(nx.result, 0);
	CHECK(nx.socket.fd >= 0);
	fl = fcntl(nx.socket.fd, F_GETFL);
	CHECK(fl & O_NONBLOCK);
	CHECK(fcntl(nx.socket.fd, F_GETFD) & FD_CLOEXEC);
	CHECK(net_read_full_nb(nx.socket.fd, &b, 1));
	i = (unsigned char)b;
	CHECK(i < CLIENTS && !seen[i]);
	seen[i] = true;
	{
		weft_addr local;

		CHECK_EQ(weft_socket_local_addr(&(weft_socket){ clients[i], SOCK_STREAM },
						&local), 0);
		CHECK_EQ(weft_addr_port(&nx.peer), weft_addr_port(&local));
	}
	CHECK_EQ(weft_socket_close(&nx.socket), 0);
}

static void burst(weft_runtime *rt, bool multi)
{
	weft_socket l;
	weft_addr addr;
	weft_incoming in;
	weft_incoming_next nx;
	int clients[CLIENTS], i;
	bool seen[CLIENTS] = { false };

	net_listen_any(&l, &addr);
	CHECK_EQ(weft_incoming_init(&in, &l), 0);
	/* A next dropped while nothing is pending. */
	CHECK_EQ(weft_incoming_next_init(&nx, &in), 0);
	CHECK(!poll_once(rt, &nx.base));
	weft_future_drop(&nx.base);
	CHECK_EQ(in.mode_, multi ? 1 : 2);
	for (i = 0; i < CLIENTS; i++) {
		char b = (char)i;

		clients[i] = net_plain_connect(&addr);
		net_write_full(clients[i], &b, 1);
	}
	for (i = 0; i < CLIENTS; i++)
		take_one(rt, &in, clients, seen);
	for (i = 0; i < CLIENTS; i++) {
		CHECK(seen[i]);
		close(clients[i]);
	}
	weft_incoming_finish(&in);
	CHECK_EQ(weft_incoming_next_init(&nx, &in), -EBADF);
	net_block_on(rt, &nx.base);
	CHECK_EQ(nx.result, -EBADF);
	CHECK_EQ(weft_socket_close(&l), 0);
}

/* Finish with connections accepted (multishot) but never taken.  The
 * cancel is made by the ring's owner (for a current-thread runtime: at the
 * next block_on or at destroy); the runtime is destroyed before the
 * clients look. */
static void finish_queued(weft_runtime *rt, bool multi)
{
	uint64_t closed0 = drv_counter(&weft__driver_counters.fd_closed);
	weft_socket l;
	weft_addr addr;
	weft_incoming in;
	weft_incoming_next nx;
	int clients[5], i;

	net_listen_any(&l, &addr);
	CHECK_EQ(weft_incoming_init(&in, &l), 0);
	for (i = 0; i < 5; i++)
		clients[i] = net_plain_connect(&addr);
	/* The first next takes one; the multishot may have queued the rest. */
	CHECK_EQ(weft_incoming_next_init(&nx, &in), 0);
	net_block_on(rt, &nx.base);
	CHECK_EQ(nx.result, 0);
	CHECK_EQ(weft_socket_close(&nx.socket), 0);
	CHECK_EQ(weft_incoming_next_init(&nx, &in), 0);
	poll_once(rt, &nx.base);
	if (nx.result == 0 && nx.socket.fd >= 0)
		CHECK_EQ(weft_socket_close(&nx.socket), 0);
	weft_future_drop(&nx.base);
	weft_incoming_finish(&in);
	weft_runtime_destroy(rt);
	CHECK_EQ(weft_socket_close(&l), 0);
	for (i = 0; i < 5; i++) {
		char b;
		ssize_t r;

		do
			r = read(clients[i], &b, 1);
		while (r < 0 && errno == EINTR);
		CHECK(r == 0 || (r < 0 && errno == ECONNRESET));
		close(clients[i]);
	}
	/* The multishot accept took the whole backlog at its first run, so
	 * the stream held connections that finish (or destroy) closed. */
	if (multi)
		CHECK(drv_counter(&weft__driver_counters.fd_closed) > closed0);
}

/* A runtime destroyed before finish: the queued connections are closed by
 * the driver; the stream is forgotten. */
static void destroy_first(unsigned workers, bool masked)
{
	weft_socket l;
	weft_addr addr;
	weft_incoming in;
	weft_incoming_next nx;
	weft_runtime *rt;
	int clients[3], i;

	atomic_store(&weft__driver_mask_features, masked ? WEFT__FEAT_ACCEPT_MULTI : 0u);
	rt = drv_runtime(workers);
	atomic_store(&weft__driver_mask_features, 0u);
	net_listen_any(&l, &addr);
	CHECK_EQ(weft_incoming_init(&in, &l), 0);
	for (i = 0; i < 3; i++)
		clients[i] = net_plain_connect(&addr);
	CHECK_EQ(weft_incoming_next_init(&nx, &in), 0);
	net_block_on(rt, &nx.base);
	CHECK_EQ(nx.result, 0);
	CHECK_EQ(weft_socket_close(&nx.socket), 0);
	weft_runtime_destroy(rt);
	CHECK_EQ(weft_socket_close(&l), 0);
	for (i = 0; i < 3; i++)
		close(clients[i]);
}

/* A task serving `n` nexts while a plain thread connects. */
struct server {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_incoming *in;
	weft_incoming_next nx;
	int n, i;
};

static weft_poll server_poll(weft_future *f, weft_cx *cx)
{
	struct server *s = (struct server *)f;

	WEFT_ASYNC_BEGIN(s);
	for (s->i = 0; s->i < s->n; s->i++) {
		CHECK_EQ(weft_incoming_next_init(&s->nx, s->in), 0);
		WEFT_AWAIT(s, cx, &s->nx.base);
		weft_future_drop(&s->nx.base);
		CHECK_EQ(s->nx.result, 0);
		net_write_full(s->nx.socket.fd, "k", 1);
		CHECK_EQ(weft_socket_close(&s->nx.socket), 0);
	}
	WEFT_ASYNC_END(s);
}

struct clients {
	weft_addr addr;
	int n;
};

static void *clients_main(void *arg)
{
	struct clients *c = arg;
	int i;

	for (i = 0; i < c->n; i++) {
		int fd = net_plain_connect(&c->addr);
		char b;

		CHECK(net_read_full(fd, &b, 1));
		CHECK_EQ(b, 'k');
		close(fd);
	}
	return NULL;
}

static void served(weft_runtime *rt)
{
	weft_socket l;
	weft_addr addr;
	weft_incoming in;
	struct server s;
	struct clients cl;
	weft_join_handle h;
	pthread_t th;
	int n = NET_TSAN ? 50 : 200;

	net_listen_any(&l, &addr);
	CHECK_EQ(weft_incoming_init(&in, &l), 0);
	memset(&s, 0, sizeof(s));
	s.base.poll = server_poll;
	s.in = &in;
	s.n = n;
	CHECK_EQ(weft_spawn(rt, &s.base, sizeof(s), &h), 0);
	cl.addr = addr;
	cl.n = n;
	CHECK_EQ(pthread_create(&th, NULL, clients_main, &cl), 0);
	/* block_on drives a current-thread runtime while the clients run. */
	CHECK_EQ(weft_block_on(rt, &h.base), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(h.status, 0);
	weft_join_detach(&h);
	weft_incoming_finish(&in);
	CHECK_EQ(weft_socket_close(&l), 0);
}

static void bad_input(weft_runtime *rt)
{
	weft_socket closed = WEFT_SOCKET_INIT;
	weft_incoming in;
	weft_incoming_next nx;

	CHECK_EQ(weft_incoming_init(NULL, &closed), -EINVAL);
	CHECK_EQ(weft_incoming_init(&in, NULL), -EINVAL);
	CHECK_EQ(weft_incoming_init(&in, &closed), -EBADF);
	CHECK_EQ(weft_incoming_next_init(&nx, &in), -EBADF);
	net_block_on(rt, &nx.base);
	CHECK_EQ(nx.result, -EBADF);
	weft_incoming_finish(&in);
	weft_incoming_finish(NULL);
	CHECK_EQ(weft_incoming_next_init(NULL, &in), -EINVAL);
	CHECK_EQ(weft_incoming_next_init(&nx, NULL), -EINVAL);
	net_block_on(rt, &nx.base);
	CHECK_EQ(nx.result, -EINVAL);
}

static void suite(unsigned workers, bool masked)
{
	int before = count_fds();
	weft_runtime *rt;
	bool multi;

	atomic_store(&weft__driver_mask_features, masked ? WEFT__FEAT_ACCEPT_MULTI : 0u);
	rt = drv_runtime(workers);
	atomic_store(&weft__driver_mask_features, 0u);
	multi = drv_is_uring(rt) && !masked;
	burst(rt, multi);
	served(rt);
	bad_input(rt);
	fprintf(stderr, "%s%s, %u workers: ok\n", multi ? "multishot " : "single ",
		weft_runtime_driver(rt), workers);
	finish_queued(rt, multi); /* destroys rt */
	destroy_first(workers, masked);
	CHECK_EQ(count_fds(), before);
}

int main(void)
{
	int pass;

	for (pass = 0; pass < 2; pass++) {
		suite(0, pass == 1);
		suite(3, pass == 1);
	}
	return 0;
}

/*
 * test/net/accept_drop.c - the accept and connect futures (weft_accept_init,
 * weft_connect_init, weft_incoming's single accepts) when they are dropped,
 * on every backend.  On IOCP they run as AcceptEx and ConnectEx (src/net/
 * sockops.c; the test checks that the operation is in the kernel while the
 * future waits), elsewhere as the syscall plus readiness; the promises are
 * the same:
 *  - an accept and a connect polled together both finish, each end knows
 *    its peer, and bytes flow both ways;
 *  - an accept dropped while it waits takes no connection: the next accept
 *    gets the next one;
 *  - an accept dropped right after its connection came (the AcceptEx may
 *    have it, or its packet may have been dispatched already) takes none
 *    either: the next accept gets that connection, nothing is closed for
 *    it, bytes flow;
 *  - of two accepts waiting on one listener, the one dropped after a
 *    connection came leaves it to the other (on IOCP the connection may
 *    be the dropped one's, which the drop kicks over to the other);
 *  - the same for a dropped weft_incoming_next and the next one;
 *  - a dropped connect leaves nothing open: every connection it made
 *    reads the end (or a reset) at the listener, and a refused connect
 *    reports -ECONNREFUSED with no socket;
 *  - the operation slots are all released afterwards.
 * Each on a current-thread runtime and on two workers.  Every wait for a
 * connection is bounded (20 s) and fails the test when it runs out.
 */
#include "net_test.h"

#include "weft/net.h"
#include "weft/time.h"

#include <string.h>

#define ROUNDS (NET_TSAN ? 12 : 40)
#define BOUND_NS (20ull * 1000000000u)

static bool is_iocp(weft_runtime *rt)
{
	return strcmp(weft_runtime_driver(rt), "iocp") == 0;
}

/* Runs `f` on rt for at most BOUND_NS; false when it ran out (the timeout
 * dropped it then).  The timeout owns the drop of f either way. */
static bool run_bounded(weft_runtime *rt, weft_future *f)
{
	weft_timeout_future t;
	bool ok;

	weft_timeout(&t, f, rt, BOUND_NS);
	CHECK_EQ(weft_block_on(rt, &t.base), 0);
	ok = t.result == 0;
	weft_future_drop(&t.base);
	return ok;
}

/* Drives rt until no slot is busy (IOCP; bounded). */
static void wait_released(weft_runtime *rt)
{
	int i;

	if (!is_iocp(rt))
		return;
	for (i = 0; i < 20000 && net_slots(rt, -1) != 0; i++) {
		weft_sleep_future sl;

		weft_sleep(&sl, rt, 1000000);
		net_block_on(rt, &sl.base);
	}
	CHECK_EQ(net_slots(rt, -1), 0);
}

/* An accept started and left pending (on IOCP with its AcceptEx out). */
static void start_accept(weft_runtime *rt, weft_accept_future *a, weft_socket *l)
{
	unsigned before = is_iocp(rt) ? net_slots(rt, WEFT__OP_ACCEPT) : 0;

	CHECK_EQ(weft_accept_init(a, l), 0);
	CHECK(!net_poll_once(rt, &a->base));
	if (is_iocp(rt))
		CHECK_EQ(net_slots(rt, WEFT__OP_ACCEPT), before + 1);
}

/* Accepts the next connection of l, bounded: the accepted socket. */
static weft_socket accept_next(weft_runtime *rt, weft_socket *l)
{
	weft_accept_future a;

	CHECK_EQ(weft_accept_init(&a, l), 0);
	CHECK(run_bounded(rt, &a.base));
	CHECK_EQ(a.result, 0);
	CHECK(a.socket.fd >= 0);
	return a.socket;
}

/* Sends `msg` from a to b and checks it arrives (futures, bounded). */
static void flow(weft_runtime *rt, weft_socket *a, weft_socket *b, const char *msg)
{
	size_t n = strlen(msg), got = 0;
	char buf[64];
	weft_write_all_future w;

	CHECK_EQ(weft_write_all_init(&w, a, msg, n), 0);
	CHECK(run_bounded(rt, &w.base));
	CHECK_EQ(w.result, 0);
	while (got < n) {
		weft_sock_read r;

		CHECK_EQ(weft_sock_read_init(&r, b, buf + got, sizeof(buf) - got), 0);
		CHECK(run_bounded(rt, &r.base));
		CHECK(r.result > 0);
		got += (size_t)r.result;
	}
	CHECK_EQ(got, n);
	CHECK(memcmp(buf, msg, n) == 0);
}

/* Polls two futures until both are ready. */
struct both {
	weft_future base;
	weft_future *a, *b;
	bool da, db;
};

static weft_poll both_poll(weft_future *f, weft_cx *cx)
{
	struct both *p = (struct both *)f;

	if (!p->da)
		p->da = weft_future_poll(p->a, cx) == WEFT_READY;
	if (!p->db)
		p->db = weft_future_poll(p->b, cx) == WEFT_READY;
	return p->da && p->db ? WEFT_READY : WEFT_PENDING;
}

static void both_drop(weft_future *f)
{
	struct both *p = (struct both *)f;

	weft_future_drop(p->a);
	weft_future_drop(p->b);
}

static void test_pairs(weft_runtime *rt, weft_socket *l, const weft_addr *addr)
{
	int i;

	for (i = 0; i < ROUNDS; i++) {
		weft_accept_future a;
		weft_connect_future c;
		struct both b = { { both_poll, both_drop }, &a.base, &c.base, false, false };
		weft_addr local, peer;
		weft_socket cs, ss;

		CHECK_EQ(weft_accept_init(&a, l), 0);
		CHECK_EQ(weft_connect_init(&c, addr), 0);
		CHECK(run_bounded(rt, &b.base));
		CHECK_EQ(a.result, 0);
		CHECK_EQ(c.result, 0);
		cs = c.socket;
		ss = a.socket;
		/* Both ends know their addresses (the contexts were updated). */
		CHECK_EQ(weft_socket_local_addr(&cs, &local), 0);
		CHECK_EQ(weft_socket_peer_addr(&cs, &peer), 0);
		CHECK_EQ(weft_addr_port(&peer), weft_addr_port(addr));
		CHECK_EQ(weft_addr_port(&a.peer), weft_addr_port(&local));
		flow(rt, &cs, &ss, "ping");
		flow(rt, &ss, &cs, "pong");
		CHECK_EQ(weft_socket_close(&cs), 0);
		CHECK_EQ(weft_socket_close(&ss), 0);
	}
}

/* Dropped while waiting: the next accept gets the next connection. */
static void test_drop_idle(weft_runtime *rt, weft_socket *l, const weft_addr *addr)
{
	weft_accept_future a;
	weft_socket c, s;

	start_accept(rt, &a, l);
	weft_future_drop(&a.base);
	wait_released(rt);
	CHECK_EQ(weft_socket_from_fd(&c, net_plain_connect(addr)), 0);
	s = accept_next(rt, l);
	flow(rt, &c, &s, "after an idle drop");
	CHECK_EQ(weft_socket_close(&c), 0);
	CHECK_EQ(weft_socket_close(&s), 0);
}

/* Dropped right after its connection came: the next accept has it. */
static void test_drop_race(weft_runtime *rt, weft_socket *l, const weft_addr *addr)
{
	uint64_t closed0 = drv_counter(&weft__driver_counters.fd_closed);
	int i;

	for (i = 0; i < ROUNDS; i++) {
		weft_accept_future a;
		weft_socket c, s;

		start_accept(rt, &a, l);
		CHECK_EQ(weft_socket_from_fd(&c, net_plain_connect(addr)), 0);
		/* Polled once more on odd rounds: it may finish then. */
		if (i % 2 == 1 && net_poll_once(rt, &a.base)) {
			CHECK_EQ(a.result, 0);
			s = a.socket;
		} else {
			weft_future_drop(&a.base);
			s = accept_next(rt, l);
		}
		flow(rt, &c, &s, "raced");
		CHECK_EQ(weft_socket_close(&c), 0);
		CHECK_EQ(weft_socket_close(&s), 0);
	}
	wait_released(rt);
	CHECK_EQ(drv_counter(&weft__driver_counters.fd_closed), closed0);
}

/* Two accepts wait; a connection comes; the first is dropped unpolled:
 * the second gets the connection. */
static void test_drop_one_of_two(weft_runtime *rt, weft_socket *l, const weft_addr *addr)
{
	int i;

	for (i = 0; i < ROUNDS; i++) {
		weft_accept_future a, b;
		weft_socket c, s;

		start_accept(rt, &a, l);
		start_accept(rt, &b, l);
		CHECK_EQ(weft_socket_from_fd(&c, net_plain_connect(addr)), 0);
		weft_future_drop(&a.base);
		CHECK(run_bounded(rt, &b.base));
		CHECK_EQ(b.result, 0);
		s = b.socket;
		flow(rt, &c, &s, "the other one");
		CHECK_EQ(weft_socket_close(&c), 0);
		CHECK_EQ(weft_socket_close(&s), 0);
	}
	wait_released(rt);
}

/* The same through an incoming stream (single accepts off io_uring). */
static void test_incoming(weft_runtime *rt, weft_socket *l, const weft_addr *addr)
{
	weft_incoming in;
	int i;

	CHECK_EQ(weft_incoming_init(&in, l), 0);
	for (i = 0; i < ROUNDS / 2; i++) {
		weft_incoming_next n;
		weft_socket c, s;

		CHECK_EQ(weft_incoming_next_init(&n, &in), 0);
		CHECK(!net_poll_once(rt, &n.base));
		if (i % 2 == 1)
			CHECK_EQ(weft_socket_from_fd(&c, net_plain_connect(addr)), 0);
		weft_future_drop(&n.base);
		if (i % 2 == 0)
			CHECK_EQ(weft_socket_from_fd(&c, net_plain_connect(addr)), 0);
		CHECK_EQ(weft_incoming_next_init(&n, &in), 0);
		CHECK(run_bounded(rt, &n.base));
		CHECK_EQ(n.result, 0);
		s = n.socket;
		flow(rt, &c, &s, "incoming");
		CHECK_EQ(weft_socket_close(&c), 0);
		CHECK_EQ(weft_socket_close(&s), 0);
	}
	weft_incoming_finish(&in);
	wait_released(rt);
}

/* Reads what the listener's end of a connection the dropped connect made
 * gets: the end of the stream or a reset, never bytes, bounded. */
static void check_ended(weft_runtime *rt, weft_socket *s)
{
	char buf[8];
	weft_sock_read r;

	CHECK_EQ(weft_sock_read_init(&r, s, buf, sizeof(buf)), 0);
	CHECK(run_bounded(rt, &r.base));
	CHECK(r.result == 0 || r.result == -ECONNRESET);
}

static void test_drop_connect(weft_runtime *rt)
{
	weft_socket l, s;
	weft_addr addr;
	int i, made = 0;

	net_listen_any(&l, &addr);
	for (i = 0; i < ROUNDS; i++) {
		weft_connect_future c;

		CHECK_EQ(weft_connect_init(&c, &addr), 0);
		if (net_poll_once(rt, &c.base)) {
			/* Connected within its poll: the socket is ours. */
			CHECK_EQ(c.result, 0);
			CHECK_EQ(weft_socket_close(&c.socket), 0);
		} else if (is_iocp(rt)) {
			CHECK_EQ(net_slots(rt, WEFT__OP_CONNECT), 1);
		}
		weft_future_drop(&c.base);
	}
	wait_released(rt);
	/* Every connection that was made ends (the dropped side closed). */
	while (weft_try_accept(&l, &s, NULL) == 0) {
		check_ended(rt, &s);
		CHECK_EQ(weft_socket_close(&s), 0);
		made++;
	}
	fprintf(stderr, "dropped connects that had connected: %d of %d\n", made, ROUNDS);
	/* A refused connect leaves no socket. */
	CHECK_EQ(weft_socket_close(&l), 0);
	{
		weft_connect_future c;
		int port_fd = net_refusing_port(&addr);

		CHECK_EQ(weft_connect_init(&c, &addr), 0);
		CHECK(run_bounded(rt, &c.base));
		CHECK_EQ(c.result, -ECONNREFUSED);
		CHECK_EQ(c.socket.fd, -1);
		close(port_fd);
	}
	wait_released(rt);
}

static void run(unsigned workers)
{
	weft_runtime *rt = drv_runtime(workers);
	bool iocp = is_iocp(rt);
	weft_socket l;
	weft_addr addr;

	net_listen_any(&l, &addr);
	test_pairs(rt, &l, &addr);
	test_drop_idle(rt, &l, &addr);
	test_drop_race(rt, &l, &addr);
	test_drop_one_of_two(rt, &l, &addr);
	test_incoming(rt, &l, &addr);
	CHECK_EQ(weft_socket_close(&l), 0);
	test_drop_connect(rt);
	wait_released(rt);
	weft_runtime_destroy(rt);
	fprintf(stderr, "%u workers (%s): ok\n", workers,
		iocp ? "AcceptEx and ConnectEx" : "syscalls and readiness");
}

int main(void)
{
	run(0);
	run(2);
	return 0;
}

/*
 * test/net/iocp_ops.c - the completion-based socket operations of the IOCP
 * driver (Windows only; runs under wine here): overlapped WSARecv and
 * WSASend (WEFT__OP_RECV / SEND), AcceptEx (WEFT__OP_ACCEPT) and ConnectEx
 * (WEFT__OP_CONNECT), driven through the operation layer (driver.h) as the
 * socket futures drive them.
 *
 *  - connect and accept: both complete, the accepted socket and the
 *    connected one know their peers (SO_UPDATE_ACCEPT_CONTEXT,
 *    SO_UPDATE_CONNECT_CONTEXT), and the bytes flow both ways;
 *  - 1 MiB echoed in random sizes through receives and sends, every byte
 *    checked;
 *  - a dropped receive, accept and connect release their slot, and a
 *    dropped receive or accept took nothing: the next one gets every byte
 *    (the connection), and the dropped future's buffer is never written;
 *  - receives dropped just after their data came lose nothing: what they
 *    took comes first to the next read, a plain recv or an operation;
 *  - the carry itself (src/net/carry_win32.c) under four threads: order,
 *    peeks, datagrams whole and alone, forgetting a socket;
 *  - an accept dropped after its connection came leaves it for the next
 *    accept (the listener's queue of connections, or its backlog) and
 *    closes nothing; its slot is released either way;
 *  - all of it on a current-thread runtime and on two workers, where
 *    several echoes run as tasks at once (the port's packets dispatched
 *    on several threads).
 */
#include "net_test.h"

#include "weft/net.h"
#include "weft/time.h"

#include <string.h>

/* One operation as a future: started at its first poll, ready with its
 * result; a drop lets go of it (weft__io_cancel). */
struct opf {
	weft_future base;
	struct weft__io_req req;
	struct weft__io_op h;
	bool started;
	int32_t res;
	void *out;
	size_t out_len;
};

static weft_poll opf_poll(weft_future *f, weft_cx *cx)
{
	struct opf *o = (struct opf *)f;

	if (!o->started) {
		int err = weft__io_start(&o->h, &o->req);

		o->started = true;
		if (err < 0) {
			o->res = err;
			return WEFT_READY;
		}
	}
	if (o->h.dt == NULL)
		return WEFT_READY;
	return weft__io_poll(&o->h, cx, &o->res, o->out, o->out_len);
}

/* A receive is dropped the way src/net drops a read (weft__net_read_drop):
 * what the driver settled went to the carry already, and what a receive
 * that completed, but was not polled yet, holds in its slot (a worker may
 * reap it between the poll and the drop) goes there too. */
static void opf_drop(weft_future *f)
{
	struct opf *o = (struct opf *)f;
	char tmp[512];
	long n;

	if (o->req.kind != WEFT__OP_RECV || o->req.len > sizeof(tmp)) {
		weft__io_cancel(&o->h);
		return;
	}
	n = weft__io_cancel_recv(&o->h, tmp, o->req.len);
	if (n > 0)
		CHECK_EQ(weft__w_carry_put(o->req.fd, tmp, (size_t)n, false), 0);
}

static struct opf opf_make(enum weft__op_kind kind, int fd, const void *data, size_t len,
			   void *out)
{
	struct opf o;

	memset(&o, 0, sizeof(o));
	o.base.poll = opf_poll;
	o.base.drop = opf_drop;
	o.req.kind = kind;
	o.req.fd = fd;
	o.req.data = data;
	o.req.len = len;
	o.out = out;
	o.out_len = out != NULL ? len : 0;
	return o;
}

/* Runs one operation to its result on rt. */
static int32_t run_op(weft_runtime *rt, enum weft__op_kind kind, int fd, const void *data,
		      size_t len, void *out)
{
	struct opf o = opf_make(kind, fd, data, len, out);

	CHECK_EQ(weft_block_on(rt, &o.base), 0);
	weft_future_drop(&o.base);
	return o.res;
}

/* run_op with a deadline of 20 s: -ETIMEDOUT when the operation does
 * not finish (a receive waiting for bytes that were lost). */
static int32_t run_op_bounded(weft_runtime *rt, enum weft__op_kind kind, int fd,
			      const void *data, size_t len, void *out)
{
	struct opf o = opf_make(kind, fd, data, len, out);
	weft_timeout_future t;

	weft_timeout(&t, &o.base, rt, 20ull * 1000000000u);
	CHECK_EQ(weft_block_on(rt, &t.base), 0);
	weft_future_drop(&t.base);
	return t.result == -ETIMEDOUT ? -ETIMEDOUT : o.res;
}

/* Drives rt (short sleeps, whose waits reap the port) until no slot is
 * busy; bounded. */
static void wait_released(weft_runtime *rt)
{
	int i;

	for (i = 0; i < 20000 && net_slots(rt, -1) != 0; i++) {
		weft_sleep_future sl;

		weft_sleep(&sl, rt, 1000000);
		net_block_on(rt, &sl.base);
	}
	CHECK_EQ(net_slots(rt, -1), 0);
}

/* A bare non-blocking TCP socket of the family of `to`. */
static int bare_socket(const weft_addr *to)
{
	int fd = socket(to->storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	return fd;
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

/* A connected pair made by ConnectEx and AcceptEx: *client, *server. */
static void op_pair(weft_runtime *rt, weft_socket *l, const weft_addr *addr,
		    weft_socket *client, weft_socket *server)
{
	int cfd = bare_socket(addr);
	struct opf c = opf_make(WEFT__OP_CONNECT, cfd, &addr->storage, addr->len, NULL);
	struct opf a = opf_make(WEFT__OP_ACCEPT, l->fd, NULL, 0, NULL);
	struct both b = { { both_poll, NULL }, &a.base, &c.base, false, false };

	CHECK_EQ(weft_block_on(rt, &b.base), 0);
	CHECK_EQ(c.res, 0);
	/* The accept queued its connection for the listener's next accept. */
	CHECK_EQ(a.res, -EAGAIN);
	CHECK_EQ(weft_socket_from_fd(client, cfd), 0);
	CHECK_EQ(weft_try_accept(l, server, NULL), 0);
}

static void test_connect_accept(weft_runtime *rt, weft_socket *l, const weft_addr *addr)
{
	weft_socket c, s;
	weft_addr cl, cp, sl, sp;
	char buf[8];

	op_pair(rt, l, addr, &c, &s);
	/* The contexts were updated: both ends know their addresses. */
	CHECK_EQ(weft_socket_local_addr(&c, &cl), 0);
	CHECK_EQ(weft_socket_peer_addr(&c, &cp), 0);
	CHECK_EQ(weft_socket_local_addr(&s, &sl), 0);
	CHECK_EQ(weft_socket_peer_addr(&s, &sp), 0);
	CHECK_EQ(weft_addr_port(&cp), weft_addr_port(addr));
	CHECK_EQ(weft_addr_port(&sp), weft_addr_port(&cl));
	CHECK_EQ(weft_addr_port(&sl), weft_addr_port(addr));
	CHECK_EQ(run_op(rt, WEFT__OP_SEND, c.fd, "ping", 4, NULL), 4);
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(run_op(rt, WEFT__OP_RECV, s.fd, NULL, 4, buf), 4);
	CHECK(memcmp(buf, "ping", 4) == 0);
	CHECK_EQ(run_op(rt, WEFT__OP_SEND, s.fd, "pong", 4, NULL), 4);
	CHECK_EQ(run_op(rt, WEFT__OP_RECV, c.fd, NULL, 4, buf), 4);
	CHECK(memcmp(buf, "pong", 4) == 0);
	/* A receive of nothing answers 0 at once, with data waiting or not. */
	CHECK_EQ(run_op(rt, WEFT__OP_RECV, s.fd, NULL, 0, buf), 0);
	/* The end of the stream is a receive of 0. */
	CHECK_EQ(weft_socket_shutdown(&c, WEFT_SHUT_WRITE), 0);
	CHECK_EQ(run_op(rt, WEFT__OP_RECV, s.fd, NULL, 4, buf), 0);
	CHECK_EQ(weft_socket_close(&c), 0);
	CHECK_EQ(weft_socket_close(&s), 0);
	/* A connect to a port nobody listens on is refused. */
	{
		weft_addr a2;
		int port_fd = net_refusing_port(&a2), fd;

		fd = bare_socket(&a2);
		CHECK_EQ(run_op(rt, WEFT__OP_CONNECT, fd, &a2.storage, a2.len, NULL),
			 -ECONNREFUSED);
		close(fd);
		close(port_fd);
	}
	CHECK_EQ(net_slots(rt, -1), 0);
}

/* ---- 1 MiB echoed in random sizes ------------------------------------------ */

#define ECHO_BYTES (1u << 20)

static uint32_t rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*s >> 33);
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 131u + (i >> 9));
}

/* The echo server: receives in random sizes, sends every byte back, and
 * at the end of the stream ends its own side. */
struct echo_srv {
	weft_future base;
	weft_socket *s;
	int fd;
	uint64_t rng;
	struct opf op;
	bool sending;
	char buf[65536];
	size_t have, sent, total;
};

static weft_poll srv_poll(weft_future *f, weft_cx *cx)
{
	struct echo_srv *e = (struct echo_srv *)f;

	for (;;) {
		if (!e->op.started) {
			if (e->sending)
				e->op = opf_make(WEFT__OP_SEND, e->fd, e->buf + e->sent,
						 e->have - e->sent, NULL);
			else
				e->op = opf_make(WEFT__OP_RECV, e->fd, NULL,
						 1 + rnd(&e->rng) % sizeof(e->buf), e->buf);
		}
		if (weft_future_poll(&e->op.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		CHECK(e->op.res >= 0);
		e->op.started = false;
		if (!e->sending) {
			if (e->op.res == 0) {
				CHECK_EQ(weft_socket_shutdown(e->s, WEFT_SHUT_WRITE), 0);
				return WEFT_READY;
			}
			e->have = (size_t)e->op.res;
			e->total += e->have;
			e->sent = 0;
			e->sending = true;
		} else {
			e->sent += (size_t)e->op.res;
			e->sending = e->sent < e->have;
		}
	}
}

/* The client's writer: sends the pattern in random sizes, then shuts its
 * side down. */
struct echo_tx {
	weft_future base;
	weft_socket *s;
	size_t total;
	uint64_t rng;
	struct opf op;
	unsigned char chunk[65536];
	size_t off;
};

static weft_poll tx_poll(weft_future *f, weft_cx *cx)
{
	struct echo_tx *t = (struct echo_tx *)f;

	while (t->off < t->total) {
		if (!t->op.started) {
			size_t n = 1 + rnd(&t->rng) % sizeof(t->chunk), i;

			if (n > t->total - t->off)
				n = t->total - t->off;
			for (i = 0; i < n; i++)
				t->chunk[i] = pattern(t->off + i);
			t->op = opf_make(WEFT__OP_SEND, t->s->fd, t->chunk, n, NULL);
		}
		if (weft_future_poll(&t->op.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		CHECK(t->op.res > 0);
		t->op.started = false;
		/* A short send: the rest goes with the next, from the pattern. */
		t->off += (size_t)t->op.res;
	}
	CHECK_EQ(weft_socket_shutdown(t->s, WEFT_SHUT_WRITE), 0);
	return WEFT_READY;
}

/* The client's reader: receives in random sizes and checks every byte. */
struct echo_rx {
	weft_future base;
	int fd;
	size_t total;
	uint64_t rng;
	struct opf op;
	unsigned char buf[65536];
	size_t got;
};

static weft_poll rx_poll(weft_future *f, weft_cx *cx)
{
	struct echo_rx *r = (struct echo_rx *)f;
	size_t i;

	for (;;) {
		if (!r->op.started)
			r->op = opf_make(WEFT__OP_RECV, r->fd, NULL,
					 1 + rnd(&r->rng) % sizeof(r->buf), r->buf);
		if (weft_future_poll(&r->op.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		CHECK(r->op.res >= 0);
		r->op.started = false;
		if (r->op.res == 0)
			return WEFT_READY;
		for (i = 0; i < (size_t)r->op.res; i++)
			CHECK_EQ(r->buf[i], pattern(r->got + i));
		r->got += (size_t)r->op.res;
		CHECK(r->got <= r->total);
	}
}

static void test_echo(weft_runtime *rt, weft_socket *l, const weft_addr *addr)
{
	static struct echo_srv srv;
	static struct echo_tx tx;
	static struct echo_rx rx;
	weft_socket c, s;
	struct both cli = { { both_poll, NULL }, &tx.base, &rx.base, false, false };
	struct both all = { { both_poll, NULL }, &srv.base, &cli.base, false, false };

	op_pair(rt, l, addr, &c, &s);
	memset(&srv, 0, sizeof(srv));
	memset(&tx, 0, sizeof(tx));
	memset(&rx, 0, sizeof(rx));
	srv.base.poll = srv_poll;
	srv.s = &s;
	srv.fd = s.fd;
	srv.rng = 1;
	tx.base.poll = tx_poll;
	tx.s = &c;
	tx.total = ECHO_BYTES;
	tx.rng = 2;
	rx.base.poll = rx_poll;
	rx.fd = c.fd;
	rx.total = ECHO_BYTES;
	rx.rng = 3;
	CHECK_EQ(weft_block_on(rt, &all.base), 0);
	CHECK_EQ(srv.total, ECHO_BYTES);
	CHECK_EQ(rx.got, ECHO_BYTES);
	CHECK_EQ(weft_socket_close(&c), 0);
	CHECK_EQ(weft_socket_close(&s), 0);
	CHECK_EQ(net_slots(rt, -1), 0);
}

/*
 * The same echo on every worker at once: PAIRS connections, each with its
 * server, writer and reader spawned as tasks of a multi-threaded runtime,
 * so that submissions, cancels-free completions and dispatches of one
 * port's packets run on several threads.
 */
#define PAIRS 4
#define MT_BYTES (256u << 10)

static void test_echo_tasks(weft_runtime *rt, weft_socket *l, const weft_addr *addr)
{
	static struct echo_srv srv[PAIRS];
	static struct echo_tx tx[PAIRS];
	static struct echo_rx rx[PAIRS];
	weft_socket c[PAIRS], s[PAIRS];
	weft_join_handle h[3 * PAIRS];
	int i;

	for (i = 0; i < PAIRS; i++) {
		op_pair(rt, l, addr, &c[i], &s[i]);
		memset(&srv[i], 0, sizeof(srv[i]));
		memset(&tx[i], 0, sizeof(tx[i]));
		memset(&rx[i], 0, sizeof(rx[i]));
		srv[i].base.poll = srv_poll;
		srv[i].s = &s[i];
		srv[i].fd = s[i].fd;
		srv[i].rng = 10u + (unsigned)i;
		tx[i].base.poll = tx_poll;
		tx[i].s = &c[i];
		tx[i].total = MT_BYTES;
		tx[i].rng = 20u + (unsigned)i;
		rx[i].base.poll = rx_poll;
		rx[i].fd = c[i].fd;
		rx[i].total = MT_BYTES;
		rx[i].rng = 30u + (unsigned)i;
		CHECK_EQ(weft_spawn(rt, &srv[i].base, sizeof(srv[i]), &h[3 * i]), 0);
		CHECK_EQ(weft_spawn(rt, &tx[i].base, sizeof(tx[i]), &h[3 * i + 1]), 0);
		CHECK_EQ(weft_spawn(rt, &rx[i].base, sizeof(rx[i]), &h[3 * i + 2]), 0);
	}
	for (i = 0; i < 3 * PAIRS; i++) {
		CHECK_EQ(weft_block_on(rt, &h[i].base), 0);
		CHECK_EQ(h[i].status, 0);
		weft_join_detach(&h[i]);
	}
	for (i = 0; i < PAIRS; i++) {
		CHECK_EQ(weft_socket_close(&c[i]), 0);
		CHECK_EQ(weft_socket_close(&s[i]), 0);
	}
	CHECK_EQ(net_slots(rt, -1), 0);
}

/* ---- cancellation -------------------------------------------------------------- */

/* A receive with nothing to read, dropped: its slot goes, it took nothing
 * and wrote nothing, and the next receive gets every byte. */
static void test_drop_recv(weft_runtime *rt, weft_socket *l, const weft_addr *addr)
{
	weft_socket c, s;
	char mine[64], buf[64];
	struct opf o;

	op_pair(rt, l, addr, &c, &s);
	memset(mine, 'x', sizeof(mine));
	o = opf_make(WEFT__OP_RECV, s.fd, NULL, sizeof(mine), mine);
	CHECK(!net_poll_once(rt, &o.base));
	weft_future_drop(&o.base);
	wait_released(rt);
	CHECK_EQ(run_op(rt, WEFT__OP_SEND, c.fd, "0123456789", 10, NULL), 10);
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(run_op(rt, WEFT__OP_RECV, s.fd, NULL, sizeof(buf), buf), 10);
	CHECK(memcmp(buf, "0123456789", 10) == 0);
	/* The dropped future's buffer was never handed to the kernel. */
	for (size_t i = 0; i < sizeof(mine); i++)
		CHECK_EQ(mine[i], 'x');
	CHECK_EQ(weft_socket_close(&c), 0);
	CHECK_EQ(weft_socket_close(&s), 0);
}

/*
 * Receives dropped right after their data came: the overlapped receive
 * has most likely taken the bytes before the cancel reaches it.  Nothing
 * is lost or reordered: the drop keeps what it took for the next read
 * (the carry), which the reads after it, plain recv calls and receive
 * operations in turn, return first.  Every byte of the stream is checked
 * in order.
 */
static void test_drop_recv_race(weft_runtime *rt, weft_socket *l, const weft_addr *addr)
{
	weft_socket c, s;
	unsigned char out[300], in[512];
	size_t sent = 0, got = 0, i;
	unsigned carried = 0;
	int round;

	op_pair(rt, l, addr, &c, &s);
	for (round = 0; round < 40; round++) {
		size_t n = 1 + (size_t)(round * 37) % sizeof(out);
		char mine[64];
		struct opf o;
		long k;

		for (i = 0; i < n; i++)
			out[i] = pattern(sent + i);
		CHECK_EQ(run_op(rt, WEFT__OP_SEND, c.fd, out, n, NULL), (int32_t)n);
		sent += n;
		memset(mine, 'x', sizeof(mine));
		o = opf_make(WEFT__OP_RECV, s.fd, NULL, 1 + (size_t)round % sizeof(mine), mine);
		if (net_poll_once(rt, &o.base)) {
			/* Done in its poll: its bytes are ours. */
			CHECK(o.res > 0);
			for (i = 0; i < (size_t)o.res; i++)
				CHECK_EQ((unsigned char)mine[i], pattern(got + i));
			got += (size_t)o.res;
		}
		weft_future_drop(&o.base);
		if (weft__w_carry_take(s.fd, in, 1, true) > 0)
			carried++;
		/* Everything sent so far, by plain reads and operations in turn
		 * (the operation's socket is known to have all of it). */
		while (got < sent) {
			size_t want = sent - got < sizeof(in) ? sent - got : sizeof(in);

			k = round % 2 == 0 ? -EAGAIN : weft_try_read(&s, in, want);
			if (k == -EAGAIN)
				k = run_op_bounded(rt, WEFT__OP_RECV, s.fd, NULL, want, in);
			CHECK(k > 0);
			for (i = 0; i < (size_t)k; i++)
				CHECK_EQ(in[i], pattern(got + i));
			got += (size_t)k;
		}
	}
	fprintf(stderr, "dropped receives that had taken bytes: %u of 40\n", carried);
	wait_released(rt);
	CHECK_EQ(weft_socket_close(&c), 0);
	CHECK_EQ(weft_socket_close(&s), 0);
}

/* An accept with no connection, dropped: its slot goes and the next
 * connection waits for the next accept. */
static void test_drop_accept(weft_runtime *rt, weft_socket *l, const weft_addr *addr)
{
	struct opf o = opf_make(WEFT__OP_ACCEPT, l->fd, NULL, 0, NULL);
	weft_socket c, s;
	int32_t fd;
	char buf[4];

	CHECK(!net_poll_once(rt, &o.base));
	weft_future_drop(&o.base);
	wait_released(rt);
	CHECK_EQ(weft_socket_from_fd(&c, net_plain_connect(addr)), 0);
	/* The attempt would find it in the backlog; the operation queues it. */
	fd = run_op(rt, WEFT__OP_ACCEPT, l->fd, NULL, 0, NULL);
	CHECK_EQ(fd, -EAGAIN);
	CHECK_EQ(weft_try_accept(l, &s, NULL), 0);
	CHECK_EQ(run_op(rt, WEFT__OP_SEND, c.fd, "abc", 3, NULL), 3);
	CHECK_EQ(run_op(rt, WEFT__OP_RECV, s.fd, NULL, 3, buf), 3);
	CHECK(memcmp(buf, "abc", 3) == 0);
	CHECK_EQ(weft_socket_close(&c), 0);
	CHECK_EQ(weft_socket_close(&s), 0);
}

/* An accept dropped while its connection is already there: whether the
 * AcceptEx had it or not, the connection waits for the next accept (the
 * listener's queue or its backlog), nothing was closed for it, and the
 * bytes flow.  The slot goes either way. */
static void test_drop_accept_race(weft_runtime *rt, weft_socket *l, const weft_addr *addr)
{
	uint64_t closed0 = drv_counter(&weft__driver_counters.fd_closed);
	weft_socket c, s;
	char buf[4];
	int i;

	for (i = 0; i < 8; i++) {
		struct opf o;

		CHECK_EQ(weft_socket_from_fd(&c, net_plain_connect(addr)), 0);
		o = opf_make(WEFT__OP_ACCEPT, l->fd, NULL, 0, NULL);
		if (net_poll_once(rt, &o.base))
			CHECK_EQ(o.res, -EAGAIN); /* done in its poll: queued */
		weft_future_drop(&o.base);
		wait_released(rt);
		CHECK_EQ(weft_try_accept(l, &s, NULL), 0);
		CHECK_EQ(run_op(rt, WEFT__OP_SEND, c.fd, "xyz", 3, NULL), 3);
		CHECK_EQ(run_op(rt, WEFT__OP_RECV, s.fd, NULL, 3, buf), 3);
		CHECK(memcmp(buf, "xyz", 3) == 0);
		CHECK_EQ(weft_socket_close(&s), 0);
		CHECK_EQ(weft_socket_close(&c), 0);
	}
	CHECK_EQ(drv_counter(&weft__driver_counters.fd_closed), closed0);
}

/* A connect dropped at once: its slot goes, and the socket closes
 * cleanly whether the cancel or the connection won.  (A listener of its
 * own: the connections that won wait in its backlog.) */
static void test_drop_connect(weft_runtime *rt)
{
	weft_socket l;
	weft_addr a;
	const weft_addr *addr = &a;
	int i;

	net_listen_any(&l, &a);

	for (i = 0; i < 8; i++) {
		int fd = bare_socket(addr);
		struct opf o = opf_make(WEFT__OP_CONNECT, fd, &addr->storage, addr->len, NULL);

		if (net_poll_once(rt, &o.base))
			CHECK(o.res == 0 || o.res == -ECANCELED);
		weft_future_drop(&o.base);
		wait_released(rt);
		CHECK_EQ(close(fd), 0);
	}
	CHECK_EQ(weft_socket_close(&l), 0);
}

/*
 * The carry under threads: each thread carries numbered chunks for its own
 * socket value (stream chunks of random sizes, then datagrams) while the
 * others do the same on the shared list, and takes them back in random
 * read sizes: every byte in order, every datagram whole and alone.
 */
#define CARRY_THREADS 4
#define CARRY_ROUNDS 2000

static void *carry_thread(void *arg)
{
	int fd = 1000000 + 4 * (int)(intptr_t)arg;
	uint64_t rng = 77u + (uint64_t)(intptr_t)arg;
	unsigned char buf[256], in[256];
	size_t put = 0, got = 0, i;
	int round;

	for (round = 0; round < CARRY_ROUNDS; round++) {
		size_t n = 1 + rnd(&rng) % sizeof(buf);
		long k;

		for (i = 0; i < n; i++)
			buf[i] = pattern(put + i);
		CHECK_EQ(weft__w_carry_put(fd, buf, n, false), 0);
		put += n;
		if (rnd(&rng) % 3 == 0 && round + 1 < CARRY_ROUNDS)
			continue; /* let some pile up */
		while (got < put) {
			size_t want = 1 + rnd(&rng) % sizeof(in);

			bool peek = rnd(&rng) % 4 == 0;

			k = weft__w_carry_take(fd, in, want, peek);
			CHECK(k > 0 && (size_t)k <= want);
			for (i = 0; i < (size_t)k; i++)
				CHECK_EQ(in[i], pattern(got + i));
			if (!peek)
				got += (size_t)k; /* a peek leaves them */
		}
	}
	CHECK_EQ(weft__w_carry_take(fd, in, sizeof(in), false), -EAGAIN);
	/* Datagrams: one per read, cut to the read. */
	CHECK_EQ(weft__w_carry_put(fd + 1, "abcdef", 6, true), 0);
	CHECK_EQ(weft__w_carry_put(fd + 1, "gh", 2, true), 0);
	CHECK_EQ(weft__w_carry_take(fd + 1, in, 4, false), 4);
	CHECK(memcmp(in, "abcd", 4) == 0);
	CHECK_EQ(weft__w_carry_take(fd + 1, in, sizeof(in), false), 2);
	CHECK(memcmp(in, "gh", 2) == 0);
	CHECK_EQ(weft__w_carry_take(fd + 1, in, sizeof(in), false), -EAGAIN);
	/* Forgetting drops what a socket carries, and only that. */
	CHECK_EQ(weft__w_carry_put(fd + 2, "xyz", 3, false), 0);
	weft__w_carry_forget(fd + 2);
	CHECK_EQ(weft__w_carry_take(fd + 2, in, sizeof(in), false), -EAGAIN);
	return NULL;
}

static void test_carry_threads(void)
{
	pthread_t t[CARRY_THREADS];
	intptr_t i;

	for (i = 0; i < CARRY_THREADS; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, carry_thread, (void *)i), 0);
	for (i = 0; i < CARRY_THREADS; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
}

static void run(unsigned workers)
{
	weft_runtime *rt = drv_runtime(workers);
	weft_socket l;
	weft_addr addr;

	net_listen_any(&l, &addr);
	test_connect_accept(rt, &l, &addr);
	test_drop_recv(rt, &l, &addr);
	test_drop_recv_race(rt, &l, &addr);
	test_drop_accept(rt, &l, &addr);
	test_drop_accept_race(rt, &l, &addr);
	test_drop_connect(rt);
	test_echo(rt, &l, &addr);
	if (workers != 0)
		test_echo_tasks(rt, &l, &addr);
	CHECK_EQ(weft_socket_close(&l), 0);
	CHECK_EQ(net_slots(rt, -1), 0);
	weft_runtime_destroy(rt);
	fprintf(stderr, "%u workers: ok\n", workers);
}

int main(void)
{
	weft_runtime *rt = drv_runtime(0);
	bool iocp = strcmp(weft_runtime_driver(rt), "iocp") == 0;

	weft_runtime_destroy(rt);
	if (!iocp) {
		fprintf(stderr, "not the IOCP driver: skip\n");
		return 77;
	}
	test_carry_threads();
	fprintf(stderr, "carry under threads: ok\n");
	run(0);
	run(2);
	return 0;
}

/*
 * Soak: a mixed workload run for a set time, checking its invariants in
 * every round and that the process's resident memory stays flat.
 *
 * One 2-worker runtime (on the backend WEFT_DRIVER names) on the counting
 * allocator, one loopback listener whose server task lives for the whole
 * run, and rounds until WEFT_SOAK_SECONDS (default 60) have passed.  Each
 * round spawns, from the main thread, and joins:
 *  - 3 producers sending 300 values each into a bounded mpsc channel
 *    (capacity 8) and one consumer: every value arrives once, in its
 *    producer's order, and the stream ends when the last sender goes;
 *  - 4 tasks taking a weft mutex 100 times each, yielding inside: the
 *    plain counter it guards ends at 400 and never sees two holders;
 *  - 6 tasks taking 1 of 3 semaphore permits 5 times each and sleeping
 *    1 ms (real clock) while they hold it: never more than 3 holders, all
 *    permits back;
 *  - 8 clients that each connect to the server (which spawns one echo task
 *    per connection), write 16 KB of a per-connection pattern and read it
 *    back: every byte checked;
 *  - 500 plain tasks (weft_spawn_fn) each returning its argument.
 * RSS (/proc/self/statm) is read after a warm-up (the first sixth of the
 * run, at most 10 s) and at the end: the end may exceed the warm-up figure
 * by at most RSS_MARGIN_KB + 10% (allocator and kernel slack); it is a
 * resource check, not a timing one.  Under a sanitizer the shadow memory
 * and quarantine make RSS meaningless: the figures are printed, not
 * checked.  At the end every byte of the runtime's allocator is back.
 */
#include "net/net_test.h"

#include <signal.h>
#include <time.h>

#define PRODUCERS 3
#define PER_PRODUCER 300
#define LOCKERS 4
#define LOCK_ROUNDS 100
#define SEM_TASKS 6
#define SEM_PERMITS 3
#define SEM_ROUNDS 5
#define CLIENTS 8
#define ECHO_BYTES (16u << 10)
#define PLAIN_TASKS 500
#define RSS_MARGIN_KB 2048

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SOAK_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SOAK_SANITIZED 1
#endif
#endif

/* Totals over the run (checked per round, printed at the end). */
static struct {
	_Atomic uint64_t messages, locks, permits, sleeps, conns, bytes, tasks;
} total;

static weft_runtime *rt;

/* ---- channel ---------------------------------------------------------- */

struct producer {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_tx *tx;
	uint64_t id, seq, value;
	weft_mpsc_send_future send;
};

static weft_poll producer_poll(weft_future *f, weft_cx *cx)
{
	struct producer *p = (struct producer *)f;

	WEFT_ASYNC_BEGIN(p);
	for (p->seq = 0; p->seq < PER_PRODUCER; p->seq++) {
		p->value = p->id << 32 | p->seq;
		CHECK_EQ(weft_mpsc_send(p->tx, &p->value, &p->send), 0);
		WEFT_AWAIT(p, cx, &p->send.base);
		weft_future_drop(&p->send.base);
		CHECK_EQ(p->send.status, 0);
	}
	weft_mpsc_tx_release(p->tx);
	WEFT_ASYNC_END(p);
}

struct consumer {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_mpsc_rx *rx;
	uint64_t value, next[PRODUCERS];
	weft_mpsc_recv_future recv;
};

static weft_poll consumer_poll(weft_future *f, weft_cx *cx)
{
	struct consumer *c = (struct consumer *)f;
	uint64_t id, i;

	WEFT_ASYNC_BEGIN(c);
	for (;;) {
		CHECK_EQ(weft_mpsc_recv(c->rx, &c->value, &c->recv), 0);
		WEFT_AWAIT(c, cx, &c->recv.base);
		weft_future_drop(&c->recv.base);
		if (c->recv.status == -EPIPE)
			break;
		CHECK_EQ(c->recv.status, 0);
		id = c->value >> 32;
		CHECK(id < PRODUCERS);
		CHECK_EQ(c->value & 0xffffffffu, c->next[id]); /* once, in order */
		c->next[id]++;
		atomic_fetch_add(&total.messages, 1);
	}
	for (i = 0; i < PRODUCERS; i++)
		CHECK_EQ(c->next[i], PER_PRODUCER);
	weft_mpsc_rx_release(c->rx);
	WEFT_ASYNC_END(c);
}

static void spawn_channel(weft_join_handle *h)
{
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	struct consumer c;
	int i;

	CHECK_EQ(weft_mpsc_bounded(sizeof(uint64_t), 8, &tx, &rx), 0);
	memset(&c, 0, sizeof c);
	c.base.poll = consumer_poll;
	c.rx = rx;
	CHECK_EQ(weft_spawn(rt, &c.base, sizeof c, &h[0]), 0);
	for (i = 0; i < PRODUCERS; i++) {
		struct producer p;

		memset(&p, 0, sizeof p);
		p.base.poll = producer_poll;
		p.tx = weft_mpsc_tx_clone(tx);
		p.id = (uint64_t)i;
		CHECK_EQ(weft_spawn(rt, &p.base, sizeof p, &h[1 + i]), 0);
	}
	weft_mpsc_tx_release(tx);
}

/* ---- mutex and semaphore ---------------------------------------------- */

static weft_mutex mutex;
static long guarded;          /* only under `mutex` */
static _Atomic int lock_holders, sem_holders;
static weft_semaphore sem;

struct locker {
	weft_future base;
	WEFT_ASYNC_STATE;
	int i;
	weft_mutex_lock_future lock;
	weft_yield y;
};

static weft_poll locker_poll(weft_future *f, weft_cx *cx)
{
	struct locker *l = (struct locker *)f;

	WEFT_ASYNC_BEGIN(l);
	for (l->i = 0; l->i < LOCK_ROUNDS; l->i++) {
		CHECK_EQ(weft_mutex_lock(&mutex, &l->lock), 0);
		WEFT_AWAIT(l, cx, &l->lock.base);
		weft_future_drop(&l->lock.base);
		CHECK_EQ(l->lock.result, 0);
		CHECK_EQ(atomic_fetch_add(&lock_holders, 1), 0);
		guarded++;
		weft_yield_now(&l->y);
		WEFT_AWAIT(l, cx, &l->y.base);
		CHECK_EQ(atomic_fetch_sub(&lock_holders, 1), 1);
		CHECK_EQ(weft_mutex_unlock(&mutex), 0);
		atomic_fetch_add(&total.locks, 1);
	}
	WEFT_ASYNC_END(l);
}

struct permit_taker {
	weft_future base;
	WEFT_ASYNC_STATE;
	int i;
	weft_semaphore_acquire_future acq;
	weft_sleep_future sl;
};

static weft_poll taker_poll(weft_future *f, weft_cx *cx)
{
	struct permit_taker *t = (struct permit_taker *)f;

	WEFT_ASYNC_BEGIN(t);
	for (t->i = 0; t->i < SEM_ROUNDS; t->i++) {
		CHECK_EQ(weft_semaphore_acquire(&sem, 1, &t->acq), 0);
		WEFT_AWAIT(t, cx, &t->acq.base);
		weft_future_drop(&t->acq.base);
		CHECK_EQ(t->acq.result, 0);
		CHECK(atomic_fetch_add(&sem_holders, 1) < SEM_PERMITS);
		weft_sleep(&t->sl, NULL, 1000000);
		WEFT_AWAIT(t, cx, &t->sl.base);
		weft_future_drop(&t->sl.base);
		CHECK_EQ(t->sl.result, 0);
		atomic_fetch_add(&total.sleeps, 1);
		atomic_fetch_sub(&sem_holders, 1);
		CHECK_EQ(weft_semaphore_release(&sem, 1), 0);
		atomic_fetch_add(&total.permits, 1);
	}
	WEFT_ASYNC_END(t);
}

/* ---- sockets ---------------------------------------------------------- */

/* Echoes one connection until the client ends its stream. */
struct echo {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_socket s;
	size_t echoed;
	char buf[4096];
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
	while (e->echoed < ECHO_BYTES) {
		CHECK_EQ(weft_sock_read_init(&e->rd, &e->s, e->buf, sizeof e->buf), 0);
		WEFT_AWAIT(e, cx, &e->rd.base);
		weft_future_drop(&e->rd.base);
		CHECK(e->rd.result > 0);
		e->echoed += (size_t)e->rd.result;
		CHECK_EQ(weft_write_all_init(&e->wr, &e->s, e->buf, (size_t)e->rd.result), 0);
		WEFT_AWAIT(e, cx, &e->wr.base);
		weft_future_drop(&e->wr.base);
		CHECK_EQ(e->wr.result, 0);
	}
	CHECK_EQ(weft_socket_close(&e->s), 0);
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

/* Set before the last connection: the server ends on it. */
static _Atomic bool stopping;

/* Accepts until told to stop, spawning a detached echo for each
 * connection; finishes its stream. */
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
		memset(&e, 0, sizeof e);
		e.base.poll = echo_poll;
		e.base.drop = echo_drop;
		e.s = s->nx.socket;
		CHECK_EQ(weft_spawn(rt, &e.base, sizeof e, NULL), 0);
	}
	weft_incoming_finish(s->in);
	WEFT_ASYNC_END(s);
}

static unsigned char pattern(uint64_t conn, size_t i)
{
	return (unsigned char)(conn * 131 + i * 7 + (i >> 8));
}

/* Connects, writes ECHO_BYTES of its pattern in 4 KB pieces, reading the
 * echo of each piece back and checking it. */
struct client {
	weft_future base;
	WEFT_ASYNC_STATE;
	const weft_addr *addr;
	uint64_t conn;
	size_t off, got;
	unsigned char out[4096], in[4096];
	weft_connect_future c;
	weft_socket s;
	weft_write_all_future wr;
	weft_sock_read rd;
};

static weft_poll client_poll(weft_future *f, weft_cx *cx)
{
	struct client *c = (struct client *)f;
	size_t i;

	WEFT_ASYNC_BEGIN(c);
	CHECK_EQ(weft_connect_init(&c->c, c->addr), 0);
	WEFT_AWAIT(c, cx, &c->c.base);
	weft_future_drop(&c->c.base);
	CHECK_EQ(c->c.result, 0);
	c->s = c->c.socket;
	for (c->off = 0; c->off < ECHO_BYTES; c->off += sizeof c->out) {
		for (i = 0; i < sizeof c->out; i++)
			c->out[i] = pattern(c->conn, c->off + i);
		CHECK_EQ(weft_write_all_init(&c->wr, &c->s, c->out, sizeof c->out), 0);
		WEFT_AWAIT(c, cx, &c->wr.base);
		weft_future_drop(&c->wr.base);
		CHECK_EQ(c->wr.result, 0);
		for (c->got = 0; c->got < sizeof c->in;) {
			CHECK_EQ(weft_sock_read_init(&c->rd, &c->s, c->in + c->got,
						     sizeof c->in - c->got), 0);
			WEFT_AWAIT(c, cx, &c->rd.base);
			weft_future_drop(&c->rd.base);
			CHECK(c->rd.result > 0);
			c->got += (size_t)c->rd.result;
		}
		for (i = 0; i < sizeof c->in; i++)
			CHECK_EQ(c->in[i], pattern(c->conn, c->off + i));
		atomic_fetch_add(&total.bytes, sizeof c->in);
	}
	/* The server ends the stream first. */
	CHECK_EQ(weft_sock_read_init(&c->rd, &c->s, c->in, sizeof c->in), 0);
	WEFT_AWAIT(c, cx, &c->rd.base);
	weft_future_drop(&c->rd.base);
	CHECK_EQ(c->rd.result, 0);
	CHECK_EQ(weft_socket_close(&c->s), 0);
	atomic_fetch_add(&total.conns, 1);
	WEFT_ASYNC_END(c);
}

/* ---- plain tasks -------------------------------------------------------- */

static void *identity(void *arg)
{
	return arg;
}

/* ---- the run ------------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident memory in KB, from /proc/self/statm (second field, pages). */
static long rss_kb(void)
{
	long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	CHECK(f != NULL);
	CHECK_EQ(fscanf(f, "%ld %ld", &size, &res), 2);
	fclose(f);
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static void round_once(const weft_addr *addr, uint64_t round)
{
	weft_join_handle ch[1 + PRODUCERS], lk[LOCKERS], sm[SEM_TASKS], cl[CLIENTS];
	static weft_join_handle pt[PLAIN_TASKS];
	uint64_t msgs0 = atomic_load(&total.messages);
	int i;

	guarded = 0;
	spawn_channel(ch);
	for (i = 0; i < LOCKERS; i++) {
		struct locker l;

		memset(&l, 0, sizeof l);
		l.base.poll = locker_poll;
		CHECK_EQ(weft_spawn(rt, &l.base, sizeof l, &lk[i]), 0);
	}
	for (i = 0; i < SEM_TASKS; i++) {
		struct permit_taker t;

		memset(&t, 0, sizeof t);
		t.base.poll = taker_poll;
		CHECK_EQ(weft_spawn(rt, &t.base, sizeof t, &sm[i]), 0);
	}
	for (i = 0; i < CLIENTS; i++) {
		struct client c;

		memset(&c, 0, sizeof c);
		c.base.poll = client_poll;
		c.addr = addr;
		c.conn = round * CLIENTS + (uint64_t)i;
		CHECK_EQ(weft_spawn(rt, &c.base, sizeof c, &cl[i]), 0);
	}
	for (i = 0; i < PLAIN_TASKS; i++)
		CHECK_EQ(weft_spawn_fn(rt, identity, (void *)(uintptr_t)(i + 1), &pt[i]), 0);
	for (i = 0; i < PLAIN_TASKS; i++) {
		weft_fn_future *out;

		CHECK_EQ(weft_join(&pt[i]), 0);
		out = weft_join_output(&pt[i]);
		CHECK(out != NULL && out->result == (void *)(uintptr_t)(i + 1));
		weft_join_detach(&pt[i]);
	}
	atomic_fetch_add(&total.tasks, PLAIN_TASKS);
#define JOIN_ALL(hs, n)                                                        \
	for (i = 0; i < (n); i++) {                                            \
		CHECK_EQ(weft_join(&(hs)[i]), 0);                              \
		weft_join_detach(&(hs)[i]);                                    \
	}
	JOIN_ALL(ch, 1 + PRODUCERS)
	JOIN_ALL(lk, LOCKERS)
	JOIN_ALL(sm, SEM_TASKS)
	JOIN_ALL(cl, CLIENTS)
#undef JOIN_ALL
	CHECK_EQ(atomic_load(&total.messages) - msgs0, PRODUCERS * PER_PRODUCER);
	CHECK_EQ(guarded, LOCKERS * LOCK_ROUNDS);
	CHECK(!weft_mutex_is_locked(&mutex));
	CHECK_EQ(weft_semaphore_available(&sem), SEM_PERMITS);
	CHECK_EQ(atomic_load(&sem_holders), 0);
}

int main(void)
{
	const char *env = getenv("WEFT_SOAK_SECONDS");
	double seconds = env != NULL ? atof(env) : 60.0, start, warm_at;
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_socket l;
	weft_addr addr;
	weft_incoming in;
	weft_join_handle sh;
	struct server srv;
	uint64_t rounds = 0;
	long rss_warm = -1, rss_end, limit;
	char driver[32];
	int stop_fd;

	signal(SIGPIPE, SIG_IGN);
	if (seconds <= 0)
		seconds = 60.0;
	warm_at = seconds / 6 < 10 ? seconds / 6 : 10;
	rt = test_runtime(2, &alloc);
	CHECK_EQ(weft_mutex_init(&mutex), 0);
	CHECK_EQ(weft_semaphore_init(&sem, SEM_PERMITS), 0);
	net_listen_any(&l, &addr);
	CHECK_EQ(weft_incoming_init(&in, &l), 0);
	memset(&srv, 0, sizeof srv);
	srv.base.poll = server_poll;
	srv.in = &in;
	CHECK_EQ(weft_spawn(rt, &srv.base, sizeof srv, &sh), 0);
	start = now_s();
	while (now_s() - start < seconds) {
		round_once(&addr, rounds++);
		if (rss_warm < 0 && now_s() - start >= warm_at)
			rss_warm = rss_kb();
	}
	rss_end = rss_kb();
	atomic_store(&stopping, true);
	stop_fd = net_plain_connect(&addr);
	CHECK_EQ(weft_join(&sh), 0);
	weft_join_detach(&sh);
	close(stop_fd);
	CHECK_EQ(weft_socket_close(&l), 0);
	snprintf(driver, sizeof driver, "%s", weft_runtime_driver(rt));
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	weft_mutex_finish(&mutex);
	weft_semaphore_finish(&sem);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
	limit = rss_warm + RSS_MARGIN_KB + rss_warm / 10;
	printf("soak %s, %.0f s: %llu rounds; %llu messages, %llu lock and %llu permit hand-offs, "
	       "%llu sleeps, %llu connections echoing %llu bytes checked, %llu plain tasks; "
	       "RSS %ld KB after warm-up (%.1f s), %ld KB at the end (limit %ld KB)\n",
	       driver, seconds, (unsigned long long)rounds,
	       (unsigned long long)atomic_load(&total.messages),
	       (unsigned long long)atomic_load(&total.locks),
	       (unsigned long long)atomic_load(&total.permits),
	       (unsigned long long)atomic_load(&total.sleeps),
	       (unsigned long long)atomic_load(&total.conns),
	       (unsigned long long)atomic_load(&total.bytes),
	       (unsigned long long)atomic_load(&total.tasks), rss_warm, warm_at, rss_end, limit);
	CHECK(rounds >= 2 && rss_warm > 0);
#ifndef SOAK_SANITIZED
	CHECK(rss_end <= limit);
#endif
	return 0;
}

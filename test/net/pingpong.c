/*
 * A loopback TCP ping-pong between two tasks, with weft_sock_read and
 * weft_sock_write made the default way (the syscall first, readiness on
 * EAGAIN) and, on io_uring, as ring operations (IORING_OP_RECV / SEND,
 * through the private weft__net_ring_rw hook), on a current-thread and a
 * 2-worker runtime.  Every byte of every round trip is checked.  It also
 * prints the mean round trip of each mode on stderr: that print is the
 * measurement of docs/net.md, never an assertion (timings are not tested).
 */
#include "net_test.h"
#include "net/net_internal.h"

#define MSG 64

struct pinger {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_socket *sock;
	int rounds, i, server;
	size_t got, put;
	char out[MSG], in[MSG];
	weft_sock_read rd;
	weft_sock_write wr;
	weft_future *active;
};

static weft_poll pinger_poll(weft_future *f, weft_cx *cx)
{
	struct pinger *p = (struct pinger *)f;

	WEFT_ASYNC_BEGIN(p);
	for (p->i = 0; p->i < p->rounds; p->i++) {
		memset(p->out, 'a' + p->i % 26, MSG);
		p->out[0] = (char)p->server;
		if (!p->server) {
			for (p->put = 0; p->put < MSG; p->put += (size_t)p->wr.result) {
				CHECK_EQ(weft_sock_write_init(&p->wr, p->sock, p->out + p->put,
							      MSG - p->put), 0);
				p->active = &p->wr.base;
				WEFT_AWAIT(p, cx, &p->wr.base);
				p->active = NULL;
				weft_future_drop(&p->wr.base);
				CHECK(p->wr.result > 0);
			}
		}
		for (p->got = 0; p->got < MSG; p->got += (size_t)p->rd.result) {
			CHECK_EQ(weft_sock_read_init(&p->rd, p->sock, p->in + p->got, MSG - p->got),
				 0);
			p->active = &p->rd.base;
			WEFT_AWAIT(p, cx, &p->rd.base);
			p->active = NULL;
			weft_future_drop(&p->rd.base);
			CHECK(p->rd.result > 0);
		}
		CHECK_EQ(p->in[0], !p->server);
		CHECK(memcmp(p->in + 1, p->out + 1, MSG - 1) == 0);
		if (p->server) {
			for (p->put = 0; p->put < MSG; p->put += (size_t)p->wr.result) {
				CHECK_EQ(weft_sock_write_init(&p->wr, p->sock, p->out + p->put,
							      MSG - p->put), 0);
				p->active = &p->wr.base;
				WEFT_AWAIT(p, cx, &p->wr.base);
				p->active = NULL;
				weft_future_drop(&p->wr.base);
				CHECK(p->wr.result > 0);
			}
		}
	}
	WEFT_ASYNC_END(p);
}

static void pinger_drop(weft_future *f)
{
	struct pinger *p = (struct pinger *)f;

	if (p->active != NULL)
		weft_future_drop(p->active);
}

static void tcp_pair(weft_runtime *rt, weft_socket *a, weft_socket *b)
{
	weft_socket l;
	weft_addr addr;
	weft_connect_future c;
	weft_accept_future acc;

	net_listen_any(&l, &addr);
	CHECK_EQ(weft_connect_init(&c, &addr), 0);
	net_block_on(rt, &c.base);
	CHECK_EQ(c.result, 0);
	CHECK_EQ(weft_accept_init(&acc, &l), 0);
	net_block_on(rt, &acc.base);
	CHECK_EQ(acc.result, 0);
	*a = c.socket;
	*b = acc.socket;
	CHECK_EQ(weft_socket_set(a, WEFT_SO_NODELAY, 1), 0);
	CHECK_EQ(weft_socket_set(b, WEFT_SO_NODELAY, 1), 0);
	CHECK_EQ(weft_socket_close(&l), 0);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void run(unsigned workers, int ring, int rounds)
{
	weft_runtime *rt = drv_runtime(workers);
	weft_socket a, b;
	struct pinger pa, pb;
	weft_join_handle ha, hb;
	uint64_t t0, t1;

	if (ring && !drv_is_uring(rt) && strcmp(weft_runtime_driver(rt), "iocp") != 0) {
		weft_runtime_destroy(rt);
		return;
	}
	atomic_store(&weft__net_ring_rw, ring);
	tcp_pair(rt, &a, &b);
	memset(&pa, 0, sizeof(pa));
	pa.base.poll = pinger_poll;
	pa.base.drop = pinger_drop;
	pa.rounds = rounds;
	pb = pa;
	pa.sock = &a;
	pb.sock = &b;
	pb.server = 1;
	t0 = now_ns();
	CHECK_EQ(weft_spawn(rt, &pb.base, sizeof(pb), &hb), 0);
	CHECK_EQ(weft_spawn(rt, &pa.base, sizeof(pa), &ha), 0);
	/* block_on drives a current-thread runtime while it waits. */
	CHECK_EQ(weft_block_on(rt, &ha.base), 0);
	CHECK_EQ(ha.status, 0);
	CHECK_EQ(weft_block_on(rt, &hb.base), 0);
	CHECK_EQ(hb.status, 0);
	t1 = now_ns();
	weft_join_detach(&ha);
	weft_join_detach(&hb);
	atomic_store(&weft__net_ring_rw, 0);
	fprintf(stderr, "pingpong %s %s, %u workers: %d round trips of %d bytes, %llu ns each\n",
		weft_runtime_driver(rt), ring ? "ring recv/send" : "syscall first", workers,
		rounds, MSG, (unsigned long long)((t1 - t0) / (uint64_t)rounds));
	CHECK_EQ(weft_socket_close(&a), 0);
	CHECK_EQ(weft_socket_close(&b), 0);
	weft_runtime_destroy(rt);
}

int main(void)
{
	int rounds = NET_TSAN ? 500 : 5000, rep;
	const char *env = getenv("WEFT_PINGPONG_ROUNDS");

	if (env != NULL && atoi(env) > 0)
		rounds = atoi(env);
	for (rep = 0; rep < 2; rep++) {
		run(0, 0, rounds);
		run(0, 1, rounds);
		run(2, 0, rounds);
		run(2, 1, rounds);
	}
	return 0;
}

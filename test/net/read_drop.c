/*
 * test/net/read_drop.c - weft_sock_read dropped while it waits, on every
 * backend.  On IOCP a read that found nothing waits as an overlapped
 * WSARecv into the slot's buffer (future.c, use_recv_op; the test checks
 * that the operation is in the kernel while the future waits), which may
 * take the bytes that arrive before the drop cancels it; the driver keeps
 * those for the next read (the carry).  Elsewhere the read waits for
 * readiness and the bytes stay in the socket.  The promise is the same:
 *  - a read dropped after bytes came took none that the following reads
 *    (futures and weft_try_read in turn) do not return, in order, every
 *    byte checked;
 *  - the dropped future's buffer is never written;
 *  - the end of the stream after a dropped read is still a read of 0;
 *  - the operation slots are all released afterwards.
 * On a current-thread runtime and on two workers; every wait is bounded.
 */
#include "net_test.h"

#include "weft/net.h"
#include "weft/time.h"

#include <string.h>

#define ROUNDS (NET_TSAN ? 30 : 100)

static bool is_iocp(weft_runtime *rt)
{
	return strcmp(weft_runtime_driver(rt), "iocp") == 0;
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 131u + (i >> 8) * 7u + 1u);
}

/* One read future of at most `len` bytes, bounded by 20 s. */
static long read_bounded(weft_runtime *rt, weft_socket *s, void *buf, size_t len)
{
	weft_sock_read r;
	weft_timeout_future t;
	long res;

	CHECK_EQ(weft_sock_read_init(&r, s, buf, len), 0);
	weft_timeout(&t, &r.base, rt, 20ull * 1000000000u);
	CHECK_EQ(weft_block_on(rt, &t.base), 0);
	CHECK_EQ(t.result, 0);
	res = r.result;
	weft_future_drop(&t.base);
	return res;
}

static void run(unsigned workers)
{
	weft_runtime *rt = drv_runtime(workers);
	bool iocp = is_iocp(rt);
	weft_socket l, c, s;
	weft_addr addr;
	unsigned char out[700], in[1024];
	size_t sent = 0, got = 0, i;
	int round, cfd;
	unsigned carried = 0;

	net_listen_any(&l, &addr);
	cfd = net_plain_connect(&addr);
	CHECK_EQ(weft_socket_from_fd(&c, cfd), 0);
	CHECK_EQ(weft_try_accept(&l, &s, NULL), 0);
	for (round = 0; round < ROUNDS; round++) {
		size_t n = 1 + (size_t)(round * 53) % sizeof(out);
		char mine[64];
		weft_sock_read r;

		memset(mine, 'x', sizeof(mine));
		CHECK_EQ(weft_sock_read_init(&r, &s, mine, 1 + (size_t)round % sizeof(mine)), 0);
		CHECK(!net_poll_once(rt, &r.base));
		if (iocp)
			CHECK_EQ(net_slots(rt, WEFT__OP_RECV), 1);
		for (i = 0; i < n; i++)
			out[i] = pattern(sent + i);
		net_write_full(cfd, out, n);
		sent += n;
		weft_future_drop(&r.base);
		for (i = 0; i < sizeof(mine); i++)
			CHECK_EQ(mine[i], 'x');
#ifdef _WIN32
		/* The dropped WSARecv had taken bytes: they wait in the carry. */
		if (weft__w_carry_take(s.fd, in, 1, true) > 0)
			carried++;
#endif
		while (got < sent) {
			size_t want = sent - got < sizeof(in) ? sent - got : sizeof(in);
			long k = round % 2 == 0 ? weft_try_read(&s, in, want) : -EAGAIN;

			if (k == -EAGAIN)
				k = read_bounded(rt, &s, in, want);
			CHECK(k > 0);
			for (i = 0; i < (size_t)k; i++)
				CHECK_EQ(in[i], pattern(got + i));
			got += (size_t)k;
		}
	}
	/* The end of the stream, after one more dropped read. */
	{
		weft_sock_read r;
		char b[8];

		CHECK_EQ(weft_sock_read_init(&r, &s, b, sizeof(b)), 0);
		CHECK(!net_poll_once(rt, &r.base));
		CHECK_EQ(weft_socket_close(&c), 0);
		weft_future_drop(&r.base);
		CHECK_EQ(read_bounded(rt, &s, b, sizeof(b)), 0);
	}
	CHECK_EQ(weft_socket_close(&s), 0);
	CHECK_EQ(weft_socket_close(&l), 0);
	if (iocp) {
		for (i = 0; i < 20000 && net_slots(rt, -1) != 0; i++) {
			weft_sleep_future sl;

			weft_sleep(&sl, rt, 1000000);
			net_block_on(rt, &sl.base);
		}
		CHECK_EQ(net_slots(rt, -1), 0);
	}
	weft_runtime_destroy(rt);
	fprintf(stderr, "%u workers: %zu bytes through %d dropped reads (%u had taken bytes)\n",
		workers, sent, ROUNDS, carried);
}

int main(void)
{
	run(0);
	run(2);
	return 0;
}

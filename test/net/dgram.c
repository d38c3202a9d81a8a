/*
 * UDP (IPv4 and IPv6, bound and connected), Unix stream and Unix datagram
 * sockets round-trip through the futures, on the backend WEFT_DRIVER names,
 * on a multi-threaded and a current-thread runtime; weft_resolve_init finds
 * "localhost" through the blocking pool.  A receive waiting in the driver
 * is woken by a send from another future (the receive starts first).
 */
#include "net_test.h"

/* Waits for a datagram on `s` while sending `msg` from `from` to `to`. */
static void udp_exchange(weft_runtime *rt, weft_socket *from, weft_socket *s,
			 const weft_addr *to, const char *msg, const weft_addr *expect_from)
{
	weft_recv_from_future rf;
	weft_send_to_future st;
	char buf[64];
	weft_addr got;

	CHECK_EQ(weft_recv_from_init(&rf, s, buf, sizeof(buf)), 0);
	CHECK(!net_poll_once(rt, &rf.base)); /* nothing yet: waiting */
	CHECK_EQ(weft_send_to_init(&st, from, msg, strlen(msg), to), 0);
	net_block_on(rt, &st.base);
	CHECK_EQ(st.result, (long)strlen(msg));
	net_block_on(rt, &rf.base);
	CHECK_EQ(rf.result, (long)strlen(msg));
	CHECK(memcmp(buf, msg, strlen(msg)) == 0);
	got = rf.from;
	if (expect_from != NULL) {
		CHECK_EQ(got.len, expect_from->len);
		CHECK(memcmp(&got.storage, &expect_from->storage, got.len) == 0);
	}
}

static void udp(weft_runtime *rt, const char *any)
{
	weft_socket a, b;
	weft_addr addr, aa, ba;

	CHECK_EQ(weft_addr_parse(&addr, any), 0);
	if (weft_udp_bind(&a, &addr, WEFT_BIND_REUSEADDR) < 0) {
		fprintf(stderr, "no %s here: skipping that part\n", any);
		return;
	}
	CHECK_EQ(weft_udp_bind(&b, &addr, 0), 0);
	CHECK_EQ(weft_socket_local_addr(&a, &aa), 0);
	CHECK_EQ(weft_socket_local_addr(&b, &ba), 0);
	udp_exchange(rt, &a, &b, &ba, "hello b", &aa);
	udp_exchange(rt, &b, &a, &aa, "hello a", &ba);
	/* Connected: send_to with no address goes to the peer. */
	CHECK_EQ(weft_datagram_connect(&a, &ba), 0);
	udp_exchange(rt, &a, &b, NULL, "connected", &aa);
	CHECK_EQ(weft_try_recv_from(&b, NULL, 0, NULL), -EAGAIN);
	CHECK_EQ(weft_socket_close(&a), 0);
	CHECK_EQ(weft_socket_close(&b), 0);
}

static void unix_paths(char *listen_path, char *a_path, char *b_path, size_t n)
{
	snprintf(listen_path, n, "/tmp/weft-net-%d-l.sock", (int)getpid());
	snprintf(a_path, n, "/tmp/weft-net-%d-a.sock", (int)getpid());
	snprintf(b_path, n, "/tmp/weft-net-%d-b.sock", (int)getpid());
	unlink(listen_path);
	unlink(a_path);
	unlink(b_path);
}

static void unix_stream(weft_runtime *rt, const char *path)
{
	weft_socket l, a, b;
	weft_addr addr, shown;
	weft_connect_future c;
	weft_accept_future acc;
	weft_write_all_future wa;
	weft_sock_read rd;
	char buf[32], text[WEFT_ADDR_STRLEN];
	int v;

	CHECK_EQ(weft_unix_listen(&l, path, 16), 0);
	CHECK_EQ(weft_socket_set(&l, WEFT_SO_NODELAY, 1), -ENOPROTOOPT);
	CHECK_EQ(weft_socket_local_addr(&l, &shown), 0);
	CHECK(weft_addr_format(&shown, text, sizeof(text)) > 0);
	CHECK(strncmp(text, "unix:", 5) == 0 && strcmp(text + 5, path) == 0);
	CHECK_EQ(weft_accept_init(&acc, &l), 0);
	CHECK(!net_poll_once(rt, &acc.base));
	CHECK_EQ(weft_addr_unix(&addr, path), 0);
	CHECK_EQ(weft_connect_init(&c, &addr), 0);
	net_block_on(rt, &c.base);
	CHECK_EQ(c.result, 0);
	net_block_on(rt, &acc.base);
	CHECK_EQ(acc.result, 0);
	a = c.socket;
	b = acc.socket;
	CHECK_EQ(weft_socket_set(&a, WEFT_SO_SNDBUF, 65536), 0);
	CHECK_EQ(weft_socket_get(&a, WEFT_SO_SNDBUF, &v), 0);
	CHECK(v >= 65536);
	CHECK_EQ(weft_write_all_init(&wa, &a, "over unix", 9), 0);
	net_block_on(rt, &wa.base);
	CHECK_EQ(wa.result, 0);
	CHECK_EQ(weft_sock_read_init(&rd, &b, buf, sizeof(buf)), 0);
	net_block_on(rt, &rd.base);
	CHECK_EQ(rd.result, 9);
	CHECK(memcmp(buf, "over unix", 9) == 0);
	CHECK_EQ(weft_socket_close(&a), 0);
	CHECK_EQ(weft_socket_close(&b), 0);
	CHECK_EQ(weft_socket_close(&l), 0);
	unlink(path);
}

static void unix_dgram(weft_runtime *rt, const char *pa, const char *pb)
{
	weft_socket a, b, anon;
	weft_addr aa, ba;

	CHECK_EQ(weft_unix_datagram_bind(&a, pa), 0);
	CHECK_EQ(weft_unix_datagram_bind(&b, pb), 0);
	CHECK_EQ(weft_unix_datagram_bind(&anon, NULL), 0);
	CHECK_EQ(weft_addr_unix(&aa, pa), 0);
	CHECK_EQ(weft_addr_unix(&ba, pb), 0);
	udp_exchange(rt, &a, &b, &ba, "unix dgram", &aa);
	udp_exchange(rt, &anon, &a, &aa, "from nobody", NULL);
	CHECK_EQ(weft_datagram_connect(&b, &aa), 0);
	udp_exchange(rt, &b, &a, NULL, "connected", &ba);
	CHECK_EQ(weft_socket_close(&a), 0);
	CHECK_EQ(weft_socket_close(&b), 0);
	CHECK_EQ(weft_socket_close(&anon), 0);
	unlink(pa);
	unlink(pb);
}

static void resolve(weft_runtime *rt)
{
	weft_resolve_future r;
	int i, found = 0;

	CHECK_EQ(weft_resolve_init(&r, "localhost", 4242), 0);
	net_block_on(rt, &r.base);
	CHECK(r.result >= 1);
	for (i = 0; i < r.result; i++) {
		CHECK_EQ(weft_addr_port(&r.addrs[i]), 4242);
		found += weft_addr_family(&r.addrs[i]) == AF_INET ||
			 weft_addr_family(&r.addrs[i]) == AF_INET6;
	}
	CHECK_EQ(found, r.result);
	CHECK_EQ(weft_resolve_init(&r, "no-such-host.invalid", 1), 0);
	net_block_on(rt, &r.base);
	CHECK(r.result < 0);
	/* Dropped before its first poll, and after one poll. */
	CHECK_EQ(weft_resolve_init(&r, "localhost", 1), 0);
	weft_future_drop(&r.base);
	CHECK_EQ(weft_resolve_init(&r, "localhost", 1), 0);
	net_poll_once(rt, &r.base);
	weft_future_drop(&r.base);
}

int main(void)
{
	unsigned workers[] = { 2, 0 };
	char lp[108], pa[108], pb[108];
	size_t i;

	unix_paths(lp, pa, pb, sizeof(lp));
	for (i = 0; i < 2; i++) {
		weft_runtime *rt = drv_runtime(workers[i]);

		udp(rt, "127.0.0.1:0");
		udp(rt, "[::1]:0");
		/* Unix-domain sockets where the system has them (not under
		 * wine; Windows 10 has no datagram ones). */
		if (net_have_unix(SOCK_STREAM))
			unix_stream(rt, lp);
		else
			printf("no Unix-domain stream sockets here: not checked\n");
		if (net_have_unix(SOCK_DGRAM))
			unix_dgram(rt, pa, pb);
		else
			printf("no Unix-domain datagram sockets here: not checked\n");
		resolve(rt);
		CHECK_EQ(weft_runtime_destroy(rt), 0);
	}
	return 0;
}

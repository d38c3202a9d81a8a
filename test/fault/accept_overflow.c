/*
 * Regression (found by test/load/tcp.c): an incoming stream whose
 * multishot accept the kernel stops because the completion queue
 * overflowed must go on accepting; its next used to report -ECANCELED.
 *
 * On a current-thread runtime nothing reaps completions while the main
 * thread is outside weft_block_on.  The test arms the stream's multishot
 * accept and NREADS reads of pipes (more than twice the io_uring's 512
 * completion entries), then, outside, writes every pipe and connects two
 * clients: the reads' completions fill the queue and the accept's goes to
 * the kernel's overflow list, which ends the multishot operation.  Both
 * nexts must then get their connection (0, a socket), every read its
 * byte, and the runtime's allocator every byte back.  On epoll (no
 * multishot) the same sequence must simply work.  Runs once per backend.
 */
#include "net/net_test.h"

#define NREADS 1100

int main(void)
{
	static int fds[NREADS][2];
	static weft_read rd[NREADS];
	static char buf[NREADS];
	struct test_alloc ta;
	weft_allocator alloc = test_allocator(&ta);
	weft_runtime_config cfg = { 0 };
	weft_runtime *rt = NULL;
	weft_socket l;
	weft_addr addr;
	weft_incoming in;
	weft_incoming_next nx;
	int c1, c2, i;

	if (!net_raise_nofile(2 * NREADS + 64)) {
		printf("cannot raise RLIMIT_NOFILE to %d: skip\n", 2 * NREADS + 64);
		return 77;
	}
	cfg.flavor = WEFT_RUNTIME_CURRENT_THREAD;
	cfg.allocator = &alloc;
	if (weft_runtime_create(&cfg, &rt) != 0) {
		printf("the runtime cannot start here: skip\n");
		return 77;
	}
	if (drv_expected() != NULL)
		CHECK(strcmp(weft_runtime_driver(rt), drv_expected()) == 0);
	net_listen_any(&l, &addr);
	CHECK_EQ(weft_incoming_init(&in, &l), 0);
	CHECK_EQ(weft_incoming_next_init(&nx, &in), 0);
	CHECK(!net_poll_once(rt, &nx.base)); /* the multishot accept is armed */
	for (i = 0; i < NREADS; i++) {
		CHECK_EQ(pipe2(fds[i], O_CLOEXEC), 0);
		CHECK_EQ(weft_read_init(&rd[i], fds[i][0], &buf[i], 1), 0);
		CHECK(!net_poll_once(rt, &rd[i].base));
	}
	for (i = 0; i < NREADS; i++)
		CHECK_EQ(write(fds[i][1], "r", 1), 1);
	c1 = net_plain_connect(&addr);
	c2 = net_plain_connect(&addr);
	net_block_on(rt, &nx.base);
	CHECK_EQ(nx.result, 0);
	CHECK_EQ(weft_socket_close(&nx.socket), 0);
	CHECK_EQ(weft_incoming_next_init(&nx, &in), 0);
	net_block_on(rt, &nx.base);
	CHECK_EQ(nx.result, 0); /* was -ECANCELED */
	CHECK_EQ(weft_socket_close(&nx.socket), 0);
	for (i = 0; i < NREADS; i++) {
		net_block_on(rt, &rd[i].base);
		CHECK_EQ(rd[i].result, 1);
		CHECK_EQ(buf[i], 'r');
		close(fds[i][0]);
		close(fds[i][1]);
	}
	weft_incoming_finish(&in);
	CHECK_EQ(weft_socket_close(&l), 0);
	close(c1);
	close(c2);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
	CHECK_EQ(atomic_load(&ta.allocs), atomic_load(&ta.frees));
	CHECK_EQ(atomic_load(&ta.live_bytes), 0);
	printf("%s: both connections accepted after %d completions overflowed the queue\n",
	       getenv("WEFT_DRIVER") ? getenv("WEFT_DRIVER") : "auto", NREADS);
	return 0;
}

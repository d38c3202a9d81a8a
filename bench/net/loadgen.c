/*
 * bench/net/loadgen.c - the load generator of the TCP echo benchmark.
 *
 *   loadgen -p PORT [-a 127.0.0.1] [-c CONNS] [-s BYTES] [-d SECONDS]
 *           [-w WARMUP_SECONDS] [-l]
 *
 * Opens CONNS connections to ADDR:PORT (TCP_NODELAY) and keeps exactly one
 * message in flight on each: it writes a message of BYTES bytes, waits
 * until BYTES bytes have come back, records the round trip, and writes the
 * next.  With -l every message is a line (BYTES - 1 letters and "\n"), for
 * a line-echo server such as examples/ping_server.c; without it the bytes
 * are arbitrary and the server must echo raw bytes.
 *
 * One thread, one epoll set, level-triggered: the generator must be cheap
 * next to the server it drives, and one thread on its own core (bench/run
 * pins it with taskset -c 0) keeps it so.  The first WARMUP seconds (default
 * 0.5) are run but not recorded; the next SECONDS (default 5) are.  At the
 * end no new message is started; the ones in flight finish or are dropped
 * after a second.
 *
 * Output, one line on stdout:
 *   msgs=N secs=S msgs_per_s=R ns_per_msg=T p50_ns=.. p90_ns=.. p99_ns=..
 *   max_ns=.. slices=T1;T2;...
 * where msgs counts the echoes completed inside the recorded window, the
 * percentiles are of their round-trip times, and the slices are ns per message in each tenth of the recorded
 * window (their spread shows how steady the run was).  Exit status 0; 1
 * when a connection failed or closed, or an echo came back wrong; 2 for
 * bad arguments.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SLICES 10
#define MAX_BYTES (1 << 20)

struct conn {
	int fd;
	size_t sent, got;   /* bytes of the current message written / read */
	uint64_t start_ns;  /* when the current message's first byte was written */
	int busy;           /* a message is in flight */
	int want_out;       /* EPOLLOUT is armed (a write was partial) */
};

static const char *addr_text = "127.0.0.1";
static int port, nconns = 1, line_mode;
static size_t bytes = 100;
static double secs = 5, warmup = 0.5;
static char *msg, *scratch;
static uint32_t *rtts;
static size_t nrtts, cap_rtts;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int usage(void)
{
	fprintf(stderr, "usage: loadgen -p PORT [-a ADDR] [-c CONNS] [-s BYTES] [-d SECONDS] "
			"[-w WARMUP] [-l]\n");
	return 2;
}

static int parse_args(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "a:p:c:s:d:w:l")) != -1) {
		switch (opt) {
		case 'a': addr_text = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'c': nconns = atoi(optarg); break;
		case 's': bytes = (size_t)strtoul(optarg, NULL, 10); break;
		case 'd': secs = atof(optarg); break;
		case 'w': warmup = atof(optarg); break;
		case 'l': line_mode = 1; break;
		default: return -1;
		}
	}
	if (port <= 0 || port > 65535 || nconns < 1 || bytes < 1 || bytes > MAX_BYTES ||
	    secs <= 0 || warmup < 0)
		return -1;
	return 0;
}

/* Lets the process open as many descriptors as the hard limit allows. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int open_conn(const struct sockaddr_in *sa)
{
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static int arm(int ep, struct conn *c, int out)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
	ev.data.ptr = c;
	c->want_out = out;
	return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes what is left of the current message; arms EPOLLOUT if the
 * socket is full.  Returns -1 on error. */
static int push(int ep, struct conn *c)
{
	while (c->sent < bytes) {
		ssize_t n = write(c->fd, msg + c->sent, bytes - c->sent);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return c->want_out ? 0 : arm(ep, c, 1);
			return -1;
		}
		c->sent += (size_t)n;
	}
	return c->want_out ? arm(ep, c, 0) : 0;
}

static int start_msg(int ep, struct conn *c, uint64_t t)
{
	c->sent = c->got = 0;
	c->busy = 1;
	c->start_ns = t;
	return push(ep, c);
}

static void record(uint64_t rtt)
{
	if (nrtts == cap_rtts) {
		size_t cap = cap_rtts ? cap_rtts * 2 : 1 << 16;
		uint32_t *p = realloc(rtts, cap * sizeof(*p));

		if (p == NULL)
			return; /* keep counting messages; lose this latency */
		rtts = p;
		cap_rtts = cap;
	}
	rtts[nrtts++] = rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the ceil(q n)-th smallest. */
static uint32_t pct(double q)
{
	size_t k = (size_t)(q * (double)nrtts + 0.999999);

	if (nrtts == 0)
		return 0;
	if (k < 1)
		k = 1;
	return rtts[(k > nrtts ? nrtts : k) - 1];
}

/* Reads what is there; a complete echo ends the message.  Returns -1 when
 * the connection failed, closed or echoed something else. */
static int pull(struct conn *c, uint64_t *done_ns)
{
	for (;;) {
		ssize_t n = read(c->fd, scratch, MAX_BYTES);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		if (n == 0 || !c->busy || c->got + (size_t)n > bytes ||
		    memcmp(scratch, msg + c->got, (size_t)n) != 0)
			return -1;
		c->got += (size_t)n;
		if (c->got == bytes) {
			*done_ns = now_ns();
			c->busy = 0;
			return 0;
		}
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct conn *conns;
	struct epoll_event *evs;
	uint64_t t0, rec_start, rec_end, slice_ns, counts[SLICES] = { 0 }, total = 0;
	int ep, i, failed = 0, inflight;
	size_t k;

	if (parse_args(argc, argv) < 0)
		return usage();
	raise_fd_limit();
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr_text, &sa.sin_addr) != 1)
		return usage();
	msg = malloc(bytes);
	scratch = malloc(MAX_BYTES);
	conns = calloc((size_t)nconns, sizeof(*conns));
	evs = calloc((size_t)nconns, sizeof(*evs));
	ep = epoll_create1(0);
	if (msg == NULL || scratch == NULL || conns == NULL || evs == NULL || ep < 0) {
		fprintf(stderr, "loadgen: out of memory\n");
		return 1;
	}
	for (k = 0; k < bytes; k++)
		msg[k] = (char)('a' + k % 26);
	if (line_mode)
		msg[bytes - 1] = '\n';
	for (i = 0; i < nconns; i++) {
		struct epoll_event ev;

		conns[i].fd = open_conn(&sa);
		if (conns[i].fd < 0) {
			fprintf(stderr, "loadgen: connection %d to %s:%d: %s\n", i, addr_text, port,
				strerror(errno));
			return 1;
		}
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = &conns[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) < 0)
			return 1;
	}

	t0 = now_ns();
	rec_start = t0 + (uint64_t)(warmup * 1e9);
	rec_end = rec_start + (uint64_t)(secs * 1e9);
	slice_ns = (rec_end - rec_start) / SLICES;
	for (i = 0; i < nconns; i++)
		if (start_msg(ep, &conns[i], now_ns()) < 0)
			failed = 1;
	inflight = nconns;
	while (!failed && inflight > 0) {
		int n = epoll_wait(ep, evs, nconns, 1000);
		uint64_t t = now_ns();

		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0 && t > rec_end + 1000000000u)
			break; /* the last echoes never came: give up on them */
		for (i = 0; i < n && !failed; i++) {
			struct conn *c = evs[i].data.ptr;
			uint64_t done = 0;

			if ((evs[i].events & EPOLLOUT) && push(ep, c) < 0) {
				failed = 1;
				break;
			}
			if (!(evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
				continue;
			if (pull(c, &done) < 0) {
				failed = 1;
				break;
			}
			if (done == 0)
				continue;
			/* Every echo completed inside the window counts, also
			 * one whose message was written before it began, so the
			 * rate has no hole at the window's start. */
			if (done >= rec_start && done <= rec_end) {
				record(done - c->start_ns);
				counts[(done - rec_start) / slice_ns < SLICES ?
				       (done - rec_start) / slice_ns : SLICES - 1]++;
				total++;
			}
			if (done < rec_end) {
				if (start_msg(ep, c, done) < 0)
					failed = 1;
			} else {
				inflight--;
			}
		}
	}
	if (failed) {
		fprintf(stderr, "loadgen: a connection failed, closed or echoed wrong bytes\n");
		return 1;
	}
	if (total == 0) {
		fprintf(stderr, "loadgen: no message completed in the recorded window\n");
		return 1;
	}
	qsort(rtts, nrtts, sizeof(*rtts), cmp_u32);
	printf("msgs=%llu secs=%.3f msgs_per_s=%.0f ns_per_msg=%.1f p50_ns=%u p90_ns=%u "
	       "p99_ns=%u max_ns=%u slices=", (unsigned long long)total, secs,
	       (double)total / secs, secs * 1e9 / (double)total, pct(0.5), pct(0.9), pct(0.99),
	       nrtts ? rtts[nrtts - 1] : 0);
	for (i = 0; i < SLICES; i++)
		printf("%s%.1f", i ? ";" : "", counts[i] ? (double)slice_ns / (double)counts[i] : 0.0);
	printf("\n");
	for (i = 0; i < nconns; i++)
		close(conns[i].fd);
	return 0;
}

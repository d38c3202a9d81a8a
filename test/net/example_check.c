/*
 * Runs one of the network examples and checks its answers as its header
 * documents them:
 *   example_check ping     PING_SERVER        ping/pong and echo, two ports,
 *                                             connections with their own state
 *   example_check http     HTTP_HELLO HTTP_GET  keep-alive and pipelined
 *                                             requests; http_get prints the body
 *   example_check resp     RESP_PING          inline and multibulk PING, PING
 *                                             with an argument, unknown commands,
 *                                             and redis-benchmark when installed
 *   example_check pipeline PIPELINE           the totals line
 * Servers get port 0 and report the port they got.  The backend is the
 * WEFT_DRIVER the test was registered with (inherited by the example).
 */
#define _GNU_SOURCE
#include "net_test.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

/* Starts argv[0] with stdout into a pipe; returns its pid, *out the read
 * end. */
/* The servers started, killed at exit so that a failed check never leaves
 * one running (holding the test's stderr open). */
static pid_t children[4];
static int nchildren;

static void kill_children(void)
{
	int i;

	for (i = 0; i < nchildren; i++)
		if (children[i] > 0)
			kill(children[i], SIGKILL);
}

static pid_t start(char *const argv[], int *out)
{
	posix_spawn_file_actions_t fa;
	int p[2];
	pid_t pid;

	CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
	CHECK_EQ(posix_spawn_file_actions_init(&fa), 0);
	CHECK_EQ(posix_spawn_file_actions_adddup2(&fa, p[1], 1), 0);
	CHECK_EQ(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	*out = p[0];
	if (nchildren < 4)
		children[nchildren++] = pid;
	return pid;
}

/* Reads one line from fd (blocking, byte by byte); false at EOF. */
static bool read_line(int fd, char *buf, size_t n)
{
	size_t i = 0;

	while (i + 1 < n) {
		char ch;

		if (read(fd, &ch, 1) != 1)
			return false;
		if (ch == '\n')
			break;
		buf[i++] = ch;
	}
	buf[i] = '\0';
	return true;
}

static void server_addr(int out, weft_addr *addr)
{
	char line[256];

	CHECK(read_line(out, line, sizeof(line)));
	CHECK(strncmp(line, "listening on ", 13) == 0);
	CHECK_EQ(weft_addr_parse(addr, line + 13), 0);
}

static int client(const weft_addr *addr)
{
	struct timeval tv = { 10, 0 };
	int fd = net_plain_connect(addr);

	CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return fd;
}

static void expect(int fd, const char *send, const char *want)
{
	char buf[4096];
	size_t n = strlen(want);

	if (send != NULL)
		net_write_full(fd, send, strlen(send));
	CHECK(n < sizeof(buf));
	if (!net_read_full(fd, buf, n)) {
		fprintf(stderr, "no answer to \"%s\" (%s)\n", send != NULL ? send : "",
			strerror(errno));
		exit(1);
	}
	buf[n] = '\0';
	if (strcmp(buf, want) != 0) {
		fprintf(stderr, "got \"%s\", want \"%s\"\n", buf, want);
		exit(1);
	}
}

static void stop(pid_t pid, int out)
{
	int st;

	kill(pid, SIGTERM);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	for (int i = 0; i < nchildren; i++)
		if (children[i] == pid)
			children[i] = 0;
	close(out);
}

static void check_ping(char *exe)
{
	char *argv[] = { exe, "0", "0", NULL };
	weft_addr a1, a2;
	int out, c1, c2, c3;
	pid_t pid = start(argv, &out);

	server_addr(out, &a1);
	server_addr(out, &a2);
	CHECK(weft_addr_port(&a1) != weft_addr_port(&a2));
	c1 = client(&a1);
	c2 = client(&a1);
	c3 = client(&a2);
	expect(c1, "ping\n", "pong\n");
	expect(c3, "ping\r\nhello world\n", "pong\nhello world\n");
	/* Each connection keeps its own half line. */
	net_write_full(c1, "pi", 2);
	expect(c2, "hello\nping\n", "hello\npong\n");
	expect(c1, "ng\npingpong\n", "pong\npingpong\n");
	close(c1);
	close(c2);
	close(c3);
	stop(pid, out);
}

static const char hello[] = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n"
			    "Content-Type: text/plain\r\n\r\nHello, World!";

static void check_http_get(char *get, const weft_addr *addr)
{
	char url[128], body[64];
	char *argv[] = { get, url, NULL };
	int out, st;
	ssize_t n;
	pid_t pid;

	snprintf(url, sizeof(url), "http://localhost:%d/index.html", weft_addr_port(addr));
	pid = start(argv, &out);
	CHECK(net_read_full(out, body, 13));
	n = read(out, body + 13, sizeof(body) - 14);
	CHECK_EQ(n, 0); /* nothing after the body */
	CHECK(memcmp(body, "Hello, World!", 13) == 0);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(out);
}

static void check_http(char *exe, char *get)
{
	char *argv[] = { exe, "0", NULL };
	char two[2 * sizeof(hello)], byte;
	weft_addr a;
	int out, c;
	pid_t pid = start(argv, &out);

	server_addr(out, &a);
	c = client(&a);
	expect(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", hello);
	/* Kept alive; two pipelined requests get two answers in order. */
	snprintf(two, sizeof(two), "%s%s", hello, hello);
	expect(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n", two);
	expect(c, "GET /c HTTP/1.1\r\nConnection: close\r\n\r\n", hello);
	CHECK_EQ(read(c, &byte, 1), 0); /* and then it closed */
	close(c);
	if (get != NULL)
		check_http_get(get, &a);
	stop(pid, out);
}

static void redis_benchmark(const weft_addr *a)
{
	char cmd[256];
	int rc;

	if (system("command -v redis-benchmark >/dev/null 2>&1") != 0) {
		fprintf(stderr, "redis-benchmark not installed: that part skipped\n");
		return;
	}
	snprintf(cmd, sizeof(cmd),
		 "redis-benchmark -p %d -t ping_inline,ping_mbulk -n 2000 -c 10 -q "
		 "| grep -c 'requests per second' | grep -qx 2",
		 weft_addr_port(a));
	rc = system(cmd);
	CHECK_EQ(rc, 0);
}

static void check_resp(char *exe)
{
	char *argv[] = { exe, "0", NULL };
	weft_addr a;
	int out, c;
	pid_t pid = start(argv, &out);

	server_addr(out, &a);
	c = client(&a);
	expect(c, "PING\r\n", "+PONG\r\n");
	expect(c, "*1\r\n$4\r\nPING\r\n", "+PONG\r\n");
	expect(c, "*2\r\n$4\r\nping\r\n$5\r\nhello\r\n", "$5\r\nhello\r\n");
	expect(c, "GET x\r\n", "-ERR unknown command\r\n");
	/* Pipelined, and a multibulk split over two writes. */
	expect(c, "PING\r\nPING\r\n*1\r\n$4\r\nPI", "+PONG\r\n+PONG\r\n");
	expect(c, "NG\r\n", "+PONG\r\n");
	close(c);
	redis_benchmark(&a);
	stop(pid, out);
}

static void check_pipeline(char *exe)
{
	char *argv[] = { exe, "20000", "3", NULL };
	char line[128];
	int out, st;
	pid_t pid = start(argv, &out);

	CHECK(read_line(out, line, sizeof(line)));
	CHECK(strcmp(line, "items 20000 sum 2666866670000") == 0);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(out);
}

int main(int argc, char **argv)
{
	weft_runtime *rt;

	if (argc < 3)
		return 1;
	/* Skips (77) the io_uring registration where io_uring cannot start. */
	rt = drv_runtime(0);
	weft_runtime_destroy(rt);
	signal(SIGPIPE, SIG_IGN);
	atexit(kill_children);
	if (strcmp(argv[1], "ping") == 0)
		check_ping(argv[2]);
	else if (strcmp(argv[1], "http") == 0)
		check_http(argv[2], argc > 3 ? argv[3] : NULL);
	else if (strcmp(argv[1], "resp") == 0)
		check_resp(argv[2]);
	else if (strcmp(argv[1], "pipeline") == 0)
		check_pipeline(argv[2]);
	else
		return 1;
	return 0;
}

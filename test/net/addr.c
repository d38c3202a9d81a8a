/*
 * Address parsing and formatting: IPv4, IPv6 and Unix forms round-trip
 * through weft_addr_parse and weft_addr_format; every malformed text, NULL
 * and a buffer too small is refused with the documented error.
 */
#include "net_test.h"

static void round_trip(const char *text, int family, int port)
{
	weft_addr a;
	char buf[WEFT_ADDR_STRLEN];

	CHECK_EQ(weft_addr_parse(&a, text), 0);
	CHECK_EQ(weft_addr_family(&a), family);
	if (port >= 0)
		CHECK_EQ(weft_addr_port(&a), port);
	CHECK_EQ(weft_addr_format(&a, buf, sizeof(buf)), (int)strlen(text));
	CHECK(strcmp(buf, text) == 0);
}

int main(void)
{
	static const char *bad[] = {
		"", ":80", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
		"127.0.0.1:80x", "1.2.3:80", "256.1.1.1:80", "localhost:80", "::1:80",
		"[::1]", "[::1]80", "[]:80", "[::g]:80", "[::1]:", "unix:", " 1.2.3.4:80",
	};
	weft_addr a;
	char buf[WEFT_ADDR_STRLEN], longpath[200];
	size_t i;

	round_trip("127.0.0.1:6767", AF_INET, 6767);
	round_trip("0.0.0.0:0", AF_INET, 0);
	round_trip("255.255.255.255:65535", AF_INET, 65535);
	round_trip("[::1]:80", AF_INET6, 80);
	round_trip("[fe80::1:2]:443", AF_INET6, 443);
	round_trip("[::ffff:1.2.3.4]:1", AF_INET6, 1);
	round_trip("unix:/tmp/weft.sock", AF_UNIX, -1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (weft_addr_parse(&a, bad[i]) != -EINVAL) {
			fprintf(stderr, "accepted \"%s\"\n", bad[i]);
			return 1;
		}
		CHECK_EQ(a.len, 0);
	}
	CHECK_EQ(weft_addr_parse(NULL, "1.2.3.4:5"), -EINVAL);
	CHECK_EQ(weft_addr_parse(&a, NULL), -EINVAL);
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	CHECK_EQ(weft_addr_unix(&a, longpath), -ENAMETOOLONG);
	CHECK_EQ(weft_addr_unix(&a, ""), -EINVAL);
	CHECK_EQ(weft_addr_unix(NULL, "/x"), -EINVAL);
	CHECK_EQ(weft_addr_port(NULL), -EINVAL);
	CHECK_EQ(weft_addr_family(NULL), -EINVAL);
	memset(&a, 0, sizeof(a));
	CHECK_EQ(weft_addr_family(&a), -EINVAL);
	CHECK_EQ(weft_addr_format(&a, buf, sizeof(buf)), -EINVAL);
	CHECK_EQ(weft_addr_parse(&a, "[2001:db8::1]:8080"), 0);
	CHECK_EQ(weft_addr_format(&a, buf, 5), -ENOSPC);
	CHECK_EQ(buf[0], '\0');
	CHECK_EQ(weft_addr_format(&a, NULL, 5), -EINVAL);
	CHECK_EQ(weft_addr_format(NULL, buf, 5), -EINVAL);
	CHECK_EQ(weft_addr_unix(&a, "/p"), 0);
	CHECK_EQ(weft_addr_port(&a), -EINVAL);
	CHECK_EQ(weft_addr_from_sockaddr(&a, NULL, 16), -EINVAL);
	{
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(99);
		CHECK_EQ(weft_addr_from_sockaddr(&a, (struct sockaddr *)&sin, sizeof(sin)), 0);
		CHECK_EQ(weft_addr_port(&a), 99);
		CHECK_EQ(weft_addr_from_sockaddr(&a, (struct sockaddr *)&sin, 4), -EINVAL);
		sin.sin_family = AF_PACKET;
		CHECK_EQ(weft_addr_from_sockaddr(&a, (struct sockaddr *)&sin, sizeof(sin)),
			 -EAFNOSUPPORT);
	}
	return 0;
}

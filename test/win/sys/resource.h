/*
 * test/win/sys/resource.h - Windows: the rlimit calls the socket tests
 * make.  Windows has no per-process descriptor limit to raise (a socket is
 * a kernel handle; the handle table grows as needed), so RLIMIT_NOFILE
 * reads as a large limit and setting it succeeds without effect.
 */
#ifndef WEFT_TEST_WIN_SYS_RESOURCE_H
#define WEFT_TEST_WIN_SYS_RESOURCE_H

typedef unsigned long long rlim_t;

struct rlimit {
	rlim_t rlim_cur;
	rlim_t rlim_max;
};

#define RLIMIT_NOFILE 7

static inline int getrlimit(int resource, struct rlimit *r)
{
	(void)resource;
	r->rlim_cur = r->rlim_max = 1u << 24;
	return 0;
}

static inline int setrlimit(int resource, const struct rlimit *r)
{
	(void)resource;
	(void)r;
	return 0;
}

#endif /* WEFT_TEST_WIN_SYS_RESOURCE_H */

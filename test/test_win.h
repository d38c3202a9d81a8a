/*
 * test/test_win.h - the few POSIX calls the tests use that Windows' C
 * library spells differently (included by test.h; empty elsewhere).
 */
#ifndef WEFT_TEST_WIN_H
#define WEFT_TEST_WIN_H

#include <stdlib.h>

#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#include <malloc.h>

/* An address family weft does not take (the tests of bad input). */
#ifndef AF_PACKET
#define AF_PACKET 17
#endif

/* Pipes: the CRT's, binary, with no close-on-exec to ask for. */
#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif
static inline int pipe2(int fds[2], int flags)
{
	(void)flags;
	return _pipe(fds, 65536, _O_BINARY);
}

/* setenv / unsetenv over _putenv_s (an empty value removes the name). */
static inline int setenv(const char *name, const char *value, int overwrite)
{
	if (!overwrite && getenv(name) != NULL)
		return 0;
	return _putenv_s(name, value) == 0 ? 0 : -1;
}

static inline int unsetenv(const char *name)
{
	return _putenv_s(name, "") == 0 ? 0 : -1;
}

/* Aligned blocks come from their own heap and go back to it. */
static inline void *test_aligned_alloc(size_t align, size_t size)
{
	return _aligned_malloc(size, align);
}

static inline void test_aligned_free(void *p)
{
	_aligned_free(p);
}
#else
static inline void *test_aligned_alloc(size_t align, size_t size)
{
	return aligned_alloc(align, (size + align - 1) & ~(align - 1));
}

static inline void test_aligned_free(void *p)
{
	free(p);
}
#endif

#endif /* WEFT_TEST_WIN_H */

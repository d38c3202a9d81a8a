/*
 * src/common/lock.c - mutex initialisation (see lock.h).
 *
 * Every primitive initialises one of these, and some are made per
 * operation (a fresh once cell, a child cancellation token), so the setup
 * is a copy of a constant rather than pthread_mutexattr_init, settype,
 * pthread_mutex_init and pthread_mutexattr_destroy (about 100 instructions
 * on glibc, against a 40-byte copy).  The constant is glibc's own
 * initialiser for an adaptive mutex; pthread_mutex_init with the adaptive
 * attribute produces the same bytes, and pthread_mutex_destroy works on it
 * as on any other (ThreadSanitizer handles statically initialised mutexes
 * too).  Elsewhere pthread_mutex_init is called as before.
 */
#define _GNU_SOURCE
#include "lock.h"

int weft__mutex_init(pthread_mutex_t *m)
{
#if defined(PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP)
	static const pthread_mutex_t adaptive = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;

	*m = adaptive;
	return 0;
#else
	return -pthread_mutex_init(m, NULL);
#endif
}

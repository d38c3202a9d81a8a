/*
 * src/common/lock.c - mutex initialisation (see lock.h).
 */
#define _GNU_SOURCE
#include "lock.h"

int weft__mutex_init(pthread_mutex_t *m)
{
#if defined(PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP)
	pthread_mutexattr_t attr;
	int err = pthread_mutexattr_init(&attr);

	if (err != 0)
		return -err;
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	err = pthread_mutex_init(m, &attr);
	pthread_mutexattr_destroy(&attr);
	return -err;
#else
	return -pthread_mutex_init(m, NULL);
#endif
}

/*
 * src/common/lock.h - how weft initialises the mutexes that guard waiter
 * lists and queues.  Private; shared by every subsystem.
 */
#ifndef WEFT_SRC_COMMON_LOCK_H
#define WEFT_SRC_COMMON_LOCK_H

#include <pthread.h>

/*
 * Initialises `m` as an adaptive mutex where the C library has one (glibc:
 * a contended lock spins a bounded number of times before it sleeps on the
 * futex; the critical sections it guards are a few pointer updates), else a
 * default one.  Returns 0 or the negative errno of pthread_mutex_init (glibc:
 * always 0, the adaptive mutex is a copied constant; see lock.c).
 */
int weft__mutex_init(pthread_mutex_t *m);

#endif /* WEFT_SRC_COMMON_LOCK_H */

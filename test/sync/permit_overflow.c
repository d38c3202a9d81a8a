/* Permits handed back by dropped, granted-but-unpolled acquires never push a count above its maximum (semaphore, mutex, rwlock). */
#include "sync_test.h"

#define MAX WEFT_SEMAPHORE_MAX_PERMITS

/*
 * Two acquires of MAX permits queue; three releases of MAX grant both and
 * fill the counter.  Dropping both granted futures hands 2 * MAX back: the
 * count must stay at MAX (the excess is discarded, see docs/sync.md), not
 * wrap the state word.
 */
static void test_semaphore_two_max_waiters(void)
{
	struct hand h;
	weft_semaphore s;
	weft_semaphore_acquire_future a, b;

	hand_init(&h);
	CHECK_EQ(weft_semaphore_init(&s, 0), 0);
	CHECK_EQ(weft_semaphore_acquire(&s, MAX, &a), 0);
	CHECK_EQ(weft_semaphore_acquire(&s, MAX, &b), 0);
	CHECK_EQ(hand_poll(&h, &a.base), WEFT_PENDING);
	CHECK_EQ(hand_poll(&h, &b.base), WEFT_PENDING);
	CHECK_EQ(weft_semaphore_release(&s, MAX), 0); /* a is granted */
	CHECK_EQ(weft_semaphore_release(&s, MAX), 0); /* b is granted */
	CHECK_EQ(weft_semaphore_release(&s, MAX), 0); /* to the counter */
	CHECK_EQ(weft_semaphore_available(&s), MAX);
	weft_future_drop(&a.base);
	CHECK_EQ(weft_semaphore_available(&s), MAX);
	weft_future_drop(&b.base);
	CHECK_EQ(weft_semaphore_available(&s), MAX);
	CHECK(!weft_semaphore_is_closed(&s));
	CHECK_EQ(weft_semaphore_try_acquire(&s, MAX), 0);
	CHECK_EQ(weft_semaphore_available(&s), 0);
	CHECK_EQ(weft_semaphore_try_acquire(&s, 1), -EAGAIN);
	CHECK_EQ(hand_refs(&h), 0);
	weft_semaphore_finish(&s);
}

/* A hand-back that fits only in part: the count stops at MAX. */
static void test_semaphore_partial_fit(void)
{
	struct hand h;
	weft_semaphore s;
	weft_semaphore_acquire_future a;

	hand_init(&h);
	CHECK_EQ(weft_semaphore_init(&s, 0), 0);
	CHECK_EQ(weft_semaphore_acquire(&s, 10, &a), 0);
	CHECK_EQ(hand_poll(&h, &a.base), WEFT_PENDING);
	CHECK_EQ(weft_semaphore_release(&s, 10), 0);     /* a is granted */
	CHECK_EQ(weft_semaphore_release(&s, MAX - 4), 0); /* counter */
	weft_future_drop(&a.base);
	CHECK_EQ(weft_semaphore_available(&s), MAX);
	weft_semaphore_finish(&s);
}

/*
 * A mutex: a waiter is handed the lock; a stray unlock (undetectable: the
 * count is 0) puts a permit in the counter; dropping the waiter must not
 * make it two permits, or two tasks would hold the mutex.
 */
static void test_mutex_stray_unlock(void)
{
	struct hand h;
	weft_mutex m;
	weft_mutex_lock_future w;

	hand_init(&h);
	CHECK_EQ(weft_mutex_init(&m), 0);
	CHECK_EQ(weft_mutex_try_lock(&m), 0);
	CHECK_EQ(weft_mutex_lock(&m, &w), 0);
	CHECK_EQ(hand_poll(&h, &w.base), WEFT_PENDING);
	CHECK_EQ(weft_mutex_unlock(&m), 0); /* handed to w */
	CHECK_EQ(weft_mutex_unlock(&m), 0); /* misuse nobody can see */
	weft_future_drop(&w.base);
	CHECK_EQ(weft_mutex_try_lock(&m), 0);
	CHECK_EQ(weft_mutex_try_lock(&m), -EAGAIN);
	CHECK_EQ(weft_mutex_unlock(&m), 0);
	CHECK_EQ(weft_mutex_unlock(&m), -EPERM);
	CHECK_EQ(hand_refs(&h), 0);
	weft_mutex_finish(&m);
}

/* A rwlock with 3 readers: a granted writer dropped after stray read
 * unlocks cannot leave more than 3 read permits. */
static void test_rwlock_hand_back(void)
{
	struct hand h;
	weft_rwlock rw;
	weft_rwlock_write_future w;
	int i;

	hand_init(&h);
	CHECK_EQ(weft_rwlock_init_max_readers(&rw, 3), 0);
	CHECK_EQ(weft_rwlock_try_read(&rw), 0);
	CHECK_EQ(weft_rwlock_write(&rw, &w), 0);
	CHECK_EQ(hand_poll(&h, &w.base), WEFT_PENDING);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), 0); /* w is granted */
	CHECK_EQ(weft_rwlock_unlock_read(&rw), 0); /* stray, invisible */
	weft_future_drop(&w.base);
	for (i = 0; i < 3; i++)
		CHECK_EQ(weft_rwlock_try_read(&rw), 0);
	CHECK_EQ(weft_rwlock_try_read(&rw), -EAGAIN);
	CHECK_EQ(hand_refs(&h), 0);
	weft_rwlock_finish(&rw);
}

int main(void)
{
	test_semaphore_two_max_waiters();
	test_semaphore_partial_fit();
	test_mutex_stray_unlock();
	test_rwlock_hand_back();
	return 0;
}

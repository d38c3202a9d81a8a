/* Cheap-to-detect misuse (unlocking what is not held) returns -EPERM and changes nothing: rwlock read/write/downgrade, mutex, semaphore. */
#include "sync_test.h"

/* unlock_read while write-locked must not let a reader in beside the writer. */
static void test_unlock_read_while_writing(void)
{
	struct hand h;
	weft_rwlock rw;
	weft_rwlock_write_future w;

	hand_init(&h);
	CHECK_EQ(weft_rwlock_init(&rw), 0);
	CHECK_EQ(weft_rwlock_try_write(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), -EPERM);
	CHECK_EQ(weft_rwlock_try_read(&rw), -EAGAIN);
	CHECK_EQ(weft_rwlock_try_write(&rw), -EAGAIN);
	CHECK_EQ(weft_rwlock_unlock_write(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_write(&rw), -EPERM);

	/* The same with a write lock taken through the future. */
	CHECK_EQ(weft_rwlock_write(&rw, &w), 0);
	CHECK_EQ(hand_poll(&h, &w.base), WEFT_READY);
	CHECK_EQ(w.result, 0);
	weft_future_drop(&w.base);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), -EPERM);
	CHECK_EQ(weft_rwlock_try_read(&rw), -EAGAIN);
	CHECK_EQ(weft_rwlock_unlock_write(&rw), 0);
	CHECK_EQ(weft_rwlock_try_read(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), -EPERM);
	weft_rwlock_finish(&rw);
}

/* With every read permit taken by readers, the count looks like a write
 * lock; unlock_write and downgrade must still refuse. */
static void test_write_unlock_while_reading(void)
{
	weft_rwlock rw;

	CHECK_EQ(weft_rwlock_init_max_readers(&rw, 2), 0);
	CHECK_EQ(weft_rwlock_try_read(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_write(&rw), -EPERM);
	CHECK_EQ(weft_rwlock_try_read(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_write(&rw), -EPERM);
	CHECK_EQ(weft_rwlock_downgrade(&rw), -EPERM);
	CHECK_EQ(weft_rwlock_try_read(&rw), -EAGAIN);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), -EPERM);
	CHECK_EQ(weft_rwlock_try_write(&rw), 0);
	weft_rwlock_finish(&rw);
}

/* After a downgrade the caller holds a read lock, not the write lock. */
static void test_downgrade(void)
{
	weft_rwlock rw;

	CHECK_EQ(weft_rwlock_init_max_readers(&rw, 4), 0);
	CHECK_EQ(weft_rwlock_try_write(&rw), 0);
	CHECK_EQ(weft_rwlock_downgrade(&rw), 0);
	CHECK_EQ(weft_rwlock_downgrade(&rw), -EPERM);
	CHECK_EQ(weft_rwlock_unlock_write(&rw), -EPERM);
	CHECK_EQ(weft_rwlock_try_read(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), 0);
	CHECK_EQ(weft_rwlock_try_write(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_write(&rw), 0);

	/* max_readers 1: read and write locks take the same permit. */
	CHECK_EQ(weft_rwlock_init_max_readers(&rw, 1), 0);
	CHECK_EQ(weft_rwlock_try_read(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_write(&rw), -EPERM);
	CHECK_EQ(weft_rwlock_downgrade(&rw), -EPERM);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), 0);
	CHECK_EQ(weft_rwlock_try_write(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), -EPERM);
	CHECK_EQ(weft_rwlock_downgrade(&rw), 0);
	CHECK_EQ(weft_rwlock_unlock_write(&rw), -EPERM);
	CHECK_EQ(weft_rwlock_unlock_read(&rw), 0);
	weft_rwlock_finish(&rw);
}

static void test_mutex_and_semaphore(void)
{
	weft_mutex m;
	weft_semaphore s;

	CHECK_EQ(weft_mutex_init(&m), 0);
	CHECK_EQ(weft_mutex_unlock(&m), -EPERM);
	CHECK(!weft_mutex_is_locked(&m));
	CHECK_EQ(weft_mutex_try_lock(&m), 0);
	CHECK_EQ(weft_mutex_unlock(&m), 0);
	CHECK_EQ(weft_mutex_unlock(&m), -EPERM);
	CHECK_EQ(weft_mutex_try_lock(&m), 0);
	CHECK_EQ(weft_mutex_try_lock(&m), -EAGAIN);
	weft_mutex_finish(&m);

	/* Releasing beyond the maximum: -EOVERFLOW, nothing released. */
	CHECK_EQ(weft_semaphore_init(&s, WEFT_SEMAPHORE_MAX_PERMITS - 1), 0);
	CHECK_EQ(weft_semaphore_release(&s, 2), -EOVERFLOW);
	CHECK_EQ(weft_semaphore_available(&s), WEFT_SEMAPHORE_MAX_PERMITS - 1);
	CHECK_EQ(weft_semaphore_release(&s, WEFT_SEMAPHORE_MAX_PERMITS + 1), -EOVERFLOW);
	CHECK_EQ(weft_semaphore_available(&s), WEFT_SEMAPHORE_MAX_PERMITS - 1);
	CHECK_EQ(weft_semaphore_release(&s, 1), 0);
	weft_semaphore_finish(&s);
}

int main(void)
{
	test_unlock_read_while_writing();
	test_write_unlock_while_reading();
	test_downgrade();
	test_mutex_and_semaphore();
	return 0;
}

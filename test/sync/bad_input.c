/* Sync API on NULL and out-of-range arguments: -EINVAL, never a crash; futures made from bad arguments complete with -EINVAL and drop safely. */
#include "sync_test.h"

int main(void)
{
	struct hand h;
	weft_semaphore_acquire_future sf;
	weft_mutex_lock_future mf;
	weft_rwlock_read_future rf;
	weft_rwlock_write_future wf;
	weft_notify_future nf;
	weft_barrier_wait_future bf;
	weft_once_cell_future of;
	weft_cancel_future cf;
	weft_semaphore s;
	weft_once_cell c;
	weft_cancel_token t;
	weft_ready r;
	void *v;

	hand_init(&h);

	CHECK_EQ(weft_semaphore_init(NULL, 1), -EINVAL);
	CHECK_EQ(weft_semaphore_try_acquire(NULL, 1), -EINVAL);
	CHECK_EQ(weft_semaphore_release(NULL, 1), -EINVAL);
	CHECK_EQ(weft_semaphore_close(NULL), -EINVAL);
	CHECK(!weft_semaphore_is_closed(NULL));
	CHECK_EQ(weft_semaphore_available(NULL), 0);
	weft_semaphore_finish(NULL);
	CHECK_EQ(weft_semaphore_acquire(NULL, 1, NULL), -EINVAL);
	CHECK_EQ(weft_semaphore_acquire(NULL, 1, &sf), -EINVAL);
	CHECK_EQ(hand_poll(&h, &sf.base), WEFT_READY);
	CHECK_EQ(sf.result, -EINVAL);
	weft_future_drop(&sf.base);
	CHECK_EQ(weft_semaphore_init(&s, 1), 0);
	CHECK_EQ(weft_semaphore_acquire(&s, WEFT_SEMAPHORE_MAX_PERMITS + 1, &sf), -EINVAL);
	CHECK_EQ(hand_poll(&h, &sf.base), WEFT_READY);
	CHECK_EQ(sf.result, -EINVAL);
	weft_future_drop(&sf.base);
	CHECK_EQ(weft_semaphore_available(&s), 1);
	weft_semaphore_finish(&s);

	CHECK_EQ(weft_mutex_init(NULL), -EINVAL);
	CHECK_EQ(weft_mutex_try_lock(NULL), -EINVAL);
	CHECK_EQ(weft_mutex_unlock(NULL), -EINVAL);
	CHECK(!weft_mutex_is_locked(NULL));
	weft_mutex_finish(NULL);
	CHECK_EQ(weft_mutex_lock(NULL, NULL), -EINVAL);
	CHECK_EQ(weft_mutex_lock(NULL, &mf), -EINVAL);
	CHECK_EQ(hand_poll(&h, &mf.base), WEFT_READY);
	CHECK_EQ(mf.result, -EINVAL);
	weft_future_drop(&mf.base);

	CHECK_EQ(weft_rwlock_init(NULL), -EINVAL);
	CHECK_EQ(weft_rwlock_init_max_readers(NULL, 1), -EINVAL);
	CHECK_EQ(weft_rwlock_try_read(NULL), -EINVAL);
	CHECK_EQ(weft_rwlock_try_write(NULL), -EINVAL);
	CHECK_EQ(weft_rwlock_unlock_read(NULL), -EINVAL);
	CHECK_EQ(weft_rwlock_unlock_write(NULL), -EINVAL);
	CHECK_EQ(weft_rwlock_downgrade(NULL), -EINVAL);
	weft_rwlock_finish(NULL);
	CHECK_EQ(weft_rwlock_read(NULL, NULL), -EINVAL);
	CHECK_EQ(weft_rwlock_write(NULL, NULL), -EINVAL);
	CHECK_EQ(weft_rwlock_read(NULL, &rf), -EINVAL);
	CHECK_EQ(weft_rwlock_write(NULL, &wf), -EINVAL);
	CHECK_EQ(hand_poll(&h, &rf.base), WEFT_READY);
	CHECK_EQ(hand_poll(&h, &wf.base), WEFT_READY);
	CHECK_EQ(rf.result, -EINVAL);
	CHECK_EQ(wf.result, -EINVAL);
	weft_future_drop(&rf.base);
	weft_future_drop(&wf.base);

	CHECK_EQ(weft_notify_init(NULL), -EINVAL);
	CHECK_EQ(weft_notify_one(NULL), -EINVAL);
	CHECK_EQ(weft_notify_waiters(NULL), -EINVAL);
	CHECK_EQ(weft_notify_try_notified(NULL), -EINVAL);
	weft_notify_finish(NULL);
	CHECK_EQ(weft_notify_notified(NULL, NULL), -EINVAL);
	CHECK_EQ(weft_notify_notified(NULL, &nf), -EINVAL);
	CHECK_EQ(hand_poll(&h, &nf.base), WEFT_READY);
	CHECK_EQ(nf.result, -EINVAL);
	weft_future_drop(&nf.base);

	CHECK_EQ(weft_barrier_init(NULL, 2), -EINVAL);
	CHECK_EQ(weft_barrier_try_wait(NULL), -EINVAL);
	weft_barrier_finish(NULL);
	CHECK_EQ(weft_barrier_wait(NULL, NULL), -EINVAL);
	CHECK_EQ(weft_barrier_wait(NULL, &bf), -EINVAL);
	CHECK_EQ(hand_poll(&h, &bf.base), WEFT_READY);
	CHECK_EQ(bf.result, -EINVAL);
	weft_future_drop(&bf.base);

	CHECK_EQ(weft_once_cell_init(NULL), -EINVAL);
	CHECK_EQ(weft_once_cell_get(NULL, &v), -EINVAL);
	CHECK_EQ(weft_once_cell_set(NULL, NULL), -EINVAL);
	weft_once_cell_finish(NULL);
	CHECK_EQ(weft_once_cell_init(&c), 0);
	CHECK_EQ(weft_once_cell_get(&c, NULL), -EINVAL);
	weft_ready_init(&r, NULL);
	CHECK_EQ(weft_once_cell_get_or_init(&c, NULL, &r.base, &r.value, NULL), -EINVAL);
	CHECK_EQ(weft_once_cell_get_or_init(NULL, &of, &r.base, &r.value, NULL), -EINVAL);
	CHECK_EQ(hand_poll(&h, &of.base), WEFT_READY);
	CHECK_EQ(of.result, -EINVAL);
	weft_future_drop(&of.base);
	CHECK_EQ(weft_once_cell_get_or_init(&c, &of, NULL, &r.value, NULL), -EINVAL);
	weft_future_drop(&of.base); /* never polled */
	CHECK_EQ(weft_once_cell_get_or_init(&c, &of, &r.base, NULL, NULL), -EINVAL);
	CHECK_EQ(hand_poll(&h, &of.base), WEFT_READY);
	weft_future_drop(&of.base);
	CHECK_EQ(weft_once_cell_get(&c, &v), -EAGAIN);
	weft_once_cell_finish(&c);

	CHECK_EQ(weft_cancel_token_init(NULL), -EINVAL);
	CHECK_EQ(weft_cancel_token_init_child(NULL, NULL), -EINVAL);
	CHECK_EQ(weft_cancel_token_init(&t), 0);
	CHECK_EQ(weft_cancel_token_init_child(NULL, &t), -EINVAL);
	CHECK_EQ(weft_cancel_token_finish(NULL), -EINVAL);
	CHECK_EQ(weft_cancel_token_cancel(NULL), -EINVAL);
	CHECK(!weft_cancel_token_is_cancelled(NULL));
	CHECK_EQ(weft_cancel_token_cancelled(NULL, NULL), -EINVAL);
	CHECK_EQ(weft_cancel_token_cancelled(NULL, &cf), -EINVAL);
	CHECK_EQ(hand_poll(&h, &cf.base), WEFT_READY);
	CHECK_EQ(cf.result, -EINVAL);
	weft_future_drop(&cf.base);
	CHECK_EQ(weft_cancel_token_finish(&t), 0);

	CHECK_EQ(hand_refs(&h), 0);
	return 0;
}

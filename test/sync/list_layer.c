/* The list layer of src/common: the generic intrusive FIFO (push, pop, batches, splice), the waiter list, and the wake batch's "full: unlock, wake, relock" step. */
#include "sync_test.h"

#include "common/fifo.h"
#include "common/waitlist.h"
#include "common/wakebatch.h"

struct item {
	int value;
	struct weft__fifo_node link;
};

#define ITEM(n) WEFT__FIFO_ENTRY((n), struct item, link)

static void check_order(struct weft__fifo *q, int from, int to)
{
	struct weft__fifo_node *n;
	int v = from;

	while ((n = weft__fifo_pop_front(q)) != NULL) {
		CHECK_EQ(ITEM(n)->value, v);
		CHECK(n->next == NULL);
		v++;
	}
	CHECK_EQ(v, to);
	CHECK(weft__fifo_is_empty(q));
	CHECK(q->tail == NULL);
}

static void test_fifo(void)
{
	struct item items[10];
	struct weft__fifo q, other, batch, all;
	int i;

	weft__fifo_init(&q);
	weft__fifo_init(&other);
	CHECK(weft__fifo_is_empty(&q));
	CHECK(weft__fifo_pop_front(&q) == NULL);
	CHECK_EQ(weft__fifo_pop_batch(&q, 4, &batch), 0);
	CHECK(batch.head == NULL && batch.tail == NULL);
	for (i = 0; i < 10; i++) {
		items[i].value = i;
		weft__fifo_push_back(i < 6 ? &q : &other, &items[i].link);
	}
	CHECK(ITEM(weft__fifo_front(&q))->value == 0);

	/* A batch of 4 from the front is a chain of its own. */
	CHECK_EQ(weft__fifo_pop_batch(&q, 4, &batch), 4);
	CHECK(ITEM(batch.tail)->value == 3);
	CHECK(batch.tail->next == NULL);
	CHECK(ITEM(weft__fifo_front(&q))->value == 4);

	/* Splice: batch (0..3), then q (4, 5), then other (6..9). */
	weft__fifo_append(&batch, &q);
	CHECK(weft__fifo_is_empty(&q));
	weft__fifo_append(&batch, &other);
	weft__fifo_append(&batch, &other); /* appending an empty FIFO: nothing */
	all = weft__fifo_take_all(&batch);
	CHECK(weft__fifo_is_empty(&batch));
	check_order(&all, 0, 10);

	/* A batch larger than the FIFO takes everything and empties it. */
	for (i = 0; i < 3; i++)
		weft__fifo_push_back(&q, &items[i].link);
	CHECK_EQ(weft__fifo_pop_batch(&q, 100, &batch), 3);
	CHECK(weft__fifo_is_empty(&q) && q.tail == NULL);
	weft__fifo_push_back(&q, &items[9].link); /* the tail was reset */
	weft__fifo_append(&other, &batch);
	weft__fifo_append(&other, &q);
	CHECK_EQ(weft__fifo_pop_batch(&other, 3, &batch), 3);
	check_order(&batch, 0, 3);
	CHECK(ITEM(weft__fifo_pop_front(&other))->value == 9);
	CHECK(weft__fifo_is_empty(&other));
}

static void test_waitlist(void)
{
	struct weft__waiter w[4];
	struct weft__waitlist l;
	int i;

	weft__waitlist_init(&l);
	for (i = 0; i < 4; i++) {
		weft__waiter_init(&w[i]);
		weft__waitlist_push_back(&l, &w[i]);
	}
	weft__waitlist_remove(&l, &w[2]);
	weft__waitlist_remove(&l, &w[2]); /* not linked: nothing */
	CHECK(!w[2].linked);
	CHECK(weft__waitlist_pop_front(&l) == &w[0]);
	weft__waitlist_remove(&l, &w[3]);
	CHECK(weft__waitlist_front(&l) == &w[1]);
	CHECK(weft__waitlist_pop_front(&l) == &w[1]);
	CHECK(weft__waitlist_is_empty(&l));
	CHECK(weft__waitlist_pop_front(&l) == NULL);
}

/* A waker that records whether the lock was held when it was woken. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int woken, woken_locked;

static weft_waker lockprobe_clone(void *data);
static void lockprobe_wake(void *data)
{
	(void)data;
	woken++;
	if (pthread_mutex_trylock(&lock) == 0)
		pthread_mutex_unlock(&lock);
	else
		woken_locked++;
}
static void lockprobe_drop(void *data)
{
	(void)data;
}
static const weft_waker_vtable lockprobe_vtable = { lockprobe_clone, lockprobe_wake, lockprobe_wake, lockprobe_drop };
static weft_waker lockprobe_clone(void *data)
{
	weft_waker w = { data, &lockprobe_vtable };

	return w;
}

static void test_wake_batch(void)
{
	struct weft__wake_batch b;
	weft_waker slot = { NULL, NULL };
	int i, flushes = 0;

	weft__wake_batch_init(&b);
	pthread_mutex_lock(&lock);
	for (i = 0; i < 2 * WAKE_BATCH + 5; i++) {
		weft_waker w = lockprobe_clone(&lock);

		weft__wake_batch_push(&b, &w);
		CHECK(weft_waker_is_empty(&w));
		weft__wake_batch_push(&b, &slot); /* an empty waker is skipped */
		if (weft__wake_batch_flush_if_full(&b, &lock))
			flushes++;
	}
	CHECK_EQ(flushes, 2);
	CHECK_EQ(woken, 2 * WAKE_BATCH);
	weft__wake_batch_unlock_wake(&b, &lock);
	CHECK_EQ(woken, 2 * WAKE_BATCH + 5);
	CHECK_EQ(woken_locked, 0); /* nobody was woken under the lock */
	CHECK_EQ(b.count, 0);
}

int main(void)
{
	test_fifo();
	test_waitlist();
	test_wake_batch();
	return 0;
}

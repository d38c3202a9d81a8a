/* Broadcast and watch receivers: a moved receiver keeps the one reference, clones (rx_clone) hold their own, and the channel is freed exactly once, after the last user (run under ASan to see a use after free or a leak). */
#include <string.h>

#include "chan_test.h"

struct holder {
	int tag;
	weft_broadcast_rx brx;
	weft_watch_rx wrx;
};

static void test_broadcast(void)
{
	weft_broadcast_tx *tx;
	weft_broadcast_rx first, clone;
	struct holder *h = calloc(1, sizeof(*h));
	uint64_t v, lagged;

	CHECK(h != NULL);
	CHECK_EQ(weft_broadcast_create(sizeof(v), 4, &tx), 0);
	CHECK_EQ(weft_broadcast_subscribe(tx, &first), 0);
	/* Move the receiver into the heap holder; `first` is abandoned. */
	memcpy(&h->brx, &first, sizeof(first));
	memset(&first, 0xa5, sizeof(first));
	CHECK_EQ(weft_broadcast_rx_clone(&h->brx, &clone), 0);
	CHECK_EQ(weft_broadcast_receiver_count(tx), 2);
	v = 1;
	CHECK_EQ(weft_broadcast_send(tx, &v), 0);

	/* Finishing one receiver leaves the channel to the other and the
	 * sender. */
	weft_broadcast_rx_finish(&h->brx);
	free(h);
	CHECK_EQ(weft_broadcast_receiver_count(tx), 1);
	v = 2;
	CHECK_EQ(weft_broadcast_send(tx, &v), 0);
	CHECK_EQ(weft_broadcast_try_recv(&clone, &v, &lagged), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(weft_broadcast_try_recv(&clone, &v, &lagged), 0);
	CHECK_EQ(v, 2);
	/* The sender goes first; the clone still reads the end of stream. */
	weft_broadcast_tx_release(tx);
	CHECK_EQ(weft_broadcast_try_recv(&clone, &v, &lagged), -EPIPE);
	weft_broadcast_rx_finish(&clone);
}

static void test_watch(void)
{
	weft_watch_tx *tx;
	weft_watch_rx first, clone, third;
	struct holder *h = calloc(1, sizeof(*h));
	uint64_t v = 10, version;

	CHECK(h != NULL);
	CHECK_EQ(weft_watch_create(sizeof(v), &v, &tx), 0);
	CHECK_EQ(weft_watch_subscribe(tx, &first), 0);
	memcpy(&h->wrx, &first, sizeof(first));
	memset(&first, 0xa5, sizeof(first));
	v = 11;
	CHECK_EQ(weft_watch_send(tx, &v), 0);
	/* The clone starts from the same last-seen version: it sees the
	 * change too. */
	CHECK_EQ(weft_watch_rx_clone(&h->wrx, &clone), 0);
	CHECK_EQ(weft_watch_has_changed(&clone), 1);
	CHECK_EQ(weft_watch_has_changed(&h->wrx), 1);
	CHECK_EQ(weft_watch_read(&h->wrx, &v, &version), 0);
	CHECK_EQ(v, 11);
	CHECK_EQ(weft_watch_has_changed(&h->wrx), 0);
	CHECK_EQ(weft_watch_has_changed(&clone), 1);
	CHECK_EQ(weft_watch_rx_clone(&clone, &third), 0);

	weft_watch_rx_finish(&h->wrx);
	free(h);
	v = 12;
	CHECK_EQ(weft_watch_send(tx, &v), 0);
	weft_watch_tx_release(tx);
	CHECK_EQ(weft_watch_read(&clone, &v, &version), 0);
	CHECK_EQ(v, 12);
	CHECK_EQ(version, 2);
	CHECK_EQ(weft_watch_has_changed(&clone), -EPIPE);
	weft_watch_rx_finish(&clone);
	/* The last user frees the channel. */
	CHECK_EQ(weft_watch_read(&third, &v, &version), 0);
	CHECK_EQ(v, 12);
	weft_watch_rx_finish(&third);
}

int main(void)
{
	test_broadcast();
	test_watch();
	return 0;
}

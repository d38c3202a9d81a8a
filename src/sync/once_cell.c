/*
 * src/sync/once_cell.c - weft_once_cell: set once, then read lock-free.
 *
 * The protocol
 * ============
 *
 * The cell is a `state` word (EMPTY or SET), the value, and a semaphore
 * with one permit: the right to initialise.
 *
 *   get            one acquire load of `state`; SET means `value` is final.
 *   get_or_init    Reads the cell; if it is empty, acquires the permit
 *                  (queueing FIFO behind other would-be initialisers).  The
 *                  holder polls its own initialiser future.  On success it
 *                  writes `value`, publishes SET with a release store, and
 *                  closes the semaphore without giving the permit back:
 *                  closing completes every queued acquire with -EPIPE, which
 *                  the waiters read as "the cell is set", and every later
 *                  acquire fails the same way at once.
 *   set            try_acquire the permit; with it, as a successful
 *                  initialiser.  -EPIPE means set (-EEXIST), -EAGAIN means
 *                  an initialiser runs (-EBUSY).
 *
 * Takeover: an initialiser that fails, or whose get_or_init future is
 * dropped while it runs, releases the permit.  The semaphore hands it to
 * the oldest queued waiter, which then runs its own initialiser.  A waiter
 * dropped while queued just leaves the queue (sem.c passes on a permit it
 * had been handed but not yet seen), so the right to initialise is never
 * lost: somebody always holds it, or it is free, or the cell is set.
 */
#include <errno.h>
#include <stdatomic.h>

#include "../common/sem.h"

/* weft/sync.h's inline fast paths test for SET as WEFT__ONCE_SET. */
enum { ONCE_EMPTY, ONCE_SET = WEFT__ONCE_SET };

enum {
	STEP_INIT,         /* not polled yet */
	STEP_ACQUIRING,    /* waiting for the right to initialise */
	STEP_INITIALISING, /* holds the permit, polling the initialiser */
	STEP_DONE,         /* returned ready, or dropped */
};

int weft_once_cell_init(weft_once_cell *c)
{
	int err;

	if (c == NULL)
		return -EINVAL;
	err = weft__sem_init(&c->sem, 1, 1);
	if (err != 0)
		return err;
	atomic_init(&c->state, ONCE_EMPTY);
	c->value = NULL;
	return 0;
}

void weft_once_cell_finish(weft_once_cell *c)
{
	if (c != NULL)
		weft__sem_finish(&c->sem);
}

/* The names are in parentheses because weft/sync.h wraps them in macros
 * (the inline fast paths); these are the exported functions. */
int (weft_once_cell_get)(const weft_once_cell *c, void **value)
{
	if (c == NULL || value == NULL)
		return -EINVAL;
	/* Acquire: pairs with the release store in publish, so the value
	 * written before it is seen. */
	if (atomic_load_explicit(&c->state, memory_order_acquire) != ONCE_SET)
		return -EAGAIN;
	*value = c->value;
	return 0;
}

/* The permit holder stores the value and lets everybody go. */
static void publish(weft_once_cell *c, void *value)
{
	c->value = value;
	/* Release: publishes `value`; pairs with the acquire in get. */
	atomic_store_explicit(&c->state, ONCE_SET, memory_order_release);
	/* The permit is never returned: the cell is set for good. */
	weft__sem_close(&c->sem);
}

int weft_once_cell_set(weft_once_cell *c, void *value)
{
	int err;

	if (c == NULL)
		return -EINVAL;
	/* Relaxed: a set cell is only reported (-EEXIST), its value is not
	 * read; the permit's acquire CAS below orders everything else. */
	if (atomic_load_explicit(&c->state, memory_order_relaxed) == ONCE_SET)
		return -EEXIST;
	err = weft__sem_try_acquire(&c->sem, 1);
	if (err == -EPIPE)
		return -EEXIST;
	if (err != 0)
		return -EBUSY;
	publish(c, value);
	return 0;
}

static weft_poll get_or_init_poll(weft_future *f, weft_cx *cx)
{
	weft_once_cell_future *self = (weft_once_cell_future *)f;
	struct weft__once_wait *w = &self->wait;
	weft_once_cell *c = w->cell;
	int err;

	if (c == NULL) {
		self->result = -EINVAL;
		return WEFT_READY;
	}
	switch (w->step) {
	case STEP_INIT:
		if (weft_once_cell_get(c, &self->value) == 0)
			goto done;
		weft__sem_wait_init(&w->acquire, &c->sem, 1);
		w->step = STEP_ACQUIRING;
		/* fall through */
	case STEP_ACQUIRING:
		if (weft__sem_wait_poll(&w->acquire, cx, &err) == WEFT_PENDING)
			return WEFT_PENDING;
		if (err != 0) {
			/* Closed: somebody set the cell.  Acquire ordering comes
			 * from the load in get. */
			if (weft_once_cell_get(c, &self->value) != 0)
				self->value = NULL; /* not reached: close follows SET */
			goto done;
		}
		w->step = STEP_INITIALISING;
		/* fall through */
	case STEP_INITIALISING:
		if (weft_future_poll(w->init, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		if (w->init_status != NULL && *w->init_status < 0) {
			/* Failed: the next waiter takes over. */
			self->result = *w->init_status;
			w->step = STEP_DONE;
			weft__sem_release(&c->sem, 1);
			return WEFT_READY;
		}
		self->value = *w->init_value;
		w->step = STEP_DONE;
		publish(c, self->value);
		self->result = 0;
		return WEFT_READY;
	default:
		return WEFT_READY;
	}
done:
	w->step = STEP_DONE;
	self->result = 0;
	return WEFT_READY;
}

static void get_or_init_drop(weft_future *f)
{
	weft_once_cell_future *self = (weft_once_cell_future *)f;
	struct weft__once_wait *w = &self->wait;

	if (w->step == STEP_ACQUIRING)
		weft__sem_wait_drop(&w->acquire);
	else if (w->step == STEP_INITIALISING)
		weft__sem_release(&w->cell->sem, 1); /* cancelled: hand over */
	w->step = STEP_DONE;
}

int (weft_once_cell_get_or_init)(weft_once_cell *c, weft_once_cell_future *f,
				 weft_future *init, void *const *init_value,
				 const int *init_status)
{
	bool bad = c == NULL || init == NULL || init_value == NULL;

	if (f == NULL)
		return -EINVAL;
	/* Acquire: pairs with the release store in publish.  A set cell is
	 * final, so the future completes with this value (as the inline path
	 * in weft/sync.h does). */
	if (!bad && atomic_load_explicit(&c->state, memory_order_acquire) == ONCE_SET) {
		f->base.poll = weft_future_done_poll;
		f->base.drop = NULL;
		f->result = 0;
		f->value = c->value;
		return 0;
	}
	f->base.poll = get_or_init_poll;
	f->base.drop = get_or_init_drop;
	f->result = -EINVAL;
	f->value = NULL;
	f->wait.cell = bad ? NULL : c;
	f->wait.init = init;
	f->wait.init_value = init_value;
	f->wait.init_status = init_status;
	f->wait.step = STEP_INIT;
	return bad ? -EINVAL : 0;
}

/*
 * weft/future.h - the future protocol: poll, wakers, the poll context, the
 * cooperative budget, await macros and a few ready-made futures.
 *
 * A future is a struct whose first member is a `weft_future` naming its poll
 * and drop functions.  Everything the future needs across suspension points
 * lives in its own struct, and so does its result: whoever polled it to
 * WEFT_READY reads the result from the future's fields.
 *
 * Rules (see docs/protocol.md for the long form):
 *  - poll returns WEFT_PENDING only after arranging to be woken: it stored a
 *    clone of the context's waker somewhere that will wake it.
 *  - drop runs exactly once, on a future that was never polled, one stopped
 *    at any await, or one that finished.  Cancelling is always safe.  A
 *    spawned task's future is dropped by the runtime when the task ends
 *    (right after its ready poll, or when it is cancelled); its result
 *    fields are read afterwards, so drop leaves them intact (weft/task.h).
 *  - The waker in a weft_cx is borrowed for one poll; clone it to keep it.
 *  - Wakers may be cloned, woken and dropped from any thread.
 */
#ifndef WEFT_FUTURE_H
#define WEFT_FUTURE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef ESHUTDOWN
/* -ESHUTDOWN (the runtime is shutting down) is one of weft's answers; a C
 * library without it (Windows') gets Linux's value. */
#define ESHUTDOWN 108
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The outcome of one poll. */
typedef enum weft_poll {
	WEFT_PENDING = 0,
	WEFT_READY = 1,
} weft_poll;

struct weft_waker_vtable;

/*
 * A waker: 16 bytes, passed by value.  `data` is interpreted only by the
 * vtable's functions.  A waker whose vtable is NULL is "empty": the helpers
 * below treat waking or dropping it as a no-op, which makes a zeroed waker
 * field a valid "nobody to wake" value.
 */
typedef struct weft_waker {
	void *data;
	const struct weft_waker_vtable *vtable;
} weft_waker;

/*
 * The four operations of a waker.  All of them may be called from any thread.
 *  - clone: returns a new waker that wakes the same thing (both must be
 *    dropped or consumed).
 *  - wake: wakes and consumes the waker (it must not be used afterwards).
 *  - wake_by_ref: wakes without consuming.
 *  - drop: releases the waker without waking.
 */
typedef struct weft_waker_vtable {
	weft_waker (*clone)(void *data);
	void (*wake)(void *data);
	void (*wake_by_ref)(void *data);
	void (*drop)(void *data);
} weft_waker_vtable;

/*
 * The poll context: the waker of the task being polled and its cooperative
 * budget.  A weft_cx is valid during one poll call only.  The fields are
 * private; they are visible so that a caller that drives futures by hand can
 * keep a context on its stack (see weft_cx_init).
 */
typedef struct weft_cx {
	const weft_waker *waker; /* private */
	uint32_t budget;         /* private: units left in this poll */
	uint32_t flags;          /* private */
} weft_cx;

/* The header every future starts with. */
typedef struct weft_future {
	/* Polls the future once.  Never NULL. */
	weft_poll (*poll)(struct weft_future *self, weft_cx *cx);
	/* Releases what the future holds; NULL when there is nothing to
	 * release.  Runs exactly once (see the rules above). */
	void (*drop)(struct weft_future *self);
} weft_future;

/* ---- wakers ------------------------------------------------------------ */

/*
 * Returns a clone of `w`, or an empty waker when `w` is empty.
 * Any thread.
 */
static inline weft_waker weft_waker_clone(const weft_waker *w)
{
	if (w->vtable == NULL) {
		weft_waker empty = { NULL, NULL };
		return empty;
	}
	return w->vtable->clone(w->data);
}

/* Wakes `w` and consumes it; `*w` is left empty.  Any thread. */
static inline void weft_waker_wake(weft_waker *w)
{
	const weft_waker_vtable *vt = w->vtable;
	void *data = w->data;

	w->vtable = NULL;
	w->data = NULL;
	if (vt != NULL)
		vt->wake(data);
}

/* Wakes `w` without consuming it.  Any thread. */
static inline void weft_waker_wake_by_ref(const weft_waker *w)
{
	if (w->vtable != NULL)
		w->vtable->wake_by_ref(w->data);
}

/* Drops `w` without waking; `*w` is left empty.  Any thread. */
static inline void weft_waker_drop(weft_waker *w)
{
	const weft_waker_vtable *vt = w->vtable;
	void *data = w->data;

	w->vtable = NULL;
	w->data = NULL;
	if (vt != NULL)
		vt->drop(data);
}

/* Returns true when `a` and `b` wake the same thing (same data and vtable). */
static inline bool weft_waker_will_wake(const weft_waker *a, const weft_waker *b)
{
	return a->data == b->data && a->vtable == b->vtable;
}

/* Returns true when `w` is empty (holds nothing to wake). */
static inline bool weft_waker_is_empty(const weft_waker *w)
{
	return w->vtable == NULL;
}

/*
 * Stores a clone of `w` in `*slot`, dropping what `*slot` held before, and
 * skipping the clone when `*slot` already wakes the same thing.  `*slot` must
 * be a valid waker (possibly empty).  The caller synchronises access to
 * `*slot`.
 */
static inline void weft_waker_store(weft_waker *slot, const weft_waker *w)
{
	if (weft_waker_will_wake(slot, w))
		return;
	weft_waker_drop(slot);
	*slot = weft_waker_clone(w);
}

/* Returns a waker that does nothing when woken.  Useful for tests. */
weft_waker weft_waker_noop(void);

/* ---- the poll context -------------------------------------------------- */

/* Cooperative budget given to each task poll. */
#define WEFT_COOP_BUDGET 128u
/* Budget of a context made by weft_cx_init: effectively unlimited. */
#define WEFT_COOP_UNCONSTRAINED UINT32_MAX

/*
 * Initialises `cx` around `waker` with an unconstrained budget, for callers
 * that poll futures by hand (tests, foreign executors).  `waker` must outlive
 * every poll that uses `cx`.
 */
static inline void weft_cx_init(weft_cx *cx, const weft_waker *waker)
{
	cx->waker = waker;
	cx->budget = WEFT_COOP_UNCONSTRAINED;
	cx->flags = 0;
}

/* Returns the waker of the current poll, borrowed for the poll's duration. */
static inline const weft_waker *weft_cx_waker(weft_cx *cx)
{
	return cx->waker;
}

/*
 * Spends one unit of the cooperative budget.  Every operation that may wait
 * (lock, channel, timer, socket) calls this before doing its work.  Returns
 * true when the caller may proceed.  Returns false when the budget is spent:
 * the task has already been woken, and the caller must return WEFT_PENDING
 * without doing the operation, so that an always-ready task still yields.
 */
static inline bool weft_coop_proceed(weft_cx *cx)
{
	if (cx->budget == WEFT_COOP_UNCONSTRAINED)
		return true;
	if (cx->budget == 0) {
		weft_waker_wake_by_ref(cx->waker);
		return false;
	}
	cx->budget--;
	return true;
}

/*
 * Gives back the unit taken by the last weft_coop_proceed when the operation
 * turned out not to be ready (it will return WEFT_PENDING and wait), so that
 * waiting costs no budget.  Optional.
 */
static inline void weft_coop_refund(weft_cx *cx)
{
	if (cx->budget < WEFT_COOP_BUDGET)
		cx->budget++;
}

/* Returns true when the budget of this poll is spent. */
static inline bool weft_coop_exhausted(const weft_cx *cx)
{
	return cx->budget == 0;
}

/* ---- polling ------------------------------------------------------------ */

/*
 * The poll function of a future that is complete: returns WEFT_READY and
 * touches nothing.  A future whose result fields are in place may set its
 * poll to this (weft_ready_init's future has it from the start; the inline
 * fast paths of weft/sync.h set it when they complete in the caller's own
 * code).  weft_future_poll recognises it and answers WEFT_READY without the
 * call, so that a future completed inline (weft_once_cell_get_or_init on a
 * set cell) costs its caller no indirect call.  Any thread.
 */
weft_poll weft_future_done_poll(weft_future *f, weft_cx *cx);

/* Polls `f` once.  Same as f->poll(f, cx), without the call when the poll
 * is weft_future_done_poll. */
static inline weft_poll weft_future_poll(weft_future *f, weft_cx *cx)
{
	if (f->poll == weft_future_done_poll)
		return WEFT_READY;
	return f->poll(f, cx);
}

/* Runs `f`'s drop function, if it has one.  Call exactly once per future. */
static inline void weft_future_drop(weft_future *f)
{
	if (f != NULL && f->drop != NULL)
		f->drop(f);
}

/* ---- await macros ------------------------------------------------------- */

/*
 * Straight-line futures in the style of protothreads.  The future's struct
 * declares WEFT_ASYNC_STATE (a resume point, zero when initialised); its poll
 * function is written as
 *
 *	static weft_poll my_poll(weft_future *f, weft_cx *cx)
 *	{
 *		struct my_future *self = (struct my_future *)f;
 *
 *		WEFT_ASYNC_BEGIN(self);
 *		weft_oneshot_recv(self->reply, &self->value, &self->recv);
 *		WEFT_AWAIT(self, cx, &self->recv.base);
 *		weft_future_drop(&self->recv.base);
 *		self->result = self->value * 2;
 *		WEFT_ASYNC_END(self);
 *	}
 *
 * Locals do not survive an await: keep state in the struct.  WEFT_AWAIT and
 * WEFT_YIELD must not be used inside a nested switch, and at most one of
 * them may stand on one source line.  A label may stand right before
 * WEFT_ASYNC_END (a `goto out` for an early exit).  After WEFT_ASYNC_END the
 * future has returned WEFT_READY; polling it again returns WEFT_READY.
 *
 * The macros are plain C11 and C++: a resume point is a `case` label that
 * the straight-line path reaches by an explicit `goto`, so nothing falls
 * through into a case (no -Wimplicit-fallthrough warning), and
 * WEFT_ASYNC_END starts with an empty statement so that a label before it
 * labels a statement.  See docs/protocol.md.
 */
/* Declares the resume point in a future's struct (zero: not started). */
#define WEFT_ASYNC_STATE int weft_resume_

#define WEFT__CAT2(a, b) a##b
#define WEFT__CAT(a, b) WEFT__CAT2(a, b)
#define WEFT__RESUME_LABEL WEFT__CAT(weft_resume_at_, __LINE__)

/* Opens the body of a poll function written with the macros; `self` is the
 * future's struct.  Resumes at the await the last poll stopped at. */
#define WEFT_ASYNC_BEGIN(self)                                               \
	switch ((self)->weft_resume_) {                                      \
	case -1:                                                             \
		return WEFT_READY;                                           \
	case 0:

/* Polls `child` (a weft_future *) until it is ready, suspending meanwhile. */
#define WEFT_AWAIT(self, cx, child)                                          \
	do {                                                                 \
		(self)->weft_resume_ = __LINE__;                             \
		goto WEFT__RESUME_LABEL;                                     \
	case __LINE__:                                                       \
	WEFT__RESUME_LABEL:                                                  \
		if (weft_future_poll((child), (cx)) == WEFT_PENDING)         \
			return WEFT_PENDING;                                 \
	} while (0)

/* Yields once: wakes the task and suspends; the next poll resumes here. */
#define WEFT_YIELD(self, cx)                                                 \
	do {                                                                 \
		(self)->weft_resume_ = __LINE__;                             \
		weft_waker_wake_by_ref(weft_cx_waker(cx));                   \
		return WEFT_PENDING;                                         \
	case __LINE__:;                                                      \
	} while (0)

/* Closes the body opened by WEFT_ASYNC_BEGIN: marks the future finished and
 * returns WEFT_READY. */
#define WEFT_ASYNC_END(self)                                                 \
	;                                                                    \
	}                                                                    \
	(self)->weft_resume_ = -1;                                           \
	return WEFT_READY

/* ---- ready-made futures ------------------------------------------------- */

/* A future that is ready at its first poll; `value` is its result. */
typedef struct weft_ready {
	weft_future base;
	void *value;
} weft_ready;

/* Initialises a ready future holding `value`.  Never fails. */
void weft_ready_init(weft_ready *f, void *value);

/* A future that never completes (and never needs waking).  Cancel it. */
typedef struct weft_pending {
	weft_future base;
} weft_pending;

/* Initialises a forever-pending future.  Never fails. */
void weft_pending_init(weft_pending *f);

/*
 * A future that returns WEFT_PENDING once (after waking its task) and then
 * WEFT_READY.  On a runtime the task goes to the back of its queue, never to
 * the LIFO slot, and runs again only after the other ready tasks (those in
 * the shared injector included) and, on a current-thread runtime, the
 * block_on future, if it was woken, have had their turn.  A spent budget
 * (weft_coop_proceed returning false) yields the same way.
 */
typedef struct weft_yield {
	weft_future base;
	bool yielded;
} weft_yield;

/* Initialises a yield-once future.  Never fails. */
void weft_yield_now(weft_yield *f);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_FUTURE_H */

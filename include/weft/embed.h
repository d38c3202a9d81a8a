/*
 * weft/embed.h - driving a current-thread runtime from another event loop.
 *
 * A program that already has an event loop (a GUI toolkit's, GLib's,
 * libuv's, a game loop, a plain poll() loop) can run a current-thread
 * runtime inside it instead of giving a thread to weft_block_on.  The
 * runtime offers three things, as libuv offers uv_backend_fd and
 * uv_backend_timeout:
 *
 *  - weft_runtime_tick runs ready tasks on the calling thread, up to a
 *    budget of task polls, after reaping completed I/O and firing due
 *    timers, and returns without ever blocking;
 *  - weft_runtime_backend_fd is one file descriptor that becomes readable
 *    when the runtime has something to do: an I/O completion or readiness
 *    event to reap, or a wake from another thread (a task woken or spawned
 *    there, a channel message sent from there);
 *  - weft_runtime_backend_timeout is how long the host may wait before the
 *    next timer is due (0 when work is ready now).
 *
 * The host loop is:
 *
 *     int fd = weft_runtime_backend_fd(rt);
 *     for (;;) {
 *         while (weft_runtime_tick(rt, WEFT_TICK_BUDGET) > 0)
 *             ;                          (or do one tick per host turn)
 *         struct pollfd p = { fd, POLLIN, 0 };
 *         poll(&p, 1, weft_runtime_backend_timeout(rt));
 *     }
 *
 * with the host's own fds next to `fd`.  Nothing changes for the tasks:
 * they do I/O, sleep, and wait on channels and locks as on any runtime.
 *
 * Rules:
 *  - Tick, then read the timeout, then wait: a tick leaves the fd armed
 *    (a wake that comes after it makes the fd readable) and settles its
 *    state, so the fd is not readable when nothing is pending.  Do not
 *    read from the fd yourself; only poll it for readability.
 *  - The fd may turn readable spuriously (a wake of work that a tick has
 *    already run); a tick then finds nothing and returns 0.
 *  - Drive the runtime from one host thread.  With io_uring the kernel
 *    posts a completion from the thread that submitted the operation (the
 *    ticking thread), which it interrupts to do so when that thread sleeps
 *    in poll(); ticks from several threads in turn work, but a completion
 *    may then wait until its submitter enters the kernel.
 *  - Ticks and weft_block_on exclude each other: while one thread is
 *    inside weft_block_on(rt), a tick from another returns -EBUSY, and
 *    weft_block_on returns -EBUSY while a tick (or a call of this header
 *    that takes the runtime for a moment) runs on another thread.  When a
 *    weft_block_on of a runtime whose fd was requested returns, it leaves
 *    the fd readable once, so that a host waiting meanwhile re-reads the
 *    timeout.
 *  - A tick from inside a task (or from a future polled by weft_block_on)
 *    returns -EDEADLK: it would run tasks inside a task.
 *  - Tasks that yield (weft_yield_now, a spent cooperative budget) run
 *    again at the next tick, not in the same one: the host gets its turn
 *    between two polls of a task that is always ready.
 *  - A paused clock (weft_runtime_config.start_paused) behaves as under
 *    weft_block_on: a tick that has nothing left to run moves the clock
 *    to the next timer and fires it (the tasks woken run in the same
 *    tick, budget permitting).  So a tick returns 0 only when no timer
 *    waits (or a blocking-pool job runs, which holds the clock), and the
 *    timeout of a paused runtime is 0 or -1, never a real delay.
 *    weft_time_advance may also be called between ticks.
 *  - Only the current-thread flavour can be embedded: every call here
 *    returns -EINVAL for a multi-threaded runtime, whose workers run and
 *    wait on their own threads.
 *
 * docs/embedding.md has the long form, examples/embed_poll.c a poll() loop
 * and examples/embed_glib.c a GLib main loop (a GSource).
 */
#ifndef WEFT_EMBED_H
#define WEFT_EMBED_H

#include "weft/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A tick budget (task polls) that suits most hosts: long enough to amortise
 * the reaping, short enough to keep a GUI frame responsive. */
#define WEFT_TICK_BUDGET 64u

/*
 * Runs the current-thread runtime `rt` on the calling thread for at most
 * `budget` task polls, without blocking: reaps completed I/O, fires due
 * timers, runs the tasks that are ready (and the ones they wake, in the
 * same tick while the budget lasts), reaps and fires again, and leaves the
 * backend fd armed for the host's wait.
 *
 * Returns 1 when work is left that can run now (the budget ran out, a task
 * yielded, a wake came during the tick, completions are waiting): tick
 * again before waiting, or wait with a timeout of 0.  Returns 0 when
 * nothing can run until the backend fd turns readable or the timeout of
 * weft_runtime_backend_timeout passes.  Errors: -EINVAL when `rt` is NULL
 * or multi-threaded or `budget` is 0; -EDEADLK when called from inside a
 * task or a polled block_on future (of any runtime); -EBUSY when another
 * thread is inside weft_block_on(rt) or a tick of `rt`.
 *
 * Any thread outside the runtime; see the rules above for which one.
 */
int weft_runtime_tick(weft_runtime *rt, unsigned budget);

/*
 * Returns the file descriptor a host loop polls for readability (POLLIN,
 * G_IO_IN, UV_READABLE) to learn that `rt` needs a tick: an io_uring ring
 * fd, readable while completions wait in it, or an epoll fd, readable while
 * an event waits in it; a wake from any thread makes either readable.  The
 * fd stays the same for the runtime's life and belongs to the runtime: do
 * not read, write or close it; weft_runtime_destroy closes it, so take it
 * out of the host's poll set first.  The first call marks the runtime as
 * embedded: from then on wakes from other threads also signal the fd.
 * Returns the fd (>= 0), or -EINVAL when `rt` is NULL or multi-threaded.
 * Any thread.
 */
int weft_runtime_backend_fd(weft_runtime *rt);

/*
 * Returns how many milliseconds the host may wait on the backend fd before
 * `rt` needs a tick: 0 when work is ready now (or a timer is due), -1 when
 * no timer waits (wait for the fd alone; also the answer for a paused
 * clock), otherwise the time until the next timer, rounded up to whole
 * milliseconds so that a host that waits that long never wakes before the
 * timer is due (at most INT_MAX).  While another thread drives `rt` (inside
 * weft_block_on or a tick) it returns -1, and that thread makes the fd
 * readable when it leaves.  Returns -EINVAL (which poll() also reads as
 * "no timeout": check errors once, with weft_runtime_backend_fd) when `rt`
 * is NULL or multi-threaded.  Any thread; call it after the tick and just
 * before the wait.
 */
int weft_runtime_backend_timeout(weft_runtime *rt);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_EMBED_H */

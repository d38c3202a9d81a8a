/*
 * test/sync/layout_types.h - every public struct, as an X-macro list, for
 * the C/C++ layout test (layout_dump.c prints the C compiler's sizes and
 * alignments; layout.cpp static-asserts that C++ agrees).
 */
#ifndef WEFT_TEST_LAYOUT_TYPES_H
#define WEFT_TEST_LAYOUT_TYPES_H

#define WEFT_LAYOUT_TYPES(X)                                                   \
	X(weft_waker) X(weft_waker_vtable) X(weft_cx) X(weft_future)           \
	X(weft_ready) X(weft_pending) X(weft_yield) X(weft_allocator)          \
	X(weft_runtime_config) X(weft_join_handle) X(weft_fn_future)           \
	X(weft_semaphore) X(weft_semaphore_acquire_future) X(weft_mutex)       \
	X(weft_mutex_lock_future) X(weft_rwlock) X(weft_rwlock_read_future)    \
	X(weft_rwlock_write_future) X(weft_notify) X(weft_notify_future)       \
	X(weft_barrier) X(weft_barrier_wait_future) X(weft_once_cell)          \
	X(weft_once_cell_future) X(weft_cancel_token) X(weft_cancel_future)    \
	X(weft_mpsc_send_future) X(weft_mpsc_recv_future) X(weft_oneshot)      \
	X(weft_oneshot_recv_future) X(weft_broadcast_rx)                       \
	X(weft_broadcast_recv_future) X(weft_watch_rx)                         \
	X(weft_watch_changed_future) X(weft_select)

/* The private structs the public ones embed, named with `struct`. */
#define WEFT_LAYOUT_PRIVATE(X)                                                 \
	X(weft__waiter) X(weft__waitlist) X(weft__sem) X(weft__sem_wait)       \
	X(weft__notify_wait) X(weft__barrier_wait) X(weft__once_wait)          \
	X(weft__cancel_wait)

#endif /* WEFT_TEST_LAYOUT_TYPES_H */

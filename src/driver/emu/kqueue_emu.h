/*
 * src/driver/emu/kqueue_emu.h - a TEST-ONLY kqueue for Linux, so that
 * src/driver/kqueue.c runs on this machine (no BSD host exists here and
 * Debian has no libkqueue).  Built only with -Dkqueue_emulation=true;
 * kqueue.c includes this header in place of <sys/event.h> then.
 *
 * The declarations follow the documented BSD interface (kqueue(2),
 * kevent(2)): struct kevent, EV_SET, the filters and flags below.  Only
 * the subset the driver uses is implemented (kqueue_emu.c says exactly
 * which); anything else is refused with EINVAL.  The functions are named
 * weft__emu_* and reached through function-like macros, so that `struct
 * kevent` keeps its name and no unprefixed symbol leaves the library.
 */
#ifndef WEFT_SRC_DRIVER_EMU_KQUEUE_EMU_H
#define WEFT_SRC_DRIVER_EMU_KQUEUE_EMU_H

#include <stdint.h>
#include <time.h>

/* One change or one event (kevent(2)). */
struct kevent {
	/* The identifier: an fd for EVFILT_READ / EVFILT_WRITE, any number
	 * for EVFILT_USER. */
	uintptr_t ident;
	/* EVFILT_*. */
	short filter;
	/* EV_* actions on input, EV_* state on output. */
	unsigned short flags;
	/* Filter-specific flags (NOTE_*; on output of an fd filter with
	 * EV_EOF set, the socket error if any). */
	unsigned int fflags;
	/* Filter-specific data (always 0 from the emulation). */
	intptr_t data;
	/* Passed through unchanged from registration to event. */
	void *udata;
};

/* Filters. */
#define EVFILT_READ (-1)
#define EVFILT_WRITE (-2)
#define EVFILT_USER (-11)

/* Actions (input flags). */
#define EV_ADD 0x0001u
#define EV_DELETE 0x0002u
#define EV_ENABLE 0x0004u
#define EV_DISABLE 0x0008u
#define EV_ONESHOT 0x0010u
#define EV_CLEAR 0x0020u
/* Output flags. */
#define EV_ERROR 0x4000u
#define EV_EOF 0x8000u

/* EVFILT_USER fflags: trigger the event. */
#define NOTE_TRIGGER 0x01000000u

/* Fills a struct kevent, as the BSD macro of the same name. */
#define EV_SET(kevp, a, b, c, d, e, f)                                                           \
	do {                                                                                     \
		struct kevent *ev_set_p_ = (kevp);                                               \
		ev_set_p_->ident = (a);                                                          \
		ev_set_p_->filter = (b);                                                         \
		ev_set_p_->flags = (unsigned short)(c);                                          \
		ev_set_p_->fflags = (d);                                                         \
		ev_set_p_->data = (e);                                                           \
		ev_set_p_->udata = (f);                                                          \
	} while (0)

/* Creates a queue: returns its fd (an epoll instance, readable while an
 * event is pending, as a kqueue is) or -1 with errno.  Any thread. */
int weft__emu_kqueue(void);

/* Applies `nchanges` changes, then collects up to `nevents` events,
 * waiting at most `timeout` (NULL: without limit).  Returns the number of
 * events, or -1 with errno (a change that failed when nevents is 0, as
 * kevent(2) does; with room, a failed change is returned as an EV_ERROR
 * event with the errno in data).  The emulation needs room for two events
 * or none: nevents 1 is EINVAL.  Any thread, several at once. */
int weft__emu_kevent(int kq, const struct kevent *changes, int nchanges,
		     struct kevent *events, int nevents, const struct timespec *timeout);

/* Closes a queue made by weft__emu_kqueue and frees its state.  Returns
 * 0 or -1 with errno.  No thread may use the queue any more. */
int weft__emu_kqueue_close(int kq);

#define kqueue() weft__emu_kqueue()
#define kevent(kq, ch, nch, ev, nev, ts) weft__emu_kevent((kq), (ch), (nch), (ev), (nev), (ts))

#endif /* WEFT_SRC_DRIVER_EMU_KQUEUE_EMU_H */

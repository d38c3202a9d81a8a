/*
 * The test-only kqueue emulation (src/driver/emu/) against the kevent(2)
 * semantics the kqueue driver relies on: EV_ONESHOT fires once and is
 * gone, EV_CLEAR fires once per new readiness, a plain knote is level,
 * both filters of one fd report separately, EV_DELETE of a missing knote
 * is ENOENT (as an EV_ERROR event when there is room), EVFILT_USER stays
 * triggered until reset (or, with EV_CLEAR, until retrieved), a timeout
 * expires with no event, unsupported flags are EINVAL; and a stress of
 * several threads collecting from one queue while others trigger and
 * write (TSan).  Built only with -Dkqueue_emulation=true.
 */
#define _GNU_SOURCE
#include "test.h"
#include "driver/emu/kqueue_emu.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

static const struct timespec zero = { 0, 0 };

/* Collects events without waiting; returns how many. */
static int collect(int kq, struct kevent *ev, int n)
{
	int got = kevent(kq, NULL, 0, ev, n, &zero);

	CHECK(got >= 0);
	return got;
}

static void change(int kq, uintptr_t ident, short filter, unsigned flags, unsigned fflags,
		   void *udata)
{
	struct kevent ch;

	EV_SET(&ch, ident, filter, flags, fflags, 0, udata);
	CHECK_EQ(kevent(kq, &ch, 1, NULL, 0, NULL), 0);
}

static void one_byte(int fd)
{
	CHECK_EQ(write(fd, "x", 1), 1);
}

static void oneshot_and_level(int kq)
{
	struct kevent ev[4], ch;
	int p[2], i;

	CHECK_EQ(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	one_byte(p[1]);
	change(kq, (uintptr_t)p[0], EVFILT_READ, EV_ADD | EV_ONESHOT, 0, (void *)0x11);
	CHECK_EQ(collect(kq, ev, 4), 1);
	CHECK_EQ(ev[0].filter, EVFILT_READ);
	CHECK(ev[0].ident == (uintptr_t)p[0] && ev[0].udata == (void *)0x11);
	CHECK_EQ(collect(kq, ev, 4), 0); /* gone, though still readable */
	EV_SET(&ch, (uintptr_t)p[0], EVFILT_READ, EV_DELETE, 0, 0, NULL);
	CHECK_EQ(kevent(kq, &ch, 1, NULL, 0, NULL), -1);
	CHECK_EQ(errno, ENOENT);
	/* With room, the failure comes back as an EV_ERROR event. */
	CHECK_EQ(kevent(kq, &ch, 1, ev, 4, &zero), 1);
	CHECK(ev[0].flags & EV_ERROR);
	CHECK_EQ(ev[0].data, ENOENT);
	/* A plain knote is level: it fires on every collection. */
	change(kq, (uintptr_t)p[0], EVFILT_READ, EV_ADD, 0, NULL);
	for (i = 0; i < 3; i++)
		CHECK_EQ(collect(kq, ev, 4), 1);
	change(kq, (uintptr_t)p[0], EVFILT_READ, EV_DELETE, 0, NULL);
	CHECK_EQ(collect(kq, ev, 4), 0);
	close(p[0]);
	close(p[1]);
}

static void clear_and_both_filters(int kq)
{
	struct kevent ev[4];
	int sv[2], i, nr = 0, nw = 0;
	char b[8];

	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, (void *)0x21);
	change(kq, (uintptr_t)sv[0], EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, (void *)0x22);
	/* Writable at once: one write event, then nothing (edge). */
	CHECK_EQ(collect(kq, ev, 4), 1);
	CHECK_EQ(ev[0].filter, EVFILT_WRITE);
	CHECK(ev[0].udata == (void *)0x22);
	CHECK_EQ(collect(kq, ev, 4), 0);
	/* New data: a read event (the write filter may report too). */
	one_byte(sv[1]);
	for (i = collect(kq, ev, 4); i > 0; i--) {
		nr += ev[i - 1].filter == EVFILT_READ;
		nw += ev[i - 1].filter == EVFILT_WRITE;
	}
	CHECK_EQ(nr, 1);
	CHECK(nw <= 1);
	/* Unread data does not fire again without new readiness. */
	CHECK_EQ(collect(kq, ev, 4), 0);
	CHECK_EQ(read(sv[0], b, sizeof(b)), 1);
	/* The peer closes: EV_EOF on the read filter. */
	close(sv[1]);
	nr = 0;
	for (i = collect(kq, ev, 4); i > 0; i--)
		if (ev[i - 1].filter == EVFILT_READ) {
			CHECK(ev[i - 1].flags & EV_EOF);
			nr++;
		}
	CHECK_EQ(nr, 1);
	close(sv[0]);
}

static void user_events(int kq)
{
	struct kevent ev[4];
	int i;

	/* Without EV_CLEAR: triggered until deleted. */
	change(kq, 7, EVFILT_USER, EV_ADD, 0, (void *)0x31);
	CHECK_EQ(collect(kq, ev, 4), 0);
	change(kq, 7, EVFILT_USER, 0, NOTE_TRIGGER, NULL);
	for (i = 0; i < 3; i++) {
		CHECK_EQ(collect(kq, ev, 4), 1);
		CHECK(ev[0].filter == EVFILT_USER && ev[0].ident == 7);
		CHECK(ev[0].udata == (void *)0x31);
	}
	change(kq, 7, EVFILT_USER, EV_DELETE, 0, NULL);
	change(kq, 7, EVFILT_USER, EV_ADD, 0, NULL);
	CHECK_EQ(collect(kq, ev, 4), 0);
	change(kq, 7, EVFILT_USER, EV_DELETE, 0, NULL);
	/* With EV_CLEAR: retrieved once per trigger. */
	change(kq, 8, EVFILT_USER, EV_ADD | EV_CLEAR, 0, NULL);
	change(kq, 8, EVFILT_USER, 0, NOTE_TRIGGER, NULL);
	CHECK_EQ(collect(kq, ev, 4), 1);
	CHECK_EQ(collect(kq, ev, 4), 0);
	change(kq, 8, EVFILT_USER, EV_DELETE, 0, NULL);
}

static void timeout_and_bad_input(int kq)
{
	struct timespec ts = { 0, 2000000 };
	struct kevent ev[2], ch;
	int p[2];

	CHECK_EQ(kevent(kq, NULL, 0, ev, 2, &ts), 0);
	CHECK_EQ(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	EV_SET(&ch, (uintptr_t)p[0], EVFILT_READ, EV_ADD | EV_DISABLE, 0, 0, NULL);
	CHECK_EQ(kevent(kq, &ch, 1, NULL, 0, NULL), -1);
	CHECK_EQ(errno, EINVAL);
	EV_SET(&ch, 1, (short)-99, EV_ADD, 0, 0, NULL);
	CHECK_EQ(kevent(kq, &ch, 1, NULL, 0, NULL), -1);
	CHECK_EQ(errno, EINVAL);
	close(p[1]);
	close(p[0]);
	/* A closed fd. */
	EV_SET(&ch, (uintptr_t)p[0], EVFILT_READ, EV_ADD, 0, 0, NULL);
	CHECK_EQ(kevent(kq, &ch, 1, NULL, 0, NULL), -1);
	CHECK_EQ(errno, EBADF);
	CHECK_EQ(kevent(-1, NULL, 0, ev, 2, &zero), -1);
	CHECK_EQ(errno, EBADF);
}

/* ---- stress: collectors, a triggerer and writers on one queue ---------- */

#define PIPES 4

struct stress {
	int kq;
	int p[PIPES][2];
	int rounds;
	_Atomic int stop;
	_Atomic long seen_user, seen_read;
};

static void *collector(void *arg)
{
	struct stress *s = arg;
	struct timespec ts = { 0, 1000000 };
	struct kevent ev[8];
	char b[64];
	int n, i;

	while (!atomic_load(&s->stop)) {
		n = kevent(s->kq, NULL, 0, ev, 8, &ts);
		CHECK(n >= 0);
		for (i = 0; i < n; i++) {
			if (ev[i].filter == EVFILT_USER) {
				atomic_fetch_add(&s->seen_user, 1);
				continue;
			}
			CHECK_EQ(ev[i].filter, EVFILT_READ);
			atomic_fetch_add(&s->seen_read, 1);
			while (read((int)ev[i].ident, b, sizeof(b)) > 0)
				;
		}
	}
	return NULL;
}

static void *writer(void *arg)
{
	struct stress *s = arg;
	int i;

	for (i = 0; i < s->rounds; i++) {
		one_byte(s->p[i % PIPES][1]);
		if (i % 16 == 0)
			change(s->kq, 5, EVFILT_USER, 0, NOTE_TRIGGER, NULL);
	}
	return NULL;
}

static void stress(void)
{
	struct stress s = { 0 };
	pthread_t c[3], w;
	int i;

	s.kq = kqueue();
	CHECK(s.kq >= 0);
	s.rounds = 20000 * (int)test_scale();
	change(s.kq, 5, EVFILT_USER, EV_ADD | EV_CLEAR, 0, NULL);
	for (i = 0; i < PIPES; i++) {
		CHECK_EQ(pipe2(s.p[i], O_NONBLOCK | O_CLOEXEC), 0);
		change(s.kq, (uintptr_t)s.p[i][0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, NULL);
	}
	for (i = 0; i < 3; i++)
		CHECK_EQ(pthread_create(&c[i], NULL, collector, &s), 0);
	CHECK_EQ(pthread_create(&w, NULL, writer, &s), 0);
	CHECK_EQ(pthread_join(w, NULL), 0);
	/* Everything written is collected: every pipe ends empty. */
	for (i = 0; i < PIPES; i++) {
		struct pollfd pf = { .fd = s.p[i][0], .events = POLLIN };

		while (poll(&pf, 1, 0) == 1)
			sched_yield();
	}
	atomic_store(&s.stop, 1);
	for (i = 0; i < 3; i++)
		CHECK_EQ(pthread_join(c[i], NULL), 0);
	CHECK(atomic_load(&s.seen_read) > 0);
	CHECK(atomic_load(&s.seen_user) > 0);
	for (i = 0; i < PIPES; i++) {
		close(s.p[i][0]);
		close(s.p[i][1]);
	}
	CHECK_EQ(weft__emu_kqueue_close(s.kq), 0);
}

int main(void)
{
	int kq = kqueue();

	CHECK(kq >= 0);
	oneshot_and_level(kq);
	clear_and_both_filters(kq);
	user_events(kq);
	timeout_and_bad_input(kq);
	CHECK_EQ(weft__emu_kqueue_close(kq), 0);
	CHECK_EQ(weft__emu_kqueue_close(kq), -1);
	stress();
	return 0;
}

/*
 * src/driver/ready_none.c - the readiness layer's two process-wide entry
 * points (driver.h) where no readiness backend is built (Windows: the
 * completion port is the one backend).
 *
 * With no edge-triggered registrations there is no readiness to report and
 * nothing to forget at close: every attempt goes to the syscall, and a
 * closed socket's pending overlapped operations complete with an error of
 * their own (iocp.c).
 */
#include "driver.h"

uint32_t weft__io_ready_tick(int fd, uint32_t events, bool *unready)
{
	(void)fd;
	(void)events;
	*unready = false;
	return 0;
}

void weft__io_ready_drained(int fd, uint32_t events, uint32_t tick)
{
	(void)fd;
	(void)events;
	(void)tick;
}

void weft__io_fd_close(int fd)
{
	(void)fd;
}

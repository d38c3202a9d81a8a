/*
 * src/driver/time_stub.c - a runtime without timers, so that the driver
 * and its parking build and run before the timer subsystem lands.  The
 * lead deletes this file when merging src/driver/time*.c.
 *
 * No timer is ever registered: there is no deadline to park for, nothing
 * to fire, and a paused clock never has anything to jump to.
 */
#include "time.h"

#include <errno.h>
#include <stddef.h>

struct weft__time {
	char unused;
};

static struct weft__time no_timers;

int weft__time_create(struct weft_runtime *rt, bool paused, struct weft__time **out)
{
	(void)rt;
	(void)paused;
	*out = &no_timers;
	return 0;
}

void weft__time_destroy(struct weft__time *t)
{
	(void)t;
}

uint64_t weft__time_park_deadline(struct weft__time *t)
{
	(void)t;
	return UINT64_MAX;
}

unsigned weft__time_process(struct weft__time *t)
{
	(void)t;
	return 0;
}

bool weft__time_auto_advance(struct weft__time *t)
{
	(void)t;
	return false;
}

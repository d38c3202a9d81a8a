/*
 * src/net/resolve.c - weft_resolve_init: getaddrinfo(3) on the blocking
 * pool, as a future.
 *
 * The lookup runs in a job that shares one heap record with the future.
 * The record has two owners, the job and the future, counted in `refs`:
 * whichever lets go last frees it.  So a future dropped while the lookup
 * runs leaves the job to finish and free the record alone, and a job that
 * never starts (aborted while queued, or cancelled by shutdown) drops its
 * reference through the pool's arg_drop.
 */
#define _GNU_SOURCE
#include "net_internal.h"
#include "weft/blocking.h"
#include "weft/runtime.h"

#include <errno.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define HOST_MAX 255

struct resolve_job {
	_Atomic int refs;
	uint16_t port;
	int result;
	weft_addr addrs[WEFT_RESOLVE_MAX];
	char host[HOST_MAX + 1];
};

static void job_unref(void *arg)
{
	struct resolve_job *j = arg;

	/* AcqRel: the last owner sees every write of the other before it
	 * frees the record; pairs with the other owner's decrement. */
	if (atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) == 1)
		free(j);
}

static int gai_errno(int rc)
{
	switch (rc) {
	case EAI_NONAME:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
	case EAI_FAIL:
		return -ENOENT;
	case EAI_AGAIN:
		return -EAGAIN;
	case EAI_MEMORY:
		return -ENOMEM;
	case EAI_SYSTEM:
		return errno != 0 ? -errno : -EIO;
	default:
		return -EINVAL;
	}
}

static void set_port(weft_addr *a, uint16_t port)
{
	if (a->storage.ss_family == AF_INET)
		((struct sockaddr_in *)&a->storage)->sin_port = htons(port);
	else if (a->storage.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a->storage)->sin6_port = htons(port);
}

static void *resolve_job_main(void *arg)
{
	struct resolve_job *j = arg;
	struct addrinfo hints, *res = NULL, *ai;
	int rc, n = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(j->host, NULL, &hints, &res);
	if (rc != 0) {
		j->result = gai_errno(rc);
	} else {
		for (ai = res; ai != NULL && n < WEFT_RESOLVE_MAX; ai = ai->ai_next) {
			if (weft_addr_from_sockaddr(&j->addrs[n], ai->ai_addr,
						    ai->ai_addrlen) != 0)
				continue;
			set_port(&j->addrs[n], j->port);
			n++;
		}
		freeaddrinfo(res);
		j->result = n > 0 ? n : -ENOENT;
	}
	job_unref(j);
	return NULL;
}

static weft_poll resolve_poll(weft_future *base, weft_cx *cx)
{
	weft_resolve_future *f = (weft_resolve_future *)base;
	struct resolve_job *j = f->job_;
	int err;

	if (f->started_ == 2)
		return WEFT_READY;
	if (f->started_ == 0) {
		/* The job's reference; the future keeps the other. */
		atomic_store_explicit(&j->refs, 2, memory_order_relaxed);
		err = weft_spawn_blocking_drop(weft_runtime_current(), resolve_job_main, j,
					       job_unref, &f->handle_);
		if (err < 0) {
			atomic_store_explicit(&j->refs, 1, memory_order_relaxed);
			f->result = err;
			f->started_ = 2;
			return WEFT_READY;
		}
		f->started_ = 1;
	}
	if (weft_future_poll(&f->handle_.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	f->result = f->handle_.status != 0 ? f->handle_.status : j->result;
	if (f->result > 0)
		memcpy(f->addrs, j->addrs, sizeof(f->addrs));
	f->started_ = 2;
	return WEFT_READY;
}

static void resolve_drop(weft_future *base)
{
	weft_resolve_future *f = (weft_resolve_future *)base;

	if (f->started_ == 1) {
		/* Still queued: it never starts, and arg_drop unrefs. */
		weft_join_abort(&f->handle_);
	}
	if (f->handle_.task != NULL)
		weft_join_detach(&f->handle_);
	if (f->job_ != NULL)
		job_unref(f->job_);
	f->job_ = NULL;
}

int weft_resolve_init(weft_resolve_future *f, const char *host, uint16_t port)
{
	struct resolve_job *j;
	size_t n;

	if (f == NULL)
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	f->base.poll = resolve_poll;
	f->base.drop = resolve_drop;
	f->started_ = 2;
	f->result = -EINVAL;
	if (host == NULL || (n = strlen(host)) == 0 || n > HOST_MAX)
		return -EINVAL;
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		f->result = -ENOMEM;
		return -ENOMEM;
	}
	atomic_init(&j->refs, 1);
	j->port = port;
	memcpy(j->host, host, n + 1);
	f->job_ = j;
	f->started_ = 0;
	f->result = 0;
	return 0;
}

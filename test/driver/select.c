/*
 * Backend selection: auto falls back to epoll when io_uring is refused
 * (simulated through the driver's test hook with ENOSYS, EPERM, ENOMEM,
 * and really with WEFT_DRIVER=epoll); a forced backend that cannot start is
 * an error, never a silent switch; unknown kinds and WEFT_DRIVER values are
 * -EINVAL; weft_runtime_driver names the backend.
 */
#include "driver_test.h"

static int create(weft_runtime_flavor flavor, weft_driver_kind kind, weft_runtime **rt)
{
	weft_runtime_config cfg = { 0 };

	cfg.flavor = flavor;
	cfg.workers = 2;
	cfg.driver = kind;
	*rt = NULL;
	return weft_runtime_create(&cfg, rt);
}

/* Creates, checks the backend's name, and destroys. */
static void expect(weft_runtime_flavor flavor, weft_driver_kind kind, const char *name)
{
	weft_runtime *rt;

	CHECK_EQ(create(flavor, kind, &rt), 0);
	CHECK(strcmp(weft_runtime_driver(rt), name) == 0);
	CHECK_EQ(weft_runtime_destroy(rt), 0);
}

static void refusals(weft_runtime_flavor flavor, bool have_uring)
{
	static const int errs[] = { ENOSYS, EPERM, ENOMEM, EACCES };
	weft_runtime *rt;
	size_t i;

	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		atomic_store(&weft__driver_refuse_uring, errs[i]);
		/* Auto: silently epoll. */
		expect(flavor, WEFT_DRIVER_AUTO, "epoll");
		/* Forced: the kernel's error (-ENOTSUP when not built). */
		CHECK_EQ(create(flavor, WEFT_DRIVER_URING, &rt),
			 have_uring ? -errs[i] : -ENOTSUP);
		CHECK(rt == NULL);
		/* Epoll forced still works. */
		expect(flavor, WEFT_DRIVER_EPOLL, "epoll");
	}
	atomic_store(&weft__driver_refuse_uring, 0);
}

int main(void)
{
	const char *env = drv_expected();
	bool have_uring;
	weft_runtime *rt;
	int rc;

	unsetenv("WEFT_DRIVER");
#if !WEFT_HAVE_EPOLL && !defined(WEFT_HAVE_URING) && defined(WEFT_HAVE_KQUEUE)
	/* A build without io_uring and epoll (a BSD, or Linux configured as
	 * one): auto starts kqueue, epoll forced is not supported. */
	(void)env;
	(void)have_uring;
	expect(WEFT_RUNTIME_MULTI_THREAD, WEFT_DRIVER_AUTO, "kqueue");
	expect(WEFT_RUNTIME_CURRENT_THREAD, WEFT_DRIVER_AUTO, "kqueue");
	CHECK_EQ(create(WEFT_RUNTIME_MULTI_THREAD, WEFT_DRIVER_EPOLL, &rt), -ENOTSUP);
	CHECK(rt == NULL);
	CHECK_EQ(create(WEFT_RUNTIME_MULTI_THREAD, WEFT_DRIVER_URING, &rt), -ENOTSUP);
	CHECK(rt == NULL);
	(void)rc;
	return 0;
#endif
	/* Is io_uring usable here at all (with the environment cleared)? */
	rc = create(WEFT_RUNTIME_MULTI_THREAD, WEFT_DRIVER_URING, &rt);
	have_uring = rc == 0;
	if (rc == 0) {
		CHECK(strcmp(weft_runtime_driver(rt), "io_uring") == 0);
		CHECK_EQ(weft_runtime_destroy(rt), 0);
		expect(WEFT_RUNTIME_MULTI_THREAD, WEFT_DRIVER_AUTO, "io_uring");
	} else {
		expect(WEFT_RUNTIME_MULTI_THREAD, WEFT_DRIVER_AUTO, "epoll");
	}
	if (!have_uring && env != NULL && strcmp(env, "io_uring") == 0)
		return 77;

	refusals(WEFT_RUNTIME_MULTI_THREAD, have_uring);
	refusals(WEFT_RUNTIME_CURRENT_THREAD, have_uring);
	CHECK_EQ(create(WEFT_RUNTIME_MULTI_THREAD, (weft_driver_kind)7, &rt), -EINVAL);
	CHECK(weft_runtime_driver(NULL) == NULL);

	/* The environment turns auto into a forced choice... */
	setenv("WEFT_DRIVER", "epoll", 1);
	expect(WEFT_RUNTIME_MULTI_THREAD, WEFT_DRIVER_AUTO, "epoll");
	expect(WEFT_RUNTIME_CURRENT_THREAD, WEFT_DRIVER_AUTO, "epoll");
	setenv("WEFT_DRIVER", "uring", 1);
	atomic_store(&weft__driver_refuse_uring, ENOSYS);
	CHECK_EQ(create(WEFT_RUNTIME_MULTI_THREAD, WEFT_DRIVER_AUTO, &rt),
		 have_uring ? -ENOSYS : -ENOTSUP);
	atomic_store(&weft__driver_refuse_uring, 0);
	if (have_uring)
		expect(WEFT_RUNTIME_MULTI_THREAD, WEFT_DRIVER_AUTO, "io_uring");
	/* ...but the config wins over it. */
	expect(WEFT_RUNTIME_MULTI_THREAD, WEFT_DRIVER_EPOLL, "epoll");
	setenv("WEFT_DRIVER", "bogus", 1);
	CHECK_EQ(create(WEFT_RUNTIME_MULTI_THREAD, WEFT_DRIVER_AUTO, &rt), -EINVAL);
	CHECK(rt == NULL);
	/* kqueue: the backend where it was built, else not supported. */
	setenv("WEFT_DRIVER", "kqueue", 1);
#ifdef WEFT_HAVE_KQUEUE
	expect(WEFT_RUNTIME_MULTI_THREAD, WEFT_DRIVER_AUTO, "kqueue");
	expect(WEFT_RUNTIME_CURRENT_THREAD, WEFT_DRIVER_KQUEUE, "kqueue");
#else
	CHECK_EQ(create(WEFT_RUNTIME_MULTI_THREAD, WEFT_DRIVER_AUTO, &rt), -ENOTSUP);
	CHECK(rt == NULL);
#endif
	unsetenv("WEFT_DRIVER");
	return 0;
}

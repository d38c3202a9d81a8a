/*
 * test/build/consumer/app.c - a program that uses an installed weft: it
 * checks that the headers and the library it runs with agree on the
 * version, and runs one task.  Built by the install, CMake and subproject
 * tests.
 */
#include <stdio.h>
#include <string.h>

#include <weft.h>

static void *twice(void *arg)
{
	return (void *)((long)arg * 2);
}

int main(void)
{
	weft_runtime_config cfg = { .flavor = WEFT_RUNTIME_MULTI_THREAD, .workers = 2 };
	weft_runtime *rt;
	weft_join_handle h;
	long result = 0;

	if (weft_version() != WEFT_VERSION_NUMBER ||
	    strcmp(weft_version_string(), WEFT_VERSION_STRING) != 0) {
		printf("headers %s, library %s\n", WEFT_VERSION_STRING, weft_version_string());
		return 1;
	}
	if (weft_runtime_create(&cfg, &rt) < 0)
		return 1;
	if (weft_spawn_fn(rt, twice, (void *)21L, &h) == 0 && weft_join(&h) == 0)
		result = (long)((weft_fn_future *)weft_join_output(&h))->result;
	weft_join_detach(&h);
	weft_runtime_destroy(rt);
	printf("weft %s: %ld\n", weft_version_string(), result);
	return result == 42 ? 0 : 1;
}

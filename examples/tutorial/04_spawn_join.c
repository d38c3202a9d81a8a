/*
 * examples/tutorial/04_spawn_join.c - spawning tasks and joining them
 * (docs/tutorial.md, chapter 4).  Each task formats a string it allocates;
 * the joiner reads the result fields through weft_join_output, takes
 * ownership of the string and frees it.  The task's drop never touches the
 * result, so it does not matter when the runtime runs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>

struct greet {
	weft_future base;
	int id;       /* input */
	char *text;   /* result: malloc'd; the joiner frees it */
	int status;   /* result: 0, or -ENOMEM */
};

static weft_poll greet_poll(weft_future *f, weft_cx *cx)
{
	struct greet *g = (struct greet *)f;

	(void)cx;
	g->text = malloc(32);
	if (g->text == NULL) {
		g->status = -1;
		return WEFT_READY;
	}
	snprintf(g->text, 32, "hello from task %d", g->id);
	g->status = 0;
	return WEFT_READY;
}

int main(void)
{
	weft_runtime_config cfg = { .workers = 2 };
	weft_runtime *rt;
	weft_join_handle h[4];
	int i;

	if (weft_runtime_create(&cfg, &rt) < 0)
		return 1;
	for (i = 0; i < 4; i++) {
		struct greet g = { .base = { greet_poll, NULL }, .id = i };

		/* weft_spawn copies g into the task; our g is just memory now. */
		if (weft_spawn(rt, &g.base, sizeof g, &h[i]) < 0)
			return 1;
	}
	for (i = 0; i < 4; i++) {
		/* weft_join blocks this (non-runtime) thread until the task is done. */
		if (weft_join(&h[i]) == 0) {
			struct greet *done = weft_join_output(&h[i]);

			if (done->status == 0)
				printf("%s\n", done->text);
			free(done->text); /* the result is ours now */
			done->text = NULL;
		}
		weft_join_detach(&h[i]); /* releases the handle (and the task) */
	}
	weft_runtime_destroy(rt);
	return 0;
}

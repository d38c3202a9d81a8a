/* examples/spawn_join.c - spawn tasks on a multi-threaded runtime and join them. */
#include <stdio.h>
#include <weft.h>

struct square {
	weft_future base; /* first member: what makes this a future */
	long in, out;     /* the input, and the result once ready */
};

static weft_poll square_poll(weft_future *f, weft_cx *cx)
{
	struct square *s = (struct square *)f;

	(void)cx;
	s->out = s->in * s->in;
	return WEFT_READY;
}

int main(void)
{
	weft_runtime *rt;
	weft_join_handle h[8];
	long i, sum = 0;

	if (weft_runtime_create(NULL, &rt) < 0)
		return 1;
	for (i = 0; i < 8; i++) {
		struct square s = { { square_poll, NULL }, i, 0 };

		if (weft_spawn(rt, &s.base, sizeof s, &h[i]) < 0)
			return 1;
	}
	for (i = 0; i < 8; i++) {
		if (weft_join(&h[i]) == 0)
			sum += ((struct square *)weft_join_output(&h[i]))->out;
		weft_join_detach(&h[i]);
	}
	printf("sum of squares: %ld\n", sum);
	weft_runtime_destroy(rt);
	return 0;
}

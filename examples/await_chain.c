/*
 * examples/await_chain.c - a future written as straight-line code with the
 * await macros: it spawns a child task, awaits it, yields, and finishes.
 * Run on a current-thread runtime with weft_block_on.
 */
#include <stdio.h>
#include <weft.h>

static void *fib(void *arg)
{
	long n = (long)arg, a = 0, b = 1;

	while (n-- > 0) {
		long t = a + b;

		a = b;
		b = t;
	}
	return (void *)a;
}

struct main_future {
	weft_future base;
	WEFT_ASYNC_STATE;         /* the resume point of the macros */
	weft_join_handle child;   /* state that lives across awaits */
	weft_yield yield;
	long result;
};

static weft_poll main_poll(weft_future *f, weft_cx *cx)
{
	struct main_future *self = (struct main_future *)f;

	WEFT_ASYNC_BEGIN(self);
	if (weft_spawn_fn(weft_runtime_current(), fib, (void *)40L, &self->child) < 0)
		return WEFT_READY;
	WEFT_AWAIT(self, cx, &self->child.base);
	if (self->child.status == 0)
		self->result = (long)((weft_fn_future *)weft_join_output(&self->child))->result;
	weft_join_detach(&self->child);
	weft_yield_now(&self->yield);
	WEFT_AWAIT(self, cx, &self->yield.base);
	WEFT_ASYNC_END(self);
}

int main(void)
{
	weft_runtime_config cfg = { .flavor = WEFT_RUNTIME_CURRENT_THREAD };
	struct main_future m = { .base = { main_poll, NULL } };
	weft_runtime *rt;

	if (weft_runtime_create(&cfg, &rt) < 0 || weft_block_on(rt, &m.base) < 0)
		return 1;
	printf("fib(40) = %ld\n", m.result);
	weft_runtime_destroy(rt);
	return 0;
}

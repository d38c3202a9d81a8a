/*
 * A user-style file that uses every await macro; test/build/compile_macros.sh
 * builds it as C11 (gcc, clang) and C++17 (g++, clang++) with
 * -Wall -Wextra -Wimplicit-fallthrough -Werror, then runs it.
 */
#include <stdio.h>
#include <string.h>

#include <weft.h>

/* A child future that is pending `left` times (waking itself each time). */
struct countdown {
	weft_future base;
	int left;
	int polls;
};

static weft_poll countdown_poll(weft_future *f, weft_cx *cx)
{
	struct countdown *c = (struct countdown *)f;

	c->polls++;
	if (c->left == 0)
		return WEFT_READY;
	c->left--;
	weft_waker_wake_by_ref(weft_cx_waker(cx));
	return WEFT_PENDING;
}

static void countdown_init(struct countdown *c, int left)
{
	memset(c, 0, sizeof(*c));
	c->base.poll = countdown_poll;
	c->left = left;
}

/* Awaits in a loop, yields, and leaves early through a label before END. */
struct user_future {
	weft_future base;
	WEFT_ASYNC_STATE;
	struct countdown child;
	int i;
	int stop_at;
	int result;
};

static weft_poll user_poll(weft_future *f, weft_cx *cx)
{
	struct user_future *self = (struct user_future *)f;

	WEFT_ASYNC_BEGIN(self);
	for (self->i = 0; self->i < 5; self->i++) {
		countdown_init(&self->child, self->i);
		WEFT_AWAIT(self, cx, &self->child.base);
		self->result += self->child.polls;
		if (self->i == self->stop_at)
			goto out;
		WEFT_YIELD(self, cx);
	}
	self->result += 1000;
out:
	WEFT_ASYNC_END(self);
}

/* Polls `f` by hand until ready; returns the number of polls. */
static int drive(weft_future *f)
{
	weft_waker w = weft_waker_noop();
	weft_cx cx;
	int polls = 1;

	weft_cx_init(&cx, &w);
	while (weft_future_poll(f, &cx) == WEFT_PENDING)
		polls++;
	return polls;
}

int main(void)
{
	struct user_future full, early;
	weft_cx cx;
	weft_waker w = weft_waker_noop();
	int polls;

	memset(&full, 0, sizeof(full));
	full.base.poll = user_poll;
	full.stop_at = -1;
	polls = drive(&full.base);
	/* Child i is polled i + 1 times: 1+2+3+4+5 = 15 child polls, plus 1000
	 * for running the loop to its end.  Polls: 10 pending child polls, 5
	 * yields, and the final one. */
	if (full.result != 1015 || polls != 16) {
		printf("full: result %d polls %d\n", full.result, polls);
		return 1;
	}

	memset(&early, 0, sizeof(early));
	early.base.poll = user_poll;
	early.stop_at = 2;
	polls = drive(&early.base);
	/* Children 0, 1, 2 (1+2+3 polls), two yields, left at i == 2. */
	if (early.result != 6 || polls != 6) {
		printf("early: result %d polls %d\n", early.result, polls);
		return 1;
	}
	/* A finished future stays ready. */
	weft_cx_init(&cx, &w);
	if (weft_future_poll(&early.base, &cx) != WEFT_READY)
		return 1;
	printf("macros ok\n");
	return 0;
}

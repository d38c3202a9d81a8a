/*
 * examples/tutorial/05_oneshot_join.c - an await-macro future over a
 * oneshot and a join handle (docs/tutorial.md, chapter 4): it spawns a
 * task that answers over a oneshot and a plain function task, awaits the
 * answer, then the join handle, and adds the two results.
 */
#include <stdio.h>
#include <weft.h>

/* The answering task: sends `value` over its oneshot. */
struct answer {
	weft_future base;
	weft_oneshot *reply;
	long value;
};

static weft_poll answer_poll(weft_future *f, weft_cx *cx)
{
	struct answer *a = (struct answer *)f;

	(void)cx;
	weft_oneshot_send(a->reply, &a->value);
	a->reply = NULL; /* the sender is done with the oneshot */
	return WEFT_READY;
}

static void answer_drop(weft_future *f)
{
	struct answer *a = (struct answer *)f;

	if (a->reply != NULL) /* dropped unsent: the receiver gets -EPIPE */
		weft_oneshot_tx_close(a->reply);
}

static void *square(void *arg)
{
	return (void *)((long)arg * (long)arg);
}

struct main_future {
	weft_future base;
	WEFT_ASYNC_STATE;
	weft_oneshot *reply;
	weft_oneshot_recv_future recv;
	long answer;
	weft_join_handle job;
	long result;
};

static weft_poll main_poll(weft_future *f, weft_cx *cx)
{
	struct main_future *self = (struct main_future *)f;
	struct answer a = { { answer_poll, answer_drop }, NULL, 38 };

	WEFT_ASYNC_BEGIN(self);
	if (weft_oneshot_create(sizeof(long), &self->reply) < 0)
		goto out;
	a.reply = self->reply;
	if (weft_spawn(weft_runtime_current(), &a.base, sizeof a, NULL) < 0)
		weft_oneshot_tx_close(self->reply);
	weft_spawn_fn(weft_runtime_current(), square, (void *)2L, &self->job);

	weft_oneshot_recv(self->reply, &self->answer, &self->recv);
	WEFT_AWAIT(self, cx, &self->recv.base);
	if (self->recv.status == 0)
		self->result = self->answer;
	weft_future_drop(&self->recv.base);
	WEFT_AWAIT(self, cx, &self->job.base);
	if (self->job.status == 0)
		self->result += (long)((weft_fn_future *)weft_join_output(&self->job))->result;
	weft_join_detach(&self->job);
out:
	WEFT_ASYNC_END(self);
}

int main(void)
{
	weft_runtime_config cfg = { .workers = 2 };
	struct main_future m = { .base = { main_poll, NULL } };
	weft_runtime *rt;

	if (weft_runtime_create(&cfg, &rt) < 0 || weft_block_on(rt, &m.base) < 0)
		return 1;
	printf("answer %ld\n", m.result);
	weft_runtime_destroy(rt);
	return m.result == 42 ? 0 : 1;
}

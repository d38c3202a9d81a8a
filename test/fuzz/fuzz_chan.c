/*
 * fuzz_chan: operation sequences over the channels (mpsc bounded and
 * unbounded, oneshot, broadcast, watch, select), checked against a model.
 *
 * The bytes pick operations one at a time: try calls, starting, polling
 * and dropping a pending future, cloning and releasing handles, closing,
 * subscribing and finishing receivers, and a select over a receive of each
 * kind.  Futures are polled by hand, each with the waker of the simulated
 * task that owns it, so the run is deterministic.  The model knows every
 * value sent and checks: every value is received exactly once and in
 * commit order (so per-sender order holds), the buffered count never
 * exceeds the capacity and equals weft_mpsc_len, waiting senders get room
 * first come first served, a closed channel answers -EPIPE exactly when it
 * should, a broadcast receiver's lag count is exact, a watch receiver sees
 * the latest value and version, a future the model says can now complete
 * was woken, and at the end no waker clone is left alive (ASan/LSan also
 * check that nothing leaked).
 */
#include "fuzz.h"

#define NSEND 3
#define NRX 3
#define QMAX 8192

/* ---- mpsc ---------------------------------------------------------------- */

struct send_slot {
	bool active;    /* a send future is initialised */
	bool queued;    /* the model has it in the semaphore queue */
	bool granted;   /* handed a permit, not yet polled */
	bool failed;    /* closed while queued: completes with -EPIPE */
	bool expect_wake;
	uint64_t value;
	weft_mpsc_send_future f;
	struct fz_task task;
};

struct mpsc_model {
	weft_mpsc_tx *tx;
	weft_mpsc_rx *rx;
	bool bounded;
	size_t cap;
	bool held[NSEND];
	uint32_t seq[NSEND];
	struct send_slot snd[NSEND];
	uint64_t q[QMAX];
	size_t qh, qt; /* model buffer: values committed, not received */
	size_t free;   /* permits in the semaphore (bounded) */
	unsigned waitq[NSEND];
	unsigned nwait;
	bool closed;
	/* The receive future. */
	bool r_active, r_expect_wake, r_in_select;
	uint64_t r_out;
	weft_mpsc_recv_future rf;
	struct fz_task rtask;
};

static size_t mq_len(const struct mpsc_model *m)
{
	return m->qt - m->qh;
}

static void mq_push(struct mpsc_model *m, uint64_t v)
{
	m->q[m->qt++ % QMAX] = v;
	if (m->bounded)
		FZ_CHECK(mq_len(m) <= m->cap);
	if (m->r_active)
		m->r_expect_wake = true;
}

/* A permit goes back: to the oldest queued sender, or to the count. */
static void m_release_permit(struct mpsc_model *m)
{
	if (m->nwait > 0 && !m->closed) {
		struct send_slot *s = &m->snd[m->waitq[0]];

		memmove(m->waitq, m->waitq + 1, --m->nwait * sizeof m->waitq[0]);
		s->queued = false;
		s->granted = true;
		s->expect_wake = true;
		return;
	}
	m->free++;
}

static void m_close(struct mpsc_model *m, bool from_tx)
{
	unsigned i;

	if (m->closed)
		return;
	m->closed = true;
	for (i = 0; i < m->nwait; i++) {
		struct send_slot *s = &m->snd[m->waitq[i]];

		s->queued = false;
		s->failed = true;
		s->expect_wake = true;
	}
	m->nwait = 0;
	if (from_tx && m->r_active)
		m->r_expect_wake = true;
}

static void m_init(struct mpsc_model *m, struct fz_in *in)
{
	unsigned i;

	memset(m, 0, sizeof *m);
	m->bounded = fz_pick(in, 3) != 0;
	m->cap = 1 + fz_pick(in, 40);
	if (m->bounded)
		FZ_CHECK_EQ(weft_mpsc_bounded(8, m->cap, &m->tx, &m->rx), 0);
	else
		FZ_CHECK_EQ(weft_mpsc_unbounded(8, &m->tx, &m->rx), 0);
	m->free = m->cap;
	m->held[0] = true;
	for (i = 1; i < NSEND; i++)
		m->held[i] = weft_mpsc_tx_clone(m->tx) == m->tx;
}

/* Completes a send whose poll returned ready with `status`. */
static void m_send_ready(struct mpsc_model *m, struct send_slot *s, int status)
{
	if (s->failed || m->closed) {
		FZ_CHECK_EQ(status, -EPIPE);
		if (s->granted)
			m->free++;
	} else {
		FZ_CHECK_EQ(status, 0);
		mq_push(m, s->value);
	}
	weft_future_drop(&s->f.base);
	s->active = s->granted = s->failed = false;
}

static void m_send_poll(struct mpsc_model *m, unsigned i)
{
	struct send_slot *s = &m->snd[i];
	bool can = s->granted || s->failed || m->closed;
	weft_poll r;

	if (can && s->expect_wake)
		FZ_CHECK(fz_woken(&s->task));
	r = fz_poll(&s->task, &s->f.base);
	if (!can) {
		FZ_CHECK_EQ(r, WEFT_PENDING);
		return;
	}
	FZ_CHECK_EQ(r, WEFT_READY);
	m_send_ready(m, s, s->f.status);
}

static void m_send_start(struct mpsc_model *m, unsigned i)
{
	struct send_slot *s = &m->snd[i];
	weft_poll r;

	if (!m->held[i] || s->active)
		return;
	s->value = (uint64_t)i << 32 | m->seq[i]++;
	FZ_CHECK_EQ(weft_mpsc_send(m->tx, &s->value, &s->f), 0);
	s->active = true;
	s->expect_wake = false;
	r = fz_poll(&s->task, &s->f.base);
	if (m->closed) {
		FZ_CHECK_EQ(r, WEFT_READY);
		m_send_ready(m, s, s->f.status);
	} else if (m->bounded && (m->nwait > 0 || m->free == 0)) {
		FZ_CHECK_EQ(r, WEFT_PENDING);
		s->queued = true;
		m->waitq[m->nwait++] = i;
	} else {
		FZ_CHECK_EQ(r, WEFT_READY);
		if (m->bounded)
			m->free--;
		m_send_ready(m, s, s->f.status);
	}
}

static void m_send_drop(struct mpsc_model *m, unsigned i)
{
	struct send_slot *s = &m->snd[i];
	unsigned j;

	if (!s->active)
		return;
	weft_future_drop(&s->f.base);
	if (s->queued) {
		for (j = 0; j < m->nwait && m->waitq[j] != i; j++)
			;
		FZ_CHECK(j < m->nwait);
		memmove(m->waitq + j, m->waitq + j + 1, (--m->nwait - j) * sizeof m->waitq[0]);
	} else if (s->granted) {
		m_release_permit(m);
	}
	s->active = s->queued = s->granted = s->failed = false;
}

static void m_try_send(struct mpsc_model *m, unsigned i)
{
	uint64_t v;
	int rc;

	if (!m->held[i] || mq_len(m) >= QMAX - 1)
		return;
	v = (uint64_t)i << 32 | m->seq[i];
	rc = weft_mpsc_try_send(m->tx, &v);
	if (m->closed) {
		FZ_CHECK_EQ(rc, -EPIPE);
	} else if (m->bounded && (m->nwait > 0 || m->free == 0)) {
		FZ_CHECK_EQ(rc, -EAGAIN);
	} else {
		FZ_CHECK_EQ(rc, 0);
		m->seq[i]++;
		if (m->bounded)
			m->free--;
		mq_push(m, v);
	}
}

/* What a receive should see now: 1 a value, -EPIPE, or 0 (would wait). */
static int m_recv_expect(const struct mpsc_model *m)
{
	if (mq_len(m) > 0)
		return 1;
	return m->closed ? -EPIPE : 0;
}

static void m_recv_done(struct mpsc_model *m, int status, uint64_t out)
{
	int e = m_recv_expect(m);

	if (e == 1) {
		FZ_CHECK_EQ(status, 0);
		FZ_CHECK_EQ(out, m->q[m->qh % QMAX]);
		m->qh++;
		if (m->bounded)
			m_release_permit(m);
	} else {
		FZ_CHECK_EQ(status, e);
	}
}

static void m_try_recv(struct mpsc_model *m)
{
	uint64_t out = 0;
	int rc = weft_mpsc_try_recv(m->rx, &out);

	if (m_recv_expect(m) == 0)
		FZ_CHECK_EQ(rc, -EAGAIN);
	else
		m_recv_done(m, rc, out);
}

static void m_recv_poll(struct mpsc_model *m)
{
	int e = m_recv_expect(m);
	weft_poll r;

	if (!m->r_active || m->r_in_select)
		return;
	if (e != 0 && m->r_expect_wake)
		FZ_CHECK(fz_woken(&m->rtask));
	r = fz_poll(&m->rtask, &m->rf.base);
	if (e == 0) {
		FZ_CHECK_EQ(r, WEFT_PENDING);
		m->r_expect_wake = false;
		return;
	}
	FZ_CHECK_EQ(r, WEFT_READY);
	m_recv_done(m, m->rf.status, m->r_out);
	weft_future_drop(&m->rf.base);
	m->r_active = false;
}

static void m_release_sender(struct mpsc_model *m, unsigned i)
{
	unsigned j;

	if (!m->held[i])
		return;
	m_send_drop(m, i);
	weft_mpsc_tx_release(m->tx);
	m->held[i] = false;
	for (j = 0; j < NSEND && !m->held[j]; j++)
		;
	if (j == NSEND)
		m_close(m, true);
}

static void m_step(struct mpsc_model *m, struct fz_in *in)
{
	unsigned i = fz_pick(in, NSEND), j;

	switch (fz_pick(in, 12)) {
	case 0:
	case 1:
		m_try_send(m, i);
		break;
	case 2:
		m_send_start(m, i);
		break;
	case 3:
		if (m->snd[i].active)
			m_send_poll(m, i);
		break;
	case 4:
		m_send_drop(m, i);
		break;
	case 5:
	case 6:
		m_try_recv(m);
		break;
	case 7:
		if (!m->r_active) {
			FZ_CHECK_EQ(weft_mpsc_recv(m->rx, &m->r_out, &m->rf), 0);
			m->r_active = true;
			m->r_expect_wake = false;
		}
		m_recv_poll(m);
		break;
	case 8:
		if (m->r_active && !m->r_in_select) {
			weft_future_drop(&m->rf.base);
			m->r_active = false;
		}
		break;
	case 9:
		m_release_sender(m, i);
		break;
	case 10:
		for (j = 0; j < NSEND && !m->held[j]; j++)
			;
		if (!m->held[i] && j < NSEND)
			m->held[i] = weft_mpsc_tx_clone(m->tx) == m->tx;
		break;
	default:
		if (fz_pick(in, 4) != 0)
			break; /* closing is rare, or nothing else is tried */
		if (fz_pick(in, 2) == 0 && m->held[i]) {
			FZ_CHECK_EQ(weft_mpsc_tx_close(m->tx), 0);
			m_close(m, true);
		} else {
			FZ_CHECK_EQ(weft_mpsc_rx_close(m->rx), 0);
			m_close(m, false);
		}
		break;
	}
	FZ_CHECK_EQ(weft_mpsc_len(m->rx), mq_len(m));
	if (m->held[0])
		FZ_CHECK_EQ(weft_mpsc_tx_is_closed(m->tx), m->closed);
}

static void m_end(struct mpsc_model *m)
{
	unsigned i;

	if (m->r_active && !m->r_in_select)
		weft_future_drop(&m->rf.base);
	m->r_active = false;
	for (i = 0; i < NSEND; i++)
		m_release_sender(m, i);
	while (mq_len(m) > 0)
		m_try_recv(m);
	m_try_recv(m); /* end of stream */
	weft_mpsc_rx_release(m->rx);
	for (i = 0; i < NSEND; i++)
		FZ_CHECK_EQ(m->snd[i].task.clones, 0);
	FZ_CHECK_EQ(m->rtask.clones, 0);
}

/* ---- oneshot ------------------------------------------------------------- */

struct os_model {
	weft_oneshot *os; /* NULL: none (both sides done frees it) */
	bool tx_done, rx_done, has_value;
	uint64_t value, counter, out;
	bool r_active, r_expect_wake;
	weft_oneshot_recv_future rf;
	struct fz_task task;
};

static void os_check_gone(struct os_model *o)
{
	if (o->tx_done && o->rx_done) {
		FZ_CHECK(!o->r_active);
		o->os = NULL; /* it freed itself */
	}
}

static void os_recv_done(struct os_model *o, int status, uint64_t out)
{
	if (o->has_value) {
		FZ_CHECK_EQ(status, 0);
		FZ_CHECK_EQ(out, o->value);
	} else {
		FZ_CHECK(o->tx_done);
		FZ_CHECK_EQ(status, -EPIPE);
	}
	o->rx_done = true;
}

static void os_step(struct os_model *o, struct fz_in *in)
{
	uint64_t v;
	weft_poll r;
	int rc;

	if (o->os == NULL) {
		FZ_CHECK_EQ(weft_oneshot_create(8, &o->os), 0);
		o->tx_done = o->rx_done = o->has_value = o->r_active = false;
		return;
	}
	switch (fz_pick(in, 6)) {
	case 0:
		v = ++o->counter;
		rc = weft_oneshot_send(o->os, &v);
		if (o->tx_done) {
			FZ_CHECK_EQ(rc, -EINVAL);
			break;
		}
		o->tx_done = true;
		if (o->rx_done) {
			FZ_CHECK_EQ(rc, -EPIPE);
		} else {
			FZ_CHECK_EQ(rc, 0);
			o->has_value = true;
			o->value = v;
			o->r_expect_wake = o->r_active;
		}
		break;
	case 1:
		FZ_CHECK_EQ(weft_oneshot_tx_close(o->os), 0);
		if (!o->tx_done && o->r_active)
			o->r_expect_wake = true;
		o->tx_done = true;
		break;
	case 2:
		if (o->r_active)
			break;
		rc = weft_oneshot_try_recv(o->os, &v);
		if (o->rx_done)
			FZ_CHECK_EQ(rc, -EINVAL);
		else if (!o->has_value && !o->tx_done)
			FZ_CHECK_EQ(rc, -EAGAIN);
		else
			os_recv_done(o, rc, v);
		break;
	case 3:
		if (o->rx_done)
			break;
		if (!o->r_active) {
			FZ_CHECK_EQ(weft_oneshot_recv(o->os, &o->out, &o->rf), 0);
			o->r_active = true;
			o->r_expect_wake = false;
		}
		if ((o->has_value || o->tx_done) && o->r_expect_wake)
			FZ_CHECK(fz_woken(&o->task));
		r = fz_poll(&o->task, &o->rf.base);
		if (!o->has_value && !o->tx_done) {
			FZ_CHECK_EQ(r, WEFT_PENDING);
			break;
		}
		FZ_CHECK_EQ(r, WEFT_READY);
		os_recv_done(o, o->rf.status, o->out);
		weft_future_drop(&o->rf.base);
		o->r_active = false;
		break;
	case 4:
		if (o->r_active) {
			weft_future_drop(&o->rf.base);
			o->r_active = false;
		}
		break;
	default:
		if (o->r_active || o->rx_done)
			break;
		FZ_CHECK_EQ(weft_oneshot_rx_close(o->os), 0);
		o->rx_done = true;
		if (!o->tx_done)
			FZ_CHECK(weft_oneshot_is_closed(o->os));
		break;
	}
	os_check_gone(o);
}

static void os_end(struct os_model *o)
{
	if (o->os == NULL)
		return;
	if (o->r_active)
		weft_future_drop(&o->rf.base);
	o->r_active = false;
	if (!o->tx_done)
		FZ_CHECK_EQ(weft_oneshot_tx_close(o->os), 0);
	if (!o->rx_done)
		FZ_CHECK_EQ(weft_oneshot_rx_close(o->os), 0);
	FZ_CHECK_EQ(o->task.clones, 0);
}

/* ---- broadcast and watch receivers --------------------------------------- */

struct bc_rx {
	bool live, active, expect_wake, in_select;
	weft_broadcast_rx rx;
	uint64_t next, out;
	weft_broadcast_recv_future f;
	struct fz_task task;
};

struct bc_model {
	weft_broadcast_tx *tx; /* NULL once freed (no sender, no receiver) */
	unsigned refs;
	size_t cap;
	uint64_t sent;
	bool closed;
	struct bc_rx r[NRX];
};

static unsigned bc_live(const struct bc_model *b)
{
	unsigned i, n = 0;

	for (i = 0; i < NRX; i++)
		n += b->r[i].live;
	return n;
}

/* The expected result of a receive on `r`: 1 value, -EOVERFLOW, -EPIPE,
 * or 0 (would wait). */
static int bc_expect(const struct bc_model *b, const struct bc_rx *r)
{
	uint64_t oldest = b->sent > b->cap ? b->sent - b->cap : 0;

	if (r->next < oldest)
		return -EOVERFLOW;
	if (r->next < b->sent)
		return 1;
	return b->closed ? -EPIPE : 0;
}

static void bc_done(struct bc_model *b, struct bc_rx *r, int status, uint64_t out, uint64_t lagged)
{
	uint64_t oldest = b->sent > b->cap ? b->sent - b->cap : 0;
	int e = bc_expect(b, r);

	if (e == 1) {
		FZ_CHECK_EQ(status, 0);
		FZ_CHECK_EQ(out, r->next);
		r->next++;
	} else if (e == -EOVERFLOW) {
		FZ_CHECK_EQ(status, -EOVERFLOW);
		FZ_CHECK_EQ(lagged, oldest - r->next);
		r->next = oldest;
	} else {
		FZ_CHECK_EQ(status, e);
	}
}

static void bc_poll(struct bc_model *b, struct bc_rx *r)
{
	int e = bc_expect(b, r);
	weft_poll p;

	if (e != 0 && r->expect_wake)
		FZ_CHECK(fz_woken(&r->task));
	p = fz_poll(&r->task, &r->f.base);
	if (e == 0) {
		FZ_CHECK_EQ(p, WEFT_PENDING);
		r->expect_wake = false;
		return;
	}
	FZ_CHECK_EQ(p, WEFT_READY);
	bc_done(b, r, r->f.status, r->out, r->f.lagged);
	weft_future_drop(&r->f.base);
	r->active = false;
}

static void bc_wake_all(struct bc_model *b)
{
	unsigned i;

	for (i = 0; i < NRX; i++)
		if (b->r[i].active)
			b->r[i].expect_wake = true;
}

static void bc_maybe_freed(struct bc_model *b)
{
	if (b->refs == 0 && bc_live(b) == 0)
		b->tx = NULL;
}

static void bc_step(struct bc_model *b, struct fz_in *in)
{
	struct bc_rx *r = &b->r[fz_pick(in, NRX)];
	struct bc_rx *src = &b->r[fz_pick(in, NRX)];
	uint64_t v = 0, lag = 0;
	int rc;

	if (b->tx == NULL) {
		b->cap = 1 + fz_pick(in, 8);
		FZ_CHECK_EQ(weft_broadcast_create(8, b->cap, &b->tx), 0);
		while (b->cap & (b->cap - 1))
			b->cap++; /* rounded up to a power of two */
		b->refs = 1;
		b->sent = 0;
		b->closed = false;
		return;
	}
	switch (fz_pick(in, 9)) {
	case 0:
	case 1:
		if (b->refs == 0)
			break;
		v = b->sent;
		rc = weft_broadcast_send(b->tx, &v);
		if (bc_live(b) == 0) {
			FZ_CHECK_EQ(rc, -EPIPE);
		} else {
			FZ_CHECK_EQ(rc, 0);
			b->sent++;
			bc_wake_all(b);
		}
		break;
	case 2:
		if (b->refs > 0 && b->refs < 3) {
			FZ_CHECK(weft_broadcast_tx_clone(b->tx) == b->tx);
			b->refs++;
		} else if (b->refs > 0) {
			weft_broadcast_tx_release(b->tx);
			if (--b->refs == 0) {
				b->closed = true;
				bc_wake_all(b);
				bc_maybe_freed(b);
			}
		}
		break;
	case 3:
		if (r->live)
			break;
		if (src->live && fz_pick(in, 2) == 0) {
			FZ_CHECK_EQ(weft_broadcast_rx_clone(&src->rx, &r->rx), 0);
			r->next = src->next;
		} else if (b->refs > 0) {
			FZ_CHECK_EQ(weft_broadcast_subscribe(b->tx, &r->rx), 0);
			r->next = b->sent;
		} else {
			break;
		}
		r->live = true;
		break;
	case 4:
		if (!r->live || r->active)
			break;
		weft_broadcast_rx_finish(&r->rx);
		r->live = false;
		bc_maybe_freed(b);
		break;
	case 5:
		if (!r->live || r->active)
			break;
		rc = weft_broadcast_try_recv(&r->rx, &v, &lag);
		if (bc_expect(b, r) == 0)
			FZ_CHECK_EQ(rc, -EAGAIN);
		else
			bc_done(b, r, rc, v, lag);
		break;
	case 6:
	case 7:
		if (!r->live || r->in_select)
			break;
		if (!r->active) {
			FZ_CHECK_EQ(weft_broadcast_recv(&r->rx, &r->out, &r->f), 0);
			r->active = true;
			r->expect_wake = false;
		}
		bc_poll(b, r);
		break;
	default:
		if (r->active && !r->in_select) {
			weft_future_drop(&r->f.base);
			r->active = false;
		}
		break;
	}
	if (b->refs > 0)
		FZ_CHECK_EQ(weft_broadcast_receiver_count(b->tx), bc_live(b));
}

static void bc_end(struct bc_model *b)
{
	unsigned i;

	if (b->tx == NULL)
		return;
	for (i = 0; i < NRX; i++) {
		struct bc_rx *r = &b->r[i];

		if (r->active && !r->in_select)
			weft_future_drop(&r->f.base);
		r->active = false;
		if (r->live)
			weft_broadcast_rx_finish(&r->rx);
		r->live = false;
	}
	while (b->refs > 0) {
		weft_broadcast_tx_release(b->tx);
		b->refs--;
	}
	for (i = 0; i < NRX; i++)
		FZ_CHECK_EQ(b->r[i].task.clones, 0);
}

struct w_rx {
	bool live, active, expect_wake, in_select;
	weft_watch_rx rx;
	uint64_t seen;
	weft_watch_changed_future f;
	struct fz_task task;
};

struct w_model {
	weft_watch_tx *tx;
	unsigned refs;
	uint64_t version, value;
	bool closed;
	struct w_rx r[NRX];
};

static int w_expect(const struct w_model *w, const struct w_rx *r)
{
	if (r->seen < w->version)
		return 1;
	return w->closed ? -EPIPE : 0;
}

static void w_done(struct w_model *w, struct w_rx *r, int status)
{
	int e = w_expect(w, r);

	FZ_CHECK_EQ(status, e == 1 ? 0 : e);
	if (e == 1)
		r->seen = w->version;
}

static void w_poll(struct w_model *w, struct w_rx *r)
{
	int e = w_expect(w, r);
	weft_poll p;

	if (e != 0 && r->expect_wake)
		FZ_CHECK(fz_woken(&r->task));
	p = fz_poll(&r->task, &r->f.base);
	if (e == 0) {
		FZ_CHECK_EQ(p, WEFT_PENDING);
		r->expect_wake = false;
		return;
	}
	FZ_CHECK_EQ(p, WEFT_READY);
	w_done(w, r, r->f.status);
	weft_future_drop(&r->f.base);
	r->active = false;
}

static void w_wake_all(struct w_model *w)
{
	unsigned i;

	for (i = 0; i < NRX; i++)
		if (w->r[i].active)
			w->r[i].expect_wake = true;
}

static unsigned w_live(const struct w_model *w)
{
	unsigned i, n = 0;

	for (i = 0; i < NRX; i++)
		n += w->r[i].live;
	return n;
}

static void w_step(struct w_model *w, struct fz_in *in)
{
	struct w_rx *r = &w->r[fz_pick(in, NRX)];
	struct w_rx *src = &w->r[fz_pick(in, NRX)];
	uint64_t v = 0, ver = 0;

	if (w->tx == NULL) {
		w->value = fz_u8(in);
		FZ_CHECK_EQ(weft_watch_create(8, &w->value, &w->tx), 0);
		w->refs = 1;
		w->version = 0;
		w->closed = false;
		return;
	}
	switch (fz_pick(in, 9)) {
	case 0:
	case 1:
		if (w->refs == 0)
			break;
		v = w->value + 1;
		FZ_CHECK_EQ(weft_watch_send(w->tx, &v), 0);
		w->value = v;
		w->version++;
		w_wake_all(w);
		FZ_CHECK_EQ(weft_watch_version(w->tx), w->version);
		break;
	case 2:
		if (w->refs > 0 && w->refs < 3) {
			FZ_CHECK(weft_watch_tx_clone(w->tx) == w->tx);
			w->refs++;
		} else if (w->refs > 0) {
			weft_watch_tx_release(w->tx);
			if (--w->refs == 0) {
				w->closed = true;
				w_wake_all(w);
				if (w_live(w) == 0)
					w->tx = NULL;
			}
		}
		break;
	case 3:
		if (r->live)
			break;
		if (src->live && fz_pick(in, 2) == 0) {
			FZ_CHECK_EQ(weft_watch_rx_clone(&src->rx, &r->rx), 0);
			r->seen = src->seen;
		} else if (w->refs > 0) {
			FZ_CHECK_EQ(weft_watch_subscribe(w->tx, &r->rx), 0);
			r->seen = w->version;
		} else {
			break;
		}
		r->live = true;
		break;
	case 4:
		if (!r->live || r->active)
			break;
		weft_watch_rx_finish(&r->rx);
		r->live = false;
		if (w->refs == 0 && w_live(w) == 0)
			w->tx = NULL;
		break;
	case 5:
		if (!r->live)
			break;
		if (fz_pick(in, 2) == 0) {
			int e = w_expect(w, r);

			FZ_CHECK_EQ(weft_watch_has_changed(&r->rx), e);
			break;
		}
		FZ_CHECK_EQ(weft_watch_read(&r->rx, &v, &ver), 0);
		FZ_CHECK_EQ(v, w->value);
		FZ_CHECK_EQ(ver, w->version);
		r->seen = w->version;
		break;
	case 6:
	case 7:
		if (!r->live || r->in_select)
			break;
		if (!r->active) {
			FZ_CHECK_EQ(weft_watch_changed(&r->rx, &r->f), 0);
			r->active = true;
			r->expect_wake = false;
		}
		w_poll(w, r);
		break;
	default:
		if (r->active && !r->in_select) {
			weft_future_drop(&r->f.base);
			r->active = false;
		}
		break;
	}
}

static void w_end(struct w_model *w)
{
	unsigned i;

	if (w->tx == NULL)
		return;
	for (i = 0; i < NRX; i++) {
		struct w_rx *r = &w->r[i];

		if (r->active && !r->in_select)
			weft_future_drop(&r->f.base);
		r->active = false;
		if (r->live)
			weft_watch_rx_finish(&r->rx);
		r->live = false;
	}
	while (w->refs > 0) {
		weft_watch_tx_release(w->tx);
		w->refs--;
	}
	for (i = 0; i < NRX; i++)
		FZ_CHECK_EQ(w->r[i].task.clones, 0);
}

/* ---- select over one receive of each kind --------------------------------- */

struct world {
	struct mpsc_model m;
	struct os_model o;
	struct bc_model b;
	struct w_model w;
	/* The select and which slot each branch is. */
	bool sel_active;
	weft_select sel;
	int kind[3]; /* 0 mpsc, 1 broadcast r[0], 2 watch r[0] */
	unsigned nb;
	struct fz_task sel_task;
};

/* Whether the branch of `kind` can complete now (its expected result). */
static int branch_expect(struct world *wd, int kind)
{
	if (kind == 0)
		return m_recv_expect(&wd->m);
	if (kind == 1)
		return bc_expect(&wd->b, &wd->b.r[0]);
	return w_expect(&wd->w, &wd->w.r[0]);
}

static bool branch_expect_wake(struct world *wd, int kind)
{
	if (kind == 0)
		return wd->m.r_expect_wake;
	if (kind == 1)
		return wd->b.r[0].expect_wake;
	return wd->w.r[0].expect_wake;
}

static void sel_release(struct world *wd)
{
	weft_future_drop(&wd->sel.base);
	if (wd->m.r_in_select)
		wd->m.r_active = wd->m.r_in_select = false;
	if (wd->b.r[0].in_select)
		wd->b.r[0].active = wd->b.r[0].in_select = false;
	if (wd->w.r[0].in_select)
		wd->w.r[0].active = wd->w.r[0].in_select = false;
	wd->sel_active = false;
}

static void sel_start(struct world *wd)
{
	weft_future *br[3];

	wd->nb = 0;
	if (!wd->m.r_active) {
		FZ_CHECK_EQ(weft_mpsc_recv(wd->m.rx, &wd->m.r_out, &wd->m.rf), 0);
		wd->m.r_active = wd->m.r_in_select = true;
		wd->m.r_expect_wake = false;
		br[wd->nb] = &wd->m.rf.base;
		wd->kind[wd->nb++] = 0;
	}
	if (wd->b.tx != NULL && wd->b.r[0].live && !wd->b.r[0].active) {
		struct bc_rx *r = &wd->b.r[0];

		FZ_CHECK_EQ(weft_broadcast_recv(&r->rx, &r->out, &r->f), 0);
		r->active = r->in_select = true;
		r->expect_wake = false;
		br[wd->nb] = &r->f.base;
		wd->kind[wd->nb++] = 1;
	}
	if (wd->w.tx != NULL && wd->w.r[0].live && !wd->w.r[0].active) {
		struct w_rx *r = &wd->w.r[0];

		FZ_CHECK_EQ(weft_watch_changed(&r->rx, &r->f), 0);
		r->active = r->in_select = true;
		r->expect_wake = false;
		br[wd->nb] = &r->f.base;
		wd->kind[wd->nb++] = 2;
	}
	if (wd->nb == 0)
		return;
	FZ_CHECK_EQ(weft_select_init(&wd->sel, br, wd->nb), 0);
	wd->sel_active = true;
}

static void sel_poll(struct world *wd)
{
	bool any = false, wake = false;
	unsigned i;
	weft_poll p;
	int k;

	for (i = 0; i < wd->nb; i++) {
		if (branch_expect(wd, wd->kind[i]) != 0) {
			any = true;
			wake |= branch_expect_wake(wd, wd->kind[i]);
		}
	}
	if (wake)
		FZ_CHECK(fz_woken(&wd->sel_task));
	p = fz_poll(&wd->sel_task, &wd->sel.base);
	if (!any) {
		FZ_CHECK_EQ(p, WEFT_PENDING);
		for (i = 0; i < wd->nb; i++) {
			if (wd->kind[i] == 0)
				wd->m.r_expect_wake = false;
			else if (wd->kind[i] == 1)
				wd->b.r[0].expect_wake = false;
			else
				wd->w.r[0].expect_wake = false;
		}
		return;
	}
	FZ_CHECK_EQ(p, WEFT_READY);
	FZ_CHECK(wd->sel.winner >= 0 && (unsigned)wd->sel.winner < wd->nb);
	k = wd->kind[wd->sel.winner];
	FZ_CHECK(branch_expect(wd, k) != 0);
	if (k == 0)
		m_recv_done(&wd->m, wd->m.rf.status, wd->m.r_out);
	else if (k == 1)
		bc_done(&wd->b, &wd->b.r[0], wd->b.r[0].f.status, wd->b.r[0].out,
			wd->b.r[0].f.lagged);
	else
		w_done(&wd->w, &wd->w.r[0], wd->w.r[0].f.status);
	sel_release(wd);
}

int fuzz_one(const uint8_t *data, size_t size)
{
	static struct world wd;
	struct fz_in in = { data, size };

	memset(&wd, 0, sizeof wd);
	m_init(&wd.m, &in);
	while (fz_more(&in)) {
		switch (fz_pick(&in, 8)) {
		case 0:
		case 1:
		case 2:
			if (!wd.sel_active || fz_pick(&in, 4) != 0)
				m_step(&wd.m, &in);
			break;
		case 3:
			os_step(&wd.o, &in);
			break;
		case 4:
			bc_step(&wd.b, &in);
			break;
		case 5:
			w_step(&wd.w, &in);
			break;
		default:
			if (!wd.sel_active)
				sel_start(&wd);
			else if (fz_pick(&in, 5) == 0)
				sel_release(&wd);
			if (wd.sel_active)
				sel_poll(&wd);
			break;
		}
	}
	if (wd.sel_active)
		sel_release(&wd);
	m_end(&wd.m);
	FZ_CHECK_EQ(wd.sel_task.clones, 0);
	os_end(&wd.o);
	bc_end(&wd.b);
	w_end(&wd.w);
	return 0;
}

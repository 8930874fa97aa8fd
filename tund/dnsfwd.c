// SPDX-License-Identifier: MIT
/*
 * The DNS forwarder: see dnsfwd.h.
 *
 * Queries wait in a FIFO (for their timeout, which is the oldest first)
 * and their framed bytes in out, which the stream reads as its local
 * end's data; what the stream writes back is reassembled into frames in
 * in, each matched to its query by our ID.
 */
#include "dnsfwd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dial.h"
#include "dns.h"
#include "log.h"
#include "stream.h"

/* Framed queries not yet taken by the stream: 256 small ones fit. */
#define OUT_CAP (64 * 1024)

struct dnsfwd_q {
	struct dnsfwd_q *prev, *next;
	uint16_t our_id, their_id;
	uint64_t deadline_ms;
	dnsfwd_cb *cb;
	void *arg;
	bool done;
};

struct dnsfwd {
	struct ev *ev;
	struct pool *pool;
	const struct tund_cfg *cfg;
	struct dnsfwd_q *head, *tail;   /* outstanding, oldest first */
	size_t n;
	uint16_t next_id;
	struct buf out;                 /* framed queries for the stream */
	struct dns_frame in;            /* the answer being reassembled */
	struct dial *dial;
	struct stream *stream;
	struct ev_timer timer;          /* the oldest query's deadline */
	struct ev_timer kick;           /* new bytes for the stream, from the loop */
	struct dnsfwd_stats st;
};

static void
unlink_q(struct dnsfwd *f, struct dnsfwd_q *q)
{
	if (q->prev) {
		q->prev->next = q->next;
	} else {
		f->head = q->next;
	}
	if (q->next) {
		q->next->prev = q->prev;
	} else {
		f->tail = q->prev;
	}
	f->n--;
}

static void
arm(struct dnsfwd *f)
{
	if (f->head) {
		ev_timer_set_at(f->ev, &f->timer, f->head->deadline_ms);
	} else {
		ev_timer_del(f->ev, &f->timer);
	}
}

/* Ends a query: its callback runs (unless cancelled), and it is freed. */
static void
answer(struct dnsfwd *f, struct dnsfwd_q *q, uint8_t *msg, size_t len)
{
	unlink_q(f, q);
	if (msg) {
		dns_set_id(msg, len, q->their_id);
		f->st.answered++;
	} else {
		f->st.failed++;
	}
	if (q->cb) {
		q->cb(q->arg, msg, len);
	}
	free(q);
}

static void
fail_all(struct dnsfwd *f)
{
	while (f->head) {
		answer(f, f->head, NULL, 0);
	}
	buf_fini(&f->out);
	f->in.len = 0;
	arm(f);
}

static void
on_timer(struct ev *ev, void *arg)
{
	struct dnsfwd *f = arg;
	uint64_t now = ev_now_ms(ev);

	while (f->head && f->head->deadline_ms <= now) {
		answer(f, f->head, NULL, 0);
	}
	arm(f);
}

/* The stream's local end: reads take framed queries, writes give answers. */

static ssize_t
end_read(void *ctx, void *buf, size_t len)
{
	struct dnsfwd *f = ctx;
	size_t have;
	const uint8_t *p = buf_rptr(&f->out, &have);

	if (have == 0) {
		return -EAGAIN;
	}
	if (len > have) {
		len = have;
	}
	memcpy(buf, p, len);
	buf_consume(&f->out, len);
	return (ssize_t)len;
}

/* One whole answer frame: to its query, by our ID. */
static void
frame(struct dnsfwd *f, uint8_t *msg, size_t len)
{
	uint16_t id;

	if (!dns_get_id(msg, len, &id)) {
		return;
	}
	for (struct dnsfwd_q *q = f->head; q; q = q->next) {
		if (q->our_id == id) {
			answer(f, q, msg, len);
			arm(f);
			return;
		}
	}
	/* A late answer to a query that timed out: nobody waits for it. */
}

static ssize_t
end_write(void *ctx, const void *buf, size_t len)
{
	struct dnsfwd *f = ctx;
	const uint8_t *p = buf;
	size_t used = 0;

	while (used < len) {
		uint8_t *msg;
		size_t mlen, n = dns_frame_take(&f->in, p + used, len - used, &msg, &mlen);

		if (n == 0) {
			return -ENOMEM;
		}
		used += n;
		if (msg) {
			frame(f, msg, mlen);
		}
	}
	return (ssize_t)len;
}

static int
end_shutdown(void *ctx)
{
	return 0;
}

static void
end_want(void *ctx, bool rd, bool wr)
{
	/* Always ready to take answers; new queries kick the stream themselves. */
}

static void
on_kick(struct ev *ev, void *arg)
{
	struct dnsfwd *f = arg;

	if (f->stream) {
		stream_wake(f->stream);
	}
}

static void
end_close(void *ctx, bool abortive)
{
}

static const struct stream_end_ops fwd_ops = {
	.read = end_read,
	.write = end_write,
	.shutdown = end_shutdown,
	.want = end_want,
	.close = end_close,
};

static void
stream_ended(struct stream *s, int err, const char *why, void *arg)
{
	struct dnsfwd *f = arg;

	if (f->head) {
		log_warnx_rl("DNS stream ended with %zu queries outstanding: %s", f->n, why);
	}
	stream_free(s);
	f->stream = NULL;
	fail_all(f);
}

static void
dialed(void *arg, const struct dial_result *r)
{
	struct dnsfwd *f = arg;
	/* The stream ends when the exit ends it: our side never has an end of data. */
	struct stream_opts o = { .idle_ms = DNSFWD_IDLE_MS, .down_ends = true };
	struct circuit *c = r->c;

	if (c == NULL) {
		log_warnx_rl("DNS stream: %s", r->why);
		dial_free(f->dial);
		f->dial = NULL;
		fail_all(f);
		return;
	}
	dial_free(f->dial);
	f->dial = NULL;
	f->stream = stream_new(f->ev, c, &fwd_ops, f, &o, stream_ended, f);
	if (f->stream == NULL) {
		circuit_free(c);
		fail_all(f);
		return;
	}
	f->st.streams++;
}

/* Opens the DNS stream, the framed bytes waiting riding with its request. */
static bool
open_stream(struct dnsfwd *f)
{
	struct socks5_req req;
	size_t have, took;
	const uint8_t *p;

	memset(&req, 0, sizeof(req));
	req.cmd = SOCKS5_CMD_DNS;
	req.dst.atyp = SOCKS5_ATYP_IPV4;
	req.dst.ip.family = AF_INET;
	f->dial = dial_new(f->ev, f->pool, f->cfg, &req, true, dialed, f);
	if (f->dial == NULL) {
		return false;
	}
	p = buf_rptr(&f->out, &have);
	took = have ? dial_early(f->dial, p, have) : 0;
	buf_consume(&f->out, took);
	dial_early_done(f->dial);
	return true;
}

static uint16_t
new_id(struct dnsfwd *f)
{
	for (;;) {
		uint16_t id = f->next_id++;
		bool used = false;

		for (struct dnsfwd_q *q = f->head; q; q = q->next) {
			if (q->our_id == id) {
				used = true;
				break;
			}
		}
		if (!used) {
			return id;
		}
	}
}

struct dnsfwd_q *
dnsfwd_query(struct dnsfwd *f, const uint8_t *msg, size_t len, dnsfwd_cb *cb, void *arg)
{
	struct dnsfwd_q *q;
	uint8_t hdr[2];
	uint8_t *copy;

	if (f->n >= DNSFWD_MAX_QUERIES || len < 12 || len > DNS_MAX_MSG ||
	    len + 2 > buf_room(&f->out)) {
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	copy = malloc(len);
	if (q == NULL || copy == NULL) {
		free(q);
		free(copy);
		return NULL;
	}
	memcpy(copy, msg, len);
	dns_get_id(copy, len, &q->their_id);
	q->our_id = new_id(f);
	dns_set_id(copy, len, q->our_id);
	hdr[0] = (uint8_t)(len >> 8);
	hdr[1] = (uint8_t)len;
	if (buf_put(&f->out, hdr, 2) < 0 || buf_put(&f->out, copy, len) < 0) {
		/* buf_room said it fits: only memory can fail, and then both go. */
		buf_fini(&f->out);
		free(copy);
		free(q);
		return NULL;
	}
	free(copy);
	q->cb = cb;
	q->arg = arg;
	q->deadline_ms = ev_now_ms(f->ev) + DNSFWD_TIMEOUT_MS;
	q->prev = f->tail;
	if (f->tail) {
		f->tail->next = q;
	} else {
		f->head = q;
	}
	f->tail = q;
	f->n++;
	f->st.queries++;
	if (f->head == q) {
		arm(f);
	}
	if (f->stream) {
		/* Not from here: the stream could end inside, and q with it. */
		ev_timer_set(f->ev, &f->kick, 0);
	} else if (f->dial == NULL && !open_stream(f)) {
		/* Answered from the loop by the timer, as a failure. */
		q->deadline_ms = ev_now_ms(f->ev);
		arm(f);
	}
	return q;
}

void
dnsfwd_cancel(struct dnsfwd *f, struct dnsfwd_q *q)
{
	if (q) {
		q->cb = NULL;
	}
}

struct dnsfwd *
dnsfwd_new(struct ev *ev, struct pool *pool, const struct tund_cfg *cfg)
{
	struct dnsfwd *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		return NULL;
	}
	f->ev = ev;
	f->pool = pool;
	f->cfg = cfg;
	f->next_id = 1;
	buf_init(&f->out, OUT_CAP);
	ev_timer_init(&f->timer, on_timer, f);
	ev_timer_init(&f->kick, on_kick, f);
	return f;
}

void
dnsfwd_free(struct dnsfwd *f)
{
	if (f == NULL) {
		return;
	}
	while (f->head) {
		struct dnsfwd_q *q = f->head;

		unlink_q(f, q);
		free(q);
	}
	ev_timer_del(f->ev, &f->timer);
	ev_timer_del(f->ev, &f->kick);
	dial_free(f->dial);
	stream_free(f->stream);
	buf_fini(&f->out);
	dns_frame_fini(&f->in);
	free(f);
}

void
dnsfwd_stats(const struct dnsfwd *f, struct dnsfwd_stats *st)
{
	*st = f->st;
	st->outstanding = f->n;
}

// SPDX-License-Identifier: MIT
/*
 * The userspace TCP stack: see tcp.h.
 *
 * Shape: one struct tcp_conn per 4-tuple in a chained hash table; a
 * connection's send buffer holds every byte from snd_una on (sent and
 * unacknowledged first, then unsent), so a retransmission reads the bytes
 * again from offset seq - snd_una. Its receive buffer holds in-order bytes
 * the owner has not read; its free room is the window.
 *
 * Re-entrancy: the owner's callbacks run from inside the stack's entry
 * points and may call any tcp_conn_* function, including release and
 * abort. Nothing is freed while an entry point runs: dead connections go
 * on a reap list emptied on the way out. Events are collected while a
 * segment is processed and delivered after it, never in the middle.
 *
 * Output goes out in two ways: what must answer a segment at once (an
 * out-of-window ACK, a duplicate ACK for an out-of-order segment, RSTs,
 * challenge ACKs) is sent at once; everything else (ACKs of in-order data,
 * window updates, data, FINs, SYN-ACKs) marks the connection pending and
 * goes out in tcp_stack_flush(), once per loop iteration.
 */
#include "tcp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "pheap.h"

enum tcp_state {
	ST_SYN_PENDING,         /* a SYN came; the owner has not answered */
	ST_SYN_RCVD,
	ST_ESTABLISHED,
	ST_FIN_WAIT_1,
	ST_FIN_WAIT_2,
	ST_CLOSE_WAIT,
	ST_CLOSING,
	ST_LAST_ACK,
	ST_TIME_WAIT,
	ST_CLOSED,
};

static const char *const state_names[] = {
	[ST_SYN_PENDING] = "SYN-PENDING", [ST_SYN_RCVD] = "SYN-RECEIVED",
	[ST_ESTABLISHED] = "ESTABLISHED", [ST_FIN_WAIT_1] = "FIN-WAIT-1",
	[ST_FIN_WAIT_2] = "FIN-WAIT-2",   [ST_CLOSE_WAIT] = "CLOSE-WAIT",
	[ST_CLOSING] = "CLOSING",         [ST_LAST_ACK] = "LAST-ACK",
	[ST_TIME_WAIT] = "TIME-WAIT",     [ST_CLOSED] = "CLOSED",
};

#define NEVER UINT64_MAX
/* RFC 5961 section 7: a global budget of challenge ACKs per interval. */
#define CHALLENGE_PER_SEC 1000
/* The default MSS when a SYN carries none (RFC 9293 3.7.1, RFC 8200 5). */
#define DEFAULT_MSS_V4 536
#define DEFAULT_MSS_V6 1220

enum {
	PEND_READ = 1,
	PEND_WRITE = 2,
	PEND_CLOSED = 4,        /* done both ways: TIME-WAIT began */
};

/* An out-of-order segment, kept until the hole before it fills. */
struct ooo {
	struct ooo *next;
	uint32_t seq, len;
	bool fin;
	uint8_t data[];
};

struct tcp_conn {
	struct tcp_stack *s;
	struct tcp_tuple t;
	struct tcp_conn *hnext;         /* hash chain */
	struct tcp_conn *pnext;         /* the pending (flush) list */
	struct tcp_conn *rnext;         /* the reap list */
	struct pheap_node timer;
	enum tcp_state st;
	/* Receive side. */
	uint32_t irs, rcv_nxt;
	uint32_t rcv_adv;               /* right edge of the window we advertised */
	uint8_t rcv_wscale;
	struct buf rcv;
	bool fin_rcvd;                  /* the application's FIN is in rcv_nxt */
	struct ooo *ooo;                /* sorted by seq, all after rcv_nxt */
	unsigned int n_ooo;
	size_t ooo_bytes;
	uint32_t ooo_last;              /* seq of the newest one kept: its block goes first */
	bool sack_ok;                   /* the SYN offered SACK; we offered it back */
	/* Send side. */
	uint32_t iss, snd_una, snd_nxt, snd_max;
	uint32_t snd_wl1, snd_wl2;
	uint32_t snd_wnd, max_snd_wnd;  /* bytes, scaled */
	uint8_t snd_wscale;
	bool ws_ok;                     /* both offered window scaling */
	uint32_t mss;                   /* largest payload we send */
	struct buf snd;                 /* from snd_una: sent then unsent */
	bool fin_queued;                /* the owner shut down its side: fin_seq is set */
	uint32_t fin_seq;               /* snd_una + bytes buffered at shutdown */
	/* Retransmission. */
	uint32_t srtt_us, rttvar_us;
	uint32_t rto_ms;
	bool rtt_timing;
	uint32_t rtt_seq;
	uint64_t rtt_start_ms;
	unsigned int retries;
	unsigned int dupacks;
	bool in_recovery;
	uint32_t recover;
	unsigned int probes;            /* persist or keep-alive probes unanswered */
	unsigned int persist_shift;     /* the persist timer's backoff */
	/*
	 * Deadlines (NEVER when not armed); the heap holds their minimum.
	 * The retransmission and keep-alive deadlines are lazy: an ACK moves
	 * rexmit_base and a segment last_rx_ms, and an early firing re-arms
	 * from them, so the heap is not touched per segment.
	 */
	uint64_t rexmit_at, persist_at, ka_at, misc_at;
	uint64_t rexmit_base_ms, last_rx_ms;
	/* Owner. */
	void *ctx;
	bool owned;                     /* not released */
	bool closed_sent;               /* TCP_EV_CLOSED delivered */
	unsigned int pend_ev;           /* PEND_*, delivered after a segment */
	bool snd_blocked;               /* a write got -EAGAIN: tell when room returns */
	int err;                        /* why it closed, for read and write */
	/* Output due at the next flush. */
	bool pending, ack_now;
	bool dead;                      /* on the reap list */
};

struct tcp_stack {
	struct tcp_cfg cfg;
	struct tcp_cbs cbs;
	void *arg;
	struct tcp_conn **buckets;
	size_t n_buckets;               /* a power of two */
	size_t n_conns;
	struct pheap timers;
	struct tcp_conn *pend_head, *pend_tail;
	struct tcp_conn *reap;
	int depth;                      /* entry points running */
	uint64_t now_ms;
	uint64_t isn_ctr;
	uint64_t challenge_sec;
	unsigned int challenge_n;
	struct tcp_stats st;
};

/* splitmix64: mixes the seed, the tuple and a counter into ISNs and hashes. */
static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t
tuple_hash(const struct tcp_stack *s, const struct tcp_tuple *t)
{
	uint64_t h = s->cfg.seed;

	for (size_t i = 0; i < 16; i += 8) {
		uint64_t a, b;

		memcpy(&a, t->src.a + i, 8);
		memcpy(&b, t->dst.a + i, 8);
		h = mix64(h ^ a);
		h = mix64(h ^ b);
	}
	return mix64(h ^ ((uint64_t)t->sport << 16 | t->dport) ^ (uint64_t)t->src.family << 40);
}

static bool
tuple_eq(const struct tcp_tuple *a, const struct tcp_tuple *b)
{
	return a->sport == b->sport && a->dport == b->dport && addr_eq(&a->src, &b->src) &&
	       addr_eq(&a->dst, &b->dst);
}

static struct tcp_conn **
bucket(struct tcp_stack *s, const struct tcp_tuple *t)
{
	return &s->buckets[tuple_hash(s, t) & (s->n_buckets - 1)];
}

static struct tcp_conn *
lookup(struct tcp_stack *s, const struct tcp_tuple *t)
{
	for (struct tcp_conn *c = *bucket(s, t); c; c = c->hnext) {
		if (!c->dead && tuple_eq(&c->t, t)) {
			return c;
		}
	}
	return NULL;
}

static void
unhash(struct tcp_conn *c)
{
	struct tcp_conn **pp = bucket(c->s, &c->t);

	while (*pp && *pp != c) {
		pp = &(*pp)->hnext;
	}
	if (*pp) {
		*pp = c->hnext;
	}
	c->hnext = NULL;
}

/* Timers. */

static void
arm(struct tcp_conn *c)
{
	uint64_t d = c->rexmit_at;

	if (c->persist_at < d) {
		d = c->persist_at;
	}
	if (c->ka_at < d) {
		d = c->ka_at;
	}
	if (c->misc_at < d) {
		d = c->misc_at;
	}
	if (c->timer.in && c->timer.key == d) {
		return;
	}
	pheap_remove(&c->s->timers, &c->timer);
	if (d != NEVER) {
		pheap_insert(&c->s->timers, &c->timer, d);
	}
}

/* RFC 6298 section 2: RTO = SRTT + max(G, 4 * RTTVAR), floored and capped. */
static void
rtt_sample(struct tcp_conn *c, uint64_t rtt_ms)
{
	uint32_t r = (uint32_t)(rtt_ms > 60000 ? 60000000 : rtt_ms * 1000);
	uint64_t rto;

	if (c->srtt_us == 0) {
		c->srtt_us = r ? r : 1;
		c->rttvar_us = r / 2;
	} else {
		uint32_t d = r > c->srtt_us ? r - c->srtt_us : c->srtt_us - r;

		c->rttvar_us = (3 * c->rttvar_us + d) / 4;
		c->srtt_us = (7 * c->srtt_us + r) / 8;
	}
	rto = (c->srtt_us + 4 * (uint64_t)c->rttvar_us) / 1000;
	if (rto < TCP_RTO_MIN_MS) {
		rto = TCP_RTO_MIN_MS;
	}
	if (rto > TCP_RTO_MAX_MS) {
		rto = TCP_RTO_MAX_MS;
	}
	c->rto_ms = (uint32_t)rto;
}

/* Lifecycle. */

static void
mark_pending(struct tcp_conn *c)
{
	struct tcp_stack *s = c->s;

	if (c->pending || c->dead) {
		return;
	}
	c->pending = true;
	c->pnext = NULL;
	if (s->pend_tail) {
		s->pend_tail->pnext = c;
	} else {
		s->pend_head = c;
	}
	s->pend_tail = c;
}

static void
reap_later(struct tcp_conn *c)
{
	if (c->dead) {
		return;
	}
	c->dead = true;
	unhash(c);
	pheap_remove(&c->s->timers, &c->timer);
	if (c->st == ST_TIME_WAIT) {
		c->s->st.time_wait--;
	}
	/* Out of the count now: a SYN taking a TIME-WAIT's place must find room. */
	c->s->n_conns--;
	c->rnext = c->s->reap;
	c->s->reap = c;
}

static void
ooo_clear(struct tcp_conn *c)
{
	while (c->ooo) {
		struct ooo *o = c->ooo;

		c->ooo = o->next;
		free(o);
	}
	c->n_ooo = 0;
	c->ooo_bytes = 0;
}

static void
really_free(struct tcp_conn *c)
{
	ooo_clear(c);
	buf_fini(&c->rcv);
	buf_fini(&c->snd);
	free(c);
}

/* Runs the reap list when no entry point is running. */
static void
leave(struct tcp_stack *s)
{
	if (--s->depth > 0) {
		return;
	}
	/* Pending connections that died are unlinked by flush; here only the unlisted. */
	while (s->reap) {
		struct tcp_conn *c = s->reap, **pp = &s->pend_head, *prev = NULL;

		s->reap = c->rnext;
		if (c->pending) {
			while (*pp && *pp != c) {
				prev = *pp;
				pp = &(*pp)->pnext;
			}
			if (*pp) {
				*pp = c->pnext;
				if (s->pend_tail == c) {
					s->pend_tail = prev;
				}
			}
		}
		really_free(c);
	}
}

static void
enter(struct tcp_stack *s, uint64_t now_ms)
{
	s->depth++;
	if (now_ms > s->now_ms) {
		s->now_ms = now_ms;
	}
}

static void
set_state(struct tcp_conn *c, enum tcp_state st)
{
	if (c->st == ST_TIME_WAIT) {
		c->s->st.time_wait--;
	}
	c->st = st;
	if (st == ST_TIME_WAIT) {
		/* Done both ways: the owner hears it after this segment (deliver). */
		c->pend_ev |= PEND_CLOSED;
		c->s->st.time_wait++;
		c->rexmit_at = c->persist_at = c->ka_at = NEVER;
		c->misc_at = c->s->now_ms + TCP_TIME_WAIT_MS;
	}
}

/*
 * The connection is over for the owner: tell it once (TCP_EV_CLOSED),
 * and free it when the owner has let go (now, if it already had).
 */
static void
closed(struct tcp_conn *c, int err)
{
	struct tcp_stack *s = c->s;

	if (c->st != ST_TIME_WAIT) {
		set_state(c, ST_CLOSED);
	}
	if (err && !c->err) {
		c->err = err;
	}
	if (c->owned && !c->closed_sent) {
		c->closed_sent = true;
		s->cbs.event(s->arg, c, TCP_EV_CLOSED, err);
	}
	if (!c->owned && c->st == ST_CLOSED) {
		reap_later(c);
	}
}

/*
 * TIME-WAIT is over (its timer, a RST, a new SYN): freed when the owner
 * let go, else CLOSED until it does, so that its pointer stays good.
 */
static void
time_wait_end(struct tcp_conn *c)
{
	set_state(c, ST_CLOSED);
	closed(c, 0);
}

/* Output. */

/* The window we offer: the receive buffer's room, never less than already offered. */
static uint32_t
rcv_wnd(const struct tcp_conn *c)
{
	size_t room = buf_room(&c->rcv);
	uint32_t offered = tcp_seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;

	return room > offered ? (uint32_t)room : offered;
}

static uint16_t
window_field(struct tcp_conn *c, bool syn)
{
	uint32_t room = rcv_wnd(c), w, edge;

	if (syn) {
		/* The window of a SYN is never scaled (RFC 7323 section 2.2). */
		w = room > 65535 ? 65535 : room;
		c->rcv_adv = c->rcv_nxt + w;
		return (uint16_t)w;
	}
	w = room >> c->rcv_wscale;
	/*
	 * Scaling rounds down, which would pull the right edge back from
	 * what we offered when bytes came since: round up then (RFC 7323
	 * section 2.4, as Linux does). The few bytes more are trimmed if
	 * they come.
	 */
	if (tcp_seq_lt(c->rcv_nxt + (w << c->rcv_wscale), c->rcv_adv)) {
		w = (c->rcv_adv - c->rcv_nxt + (1u << c->rcv_wscale) - 1) >> c->rcv_wscale;
	}
	if (w > 65535) {
		w = 65535;
	}
	/* The right edge never moves left (RFC 9293 section 3.8.6.2.2). */
	edge = c->rcv_nxt + (w << c->rcv_wscale);
	if (tcp_seq_gt(edge, c->rcv_adv)) {
		c->rcv_adv = edge;
	}
	return (uint16_t)w;
}

static void
emit(struct tcp_conn *c, struct tcp_seg *seg)
{
	struct tcp_stack *s = c->s;
	uint8_t hdr[TCP_WIRE_HDR_MAX];
	size_t hl;

	seg->sport = c->t.dport;
	seg->dport = c->t.sport;
	hl = tcp_wire_build(hdr, sizeof(hdr), &c->t.dst, &c->t.src, seg);
	if (hl == 0) {
		return;
	}
	s->st.segs_out++;
	s->cbs.output(s->arg, hdr, hl, seg->data, seg->len);
}

/*
 * The SACK blocks of what is kept out of order (RFC 2018 section 4):
 * contiguous segments make one block, the block holding the newest
 * segment comes first, the others after it in order.
 */
static void
fill_sack(const struct tcp_conn *c, struct tcp_seg *seg)
{
	uint32_t l[TCP_OOO_MAX], r[TCP_OOO_MAX];
	size_t n = 0, first = 0;

	if (!c->sack_ok || c->ooo == NULL) {
		return;
	}
	for (const struct ooo *o = c->ooo; o; o = o->next) {
		uint32_t end = o->seq + o->len;

		if (n > 0 && tcp_seq_leq(o->seq, r[n - 1])) {
			if (tcp_seq_gt(end, r[n - 1])) {
				r[n - 1] = end;
			}
		} else if (n < TCP_OOO_MAX) {
			l[n] = o->seq;
			r[n] = end;
			n++;
		}
		if (o->seq == c->ooo_last) {
			first = n - 1;
		}
	}
	seg->sack_l[0] = l[first];
	seg->sack_r[0] = r[first];
	seg->n_sack = 1;
	for (size_t i = 0; i < n && seg->n_sack < TCP_SACK_MAX; i++) {
		if (i != first) {
			seg->sack_l[seg->n_sack] = l[i];
			seg->sack_r[seg->n_sack] = r[i];
			seg->n_sack++;
		}
	}
}

/* A bare ACK carrying our window, at seq (snd_nxt, or snd_una - 1 for a probe). */
static void
send_ack_at(struct tcp_conn *c, uint32_t seq)
{
	struct tcp_seg seg = { .wscale = -1 };

	seg.seq = seq;
	seg.ack = c->rcv_nxt;
	seg.flags = TCP_ACK;
	seg.wnd = window_field(c, false);
	fill_sack(c, &seg);
	emit(c, &seg);
}

static void
send_ack(struct tcp_conn *c)
{
	c->ack_now = false;
	send_ack_at(c, c->snd_nxt);
}

/* RFC 5961 section 7: challenge ACKs share a global budget per second. */
static void
challenge_ack(struct tcp_conn *c)
{
	struct tcp_stack *s = c->s;
	uint64_t sec = s->now_ms / 1000;

	if (sec != s->challenge_sec) {
		s->challenge_sec = sec;
		s->challenge_n = 0;
	}
	if (s->challenge_n++ >= CHALLENGE_PER_SEC) {
		return;
	}
	s->st.challenge_acks++;
	send_ack(c);
}

static void
send_synack(struct tcp_conn *c)
{
	struct tcp_seg seg = { .wscale = -1 };
	uint32_t mss = c->s->cfg.mtu - (c->t.src.family == AF_INET ? 40 : 60);

	seg.seq = c->iss;
	seg.ack = c->rcv_nxt;
	seg.flags = TCP_SYN | TCP_ACK;
	seg.wnd = window_field(c, true);
	seg.mss = (uint16_t)(mss > 65535 ? 65535 : mss);
	if (c->ws_ok) {
		seg.wscale = (int8_t)c->rcv_wscale;
	}
	seg.sack_ok = c->sack_ok;
	emit(c, &seg);
}

static void
send_rst(struct tcp_conn *c)
{
	struct tcp_seg seg = { .wscale = -1 };

	if (c->st == ST_SYN_PENDING) {
		seg.seq = 0;
	} else {
		seg.seq = c->snd_nxt;
	}
	seg.ack = c->rcv_nxt;
	seg.flags = TCP_RST | TCP_ACK;
	c->s->st.reset_tx++;
	emit(c, &seg);
}

/* The RST answering a segment that has no connection (RFC 9293 section 3.10.7.1). */
static void
send_rst_for(struct tcp_stack *s, const struct ip_pkt *pkt, const struct tcp_seg *in)
{
	struct tcp_seg seg = { .wscale = -1 };
	uint8_t hdr[TCP_WIRE_HDR_MAX];
	size_t hl;

	if (in->flags & TCP_RST) {
		return;
	}
	seg.sport = in->dport;
	seg.dport = in->sport;
	if (in->flags & TCP_ACK) {
		seg.seq = in->ack;
		seg.flags = TCP_RST;
	} else {
		seg.ack = in->seq + (uint32_t)in->len + !!(in->flags & TCP_SYN) +
			  !!(in->flags & TCP_FIN);
		seg.flags = TCP_RST | TCP_ACK;
	}
	hl = tcp_wire_build(hdr, sizeof(hdr), &pkt->dst, &pkt->src, &seg);
	if (hl == 0) {
		return;
	}
	s->st.reset_tx++;
	s->st.segs_out++;
	s->cbs.output(s->arg, hdr, hl, NULL, 0);
}

/*
 * Sends one segment at seq with up to max bytes of the send buffer, and
 * the FIN when it falls right after them. Returns the sequence space
 * used (bytes, plus one for a FIN); 0 when there was nothing to send.
 */
static uint32_t
xmit(struct tcp_conn *c, uint32_t seq, uint32_t max)
{
	struct tcp_seg seg = { .wscale = -1 };
	size_t len;
	const uint8_t *p = buf_rptr(&c->snd, &len);
	uint32_t off = seq - c->snd_una;
	size_t n = off < len ? len - off : 0;
	bool fin;

	/* SACK blocks take option room, and the MSS counts none (RFC 6691): the payload yields. */
	fill_sack(c, &seg);
	if (seg.n_sack && max + 4 + 8 * (uint32_t)seg.n_sack > c->mss) {
		uint32_t opt = 4 + 8 * (uint32_t)seg.n_sack;

		max = c->mss > opt ? (max < c->mss - opt ? max : c->mss - opt) : 0;
	}
	if (n > max) {
		n = max;
	}
	fin = c->fin_queued && seq + (uint32_t)n == c->fin_seq;
	if (n == 0 && !fin) {
		return 0;
	}
	seg.seq = seq;
	seg.ack = c->rcv_nxt;
	seg.flags = TCP_ACK | (fin ? TCP_FIN : 0) | (n > 0 && off + n == len ? TCP_PSH : 0);
	seg.wnd = window_field(c, false);
	seg.data = n ? p + off : NULL;
	seg.len = n;
	if (tcp_seq_lt(seq, c->snd_max)) {
		c->s->st.retransmits++;
	}
	c->ack_now = false;
	emit(c, &seg);
	return (uint32_t)n + fin;
}

/* After our FIN first left: the state moves on. */
static void
fin_left(struct tcp_conn *c)
{
	if (c->st == ST_ESTABLISHED) {
		set_state(c, ST_FIN_WAIT_1);
	} else if (c->st == ST_CLOSE_WAIT) {
		set_state(c, ST_LAST_ACK);
	}
}

/* Sends what the window allows, then the FIN; arms the timers that watch it. */
static void
send_data(struct tcp_conn *c)
{
	struct tcp_stack *s = c->s;
	bool sent = false;

	for (;;) {
		size_t len = buf_len(&c->snd);
		uint32_t off = c->snd_nxt - c->snd_una;
		uint32_t end = c->snd_una + c->snd_wnd;
		uint32_t room = tcp_seq_gt(end, c->snd_nxt) ? end - c->snd_nxt : 0;
		size_t n = off < len ? len - off : 0;
		uint32_t used;
		bool had_fin;

		if (n > c->mss) {
			n = c->mss;
		}
		if (n > room) {
			n = room;
		}
		/* The FIN needs no window; data does. */
		if (n == 0 && !(c->fin_queued && c->snd_nxt == c->fin_seq)) {
			break;
		}
		had_fin = tcp_seq_gt(c->snd_max, c->fin_seq) && c->fin_queued;
		used = xmit(c, c->snd_nxt, (uint32_t)n);
		if (used == 0) {
			break;
		}
		/* Karn: only new data is timed. */
		if (!c->rtt_timing && tcp_seq_geq(c->snd_nxt, c->snd_max)) {
			c->rtt_timing = true;
			c->rtt_seq = c->snd_nxt + used;
			c->rtt_start_ms = s->now_ms;
		}
		c->snd_nxt += used;
		if (tcp_seq_gt(c->snd_nxt, c->snd_max)) {
			c->snd_max = c->snd_nxt;
		}
		if (c->fin_queued && !had_fin && tcp_seq_gt(c->snd_nxt, c->fin_seq)) {
			fin_left(c);
		}
		sent = true;
	}
	if (sent && c->rexmit_at == NEVER) {
		c->rexmit_at = s->now_ms + c->rto_ms;
		c->rexmit_base_ms = s->now_ms;
	}
	/* A zero window with data waiting and nothing in flight: probe it (persist). */
	if (c->snd_wnd == 0 && c->snd_una == c->snd_max &&
	    buf_len(&c->snd) > (size_t)(c->snd_nxt - c->snd_una) && c->persist_at == NEVER) {
		uint64_t t = (uint64_t)c->rto_ms << (c->persist_shift < 6 ? c->persist_shift : 6);

		c->persist_at = s->now_ms + (t > TCP_RTO_MAX_MS ? TCP_RTO_MAX_MS : t);
	}
}

/* Everything due for c: the flush's work. */
static void
output(struct tcp_conn *c)
{
	switch (c->st) {
	case ST_SYN_PENDING:
		return;
	case ST_SYN_RCVD:
		if (c->ack_now) {
			c->ack_now = false;
			send_synack(c);
		}
		return;
	case ST_TIME_WAIT:
		if (c->ack_now) {
			send_ack(c);
		}
		return;
	case ST_CLOSED:
		/* Reset, timed out or done: an ACK owed before that is owed no more. */
		c->ack_now = false;
		return;
	case ST_ESTABLISHED:
	case ST_CLOSE_WAIT:
	case ST_FIN_WAIT_1:
	case ST_FIN_WAIT_2:
	case ST_CLOSING:
	case ST_LAST_ACK:
		send_data(c);
		if (c->ack_now) {
			send_ack(c);
		}
		return;
	default:
		return;
	}
}

/* Events, after a segment or a timer. */
static void
deliver(struct tcp_conn *c)
{
	struct tcp_stack *s = c->s;
	unsigned int ev = c->pend_ev;

	c->pend_ev = 0;
	if (!c->owned || c->closed_sent || c->dead) {
		return;
	}
	if (ev & PEND_READ) {
		s->cbs.event(s->arg, c, TCP_EV_READABLE, 0);
	}
	if ((ev & PEND_WRITE) && c->snd_blocked && c->owned && !c->closed_sent && !c->dead) {
		c->snd_blocked = false;
		s->cbs.event(s->arg, c, TCP_EV_WRITABLE, 0);
	}
	if ((ev & PEND_CLOSED) && c->owned && !c->closed_sent && !c->dead) {
		closed(c, 0);
	}
}

/* Input. */

static void
new_conn(struct tcp_stack *s, const struct tcp_tuple *t, const struct ip_pkt *pkt,
	 const struct tcp_seg *seg)
{
	struct tcp_conn *c;
	uint32_t hdr = t->src.family == AF_INET ? 40 : 60;
	uint32_t peer_mss = seg->mss ? seg->mss : (t->src.family == AF_INET ? DEFAULT_MSS_V4
									  : DEFAULT_MSS_V6);
	struct tcp_conn **b;

	if (s->n_conns >= s->cfg.max_conns) {
		s->st.drop_full++;
		send_rst_for(s, pkt, seg);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		s->st.drop_full++;
		send_rst_for(s, pkt, seg);
		return;
	}
	c->s = s;
	c->t = *t;
	c->st = ST_SYN_PENDING;
	c->irs = seg->seq;
	c->rcv_nxt = seg->seq + 1;
	c->iss = (uint32_t)mix64(s->cfg.seed ^ tuple_hash(s, t) ^ ++s->isn_ctr);
	/* The SYN takes iss; the send buffer starts right after it. */
	c->snd_una = c->snd_nxt = c->snd_max = c->iss + 1;
	c->mss = s->cfg.mtu - hdr;
	if (peer_mss < c->mss) {
		c->mss = peer_mss;
	}
	/* A hostile tiny MSS would make us send a byte per segment (Linux floors at 48). */
	if (c->mss < 64) {
		c->mss = 64;
	}
	if (seg->wscale >= 0) {
		c->ws_ok = true;
		c->snd_wscale = (uint8_t)seg->wscale;
		while (c->rcv_wscale < 14 && (s->cfg.rcv_buf >> c->rcv_wscale) > 65535) {
			c->rcv_wscale++;
		}
	}
	c->sack_ok = seg->sack_ok;
	c->snd_wnd = seg->wnd;
	c->max_snd_wnd = seg->wnd;
	c->snd_wl1 = seg->seq;
	buf_init(&c->rcv, c->ws_ok ? s->cfg.rcv_buf : (s->cfg.rcv_buf > 65535 ? 65535 : s->cfg.rcv_buf));
	buf_init(&c->snd, s->cfg.snd_buf);
	c->rto_ms = TCP_RTO_INIT_MS;
	c->rexmit_at = c->persist_at = c->ka_at = NEVER;
	c->misc_at = s->now_ms + s->cfg.syn_wait_ms;
	c->last_rx_ms = s->now_ms;
	pheap_node_init(&c->timer);
	b = bucket(s, t);
	c->hnext = *b;
	*b = c;
	s->n_conns++;
	c->owned = true;
	if (!s->cbs.syn(s->arg, c, t)) {
		if (!c->dead) {
			c->owned = false;
			s->st.refused++;
			send_rst_for(s, pkt, seg);
			reap_later(c);
		}
		return;
	}
	if (!c->dead) {
		arm(c);
	}
}

/* Linux's acceptance test: the segment overlaps or touches the window (RFC 9293 3.10.7.4). */
static bool
acceptable(const struct tcp_conn *c, uint32_t seq, uint32_t seg_len)
{
	uint32_t wnd = rcv_wnd(c);

	return tcp_seq_leq(seq, c->rcv_nxt + wnd) && tcp_seq_geq(seq + seg_len, c->rcv_nxt);
}

/* The ACK field (RFC 9293 3.10.7.4, RFC 5961 section 5). False: drop the segment. */
static bool
handle_ack(struct tcp_conn *c, const struct tcp_seg *seg)
{
	struct tcp_stack *s = c->s;
	uint32_t ack = seg->ack, wnd = (uint32_t)seg->wnd << c->snd_wscale;

	if (tcp_seq_gt(ack, c->snd_max)) {
		/* It acknowledges what we never sent. */
		send_ack(c);
		return false;
	}
	if (tcp_seq_lt(ack, c->snd_una - c->max_snd_wnd)) {
		challenge_ack(c);
		return false;
	}
	/*
	 * An acceptable ACK answers our probes, whether it acknowledges
	 * anything or not: a peer that answers keeps the connection open
	 * however long its window stays closed or the line idle (RFC 9293
	 * 3.8.6.1 and 3.8.4, RFC 1122 4.2.2.17).
	 */
	c->probes = 0;
	if (tcp_seq_gt(ack, c->snd_una)) {
		uint32_t acked = ack - c->snd_una;
		size_t data = buf_len(&c->snd);

		buf_consume(&c->snd, acked < data ? acked : data);
		c->snd_una = ack;
		if (tcp_seq_lt(c->snd_nxt, ack)) {
			c->snd_nxt = ack;
		}
		if (c->rtt_timing && tcp_seq_geq(ack, c->rtt_seq)) {
			rtt_sample(c, s->now_ms - c->rtt_start_ms);
			c->rtt_timing = false;
		}
		c->retries = 0;
		c->probes = 0;
		if (c->in_recovery && tcp_seq_lt(ack, c->recover)) {
			/* A partial ACK: the next hole goes at once (RFC 6582 3.2). */
			xmit(c, c->snd_una, c->mss);
		} else {
			c->in_recovery = false;
			c->dupacks = 0;
		}
		if (c->snd_una == c->snd_max) {
			c->rexmit_at = NEVER;
		} else {
			c->rexmit_base_ms = s->now_ms;
		}
		if (acked && c->snd_blocked) {
			c->pend_ev |= PEND_WRITE;
		}
		mark_pending(c);
	} else if (ack == c->snd_una && seg->len == 0 && !(seg->flags & (TCP_SYN | TCP_FIN)) &&
		   wnd == c->snd_wnd && c->snd_una != c->snd_max) {
		/* A duplicate ACK (RFC 5681 section 2): three start a fast retransmit. */
		if (++c->dupacks == 3 && !c->in_recovery) {
			c->in_recovery = true;
			c->recover = c->snd_max;
			s->st.fast_retransmits++;
			xmit(c, c->snd_una, c->mss);
		}
	}
	if (tcp_seq_lt(c->snd_wl1, seg->seq) ||
	    (c->snd_wl1 == seg->seq && tcp_seq_leq(c->snd_wl2, ack))) {
		if (wnd > c->snd_wnd) {
			mark_pending(c);
		}
		c->snd_wnd = wnd;
		c->snd_wl1 = seg->seq;
		c->snd_wl2 = ack;
		if (wnd > c->max_snd_wnd) {
			c->max_snd_wnd = wnd;
		}
		if (wnd > 0) {
			c->persist_at = NEVER;
			c->persist_shift = 0;
		}
	}
	return true;
}

static bool
fin_acked(const struct tcp_conn *c)
{
	return c->fin_queued && tcp_seq_gt(c->snd_una, c->fin_seq);
}

/* The application's FIN, now that every byte before it is in. */
static void
take_fin(struct tcp_conn *c)
{
	c->fin_rcvd = true;
	c->rcv_nxt++;
	c->pend_ev |= PEND_READ;
	switch (c->st) {
	case ST_SYN_RCVD:
	case ST_ESTABLISHED:
		set_state(c, ST_CLOSE_WAIT);
		break;
	case ST_FIN_WAIT_1:
		set_state(c, fin_acked(c) ? ST_TIME_WAIT : ST_CLOSING);
		break;
	case ST_FIN_WAIT_2:
		set_state(c, ST_TIME_WAIT);
		break;
	default:
		break;
	}
}

/*
 * Keeps a segment that came after a hole, trimmed to the window (what
 * lies past it is not ours to keep). Bounded twice: TCP_OOO_MAX segments,
 * and bytes the receive buffer could hold. False when not kept.
 */
static bool
ooo_keep(struct tcp_conn *c, uint32_t seq, const uint8_t *data, uint32_t len, bool fin)
{
	uint32_t end = c->rcv_nxt + rcv_wnd(c);
	struct ooo **pp = &c->ooo, *o;

	if (tcp_seq_gt(seq + len, end)) {
		len = tcp_seq_gt(end, seq) ? end - seq : 0;
		fin = false;
	}
	if (len == 0 || c->n_ooo >= TCP_OOO_MAX || c->ooo_bytes + len > c->rcv.cap) {
		return false;
	}
	while (*pp && tcp_seq_lt((*pp)->seq, seq)) {
		pp = &(*pp)->next;
	}
	if (*pp && (*pp)->seq == seq && (*pp)->len >= len) {
		/* Already kept: a retransmission of it. */
		c->ooo_last = seq;
		return true;
	}
	o = malloc(sizeof(*o) + len);
	if (o == NULL) {
		return false;
	}
	o->seq = seq;
	o->len = len;
	o->fin = fin;
	memcpy(o->data, data, len);
	o->next = *pp;
	*pp = o;
	c->n_ooo++;
	c->ooo_bytes += len;
	c->ooo_last = seq;
	c->s->st.ooo_kept++;
	return true;
}

/* The hole filled: what was kept moves into the receive buffer, in order. */
static void
ooo_merge(struct tcp_conn *c)
{
	bool fin = false;

	while (c->ooo && tcp_seq_leq(c->ooo->seq, c->rcv_nxt)) {
		struct ooo *o = c->ooo;
		uint32_t skip = c->rcv_nxt - o->seq;

		if (skip < o->len) {
			size_t n = o->len - skip, room = buf_room(&c->rcv);

			if (n > room) {
				n = room;
			}
			if (n > 0 && buf_put(&c->rcv, o->data + skip, n) == 0) {
				c->rcv_nxt += (uint32_t)n;
				c->pend_ev |= PEND_READ;
			}
			fin = o->fin && n == o->len - skip;
		}
		c->ooo = o->next;
		c->n_ooo--;
		c->ooo_bytes -= o->len;
		free(o);
		if (fin) {
			break;
		}
	}
	if (fin && !c->fin_rcvd) {
		ooo_clear(c);
		take_fin(c);
	}
}

/* A segment for an existing connection (RFC 9293 section 3.10.7). */
static void
segment(struct tcp_conn *c, const struct ip_pkt *pkt, const struct tcp_seg *seg)
{
	struct tcp_stack *s = c->s;
	uint8_t fl = seg->flags;
	uint32_t seg_len = (uint32_t)seg->len + !!(fl & TCP_SYN) + !!(fl & TCP_FIN);

	c->last_rx_ms = s->now_ms;
	switch (c->st) {
	case ST_SYN_PENDING:
		if ((fl & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN) {
			/* The kernel's retransmission (absorbed), or a new attempt's SYN. */
			c->irs = seg->seq;
			c->rcv_nxt = seg->seq + 1;
		} else if (fl & TCP_RST) {
			s->st.reset_rx++;
			closed(c, ECONNRESET);
		}
		return;
	case ST_SYN_RCVD:
		if ((fl & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN) {
			if (seg->seq == c->irs) {
				/* Our SYN-ACK was lost: again. */
				c->ack_now = true;
				mark_pending(c);
			}
			return;
		}
		break;
	case ST_CLOSED:
		/* Reset or finished, waiting for its owner: nobody listens here any more. */
		send_rst_for(s, pkt, seg);
		return;
	case ST_TIME_WAIT:
		if ((fl & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN && tcp_seq_gt(seg->seq, c->rcv_nxt)) {
			/* A new connection on the same ports (RFC 9293 3.10.7.4): the old one yields. */
			struct tcp_tuple t = c->t;

			/*
			 * Still owned, it stays CLOSED in the table (so that
			 * tcp_stack_free finds it); the new one goes in front.
			 */
			time_wait_end(c);
			new_conn(s, &t, pkt, seg);
			return;
		}
		break;
	default:
		break;
	}
	if (fl & TCP_RST) {
		/* RFC 5961 section 3.2: exact resets, in-window ones are challenged. */
		uint32_t wnd = rcv_wnd(c);

		if (!(tcp_seq_geq(seg->seq, c->rcv_nxt) &&
		      tcp_seq_lt(seg->seq, c->rcv_nxt + (wnd ? wnd : 1)))) {
			return;
		}
		if (seg->seq != c->rcv_nxt) {
			challenge_ack(c);
			return;
		}
		s->st.reset_rx++;
		if (c->st == ST_TIME_WAIT) {
			time_wait_end(c);
			return;
		}
		closed(c, ECONNRESET);
		return;
	}
	if (!acceptable(c, seg->seq, seg_len)) {
		s->st.drop_out_of_window++;
		send_ack(c);
		return;
	}
	if (fl & TCP_SYN) {
		/* RFC 5961 section 4.2: any SYN in a synchronised state. */
		challenge_ack(c);
		return;
	}
	if (!(fl & TCP_ACK)) {
		return;
	}
	if (c->st == ST_SYN_RCVD) {
		if (seg->ack != c->snd_una) {
			send_rst_for(s, pkt, seg);
			return;
		}
		set_state(c, ST_ESTABLISHED);
		c->rexmit_at = NEVER;
		c->retries = 0;
		c->snd_wnd = (uint32_t)seg->wnd << c->snd_wscale;
		c->max_snd_wnd = c->snd_wnd;
		c->snd_wl1 = seg->seq;
		c->snd_wl2 = seg->ack;
		c->ka_at = s->now_ms + TCP_KEEPALIVE_IDLE_MS;
		s->st.accepted++;
		/* Data written while the handshake ran may go now. */
		mark_pending(c);
		c->pend_ev |= PEND_WRITE;
	}
	if (!handle_ack(c, seg)) {
		return;
	}
	switch (c->st) {
	case ST_FIN_WAIT_1:
		if (fin_acked(c)) {
			set_state(c, ST_FIN_WAIT_2);
			if (!c->owned) {
				c->misc_at = s->now_ms + TCP_FIN_WAIT2_MS;
			}
		}
		break;
	case ST_CLOSING:
		if (fin_acked(c)) {
			set_state(c, ST_TIME_WAIT);
		}
		break;
	case ST_LAST_ACK:
		if (fin_acked(c)) {
			closed(c, 0);
			return;
		}
		break;
	default:
		break;
	}
	if (seg->len > 0) {
		uint32_t skip = tcp_seq_lt(seg->seq, c->rcv_nxt) ? c->rcv_nxt - seg->seq : 0;

		if (c->fin_rcvd || c->st == ST_TIME_WAIT || c->st == ST_CLOSING ||
		    c->st == ST_LAST_ACK || c->st == ST_CLOSE_WAIT) {
			/* Data after the application's FIN: a retransmission at best. */
			send_ack(c);
			return;
		}
		if (!c->owned && skip < seg->len) {
			/*
			 * New data nobody will read: the honest answer is a reset
			 * (RFC 1122 4.2.2.13). Old data again is not new: ACKed below.
			 */
			send_rst(c);
			closed(c, ECONNRESET);
			return;
		}
		if (skip == 0 && seg->seq != c->rcv_nxt) {
			/*
			 * After a hole: kept, and a duplicate ACK at once (with SACK
			 * blocks) starts the kernel's recovery of the hole alone.
			 */
			if (!ooo_keep(c, seg->seq, seg->data, (uint32_t)seg->len, fl & TCP_FIN)) {
				s->st.drop_out_of_order++;
			}
			send_ack(c);
			return;
		}
		if (skip < seg->len) {
			size_t n = seg->len - skip, room = buf_room(&c->rcv);

			if (n > room) {
				n = room;
			}
			if (n > 0 && buf_put(&c->rcv, seg->data + skip, n) == 0) {
				c->rcv_nxt += (uint32_t)n;
				c->pend_ev |= PEND_READ;
			}
			if (n < seg->len - skip) {
				/* Past our window: what fit is kept, the rest (and a FIN) comes again. */
				send_ack(c);
				return;
			}
		}
		if (c->ooo) {
			bool had_fin = c->fin_rcvd;

			ooo_merge(c);
			if (c->fin_rcvd && !had_fin) {
				c->ack_now = true;
				mark_pending(c);
				return;
			}
		}
		c->ack_now = true;
		mark_pending(c);
	}
	if (fl & TCP_FIN) {
		if (!c->fin_rcvd && seg->seq + (uint32_t)seg->len == c->rcv_nxt) {
			ooo_clear(c);
			take_fin(c);
		} else if (c->st == ST_TIME_WAIT) {
			/* A retransmitted FIN: our ACK was lost. Again, and TIME-WAIT restarts. */
			c->misc_at = s->now_ms + TCP_TIME_WAIT_MS;
		}
		c->ack_now = true;
		mark_pending(c);
	}
}

void
tcp_stack_input(struct tcp_stack *s, const struct ip_pkt *pkt, uint64_t now_ms)
{
	struct tcp_seg seg;
	struct tcp_tuple t;
	struct tcp_conn *c;
	enum tcp_wire_res r;

	enter(s, now_ms);
	r = tcp_wire_parse(pkt, &seg);
	if (r != TCP_WIRE_OK) {
		s->st.drop_wire[r < TCP_WIRE_COUNT ? r : 0]++;
		leave(s);
		return;
	}
	s->st.segs_in++;
	memset(&t, 0, sizeof(t));
	t.src = pkt->src;
	t.dst = pkt->dst;
	t.sport = seg.sport;
	t.dport = seg.dport;
	c = lookup(s, &t);
	if (c == NULL) {
		if ((seg.flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) == TCP_SYN) {
			new_conn(s, &t, pkt, &seg);
		} else {
			s->st.drop_no_conn++;
			send_rst_for(s, pkt, &seg);
		}
		leave(s);
		return;
	}
	segment(c, pkt, &seg);
	if (!c->dead) {
		deliver(c);
	}
	if (!c->dead) {
		arm(c);
	}
	leave(s);
}

void
tcp_stack_flush(struct tcp_stack *s, uint64_t now_ms)
{
	struct tcp_conn *c;

	enter(s, now_ms);
	while ((c = s->pend_head) != NULL) {
		s->pend_head = c->pnext;
		if (s->pend_head == NULL) {
			s->pend_tail = NULL;
		}
		c->pending = false;
		c->pnext = NULL;
		if (c->dead) {
			continue;
		}
		output(c);
		if (!c->dead) {
			arm(c);
		}
	}
	leave(s);
}

bool
tcp_stack_pending(const struct tcp_stack *s)
{
	return s->pend_head != NULL;
}

/* Timers. */

static void
on_misc(struct tcp_conn *c)
{
	switch (c->st) {
	case ST_SYN_PENDING:
		/* The owner never answered: the kernel's SYN gets no reply. */
		c->s->st.timeouts++;
		closed(c, ETIMEDOUT);
		if (!c->owned) {
			reap_later(c);
		}
		break;
	case ST_TIME_WAIT:
		time_wait_end(c);
		break;
	case ST_FIN_WAIT_2:
		if (!c->owned) {
			c->s->st.timeouts++;
			reap_later(c);
		}
		break;
	default:
		break;
	}
}

static void
on_rexmit(struct tcp_conn *c)
{
	struct tcp_stack *s = c->s;

	if (c->st == ST_SYN_RCVD) {
		if (++c->retries > TCP_SYN_RETRIES) {
			s->st.timeouts++;
			closed(c, ETIMEDOUT);
			return;
		}
		c->rto_ms = c->rto_ms * 2 > TCP_RTO_MAX_MS ? TCP_RTO_MAX_MS : c->rto_ms * 2;
		send_synack(c);
		c->rexmit_at = s->now_ms + c->rto_ms;
		return;
	}
	if (c->snd_una == c->snd_max) {
		return;
	}
	if (s->now_ms < c->rexmit_base_ms + c->rto_ms) {
		/* An ACK came since it was armed: not due yet. */
		c->rexmit_at = c->rexmit_base_ms + c->rto_ms;
		return;
	}
	if (c->snd_wnd == 0) {
		/*
		 * The window closed on data in flight (RFC 9293 3.8.6.2.1): the
		 * peer is there, it has no room. Probe it instead of timing out;
		 * once it opens, everything from snd_una goes again.
		 */
		uint64_t t = (uint64_t)c->rto_ms << c->persist_shift;

		c->snd_nxt = c->snd_una;
		c->in_recovery = false;
		c->dupacks = 0;
		c->rtt_timing = false;
		if (c->persist_at == NEVER) {
			c->persist_at = s->now_ms + (t > TCP_RTO_MAX_MS ? TCP_RTO_MAX_MS : t);
		}
		return;
	}
	if (++c->retries > TCP_DATA_RETRIES) {
		s->st.timeouts++;
		send_rst(c);
		closed(c, ETIMEDOUT);
		return;
	}
	/* RFC 6298 5.5-5.7: back off, and send again from the first byte not acknowledged. */
	s->st.rto++;
	c->rto_ms = c->rto_ms * 2 > TCP_RTO_MAX_MS ? TCP_RTO_MAX_MS : c->rto_ms * 2;
	c->snd_nxt = c->snd_una;
	c->in_recovery = false;
	c->dupacks = 0;
	c->rtt_timing = false;
	send_data(c);
	c->rexmit_at = s->now_ms + c->rto_ms;
	c->rexmit_base_ms = s->now_ms;
}

static void
on_persist(struct tcp_conn *c)
{
	struct tcp_stack *s = c->s;
	uint64_t t;

	if (c->snd_wnd > 0 || c->st == ST_CLOSED) {
		return;
	}
	if (++c->probes > TCP_DATA_RETRIES) {
		s->st.timeouts++;
		send_rst(c);
		closed(c, ETIMEDOUT);
		return;
	}
	/* The probe is an old sequence number: the kernel answers with its window (Linux's way). */
	s->st.probes++;
	send_ack_at(c, c->snd_una - 1);
	if (c->persist_shift < 6) {
		c->persist_shift++;
	}
	t = (uint64_t)c->rto_ms << c->persist_shift;
	c->persist_at = s->now_ms + (t > TCP_RTO_MAX_MS ? TCP_RTO_MAX_MS : t);
}

static void
on_keepalive(struct tcp_conn *c)
{
	struct tcp_stack *s = c->s;

	if (c->st != ST_ESTABLISHED && c->st != ST_CLOSE_WAIT && c->st != ST_FIN_WAIT_2) {
		return;
	}
	if (c->last_rx_ms + TCP_KEEPALIVE_IDLE_MS > s->now_ms && c->probes == 0) {
		c->ka_at = c->last_rx_ms + TCP_KEEPALIVE_IDLE_MS;
		return;
	}
	if (c->snd_una != c->snd_max || c->persist_at != NEVER) {
		/* Something is in flight or probed: those timers watch the peer. */
		c->ka_at = s->now_ms + TCP_KEEPALIVE_INTVL_MS;
		return;
	}
	if (c->probes >= TCP_KEEPALIVE_PROBES) {
		s->st.timeouts++;
		send_rst(c);
		closed(c, ETIMEDOUT);
		return;
	}
	c->probes++;
	s->st.probes++;
	send_ack_at(c, c->snd_una - 1);
	c->ka_at = s->now_ms + TCP_KEEPALIVE_INTVL_MS;
}

void
tcp_stack_timers(struct tcp_stack *s, uint64_t now_ms)
{
	struct pheap_node *n;

	enter(s, now_ms);
	while ((n = pheap_min(&s->timers)) != NULL && n->key <= s->now_ms) {
		struct tcp_conn *c = (struct tcp_conn *)((char *)n - offsetof(struct tcp_conn, timer));

		pheap_remove(&s->timers, n);
		if (c->misc_at <= s->now_ms) {
			c->misc_at = NEVER;
			on_misc(c);
		}
		if (!c->dead && c->rexmit_at <= s->now_ms) {
			c->rexmit_at = NEVER;
			on_rexmit(c);
		}
		if (!c->dead && c->persist_at <= s->now_ms) {
			c->persist_at = NEVER;
			on_persist(c);
		}
		if (!c->dead && c->ka_at <= s->now_ms) {
			c->ka_at = NEVER;
			on_keepalive(c);
		}
		if (!c->dead) {
			deliver(c);
		}
		if (!c->dead) {
			arm(c);
		}
	}
	leave(s);
}

uint64_t
tcp_stack_next_ms(const struct tcp_stack *s)
{
	const struct pheap_node *n = pheap_min(&s->timers);

	return n ? n->key : NEVER;
}

/* The stack. */

struct tcp_stack *
tcp_stack_new(const struct tcp_cfg *cfg, const struct tcp_cbs *cbs, void *arg)
{
	struct tcp_stack *s;

	if (cfg->mtu < 1280 || cfg->mtu > 65535 || cfg->rcv_buf == 0 || cfg->snd_buf == 0 ||
	    cfg->max_conns == 0) {
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return NULL;
	}
	s->cfg = *cfg;
	s->cbs = *cbs;
	s->arg = arg;
	s->n_buckets = 64;
	while (s->n_buckets < cfg->max_conns && s->n_buckets < (1u << 20)) {
		s->n_buckets *= 2;
	}
	s->buckets = calloc(s->n_buckets, sizeof(*s->buckets));
	if (s->buckets == NULL) {
		free(s);
		return NULL;
	}
	pheap_init(&s->timers);
	return s;
}

void
tcp_stack_free(struct tcp_stack *s)
{
	if (s == NULL) {
		return;
	}
	for (size_t i = 0; i < s->n_buckets; i++) {
		while (s->buckets[i]) {
			struct tcp_conn *c = s->buckets[i];

			s->buckets[i] = c->hnext;
			really_free(c);
		}
	}
	while (s->reap) {
		struct tcp_conn *c = s->reap;

		s->reap = c->rnext;
		really_free(c);
	}
	free(s->buckets);
	free(s);
}

void
tcp_stack_stats(const struct tcp_stack *s, struct tcp_stats *st)
{
	*st = s->st;
	st->conns = s->n_conns;
}

/* The owner's side. */

void
tcp_conn_set_ctx(struct tcp_conn *c, void *ctx)
{
	c->ctx = ctx;
}

void *
tcp_conn_ctx(const struct tcp_conn *c)
{
	return c->ctx;
}

const struct tcp_tuple *
tcp_conn_tuple(const struct tcp_conn *c)
{
	return &c->t;
}

const char *
tcp_conn_state_name(const struct tcp_conn *c)
{
	return c->st <= ST_CLOSED ? state_names[c->st] : "?";
}

void
tcp_conn_accept(struct tcp_conn *c, uint64_t now_ms)
{
	struct tcp_stack *s = c->s;

	if (c->st != ST_SYN_PENDING || c->dead) {
		return;
	}
	enter(s, now_ms);
	set_state(c, ST_SYN_RCVD);
	c->misc_at = NEVER;
	c->ack_now = true;
	mark_pending(c);
	c->rexmit_at = s->now_ms + c->rto_ms;
	arm(c);
	leave(s);
}

void
tcp_conn_refuse(struct tcp_conn *c)
{
	if (c->st != ST_SYN_PENDING || c->dead) {
		return;
	}
	c->s->depth++;
	c->s->st.refused++;
	send_rst(c);
	c->owned = false;
	set_state(c, ST_CLOSED);
	reap_later(c);
	leave(c->s);
}

void
tcp_conn_drop(struct tcp_conn *c)
{
	if (c->st != ST_SYN_PENDING || c->dead) {
		return;
	}
	c->s->depth++;
	c->s->st.refused++;
	c->owned = false;
	set_state(c, ST_CLOSED);
	reap_later(c);
	leave(c->s);
}

size_t
tcp_conn_syn_packet(const struct tcp_conn *c, uint8_t *out, size_t cap)
{
	struct tcp_seg seg = { .wscale = -1 };

	seg.sport = c->t.sport;
	seg.dport = c->t.dport;
	seg.seq = c->irs;
	seg.flags = TCP_SYN;
	seg.wnd = 65535;
	return tcp_wire_build(out, cap, &c->t.src, &c->t.dst, &seg);
}

/* After the owner read: a window update when the window grew by a useful amount. */
static void
maybe_window_update(struct tcp_conn *c)
{
	uint32_t room = (uint32_t)buf_room(&c->rcv) >> c->rcv_wscale << c->rcv_wscale;
	uint32_t edge = c->rcv_nxt + room;
	uint32_t grow, min;

	if (c->st == ST_SYN_PENDING || c->st == ST_SYN_RCVD || !tcp_seq_gt(edge, c->rcv_adv)) {
		return;
	}
	grow = edge - c->rcv_adv;
	min = c->mss < c->rcv.cap / 2 ? c->mss : (uint32_t)(c->rcv.cap / 2);
	/* From a closed window any growth matters; otherwise no silly updates (RFC 9293 3.8.6.2.2). */
	if (c->rcv_adv == c->rcv_nxt || grow >= min) {
		c->ack_now = true;
		mark_pending(c);
	}
}

ssize_t
tcp_conn_read(struct tcp_conn *c, void *buf, size_t len)
{
	size_t have;
	const uint8_t *p = buf_rptr(&c->rcv, &have);

	if (have > 0) {
		size_t n = len < have ? len : have;

		memcpy(buf, p, n);
		buf_consume(&c->rcv, n);
		maybe_window_update(c);
		return (ssize_t)n;
	}
	if (c->fin_rcvd) {
		return 0;
	}
	if (c->err) {
		return -c->err;
	}
	if (c->st == ST_CLOSED) {
		return -ECONNRESET;
	}
	return -EAGAIN;
}

size_t
tcp_conn_readable(const struct tcp_conn *c)
{
	return buf_len(&c->rcv);
}

const uint8_t *
tcp_conn_peek(const struct tcp_conn *c, size_t *len)
{
	return buf_rptr(&c->rcv, len);
}

void
tcp_conn_consume(struct tcp_conn *c, size_t n)
{
	if (n == 0) {
		return;
	}
	buf_consume(&c->rcv, n < buf_len(&c->rcv) ? n : buf_len(&c->rcv));
	maybe_window_update(c);
}

bool
tcp_conn_eof(const struct tcp_conn *c)
{
	return c->fin_rcvd;
}

ssize_t
tcp_conn_write(struct tcp_conn *c, const void *buf, size_t len)
{
	size_t room;

	if (c->err) {
		return -c->err;
	}
	if (c->fin_queued || c->st == ST_CLOSED || c->st == ST_TIME_WAIT) {
		return -EPIPE;
	}
	room = buf_room(&c->snd);
	if (room == 0 || c->st == ST_SYN_PENDING) {
		c->snd_blocked = true;
		return -EAGAIN;
	}
	if (len > room) {
		len = room;
	}
	if (buf_put(&c->snd, buf, len) < 0) {
		c->snd_blocked = true;
		return -EAGAIN;
	}
	mark_pending(c);
	return (ssize_t)len;
}

int
tcp_conn_shutdown(struct tcp_conn *c)
{
	if (c->st == ST_CLOSED || c->st == ST_SYN_PENDING || c->err) {
		return -EPIPE;
	}
	if (c->fin_queued) {
		return 0;
	}
	c->fin_queued = true;
	c->fin_seq = c->snd_una + (uint32_t)buf_len(&c->snd);
	mark_pending(c);
	return 0;
}

void
tcp_conn_abort(struct tcp_conn *c)
{
	struct tcp_stack *s = c->s;

	if (c->dead) {
		return;
	}
	if (c->st == ST_TIME_WAIT) {
		/* Nothing to reset: TIME-WAIT (and the ACK it may owe) ends on its own. */
		c->owned = false;
		return;
	}
	s->depth++;
	if (c->st != ST_CLOSED) {
		send_rst(c);
	}
	c->owned = false;
	set_state(c, ST_CLOSED);
	reap_later(c);
	leave(s);
}

void
tcp_conn_release(struct tcp_conn *c)
{
	struct tcp_stack *s = c->s;

	if (!c->owned || c->dead) {
		return;
	}
	s->depth++;
	c->owned = false;
	switch (c->st) {
	case ST_SYN_PENDING:
		set_state(c, ST_CLOSED);
		reap_later(c);
		break;
	case ST_CLOSED:
		reap_later(c);
		break;
	case ST_FIN_WAIT_2:
		c->misc_at = s->now_ms + TCP_FIN_WAIT2_MS;
		arm(c);
		break;
	default:
		/* A clean end: what is buffered goes, then the FIN. */
		tcp_conn_shutdown(c);
		break;
	}
	leave(s);
}

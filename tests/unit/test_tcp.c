// SPDX-License-Identifier: MIT
/*
 * Unit tests for the userspace TCP stack (tund/tcp.c) against RFC 9293,
 * 5961, 6298, 7323, 5681 and 6582, with the test playing the local Linux
 * kernel: it builds the kernel's segments (application -> remote) with
 * tcp_wire_build, feeds them through ip_parse and tcp_stack_input at a
 * time it chooses, and parses every packet the stack outputs back with
 * ip_parse and tcp_wire_parse (checksums verified: this is not a fuzzing
 * build). Time only moves when a test moves it; nothing sleeps.
 *
 * The harness is one global (cmocka runs tests one after another): the
 * stack, the records of its output and its events, the owner's policy for
 * SYNs and an optional hook run from inside every event, so that tests can
 * call back into the stack from where the glue would (re-entrancy).
 * Records live in static pools, so that malloc counts only the stack's
 * own memory (the idle-connection test measures it).
 *
 * A test marked SKIPPED_BUG shows a bug that needs more than a small fix;
 * it calls skip() with the reason, and the report lists it.
 */
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../tund/ip.h"
#include "../../tund/tcp.h"
#include "../../tund/tcp_wire.h"

#define NELEM(x) (sizeof(x) / sizeof((x)[0]))

/* One packet the stack wrote, parsed back; pkt points into the byte pool. */
struct rec {
	uint8_t *pkt;
	size_t len;
	struct ip_pkt ip;
	struct tcp_seg seg;
	uint64_t at_ms;
};

struct evrec {
	struct tcp_conn *c;
	enum tcp_event ev;
	int err;
};

enum syn_policy {
	POL_ACCEPT,             /* tcp_conn_accept from inside the callback */
	POL_LATER,              /* own it, answer later */
	POL_REFUSE,             /* tcp_conn_refuse from inside */
	POL_DROP,               /* tcp_conn_drop from inside */
	POL_DECLINE,            /* return false */
	POL_ABORT,              /* tcp_conn_abort from inside, return true */
	POL_RELEASE,            /* tcp_conn_release from inside, return true */
};

typedef void (*event_hook)(struct tcp_conn *c, enum tcp_event ev, int err);

#define OUT_MAX 16384
#define EV_MAX 16384
#define POOL_MAX (48u << 20)

static struct rec out_recs[OUT_MAX];
static struct evrec ev_recs[EV_MAX];
static uint8_t pool[POOL_MAX];

static struct {
	struct tcp_stack *s;
	struct tcp_cfg cfg;
	int family;
	struct addr app, rem;
	uint64_t now;
	size_t n_out, rd_out, pool_used;
	size_t n_ev;
	enum syn_policy pol;
	struct tcp_conn *last_syn;
	unsigned int n_syn;
	event_hook hook;
	bool keep;              /* record outputs (else only count them) */
	size_t n_total_out;
} H;

static int fam4 = AF_INET, fam6 = AF_INET6;

/* The kernel's socket, as far as the test tracks it. */
struct kp {
	uint16_t sport, dport;
	uint32_t seq;           /* the kernel's SND.NXT */
	uint32_t ack;           /* the kernel's RCV.NXT: what it acknowledges */
	uint16_t wnd;           /* window field it sends (already scaled down) */
	uint32_t irs, iss;      /* the kernel's ISN, the stack's ISN */
	struct tcp_conn *c;
};

/* Callbacks. */

static bool
cb_syn(void *arg, struct tcp_conn *c, const struct tcp_tuple *t)
{
	assert_non_null(t);
	/* A new connection may reuse a freed one's address: forget the old one's events. */
	for (size_t i = 0; i < H.n_ev; i++) {
		if (ev_recs[i].c == c) {
			ev_recs[i].c = NULL;
		}
	}
	H.last_syn = c;
	H.n_syn++;
	switch (H.pol) {
	case POL_ACCEPT:
		tcp_conn_accept(c, H.now);
		return true;
	case POL_LATER:
		return true;
	case POL_REFUSE:
		tcp_conn_refuse(c);
		return true;
	case POL_DROP:
		tcp_conn_drop(c);
		return true;
	case POL_DECLINE:
		return false;
	case POL_ABORT:
		tcp_conn_abort(c);
		return true;
	case POL_RELEASE:
		tcp_conn_release(c);
		return true;
	default:
		fail();
		return false;
	}
}

static void
cb_event(void *arg, struct tcp_conn *c, enum tcp_event ev, int err)
{
	assert_true(H.n_ev < EV_MAX);
	/* TCP_EV_CLOSED is the last event a connection gets. */
	for (size_t i = 0; i < H.n_ev; i++) {
		if (ev_recs[i].c == c && ev_recs[i].ev == TCP_EV_CLOSED) {
			fail_msg("an event after TCP_EV_CLOSED");
		}
	}
	ev_recs[H.n_ev++] = (struct evrec){ c, ev, err };
	if (H.hook) {
		H.hook(c, ev, err);
	}
}

static void
cb_output(void *arg, const uint8_t *hdr, size_t hdr_len, const uint8_t *data, size_t len)
{
	static uint8_t scratch[65536 + 128];
	struct rec r = { 0 };
	uint8_t *p = scratch;

	H.n_total_out++;
	assert_true(hdr_len + len <= sizeof(scratch));
	assert_true(hdr_len + len <= H.cfg.mtu);
	if (H.keep) {
		assert_true(H.n_out < OUT_MAX);
		assert_true(H.pool_used + hdr_len + len <= POOL_MAX);
		p = pool + H.pool_used;
		H.pool_used += hdr_len + len;
	}
	memcpy(p, hdr, hdr_len);
	if (len > 0) {
		memcpy(p + hdr_len, data, len);
	}
	r.pkt = p;
	r.len = hdr_len + len;
	r.at_ms = H.now;
	assert_int_equal(ip_parse(p, r.len, &r.ip), IP_OK);
	assert_int_equal(r.ip.proto, IP_PROTO_TCP);
	assert_int_equal(r.ip.src.family, H.family);
	assert_true(addr_eq(&r.ip.dst, &H.app));
	assert_int_equal(tcp_wire_parse(&r.ip, &r.seg), TCP_WIRE_OK);
	/*
	 * Timestamps are never sent; SACK-permitted only on a SYN-ACK, and
	 * SACK blocks only on segments that acknowledge.
	 */
	assert_false(r.seg.has_ts);
	if (r.seg.sack_ok) {
		assert_int_equal(r.seg.flags & (TCP_SYN | TCP_ACK), TCP_SYN | TCP_ACK);
	}
	if (r.seg.n_sack) {
		assert_true(r.seg.flags & TCP_ACK);
		assert_false(r.seg.flags & TCP_SYN);
	}
	if (!(r.seg.flags & TCP_SYN)) {
		assert_int_equal(r.seg.mss, 0);
		assert_int_equal(r.seg.wscale, -1);
	}
	if (H.keep) {
		out_recs[H.n_out++] = r;
	}
}

static const struct tcp_cbs cbs = { cb_syn, cb_event, cb_output };

/* Setup. */

static void
set_addrs(int family)
{
	static const uint8_t a4[4] = { 192, 0, 2, 1 }, r4[4] = { 198, 51, 100, 7 };
	static const uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const uint8_t r6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 7 };

	H.family = family;
	if (family == AF_INET) {
		addr_set_raw(&H.app, a4, 4);
		addr_set_raw(&H.rem, r4, 4);
	} else {
		addr_set_raw(&H.app, a6, 16);
		addr_set_raw(&H.rem, r6, 16);
	}
}

static void
drain(void)
{
	H.n_out = H.rd_out = H.pool_used = 0;
}

static void
drain_ev(void)
{
	H.n_ev = 0;
}

/* (Re)creates the stack with H.cfg. */
static void
restack(void)
{
	tcp_stack_free(H.s);
	H.s = tcp_stack_new(&H.cfg, &cbs, NULL);
	assert_non_null(H.s);
	drain();
	drain_ev();
}

static int
setup(void **state)
{
	int family = state && *state ? *(int *)*state : AF_INET;

	memset(&H, 0, sizeof(H));
	set_addrs(family);
	H.cfg = (struct tcp_cfg){
		.mtu = 1500,
		.rcv_buf = 262144,
		.snd_buf = 262144,
		.max_conns = 64,
		.seed = 1,
		.syn_wait_ms = 5000,
	};
	H.now = 1000000;
	H.keep = true;
	H.pol = POL_ACCEPT;
	H.s = tcp_stack_new(&H.cfg, &cbs, NULL);
	return H.s ? 0 : -1;
}

static int
teardown(void **state)
{
	tcp_stack_free(H.s);
	H.s = NULL;
	return 0;
}

/* Driving the stack. */

static void
flush(void)
{
	tcp_stack_flush(H.s, H.now);
}

static void
timers_at(uint64_t t)
{
	if (t > H.now) {
		H.now = t;
	}
	tcp_stack_timers(H.s, H.now);
}

/* Runs every timer due up to t, one deadline at a time, flushing after each. */
static void
run_until(uint64_t t)
{
	for (;;) {
		uint64_t d = tcp_stack_next_ms(H.s);

		if (d > t) {
			break;
		}
		timers_at(d);
		flush();
	}
	if (t > H.now) {
		H.now = t;
	}
}

/* The kernel's SYNs offer SACK-permitted while this is set. */
static bool syn_sack;

/* A raw segment from the application's side; opts: mss 0 / ws -1 for none. */
static void
inject_from(const struct addr *src, const struct addr *dst, uint16_t sport, uint16_t dport,
	    uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd, const void *data, size_t len,
	    uint16_t mss, int ws)
{
	static uint8_t buf[TCP_WIRE_HDR_MAX + 65536];
	struct tcp_seg seg = { 0 };
	struct ip_pkt pkt;
	size_t hl;

	seg.sport = sport;
	seg.dport = dport;
	seg.seq = seq;
	seg.ack = ack;
	seg.flags = flags;
	seg.wnd = wnd;
	seg.mss = mss;
	seg.wscale = (int8_t)ws;
	seg.sack_ok = (flags & TCP_SYN) && syn_sack;
	seg.data = data;
	seg.len = len;
	hl = tcp_wire_build(buf, sizeof(buf) - len, src, dst, &seg);
	assert_true(hl > 0);
	if (len > 0) {
		memcpy(buf + hl, data, len);
	}
	assert_int_equal(ip_parse(buf, hl + len, &pkt), IP_OK);
	tcp_stack_input(H.s, &pkt, H.now);
}

static void
inject(const struct kp *k, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd,
       const void *data, size_t len)
{
	inject_from(&H.app, &H.rem, k->sport, k->dport, flags, seq, ack, wnd, data, len, 0, -1);
}

/* The kernel sends from its own state, and advances it. */
static void
ksend(struct kp *k, uint8_t flags, const void *data, size_t len)
{
	inject(k, flags, k->seq, k->ack, k->wnd, data, len);
	k->seq += (uint32_t)len + !!(flags & TCP_SYN) + !!(flags & TCP_FIN);
}

static void
kack(struct kp *k)
{
	ksend(k, TCP_ACK, NULL, 0);
}

static void
ksyn(struct kp *k, uint16_t mss, int ws)
{
	inject_from(&H.app, &H.rem, k->sport, k->dport, TCP_SYN, k->irs, 0, k->wnd, NULL, 0, mss,
		    ws);
	k->seq = k->irs + 1;
}

/* Outputs. */

static size_t
n_left(void)
{
	return H.n_out - H.rd_out;
}

static struct rec *
pop(void)
{
	if (H.rd_out >= H.n_out) {
		fail_msg("expected an output segment, got none");
	}
	return &out_recs[H.rd_out++];
}

static void
assert_none(void)
{
	if (n_left() > 0) {
		const struct tcp_seg *g = &out_recs[H.rd_out].seg;

		fail_msg("unexpected output: flags %#x seq %u ack %u len %zu", g->flags, g->seq,
			 g->ack, g->len);
	}
}

/* Pops one segment and checks flags, seq and ack (ack checked when ACK is set). */
static struct rec *
expect(uint8_t flags, uint32_t seq, uint32_t ack)
{
	struct rec *r = pop();

	if (r->seg.flags != flags || r->seg.seq != seq ||
	    ((flags & TCP_ACK) && r->seg.ack != ack)) {
		fail_msg("got flags %#x seq %u ack %u len %zu; want flags %#x seq %u ack %u",
			 r->seg.flags, r->seg.seq, r->seg.ack, r->seg.len, flags, seq, ack);
	}
	return r;
}

/* Events. */

static size_t
count_ev(const struct tcp_conn *c, enum tcp_event ev)
{
	size_t n = 0;

	for (size_t i = 0; i < H.n_ev; i++) {
		if (ev_recs[i].c == c && ev_recs[i].ev == ev) {
			n++;
		}
	}
	return n;
}

/* The error of c's TCP_EV_CLOSED, or -1 when it got none. */
static int
closed_err(const struct tcp_conn *c)
{
	for (size_t i = 0; i < H.n_ev; i++) {
		if (ev_recs[i].c == c && ev_recs[i].ev == TCP_EV_CLOSED) {
			return ev_recs[i].err;
		}
	}
	return -1;
}

static size_t
n_conns(void)
{
	struct tcp_stats st;

	tcp_stack_stats(H.s, &st);
	return st.conns;
}

static struct tcp_stats
stats(void)
{
	struct tcp_stats st;

	tcp_stack_stats(H.s, &st);
	return st;
}

static void
assert_state(const struct tcp_conn *c, const char *name)
{
	assert_string_equal(tcp_conn_state_name(c), name);
}

/* The MSS our SYN-ACK offers, and the largest we may send by default. */
static uint16_t
our_mss(void)
{
	return (uint16_t)(H.cfg.mtu - (H.family == AF_INET ? 40 : 60));
}

static uint16_t
default_mss(void)
{
	return H.family == AF_INET ? 536 : 1220;
}

static uint16_t
peer_mss(void)
{
	return H.family == AF_INET ? 1460 : 1440;
}

/*
 * The handshake, the kernel's way: SYN with MSS and window scale (ws -1:
 * none), SYN-ACK checked, then the ACK. wnd is the kernel's window field
 * after the handshake.
 */
static struct tcp_conn *
establish_opts(struct kp *k, uint16_t sport, uint32_t irs, uint16_t mss, int ws, uint16_t wnd)
{
	struct rec *r;

	drain();
	memset(k, 0, sizeof(*k));
	k->sport = sport;
	k->dport = 443;
	k->irs = irs;
	k->wnd = 64240;
	H.pol = POL_ACCEPT;
	ksyn(k, mss, ws);
	assert_non_null(H.last_syn);
	k->c = H.last_syn;
	assert_state(k->c, "SYN-RECEIVED");
	flush();
	r = pop();
	if (r->seg.flags != (TCP_SYN | TCP_ACK)) {
		fail_msg("port %u: flags %#x, not a SYN-ACK", sport, r->seg.flags);
	}
	assert_int_equal(r->seg.ack, irs + 1);
	k->iss = r->seg.seq;
	k->ack = k->iss + 1;
	k->wnd = wnd;
	kack(k);
	assert_state(k->c, "ESTABLISHED");
	flush();
	assert_none();
	return k->c;
}

/* The usual: MSS of the family, scale 7, 64 KiB of window (scaled field 512). */
static struct tcp_conn *
establish(struct kp *k, uint16_t sport)
{
	return establish_opts(k, sport, 0x10000000u + sport, peer_mss(), 7, 512);
}

/* Shift the stack announced for a given receive buffer (RFC 7323 2.3: smallest that fits). */
static unsigned int
rcv_shift(size_t rcv_buf)
{
	unsigned int s = 0;

	while (s < 14 && (rcv_buf >> s) > 65535) {
		s++;
	}
	return s;
}

static void
fill(uint8_t *p, size_t len, uint32_t off)
{
	for (size_t i = 0; i < len; i++) {
		p[i] = (uint8_t)((off + i) * 7 + ((off + i) >> 8));
	}
}

/*
 * The kernel receives everything the stack sent so far: what starts past
 * k->ack is dropped (this kernel keeps no reordering queue either), what
 * repeats is skipped; appends new payload to got (when not NULL) and
 * returns how many new bytes came. Does not ACK.
 */
static size_t
krecv(struct kp *k, uint8_t *got, size_t *got_len, size_t cap)
{
	size_t n = 0;

	while (n_left() > 0) {
		struct rec *r = pop();
		uint32_t seq = r->seg.seq;
		size_t len = r->seg.len;

		assert_true(r->seg.flags & TCP_ACK);
		assert_false(r->seg.flags & (TCP_SYN | TCP_RST));
		if (tcp_seq_gt(seq, k->ack)) {
			continue;
		}
		if (tcp_seq_gt(seq + (uint32_t)len, k->ack)) {
			uint32_t skip = k->ack - seq;
			size_t fresh = len - skip;

			if (got) {
				assert_true(*got_len + fresh <= cap);
				memcpy(got + *got_len, r->seg.data + skip, fresh);
				*got_len += fresh;
			}
			k->ack += (uint32_t)fresh;
			n += fresh;
		}
		if ((r->seg.flags & TCP_FIN) && seq + (uint32_t)len == k->ack) {
			k->ack++;
		}
	}
	return n;
}

/* Handshake. */

/* A SYN with MSS and window scale: the SYN-ACK answers both (RFC 9293 3.7.1, RFC 7323 2.2). */
static void
test_hs_options(void **state)
{
	struct kp k = { .sport = 40000, .dport = 443, .irs = 1000, .wnd = 64240 };
	const struct tcp_tuple *t;
	struct rec *r;

	ksyn(&k, peer_mss(), 7);
	assert_int_equal(H.n_syn, 1);
	t = tcp_conn_tuple(H.last_syn);
	assert_true(addr_eq(&t->src, &H.app));
	assert_true(addr_eq(&t->dst, &H.rem));
	assert_int_equal(t->sport, 40000);
	assert_int_equal(t->dport, 443);
	/* Answered at the flush, not before. */
	assert_none();
	flush();
	r = pop();
	assert_int_equal(r->seg.flags, TCP_SYN | TCP_ACK);
	assert_int_equal(r->seg.ack, 1001);
	assert_int_equal(r->seg.sport, 443);
	assert_int_equal(r->seg.dport, 40000);
	assert_true(addr_eq(&r->ip.src, &H.rem));
	assert_int_equal(r->seg.mss, our_mss());
	assert_int_equal(r->seg.wscale, rcv_shift(H.cfg.rcv_buf));
	/* A SYN's window is never scaled. */
	assert_int_equal(r->seg.wnd, 65535);
	assert_int_equal(r->seg.len, 0);
	assert_none();
	k.iss = r->seg.seq;
	k.ack = k.iss + 1;
	k.wnd = 502;
	kack(&k);
	assert_state(H.last_syn, "ESTABLISHED");
	flush();
	assert_none();
	assert_int_equal(stats().accepted, 1);
	assert_int_equal(n_conns(), 1);
}

/* The MSS offered follows the MTU: mtu - 40 (IPv4), mtu - 60 (IPv6); segments never exceed it. */
static void
test_hs_mss_mtu(void **state)
{
	static const uint32_t mtus[] = { 1280, 1500, 9000 };
	uint8_t data[20000];

	fill(data, sizeof(data), 0);
	for (size_t i = 0; i < NELEM(mtus); i++) {
		struct kp k;
		struct tcp_conn *c;
		struct rec *r;

		H.cfg.mtu = mtus[i];
		restack();
		/* The kernel offers more than we can take: ours is the limit. */
		memset(&k, 0, sizeof(k));
		k.sport = 40001;
		k.dport = 443;
		k.irs = 5;
		k.wnd = 65535;
		ksyn(&k, 65000, 7);
		flush();
		r = pop();
		assert_int_equal(r->seg.mss, our_mss());
		k.iss = r->seg.seq;
		k.ack = k.iss + 1;
		k.wnd = 1000;
		c = H.last_syn;
		kack(&k);
		assert_int_equal(tcp_conn_write(c, data, sizeof(data)), sizeof(data));
		flush();
		while (n_left() > 0) {
			r = pop();
			assert_true(r->seg.len <= our_mss());
			assert_true(r->len <= mtus[i]);
		}
	}
}

/*
 * A SYN without options: no window scale in the SYN-ACK, so no window field
 * ever exceeds 65535, the kernel's windows are not scaled either, and the
 * default MSS (536 for IPv4, 1220 for IPv6) bounds what the stack sends.
 */
static void
test_hs_no_options(void **state)
{
	struct kp k;
	struct tcp_conn *c;
	static uint8_t data[200000];
	size_t total = 0;
	struct rec *r;

	fill(data, sizeof(data), 0);
	H.cfg.rcv_buf = 1 << 20;
	restack();
	memset(&k, 0, sizeof(k));
	k.sport = 40002;
	k.dport = 80;
	k.irs = 77;
	k.wnd = 29200;
	ksyn(&k, 0, -1);
	flush();
	r = pop();
	assert_int_equal(r->seg.flags, TCP_SYN | TCP_ACK);
	assert_int_equal(r->seg.wscale, -1);
	assert_int_equal(r->seg.wnd, 65535);
	k.iss = r->seg.seq;
	k.ack = k.iss + 1;
	/* Unscaled: 3000 bytes means 3000 bytes. */
	k.wnd = 3000;
	c = H.last_syn;
	kack(&k);
	assert_int_equal(tcp_conn_write(c, data, 10000), 10000);
	flush();
	while (n_left() > 0) {
		r = pop();
		assert_true(r->seg.len <= default_mss());
		assert_true(r->seg.wnd <= 65535);
		total += r->seg.len;
	}
	assert_int_equal(total, 3000);
	/* 70000 bytes in: the buffer the window offers is 65535 at most. */
	for (uint32_t off = 0; off < 65535; off += 1000) {
		size_t n = 65535 - off < 1000 ? 65535 - off : 1000;

		ksend(&k, TCP_ACK, data + off, n);
	}
	flush();
	r = pop();
	assert_int_equal(r->seg.ack, k.seq);
	assert_int_equal(r->seg.wnd, 0);
	/* And a byte past it is not taken. */
	ksend(&k, TCP_ACK, data, 1);
	r = pop();
	assert_int_equal(r->seg.ack, k.seq - 1);
	assert_int_equal(tcp_conn_readable(c), 65535);
}

/* The owner answers later: the kernel's SYN retransmissions get no answer meanwhile. */
static void
test_hs_deferred(void **state)
{
	struct kp k = { .sport = 40003, .dport = 443, .irs = 4242, .wnd = 64240 };
	struct tcp_conn *c;

	H.pol = POL_LATER;
	ksyn(&k, peer_mss(), 7);
	c = H.last_syn;
	assert_state(c, "SYN-PENDING");
	flush();
	assert_none();
	/* Linux retransmits its SYN after 1 s, 3 s... */
	H.now += 1000;
	ksyn(&k, peer_mss(), 7);
	H.now += 2000;
	ksyn(&k, peer_mss(), 7);
	timers_at(H.now);
	flush();
	assert_none();
	assert_int_equal(H.n_syn, 1);
	assert_int_equal(n_conns(), 1);
	tcp_conn_accept(c, H.now);
	assert_state(c, "SYN-RECEIVED");
	flush();
	assert_int_equal(pop()->seg.ack, 4243);
	assert_none();
}

/* Refused: RST|ACK with seq 0 and ack irs + 1 (RFC 9293 3.10.7.1), at once or later. */
static void
test_hs_refuse(void **state)
{
	static const enum syn_policy pols[] = { POL_REFUSE, POL_DECLINE, POL_LATER };

	for (size_t i = 0; i < NELEM(pols); i++) {
		struct kp k = { .sport = (uint16_t)(40010 + i), .dport = 443, .irs = 0xfffffffeu,
				.wnd = 64240 };
		struct rec *r;

		restack();
		H.pol = pols[i];
		ksyn(&k, peer_mss(), 7);
		if (pols[i] == POL_LATER) {
			assert_none();
			H.now += 500;
			tcp_conn_refuse(H.last_syn);
		}
		r = expect(TCP_RST | TCP_ACK, 0, 0xffffffffu);
		assert_int_equal(r->seg.sport, 443);
		assert_int_equal(r->seg.dport, k.sport);
		flush();
		assert_none();
		assert_int_equal(n_conns(), 0);
		assert_int_equal(stats().refused, 1);
		assert_int_equal(H.n_ev, 0);
	}
}

/* Dropped (the owner sent an ICMP error): nothing; a retransmitted SYN asks again. */
static void
test_hs_drop(void **state)
{
	struct kp k = { .sport = 40020, .dport = 443, .irs = 9, .wnd = 64240 };
	uint8_t syn[128];
	struct ip_pkt pkt;
	struct tcp_seg seg;
	size_t n;

	H.pol = POL_LATER;
	ksyn(&k, peer_mss(), 7);
	/* The SYN rebuilt, to quote in the ICMP error. */
	n = tcp_conn_syn_packet(H.last_syn, syn, sizeof(syn));
	assert_true(n > 0);
	assert_int_equal(tcp_conn_syn_packet(H.last_syn, syn, 10), 0);
	assert_int_equal(ip_parse(syn, n, &pkt), IP_OK);
	assert_true(addr_eq(&pkt.src, &H.app));
	assert_true(addr_eq(&pkt.dst, &H.rem));
	assert_int_equal(tcp_wire_parse(&pkt, &seg), TCP_WIRE_OK);
	assert_int_equal(seg.flags, TCP_SYN);
	assert_int_equal(seg.seq, 9);
	assert_int_equal(seg.sport, 40020);
	assert_int_equal(seg.dport, 443);
	tcp_conn_drop(H.last_syn);
	flush();
	assert_none();
	assert_int_equal(n_conns(), 0);
	H.pol = POL_DROP;
	ksyn(&k, peer_mss(), 7);
	flush();
	assert_none();
	assert_int_equal(H.n_syn, 2);
	assert_int_equal(n_conns(), 0);
	assert_int_equal(H.n_ev, 0);
}

/* An owner that never answers: TCP_EV_CLOSED ETIMEDOUT after syn_wait_ms, nothing sent. */
static void
test_hs_syn_wait(void **state)
{
	struct kp k = { .sport = 40030, .dport = 443, .irs = 1, .wnd = 64240 };
	uint64_t t0 = H.now;
	struct tcp_conn *c;
	char b[8];

	H.pol = POL_LATER;
	ksyn(&k, peer_mss(), 7);
	c = H.last_syn;
	assert_int_equal(tcp_stack_next_ms(H.s), t0 + H.cfg.syn_wait_ms);
	timers_at(t0 + H.cfg.syn_wait_ms - 1);
	assert_int_equal(H.n_ev, 0);
	timers_at(t0 + H.cfg.syn_wait_ms);
	flush();
	assert_none();
	assert_int_equal(closed_err(c), ETIMEDOUT);
	assert_int_equal(tcp_conn_read(c, b, sizeof(b)), -ETIMEDOUT);
	assert_int_equal(stats().timeouts, 1);
	/* A late answer does nothing. */
	tcp_conn_accept(c, H.now);
	flush();
	assert_none();
	tcp_conn_release(c);
	assert_int_equal(n_conns(), 0);
}

/*
 * The SYN-ACK is retransmitted on its timer with backoff (RFC 6298 5.5:
 * 1, 2, 4, 8 s, then capped), at once when the kernel's SYN comes again,
 * and the connection times out after TCP_SYN_RETRIES.
 */
static void
test_hs_synack_rexmit(void **state)
{
	struct kp k = { .sport = 40040, .dport = 443, .irs = 100, .wnd = 64240 };
	uint64_t t0 = H.now, t = t0, rto = TCP_RTO_INIT_MS;
	struct tcp_conn *c;
	uint32_t iss;

	ksyn(&k, peer_mss(), 7);
	c = H.last_syn;
	flush();
	iss = pop()->seg.seq;
	for (int i = 0; i < TCP_SYN_RETRIES; i++) {
		t += rto;
		timers_at(t - 1);
		flush();
		assert_none();
		timers_at(t);
		flush();
		expect(TCP_SYN | TCP_ACK, iss, 101);
		assert_none();
		rto = rto * 2 > TCP_RTO_MAX_MS ? TCP_RTO_MAX_MS : rto * 2;
		if (i == 1) {
			/* The kernel's SYN again: our SYN-ACK was lost, so at once. */
			H.now = t + 10;
			ksyn(&k, peer_mss(), 7);
			flush();
			expect(TCP_SYN | TCP_ACK, iss, 101);
			assert_int_equal(H.n_syn, 1);
		}
	}
	assert_int_equal(H.n_ev, 0);
	timers_at(t + rto);
	flush();
	assert_none();
	assert_int_equal(closed_err(c), ETIMEDOUT);
	tcp_conn_release(c);
	assert_int_equal(n_conns(), 0);
}

/* In SYN-RECEIVED, an ACK of anything but our SYN: <SEQ=SEG.ACK><CTL=RST> (RFC 9293 3.10.7.4). */
static void
test_hs_bad_ack(void **state)
{
	struct kp k = { .sport = 40050, .dport = 443, .irs = 7000, .wnd = 64240 };
	struct tcp_conn *c;
	uint32_t iss;
	struct rec *r;

	ksyn(&k, peer_mss(), 7);
	c = H.last_syn;
	flush();
	iss = pop()->seg.seq;
	inject(&k, TCP_ACK, 7001, iss + 5, 502, NULL, 0);
	r = expect(TCP_RST, iss + 5, 0);
	assert_int_equal(r->seg.len, 0);
	inject(&k, TCP_ACK, 7001, iss, 502, NULL, 0);
	expect(TCP_RST, iss, 0);
	assert_state(c, "SYN-RECEIVED");
	assert_int_equal(H.n_ev, 0);
	/* The right one still completes it. */
	inject(&k, TCP_ACK, 7001, iss + 1, 502, NULL, 0);
	assert_state(c, "ESTABLISHED");
	flush();
	assert_none();
}

/* Data on the handshake's last ACK is taken; a FIN on it too. */
static void
test_hs_ack_with_data(void **state)
{
	struct kp k = { .sport = 40060, .dport = 443, .irs = 1, .wnd = 64240 };
	struct tcp_conn *c;
	char b[16];

	ksyn(&k, peer_mss(), 7);
	c = H.last_syn;
	flush();
	k.iss = pop()->seg.seq;
	k.ack = k.iss + 1;
	k.wnd = 502;
	ksend(&k, TCP_ACK | TCP_PSH | TCP_FIN, "GET /", 5);
	assert_state(c, "CLOSE-WAIT");
	assert_int_equal(count_ev(c, TCP_EV_READABLE), 1);
	flush();
	expect(TCP_ACK, k.iss + 1, 8);
	assert_none();
	assert_int_equal(tcp_conn_read(c, b, sizeof(b)), 5);
	assert_memory_equal(b, "GET /", 5);
	assert_int_equal(tcp_conn_read(c, b, sizeof(b)), 0);
}

/* Data toward the application's peer (the kernel sends, the owner reads). */

/* In-order data is readable at once; a batch of segments gets one ACK, at the flush. */
static void
test_rx_in_order(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish(&k, 41000);
	unsigned int ws = rcv_shift(H.cfg.rcv_buf);
	uint8_t data[3000], b[4000];
	struct rec *r;

	fill(data, sizeof(data), 0);
	ksend(&k, TCP_ACK | TCP_PSH, data, 5);
	assert_int_equal(count_ev(c, TCP_EV_READABLE), 1);
	assert_int_equal(tcp_conn_readable(c), 5);
	assert_none();
	flush();
	r = expect(TCP_ACK, k.iss + 1, k.seq);
	assert_int_equal(r->seg.wnd, (H.cfg.rcv_buf - 5) >> ws);
	assert_int_equal(r->seg.len, 0);
	assert_none();
	/* Three segments, one ACK for them all. */
	ksend(&k, TCP_ACK, data + 5, 1000);
	ksend(&k, TCP_ACK, data + 1005, 1000);
	ksend(&k, TCP_ACK | TCP_PSH, data + 2005, 995);
	assert_none();
	flush();
	expect(TCP_ACK, k.iss + 1, k.seq);
	assert_none();
	flush();
	assert_none();
	assert_int_equal(tcp_conn_read(c, b, 100), 100);
	assert_memory_equal(b, data, 100);
	assert_int_equal(tcp_conn_read(c, b + 100, sizeof(b) - 100), 2900);
	assert_memory_equal(b, data, 3000);
	assert_int_equal(tcp_conn_read(c, b, sizeof(b)), -EAGAIN);
	/* peek/consume take part of it in place. */
	ksend(&k, TCP_ACK, data, 10);
	{
		size_t len;
		const uint8_t *p = tcp_conn_peek(c, &len);

		assert_int_equal(len, 10);
		assert_memory_equal(p, data, 10);
		tcp_conn_consume(c, 4);
		p = tcp_conn_peek(c, &len);
		assert_int_equal(len, 6);
		assert_memory_equal(p, data + 4, 6);
		tcp_conn_consume(c, 100);
		assert_int_equal(tcp_conn_readable(c), 0);
	}
}

/*
 * The window is the free room of the receive buffer: it shrinks to 0 as
 * the kernel fills it, the right edge never moves left (RFC 9293
 * 3.8.6.2.2), and reading sends a window update.
 */
static void
test_rx_window_fill(void **state)
{
	struct kp k;
	struct tcp_conn *c;
	uint8_t data[1000], b[20000];
	uint32_t edge;
	struct rec *r;

	fill(data, sizeof(data), 0);
	H.cfg.rcv_buf = 20000;
	restack();
	c = establish_opts(&k, 41001, 5, peer_mss(), -1, 65535);
	edge = k.seq + 20000;
	for (int i = 0; i < 20; i++) {
		ksend(&k, TCP_ACK, data, sizeof(data));
		flush();
		r = expect(TCP_ACK, k.iss + 1, k.seq);
		assert_int_equal(r->seg.wnd, 20000 - 1000 * (i + 1));
		assert_int_equal(r->seg.ack + r->seg.wnd, edge);
	}
	assert_int_equal(r->seg.wnd, 0);
	/* A zero-window probe (Linux: an old byte) and a segment into the closed window. */
	inject(&k, TCP_ACK, k.seq - 1, k.ack, k.wnd, NULL, 0);
	r = expect(TCP_ACK, k.iss + 1, k.seq);
	assert_int_equal(r->seg.wnd, 0);
	inject(&k, TCP_ACK, k.seq, k.ack, k.wnd, data, 1);
	r = expect(TCP_ACK, k.iss + 1, k.seq);
	assert_int_equal(r->seg.wnd, 0);
	assert_int_equal(tcp_conn_readable(c), 20000);
	flush();
	assert_none();
	/* Reading opens it: an update goes at the next flush. */
	assert_int_equal(tcp_conn_read(c, b, sizeof(b)), 20000);
	flush();
	r = expect(TCP_ACK, k.iss + 1, k.seq);
	assert_int_equal(r->seg.wnd, 20000);
	assert_none();
}

/* With window scaling, the advertised right edge must not move left either (RFC 7323 2.4). */
static void
test_rx_window_scaled_edge(void **state)
{
	struct kp k;
	struct tcp_conn *c;
	unsigned int ws;
	uint8_t data[2000], b[2000];
	uint32_t edge = 0;
	struct rec *r;

	fill(data, sizeof(data), 0);
	H.cfg.rcv_buf = 1 << 20;
	restack();
	ws = rcv_shift(H.cfg.rcv_buf);
	assert_int_equal(ws, 5);
	c = establish(&k, 41002);
	for (int i = 0; i < 8; i++) {
		uint32_t e;

		ksend(&k, TCP_ACK, data, i == 0 ? 2000 : (size_t)(1 + i * 3));
		flush();
		r = expect(TCP_ACK, k.iss + 1, k.seq);
		e = r->seg.ack + ((uint32_t)r->seg.wnd << ws);
		if (edge && tcp_seq_lt(e, edge)) {
			fail_msg("round %d: the right edge moved left by %u", i, edge - e);
		}
		edge = e;
		/* Read all: a window update when it grew by an MSS or more. */
		assert_true(tcp_conn_read(c, b, sizeof(b)) > 0);
		flush();
		while (n_left() > 0) {
			r = pop();
			e = r->seg.ack + ((uint32_t)r->seg.wnd << ws);
			assert_true(tcp_seq_geq(e, edge));
			edge = e;
		}
	}
}

/* Data past the window: what fits is kept, the rest is not, and an ACK goes at once. */
static void
test_rx_past_window(void **state)
{
	struct kp k;
	struct tcp_conn *c;
	static uint8_t data[22000], b[22000];
	struct rec *r;

	fill(data, sizeof(data), 0);
	H.cfg.rcv_buf = 20000;
	restack();
	c = establish_opts(&k, 41003, 5, peer_mss(), -1, 65535);
	for (uint32_t off = 0; off < 19000; off += 1000) {
		ksend(&k, TCP_ACK, data + off, 1000);
	}
	flush();
	drain();
	/* 2000 bytes where 1000 fit. */
	inject(&k, TCP_ACK | TCP_PSH, k.seq, k.ack, k.wnd, data + 19000, 2000);
	r = expect(TCP_ACK, k.iss + 1, k.seq + 1000);
	assert_int_equal(r->seg.wnd, 0);
	k.seq += 1000;
	/* Wholly beyond the right edge: not acceptable, an ACK, nothing kept. */
	inject(&k, TCP_ACK, k.seq + 5000, k.ack, k.wnd, data, 100);
	expect(TCP_ACK, k.iss + 1, k.seq);
	assert_int_equal(tcp_conn_read(c, b, sizeof(b)), 20000);
	assert_memory_equal(b, data, 20000);
	assert_true(stats().drop_out_of_window >= 1);
}

/*
 * Out of order: kept, with an immediate duplicate ACK; when the hole
 * fills, everything kept is delivered in order and acknowledged at once.
 * A FIN kept out of order is taken when the bytes before it are in.
 */
static void
test_rx_out_of_order(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish(&k, 41004);
	uint8_t data[3100], b[3100];
	uint32_t s0 = k.seq;

	fill(data, sizeof(data), 0);
	inject(&k, TCP_ACK, s0 + 1000, k.ack, k.wnd, data + 1000, 1000);
	expect(TCP_ACK, k.iss + 1, s0);
	assert_int_equal(tcp_conn_readable(c), 0);
	assert_int_equal(count_ev(c, TCP_EV_READABLE), 0);
	inject(&k, TCP_ACK, s0 + 2000, k.ack, k.wnd, data + 2000, 1000);
	expect(TCP_ACK, k.iss + 1, s0);
	/* A retransmission of a kept one: kept once. */
	inject(&k, TCP_ACK, s0 + 2000, k.ack, k.wnd, data + 2000, 1000);
	expect(TCP_ACK, k.iss + 1, s0);
	assert_int_equal(stats().ooo_kept, 2);
	assert_int_equal(stats().drop_out_of_order, 0);
	/* The hole filled: all 3000 in order, acknowledged at the flush. */
	inject(&k, TCP_ACK, s0, k.ack, k.wnd, data, 1000);
	assert_none();
	flush();
	expect(TCP_ACK, k.iss + 1, s0 + 3000);
	assert_int_equal(tcp_conn_read(c, b, sizeof(b)), 3000);
	assert_memory_equal(b, data, 3000);
	/* A FIN after a hole: kept too, taken once the hole fills. */
	inject(&k, TCP_ACK | TCP_FIN, s0 + 3050, k.ack, k.wnd, data + 3050, 50);
	expect(TCP_ACK, k.iss + 1, s0 + 3000);
	assert_false(tcp_conn_eof(c));
	assert_state(c, "ESTABLISHED");
	inject(&k, TCP_ACK, s0 + 3000, k.ack, k.wnd, data + 3000, 50);
	flush();
	expect(TCP_ACK, k.iss + 1, s0 + 3101);
	assert_state(c, "CLOSE-WAIT");
	assert_int_equal(tcp_conn_read(c, b, sizeof(b)), 100);
	assert_memory_equal(b, data + 3000, 100);
	assert_int_equal(tcp_conn_read(c, b, sizeof(b)), 0);
}

/*
 * With SACK-permitted in the SYN: offered back, and each duplicate ACK
 * names what is kept (RFC 2018), the newest block first; past the
 * window nothing is kept.
 */
static void
test_rx_sack(void **state)
{
	struct kp k;
	struct tcp_conn *c;
	uint8_t data[6000], b[6000];
	struct rec *r;
	uint32_t s0;

	syn_sack = true;
	drain();
	memset(&k, 0, sizeof(k));
	k.sport = 41010;
	k.dport = 443;
	k.irs = 0x20000000u;
	k.wnd = 512;
	H.pol = POL_ACCEPT;
	ksyn(&k, peer_mss(), 7);
	syn_sack = false;
	c = H.last_syn;
	flush();
	r = pop();
	assert_int_equal(r->seg.flags, TCP_SYN | TCP_ACK);
	assert_true(r->seg.sack_ok);
	k.iss = r->seg.seq;
	k.ack = k.iss + 1;
	kack(&k);
	assert_state(c, "ESTABLISHED");
	s0 = k.seq;
	fill(data, sizeof(data), 3);
	inject(&k, TCP_ACK, s0 + 1000, k.ack, k.wnd, data + 1000, 1000);
	r = expect(TCP_ACK, k.iss + 1, s0);
	assert_int_equal(r->seg.n_sack, 1);
	assert_int_equal(r->seg.sack_l[0], s0 + 1000);
	assert_int_equal(r->seg.sack_r[0], s0 + 2000);
	inject(&k, TCP_ACK, s0 + 3000, k.ack, k.wnd, data + 3000, 1000);
	r = expect(TCP_ACK, k.iss + 1, s0);
	assert_int_equal(r->seg.n_sack, 2);
	assert_int_equal(r->seg.sack_l[0], s0 + 3000);
	assert_int_equal(r->seg.sack_r[0], s0 + 4000);
	assert_int_equal(r->seg.sack_l[1], s0 + 1000);
	/* Contiguous with the first: one block 1000..3000... then 3000..4000 joins it. */
	inject(&k, TCP_ACK, s0 + 2000, k.ack, k.wnd, data + 2000, 1000);
	r = expect(TCP_ACK, k.iss + 1, s0);
	assert_int_equal(r->seg.n_sack, 1);
	assert_int_equal(r->seg.sack_l[0], s0 + 1000);
	assert_int_equal(r->seg.sack_r[0], s0 + 4000);
	/* Far past the window: not kept. */
	inject(&k, TCP_ACK, s0 + 0x10000000u, k.ack, k.wnd, data, 1000);
	r = pop();
	assert_int_equal(stats().ooo_kept, 3);
	inject(&k, TCP_ACK, s0, k.ack, k.wnd, data, 1000);
	flush();
	r = expect(TCP_ACK, k.iss + 1, s0 + 4000);
	assert_int_equal(r->seg.n_sack, 0);
	assert_int_equal(tcp_conn_read(c, b, sizeof(b)), 4000);
	assert_memory_equal(b, data, 4000);
}

/* Old data again (our ACK was lost): acknowledged, not delivered twice. */
static void
test_rx_old_retransmit(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish(&k, 41005);
	uint8_t data[300], b[600];
	uint32_t s0 = k.seq;

	fill(data, sizeof(data), 0);
	ksend(&k, TCP_ACK, data, 100);
	flush();
	expect(TCP_ACK, k.iss + 1, s0 + 100);
	/* The same segment: ends at RCV.NXT, acceptable (Linux's test), ACKed at the flush. */
	inject(&k, TCP_ACK, s0, k.ack, k.wnd, data, 100);
	flush();
	expect(TCP_ACK, k.iss + 1, s0 + 100);
	/* Overlapping: the new part is taken. */
	inject(&k, TCP_ACK, s0 + 50, k.ack, k.wnd, data + 50, 150);
	flush();
	expect(TCP_ACK, k.iss + 1, s0 + 200);
	/* Wholly old: not acceptable, an ACK at once. */
	inject(&k, TCP_ACK, s0, k.ack, k.wnd, data, 100);
	expect(TCP_ACK, k.iss + 1, s0 + 200);
	assert_none();
	assert_int_equal(tcp_conn_read(c, b, sizeof(b)), 200);
	assert_memory_equal(b, data, 200);
}

/* Data toward the application (the owner writes, the kernel receives). */

/* Segments of at most the MSS, never past the kernel's (scaled) window, PSH on the last. */
static void
test_tx_mss_window(void **state)
{
	struct kp k;
	struct tcp_conn *c;
	static uint8_t data[10000], got[10000];
	size_t got_len = 0;
	uint32_t edge;
	struct rec *r;

	fill(data, sizeof(data), 0);
	/* MSS 1000, scale 2, window field 1500: 6000 bytes. */
	c = establish_opts(&k, 42000, 1, 1000, 2, 1500);
	drain();
	assert_int_equal(tcp_conn_write(c, data, sizeof(data)), sizeof(data));
	assert_none();
	flush();
	edge = k.ack + 6000;
	for (int i = 0; i < 6; i++) {
		r = expect(TCP_ACK, k.iss + 1 + 1000 * (uint32_t)i, k.seq);
		assert_int_equal(r->seg.len, 1000);
		assert_memory_equal(r->seg.data, data + 1000 * i, 1000);
	}
	assert_none();
	H.rd_out = 0;
	krecv(&k, got, &got_len, sizeof(got));
	assert_true(tcp_seq_leq(k.ack, edge));
	drain();
	kack(&k);
	flush();
	while (n_left() > 0) {
		r = pop();
		assert_true(r->seg.len <= 1000);
		assert_true(tcp_seq_leq(r->seg.seq + (uint32_t)r->seg.len, k.ack + 6000));
		if (tcp_seq_geq(r->seg.seq + (uint32_t)r->seg.len, k.iss + 1 + 10000)) {
			assert_true(r->seg.flags & TCP_PSH);
		} else {
			assert_false(r->seg.flags & TCP_PSH);
		}
	}
	H.rd_out = 0;
	krecv(&k, got, &got_len, sizeof(got));
	assert_int_equal(got_len, 10000);
	assert_memory_equal(got, data, 10000);
	kack(&k);
	flush();
	assert_none();
	/* A small write is one segment with PSH. */
	assert_int_equal(tcp_conn_write(c, "x", 1), 1);
	flush();
	r = expect(TCP_ACK | TCP_PSH, k.ack, k.seq);
	assert_int_equal(r->seg.len, 1);
}

/*
 * RTO (RFC 6298): nothing acknowledged, so everything goes again from
 * SND.UNA on the timer, with the timer doubling each time (capped); after
 * TCP_DATA_RETRIES, a RST and TCP_EV_CLOSED ETIMEDOUT.
 */
static void
test_tx_rto(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish_opts(&k, 42001, 1, 1000, 7, 512);
	uint8_t data[3000];
	uint64_t t, rto = TCP_RTO_INIT_MS;
	char b[4];

	fill(data, sizeof(data), 0);
	assert_int_equal(tcp_conn_write(c, data, sizeof(data)), sizeof(data));
	flush();
	t = H.now;
	assert_int_equal(n_left(), 3);
	drain();
	assert_int_equal(tcp_stack_next_ms(H.s), t + rto);
	for (int i = 0; i < TCP_DATA_RETRIES; i++) {
		t += rto;
		timers_at(t - 1);
		flush();
		assert_none();
		timers_at(t);
		flush();
		/* Go-back: from SND.UNA, all of it again. */
		for (uint32_t off = 0; off < 3000; off += 1000) {
			uint8_t fl = TCP_ACK | (off == 2000 ? TCP_PSH : 0);
			struct rec *r = expect(fl, k.iss + 1 + off, k.seq);

			assert_int_equal(r->seg.len, 1000);
		}
		assert_none();
		rto = rto * 2 > TCP_RTO_MAX_MS ? TCP_RTO_MAX_MS : rto * 2;
	}
	assert_int_equal(stats().rto, TCP_DATA_RETRIES);
	assert_int_equal(closed_err(c), -1);
	timers_at(t + rto);
	flush();
	{
		struct rec *r = pop();

		assert_true(r->seg.flags & TCP_RST);
		assert_true(r->seg.seq == k.iss + 1 + 3000 || r->seg.seq == k.iss + 1);
	}
	assert_none();
	assert_int_equal(closed_err(c), ETIMEDOUT);
	assert_int_equal(tcp_conn_read(c, b, sizeof(b)), -ETIMEDOUT);
	assert_true(tcp_conn_write(c, "x", 1) < 0);
	tcp_conn_release(c);
	assert_int_equal(n_conns(), 0);
}

/* An ACK of part restarts the timer and the count; only what is unacknowledged goes again. */
static void
test_tx_rto_partial(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish_opts(&k, 42002, 1, 1000, 7, 512);
	uint8_t data[3000];
	uint64_t t0;

	fill(data, sizeof(data), 0);
	assert_int_equal(tcp_conn_write(c, data, sizeof(data)), sizeof(data));
	flush();
	drain();
	t0 = H.now;
	H.now = t0 + 600;
	inject(&k, TCP_ACK, k.seq, k.iss + 1 + 1000, k.wnd, NULL, 0);
	flush();
	assert_none();
	/* RFC 6298 5.3: restarted at the ACK, not due at t0 + 1000 (the RTT sample gives 600+). */
	timers_at(t0 + 1000);
	flush();
	assert_none();
	run_until(t0 + 600 + TCP_RTO_MAX_MS);
	{
		struct rec *r = expect(TCP_ACK, k.iss + 1 + 1000, k.seq);

		assert_int_equal(r->seg.len, 1000);
		assert_true(r->at_ms >= t0 + 600 + TCP_RTO_MIN_MS);
	}
	expect(TCP_ACK | TCP_PSH, k.iss + 1 + 2000, k.seq);
}

/* Fast retransmit on exactly the third duplicate ACK (RFC 5681 3.2), then NewReno (RFC 6582). */
static void
test_tx_fast_retransmit(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish_opts(&k, 42003, 1, 1000, 7, 512);
	uint8_t data[5000];
	uint32_t una = k.iss + 1;
	struct rec *r;

	fill(data, sizeof(data), 0);
	assert_int_equal(tcp_conn_write(c, data, sizeof(data)), sizeof(data));
	flush();
	assert_int_equal(n_left(), 5);
	drain();
	/* Segment 2 was lost: the kernel acknowledges 1, then duplicates for 3, 4, 5. */
	inject(&k, TCP_ACK, k.seq, una + 1000, k.wnd, NULL, 0);
	flush();
	assert_none();
	inject(&k, TCP_ACK, k.seq, una + 1000, k.wnd, NULL, 0);
	inject(&k, TCP_ACK, k.seq, una + 1000, k.wnd, NULL, 0);
	assert_none();
	inject(&k, TCP_ACK, k.seq, una + 1000, k.wnd, NULL, 0);
	r = expect(TCP_ACK, una + 1000, k.seq);
	assert_int_equal(r->seg.len, 1000);
	assert_memory_equal(r->seg.data, data + 1000, 1000);
	assert_int_equal(stats().fast_retransmits, 1);
	/* A fourth does not send it again. */
	inject(&k, TCP_ACK, k.seq, una + 1000, k.wnd, NULL, 0);
	flush();
	assert_none();
	/* A window change is no duplicate; a segment with data is none either. */
	/* Partial ACK: segment 4 was lost too, it goes at once. */
	inject(&k, TCP_ACK, k.seq, una + 3000, k.wnd, NULL, 0);
	r = expect(TCP_ACK, una + 3000, k.seq);
	assert_int_equal(r->seg.len, 1000);
	flush();
	assert_none();
	/* The full ACK ends recovery: nothing more. */
	inject(&k, TCP_ACK, k.seq, una + 5000, k.wnd, NULL, 0);
	flush();
	assert_none();
	assert_int_equal(tcp_stack_next_ms(H.s), H.now + TCP_KEEPALIVE_IDLE_MS);
}

/* Duplicates that are not: different window, data on them, nothing in flight (RFC 5681 2). */
static void
test_tx_not_dupacks(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish_opts(&k, 42004, 1, 1000, 7, 512);
	uint8_t data[3000];
	uint32_t una = k.iss + 1;

	fill(data, sizeof(data), 0);
	assert_int_equal(tcp_conn_write(c, data, sizeof(data)), sizeof(data));
	flush();
	drain();
	inject(&k, TCP_ACK, k.seq, una, 510, NULL, 0);
	inject(&k, TCP_ACK, k.seq, una, 509, NULL, 0);
	inject(&k, TCP_ACK, k.seq, una, 508, NULL, 0);
	ksend(&k, TCP_ACK, "a", 1);
	ksend(&k, TCP_ACK, "b", 1);
	ksend(&k, TCP_ACK, "c", 1);
	assert_none();
	assert_int_equal(stats().fast_retransmits, 0);
	flush();
	drain();
}

/*
 * A zero window with data waiting: persist probes (Linux's way, an old
 * sequence number) with backoff; the connection stays open as long as the
 * kernel answers them (RFC 9293 3.8.6.1, RFC 1122 4.2.2.17: MUST), and
 * sending resumes when the window opens.
 */
static void
test_tx_zero_window(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish_opts(&k, 42005, 1, 1000, 0, 1000);
	uint8_t data[3000];
	uint64_t last = 0, gap = 0;
	struct rec *r;

	fill(data, sizeof(data), 0);
	assert_int_equal(tcp_conn_write(c, data, sizeof(data)), sizeof(data));
	flush();
	r = expect(TCP_ACK, k.iss + 1, k.seq);
	assert_int_equal(r->seg.len, 1000);
	assert_none();
	/* The kernel takes it and closes its window. */
	k.ack += 1000;
	k.wnd = 0;
	kack(&k);
	flush();
	assert_none();
	for (int i = 0; i < 2 * TCP_DATA_RETRIES; i++) {
		uint64_t d;

		/* The next timer that sends something (keep-alive may re-arm silently). */
		do {
			d = tcp_stack_next_ms(H.s);
			assert_true(d != UINT64_MAX);
			timers_at(d);
			flush();
		} while (n_left() == 0);
		r = expect(TCP_ACK, k.ack - 1, k.seq);
		assert_int_equal(r->seg.len, 0);
		assert_none();
		if (last) {
			/* Backoff: never faster than before, capped at TCP_RTO_MAX_MS. */
			assert_true(d - last >= gap);
			assert_true(d - last <= TCP_RTO_MAX_MS);
		}
		gap = last ? d - last : 0;
		last = d;
		/* Answered, window still closed. */
		kack(&k);
		flush();
		assert_none();
		if (closed_err(c) != -1) {
			fail_msg("aborted after %d answered probes", i + 1);
		}
	}
	assert_state(c, "ESTABLISHED");
	/* The window opens: sending resumes at once. */
	k.wnd = 1000;
	kack(&k);
	flush();
	r = expect(TCP_ACK, k.ack, k.seq);
	assert_int_equal(r->seg.len, 1000);
	assert_memory_equal(r->seg.data, data + 1000, 1000);
}

/* Probes nobody answers: the connection is given up (RST, ETIMEDOUT). */
static void
test_tx_zero_window_dead(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish_opts(&k, 42006, 1, 1000, 0, 1000);
	uint8_t data[3000];
	int probes = 0;

	fill(data, sizeof(data), 0);
	assert_int_equal(tcp_conn_write(c, data, sizeof(data)), sizeof(data));
	flush();
	drain();
	k.ack += 1000;
	k.wnd = 0;
	kack(&k);
	flush();
	while (closed_err(c) == -1 && probes < 100) {
		uint64_t d = tcp_stack_next_ms(H.s);

		assert_true(d != UINT64_MAX);
		timers_at(d);
		flush();
		while (n_left() > 0) {
			struct rec *r = pop();

			if (r->seg.flags & TCP_RST) {
				assert_int_equal(r->seg.seq, k.ack);
			} else {
				assert_int_equal(r->seg.seq, k.ack - 1);
				probes++;
			}
		}
	}
	assert_int_equal(closed_err(c), ETIMEDOUT);
	assert_true(probes >= 3);
	assert_true(probes <= TCP_DATA_RETRIES);
}

/* -EAGAIN when the send buffer is full, then TCP_EV_WRITABLE when ACKs free room. */
static void
test_tx_writable(void **state)
{
	struct kp k;
	struct tcp_conn *c;
	uint8_t data[5000];

	fill(data, sizeof(data), 0);
	H.cfg.snd_buf = 4000;
	restack();
	c = establish(&k, 42007);
	assert_int_equal(tcp_conn_write(c, data, sizeof(data)), 4000);
	assert_int_equal(tcp_conn_write(c, data, 1), -EAGAIN);
	flush();
	krecv(&k, NULL, NULL, 0);
	assert_int_equal(count_ev(c, TCP_EV_WRITABLE), 0);
	/* An ACK that frees nothing says nothing. */
	inject(&k, TCP_ACK, k.seq, k.iss + 1, k.wnd, NULL, 0);
	assert_int_equal(count_ev(c, TCP_EV_WRITABLE), 0);
	inject(&k, TCP_ACK, k.seq, k.iss + 1 + 1000, k.wnd, NULL, 0);
	assert_int_equal(count_ev(c, TCP_EV_WRITABLE), 1);
	assert_int_equal(tcp_conn_write(c, data, sizeof(data)), 1000);
	/* Once per -EAGAIN. */
	kack(&k);
	assert_int_equal(count_ev(c, TCP_EV_WRITABLE), 1);
	flush();
	drain();
}

/* Closing. */

/* The application closes first: read 0, CLOSE-WAIT; ours after our data: LAST-ACK, CLOSED. */
static void
test_close_passive(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish(&k, 44000);
	char b[8];
	struct rec *r;

	ksend(&k, TCP_ACK | TCP_FIN, NULL, 0);
	assert_state(c, "CLOSE-WAIT");
	assert_int_equal(count_ev(c, TCP_EV_READABLE), 1);
	assert_true(tcp_conn_eof(c));
	assert_int_equal(tcp_conn_read(c, b, sizeof(b)), 0);
	flush();
	expect(TCP_ACK, k.ack, k.seq);
	assert_none();
	/* Its FIN again (our ACK lost): an ACK, nothing else. */
	inject(&k, TCP_ACK | TCP_FIN, k.seq - 1, k.ack, k.wnd, NULL, 0);
	flush();
	expect(TCP_ACK, k.ack, k.seq);
	assert_int_equal(count_ev(c, TCP_EV_READABLE), 1);
	/* Still ours to write. */
	assert_int_equal(tcp_conn_write(c, "bye", 3), 3);
	assert_int_equal(tcp_conn_shutdown(c), 0);
	assert_int_equal(tcp_conn_shutdown(c), 0);
	assert_int_equal(tcp_conn_write(c, "x", 1), -EPIPE);
	flush();
	r = expect(TCP_ACK | TCP_PSH | TCP_FIN, k.ack, k.seq);
	assert_int_equal(r->seg.len, 3);
	assert_none();
	assert_state(c, "LAST-ACK");
	assert_int_equal(closed_err(c), -1);
	/* An ACK of the data only. */
	inject(&k, TCP_ACK, k.seq, k.ack + 3, k.wnd, NULL, 0);
	assert_state(c, "LAST-ACK");
	k.ack += 4;
	kack(&k);
	assert_state(c, "CLOSED");
	assert_int_equal(closed_err(c), 0);
	flush();
	assert_none();
	assert_int_equal(tcp_conn_read(c, b, sizeof(b)), 0);
	tcp_conn_release(c);
	assert_int_equal(n_conns(), 0);
}

/*
 * We close first: FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT; the owner hears
 * TCP_EV_CLOSED (done both ways) and may let go; the stack keeps
 * TIME-WAIT for TCP_TIME_WAIT_MS and then frees it.
 */
static void
test_close_active(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish(&k, 44001);
	uint64_t t;
	char b[8];

	assert_int_equal(tcp_conn_shutdown(c), 0);
	assert_state(c, "ESTABLISHED");
	flush();
	expect(TCP_ACK | TCP_FIN, k.ack, k.seq);
	assert_state(c, "FIN-WAIT-1");
	assert_int_equal(tcp_conn_write(c, "x", 1), -EPIPE);
	k.ack++;
	kack(&k);
	assert_state(c, "FIN-WAIT-2");
	flush();
	assert_none();
	ksend(&k, TCP_ACK | TCP_FIN, NULL, 0);
	assert_state(c, "TIME-WAIT");
	assert_int_equal(count_ev(c, TCP_EV_READABLE), 1);
	assert_int_equal(tcp_conn_read(c, b, sizeof(b)), 0);
	t = H.now;
	flush();
	expect(TCP_ACK, k.ack, k.seq);
	assert_none();
	assert_int_equal(stats().time_wait, 1);
	/* The FIN again: ACKed again, and TIME-WAIT restarts. */
	H.now = t + 500;
	inject(&k, TCP_ACK | TCP_FIN, k.seq - 1, k.ack, k.wnd, NULL, 0);
	flush();
	expect(TCP_ACK, k.ack, k.seq);
	t = H.now;
	timers_at(t + TCP_TIME_WAIT_MS - 1);
	assert_int_equal(n_conns(), 1);
	/* Done both ways: the owner has been told by now, at the latest. */
	timers_at(t + TCP_TIME_WAIT_MS);
	assert_int_equal(closed_err(c), 0);
	flush();
	assert_none();
	tcp_conn_release(c);
	assert_int_equal(n_conns(), 0);
	assert_int_equal(stats().time_wait, 0);
}

/* The owner lets go on TCP_EV_CLOSED: from inside the event. */
static void
hook_release_on_closed(struct tcp_conn *c, enum tcp_event ev, int err)
{
	if (ev == TCP_EV_CLOSED) {
		tcp_conn_release(c);
	}
}

/* Same, with an owner that releases when told: the FIN's ACK still goes, TIME-WAIT still holds. */
static void
test_close_active_release_on_closed(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish(&k, 44002);

	H.hook = hook_release_on_closed;
	assert_int_equal(tcp_conn_shutdown(c), 0);
	flush();
	expect(TCP_ACK | TCP_FIN, k.ack, k.seq);
	k.ack++;
	ksend(&k, TCP_ACK | TCP_FIN, NULL, 0);
	flush();
	expect(TCP_ACK, k.ack, k.seq);
	assert_none();
	assert_int_equal(stats().time_wait, 1);
	/* TIME-WAIT answers the FIN again while it lasts. */
	inject(&k, TCP_ACK | TCP_FIN, k.seq - 1, k.ack, k.wnd, NULL, 0);
	flush();
	expect(TCP_ACK, k.ack, k.seq);
	timers_at(H.now + TCP_TIME_WAIT_MS);
	assert_int_equal(n_conns(), 0);
	assert_int_equal(closed_err(c), 0);
	assert_int_equal(stats().time_wait, 0);
}

/* Both FINs cross: FIN-WAIT-1, CLOSING, TIME-WAIT (RFC 9293 3.6, figure 13). */
static void
test_close_simultaneous(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish(&k, 44003);

	H.hook = hook_release_on_closed;
	assert_int_equal(tcp_conn_shutdown(c), 0);
	flush();
	expect(TCP_ACK | TCP_FIN, k.ack, k.seq);
	assert_state(c, "FIN-WAIT-1");
	/* The kernel's FIN, sent before ours reached it: it does not acknowledge ours. */
	ksend(&k, TCP_ACK | TCP_FIN, NULL, 0);
	assert_state(c, "CLOSING");
	flush();
	expect(TCP_ACK, k.ack + 1, k.seq);
	assert_none();
	/* Our FIN again on the timer, then its ACK. */
	run_until(H.now + TCP_RTO_INIT_MS);
	expect(TCP_ACK | TCP_FIN, k.ack, k.seq);
	k.ack++;
	kack(&k);
	assert_int_equal(stats().time_wait, 1);
	flush();
	assert_none();
	run_until(H.now + TCP_TIME_WAIT_MS);
	assert_int_equal(n_conns(), 0);
	assert_int_equal(closed_err(c), 0);
}

/* Half-close both ways: data keeps flowing the other way until the other FIN. */
static void
test_close_half(void **state)
{
	static uint8_t data[50000], got[50000], b[50000];
	struct kp k;
	struct tcp_conn *c;
	size_t got_len = 0;

	fill(data, sizeof(data), 3);
	/* We shut down first, the kernel keeps sending. */
	c = establish(&k, 44004);
	H.hook = hook_release_on_closed;
	assert_int_equal(tcp_conn_shutdown(c), 0);
	flush();
	expect(TCP_ACK | TCP_FIN, k.ack, k.seq);
	k.ack++;
	kack(&k);
	assert_state(c, "FIN-WAIT-2");
	for (uint32_t off = 0; off < sizeof(data); off += 1000) {
		ksend(&k, TCP_ACK, data + off, 1000);
		if (off % 10000 == 9000) {
			flush();
			drain();
			assert_true(tcp_conn_read(c, b, sizeof(b)) > 0);
		}
	}
	flush();
	expect(TCP_ACK, k.ack, k.seq);
	ksend(&k, TCP_ACK | TCP_FIN, NULL, 0);
	assert_state(c, "TIME-WAIT");
	flush();
	expect(TCP_ACK, k.ack, k.seq);
	assert_none();

	/* The kernel shuts down first, we keep sending. */
	drain();
	drain_ev();
	H.hook = NULL;
	c = establish(&k, 44005);
	ksend(&k, TCP_ACK | TCP_FIN, NULL, 0);
	assert_state(c, "CLOSE-WAIT");
	flush();
	drain();
	for (size_t off = 0; off < sizeof(data);) {
		ssize_t n = tcp_conn_write(c, data + off, sizeof(data) - off);

		if (n > 0) {
			off += (size_t)n;
		}
		flush();
		krecv(&k, got, &got_len, sizeof(got));
		kack(&k);
		flush();
		krecv(&k, got, &got_len, sizeof(got));
	}
	assert_int_equal(got_len, sizeof(data));
	assert_memory_equal(got, data, sizeof(data));
	assert_int_equal(tcp_conn_shutdown(c), 0);
	flush();
	expect(TCP_ACK | TCP_FIN, k.ack, k.seq);
	assert_state(c, "LAST-ACK");
	k.ack++;
	kack(&k);
	assert_int_equal(closed_err(c), 0);
	tcp_conn_release(c);
}

/* Released with data unsent and no FIN yet: the stack sends it all, the FIN, and ends alone. */
static void
test_close_release_early(void **state)
{
	static uint8_t data[30000], got[30000];
	struct kp k;
	struct tcp_conn *c = establish(&k, 44006);
	size_t got_len = 0;

	fill(data, sizeof(data), 9);
	assert_int_equal(tcp_conn_write(c, data, sizeof(data)), sizeof(data));
	tcp_conn_release(c);
	drain_ev();
	flush();
	for (int i = 0; i < 10 && n_left() > 0; i++) {
		krecv(&k, got, &got_len, sizeof(got));
		kack(&k);
		flush();
	}
	assert_int_equal(got_len, sizeof(data));
	assert_memory_equal(got, data, sizeof(data));
	assert_int_equal(stats().time_wait, 0);
	/* Our FIN was received (k.ack counts it); the kernel's comes. */
	ksend(&k, TCP_ACK | TCP_FIN, NULL, 0);
	flush();
	expect(TCP_ACK, k.ack, k.seq);
	assert_int_equal(stats().time_wait, 1);
	timers_at(H.now + TCP_TIME_WAIT_MS);
	assert_int_equal(n_conns(), 0);
	assert_int_equal(H.n_ev, 0);
}

/* Released in FIN-WAIT-2, the application never closes: freed after TCP_FIN_WAIT2_MS. */
static void
test_close_fin_wait2_timeout(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish(&k, 44007);
	uint64_t t0;

	tcp_conn_release(c);
	flush();
	expect(TCP_ACK | TCP_FIN, k.ack, k.seq);
	k.ack++;
	kack(&k);
	t0 = H.now;
	run_until(t0 + TCP_FIN_WAIT2_MS - 1);
	assert_int_equal(n_conns(), 1);
	run_until(t0 + TCP_FIN_WAIT2_MS);
	assert_int_equal(n_conns(), 0);
	assert_int_equal(H.n_ev, 0);
	/* Then it is no connection: RST for what comes. */
	drain();
	kack(&k);
	expect(TCP_RST, k.ack, 0);
}

/*
 * New data after the owner let go: nobody will read it, a RST says so
 * (RFC 1122 4.2.2.13). A retransmission of what was already acknowledged
 * is no new data: an ACK answers it, as Linux does.
 */
static void
test_close_data_after_release(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish(&k, 44008);
	struct rec *r;

	ksend(&k, TCP_ACK, "abc", 3);
	flush();
	expect(TCP_ACK, k.ack, k.seq);
	tcp_conn_release(c);
	drain_ev();
	flush();
	expect(TCP_ACK | TCP_FIN, k.ack, k.seq);
	/* The kernel's ACK of "abc" was lost: it sends them again. */
	inject(&k, TCP_ACK, k.seq - 3, k.ack, k.wnd, "abc", 3);
	flush();
	r = pop();
	assert_int_equal(r->seg.flags, TCP_ACK);
	assert_int_equal(r->seg.ack, k.seq);
	assert_none();
	assert_int_equal(n_conns(), 1);
	/* New data: RST. */
	ksend(&k, TCP_ACK, "def", 3);
	r = pop();
	assert_true(r->seg.flags & TCP_RST);
	assert_int_equal(r->seg.seq, k.ack + 1);
	flush();
	assert_none();
	assert_int_equal(n_conns(), 0);
	assert_int_equal(H.n_ev, 0);
}

/* An exact RST after data: the pending ACK is not sent to a connection that is gone. */
static void
test_close_rst_cancels_ack(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish(&k, 44009);

	ksend(&k, TCP_ACK, "abc", 3);
	inject(&k, TCP_RST, k.seq, 0, 0, NULL, 0);
	assert_int_equal(closed_err(c), ECONNRESET);
	flush();
	assert_none();
	tcp_conn_release(c);
	assert_int_equal(n_conns(), 0);
}

/*
 * SKIPPED_BUG. The kernel shrinks its window to 0 under data in flight
 * (Linux does with net.ipv4.tcp_shrink_window=1). RFC 9293 3.8.6.2.1:
 * the sender must probe the zero window and SHOULD NOT time out for data
 * beyond the edge. The stack's RTO resets SND.NXT to SND.UNA, then
 * send_data() has no window and sends nothing, and the persist timer is
 * armed only when nothing is in flight: every RTO goes by silent, counts
 * a retry, and the connection is reset after TCP_DATA_RETRIES although
 * the kernel would answer any probe.
 */
static void
test_tx_window_shrunk(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish_opts(&k, 42008, 1, 1000, 0, 3000);
	uint8_t data[3000];

	fill(data, sizeof(data), 0);
	assert_int_equal(tcp_conn_write(c, data, sizeof(data)), sizeof(data));
	flush();
	drain();
	/* The first 1000 arrive, then the window closes on the other 2000. */
	k.ack += 1000;
	k.wnd = 0;
	kack(&k);
	flush();
	for (int i = 0; i < 3 * TCP_DATA_RETRIES; i++) {
		do {
			assert_true(tcp_stack_next_ms(H.s) != UINT64_MAX);
			timers_at(tcp_stack_next_ms(H.s));
			flush();
		} while (n_left() == 0);
		assert_false(pop()->seg.flags & TCP_RST);
		drain();
		kack(&k);
		assert_int_equal(closed_err(c), -1);
	}
}

/* Keep-alive. */

/*
 * Idle for TCP_KEEPALIVE_IDLE_MS: a probe (an old sequence number, as
 * Linux sends), then one per TCP_KEEPALIVE_INTVL_MS; TCP_KEEPALIVE_PROBES
 * unanswered and the connection is given up (RST, ETIMEDOUT).
 */
static void
test_ka_dead_peer(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish(&k, 43000);
	uint64_t t0 = H.now;

	timers_at(t0 + TCP_KEEPALIVE_IDLE_MS - 1);
	flush();
	assert_none();
	for (int i = 0; i < TCP_KEEPALIVE_PROBES; i++) {
		timers_at(t0 + TCP_KEEPALIVE_IDLE_MS + (uint64_t)i * TCP_KEEPALIVE_INTVL_MS);
		flush();
		expect(TCP_ACK, k.ack - 1, k.seq);
		assert_none();
	}
	assert_int_equal(closed_err(c), -1);
	timers_at(t0 + TCP_KEEPALIVE_IDLE_MS + TCP_KEEPALIVE_PROBES * TCP_KEEPALIVE_INTVL_MS);
	flush();
	expect(TCP_RST | TCP_ACK, k.ack, k.seq);
	assert_none();
	assert_int_equal(closed_err(c), ETIMEDOUT);
}

/* A peer that answers its probes keeps an idle connection open forever (RFC 9293 3.8.4). */
static void
test_ka_live_peer(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish(&k, 43001);

	for (int i = 0; i < 10 * TCP_KEEPALIVE_PROBES; i++) {
		do {
			timers_at(tcp_stack_next_ms(H.s));
			flush();
		} while (n_left() == 0);
		expect(TCP_ACK, k.ack - 1, k.seq);
		assert_none();
		/* Linux answers an old sequence number with an ACK. */
		kack(&k);
		flush();
		assert_none();
		if (closed_err(c) != -1) {
			fail_msg("reset after %d answered keep-alive probes", i + 1);
		}
	}
	assert_state(c, "ESTABLISHED");
}

/* Traffic postpones the first probe. */
static void
test_ka_traffic(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish(&k, 43002);
	uint64_t t0 = H.now;

	H.now = t0 + TCP_KEEPALIVE_IDLE_MS - 5000;
	ksend(&k, TCP_ACK, "z", 1);
	flush();
	drain();
	timers_at(t0 + TCP_KEEPALIVE_IDLE_MS);
	flush();
	assert_none();
	timers_at(t0 + 2 * TCP_KEEPALIVE_IDLE_MS - 5000);
	flush();
	expect(TCP_ACK, k.ack - 1, k.seq);
	assert_int_equal(closed_err(c), -1);
}

/* RST and SYN checks (RFC 5961). */

static const char *const sync_states[] = {
	"SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2",
	"CLOSE-WAIT",   "CLOSING",     "LAST-ACK",   "TIME-WAIT",
};

/* Drives a new connection into state; k->seq is then the stack's RCV.NXT. */
static struct tcp_conn *
reach(struct kp *k, uint16_t sport, const char *state)
{
	struct tcp_conn *c;

	if (strcmp(state, "SYN-RECEIVED") == 0) {
		drain();
		memset(k, 0, sizeof(*k));
		k->sport = sport;
		k->dport = 443;
		k->irs = 0x20000000u + sport;
		k->wnd = 64240;
		ksyn(k, peer_mss(), 7);
		c = k->c = H.last_syn;
		flush();
		k->iss = pop()->seg.seq;
		k->ack = k->iss + 1;
		k->wnd = 512;
		return c;
	}
	c = establish(k, sport);
	if (strcmp(state, "ESTABLISHED") == 0) {
		return c;
	}
	if (strcmp(state, "CLOSE-WAIT") == 0 || strcmp(state, "LAST-ACK") == 0) {
		ksend(k, TCP_ACK | TCP_FIN, NULL, 0);
		if (strcmp(state, "LAST-ACK") == 0) {
			assert_int_equal(tcp_conn_shutdown(c), 0);
		}
	} else {
		assert_int_equal(tcp_conn_shutdown(c), 0);
		flush();
		if (strcmp(state, "CLOSING") == 0) {
			ksend(k, TCP_ACK | TCP_FIN, NULL, 0);
		} else if (strcmp(state, "FIN-WAIT-2") == 0 || strcmp(state, "TIME-WAIT") == 0) {
			k->ack++;
			kack(k);
			if (strcmp(state, "TIME-WAIT") == 0) {
				ksend(k, TCP_ACK | TCP_FIN, NULL, 0);
			}
		}
	}
	flush();
	drain();
	assert_state(c, state);
	return c;
}

/*
 * In every synchronized state: an exact RST resets (TCP_EV_CLOSED
 * ECONNRESET), an in-window one gets a challenge ACK and changes nothing,
 * an out-of-window one is dropped silently (RFC 5961 3.2).
 */
static void
test_rst_states(void **state)
{
	uint16_t sport = 45000;

	for (size_t i = 0; i < NELEM(sync_states); i++) {
		const char *st = sync_states[i];
		bool tw = strcmp(st, "TIME-WAIT") == 0;
		bool fin_in = strcmp(st, "CLOSE-WAIT") == 0 || strcmp(st, "CLOSING") == 0 ||
			      strcmp(st, "LAST-ACK") == 0 || tw;
		struct tcp_conn *c;
		struct kp k;
		char b[4];
		struct rec *r;

		/* Out of window, on either side. */
		drain_ev();
		c = reach(&k, sport++, st);
		inject(&k, TCP_RST, k.seq - 1, 0, 0, NULL, 0);
		inject(&k, TCP_RST, k.seq + (1u << 30), 0, 0, NULL, 0);
		inject(&k, TCP_RST | TCP_ACK, k.seq + 0x80000000u, k.ack, 0, NULL, 0);
		flush();
		assert_none();
		assert_state(c, st);
		assert_int_equal(closed_err(c), tw ? 0 : -1);

		/* In the window, not exact: a challenge ACK, at once. */
		inject(&k, TCP_RST, k.seq + 1, 0, 0, NULL, 0);
		r = pop();
		assert_int_equal(r->seg.flags, TCP_ACK);
		assert_int_equal(r->seg.ack, k.seq);
		flush();
		assert_none();
		assert_state(c, st);
		assert_int_equal(closed_err(c), tw ? 0 : -1);

		/* Exact. */
		inject(&k, TCP_RST, k.seq, 0, 0, NULL, 0);
		flush();
		assert_none();
		if (tw) {
			assert_int_equal(closed_err(c), 0);
			tcp_conn_release(c);
			assert_int_equal(n_conns(), 0);
			continue;
		}
		assert_int_equal(closed_err(c), ECONNRESET);
		assert_state(c, "CLOSED");
		assert_int_equal(tcp_conn_read(c, b, sizeof(b)), fin_in ? 0 : -ECONNRESET);
		assert_true(tcp_conn_write(c, "x", 1) < 0);
		assert_int_equal(tcp_conn_shutdown(c), -EPIPE);
		/* Anything more for it: a RST, nothing else. */
		kack(&k);
		r = pop();
		assert_true(r->seg.flags & TCP_RST);
		tcp_conn_release(c);
		assert_int_equal(n_conns(), 0);
		drain();
		drain_ev();
	}
}

/* A SYN in a synchronized state, in the window or not: a challenge ACK (RFC 5961 4.2). */
static void
test_syn_in_sync(void **state)
{
	static const char *const sts[] = { "ESTABLISHED", "FIN-WAIT-2", "CLOSE-WAIT" };
	uint16_t sport = 45100;

	for (size_t i = 0; i < NELEM(sts); i++) {
		struct kp k;
		struct tcp_conn *c = reach(&k, sport++, sts[i]);
		uint32_t seqs[] = { k.seq, k.seq + 100, k.irs, k.seq + (1u << 30) };

		for (size_t j = 0; j < NELEM(seqs); j++) {
			struct rec *r;

			inject_from(&H.app, &H.rem, k.sport, k.dport, TCP_SYN, seqs[j], 0, 64240,
				    NULL, 0, peer_mss(), 7);
			r = pop();
			assert_int_equal(r->seg.flags, TCP_ACK);
			assert_int_equal(r->seg.ack, k.seq);
			flush();
			assert_none();
			assert_state(c, sts[i]);
		}
		assert_int_equal(H.n_syn, i + 1);
	}
}

/* Challenge ACKs share a budget per second (RFC 5961 7). */
static void
test_challenge_budget(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish(&k, 45200);
	size_t n;

	for (int i = 0; i < 3000; i++) {
		inject(&k, TCP_RST, k.seq + 1 + (uint32_t)i, 0, 0, NULL, 0);
	}
	n = n_left();
	assert_true(n >= 100);
	assert_true(n < 3000);
	assert_int_equal(stats().challenge_acks, n);
	drain();
	H.now += 1000;
	inject(&k, TCP_RST, k.seq + 1, 0, 0, NULL, 0);
	expect(TCP_ACK, k.ack, k.seq);
	assert_state(c, "ESTABLISHED");
}

/* An ACK of what was never sent: an ACK back, the segment dropped (RFC 9293 3.10.7.4). */
static void
test_ack_unsent(void **state)
{
	struct kp k;
	struct tcp_conn *c = establish(&k, 45300);

	inject(&k, TCP_ACK | TCP_PSH, k.seq, k.ack + 100, k.wnd, "xyz", 3);
	expect(TCP_ACK, k.ack, k.seq);
	flush();
	assert_none();
	assert_int_equal(tcp_conn_readable(c), 0);
	assert_int_equal(count_ev(c, TCP_EV_READABLE), 0);
	/* And an ACK too old (before SND.UNA - MAX.SND.WND): challenged, dropped (RFC 5961 5.2). */
	inject(&k, TCP_ACK | TCP_PSH, k.seq, k.ack - 0x40000000u, k.wnd, "xyz", 3);
	expect(TCP_ACK, k.ack, k.seq);
	assert_int_equal(tcp_conn_readable(c), 0);
}

/* No connection: RST as RFC 9293 3.10.7.1 says, never one for a RST. */
static void
test_no_conn(void **state)
{
	static const struct {
		uint8_t flags;
		size_t len;
		uint8_t want;
		uint32_t ack_plus;
	} cases[] = {
		{ TCP_ACK, 0, TCP_RST, 0 },
		{ TCP_ACK | TCP_PSH, 5, TCP_RST, 0 },
		{ TCP_SYN | TCP_ACK, 0, TCP_RST, 0 },
		{ TCP_ACK | TCP_FIN, 0, TCP_RST, 0 },
		{ TCP_PSH, 5, TCP_RST | TCP_ACK, 5 },
		{ TCP_FIN, 0, TCP_RST | TCP_ACK, 1 },
		{ TCP_SYN | TCP_FIN, 0, TCP_RST | TCP_ACK, 2 },
		{ 0, 0, TCP_RST | TCP_ACK, 0 },
		{ TCP_RST, 0, 0, 0 },
		{ TCP_RST | TCP_ACK, 0, 0, 0 },
	};
	struct kp k = { .sport = 45400, .dport = 443 };

	for (size_t i = 0; i < NELEM(cases); i++) {
		uint32_t seq = 0xfffffffdu, ack = 12345;
		struct rec *r;

		inject(&k, cases[i].flags, seq, ack, 1000, "hello", cases[i].len);
		if (cases[i].want == 0) {
			assert_none();
			continue;
		}
		r = pop();
		assert_int_equal(r->seg.flags, cases[i].want);
		assert_int_equal(r->seg.sport, 443);
		assert_int_equal(r->seg.dport, 45400);
		assert_int_equal(r->seg.len, 0);
		if (cases[i].want & TCP_ACK) {
			assert_int_equal(r->seg.seq, 0);
			assert_int_equal(r->seg.ack, seq + cases[i].ack_plus);
		} else {
			assert_int_equal(r->seg.seq, ack);
		}
		assert_none();
	}
	assert_int_equal(n_conns(), 0);
	assert_int_equal(H.n_syn, 0);
	assert_true(stats().drop_no_conn >= 8);
}

/* max_conns: new SYNs beyond it get RST|ACK, and are not offered to the owner. */
static void
test_max_conns(void **state)
{
	struct kp k[3];

	H.cfg.max_conns = 2;
	restack();
	establish(&k[0], 45500);
	establish(&k[1], 45501);
	memset(&k[2], 0, sizeof(k[2]));
	k[2].sport = 45502;
	k[2].dport = 443;
	k[2].irs = 99;
	k[2].wnd = 64240;
	ksyn(&k[2], peer_mss(), 7);
	expect(TCP_RST | TCP_ACK, 0, 100);
	assert_int_equal(H.n_syn, 2);
	assert_int_equal(stats().drop_full, 1);
	tcp_conn_abort(k[0].c);
	drain();
	ksyn(&k[2], peer_mss(), 7);
	assert_int_equal(H.n_syn, 3);
	flush();
	assert_int_equal(pop()->seg.flags, TCP_SYN | TCP_ACK);
}

/*
 * A new SYN on the ports of a connection in TIME-WAIT, with a higher
 * sequence number, starts a new connection (RFC 9293 3.10.7.4, RFC 6191's
 * rule without timestamps); an old one gets an ACK. Also at max_conns:
 * the old connection yields its place.
 */
static void
test_time_wait_reuse(void **state)
{
	static const size_t maxes[] = { 64, 1 };

	for (size_t i = 0; i < NELEM(maxes); i++) {
		struct kp k;
		struct tcp_conn *c, *c2;
		struct rec *r;

		H.cfg.max_conns = maxes[i];
		restack();
		H.n_syn = 0;
		c = reach(&k, 45600, "TIME-WAIT");
		assert_int_equal(closed_err(c), 0);
		if (i == 1) {
			tcp_conn_release(c);
		}
		/* Old: the SYN of the connection just ended, again. */
		inject_from(&H.app, &H.rem, k.sport, k.dport, TCP_SYN, k.irs, 0, 64240, NULL, 0,
			    peer_mss(), 7);
		expect(TCP_ACK, k.ack, k.seq);
		assert_int_equal(H.n_syn, 1);
		/* New. */
		k.irs = k.seq + 100000;
		ksyn(&k, peer_mss(), 7);
		assert_int_equal(H.n_syn, 2);
		c2 = H.last_syn;
		assert_ptr_not_equal(c2, c);
		flush();
		r = pop();
		assert_int_equal(r->seg.flags, TCP_SYN | TCP_ACK);
		assert_int_equal(r->seg.ack, k.irs + 1);
		k.iss = r->seg.seq;
		k.ack = k.iss + 1;
		kack(&k);
		assert_state(c2, "ESTABLISHED");
		if (i == 0) {
			/* The old one, still owned, waits for its owner, out of the way. */
			assert_state(c, "CLOSED");
			tcp_conn_release(c);
		}
		assert_int_equal(n_conns(), 1);
		ksend(&k, TCP_ACK, "new", 3);
		assert_int_equal(tcp_conn_readable(c2), 3);
	}
}

/* Sequence numbers across 2^32. */

/* The kernel's ISN just below the wrap: its data and FIN cross it. */
static void
test_wrap_rx(void **state)
{
	static uint8_t data[100000], b[100000];
	struct kp k;
	struct tcp_conn *c = establish_opts(&k, 46000, 0xffffffffu - 30000, peer_mss(), 7, 512);
	size_t got = 0;

	fill(data, sizeof(data), 1);
	for (uint32_t off = 0; off < sizeof(data); off += 1000) {
		ksend(&k, TCP_ACK, data + off, 1000);
		flush();
		expect(TCP_ACK, k.ack, k.seq);
		if (off % 50000 == 25000) {
			/*
			 * An old segment, and one out of order, right at the wrap
			 * too: the one out of order is kept, and the next segment
			 * in order is acknowledged with it.
			 */
			inject(&k, TCP_ACK, k.seq - 2000, k.ack, k.wnd, data + off - 1000, 1000);
			expect(TCP_ACK, k.ack, k.seq);
			inject(&k, TCP_ACK, k.seq + 1000, k.ack, k.wnd, data + off + 2000, 1000);
			expect(TCP_ACK, k.ack, k.seq);
			got += (size_t)tcp_conn_read(c, b + got, sizeof(b) - got);
			ksend(&k, TCP_ACK, data + off + 1000, 1000);
			flush();
			expect(TCP_ACK, k.ack, k.seq + 1000);
			k.seq += 1000;
			off += 2000;
		}
		got += (size_t)tcp_conn_read(c, b + got, sizeof(b) - got);
	}
	assert_true(tcp_seq_gt(k.seq, k.irs));
	assert_true(k.seq < k.irs);
	assert_int_equal(got, sizeof(data));
	assert_memory_equal(b, data, sizeof(data));
	ksend(&k, TCP_ACK | TCP_FIN, NULL, 0);
	assert_state(c, "CLOSE-WAIT");
	inject(&k, TCP_RST, k.seq + 1, 0, 0, NULL, 0);
	flush();
	expect(TCP_ACK, k.ack, k.seq);
	inject(&k, TCP_RST, k.seq, 0, 0, NULL, 0);
	assert_int_equal(closed_err(c), ECONNRESET);
}

/* The stack's ISN (from cfg.seed) just below the wrap: our data crosses it, with losses. */
static void
test_wrap_tx(void **state)
{
	static uint8_t data[1200000], got[1200000];
	struct kp k;
	struct tcp_conn *c = NULL;
	size_t off = 0, got_len = 0;
	int tries;

	fill(data, sizeof(data), 5);
	/* Cheap: SYNs until the ISN lands in the last MiB before 2^32. */
	for (tries = 0; tries < 200000; tries++) {
		c = establish_opts(&k, 46001, 0xfffffff0u, peer_mss(), 7, 512);
		if (k.iss >= 0xffffffffu - (1u << 20) + 1) {
			break;
		}
		tcp_conn_abort(c);
		drain();
		drain_ev();
	}
	assert_true(k.iss >= 0xffffffffu - (1u << 20) + 1);
	drain();
	for (int rounds = 0; got_len < sizeof(data); rounds++) {
		assert_true(rounds < 100000);
		if (off < sizeof(data)) {
			ssize_t n = tcp_conn_write(c, data + off, sizeof(data) - off);

			if (n > 0) {
				off += (size_t)n;
			}
		}
		flush();
		if (n_left() == 0) {
			/* Nothing to send: the retransmission timer's turn. */
			timers_at(tcp_stack_next_ms(H.s));
			flush();
		}
		/* Every 7th flight loses its first segment: fast retransmit repairs it. */
		if (n_left() > 4 && (got_len / 65536) % 7 == 3) {
			uint32_t hole = k.ack;

			H.rd_out++;
			while (n_left() > 0) {
				pop();
			}
			for (int d = 0; d < 3; d++) {
				kack(&k);
			}
			krecv(&k, got, &got_len, sizeof(got));
			assert_true(tcp_seq_geq(k.ack, hole));
			drain();
			continue;
		}
		krecv(&k, got, &got_len, sizeof(got));
		drain();
		kack(&k);
	}
	assert_memory_equal(got, data, sizeof(data));
	assert_true(k.ack < k.iss);
	assert_true(stats().fast_retransmits > 0);
	tcp_conn_shutdown(c);
	flush();
	expect(TCP_ACK | TCP_FIN, k.ack, k.seq);
	k.ack++;
	kack(&k);
	assert_state(c, "FIN-WAIT-2");
}

/* Re-entrancy: the owner calls back into the stack from inside events (run under ASan). */

static struct tcp_conn *victim;

static void
hook_abort_on_readable(struct tcp_conn *c, enum tcp_event ev, int err)
{
	if (ev == TCP_EV_READABLE) {
		tcp_conn_abort(c);
	}
}

static void
hook_release_on_readable(struct tcp_conn *c, enum tcp_event ev, int err)
{
	if (ev == TCP_EV_READABLE) {
		tcp_conn_release(c);
	}
}

/* An echo server: reads and writes back from inside TCP_EV_READABLE. */
static void
hook_echo(struct tcp_conn *c, enum tcp_event ev, int err)
{
	char b[4096];
	ssize_t n;

	if (ev != TCP_EV_READABLE && ev != TCP_EV_WRITABLE) {
		return;
	}
	while ((n = tcp_conn_read(c, b, sizeof(b))) > 0) {
		assert_int_equal(tcp_conn_write(c, b, (size_t)n), n);
	}
	if (n == 0) {
		tcp_conn_shutdown(c);
	}
}

static void
hook_abort_victim(struct tcp_conn *c, enum tcp_event ev, int err)
{
	if (victim && c != victim) {
		tcp_conn_abort(victim);
		victim = NULL;
	}
}

static void
hook_abort_on_closed(struct tcp_conn *c, enum tcp_event ev, int err)
{
	if (ev == TCP_EV_CLOSED) {
		tcp_conn_abort(c);
	}
}

static void
test_reentry(void **state)
{
	struct kp k, k2;
	struct tcp_conn *c;
	struct rec *r;

	/* Abort from READABLE, with more segments for it in the same batch. */
	c = establish(&k, 47000);
	H.hook = hook_abort_on_readable;
	ksend(&k, TCP_ACK, "abc", 3);
	expect(TCP_RST | TCP_ACK, k.ack, k.seq);
	ksend(&k, TCP_ACK, "def", 3);
	expect(TCP_RST, k.ack, 0);
	flush();
	assert_none();
	assert_int_equal(n_conns(), 0);

	/* Release from READABLE: the ACK and our FIN go at the flush. */
	H.hook = hook_release_on_readable;
	c = establish(&k, 47001);
	ksend(&k, TCP_ACK | TCP_FIN, "abc", 3);
	flush();
	expect(TCP_ACK | TCP_FIN, k.ack, k.seq);
	assert_none();
	k.ack++;
	kack(&k);
	assert_int_equal(n_conns(), 0);

	/* The echo server: data comes back on the ACK of the request. */
	H.hook = hook_echo;
	c = establish(&k, 47002);
	ksend(&k, TCP_ACK | TCP_PSH, "ping", 4);
	flush();
	r = expect(TCP_ACK | TCP_PSH, k.ack, k.seq);
	assert_int_equal(r->seg.len, 4);
	assert_memory_equal(r->seg.data, "ping", 4);
	k.ack += 4;
	ksend(&k, TCP_ACK | TCP_FIN, NULL, 0);
	flush();
	expect(TCP_ACK | TCP_FIN, k.ack, k.seq);
	k.ack++;
	kack(&k);
	assert_int_equal(closed_err(c), 0);
	tcp_conn_release(c);

	/* One connection's event aborts another that has output pending. */
	H.hook = NULL;
	c = establish(&k, 47003);
	victim = establish(&k2, 47004);
	assert_int_equal(tcp_conn_write(victim, "pending", 7), 7);
	ksend(&k2, TCP_ACK, "x", 1);
	H.hook = hook_abort_victim;
	ksend(&k, TCP_ACK, "y", 1);
	assert_null(victim);
	drain();
	flush();
	expect(TCP_ACK, k.ack, k.seq);
	assert_none();
	tcp_conn_abort(c);
	assert_int_equal(n_conns(), 0);

	/* Abort from TCP_EV_CLOSED, after a RST and after a timeout. */
	H.hook = hook_abort_on_closed;
	c = establish(&k, 47005);
	inject(&k, TCP_RST, k.seq, 0, 0, NULL, 0);
	assert_int_equal(n_conns(), 0);
	c = establish(&k, 47006);
	assert_int_equal(tcp_conn_write(c, "lost", 4), 4);
	run_until(H.now + 600000);
	assert_int_equal(n_conns(), 0);
	/* Release from TCP_EV_CLOSED after LAST-ACK, and from TIME-WAIT's. */
	H.hook = hook_release_on_closed;
	c = reach(&k, 47007, "LAST-ACK");
	k.ack++;
	kack(&k);
	assert_int_equal(n_conns(), 0);
	c = reach(&k, 47008, "TIME-WAIT");
	/* And abort in TIME-WAIT's CLOSED: the FIN's ACK still goes. */
	H.hook = hook_abort_on_closed;
	c = reach(&k, 47009, "FIN-WAIT-2");
	ksend(&k, TCP_ACK | TCP_FIN, NULL, 0);
	flush();
	expect(TCP_ACK, k.ack, k.seq);
	run_until(H.now + TCP_TIME_WAIT_MS);
	assert_int_equal(n_conns(), 0);

	/* The SYN callback aborting or releasing what it was given. */
	H.hook = NULL;
	H.pol = POL_ABORT;
	inject_from(&H.app, &H.rem, 47010, 443, TCP_SYN, 5, 0, 64240, NULL, 0, 1460, 7);
	expect(TCP_RST | TCP_ACK, 0, 6);
	H.pol = POL_RELEASE;
	inject_from(&H.app, &H.rem, 47011, 443, TCP_SYN, 5, 0, 64240, NULL, 0, 1460, 7);
	flush();
	assert_none();
	assert_int_equal(n_conns(), 0);
	/* A deferred accept done from another connection's event. */
	H.pol = POL_LATER;
	inject_from(&H.app, &H.rem, 47012, 443, TCP_SYN, 5, 0, 64240, NULL, 0, 1460, 7);
	victim = H.last_syn;
	H.pol = POL_ACCEPT;
	c = establish(&k, 47013);
	tcp_conn_accept(victim, H.now);
	flush();
	assert_int_equal(pop()->seg.flags, TCP_SYN | TCP_ACK);
}

/* Memory: idle established connections cost their struct, no buffers. */
static void
test_memory_idle(void **state)
{
	enum { N = 1000 };
	static struct kp ks[N];
	struct mallinfo2 m0, m1;
	size_t per;

	H.cfg.max_conns = 1024;
	restack();
	m0 = mallinfo2();
	for (int i = 0; i < N; i++) {
		establish(&ks[i], (uint16_t)(10000 + i));
		/* Some traffic, all read and acknowledged: buffers drain and are freed. */
		ksend(&ks[i], TCP_ACK, "hello", 5);
		assert_int_equal(tcp_conn_write(ks[i].c, "world", 5), 5);
		flush();
		krecv(&ks[i], NULL, NULL, 0);
		kack(&ks[i]);
		{
			char b[8];

			assert_int_equal(tcp_conn_read(ks[i].c, b, sizeof(b)), 5);
		}
		flush();
		drain();
		drain_ev();
	}
	m1 = mallinfo2();
	assert_int_equal(n_conns(), N);
	per = (m1.uordblks - m0.uordblks) / N;
	print_message("idle established connection: %zu bytes of heap each\n", per);
	assert_true(per <= 512);
	tcp_stack_free(H.s);
	H.s = NULL;
	m1 = mallinfo2();
	assert_true(m1.uordblks <= m0.uordblks);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define T4(f) cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, &fam4)
#define T6(f) cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, &fam6)
#define BOTH(f) T4(f), T6(f)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_hs_options),
		BOTH(test_hs_mss_mtu),
		BOTH(test_hs_no_options),
		BOTH(test_hs_deferred),
		BOTH(test_hs_refuse),
		BOTH(test_hs_drop),
		T(test_hs_syn_wait),
		BOTH(test_hs_synack_rexmit),
		BOTH(test_hs_bad_ack),
		T(test_hs_ack_with_data),
		BOTH(test_rx_in_order),
		BOTH(test_rx_window_fill),
		T(test_rx_window_scaled_edge),
		T(test_rx_past_window),
		BOTH(test_rx_out_of_order),
		BOTH(test_rx_sack),
		T(test_rx_old_retransmit),
		BOTH(test_tx_mss_window),
		BOTH(test_tx_rto),
		T(test_tx_rto_partial),
		BOTH(test_tx_fast_retransmit),
		T(test_tx_not_dupacks),
		BOTH(test_tx_zero_window),
		T(test_tx_zero_window_dead),
		T(test_tx_writable),
		T(test_tx_window_shrunk),
		BOTH(test_close_passive),
		BOTH(test_close_active),
		T(test_close_active_release_on_closed),
		BOTH(test_close_simultaneous),
		BOTH(test_close_half),
		T(test_close_release_early),
		T(test_close_fin_wait2_timeout),
		T(test_close_data_after_release),
		T(test_close_rst_cancels_ack),
		BOTH(test_rst_states),
		BOTH(test_syn_in_sync),
		T(test_challenge_budget),
		BOTH(test_ack_unsent),
		BOTH(test_no_conn),
		T(test_max_conns),
		BOTH(test_time_wait_reuse),
		BOTH(test_wrap_rx),
		BOTH(test_wrap_tx),
		BOTH(test_reentry),
		BOTH(test_memory_idle),
		BOTH(test_ka_dead_peer),
		BOTH(test_ka_live_peer),
		T(test_ka_traffic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

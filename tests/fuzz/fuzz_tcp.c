/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the userspace TCP stack (tund/tcp.c), driven by a
 * byte program. The first bytes set the stack up (receive and send buffer
 * sizes, seed, the owner's habits); then each op byte picks one of: a
 * well-behaved segment from the fuzzer's model of the kernel's socket, a
 * segment with fuzzed flags, sequence, acknowledgment, window, length and
 * options relative to that model, a SYN, a rewind of the model to what
 * the stack last acknowledged, an owner action (accept, refuse, drop,
 * read, write, shutdown, abort, release, the SYN policy), a flush, time
 * advancing with the timers, or a jump to the next deadline.
 *
 * Three 4-tuples (two IPv4, one IPv6). Payload bytes are a function of
 * their absolute sequence number (the kernel's) or of their offset in
 * what the owner wrote, so the checks need no copies:
 *  - every output parses (ip_parse, tcp_wire_parse), sums right (checked
 *    by hand: the fuzzing define skips it in ip.c), fits the MTU and goes
 *    to one of the three applications;
 *  - data the stack sends is exactly what the owner wrote, at the right
 *    offset, never past what was written;
 *  - data the owner reads is exactly the in-order bytes the fuzzer sent,
 *    and never more than it sent;
 *  - the connection count never exceeds max_conns; no event after
 *    TCP_EV_CLOSED; no crash or leak (ASan, UBSan), the stack freed at the
 *    end with whatever is left.
 * The owner never touches a connection after releasing or aborting it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../tund/ip.h"
#include "../../tund/tcp.h"
#include "../../tund/tcp_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_TUPLES 3
#define MAX_CONNS 2

static void
check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_tcp: invariant broken: %s\n", what);
		abort();
	}
}

/* The fuzzer's view of one 4-tuple: the kernel's socket and the owner. */
struct model {
	struct addr app, rem;
	uint16_t sport, dport;
	/* The kernel. */
	uint32_t seq;           /* its SND.NXT */
	uint32_t ack;           /* its RCV.NXT: the stack's data received in order */
	bool have_iss;
	uint32_t iss;           /* the stack's, from its SYN-ACK */
	uint32_t last_ack;      /* the stack's ACK field, last seen */
	uint64_t sent;          /* payload bytes sent to the current connection */
	/* The owner. */
	struct tcp_conn *c;     /* NULL: none, or let go */
	bool closed;            /* TCP_EV_CLOSED came */
	uint32_t base;          /* the stack's IRS + 1: the first byte's sequence number */
	uint64_t rd;            /* bytes read */
	uint64_t wr;            /* bytes written */
};

enum pol {
	POL_ACCEPT,
	POL_LATER,
	POL_REFUSE,
	POL_DROP,
	POL_DECLINE,
	POL_COUNT,
};

static struct {
	struct tcp_stack *s;
	struct tcp_cfg cfg;
	struct model m[N_TUPLES];
	uint64_t now;
	enum pol pol;
	bool auto_read, auto_release, auto_write;
	const uint8_t *p;
	size_t left;
} F;

static uint8_t
kbyte(uint32_t seq, size_t tuple)
{
	return (uint8_t)(((seq * 0x9e3779b1u) >> 24) ^ tuple);
}

static uint8_t
obyte(uint64_t off, size_t tuple)
{
	return (uint8_t)((off * 131 + (off >> 9)) ^ (tuple << 4));
}

static uint8_t
get8(void)
{
	if (F.left == 0) {
		return 0;
	}
	F.left--;
	return *F.p++;
}

static uint16_t
get16(void)
{
	uint16_t v = get8();

	return (uint16_t)(v << 8 | get8());
}

static uint32_t
get32(void)
{
	uint32_t v = get16();

	return v << 16 | get16();
}

static struct model *
model_for(const struct addr *app, uint16_t sport)
{
	for (size_t i = 0; i < N_TUPLES; i++) {
		if (F.m[i].sport == sport && addr_eq(&F.m[i].app, app)) {
			return &F.m[i];
		}
	}
	return NULL;
}

/* Owner: reads what is there and checks every byte. */
static void
owner_read(struct model *m, size_t max)
{
	uint8_t b[4096];
	size_t idx = (size_t)(m - F.m);

	while (m->c && max > 0) {
		ssize_t n = tcp_conn_read(m->c, b, max < sizeof(b) ? max : sizeof(b));

		if (n <= 0) {
			check(n == 0 || n == -EAGAIN || n == -ECONNRESET || n == -ETIMEDOUT,
			      "read result");
			return;
		}
		for (ssize_t i = 0; i < n; i++) {
			check(b[i] == kbyte(m->base + (uint32_t)(m->rd + (uint64_t)i), idx),
			      "a byte read is not the byte sent");
		}
		m->rd += (uint64_t)n;
		check(m->rd <= m->sent, "more bytes read than were sent");
		max -= (size_t)n;
	}
}

static void
owner_write(struct model *m, size_t len)
{
	uint8_t b[8192];
	size_t idx = (size_t)(m - F.m);
	ssize_t n;

	if (!m->c) {
		return;
	}
	if (len > sizeof(b)) {
		len = sizeof(b);
	}
	for (size_t i = 0; i < len; i++) {
		b[i] = obyte(m->wr + i, idx);
	}
	n = tcp_conn_write(m->c, b, len);
	if (n > 0) {
		check((size_t)n <= len, "wrote more than asked");
		m->wr += (uint64_t)n;
	} else {
		check(n == 0 || n == -EAGAIN || n == -EPIPE || n == -ECONNRESET ||
		      n == -ETIMEDOUT, "write result");
	}
}

static void
let_go(struct model *m, bool abort_it)
{
	if (!m->c) {
		return;
	}
	if (abort_it) {
		tcp_conn_abort(m->c);
	} else {
		tcp_conn_release(m->c);
	}
	m->c = NULL;
}

/* The SYN accepted: the stack's IRS is final now. */
static void
note_base(struct model *m)
{
	uint8_t b[128];
	size_t n = tcp_conn_syn_packet(m->c, b, sizeof(b));
	struct ip_pkt pkt;
	struct tcp_seg seg;

	check(n > 0, "syn packet");
	check(ip_parse(b, n, &pkt) == IP_OK, "syn packet parses");
	check(tcp_wire_parse(&pkt, &seg) == TCP_WIRE_OK, "syn packet's TCP");
	check(seg.flags == TCP_SYN, "syn packet's flags");
	m->base = seg.seq + 1;
}

/* Callbacks. */

static bool
cb_syn(void *arg, struct tcp_conn *c, const struct tcp_tuple *t)
{
	struct model *m = model_for(&t->src, t->sport);

	check(m != NULL, "a SYN from nowhere");
	/* An old connection still held (CLOSED after its TIME-WAIT gave way): let it go. */
	let_go(m, false);
	m->c = c;
	m->closed = false;
	m->rd = m->wr = m->sent = 0;
	m->have_iss = false;
	switch (F.pol) {
	case POL_ACCEPT:
		tcp_conn_accept(c, F.now);
		note_base(m);
		return true;
	case POL_LATER:
		return true;
	case POL_REFUSE:
		tcp_conn_refuse(c);
		m->c = NULL;
		return true;
	case POL_DROP:
		tcp_conn_drop(c);
		m->c = NULL;
		return true;
	case POL_DECLINE:
	default:
		m->c = NULL;
		return false;
	}
}

static void
cb_event(void *arg, struct tcp_conn *c, enum tcp_event ev, int err)
{
	struct model *m = NULL;

	for (size_t i = 0; i < N_TUPLES; i++) {
		if (F.m[i].c == c) {
			m = &F.m[i];
		}
	}
	check(m != NULL, "an event for a connection nobody holds");
	check(!m->closed, "an event after TCP_EV_CLOSED");
	switch (ev) {
	case TCP_EV_READABLE:
		check(err == 0, "READABLE with an error");
		if (F.auto_read) {
			owner_read(m, SIZE_MAX);
		}
		break;
	case TCP_EV_WRITABLE:
		check(err == 0, "WRITABLE with an error");
		if (F.auto_write) {
			owner_write(m, 3000);
		}
		break;
	case TCP_EV_CLOSED:
		check(err == 0 || err == ECONNRESET || err == ETIMEDOUT, "CLOSED's error");
		m->closed = true;
		if (F.auto_release) {
			let_go(m, false);
		}
		break;
	default:
		check(false, "an unknown event");
	}
}

static void
cb_output(void *arg, const uint8_t *hdr, size_t hdr_len, const uint8_t *data, size_t len)
{
	static uint8_t b[65536 + 128];
	struct ip_pkt pkt;
	struct tcp_seg seg;
	struct model *m;
	size_t idx;
	uint32_t sum;

	check(hdr_len + len <= F.cfg.mtu, "a packet over the MTU");
	memcpy(b, hdr, hdr_len);
	if (len > 0) {
		memcpy(b + hdr_len, data, len);
	}
	check(ip_parse(b, hdr_len + len, &pkt) == IP_OK, "output does not parse");
	check(pkt.proto == IP_PROTO_TCP, "output not TCP");
	check(pkt.pkt_len == hdr_len + len, "output's IP length");
	sum = ip_pseudo_sum(&pkt.src, &pkt.dst, IP_PROTO_TCP, pkt.l4_len);
	check(ip_csum_fold(ip_csum_add(sum, pkt.l4, pkt.l4_len)) == 0, "output's TCP checksum");
	check(tcp_wire_parse(&pkt, &seg) == TCP_WIRE_OK, "output's TCP does not parse");
	check(seg.len == len, "payload passed apart");
	m = model_for(&pkt.dst, seg.dport);
	check(m != NULL, "output to no application");
	check(addr_eq(&pkt.src, &m->rem) && seg.sport == m->dport, "output from the wrong address");
	idx = (size_t)(m - F.m);
	if (seg.flags & TCP_RST) {
		check(seg.len == 0 && !(seg.flags & TCP_SYN), "RST with data or SYN");
		return;
	}
	check(seg.flags & TCP_ACK, "output without ACK");
	m->last_ack = seg.ack;
	if (seg.flags & TCP_SYN) {
		check(seg.len == 0 && !(seg.flags & TCP_FIN), "SYN-ACK with more");
		check(seg.mss > 0, "SYN-ACK without MSS");
		m->have_iss = true;
		m->iss = seg.seq;
		m->ack = seg.seq + 1;
		return;
	}
	check(seg.mss == 0 && seg.wscale < 0 && !seg.sack_ok, "options past the SYN");
	if (len > 0) {
		uint32_t off;

		check(m->have_iss, "data before a SYN-ACK");
		off = seg.seq - (m->iss + 1);
		check((uint64_t)off + len <= m->wr, "data sent that was never written");
		for (size_t i = 0; i < len; i++) {
			check(seg.data[i] == obyte(off + (uint64_t)i, idx),
			      "a byte sent is not the byte written");
		}
	}
	if (m->have_iss && tcp_seq_leq(seg.seq, m->ack) &&
	    tcp_seq_gt(seg.seq + (uint32_t)len, m->ack)) {
		m->ack = seg.seq + (uint32_t)len;
	}
	if (m->have_iss && (seg.flags & TCP_FIN) && seg.seq + (uint32_t)len == m->ack) {
		m->ack++;
	}
}

static const struct tcp_cbs cbs = { cb_syn, cb_event, cb_output };

/* The kernel's segments. */

static void
send_seg(struct model *m, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd, size_t len,
	 uint16_t mss, int ws, bool sack)
{
	static uint8_t b[TCP_WIRE_HDR_MAX + 4096];
	static uint8_t payload[4096];
	size_t idx = (size_t)(m - F.m);
	struct tcp_seg seg = { 0 };
	struct ip_pkt pkt;
	size_t hl;

	if (len > sizeof(payload)) {
		len = sizeof(payload);
	}
	for (size_t i = 0; i < len; i++) {
		payload[i] = kbyte(seq + (uint32_t)i, idx);
	}
	seg.sport = m->sport;
	seg.dport = m->dport;
	seg.seq = seq;
	seg.ack = ack;
	seg.flags = flags;
	seg.wnd = wnd;
	seg.mss = mss;
	seg.wscale = (int8_t)ws;
	seg.sack_ok = sack;
	seg.data = payload;
	seg.len = len;
	hl = tcp_wire_build(b, sizeof(b) - len, &m->app, &m->rem, &seg);
	check(hl > 0, "build");
	memcpy(b + hl, payload, len);
	check(ip_parse(b, hl + len, &pkt) == IP_OK, "own segment parses");
	m->sent += len;
	tcp_stack_input(F.s, &pkt, F.now);
}

static struct model *
pick(void)
{
	return &F.m[get8() % N_TUPLES];
}

static void
op_syn(void)
{
	struct model *m = pick();
	uint8_t o = get8();
	uint32_t irs = (o & 0x80) ? get32() : m->seq + 100000;
	uint16_t wnd = get16(), mss = (o & 1) ? get16() : 0;
	int ws = (o & 2) ? (get8() & 15) : -1;

	m->seq = irs + 1;
	send_seg(m, TCP_SYN, irs, 0, wnd, 0, mss, ws, (o & 4) != 0);
}

/* The kernel as it behaves: in sequence, acknowledging what it got, maybe data and a FIN. */
static void
op_good(void)
{
	struct model *m = pick();
	uint8_t o = get8();
	size_t len = (o & 0x1f) * 64u;
	uint8_t flags = TCP_ACK | (o & 0x20 ? TCP_PSH : 0) | (o & 0x40 ? TCP_FIN : 0);
	uint16_t wnd = o & 0x80 ? get16() : 0xffff;

	send_seg(m, flags, m->seq, m->ack, wnd, len, 0, -1, false);
	m->seq += (uint32_t)len + !!(flags & TCP_FIN);
}

/* Anything, near the model's numbers or not. */
static void
op_fuzzed(void)
{
	struct model *m = pick();
	uint8_t flags = get8() & 0x3f, o = get8();
	uint32_t seq = o & 1 ? get32() : m->seq + (uint32_t)(int32_t)(int16_t)get16();
	uint32_t ack = o & 2 ? get32() : m->ack + (uint32_t)(int32_t)(int16_t)get16();
	uint16_t wnd = get16();
	size_t len = o & 4 ? get16() % 4096 : get8() % 64;

	send_seg(m, flags, seq, ack, wnd, len, o & 8 ? get16() : 0, o & 16 ? get8() : -1,
		 (o & 32) != 0);
}

/* The model picks up from what the stack last acknowledged. */
static void
op_rewind(void)
{
	struct model *m = pick();

	m->seq = m->last_ack;
}

static void
op_owner(uint8_t op)
{
	struct model *m = pick();
	uint16_t arg = get16();

	switch (op) {
	case 0:
		if (m->c) {
			tcp_conn_accept(m->c, F.now);
			note_base(m);
		}
		break;
	case 1:
		if (m->c && !strcmp(tcp_conn_state_name(m->c), "SYN-PENDING")) {
			tcp_conn_refuse(m->c);
			m->c = NULL;
		}
		break;
	case 2:
		if (m->c && !strcmp(tcp_conn_state_name(m->c), "SYN-PENDING")) {
			tcp_conn_drop(m->c);
			m->c = NULL;
		}
		break;
	case 3:
		owner_read(m, arg);
		break;
	case 4:
		owner_write(m, arg % 9000);
		break;
	case 5:
		if (m->c) {
			int r = tcp_conn_shutdown(m->c);

			check(r == 0 || r == -EPIPE, "shutdown result");
		}
		break;
	case 6:
		let_go(m, true);
		break;
	case 7:
		let_go(m, false);
		break;
	case 8:
		if (m->c) {
			size_t len;
			const uint8_t *p = tcp_conn_peek(m->c, &len);

			check(len == tcp_conn_readable(m->c), "peek length");
			check(len == 0 || p != NULL, "peek pointer");
			if (len > 0) {
				uint64_t n = arg % (len + 1);

				for (uint64_t i = 0; i < n; i++) {
					check(p[i] == kbyte(m->base + (uint32_t)(m->rd + i),
							    (size_t)(m - F.m)), "a byte peeked");
				}
				tcp_conn_consume(m->c, (size_t)n);
				m->rd += n;
			}
		}
		break;
	default:
		F.pol = (enum pol)(arg % POL_COUNT);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t a4[2][4] = { { 192, 0, 2, 1 }, { 192, 0, 2, 2 } };
	static const uint8_t r4[4] = { 198, 18, 0, 7 };
	static const uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const uint8_t r6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 7 };
	static const size_t bufs[] = { 1, 700, 4096, 65535, 65536, 300000 };
	uint8_t setup;
	struct tcp_stats st;

	memset(&F, 0, sizeof(F));
	F.p = data;
	F.left = size;
	setup = get8();
	F.cfg.mtu = setup & 1 ? 9000 : 1500;
	F.cfg.rcv_buf = bufs[(setup >> 1) % 6];
	F.cfg.snd_buf = bufs[get8() % 6];
	F.cfg.max_conns = MAX_CONNS;
	F.cfg.seed = get32();
	F.cfg.syn_wait_ms = 1000 + get8() * 100u;
	F.auto_read = setup & 0x10;
	F.auto_release = setup & 0x20;
	F.auto_write = setup & 0x40;
	F.now = 1000;
	for (size_t i = 0; i < N_TUPLES; i++) {
		struct model *m = &F.m[i];

		if (i < 2) {
			addr_set_raw(&m->app, a4[i], 4);
			addr_set_raw(&m->rem, r4, 4);
		} else {
			addr_set_raw(&m->app, a6, 16);
			addr_set_raw(&m->rem, r6, 16);
		}
		m->sport = (uint16_t)(40000 + i);
		m->dport = 443;
		m->seq = (uint32_t)(i * 0x55555555u);
	}
	F.s = tcp_stack_new(&F.cfg, &cbs, NULL);
	check(F.s != NULL, "tcp_stack_new");
	while (F.left > 0) {
		uint8_t op = get8();

		switch (op % 16) {
		case 0:
		case 1:
			op_good();
			break;
		case 2:
			op_fuzzed();
			break;
		case 3:
			op_syn();
			break;
		case 4:
			op_rewind();
			break;
		case 5:
		case 6:
		case 7:
			op_owner((uint8_t)(op >> 4));
			break;
		case 8:
		case 9:
			tcp_stack_flush(F.s, F.now);
			break;
		case 10:
			F.now += get16();
			tcp_stack_timers(F.s, F.now);
			break;
		case 11: {
			uint64_t d = tcp_stack_next_ms(F.s);

			check(d == UINT64_MAX || d + 1 >= F.now, "a deadline in the past");
			if (d != UINT64_MAX) {
				F.now = d > F.now ? d : F.now;
				tcp_stack_timers(F.s, F.now);
				check(tcp_stack_next_ms(F.s) > F.now,
				      "a deadline due left after the timers");
			}
			break;
		}
		case 12:
			/* The glue's loop: flush, then timers. */
			tcp_stack_flush(F.s, F.now);
			check(!tcp_stack_pending(F.s), "pending after a flush");
			F.now += 1 + get8();
			tcp_stack_timers(F.s, F.now);
			break;
		default:
			op_owner((uint8_t)(op & 0xf) == 13 ? 3 : (op & 0xf) == 14 ? 4 : 9);
			break;
		}
		tcp_stack_stats(F.s, &st);
		check(st.conns <= MAX_CONNS, "more connections than max_conns");
		check(st.time_wait <= st.conns, "time_wait counter");
	}
	tcp_stack_free(F.s);
	return 0;
}

// SPDX-License-Identifier: MIT
/*
 * tund's DNS responder: see dns.h. This file reads one query, decides
 * what it deserves, and writes the answer into the caller's buffer. It
 * sends nothing (forwarding is the caller's) and keeps no state: the
 * fake-IP pool is the only memory, and it is passed in.
 *
 * A query is held to the shape stub resolvers send (RFC 1035 section
 * 4.1): one question, no answer or authority records, at most one
 * additional record, which must be an OPT (RFC 6891), and nothing after
 * it. Anything else is a FORMERR, so that what tund forwards is always a
 * plain query.
 *
 * Every answer starts with the query's question copied byte for byte, so
 * its case (and any 0x20 randomization, draft-vixie-dnsext-dns0x20) comes
 * back as asked, and records tund writes name it with a pointer to offset
 * 12, where that question starts.
 */
#include "dns.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cur.h"

#define HDR_LEN 12
#define NAME_WIRE_MAX 255       /* RFC 1035 section 3.1 */
#define LABEL_MAX 63
/*
 * Pointers already have to go backwards (see read_name), which ends every
 * chain; this only stops a chain from walking the message pointer by
 * pointer. Real encoders need one per name.
 */
#define JUMPS_MAX 16
#define OPT_LEN 11              /* root, type, class, TTL, RDLENGTH 0 */

#define F_QR 0x8000u
#define F_OPCODE_SHIFT 11
#define F_OPCODE_MASK 0x7800u
#define F_TC 0x0200u
#define F_RD 0x0100u
#define F_RA 0x0080u
#define EDNS_DO 0x8000u

#define T_A 1
#define T_PTR 12
#define T_AAAA 28
#define T_OPT 41
#define T_SVCB 64
#define T_HTTPS 65
#define T_IXFR 251
#define T_AXFR 252
#define T_ANY 255
#define C_IN 1

#define RC_NOERROR 0
#define RC_FORMERR 1
#define RC_SERVFAIL 2
#define RC_NXDOMAIN 3
#define RC_NOTIMP 4
#define RC_REFUSED 5
#define RC_BADVERS 16           /* RFC 6891 section 9: needs the OPT's upper bits */

struct hdr {
	uint16_t id, flags, qd, an, ns, ar;
};

/* A name as read from the wire. */
struct name {
	char text[FAKEIP_NAME_MAX + 1]; /* labels as asked, joined by '.' */
	size_t text_len;
	size_t labels;
	bool is_text;           /* every label byte in 0x21..0x7e, none '.' or '\\' */
	bool localhost;         /* the last label is "localhost", in any case */
};

struct query {
	struct hdr h;
	struct cur qsec;        /* the question's bytes */
	struct name qname;
	uint16_t qtype, qclass;
	bool edns;
	uint16_t udp_size;
	uint8_t version;
	bool dnssec_ok;
};

/* One answer record; its owner is always the question's name. */
struct rr {
	uint16_t type;
	uint8_t rdata[NAME_WIRE_MAX];
	size_t rdlen;
};

static bool
get_hdr(struct cur *c, struct hdr *h)
{
	return cur_get_u16(c, &h->id) && cur_get_u16(c, &h->flags) && cur_get_u16(c, &h->qd) &&
	    cur_get_u16(c, &h->an) && cur_get_u16(c, &h->ns) && cur_get_u16(c, &h->ar);
}

static bool
put_hdr(struct wcur *w, const struct hdr *h)
{
	return wcur_put_u16(w, h->id) && wcur_put_u16(w, h->flags) && wcur_put_u16(w, h->qd) &&
	    wcur_put_u16(w, h->an) && wcur_put_u16(w, h->ns) && wcur_put_u16(w, h->ar);
}

static bool
text_byte(uint8_t b)
{
	/* '\\' would read as an escape in a resolver's text API. */
	return b >= 0x21 && b <= 0x7e && b != '.' && b != '\\';
}

static char
lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

static bool
is_localhost(const uint8_t *label, size_t len)
{
	static const char lh[] = "localhost";

	if (len != sizeof(lh) - 1) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (lower((char)label[i]) != lh[i]) {
			return false;
		}
	}
	return true;
}

/*
 * Reads a name at c (RFC 1035 section 3.1, compression as in 4.1.4) and
 * leaves c after it. A pointer must point strictly before the stretch of
 * labels it ends: each jump goes further back, so no chain loops, not
 * even through a pointer into the name being read. The header is no
 * name, so no pointer may point into it; in a one-question query that
 * leaves the question's name no pointer at all (there is nothing before
 * it to point to), but the OPT's owner may point at its root label.
 */
static bool
read_name(const struct cur *msg, struct cur *c, struct name *n)
{
	struct cur at = *c;
	size_t seg = cur_left(msg) - cur_left(c), wire = 1, jumps = 0;
	uint8_t len, lo, label[LABEL_MAX];
	bool jumped = false;

	memset(n, 0, sizeof(*n));
	n->is_text = true;
	for (;;) {
		if (!cur_get_u8(&at, &len)) {
			return false;
		}
		if ((len & 0xc0) == 0xc0) {
			size_t target;

			if (!cur_get_u8(&at, &lo)) {
				return false;
			}
			target = (size_t)(len & 0x3f) << 8 | lo;
			if (target < HDR_LEN || target >= seg || ++jumps > JUMPS_MAX) {
				return false;
			}
			if (!jumped) {
				*c = at;
				jumped = true;
			}
			at = *msg;
			(void)cur_skip(&at, target);
			seg = target;
			continue;
		}
		/* 0x40 (RFC 6891 retired it) and 0x80 are no label types we know. */
		if ((len & 0xc0) != 0) {
			return false;
		}
		if (len == 0) {
			break;
		}
		wire += 1 + (size_t)len;
		if (wire > NAME_WIRE_MAX || !cur_get_bytes(&at, label, len)) {
			return false;
		}
		n->localhost = is_localhost(label, len);
		for (size_t i = 0; i < len && n->is_text; i++) {
			n->is_text = text_byte(label[i]);
		}
		if (n->is_text) {
			/* wire <= 255 keeps this within FAKEIP_NAME_MAX. */
			if (n->labels > 0) {
				n->text[n->text_len++] = '.';
			}
			memcpy(n->text + n->text_len, label, len);
			n->text_len += len;
		}
		n->labels++;
	}
	if (!n->is_text) {
		n->text_len = 0;
	}
	n->text[n->text_len] = '\0';
	if (!jumped) {
		*c = at;
	}
	return true;
}

static bool
read_question(const struct cur *msg, struct cur *c, struct query *qr)
{
	struct cur start = *c;

	return read_name(msg, c, &qr->qname) && cur_get_u16(c, &qr->qtype) &&
	    cur_get_u16(c, &qr->qclass) &&
	    cur_get_sub(&start, &qr->qsec, cur_left(&start) - cur_left(c));
}

/* The OPT pseudo-record (RFC 6891 section 6.1.2); its options are only checked for shape. */
static bool
read_opt(const struct cur *msg, struct cur *c, struct query *qr)
{
	uint16_t type, rdlen, code, olen;
	struct name owner;
	struct cur rd;
	uint32_t ttl;

	if (!read_name(msg, c, &owner) || owner.labels != 0 || !cur_get_u16(c, &type) ||
	    type != T_OPT || !cur_get_u16(c, &qr->udp_size) || !cur_get_u32(c, &ttl) ||
	    !cur_get_u16(c, &rdlen) || !cur_get_sub(c, &rd, rdlen)) {
		return false;
	}
	while (cur_left(&rd) > 0) {
		if (!cur_get_u16(&rd, &code) || !cur_get_u16(&rd, &olen) || !cur_skip(&rd, olen)) {
			return false;
		}
	}
	qr->edns = true;
	qr->version = (uint8_t)(ttl >> 16);
	qr->dnssec_ok = (ttl & EDNS_DO) != 0;
	return true;
}

/* Header, question and OPT of a query; false makes a FORMERR. */
static bool
read_query(const uint8_t *q, size_t qlen, struct query *qr)
{
	struct cur msg, c;

	memset(qr, 0, sizeof(*qr));
	cur_init(&msg, q, qlen);
	c = msg;
	if (!get_hdr(&c, &qr->h) || qr->h.qd != 1 || qr->h.an != 0 || qr->h.ns != 0 ||
	    qr->h.ar > 1 || !read_question(&msg, &c, qr)) {
		return false;
	}
	if (qr->h.ar == 1 && !read_opt(&msg, &c, qr)) {
		return false;
	}
	return cur_left(&c) == 0;
}

static uint16_t
reply_flags(const struct hdr *h, uint16_t rcode, bool tc)
{
	/*
	 * RA: tund answers for the whole namespace, as a recursive resolver
	 * does. AA stays clear: the fake answers are nobody's zone data, and
	 * no stub treats AA differently.
	 */
	return (uint16_t)(F_QR | (h->flags & (F_OPCODE_MASK | F_RD)) | F_RA | (tc ? F_TC : 0) |
			  (rcode & 0xf));
}

static bool
put_rr(struct wcur *w, const struct rr *rr)
{
	return wcur_put_u16(w, 0xc000 | HDR_LEN) && wcur_put_u16(w, rr->type) &&
	    wcur_put_u16(w, C_IN) && wcur_put_u32(w, DNS_FAKE_TTL) &&
	    wcur_put_u16(w, (uint16_t)rr->rdlen) && wcur_put_bytes(w, rr->rdata, rr->rdlen);
}

/* Our OPT (RFC 6891 section 6.1.3): version 0, DO echoed (section 6.1.4), no options. */
static bool
put_opt(struct wcur *w, const struct query *qr, uint16_t rcode)
{
	uint32_t ttl = (uint32_t)(rcode >> 4) << 24 | (qr->dnssec_ok ? EDNS_DO : 0);

	return wcur_put_u8(w, 0) && wcur_put_u16(w, T_OPT) && wcur_put_u16(w, DNS_EDNS_SIZE) &&
	    wcur_put_u32(w, ttl) && wcur_put_u16(w, 0);
}

static bool
put_msg(struct wcur *w, const struct query *qr, uint16_t rcode, const struct rr *an, size_t n,
	bool tc, bool with_opt)
{
	struct hdr h = {
		.id = qr->h.id,
		.flags = reply_flags(&qr->h, rcode, tc),
		.qd = 1,
		.an = (uint16_t)n,
		.ar = with_opt ? 1 : 0,
	};

	if (!put_hdr(w, &h) || !wcur_put_bytes(w, qr->qsec.p, cur_left(&qr->qsec))) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (!put_rr(w, &an[i])) {
			return false;
		}
	}
	return !with_opt || put_opt(w, qr, rcode);
}

/* Header alone: for queries whose question cannot be trusted, or as the last cut. */
static enum dns_action
reply_bare(const struct hdr *qh, uint16_t rcode, bool tc, uint8_t *out, size_t lim,
	   size_t *out_len)
{
	struct hdr h = { .id = qh->id, .flags = reply_flags(qh, rcode, tc) };
	struct wcur w;

	wcur_init(&w, out, lim);
	if (!put_hdr(&w, &h)) {
		return DNS_DROP;
	}
	*out_len = w.len;
	return DNS_REPLY;
}

/*
 * The answer in lim bytes; when it does not fit, header and question with
 * TC (RFC 1035 section 4.2.1, RFC 7766 section 5), the OPT kept if there
 * is room, so the client knows to ask again over TCP.
 */
static enum dns_action
reply(const struct query *qr, uint16_t rcode, const struct rr *an, size_t n, uint8_t *out,
      size_t lim, size_t *out_len)
{
	struct wcur w;

	wcur_init(&w, out, lim);
	if (put_msg(&w, qr, rcode, an, n, false, qr->edns)) {
		goto done;
	}
	wcur_init(&w, out, lim);
	if (qr->edns && put_msg(&w, qr, rcode, NULL, 0, true, true)) {
		goto done;
	}
	wcur_init(&w, out, lim);
	if (put_msg(&w, qr, rcode, NULL, 0, true, false)) {
		goto done;
	}
	/* Only a max_len below any question's size gets here. */
	return reply_bare(&qr->h, rcode, true, out, lim, out_len);

done:
	*out_len = w.len;
	return DNS_REPLY;
}

static void
rr_addr(struct rr *rr, const struct addr *a)
{
	rr->type = a->family == AF_INET ? T_A : T_AAAA;
	rr->rdlen = a->family == AF_INET ? 4 : 16;
	memcpy(rr->rdata, a->a, rr->rdlen);
}

/* Text name (checked by the pool: labels of 1..63 bytes) to wire form. */
static bool
rr_name(struct rr *rr, const char *name)
{
	size_t len = strlen(name), start = 0;
	struct wcur w;

	rr->type = T_PTR;
	wcur_init(&w, rr->rdata, sizeof(rr->rdata));
	for (size_t i = 0; i <= len; i++) {
		if (i < len && name[i] != '.') {
			continue;
		}
		size_t n = i - start;

		if (n == 0 || n > LABEL_MAX || !wcur_put_u8(&w, (uint8_t)n) ||
		    !wcur_put_bytes(&w, name + start, n)) {
			return false;
		}
		start = i + 1;
	}
	if (!wcur_put_u8(&w, 0)) {
		return false;
	}
	rr->rdlen = w.len;
	return true;
}

/* Case-insensitive "does s (len bytes) end with suffix", suffix lowercase. */
static bool
ends_with(const char *s, size_t len, const char *suffix, size_t *head)
{
	size_t n = strlen(suffix);

	if (len < n) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (lower(s[len - n + i]) != suffix[i]) {
			return false;
		}
	}
	*head = len - n;
	return true;
}

static int
hex_digit(char ch)
{
	ch = lower(ch);
	if (ch >= '0' && ch <= '9') {
		return ch - '0';
	}
	if (ch >= 'a' && ch <= 'f') {
		return ch - 'a' + 10;
	}
	return -1;
}

/* "d.c.b.a.in-addr.arpa": four decimal labels 0..255, no leading zeros. */
static bool
arpa_v4(const char *s, size_t len, struct addr *a)
{
	uint8_t raw[4];
	size_t i = 0;

	for (int k = 3; k >= 0; k--) {
		size_t start = i;
		unsigned int v = 0;

		while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
			v = v * 10 + (unsigned int)(s[i] - '0');
			i++;
		}
		if (i == start || v > 255 || (s[start] == '0' && i - start > 1) ||
		    (k > 0 && (i >= len || s[i] != '.'))) {
			return false;
		}
		raw[k] = (uint8_t)v;
		if (k > 0) {
			i++;
		}
	}
	if (i != len) {
		return false;
	}
	addr_set_raw(a, raw, sizeof(raw));
	return true;
}

/* 32 one-nibble labels, least significant first (RFC 3596 section 2.5). */
static bool
arpa_v6(const char *s, size_t len, struct addr *a)
{
	uint8_t raw[16] = { 0 };

	if (len != 32 * 2 - 1) {
		return false;
	}
	for (size_t k = 0; k < 32; k++) {
		int v = hex_digit(s[2 * k]);

		if (v < 0 || (k < 31 && s[2 * k + 1] != '.')) {
			return false;
		}
		raw[15 - k / 2] |= (uint8_t)(k % 2 ? v << 4 : v);
	}
	addr_set_raw(a, raw, sizeof(raw));
	return true;
}

static bool
arpa_addr(const struct name *n, struct addr *a)
{
	size_t head;

	if (!n->is_text) {
		return false;
	}
	if (ends_with(n->text, n->text_len, ".in-addr.arpa", &head)) {
		return arpa_v4(n->text, head, a);
	}
	if (ends_with(n->text, n->text_len, ".ip6.arpa", &head)) {
		return arpa_v6(n->text, head, a);
	}
	return false;
}

static enum dns_action
answer_localhost(const struct query *qr, uint8_t *out, size_t lim, size_t *out_len)
{
	static const uint8_t lo4[4] = { 127, 0, 0, 1 };
	static const uint8_t lo6[16] = { [15] = 1 };
	struct rr an[2];
	struct addr a;
	size_t n = 0;

	if (qr->qtype == T_A || qr->qtype == T_ANY) {
		addr_set_raw(&a, lo4, sizeof(lo4));
		rr_addr(&an[n++], &a);
	}
	if (qr->qtype == T_AAAA || qr->qtype == T_ANY) {
		a.family = AF_INET6;
		memcpy(a.a, lo6, sizeof(lo6));
		rr_addr(&an[n++], &a);
	}
	return reply(qr, RC_NOERROR, an, n, out, lim, out_len);
}

/*
 * A, AAAA, and ANY, which gets both (RFC 8482 lets a responder answer
 * ANY with a subset; the real records would bypass the fake addresses).
 */
static enum dns_action
answer_addr(struct fakeip *f, const struct query *qr, uint64_t now_ms, uint8_t *out, size_t lim,
	    size_t *out_len)
{
	bool want4 = qr->qtype != T_AAAA, want6 = qr->qtype != T_A;
	struct addr v4, v6;
	struct rr an[2];
	size_t n = 0;

	/* No pool, or the root, which no connection can be for: the exit knows. */
	if (f == NULL || qr->qname.labels == 0) {
		return DNS_FORWARD;
	}
	if (!qr->qname.is_text) {
		return reply(qr, RC_REFUSED, NULL, 0, out, lim, out_len);
	}
	want4 = want4 && fakeip_has_family(f, AF_INET);
	want6 = want6 && fakeip_has_family(f, AF_INET6);
	if (want4 || want6) {
		const struct name *qn = &qr->qname;

		switch (fakeip_lookup_name(f, qn->text, qn->text_len, now_ms, &v4, &v6)) {
		case 0:
			break;
		case -EINVAL:
			return reply(qr, RC_REFUSED, NULL, 0, out, lim, out_len);
		case -ENOSPC:
		default:
			return reply(qr, RC_SERVFAIL, NULL, 0, out, lim, out_len);
		}
		if (want4) {
			rr_addr(&an[n++], &v4);
		}
		if (want6) {
			rr_addr(&an[n++], &v6);
		}
	}
	return reply(qr, RC_NOERROR, an, n, out, lim, out_len);
}

static enum dns_action
answer_ptr(struct fakeip *f, const struct query *qr, uint64_t now_ms, uint8_t *out, size_t lim,
	   size_t *out_len)
{
	const char *name;
	struct addr a;
	struct rr rr;

	if (f == NULL || !arpa_addr(&qr->qname, &a) || !fakeip_contains(f, &a)) {
		return DNS_FORWARD;
	}
	name = fakeip_lookup_addr(f, &a, now_ms);
	if (name == NULL) {
		return reply(qr, RC_NXDOMAIN, NULL, 0, out, lim, out_len);
	}
	if (!rr_name(&rr, name)) {
		return reply(qr, RC_SERVFAIL, NULL, 0, out, lim, out_len);
	}
	return reply(qr, RC_NOERROR, &rr, 1, out, lim, out_len);
}

enum dns_action
dns_handle(struct fakeip *f, const uint8_t *q, size_t qlen, size_t max_len, uint64_t now_ms,
	   uint8_t *out, size_t cap, size_t *out_len)
{
	size_t lim = cap < max_len ? cap : max_len;
	struct query qr;
	struct cur c;

	if (out_len == NULL) {
		return DNS_DROP;
	}
	*out_len = 0;
	if (q == NULL || out == NULL || lim < HDR_LEN) {
		return DNS_DROP;
	}
	memset(&qr, 0, sizeof(qr));
	cur_init(&c, q, qlen);
	/* Too short for a header, or a response (which could start a loop): silence. */
	if (!get_hdr(&c, &qr.h) || (qr.h.flags & F_QR) != 0) {
		return DNS_DROP;
	}
	/* Other opcodes (NOTIFY, UPDATE...) give the counts other meanings. */
	if ((qr.h.flags & F_OPCODE_MASK) != 0) {
		return reply_bare(&qr.h, RC_NOTIMP, false, out, lim, out_len);
	}
	if (!read_query(q, qlen, &qr)) {
		return reply_bare(&qr.h, RC_FORMERR, false, out, lim, out_len);
	}
	/* RFC 6891 section 6.1.3: BADVERS names the highest version we do, 0. */
	if (qr.edns && qr.version != 0) {
		return reply(&qr, RC_BADVERS, NULL, 0, out, lim, out_len);
	}
	/* CH, HS, ANY...: nothing tund could carry and no app of ours needs. */
	if (qr.qclass != C_IN) {
		return reply(&qr, RC_REFUSED, NULL, 0, out, lim, out_len);
	}
	/* RFC 6761 section 6.3: localhost is ours, whatever the type. */
	if (qr.qname.localhost) {
		return answer_localhost(&qr, out, lim, out_len);
	}
	switch (qr.qtype) {
	case T_A:
	case T_AAAA:
	case T_ANY:
		return answer_addr(f, &qr, now_ms, out, lim, out_len);
	case T_PTR:
		return answer_ptr(f, &qr, now_ms, out, lim, out_len);
	case T_HTTPS:
	case T_SVCB:
		return reply(&qr, RC_NOERROR, NULL, 0, out, lim, out_len);
	case T_AXFR:
	case T_IXFR:
		/* A transfer is a stream of messages; the DNS command carries one answer. */
		return reply(&qr, RC_REFUSED, NULL, 0, out, lim, out_len);
	default:
		return DNS_FORWARD;
	}
}

size_t
dns_udp_limit(const uint8_t *q, size_t qlen)
{
	struct query qr;

	if (q == NULL || !read_query(q, qlen, &qr) || !qr.edns || qr.udp_size <= DNS_UDP_MIN) {
		return DNS_UDP_MIN;
	}
	return qr.udp_size < DNS_UDP_MAX ? qr.udp_size : DNS_UDP_MAX;
}

size_t
dns_fit(uint8_t *msg, size_t len, size_t max_len)
{
	struct cur m, c;
	struct query qr;
	struct wcur w;
	size_t cut;

	if (msg == NULL) {
		return 0;
	}
	memset(&qr, 0, sizeof(qr));
	cur_init(&m, msg, len);
	c = m;
	if (!get_hdr(&c, &qr.h) || (qr.h.flags & F_QR) == 0 || qr.h.qd > 1 ||
	    (qr.h.qd == 1 && !read_question(&m, &c, &qr))) {
		return 0;
	}
	if (len <= max_len) {
		return len;
	}
	cut = len - cur_left(&c);
	if (cut > max_len) {
		return 0;
	}
	qr.h.flags |= F_TC;
	qr.h.an = 0;
	qr.h.ns = 0;
	qr.h.ar = 0;
	wcur_init(&w, msg, HDR_LEN);
	(void)put_hdr(&w, &qr.h);
	return cut;
}

bool
dns_get_id(const uint8_t *msg, size_t len, uint16_t *id)
{
	struct cur c;

	if (msg == NULL) {
		return false;
	}
	cur_init(&c, msg, len);
	return cur_get_u16(&c, id);
}

void
dns_set_id(uint8_t *msg, size_t len, uint16_t id)
{
	struct wcur w;

	if (msg == NULL) {
		return;
	}
	wcur_init(&w, msg, len < 2 ? len : 2);
	(void)wcur_put_u16(&w, id);
}

bool
dns_question(const uint8_t *q, size_t qlen, char *name, size_t name_cap, uint16_t *qtype,
	     uint16_t *qclass)
{
	struct cur m, c;
	struct query qr;

	if (q == NULL || name == NULL) {
		return false;
	}
	memset(&qr, 0, sizeof(qr));
	cur_init(&m, q, qlen);
	c = m;
	if (!get_hdr(&c, &qr.h) || qr.h.qd == 0 || !read_question(&m, &c, &qr) ||
	    !qr.qname.is_text || qr.qname.text_len >= name_cap) {
		return false;
	}
	for (size_t i = 0; i <= qr.qname.text_len; i++) {
		name[i] = lower(qr.qname.text[i]);
	}
	if (qtype != NULL) {
		*qtype = qr.qtype;
	}
	if (qclass != NULL) {
		*qclass = qr.qclass;
	}
	return true;
}

size_t
dns_frame_take(struct dns_frame *f, const uint8_t *p, size_t len, uint8_t **msg,
	       size_t *msg_len)
{
	size_t want, n;

	*msg = NULL;
	*msg_len = 0;
	if (len == 0) {
		return 0;
	}
	if (f->buf == NULL) {
		f->buf = malloc(2 + DNS_MAX_MSG);
		if (f->buf == NULL) {
			return 0;
		}
	}
	want = f->len < 2 ? 2 : 2 + ((size_t)f->buf[0] << 8 | f->buf[1]);
	n = want - f->len < len ? want - f->len : len;
	memcpy(f->buf + f->len, p, n);
	f->len += n;
	if (f->len == 2 && f->buf[0] == 0 && f->buf[1] == 0) {
		f->len = 0;             /* an empty frame */
	} else if (f->len == want && want > 2) {
		*msg = f->buf + 2;
		*msg_len = want - 2;
		f->len = 0;
	}
	return n;
}

void
dns_frame_fini(struct dns_frame *f)
{
	free(f->buf);
	f->buf = NULL;
	f->len = 0;
}

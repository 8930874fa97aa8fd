// SPDX-License-Identifier: MIT
/*
 * Unit tests for tund's DNS responder (tund/dns.c): each row of the table
 * in dns.h (A, AAAA, ANY, PTR, HTTPS, SVCB, localhost, forwarded types,
 * classes, opcodes), names that text cannot carry, the answer's header
 * bits and its copy of the question as asked, EDNS0 echo and BADVERS,
 * every FORMERR reason (counts, truncation, label and name lengths,
 * compression loops and wild pointers), drops, pool exhaustion, the size
 * limits (dns_udp_limit, TC at 512 and at an EDNS0 size, dns_fit), and
 * the small helpers. Answers are read back by a parser of this file's
 * own, which insists on exactly the bytes dns.h promises.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../tund/dns.h"

#define NELEM(x) (sizeof(x) / sizeof((x)[0]))
#define HOLD 1000

#define QR 0x8000
#define AA 0x0400
#define TC 0x0200
#define RD 0x0100
#define RA 0x0080
#define AD 0x0020
#define CD 0x0010

enum {
	T_A = 1, T_NS = 2, T_CNAME = 5, T_SOA = 6, T_PTR = 12, T_MX = 15, T_TXT = 16,
	T_AAAA = 28, T_SRV = 33, T_SVCB = 64, T_HTTPS = 65, T_IXFR = 251, T_AXFR = 252,
	T_ANY = 255, T_CAA = 257,
};

/*
 * "dig @192.0.2.53 example.com A" (BIND 9.18): RD and AD set, EDNS0 with a
 * 1232-byte size and a client cookie.
 */
static const uint8_t dig_a[] = {
	0x8f, 0x3a, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x07, 'e',  'x',  'a',  'm',  'p',  'l',  'e',  0x03, 'c',  'o',  'm',
	0x00, 0x00, 0x01, 0x00, 0x01,
	0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c,
	0x00, 0x0a, 0x00, 0x08, 0x5d, 0x2e, 0x11, 0x90, 0xa4, 0x07, 0x3c, 0x6e,
};

/* glibc's stub resolver: "getent ahosts Example.ORG", AAAA, no EDNS0. */
static const uint8_t glibc_aaaa[] = {
	0x4b, 0x21, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x07, 'E',  'x',  'a',  'm',  'p',  'l',  'e',  0x03, 'O',  'R',  'G',
	0x00, 0x00, 0x1c, 0x00, 0x01,
};

struct rr {
	uint16_t type, class;
	uint32_t ttl;
	uint16_t rdlen;
	uint8_t rdata[300];
};

struct resp {
	uint16_t id, flags, qd, an, ns, ar;
	size_t qlen;            /* bytes of the question section */
	struct rr rr[4];
	bool opt;
	uint16_t opt_size;
	uint8_t ext_rcode, version;
	bool do_bit;
};

static struct fakeip *
pool(const char *v4, const char *v6, size_t max_slots)
{
	struct fakeip_cfg cfg;
	struct fakeip *f;

	memset(&cfg, 0, sizeof(cfg));
	if (v4 != NULL) {
		cfg.have_v4 = true;
		assert_int_equal(cidr_parse(v4, &cfg.v4), 0);
	}
	if (v6 != NULL) {
		cfg.have_v6 = true;
		assert_int_equal(cidr_parse(v6, &cfg.v6), 0);
	}
	cfg.max_slots = max_slots;
	cfg.hold_ms = HOLD;
	cfg.hash_key[0] = 42;
	f = fakeip_new(&cfg);
	assert_non_null(f);
	return f;
}

/* How many slots the pool has given out: most rows must take none. */
static void
assert_used(const struct fakeip *f, size_t want)
{
	struct fakeip_stats st;

	fakeip_stats(f, &st);
	assert_int_equal(st.used, want);
	assert_int_equal(fakeip_check(f), 0);
}

static size_t
put16(uint8_t *b, size_t off, uint16_t v)
{
	b[off] = (uint8_t)(v >> 8);
	b[off + 1] = (uint8_t)v;
	return off + 2;
}

static uint16_t
get16(const uint8_t *b, size_t off)
{
	return (uint16_t)(b[off] << 8 | b[off + 1]);
}

static size_t
put_name(uint8_t *b, size_t off, const char *name)
{
	const char *p = name;

	while (*p != '\0') {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		b[off++] = (uint8_t)n;
		memcpy(b + off, p, n);
		off += n;
		p += n + (dot ? 1 : 0);
	}
	b[off++] = 0;
	return off;
}

/* A query as stub resolvers send it; edns_size 0 means no OPT. */
static size_t
mkq_full(uint8_t *b, uint16_t id, uint16_t flags, const char *name, uint16_t type, uint16_t class,
	 uint16_t edns_size, uint8_t version, bool do_bit)
{
	size_t off = 0;

	off = put16(b, off, id);
	off = put16(b, off, flags);
	off = put16(b, off, 1);
	off = put16(b, off, 0);
	off = put16(b, off, 0);
	off = put16(b, off, edns_size ? 1 : 0);
	off = put_name(b, off, name);
	off = put16(b, off, type);
	off = put16(b, off, class);
	if (edns_size != 0) {
		b[off++] = 0;
		off = put16(b, off, 41);
		off = put16(b, off, edns_size);
		b[off++] = 0;
		b[off++] = version;
		off = put16(b, off, do_bit ? 0x8000 : 0);
		off = put16(b, off, 0);
	}
	return off;
}

static size_t
mkq(uint8_t *b, const char *name, uint16_t type)
{
	return mkq_full(b, 0x1234, RD, name, type, 1, 0, 0, false);
}

/* Reads an answer of ours back, checking every length in it. */
static void
parse_resp(const uint8_t *m, size_t len, struct resp *r)
{
	size_t off = 12;

	memset(r, 0, sizeof(*r));
	assert_true(len >= 12);
	r->id = get16(m, 0);
	r->flags = get16(m, 2);
	r->qd = get16(m, 4);
	r->an = get16(m, 6);
	r->ns = get16(m, 8);
	r->ar = get16(m, 10);
	assert_true(r->qd <= 1);
	assert_int_equal(r->ns, 0);
	assert_true(r->an <= NELEM(r->rr));
	assert_true(r->ar <= 1);
	if (r->qd == 1) {
		while (off < len && m[off] != 0) {
			assert_true(m[off] <= 63);
			off += 1 + m[off];
		}
		off += 1 + 4;
		assert_true(off <= len);
		r->qlen = off - 12;
	}
	for (size_t i = 0; i < r->an; i++) {
		struct rr *rr = &r->rr[i];

		assert_true(off + 12 <= len);
		/* Owner: the pointer to the question at offset 12. */
		assert_int_equal(get16(m, off), 0xc00c);
		rr->type = get16(m, off + 2);
		rr->class = get16(m, off + 4);
		rr->ttl = (uint32_t)get16(m, off + 6) << 16 | get16(m, off + 8);
		rr->rdlen = get16(m, off + 10);
		off += 12;
		assert_true(rr->rdlen <= sizeof(rr->rdata) && off + rr->rdlen <= len);
		memcpy(rr->rdata, m + off, rr->rdlen);
		off += rr->rdlen;
	}
	if (r->ar == 1) {
		assert_true(off + 11 <= len);
		assert_int_equal(m[off], 0);
		assert_int_equal(get16(m, off + 1), 41);
		r->opt = true;
		r->opt_size = get16(m, off + 3);
		r->ext_rcode = m[off + 5];
		r->version = m[off + 6];
		r->do_bit = (m[off + 7] & 0x80) != 0;
		assert_int_equal(m[off + 7] & 0x7f, 0);
		assert_int_equal(m[off + 8], 0);
		assert_int_equal(get16(m, off + 9), 0);
		off += 11;
	}
	assert_int_equal(off, len);
}

static unsigned int
rcode(const struct resp *r)
{
	return (unsigned int)(r->ext_rcode << 4 | (r->flags & 0xf));
}

static uint8_t out[DNS_MAX_MSG];

/* dns_handle on an exact heap copy of the query, so ASan sees any over-read. */
static enum dns_action
handle(struct fakeip *f, const uint8_t *q, size_t qlen, size_t max_len, uint64_t now, size_t cap,
       struct resp *r)
{
	uint8_t *copy = malloc(qlen > 0 ? qlen : 1);
	enum dns_action act;
	size_t out_len = 99999;

	assert_non_null(copy);
	memcpy(copy, q, qlen);
	memset(out, 0xee, sizeof(out));
	act = dns_handle(f, copy, qlen, max_len, now, out, cap, &out_len);
	free(copy);
	if (act == DNS_REPLY) {
		assert_true(out_len <= max_len && out_len <= cap);
		parse_resp(out, out_len, r);
		assert_int_equal(r->id, get16(q, 0));
		assert_true(r->flags & QR);
		assert_true(r->flags & RA);
		assert_false(r->flags & AA);
		assert_int_equal(r->flags & RD, get16(q, 2) & RD);
		assert_int_equal(r->flags & 0x7800, get16(q, 2) & 0x7800);
		if (r->qd == 1) {
			/* The question as asked, case and all. */
			assert_memory_equal(out + 12, q + 12, r->qlen);
		}
		/* Every answer is a well-formed response to dns_fit. */
		assert_int_equal(dns_fit(out, out_len, out_len), out_len);
	} else {
		assert_int_equal(out_len, 0);
	}
	return act;
}

/* The usual case: UDP sized by the query, a large buffer. */
static enum dns_action
udp(struct fakeip *f, const uint8_t *q, size_t qlen, uint64_t now, struct resp *r)
{
	return handle(f, q, qlen, dns_udp_limit(q, qlen), now, sizeof(out), r);
}

/* A reply with rcode, no answer records. */
static void
assert_empty(struct fakeip *f, const uint8_t *q, size_t qlen, unsigned int rc)
{
	struct resp r;

	assert_int_equal(udp(f, q, qlen, 0, &r), DNS_REPLY);
	assert_int_equal(rcode(&r), rc);
	assert_int_equal(r.an, 0);
}

static void
assert_formerr(const uint8_t *q, size_t qlen)
{
	struct fakeip *f = pool("198.18.0.0/15", NULL, 0);
	struct resp r;

	assert_int_equal(udp(f, q, qlen, 0, &r), DNS_REPLY);
	assert_int_equal(rcode(&r), 1);
	assert_int_equal(r.qd, 0);
	assert_int_equal(r.an, 0);
	assert_int_equal(r.ar, 0);
	assert_used(f, 0);
	fakeip_free(f);
}

static void
test_a_aaaa(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", "fdfe:dcba:9876::/64", 0);
	uint8_t q[512];
	struct resp r;
	size_t n;

	(void)state;
	n = mkq(q, "example.com", T_A);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_int_equal(rcode(&r), 0);
	assert_int_equal(r.qd, 1);
	assert_int_equal(r.an, 1);
	assert_false(r.opt);
	assert_false(r.flags & TC);
	assert_int_equal(r.rr[0].type, T_A);
	assert_int_equal(r.rr[0].class, 1);
	assert_int_equal(r.rr[0].ttl, DNS_FAKE_TTL);
	assert_int_equal(r.rr[0].rdlen, 4);
	assert_memory_equal(r.rr[0].rdata, "\xc6\x12\x00\x01", 4);

	/* AAAA of the same name: the same slot in the other range. */
	n = mkq(q, "example.com", T_AAAA);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_int_equal(r.an, 1);
	assert_int_equal(r.rr[0].type, T_AAAA);
	assert_int_equal(r.rr[0].rdlen, 16);
	assert_memory_equal(r.rr[0].rdata,
			    "\xfd\xfe\xdc\xba\x98\x76\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", 16);

	/* glibc's AAAA for another name: the next slot; RD copied, not invented. */
	assert_int_equal(udp(f, glibc_aaaa, sizeof(glibc_aaaa), 0, &r), DNS_REPLY);
	assert_int_equal(r.rr[0].rdata[15], 2);
	n = mkq_full(q, 7, 0, "norecurse.example", T_A, 1, 0, 0, false);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_false(r.flags & RD);
	assert_memory_equal(r.rr[0].rdata, "\xc6\x12\x00\x03", 4);
	fakeip_free(f);
}

static void
test_dig_query(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", NULL, 0);
	struct resp r;

	(void)state;
	assert_int_equal(dns_udp_limit(dig_a, sizeof(dig_a)), 1232);
	assert_int_equal(udp(f, dig_a, sizeof(dig_a), 0, &r), DNS_REPLY);
	assert_int_equal(r.id, 0x8f3a);
	assert_int_equal(rcode(&r), 0);
	/* AD is not ours to set: nothing here was validated. */
	assert_false(r.flags & AD);
	assert_int_equal(r.an, 1);
	assert_true(r.opt);
	assert_int_equal(r.opt_size, DNS_EDNS_SIZE);
	assert_int_equal(r.version, 0);
	assert_false(r.do_bit);
	fakeip_free(f);
}

static void
test_mixed_case(void **state)
{
	static const char *const names[] = {
		"www.example.com", "WWW.EXAMPLE.COM", "wWw.ExAmPlE.cOm", "Www.Example.Com",
	};
	struct fakeip *f = pool("198.18.0.0/15", "fd00::/64", 0);
	char text[FAKEIP_NAME_MAX + 1];
	uint8_t q[512];
	struct resp r;
	size_t n;

	(void)state;
	for (size_t i = 0; i < NELEM(names); i++) {
		n = mkq(q, names[i], i % 2 ? T_AAAA : T_A);
		/* handle() checks the question comes back byte for byte. */
		assert_int_equal(udp(f, q, n, i, &r), DNS_REPLY);
		assert_int_equal(r.an, 1);
		assert_int_equal(r.rr[0].rdata[r.rr[0].rdlen - 1], 1);
		assert_true(dns_question(q, n, text, sizeof(text), NULL, NULL));
		assert_string_equal(text, "www.example.com");
	}
	assert_used(f, 1);
	fakeip_free(f);
}

static void
test_family_missing(void **state)
{
	struct fakeip *f4 = pool("198.18.0.0/15", NULL, 0), *f6 = pool(NULL, "fd00::/64", 0);
	uint8_t q[512];
	size_t n;

	(void)state;
	n = mkq(q, "v6.example", T_AAAA);
	assert_empty(f4, q, n, 0);
	n = mkq(q, "v4.example", T_A);
	assert_empty(f6, q, n, 0);
	/* Nothing was taken from a pool for an answer it cannot give. */
	assert_used(f4, 0);
	assert_used(f6, 0);
	fakeip_free(f4);
	fakeip_free(f6);
}

static void
test_any(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", "fd00::/64", 0);
	struct fakeip *f4 = pool("198.18.0.0/15", NULL, 0);
	uint8_t q[512];
	struct resp r;
	size_t n;

	(void)state;
	n = mkq(q, "any.example", T_ANY);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_int_equal(rcode(&r), 0);
	assert_int_equal(r.an, 2);
	assert_int_equal(r.rr[0].type, T_A);
	assert_int_equal(r.rr[1].type, T_AAAA);
	assert_int_equal(udp(f4, q, n, 0, &r), DNS_REPLY);
	assert_int_equal(r.an, 1);
	assert_int_equal(r.rr[0].type, T_A);
	assert_int_equal(udp(NULL, q, n, 0, &r), DNS_FORWARD);
	fakeip_free(f);
	fakeip_free(f4);
}

static void
test_no_pool_forwards(void **state)
{
	static const uint16_t types[] = { T_A, T_AAAA, T_PTR, T_MX };
	uint8_t q[512];
	struct resp r;
	size_t n;

	(void)state;
	for (size_t i = 0; i < NELEM(types); i++) {
		n = mkq(q, "1.0.18.198.in-addr.arpa", types[i]);
		assert_int_equal(udp(NULL, q, n, 0, &r), DNS_FORWARD);
	}
	n = mkq(q, "localhost", T_A);
	assert_int_equal(udp(NULL, q, n, 0, &r), DNS_REPLY);
	assert_int_equal(r.an, 1);
	n = mkq(q, "svc.example", T_HTTPS);
	assert_empty(NULL, q, n, 0);
}

static void
test_root_forwarded(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", "fd00::/64", 0);
	uint8_t q[512];
	struct resp r;
	size_t n;

	(void)state;
	n = mkq(q, "", T_A);
	assert_int_equal(n, 12 + 1 + 4);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_FORWARD);
	n = mkq(q, "", T_AAAA);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_FORWARD);
	n = mkq(q, "", T_NS);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_FORWARD);
	fakeip_free(f);
}

static void
test_non_text_refused(void **state)
{
	/* Label bytes a SOCKS5 name or the exit's resolver would misread. */
	static const struct {
		const char *label;
		size_t len;
	} bad[] = {
		{ "a b", 3 }, { "a.b", 3 }, { "a\\b", 3 }, { "a\0b", 3 }, { "\xff", 1 },
		{ "\x7f", 1 }, { "caf\xc3\xa9", 5 }, { "\t", 1 },
	};
	struct fakeip *f = pool("198.18.0.0/15", "fd00::/64", 0);
	char text[FAKEIP_NAME_MAX + 1];
	uint8_t q[512];
	size_t n;

	(void)state;
	for (size_t i = 0; i < NELEM(bad); i++) {
		size_t off = put16(q, 0, 0x4242);

		off = put16(q, off, RD);
		off = put16(q, off, 1);
		memset(q + off, 0, 6);
		off += 6;
		q[off++] = (uint8_t)bad[i].len;
		memcpy(q + off, bad[i].label, bad[i].len);
		off += bad[i].len;
		off = put_name(q, off, "example");
		off = put16(q, off, T_A);
		n = put16(q, off, 1);
		assert_empty(f, q, n, 5);
		put16(q, n - 4, T_AAAA);
		assert_empty(f, q, n, 5);
		put16(q, n - 4, T_ANY);
		assert_empty(f, q, n, 5);
		/* Other types are the exit's business, bytes and all. */
		put16(q, n - 4, T_MX);
		struct resp r;
		assert_int_equal(udp(f, q, n, 0, &r), DNS_FORWARD);
		assert_false(dns_question(q, n, text, sizeof(text), NULL, NULL));
	}
	assert_used(f, 0);
	fakeip_free(f);
}

/* The reverse name of a, in-addr.arpa or ip6.arpa, in the case asked for. */
static void
reverse(const struct addr *a, bool upper, char *buf, size_t cap)
{
	static const char hex_lo[] = "0123456789abcdef", hex_up[] = "0123456789ABCDEF";
	const char *hex = upper ? hex_up : hex_lo;
	size_t off = 0;

	if (a->family == AF_INET) {
		snprintf(buf, cap, "%u.%u.%u.%u.%s", a->a[3], a->a[2], a->a[1], a->a[0],
			 upper ? "IN-ADDR.ARPA" : "in-addr.arpa");
		return;
	}
	for (int i = 15; i >= 0; i--) {
		buf[off++] = hex[a->a[i] & 0xf];
		buf[off++] = '.';
		buf[off++] = hex[a->a[i] >> 4];
		buf[off++] = '.';
	}
	snprintf(buf + off, cap - off, "%s", upper ? "Ip6.Arpa" : "ip6.arpa");
}

static void
assert_ptr(struct fakeip *f, const char *rev, const char *want)
{
	uint8_t q[512], wire[300];
	struct resp r;
	size_t n;

	n = mkq(q, rev, T_PTR);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_int_equal(rcode(&r), 0);
	assert_int_equal(r.an, 1);
	assert_int_equal(r.rr[0].type, T_PTR);
	assert_int_equal(r.rr[0].ttl, DNS_FAKE_TTL);
	n = put_name(wire, 0, want);
	assert_int_equal(r.rr[0].rdlen, n);
	assert_memory_equal(r.rr[0].rdata, wire, n);
}

static void
test_ptr_roundtrip(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", "fdfe:dcba:9876::/64", 0);
	char rev[128], longest[FAKEIP_NAME_MAX + 1];
	uint8_t q[512];
	struct addr v4, v6;
	struct resp r;
	size_t n;

	(void)state;
	n = mkq(q, "Host.Example.NET", T_A);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	addr_set_raw(&v4, r.rr[0].rdata, 4);
	n = mkq(q, "host.example.net", T_AAAA);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	addr_set_raw(&v6, r.rr[0].rdata, 16);

	/* The name as the pool keeps it: lowercase. */
	reverse(&v4, false, rev, sizeof(rev));
	assert_string_equal(rev, "1.0.18.198.in-addr.arpa");
	assert_ptr(f, rev, "host.example.net");
	reverse(&v4, true, rev, sizeof(rev));
	assert_ptr(f, rev, "host.example.net");
	reverse(&v6, false, rev, sizeof(rev));
	assert_ptr(f, rev, "host.example.net");
	reverse(&v6, true, rev, sizeof(rev));
	assert_ptr(f, rev, "host.example.net");

	/* The longest name the pool holds fits a PTR answer. */
	memset(longest, 'a', FAKEIP_NAME_MAX);
	for (size_t i = 63; i < FAKEIP_NAME_MAX; i += 64) {
		longest[i] = '.';
	}
	longest[FAKEIP_NAME_MAX] = '\0';
	n = mkq(q, longest, T_A);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_int_equal(r.an, 1);
	addr_set_raw(&v4, r.rr[0].rdata, 4);
	reverse(&v4, false, rev, sizeof(rev));
	assert_ptr(f, rev, longest);
	fakeip_free(f);
}

static void
test_ptr_other(void **state)
{
	static const char *const forwarded[] = {
		"8.8.8.8.in-addr.arpa",          /* not fake */
		"18.198.in-addr.arpa",           /* a zone, not an address */
		"1.1.0.18.198.in-addr.arpa",     /* five labels */
		"01.0.18.198.in-addr.arpa",      /* leading zero */
		"256.0.18.198.in-addr.arpa",
		"1.0.18.198.in-addr.arpa.example",
		"x.0.18.198.in-addr.arpa",
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.7.8.9.a.b.c.d.e.f.d.f.ip6.arpa", /* 28 nibbles */
		"10.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.7.8.9.a.b.c.d.e.f.d.f.ip6.arpa",
		/* A 'g' where a nibble should be. */
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.7.8.9.a.b.c.d.e.g.d.f.ip6.arpa",
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.7.8.9.a.b.c.d.e.f.d.f-ip6.arpa",
		"example.com",
	};
	static const char *const nx[] = {
		"2.0.18.198.in-addr.arpa",       /* in range, never given */
		"0.0.18.198.in-addr.arpa",       /* the network address */
		"255.255.19.198.in-addr.arpa",   /* the broadcast address */
		"2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.7.8.9.a.b.c.d.e.f.d.f.ip6.arpa",
	};
	struct fakeip *f = pool("198.18.0.0/15", "fdfe:dcba:9876::/64", 0);
	uint8_t q[512];
	struct resp r;
	size_t n;

	(void)state;
	n = mkq(q, "one.example", T_A);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_ptr(f, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.7.8.9.a.b.c.d.e.f.d.f.ip6.arpa",
		   "one.example");
	for (size_t i = 0; i < NELEM(forwarded); i++) {
		n = mkq(q, forwarded[i], T_PTR);
		assert_int_equal(udp(f, q, n, 0, &r), DNS_FORWARD);
	}
	for (size_t i = 0; i < NELEM(nx); i++) {
		n = mkq(q, nx[i], T_PTR);
		assert_empty(f, q, n, 3);
	}
	/* Other types on a reverse name are the exit's. */
	n = mkq(q, "1.0.18.198.in-addr.arpa", T_TXT);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_FORWARD);
	fakeip_free(f);
}

static void
test_https_svcb(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", NULL, 0);
	uint8_t q[512];
	size_t n;

	(void)state;
	n = mkq(q, "www.example.com", T_HTTPS);
	assert_empty(f, q, n, 0);
	n = mkq(q, "_dns.resolver.arpa", T_SVCB);
	assert_empty(f, q, n, 0);
	n = mkq_full(q, 1, RD, "svc.example", T_HTTPS, 1, 1232, 0, true);
	assert_empty(f, q, n, 0);
	assert_used(f, 0);
	fakeip_free(f);
}

static void
test_localhost(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", "fd00::/64", 0);
	uint8_t q[512];
	struct resp r;
	size_t n;

	(void)state;
	n = mkq(q, "localhost", T_A);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_int_equal(r.an, 1);
	assert_memory_equal(r.rr[0].rdata, "\x7f\x00\x00\x01", 4);
	n = mkq(q, "Web.App.LocalHost", T_AAAA);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_int_equal(r.an, 1);
	assert_memory_equal(r.rr[0].rdata, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	n = mkq(q, "localhost", T_ANY);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_int_equal(r.an, 2);
	static const uint16_t others[] = { T_MX, T_TXT, T_PTR, T_HTTPS, T_NS, T_SOA };
	for (size_t i = 0; i < NELEM(others); i++) {
		n = mkq(q, "x.localhost", others[i]);
		assert_empty(f, q, n, 0);
	}
	assert_used(f, 0);
	/* Only the last label counts. */
	n = mkq(q, "localhost.example.com", T_A);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_memory_equal(r.rr[0].rdata, "\xc6\x12\x00\x01", 4);
	n = mkq(q, "notlocalhost", T_A);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_memory_equal(r.rr[0].rdata, "\xc6\x12\x00\x02", 4);
	fakeip_free(f);
}

static void
test_forwarded_and_refused_types(void **state)
{
	static const uint16_t fwd[] = { T_NS, T_CNAME, T_SOA, T_MX, T_TXT, T_SRV, T_CAA, 99, 0 };
	struct fakeip *f = pool("198.18.0.0/15", NULL, 0);
	uint8_t q[512];
	struct resp r;
	size_t n;

	(void)state;
	for (size_t i = 0; i < NELEM(fwd); i++) {
		n = mkq(q, "example.com", fwd[i]);
		assert_int_equal(udp(f, q, n, 0, &r), DNS_FORWARD);
		n = mkq_full(q, 9, RD, "example.com", fwd[i], 1, 4096, 0, true);
		assert_int_equal(udp(f, q, n, 0, &r), DNS_FORWARD);
	}
	n = mkq(q, "example.com", T_AXFR);
	assert_empty(f, q, n, 5);
	n = mkq(q, "example.com", T_IXFR);
	assert_empty(f, q, n, 5);
	fakeip_free(f);
}

static void
test_classes_refused(void **state)
{
	static const uint16_t classes[] = { 3, 4, 254, 255, 0, 2 };
	struct fakeip *f = pool("198.18.0.0/15", NULL, 0);
	uint8_t q[512];
	struct resp r;
	size_t n;

	(void)state;
	for (size_t i = 0; i < NELEM(classes); i++) {
		n = mkq_full(q, 3, RD, "version.bind", T_TXT, classes[i], 0, 0, false);
		assert_empty(f, q, n, 5);
		n = mkq_full(q, 3, RD, "example.com", T_A, classes[i], 1232, 0, false);
		assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
		assert_int_equal(rcode(&r), 5);
		assert_int_equal(r.qd, 1);
		assert_true(r.opt);
	}
	assert_used(f, 0);
	fakeip_free(f);
}

static void
test_notimp(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", NULL, 0);
	uint8_t q[512];
	struct resp r;
	size_t n;

	(void)state;
	for (uint16_t op = 1; op < 16; op++) {
		n = mkq_full(q, 5, (uint16_t)(RD | op << 11), "example.com", T_A, 1, 0, 0, false);
		assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
		assert_int_equal(rcode(&r), 4);
		assert_int_equal(r.qd, 0);
		assert_int_equal((r.flags >> 11) & 0xf, op);
	}
	/* Even with counts that would be a FORMERR in a QUERY (UPDATE's sections). */
	n = mkq_full(q, 5, 5 << 11, "example.com", 6, 1, 0, 0, false);
	put16(q, 6, 3);
	put16(q, 8, 2);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_int_equal(rcode(&r), 4);
	fakeip_free(f);
}

static void
test_dropped(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", NULL, 0);
	uint8_t q[512];
	size_t n, out_len;
	struct resp r;

	(void)state;
	n = mkq_full(q, 5, QR | RD, "example.com", T_A, 1, 0, 0, false);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_DROP);
	/* A response with an error code, or garbage behind QR: still dropped. */
	memset(q + 2, 0xff, 10);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_DROP);
	n = mkq(q, "example.com", T_A);
	for (size_t i = 0; i < 12; i++) {
		assert_int_equal(handle(f, q, i, 512, 0, sizeof(out), &r), DNS_DROP);
	}
	/* No room for even a header. */
	assert_int_equal(handle(f, q, n, 11, 0, sizeof(out), &r), DNS_DROP);
	assert_int_equal(handle(f, q, n, 512, 0, 11, &r), DNS_DROP);
	assert_int_equal(dns_handle(f, NULL, n, 512, 0, out, sizeof(out), &out_len), DNS_DROP);
	assert_int_equal(dns_handle(f, q, n, 512, 0, NULL, sizeof(out), &out_len), DNS_DROP);
	assert_int_equal(dns_handle(f, q, n, 512, 0, out, sizeof(out), NULL), DNS_DROP);
	fakeip_free(f);
}

static void
test_formerr_counts(void **state)
{
	uint8_t q[512];
	size_t n;

	(void)state;
	n = mkq(q, "example.com", T_A);
	put16(q, 4, 0);
	assert_formerr(q, n);
	put16(q, 4, 2);
	assert_formerr(q, n);
	/* Two real questions. */
	n = mkq(q, "example.com", T_A);
	put16(q, 4, 2);
	memcpy(q + n, q + 12, n - 12);
	assert_formerr(q, n + n - 12);
	n = mkq(q, "example.com", T_A);
	put16(q, 6, 1);
	assert_formerr(q, n);
	n = mkq(q, "example.com", T_A);
	put16(q, 8, 1);
	assert_formerr(q, n);
	n = mkq_full(q, 1, RD, "example.com", T_A, 1, 1232, 0, false);
	put16(q, 10, 2);
	assert_formerr(q, n);
	/* Two OPT records. */
	memcpy(q + n, q + n - 11, 11);
	assert_formerr(q, n + 11);
	/* Trailing bytes. */
	n = mkq(q, "example.com", T_A);
	q[n] = 0;
	assert_formerr(q, n + 1);
}

static void
test_formerr_truncated(void **state)
{
	uint8_t q[512];
	size_t n;

	(void)state;
	n = mkq_full(q, 1, RD, "www.example.com", T_A, 1, 1232, 0, false);
	for (size_t i = 12; i < n; i++) {
		assert_formerr(q, i);
	}
	n = mkq(q, "www.example.com", T_A);
	for (size_t i = 12; i < n; i++) {
		assert_formerr(q, i);
	}
	assert_int_equal(dns_udp_limit(q, n - 1), 512);
}

static void
test_formerr_lengths(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", NULL, 0);
	char name[300];
	uint8_t q[600];
	struct resp r;
	size_t n;

	(void)state;
	/* A 64-byte label. */
	memset(name, 'a', 64);
	strcpy(name + 64, ".com");
	n = mkq(q, name, T_A);
	assert_formerr(q, n);
	strcpy(name + 63, ".com");
	n = mkq(q, name, T_A);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_int_equal(r.an, 1);

	/* 255 wire bytes pass (253 in text), 256 do not. */
	memset(name, 'b', sizeof(name));
	for (size_t i = 63; i < sizeof(name); i += 64) {
		name[i] = '.';
	}
	name[253] = '\0';
	n = mkq(q, name, T_A);
	assert_int_equal(n, 12 + 255 + 4);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_int_equal(r.an, 1);
	name[253] = 'b';
	name[254] = '\0';
	n = mkq(q, name, T_A);
	assert_formerr(q, n);
	n = mkq(q, name, T_MX);
	assert_formerr(q, n);

	/* Label types 0x40 and 0x80. */
	n = mkq(q, "example.com", T_A);
	q[12] = 0x47;
	assert_formerr(q, n);
	q[12] = 0x87;
	assert_formerr(q, n);
	fakeip_free(f);
}

static void
test_formerr_pointers(void **state)
{
	/* Questions whose name is or holds a pointer: none can be legitimate. */
	static const uint8_t names[][8] = {
		{ 0xc0, 0x0c },                         /* itself */
		{ 0x01, 'a', 0xc0, 0x0c },              /* back to its own start: a loop */
		{ 0xc0, 0x0e, 0x01, 'a', 0x00 },        /* forward */
		{ 0xc0, 0x02 },                         /* into the header */
		{ 0xc0, 0x00 },
		{ 0xc1, 0x00 },                         /* beyond the message */
		{ 0xff, 0xff },
		{ 0xc0 },                               /* cut */
	};
	static const size_t lens[] = { 2, 4, 5, 2, 2, 2, 2, 1 };
	uint8_t q[64];
	size_t n;

	(void)state;
	for (size_t i = 0; i < NELEM(names); i++) {
		memcpy(q, "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
		memcpy(q + 12, names[i], lens[i]);
		n = 12 + lens[i];
		n = put16(q, n, T_A);
		n = put16(q, n, 1);
		assert_formerr(q, n);
	}
}

static void
test_opt_owner_pointer(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", NULL, 0);
	uint8_t q[512];
	struct resp r;
	size_t n, root;

	(void)state;
	/* The OPT's root owner as a pointer to the question's root label: legal. */
	n = mkq_full(q, 1, RD, "example.com", T_A, 1, 1232, 0, true);
	root = 12 + 13 - 1;
	assert_int_equal(q[root], 0);
	memmove(q + n - 10 + 1, q + n - 10, 10);
	q[n - 11] = 0xc0;
	q[n - 10] = (uint8_t)root;
	n++;
	assert_int_equal(dns_udp_limit(q, n), 1232);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_int_equal(r.an, 1);
	assert_true(r.opt);
	assert_true(r.do_bit);
	/* Pointing at a label instead: the owner is no longer the root. */
	q[n - 10] = 12 + 8;
	assert_formerr(q, n);
	/* Pointing at itself. */
	q[n - 10] = (uint8_t)(n - 11);
	assert_formerr(q, n);
	fakeip_free(f);
}

static void
test_formerr_opt(void **state)
{
	uint8_t q[512];
	size_t n;

	(void)state;
	/* The additional record is not an OPT. */
	n = mkq_full(q, 1, RD, "example.com", T_A, 1, 1232, 0, false);
	put16(q, n - 10, 250);
	assert_formerr(q, n);
	/* An OPT owned by a name. */
	n = mkq_full(q, 1, RD, "example.com", T_A, 1, 1232, 0, false);
	memmove(q + n - 10 + 2, q + n - 10, 10);
	q[n - 11] = 1;
	q[n - 10] = 'x';
	q[n - 9] = 0;
	assert_formerr(q, n + 2);
	/* RDLENGTH past the end, and an option whose length does. */
	n = mkq_full(q, 1, RD, "example.com", T_A, 1, 1232, 0, false);
	put16(q, n - 2, 4);
	assert_formerr(q, n);
	memcpy(q + n, "\x00\x0a\x00\x08", 4);
	assert_formerr(q, n + 4);
	put16(q, n - 2, 3);
	assert_formerr(q, n + 3);
	/* A well-formed option is fine. */
	put16(q, n - 2, 12);
	memcpy(q + n, "\x00\x0a\x00\x08" "abcdefgh", 12);
	assert_int_equal(dns_udp_limit(q, n + 12), 1232);
}

static void
test_edns_echo(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", NULL, 0);
	uint8_t q[512];
	struct resp r;
	size_t n;

	(void)state;
	n = mkq_full(q, 1, RD | CD, "example.com", T_A, 1, 4096, 0, true);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_true(r.opt);
	assert_int_equal(r.opt_size, DNS_EDNS_SIZE);
	assert_true(r.do_bit);
	assert_int_equal(r.ext_rcode, 0);
	assert_int_equal(r.version, 0);
	n = mkq_full(q, 1, RD, "example.com", T_MX, 1, 512, 0, false);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_FORWARD);
	n = mkq_full(q, 1, RD, "example.com", T_HTTPS, 1, 512, 0, false);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_true(r.opt);
	assert_false(r.do_bit);
	n = mkq(q, "example.com", T_A);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_false(r.opt);
	fakeip_free(f);
}

static void
test_badvers(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", NULL, 0);
	uint8_t q[512];
	struct resp r;
	size_t n;

	(void)state;
	n = mkq_full(q, 1, RD, "example.com", T_A, 1, 1232, 1, true);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_int_equal(r.flags & 0xf, 0);
	assert_int_equal(r.ext_rcode, 1);
	assert_int_equal(rcode(&r), 16);
	assert_int_equal(r.version, 0);
	assert_int_equal(r.qd, 1);
	assert_int_equal(r.an, 0);
	assert_true(r.do_bit);
	/* Before anything else: types we would forward too. */
	n = mkq_full(q, 1, RD, "example.com", T_MX, 1, 1232, 255, false);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_int_equal(rcode(&r), 16);
	assert_used(f, 0);
	fakeip_free(f);
}

static void
test_exhaustion_servfail(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", NULL, 1);
	uint8_t q[512];
	struct resp r;
	size_t n;

	(void)state;
	n = mkq(q, "first.example", T_A);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_int_equal(r.an, 1);
	n = mkq(q, "second.example", T_A);
	assert_empty(f, q, n, 2);
	n = mkq(q, "second.example", T_AAAA);
	/* No IPv6 range: NOERROR, and nothing taken. */
	assert_empty(f, q, n, 0);
	n = mkq(q, "second.example", T_A);
	assert_int_equal(udp(f, q, n, HOLD, &r), DNS_REPLY);
	assert_int_equal(rcode(&r), 0);
	assert_int_equal(r.an, 1);
	assert_memory_equal(r.rr[0].rdata, "\xc6\x12\x00\x01", 4);
	fakeip_free(f);
}

static void
test_truncation(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", "fd00::/64", 0);
	char longest[FAKEIP_NAME_MAX + 1];
	uint8_t q[512];
	struct resp r;
	size_t n, full, qsec;

	(void)state;
	memset(longest, 'c', FAKEIP_NAME_MAX);
	for (size_t i = 63; i < FAKEIP_NAME_MAX; i += 64) {
		longest[i] = '.';
	}
	longest[FAKEIP_NAME_MAX] = '\0';
	n = mkq_full(q, 1, RD, longest, T_ANY, 1, 1232, 0, false);
	qsec = 255 + 4;
	full = 12 + qsec + 16 + 28 + 11;
	assert_int_equal(handle(f, q, n, full, 0, sizeof(out), &r), DNS_REPLY);
	assert_int_equal(r.an, 2);
	assert_false(r.flags & TC);
	/* One byte short, whether the transport or the buffer is the limit. */
	assert_int_equal(handle(f, q, n, full - 1, 0, sizeof(out), &r), DNS_REPLY);
	assert_true(r.flags & TC);
	assert_int_equal(r.an, 0);
	assert_int_equal(r.qd, 1);
	assert_true(r.opt);
	assert_int_equal(handle(f, q, n, 512, 0, full - 1, &r), DNS_REPLY);
	assert_true(r.flags & TC);
	/* Then the OPT goes, then the question. */
	assert_int_equal(handle(f, q, n, 12 + qsec + 10, 0, sizeof(out), &r), DNS_REPLY);
	assert_true(r.flags & TC);
	assert_int_equal(r.qd, 1);
	assert_false(r.opt);
	assert_int_equal(handle(f, q, n, 12 + qsec - 1, 0, sizeof(out), &r), DNS_REPLY);
	assert_true(r.flags & TC);
	assert_int_equal(r.qd, 0);
	assert_int_equal(handle(f, q, n, 12, 0, sizeof(out), &r), DNS_REPLY);
	assert_true(r.flags & TC);
	assert_int_equal(r.qd, 0);

	/* A long PTR answer over UDP without EDNS0 still fits 512; with max_len 300 it does not. */
	n = mkq(q, longest, T_A);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	char rev[80];
	snprintf(rev, sizeof(rev), "%u.%u.%u.%u.in-addr.arpa", r.rr[0].rdata[3], r.rr[0].rdata[2],
		 r.rr[0].rdata[1], r.rr[0].rdata[0]);
	n = mkq(q, rev, T_PTR);
	assert_int_equal(udp(f, q, n, 0, &r), DNS_REPLY);
	assert_false(r.flags & TC);
	assert_int_equal(r.an, 1);
	assert_int_equal(handle(f, q, n, 300, 0, sizeof(out), &r), DNS_REPLY);
	assert_true(r.flags & TC);
	assert_int_equal(r.an, 0);
	assert_int_equal(rcode(&r), 0);
	fakeip_free(f);
}

static void
test_udp_limit(void **state)
{
	static const struct {
		uint16_t size;
		size_t want;
	} cases[] = {
		{ 1, 512 }, { 511, 512 }, { 512, 512 }, { 1232, 1232 }, { 1400, 1400 },
		{ 4096, 4096 }, { 4097, 4096 }, { 65535, 4096 },
	};
	uint8_t q[512];
	size_t n;

	(void)state;
	n = mkq(q, "example.com", T_A);
	assert_int_equal(dns_udp_limit(q, n), 512);
	for (size_t i = 0; i < NELEM(cases); i++) {
		n = mkq_full(q, 1, RD, "example.com", T_TXT, 1, cases[i].size, 0, false);
		assert_int_equal(dns_udp_limit(q, n), cases[i].want);
	}
	assert_int_equal(dns_udp_limit(q, 5), 512);
	assert_int_equal(dns_udp_limit(NULL, 0), 512);
}

/* A forwarded answer: the question, then n TXT records of 200 bytes each. */
static size_t
mk_answer(uint8_t *b, const char *name, size_t n_txt, bool opt)
{
	size_t off = mkq_full(b, 0x7777, QR | RD | RA, name, T_TXT, 1, 0, 0, false);

	put16(b, 6, (uint16_t)n_txt);
	for (size_t i = 0; i < n_txt; i++) {
		off = put16(b, off, 0xc00c);
		off = put16(b, off, T_TXT);
		off = put16(b, off, 1);
		off = put16(b, off, 0);
		off = put16(b, off, 300);
		off = put16(b, off, 200);
		b[off++] = 199;
		memset(b + off, 't', 199);
		off += 199;
	}
	if (opt) {
		put16(b, 10, 1);
		memcpy(b + off, "\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00", 11);
		off += 11;
	}
	return off;
}

static void
test_fit(void **state)
{
	uint8_t m[4096], copy[4096], q[512];
	size_t n, lim, qsec = 13 + 4;

	(void)state;
	/* Fits: untouched. */
	n = mk_answer(m, "example.com", 2, true);
	memcpy(copy, m, n);
	assert_int_equal(dns_fit(m, n, 512), n);
	assert_memory_equal(m, copy, n);

	/* At 512 (UDP without EDNS0): cut to header and question with TC. */
	n = mk_answer(m, "example.com", 5, true);
	assert_true(n > 512);
	assert_int_equal(dns_fit(m, n, 512), 12 + qsec);
	assert_int_equal(get16(m, 0), 0x7777);
	assert_int_equal(get16(m, 2), QR | TC | RD | RA);
	assert_int_equal(get16(m, 4), 1);
	assert_int_equal(get16(m, 6), 0);
	assert_int_equal(get16(m, 8), 0);
	assert_int_equal(get16(m, 10), 0);
	assert_memory_equal(m + 12, "\x07" "example\x03" "com\x00\x00\x10\x00\x01", qsec);

	/* At the client's EDNS0 size. */
	lim = dns_udp_limit(q, mkq_full(q, 1, RD, "example.com", T_TXT, 1, 1232, 0, false));
	assert_int_equal(lim, 1232);
	n = mk_answer(m, "example.com", 5, true);
	assert_int_equal(dns_fit(m, n, lim), n);
	n = mk_answer(m, "example.com", 7, true);
	assert_true(n > 1232);
	assert_int_equal(dns_fit(m, n, 1232), 12 + qsec);
	assert_true(get16(m, 2) & TC);
	/* Over TCP everything fits. */
	n = mk_answer(m, "example.com", 7, true);
	assert_int_equal(dns_fit(m, n, DNS_MAX_MSG), n);

	/* Not a response, or not well-formed: 0. */
	n = mk_answer(m, "example.com", 1, false);
	put16(m, 2, RD);
	assert_int_equal(dns_fit(m, n, 512), 0);
	n = mk_answer(m, "example.com", 1, false);
	put16(m, 4, 2);
	assert_int_equal(dns_fit(m, n, 512), 0);
	n = mk_answer(m, "example.com", 1, false);
	m[12] = 64;
	assert_int_equal(dns_fit(m, n, 512), 0);
	n = mk_answer(m, "example.com", 0, false);
	assert_int_equal(dns_fit(m, n - 1, 512), 0);
	assert_int_equal(dns_fit(m, 11, 512), 0);
	assert_int_equal(dns_fit(NULL, 100, 512), 0);
	/* Header and question alone too long for max_len. */
	n = mk_answer(m, "example.com", 5, false);
	assert_int_equal(dns_fit(m, n, 12 + qsec - 1), 0);
	/* A SERVFAIL without a question (some servers send those) passes. */
	memcpy(m, "\x77\x77\x81\x82\x00\x00\x00\x00\x00\x00\x00\x00", 12);
	assert_int_equal(dns_fit(m, 12, 512), 12);
}

static void
test_ids(void **state)
{
	uint8_t m[12] = { 0xab, 0xcd };
	uint16_t id = 0;

	(void)state;
	assert_true(dns_get_id(m, sizeof(m), &id));
	assert_int_equal(id, 0xabcd);
	dns_set_id(m, sizeof(m), 0x0102);
	assert_memory_equal(m, "\x01\x02", 2);
	assert_true(dns_get_id(m, 2, &id));
	assert_int_equal(id, 0x0102);
	assert_false(dns_get_id(m, 1, &id));
	assert_false(dns_get_id(NULL, 12, &id));
	/* Too short: nothing written. */
	dns_set_id(m, 1, 0xffff);
	assert_int_equal(m[0], 0x01);
	dns_set_id(NULL, 12, 0xffff);
}

static void
test_question(void **state)
{
	char name[FAKEIP_NAME_MAX + 1];
	uint16_t type = 0, class = 0;
	uint8_t q[512];
	size_t n;

	(void)state;
	assert_true(dns_question(dig_a, sizeof(dig_a), name, sizeof(name), &type, &class));
	assert_string_equal(name, "example.com");
	assert_int_equal(type, T_A);
	assert_int_equal(class, 1);
	assert_true(dns_question(glibc_aaaa, sizeof(glibc_aaaa), name, sizeof(name), &type, NULL));
	assert_string_equal(name, "example.org");
	assert_int_equal(type, T_AAAA);
	n = mkq_full(q, 1, RD, "", T_NS, 3, 0, 0, false);
	assert_true(dns_question(q, n, name, sizeof(name), &type, &class));
	assert_string_equal(name, "");
	assert_int_equal(class, 3);
	/* The name and its NUL must fit. */
	assert_true(dns_question(glibc_aaaa, sizeof(glibc_aaaa), name, 12, NULL, NULL));
	assert_false(dns_question(glibc_aaaa, sizeof(glibc_aaaa), name, 11, NULL, NULL));
	assert_false(dns_question(glibc_aaaa, sizeof(glibc_aaaa) - 1, name, sizeof(name), NULL,
				  NULL));
	assert_false(dns_question(glibc_aaaa, 11, name, sizeof(name), NULL, NULL));
	assert_false(dns_question(NULL, 0, name, sizeof(name), NULL, NULL));
}

/* DNS over TCP framing: frames split anywhere, several in one buffer, empty ones skipped. */
static void
test_frames(void **state)
{
	static const uint8_t stream[] = { 0, 3, 'a', 'b', 'c', 0, 0, 0, 1, 'x', 0, 2, 'y', 'z' };
	const char *want[] = { "abc", "x", "yz" };
	struct dns_frame f = { 0 };

	/* Fed one byte at a time, then all at once: the same three messages. */
	for (size_t step = 1; step <= sizeof(stream); step += sizeof(stream) - 1) {
		size_t off = 0, got = 0;

		while (off < sizeof(stream)) {
			size_t len = sizeof(stream) - off < step ? sizeof(stream) - off : step, mlen;
			uint8_t *msg;
			size_t n = dns_frame_take(&f, stream + off, len, &msg, &mlen);

			assert_true(n > 0 && n <= len);
			off += n;
			if (msg) {
				assert_true(got < 3);
				assert_int_equal(mlen, strlen(want[got]));
				assert_memory_equal(msg, want[got], mlen);
				got++;
			}
		}
		assert_int_equal(got, 3);
		assert_int_equal(f.len, 0);
	}
	/* The longest frame: 65535 bytes. */
	{
		static uint8_t big[2 + DNS_MAX_MSG];
		uint8_t *msg = NULL;
		size_t mlen = 0, off = 0;

		big[0] = 0xff;
		big[1] = 0xff;
		while (msg == NULL) {
			size_t n = dns_frame_take(&f, big + off, sizeof(big) - off, &msg, &mlen);

			assert_true(n > 0);
			off += n;
		}
		assert_int_equal(off, sizeof(big));
		assert_int_equal(mlen, DNS_MAX_MSG);
	}
	dns_frame_fini(&f);
	assert_null(f.buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_a_aaaa),
		cmocka_unit_test(test_dig_query),
		cmocka_unit_test(test_mixed_case),
		cmocka_unit_test(test_family_missing),
		cmocka_unit_test(test_any),
		cmocka_unit_test(test_no_pool_forwards),
		cmocka_unit_test(test_root_forwarded),
		cmocka_unit_test(test_non_text_refused),
		cmocka_unit_test(test_ptr_roundtrip),
		cmocka_unit_test(test_ptr_other),
		cmocka_unit_test(test_https_svcb),
		cmocka_unit_test(test_localhost),
		cmocka_unit_test(test_forwarded_and_refused_types),
		cmocka_unit_test(test_classes_refused),
		cmocka_unit_test(test_notimp),
		cmocka_unit_test(test_dropped),
		cmocka_unit_test(test_formerr_counts),
		cmocka_unit_test(test_formerr_truncated),
		cmocka_unit_test(test_formerr_lengths),
		cmocka_unit_test(test_formerr_pointers),
		cmocka_unit_test(test_opt_owner_pointer),
		cmocka_unit_test(test_formerr_opt),
		cmocka_unit_test(test_edns_echo),
		cmocka_unit_test(test_badvers),
		cmocka_unit_test(test_exhaustion_servfail),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_udp_limit),
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_question),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

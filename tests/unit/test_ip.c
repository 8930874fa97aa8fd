/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the IP codec (tund/ip.c): the checksum against a byte-wise
 * reference at every length and alignment, each field and trim of a parsed
 * view, every drop reason, every length field lying in both directions,
 * every prefix of valid packets, and the built packets (header, UDP, ICMP
 * unreachable, echo reply) byte for byte and through the parser again.
 *
 * Packets here are built by hand with a checksum written independently of
 * ip.c, so that a wrong sum in ip.c cannot agree with itself.
 */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../tund/ip.h"

#define NELEM(x) (sizeof(x) / sizeof((x)[0]))

struct pkt {
	uint8_t b[2048];
	size_t len;
};

static const uint8_t v4_a[4] = { 192, 0, 2, 1 };
static const uint8_t v4_b[4] = { 198, 51, 100, 7 };
static const uint8_t v6_a[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t v6_b[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 7 };

/* A SYN, 40000 -> 443, with two bytes of data to make it uneven. */
static const uint8_t tcp_syn[] = {
	0x9c, 0x40, 0x01, 0xbb, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff,
	0, 0, 0, 0, 'h', 'i',
};

/* An echo request, id 0x1234, seq 7, odd-length data. */
static const uint8_t echo4[] = { 8, 0, 0, 0, 0x12, 0x34, 0, 7, 'p', 'i', 'n', 'g', '!' };
static const uint8_t echo6[] = { 128, 0, 0, 0, 0x12, 0x34, 0, 7, 'p', 'i', 'n', 'g', '!' };

/* RFC 1071 section 3, summed a byte at a time into a wide accumulator. */
static uint32_t
ref_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t s = sum;

	for (size_t i = 0; i < len; i++) {
		s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	}
	while (s >> 16) {
		s = (s & 0xffff) + (s >> 16);
	}
	return (uint32_t)s;
}

static void
put16(uint8_t *b, size_t off, uint16_t v)
{
	b[off] = (uint8_t)(v >> 8);
	b[off + 1] = (uint8_t)v;
}

static uint16_t
get16(const uint8_t *b, size_t off)
{
	return (uint16_t)(b[off] << 8 | b[off + 1]);
}

static uint32_t
ref_pseudo(const uint8_t *src, const uint8_t *dst, size_t alen, uint8_t proto, uint32_t len)
{
	uint8_t tail[8] = { 0, 0, 0, proto, (uint8_t)(len >> 24), (uint8_t)(len >> 16),
			    (uint8_t)(len >> 8), (uint8_t)len };
	uint32_t s;

	s = ref_sum(0, src, alen);
	s = ref_sum(s, dst, alen);
	return ref_sum(s, tail, sizeof(tail));
}

/* Offset of the checksum field in an upper-layer header, or 0 for none. */
static size_t
csum_off(uint8_t proto)
{
	switch (proto) {
	case IP_PROTO_TCP:
		return 16;
	case IP_PROTO_UDP:
	case IP_PROTO_ICMP:
	case IP_PROTO_ICMPV6:
		return 2;
	default:
		return 0;
	}
}

/* Writes the right checksum into the upper-layer bytes l4[0..len). */
static void
fix_l4(uint8_t *l4, size_t len, uint8_t proto, const uint8_t *src, const uint8_t *dst,
       size_t alen)
{
	size_t off = csum_off(proto);
	uint32_t s = 0;
	uint16_t c;

	if (off == 0 || len < off + 2) {
		return;
	}
	if (proto == IP_PROTO_UDP) {
		if (len < 8) {
			return;
		}
		off = 6;
		len = get16(l4, 4) <= len ? get16(l4, 4) : len;
	}
	put16(l4, off, 0);
	if (proto != IP_PROTO_ICMP) {
		s = ref_pseudo(src, dst, alen, proto, (uint32_t)len);
	}
	c = (uint16_t)~ref_sum(s, l4, len);
	if (proto == IP_PROTO_UDP && c == 0) {
		c = 0xffff;
	}
	put16(l4, off, c);
}

static void
fix_v4_hdr(struct pkt *pk)
{
	size_t hlen = (size_t)(pk->b[0] & 0x0f) * 4;

	put16(pk->b, 10, 0);
	put16(pk->b, 10, (uint16_t)~ref_sum(0, pk->b, hlen));
}

/* IPv4 with optlen bytes of options (a multiple of 4), l4 checksum fixed. */
static void
mk_v4(struct pkt *pk, uint8_t proto, const uint8_t *src, const uint8_t *dst,
      const uint8_t *opts, size_t optlen, const void *l4, size_t l4_len)
{
	size_t hlen = 20 + optlen;

	memset(pk, 0, sizeof(*pk));
	pk->len = hlen + l4_len;
	assert_true(pk->len <= sizeof(pk->b));
	pk->b[0] = (uint8_t)(0x40 | hlen / 4);
	pk->b[1] = 0x28;
	put16(pk->b, 2, (uint16_t)pk->len);
	put16(pk->b, 4, 0xbeef);
	put16(pk->b, 6, 0x4000);
	pk->b[8] = 61;
	pk->b[9] = proto;
	memcpy(pk->b + 12, src, 4);
	memcpy(pk->b + 16, dst, 4);
	if (optlen > 0) {
		memcpy(pk->b + 20, opts, optlen);
	}
	if (l4_len > 0) {
		memcpy(pk->b + hlen, l4, l4_len);
	}
	fix_l4(pk->b + hlen, l4_len, proto, src, dst, 4);
	fix_v4_hdr(pk);
}

/*
 * IPv6 whose first next-header value is nh, then ext[0..extlen) (which
 * name their own successors), then the upper layer of protocol proto.
 */
static void
mk_v6(struct pkt *pk, uint8_t nh, const uint8_t *src, const uint8_t *dst, const uint8_t *ext,
      size_t extlen, uint8_t proto, const void *l4, size_t l4_len)
{
	memset(pk, 0, sizeof(*pk));
	pk->len = 40 + extlen + l4_len;
	assert_true(pk->len <= sizeof(pk->b));
	pk->b[0] = 0x6a;
	pk->b[1] = 0xbc;
	pk->b[2] = 0xde;
	pk->b[3] = 0xf0;
	put16(pk->b, 4, (uint16_t)(extlen + l4_len));
	pk->b[6] = nh;
	pk->b[7] = 63;
	memcpy(pk->b + 8, src, 16);
	memcpy(pk->b + 24, dst, 16);
	if (extlen > 0) {
		memcpy(pk->b + 40, ext, extlen);
	}
	if (l4_len > 0) {
		memcpy(pk->b + 40 + extlen, l4, l4_len);
	}
	fix_l4(pk->b + 40 + extlen, l4_len, proto, src, dst, 16);
}

static void
mk_udp_l4(uint8_t *l4, size_t *len, uint16_t sport, uint16_t dport, const char *data)
{
	size_t n = strlen(data);

	put16(l4, 0, sport);
	put16(l4, 2, dport);
	put16(l4, 4, (uint16_t)(8 + n));
	put16(l4, 6, 0);
	memcpy(l4 + 8, data, n);
	*len = 8 + n;
}

/* ip_parse on an exactly sized heap copy, so ASan sees any overread. */
static enum ip_verdict
verdict_of(const uint8_t *p, size_t len)
{
	struct ip_pkt out, before;
	enum ip_verdict v;
	uint8_t *copy;

	copy = malloc(len > 0 ? len : 1);
	assert_non_null(copy);
	if (len > 0) {
		memcpy(copy, p, len);
	}
	memset(&out, 0xa5, sizeof(out));
	before = out;
	v = ip_parse(copy, len, &out);
	if (v == IP_OK) {
		assert_true(out.pkt == copy && out.pkt_len <= len);
		assert_true(out.l4 >= copy && out.l4 + out.l4_len == copy + out.pkt_len);
	} else {
		assert_memory_equal(&out, &before, sizeof(out));
	}
	free(copy);
	return v;
}

static void
assert_verdict(const struct pkt *pk, enum ip_verdict want)
{
	enum ip_verdict got = verdict_of(pk->b, pk->len);

	if (got != want) {
		fail_msg("verdict %s, want %s", ip_verdict_name(got), ip_verdict_name(want));
	}
}

static struct addr
addr4(const uint8_t *raw)
{
	struct addr a;

	addr_set_raw(&a, raw, 4);
	return a;
}

static struct addr
addr6(const uint8_t *raw)
{
	struct addr a;

	addr_set_raw(&a, raw, 16);
	return a;
}

/* xorshift: reproducible buffers without depending on rand()'s quality. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void
test_csum_rfc1071_example(void **state)
{
	/* RFC 1071 section 3: the sum is ddf2, so the checksum is 220d. */
	static const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	(void)state;
	assert_int_equal(ip_csum_add(0, b, sizeof(b)), 0xddf2);
	assert_int_equal(ip_csum_fold(ip_csum_add(0, b, sizeof(b))), 0x220d);
	assert_int_equal(ip_csum_add(0, NULL, 0), 0);
	assert_int_equal(ip_csum_fold(0), 0xffff);
	assert_int_equal(ip_csum_fold(0xffff), 0);
	assert_int_equal(ip_csum_fold(0xffffffffu), 0);
	/* An odd byte is the high half of a word: 0xab00. */
	assert_int_equal(ip_csum_add(0, b + 2, 1), 0xf200);
	assert_int_equal(ip_csum_add(0x12345678u, NULL, 0), ref_sum(0x12345678u, NULL, 0));
}

static void
test_csum_vs_reference(void **state)
{
	static uint8_t buf[2000 + 16];
	uint32_t start, got, want;

	(void)state;
	for (size_t len = 0; len <= 2000; len++) {
		for (size_t align = 0; align < 8; align += (len % 7 == 0) ? 1 : 3) {
			for (size_t i = 0; i < len; i++) {
				buf[align + i] = (uint8_t)rng();
			}
			start = (len % 3 == 0) ? 0 : rng() * (uint32_t)(len % 5 + 1);
			got = ip_csum_add(start, buf + align, len);
			want = ref_sum(start, buf + align, len);
			if (got != want) {
				fail_msg("len %zu align %zu start %#x: %#x, want %#x", len, align,
					 start, got, want);
			}
			assert_true(got <= 0xffff);
		}
	}
}

static void
test_csum_carries(void **state)
{
	static uint8_t buf[65536 + 9];
	uint32_t s;

	(void)state;
	/* All ones: every 64-bit add carries out. */
	memset(buf, 0xff, sizeof(buf));
	for (size_t align = 0; align < 8; align++) {
		for (size_t len = 65536 - 9; len <= 65536; len++) {
			assert_int_equal(ip_csum_add(0xffffffffu, buf + align, len),
					 ref_sum(0xffffffffu, buf + align, len));
		}
	}
	/* Random 64 KB, summed whole and in pieces split at even offsets. */
	for (size_t i = 0; i < sizeof(buf); i++) {
		buf[i] = (uint8_t)rng();
	}
	s = 0;
	for (size_t off = 0; off < 65536; off += 1498) {
		size_t n = 65536 - off < 1498 ? 65536 - off : 1498;

		s = ip_csum_add(s, buf + 1 + off, n);
	}
	assert_int_equal(s, ref_sum(0, buf + 1, 65536));
	assert_int_equal(ip_csum_add(0, buf + 1, 65535), ref_sum(0, buf + 1, 65535));
}

static void
test_pseudo_sum(void **state)
{
	static const size_t lens[] = { 0, 1, 20, 1480, 65535, 65536, 70000, 0x12345678u,
				       0xffffffffu };
	struct addr a4 = addr4(v4_a), b4 = addr4(v4_b), a6 = addr6(v6_a), b6 = addr6(v6_b);
	struct addr none;

	(void)state;
	for (size_t i = 0; i < NELEM(lens); i++) {
		uint32_t len = (uint32_t)lens[i];

		assert_int_equal(ip_pseudo_sum(&a4, &b4, IP_PROTO_TCP, lens[i]),
				 ref_pseudo(v4_a, v4_b, 4, IP_PROTO_TCP, len));
		assert_int_equal(ip_pseudo_sum(&a6, &b6, IP_PROTO_ICMPV6, lens[i]),
				 ref_pseudo(v6_a, v6_b, 16, IP_PROTO_ICMPV6, len));
		assert_int_equal(ip_pseudo_sum(&b6, &a6, IP_PROTO_UDP, lens[i]),
				 ref_pseudo(v6_a, v6_b, 16, IP_PROTO_UDP, len));
	}
	memset(&none, 0, sizeof(none));
	assert_int_equal(ip_pseudo_sum(&a4, &b6, IP_PROTO_TCP, 20), 0);
	assert_int_equal(ip_pseudo_sum(&none, &none, IP_PROTO_TCP, 20), 0);
}

static void
test_verdict_names(void **state)
{
	static const char *const want[IP_DROP_COUNT] = {
		"ok", "short", "version", "hdr-len", "len", "csum", "frag", "ext-hdr", "addr",
	};

	(void)state;
	for (int v = 0; v < IP_DROP_COUNT; v++) {
		assert_string_equal(ip_verdict_name((enum ip_verdict)v), want[v]);
	}
	assert_string_equal(ip_verdict_name(IP_DROP_COUNT), "unknown");
	assert_string_equal(ip_verdict_name((enum ip_verdict)-1), "unknown");
}

static void
test_parse_v4_tcp(void **state)
{
	struct ip_pkt p;
	struct pkt pk;
	struct addr a = addr4(v4_a), b = addr4(v4_b);

	(void)state;
	mk_v4(&pk, IP_PROTO_TCP, v4_a, v4_b, NULL, 0, tcp_syn, sizeof(tcp_syn));
	/* Link padding after the IP total length is not part of the packet. */
	memset(pk.b + pk.len, 0xee, 6);
	assert_int_equal(ip_parse(pk.b, pk.len + 6, &p), IP_OK);
	assert_int_equal(p.version, 4);
	assert_int_equal(p.proto, IP_PROTO_TCP);
	assert_int_equal(p.ttl, 61);
	assert_int_equal(p.tos, 0x28);
	assert_true(addr_eq(&p.src, &a));
	assert_true(addr_eq(&p.dst, &b));
	assert_ptr_equal(p.pkt, pk.b);
	assert_int_equal(p.pkt_len, pk.len);
	assert_ptr_equal(p.l4, pk.b + 20);
	assert_int_equal(p.l4_len, sizeof(tcp_syn));
	assert_true(ip_l4_csum_ok(&p));
}

static void
test_parse_v4_options(void **state)
{
	/* NOP, record route with room for 2 addresses, EOL and padding. */
	static const uint8_t rr[12] = { 1, 7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t eol_junk[8] = { 1, 1, 0, 0x99, 0x99, 0x99, 0x99, 0x99 };
	static const uint8_t bad[][4] = {
		{ 7, 1, 0, 0 },    /* length under 2 */
		{ 7, 0, 0, 0 },    /* length 0 would loop forever if trusted */
		{ 1, 1, 1, 68 },   /* last option's length byte is missing */
		{ 1, 1, 7, 3 },    /* 3 bytes, but only 2 left */
	};
	uint8_t opts[40];
	struct ip_pkt p;
	struct pkt pk;

	(void)state;
	mk_v4(&pk, IP_PROTO_TCP, v4_a, v4_b, rr, sizeof(rr), tcp_syn, sizeof(tcp_syn));
	assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
	assert_ptr_equal(p.l4, pk.b + 32);
	assert_int_equal(p.l4_len, sizeof(tcp_syn));
	assert_true(ip_l4_csum_ok(&p));

	/* After EOL, the rest of the header is padding whatever it holds. */
	mk_v4(&pk, IP_PROTO_TCP, v4_a, v4_b, eol_junk, sizeof(eol_junk), tcp_syn,
	      sizeof(tcp_syn));
	assert_verdict(&pk, IP_OK);

	/* The largest header: 40 bytes of NOPs. */
	memset(opts, 1, sizeof(opts));
	mk_v4(&pk, IP_PROTO_TCP, v4_a, v4_b, opts, sizeof(opts), tcp_syn, sizeof(tcp_syn));
	assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
	assert_int_equal(p.l4 - pk.b, 60);

	for (size_t i = 0; i < NELEM(bad); i++) {
		mk_v4(&pk, IP_PROTO_TCP, v4_a, v4_b, bad[i], 4, tcp_syn, sizeof(tcp_syn));
		assert_verdict(&pk, IP_DROP_LEN);
	}
}

static void
test_parse_v4_drops(void **state)
{
	struct pkt pk, good;

	(void)state;
	mk_v4(&good, IP_PROTO_TCP, v4_a, v4_b, NULL, 0, tcp_syn, sizeof(tcp_syn));

	assert_int_equal(verdict_of(good.b, 0), IP_DROP_SHORT);
	assert_int_equal(verdict_of(good.b, 1), IP_DROP_SHORT);
	assert_int_equal(verdict_of(good.b, 19), IP_DROP_SHORT);

	for (unsigned int ver = 0; ver < 16; ver++) {
		pk = good;
		pk.b[0] = (uint8_t)(ver << 4 | 5);
		fix_v4_hdr(&pk);
		if (ver != 4 && ver != 6) {
			assert_verdict(&pk, IP_DROP_VERSION);
		}
	}

	/* IHL under 5, and IHL past the bytes present. */
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		pk = good;
		pk.b[0] = 0x40 | ihl;
		assert_verdict(&pk, IP_DROP_HDR_LEN);
	}
	pk = good;
	pk.b[0] = 0x4f;
	pk.len = 59;
	put16(pk.b, 2, 59);
	assert_verdict(&pk, IP_DROP_HDR_LEN);

	/* Checksum: any flipped bit of the header. */
	for (size_t bit = 0; bit < 160; bit++) {
		pk = good;
		pk.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (bit / 8 == 0 && (pk.b[0] >> 4) != 4) {
			continue;
		}
		if (bit / 8 == 0 || bit / 8 == 2 || bit / 8 == 3) {
			/* Version, IHL and length faults are found first. */
			assert_int_not_equal(verdict_of(pk.b, pk.len), IP_OK);
			continue;
		}
		assert_verdict(&pk, IP_DROP_CSUM);
	}

	/* Fragments: MF, an offset, both; DF alone is fine. */
	static const uint16_t frags[] = { 0x2000, 0x0001, 0x1fff, 0x2001, 0x6000, 0x4001 };
	for (size_t i = 0; i < NELEM(frags); i++) {
		pk = good;
		put16(pk.b, 6, frags[i]);
		fix_v4_hdr(&pk);
		assert_verdict(&pk, IP_DROP_FRAG);
	}
	pk = good;
	put16(pk.b, 6, 0);
	fix_v4_hdr(&pk);
	assert_verdict(&pk, IP_OK);
	/* The reserved flag is not ours to judge. */
	put16(pk.b, 6, 0x8000);
	fix_v4_hdr(&pk);
	assert_verdict(&pk, IP_OK);
}

/* The IPv4 total length, lying both ways, with the checksum kept right. */
static void
test_parse_v4_total_len(void **state)
{
	static const uint8_t opt[4] = { 1, 1, 1, 1 };
	struct ip_pkt p;
	struct pkt pk;

	(void)state;
	for (size_t optlen = 0; optlen <= 4; optlen += 4) {
		size_t hlen = 20 + optlen;

		for (size_t total = 0; total <= 0xffff; total += (total < 200 ? 1 : 997)) {
			mk_v4(&pk, IP_PROTO_TCP, v4_a, v4_b, opt, optlen, tcp_syn,
			      sizeof(tcp_syn));
			put16(pk.b, 2, (uint16_t)total);
			fix_v4_hdr(&pk);
			if (total < hlen || total > pk.len) {
				assert_verdict(&pk, IP_DROP_LEN);
				continue;
			}
			assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
			assert_int_equal(p.pkt_len, total);
			assert_int_equal(p.l4_len, total - hlen);
			assert_ptr_equal(p.l4, pk.b + hlen);
		}
	}
}

static void
expect_addr_v4(const uint8_t *src, const uint8_t *dst, enum ip_verdict want)
{
	struct pkt pk;

	mk_v4(&pk, IP_PROTO_TCP, src, dst, NULL, 0, tcp_syn, sizeof(tcp_syn));
	assert_verdict(&pk, want);
}

static void
expect_addr_v6(const uint8_t *src, const uint8_t *dst, enum ip_verdict want)
{
	struct pkt pk;

	mk_v6(&pk, IP_PROTO_TCP, src, dst, NULL, 0, IP_PROTO_TCP, tcp_syn, sizeof(tcp_syn));
	assert_verdict(&pk, want);
}

static void
test_parse_addrs(void **state)
{
	static const uint8_t bad_src4[][4] = {
		{ 224, 0, 0, 1 }, { 239, 255, 255, 255 }, { 255, 255, 255, 255 },
		{ 0, 0, 0, 0 },   { 127, 0, 0, 1 },       { 127, 255, 255, 254 },
	};
	static const uint8_t bad_dst4[][4] = {
		{ 224, 0, 0, 251 }, { 239, 1, 2, 3 }, { 0, 0, 0, 0 },
	};
	/* Neighbours of the refused ranges, and what only sources may not be. */
	static const uint8_t ok_src4[][4] = {
		{ 223, 255, 255, 255 }, { 240, 0, 0, 1 }, { 126, 255, 255, 255 },
		{ 128, 0, 0, 0 },       { 0, 0, 0, 1 },   { 255, 255, 255, 254 },
	};
	static const uint8_t ok_dst4[][4] = {
		{ 255, 255, 255, 255 }, { 127, 0, 0, 1 }, { 240, 0, 0, 0 },
	};
	static const uint8_t mc6[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t zero6[16] = { 0 };
	static const uint8_t loop6[16] = { [15] = 1 };
	static const uint8_t mapped6[16] = { [10] = 0xff, [11] = 0xff, 192, 0, 2, 9 };
	static const uint8_t ll6[16] = { 0xfe, 0x80, [15] = 1 };
	static const uint8_t two6[16] = { [15] = 2 };
	static const uint8_t almost_mc6[16] = { 0xfe, 0xff, [15] = 1 };

	(void)state;
	for (size_t i = 0; i < NELEM(bad_src4); i++) {
		expect_addr_v4(bad_src4[i], v4_b, IP_DROP_ADDR);
	}
	for (size_t i = 0; i < NELEM(bad_dst4); i++) {
		expect_addr_v4(v4_a, bad_dst4[i], IP_DROP_ADDR);
	}
	for (size_t i = 0; i < NELEM(ok_src4); i++) {
		expect_addr_v4(ok_src4[i], v4_b, IP_OK);
	}
	for (size_t i = 0; i < NELEM(ok_dst4); i++) {
		expect_addr_v4(v4_a, ok_dst4[i], IP_OK);
	}

	expect_addr_v6(mc6, v6_b, IP_DROP_ADDR);
	expect_addr_v6(zero6, v6_b, IP_DROP_ADDR);
	expect_addr_v6(loop6, v6_b, IP_DROP_ADDR);
	expect_addr_v6(mapped6, v6_b, IP_DROP_ADDR);
	expect_addr_v6(v6_a, mc6, IP_DROP_ADDR);
	expect_addr_v6(v6_a, zero6, IP_DROP_ADDR);
	expect_addr_v6(v6_a, mapped6, IP_DROP_ADDR);
	expect_addr_v6(ll6, v6_b, IP_OK);
	expect_addr_v6(two6, v6_b, IP_OK);
	expect_addr_v6(almost_mc6, almost_mc6, IP_OK);
	expect_addr_v6(v6_a, loop6, IP_OK);
}

static void
test_parse_v6_plain(void **state)
{
	struct addr a = addr6(v6_a), b = addr6(v6_b);
	uint8_t udp[64];
	struct ip_pkt p;
	struct udp_view u;
	struct pkt pk;
	size_t n;

	(void)state;
	mk_udp_l4(udp, &n, 5353, 53, "query");
	mk_v6(&pk, IP_PROTO_UDP, v6_a, v6_b, NULL, 0, IP_PROTO_UDP, udp, n);
	memset(pk.b + pk.len, 0, 4);
	assert_int_equal(ip_parse(pk.b, pk.len + 4, &p), IP_OK);
	assert_int_equal(p.version, 6);
	assert_int_equal(p.proto, IP_PROTO_UDP);
	assert_int_equal(p.ttl, 63);
	assert_int_equal(p.tos, 0xab);
	assert_true(addr_eq(&p.src, &a));
	assert_true(addr_eq(&p.dst, &b));
	assert_int_equal(p.src.family, AF_INET6);
	assert_ptr_equal(p.pkt, pk.b);
	assert_int_equal(p.pkt_len, pk.len);
	assert_ptr_equal(p.l4, pk.b + 40);
	assert_int_equal(p.l4_len, n);
	assert_int_equal(ip_parse_udp(&p, &u), IP_OK);
	assert_int_equal(u.sport, 5353);
	assert_int_equal(u.dport, 53);
	assert_int_equal(u.len, 5);
	assert_memory_equal(u.data, "query", 5);

	/* Payload length 0, no extension header: an empty upper layer. */
	mk_v6(&pk, IP_PROTO_TCP, v6_a, v6_b, NULL, 0, IP_PROTO_TCP, NULL, 0);
	assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
	assert_int_equal(p.l4_len, 0);

	assert_int_equal(verdict_of(pk.b, 39), IP_DROP_SHORT);
	assert_int_equal(verdict_of(pk.b, 1), IP_DROP_SHORT);
}

/* The IPv6 payload length, lying both ways. */
static void
test_parse_v6_payload_len(void **state)
{
	struct ip_pkt p;
	struct pkt pk;

	(void)state;
	for (size_t plen = 0; plen <= 0xffff; plen += (plen < 100 ? 1 : 1009)) {
		mk_v6(&pk, IP_PROTO_TCP, v6_a, v6_b, NULL, 0, IP_PROTO_TCP, tcp_syn,
		      sizeof(tcp_syn));
		put16(pk.b, 4, (uint16_t)plen);
		if (plen > sizeof(tcp_syn)) {
			assert_verdict(&pk, IP_DROP_LEN);
			continue;
		}
		assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
		assert_int_equal(p.pkt_len, 40 + plen);
		assert_int_equal(p.l4_len, plen);
	}
}

/* Destination options of one 8-byte unit: PadN over the rest. */
static void
dstopt8(uint8_t *e, uint8_t nh)
{
	static const uint8_t padn[8] = { 0, 0, 1, 4, 0, 0, 0, 0 };

	memcpy(e, padn, 8);
	e[0] = nh;
}

static void
test_parse_v6_ext_ok(void **state)
{
	/* Hop-by-hop (router alert), destination options, routing with no segments left. */
	uint8_t ext[80] = {
		60, 0, 5, 2, 0, 0, 1, 0,                          /* HBH: RA, PadN */
		43, 1, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* DST, 16 bytes */
		60, 0, 4, 0, 0, 0, 0, 0,                          /* routing type 4, 0 left */
		IP_PROTO_TCP, 0, 0, 1, 0, 0, 0, 0,                /* DST: Pad1 then PadN */
	};
	struct ip_pkt p;
	struct pkt pk;

	(void)state;
	mk_v6(&pk, 0, v6_a, v6_b, ext, 40, IP_PROTO_TCP, tcp_syn, sizeof(tcp_syn));
	assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
	assert_int_equal(p.proto, IP_PROTO_TCP);
	assert_ptr_equal(p.l4, pk.b + 80);
	assert_int_equal(p.l4_len, sizeof(tcp_syn));
	assert_true(ip_l4_csum_ok(&p));

	/* Exactly IP6_EXT_MAX (8) headers pass; one more does not. */
	for (size_t n = 1; n <= 9; n++) {
		for (size_t i = 0; i < n; i++) {
			dstopt8(ext + 8 * i, i + 1 < n ? 60 : IP_PROTO_ICMPV6);
		}
		mk_v6(&pk, 60, v6_a, v6_b, ext, 8 * n, IP_PROTO_ICMPV6, echo6, sizeof(echo6));
		assert_verdict(&pk, n <= 8 ? IP_OK : IP_DROP_EXT);
	}

	/* An option we do not know, "skip over" in its two high bits. */
	dstopt8(ext, IP_PROTO_TCP);
	ext[2] = 0x3e;
	mk_v6(&pk, 60, v6_a, v6_b, ext, 8, IP_PROTO_TCP, tcp_syn, sizeof(tcp_syn));
	assert_verdict(&pk, IP_OK);
	mk_v6(&pk, 0, v6_a, v6_b, ext, 8, IP_PROTO_TCP, tcp_syn, sizeof(tcp_syn));
	assert_verdict(&pk, IP_OK);
}

static void
test_parse_v6_ext_drops(void **state)
{
	static const struct {
		uint8_t nh;
		enum ip_verdict want;
	} upper[] = {
		{ 44, IP_DROP_FRAG }, { 50, IP_DROP_EXT },  { 51, IP_DROP_EXT },
		{ 59, IP_DROP_EXT },  { 135, IP_DROP_EXT }, { 139, IP_DROP_EXT },
		{ 140, IP_DROP_EXT }, { 253, IP_DROP_EXT }, { 254, IP_DROP_EXT },
	};
	uint8_t ext[32];
	struct pkt pk;

	(void)state;
	/* Each directly after the IPv6 header, then after a destination option. */
	for (size_t i = 0; i < NELEM(upper); i++) {
		memset(ext, 0, sizeof(ext));
		ext[0] = IP_PROTO_TCP;
		mk_v6(&pk, upper[i].nh, v6_a, v6_b, ext, 8, IP_PROTO_TCP, tcp_syn,
		      sizeof(tcp_syn));
		assert_verdict(&pk, upper[i].want);
		dstopt8(ext, upper[i].nh);
		mk_v6(&pk, 60, v6_a, v6_b, ext, 16, IP_PROTO_TCP, tcp_syn, sizeof(tcp_syn));
		assert_verdict(&pk, upper[i].want);
	}

	/* Hop-by-hop anywhere but first. */
	dstopt8(ext, 0);
	dstopt8(ext + 8, IP_PROTO_TCP);
	mk_v6(&pk, 60, v6_a, v6_b, ext, 16, IP_PROTO_TCP, tcp_syn, sizeof(tcp_syn));
	assert_verdict(&pk, IP_DROP_EXT);
	dstopt8(ext, 0);
	mk_v6(&pk, 0, v6_a, v6_b, ext, 16, IP_PROTO_TCP, tcp_syn, sizeof(tcp_syn));
	assert_verdict(&pk, IP_DROP_EXT);

	/* Routing with segments left: we are not its last stop. */
	memset(ext, 0, sizeof(ext));
	ext[0] = IP_PROTO_TCP;
	ext[1] = 2;
	ext[2] = 0;
	ext[3] = 1;
	mk_v6(&pk, 43, v6_a, v6_b, ext, 24, IP_PROTO_TCP, tcp_syn, sizeof(tcp_syn));
	assert_verdict(&pk, IP_DROP_EXT);
	ext[3] = 0;
	mk_v6(&pk, 43, v6_a, v6_b, ext, 24, IP_PROTO_TCP, tcp_syn, sizeof(tcp_syn));
	assert_verdict(&pk, IP_OK);

	/* Unknown options whose high bits say discard: 01, 10, 11. */
	static const uint8_t discard[] = { 0x5e, 0x9e, 0xde, 0xc9 };
	for (size_t i = 0; i < NELEM(discard); i++) {
		dstopt8(ext, IP_PROTO_TCP);
		ext[2] = discard[i];
		mk_v6(&pk, 60, v6_a, v6_b, ext, 8, IP_PROTO_TCP, tcp_syn, sizeof(tcp_syn));
		assert_verdict(&pk, IP_DROP_EXT);
		mk_v6(&pk, 0, v6_a, v6_b, ext, 8, IP_PROTO_TCP, tcp_syn, sizeof(tcp_syn));
		assert_verdict(&pk, IP_DROP_EXT);
	}

	/* Jumbo Payload with a payload length: RFC 2675 section 3 says drop. */
	static const uint8_t jumbo[8] = { IP_PROTO_TCP, 0, 0xc2, 4, 0, 1, 0, 0 };
	mk_v6(&pk, 0, v6_a, v6_b, jumbo, 8, IP_PROTO_TCP, tcp_syn, sizeof(tcp_syn));
	assert_verdict(&pk, IP_DROP_LEN);
	/* In destination options it is an option we do not know, type 11xxxxxx. */
	mk_v6(&pk, 60, v6_a, v6_b, jumbo, 8, IP_PROTO_TCP, tcp_syn, sizeof(tcp_syn));
	assert_verdict(&pk, IP_DROP_EXT);
	/* A real jumbogram: payload length 0, hop-by-hop first. */
	mk_v6(&pk, 0, v6_a, v6_b, jumbo, 8, IP_PROTO_TCP, tcp_syn, sizeof(tcp_syn));
	put16(pk.b, 4, 0);
	assert_verdict(&pk, IP_DROP_LEN);
}

/* Every extension and option length lying, against a fixed payload. */
static void
test_parse_v6_ext_lengths(void **state)
{
	uint8_t ext[24];
	struct pkt pk;

	(void)state;
	for (int hdr = 0; hdr < 3; hdr++) {
		static const uint8_t kinds[3] = { 0, 60, 43 };

		for (unsigned int units = 0; units < 256; units++) {
			memset(ext, 0, sizeof(ext));
			ext[0] = IP_PROTO_TCP;
			ext[1] = (uint8_t)units;
			if (kinds[hdr] != 43) {
				ext[2] = 1;
				ext[3] = 4;
			}
			mk_v6(&pk, kinds[hdr], v6_a, v6_b, ext, 8, IP_PROTO_TCP, tcp_syn,
			      sizeof(tcp_syn));
			/*
			 * The header claims (units + 1) * 8 bytes of a 30-byte
			 * payload. Up to 24 it swallows TCP bytes: a routing
			 * header does not care, but read as options they start
			 * with type 0x9c, length 0x40, past the header's end.
			 */
			if (units == 0 || (units < 3 && kinds[hdr] == 43)) {
				assert_verdict(&pk, IP_OK);
			} else {
				assert_verdict(&pk, IP_DROP_LEN);
			}
		}
	}

	/* Option lengths: PadN from 0 to 255 in an 8-byte header. */
	for (unsigned int olen = 0; olen < 256; olen++) {
		memset(ext, 0, sizeof(ext));
		ext[0] = IP_PROTO_TCP;
		ext[2] = 1;
		ext[3] = (uint8_t)olen;
		mk_v6(&pk, 60, v6_a, v6_b, ext, 8, IP_PROTO_TCP, tcp_syn, sizeof(tcp_syn));
		/* 6 bytes of options: PadN + 4 fits exactly; 0..3 leave Pad1s. */
		assert_verdict(&pk, olen <= 4 ? IP_OK : IP_DROP_LEN);
	}

	/* The payload ends inside an extension header's fixed part. */
	for (size_t plen = 0; plen < 8; plen++) {
		memset(ext, 0, sizeof(ext));
		ext[0] = IP_PROTO_TCP;
		ext[2] = 1;
		ext[3] = 4;
		mk_v6(&pk, 60, v6_a, v6_b, ext, 8, IP_PROTO_TCP, tcp_syn, sizeof(tcp_syn));
		put16(pk.b, 4, (uint16_t)plen);
		assert_verdict(&pk, IP_DROP_LEN);
		mk_v6(&pk, 43, v6_a, v6_b, ext, 8, IP_PROTO_TCP, tcp_syn, sizeof(tcp_syn));
		put16(pk.b, 4, (uint16_t)plen);
		assert_verdict(&pk, IP_DROP_LEN);
	}
	/* Fragment headers are dropped whole, even cut short. */
	mk_v6(&pk, 44, v6_a, v6_b, NULL, 0, IP_PROTO_TCP, NULL, 0);
	assert_verdict(&pk, IP_DROP_FRAG);
}

/* Valid packets of every kind, for the prefix and fuzz-like sweeps. */
static size_t
samples(struct pkt *out, size_t cap)
{
	static const uint8_t rr[8] = { 7, 7, 4, 0, 0, 0, 0, 0 };
	static const uint8_t ext[24] = {
		60, 0, 1, 4, 0, 0, 0, 0, 43, 0, 1, 4, 0, 0, 0, 0, IP_PROTO_TCP, 0, 0, 0, 0, 0, 0, 0,
	};
	uint8_t udp[64];
	size_t n = 0, ulen;

	assert_true(cap >= 8);
	mk_udp_l4(udp, &ulen, 33333, 53, "abc");
	mk_v4(&out[n++], IP_PROTO_TCP, v4_a, v4_b, NULL, 0, tcp_syn, sizeof(tcp_syn));
	mk_v4(&out[n++], IP_PROTO_TCP, v4_a, v4_b, rr, sizeof(rr), tcp_syn, sizeof(tcp_syn));
	mk_v4(&out[n++], IP_PROTO_UDP, v4_a, v4_b, NULL, 0, udp, ulen);
	mk_v4(&out[n++], IP_PROTO_ICMP, v4_a, v4_b, NULL, 0, echo4, sizeof(echo4));
	mk_v6(&out[n++], IP_PROTO_TCP, v6_a, v6_b, NULL, 0, IP_PROTO_TCP, tcp_syn,
	      sizeof(tcp_syn));
	mk_v6(&out[n++], 0, v6_a, v6_b, ext, sizeof(ext), IP_PROTO_TCP, tcp_syn,
	      sizeof(tcp_syn));
	mk_v6(&out[n++], IP_PROTO_UDP, v6_a, v6_b, NULL, 0, IP_PROTO_UDP, udp, ulen);
	mk_v6(&out[n++], IP_PROTO_ICMPV6, v6_a, v6_b, NULL, 0, IP_PROTO_ICMPV6, echo6,
	      sizeof(echo6));
	return n;
}

static void
test_every_prefix(void **state)
{
	struct pkt s[8];
	size_t n = samples(s, NELEM(s));
	struct ip_pkt p;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ip_parse(s[i].b, s[i].len, &p), IP_OK);
		assert_true(ip_l4_csum_ok(&p));
		for (size_t cut = 0; cut < s[i].len; cut++) {
			enum ip_verdict v = verdict_of(s[i].b, cut);
			size_t fixed = (s[i].b[0] >> 4) == 4 ? 20 : 40;

			assert_int_not_equal(v, IP_OK);
			if (cut < fixed) {
				assert_int_equal(v, IP_DROP_SHORT);
			} else {
				assert_true(v == IP_DROP_LEN || v == IP_DROP_HDR_LEN);
			}
		}
		assert_int_equal(verdict_of(s[i].b, s[i].len), IP_OK);
	}
}

static void
test_l4_csum(void **state)
{
	uint8_t udp[64];
	struct ip_pkt p;
	struct pkt pk;
	size_t n;

	(void)state;
	/* A flipped bit anywhere in the upper layer or an address is caught. */
	struct pkt s[8];
	size_t ns = samples(s, NELEM(s));
	for (size_t i = 0; i < ns; i++) {
		assert_int_equal(ip_parse(s[i].b, s[i].len, &p), IP_OK);
		size_t off = (size_t)(p.l4 - s[i].b);
		for (size_t bit = 0; bit < 8 * p.l4_len; bit++) {
			pk = s[i];
			pk.b[off + bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
			if (p.proto == IP_PROTO_UDP && bit / 8 >= 4 && bit / 8 < 6) {
				continue; /* the UDP length: see test_parse_udp */
			}
			assert_false(ip_l4_csum_ok(&p));
		}
		if (s[i].b[0] >> 4 == 6) {
			pk = s[i];
			pk.b[8] ^= 0x10;
			assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
			assert_false(ip_l4_csum_ok(&p));
		}
	}

	/* UDP checksum 0: none over IPv4, invalid over IPv6. */
	mk_udp_l4(udp, &n, 1000, 53, "x");
	mk_v4(&pk, IP_PROTO_UDP, v4_a, v4_b, NULL, 0, udp, n);
	put16(pk.b, 26, 0);
	assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
	assert_true(ip_l4_csum_ok(&p));
	mk_v6(&pk, IP_PROTO_UDP, v6_a, v6_b, NULL, 0, IP_PROTO_UDP, udp, n);
	put16(pk.b, 46, 0);
	assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
	assert_false(ip_l4_csum_ok(&p));

	/* ICMPv4 has no pseudo-header: a sum made with one is wrong. */
	mk_v4(&pk, IP_PROTO_ICMP, v4_a, v4_b, NULL, 0, echo4, sizeof(echo4));
	assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
	assert_true(ip_l4_csum_ok(&p));
	put16(pk.b, 22, 0);
	put16(pk.b, 22,
	      (uint16_t)~ref_sum(ref_pseudo(v4_a, v4_b, 4, IP_PROTO_ICMP, sizeof(echo4)),
				 pk.b + 20, sizeof(echo4)));
	assert_false(ip_l4_csum_ok(&p));

	/* ICMPv6 needs it: a sum without one is wrong. */
	mk_v6(&pk, IP_PROTO_ICMPV6, v6_a, v6_b, NULL, 0, IP_PROTO_ICMPV6, echo6, sizeof(echo6));
	assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
	assert_true(ip_l4_csum_ok(&p));
	put16(pk.b, 42, 0);
	put16(pk.b, 42, (uint16_t)~ref_sum(0, pk.b + 40, sizeof(echo6)));
	assert_false(ip_l4_csum_ok(&p));

	/* ICMP of the wrong family, another protocol, too short a header. */
	mk_v6(&pk, IP_PROTO_ICMP, v6_a, v6_b, NULL, 0, IP_PROTO_ICMP, echo4, sizeof(echo4));
	assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
	assert_false(ip_l4_csum_ok(&p));
	mk_v4(&pk, IP_PROTO_ICMPV6, v4_a, v4_b, NULL, 0, echo6, sizeof(echo6));
	assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
	assert_false(ip_l4_csum_ok(&p));
	mk_v4(&pk, 132, v4_a, v4_b, NULL, 0, echo4, sizeof(echo4));
	assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
	assert_false(ip_l4_csum_ok(&p));
	mk_v4(&pk, IP_PROTO_TCP, v4_a, v4_b, NULL, 0, tcp_syn, 19);
	assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
	assert_false(ip_l4_csum_ok(&p));
	mk_v6(&pk, IP_PROTO_ICMPV6, v6_a, v6_b, NULL, 0, IP_PROTO_ICMPV6, echo6, 7);
	assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
	assert_false(ip_l4_csum_ok(&p));
	mk_v4(&pk, IP_PROTO_UDP, v4_a, v4_b, NULL, 0, udp, 7);
	assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
	assert_false(ip_l4_csum_ok(&p));
}

static void
test_parse_udp(void **state)
{
	struct udp_view u, before;
	uint8_t udp[64];
	struct ip_pkt p;
	struct pkt pk;
	size_t n;

	(void)state;
	mk_udp_l4(udp, &n, 1000, 53, "hello");

	/* A UDP length shorter than the IP payload: the rest is not data. */
	for (size_t ulen = 0; ulen <= n + 3; ulen++) {
		put16(udp, 4, (uint16_t)ulen);
		mk_v4(&pk, IP_PROTO_UDP, v4_a, v4_b, NULL, 0, udp, n);
		assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
		memset(&u, 0x5a, sizeof(u));
		before = u;
		if (ulen < 8 || ulen > n) {
			assert_int_equal(ip_parse_udp(&p, &u), IP_DROP_LEN);
			assert_memory_equal(&u, &before, sizeof(u));
			continue;
		}
		assert_int_equal(ip_parse_udp(&p, &u), IP_OK);
		assert_int_equal(u.len, ulen - 8);
		assert_ptr_equal(u.data, p.l4 + 8);
		/* The checksum covers the UDP length, not the IP payload. */
		pk.b[20 + n - 1] ^= 1;
		if (ulen < n) {
			assert_int_equal(ip_parse_udp(&p, &u), IP_OK);
		} else {
			assert_int_equal(ip_parse_udp(&p, &u), IP_DROP_CSUM);
		}
	}

	/* Fewer than 8 bytes, and not UDP at all. */
	mk_udp_l4(udp, &n, 1000, 53, "hello");
	for (size_t cut = 0; cut < 8; cut++) {
		mk_v6(&pk, IP_PROTO_UDP, v6_a, v6_b, NULL, 0, IP_PROTO_UDP, udp, cut);
		assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
		assert_int_equal(ip_parse_udp(&p, &u), IP_DROP_SHORT);
	}
	mk_v6(&pk, IP_PROTO_TCP, v6_a, v6_b, NULL, 0, IP_PROTO_TCP, udp, n);
	assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
	assert_int_equal(ip_parse_udp(&p, &u), IP_DROP_SHORT);

	/* A bad checksum; and 0 over IPv6. */
	mk_v6(&pk, IP_PROTO_UDP, v6_a, v6_b, NULL, 0, IP_PROTO_UDP, udp, n);
	pk.b[46] ^= 0x80;
	assert_int_equal(ip_parse(pk.b, pk.len, &p), IP_OK);
	assert_int_equal(ip_parse_udp(&p, &u), IP_DROP_CSUM);
	put16(pk.b, 46, 0);
	assert_int_equal(ip_parse_udp(&p, &u), IP_DROP_CSUM);
}

static void
test_build_hdr(void **state)
{
	static const uint8_t want4[20] = {
		0x45, 0, 0x00, 0x30, 0, 0, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 1, 198, 51, 100, 7,
	};
	struct addr a4 = addr4(v4_a), b4 = addr4(v4_b), a6 = addr6(v6_a), b6 = addr6(v6_b);
	uint8_t out[64], want6[40] = { 0x60, 0, 0, 0, 0x01, 0x00, 17, 255 };
	struct addr none;

	(void)state;
	memset(out, 0xcc, sizeof(out));
	assert_int_equal(ip_build_hdr(out, sizeof(out), &a4, &b4, IP_PROTO_TCP, 28, 64), 20);
	assert_int_equal(ref_sum(0, out, 20), 0xffff);
	put16(out, 10, 0);
	assert_memory_equal(out, want4, 20);
	assert_int_equal(out[20], 0xcc);

	memcpy(want6 + 8, v6_a, 16);
	memcpy(want6 + 24, v6_b, 16);
	assert_int_equal(ip_build_hdr(out, sizeof(out), &a6, &b6, IP_PROTO_UDP, 256, 255), 40);
	assert_memory_equal(out, want6, 40);

	/* The length fields' limits. */
	assert_int_equal(ip_build_hdr(out, 20, &a4, &b4, IP_PROTO_TCP, 65515, 1), 20);
	assert_int_equal(get16(out, 2), 65535);
	assert_int_equal(ref_sum(0, out, 20), 0xffff);
	assert_int_equal(ip_build_hdr(out, 20, &a4, &b4, IP_PROTO_TCP, 65516, 1), 0);
	assert_int_equal(ip_build_hdr(out, 40, &a6, &b6, IP_PROTO_TCP, 65535, 1), 40);
	assert_int_equal(get16(out, 4), 65535);
	assert_int_equal(ip_build_hdr(out, 40, &a6, &b6, IP_PROTO_TCP, 65536, 1), 0);
	assert_int_equal(ip_build_hdr(out, 40, &a6, &b6, IP_PROTO_TCP, SIZE_MAX, 1), 0);

	/* Short room writes nothing; mixed or missing families build nothing. */
	memset(out, 0xcc, sizeof(out));
	assert_int_equal(ip_build_hdr(out, 19, &a4, &b4, IP_PROTO_TCP, 0, 1), 0);
	assert_int_equal(ip_build_hdr(out, 39, &a6, &b6, IP_PROTO_TCP, 0, 1), 0);
	assert_int_equal(ip_build_hdr(NULL, 0, &a6, &b6, IP_PROTO_TCP, 0, 1), 0);
	assert_int_equal(out[0], 0xcc);
	memset(&none, 0, sizeof(none));
	assert_int_equal(ip_build_hdr(out, sizeof(out), &a4, &b6, IP_PROTO_TCP, 0, 1), 0);
	assert_int_equal(ip_build_hdr(out, sizeof(out), &a6, &b4, IP_PROTO_TCP, 0, 1), 0);
	assert_int_equal(ip_build_hdr(out, sizeof(out), &none, &none, IP_PROTO_TCP, 0, 1), 0);
}

static void
check_udp_round_trip(const struct addr *src, const struct addr *dst, const void *data,
		     size_t len)
{
	uint8_t out[1600];
	struct ip_pkt p;
	struct udp_view u;
	size_t n, hlen = src->family == AF_INET ? 20 : 40;

	n = ip_build_udp(out, sizeof(out), src, 4321, dst, 53, data, len);
	assert_int_equal(n, hlen + 8 + len);
	assert_int_equal(ip_parse(out, n, &p), IP_OK);
	assert_int_equal(p.proto, IP_PROTO_UDP);
	assert_int_equal(p.ttl, IP_TTL_DEFAULT);
	assert_true(addr_eq(&p.src, src) && addr_eq(&p.dst, dst));
	assert_true(ip_l4_csum_ok(&p));
	assert_int_not_equal(get16(out, hlen + 6), 0);
	assert_int_equal(ip_parse_udp(&p, &u), IP_OK);
	assert_int_equal(u.sport, 4321);
	assert_int_equal(u.dport, 53);
	assert_int_equal(u.len, len);
	if (len > 0) {
		assert_memory_equal(u.data, data, len);
	}
	/* Independent check of the checksum. */
	assert_int_equal(ref_sum(ref_pseudo(src->a, dst->a, hlen == 20 ? 4 : 16, IP_PROTO_UDP,
					    (uint32_t)(8 + len)),
				 out + hlen, 8 + len),
			 0xffff);
}

static void
test_build_udp(void **state)
{
	struct addr a4 = addr4(v4_a), b4 = addr4(v4_b), a6 = addr6(v6_a), b6 = addr6(v6_b);
	uint8_t data[1500], out[1600], zero[2] = { 0, 0 }, fix[2];
	uint16_t c0;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++) {
		data[i] = (uint8_t)rng();
	}
	for (size_t len = 0; len < 40; len++) {
		check_udp_round_trip(&a4, &b4, data, len);
		check_udp_round_trip(&b6, &a6, data, len);
	}
	check_udp_round_trip(&a4, &b4, data, sizeof(data));
	check_udp_round_trip(&a6, &b6, NULL, 0);

	/* Data chosen so the sum comes out 0: it must go out as 0xffff. */
	for (int fam = 0; fam < 2; fam++) {
		const struct addr *s = fam ? &a6 : &a4, *d = fam ? &b6 : &b4;
		size_t off = fam ? 46 : 26;

		assert_true(ip_build_udp(out, sizeof(out), s, 7, d, 9, zero, 2) > 0);
		c0 = get16(out, off);
		fix[0] = (uint8_t)(c0 >> 8);
		fix[1] = (uint8_t)c0;
		assert_true(ip_build_udp(out, sizeof(out), s, 7, d, 9, fix, 2) > 0);
		assert_int_equal(get16(out, off), 0xffff);
		check_udp_round_trip(s, d, fix, 2);
	}

	/* Every short cap, the length limits, mixed families. */
	memset(out, 0x5c, sizeof(out));
	for (size_t cap = 0; cap < 20 + 8 + 5; cap++) {
		assert_int_equal(ip_build_udp(out, cap, &a4, 1, &b4, 2, "hello", 5), 0);
	}
	assert_int_equal(out[0], 0x5c);
	for (size_t cap = 0; cap < 40 + 8 + 5; cap++) {
		assert_int_equal(ip_build_udp(out, cap, &a6, 1, &b6, 2, "hello", 5), 0);
	}
	static uint8_t big[65536 + 64], big_data[65536];
	n = ip_build_udp(big, sizeof(big), &a6, 1, &b6, 2, big_data, 65527);
	assert_int_equal(n, 40 + 65535);
	assert_int_equal(ip_build_udp(big, sizeof(big), &a6, 1, &b6, 2, big_data, 65528), 0);
	n = ip_build_udp(big, sizeof(big), &a4, 1, &b4, 2, big_data, 65507);
	assert_int_equal(n, 65535);
	assert_int_equal(ip_build_udp(big, sizeof(big), &a4, 1, &b4, 2, big_data, 65508), 0);
	assert_int_equal(ip_build_udp(out, sizeof(out), &a4, 1, &b6, 2, "x", 1), 0);
	memset(&a4, 0, sizeof(a4));
	assert_int_equal(ip_build_udp(out, sizeof(out), &a4, 1, &a4, 2, "x", 1), 0);
}

/* ip_parse on a built reply: IP_OK with src and dst swapped. */
static void
check_reply(const uint8_t *out, size_t n, const struct ip_pkt *orig, struct ip_pkt *r)
{
	assert_int_equal(ip_parse(out, n, r), IP_OK);
	assert_int_equal(r->pkt_len, n);
	assert_int_equal(r->version, orig->version);
	assert_int_equal(r->proto, orig->version == 4 ? IP_PROTO_ICMP : IP_PROTO_ICMPV6);
	assert_int_equal(r->ttl, IP_TTL_DEFAULT);
	assert_true(addr_eq(&r->src, &orig->dst));
	assert_true(addr_eq(&r->dst, &orig->src));
	assert_true(ip_l4_csum_ok(r));
}

static void
test_unreach(void **state)
{
	static const struct {
		enum ip_unreach why;
		uint8_t code4, code6;
	} codes[] = {
		{ IP_UNREACH_NET, 0, 0 },
		{ IP_UNREACH_HOST, 1, 3 },
		{ IP_UNREACH_PORT, 3, 4 },
		{ IP_UNREACH_ADMIN, 13, 1 },
	};
	struct pkt s[8];
	size_t ns = samples(s, NELEM(s)), n;
	uint8_t out[1600];
	struct ip_pkt orig, r;

	(void)state;
	for (size_t i = 0; i < ns; i++) {
		assert_int_equal(ip_parse(s[i].b, s[i].len, &orig), IP_OK);
		for (size_t c = 0; c < NELEM(codes); c++) {
			size_t hlen = orig.version == 4 ? 20 : 40;

			n = ip_build_unreach(out, sizeof(out), &orig, codes[c].why);
			assert_int_equal(n, hlen + 8 + s[i].len);
			check_reply(out, n, &orig, &r);
			assert_int_equal(r.l4[0], orig.version == 4 ? 3 : 1);
			assert_int_equal(r.l4[1],
					 orig.version == 4 ? codes[c].code4 : codes[c].code6);
			assert_memory_equal(r.l4 + 4, "\0\0\0\0", 4);
			assert_memory_equal(r.l4 + 8, s[i].b, s[i].len);
		}
		assert_int_equal(ip_build_unreach(out, sizeof(out), &orig, (enum ip_unreach)99),
				 0);
	}
}

static void
test_unreach_limits(void **state)
{
	static uint8_t big[1500];
	struct addr a4 = addr4(v4_a), b4 = addr4(v4_b), a6 = addr6(v6_a), b6 = addr6(v6_b);
	uint8_t out[2000];
	struct ip_pkt orig, r;
	struct pkt pk;
	size_t n;

	(void)state;
	/* A full-size packet is cut to 576 and 1280 bytes in all. */
	memcpy(big, tcp_syn, 20);
	mk_v4(&pk, IP_PROTO_TCP, v4_a, v4_b, NULL, 0, big, 1480);
	assert_int_equal(ip_parse(pk.b, pk.len, &orig), IP_OK);
	n = ip_build_unreach(out, sizeof(out), &orig, IP_UNREACH_PORT);
	assert_int_equal(n, 576);
	check_reply(out, n, &orig, &r);
	assert_memory_equal(r.l4 + 8, pk.b, 576 - 28);
	/* Less room: as much as fits, down to the IP header and 8 bytes. */
	for (size_t cap = 0; cap < 600; cap++) {
		memset(out, 0x5c, sizeof(out));
		n = ip_build_unreach(out, cap, &orig, IP_UNREACH_PORT);
		if (cap < 28 + 20 + 8) {
			assert_int_equal(n, 0);
			assert_int_equal(out[0], 0x5c);
		} else {
			assert_int_equal(n, cap < 576 ? cap : 576);
			check_reply(out, n, &orig, &r);
		}
	}

	mk_v6(&pk, IP_PROTO_TCP, v6_a, v6_b, NULL, 0, IP_PROTO_TCP, big, 1460);
	assert_int_equal(ip_parse(pk.b, pk.len, &orig), IP_OK);
	n = ip_build_unreach(out, sizeof(out), &orig, IP_UNREACH_ADMIN);
	assert_int_equal(n, 1280);
	check_reply(out, n, &orig, &r);
	assert_memory_equal(r.l4 + 8, pk.b, 1280 - 48);
	for (size_t cap = 0; cap < 48 + 48; cap++) {
		assert_int_equal(ip_build_unreach(out, cap, &orig, IP_UNREACH_ADMIN), 0);
	}
	assert_int_equal(ip_build_unreach(out, 96, &orig, IP_UNREACH_ADMIN), 96);

	/*
	 * Headers longer than the quote can hold: 1288 bytes of destination
	 * options (five PadN of 255 and a Pad1). The RFC limit wins over
	 * quoting the ports, but only a full-size quote is worth sending.
	 */
	static uint8_t ext[1288];
	memset(ext, 0, sizeof(ext));
	ext[0] = IP_PROTO_TCP;
	ext[1] = 160;
	for (size_t i = 0; i < 5; i++) {
		ext[2 + 257 * i] = 1;
		ext[3 + 257 * i] = 255;
	}
	mk_v6(&pk, 60, v6_a, v6_b, ext, sizeof(ext), IP_PROTO_TCP, tcp_syn, sizeof(tcp_syn));
	assert_int_equal(ip_parse(pk.b, pk.len, &orig), IP_OK);
	assert_int_equal(orig.l4_len, sizeof(tcp_syn));
	n = ip_build_unreach(out, sizeof(out), &orig, IP_UNREACH_HOST);
	assert_int_equal(n, 1280);
	check_reply(out, n, &orig, &r);
	assert_int_equal(ip_build_unreach(out, 1279, &orig, IP_UNREACH_HOST), 0);

	/* A packet shorter than its header plus 8 is quoted whole. */
	mk_v4(&pk, 200, v4_a, v4_b, NULL, 0, "ab", 2);
	assert_int_equal(ip_parse(pk.b, pk.len, &orig), IP_OK);
	assert_int_equal(ip_build_unreach(out, 28 + 22, &orig, IP_UNREACH_NET), 50);
	assert_int_equal(ip_build_unreach(out, 28 + 21, &orig, IP_UNREACH_NET), 0);

	/* Addresses we never answer: broadcast, loopback, multicast, unspecified. */
	static const uint8_t bc[4] = { 255, 255, 255, 255 }, lo[4] = { 127, 0, 0, 1 };
	mk_v4(&pk, IP_PROTO_UDP, v4_a, bc, NULL, 0, big, 28);
	assert_int_equal(ip_parse(pk.b, pk.len, &orig), IP_OK);
	assert_int_equal(ip_build_unreach(out, sizeof(out), &orig, IP_UNREACH_PORT), 0);
	mk_v4(&pk, IP_PROTO_UDP, v4_a, lo, NULL, 0, big, 28);
	assert_int_equal(ip_parse(pk.b, pk.len, &orig), IP_OK);
	assert_int_equal(ip_build_unreach(out, sizeof(out), &orig, IP_UNREACH_PORT), 0);
	/* A view made by hand, which ip_parse would have refused. */
	static const uint8_t mc[4] = { 224, 0, 0, 1 }, zero[16] = { 0 };
	mk_v4(&pk, IP_PROTO_UDP, v4_a, v4_b, NULL, 0, big, 28);
	assert_int_equal(ip_parse(pk.b, pk.len, &orig), IP_OK);
	addr_set_raw(&orig.src, mc, 4);
	assert_int_equal(ip_build_unreach(out, sizeof(out), &orig, IP_UNREACH_PORT), 0);
	orig.src = a4;
	addr_set_raw(&orig.dst, zero, 4);
	assert_int_equal(ip_build_unreach(out, sizeof(out), &orig, IP_UNREACH_PORT), 0);
	orig.dst = b6;
	assert_int_equal(ip_build_unreach(out, sizeof(out), &orig, IP_UNREACH_PORT), 0);
	orig.dst = b4;
	orig.version = 6;
	assert_int_equal(ip_build_unreach(out, sizeof(out), &orig, IP_UNREACH_PORT), 0);
	orig.version = 5;
	assert_int_equal(ip_build_unreach(out, sizeof(out), &orig, IP_UNREACH_PORT), 0);
	orig.version = 4;
	assert_true(ip_build_unreach(out, sizeof(out), &orig, IP_UNREACH_PORT) > 0);
	mk_v6(&pk, IP_PROTO_UDP, v6_a, v6_b, NULL, 0, IP_PROTO_UDP, big, 28);
	assert_int_equal(ip_parse(pk.b, pk.len, &orig), IP_OK);
	addr_set_raw(&orig.src, zero, 16);
	assert_int_equal(ip_build_unreach(out, sizeof(out), &orig, IP_UNREACH_PORT), 0);
	orig.src = a6;
	assert_true(ip_build_unreach(out, sizeof(out), &orig, IP_UNREACH_PORT) > 0);
}

/* No error about an error (RFC 1812 4.3.2.7, RFC 4443 2.4(e)). */
static void
test_unreach_not_to_errors(void **state)
{
	uint8_t icmp[16] = { 0 }, out[256];
	struct ip_pkt orig;
	struct pkt pk;
	size_t n;

	(void)state;
	for (unsigned int type = 0; type < 256; type++) {
		bool err4 = type == 3 || type == 4 || type == 5 || type == 11 || type == 12;

		icmp[0] = (uint8_t)type;
		mk_v4(&pk, IP_PROTO_ICMP, v4_a, v4_b, NULL, 0, icmp, sizeof(icmp));
		assert_int_equal(ip_parse(pk.b, pk.len, &orig), IP_OK);
		n = ip_build_unreach(out, sizeof(out), &orig, IP_UNREACH_HOST);
		assert_int_equal(n == 0, err4);

		mk_v6(&pk, IP_PROTO_ICMPV6, v6_a, v6_b, NULL, 0, IP_PROTO_ICMPV6, icmp,
		      sizeof(icmp));
		assert_int_equal(ip_parse(pk.b, pk.len, &orig), IP_OK);
		n = ip_build_unreach(out, sizeof(out), &orig, IP_UNREACH_HOST);
		assert_int_equal(n == 0, type < 128);
	}
	/* An ICMP message with no type byte might be an error: silence. */
	mk_v4(&pk, IP_PROTO_ICMP, v4_a, v4_b, NULL, 0, NULL, 0);
	assert_int_equal(ip_parse(pk.b, pk.len, &orig), IP_OK);
	assert_int_equal(ip_build_unreach(out, sizeof(out), &orig, IP_UNREACH_HOST), 0);
	/* ICMPv6 type 1 over IPv4 is just an unknown protocol: answered. */
	icmp[0] = 1;
	mk_v4(&pk, IP_PROTO_ICMPV6, v4_a, v4_b, NULL, 0, icmp, sizeof(icmp));
	assert_int_equal(ip_parse(pk.b, pk.len, &orig), IP_OK);
	assert_true(ip_build_unreach(out, sizeof(out), &orig, IP_UNREACH_HOST) > 0);
}

static void
check_echo(const struct pkt *pk, const uint8_t *req, size_t req_len)
{
	uint8_t out[1600];
	struct ip_pkt orig, r;
	size_t n, hlen = (pk->b[0] >> 4) == 4 ? 20 : 40;

	assert_int_equal(ip_parse(pk->b, pk->len, &orig), IP_OK);
	n = ip_build_echo_reply(out, sizeof(out), &orig);
	assert_int_equal(n, hlen + req_len);
	check_reply(out, n, &orig, &r);
	assert_int_equal(r.l4_len, req_len);
	assert_int_equal(r.l4[0], hlen == 20 ? 0 : 129);
	assert_int_equal(r.l4[1], 0);
	assert_memory_equal(r.l4 + 4, req + 4, req_len - 4);
	for (size_t cap = 0; cap < n; cap++) {
		memset(out, 0x5c, sizeof(out));
		assert_int_equal(ip_build_echo_reply(out, cap, &orig), 0);
		assert_int_equal(out[0], 0x5c);
	}
}

static void
test_echo_reply(void **state)
{
	static const uint8_t rr[8] = { 7, 7, 4, 0, 0, 0, 0, 0 };
	uint8_t req[64], out[256];
	struct ip_pkt orig;
	struct pkt pk;

	(void)state;
	mk_v4(&pk, IP_PROTO_ICMP, v4_a, v4_b, NULL, 0, echo4, sizeof(echo4));
	check_echo(&pk, echo4, sizeof(echo4));
	/* Options are not echoed; the reply stays a plain 20-byte header. */
	mk_v4(&pk, IP_PROTO_ICMP, v4_a, v4_b, rr, sizeof(rr), echo4, sizeof(echo4));
	check_echo(&pk, echo4, sizeof(echo4));
	mk_v6(&pk, IP_PROTO_ICMPV6, v6_a, v6_b, NULL, 0, IP_PROTO_ICMPV6, echo6, sizeof(echo6));
	check_echo(&pk, echo6, sizeof(echo6));
	/* No data at all, id and seq only. */
	mk_v4(&pk, IP_PROTO_ICMP, v4_a, v4_b, NULL, 0, echo4, 8);
	check_echo(&pk, echo4, 8);
	mk_v6(&pk, IP_PROTO_ICMPV6, v6_a, v6_b, NULL, 0, IP_PROTO_ICMPV6, echo6, 8);
	check_echo(&pk, echo6, 8);

	/* Not well-formed echo requests. */
	for (size_t cut = 0; cut < 8; cut++) {
		mk_v4(&pk, IP_PROTO_ICMP, v4_a, v4_b, NULL, 0, echo4, cut);
		assert_int_equal(ip_parse(pk.b, pk.len, &orig), IP_OK);
		assert_int_equal(ip_build_echo_reply(out, sizeof(out), &orig), 0);
	}
	static const struct {
		size_t off;
		uint8_t val;
	} bad[] = {
		{ 0, 0 }, { 0, 9 }, { 0, 128 }, { 1, 1 },
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		memcpy(req, echo4, sizeof(echo4));
		req[bad[i].off] = bad[i].val;
		mk_v4(&pk, IP_PROTO_ICMP, v4_a, v4_b, NULL, 0, req, sizeof(echo4));
		assert_int_equal(ip_parse(pk.b, pk.len, &orig), IP_OK);
		assert_int_equal(ip_build_echo_reply(out, sizeof(out), &orig), 0);
		memcpy(req, echo6, sizeof(echo6));
		req[bad[i].off] = bad[i].off == 0 ? (uint8_t)(bad[i].val + 1) : bad[i].val;
		mk_v6(&pk, IP_PROTO_ICMPV6, v6_a, v6_b, NULL, 0, IP_PROTO_ICMPV6, req,
		      sizeof(echo6));
		assert_int_equal(ip_parse(pk.b, pk.len, &orig), IP_OK);
		assert_int_equal(ip_build_echo_reply(out, sizeof(out), &orig), 0);
	}
	/* A bad checksum, and echo of the other family. */
	mk_v4(&pk, IP_PROTO_ICMP, v4_a, v4_b, NULL, 0, echo4, sizeof(echo4));
	pk.b[30] ^= 1;
	assert_int_equal(ip_parse(pk.b, pk.len, &orig), IP_OK);
	assert_int_equal(ip_build_echo_reply(out, sizeof(out), &orig), 0);
	mk_v6(&pk, IP_PROTO_ICMP, v6_a, v6_b, NULL, 0, IP_PROTO_ICMP, echo4, sizeof(echo4));
	assert_int_equal(ip_parse(pk.b, pk.len, &orig), IP_OK);
	assert_int_equal(ip_build_echo_reply(out, sizeof(out), &orig), 0);
	mk_v4(&pk, IP_PROTO_ICMPV6, v4_a, v4_b, NULL, 0, echo6, sizeof(echo6));
	assert_int_equal(ip_parse(pk.b, pk.len, &orig), IP_OK);
	assert_int_equal(ip_build_echo_reply(out, sizeof(out), &orig), 0);
	/* A ping to the broadcast address gets no reply from it. */
	static const uint8_t bc[4] = { 255, 255, 255, 255 };
	mk_v4(&pk, IP_PROTO_ICMP, v4_a, bc, NULL, 0, echo4, sizeof(echo4));
	assert_int_equal(ip_parse(pk.b, pk.len, &orig), IP_OK);
	assert_int_equal(ip_build_echo_reply(out, sizeof(out), &orig), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_rfc1071_example),
		cmocka_unit_test(test_csum_vs_reference),
		cmocka_unit_test(test_csum_carries),
		cmocka_unit_test(test_pseudo_sum),
		cmocka_unit_test(test_verdict_names),
		cmocka_unit_test(test_parse_v4_tcp),
		cmocka_unit_test(test_parse_v4_options),
		cmocka_unit_test(test_parse_v4_drops),
		cmocka_unit_test(test_parse_v4_total_len),
		cmocka_unit_test(test_parse_addrs),
		cmocka_unit_test(test_parse_v6_plain),
		cmocka_unit_test(test_parse_v6_payload_len),
		cmocka_unit_test(test_parse_v6_ext_ok),
		cmocka_unit_test(test_parse_v6_ext_drops),
		cmocka_unit_test(test_parse_v6_ext_lengths),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_l4_csum),
		cmocka_unit_test(test_parse_udp),
		cmocka_unit_test(test_build_hdr),
		cmocka_unit_test(test_build_udp),
		cmocka_unit_test(test_unreach),
		cmocka_unit_test(test_unreach_limits),
		cmocka_unit_test(test_unreach_not_to_errors),
		cmocka_unit_test(test_echo_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

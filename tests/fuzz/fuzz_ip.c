/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the IP codec (tund/ip.c). The input is one packet
 * as read from the TUN. Besides "never crash", it checks the promises of
 * ip.h on whatever parses: the views lie inside the input and end where
 * the IP length says, the families match the version, a shorter prefix is
 * never IP_OK and the exact packet parses again the same; and whatever
 * tund would send back (a UDP answer, each ICMP unreachable, an echo
 * reply) parses IP_OK with the addresses swapped, within the RFC sizes,
 * with sums that verify. Built with the fuzzing define, ip.c does not
 * verify checksums on input, so the checks of built packets' sums here
 * are done by hand with ip_csum_add.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../tund/ip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Room for an echo reply to the largest packet, and a little more. */
static uint8_t out[65536 + 64];

static void
check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_ip: invariant broken: %s\n", what);
		abort();
	}
}

/* ip_parse on an exactly sized heap copy, so ASan sees any overread. */
static enum ip_verdict
parse_copy(const uint8_t *p, size_t len, struct ip_pkt *pkt, size_t *l4_off)
{
	enum ip_verdict v;
	uint8_t *copy;

	copy = malloc(len > 0 ? len : 1);
	check(copy != NULL, "malloc");
	if (len > 0) {
		memcpy(copy, p, len);
	}
	v = ip_parse(copy, len, pkt);
	if (v == IP_OK) {
		*l4_off = (size_t)(pkt->l4 - pkt->pkt);
	}
	free(copy);
	pkt->pkt = NULL;
	pkt->l4 = NULL;
	return v;
}

static bool
same_fields(const struct ip_pkt *a, const struct ip_pkt *b)
{
	return a->version == b->version && a->proto == b->proto && a->ttl == b->ttl &&
	    a->tos == b->tos && addr_eq(&a->src, &b->src) && addr_eq(&a->dst, &b->dst) &&
	    a->pkt_len == b->pkt_len && a->l4_len == b->l4_len;
}

/* The upper layer's checksum verifies (ICMPv4 without a pseudo-header). */
static bool
sum_ok(const struct ip_pkt *r)
{
	uint32_t sum = 0;

	if (r->proto != IP_PROTO_ICMP) {
		sum = ip_pseudo_sum(&r->src, &r->dst, r->proto, r->l4_len);
	}
	return ip_csum_fold(ip_csum_add(sum, r->l4, r->l4_len)) == 0;
}

/* A packet tund built for p: parses, swapped, sums right. */
static void
check_built(const struct ip_pkt *p, size_t n, uint8_t proto, struct ip_pkt *r)
{
	check(ip_parse(out, n, r) == IP_OK, "a built packet does not parse");
	check(r->pkt_len == n, "a built packet's length differs");
	check(r->version == p->version && r->proto == proto, "a built packet's version/proto");
	check(addr_eq(&r->src, &p->dst) && addr_eq(&r->dst, &p->src),
	      "a built packet's addresses are not swapped");
	check(r->ttl == IP_TTL_DEFAULT, "a built packet's TTL");
	check(sum_ok(r), "a built packet's upper-layer checksum");
	if (r->version == 4) {
		check(ip_csum_fold(ip_csum_add(0, out, 20)) == 0, "a built IPv4 header's sum");
	}
}

/*
 * The same upper layer behind a header of our own (no options, no
 * extension headers) parses to the same view: l4 was exactly the
 * upper-layer bytes, and ip_build_hdr wrote what ip_parse reads.
 */
static void
check_rebuilt(const struct ip_pkt *p)
{
	struct ip_pkt r;
	size_t h;

	h = ip_build_hdr(out, sizeof(out), &p->src, &p->dst, p->proto, p->l4_len, p->ttl);
	check(h == (p->version == 4 ? 20u : 40u), "a parsed packet's header does not build");
	check(ip_build_hdr(out, h - 1, &p->src, &p->dst, p->proto, p->l4_len, p->ttl) == 0,
	      "a header built into too little room");
	memcpy(out + h, p->l4, p->l4_len);
	check(ip_parse(out, h + p->l4_len, &r) == IP_OK, "a rebuilt packet does not parse");
	check(r.version == p->version && r.proto == p->proto && r.ttl == p->ttl &&
		  addr_eq(&r.src, &p->src) && addr_eq(&r.dst, &p->dst) &&
		  r.l4 == out + h && r.l4_len == p->l4_len,
	      "a rebuilt packet parses differently");
	if (p->version == 4) {
		check(ip_csum_fold(ip_csum_add(0, out, 20)) == 0, "a built IPv4 header's sum");
	}
}

static void
check_udp(const struct ip_pkt *p)
{
	struct udp_view u, u2;
	struct ip_pkt r;
	enum ip_verdict v;
	size_t n;

	v = ip_parse_udp(p, &u);
	if (p->proto != IP_PROTO_UDP) {
		check(v == IP_DROP_SHORT, "ip_parse_udp on another protocol");
		return;
	}
	if (v != IP_OK) {
		check(v == IP_DROP_SHORT || v == IP_DROP_LEN || v == IP_DROP_CSUM,
		      "ip_parse_udp gave a verdict it does not give");
		return;
	}
	check(u.data == p->l4 + 8 && u.len + 8 <= p->l4_len, "UDP data outside the packet");

	/* The answer, as tund's DNS handler would send it. */
	n = ip_build_udp(out, sizeof(out), &p->dst, u.dport, &p->src, u.sport, u.data, u.len);
	check(n == (p->version == 4 ? 20u : 40u) + 8 + u.len, "UDP answer not built");
	v = ip_parse(out, n, &r);
	/* A broadcast or loopback destination cannot become a source. */
	check(v == IP_OK || v == IP_DROP_ADDR, "a built UDP packet does not parse");
	if (v != IP_OK) {
		return;
	}
	check_built(p, n, IP_PROTO_UDP, &r);
	check(ip_parse_udp(&r, &u2) == IP_OK, "a built UDP packet's header");
	check(u2.sport == u.dport && u2.dport == u.sport && u2.len == u.len &&
		  memcmp(u2.data, u.data, u.len) == 0,
	      "a built UDP packet's ports or data");
}

static void
check_unreach(const struct ip_pkt *p, size_t cap)
{
	static const enum ip_unreach whys[] = {
		IP_UNREACH_NET, IP_UNREACH_HOST, IP_UNREACH_PORT, IP_UNREACH_ADMIN,
	};
	size_t n, max = p->version == 4 ? 576 : 1280, hlen = p->version == 4 ? 20 : 40;
	struct ip_pkt r;

	for (size_t i = 0; i < sizeof(whys) / sizeof(whys[0]); i++) {
		n = ip_build_unreach(out, cap, p, whys[i]);
		if (n == 0) {
			continue;
		}
		check(n <= cap && n <= max, "unreachable longer than allowed");
		check(n >= hlen + 8, "unreachable shorter than its headers");
		check_built(p, n, p->version == 4 ? IP_PROTO_ICMP : IP_PROTO_ICMPV6, &r);
		check(r.l4[0] == (p->version == 4 ? 3 : 1), "unreachable's type");
		check(memcmp(r.l4 + 8, p->pkt, r.l4_len - 8) == 0,
		      "unreachable does not quote the packet");
		check(r.l4_len - 8 == p->pkt_len || n == max || n == cap,
		      "unreachable quotes less than it could");
	}
}

static void
check_echo(const struct ip_pkt *p)
{
	struct ip_pkt r;
	size_t n;

	n = ip_build_echo_reply(out, sizeof(out), p);
	if (n == 0) {
		return;
	}
	check(p->l4_len >= 8 && p->l4[1] == 0, "echo reply to a malformed request");
	check(p->l4[0] == (p->version == 4 ? 8 : 128), "echo reply to something else");
	check_built(p, n, p->version == 4 ? IP_PROTO_ICMP : IP_PROTO_ICMPV6, &r);
	check(r.l4_len == p->l4_len, "echo reply's length");
	check(r.l4[0] == (p->version == 4 ? 0 : 129) && r.l4[1] == 0, "echo reply's type");
	check(memcmp(r.l4 + 4, p->l4 + 4, p->l4_len - 4) == 0, "echo reply's id, seq or data");
	check(ip_build_echo_reply(out, n - 1, p) == 0, "echo reply built into too little room");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ip_pkt p, again;
	enum ip_verdict v;
	size_t l4_off = 0, off2 = 0;

	v = ip_parse(data, size, &p);
	check(v < IP_DROP_COUNT, "verdict out of range");
	check(strcmp(ip_verdict_name(v), "unknown") != 0, "verdict without a name");
	if (v != IP_OK) {
		return 0;
	}

	check(p.pkt == data && p.pkt_len <= size, "packet view outside the input");
	check(p.l4 >= p.pkt && p.l4_len <= p.pkt_len, "l4 view outside the packet");
	l4_off = (size_t)(p.l4 - p.pkt);
	check(l4_off + p.l4_len == p.pkt_len, "l4 view does not end with the packet");
	check(l4_off >= (p.version == 4 ? 20u : 40u), "l4 view inside the fixed header");
	check((p.version == 4 && p.src.family == AF_INET && p.dst.family == AF_INET) ||
		  (p.version == 6 && p.src.family == AF_INET6 && p.dst.family == AF_INET6),
	      "address family does not match the version");
	check(p.version != 4 || (l4_off <= 60 && l4_off == (size_t)(data[0] & 0x0f) * 4),
	      "IPv4 header length");

	/* Exactly the packet parses again the same; one byte less never does. */
	check(parse_copy(data, p.pkt_len, &again, &off2) == IP_OK && same_fields(&p, &again) &&
		  off2 == l4_off,
	      "the trimmed packet parses differently");
	check(parse_copy(data, p.pkt_len - 1, &again, &off2) != IP_OK, "a prefix parses");
	check(parse_copy(data, l4_off - 1, &again, &off2) != IP_OK, "cut headers parse");

	(void)ip_l4_csum_ok(&p);
	check_rebuilt(&p);
	check_udp(&p);
	check_unreach(&p, sizeof(out));
	/* And into less room, as much as the input's size says. */
	check_unreach(&p, size % 1400);
	check_echo(&p);
	return 0;
}

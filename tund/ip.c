/* SPDX-License-Identifier: MIT */
/*
 * IPv4, IPv6, ICMP and UDP on the TUN: see ip.h. This file owns the IP
 * header rules (what is parsed, skipped or dropped), the Internet checksum
 * and the few packets tund writes whole. It knows nothing of TCP beyond
 * the size of its header, does no I/O and keeps no state.
 *
 * Choices the header leaves open:
 * - Checks run in wire order: the version, the fixed header, the header
 *   length, the length fields, the IPv4 checksum, options, fragments and
 *   extension headers, and the addresses last, so a packet that is wrong
 *   in several ways is counted under its most basic fault.
 * - IPv4 options and IPv6 options are skipped, but their TLV framing is
 *   checked like every other length (IP_DROP_LEN). An IPv6 option we do
 *   not know whose type says "discard if unrecognized" (RFC 8200 section
 *   4.2, the two high bits) is IP_DROP_EXT, as RFC 8200 requires of the
 *   node a packet is addressed to; only Pad1, PadN and, in hop-by-hop,
 *   Jumbo Payload are known here.
 * - Mobility, HIP, Shim6 and the experimental headers 253/254 (RFC 7045's
 *   list) are extension headers we cannot pass: IP_DROP_EXT, rather than
 *   being taken for an upper-layer protocol.
 * - An IPv6 header holding an IPv4-mapped address is IP_DROP_ADDR, as in
 *   Linux's ip6_rcv_core: addr_set_raw would turn it into IPv4, and no
 *   host sends it on the wire (RFC 4291 section 2.5.5.2).
 * - A truncated extension header, an option or extension length past the
 *   payload, and an IPv6 payload length of 0 before hop-by-hop (a
 *   jumbogram, RFC 2675) are IP_DROP_LEN: some length field lies.
 */
#include "ip.h"

#include <string.h>
#include <sys/socket.h>

#include "cur.h"

#define IP4_HDR_LEN 20
#define IP6_HDR_LEN 40
#define IP4_LEN_MAX 65535
#define IP6_PLEN_MAX 65535
#define IP4_DF 0x4000
#define IP4_MF 0x2000
#define IP4_OFF_MASK 0x1fff

#define UDP_HDR_LEN 8
#define TCP_HDR_MIN 20
#define ICMP_HDR_LEN 8

/* RFC 8200 section 4 and the IANA extension header list (RFC 7045). */
#define NH_HOPOPTS 0
#define NH_ROUTING 43
#define NH_FRAGMENT 44
#define NH_ESP 50
#define NH_AH 51
#define NH_NONE 59
#define NH_DSTOPTS 60
#define NH_MOBILITY 135
#define NH_HIP 139
#define NH_SHIM6 140
#define NH_EXP1 253
#define NH_EXP2 254

/* How many extension headers one packet may carry before we give up. */
#define IP6_EXT_MAX 8

#define OPT4_EOL 0
#define OPT4_NOP 1
#define OPT6_PAD1 0
#define OPT6_PADN 1
#define OPT6_JUMBO 0xc2

#define ICMP4_UNREACH 3
#define ICMP4_SOURCE_QUENCH 4
#define ICMP4_REDIRECT 5
#define ICMP4_ECHO 8
#define ICMP4_ECHO_REPLY 0
#define ICMP4_TIME_EXCEEDED 11
#define ICMP4_PARAM_PROBLEM 12
#define ICMP6_UNREACH 1
#define ICMP6_INFO_MIN 128
#define ICMP6_ECHO 128
#define ICMP6_ECHO_REPLY 129

/* Largest ICMP error datagrams: RFC 1812 section 4.3.2.3, RFC 4443 2.4(c). */
#define ICMP4_ERR_MAX 576
#define ICMP6_ERR_MAX 1280

/*
 * Fuzzers cannot forge checksums, so under the fuzzing define every sum is
 * still computed (its reads stay checked) but its verdict is ignored.
 */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
static const bool verify_csum = false;
#else
static const bool verify_csum = true;
#endif

static const char *const verdict_names[IP_DROP_COUNT] = {
	[IP_OK] = "ok",
	[IP_DROP_SHORT] = "short",
	[IP_DROP_VERSION] = "version",
	[IP_DROP_HDR_LEN] = "hdr-len",
	[IP_DROP_LEN] = "len",
	[IP_DROP_CSUM] = "csum",
	[IP_DROP_FRAG] = "frag",
	[IP_DROP_EXT] = "ext-hdr",
	[IP_DROP_ADDR] = "addr",
};

const char *
ip_verdict_name(enum ip_verdict v)
{
	if ((unsigned int)v >= IP_DROP_COUNT || verdict_names[v] == NULL) {
		return "unknown";
	}
	return verdict_names[v];
}

/* Ones' complement addition: the carry out of bit 63 comes back in. */
static uint64_t
add64(uint64_t acc, uint64_t v)
{
	acc += v;
	return acc + (acc < v);
}

/* Folds to a value of at most 0xffff; nonzero stays nonzero (RFC 1071). */
static uint32_t
fold16(uint64_t acc)
{
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	return (uint32_t)acc;
}

/*
 * Words are loaded in host order, 32 bytes at a time: RFC 1071 section
 * 2(B) shows the sum is byte-order independent up to a final swap, which
 * the two-byte round trip at the end does without knowing the host's
 * order. Every load starts at an even offset, so each 16-bit lane is a
 * word of the data; a last odd byte is the high half of a word padded
 * with zero, as RFC 1071 says.
 */
uint32_t
ip_csum_add(uint32_t sum, const void *p, size_t len)
{
	uint64_t acc = 0, w[4], w64;
	uint32_t w32;
	uint16_t w16;
	uint8_t b[2] = { 0, 0 };
	struct cur c;

	cur_init(&c, p, len);
	while (cur_get_bytes(&c, w, sizeof(w))) {
		acc = add64(acc, w[0]);
		acc = add64(acc, w[1]);
		acc = add64(acc, w[2]);
		acc = add64(acc, w[3]);
	}
	while (cur_get_bytes(&c, &w64, sizeof(w64))) {
		acc = add64(acc, w64);
	}
	if (cur_get_bytes(&c, &w32, sizeof(w32))) {
		acc = add64(acc, w32);
	}
	if (cur_get_bytes(&c, &w16, sizeof(w16))) {
		acc = add64(acc, w16);
	}
	if (cur_get_u8(&c, &b[0])) {
		memcpy(&w16, b, sizeof(w16));
		acc = add64(acc, w16);
	}
	w16 = (uint16_t)fold16(acc);
	memcpy(b, &w16, sizeof(b));
	return fold16((uint64_t)sum + ((uint32_t)b[0] << 8 | b[1]));
}

uint16_t
ip_csum_fold(uint32_t sum)
{
	return (uint16_t)~fold16(sum);
}

static size_t
family_len(uint8_t family)
{
	switch (family) {
	case AF_INET:
		return 4;
	case AF_INET6:
		return 16;
	default:
		return 0;
	}
}

uint32_t
ip_pseudo_sum(const struct addr *src, const struct addr *dst, uint8_t proto, size_t l4_len)
{
	uint64_t len = l4_len;
	size_t alen;
	uint32_t sum;

	alen = family_len(src->family);
	if (alen == 0 || dst->family != src->family) {
		return 0;
	}
	sum = ip_csum_add(0, src->a, alen);
	sum = ip_csum_add(sum, dst->a, alen);
	/*
	 * The length is a 16-bit field for IPv4 (RFC 793) and a 32-bit one for
	 * IPv6 (RFC 8200 section 8.1); summing every 16-bit piece of it gives
	 * both, and an l4_len of 64 KB or more (GSO-sized) still sums right.
	 */
	return fold16((uint64_t)sum + proto + (len >> 48) + (len >> 32 & 0xffff) +
		      (len >> 16 & 0xffff) + (len & 0xffff));
}

static bool
addr_unspecified(const struct addr *a)
{
	static const uint8_t zero[16];
	size_t alen = family_len(a->family);

	return alen == 0 || memcmp(a->a, zero, alen) == 0;
}

static bool
addr_multicast(const struct addr *a)
{
	switch (a->family) {
	case AF_INET:
		return (a->a[0] & 0xf0) == 0xe0;
	case AF_INET6:
		return a->a[0] == 0xff;
	default:
		return false;
	}
}

static bool
addr_ok_as_dst(const struct addr *a)
{
	return !addr_unspecified(a) && !addr_multicast(a);
}

/*
 * A source no host on the TUN's other side can be: it would make us answer
 * a whole group, or ourselves (RFC 1122 section 3.2.1.3, RFC 4291 2.5.3,
 * 2.7).
 */
static bool
addr_ok_as_src(const struct addr *a)
{
	static const uint8_t bcast[4] = { 0xff, 0xff, 0xff, 0xff };
	static const uint8_t loop6[16] = { [15] = 1 };

	if (!addr_ok_as_dst(a)) {
		return false;
	}
	switch (a->family) {
	case AF_INET:
		return a->a[0] != 127 && memcmp(a->a, bcast, 4) != 0;
	case AF_INET6:
		return memcmp(a->a, loop6, 16) != 0;
	default:
		return false;
	}
}

/*
 * IPv4 options (RFC 791 section 3.1): EOL ends them, NOP is one byte,
 * every other option is type, length (counting both), data.
 */
static bool
ip4_opts_ok(struct cur *c)
{
	uint8_t type, olen;

	while (cur_get_u8(c, &type)) {
		if (type == OPT4_EOL) {
			return true;
		}
		if (type == OPT4_NOP) {
			continue;
		}
		if (!cur_get_u8(c, &olen) || olen < 2 || !cur_skip(c, (size_t)olen - 2)) {
			return false;
		}
	}
	return true;
}

static enum ip_verdict
parse_v4(const uint8_t *p, size_t len, struct ip_pkt *out)
{
	uint8_t vihl, tos, ttl, proto, src[4], dst[4];
	uint16_t total, frag;
	struct cur c, opts;
	size_t hlen;

	cur_init(&c, p, len);
	if (!cur_get_u8(&c, &vihl) || !cur_get_u8(&c, &tos) || !cur_get_u16(&c, &total) ||
	    !cur_skip(&c, 2) || !cur_get_u16(&c, &frag) || !cur_get_u8(&c, &ttl) ||
	    !cur_get_u8(&c, &proto) || !cur_skip(&c, 2) || !cur_get_bytes(&c, src, 4) ||
	    !cur_get_bytes(&c, dst, 4)) {
		return IP_DROP_SHORT;
	}
	hlen = (size_t)(vihl & 0x0f) * 4;
	if (hlen < IP4_HDR_LEN || hlen > len) {
		return IP_DROP_HDR_LEN;
	}
	if (total < hlen || total > len) {
		return IP_DROP_LEN;
	}
	if (ip_csum_fold(ip_csum_add(0, p, hlen)) != 0 && verify_csum) {
		return IP_DROP_CSUM;
	}
	/* Trailing bytes past the total length are link padding: not ours. */
	cur_init(&c, p, total);
	if (!cur_skip(&c, IP4_HDR_LEN) || !cur_get_sub(&c, &opts, hlen - IP4_HDR_LEN) ||
	    !ip4_opts_ok(&opts)) {
		return IP_DROP_LEN;
	}
	if ((frag & (IP4_MF | IP4_OFF_MASK)) != 0) {
		return IP_DROP_FRAG;
	}

	out->version = 4;
	out->proto = proto;
	out->ttl = ttl;
	out->tos = tos;
	addr_set_raw(&out->src, src, 4);
	addr_set_raw(&out->dst, dst, 4);
	out->pkt = p;
	out->pkt_len = total;
	out->l4 = c.p;
	out->l4_len = cur_left(&c);
	return IP_OK;
}

/*
 * The next extension header's fixed part, and its body (RFC 8200 section
 * 4: lengths in 8-octet units, not counting the first 8).
 */
static bool
ext_get(struct cur *c, uint8_t *nh, struct cur *body)
{
	uint8_t next, units;

	if (!cur_get_u8(c, &next) || !cur_get_u8(c, &units) ||
	    !cur_get_sub(c, body, ((size_t)units + 1) * 8 - 2)) {
		return false;
	}
	*nh = next;
	return true;
}

/* Hop-by-hop or destination options, TLV-encoded (RFC 8200 section 4.2). */
static enum ip_verdict
ip6_opts_check(struct cur *body, bool hop_by_hop)
{
	uint8_t type, olen;

	while (cur_get_u8(body, &type)) {
		if (type == OPT6_PAD1) {
			continue;
		}
		if (!cur_get_u8(body, &olen) || !cur_skip(body, olen)) {
			return IP_DROP_LEN;
		}
		switch (type) {
		case OPT6_PADN:
			break;
		case OPT6_JUMBO:
			/* Jumbo with a nonzero payload length: RFC 2675 section 3. */
			if (hop_by_hop) {
				return IP_DROP_LEN;
			}
			return IP_DROP_EXT;
		default:
			/* 00 in the two high bits: "skip over this option". */
			if ((type >> 6) != 0) {
				return IP_DROP_EXT;
			}
			break;
		}
	}
	return IP_OK;
}

/*
 * Walks the extension headers from *nh, leaving c on the upper-layer
 * bytes and *nh naming their protocol.
 */
/* A routing header (RFC 8200 section 4.4) after its first two bytes. */
static enum ip_verdict
ip6_routing_check(struct cur *body)
{
	uint8_t rtype, segs_left;

	if (!cur_get_u8(body, &rtype) || !cur_get_u8(body, &segs_left)) {
		return IP_DROP_LEN;
	}
	/*
	 * With segments left we are not the final destination; with none,
	 * the header is spent (whatever its type, RFC 5095 included) and the
	 * destination address is already the one the pseudo-header wants.
	 */
	return segs_left == 0 ? IP_OK : IP_DROP_EXT;
}

/*
 * Walks the extension headers from *nh, leaving c on the upper-layer
 * bytes and *nh naming their protocol.
 */
static enum ip_verdict
ip6_walk_ext(struct cur *c, uint8_t *nh)
{
	enum ip_verdict v;
	struct cur body;
	uint8_t hdr;

	for (size_t n = 0;; n++) {
		hdr = *nh;
		switch (hdr) {
		case NH_HOPOPTS:
		case NH_DSTOPTS:
		case NH_ROUTING:
			break;
		case NH_FRAGMENT:
			return IP_DROP_FRAG;
		case NH_ESP:
		case NH_AH:
		case NH_NONE:
		case NH_MOBILITY:
		case NH_HIP:
		case NH_SHIM6:
		case NH_EXP1:
		case NH_EXP2:
			return IP_DROP_EXT;
		default:
			return IP_OK;
		}
		/* Hop-by-hop only right after the IPv6 header (section 4.3). */
		if (n == IP6_EXT_MAX || (hdr == NH_HOPOPTS && n != 0)) {
			return IP_DROP_EXT;
		}
		if (!ext_get(c, nh, &body)) {
			return IP_DROP_LEN;
		}
		if (hdr == NH_ROUTING) {
			v = ip6_routing_check(&body);
		} else {
			v = ip6_opts_check(&body, hdr == NH_HOPOPTS);
		}
		if (v != IP_OK) {
			return v;
		}
	}
}

static enum ip_verdict
parse_v6(const uint8_t *p, size_t len, struct ip_pkt *out)
{
	uint8_t nh, hlim, src[16], dst[16];
	uint32_t vtcfl;
	uint16_t plen;
	enum ip_verdict v;
	struct addr s, d;
	struct cur c;

	cur_init(&c, p, len);
	if (!cur_get_u32(&c, &vtcfl) || !cur_get_u16(&c, &plen) || !cur_get_u8(&c, &nh) ||
	    !cur_get_u8(&c, &hlim) || !cur_get_bytes(&c, src, 16) || !cur_get_bytes(&c, dst, 16)) {
		return IP_DROP_SHORT;
	}
	/* A jumbogram (RFC 2675): its length is in the hop-by-hop option. */
	if (plen == 0 && nh == NH_HOPOPTS) {
		return IP_DROP_LEN;
	}
	if (plen > cur_left(&c)) {
		return IP_DROP_LEN;
	}
	cur_init(&c, p, IP6_HDR_LEN + (size_t)plen);
	if (!cur_skip(&c, IP6_HDR_LEN)) {
		return IP_DROP_SHORT;
	}
	v = ip6_walk_ext(&c, &nh);
	if (v != IP_OK) {
		return v;
	}
	addr_set_raw(&s, src, 16);
	addr_set_raw(&d, dst, 16);
	if (s.family != AF_INET6 || d.family != AF_INET6) {
		return IP_DROP_ADDR;
	}

	out->version = 6;
	out->proto = nh;
	out->ttl = hlim;
	out->tos = (uint8_t)(vtcfl >> 20);
	out->src = s;
	out->dst = d;
	out->pkt = p;
	out->pkt_len = IP6_HDR_LEN + (size_t)plen;
	out->l4 = c.p;
	out->l4_len = cur_left(&c);
	return IP_OK;
}

enum ip_verdict
ip_parse(const uint8_t *p, size_t len, struct ip_pkt *out)
{
	struct ip_pkt pkt;
	enum ip_verdict v;
	struct cur c;
	uint8_t b;

	cur_init(&c, p, len);
	if (!cur_get_u8(&c, &b)) {
		return IP_DROP_SHORT;
	}
	switch (b >> 4) {
	case 4:
		v = parse_v4(p, len, &pkt);
		break;
	case 6:
		v = parse_v6(p, len, &pkt);
		break;
	default:
		return IP_DROP_VERSION;
	}
	if (v != IP_OK) {
		return v;
	}
	if (!addr_ok_as_src(&pkt.src) || !addr_ok_as_dst(&pkt.dst)) {
		return IP_DROP_ADDR;
	}
	*out = pkt;
	return IP_OK;
}


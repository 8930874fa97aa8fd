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

uint32_t
ip_pseudo_sum(const struct addr *src, const struct addr *dst, uint8_t proto, size_t l4_len)
{
	uint64_t len = l4_len;
	size_t alen;
	uint32_t sum;

	alen = addr_family_len(src->family);
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
	size_t alen = addr_family_len(a->family);

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

/* The family both addresses must have for pkt's version, or 0. */
static uint8_t
pkt_family(const struct ip_pkt *pkt)
{
	uint8_t family;

	switch (pkt->version) {
	case 4:
		family = AF_INET;
		break;
	case 6:
		family = AF_INET6;
		break;
	default:
		return 0;
	}
	if (pkt->src.family != family || pkt->dst.family != family) {
		return 0;
	}
	return family;
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

/* Whether pkt's upper layer sums right; the verdict before the fuzzing switch. */
static bool
l4_sum_ok(const struct ip_pkt *pkt)
{
	uint8_t family = pkt_family(pkt);
	size_t len = pkt->l4_len;
	uint16_t ulen, csum;
	struct cur c;

	switch (pkt->proto) {
	case IP_PROTO_TCP:
		if (family == 0 || len < TCP_HDR_MIN) {
			return false;
		}
		break;
	case IP_PROTO_UDP:
		cur_init(&c, pkt->l4, pkt->l4_len);
		if (family == 0 || !cur_skip(&c, 4) || !cur_get_u16(&c, &ulen) ||
		    !cur_get_u16(&c, &csum) || ulen < UDP_HDR_LEN || ulen > pkt->l4_len) {
			return false;
		}
		/*
		 * Zero is "no checksum" over IPv4 (RFC 768) and forbidden over
		 * IPv6 (RFC 8200 section 8.1). The sum covers the UDP length,
		 * not what the IP length leaves after it.
		 */
		if (csum == 0) {
			return family == AF_INET;
		}
		len = ulen;
		break;
	case IP_PROTO_ICMP:
		/* ICMPv4 sums its message alone (RFC 792). */
		if (family != AF_INET || len < ICMP_HDR_LEN) {
			return false;
		}
		return ip_csum_fold(ip_csum_add(0, pkt->l4, len)) == 0;
	case IP_PROTO_ICMPV6:
		if (family != AF_INET6 || len < ICMP_HDR_LEN) {
			return false;
		}
		break;
	default:
		return false;
	}
	return ip_csum_fold(ip_csum_add(ip_pseudo_sum(&pkt->src, &pkt->dst, pkt->proto, len),
					pkt->l4, len)) == 0;
}

bool
ip_l4_csum_ok(const struct ip_pkt *pkt)
{
	return l4_sum_ok(pkt) || !verify_csum;
}

/* The IP header, into w; false (and w as it was) when it cannot be. */
static bool
put_hdr(struct wcur *w, const struct addr *src, const struct addr *dst, uint8_t proto,
	size_t l4_len, uint8_t ttl)
{
	uint16_t total;
	uint32_t sum;

	if (src->family != dst->family) {
		return false;
	}
	switch (src->family) {
	case AF_INET:
		if (l4_len > IP4_LEN_MAX - IP4_HDR_LEN || w->cap - w->len < IP4_HDR_LEN) {
			return false;
		}
		total = (uint16_t)(IP4_HDR_LEN + l4_len);
		/* ID 0 is fine with DF set: no fragment will need it (RFC 6864). */
		sum = 0x4500 + (uint32_t)total + IP4_DF + ((uint32_t)ttl << 8 | proto);
		sum = ip_csum_add(sum, src->a, 4);
		sum = ip_csum_add(sum, dst->a, 4);
		return wcur_put_u16(w, 0x4500) && wcur_put_u16(w, total) &&
		    wcur_put_u16(w, 0) && wcur_put_u16(w, IP4_DF) && wcur_put_u8(w, ttl) &&
		    wcur_put_u8(w, proto) && wcur_put_u16(w, ip_csum_fold(sum)) &&
		    wcur_put_bytes(w, src->a, 4) && wcur_put_bytes(w, dst->a, 4);
	case AF_INET6:
		if (l4_len > IP6_PLEN_MAX || w->cap - w->len < IP6_HDR_LEN) {
			return false;
		}
		return wcur_put_u32(w, 0x60000000) && wcur_put_u16(w, (uint16_t)l4_len) &&
		    wcur_put_u8(w, proto) && wcur_put_u8(w, ttl) && wcur_put_bytes(w, src->a, 16) &&
		    wcur_put_bytes(w, dst->a, 16);
	default:
		return false;
	}
}

size_t
ip_build_hdr(uint8_t *out, size_t cap, const struct addr *src, const struct addr *dst,
	     uint8_t proto, size_t l4_len, uint8_t ttl)
{
	struct wcur w;

	wcur_init(&w, out, cap);
	return put_hdr(&w, src, dst, proto, l4_len, ttl) ? w.len : 0;
}

enum ip_verdict
ip_parse_udp(const struct ip_pkt *pkt, struct udp_view *u)
{
	uint16_t sport, dport, ulen, csum;
	struct cur c, data;

	if (pkt->proto != IP_PROTO_UDP) {
		return IP_DROP_SHORT;
	}
	cur_init(&c, pkt->l4, pkt->l4_len);
	if (!cur_get_u16(&c, &sport) || !cur_get_u16(&c, &dport) || !cur_get_u16(&c, &ulen) ||
	    !cur_get_u16(&c, &csum)) {
		return IP_DROP_SHORT;
	}
	/* Bytes past the UDP length are the IP layer's padding, not data. */
	if (ulen < UDP_HDR_LEN || !cur_get_sub(&c, &data, (size_t)ulen - UDP_HDR_LEN)) {
		return IP_DROP_LEN;
	}
	if (!ip_l4_csum_ok(pkt)) {
		return IP_DROP_CSUM;
	}
	u->sport = sport;
	u->dport = dport;
	u->data = data.p;
	u->len = cur_left(&data);
	return IP_OK;
}

static size_t
hdr_len(uint8_t family)
{
	switch (family) {
	case AF_INET:
		return IP4_HDR_LEN;
	case AF_INET6:
		return IP6_HDR_LEN;
	default:
		return 0;
	}
}

size_t
ip_build_udp(uint8_t *out, size_t cap, const struct addr *src, uint16_t sport,
	     const struct addr *dst, uint16_t dport, const void *data, size_t len)
{
	size_t hlen = hdr_len(src->family);
	uint16_t ulen, csum;
	struct wcur w;
	uint32_t sum;

	if (hlen == 0 || dst->family != src->family || len > 0xffff - UDP_HDR_LEN ||
	    cap < hlen || cap - hlen < UDP_HDR_LEN + len) {
		return 0;
	}
	ulen = (uint16_t)(UDP_HDR_LEN + len);
	sum = ip_pseudo_sum(src, dst, IP_PROTO_UDP, ulen);
	sum = fold16((uint64_t)sum + sport + dport + ulen);
	csum = ip_csum_fold(ip_csum_add(sum, data, len));
	/* A computed 0 goes out as 0xffff: 0 means "none" (RFC 768). */
	if (csum == 0) {
		csum = 0xffff;
	}
	wcur_init(&w, out, cap);
	if (!put_hdr(&w, src, dst, IP_PROTO_UDP, ulen, IP_TTL_DEFAULT) ||
	    !wcur_put_u16(&w, sport) || !wcur_put_u16(&w, dport) || !wcur_put_u16(&w, ulen) ||
	    !wcur_put_u16(&w, csum) || !wcur_put_bytes(&w, data, len)) {
		return 0;
	}
	return w.len;
}

/*
 * An answer goes from orig's destination back to its source, so both must
 * be addresses a single host may send from, in orig's family.
 */
static bool
reply_addrs_ok(const struct ip_pkt *orig)
{
	return pkt_family(orig) != 0 && addr_ok_as_src(&orig->src) && addr_ok_as_src(&orig->dst);
}

static uint8_t
icmp_proto(uint8_t version)
{
	return version == 4 ? IP_PROTO_ICMP : IP_PROTO_ICMPV6;
}

/* RFC 1812 section 4.3.2.7 and RFC 4443 section 2.4(e): no error about an error. */
static bool
is_icmp_error(const struct ip_pkt *orig)
{
	struct cur c;
	uint8_t type;

	if (orig->proto != icmp_proto(orig->version)) {
		return false;
	}
	cur_init(&c, orig->l4, orig->l4_len);
	/* Too short to tell what it is: it may be an error, so stay silent. */
	if (!cur_get_u8(&c, &type)) {
		return true;
	}
	if (orig->version == 6) {
		return type < ICMP6_INFO_MIN;
	}
	switch (type) {
	case ICMP4_UNREACH:
	case ICMP4_SOURCE_QUENCH:
	case ICMP4_REDIRECT:
	case ICMP4_TIME_EXCEEDED:
	case ICMP4_PARAM_PROBLEM:
		return true;
	default:
		return false;
	}
}

static bool
unreach_code(uint8_t version, enum ip_unreach why, uint8_t *code)
{
	switch (why) {
	case IP_UNREACH_NET:
		*code = 0;
		return true;
	case IP_UNREACH_HOST:
		*code = version == 4 ? 1 : 3;
		return true;
	case IP_UNREACH_PORT:
		*code = version == 4 ? 3 : 4;
		return true;
	case IP_UNREACH_ADMIN:
		*code = version == 4 ? 13 : 1;
		return true;
	default:
		return false;
	}
}

/*
 * ICMP type, code, checksum, 4 more header bytes, then body: the checksum
 * over all of it (with the pseudo-header for ICMPv6), for src -> dst.
 */
static size_t
put_icmp(uint8_t *out, size_t cap, const struct addr *src, const struct addr *dst,
	 uint8_t type, uint8_t code, uint32_t rest, const uint8_t *body, size_t body_len)
{
	uint8_t proto = src->family == AF_INET ? IP_PROTO_ICMP : IP_PROTO_ICMPV6;
	size_t icmp_len = ICMP_HDR_LEN + body_len;
	struct wcur w;
	uint32_t sum;

	if (cap < hdr_len(src->family) || cap - hdr_len(src->family) < icmp_len) {
		return 0;
	}
	sum = fold16((uint64_t)((uint32_t)type << 8 | code) + (rest >> 16) + (rest & 0xffff));
	sum = ip_csum_add(sum, body, body_len);
	if (proto == IP_PROTO_ICMPV6) {
		sum = fold16((uint64_t)sum + ip_pseudo_sum(src, dst, proto, icmp_len));
	}
	wcur_init(&w, out, cap);
	if (!put_hdr(&w, src, dst, proto, icmp_len, IP_TTL_DEFAULT) || !wcur_put_u8(&w, type) ||
	    !wcur_put_u8(&w, code) || !wcur_put_u16(&w, ip_csum_fold(sum)) ||
	    !wcur_put_u32(&w, rest) || !wcur_put_bytes(&w, body, body_len)) {
		return 0;
	}
	return w.len;
}

size_t
ip_build_unreach(uint8_t *out, size_t cap, const struct ip_pkt *orig, enum ip_unreach why)
{
	size_t hlen, room, quote, need;
	uint8_t code;

	if (!reply_addrs_ok(orig) || is_icmp_error(orig) ||
	    !unreach_code(orig->version, why, &code) || orig->l4_len > orig->pkt_len) {
		return 0;
	}
	hlen = hdr_len(orig->src.family);
	room = orig->version == 4 ? ICMP4_ERR_MAX : ICMP6_ERR_MAX;
	if (cap < room) {
		room = cap;
	}
	if (room < hlen + ICMP_HDR_LEN) {
		return 0;
	}
	room -= hlen + ICMP_HDR_LEN;
	quote = orig->pkt_len < room ? orig->pkt_len : room;
	/*
	 * The sender needs at least orig's IP headers and the first 8 bytes
	 * after them (RFC 792: the ports) to find the socket to tell; a
	 * shorter quote is not worth sending, unless the RFC limit itself is
	 * what cuts a long IPv6 header chain.
	 */
	need = orig->pkt_len - orig->l4_len + 8;
	if (need > orig->pkt_len) {
		need = orig->pkt_len;
	}
	if (need > ICMP6_ERR_MAX - IP6_HDR_LEN - ICMP_HDR_LEN) {
		need = ICMP6_ERR_MAX - IP6_HDR_LEN - ICMP_HDR_LEN;
	}
	if (quote < need) {
		return 0;
	}
	return put_icmp(out, cap, &orig->dst, &orig->src,
			orig->version == 4 ? ICMP4_UNREACH : ICMP6_UNREACH, code, 0, orig->pkt,
			quote);
}

size_t
ip_build_echo_reply(uint8_t *out, size_t cap, const struct ip_pkt *orig)
{
	uint8_t type, code;
	uint32_t id_seq;
	struct cur c;

	if (!reply_addrs_ok(orig) || orig->proto != icmp_proto(orig->version)) {
		return 0;
	}
	cur_init(&c, orig->l4, orig->l4_len);
	if (!cur_get_u8(&c, &type) || !cur_get_u8(&c, &code) || !cur_skip(&c, 2) ||
	    !cur_get_u32(&c, &id_seq)) {
		return 0;
	}
	if (type != (orig->version == 4 ? ICMP4_ECHO : ICMP6_ECHO) || code != 0 ||
	    !ip_l4_csum_ok(orig)) {
		return 0;
	}
	return put_icmp(out, cap, &orig->dst, &orig->src,
			orig->version == 4 ? ICMP4_ECHO_REPLY : ICMP6_ECHO_REPLY, 0, id_seq, c.p,
			cur_left(&c));
}

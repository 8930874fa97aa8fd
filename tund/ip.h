/* SPDX-License-Identifier: MIT */
/*
 * IPv4 and IPv6 packets as they come from and go to the TUN: parsing into a
 * borrowed view, checksums, and the few packets tund builds whole (UDP
 * answers, ICMP/ICMPv6 errors and echo replies). Pure: no fd, no clock, no
 * allocation. TCP segments are tcp_wire's; this file stops at the IP
 * payload.
 *
 * Parsing checks every length against the bytes present (the IPv4 total
 * length and header length, the IPv6 payload length, each extension
 * header's length) and trims the view to what the header says: trailing
 * bytes past the IP length are ignored, a length past the bytes present is
 * a drop. What we cannot handle as an endpoint is a drop with a reason,
 * counted by the caller: fragments (our MTU is the link's, so the local
 * kernel never needs them), a routing header with segments left, AH/ESP,
 * "no next header". IPv4 options and IPv6 hop-by-hop and destination
 * options are skipped (their TLV lengths checked; an IPv6 option we do not
 * know whose type says "discard if unrecognized", RFC 8200 section 4.2, is
 * IP_DROP_EXT).
 *
 * A builder that returns 0 has written nothing to out.
 *
 * Under FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION checksums are not
 * verified (lwIP's advice), so fuzzers reach the code behind them.
 */
#ifndef TUND_IP_H
#define TUND_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define IP_PROTO_ICMP 1
#define IP_PROTO_TCP 6
#define IP_PROTO_UDP 17
#define IP_PROTO_ICMPV6 58

/* The longest IP header tund builds (IPv6, no extension headers). */
#define IP_HDR_MAX 40

/* TTL / hop limit of the packets built whole here (UDP, ICMP). */
#define IP_TTL_DEFAULT 64

/* A parsed packet; the pointers borrow the caller's bytes. */
struct ip_pkt {
	uint8_t version;        /* 4 or 6 */
	uint8_t proto;          /* upper-layer protocol, after extension headers */
	uint8_t ttl;            /* TTL or hop limit */
	uint8_t tos;            /* IPv4 TOS / IPv6 traffic class */
	struct addr src, dst;
	const uint8_t *pkt;     /* the whole packet, trimmed to its IP length */
	size_t pkt_len;
	const uint8_t *l4;      /* the upper-layer header and payload */
	size_t l4_len;
};

enum ip_verdict {
	IP_OK = 0,
	IP_DROP_SHORT,          /* fewer bytes than a header */
	IP_DROP_VERSION,        /* neither 4 nor 6 */
	IP_DROP_HDR_LEN,        /* IPv4 IHL < 5 or past the packet */
	IP_DROP_LEN,            /* a length field lies about the bytes present */
	IP_DROP_CSUM,           /* IPv4 header, or UDP/ICMP checksum */
	IP_DROP_FRAG,           /* IPv4 MF/offset, IPv6 fragment header */
	IP_DROP_EXT,            /* IPv6 extension header we cannot pass */
	IP_DROP_ADDR,           /* source or destination we never talk with */
	IP_DROP_COUNT,
};

/*
 * A short, stable name for counters and `tund status`: "ok", "short",
 * "version", "hdr-len", "len", "csum", "frag", "ext-hdr", "addr";
 * "unknown" for a value outside the enum.
 */
const char *ip_verdict_name(enum ip_verdict v);

/*
 * Parses one packet. IP_OK fills *out; anything else says why it must
 * be dropped, and leaves *out untouched. IP_DROP_ADDR: a multicast,
 * broadcast, unspecified or loopback source, or a multicast/unspecified
 * destination, or an IPv4-mapped address in an IPv6 header (so that on
 * IP_OK both addresses are AF_INET for version 4, AF_INET6 for 6).
 */
enum ip_verdict ip_parse(const uint8_t *p, size_t len, struct ip_pkt *out);

/*
 * Ones' complement sums (RFC 1071). ip_csum_add adds the 16-bit
 * big-endian words of p[0..len) to sum, a last odd byte padded with zero,
 * so a sum may be carried over several pieces split at even offsets. It
 * and ip_pseudo_sum return at most 0xffff, so that a caller may add a few
 * 16-bit words before the next call. ip_csum_fold gives the checksum to
 * write (host order), or 0 when verifying data that includes its checksum.
 */
uint32_t ip_csum_add(uint32_t sum, const void *p, size_t len);
uint16_t ip_csum_fold(uint32_t sum);
/*
 * The pseudo-header's sum (RFC 793 / RFC 8200 section 8.1), l4_len counted
 * as a 32-bit length. 0 when the families differ or are neither IPv4 nor
 * IPv6.
 */
uint32_t ip_pseudo_sum(const struct addr *src, const struct addr *dst, uint8_t proto,
		       size_t l4_len);
/*
 * True when pkt->l4 (TCP, UDP or ICMPv6) sums right with its pseudo-header; ICMPv4 without one.
 * A UDP checksum of 0 is "none" over IPv4 (true) and invalid over IPv6 (false); the UDP sum
 * covers the UDP length field's bytes. False for any other protocol, an ICMPv4/ICMPv6 in the
 * other family, and an upper layer shorter than its fixed header (TCP 20, UDP 8 with a length
 * field in 8..l4_len, ICMP 8). Always true under the fuzzing define.
 */
bool ip_l4_csum_ok(const struct ip_pkt *pkt);

/*
 * Writes an IP header for src -> dst (same family) carrying l4_len bytes
 * of proto, with its checksum (IPv4). Returns the header length (20 or
 * 40), or 0 when cap is short or the sizes cannot be encoded. IPv4: DF
 * set, ID 0, TOS 0; IPv6: traffic class and flow label 0.
 */
size_t ip_build_hdr(uint8_t *out, size_t cap, const struct addr *src, const struct addr *dst,
		    uint8_t proto, size_t l4_len, uint8_t ttl);

struct udp_view {
	uint16_t sport, dport;
	const uint8_t *data;
	size_t len;
};

/*
 * The UDP header of pkt (proto UDP): lengths and checksum checked. *u is
 * filled only on IP_OK; u->data borrows pkt's bytes, trimmed to the UDP
 * length. IP_DROP_SHORT for fewer than 8 bytes (or a pkt that is not UDP),
 * IP_DROP_LEN for a UDP length under 8 or past l4_len, IP_DROP_CSUM.
 */
enum ip_verdict ip_parse_udp(const struct ip_pkt *pkt, struct udp_view *u);

/*
 * A whole UDP packet with its checksum (never 0 on the wire). Length
 * written, or 0 when cap is short, the families differ, or len does not
 * fit the length fields. data must not overlap out.
 */
size_t ip_build_udp(uint8_t *out, size_t cap, const struct addr *src, uint16_t sport,
		    const struct addr *dst, uint16_t dport, const void *data, size_t len);

enum ip_unreach {
	IP_UNREACH_NET,         /* v4 code 0, v6 code 0 (no route) */
	IP_UNREACH_HOST,        /* v4 code 1, v6 code 3 (address unreachable) */
	IP_UNREACH_PORT,        /* v4 code 3, v6 code 4 */
	IP_UNREACH_ADMIN,       /* v4 code 13, v6 code 1 (administratively prohibited) */
};

/*
 * A destination unreachable for orig, from orig's destination to its
 * source, quoting as much of orig as RFC 1812 / RFC 4443 allow (576 /
 * 1280 bytes in all, and cap). Never in answer to an ICMP error, nor to a
 * packet from or to a multicast or broadcast address: 0 then, and when
 * cap is short. Also 0 for a loopback or unspecified address on either
 * side, an ICMP message too short to show its type, and when cap cannot
 * hold orig's IP headers and 8 bytes after them (what the sender needs to
 * find its socket; RFC 792).
 */
size_t ip_build_unreach(uint8_t *out, size_t cap, const struct ip_pkt *orig, enum ip_unreach why);

/*
 * The echo reply to an ICMP echo request (type 8) or ICMPv6 echo request
 * (type 128), same identifier, sequence and data. 0 when orig is not a
 * well-formed echo request, or cap is short. Well-formed: the ICMP of its
 * family, code 0, at least 8 bytes, checksum right (ip_l4_csum_ok), and
 * addresses that can be swapped (as for ip_build_unreach). IP options are
 * not echoed.
 */
size_t ip_build_echo_reply(uint8_t *out, size_t cap, const struct ip_pkt *orig);

#endif

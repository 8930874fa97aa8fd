/* SPDX-License-Identifier: MIT */
/*
 * The leak classifier behind `tund leakcheck` (DESIGN sections 1 and 8):
 * one captured frame in, a class and a one-line description out. Pure: no
 * capture, no fd, no clock, no allocation. libpcap stays in leakcheck.c;
 * this file takes the link type as the plain DLT number that
 * pcap_datalink() returns (the LEAK_DLT_* values below, which leakcheck.c
 * checks against <pcap/pcap.h> at compile time).
 *
 * What an eavesdropper on the outer link may see is TCP between this
 * machine and a configured relay's address and port (section 3: TLS from
 * the first byte, no SNI), in either direction. Everything else is a leak,
 * except the kernel's own link chatter, counted apart as housekeeping:
 *
 *   ARP (and nothing else below IP)
 *   ICMPv6 router/neighbour solicitation and advertisement, redirect
 *     (133-137), only with hop limit 255 (RFC 4861 requires it: such a
 *     packet cannot have come from off the link, nor be routed away)
 *   MLD queries, reports and done (130-132, 143), only with hop limit 1
 *     (RFC 2710 section 3, RFC 3810 section 5)
 *   IGMP (IPv4 protocol 2), only with TTL 1 (RFC 2236, RFC 3376): it is
 *     to IPv4 what MLD is to IPv6, the kernel's report of which multicast
 *     groups it listens to. It names groups, never a host or a query,
 *     and the traffic to such a group (mDNS, SSDP...) is itself a leak.
 *
 * Not housekeeping, though the system sends them unasked: DHCP and DHCPv6
 * (they carry the host name and a client identifier), mDNS and LLMNR (host
 * and service names; counted as DNS), LLDP and other non-IP frames (LLDP
 * names the host), ICMPv6 echo and errors. An ICMP or ICMPv6 error (v4
 * types 3, 11, 12; v6 types 1-4) that quotes TCP with a relay counts as
 * relay traffic: path-MTU discovery for the relay connection is part of
 * that connection, and tells nothing the connection itself does not.
 *
 * Leaks are told apart for the description and the counters:
 *   LEAK_DNS        UDP or TCP with port 53 on either side, and UDP
 *                   5353 (mDNS) and 5355 (LLMNR); the query name is
 *                   shown when the message parses
 *   LEAK_SNI        a TLS ClientHello with a server_name extension
 *                   (RFC 6066 section 3) on a relay connection, which
 *                   ours never sends: "TLS SNI in clear: NAME"
 *   LEAK_IP         any other IP packet: protocol, addresses, ports;
 *                   IPv6 ones say "IPv6 outside the tunnel"
 *   LEAK_NON_IP     a frame that is neither IP nor ARP
 *   LEAK_MALFORMED  a frame that cannot be parsed far enough to tell
 *                   ("malformed frame: ..."), an unsupported link type
 *
 * Captures may be cut short by the snap length (caplen < len): the frame
 * is classified on the bytes present and nothing past caplen is read. A
 * length field that claims more than the frame's length on the wire is
 * malformed; one that claims more than was captured is only truncation.
 * A packet cut before its ports cannot be shown to be relay traffic and
 * is malformed. A ClientHello split over several TCP segments is looked
 * at only in the segment where it starts (there is no reassembly here),
 * so an SNI past the first segment goes unseen; our own ClientHello has
 * none to hide.
 *
 * An IPv4 total length or an IPv6 payload length of 0 is taken to mean
 * "the rest of the frame", as tcpdump does: it is what the kernel's BIG
 * TCP shows on links that aggregate past 64 KB (RFC 2675 for IPv6).
 *
 * Names and other bytes from the wire in descriptions are escaped: only
 * printable ASCII passes, anything else is written \xHH, and '\' is "\\".
 */
#ifndef TUND_LEAK_H
#define TUND_LEAK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* Link types as pcap_datalink() returns them on Linux. */
#define LEAK_DLT_EN10MB 1               /* Ethernet, 802.1Q/802.1ad tags allowed */
#define LEAK_DLT_RAW 12                 /* bare IPv4 or IPv6 (TUN, WireGuard) */
#define LEAK_DLT_LINUX_SLL 113          /* Linux cooked v1 ("any", PPP) */
#define LEAK_DLT_IPV4 228
#define LEAK_DLT_IPV6 229
#define LEAK_DLT_LINUX_SLL2 276         /* Linux cooked v2 */
/* DLT_RAW as a pcap file's header names it; accepted as LEAK_DLT_RAW. */
#define LEAK_LINKTYPE_RAW 101

/* Room for any description leak_classify writes, with its NUL. */
#define LEAK_DESC_MAX 384

struct leak_relay {
	struct addr addr;
	uint16_t port;
};

enum leak_class {
	LEAK_RELAY,             /* TCP with a relay, both directions: allowed */
	LEAK_HOUSEKEEPING,      /* ARP, ND, MLD, IGMP: counted, not a leak */
	LEAK_DNS,
	LEAK_SNI,
	LEAK_IP,
	LEAK_NON_IP,
	LEAK_MALFORMED,
	LEAK_CLASS_COUNT,
};

/* True for the link types leak_classify understands. */
bool leak_dlt_supported(int dlt);

/* A short name for counters: "relay", "housekeeping", "dns"... */
const char *leak_class_name(enum leak_class c);

/* True for every class but LEAK_RELAY and LEAK_HOUSEKEEPING. */
bool leak_class_is_leak(enum leak_class c);

/*
 * Classifies one frame of link type dlt: frame holds the caplen bytes
 * captured of a frame that was len bytes on the wire (len < caplen is
 * taken as len == caplen). relays are borrowed for the call. When desc is
 * not NULL, a one-line description (no newline) is written there, cut to
 * desc_len and always NUL-terminated when desc_len > 0.
 */
enum leak_class leak_classify(int dlt, const uint8_t *frame, size_t caplen, size_t len,
			      const struct leak_relay *relays, size_t n_relays, char *desc,
			      size_t desc_len);

#endif

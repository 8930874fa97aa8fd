// SPDX-License-Identifier: MIT
/*
 * The leak classifier: see leak.h for the classes and why. One pass over
 * the frame, link layer, then IP, then the transport header and the
 * little of the payload that names something (a DNS question, a TLS
 * server_name). What is learnt goes into struct pkt; the description is
 * written from it once the class is known. Every byte is read through a
 * cursor over what was captured; "wire" lengths (what the frame had on the
 * link) are only compared against, never read.
 */
#include "leak.h"

#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cur.h"
#include "log.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_PPPOE_SESSION 0x8864
#define ETHER_MIN_TYPE 0x0600   /* below: an 802.3 length (IEEE 802.3 clause 3.2.6) */
#define VLAN_TAGS_MAX 2         /* 802.1ad: a service tag and a customer tag */
#define PPP_IPV4 0x0021         /* RFC 1332 */
#define PPP_IPV6 0x0057         /* RFC 5072 */

#define PORT_DNS 53
#define PORT_MDNS 5353          /* RFC 6762 */
#define PORT_LLMNR 5355         /* RFC 4795 */

#define TLS_HANDSHAKE 22        /* RFC 8446 section 5.1 */
#define TLS_CLIENT_HELLO 1      /* RFC 8446 section 4 */
#define TLS_EXT_SERVER_NAME 0   /* RFC 6066 section 3 */
#define TLS_SNI_HOST_NAME 0

#define DNS_NAME_MAX 255        /* RFC 1035 section 2.3.4, on the wire */
#define DNS_LABEL_MAX 63

/* Longest name shown, escaped; longer ones end in "...". */
#define NAME_SHOWN_MAX 200

enum name_kind {
	NAME_NONE,
	NAME_DNS_QUERY,
	NAME_DNS_RESPONSE,
	NAME_DNS_RECORD,        /* a message without a question: its first answer */
	NAME_SNI,
};

/* What the walk has learnt of one frame, for its description. */
struct pkt {
	int l3;                 /* 0 (not IP), 4 or 6 */
	bool have_addrs;
	struct addr src, dst;
	uint8_t proto;          /* after IPv6 extension headers */
	uint8_t ttl;            /* TTL or hop limit */
	bool frag;              /* a fragment past the first: no transport header */
	size_t frag_off;
	bool have_ports;
	uint16_t sport, dport;
	int tcp_flags;          /* -1 when not captured */
	int icmp_type, icmp_code;
	bool quotes_relay;      /* an ICMP error about relay TCP */
	const char *l2;         /* ARP's operation */
	const char *service;    /* a well-known UDP service, for the reader */
	const char *dns_proto;  /* "DNS", "mDNS", "LLMNR" */
	const char *note;       /* why housekeeping-looking chatter is not */
	char bad[96];           /* malformed: what is wrong; not IP: what it is */
	enum name_kind kind;
	char name[NAME_SHOWN_MAX + 8];
	bool have_qtype;
	uint16_t qtype;
};

struct ctx {
	const struct leak_relay *relays;
	size_t n_relays;
};

/* A view of the IP header, filled by ip4_hdr/ip6_hdr. */
struct l3 {
	int version;
	struct addr src, dst;
	uint8_t proto, ttl;
	bool frag;
	size_t frag_off;
	struct cur l4;          /* the transport bytes captured */
};

/* Appends to a description; never past its end, always terminated. */
struct out {
	char *p;
	size_t cap, len;
};

static void put(struct out *o, const char *fmt, ...) LOG_PRINTF(2, 3);

static void
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->cap == 0 || o->len + 1 >= o->cap) {
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->p[o->len] = '\0';
	} else if ((size_t)n >= o->cap - o->len) {
		o->len = o->cap - 1;
	} else {
		o->len += (size_t)n;
	}
}

/* The first n bytes of c, or all that is left when fewer were captured. */
static void
take(struct cur *c, struct cur *sub, size_t n)
{
	if (n > cur_left(c)) {
		n = cur_left(c);
	}
	(void)cur_get_sub(c, sub, n);
}

static void
set_bad(struct pkt *pk, const char *fmt, ...) LOG_PRINTF(2, 3);

static void
set_bad(struct pkt *pk, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pk->bad, sizeof(pk->bad), fmt, ap);
	va_end(ap);
}

/*
 * Appends one byte of a name from the wire: printable ASCII as it is, the
 * label separator and the escape character escaped, anything else \xHH,
 * so no terminal sequence and no newline from the wire reaches the output.
 */
static void
name_byte(struct out *o, uint8_t ch, bool in_label)
{
	if (ch == '\\') {
		put(o, "\\\\");
	} else if (ch == '.' && in_label) {
		put(o, "\\.");
	} else if (ch > 0x20 && ch < 0x7f) {
		put(o, "%c", ch);
	} else {
		put(o, "\\x%02x", ch);
	}
}

/* Appends up to n bytes of c as one escaped piece; false when cut short. */
static bool
name_piece(struct out *o, struct cur *c, size_t n, bool in_label)
{
	uint8_t ch;

	for (size_t i = 0; i < n; i++) {
		if (!cur_get_u8(c, &ch)) {
			return false;
		}
		if (o->len >= NAME_SHOWN_MAX) {
			return false;
		}
		name_byte(o, ch, in_label);
	}
	return true;
}

/* Marks a name as cut; the buffer has room past NAME_SHOWN_MAX for the last escape and this. */
static void
name_cut(struct out *o)
{
	put(o, "...");
}

/*
 * The name at the start of c (RFC 1035 section 3.1), escaped into
 * pk->name. A compression pointer (section 4.1.4) is not followed: a
 * question's name, the only one read here, has nothing before it to point
 * at, so a pointer there is shown as "(pointer)".
 */
static bool
dns_name(struct cur *c, struct pkt *pk)
{
	struct out o = { pk->name, sizeof(pk->name), 0 };
	size_t wire = 0;
	uint8_t l;

	pk->name[0] = '\0';
	for (;;) {
		if (!cur_get_u8(c, &l)) {
			name_cut(&o);
			return false;
		}
		if (l == 0) {
			break;
		}
		if ((l & 0xc0) == 0xc0) {
			put(&o, "%s(pointer)", o.len ? "." : "");
			return false;
		}
		if (l > DNS_LABEL_MAX || wire + 1 + l > DNS_NAME_MAX) {
			put(&o, "%s(bad label)", o.len ? "." : "");
			return false;
		}
		wire += 1 + (size_t)l;
		if (o.len > 0) {
			put(&o, ".");
		}
		if (!name_piece(&o, c, l, true)) {
			name_cut(&o);
			return false;
		}
	}
	if (o.len == 0) {
		put(&o, ".");
	}
	return true;
}

/*
 * A DNS message (RFC 1035 section 4.1): the name and type of its first
 * question, or of its first answer when there is no question (mDNS
 * announcements, RFC 6762 section 8.3). Nothing is set when the header is
 * not all there.
 */
static void
dns_msg(struct cur msg, struct pkt *pk)
{
	uint16_t id, flags, qd, an;

	if (!cur_get_u16(&msg, &id) || !cur_get_u16(&msg, &flags) || !cur_get_u16(&msg, &qd) ||
	    !cur_get_u16(&msg, &an) || !cur_skip(&msg, 4)) {
		return;
	}
	if (qd > 0) {
		pk->kind = (flags & 0x8000) ? NAME_DNS_RESPONSE : NAME_DNS_QUERY;
	} else if (an > 0) {
		pk->kind = NAME_DNS_RECORD;
	} else {
		return;
	}
	if (dns_name(&msg, pk)) {
		pk->have_qtype = cur_get_u16(&msg, &pk->qtype);
	}
}

/*
 * The server_name of a TLS ClientHello at the start of p (RFC 8446
 * section 4.1.2, RFC 6066 section 3), escaped into pk->name. Lengths that
 * run past what was captured are cut to it: the name of a truncated
 * capture is shown as far as it goes, ending in "...".
 */
static bool
tls_sni(struct cur p, struct pkt *pk)
{
	struct cur rec, ch, exts, ext, list;
	struct out o = { pk->name, sizeof(pk->name), 0 };
	uint8_t ct, hs, len8, nt;
	uint16_t ver, len16, type;
	uint32_t hlen;

	if (!cur_get_u8(&p, &ct) || ct != TLS_HANDSHAKE || !cur_get_u16(&p, &ver) ||
	    (ver >> 8) != 3 || !cur_get_u16(&p, &len16)) {
		return false;
	}
	take(&p, &rec, len16);
	if (!cur_get_u8(&rec, &hs) || hs != TLS_CLIENT_HELLO || !cur_get_u8(&rec, &len8) ||
	    !cur_get_u16(&rec, &len16)) {
		return false;
	}
	hlen = (uint32_t)len8 << 16 | len16;
	take(&rec, &ch, hlen);
	/* legacy_version, random, then the three vectors before the extensions. */
	if (!cur_skip(&ch, 2 + 32) || !cur_get_u8(&ch, &len8) || !cur_skip(&ch, len8) ||
	    !cur_get_u16(&ch, &len16) || !cur_skip(&ch, len16) || !cur_get_u8(&ch, &len8) ||
	    !cur_skip(&ch, len8) || !cur_get_u16(&ch, &len16)) {
		return false;
	}
	take(&ch, &exts, len16);
	while (cur_get_u16(&exts, &type) && cur_get_u16(&exts, &len16)) {
		take(&exts, &ext, len16);
		if (type != TLS_EXT_SERVER_NAME) {
			if (cur_left(&ext) < len16) {
				return false;
			}
			continue;
		}
		pk->kind = NAME_SNI;
		pk->name[0] = '\0';
		if (!cur_get_u16(&ext, &len16)) {
			put(&o, "(not captured)");
			return true;
		}
		take(&ext, &list, len16);
		while (cur_get_u8(&list, &nt) && cur_get_u16(&list, &len16)) {
			if (nt != TLS_SNI_HOST_NAME) {
				if (!cur_skip(&list, len16)) {
					break;
				}
				continue;
			}
			if (!name_piece(&o, &list, len16, false)) {
				if (o.len == 0) {
					put(&o, "(not captured)");
				} else {
					name_cut(&o);
				}
			}
			return true;
		}
		if (o.len == 0) {
			put(&o, "(not captured)");
		}
		return true;
	}
	return false;
}

static bool
is_relay(const struct ctx *x, const struct addr *a, uint16_t port)
{
	for (size_t i = 0; i < x->n_relays; i++) {
		const struct leak_relay *r = &x->relays[i];

		/* Same family first: a mapped IPv6 address is not the IPv4 relay. */
		if (r->port == port && r->addr.family == a->family && addr_eq(&r->addr, a)) {
			return true;
		}
	}
	return false;
}

static bool
tcp_is_relay(const struct ctx *x, const struct l3 *h, uint16_t sport, uint16_t dport)
{
	return is_relay(x, &h->src, sport) || is_relay(x, &h->dst, dport);
}

static void
set_addr(struct addr *a, int family, const uint8_t *raw)
{
	memset(a, 0, sizeof(*a));
	a->family = (uint8_t)family;
	memcpy(a->a, raw, family == AF_INET ? 4 : 16);
}

/*
 * The IPv4 header at c (RFC 791 section 3.1). wire is what the packet
 * occupies on the link from here on (at least what was captured). A
 * quoted header (inside an ICMP error) has its total length for the
 * original packet, not for the bytes quoted, so it is not checked.
 * false, with pk->bad set, when the header cannot be read.
 */
static bool
ip4_hdr(struct cur *c, size_t wire, bool quoted, struct l3 *h, struct pkt *pk)
{
	uint8_t vihl, s4[4], d4[4];
	uint16_t tot, frag;
	size_t ihl, have = cur_left(c);

	memset(h, 0, sizeof(*h));
	/* Version/IHL, TOS, total length, id, flags/offset, TTL, protocol, checksum, addresses. */
	if (!cur_get_u8(c, &vihl) || !cur_skip(c, 1) || !cur_get_u16(c, &tot) || !cur_skip(c, 2) ||
	    !cur_get_u16(c, &frag) || !cur_get_u8(c, &h->ttl) || !cur_get_u8(c, &h->proto) ||
	    !cur_skip(c, 2) || !cur_get_bytes(c, s4, 4) || !cur_get_bytes(c, d4, 4)) {
		set_bad(pk, "IPv4 header cut short (%zu of 20 bytes%s)", have,
			wire < 20 ? "" : " captured");
		return false;
	}
	set_addr(&h->src, AF_INET, s4);
	set_addr(&h->dst, AF_INET, d4);
	h->version = vihl >> 4;
	if (h->version != 4) {
		set_bad(pk, "IPv4 expected, IP version %d", h->version);
		return false;
	}
	pk->l3 = 4;
	pk->have_addrs = true;
	pk->src = h->src;
	pk->dst = h->dst;
	ihl = (size_t)(vihl & 0x0f) * 4;
	if (ihl < 20) {
		set_bad(pk, "IPv4 header length %zu", ihl);
		return false;
	}
	/* 0: the rest of the frame (BIG TCP, as tcpdump reads it). */
	if (tot == 0 && !quoted) {
		tot = wire > UINT16_MAX ? UINT16_MAX : (uint16_t)wire;
	}
	if (!quoted && (tot < ihl || tot > wire)) {
		set_bad(pk, "IPv4 total length %u, header %zu, frame %zu", tot, ihl, wire);
		return false;
	}
	if (!cur_skip(c, ihl - 20)) {
		set_bad(pk, "IPv4 options cut short");
		return false;
	}
	h->frag_off = (size_t)(frag & 0x1fff) * 8;
	h->frag = h->frag_off != 0;
	/* Trailing bytes past the total length (Ethernet padding) are not the packet's. */
	take(c, &h->l4, quoted ? cur_left(c) : (size_t)tot - ihl);
	return true;
}

/*
 * The IPv6 header at c and its extension headers (RFC 8200 sections 3
 * and 4), as ip4_hdr. A payload length of 0 means the rest of the frame
 * (RFC 2675 jumbograms, and BIG TCP). ESP and "no next header" end the
 * walk as the transport protocol: there is nothing more to see.
 */
static bool
ip6_hdr(struct cur *c, size_t wire, bool quoted, struct l3 *h, struct pkt *pk)
{
	uint8_t vtc, s16[16], d16[16], nh, len8;
	uint16_t plen, off;
	struct cur p;
	size_t n, have = cur_left(c);

	memset(h, 0, sizeof(*h));
	/* Version/class/flow label, payload length, next header, hop limit, addresses. */
	if (!cur_get_u8(c, &vtc) || !cur_skip(c, 3) || !cur_get_u16(c, &plen) ||
	    !cur_get_u8(c, &nh) || !cur_get_u8(c, &h->ttl) || !cur_get_bytes(c, s16, 16) ||
	    !cur_get_bytes(c, d16, 16)) {
		set_bad(pk, "IPv6 header cut short (%zu of 40 bytes%s)", have,
			wire < 40 ? "" : " captured");
		return false;
	}
	set_addr(&h->src, AF_INET6, s16);
	set_addr(&h->dst, AF_INET6, d16);
	h->version = vtc >> 4;
	if (h->version != 6) {
		set_bad(pk, "IPv6 expected, IP version %d", h->version);
		return false;
	}
	pk->l3 = 6;
	pk->have_addrs = true;
	pk->src = h->src;
	pk->dst = h->dst;
	wire -= 40;
	if (quoted || plen == 0) {
		take(c, &p, quoted ? cur_left(c) : wire);
	} else if (plen > wire) {
		set_bad(pk, "IPv6 payload length %u, frame %zu", plen, wire + 40);
		return false;
	} else {
		take(c, &p, plen);
	}
	for (;;) {
		uint8_t this = nh;

		switch (this) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
			if (!cur_get_u8(&p, &nh) || !cur_get_u8(&p, &len8)) {
				goto cut;
			}
			/*
			 * AH counts 4-byte units less 2 (RFC 4302 section 2.2),
			 * the others 8-byte units less 1 (RFC 8200 section 4.3).
			 */
			n = this == IPPROTO_AH ? ((size_t)len8 + 2) * 4 : ((size_t)len8 + 1) * 8;
			if (!cur_skip(&p, n - 2)) {
				goto cut;
			}
			continue;
		case IPPROTO_FRAGMENT:
			if (!cur_get_u8(&p, &nh) || !cur_skip(&p, 1) || !cur_get_u16(&p, &off) ||
			    !cur_skip(&p, 4)) {
				goto cut;
			}
			h->frag_off = off & 0xfff8;
			h->frag = h->frag_off != 0;
			if (h->frag) {
				/* What follows is the middle of a packet, not a header. */
				h->proto = nh;
				h->l4 = p;
				return true;
			}
			continue;
		default:
			h->proto = nh;
			h->l4 = p;
			return true;
		}
	}
cut:
	set_bad(pk, "IPv6 extension header cut short");
	return false;
}

/*
 * Whether the packet quoted by an ICMP error (RFC 792, RFC 4443 section
 * 2.4: as much of the offending packet as fits) is TCP with a relay. Its
 * first 8 transport bytes are all a quote must hold (RFC 792), and the
 * ports are in the first 4.
 */
static bool
quotes_relay(const struct ctx *x, struct cur q, int version)
{
	struct pkt scratch;
	struct l3 h;
	uint16_t sport, dport;
	bool ok;

	memset(&scratch, 0, sizeof(scratch));
	ok = version == 4 ? ip4_hdr(&q, cur_left(&q), true, &h, &scratch)
			  : ip6_hdr(&q, cur_left(&q), true, &h, &scratch);
	if (!ok || h.frag || h.proto != IPPROTO_TCP || !cur_get_u16(&h.l4, &sport) ||
	    !cur_get_u16(&h.l4, &dport)) {
		return false;
	}
	return tcp_is_relay(x, &h, sport, dport);
}

static enum leak_class
tcp(const struct ctx *x, struct l3 *h, struct pkt *pk)
{
	struct cur *c = &h->l4, msg;
	uint8_t off, flags;
	uint16_t dlen;
	bool relay, payload = false, sni = false;
	size_t doff;

	if (!cur_get_u16(c, &pk->sport) || !cur_get_u16(c, &pk->dport)) {
		set_bad(pk, "TCP header cut short before the ports");
		return LEAK_MALFORMED;
	}
	pk->have_ports = true;
	relay = tcp_is_relay(x, h, pk->sport, pk->dport);
	/* Sequence and acknowledgment numbers, data offset, flags (RFC 9293 section 3.1). */
	if (cur_skip(c, 8) && cur_get_u8(c, &off) && cur_get_u8(c, &flags)) {
		pk->tcp_flags = flags;
		doff = (size_t)(off >> 4) * 4;
		/* A data offset below the header's size leaves no payload to look at. */
		payload = doff >= 20 && cur_skip(c, doff - 14);
	}
	if (payload) {
		sni = tls_sni(*c, pk);
	}
	if (relay) {
		return sni ? LEAK_SNI : LEAK_RELAY;
	}
	if (pk->sport == PORT_DNS || pk->dport == PORT_DNS) {
		pk->dns_proto = "DNS";
		/* DNS over TCP: a 2-byte length, then the message (RFC 1035 section 4.2.2). */
		if (payload && !sni && cur_get_u16(c, &dlen)) {
			take(c, &msg, dlen);
			dns_msg(msg, pk);
		}
		return LEAK_DNS;
	}
	return LEAK_IP;
}

/* Names for the reader of a few UDP services that speak up unasked. */
static const char *
udp_service(uint16_t sport, uint16_t dport)
{
	static const struct {
		uint16_t port;
		const char *name;
	} svc[] = {
		{ 67, "DHCP" }, { 68, "DHCP" }, { 123, "NTP" }, { 137, "NetBIOS" },
		{ 138, "NetBIOS" }, { 443, "QUIC?" }, { 546, "DHCPv6" }, { 547, "DHCPv6" },
		{ 1900, "SSDP" }, { 3702, "WS-Discovery" },
	};

	for (size_t i = 0; i < sizeof(svc) / sizeof(svc[0]); i++) {
		if (svc[i].port == dport || svc[i].port == sport) {
			return svc[i].name;
		}
	}
	return NULL;
}

static enum leak_class
udp(struct l3 *h, struct pkt *pk)
{
	struct cur *c = &h->l4, msg;
	uint16_t ulen;

	if (!cur_get_u16(c, &pk->sport) || !cur_get_u16(c, &pk->dport)) {
		set_bad(pk, "UDP header cut short before the ports");
		return LEAK_MALFORMED;
	}
	pk->have_ports = true;
	if (pk->sport == PORT_DNS || pk->dport == PORT_DNS) {
		pk->dns_proto = "DNS";
	} else if (pk->sport == PORT_MDNS || pk->dport == PORT_MDNS) {
		pk->dns_proto = "mDNS";
	} else if (pk->sport == PORT_LLMNR || pk->dport == PORT_LLMNR) {
		pk->dns_proto = "LLMNR";
	} else {
		pk->service = udp_service(pk->sport, pk->dport);
		return LEAK_IP;
	}
	/* A UDP length that lies only shortens what is looked at: it is a leak either way. */
	if (cur_get_u16(c, &ulen) && cur_skip(c, 2)) {
		take(c, &msg, ulen >= 8 ? (size_t)ulen - 8 : 0);
		dns_msg(msg, pk);
	}
	return LEAK_DNS;
}

/* ICMPv6 types of neighbour discovery (RFC 4861 section 4) and MLD (RFC 2710, RFC 3810). */
static bool
is_nd(int type)
{
	return type >= 133 && type <= 137;
}

static bool
is_mld(int type)
{
	return (type >= 130 && type <= 132) || type == 143;
}

static enum leak_class
icmp(const struct ctx *x, struct l3 *h, struct pkt *pk)
{
	struct cur *c = &h->l4;
	uint8_t type, code;
	bool error;

	if (!cur_get_u8(c, &type) || !cur_get_u8(c, &code)) {
		set_bad(pk, "ICMP header cut short");
		return LEAK_MALFORMED;
	}
	pk->icmp_type = type;
	pk->icmp_code = code;
	if (h->version == 6) {
		if (is_nd(type)) {
			if (h->ttl == 255) {
				return LEAK_HOUSEKEEPING;
			}
			pk->note = "neighbour discovery without hop limit 255";
			return LEAK_IP;
		}
		if (is_mld(type)) {
			if (h->ttl == 1) {
				return LEAK_HOUSEKEEPING;
			}
			pk->note = "MLD without hop limit 1";
			return LEAK_IP;
		}
		error = type >= 1 && type <= 4;
	} else {
		/* Unreachable, redirect, time exceeded, parameter problem. */
		error = type == 3 || type == 5 || type == 11 || type == 12;
	}
	/* The rest of the 8-byte header (RFC 792, RFC 4443 section 2.1), then the quote. */
	if (error && cur_skip(c, 6) && quotes_relay(x, *c, h->version)) {
		pk->quotes_relay = true;
		return LEAK_RELAY;
	}
	return LEAK_IP;
}

/* An IP packet at c, of either version (ver 0) or the one given. */
static enum leak_class
ip(const struct ctx *x, struct cur *c, size_t wire, int ver, struct pkt *pk)
{
	struct l3 h;
	struct cur peek;
	uint8_t v;
	bool ok;

	if (ver == 0) {
		if (cur_left(c) == 0) {
			set_bad(pk, "empty IP packet");
			return LEAK_MALFORMED;
		}
		/* The version nibble, read through a copy so the cursor stays put. */
		peek = *c;
		(void)cur_get_u8(&peek, &v);
		ver = v >> 4;
		if (ver != 4 && ver != 6) {
			set_bad(pk, "IP version %d", ver);
			return LEAK_MALFORMED;
		}
	}
	ok = ver == 4 ? ip4_hdr(c, wire, false, &h, pk) : ip6_hdr(c, wire, false, &h, pk);
	if (!ok) {
		return LEAK_MALFORMED;
	}
	pk->proto = h.proto;
	pk->ttl = h.ttl;
	pk->frag = h.frag;
	pk->frag_off = h.frag_off;
	if (h.frag) {
		return LEAK_IP;
	}
	switch (h.proto) {
	case IPPROTO_TCP:
		return tcp(x, &h, pk);
	case IPPROTO_UDP:
		return udp(&h, pk);
	case IPPROTO_ICMP:
		return ver == 4 ? icmp(x, &h, pk) : LEAK_IP;
	case IPPROTO_ICMPV6:
		return ver == 6 ? icmp(x, &h, pk) : LEAK_IP;
	case IPPROTO_IGMP:
		if (ver == 4 && h.ttl == 1) {
			return LEAK_HOUSEKEEPING;
		}
		pk->note = ver == 4 ? "IGMP without TTL 1" : NULL;
		return LEAK_IP;
	default:
		return LEAK_IP;
	}
}

static const char *
ethertype_name(uint16_t et)
{
	switch (et) {
	case 0x8035:
		return "RARP";
	case 0x8863:
		return "PPPoE discovery";
	case 0x888e:
		return "EAPOL";
	case 0x88cc:
		return "LLDP";
	case 0x8847:
	case 0x8848:
		return "MPLS";
	default:
		return NULL;
	}
}

/*
 * What follows a link header that names its payload by ethertype: IP,
 * ARP, PPPoE sessions (RFC 2516 section 5.4: 6 bytes, then the PPP
 * protocol), or something that is not IP at all.
 */
static enum leak_class
ethertype(const struct ctx *x, uint16_t et, struct cur *c, size_t wire, struct pkt *pk)
{
	uint16_t op, pppproto;
	const char *n;

	switch (et) {
	case ETHERTYPE_IPV4:
		return ip(x, c, wire, 4, pk);
	case ETHERTYPE_IPV6:
		return ip(x, c, wire, 6, pk);
	case ETHERTYPE_ARP:
		pk->l2 = "ARP";
		/* htype, ptype, hlen, plen, then the operation (RFC 826). */
		if (cur_skip(c, 6) && cur_get_u16(c, &op)) {
			pk->l2 = op == 1 ? "ARP request" : op == 2 ? "ARP reply" : "ARP";
		}
		return LEAK_HOUSEKEEPING;
	case ETHERTYPE_PPPOE_SESSION:
		if (!cur_skip(c, 6) || !cur_get_u16(c, &pppproto)) {
			set_bad(pk, "PPPoE header cut short");
			return LEAK_MALFORMED;
		}
		wire -= 8;
		if (pppproto == PPP_IPV4 || pppproto == PPP_IPV6) {
			return ip(x, c, wire, pppproto == PPP_IPV4 ? 4 : 6, pk);
		}
		set_bad(pk, "PPPoE session, PPP protocol 0x%04x", pppproto);
		return LEAK_NON_IP;
	default:
		n = ethertype_name(et);
		set_bad(pk, "%s%sethertype 0x%04x", n ? n : "", n ? ", " : "", et);
		return LEAK_NON_IP;
	}
}

static enum leak_class
link_layer(const struct ctx *x, int dlt, struct cur *c, size_t wire, struct pkt *pk)
{
	uint16_t et;

	switch (dlt) {
	case LEAK_DLT_EN10MB:
		/* Destination and source MAC, then the type (IEEE 802.3 clause 3.2). */
		if (!cur_skip(c, 12) || !cur_get_u16(c, &et)) {
			set_bad(pk, "Ethernet header cut short");
			return LEAK_MALFORMED;
		}
		wire -= 14;
		for (int tags = 0; et == ETHERTYPE_VLAN || et == ETHERTYPE_QINQ; tags++) {
			if (tags == VLAN_TAGS_MAX || !cur_skip(c, 2) || !cur_get_u16(c, &et)) {
				set_bad(pk, "VLAN tags cut short or too many");
				return LEAK_MALFORMED;
			}
			wire -= 4;
		}
		if (et < ETHER_MIN_TYPE) {
			set_bad(pk, "802.3 frame of length %u (LLC)", et);
			return LEAK_NON_IP;
		}
		return ethertype(x, et, c, wire, pk);
	case LEAK_DLT_RAW:
	case LEAK_LINKTYPE_RAW:
		return ip(x, c, wire, 0, pk);
	case LEAK_DLT_IPV4:
		return ip(x, c, wire, 4, pk);
	case LEAK_DLT_IPV6:
		return ip(x, c, wire, 6, pk);
	case LEAK_DLT_LINUX_SLL:
		/* Packet type, ARPHRD type, address length, 8 address bytes, protocol. */
		if (!cur_skip(c, 14) || !cur_get_u16(c, &et)) {
			set_bad(pk, "Linux cooked header cut short");
			return LEAK_MALFORMED;
		}
		wire -= 16;
		break;
	case LEAK_DLT_LINUX_SLL2:
		/* Protocol, reserved, ifindex, ARPHRD, packet type, address length, address. */
		if (!cur_get_u16(c, &et) || !cur_skip(c, 18)) {
			set_bad(pk, "Linux cooked v2 header cut short");
			return LEAK_MALFORMED;
		}
		wire -= 20;
		break;
	default:
		set_bad(pk, "unsupported link type %d", dlt);
		return LEAK_MALFORMED;
	}
	/* Cooked captures: below 0x0600 the protocol is one of Linux's own (LINUX_SLL_P_*). */
	if (et < ETHER_MIN_TYPE) {
		set_bad(pk, "Linux cooked protocol 0x%04x", et);
		return LEAK_NON_IP;
	}
	return ethertype(x, et, c, wire, pk);
}

static const char *
icmp_name(int version, int type)
{
	if (version == 4) {
		switch (type) {
		case 0:
			return "echo reply";
		case 3:
			return "unreachable";
		case 5:
			return "redirect";
		case 8:
			return "echo request";
		case 11:
			return "time exceeded";
		case 12:
			return "parameter problem";
		default:
			return NULL;
		}
	}
	switch (type) {
	case 1:
		return "unreachable";
	case 2:
		return "packet too big";
	case 3:
		return "time exceeded";
	case 4:
		return "parameter problem";
	case 128:
		return "echo request";
	case 129:
		return "echo reply";
	case 130:
		return "MLD query";
	case 131:
		return "MLDv1 report";
	case 132:
		return "MLD done";
	case 133:
		return "router solicitation";
	case 134:
		return "router advertisement";
	case 135:
		return "neighbour solicitation";
	case 136:
		return "neighbour advertisement";
	case 137:
		return "redirect";
	case 143:
		return "MLDv2 report";
	default:
		return NULL;
	}
}

static const char *
qtype_name(uint16_t t)
{
	switch (t) {
	case 1:
		return "A";
	case 2:
		return "NS";
	case 5:
		return "CNAME";
	case 6:
		return "SOA";
	case 12:
		return "PTR";
	case 15:
		return "MX";
	case 16:
		return "TXT";
	case 28:
		return "AAAA";
	case 33:
		return "SRV";
	case 64:
		return "SVCB";
	case 65:
		return "HTTPS";
	case 255:
		return "ANY";
	default:
		return NULL;
	}
}

/* "TCP 192.0.2.1:40000 > 192.0.2.2:9001 [S.]", "ICMP echo request a > b"... */
static void
put_flow(struct out *o, const struct pkt *pk)
{
	static const char fl[] = "FSRPAUEC";
	char a[ADDR_STRLEN], b[ADDR_STRLEN];
	const char *v = pk->l3 == 6 ? "IPv6" : "IPv4";
	const char *n;

	if (pk->frag) {
		put(o, "%s fragment at offset %zu, protocol %u, %s > %s", v, pk->frag_off,
		    pk->proto, addr_fmt(&pk->src, a, sizeof(a)), addr_fmt(&pk->dst, b, sizeof(b)));
		return;
	}
	if (pk->have_ports) {
		put(o, "%s %s > ", pk->proto == IPPROTO_TCP ? "TCP" : "UDP",
		    addr_port_fmt(&pk->src, pk->sport, a, sizeof(a)));
		put(o, "%s", addr_port_fmt(&pk->dst, pk->dport, b, sizeof(b)));
		if (pk->proto == IPPROTO_TCP && pk->tcp_flags >= 0) {
			put(o, " [");
			for (int i = 0; i < 8; i++) {
				if (pk->tcp_flags & (1 << i)) {
					put(o, "%c", i == 4 ? '.' : fl[i]);
				}
			}
			put(o, "]");
		}
		return;
	}
	addr_fmt(&pk->src, a, sizeof(a));
	addr_fmt(&pk->dst, b, sizeof(b));
	if (pk->icmp_type >= 0) {
		n = icmp_name(pk->l3, pk->icmp_type);
		put(o, "%s ", pk->l3 == 6 ? "ICMPv6" : "ICMP");
		if (n != NULL) {
			put(o, "%s", n);
		} else {
			put(o, "type %d code %d", pk->icmp_type, pk->icmp_code);
		}
		put(o, " %s > %s", a, b);
	} else if (pk->proto == IPPROTO_IGMP) {
		put(o, "IGMP %s > %s", a, b);
	} else {
		put(o, "%s protocol %u %s > %s", v, pk->proto, a, b);
	}
}

static void
put_name(struct out *o, const struct pkt *pk)
{
	const char *t;

	switch (pk->kind) {
	case NAME_DNS_QUERY:
		put(o, " query %s", pk->name);
		break;
	case NAME_DNS_RESPONSE:
		put(o, " response %s", pk->name);
		break;
	case NAME_DNS_RECORD:
		put(o, " record %s", pk->name);
		break;
	case NAME_NONE:
	case NAME_SNI:
	default:
		return;
	}
	if (pk->have_qtype) {
		t = qtype_name(pk->qtype);
		if (t != NULL) {
			put(o, " %s", t);
		} else {
			put(o, " TYPE%u", pk->qtype);
		}
	}
}

static void
describe(enum leak_class cls, const struct pkt *pk, struct out *o)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN];

	switch (cls) {
	case LEAK_MALFORMED:
		put(o, "malformed frame: %s", pk->bad);
		if (pk->have_addrs) {
			put(o, ", %s > %s", addr_fmt(&pk->src, a, sizeof(a)),
			    addr_fmt(&pk->dst, b, sizeof(b)));
		}
		break;
	case LEAK_NON_IP:
		put(o, "non-IP frame: %s", pk->bad);
		break;
	case LEAK_HOUSEKEEPING:
		if (pk->l2 != NULL) {
			put(o, "%s", pk->l2);
		} else {
			put_flow(o, pk);
		}
		break;
	case LEAK_RELAY:
		put_flow(o, pk);
		if (pk->quotes_relay) {
			put(o, ", about relay TCP");
		}
		break;
	case LEAK_DNS:
		put(o, "%s", pk->dns_proto ? pk->dns_proto : "DNS");
		put_name(o, pk);
		put(o, ", ");
		put_flow(o, pk);
		break;
	case LEAK_SNI:
		put(o, "TLS SNI in clear: %s, ", pk->name);
		put_flow(o, pk);
		break;
	case LEAK_IP:
		put_flow(o, pk);
		if (pk->service != NULL) {
			put(o, " (%s)", pk->service);
		}
		if (pk->kind == NAME_SNI) {
			put(o, ", TLS SNI in clear: %s", pk->name);
		}
		if (pk->note != NULL) {
			put(o, ", %s", pk->note);
		}
		break;
	case LEAK_CLASS_COUNT:
	default:
		put(o, "unknown class %d", (int)cls);
		break;
	}
	if (pk->l3 == 6 && leak_class_is_leak(cls)) {
		put(o, " (IPv6 outside the tunnel)");
	}
}

bool
leak_dlt_supported(int dlt)
{
	switch (dlt) {
	case LEAK_DLT_EN10MB:
	case LEAK_DLT_RAW:
	case LEAK_LINKTYPE_RAW:
	case LEAK_DLT_IPV4:
	case LEAK_DLT_IPV6:
	case LEAK_DLT_LINUX_SLL:
	case LEAK_DLT_LINUX_SLL2:
		return true;
	default:
		return false;
	}
}

const char *
leak_class_name(enum leak_class c)
{
	switch (c) {
	case LEAK_RELAY:
		return "relay";
	case LEAK_HOUSEKEEPING:
		return "housekeeping";
	case LEAK_DNS:
		return "dns";
	case LEAK_SNI:
		return "sni";
	case LEAK_IP:
		return "ip";
	case LEAK_NON_IP:
		return "non-ip";
	case LEAK_MALFORMED:
		return "malformed";
	case LEAK_CLASS_COUNT:
	default:
		return "?";
	}
}

bool
leak_class_is_leak(enum leak_class c)
{
	return c != LEAK_RELAY && c != LEAK_HOUSEKEEPING;
}

enum leak_class
leak_classify(int dlt, const uint8_t *frame, size_t caplen, size_t len,
	      const struct leak_relay *relays, size_t n_relays, char *desc, size_t desc_len)
{
	struct ctx x = { relays, n_relays };
	struct out o = { desc, desc_len, 0 };
	struct pkt pk;
	struct cur c;
	enum leak_class cls;

	memset(&pk, 0, sizeof(pk));
	pk.tcp_flags = -1;
	pk.icmp_type = -1;
	pk.icmp_code = -1;
	cur_init(&c, frame, caplen);
	cls = link_layer(&x, dlt, &c, len < caplen ? caplen : len, &pk);
	if (desc != NULL && desc_len > 0) {
		desc[0] = '\0';
		describe(cls, &pk, &o);
	}
	return cls;
}

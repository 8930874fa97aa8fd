/* SPDX-License-Identifier: MIT */
/*
 * Addresses, prefixes and their text forms: see addr.h. This file owns the
 * text syntax, the normalization of IPv4-mapped IPv6 and the table of
 * special-purpose ranges. It resolves nothing, opens nothing and allocates
 * nothing.
 *
 * Choices the header leaves open:
 * - The parsers are stricter than inet_aton: an IPv4 address is exactly
 *   four decimal octets, and a leading zero ("010") is refused because
 *   inet_aton and many tools read it as octal. Ports and prefix lengths
 *   refuse leading zeros and signs too. No whitespace anywhere, no IPv6
 *   zone ("%eth0"): struct addr has no room for one.
 * - A prefix written in IPv4-mapped form ("::ffff:10.0.0.0/104") becomes
 *   the IPv4 prefix it stands for (10.0.0.0/8), like a mapped address.
 * - IPv6 is formatted as RFC 5952 says (lowercase, no leading zeros, the
 *   longest run of two or more zero groups as "::", the first if tied),
 *   always in hex: mapped addresses never reach the formatter as IPv6,
 *   and hex keeps ADDR_STRLEN enough for "[...]:65535".
 * - A struct addr with a family other than AF_INET/AF_INET6 formats as
 *   "(none)", equals only another such address, contains in no prefix, and
 *   counts as special (refused by default); addr_to_sockaddr returns 0 for
 *   it. addr_set_raw with a length other than 4 or 16 makes such an address.
 * - Outputs of the parsers and of addr_from_sockaddr are written only on
 *   success.
 */
#include "addr.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* Longest text any parser here accepts, plus room to notice junk after it:
 * "[0000:0000:0000:0000:0000:0000:255.255.255.255]:65535" is 53. */
#define ADDR_TEXT_MAX 64

static const uint8_t mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

size_t
addr_family_len(uint8_t family)
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

static bool
is_mapped(const struct addr *a)
{
	return a->family == AF_INET6 && memcmp(a->a, mapped_prefix, sizeof(mapped_prefix)) == 0;
}

/* ::ffff:a.b.c.d becomes a.b.c.d, so no rule is bypassed by the spelling. */
static void
normalize(struct addr *a)
{
	if (is_mapped(a)) {
		a->family = AF_INET;
		memmove(a->a, a->a + 12, 4);
		memset(a->a + 4, 0, 12);
	}
}

/*
 * A copy of a that is normalized and has nothing stray beyond its family's
 * bytes, so that callers who fill struct addr by hand compare correctly.
 */
static void
clean_copy(struct addr *dst, const struct addr *src)
{
	size_t len = addr_family_len(src->family);

	memset(dst, 0, sizeof(*dst));
	if (len == 0) {
		return;
	}
	dst->family = src->family;
	memcpy(dst->a, src->a, len);
	normalize(dst);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * A decimal number in s[0..len) with no sign, no leading zero and nothing
 * after it, no greater than max. The loop stops as soon as the value is out
 * of range, so no length of digits can overflow.
 */
static int
parse_dec(const char *s, size_t len, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (len == 0 || (s[0] == '0' && len > 1)) {
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i])) {
			return -EINVAL;
		}
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > max) {
			return -EINVAL;
		}
	}
	*out = v;
	return 0;
}

/* Exactly "a.b.c.d" in s[0..len), each octet 0..255 without a leading zero. */
static int
parse_v4(const char *s, size_t len, uint8_t out[4])
{
	uint8_t b[4];
	size_t i = 0;

	for (size_t n = 0; n < 4; n++) {
		unsigned long v;
		size_t start;

		if (n > 0) {
			if (i >= len || s[i] != '.') {
				return -EINVAL;
			}
			i++;
		}
		start = i;
		while (i < len && is_digit(s[i]) && i - start < 4) {
			i++;
		}
		if (parse_dec(s + start, i - start, 255, &v) != 0) {
			return -EINVAL;
		}
		b[n] = (uint8_t)v;
	}
	if (i != len) {
		return -EINVAL;
	}
	memcpy(out, b, sizeof(b));
	return 0;
}

/*
 * RFC 4291 section 2.2 text in s[0..len): eight groups of one to four hex
 * digits, at most one "::" standing for one or more zero groups, and
 * optionally a dotted quad as the last 32 bits. Not normalized.
 */
static int
parse_v6(const char *s, size_t len, uint8_t out[16])
{
	uint8_t b[16];
	size_t ng = 0;          /* groups stored in b */
	size_t gap = SIZE_MAX;  /* index of the group where "::" stands */
	size_t i = 0;

	memset(b, 0, sizeof(b));
	if (len >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
	}
	while (i < len) {
		size_t start = i;
		unsigned int v = 0;

		while (i < len && hexval(s[i]) >= 0) {
			i++;
		}
		if (i < len && s[i] == '.') {
			/* A dotted quad ends the address and fills two groups. */
			if (ng > 6 || parse_v4(s + start, len - start, b + 2 * ng) != 0) {
				return -EINVAL;
			}
			ng += 2;
			break;
		}
		if (i == start || i - start > 4 || ng == 8) {
			return -EINVAL;
		}
		for (size_t j = start; j < i; j++) {
			v = v << 4 | (unsigned int)hexval(s[j]);
		}
		b[2 * ng] = (uint8_t)(v >> 8);
		b[2 * ng + 1] = (uint8_t)v;
		ng++;
		if (i == len) {
			break;
		}
		if (s[i] != ':') {
			return -EINVAL;
		}
		i++;
		if (i < len && s[i] == ':') {
			if (gap != SIZE_MAX) {
				return -EINVAL;
			}
			gap = ng;
			i++;
		} else if (i == len) {
			/* "1:2:3:4:5:6:7:" */
			return -EINVAL;
		}
	}
	if (gap == SIZE_MAX) {
		if (ng != 8) {
			return -EINVAL;
		}
	} else {
		size_t tail = ng - gap;

		/* "::" stands for at least one group, so eight plus "::" is wrong. */
		if (ng > 7) {
			return -EINVAL;
		}
		memmove(b + 16 - 2 * tail, b + 2 * gap, 2 * tail);
		memset(b + 2 * gap, 0, 16 - 2 * tail - 2 * gap);
	}
	memcpy(out, b, sizeof(b));
	return 0;
}

/* An address in s[0..len) as written: IPv6 if it has a colon. Not normalized. */
static int
parse_raw(const char *s, size_t len, struct addr *out)
{
	struct addr a;

	memset(&a, 0, sizeof(a));
	if (memchr(s, ':', len) != NULL) {
		if (parse_v6(s, len, a.a) != 0) {
			return -EINVAL;
		}
		a.family = AF_INET6;
	} else {
		if (parse_v4(s, len, a.a) != 0) {
			return -EINVAL;
		}
		a.family = AF_INET;
	}
	*out = a;
	return 0;
}

/* Length of s, or ADDR_TEXT_MAX when it is that long or longer (too long). */
static size_t
text_len(const char *s)
{
	return strnlen(s, ADDR_TEXT_MAX);
}

int
addr_parse(const char *s, struct addr *out)
{
	struct addr a;
	size_t len = text_len(s);

	if (len >= ADDR_TEXT_MAX || parse_raw(s, len, &a) != 0) {
		return -EINVAL;
	}
	normalize(&a);
	*out = a;
	return 0;
}

static int
parse_port(const char *s, size_t len, uint16_t *port)
{
	unsigned long v;

	if (parse_dec(s, len, 65535, &v) != 0 || v == 0) {
		return -EINVAL;
	}
	*port = (uint16_t)v;
	return 0;
}

int
addr_port_parse(const char *s, struct addr *out, uint16_t *port)
{
	const char *colon;
	struct addr a;
	uint16_t p;
	size_t len = text_len(s);
	size_t alen;

	if (len >= ADDR_TEXT_MAX) {
		return -EINVAL;
	}
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (close == NULL) {
			return -EINVAL;
		}
		alen = (size_t)(close - s) - 1;
		/* Brackets are for IPv6 (RFC 3986 section 3.2.2), not "[192.0.2.1]". */
		if (memchr(s + 1, ':', alen) == NULL || parse_raw(s + 1, alen, &a) != 0) {
			return -EINVAL;
		}
		colon = close + 1;
	} else {
		colon = memchr(s, ':', len);
		if (colon == NULL) {
			return -EINVAL;
		}
		alen = (size_t)(colon - s);
		if (parse_raw(s, alen, &a) != 0 || a.family != AF_INET) {
			return -EINVAL;
		}
	}
	if (*colon != ':' || parse_port(colon + 1, len - (size_t)(colon + 1 - s), &p) != 0) {
		return -EINVAL;
	}
	normalize(&a);
	*out = a;
	*port = p;
	return 0;
}

/* True when every bit of a at or after bit prefix is zero. */
static bool
host_bits_zero(const struct addr *a, unsigned int prefix)
{
	size_t len = addr_family_len(a->family);

	for (size_t i = prefix / 8; i < len; i++) {
		unsigned int keep = i == prefix / 8 ? prefix % 8 : 0;
		uint8_t mask = (uint8_t)(0xffu >> keep);

		if ((a->a[i] & mask) != 0) {
			return false;
		}
	}
	return true;
}

int
cidr_parse(const char *s, struct cidr *out)
{
	const char *slash;
	struct cidr c;
	size_t len = text_len(s);
	size_t alen;
	unsigned long bits;

	if (len >= ADDR_TEXT_MAX) {
		return -EINVAL;
	}
	slash = memchr(s, '/', len);
	alen = slash != NULL ? (size_t)(slash - s) : len;
	memset(&c, 0, sizeof(c));
	if (parse_raw(s, alen, &c.addr) != 0) {
		return -EINVAL;
	}
	bits = addr_family_len(c.addr.family) * 8;
	if (slash != NULL) {
		if (parse_dec(slash + 1, len - alen - 1, bits, &bits) != 0) {
			return -EINVAL;
		}
	}
	/* Checked as written, before a mapped prefix is made IPv4. */
	if (!host_bits_zero(&c.addr, (unsigned int)bits)) {
		return -EINVAL;
	}
	c.prefix = (uint8_t)bits;
	if (is_mapped(&c.addr)) {
		/* Host bits zero below /96 would clear the 0xffff: cannot happen. */
		if (c.prefix < 96) {
			return -EINVAL;
		}
		normalize(&c.addr);
		c.prefix -= 96;
	}
	*out = c;
	return 0;
}

bool
cidr_contains(const struct cidr *c, const struct addr *a)
{
	struct addr net, x;
	size_t full, len = addr_family_len(c->addr.family);
	unsigned int prefix = c->prefix;

	if (len == 0) {
		return false;
	}
	/* A hand-built mapped prefix means the IPv4 prefix, as in cidr_parse. */
	memset(&net, 0, sizeof(net));
	net.family = c->addr.family;
	memcpy(net.a, c->addr.a, len);
	if (is_mapped(&net) && prefix >= 96) {
		normalize(&net);
		prefix -= 96;
	}
	clean_copy(&x, a);
	if (x.family != net.family || prefix > addr_family_len(net.family) * 8) {
		return false;
	}
	full = prefix / 8;
	if (memcmp(net.a, x.a, full) != 0) {
		return false;
	}
	if (prefix % 8 != 0) {
		uint8_t mask = (uint8_t)(0xff00u >> (prefix % 8));

		if ((net.a[full] & mask) != (x.a[full] & mask)) {
			return false;
		}
	}
	return true;
}

bool
addr_eq(const struct addr *a, const struct addr *b)
{
	struct addr x, y;

	clean_copy(&x, a);
	clean_copy(&y, b);
	return x.family == y.family && memcmp(x.a, y.a, sizeof(x.a)) == 0;
}

void
addr_set_raw(struct addr *a, const void *raw, size_t len)
{
	memset(a, 0, sizeof(*a));
	switch (len) {
	case 4:
		a->family = AF_INET;
		memcpy(a->a, raw, 4);
		break;
	case 16:
		a->family = AF_INET6;
		memcpy(a->a, raw, 16);
		normalize(a);
		break;
	default:
		break;
	}
}

/* RFC 5952 section 4 text of 16 bytes into out (40 bytes is enough). */
static void
fmt_v6(const uint8_t b[16], char *out, size_t cap)
{
	unsigned int g[8];
	size_t best = 8, bestlen = 0;
	size_t off = 0;

	for (size_t i = 0; i < 8; i++) {
		g[i] = (unsigned int)b[2 * i] << 8 | b[2 * i + 1];
	}
	for (size_t i = 0; i < 8;) {
		size_t j = i;

		while (j < 8 && g[j] == 0) {
			j++;
		}
		if (j - i > bestlen) {
			best = i;
			bestlen = j - i;
		}
		i = j > i ? j : i + 1;
	}
	/* A single zero group is written as 0, not "::" (section 4.2.2). */
	if (bestlen < 2) {
		best = 8;
		bestlen = 0;
	}
	out[0] = '\0';
	for (size_t i = 0; i < 8 && off < cap;) {
		int n;

		if (i == best) {
			n = snprintf(out + off, cap - off, "::");
			i += bestlen;
		} else {
			n = snprintf(out + off, cap - off, "%s%x",
				     i > 0 && i != best + bestlen ? ":" : "", g[i]);
			i++;
		}
		if (n < 0) {
			break;
		}
		off += (size_t)n;
	}
}

const char *
addr_fmt(const struct addr *a, char *buf, size_t len)
{
	struct addr x;
	char v6[ADDR_STRLEN];

	if (len == 0) {
		return buf;
	}
	clean_copy(&x, a);
	switch (x.family) {
	case AF_INET:
		snprintf(buf, len, "%u.%u.%u.%u", x.a[0], x.a[1], x.a[2], x.a[3]);
		break;
	case AF_INET6:
		fmt_v6(x.a, v6, sizeof(v6));
		snprintf(buf, len, "%s", v6);
		break;
	default:
		snprintf(buf, len, "(none)");
		break;
	}
	return buf;
}

const char *
addr_port_fmt(const struct addr *a, uint16_t port, char *buf, size_t len)
{
	struct addr x;
	char text[ADDR_STRLEN];

	if (len == 0) {
		return buf;
	}
	clean_copy(&x, a);
	addr_fmt(&x, text, sizeof(text));
	if (x.family == AF_INET6) {
		snprintf(buf, len, "[%s]:%u", text, (unsigned int)port);
	} else {
		snprintf(buf, len, "%s:%u", text, (unsigned int)port);
	}
	return buf;
}

socklen_t
addr_to_sockaddr(const struct addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	struct addr x;

	memset(ss, 0, sizeof(*ss));
	clean_copy(&x, a);
	switch (x.family) {
	case AF_INET: {
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(port);
		memcpy(&sin.sin_addr, x.a, 4);
		memcpy(ss, &sin, sizeof(sin));
		return (socklen_t)sizeof(sin);
	}
	case AF_INET6: {
		struct sockaddr_in6 sin6;

		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(port);
		memcpy(&sin6.sin6_addr, x.a, 16);
		memcpy(ss, &sin6, sizeof(sin6));
		return (socklen_t)sizeof(sin6);
	}
	default:
		ss->ss_family = AF_UNSPEC;
		return 0;
	}
}

int
addr_from_sockaddr(const struct sockaddr *sa, struct addr *a, uint16_t *port)
{
	/* Copied out rather than cast, so no alignment or aliasing is assumed. */
	switch (sa->sa_family) {
	case AF_INET: {
		struct sockaddr_in sin;

		memcpy(&sin, sa, sizeof(sin));
		addr_set_raw(a, &sin.sin_addr, 4);
		if (port != NULL) {
			*port = ntohs(sin.sin_port);
		}
		return 0;
	}
	case AF_INET6: {
		struct sockaddr_in6 sin6;

		memcpy(&sin6, sa, sizeof(sin6));
		addr_set_raw(a, &sin6.sin6_addr, 16);
		if (port != NULL) {
			*port = ntohs(sin6.sin6_port);
		}
		return 0;
	}
	default:
		return -EAFNOSUPPORT;
	}
}

#define V4(b0, b1, b2, b3, len) \
	{ .addr = { .family = AF_INET, .a = { (b0), (b1), (b2), (b3) } }, .prefix = (len) }
#define V6(len, ...) \
	{ .addr = { .family = AF_INET6, .a = { __VA_ARGS__ } }, .prefix = (len) }

/*
 * The IANA IPv4 and IPv6 special-purpose address registries (RFC 6890 and
 * the RFCs since), plus multicast, the reserved 240/4 and the deprecated
 * site-local fec0::/10. Ranges the registries mark globally reachable and
 * not listed in addr.h (AS112, AMT, 2620:4f:8000::/48) are left out: they
 * are the public internet.
 */
static const struct cidr special[] = {
	V4(0, 0, 0, 0, 8),              /* "this network" (RFC 791) */
	V4(10, 0, 0, 0, 8),             /* private (RFC 1918) */
	V4(100, 64, 0, 0, 10),          /* shared address space, CGNAT (RFC 6598) */
	V4(127, 0, 0, 0, 8),            /* loopback */
	V4(169, 254, 0, 0, 16),         /* link-local (RFC 3927) */
	V4(172, 16, 0, 0, 12),          /* private */
	V4(192, 0, 0, 0, 24),           /* IETF protocol assignments (RFC 6890) */
	V4(192, 0, 2, 0, 24),           /* TEST-NET-1 (RFC 5737) */
	V4(192, 88, 99, 0, 24),         /* 6to4 relay anycast (RFC 7526) */
	V4(192, 168, 0, 0, 16),         /* private */
	V4(198, 18, 0, 0, 15),          /* benchmarking (RFC 2544) */
	V4(198, 51, 100, 0, 24),        /* TEST-NET-2 */
	V4(203, 0, 113, 0, 24),         /* TEST-NET-3 */
	V4(224, 0, 0, 0, 4),            /* multicast */
	V4(240, 0, 0, 0, 4),            /* reserved (RFC 1112), broadcast */
	/* ::/128, ::1 and the IPv4-compatible ::a.b.c.d (RFC 4291). */
	V6(96, 0),
	/*
	 * No entry for IPv4-mapped ::ffff:0:0/96: every address is normalized
	 * first, so a mapped one is judged by the IPv4 entries, as its host.
	 */
	/* IPv4-translated ::ffff:0:0:0/96 (RFC 2765). */
	V6(96, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff),
	V6(96, 0x00, 0x64, 0xff, 0x9b),                 /* NAT64 (RFC 6052) */
	V6(48, 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01),     /* local NAT64 (RFC 8215) */
	V6(64, 0x01, 0x00),                             /* discard-only (RFC 6666) */
	V6(64, 0x01, 0x00, 0, 0, 0, 0, 0x00, 0x01),     /* dummy prefix 100:0:0:1::/64 */
	V6(23, 0x20, 0x01, 0x00, 0x00),                 /* IETF protocol assignments */
	V6(32, 0x20, 0x01, 0x0d, 0xb8),                 /* documentation (RFC 3849) */
	V6(16, 0x20, 0x02),                             /* 6to4 (RFC 3056) */
	V6(20, 0x3f, 0xff),                             /* documentation (RFC 9637) */
	V6(16, 0x5f, 0x00),                             /* SRv6 SIDs (RFC 9602) */
	V6(7, 0xfc),                                    /* unique local (RFC 4193) */
	V6(10, 0xfe, 0x80),                             /* link-local */
	V6(10, 0xfe, 0xc0),                             /* site-local (RFC 3879) */
	V6(8, 0xff),                                    /* multicast */
};

#undef V4
#undef V6

bool
addr_is_special(const struct addr *a)
{
	struct addr x;

	clean_copy(&x, a);
	if (x.family == 0) {
		return true;
	}
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
		if (cidr_contains(&special[i], &x)) {
			return true;
		}
	}
	return false;
}

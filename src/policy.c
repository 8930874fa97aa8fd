/* SPDX-License-Identifier: MIT */
/*
 * Exit policy: see policy.h. This file owns the rule syntax and the
 * decision for one resolved address and port. It resolves nothing and
 * connects nowhere; addresses are compared through addr.h only.
 *
 * Choices the header leaves open:
 * - A rule whose address is "*" matches both families; "0.0.0.0/0" or
 *   "[::]/0" matches one.
 * - An accept rule "names" special-purpose space, and so opens it, only
 *   when its whole range lies in that space: its first and last addresses
 *   are special and it is no wider than the widest special block (/4 for
 *   IPv4, /7 for IPv6). "accept 203.0.113.0/24:80" opens a documentation
 *   range; "accept 0.0.0.0/0:*" or "accept 0.0.0.0/1:*" open no loopback
 *   and no LAN: that would be the very mistake section 4 of DESIGN guards
 *   against, written as a wide public range.
 * - A relay's own address is opened only by an accept rule naming exactly
 *   that host (a /32 or /128 equal to it, as in "accept 192.0.2.2:80"):
 *   a range such as "accept 192.0.2.0/24:*" that merely contains it does
 *   not, so the relay never connects back to itself by accident.
 *   allow-private does not lift this either.
 * - "*" may stand among the items of a port list ("80,*" is every port).
 *   Ports are 1..65535 in rules, so port 0 only ever meets the implied
 *   reject. Overlapping or repeated items are allowed.
 * - An address of no family (0) is refused like 0.0.0.0: POLICY_BY_UNSPEC.
 * - policy_add_self takes no address of no family (-EINVAL), and an address
 *   given twice is remembered once.
 * - policy_add_rule may also return -ENOMEM; on success err is "".
 * - policy_accepts_any asks whether some public address (not special, not
 *   our own) and some port get POLICY_ACCEPT; see the function for how.
 */
#include "policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <strings.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/*
 * Longest spec read: 64 items of "65535-65535" with commas, after
 * "[0000:0000:0000:0000:0000:0000:255.255.255.255]/128:", is under 830.
 */
#define POLICY_SPEC_MAX 1024
/* Longest address text between the brackets, or before '/' or ':'. */
#define POLICY_ADDR_MAX 45
/* How much of an offending piece an error message quotes. */
#define POLICY_QUOTE_MAX 40

struct port_range {
	uint16_t lo;
	uint16_t hi;
};

struct rule {
	bool accept;
	bool any;               /* "*": every address of both families */
	bool named;             /* names a range: lifts the special-purpose refusal */
	struct cidr net;        /* unless any */
	size_t nports;
	struct port_range ports[POLICY_MAX_PORT_ITEMS];
};

struct policy {
	struct rule *rules;     /* nrules used of cap, cap <= POLICY_MAX_RULES */
	size_t nrules;
	size_t cap;
	bool allow_private;
	size_t nself;
	struct addr self[POLICY_MAX_SELF];
};

static void seterr(char *err, size_t errlen, const char *fmt, ...) LOG_PRINTF(3, 4);

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * A piece of the spec for an error message: at most POLICY_QUOTE_MAX bytes,
 * anything unprintable as '?', so a hostile or broken config cannot put
 * control characters into the log.
 */
static const char *
quote(const char *s, size_t len, char *buf, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 4 < cap && i < POLICY_QUOTE_MAX; i++) {
		unsigned char ch = (unsigned char)s[i];

		buf[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	if (len > n) {
		buf[n++] = '.';
		buf[n++] = '.';
		buf[n++] = '.';
	}
	buf[n] = '\0';
	return buf;
}

#define QUOTE_BUF (POLICY_QUOTE_MAX + 4)

struct policy *
policy_new(void)
{
	return calloc(1, sizeof(struct policy));
}

void
policy_free(struct policy *p)
{
	if (p == NULL) {
		return;
	}
	free(p->rules);
	free(p);
}

void
policy_set_allow_private(struct policy *p, bool allow)
{
	p->allow_private = allow;
}

size_t
policy_rule_count(const struct policy *p)
{
	return p->nrules;
}

static size_t
addr_bits(uint8_t family)
{
	return family == AF_INET ? 32 : 128;
}

static bool
is_unspec(const struct addr *a)
{
	static const uint8_t zero[16];

	switch (a->family) {
	case AF_INET:
		return memcmp(a->a, zero, 4) == 0;
	case AF_INET6:
		return memcmp(a->a, zero, 16) == 0;
	default:
		return true;
	}
}

/* A normalized copy: a caller may hand us ::ffff:10.0.0.1 built by hand. */
static void
norm_copy(struct addr *dst, const struct addr *src)
{
	switch (src->family) {
	case AF_INET:
		addr_set_raw(dst, src->a, 4);
		break;
	case AF_INET6:
		addr_set_raw(dst, src->a, 16);
		break;
	default:
		addr_set_raw(dst, src->a, 0);
		break;
	}
}

static bool
is_self(const struct policy *p, const struct addr *a)
{
	for (size_t i = 0; i < p->nself; i++) {
		if (addr_eq(&p->self[i], a)) {
			return true;
		}
	}
	return false;
}

int
policy_add_self(struct policy *p, const struct addr *a)
{
	struct addr n;

	norm_copy(&n, a);
	if (n.family == 0) {
		return -EINVAL;
	}
	if (is_self(p, &n)) {
		return 0;
	}
	if (p->nself >= POLICY_MAX_SELF) {
		return -ENOSPC;
	}
	p->self[p->nself++] = n;
	return 0;
}

/* Sets every bit of a at or after bit prefix to one (set) or zero. */
static void
fill_host_bits(struct addr *a, size_t prefix, bool set)
{
	size_t len = addr_bits(a->family) / 8;

	for (size_t i = prefix / 8; i < len; i++) {
		size_t keep = i == prefix / 8 ? prefix % 8 : 0;
		uint8_t mask = (uint8_t)(0xffu >> keep);

		a->a[i] = set ? (uint8_t)(a->a[i] | mask) : (uint8_t)(a->a[i] & ~mask);
	}
}

/* a + 1 within its family; false when it wraps past the last address. */
static bool
addr_inc(struct addr *a)
{
	size_t len = addr_bits(a->family) / 8;

	for (size_t i = len; i > 0; i--) {
		if (++a->a[i - 1] != 0) {
			return true;
		}
	}
	return false;
}

/*
 * A prefix length: decimal, no sign, no leading zero, at most max. The
 * loop stops once the value is out of range, so no digit string overflows.
 */
static int
parse_prefix(const char *s, size_t len, unsigned long max, unsigned long *out, char *err,
	     size_t errlen)
{
	char q[QUOTE_BUF];
	unsigned long v = 0;

	if (len == 0) {
		seterr(err, errlen, "missing prefix length after '/'");
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			seterr(err, errlen, "bad prefix length '%s'", quote(s, len, q, sizeof(q)));
			return -EINVAL;
		}
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > max) {
			seterr(err, errlen, "prefix length /%s is longer than %lu bits",
			       quote(s, len, q, sizeof(q)), max);
			return -EINVAL;
		}
	}
	if (s[0] == '0' && len > 1) {
		seterr(err, errlen, "prefix length '%s' has a leading zero",
		       quote(s, len, q, sizeof(q)));
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/*
 * The ADDRESS[/PREFIX] part of a rule: the address text a (without
 * brackets), whether it was bracketed, and the prefix digits if a '/' was
 * there (pfx non-NULL). cidr_parse has the last word, so a rule means what
 * the same text means everywhere else; the checks before it only find the
 * words for what is wrong.
 */
static int
parse_net(const char *a, size_t alen, bool bracketed, const char *pfx, size_t plen,
	  struct cidr *out, char *err, size_t errlen)
{
	char q[QUOTE_BUF];
	char text[POLICY_ADDR_MAX + 8];
	char sugg[ADDR_STRLEN];
	struct addr host;
	struct cidr c;
	unsigned long bits, max;
	bool v6_text;

	if (alen == 0) {
		seterr(err, errlen, "missing address before ':'");
		return -EINVAL;
	}
	v6_text = memchr(a, ':', alen) != NULL;
	if (bracketed && !v6_text) {
		seterr(err, errlen, "brackets are for IPv6 addresses, not '%s'",
		       quote(a, alen, q, sizeof(q)));
		return -EINVAL;
	}
	if (alen > POLICY_ADDR_MAX) {
		/* Too long for any address; said the same way as a bad one. */
		seterr(err, errlen, "bad %s address '%s'", v6_text ? "IPv6" : "IPv4",
		       quote(a, alen, q, sizeof(q)));
		return -EINVAL;
	}
	memcpy(text, a, alen);
	text[alen] = '\0';
	if (addr_parse(text, &host) != 0) {
		seterr(err, errlen, "bad %s address '%s'", v6_text ? "IPv6" : "IPv4",
		       quote(a, alen, q, sizeof(q)));
		return -EINVAL;
	}
	max = v6_text ? 128 : 32;
	bits = max;
	if (pfx != NULL && parse_prefix(pfx, plen, max, &bits, err, errlen) != 0) {
		return -EINVAL;
	}
	snprintf(text + alen, sizeof(text) - alen, "/%lu", bits);
	if (cidr_parse(text, &c) == 0) {
		*out = c;
		return 0;
	}
	/* What remains is a prefix that leaves host bits set. */
	if (v6_text && host.family == AF_INET) {
		if (bits < 96) {
			seterr(err, errlen, "an IPv4-mapped prefix must be /96 or longer");
			return -EINVAL;
		}
		bits -= 96;
	}
	fill_host_bits(&host, bits, false);
	seterr(err, errlen, "host bits set beyond /%lu: did you mean %s/%lu?", bits,
	       addr_fmt(&host, sugg, sizeof(sugg)), bits);
	return -EINVAL;
}

/* A port 1..65535 in s[0..len); item is the whole list item, for messages. */
static int
parse_port(const char *s, size_t len, const char *item, size_t ilen, uint16_t *out, char *err,
	   size_t errlen)
{
	char q[QUOTE_BUF];
	unsigned long v = 0;

	if (len == 0) {
		seterr(err, errlen, "missing port number in '%s'", quote(item, ilen, q, sizeof(q)));
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			seterr(err, errlen, "bad port '%s': not a decimal number",
			       quote(item, ilen, q, sizeof(q)));
			return -EINVAL;
		}
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > 65535) {
			seterr(err, errlen, "port '%s' is out of range 1-65535",
			       quote(s, len, q, sizeof(q)));
			return -EINVAL;
		}
	}
	if (v == 0) {
		seterr(err, errlen, "port 0 is out of range 1-65535");
		return -EINVAL;
	}
	if (s[0] == '0') {
		seterr(err, errlen, "port '%s' has a leading zero", quote(s, len, q, sizeof(q)));
		return -EINVAL;
	}
	*out = (uint16_t)v;
	return 0;
}

/* PORTS: "*", N, N-M, or a comma list of those, with no empty item. */
static int
parse_ports(const char *s, size_t len, struct rule *r, char *err, size_t errlen)
{
	char q[QUOTE_BUF];
	size_t i = 0;

	if (len == 0) {
		seterr(err, errlen, "missing ports after ':'");
		return -EINVAL;
	}
	for (;;) {
		const char *item = s + i;
		const char *comma = memchr(item, ',', len - i);
		size_t ilen = comma != NULL ? (size_t)(comma - item) : len - i;
		const char *dash = memchr(item, '-', ilen);
		struct port_range pr;

		if (ilen == 0) {
			seterr(err, errlen, "empty item in port list '%s'",
			       quote(s, len, q, sizeof(q)));
			return -EINVAL;
		}
		if (r->nports == POLICY_MAX_PORT_ITEMS) {
			seterr(err, errlen, "more than %d items in port list",
			       POLICY_MAX_PORT_ITEMS);
			return -EINVAL;
		}
		if (ilen == 1 && item[0] == '*') {
			pr.lo = 1;
			pr.hi = 65535;
		} else if (dash == NULL) {
			if (parse_port(item, ilen, item, ilen, &pr.lo, err, errlen) != 0) {
				return -EINVAL;
			}
			pr.hi = pr.lo;
		} else {
			size_t lolen = (size_t)(dash - item);

			if (parse_port(item, lolen, item, ilen, &pr.lo, err, errlen) != 0 ||
			    parse_port(dash + 1, ilen - lolen - 1, item, ilen, &pr.hi, err,
				       errlen) != 0) {
				return -EINVAL;
			}
			if (pr.lo > pr.hi) {
				seterr(err, errlen, "reversed port range '%s'",
				       quote(item, ilen, q, sizeof(q)));
				return -EINVAL;
			}
		}
		r->ports[r->nports++] = pr;
		if (comma == NULL) {
			break;
		}
		i += ilen + 1;
	}
	return 0;
}

/* True when the whole of c lies in special-purpose space (see the top). */
static bool
names_special(const struct cidr *c)
{
	struct addr last = c->addr;
	size_t bits = c->addr.family == AF_INET ? 32 : 128;

	if (c->prefix < (c->addr.family == AF_INET ? 4 : 7)) {
		return false;
	}
	for (size_t b = c->prefix; b < bits; b++) {
		last.a[b / 8] |= (uint8_t)(0x80 >> (b % 8));
	}
	return addr_is_special(&c->addr) && addr_is_special(&last);
}

static int
parse_rule(const char *spec, size_t len, struct rule *r, char *err, size_t errlen)
{
	char q[QUOTE_BUF];
	const char *colon;
	const char *slash = NULL;
	size_t i, plen;

	if (len == 0) {
		seterr(err, errlen, "empty rule: expected ADDRESS[/PREFIX]:PORTS");
		return -EINVAL;
	}
	if (spec[0] == '*') {
		if (len == 1) {
			seterr(err, errlen, "a bare '*' is not a rule: write '*:*'");
			return -EINVAL;
		}
		if (spec[1] == '/') {
			seterr(err, errlen, "'*' takes no prefix length");
			return -EINVAL;
		}
		if (spec[1] != ':') {
			seterr(err, errlen, "expected ':' after '*' in '%s'",
			       quote(spec, len, q, sizeof(q)));
			return -EINVAL;
		}
		r->any = true;
		i = 2;
	} else if (spec[0] == '[') {
		const char *close = memchr(spec, ']', len);
		size_t alen;

		if (close == NULL) {
			seterr(err, errlen, "missing ']' after IPv6 address in '%s'",
			       quote(spec, len, q, sizeof(q)));
			return -EINVAL;
		}
		alen = (size_t)(close - spec) - 1;
		if (memchr(spec + 1, '/', alen) != NULL) {
			seterr(err, errlen, "the prefix length goes after the ']', as in "
			       "'[2001:db8::]/32:443'");
			return -EINVAL;
		}
		i = alen + 2;
		colon = spec + i;
		plen = 0;
		if (i < len && spec[i] == '/') {
			slash = spec + i;
			colon = memchr(slash, ':', len - i);
			plen = (size_t)((colon != NULL ? colon : spec + len) - slash) - 1;
		}
		/* The address is judged first: its mistake is the likelier one. */
		if (parse_net(spec + 1, alen, true, slash != NULL ? slash + 1 : NULL, plen, &r->net,
			      err, errlen) != 0) {
			return -EINVAL;
		}
		if (colon == NULL || colon == spec + len || *colon != ':') {
			seterr(err, errlen, "expected ':PORTS' after the address in '%s'",
			       quote(spec, len, q, sizeof(q)));
			return -EINVAL;
		}
		i = (size_t)(colon - spec) + 1;
	} else {
		size_t alen;

		colon = memchr(spec, ':', len);
		if (colon == NULL) {
			seterr(err, errlen, "missing ':PORTS' in '%s'",
			       quote(spec, len, q, sizeof(q)));
			return -EINVAL;
		}
		/*
		 * Unbracketed IPv6 cannot be told from ADDRESS:PORTS. A second
		 * colon with no dot before the first one is taken for that
		 * mistake; "10.0.0.1:80:90" goes on to a port error instead.
		 */
		if (memchr(colon + 1, ':', len - (size_t)(colon - spec) - 1) != NULL &&
		    memchr(spec, '.', (size_t)(colon - spec)) == NULL) {
			seterr(err, errlen, "an IPv6 address goes in brackets, as in "
			       "'[2001:db8::]/32:443'");
			return -EINVAL;
		}
		slash = memchr(spec, '/', (size_t)(colon - spec));
		alen = (size_t)((slash != NULL ? slash : colon) - spec);
		if (parse_net(spec, alen, false, slash != NULL ? slash + 1 : NULL,
			      slash != NULL ? (size_t)(colon - slash) - 1 : 0, &r->net, err,
			      errlen) != 0) {
			return -EINVAL;
		}
		i = (size_t)(colon - spec) + 1;
	}
	if (!r->any) {
		r->named = names_special(&r->net);
	}
	return parse_ports(spec + i, len - i, r, err, errlen);
}

int
policy_add_rule(struct policy *p, bool accept, const char *spec, char *err, size_t errlen)
{
	struct rule r;
	size_t len;

	seterr(err, errlen, "%s", "");
	if (p->nrules >= POLICY_MAX_RULES) {
		seterr(err, errlen, "too many rules (at most %d)", POLICY_MAX_RULES);
		return -ENOSPC;
	}
	len = strnlen(spec, POLICY_SPEC_MAX + 1);
	if (len > POLICY_SPEC_MAX) {
		seterr(err, errlen, "rule longer than %d characters", POLICY_SPEC_MAX);
		return -EINVAL;
	}
	memset(&r, 0, sizeof(r));
	r.accept = accept;
	if (parse_rule(spec, len, &r, err, errlen) != 0) {
		return -EINVAL;
	}
	if (p->nrules == p->cap) {
		size_t cap = p->cap == 0 ? 8 : p->cap * 2;
		struct rule *n;

		if (cap > POLICY_MAX_RULES) {
			cap = POLICY_MAX_RULES;
		}
		n = realloc(p->rules, cap * sizeof(*n));
		if (n == NULL) {
			seterr(err, errlen, "out of memory");
			return -ENOMEM;
		}
		p->rules = n;
		p->cap = cap;
	}
	p->rules[p->nrules++] = r;
	return 0;
}

static bool
rule_has_addr(const struct rule *r, const struct addr *a)
{
	return r->any || cidr_contains(&r->net, a);
}

static bool
rule_has_port(const struct rule *r, uint16_t port)
{
	for (size_t i = 0; i < r->nports; i++) {
		if (port >= r->ports[i].lo && port <= r->ports[i].hi) {
			return true;
		}
	}
	return false;
}

/* An accept rule that names exactly this host (a /32 or /128 rule). */
static bool
rule_is_host(const struct rule *r, const struct addr *a)
{
	return !r->any && r->net.prefix == addr_bits(r->net.addr.family) &&
	       addr_eq(&r->net.addr, a);
}

static enum policy_verdict
match(const struct policy *p, const struct addr *a, uint16_t port, bool local,
      enum policy_reason *reason)
{
	const struct rule *r = NULL;
	enum policy_reason why;
	enum policy_verdict v = POLICY_REJECT;
	struct addr n;

	norm_copy(&n, a);
	if (is_unspec(&n)) {
		why = POLICY_BY_UNSPEC;
		goto done;
	}
	for (size_t i = 0; i < p->nrules; i++) {
		if (rule_has_addr(&p->rules[i], &n) && rule_has_port(&p->rules[i], port)) {
			r = &p->rules[i];
			break;
		}
	}
	if (r == NULL) {
		why = POLICY_BY_DEFAULT;
	} else if (!r->accept) {
		why = POLICY_BY_RULE;
	} else if ((local || is_self(p, &n)) && !rule_is_host(r, &n)) {
		why = POLICY_BY_SELF;
	} else if (!r->named && !p->allow_private && addr_is_special(&n)) {
		why = POLICY_BY_SPECIAL;
	} else {
		why = POLICY_BY_RULE;
		v = POLICY_ACCEPT;
	}
done:
	if (reason != NULL) {
		*reason = why;
	}
	return v;
}

enum policy_verdict
policy_match(const struct policy *p, const struct addr *a, uint16_t port,
	     enum policy_reason *reason)
{
	return match(p, a, port, false, reason);
}

enum policy_verdict
policy_match_local(const struct policy *p, const struct addr *a, uint16_t port,
		   enum policy_reason *reason)
{
	return match(p, a, port, true, reason);
}

/*
 * Ports not yet decided by an earlier rule, for one address: a union-find
 * over 1..65535 where each port points at the next undecided port at or
 * after it, and 65536 stands for "none left". Taking a range costs each
 * port once, however many rules overlap. Entries whose stamp is not the
 * current generation are fresh, so starting over for the next address
 * costs nothing.
 */
#define PORTSET_N 65537

struct portset {
	uint32_t *next;
	uint32_t *stamp;
	uint32_t gen;
};

static uint32_t
ps_get(const struct portset *ps, uint32_t x)
{
	return ps->stamp[x] == ps->gen ? ps->next[x] : x;
}

static void
ps_set(struct portset *ps, uint32_t x, uint32_t v)
{
	ps->stamp[x] = ps->gen;
	ps->next[x] = v;
}

/* The first undecided port at or after x (65536: none). */
static uint32_t
ps_find(struct portset *ps, uint32_t x)
{
	while (ps_get(ps, x) != x) {
		uint32_t up = ps_get(ps, ps_get(ps, x));

		/* Path halving keeps later walks short. */
		ps_set(ps, x, up);
		x = up;
	}
	return x;
}

/*
 * Decides lo..hi. Each port taken points past hi at once, not at its
 * neighbour, so a wide range leaves short paths rather than a long chain:
 * by the end of the loop every port in between is decided.
 */
static void
ps_take(struct portset *ps, uint32_t lo, uint32_t hi)
{
	for (uint32_t x = ps_find(ps, lo); x <= hi; x = ps_find(ps, x + 1)) {
		ps_set(ps, x, hi + 1);
	}
}

/* Whether some port gets POLICY_ACCEPT for the public address a. */
static bool
accepts_some_port(const struct policy *p, struct portset *ps, const struct addr *a)
{
	ps->gen++;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		if (!rule_has_addr(r, a)) {
			continue;
		}
		for (size_t j = 0; j < r->nports; j++) {
			if (r->accept) {
				/* Nothing refuses a public address an accept rule reaches. */
				if (ps_find(ps, r->ports[j].lo) <= r->ports[j].hi) {
					return true;
				}
			} else {
				ps_take(ps, r->ports[j].lo, r->ports[j].hi);
			}
		}
		/* Every port decided: later rules cannot accept anything here. */
		if (ps_find(ps, 1) > 65535) {
			return false;
		}
	}
	return false;
}

static bool
is_public(const struct policy *p, const struct addr *a)
{
	return !is_unspec(a) && !addr_is_special(a) && !is_self(p, a);
}

/*
 * Tries the first public address at or after start. If start is not
 * public, the candidates are the addresses just past each aligned block
 * that holds start, smallest first: special ranges are aligned blocks, so
 * where a run of them ends is among these (for every range in addr.c's
 * table, the run's end is such a block boundary for any start inside it).
 */
static bool
try_from(const struct policy *p, struct portset *ps, const struct addr *start)
{
	size_t bits = addr_bits(start->family);

	if (is_public(p, start)) {
		return accepts_some_port(p, ps, start);
	}
	for (size_t k = 0; k < bits; k++) {
		struct addr probe = *start;

		fill_host_bits(&probe, bits - k, true);
		if (!addr_inc(&probe)) {
			break;
		}
		if (is_public(p, &probe)) {
			return accepts_some_port(p, ps, &probe);
		}
	}
	return false;
}

/*
 * The rules' ranges and our own addresses cut the address space into
 * pieces in which every public address meets the same rules, so one public
 * address per piece decides: the first public address of each piece, found
 * from the piece's start by try_from. The ports are decided exactly, rule
 * by rule, with the portset. Without memory for the portset the answer is
 * false: this serves status output, not a decision.
 */
bool
policy_accepts_any(const struct policy *p)
{
	static const uint8_t zero[16];
	struct portset ps;
	struct addr start;
	bool yes = false;

	ps.next = calloc(PORTSET_N, sizeof(*ps.next));
	ps.stamp = calloc(PORTSET_N, sizeof(*ps.stamp));
	ps.gen = 0;
	if (ps.next == NULL || ps.stamp == NULL) {
		goto out;
	}
	addr_set_raw(&start, zero, 4);
	yes = try_from(p, &ps, &start);
	addr_set_raw(&start, zero, 16);
	yes = yes || try_from(p, &ps, &start);
	for (size_t i = 0; i < p->nrules && !yes; i++) {
		const struct rule *r = &p->rules[i];

		if (r->any) {
			continue;
		}
		start = r->net.addr;
		yes = try_from(p, &ps, &start);
		fill_host_bits(&start, r->net.prefix, true);
		if (!yes && addr_inc(&start)) {
			yes = try_from(p, &ps, &start);
		}
	}
	for (size_t i = 0; i < p->nself && !yes; i++) {
		start = p->self[i];
		yes = try_from(p, &ps, &start);
		if (!yes && addr_inc(&start)) {
			yes = try_from(p, &ps, &start);
		}
	}
out:
	free(ps.next);
	free(ps.stamp);
	return yes;
}

/* True when name is label or ends in ".label" (case-insensitive). */
static bool
name_under(const char *name, size_t len, const char *label)
{
	size_t l = strlen(label);

	if (len == l) {
		return strncasecmp(name, label, l) == 0;
	}
	return len > l && name[len - l - 1] == '.' && strncasecmp(name + len - l, label, l) == 0;
}

enum name_kind
policy_name_kind(const char *name, struct addr *lit)
{
	char buf[256];
	size_t len = strnlen(name, sizeof(buf));
	const char *s = buf;
	struct in_addr a4;
	struct in6_addr a6;

	if (len >= sizeof(buf)) {
		return NAME_RESOLVE;    /* longer than any name: the resolver refuses it */
	}
	memcpy(buf, name, len + 1);
	if (len > 0 && buf[len - 1] == '.') {
		buf[--len] = '\0';
	}
	if (name_under(buf, len, "localhost")) {
		return NAME_LOCALHOST;
	}
	if (name_under(buf, len, "invalid")) {
		return NAME_INVALID;
	}
	if (len >= 2 && buf[0] == '[' && buf[len - 1] == ']') {
		buf[len - 1] = '\0';
		s = buf + 1;
	}
	if (inet_aton(s, &a4) != 0) {
		addr_set_raw(lit, &a4, 4);
		return NAME_LITERAL;
	}
	if (strchr(s, ':') != NULL && inet_pton(AF_INET6, s, &a6) == 1) {
		addr_set_raw(lit, &a6, 16);
		return NAME_LITERAL;
	}
	return NAME_RESOLVE;
}

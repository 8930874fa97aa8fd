/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the exit policy and the address parsers under it.
 *
 * The first byte holds flags (allow-private, own addresses, a short error
 * buffer); the rest is split into lines. Each line, without a leading
 * "accept " or "reject ", is a rule for policy_add_rule, and the whole line
 * also goes to addr_parse, cidr_parse and addr_port_parse. Raw 4- and
 * 16-byte slices of the input become addresses too. Then policy_match runs
 * over those addresses and a fixed set of well-known ones, on a few ports.
 *
 * Besides "never crash, leak or read out of bounds", it checks the
 * promises of addr.h and policy.h:
 * - err is always terminated within errlen, never written past it, empty
 *   on success and not on -EINVAL; the rule count grows only on success;
 * - addr_parse agrees with inet_pton on what is an address and on its
 *   bytes; whatever parses formats to text that parses back to it;
 * - a parsed prefix contains its own address; cidr and addr:port text
 *   round-trips;
 * - an IPv4 host gets the same verdict and reason however it is spelled
 *   (plain, addr_set_raw of mapped bytes, a hand-built mapped struct);
 * - ACCEPT only ever comes with POLICY_BY_RULE; unspecified addresses are
 *   refused with POLICY_BY_UNSPEC; allow-private only ever turns a refusal
 *   into an acceptance, never the reverse;
 * - if a public address is accepted on some port, policy_accepts_any says
 *   so.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FLAG_ALLOW_PRIVATE 0x01
#define FLAG_SELF 0x02
#define FLAG_SHORT_ERR 0x04

#define ERR_CAP 160
#define MAX_ADDRS 64

struct ctx {
	struct policy *p;
	bool allow_private;
	bool use_self;
	size_t errlen;
	struct addr addrs[MAX_ADDRS];
	size_t naddrs;
	struct addr self[POLICY_MAX_SELF];
	size_t nself;
};

static void
check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "invariant broken: %s\n", what);
		abort();
	}
}

static void
remember(struct ctx *c, const struct addr *a)
{
	if (c->naddrs < MAX_ADDRS) {
		c->addrs[c->naddrs++] = *a;
	}
	if (c->use_self && policy_add_self(c->p, a) == 0 && c->nself < POLICY_MAX_SELF) {
		c->self[c->nself++] = *a;
	}
}

static bool
is_unspec(const struct addr *a)
{
	static const uint8_t zero[16];

	return (a->family == AF_INET && memcmp(a->a, zero, 4) == 0) ||
	       (a->family == AF_INET6 && memcmp(a->a, zero, 16) == 0);
}

static bool
is_self(const struct ctx *c, const struct addr *a)
{
	for (size_t i = 0; i < c->nself; i++) {
		if (addr_eq(&c->self[i], a)) {
			return true;
		}
	}
	return false;
}

/* Formatting into every short buffer cuts cleanly. */
static void
check_fmt(const struct addr *a)
{
	char buf[ADDR_STRLEN + 8];

	for (size_t n = 1; n <= ADDR_STRLEN; n += 7) {
		memset(buf, 'x', sizeof(buf));
		addr_fmt(a, buf, n);
		check(memchr(buf, '\0', n) != NULL, "addr_fmt terminates");
		check(buf[n] == 'x', "addr_fmt stays in its buffer");
		memset(buf, 'x', sizeof(buf));
		addr_port_fmt(a, 65535, buf, n);
		check(memchr(buf, '\0', n) != NULL, "addr_port_fmt terminates");
		check(buf[n] == 'x', "addr_port_fmt stays in its buffer");
	}
}

static void
check_sockaddr(const struct addr *a)
{
	struct sockaddr_storage ss;
	struct addr b;
	uint16_t port;
	socklen_t len = addr_to_sockaddr(a, 4242, &ss);

	check(len == sizeof(struct sockaddr_in) || len == sizeof(struct sockaddr_in6),
	      "addr_to_sockaddr length");
	check(addr_from_sockaddr((const struct sockaddr *)&ss, &b, &port) == 0,
	      "addr_from_sockaddr takes what addr_to_sockaddr made");
	check(addr_eq(a, &b) && port == 4242, "sockaddr round trip");
}

/* The address parsers on one NUL-terminated line. */
static void
parse_addresses(struct ctx *c, const char *s)
{
	char buf[ADDR_STRLEN + 8];
	uint8_t raw[16];
	struct addr a, b;
	struct cidr cd, cd2;
	uint16_t port, port2;
	bool v4, v6;

	v4 = inet_pton(AF_INET, s, raw) == 1;
	if (v4) {
		addr_set_raw(&b, raw, 4);
	}
	v6 = inet_pton(AF_INET6, s, raw) == 1;
	if (v6) {
		addr_set_raw(&b, raw, 16);
	}
	if (addr_parse(s, &a) == 0) {
		check(a.family == AF_INET || a.family == AF_INET6, "parsed family");
		check(v4 || v6, "addr_parse accepts only what inet_pton does");
		check(addr_eq(&a, &b), "addr_parse and inet_pton agree on the bytes");
		if (a.family == AF_INET6) {
			check(!(memcmp(a.a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0),
			      "mapped IPv6 is normalized");
		}
		addr_fmt(&a, buf, sizeof(buf));
		check(addr_parse(buf, &b) == 0 && addr_eq(&a, &b), "format round trip");
		check_fmt(&a);
		check_sockaddr(&a);
		remember(c, &a);
	} else {
		check(!v4 && !v6, "addr_parse refuses only what inet_pton does");
	}

	if (cidr_parse(s, &cd) == 0) {
		check(cd.addr.family == AF_INET ? cd.prefix <= 32 :
		      cd.addr.family == AF_INET6 && cd.prefix <= 128, "prefix length in range");
		check(cidr_contains(&cd, &cd.addr), "a prefix contains its address");
		addr_fmt(&cd.addr, buf, sizeof(buf));
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "/%u", cd.prefix);
		check(cidr_parse(buf, &cd2) == 0 && addr_eq(&cd.addr, &cd2.addr) &&
		      cd.prefix == cd2.prefix, "cidr round trip");
		remember(c, &cd.addr);
	}

	if (addr_port_parse(s, &a, &port) == 0) {
		check(port != 0, "port 0 refused");
		addr_port_fmt(&a, port, buf, sizeof(buf));
		check(addr_port_parse(buf, &b, &port2) == 0 && addr_eq(&a, &b) && port == port2,
		      "addr:port round trip");
		remember(c, &a);
	}
}

static void
add_rule(struct ctx *c, const char *line, size_t idx)
{
	char err[ERR_CAP];
	const char *spec = line;
	bool accept = idx % 2 == 0;
	size_t before = policy_rule_count(c->p);
	int r;

	if (strncmp(line, "accept ", 7) == 0) {
		accept = true;
		spec = line + 7;
	} else if (strncmp(line, "reject ", 7) == 0) {
		accept = false;
		spec = line + 7;
	}
	memset(err, 0x7e, sizeof(err));
	r = policy_add_rule(c->p, accept, spec, err, c->errlen);
	check(r == 0 || r == -EINVAL || r == -ENOSPC, "policy_add_rule return value");
	check(memchr(err, '\0', c->errlen) != NULL, "err terminated within errlen");
	for (size_t i = c->errlen; i < sizeof(err); i++) {
		check(err[i] == 0x7e, "err not written past errlen");
	}
	if (r == 0) {
		check(err[0] == '\0', "err empty on success");
		check(policy_rule_count(c->p) == before + 1, "rule counted");
	} else {
		check(c->errlen == 1 || err[0] != '\0', "a refusal says why");
		check(policy_rule_count(c->p) == before, "refused rule not counted");
	}
	check(policy_rule_count(c->p) <= POLICY_MAX_RULES, "rule limit");
}

static const char *const known[] = {
	"0.0.0.0", "0.0.0.1", "10.0.0.1", "100.64.0.1", "127.0.0.1", "169.254.169.254",
	"172.16.0.1", "192.0.0.9", "192.0.2.1", "192.0.2.2", "192.168.1.1", "198.18.0.1",
	"198.51.100.7", "203.0.113.5", "224.0.0.1", "240.0.0.1", "255.255.255.255",
	"1.1.1.1", "8.8.8.8", "93.184.216.34", "::", "::1", "::a00:1", "64:ff9b::a00:1",
	"100::1", "2001::1", "2001:db8::1", "2001:db8:ffff::1", "2002:a00:1::1", "fc00::1",
	"fe80::1", "ff02::1", "2606:4700::1111", "2a00:1450::1",
};

static const uint16_t ports[] = { 0, 1, 22, 25, 53, 80, 443, 1024, 8080, 8999, 65535 };

static void
match_all(struct ctx *c, uint16_t extra_port)
{
	size_t nports = sizeof(ports) / sizeof(ports[0]);
	bool any_known = false, any = false;

	for (size_t i = 0; i < c->naddrs; i++) {
		const struct addr *a = &c->addrs[i];

		for (size_t j = 0; j <= nports; j++) {
			uint16_t port = j < nports ? ports[j] : extra_port;
			enum policy_reason why, why2;
			enum policy_verdict v, v2;

			v = policy_match(c->p, a, port, &why);
			check(v == POLICY_ACCEPT || v == POLICY_REJECT, "verdict in range");
			check(why <= POLICY_BY_UNSPEC, "reason in range");
			check(v != POLICY_ACCEPT || why == POLICY_BY_RULE, "accept only by a rule");
			check(policy_match(c->p, a, port, NULL) == v, "reason pointer optional");
			if (is_unspec(a)) {
				check(v == POLICY_REJECT && why == POLICY_BY_UNSPEC,
				      "unspecified refused");
			}
			if (port == 0) {
				check(v == POLICY_REJECT, "port 0 refused");
			}
			if (why == POLICY_BY_SPECIAL) {
				check(!c->allow_private && addr_is_special(a),
				      "special refusal only for special addresses");
			}
			if (why == POLICY_BY_SELF) {
				check(is_self(c, a), "self refusal only for own addresses");
			}

			/* The same IPv4 host, spelled mapped, two ways. */
			if (a->family == AF_INET) {
				struct addr m;
				uint8_t raw[16] = { [10] = 0xff, [11] = 0xff };

				memcpy(raw + 12, a->a, 4);
				addr_set_raw(&m, raw, 16);
				v2 = policy_match(c->p, &m, port, &why2);
				check(v2 == v && why2 == why, "mapped via addr_set_raw");
				memset(&m, 0, sizeof(m));
				m.family = AF_INET6;
				memcpy(m.a, raw, 16);
				v2 = policy_match(c->p, &m, port, &why2);
				check(v2 == v && why2 == why, "hand-built mapped");
			}

			/* allow-private only ever opens, and only special addresses. */
			policy_set_allow_private(c->p, !c->allow_private);
			v2 = policy_match(c->p, a, port, &why2);
			policy_set_allow_private(c->p, c->allow_private);
			{
				enum policy_verdict v_on = c->allow_private ? v : v2;
				enum policy_verdict v_off = c->allow_private ? v2 : v;
				enum policy_reason why_on = c->allow_private ? why : why2;
				enum policy_reason why_off = c->allow_private ? why2 : why;

				check(why_on != POLICY_BY_SPECIAL,
				      "allow-private lifts the special refusal");
				check(v_off == POLICY_REJECT || v_on == POLICY_ACCEPT,
				      "allow-private never refuses");
				check(v_on == v_off || why_off == POLICY_BY_SPECIAL,
				      "allow-private changes only special refusals");
			}

			if (v == POLICY_ACCEPT && !addr_is_special(a) && !is_self(c, a)) {
				if (!any_known) {
					any = policy_accepts_any(c->p);
					any_known = true;
				}
				check(any, "policy_accepts_any misses an accepted public address");
			}
		}
	}
}

/* The input as a host name: a kind in range, a literal of a real family. */
static void
name_kind(const uint8_t *data, size_t size)
{
	char name[320];
	struct addr lit;
	enum name_kind k;

	if (size >= sizeof(name)) {
		size = sizeof(name) - 1;
	}
	memcpy(name, data, size);
	name[size] = '\0';
	memset(&lit, 0, sizeof(lit));
	k = policy_name_kind(name, &lit);
	check(k == NAME_RESOLVE || k == NAME_LOCALHOST || k == NAME_INVALID || k == NAME_LITERAL,
	      "name kind in range");
	check(k != NAME_LITERAL || lit.family == AF_INET || lit.family == AF_INET6,
	      "a literal has an address");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx c;
	uint8_t flags = size > 0 ? data[0] : 0;
	uint16_t extra_port = 0;
	size_t start, idx = 0;

	name_kind(data, size);
	memset(&c, 0, sizeof(c));
	c.p = policy_new();
	if (c.p == NULL) {
		return 0;
	}
	c.allow_private = (flags & FLAG_ALLOW_PRIVATE) != 0;
	c.use_self = (flags & FLAG_SELF) != 0;
	c.errlen = (flags & FLAG_SHORT_ERR) != 0 ? 1 + (size_t)(flags >> 5) : ERR_CAP;
	policy_set_allow_private(c.p, c.allow_private);
	if (size >= 3) {
		extra_port = (uint16_t)(data[1] << 8 | data[2]);
	}

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		struct addr a;

		check(addr_parse(known[i], &a) == 0, "known address parses");
		if (c.naddrs < MAX_ADDRS) {
			c.addrs[c.naddrs++] = a;
		}
	}
	/* Raw slices: arbitrary IPv6, mapped or not, and IPv4. */
	for (size_t off = 1; off + 16 <= size && off < 1 + 16 * 4; off += 16) {
		struct addr a;

		addr_set_raw(&a, data + off, 16);
		check_fmt(&a);
		check_sockaddr(&a);
		if (c.naddrs < MAX_ADDRS) {
			c.addrs[c.naddrs++] = a;
		}
		addr_set_raw(&a, data + off, 4);
		if (c.naddrs < MAX_ADDRS) {
			c.addrs[c.naddrs++] = a;
		}
	}

	/* Lines, each in a buffer of its exact size so overreads are caught. */
	start = size > 0 ? 1 : 0;
	for (size_t i = start; i <= size; i++) {
		char *line;
		size_t len;

		if (i < size && data[i] != '\n') {
			continue;
		}
		len = i - start;
		line = malloc(len + 1);
		if (line == NULL) {
			break;
		}
		memcpy(line, data + start, len);
		line[len] = '\0';
		add_rule(&c, line, idx++);
		parse_addresses(&c, line);
		free(line);
		start = i + 1;
	}

	match_all(&c, extra_port);
	policy_free(c.p);
	return 0;
}

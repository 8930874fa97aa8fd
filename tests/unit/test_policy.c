/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the exit policy (src/policy.c): rule syntax accepted and
 * refused with the message for each mistake, first match and the implied
 * reject, the refusals beyond the rules (special-purpose, own addresses,
 * unspecified) and what lifts them, IPv4-mapped spellings that must not
 * slip past a rule, the limits, and policy_accepts_any.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

#define NELEM(x) (sizeof(x) / sizeof((x)[0]))

static struct addr
A(const char *s)
{
	struct addr a;

	if (addr_parse(s, &a) != 0) {
		fail_msg("cannot parse '%s'", s);
	}
	return a;
}

/* A mapped address filled in by hand, never normalized. */
static struct addr
raw_mapped(const char *v4)
{
	struct addr a;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET6;
	a.a[10] = 0xff;
	a.a[11] = 0xff;
	assert_int_equal(inet_pton(AF_INET, v4, a.a + 12), 1);
	return a;
}

/*
 * A policy from rules written as in the config: "accept SPEC" or
 * "reject SPEC", each of which must parse.
 */
static struct policy *
mk(const char *const *rules, size_t n)
{
	struct policy *p = policy_new();
	char err[128];

	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		bool accept = strncmp(rules[i], "accept ", 7) == 0;

		assert_true(accept || strncmp(rules[i], "reject ", 7) == 0);
		if (policy_add_rule(p, accept, rules[i] + 7, err, sizeof(err)) != 0) {
			fail_msg("rule '%s' refused: %s", rules[i], err);
		}
		assert_string_equal(err, "");
	}
	assert_int_equal(policy_rule_count(p), n);
	return p;
}

#define MK(...)                                                         \
	mk((const char *const[]){ __VA_ARGS__ },                        \
	   sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

struct want {
	const char *addr;
	uint16_t port;
	enum policy_verdict v;
	enum policy_reason why;
};

static void
check(const struct policy *p, const struct want *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct addr a = A(w[i].addr);
		enum policy_reason why = (enum policy_reason)-1;
		enum policy_verdict v = policy_match(p, &a, w[i].port, &why);

		if (v != w[i].v || why != w[i].why) {
			fail_msg("%s port %u: verdict %d reason %d, want %d reason %d", w[i].addr,
				 w[i].port, v, why, w[i].v, w[i].why);
		}
		/* The reason is optional. */
		assert_int_equal(policy_match(p, &a, w[i].port, NULL), w[i].v);
	}
}

#define ACC POLICY_ACCEPT
#define REJ POLICY_REJECT

static void
test_rules_valid(void **state)
{
	static const char *const good[] = {
		"*:*", "*:80", "*:1", "*:65535", "*:1-65535", "*:80-80", "*:80,443,8000-8999",
		"*:80,*", "*:*,*", "203.0.113.0/24:80,443", "203.0.113.5:80", "203.0.113.5/32:80",
		"0.0.0.0/0:*", "128.0.0.0/1:22", "0.0.0.0:*", "255.255.255.255:1",
		"[2001:db8::]/32:443", "[2001:db8::1]:443", "[2001:db8::1]/128:443", "[::]/0:*",
		"[::]:*", "[::1]:53", "[::ffff:10.0.0.0]/104:*", "[::ffff:192.0.2.1]:80",
		"[2001:DB8:FFFF::]/48:80,443", "[1:2:3:4:5:6:7:8]:1-2",
	};
	struct policy *p = policy_new();
	char err[128];

	(void)state;
	assert_non_null(p);
	for (size_t i = 0; i < NELEM(good); i++) {
		strcpy(err, "junk");
		if (policy_add_rule(p, i % 2 == 0, good[i], err, sizeof(err)) != 0) {
			fail_msg("refused '%s': %s", good[i], err);
		}
		/* Success leaves err empty. */
		assert_string_equal(err, "");
	}
	assert_int_equal(policy_rule_count(p), NELEM(good));
	policy_free(p);
}

struct bad_rule {
	const char *spec;
	const char *msg;        /* a part of the message we insist on */
};

static void
test_rules_invalid(void **state)
{
	static const struct bad_rule bad[] = {
		{ "", "empty rule" },
		{ "*", "bare '*'" },
		{ "*/8:80", "'*' takes no prefix" },
		{ "*/0:*", "'*' takes no prefix" },
		{ "*x:80", "expected ':' after '*'" },
		{ "**:80", "expected ':' after '*'" },
		{ "*:", "missing ports" },
		{ "10.0.0.0/8", "missing ':PORTS'" },
		{ "10.0.0.1", "missing ':PORTS'" },
		{ "10.0.0.0/8:", "missing ports" },
		{ ":80", "missing address" },
		{ "/8:80", "missing address" },
		{ "10.0.0.256:80", "bad IPv4 address '10.0.0.256'" },
		{ "010.0.0.1:80", "bad IPv4 address" },
		{ "10.0.0:80", "bad IPv4 address" },
		{ "host.example:80", "bad IPv4 address 'host.example'" },
		{ " *:*", "bad IPv4 address ' *'" },
		{ "10.0.0.1/33:80", "/33 is longer than 32 bits" },
		{ "10.0.0.0/99999999999999999999:80", "longer than 32 bits" },
		{ "[2001:db8::]/129:80", "/129 is longer than 128 bits" },
		{ "10.0.0.1/24:80", "host bits set beyond /24: did you mean 10.0.0.0/24?" },
		{ "203.0.113.1/24:80", "did you mean 203.0.113.0/24?" },
		{ "10.0.0.0/7:80", NULL },      /* valid: 10.0.0.0/7 has no host bits */
		{ "11.0.0.0/7:80", "did you mean 10.0.0.0/7?" },
		{ "[2001:db8::1]/32:80", "did you mean 2001:db8::/32?" },
		{ "[::ffff:10.0.0.1]/104:80", "did you mean 10.0.0.0/8?" },
		{ "[::ffff:10.0.0.0]/64:80", "IPv4-mapped prefix must be /96 or longer" },
		{ "10.0.0.0/:80", "missing prefix length" },
		{ "10.0.0.0/08:80", "leading zero" },
		{ "10.0.0.0/8x:80", "bad prefix length '8x'" },
		{ "10.0.0.0/-8:80", "bad prefix length" },
		{ "10.0.0.0/+8:80", "bad prefix length" },
		{ "10.0.0.0/8/8:80", "bad prefix length" },
		{ "2001:db8::/32:443", "in brackets" },
		{ "::1:80", "in brackets" },
		{ "::ffff:10.0.0.1:80", "in brackets" },
		{ "[2001:db8::/32]:443", "goes after the ']'" },
		{ "[2001:db8::1:443", "missing ']'" },
		{ "[2001:db8::1]443", "expected ':PORTS'" },
		{ "[2001:db8::1]", "expected ':PORTS'" },
		{ "[2001:db8::1]/128", "expected ':PORTS'" },
		{ "[2001:db8::1]x:80", "expected ':PORTS'" },
		{ "[192.0.2.1]:80", "brackets are for IPv6" },
		{ "[]:80", "missing address" },
		{ "[2001:db8::1]/:80", "missing prefix length" },
		{ "[gggg::]:80", "bad IPv6 address 'gggg::'" },
		{ "[fe80::1%eth0]:80", "bad IPv6 address" },
		{ "[[::1]]:80", "bad IPv6 address" },
		{ "[0000:0000:0000:0000:0000:0000:0000:0000:0000:0001]:80",
		  "bad IPv6 address '0000:" },
		{ "1111111111111111111111111111111111111111111111:80", "bad IPv4 address '1111" },
		{ "*:0", "port 0 is out of range" },
		{ "*:00", "port 0 is out of range" },
		{ "*:65536", "port '65536' is out of range 1-65535" },
		{ "*:99999999999999999999", "out of range" },
		{ "*:-1", "missing port number in '-1'" },
		{ "*:80-", "missing port number in '80-'" },
		{ "*:-", "missing port number" },
		{ "*:90-80", "reversed port range '90-80'" },
		{ "*:65535-1", "reversed port range" },
		{ "*:80-90-100", "bad port '80-90-100'" },
		{ "*:80,,443", "empty item" },
		{ "*:,80", "empty item" },
		{ "*:80,", "empty item" },
		{ "*:,", "empty item" },
		{ "*:080", "port '080' has a leading zero" },
		{ "*:+80", "not a decimal number" },
		{ "*:80 ", "not a decimal number" },
		{ "*: 80", "not a decimal number" },
		{ "*:0x50", "not a decimal number" },
		{ "*:**", "not a decimal number" },
		{ "*:*-80", "not a decimal number" },
		{ "*:1-0", "port 0 is out of range" },
		{ "*:1-65536", "out of range" },
		{ "*:80;443", "not a decimal number" },
		{ "*:80\n", "bad port '80?'" },
		{ "*:\x01\x7f", "bad port '?\?'" },
		{ "10.0.0.1:80:90", "bad port '80:90'" },
		{ "*:*:*", "bad port" },
	};
	struct policy *p = policy_new();
	char err[128];
	int r;

	(void)state;
	assert_non_null(p);
	for (size_t i = 0; i < NELEM(bad); i++) {
		r = policy_add_rule(p, true, bad[i].spec, err, sizeof(err));
		if (bad[i].msg == NULL) {
			assert_int_equal(r, 0);
			continue;
		}
		if (r != -EINVAL) {
			fail_msg("accepted '%s'", bad[i].spec);
		}
		if (strstr(err, bad[i].msg) == NULL) {
			fail_msg("'%s': message '%s' lacks '%s'", bad[i].spec, err, bad[i].msg);
		}
	}
	/* Refused rules are not kept. */
	assert_int_equal(policy_rule_count(p), 1);
	policy_free(p);
}

/* Messages are cut to errlen and always terminated; long input is quoted short. */
static void
test_rules_errbuf(void **state)
{
	struct policy *p = policy_new();
	char err[16], big[2048];

	(void)state;
	assert_non_null(p);
	memset(err, 'x', sizeof(err));
	assert_int_equal(policy_add_rule(p, true, "*:0", err, 8), -EINVAL);
	assert_int_equal(strlen(err), 7);
	assert_int_equal(err[8], 'x');
	memset(err, 'x', sizeof(err));
	assert_int_equal(policy_add_rule(p, true, "*:0", err, 1), -EINVAL);
	assert_string_equal(err, "");
	assert_int_equal(err[1], 'x');
	/* No buffer at all is allowed too. */
	assert_int_equal(policy_add_rule(p, true, "*:0", NULL, 0), -EINVAL);
	assert_int_equal(policy_add_rule(p, true, "*:80", NULL, 0), 0);

	/* A long bad item is quoted with "..." and not in full. */
	{
		char msg[256];

		memset(big, '9', 300);
		memcpy(big, "*:", 2);
		big[300] = '\0';
		assert_int_equal(policy_add_rule(p, true, big, msg, sizeof(msg)), -EINVAL);
		assert_non_null(strstr(msg, "...' is out of range"));
		assert_true(strlen(msg) < 80);
	}
	/* Past the longest rule we read, refused outright. */
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "*:", 2);
	{
		char msg[128];

		assert_int_equal(policy_add_rule(p, true, big, msg, sizeof(msg)), -EINVAL);
		assert_non_null(strstr(msg, "longer than"));
	}
	assert_int_equal(policy_rule_count(p), 1);
	policy_free(p);
}

static void
test_port_items_limit(void **state)
{
	struct policy *p = policy_new();
	char spec[1024], err[128];
	size_t off = 0;

	(void)state;
	assert_non_null(p);
	off += (size_t)snprintf(spec, sizeof(spec), "*:");
	for (unsigned int i = 0; i < POLICY_MAX_PORT_ITEMS; i++) {
		off += (size_t)snprintf(spec + off, sizeof(spec) - off, "%s%u-%u", i ? "," : "",
					1000 + 10 * i, 1005 + 10 * i);
	}
	assert_int_equal(policy_add_rule(p, true, spec, err, sizeof(err)), 0);
	snprintf(spec + off, sizeof(spec) - off, ",9");
	assert_int_equal(policy_add_rule(p, true, spec, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "more than 64 items"));
	assert_int_equal(policy_rule_count(p), 1);
	{
		struct addr a = A("8.8.8.8");

		assert_int_equal(policy_match(p, &a, 1005 + 10 * 63, NULL), ACC);
		assert_int_equal(policy_match(p, &a, 1006 + 10 * 63, NULL), REJ);
		assert_int_equal(policy_match(p, &a, 1009, NULL), REJ);
	}
	policy_free(p);
}

static void
test_rules_limit(void **state)
{
	struct policy *p = policy_new();
	char spec[64], err[128];
	struct addr a;

	(void)state;
	assert_non_null(p);
	for (unsigned int i = 0; i < POLICY_MAX_RULES; i++) {
		snprintf(spec, sizeof(spec), "8.8.%u.%u:53", i / 256, i % 256);
		assert_int_equal(policy_add_rule(p, false, spec, err, sizeof(err)), 0);
	}
	assert_int_equal(policy_rule_count(p), POLICY_MAX_RULES);
	assert_int_equal(policy_add_rule(p, true, "*:*", err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "too many rules"));
	assert_int_equal(policy_rule_count(p), POLICY_MAX_RULES);
	/* The last rule still works; the refused one was not added. */
	a = A("8.8.3.255");
	assert_int_equal(policy_match(p, &a, 53, NULL), REJ);
	a = A("8.8.4.0");
	assert_int_equal(policy_match(p, &a, 53, NULL), REJ);
	assert_false(policy_accepts_any(p));
	policy_free(p);
	policy_free(NULL);
}

static void
test_first_match(void **state)
{
	struct policy *p;

	(void)state;
	p = MK("reject *:25", "accept *:*");
	check(p, (const struct want[]){
		{ "8.8.8.8", 25, REJ, POLICY_BY_RULE },
		{ "8.8.8.8", 80, ACC, POLICY_BY_RULE },
		{ "2606:4700::1", 25, REJ, POLICY_BY_RULE },
		{ "2606:4700::1", 26, ACC, POLICY_BY_RULE },
	}, 4);
	policy_free(p);

	/* The same rules the other way round: the accept wins. */
	p = MK("accept *:*", "reject *:25");
	check(p, (const struct want[]){
		{ "8.8.8.8", 25, ACC, POLICY_BY_RULE },
	}, 1);
	policy_free(p);

	/* A narrow rule before a wide one. */
	p = MK("reject 8.8.8.0/24:443", "accept 8.8.0.0/16:*", "reject *:*");
	check(p, (const struct want[]){
		{ "8.8.8.8", 443, REJ, POLICY_BY_RULE },
		{ "8.8.8.8", 80, ACC, POLICY_BY_RULE },
		{ "8.8.9.9", 443, ACC, POLICY_BY_RULE },
		{ "8.9.0.1", 443, REJ, POLICY_BY_RULE },
	}, 4);
	policy_free(p);
}

static void
test_implied_reject(void **state)
{
	struct policy *p = policy_new();
	struct addr a = A("8.8.8.8");
	enum policy_reason why;

	(void)state;
	assert_non_null(p);
	/* No rules: nothing goes. */
	assert_int_equal(policy_match(p, &a, 80, &why), REJ);
	assert_int_equal(why, POLICY_BY_DEFAULT);
	policy_free(p);

	p = MK("accept *:1-1024", "accept 9.9.9.9:*");
	check(p, (const struct want[]){
		{ "8.8.8.8", 1, ACC, POLICY_BY_RULE },
		{ "8.8.8.8", 1024, ACC, POLICY_BY_RULE },
		{ "8.8.8.8", 1025, REJ, POLICY_BY_DEFAULT },
		{ "8.8.8.8", 65535, REJ, POLICY_BY_DEFAULT },
		/* Port 0 is in no rule, not even "*". */
		{ "8.8.8.8", 0, REJ, POLICY_BY_DEFAULT },
		{ "9.9.9.9", 0, REJ, POLICY_BY_DEFAULT },
		{ "9.9.9.9", 65535, ACC, POLICY_BY_RULE },
		{ "9.9.9.10", 2000, REJ, POLICY_BY_DEFAULT },
	}, 8);
	policy_free(p);
}

/* DESIGN section 4: special ranges open only to a rule that names them. */
static void
test_special_needs_named_rule(void **state)
{
	struct policy *p;

	(void)state;
	p = MK("accept 203.0.113.0/24:80,443");
	check(p, (const struct want[]){
		{ "203.0.113.5", 80, ACC, POLICY_BY_RULE },
		{ "203.0.113.5", 443, ACC, POLICY_BY_RULE },
		{ "203.0.113.255", 80, ACC, POLICY_BY_RULE },
		{ "203.0.113.5", 22, REJ, POLICY_BY_DEFAULT },
		{ "203.0.114.5", 80, REJ, POLICY_BY_DEFAULT },
		{ "192.0.2.1", 80, REJ, POLICY_BY_DEFAULT },
	}, 6);
	policy_free(p);

	p = MK("accept *:*");
	check(p, (const struct want[]){
		{ "10.0.0.1", 80, REJ, POLICY_BY_SPECIAL },
		{ "192.0.2.1", 80, REJ, POLICY_BY_SPECIAL },
		{ "203.0.113.5", 80, REJ, POLICY_BY_SPECIAL },
		{ "127.0.0.1", 22, REJ, POLICY_BY_SPECIAL },
		{ "169.254.169.254", 80, REJ, POLICY_BY_SPECIAL },
		{ "100.64.0.1", 80, REJ, POLICY_BY_SPECIAL },
		{ "172.16.0.1", 80, REJ, POLICY_BY_SPECIAL },
		{ "192.168.1.1", 80, REJ, POLICY_BY_SPECIAL },
		{ "198.18.0.1", 80, REJ, POLICY_BY_SPECIAL },
		{ "224.0.0.1", 80, REJ, POLICY_BY_SPECIAL },
		{ "255.255.255.255", 80, REJ, POLICY_BY_SPECIAL },
		{ "::1", 80, REJ, POLICY_BY_SPECIAL },
		{ "fe80::1", 80, REJ, POLICY_BY_SPECIAL },
		{ "fd00::1", 80, REJ, POLICY_BY_SPECIAL },
		{ "2001:db8::1", 80, REJ, POLICY_BY_SPECIAL },
		{ "64:ff9b::a00:1", 80, REJ, POLICY_BY_SPECIAL },
		{ "2002:a00:1::", 80, REJ, POLICY_BY_SPECIAL },
		{ "::10.0.0.1", 80, REJ, POLICY_BY_SPECIAL },
		{ "8.8.8.8", 80, ACC, POLICY_BY_RULE },
		{ "2606:4700::1111", 443, ACC, POLICY_BY_RULE },
	}, 20);
	policy_free(p);

	/* A named range first, "*" after: each address meets its first match. */
	p = MK("accept 203.0.113.0/24:80,443", "accept [2001:db8:ffff::]/48:80,443", "accept *:*");
	check(p, (const struct want[]){
		{ "203.0.113.5", 80, ACC, POLICY_BY_RULE },
		{ "203.0.113.5", 22, REJ, POLICY_BY_SPECIAL },
		{ "2001:db8:ffff::1", 443, ACC, POLICY_BY_RULE },
		{ "2001:db8:fffe::1", 443, REJ, POLICY_BY_SPECIAL },
		{ "10.0.0.1", 80, REJ, POLICY_BY_SPECIAL },
	}, 5);
	policy_free(p);

	/* "*" first shadows the named range after it: first match wins. */
	p = MK("accept *:80", "accept 10.0.0.0/8:80");
	check(p, (const struct want[]){
		{ "10.0.0.1", 80, REJ, POLICY_BY_SPECIAL },
	}, 1);
	policy_free(p);

	/* A /0 is "*" for one family and names nothing. */
	p = MK("accept 0.0.0.0/0:*", "accept [::]/0:*");
	check(p, (const struct want[]){
		{ "10.0.0.1", 80, REJ, POLICY_BY_SPECIAL },
		{ "127.0.0.1", 80, REJ, POLICY_BY_SPECIAL },
		{ "::1", 80, REJ, POLICY_BY_SPECIAL },
		{ "8.8.8.8", 80, ACC, POLICY_BY_RULE },
		{ "2606:4700::1", 80, ACC, POLICY_BY_RULE },
	}, 5);
	policy_free(p);
	/*
	 * Only a range wholly inside special-purpose space names it: a wide
	 * range that also holds public addresses opens none of its special ones.
	 */
	p = MK("accept 0.0.0.0/1:*", "accept 0.0.0.0/4:*", "accept 192.0.0.0/8:*",
	       "accept [fc00::]/6:*");
	check(p, (const struct want[]){
		{ "10.0.0.1", 80, REJ, POLICY_BY_SPECIAL },
		{ "127.0.0.1", 80, REJ, POLICY_BY_SPECIAL },
		{ "8.8.8.8", 80, ACC, POLICY_BY_RULE },
		{ "192.168.1.1", 80, REJ, POLICY_BY_SPECIAL },
		{ "fd00::1", 80, REJ, POLICY_BY_SPECIAL },
		{ "128.0.0.1", 80, REJ, POLICY_BY_DEFAULT },
	}, 6);
	policy_free(p);
	p = MK("accept 10.0.0.0/8:*", "accept 240.0.0.0/4:*", "accept [fc00::]/7:443",
	       "accept 192.0.2.6/32:9001");
	check(p, (const struct want[]){
		{ "10.1.2.3", 80, ACC, POLICY_BY_RULE },
		{ "240.0.0.1", 80, ACC, POLICY_BY_RULE },
		{ "fd00::1", 443, ACC, POLICY_BY_RULE },
		{ "192.0.2.6", 9001, ACC, POLICY_BY_RULE },
		{ "192.0.2.7", 9001, REJ, POLICY_BY_DEFAULT },
		{ "127.0.0.1", 80, REJ, POLICY_BY_DEFAULT },
	}, 6);
	policy_free(p);

	/* A reject rule is a reject, special or not. */
	p = MK("reject 10.0.0.0/8:*", "accept *:*");
	check(p, (const struct want[]){
		{ "10.0.0.1", 80, REJ, POLICY_BY_RULE },
		{ "10.0.0.1", 80, REJ, POLICY_BY_RULE },
	}, 2);
	policy_free(p);
}

static void
test_allow_private(void **state)
{
	struct policy *p = MK("accept *:*");
	struct addr self = A("198.51.100.7");

	(void)state;
	assert_int_equal(policy_add_self(p, &self), 0);
	policy_set_allow_private(p, true);
	check(p, (const struct want[]){
		{ "10.0.0.1", 80, ACC, POLICY_BY_RULE },
		{ "127.0.0.1", 80, ACC, POLICY_BY_RULE },
		{ "192.0.2.1", 80, ACC, POLICY_BY_RULE },
		{ "::1", 80, ACC, POLICY_BY_RULE },
		{ "fd00::1", 80, ACC, POLICY_BY_RULE },
		/* It lifts neither the own-address refusal nor the unspecified one. */
		{ "198.51.100.7", 80, REJ, POLICY_BY_SELF },
		{ "0.0.0.0", 80, REJ, POLICY_BY_UNSPEC },
		{ "::", 80, REJ, POLICY_BY_UNSPEC },
		{ "::ffff:0.0.0.0", 80, REJ, POLICY_BY_UNSPEC },
	}, 9);
	policy_set_allow_private(p, false);
	check(p, (const struct want[]){
		{ "10.0.0.1", 80, REJ, POLICY_BY_SPECIAL },
	}, 1);
	policy_free(p);
}

/*
 * An address exitd found local (a bind to it succeeds: any of 127/8, an
 * address added after start) is refused as its own, even with
 * allow-private and accept *:*, unless a rule names exactly that host.
 */
static void
test_local_is_self(void **state)
{
	struct policy *p = MK("accept 127.0.0.9/32:*", "accept *:*");
	struct addr a = A("127.0.0.2"), named = A("127.0.0.9"), v6 = A("::1");
	enum policy_reason why;

	(void)state;
	policy_set_allow_private(p, true);
	assert_int_equal(policy_match(p, &a, 9003, &why), ACC);
	assert_int_equal(policy_match_local(p, &a, 9003, &why), REJ);
	assert_int_equal(why, POLICY_BY_SELF);
	assert_int_equal(policy_match_local(p, &v6, 9003, &why), REJ);
	assert_int_equal(why, POLICY_BY_SELF);
	assert_int_equal(policy_match_local(p, &named, 9003, &why), ACC);
	/* A refusal by rule stays a refusal by rule. */
	policy_free(p);
	p = MK("reject 127.0.0.0/8:*", "accept *:*");
	policy_set_allow_private(p, true);
	assert_int_equal(policy_match_local(p, &a, 80, &why), REJ);
	assert_int_equal(why, POLICY_BY_RULE);
	policy_free(p);
}

static void
test_unspec_always_refused(void **state)
{
	struct policy *p = MK("accept 0.0.0.0:*", "accept [::]:*", "accept 0.0.0.0/8:*");
	struct addr none;
	enum policy_reason why;

	(void)state;
	policy_set_allow_private(p, true);
	check(p, (const struct want[]){
		{ "0.0.0.0", 80, REJ, POLICY_BY_UNSPEC },
		{ "::", 80, REJ, POLICY_BY_UNSPEC },
		{ "::ffff:0.0.0.0", 80, REJ, POLICY_BY_UNSPEC },
		/* The rest of 0/8 is only special, and named here. */
		{ "0.0.0.1", 80, ACC, POLICY_BY_RULE },
	}, 4);
	/* No family at all is refused the same way. */
	memset(&none, 0, sizeof(none));
	assert_int_equal(policy_match(p, &none, 80, &why), REJ);
	assert_int_equal(why, POLICY_BY_UNSPEC);
	none.family = 99;
	assert_int_equal(policy_match(p, &none, 80, &why), REJ);
	assert_int_equal(why, POLICY_BY_UNSPEC);
	policy_free(p);
}

static void
test_self(void **state)
{
	struct policy *p;
	struct addr a, none;

	(void)state;
	/* As exitd's config does for "listen 192.0.2.2:9001". */
	p = MK("accept 192.0.2.0/24:*", "accept [2001:db8::]/32:*", "accept *:*");
	a = A("192.0.2.2");
	assert_int_equal(policy_add_self(p, &a), 0);
	a = A("2001:db8::2");
	assert_int_equal(policy_add_self(p, &a), 0);
	a = A("8.8.4.4");
	assert_int_equal(policy_add_self(p, &a), 0);
	check(p, (const struct want[]){
		/* A range that holds our address does not open it. */
		{ "192.0.2.2", 80, REJ, POLICY_BY_SELF },
		{ "192.0.2.3", 80, ACC, POLICY_BY_RULE },
		{ "::ffff:192.0.2.2", 80, REJ, POLICY_BY_SELF },
		{ "2001:db8::2", 80, REJ, POLICY_BY_SELF },
		{ "2001:db8::3", 80, ACC, POLICY_BY_RULE },
		/* A public own address is refused under "*" too. */
		{ "8.8.4.4", 53, REJ, POLICY_BY_SELF },
		{ "8.8.8.8", 53, ACC, POLICY_BY_RULE },
	}, 7);
	a = raw_mapped("8.8.4.4");
	assert_int_equal(policy_match(p, &a, 53, NULL), REJ);
	policy_free(p);

	/* Only a rule for exactly that host opens it. */
	p = MK("accept 192.0.2.2:80", "accept [2001:db8::2]/128:80", "accept 192.0.2.0/24:*");
	a = A("192.0.2.2");
	assert_int_equal(policy_add_self(p, &a), 0);
	a = A("2001:db8::2");
	assert_int_equal(policy_add_self(p, &a), 0);
	check(p, (const struct want[]){
		{ "192.0.2.2", 80, ACC, POLICY_BY_RULE },
		{ "192.0.2.2", 81, REJ, POLICY_BY_SELF },
		{ "2001:db8::2", 80, ACC, POLICY_BY_RULE },
		{ "2001:db8::2", 81, REJ, POLICY_BY_DEFAULT },
	}, 4);
	policy_free(p);

	/* Own addresses: remembered once each, bounded, and of some family. */
	p = policy_new();
	assert_non_null(p);
	for (unsigned int i = 0; i < POLICY_MAX_SELF; i++) {
		a = A("8.8.0.0");
		a.a[2] = (uint8_t)(i / 256);
		a.a[3] = (uint8_t)(i % 256);
		assert_int_equal(policy_add_self(p, &a), 0);
		/* Again, or spelled mapped: no new slot. */
		assert_int_equal(policy_add_self(p, &a), 0);
	}
	a = raw_mapped("8.8.0.0");
	assert_int_equal(policy_add_self(p, &a), 0);
	a = A("9.9.9.9");
	assert_int_equal(policy_add_self(p, &a), -ENOSPC);
	memset(&none, 0, sizeof(none));
	assert_int_equal(policy_add_self(p, &none), -EINVAL);
	policy_free(p);
}

/* The same host in IPv6-mapped spelling meets exactly the IPv4 rules. */
static void
test_mapped_no_bypass(void **state)
{
	static const uint8_t mapped[16] = {
		[10] = 0xff, [11] = 0xff, 8, 8, 8, 8,
	};
	struct policy *p;
	struct addr a;
	enum policy_reason why;

	(void)state;
	p = MK("reject 8.8.8.0/24:*", "accept *:*");
	check(p, (const struct want[]){
		{ "8.8.8.8", 53, REJ, POLICY_BY_RULE },
		{ "::ffff:8.8.8.8", 53, REJ, POLICY_BY_RULE },
		{ "::ffff:808:808", 53, REJ, POLICY_BY_RULE },
		{ "8.8.4.4", 53, ACC, POLICY_BY_RULE },
	}, 4);
	addr_set_raw(&a, mapped, 16);
	assert_int_equal(policy_match(p, &a, 53, &why), REJ);
	assert_int_equal(why, POLICY_BY_RULE);
	a = raw_mapped("8.8.8.8");
	assert_int_equal(policy_match(p, &a, 53, &why), REJ);
	assert_int_equal(why, POLICY_BY_RULE);
	a = raw_mapped("10.0.0.1");
	assert_int_equal(policy_match(p, &a, 53, &why), REJ);
	assert_int_equal(why, POLICY_BY_SPECIAL);
	a = raw_mapped("127.0.0.1");
	assert_int_equal(policy_match(p, &a, 53, &why), REJ);
	assert_int_equal(why, POLICY_BY_SPECIAL);
	a = raw_mapped("0.0.0.0");
	assert_int_equal(policy_match(p, &a, 53, &why), REJ);
	assert_int_equal(why, POLICY_BY_UNSPEC);
	policy_free(p);

	/* A rule written mapped is the IPv4 rule. */
	p = MK("reject [::ffff:8.8.8.0]/120:*", "accept *:*");
	check(p, (const struct want[]){
		{ "8.8.8.8", 53, REJ, POLICY_BY_RULE },
		{ "8.8.9.8", 53, ACC, POLICY_BY_RULE },
	}, 2);
	a = raw_mapped("8.8.8.8");
	assert_int_equal(policy_match(p, &a, 53, NULL), REJ);
	policy_free(p);

	/* An explicit accept written mapped opens the IPv4 range, mapped or not. */
	p = MK("accept [::ffff:10.0.0.0]/104:80");
	check(p, (const struct want[]){
		{ "10.1.2.3", 80, ACC, POLICY_BY_RULE },
	}, 1);
	a = raw_mapped("10.1.2.3");
	assert_int_equal(policy_match(p, &a, 80, NULL), ACC);
	policy_free(p);

	/* IPv6 rules hold IPv6 only, IPv4 rules IPv4 only. */
	p = MK("reject [::]/0:*", "accept *:*");
	check(p, (const struct want[]){
		{ "8.8.8.8", 53, ACC, POLICY_BY_RULE },
		{ "::ffff:8.8.8.8", 53, ACC, POLICY_BY_RULE },
		{ "2606:4700::1", 53, REJ, POLICY_BY_RULE },
	}, 3);
	policy_free(p);
	p = MK("reject 0.0.0.0/0:*", "accept *:*");
	check(p, (const struct want[]){
		{ "8.8.8.8", 53, REJ, POLICY_BY_RULE },
		{ "::ffff:8.8.8.8", 53, REJ, POLICY_BY_RULE },
		{ "2606:4700::1", 53, ACC, POLICY_BY_RULE },
	}, 3);
	policy_free(p);
}

static void
test_accepts_any(void **state)
{
	struct policy *p;
	struct addr a;

	(void)state;
	p = policy_new();
	assert_non_null(p);
	assert_false(policy_accepts_any(p));
	policy_free(p);

	p = MK("accept *:80");
	assert_true(policy_accepts_any(p));
	policy_free(p);
	p = MK("reject *:*", "accept *:80");
	assert_false(policy_accepts_any(p));
	policy_free(p);
	p = MK("reject *:80", "accept *:80,443");
	assert_true(policy_accepts_any(p));
	policy_free(p);
	p = MK("reject *:1-442", "reject *:444-65535", "accept *:*");
	assert_true(policy_accepts_any(p));
	policy_free(p);
	p = MK("reject *:1-442", "reject *:443", "reject *:444-65535", "accept *:*");
	assert_false(policy_accepts_any(p));
	policy_free(p);

	/* Special ranges only, named or not: not an exit to the internet. */
	p = MK("accept 10.0.0.0/8:*", "accept 192.0.2.0/24:*", "accept [fc00::]/7:*");
	assert_false(policy_accepts_any(p));
	policy_free(p);
	p = MK("accept 224.0.0.0/3:*", "accept [fe80::]/9:*");
	assert_false(policy_accepts_any(p));
	policy_free(p);
	/* ...but a range reaching past them is. */
	p = MK("accept 10.0.0.0/7:*");
	assert_true(policy_accepts_any(p));
	policy_free(p);
	p = MK("accept [fc00::]/6:*");
	assert_true(policy_accepts_any(p));
	policy_free(p);
	p = MK("accept 0.0.0.0/1:*");
	assert_true(policy_accepts_any(p));
	policy_free(p);
	p = MK("accept [100::]/62:*");
	assert_true(policy_accepts_any(p));
	policy_free(p);
	p = MK("accept 8.8.8.8:53");
	assert_true(policy_accepts_any(p));
	policy_free(p);

	/* Every IPv4 refused: IPv6 remains. */
	p = MK("reject 0.0.0.0/1:*", "reject 128.0.0.0/1:*", "accept *:*");
	assert_true(policy_accepts_any(p));
	policy_free(p);
	p = MK("reject 0.0.0.0/1:*", "reject 128.0.0.0/1:*", "reject [::]/0:*", "accept *:*");
	assert_false(policy_accepts_any(p));
	policy_free(p);

	/* Our own address is not the internet; its neighbour is. */
	p = MK("accept 8.8.8.8:*");
	a = A("8.8.8.8");
	assert_int_equal(policy_add_self(p, &a), 0);
	assert_false(policy_accepts_any(p));
	policy_free(p);
	p = MK("accept 8.8.8.8/31:*");
	a = A("8.8.8.8");
	assert_int_equal(policy_add_self(p, &a), 0);
	assert_true(policy_accepts_any(p));
	policy_free(p);
	p = MK("accept 8.8.8.8/31:*");
	a = A("8.8.8.9");
	assert_int_equal(policy_add_self(p, &a), 0);
	assert_true(policy_accepts_any(p));
	policy_free(p);

	/* Ports left over between overlapping rejects. */
	p = MK("reject *:1-1000,2000-65535", "reject *:900-1500", "accept *:1400-1600");
	assert_true(policy_accepts_any(p));
	policy_free(p);
	p = MK("reject *:1-1000,2000-65535", "reject *:900-1999", "accept *:1400-1600");
	assert_false(policy_accepts_any(p));
	policy_free(p);
	/* A reject for one address does not cover another. */
	p = MK("reject 8.8.8.8:*", "accept 8.8.8.0/24:53");
	assert_true(policy_accepts_any(p));
	policy_free(p);
	p = MK("reject 8.8.8.0/24:*", "accept 8.8.8.8:53");
	assert_false(policy_accepts_any(p));
	policy_free(p);
}

/*
 * Near the worst the limits allow: every rule, the most port items, many
 * pieces of address space, each public one walking hundreds of rules. It
 * must still answer promptly (the test runner's timeout is the check).
 */
static void
test_accepts_any_heavy(void **state)
{
	struct policy *p = policy_new();
	char spec[1024], err[128];
	size_t off;
	unsigned int i;

	(void)state;
	assert_non_null(p);
	for (i = 0; i < POLICY_MAX_RULES / 2 - 1; i++) {
		off = (size_t)snprintf(spec, sizeof(spec), "*:");
		for (unsigned int j = 0; j < POLICY_MAX_PORT_ITEMS; j++) {
			off += (size_t)snprintf(spec + off, sizeof(spec) - off, "%s%u-65535",
						j ? "," : "", j + 2);
		}
		assert_int_equal(policy_add_rule(p, false, spec, err, sizeof(err)), 0);
	}
	for (i = 0; i < POLICY_MAX_RULES / 2; i++) {
		snprintf(spec, sizeof(spec), "[2606:4700:%x::]/48:1", i);
		assert_int_equal(policy_add_rule(p, false, spec, err, sizeof(err)), 0);
	}
	/* The /48s above tile this /39 exactly: nothing is left for it. */
	assert_int_equal(policy_add_rule(p, true, "[2606:4700::]/39:1", err, sizeof(err)), 0);
	assert_int_equal(policy_rule_count(p), POLICY_MAX_RULES);
	assert_false(policy_accepts_any(p));
	policy_free(p);
}

/* Names refused or taken apart before anyone resolves them (issue 7 §3). */
static void
test_name_kind(void **state)
{
	static const struct {
		const char *name;
		enum name_kind kind;
		const char *lit;
	} cases[] = {
		{ "localhost", NAME_LOCALHOST, NULL },
		{ "LocalHost.", NAME_LOCALHOST, NULL },
		{ "a.b.localhost", NAME_LOCALHOST, NULL },
		{ "x.LOCALHOST.", NAME_LOCALHOST, NULL },
		{ "notlocalhost", NAME_RESOLVE, NULL },
		{ "localhost.example.test", NAME_RESOLVE, NULL },
		{ "invalid", NAME_INVALID, NULL },
		{ "www.example.INVALID", NAME_INVALID, NULL },
		{ "x.invalid.", NAME_INVALID, NULL },
		{ "xinvalid", NAME_RESOLVE, NULL },
		{ "127.1", NAME_LITERAL, "127.0.0.1" },
		{ "127.1.", NAME_LITERAL, "127.0.0.1" },
		{ "0x7f.1", NAME_LITERAL, "127.0.0.1" },
		{ "0X7F.0.0.1", NAME_LITERAL, "127.0.0.1" },
		{ "2130706433", NAME_LITERAL, "127.0.0.1" },
		{ "2130706433.", NAME_LITERAL, "127.0.0.1" },
		{ "0177.0.0.1", NAME_LITERAL, "127.0.0.1" },
		{ "203.0.113.80", NAME_LITERAL, "203.0.113.80" },
		{ "[203.0.113.80]", NAME_LITERAL, "203.0.113.80" },
		{ "::1", NAME_LITERAL, "::1" },
		{ "[::1]", NAME_LITERAL, "::1" },
		{ "::ffff:127.0.0.1", NAME_LITERAL, "127.0.0.1" },  /* mapped: seen as IPv4 */
		{ "2001:db8::1.", NAME_LITERAL, "2001:db8::1" },
		{ "www.example.test", NAME_RESOLVE, NULL },
		{ "1.2.3.4.example.test", NAME_RESOLVE, NULL },
		{ "0x7f.example", NAME_RESOLVE, NULL },
		{ "[]", NAME_RESOLVE, NULL },
		{ ".", NAME_RESOLVE, NULL },
		{ "", NAME_RESOLVE, NULL },
	};
	char buf[ADDR_STRLEN], longname[300];
	struct addr lit;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum name_kind k = policy_name_kind(cases[i].name, &lit);

		if (k != cases[i].kind) {
			fail_msg("%s: kind %d, wanted %d", cases[i].name, (int)k, (int)cases[i].kind);
		}
		if (cases[i].lit != NULL) {
			assert_string_equal(addr_fmt(&lit, buf, sizeof(buf)), cases[i].lit);
		}
	}
	/* Longer than any name: left to the resolver, which refuses it. */
	memset(longname, '1', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(policy_name_kind(longname, &lit), NAME_RESOLVE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules_valid),
		cmocka_unit_test(test_rules_invalid),
		cmocka_unit_test(test_rules_errbuf),
		cmocka_unit_test(test_port_items_limit),
		cmocka_unit_test(test_rules_limit),
		cmocka_unit_test(test_first_match),
		cmocka_unit_test(test_implied_reject),
		cmocka_unit_test(test_special_needs_named_rule),
		cmocka_unit_test(test_allow_private),
		cmocka_unit_test(test_local_is_self),
		cmocka_unit_test(test_unspec_always_refused),
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_mapped_no_bypass),
		cmocka_unit_test(test_accepts_any),
		cmocka_unit_test(test_accepts_any_heavy),
		cmocka_unit_test(test_name_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

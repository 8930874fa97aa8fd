/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for addresses (src/addr.c): the text forms accepted and
 * refused, IPv4-mapped normalization through every door, RFC 5952
 * formatting and round trips, sockaddr conversion, prefix containment at
 * its edges, and both edges of every special-purpose range.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>

#include "addr.h"

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

static struct cidr
C(const char *s)
{
	struct cidr c;

	if (cidr_parse(s, &c) != 0) {
		fail_msg("cannot parse prefix '%s'", s);
	}
	return c;
}

/* A struct addr filled by hand, as a careless caller might. */
static struct addr
raw6(const char *s)
{
	struct addr a;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, s, a.a), 1);
	return a;
}

static const char *
fmt(const struct addr *a)
{
	static char buf[ADDR_STRLEN];

	return addr_fmt(a, buf, sizeof(buf));
}

struct v4_case {
	const char *text;
	uint8_t b[4];
};

static void
test_parse_v4_valid(void **state)
{
	static const struct v4_case cases[] = {
		{ "0.0.0.0", { 0, 0, 0, 0 } },
		{ "192.0.2.1", { 192, 0, 2, 1 } },
		{ "255.255.255.255", { 255, 255, 255, 255 } },
		{ "10.0.0.10", { 10, 0, 0, 10 } },
		{ "1.20.100.200", { 1, 20, 100, 200 } },
	};
	struct addr a;

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		memset(&a, 0xaa, sizeof(a));
		assert_int_equal(addr_parse(cases[i].text, &a), 0);
		assert_int_equal(a.family, AF_INET);
		assert_memory_equal(a.a, cases[i].b, 4);
		/* Nothing stray past the four bytes. */
		for (size_t j = 4; j < 16; j++) {
			assert_int_equal(a.a[j], 0);
		}
	}
}

static void
test_parse_v4_invalid(void **state)
{
	static const char *const bad[] = {
		"", "1", "1.2", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.256",
		"1.2.3.1000", "01.2.3.4", "1.2.3.04", "1.02.3.4", "00.0.0.0",
		"1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4.", "1.2.3.4 ", " 1.2.3.4",
		"1.2.3.4\n", "1.2.3.4\t", "+1.2.3.4", "-1.2.3.4", "1.2.3.-4",
		"0x1.2.3.4", "0x01020304", "16909060", "1.2.3.4/24", "1.2.3.4:80",
		"1234.1.1.1", "a.b.c.d", "1.2.3.4%eth0", "999999999999.1.1.1",
		"1,2,3,4", "1.2.3.4a", "localhost", "127.1",
	};
	struct addr a, before;

	(void)state;
	memset(&before, 0x5a, sizeof(before));
	for (size_t i = 0; i < NELEM(bad); i++) {
		a = before;
		if (addr_parse(bad[i], &a) != -EINVAL) {
			fail_msg("accepted '%s'", bad[i]);
		}
		/* Outputs are written only on success. */
		assert_memory_equal(&a, &before, sizeof(a));
	}
}

struct v6_case {
	const char *text;
	const char *canon;      /* addr_fmt's answer */
};

static void
test_parse_v6_valid(void **state)
{
	static const struct v6_case cases[] = {
		{ "::", "::" },
		{ "::1", "::1" },
		{ "1::", "1::" },
		{ "2001:db8::1", "2001:db8::1" },
		{ "2001:DB8::A", "2001:db8::a" },
		{ "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1" },
		{ "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8" },
		{ "1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0" },
		{ "::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8" },
		{ "1::8", "1::8" },
		{ "fe80::1", "fe80::1" },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
		/* Dotted quads in the last 32 bits, not mapped: stay IPv6. */
		{ "::1.2.3.4", "::102:304" },
		{ "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304" },
		{ "64:ff9b::192.0.2.1", "64:ff9b::c000:201" },
		{ "::fffe:1.2.3.4", "::fffe:102:304" },
		/* IPv4-translated (RFC 2765) is not mapped. */
		{ "::ffff:0:1.2.3.4", "::ffff:0:102:304" },
		/* RFC 5952 section 4.2: longest run, the first of equals. */
		{ "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1" },
		{ "2001:0:0:1:0:0:0:1", "2001:0:0:1::1" },
		{ "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1" },
		{ "0:0:1:0:0:0:0:1", "0:0:1::1" },
		{ "1:0:0:2:0:0:3:4", "1::2:0:0:3:4" },
	};
	struct addr a, b;

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		if (addr_parse(cases[i].text, &a) != 0) {
			fail_msg("refused '%s'", cases[i].text);
		}
		assert_int_equal(a.family, AF_INET6);
		/* Byte for byte what the C library makes of it. */
		assert_int_equal(inet_pton(AF_INET6, cases[i].text, b.a), 1);
		assert_memory_equal(a.a, b.a, 16);
		assert_string_equal(fmt(&a), cases[i].canon);
		/* The canonical text parses back to the same address. */
		assert_int_equal(addr_parse(cases[i].canon, &b), 0);
		assert_true(addr_eq(&a, &b));
	}
}

static void
test_parse_v6_invalid(void **state)
{
	static const char *const bad[] = {
		":", ":::", "::::", "1:::2", "1::2::3", "::1::", ":1::", ":1:2:3:4:5:6:7:8",
		"1::2:", "1:2:3:4:5:6:7:8:", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::",
		"::1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7", "12345::", "1:23456::", "g::",
		"::g", "::1%eth0", "fe80::1%1", "[::1]", "1:2:3:4:5:6:7:1.2.3.4",
		"1:2:3:4:5:6::1.2.3.4", "::1.2.3", "::1.2.3.4.5", "::01.2.3.4", "::256.1.1.1",
		"::1.2.3.4:5", "1.2.3.4::", "::1.2.3.4::", "::ffff:1.2.3.4/96", " ::1", "::1 ",
		"2001:db8::1/64", "2001:db8:::1", "::-1", "::+1", "0x1::",
		"0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0001",
		"00000::", "::00000", "1.2.3.4:1:2:3:4:5:6",
	};
	struct addr a, before;
	uint8_t b[16];

	(void)state;
	memset(&before, 0x5a, sizeof(before));
	for (size_t i = 0; i < NELEM(bad); i++) {
		a = before;
		if (addr_parse(bad[i], &a) != -EINVAL) {
			fail_msg("accepted '%s'", bad[i]);
		}
		assert_memory_equal(&a, &before, sizeof(a));
		/* Where the C library has an opinion, it agrees. */
		assert_int_not_equal(inet_pton(AF_INET6, bad[i], b), 1);
	}
}

static void
test_mapped_normalized(void **state)
{
	static const uint8_t mapped[16] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1,
	};
	struct sockaddr_in6 sin6;
	struct sockaddr_storage ss;
	struct addr a, v4 = A("192.0.2.1");
	struct cidr c;
	uint16_t port;

	(void)state;
	/* Every parser. */
	a = A("::ffff:192.0.2.1");
	assert_int_equal(a.family, AF_INET);
	assert_true(addr_eq(&a, &v4));
	a = A("::FFFF:c000:0201");
	assert_int_equal(a.family, AF_INET);
	assert_true(addr_eq(&a, &v4));
	a = A("0:0:0:0:0:ffff:192.0.2.1");
	assert_int_equal(a.family, AF_INET);
	assert_string_equal(fmt(&a), "192.0.2.1");
	assert_int_equal(addr_port_parse("[::ffff:192.0.2.1]:443", &a, &port), 0);
	assert_int_equal(a.family, AF_INET);
	assert_true(addr_eq(&a, &v4));
	assert_int_equal(port, 443);

	/* Raw bytes and sockaddr. */
	addr_set_raw(&a, mapped, 16);
	assert_int_equal(a.family, AF_INET);
	assert_true(addr_eq(&a, &v4));
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(8080);
	memcpy(&sin6.sin6_addr, mapped, 16);
	assert_int_equal(addr_from_sockaddr((const struct sockaddr *)&sin6, &a, &port), 0);
	assert_int_equal(a.family, AF_INET);
	assert_true(addr_eq(&a, &v4));
	assert_int_equal(port, 8080);

	/* Prefixes: a mapped prefix is the IPv4 prefix it stands for. */
	c = C("::ffff:10.0.0.0/104");
	assert_int_equal(c.addr.family, AF_INET);
	assert_int_equal(c.prefix, 8);
	assert_true(addr_eq(&c.addr, &(struct addr){ .family = AF_INET, .a = { 10 } }));
	c = C("::ffff:10.1.2.3");
	assert_int_equal(c.addr.family, AF_INET);
	assert_int_equal(c.prefix, 32);
	c = C("::ffff:0.0.0.0/96");
	assert_int_equal(c.addr.family, AF_INET);
	assert_int_equal(c.prefix, 0);
	assert_int_equal(cidr_parse("::ffff:10.0.0.1/104", &c), -EINVAL);
	assert_int_equal(cidr_parse("::ffff:0:0/95", &c), -EINVAL);
	assert_int_equal(cidr_parse("::ffff:0:0/80", &c), -EINVAL);

	/* A hand-built mapped address is still the IPv4 host everywhere. */
	a = raw6("::ffff:192.0.2.1");
	assert_true(addr_eq(&a, &v4));
	assert_true(addr_eq(&v4, &a));
	c = C("192.0.2.0/24");
	assert_true(cidr_contains(&c, &a));
	assert_string_equal(fmt(&a), "192.0.2.1");
	assert_int_equal(addr_to_sockaddr(&a, 80, &ss), sizeof(struct sockaddr_in));
	assert_int_equal(ss.ss_family, AF_INET);

	/* Near misses are not mapped. */
	a = A("::fffe:192.0.2.1");
	assert_int_equal(a.family, AF_INET6);
	a = A("1::ffff:192.0.2.1");
	assert_int_equal(a.family, AF_INET6);
	a = A("::ffff:0:192.0.2.1");
	assert_int_equal(a.family, AF_INET6);
}

static void
test_addr_port_parse(void **state)
{
	static const struct {
		const char *text;
		const char *addr;
		uint16_t port;
	} good[] = {
		{ "192.0.2.1:9001", "192.0.2.1", 9001 },
		{ "0.0.0.0:1", "0.0.0.0", 1 },
		{ "255.255.255.255:65535", "255.255.255.255", 65535 },
		{ "[2001:db8::1]:9001", "2001:db8::1", 9001 },
		{ "[::]:80", "::", 80 },
		{ "[::1]:1", "::1", 1 },
		{ "[1:2:3:4:5:6:1.2.3.4]:8080", "1:2:3:4:5:6:102:304", 8080 },
	};
	static const char *const bad[] = {
		"", "192.0.2.1", "192.0.2.1:", "192.0.2.1:0", "192.0.2.1:00", "192.0.2.1:65536",
		"192.0.2.1:99999999999999999999", "192.0.2.1:080", "192.0.2.1:+80",
		"192.0.2.1:-1", "192.0.2.1:80 ", "192.0.2.1: 80", "192.0.2.1:80a",
		"192.0.2.1:0x50", "192.0.2.1:8:0", "192.0.2.1::80", "2001:db8::1:80",
		"::1:80", "[2001:db8::1]", "[2001:db8::1]:", "[2001:db8::1]80",
		"[2001:db8::1]:0", "[2001:db8::1]:65536", "[2001:db8::1:80", "2001:db8::1]:80",
		"[192.0.2.1]:80", "[]:80", "[:]:80", ":80", "[[::1]]:80", "[::1]]:80",
		"[::1]:80]", "[::1%eth0]:80", "host.example:80", "192.0.2.256:80",
		"192.0.2.1/32:80", "[2001:db8::]/32:80",
		"[0000:0000:0000:0000:0000:0000:0000:0000:0000:0001]:80",
		"192.0.2.1:0000000000000000000000000000000000000000000000000000000000000080",
	};
	struct addr a, before;
	uint16_t port, pbefore = 4242;

	(void)state;
	for (size_t i = 0; i < NELEM(good); i++) {
		struct addr want = A(good[i].addr);

		port = 0;
		if (addr_port_parse(good[i].text, &a, &port) != 0) {
			fail_msg("refused '%s'", good[i].text);
		}
		assert_true(addr_eq(&a, &want));
		assert_int_equal(port, good[i].port);
	}
	memset(&before, 0x5a, sizeof(before));
	for (size_t i = 0; i < NELEM(bad); i++) {
		a = before;
		port = pbefore;
		if (addr_port_parse(bad[i], &a, &port) != -EINVAL) {
			fail_msg("accepted '%s'", bad[i]);
		}
		assert_memory_equal(&a, &before, sizeof(a));
		assert_int_equal(port, pbefore);
	}
}

static void
test_cidr_parse(void **state)
{
	static const struct {
		const char *text;
		const char *addr;
		uint8_t prefix;
	} good[] = {
		{ "192.0.2.0/24", "192.0.2.0", 24 },
		{ "0.0.0.0/0", "0.0.0.0", 0 },
		{ "128.0.0.0/1", "128.0.0.0", 1 },
		{ "10.0.0.1", "10.0.0.1", 32 },
		{ "10.0.0.1/32", "10.0.0.1", 32 },
		{ "198.18.0.0/15", "198.18.0.0", 15 },
		{ "2001:db8::/32", "2001:db8::", 32 },
		{ "2001:db8::/128", "2001:db8::", 128 },
		{ "::/0", "::", 0 },
		{ "::1", "::1", 128 },
		{ "fe80::/10", "fe80::", 10 },
		{ "8000::/1", "8000::", 1 },
	};
	static const char *const bad[] = {
		"", "/", "/8", "192.0.2.1/24", "192.0.2.128/24", "11.0.0.0/7", "192.0.2.0/33",
		"192.0.2.0/99", "192.0.2.0/256", "192.0.2.0/99999999999999999999",
		"10.0.0.0/", "10.0.0.0/08", "10.0.0.0/00", "10.0.0.0/-8", "10.0.0.0/+8",
		"10.0.0.0/8 ", "10.0.0.0 /8", "10.0.0.0/ 8", "10.0.0.0/8/8", "10.0.0.0//8",
		"10.0.0.0/8x", "10.0.0.0/0x8", "10.0.0/8", "2001:db8::1/32", "2001:db8::/129",
		"2001:db8::/200", "[2001:db8::]/32", "2001:db8::/", "fe80::/8", "*",
		"10.0.0.0/8:80", "1.2.3.4/32%", "::1/128%",
	};
	struct cidr c, before;

	(void)state;
	for (size_t i = 0; i < NELEM(good); i++) {
		struct addr want = A(good[i].addr);

		if (cidr_parse(good[i].text, &c) != 0) {
			fail_msg("refused '%s'", good[i].text);
		}
		assert_true(addr_eq(&c.addr, &want));
		assert_int_equal(c.prefix, good[i].prefix);
		assert_true(cidr_contains(&c, &want));
	}
	memset(&before, 0x5a, sizeof(before));
	for (size_t i = 0; i < NELEM(bad); i++) {
		c = before;
		if (cidr_parse(bad[i], &c) != -EINVAL) {
			fail_msg("accepted '%s'", bad[i]);
		}
		assert_memory_equal(&c, &before, sizeof(c));
	}
}

static void
test_cidr_contains(void **state)
{
	static const struct {
		const char *net;
		const char *addr;
		bool in;
	} cases[] = {
		{ "192.0.2.0/24", "192.0.2.0", true },
		{ "192.0.2.0/24", "192.0.2.255", true },
		{ "192.0.2.0/24", "192.0.1.255", false },
		{ "192.0.2.0/24", "192.0.3.0", false },
		{ "192.0.2.0/24", "::ffff:192.0.2.7", true },
		{ "192.0.2.0/24", "2001:db8::", false },
		{ "198.18.0.0/15", "198.19.255.255", true },
		{ "198.18.0.0/15", "198.20.0.0", false },
		{ "198.18.0.0/15", "198.17.255.255", false },
		{ "10.0.0.4/30", "10.0.0.7", true },
		{ "10.0.0.4/30", "10.0.0.8", false },
		{ "10.0.0.4/30", "10.0.0.3", false },
		{ "10.0.0.1/32", "10.0.0.1", true },
		{ "10.0.0.1/32", "10.0.0.2", false },
		{ "0.0.0.0/0", "255.255.255.255", true },
		{ "0.0.0.0/0", "0.0.0.0", true },
		/* Families do not mix: IPv6 prefixes hold only IPv6. */
		{ "0.0.0.0/0", "::1", false },
		{ "0.0.0.0/0", "2001:db8::1", false },
		{ "::/0", "192.0.2.1", false },
		{ "::/0", "::ffff:192.0.2.1", false },
		{ "::/0", "2001:db8::1", true },
		{ "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
		{ "2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true },
		{ "2001:db8::/32", "2001:db9::", false },
		{ "2001:db8::/33", "2001:db8:7fff::", true },
		{ "2001:db8::/33", "2001:db8:8000::", false },
		{ "2001:db8::1/128", "2001:db8::1", true },
		{ "2001:db8::1/128", "2001:db8::2", false },
		{ "::ffff:10.0.0.0/104", "10.255.0.1", true },
		{ "::ffff:10.0.0.0/104", "11.0.0.1", false },
	};
	struct cidr c;
	struct addr a, none;

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		c = C(cases[i].net);
		a = A(cases[i].addr);
		if (cidr_contains(&c, &a) != cases[i].in) {
			fail_msg("%s in %s: expected %d", cases[i].addr, cases[i].net, cases[i].in);
		}
	}
	/* A hand-built mapped prefix holds the IPv4 hosts it stands for. */
	memset(&c, 0, sizeof(c));
	c.addr = raw6("::ffff:10.0.0.0");
	c.prefix = 104;
	assert_true(cidr_contains(&c, &(struct addr){ .family = AF_INET, .a = { 10, 9, 8, 7 } }));
	assert_false(cidr_contains(&c, &(struct addr){ .family = AF_INET, .a = { 11 } }));
	/* An address of no family is in no prefix, even /0. */
	memset(&none, 0, sizeof(none));
	c = C("0.0.0.0/0");
	assert_false(cidr_contains(&c, &none));
	c = C("::/0");
	assert_false(cidr_contains(&c, &none));
	/* A prefix longer than its family (hand-built) holds nothing. */
	c = C("10.0.0.0/8");
	c.prefix = 33;
	assert_false(cidr_contains(&c, &(struct addr){ .family = AF_INET, .a = { 10 } }));
}

static void
test_addr_eq(void **state)
{
	struct addr a, b;

	(void)state;
	a = A("192.0.2.1");
	b = A("192.0.2.1");
	assert_true(addr_eq(&a, &b));
	b = A("192.0.2.2");
	assert_false(addr_eq(&a, &b));
	/* Same bytes, other family. */
	b = A("c000:201::");
	assert_false(addr_eq(&a, &b));
	/* Bytes past an IPv4 address do not count. */
	b = a;
	memset(b.a + 4, 0xee, 12);
	assert_true(addr_eq(&a, &b));
	assert_string_equal(fmt(&b), "192.0.2.1");
	/* Two addresses of no family are alike; nothing else is like them. */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	b.a[0] = 1;
	assert_true(addr_eq(&a, &b));
	b = A("0.0.0.0");
	assert_false(addr_eq(&a, &b));
	b = A("::");
	assert_false(addr_eq(&a, &b));
}

static void
test_set_raw(void **state)
{
	static const uint8_t v4[4] = { 203, 0, 113, 9 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 9 };
	struct addr a;

	(void)state;
	addr_set_raw(&a, v4, 4);
	assert_int_equal(a.family, AF_INET);
	assert_string_equal(fmt(&a), "203.0.113.9");
	addr_set_raw(&a, v6, 16);
	assert_int_equal(a.family, AF_INET6);
	assert_string_equal(fmt(&a), "2001:db8::9");
	/* Any other length is no address. */
	addr_set_raw(&a, v6, 8);
	assert_int_equal(a.family, 0);
	assert_string_equal(fmt(&a), "(none)");
	addr_set_raw(&a, v6, 0);
	assert_int_equal(a.family, 0);
}

static void
test_fmt(void **state)
{
	char buf[ADDR_STRLEN];
	char small[5];
	struct addr a;

	(void)state;
	a = A("192.0.2.1");
	assert_string_equal(addr_port_fmt(&a, 9001, buf, sizeof(buf)), "192.0.2.1:9001");
	a = A("2001:db8::1");
	assert_string_equal(addr_port_fmt(&a, 443, buf, sizeof(buf)), "[2001:db8::1]:443");
	/* The longest text fits ADDR_STRLEN exactly. */
	a = A("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	addr_port_fmt(&a, 65535, buf, sizeof(buf));
	assert_string_equal(buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	assert_int_equal(strlen(buf) + 1, ADDR_STRLEN);
	a = A("255.255.255.255");
	assert_string_equal(addr_port_fmt(&a, 65535, buf, sizeof(buf)), "255.255.255.255:65535");
	/* Short buffers are cut, never overrun, and still terminated. */
	a = A("192.0.2.1");
	assert_ptr_equal(addr_fmt(&a, small, sizeof(small)), small);
	assert_string_equal(small, "192.");
	a = A("2001:db8::1");
	addr_fmt(&a, small, sizeof(small));
	assert_string_equal(small, "2001");
	addr_port_fmt(&a, 80, small, sizeof(small));
	assert_string_equal(small, "[200");
	small[0] = 'x';
	addr_fmt(&a, small, 1);
	assert_string_equal(small, "");
	small[0] = 'x';
	addr_fmt(&a, small, 0);
	assert_int_equal(small[0], 'x');
	addr_port_fmt(&a, 80, small, 0);
	assert_int_equal(small[0], 'x');
	memset(&a, 0, sizeof(a));
	assert_string_equal(addr_port_fmt(&a, 80, buf, sizeof(buf)), "(none):80");
}

/* Every address formats to text that parses back to it, ports included. */
static void
test_roundtrip(void **state)
{
	static const char *const texts[] = {
		"0.0.0.0", "1.2.3.4", "255.255.255.255", "::", "::1", "1::", "::1:0:0",
		"2001:db8::", "2001:db8:0:1:1:1:1:1", "1:0:0:1::1", "0:1:0:1:0:1:0:1",
		"fe80::1:2", "::102:304", "ffff::ffff", "1:2:3:4:5:6:7:8",
	};
	char buf[ADDR_STRLEN];
	struct addr a, b;
	uint16_t port;

	(void)state;
	for (size_t i = 0; i < NELEM(texts); i++) {
		a = A(texts[i]);
		assert_string_equal(fmt(&a), texts[i]);
		addr_port_fmt(&a, 65535, buf, sizeof(buf));
		assert_int_equal(addr_port_parse(buf, &b, &port), 0);
		assert_true(addr_eq(&a, &b));
		assert_int_equal(port, 65535);
	}
	/* Every 16-bit group position and zero-run layout (256 patterns). */
	for (unsigned int m = 0; m < 256; m++) {
		uint8_t raw[16];

		memset(raw, 0, sizeof(raw));
		for (size_t g = 0; g < 8; g++) {
			if (m & (1u << g)) {
				raw[2 * g] = (uint8_t)(g + 1);
				raw[2 * g + 1] = 0x0f;
			}
		}
		addr_set_raw(&a, raw, 16);
		addr_fmt(&a, buf, sizeof(buf));
		assert_int_equal(addr_parse(buf, &b), 0);
		assert_true(addr_eq(&a, &b));
		assert_int_equal(inet_pton(AF_INET6, buf, raw), a.family == AF_INET6 ? 1 : 0);
	}
}

static void
test_sockaddr(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_un sunx;
	struct addr a, b, before;
	uint16_t port;

	(void)state;
	a = A("192.0.2.1");
	assert_int_equal(addr_to_sockaddr(&a, 9001, &ss), sizeof(struct sockaddr_in));
	memcpy(&sin, &ss, sizeof(sin));
	assert_int_equal(sin.sin_family, AF_INET);
	assert_int_equal(sin.sin_port, htons(9001));
	assert_int_equal(sin.sin_addr.s_addr, inet_addr("192.0.2.1"));
	assert_int_equal(addr_from_sockaddr((const struct sockaddr *)&ss, &b, &port), 0);
	assert_true(addr_eq(&a, &b));
	assert_int_equal(port, 9001);

	a = A("2001:db8::7");
	assert_int_equal(addr_to_sockaddr(&a, 443, &ss), sizeof(struct sockaddr_in6));
	memcpy(&sin6, &ss, sizeof(sin6));
	assert_int_equal(sin6.sin6_family, AF_INET6);
	assert_int_equal(sin6.sin6_port, htons(443));
	assert_memory_equal(&sin6.sin6_addr, a.a, 16);
	assert_int_equal(sin6.sin6_flowinfo, 0);
	assert_int_equal(sin6.sin6_scope_id, 0);
	assert_int_equal(addr_from_sockaddr((const struct sockaddr *)&ss, &b, NULL), 0);
	assert_true(addr_eq(&a, &b));

	/* Other families are refused and leave the outputs alone. */
	memset(&sunx, 0, sizeof(sunx));
	sunx.sun_family = AF_UNIX;
	memset(&before, 0x5a, sizeof(before));
	b = before;
	port = 7;
	assert_int_equal(addr_from_sockaddr((const struct sockaddr *)&sunx, &b, &port),
			 -EAFNOSUPPORT);
	assert_memory_equal(&b, &before, sizeof(b));
	assert_int_equal(port, 7);
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNSPEC;
	assert_int_equal(addr_from_sockaddr((const struct sockaddr *)&ss, &b, &port),
			 -EAFNOSUPPORT);

	/* An address of no family makes no sockaddr. */
	memset(&a, 0, sizeof(a));
	memset(&ss, 0xee, sizeof(ss));
	assert_int_equal(addr_to_sockaddr(&a, 80, &ss), 0);
	assert_int_equal(ss.ss_family, AF_UNSPEC);
}

struct special_case {
	const char *addr;
	bool special;
};

static void
test_special(void **state)
{
	/* Both edges of every range, and the addresses just outside. */
	static const struct special_case cases[] = {
		{ "0.0.0.0", true }, { "0.255.255.255", true }, { "1.0.0.0", false },
		{ "9.255.255.255", false }, { "10.0.0.0", true }, { "10.255.255.255", true },
		{ "11.0.0.0", false },
		{ "100.63.255.255", false }, { "100.64.0.0", true }, { "100.127.255.255", true },
		{ "100.128.0.0", false },
		{ "126.255.255.255", false }, { "127.0.0.1", true }, { "127.255.255.255", true },
		{ "128.0.0.0", false },
		{ "169.253.255.255", false }, { "169.254.0.0", true }, { "169.254.255.255", true },
		{ "169.255.0.0", false },
		{ "172.15.255.255", false }, { "172.16.0.0", true }, { "172.31.255.255", true },
		{ "172.32.0.0", false },
		{ "191.255.255.255", false }, { "192.0.0.0", true }, { "192.0.0.9", true },
		{ "192.0.0.255", true }, { "192.0.1.0", false },
		{ "192.0.2.0", true }, { "192.0.2.255", true }, { "192.0.3.0", false },
		{ "192.88.98.255", false }, { "192.88.99.1", true }, { "192.88.100.0", false },
		{ "192.167.255.255", false }, { "192.168.0.0", true },
		{ "192.168.255.255", true }, { "192.169.0.0", false },
		{ "198.17.255.255", false }, { "198.18.0.0", true }, { "198.19.255.255", true },
		{ "198.20.0.0", false },
		{ "198.51.99.255", false }, { "198.51.100.0", true }, { "198.51.100.255", true },
		{ "198.51.101.0", false },
		{ "203.0.112.255", false }, { "203.0.113.0", true }, { "203.0.113.255", true },
		{ "203.0.114.0", false },
		{ "223.255.255.255", false }, { "224.0.0.0", true }, { "239.255.255.255", true },
		{ "240.0.0.0", true }, { "255.255.255.254", true }, { "255.255.255.255", true },
		{ "8.8.8.8", false }, { "1.1.1.1", false }, { "93.184.216.34", false },
		/* IPv6 */
		{ "::", true }, { "::1", true }, { "::2", true }, { "::1.2.3.4", true },
		{ "::ffff:ffff", true }, { "::1:0:0", false },
		{ "::ffff:0:0:0", true }, { "::ffff:0:ffff:ffff", true },
		{ "::fffe:ffff:ffff:ffff", false }, { "::1:0:0:0:0", false },
		{ "64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", false }, { "64:ff9b::", true },
		{ "64:ff9b::ffff:ffff", true }, { "64:ff9b::1:0:0", false },
		{ "64:ff9b:1::", true }, { "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", true },
		{ "64:ff9b:2::", false },
		{ "ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false }, { "100::", true },
		{ "100::ffff:ffff:ffff:ffff", true }, { "100:0:0:1::", true },
		{ "100:0:0:1:ffff:ffff:ffff:ffff", true }, { "100:0:0:2::", false },
		{ "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false }, { "2001::", true },
		{ "2001::1", true }, { "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", true },
		{ "2001:200::", false },
		{ "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false }, { "2001:db8::", true },
		{ "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true }, { "2001:db9::", false },
		{ "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false }, { "2002::", true },
		{ "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true }, { "2003::", false },
		{ "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false }, { "3fff::", true },
		{ "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", true }, { "3fff:1000::", false },
		{ "5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false }, { "5f00::", true },
		{ "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true }, { "5f01::", false },
		{ "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false }, { "fc00::", true },
		{ "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true }, { "fe00::", false },
		{ "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false }, { "fe80::", true },
		{ "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true }, { "fec0::1", true },
		{ "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true }, { "ff00::", true },
		{ "ff02::1", true }, { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
		{ "2606:4700::1111", false }, { "2001:4860:4860::8888", false },
		{ "2a00:1450:4001::1", false }, { "1::", false },
		/* Mapped IPv4 is the IPv4 host. */
		{ "::ffff:10.0.0.1", true }, { "::ffff:8.8.8.8", false },
	};
	struct addr a;

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		a = A(cases[i].addr);
		if (addr_is_special(&a) != cases[i].special) {
			fail_msg("addr_is_special(%s) should be %d", cases[i].addr,
				 cases[i].special);
		}
	}
	/* Hand-built mapped structs are judged as their IPv4 host. */
	a = raw6("::ffff:10.0.0.1");
	assert_true(addr_is_special(&a));
	a = raw6("::ffff:127.0.0.1");
	assert_true(addr_is_special(&a));
	a = raw6("::ffff:8.8.8.8");
	assert_false(addr_is_special(&a));
	/* No family: refused by default. */
	memset(&a, 0, sizeof(a));
	assert_true(addr_is_special(&a));
	a.family = AF_UNIX;
	assert_true(addr_is_special(&a));
}

/* Overlong input is refused without reading it all. */
static void
test_long_input(void **state)
{
	char big[4096];
	struct addr a;
	struct cidr c;
	uint16_t port;

	(void)state;
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(addr_parse(big, &a), -EINVAL);
	assert_int_equal(addr_port_parse(big, &a, &port), -EINVAL);
	assert_int_equal(cidr_parse(big, &c), -EINVAL);
	memset(big, ':', sizeof(big) - 1);
	assert_int_equal(addr_parse(big, &a), -EINVAL);
	big[0] = '[';
	assert_int_equal(addr_port_parse(big, &a, &port), -EINVAL);
	/* 63 characters: still refused as an address, on its merits. */
	memset(big, '0', 63);
	big[63] = '\0';
	assert_int_equal(addr_parse(big, &a), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_v4_valid),
		cmocka_unit_test(test_parse_v4_invalid),
		cmocka_unit_test(test_parse_v6_valid),
		cmocka_unit_test(test_parse_v6_invalid),
		cmocka_unit_test(test_mapped_normalized),
		cmocka_unit_test(test_addr_port_parse),
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_cidr_contains),
		cmocka_unit_test(test_addr_eq),
		cmocka_unit_test(test_set_raw),
		cmocka_unit_test(test_fmt),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_sockaddr),
		cmocka_unit_test(test_special),
		cmocka_unit_test(test_long_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

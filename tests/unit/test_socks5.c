// SPDX-License-Identifier: MIT
/*
 * Unit tests for the SOCKS5 codec (src/socks5.c): every builder through
 * its parser, every prefix of a valid message, pipelined bytes, each reason
 * for PARSE_BAD with its reply code, and the builders' limits.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "socks5.h"

enum kind {
	K_GREETING,
	K_REQUEST,
	K_METHOD,
	K_REPLY,
};

/* Where parse_any leaves what the last parser produced. */
static bool last_noauth;
static struct socks5_req last_req;
static uint8_t last_rep_code;
static uint8_t last_method;
static struct socks5_reply last_reply;

/*
 * Runs one parser on a heap copy of exactly len bytes, so that AddressSanitizer
 * catches any read past the end of what the parser was given.
 */
static enum parse_res
parse_any(enum kind k, const uint8_t *p, size_t len, size_t *used)
{
	enum parse_res res;
	uint8_t *copy;

	copy = malloc(len > 0 ? len : 1);
	assert_non_null(copy);
	if (len > 0) {
		memcpy(copy, p, len);
	}
	switch (k) {
	case K_GREETING:
		res = socks5_parse_greeting(copy, len, used, &last_noauth);
		break;
	case K_REQUEST:
		res = socks5_parse_request(copy, len, used, &last_req, &last_rep_code);
		break;
	case K_METHOD:
		res = socks5_parse_method(copy, len, used, &last_method);
		break;
	case K_REPLY:
		res = socks5_parse_reply(copy, len, used, &last_reply);
		break;
	default:
		fail_msg("bad kind %d", (int)k);
		res = PARSE_BAD;
		break;
	}
	free(copy);
	return res;
}

/*
 * Every strict prefix of a valid message is PARSE_AGAIN, the whole is
 * PARSE_OK with *used = n, and bytes after it are left to the caller.
 */
static void
assert_incremental(enum kind k, const uint8_t *msg, size_t n)
{
	static const uint8_t tail[] = { 0x16, 0x03, 0x01, 0x00, 0x05, 0x05, 0x00 };
	uint8_t buf[SOCKS5_MAX_MSG + sizeof(tail)];
	size_t used;

	assert_true(n <= SOCKS5_MAX_MSG);
	for (size_t i = 0; i < n; i++) {
		used = 12345;
		assert_int_equal(parse_any(k, msg, i, &used), PARSE_AGAIN);
		/* Nothing is promised on AGAIN, but nothing should be written. */
		assert_int_equal(used, 12345);
	}
	used = 0;
	assert_int_equal(parse_any(k, msg, n, &used), PARSE_OK);
	assert_int_equal(used, n);

	memcpy(buf, msg, n);
	memcpy(buf + n, tail, sizeof(tail));
	for (size_t extra = 1; extra <= sizeof(tail); extra++) {
		used = 0;
		assert_int_equal(parse_any(k, buf, n + extra, &used), PARSE_OK);
		assert_int_equal(used, n);
	}
}

static void
set_ip4(struct socks5_addr *a, uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3, uint16_t port)
{
	const uint8_t raw[4] = { b0, b1, b2, b3 };

	memset(a, 0, sizeof(*a));
	a->atyp = SOCKS5_ATYP_IPV4;
	addr_set_raw(&a->ip, raw, sizeof(raw));
	a->port = port;
}

static void
set_ip6(struct socks5_addr *a, const uint8_t raw[16], uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->atyp = SOCKS5_ATYP_IPV6;
	addr_set_raw(&a->ip, raw, 16);
	a->port = port;
}

static void
set_host(struct socks5_addr *a, const char *name, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->atyp = SOCKS5_ATYP_DOMAIN;
	a->host_len = (uint8_t)strlen(name);
	memcpy(a->host, name, a->host_len);
	a->port = port;
}

static void
assert_addr_same(const struct socks5_addr *a, const struct socks5_addr *b)
{
	assert_int_equal(a->atyp, b->atyp);
	assert_int_equal(a->port, b->port);
	switch (a->atyp) {
	case SOCKS5_ATYP_IPV4:
		assert_int_equal(a->ip.family, AF_INET);
		assert_int_equal(b->ip.family, AF_INET);
		assert_memory_equal(a->ip.a, b->ip.a, 4);
		break;
	case SOCKS5_ATYP_IPV6:
		assert_int_equal(a->ip.family, AF_INET6);
		assert_int_equal(b->ip.family, AF_INET6);
		assert_memory_equal(a->ip.a, b->ip.a, 16);
		break;
	case SOCKS5_ATYP_DOMAIN:
		assert_int_equal(a->host_len, b->host_len);
		assert_string_equal(a->host, b->host);
		break;
	default:
		fail_msg("atyp 0x%02x", a->atyp);
		break;
	}
}

static const uint8_t v6_doc[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 };

/* Greetings. */

static void
test_greeting_roundtrip(void **state)
{
	uint8_t buf[SOCKS5_MAX_GREETING];
	size_t len = 0, used = 0;

	(void)state;
	assert_int_equal(socks5_build_greeting(buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "\x05\x01\x00", 3);
	last_noauth = false;
	assert_int_equal(parse_any(K_GREETING, buf, len, &used), PARSE_OK);
	assert_int_equal(used, 3);
	assert_true(last_noauth);
	assert_incremental(K_GREETING, buf, len);
}

static void
test_greeting_without_noauth(void **state)
{
	/* Username/password and GSSAPI only: the server must answer 0xff. */
	static const uint8_t g[] = { 0x05, 0x02, 0x02, 0x01 };
	size_t used = 0;

	(void)state;
	last_noauth = true;
	assert_int_equal(parse_any(K_GREETING, g, sizeof(g), &used), PARSE_OK);
	assert_int_equal(used, sizeof(g));
	assert_false(last_noauth);
	assert_incremental(K_GREETING, g, sizeof(g));
}

static void
test_greeting_255_methods(void **state)
{
	uint8_t g[SOCKS5_MAX_GREETING];
	size_t used = 0;

	(void)state;
	g[0] = 0x05;
	g[1] = 255;
	for (size_t i = 0; i < 255; i++) {
		g[2 + i] = (uint8_t)(254 - i);  /* 0x00 comes last */
	}
	last_noauth = false;
	assert_int_equal(parse_any(K_GREETING, g, sizeof(g), &used), PARSE_OK);
	assert_int_equal(used, SOCKS5_MAX_GREETING);
	assert_true(last_noauth);
	assert_incremental(K_GREETING, g, sizeof(g));
}

static void
test_greeting_bad(void **state)
{
	static const uint8_t v4[] = { 0x04, 0x01, 0x00 };
	static const uint8_t http[] = { 'G', 'E', 'T', ' ' };
	static const uint8_t zero[] = { 0x05, 0x00, 0x00 };
	size_t used = 99;

	(void)state;
	/* Refused at the first wrong byte, without waiting for more. */
	assert_int_equal(parse_any(K_GREETING, v4, 1, &used), PARSE_BAD);
	assert_int_equal(parse_any(K_GREETING, v4, sizeof(v4), &used), PARSE_BAD);
	assert_int_equal(parse_any(K_GREETING, http, 1, &used), PARSE_BAD);
	assert_int_equal(parse_any(K_GREETING, zero, 2, &used), PARSE_BAD);
	assert_int_equal(parse_any(K_GREETING, zero, sizeof(zero), &used), PARSE_BAD);
	assert_int_equal(used, 99);
	assert_int_equal(parse_any(K_GREETING, zero, 1, &used), PARSE_AGAIN);
}

/* Method choice. */

static void
test_method_roundtrip(void **state)
{
	static const uint8_t methods[] = { SOCKS5_METHOD_NOAUTH, SOCKS5_METHOD_NONE, 0x02 };
	uint8_t buf[2];
	size_t len = 0, used = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(methods); i++) {
		assert_int_equal(socks5_build_method(buf, sizeof(buf), &len, methods[i]), 0);
		assert_int_equal(len, 2);
		assert_int_equal(buf[0], 0x05);
		assert_int_equal(parse_any(K_METHOD, buf, len, &used), PARSE_OK);
		assert_int_equal(used, 2);
		assert_int_equal(last_method, methods[i]);
		assert_incremental(K_METHOD, buf, len);
	}
}

static void
test_method_bad(void **state)
{
	static const uint8_t m[] = { 0x04, 0x00 };
	size_t used;

	(void)state;
	assert_int_equal(parse_any(K_METHOD, m, 1, &used), PARSE_BAD);
	assert_int_equal(parse_any(K_METHOD, m, 2, &used), PARSE_BAD);
}

/* Requests. */

static void
request_roundtrip(uint8_t cmd, const struct socks5_addr *dst, size_t want_len)
{
	struct socks5_req req;
	uint8_t buf[SOCKS5_MAX_MSG];
	size_t len = 0, used = 0;

	memset(&req, 0, sizeof(req));
	req.cmd = cmd;
	req.dst = *dst;
	assert_int_equal(socks5_build_request(buf, sizeof(buf), &len, &req), 0);
	assert_int_equal(len, want_len);
	assert_int_equal(buf[0], 0x05);
	assert_int_equal(buf[1], cmd);
	assert_int_equal(buf[2], 0x00);
	assert_int_equal(buf[3], dst->atyp);
	memset(&last_req, 0xee, sizeof(last_req));
	assert_int_equal(parse_any(K_REQUEST, buf, len, &used), PARSE_OK);
	assert_int_equal(used, len);
	assert_int_equal(last_req.cmd, cmd);
	assert_addr_same(&last_req.dst, dst);
	assert_incremental(K_REQUEST, buf, len);
}

static void
test_request_roundtrip_all(void **state)
{
	static const uint8_t cmds[] = {
		SOCKS5_CMD_CONNECT, SOCKS5_CMD_RESOLVE, SOCKS5_CMD_RESOLVE_PTR, SOCKS5_CMD_DNS,
	};
	struct socks5_addr a4, a6, ah, a0;

	(void)state;
	set_ip4(&a4, 192, 0, 2, 1, 443);
	set_ip6(&a6, v6_doc, 9001);
	set_host(&ah, "example.org", 80);
	set_ip4(&a0, 0, 0, 0, 0, 0);
	for (size_t i = 0; i < sizeof(cmds); i++) {
		request_roundtrip(cmds[i], &a4, 4 + 4 + 2);
		request_roundtrip(cmds[i], &a6, 4 + 16 + 2);
		request_roundtrip(cmds[i], &ah, 4 + 1 + 11 + 2);
		request_roundtrip(cmds[i], &a0, 4 + 4 + 2);
	}
}

static void
test_request_wire_bytes(void **state)
{
	/* CONNECT example.org:443, exactly as RFC 1928 section 4 lays it out. */
	static const uint8_t want[] = {
		0x05, 0x01, 0x00, 0x03, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'o', 'r', 'g',
		0x01, 0xbb,
	};
	struct socks5_req req;
	uint8_t buf[SOCKS5_MAX_MSG];
	size_t len = 0;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.cmd = SOCKS5_CMD_CONNECT;
	set_host(&req.dst, "example.org", 443);
	assert_int_equal(socks5_build_request(buf, sizeof(buf), &len, &req), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

static void
test_request_mapped_ipv6(void **state)
{
	/* ::ffff:192.0.2.7 port 25 comes out as IPv4, as addr.h promises. */
	static const uint8_t r[] = {
		0x05, 0x01, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7,
		0x00, 0x19,
	};
	struct socks5_req again;
	uint8_t buf[SOCKS5_MAX_MSG];
	size_t used = 0, len = 0;

	(void)state;
	assert_int_equal(parse_any(K_REQUEST, r, sizeof(r), &used), PARSE_OK);
	assert_int_equal(used, sizeof(r));
	assert_int_equal(last_req.dst.atyp, SOCKS5_ATYP_IPV4);
	assert_int_equal(last_req.dst.ip.family, AF_INET);
	assert_memory_equal(last_req.dst.ip.a, "\xc0\x00\x02\x07", 4);
	assert_int_equal(last_req.dst.port, 25);
	assert_incremental(K_REQUEST, r, sizeof(r));

	/* Built again it is a plain IPv4 request that parses the same. */
	again = last_req;
	assert_int_equal(socks5_build_request(buf, sizeof(buf), &len, &again), 0);
	assert_int_equal(len, 10);
	assert_int_equal(buf[3], SOCKS5_ATYP_IPV4);
	assert_int_equal(parse_any(K_REQUEST, buf, len, &used), PARSE_OK);
	assert_addr_same(&last_req.dst, &again.dst);
}

static void
test_request_ip_family_decides(void **state)
{
	/* atyp IPV6 over an IPv4 struct addr is sent as IPv4, not garbage. */
	struct socks5_req req;
	uint8_t buf[SOCKS5_MAX_MSG];
	size_t len = 0;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.cmd = SOCKS5_CMD_CONNECT;
	set_ip4(&req.dst, 198, 51, 100, 9, 53);
	req.dst.atyp = SOCKS5_ATYP_IPV6;
	assert_int_equal(socks5_build_request(buf, sizeof(buf), &len, &req), 0);
	assert_int_equal(len, 10);
	assert_memory_equal(buf, "\x05\x01\x00\x01\xc6\x33\x64\x09\x00\x35", 10);
}

static void
test_request_max_domain(void **state)
{
	struct socks5_addr a;
	char name[256];

	(void)state;
	memset(name, 'a', 255);
	for (size_t i = 63; i < 255; i += 64) {
		name[i] = '.';
	}
	name[255] = '\0';
	set_host(&a, name, 65535);
	assert_int_equal(a.host_len, 255);
	request_roundtrip(SOCKS5_CMD_CONNECT, &a, SOCKS5_MAX_MSG);
	request_roundtrip(SOCKS5_CMD_RESOLVE, &a, SOCKS5_MAX_MSG);
}

static void
test_request_build_einval(void **state)
{
	struct socks5_req req;
	uint8_t buf[SOCKS5_MAX_MSG + 16];
	size_t len = 77;

	(void)state;
	/* 256 bytes of name: no room for the NUL, and no length byte for it. */
	memset(&req, 0, sizeof(req));
	req.cmd = SOCKS5_CMD_CONNECT;
	req.dst.atyp = SOCKS5_ATYP_DOMAIN;
	memset(req.dst.host, 'b', sizeof(req.dst.host));
	req.dst.host_len = 255;
	req.dst.port = 80;
	assert_int_equal(socks5_build_request(buf, sizeof(buf), &len, &req), -EINVAL);
	req.dst.host_len = 0;
	assert_int_equal(socks5_build_request(buf, sizeof(buf), &len, &req), -EINVAL);

	/* Empty name. */
	set_host(&req.dst, "", 80);
	assert_int_equal(socks5_build_request(buf, sizeof(buf), &len, &req), -EINVAL);

	/* host_len that disagrees with host, both ways. */
	set_host(&req.dst, "example.org", 80);
	req.dst.host_len = 7;
	assert_int_equal(socks5_build_request(buf, sizeof(buf), &len, &req), -EINVAL);
	req.dst.host_len = 12;
	assert_int_equal(socks5_build_request(buf, sizeof(buf), &len, &req), -EINVAL);

	/* Unknown command, unknown address type, IP with no family. */
	set_ip4(&req.dst, 192, 0, 2, 1, 80);
	req.cmd = 0x02;
	assert_int_equal(socks5_build_request(buf, sizeof(buf), &len, &req), -EINVAL);
	req.cmd = SOCKS5_CMD_CONNECT;
	req.dst.atyp = 0x02;
	assert_int_equal(socks5_build_request(buf, sizeof(buf), &len, &req), -EINVAL);
	req.dst.atyp = SOCKS5_ATYP_IPV4;
	req.dst.ip.family = 0;
	assert_int_equal(socks5_build_request(buf, sizeof(buf), &len, &req), -EINVAL);
	assert_int_equal(len, 77);
}

/* Checks one broken request at every length from its first wrong byte on. */
static void
assert_request_bad(const uint8_t *r, size_t n, size_t bad_at, uint8_t want_rep)
{
	size_t used = 4242;

	for (size_t i = 0; i < bad_at; i++) {
		assert_int_equal(parse_any(K_REQUEST, r, i, &used), PARSE_AGAIN);
	}
	for (size_t i = bad_at; i <= n; i++) {
		last_rep_code = 0xaa;
		assert_int_equal(parse_any(K_REQUEST, r, i, &used), PARSE_BAD);
		assert_int_equal(last_rep_code, want_rep);
	}
	assert_int_equal(used, 4242);
	/* rep may be NULL. */
	assert_int_equal(socks5_parse_request(r, n, &used, &last_req, NULL), PARSE_BAD);
}

static void
test_request_bad_version(void **state)
{
	static const uint8_t r[] = { 0x04, 0x01, 0x00, 0x01, 192, 0, 2, 1, 0, 80 };

	(void)state;
	assert_request_bad(r, sizeof(r), 1, SOCKS5_REP_FAIL);
}

static void
test_request_bad_cmd(void **state)
{
	/* BIND and UDP ASSOCIATE are RFC 1928 commands we do not offer. */
	static const uint8_t cmds[] = { 0x00, 0x02, 0x03, 0x04, 0xef, 0xf3, 0xff };
	uint8_t r[] = { 0x05, 0x00, 0x00, 0x01, 192, 0, 2, 1, 0, 80 };

	(void)state;
	for (size_t i = 0; i < sizeof(cmds); i++) {
		r[1] = cmds[i];
		assert_request_bad(r, sizeof(r), 2, SOCKS5_REP_CMD_UNSUPP);
	}
}

static void
test_request_bad_rsv(void **state)
{
	static const uint8_t r[] = { 0x05, 0x01, 0x01, 0x01, 192, 0, 2, 1, 0, 80 };

	(void)state;
	assert_request_bad(r, sizeof(r), 3, SOCKS5_REP_FAIL);
}

static void
test_request_bad_atyp(void **state)
{
	static const uint8_t atyps[] = { 0x00, 0x02, 0x05, 0xff };
	uint8_t r[] = { 0x05, 0x01, 0x00, 0x00, 192, 0, 2, 1, 0, 80 };

	(void)state;
	for (size_t i = 0; i < sizeof(atyps); i++) {
		r[3] = atyps[i];
		assert_request_bad(r, sizeof(r), 4, SOCKS5_REP_ATYP_UNSUPP);
	}
}

static void
test_request_bad_domain(void **state)
{
	static const uint8_t empty[] = { 0x05, 0x01, 0x00, 0x03, 0x00, 0x00, 0x50 };
	static const uint8_t nul_first[] = { 0x05, 0x01, 0x00, 0x03, 0x03, 0x00, 'a', 'b', 0, 80 };
	static const uint8_t nul_mid[] = { 0x05, 0x01, 0x00, 0x03, 0x03, 'a', 0x00, 'b', 0, 80 };
	static const uint8_t nul_last[] = { 0x05, 0x01, 0x00, 0x03, 0x03, 'a', 'b', 0x00, 0, 80 };

	(void)state;
	assert_request_bad(empty, sizeof(empty), 5, SOCKS5_REP_FAIL);
	/* A NUL is refused when it arrives, not when the name is complete. */
	assert_request_bad(nul_first, sizeof(nul_first), 6, SOCKS5_REP_FAIL);
	assert_request_bad(nul_mid, sizeof(nul_mid), 7, SOCKS5_REP_FAIL);
	assert_request_bad(nul_last, sizeof(nul_last), 8, SOCKS5_REP_FAIL);
}

static void
test_request_untouched_unless_ok(void **state)
{
	static const uint8_t r[] = { 0x05, 0x01, 0x00, 0x03, 0x03, 'a', 'b', 'c', 0x01, 0xbb };
	static const uint8_t bad[] = { 0x05, 0x01, 0x00, 0x03, 0x03, 'a', 0x00, 'c', 0x01, 0xbb };
	struct socks5_req req, sentinel;
	size_t used = 5;
	uint8_t rep = 0x55;

	(void)state;
	memset(&sentinel, 0x5a, sizeof(sentinel));
	req = sentinel;
	for (size_t i = 0; i < sizeof(r); i++) {
		assert_int_equal(socks5_parse_request(r, i, &used, &req, &rep), PARSE_AGAIN);
		assert_memory_equal(&req, &sentinel, sizeof(req));
		assert_int_equal(used, 5);
		assert_int_equal(rep, 0x55);
	}
	assert_int_equal(socks5_parse_request(bad, sizeof(bad), &used, &req, &rep), PARSE_BAD);
	assert_memory_equal(&req, &sentinel, sizeof(req));
	assert_int_equal(used, 5);
	assert_int_equal(rep, SOCKS5_REP_FAIL);
	assert_int_equal(socks5_parse_request(NULL, 0, &used, &req, &rep), PARSE_AGAIN);
	assert_int_equal(socks5_parse_request(r, sizeof(r), &used, &req, &rep), PARSE_OK);
	assert_int_equal(used, sizeof(r));
	assert_string_equal(req.dst.host, "abc");
	assert_int_equal(req.dst.port, 443);
}

/* Replies. */

static void
test_reply_codes(void **state)
{
	static const char *const want[] = {
		"succeeded",
		"general failure",
		"connection not allowed by ruleset",
		"network unreachable",
		"host unreachable",
		"connection refused",
		"TTL expired / timed out",
		"command not supported",
		"address type not supported",
	};
	uint8_t buf[SOCKS5_MAX_MSG];
	size_t len = 0, used = 0;

	(void)state;
	for (uint8_t code = 0x00; code <= 0x08; code++) {
		assert_int_equal(socks5_build_reply(buf, sizeof(buf), &len, code, NULL), 0);
		assert_int_equal(len, 10);
		assert_memory_equal(buf, "\x05", 1);
		assert_int_equal(buf[1], code);
		assert_memory_equal(buf + 2, "\x00\x01\x00\x00\x00\x00\x00\x00", 8);
		memset(&last_reply, 0xee, sizeof(last_reply));
		assert_int_equal(parse_any(K_REPLY, buf, len, &used), PARSE_OK);
		assert_int_equal(used, 10);
		assert_int_equal(last_reply.rep, code);
		assert_int_equal(last_reply.bnd.atyp, SOCKS5_ATYP_IPV4);
		assert_int_equal(last_reply.bnd.ip.family, AF_INET);
		assert_memory_equal(last_reply.bnd.ip.a, "\0\0\0\0", 4);
		assert_int_equal(last_reply.bnd.port, 0);
		assert_incremental(K_REPLY, buf, len);
		assert_string_equal(socks5_rep_str(code), want[code]);
	}
	assert_string_equal(socks5_rep_str(0x09), "unknown reply code");
	assert_string_equal(socks5_rep_str(0xf0), "unknown reply code");
	assert_string_equal(socks5_rep_str(0xff), "unknown reply code");

	/* An unassigned code still parses: the client fails on any non-zero. */
	assert_int_equal(socks5_build_reply(buf, sizeof(buf), &len, 0x09, NULL), 0);
	assert_int_equal(parse_any(K_REPLY, buf, len, &used), PARSE_OK);
	assert_int_equal(last_reply.rep, 0x09);
}

static void
reply_roundtrip(uint8_t code, const struct socks5_addr *bnd, size_t want_len)
{
	uint8_t buf[SOCKS5_MAX_MSG];
	size_t len = 0, used = 0;

	assert_int_equal(socks5_build_reply(buf, sizeof(buf), &len, code, bnd), 0);
	assert_int_equal(len, want_len);
	assert_int_equal(buf[3], bnd->atyp);
	memset(&last_reply, 0xee, sizeof(last_reply));
	assert_int_equal(parse_any(K_REPLY, buf, len, &used), PARSE_OK);
	assert_int_equal(used, len);
	assert_int_equal(last_reply.rep, code);
	assert_addr_same(&last_reply.bnd, bnd);
	assert_incremental(K_REPLY, buf, len);
}

static void
test_reply_roundtrip(void **state)
{
	struct socks5_addr a;
	char name[256];

	(void)state;
	/* CONNECT's bound address, RESOLVE's answers, RESOLVE_PTR's name. */
	set_ip4(&a, 203, 0, 113, 5, 40000);
	reply_roundtrip(SOCKS5_REP_OK, &a, 10);
	set_ip6(&a, v6_doc, 0);
	reply_roundtrip(SOCKS5_REP_OK, &a, 22);
	set_host(&a, "host.example.net", 0);
	reply_roundtrip(SOCKS5_REP_OK, &a, 4 + 1 + 16 + 2);
	set_host(&a, "x", 1);
	reply_roundtrip(SOCKS5_REP_HOST_UNREACH, &a, 4 + 1 + 1 + 2);
	memset(name, 'z', 255);
	name[255] = '\0';
	set_host(&a, name, 7);
	reply_roundtrip(SOCKS5_REP_OK, &a, SOCKS5_MAX_MSG);
}

static void
test_reply_bad(void **state)
{
	static const uint8_t ver[] = { 0x04, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0 };
	static const uint8_t rsv[] = { 0x05, 0x00, 0xff, 0x01, 0, 0, 0, 0, 0, 0 };
	static const uint8_t atyp[] = { 0x05, 0x00, 0x00, 0x02, 0, 0, 0, 0, 0, 0 };
	static const uint8_t empty[] = { 0x05, 0x00, 0x00, 0x03, 0x00, 0, 0 };
	static const uint8_t nul[] = { 0x05, 0x00, 0x00, 0x03, 0x02, 'a', 0x00, 0, 0 };
	struct {
		const uint8_t *p;
		size_t n, bad_at;
	} cases[] = {
		{ ver, sizeof(ver), 1 },
		{ rsv, sizeof(rsv), 3 },
		{ atyp, sizeof(atyp), 4 },
		{ empty, sizeof(empty), 5 },
		{ nul, sizeof(nul), 7 },
	};
	size_t used;

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (size_t i = 0; i < cases[c].bad_at; i++) {
			assert_int_equal(parse_any(K_REPLY, cases[c].p, i, &used), PARSE_AGAIN);
		}
		for (size_t i = cases[c].bad_at; i <= cases[c].n; i++) {
			assert_int_equal(parse_any(K_REPLY, cases[c].p, i, &used), PARSE_BAD);
		}
	}
}

static void
test_reply_build_einval(void **state)
{
	struct socks5_addr a;
	uint8_t buf[SOCKS5_MAX_MSG + 16];
	size_t len = 3;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.atyp = SOCKS5_ATYP_DOMAIN;
	memset(a.host, 'q', sizeof(a.host));
	a.host_len = 255;
	assert_int_equal(socks5_build_reply(buf, sizeof(buf), &len, 0, &a), -EINVAL);
	set_host(&a, "", 0);
	assert_int_equal(socks5_build_reply(buf, sizeof(buf), &len, 0, &a), -EINVAL);
	memset(&a, 0, sizeof(a));
	assert_int_equal(socks5_build_reply(buf, sizeof(buf), &len, 0, &a), -EINVAL);
	assert_int_equal(len, 3);
}

/* Builders against short buffers: -ENOSPC, and nothing written. */

static void
test_build_enospc(void **state)
{
	struct socks5_req req;
	struct socks5_addr a6, ah;
	uint8_t buf[SOCKS5_MAX_MSG], ref[SOCKS5_MAX_MSG];
	size_t len, need;
	char name[256];

	(void)state;
	memset(ref, 0xc3, sizeof(ref));
	for (size_t cap = 0; cap < 3; cap++) {
		memcpy(buf, ref, sizeof(buf));
		len = 999;
		assert_int_equal(socks5_build_greeting(buf, cap, &len), -ENOSPC);
		if (cap < 2) {
			assert_int_equal(socks5_build_method(buf, cap, &len, 0), -ENOSPC);
		}
		assert_memory_equal(buf, ref, sizeof(buf));
		assert_int_equal(len, 999);
	}
	assert_int_equal(socks5_build_greeting(buf, 3, &len), 0);
	assert_int_equal(socks5_build_method(buf, 2, &len, 0), 0);

	memset(name, 'n', 255);
	name[255] = '\0';
	set_ip6(&a6, v6_doc, 1);
	set_host(&ah, name, 2);
	memset(&req, 0, sizeof(req));
	req.cmd = SOCKS5_CMD_RESOLVE;
	for (int which = 0; which < 2; which++) {
		req.dst = which == 0 ? a6 : ah;
		need = which == 0 ? 22 : SOCKS5_MAX_MSG;
		for (size_t cap = 0; cap < need; cap++) {
			memcpy(buf, ref, sizeof(buf));
			len = 999;
			assert_int_equal(socks5_build_request(buf, cap, &len, &req), -ENOSPC);
			assert_int_equal(socks5_build_reply(buf, cap, &len, 0, &req.dst), -ENOSPC);
			assert_memory_equal(buf, ref, sizeof(buf));
			assert_int_equal(len, 999);
		}
		assert_int_equal(socks5_build_request(buf, need, &len, &req), 0);
		assert_int_equal(len, need);
		assert_int_equal(socks5_build_reply(buf, need, &len, 0, &req.dst), 0);
		assert_int_equal(len, need);
	}
	for (size_t cap = 0; cap < 10; cap++) {
		assert_int_equal(socks5_build_reply(buf, cap, &len, 1, NULL), -ENOSPC);
	}
}

/* The server's view of one pipelined flight (DESIGN section 3 item 4). */
static void
test_pipelined_flight(void **state)
{
	static const uint8_t payload[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01 };
	struct socks5_req req, got;
	uint8_t flight[3 + SOCKS5_MAX_MSG + sizeof(payload)];
	size_t n = 0, len, used;
	bool noauth = false;
	uint8_t rep = 0;

	(void)state;
	assert_int_equal(socks5_build_greeting(flight, sizeof(flight), &len), 0);
	n += len;
	memset(&req, 0, sizeof(req));
	req.cmd = SOCKS5_CMD_CONNECT;
	set_host(&req.dst, "relay2.example", 443);
	assert_int_equal(socks5_build_request(flight + n, sizeof(flight) - n, &len, &req), 0);
	n += len;
	memcpy(flight + n, payload, sizeof(payload));
	n += sizeof(payload);

	assert_int_equal(socks5_parse_greeting(flight, n, &used, &noauth), PARSE_OK);
	assert_int_equal(used, 3);
	assert_true(noauth);
	assert_int_equal(socks5_parse_request(flight + 3, n - 3, &used, &got, &rep), PARSE_OK);
	assert_int_equal(3 + used + sizeof(payload), n);
	assert_int_equal(got.cmd, SOCKS5_CMD_CONNECT);
	assert_addr_same(&got.dst, &req.dst);
	assert_memory_equal(flight + 3 + used, payload, sizeof(payload));
}

static void
test_answer(void **state)
{
	static const uint8_t ok[] = { 5, 0, 5, 0, 0, 1, 192, 0, 2, 1, 0, 80, 0x16 };
	static const uint8_t other[] = { 5, 2 };
	static const uint8_t badrep[] = { 5, 0, 4, 0, 0, 1 };
	uint8_t full[2 + SOCKS5_MAX_MSG];
	struct socks5_reply rep;
	const char *why;
	size_t used;

	(void)state;
	/* Byte by byte, as the circuit reads it: AGAIN until the last byte. */
	for (size_t n = 1; n < 12; n++) {
		assert_int_equal(socks5_parse_answer(ok, n, 64, &used, &rep, &why), PARSE_AGAIN);
	}
	assert_int_equal(socks5_parse_answer(ok, 12, 64, &used, &rep, &why), PARSE_OK);
	assert_int_equal(used, 12);
	assert_int_equal(rep.rep, 0);
	/* The next hop's first TLS byte after it is not part of it. */
	assert_int_equal(socks5_parse_answer(ok, sizeof(ok), 64, &used, &rep, &why), PARSE_OK);
	assert_int_equal(used, 12);
	assert_int_equal(socks5_parse_answer(other, 2, 64, &used, &rep, &why), PARSE_BAD);
	assert_string_equal(why, "bad SOCKS5 method reply");
	assert_int_equal(socks5_parse_answer(badrep, 3, 64, &used, &rep, &why), PARSE_BAD);
	assert_string_equal(why, "bad SOCKS5 reply");
	/* A domain BND that never ends: refused at the cap. */
	memset(full, 'a', sizeof(full));
	full[0] = 5;
	full[1] = 0;
	full[3] = 0;
	full[4] = 0;
	full[2] = 5;
	full[5] = 3;
	full[6] = 255;
	assert_int_equal(socks5_parse_answer(full, 20, 20, &used, &rep, &why), PARSE_BAD);
	assert_string_equal(why, "SOCKS5 reply too long");
	assert_int_equal(socks5_parse_answer(full, 19, 20, &used, &rep, &why), PARSE_AGAIN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_greeting_roundtrip),
		cmocka_unit_test(test_greeting_without_noauth),
		cmocka_unit_test(test_greeting_255_methods),
		cmocka_unit_test(test_greeting_bad),
		cmocka_unit_test(test_method_roundtrip),
		cmocka_unit_test(test_method_bad),
		cmocka_unit_test(test_request_roundtrip_all),
		cmocka_unit_test(test_request_wire_bytes),
		cmocka_unit_test(test_request_mapped_ipv6),
		cmocka_unit_test(test_request_ip_family_decides),
		cmocka_unit_test(test_request_max_domain),
		cmocka_unit_test(test_request_build_einval),
		cmocka_unit_test(test_request_bad_version),
		cmocka_unit_test(test_request_bad_cmd),
		cmocka_unit_test(test_request_bad_rsv),
		cmocka_unit_test(test_request_bad_atyp),
		cmocka_unit_test(test_request_bad_domain),
		cmocka_unit_test(test_request_untouched_unless_ok),
		cmocka_unit_test(test_reply_codes),
		cmocka_unit_test(test_reply_roundtrip),
		cmocka_unit_test(test_reply_bad),
		cmocka_unit_test(test_reply_build_einval),
		cmocka_unit_test(test_build_enospc),
		cmocka_unit_test(test_pipelined_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the SOCKS5 codec. Every parser runs on the input,
 * on its prefixes, and on both halves of every split of it, the way a
 * server (greeting, then request) and a client (method, then reply) walk
 * a pipelined flight. Besides "never crash", it checks the promises of
 * socks5.h: *used never exceeds the input, a message is decided once and
 * for all (AGAIN on every prefix until OK or BAD, then that answer with the
 * same *used), PARSE_BAD of a request comes with a reply code we defined,
 * and whatever parses can be built again and parses to the same thing.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socks5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Splits beyond this point put both halves past the longest greeting plus
 * the longest request, so they only repeat what shorter inputs cover.
 */
#define SPLIT_MAX (SOCKS5_MAX_GREETING + SOCKS5_MAX_MSG + 8)

enum kind {
	K_GREETING,
	K_REQUEST,
	K_METHOD,
	K_REPLY,
	K_COUNT,
};

/* Everything one parser call produced, so two calls can be compared. */
struct result {
	enum parse_res res;
	size_t used;
	bool noauth;
	struct socks5_req req;
	uint8_t rep_code;
	uint8_t method;
	struct socks5_reply reply;
};

static void
check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_socks5: invariant broken: %s\n", what);
		abort();
	}
}

static void
parse(enum kind k, const uint8_t *p, size_t len, struct result *r)
{
	memset(r, 0, sizeof(*r));
	r->used = SIZE_MAX;
	switch (k) {
	case K_GREETING:
		r->res = socks5_parse_greeting(p, len, &r->used, &r->noauth);
		break;
	case K_REQUEST:
		r->rep_code = 0xee;
		r->res = socks5_parse_request(p, len, &r->used, &r->req, &r->rep_code);
		break;
	case K_METHOD:
		r->res = socks5_parse_method(p, len, &r->used, &r->method);
		break;
	case K_REPLY:
		r->res = socks5_parse_reply(p, len, &r->used, &r->reply);
		break;
	case K_COUNT:
	default:
		check(false, "unknown parser kind");
		break;
	}
}

static bool
addr_same(const struct socks5_addr *a, const struct socks5_addr *b)
{
	if (a->atyp != b->atyp || a->port != b->port) {
		return false;
	}
	switch (a->atyp) {
	case SOCKS5_ATYP_IPV4:
		return a->ip.family == AF_INET && b->ip.family == AF_INET &&
		    memcmp(a->ip.a, b->ip.a, 4) == 0;
	case SOCKS5_ATYP_IPV6:
		return a->ip.family == AF_INET6 && b->ip.family == AF_INET6 &&
		    memcmp(a->ip.a, b->ip.a, 16) == 0;
	case SOCKS5_ATYP_DOMAIN:
		return a->host_len == b->host_len && a->host_len > 0 &&
		    memchr(a->host, '\0', a->host_len) == NULL && a->host[a->host_len] == '\0' &&
		    memcmp(a->host, b->host, (size_t)a->host_len + 1) == 0;
	default:
		return false;
	}
}

static bool
result_same(enum kind k, const struct result *a, const struct result *b)
{
	if (a->res != b->res) {
		return false;
	}
	switch (a->res) {
	case PARSE_AGAIN:
		return true;
	case PARSE_BAD:
		return k != K_REQUEST || a->rep_code == b->rep_code;
	case PARSE_OK:
		break;
	default:
		return false;
	}
	if (a->used != b->used) {
		return false;
	}
	switch (k) {
	case K_GREETING:
		return a->noauth == b->noauth;
	case K_REQUEST:
		return a->req.cmd == b->req.cmd && addr_same(&a->req.dst, &b->req.dst);
	case K_METHOD:
		return a->method == b->method;
	case K_REPLY:
		return a->reply.rep == b->reply.rep && addr_same(&a->reply.bnd, &b->reply.bnd);
	case K_COUNT:
	default:
		return false;
	}
}

/* What must hold of any single answer, given the bytes it was for. */
static void
check_one(enum kind k, const uint8_t *p, size_t len, const struct result *r)
{
	uint8_t buf[SOCKS5_MAX_MSG];
	struct result again;
	size_t blen = 0;
	bool mapped;

	switch (r->res) {
	case PARSE_AGAIN:
		return;
	case PARSE_BAD:
		if (k == K_REQUEST) {
			check(r->rep_code == SOCKS5_REP_FAIL ||
				  r->rep_code == SOCKS5_REP_CMD_UNSUPP ||
				  r->rep_code == SOCKS5_REP_ATYP_UNSUPP,
			      "request PARSE_BAD without a defined reply code");
		}
		return;
	case PARSE_OK:
		break;
	default:
		check(false, "parser returned no parse_res");
		return;
	}
	check(r->used <= len, "*used beyond the input");
	check(r->used >= 2, "*used shorter than any message");

	switch (k) {
	case K_GREETING:
		check(r->used == 2 + (size_t)p[1], "greeting size is not 2 + NMETHODS");
		check(r->noauth == (memchr(p + 2, SOCKS5_METHOD_NOAUTH, p[1]) != NULL),
		      "noauth does not match the methods offered");
		break;
	case K_METHOD:
		check(r->used == 2, "method choice is not 2 bytes");
		check(socks5_build_method(buf, sizeof(buf), &blen, r->method) == 0, "build method");
		check(blen == 2 && memcmp(buf, p, 2) == 0, "method rebuilt differs");
		break;
	case K_REQUEST:
	case K_REPLY:
		check(r->used <= SOCKS5_MAX_MSG, "message longer than SOCKS5_MAX_MSG");
		if (k == K_REQUEST) {
			check(socks5_build_request(buf, sizeof(buf), &blen, &r->req) == 0,
			      "a parsed request does not build");
		} else {
			check(socks5_build_reply(buf, sizeof(buf), &blen, r->reply.rep,
						 &r->reply.bnd) == 0,
			      "a parsed reply does not build");
		}
		/* Only ::ffff:a.b.c.d changes on the way: it comes back as IPv4. */
		mapped = p[3] == SOCKS5_ATYP_IPV6 &&
		    (k == K_REQUEST ? r->req.dst.atyp : r->reply.bnd.atyp) == SOCKS5_ATYP_IPV4;
		if (mapped) {
			check(blen == r->used - 12, "mapped IPv6 not rebuilt as IPv4");
		} else {
			check(blen == r->used && memcmp(buf, p, blen) == 0,
			      "rebuilt bytes differ");
		}
		parse(k, buf, blen, &again);
		check(again.res == PARSE_OK && again.used == blen,
		      "rebuilt message does not parse");
		again.used = r->used;
		check(result_same(k, r, &again), "rebuilt message parses differently");
		break;
	case K_COUNT:
	default:
		check(false, "unknown parser kind");
		break;
	}
}

/*
 * Feeds the input to one parser a byte at a time, from an exactly sized
 * heap block each time (the prefix sits at its end), so that AddressSanitizer
 * sees any read past what the parser was given. The answer must stay AGAIN
 * until it is decided, then equal the answer for the whole input.
 */
static void
check_sweep(enum kind k, const uint8_t *p, size_t len)
{
	struct result whole, r;
	uint8_t *copy;

	parse(k, p, len, &whole);
	check_one(k, p, len, &whole);
	copy = malloc(len > 0 ? len : 1);
	check(copy != NULL, "malloc");
	for (size_t i = 0; i <= len; i++) {
		if (i > 0) {
			memcpy(copy + (len - i), p, i);
		}
		parse(k, copy + (len - i), i, &r);
		check_one(k, p, i, &r);
		if (r.res == PARSE_AGAIN) {
			check(i < len || whole.res == PARSE_AGAIN, "AGAIN on all, yet decided");
			continue;
		}
		check(result_same(k, &r, &whole), "a decided prefix disagrees with the whole");
		break;
	}
	free(copy);
}

/* One side's walk: a first message, then the second from what follows. */
static void
check_flow(enum kind first, enum kind second, const uint8_t *p, size_t len)
{
	struct result r;

	parse(first, p, len, &r);
	if (r.res != PARSE_OK) {
		return;
	}
	check_sweep(second, p + r.used, len - r.used);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result r;
	size_t last;

	for (int k = 0; k < K_COUNT; k++) {
		check_sweep((enum kind)k, data, size);
	}
	check_flow(K_GREETING, K_REQUEST, data, size);
	check_flow(K_METHOD, K_REPLY, data, size);

	/* Both halves of every split, as when a read ends mid-message. */
	last = size < SPLIT_MAX ? size : SPLIT_MAX;
	for (size_t cut = 0; cut <= last; cut++) {
		for (int k = 0; k < K_COUNT; k++) {
			parse((enum kind)k, data, cut, &r);
			check_one((enum kind)k, data, cut, &r);
			parse((enum kind)k, data + cut, size - cut, &r);
			check_one((enum kind)k, data + cut, size - cut, &r);
		}
	}
	return 0;
}

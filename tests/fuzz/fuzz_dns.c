// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for tund's DNS responder. The input is one query: it
 * goes through dns_handle with a small fake-IP pool (full, then later,
 * so held, exhausted and recycled slots all answer) and without one,
 * over UDP and TCP limits and into an output buffer cut to a size taken
 * from the input. The input also goes through dns_fit, dns_question and
 * the ID helpers as if it were an answer from the exit.
 *
 * Besides "never crash or read past the input", it checks what dns.h
 * promises: an answer is a response with the query's ID, within max_len
 * and the buffer, that dns_fit accepts as it is, and whose question is
 * the query's; only queries with QR clear are forwarded, never for the
 * types tund answers itself; dns_fit never grows a message and, when it
 * cuts, leaves header and question with TC; dns_question gives lowercase
 * text within its buffer.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tund/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HOLD_MS 10

static void
check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_dns: invariant broken: %s\n", what);
		abort();
	}
}

static uint16_t
get16(const uint8_t *p, size_t off)
{
	return (uint16_t)(p[off] << 8 | p[off + 1]);
}

static uint8_t *
dup(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n > 0 ? n : 1);

	check(c != NULL, "malloc");
	if (n > 0) {
		memcpy(c, p, n);
	}
	return c;
}

/* A pool of four slots over a /28 and a /120, all taken at time 0. */
static struct fakeip *
small_pool(void)
{
	static const char *const names[] = { "a.example", "b.example", "c.example", "d.example" };
	struct fakeip_cfg cfg;
	struct fakeip *f;

	memset(&cfg, 0, sizeof(cfg));
	cfg.have_v4 = true;
	cfg.have_v6 = true;
	check(cidr_parse("198.18.0.0/28", &cfg.v4) == 0, "cidr");
	check(cidr_parse("fd00::/120", &cfg.v6) == 0, "cidr");
	cfg.max_slots = 4;
	cfg.hold_ms = HOLD_MS;
	f = fakeip_new(&cfg);
	check(f != NULL, "fakeip_new");
	for (size_t i = 0; i < 4; i++) {
		size_t len = strlen(names[i]);

		check(fakeip_lookup_name(f, names[i], len, 0, NULL, NULL) == 0, "fill");
	}
	return f;
}

static void
check_question_text(const char *name, size_t cap)
{
	size_t len = strlen(name);

	check(len < cap && len <= FAKEIP_NAME_MAX, "dns_question name too long");
	for (size_t i = 0; i < len; i++) {
		check(name[i] > 0x20 && name[i] < 0x7f && name[i] != '\\' && !(name[i] >= 'A' &&
		      name[i] <= 'Z'), "dns_question gave a byte text should not have");
	}
}

/* What tund answers itself is never forwarded. */
static void
check_forward(const struct fakeip *f, const uint8_t *q, size_t qlen)
{
	char name[FAKEIP_NAME_MAX + 1];
	uint16_t type, class;
	size_t len;

	check(qlen >= 12 && (q[2] & 0x80) == 0 && (q[2] & 0x78) == 0, "forwarded a non-query");
	if (!dns_question(q, qlen, name, sizeof(name), &type, &class)) {
		return;
	}
	check(class == 1, "forwarded a class other than IN");
	check(type != 64 && type != 65 && type != 251 && type != 252, "forwarded HTTPS/SVCB/AXFR");
	len = strlen(name);
	check(strcmp(name, "localhost") != 0 &&
	      (len < 10 || strcmp(name + len - 10, ".localhost") != 0), "forwarded localhost");
	if (f != NULL && len > 0) {
		check(type != 1 && type != 28 && type != 255, "forwarded A/AAAA/ANY with a pool");
	}
}

static void
check_reply(const uint8_t *q, size_t qlen, const uint8_t *out, size_t out_len, size_t max_len,
	    size_t cap)
{
	char qname[FAKEIP_NAME_MAX + 1], aname[FAKEIP_NAME_MAX + 1];
	uint16_t qt, qc, at, ac;
	uint8_t *copy;

	check(out_len >= 12 && out_len <= max_len && out_len <= cap, "answer size");
	check(get16(out, 0) == get16(q, 0), "answer ID");
	check((out[2] & 0x80) != 0, "answer without QR");
	check((out[2] & 0x04) == 0, "answer with AA");
	check((out[2] & 0x79) == (q[2] & 0x79), "opcode or RD not copied");
	copy = dup(out, out_len);
	check(dns_fit(copy, out_len, out_len) == out_len, "dns_fit refuses our own answer");
	check(memcmp(copy, out, out_len) == 0, "dns_fit changed a fitting answer");
	free(copy);
	if (get16(out, 4) == 1) {
		if (dns_question(q, qlen, qname, sizeof(qname), &qt, &qc)) {
			check(dns_question(out, out_len, aname, sizeof(aname), &at, &ac),
			      "answer's question does not read");
			check(strcmp(qname, aname) == 0 && qt == at && qc == ac,
			      "answer's question differs");
		}
	}
}

static void
run(struct fakeip *f, const uint8_t *q, size_t qlen, size_t max_len, uint64_t now, size_t cap)
{
	uint8_t *out = malloc(cap > 0 ? cap : 1);
	struct fakeip_stats st;
	enum dns_action act;
	size_t out_len = 12345;

	check(out != NULL, "malloc");
	act = dns_handle(f, q, qlen, max_len, now, out, cap, &out_len);
	switch (act) {
	case DNS_REPLY:
		check_reply(q, qlen, out, out_len, max_len, cap);
		break;
	case DNS_FORWARD:
		check(out_len == 0, "out_len set on forward");
		check_forward(f, q, qlen);
		break;
	case DNS_DROP:
		check(out_len == 0, "out_len set on drop");
		check(qlen < 12 || (q[2] & 0x80) != 0 || cap < 12 || max_len < 12,
		      "dropped a query that deserved an answer");
		break;
	default:
		check(false, "no dns_action");
		break;
	}
	if (f != NULL) {
		check(fakeip_check(f) == 0, "pool inconsistent");
		fakeip_stats(f, &st);
		check(st.used <= st.slots && st.slots == 4, "pool stats");
	}
	free(out);
}

static void
fit(const uint8_t *data, size_t size, size_t max_len)
{
	uint8_t *m = dup(data, size);
	size_t n = dns_fit(m, size, max_len);

	if (n == 0) {
		check(memcmp(m, data, size) == 0, "dns_fit edited a message it refused");
	} else if (size <= max_len) {
		check(n == size && memcmp(m, data, size) == 0, "dns_fit changed a fitting message");
	} else {
		check(n >= 12 && n <= max_len && n < size, "dns_fit cut to a wrong size");
		check((m[2] & 0x82) == 0x82, "dns_fit cut without TC");
		check(get16(m, 6) == 0 && get16(m, 8) == 0 && get16(m, 10) == 0,
		      "dns_fit left records counted");
		check(memcmp(m + 12, data + 12, n - 12) == 0, "dns_fit changed the question");
	}
	free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[FAKEIP_NAME_MAX + 1];
	uint16_t type, class, id;
	struct fakeip *f;
	uint8_t *q = dup(data, size);
	size_t limit = dns_udp_limit(q, size);
	size_t cap = 12 + (size > 1 ? data[1] : 0);

	check(limit >= DNS_UDP_MIN && limit <= DNS_UDP_MAX, "dns_udp_limit range");

	/* Held (every slot used at 0, hold 10), then recyclable, then no pool. */
	f = small_pool();
	run(f, q, size, limit, 5, DNS_MAX_MSG);
	run(f, q, size, DNS_MAX_MSG, 50, DNS_MAX_MSG);
	run(f, q, size, limit, 50, cap);
	run(f, q, size, cap, 50, DNS_MAX_MSG);
	run(f, q, size, 11, 50, DNS_MAX_MSG);
	fakeip_free(f);
	run(NULL, q, size, limit, 0, DNS_MAX_MSG);
	check(memcmp(q, data, size) == 0, "dns_handle wrote to its query");

	fit(q, size, DNS_UDP_MIN);
	fit(q, size, cap);
	fit(q, size, DNS_MAX_MSG);

	if (dns_question(q, size, name, sizeof(name), &type, &class)) {
		check_question_text(name, sizeof(name));
	}
	if (dns_question(q, size, name, 1 + (size > 2 ? data[2] % 16 : 0), NULL, NULL)) {
		check_question_text(name, 1 + (size > 2 ? data[2] % 16 : 0));
	}
	check(dns_get_id(q, size, &id) == (size >= 2), "dns_get_id");
	if (size >= 2) {
		uint16_t other = (uint16_t)~id;

		check(id == get16(data, 0), "dns_get_id value");
		dns_set_id(q, size, other);
		check(get16(q, 0) == other && memcmp(q + 2, data + 2, size - 2) == 0, "dns_set_id");
	}
	free(q);
	return 0;
}

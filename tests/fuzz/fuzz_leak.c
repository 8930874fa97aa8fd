// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the leak classifier (tund/leak.c). The first byte
 * picks the link type, the rest is one captured frame, classified with two
 * relays (192.0.2.2:9001 and [2001:db8::2]:9001, those of the recordings
 * in tests/vectors, from which the seeds in corpus/leak are cut). Besides
 * "never crash, never read past the capture", it checks the promises of
 * leak.h: a class in range, a description that is one terminated line of
 * printable ASCII, the same class with and without a description, a len
 * below caplen read as caplen, a longer len (a snap-truncated capture)
 * changing nothing but a malformed frame, and every prefix
 * being either the frame's class or malformed, or relay traffic for an
 * SNI, or a leak for an ICMP error about relay TCP (test_leak.c's
 * assert_prefix_class).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tund/leak.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prefixes are tried up to here: past it they repeat what shorter inputs cover. */
#define PREFIX_MAX 256

static const int dlts[] = {
	LEAK_DLT_EN10MB, LEAK_DLT_RAW,       LEAK_LINKTYPE_RAW, LEAK_DLT_LINUX_SLL,
	LEAK_DLT_LINUX_SLL2, LEAK_DLT_IPV4,  LEAK_DLT_IPV6,     147, /* DLT_USER0: unsupported */
};

static struct leak_relay relays[2];

static void
check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_leak: invariant broken: %s\n", what);
		abort();
	}
}

static void
init_relays(void)
{
	static bool done;

	if (done) {
		return;
	}
	relays[0].addr.family = AF_INET;
	relays[0].addr.a[0] = 192;
	relays[0].addr.a[2] = 2;
	relays[0].addr.a[3] = 2;
	relays[0].port = 9001;
	relays[1].addr.family = AF_INET6;
	relays[1].addr.a[0] = 0x20;
	relays[1].addr.a[1] = 0x01;
	relays[1].addr.a[2] = 0x0d;
	relays[1].addr.a[3] = 0xb8;
	relays[1].addr.a[15] = 2;
	relays[1].port = 9001;
	done = true;
}

static enum leak_class
run(int dlt, const uint8_t *p, size_t caplen, size_t len, bool with_desc)
{
	char desc[LEAK_DESC_MAX];
	enum leak_class c;
	uint8_t *copy;
	size_t n;

	/* An exactly sized copy, so that AddressSanitizer sees a read past caplen. */
	copy = malloc(caplen > 0 ? caplen : 1);
	check(copy != NULL, "malloc");
	if (caplen > 0) {
		memcpy(copy, p, caplen);
	}
	memset(desc, 'X', sizeof(desc));
	c = leak_classify(dlt, copy, caplen, len, relays, 2, with_desc ? desc : NULL,
			  with_desc ? sizeof(desc) : 0);
	free(copy);
	check((int)c >= 0 && c < LEAK_CLASS_COUNT, "class out of range");
	if (with_desc) {
		n = strnlen(desc, sizeof(desc));
		check(n > 0 && n < sizeof(desc), "description empty or unterminated");
		for (size_t i = 0; i < n; i++) {
			check(desc[i] >= 0x20 && desc[i] <= 0x7e,
			      "unprintable byte in a description");
		}
	}
	return c;
}

static bool
prefix_ok(enum leak_class whole, enum leak_class part)
{
	return part == whole || part == LEAK_MALFORMED ||
	       (whole == LEAK_SNI && part == LEAK_RELAY) ||
	       (whole == LEAK_RELAY && part == LEAK_IP);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum leak_class whole, c;
	const uint8_t *p;
	size_t len, last;
	int dlt;

	if (size < 1) {
		return 0;
	}
	init_relays();
	dlt = dlts[data[0] % (sizeof(dlts) / sizeof(dlts[0]))];
	p = data + 1;
	len = size - 1;

	whole = run(dlt, p, len, len, true);
	check(run(dlt, p, len, len, false) == whole, "class depends on the description");
	check(run(dlt, p, len, 0, true) == whole, "len below caplen not read as caplen");
	/*
	 * More bytes on the wire than captured only makes a length that lied
	 * into a truncation: nothing but a malformed frame may change.
	 */
	c = run(dlt, p, len, len + 1 + data[0], true);
	check(whole == LEAK_MALFORMED || c == whole,
	      "a longer frame on the wire changed the class");
	last = len < PREFIX_MAX ? len : PREFIX_MAX;
	for (size_t cut = 0; cut < last; cut++) {
		check(prefix_ok(whole, run(dlt, p, cut, len, true)), "a prefix changed the class");
	}
	return 0;
}

// SPDX-License-Identifier: MIT
/*
 * Unit tests for the leak classifier (tund/leak.c). First the recorded
 * captures in tests/vectors/ (real traffic between namespaces, made by
 * tests/vectors/record.sh): their counts per class, the descriptions of
 * their leaks, and every prefix of every frame, as a short snap length
 * would cut it. Then frames built here: a real ClientHello with SNI
 * (captured from openssl s_client -servername) on and off a relay, cut at
 * every length, with hostile names; the housekeeping rules (hop limits,
 * TTL); ICMP errors about relay TCP; fragments; lengths that lie; link
 * layers (VLAN, PPPoE, cooked, raw); and the description buffer's limits.
 *
 * The capture files are read by a reader of this file's own (24-byte
 * global header, 16-byte record headers): libpcap stays out of the unit
 * test, as it stays out of the classifier. Run from the top of the tree,
 * or set LEAK_VECTORS to the folder of the .pcap files.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "cur.h"
#include "../../tund/leak.h"

/* The relays of every test: what tests/vectors/record.sh's "relay" listens on. */
static struct leak_relay relays[2];

static int
setup(void **state)
{
	assert_int_equal(addr_parse("192.0.2.2", &relays[0].addr), 0);
	relays[0].port = 9001;
	assert_int_equal(addr_parse("2001:db8::2", &relays[1].addr), 0);
	relays[1].port = 9001;
	return 0;
}

/*
 * Classifies a heap copy of exactly caplen bytes, so AddressSanitizer
 * sees any read past the capture, and checks that the description is
 * one terminated line of printable ASCII.
 */
static enum leak_class
classify(int dlt, const uint8_t *p, size_t caplen, size_t len, char *desc)
{
	char scratch[LEAK_DESC_MAX];
	enum leak_class c;
	uint8_t *copy;
	size_t n;

	if (desc == NULL) {
		desc = scratch;
	}
	copy = malloc(caplen > 0 ? caplen : 1);
	assert_non_null(copy);
	if (caplen > 0) {
		memcpy(copy, p, caplen);
	}
	memset(desc, 'X', LEAK_DESC_MAX);
	c = leak_classify(dlt, copy, caplen, len, relays, 2, desc, LEAK_DESC_MAX);
	free(copy);
	assert_true((int)c >= 0 && c < LEAK_CLASS_COUNT);
	n = strnlen(desc, LEAK_DESC_MAX);
	assert_true(n > 0 && n < LEAK_DESC_MAX);
	for (size_t i = 0; i < n; i++) {
		if (desc[i] < 0x20 || desc[i] > 0x7e) {
			fail_msg("byte 0x%02x at %zu in '%s'", (unsigned char)desc[i], i, desc);
		}
	}
	return c;
}

/* --- a reader for pcap files (the classic format, either byte order) --- */

struct capfile {
	uint8_t *buf;
	size_t len, off;
	uint32_t linktype;
	bool swap;
};

static uint32_t
rd32(const struct capfile *f, size_t at)
{
	const uint8_t *b = f->buf + at;

	if (f->swap) {
		return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	}
	return (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

static void
capfile_open(struct capfile *f, const char *name)
{
	const char *dir = getenv("LEAK_VECTORS");
	char path[512];
	uint32_t magic;
	FILE *fp;
	long n;

	memset(f, 0, sizeof(*f));
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/vectors", name);
	fp = fopen(path, "rb");
	if (fp == NULL) {
		fail_msg("%s: %s (run from the top of the tree, or set LEAK_VECTORS)", path,
			 strerror(errno));
	}
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 24 && n < (1 << 20));
	rewind(fp);
	f->len = (size_t)n;
	f->buf = malloc(f->len);
	assert_non_null(f->buf);
	assert_int_equal(fread(f->buf, 1, f->len, fp), f->len);
	fclose(fp);
	magic = rd32(f, 0);
	if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) {
		f->swap = true;
		magic = rd32(f, 0);
	}
	assert_true(magic == 0xa1b2c3d4 || magic == 0xa1b23c4d);
	/* The upper bits of the link type field may carry FCS information. */
	f->linktype = rd32(f, 20) & 0x0fffffff;
	f->off = 24;
}

/* The next record, or false at the end; a cut record fails the test. */
static bool
capfile_next(struct capfile *f, const uint8_t **p, size_t *caplen, size_t *len)
{
	if (f->off == f->len) {
		return false;
	}
	assert_true(f->len - f->off >= 16);
	*caplen = rd32(f, f->off + 8);
	*len = rd32(f, f->off + 12);
	assert_true(*caplen <= f->len - f->off - 16);
	*p = f->buf + f->off + 16;
	f->off += 16 + *caplen;
	return true;
}

static void
capfile_close(struct capfile *f)
{
	free(f->buf);
	f->buf = NULL;
}

/* --- the recordings --- */

struct vector {
	const char *file;
	uint32_t linktype;
	unsigned int n[LEAK_CLASS_COUNT];       /* in enum leak_class order */
	const char *want[6];                    /* substrings that some description has */
};

/*
 * The counts of the committed files: see record.sh for the traffic, and
 * `tund leakcheck -r FILE` or `tcpdump -r FILE -n -e` for each packet.
 */
static const struct vector vectors[] = {
	{ "eth-relay.pcap", LEAK_DLT_EN10MB, { 20, 15 },
	  { "TCP 192.0.2.1:", " > 192.0.2.2:9001 [S]", "> [2001:db8::2]:9001 [S]", "ARP request",
	    "ICMPv6 neighbour solicitation", "ICMPv6 MLDv2 report" } },
	{ "eth-leaks.pcap", LEAK_DLT_EN10MB, { 0, 1, 10, 0, 10 },
	  { "DNS query www.example.test A, UDP 192.0.2.1:",
	    "DNS query www.example.test AAAA, UDP [2001:db8::1]:",
	    "DNS query tcp.example.test A, TCP 192.0.2.1:", " > 192.0.2.2:8080 [S]",
	    "> [2001:db8::2]:9999 (IPv6 outside the tunnel)",
	    "ICMP echo request 192.0.2.1 > 192.0.2.2" } },
	{ "eth-tls.pcap", LEAK_DLT_EN10MB, { 29, 0, 0, 1 },
	  { "TLS SNI in clear: www.example.test, TCP 192.0.2.1:" } },
	{ "sll-mixed.pcap", LEAK_DLT_LINUX_SLL, { 10, 0, 1, 0, 3 },
	  { "DNS query www.example.test A", "ICMP unreachable 192.0.2.2 > 192.0.2.1" } },
	{ "sll2-mixed.pcap", LEAK_DLT_LINUX_SLL2, { 10, 1, 1, 0, 3 },
	  { "DNS query www.example.test A", "ICMPv6 router solicitation" } },
	{ "raw-mixed.pcap", LEAK_LINKTYPE_RAW, { 2, 1, 1, 0, 2 },
	  { "DNS query www.example.test A", "UDP [2001:db8::1]:" } },
};

static void
test_vectors(void **state)
{
	char desc[LEAK_DESC_MAX];
	const uint8_t *p;
	size_t caplen, len;

	for (size_t v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
		const struct vector *vec = &vectors[v];
		unsigned int n[LEAK_CLASS_COUNT] = { 0 };
		bool found[6] = { false };
		struct capfile f;

		capfile_open(&f, vec->file);
		assert_int_equal(f.linktype, vec->linktype);
		assert_true(leak_dlt_supported((int)f.linktype));
		while (capfile_next(&f, &p, &caplen, &len)) {
			enum leak_class c = classify((int)f.linktype, p, caplen, len, desc);

			if (getenv("LEAK_VERBOSE") != NULL) {
				printf("%s: %s: %s\n", vec->file, leak_class_name(c), desc);
			}
			n[c]++;
			for (size_t i = 0; i < 6; i++) {
				found[i] = found[i] || (vec->want[i] && strstr(desc, vec->want[i]));
			}
		}
		capfile_close(&f);
		for (int c = 0; c < LEAK_CLASS_COUNT; c++) {
			if (n[c] != vec->n[c]) {
				fail_msg("%s: %u %s, want %u", vec->file, n[c],
					 leak_class_name((enum leak_class)c), vec->n[c]);
			}
		}
		for (size_t i = 0; i < 6; i++) {
			if (vec->want[i] != NULL && !found[i]) {
				fail_msg("%s: no description has '%s'", vec->file, vec->want[i]);
			}
		}
	}
}

/*
 * What a shorter snap length may change: a frame cut before what decides
 * its class is malformed (a leak, never allowed traffic); an SNI cut
 * before its extension leaves relay traffic; an ICMP error cut before the
 * relay TCP it quotes is a leak. Nothing else moves.
 */
static void
assert_prefix_class(enum leak_class whole, enum leak_class part)
{
	if (part == whole || part == LEAK_MALFORMED) {
		return;
	}
	if (whole == LEAK_SNI && part == LEAK_RELAY) {
		return;
	}
	/* An ICMP error about relay TCP, its quote cut before the ports. */
	if (whole == LEAK_RELAY && part == LEAK_IP) {
		return;
	}
	fail_msg("a prefix of a %s frame is %s", leak_class_name(whole), leak_class_name(part));
}

static void
test_vectors_truncated(void **state)
{
	const uint8_t *p;
	size_t caplen, len;

	for (size_t v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
		struct capfile f;

		capfile_open(&f, vectors[v].file);
		while (capfile_next(&f, &p, &caplen, &len)) {
			enum leak_class whole = classify((int)f.linktype, p, caplen, len, NULL);

			for (size_t cut = 0; cut < caplen; cut++) {
				assert_prefix_class(whole,
						    classify((int)f.linktype, p, cut, len, NULL));
			}
			/* A len below caplen is taken as caplen. */
			assert_int_equal(classify((int)f.linktype, p, caplen, 0, NULL), whole);
		}
		capfile_close(&f);
	}
}

/* --- frames built here --- */

/*
 * The ClientHello of `openssl s_client -connect 192.0.2.2:9001 -servername
 * www.example.test -tls1_3` (OpenSSL 3.0), from eth-tls.pcap: a TLS record
 * of 245 bytes, server_name the first extension.
 */
static const uint8_t client_hello[] = {
	0x16, 0x03, 0x01, 0x00, 0xf5, 0x01, 0x00, 0x00, 0xf1, 0x03, 0x03, 0x9f,
	0xa9, 0x49, 0x28, 0x59, 0x95, 0x05, 0x3e, 0x2f, 0x4e, 0x98, 0xf2, 0xfd,
	0x2d, 0x33, 0x3c, 0xb4, 0x79, 0x1a, 0x72, 0xb9, 0xcd, 0x5a, 0xb2, 0x81,
	0xf0, 0xfd, 0x0d, 0x77, 0x61, 0x6c, 0x5a, 0x20, 0x00, 0x3d, 0x79, 0x2e,
	0x89, 0x22, 0xe3, 0x62, 0xf7, 0xa0, 0x20, 0xc7, 0x97, 0xd5, 0x73, 0x8e,
	0xc3, 0x2b, 0x2f, 0x7e, 0xed, 0xcb, 0x29, 0xd5, 0x76, 0x75, 0xd1, 0xf0,
	0x1e, 0xca, 0xa6, 0x5a, 0x00, 0x08, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01,
	0x00, 0xff, 0x01, 0x00, 0x00, 0xa0, 0x00, 0x00, 0x00, 0x15, 0x00, 0x13,
	0x00, 0x00, 0x10, 0x77, 0x77, 0x77, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70,
	0x6c, 0x65, 0x2e, 0x74, 0x65, 0x73, 0x74, 0x00, 0x0b, 0x00, 0x04, 0x03,
	0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x16, 0x00, 0x14, 0x00, 0x1d, 0x00,
	0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x01, 0x00, 0x01, 0x01, 0x01,
	0x02, 0x01, 0x03, 0x01, 0x04, 0x00, 0x23, 0x00, 0x00, 0x00, 0x16, 0x00,
	0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x1e, 0x00, 0x1c, 0x04,
	0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07, 0x08, 0x08, 0x08, 0x09, 0x08,
	0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x04, 0x01, 0x05,
	0x01, 0x06, 0x01, 0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04, 0x00, 0x2d,
	0x00, 0x02, 0x01, 0x01, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d,
	0x00, 0x20, 0x84, 0xeb, 0x18, 0x08, 0xb4, 0xb6, 0xc2, 0x30, 0xe1, 0x91,
	0x26, 0xa4, 0xab, 0x2d, 0x08, 0x6d, 0x41, 0x19, 0x64, 0x93, 0x0c, 0xca,
	0x63, 0xc5, 0xb9, 0x14, 0x5e, 0x8c, 0xcd, 0x49, 0x31, 0x7a,
};

/* Where the server_name extension's type and its name sit in client_hello. */
#define CH_SNI_EXT 90
#define CH_SNI_NAME 99
#define CH_SNI_NAME_LEN 16

struct frame {
	uint8_t b[4096];
	struct wcur w;
};

static void
ip_raw(const char *s, uint8_t *out, size_t *len)
{
	struct addr a;

	assert_int_equal(addr_parse(s, &a), 0);
	*len = a.family == AF_INET ? 4 : 16;
	memcpy(out, a.a, *len);
}

static void
put(struct frame *f, const void *p, size_t n)
{
	assert_true(wcur_put_bytes(&f->w, p, n));
}

static void
put8(struct frame *f, uint8_t v)
{
	assert_true(wcur_put_u8(&f->w, v));
}

static void
put16(struct frame *f, uint16_t v)
{
	assert_true(wcur_put_u16(&f->w, v));
}

static void
put32(struct frame *f, uint32_t v)
{
	assert_true(wcur_put_u32(&f->w, v));
}

static void
frame_init(struct frame *f)
{
	memset(f->b, 0, sizeof(f->b));
	wcur_init(&f->w, f->b, sizeof(f->b));
}

/* An Ethernet header with made-up, locally administered MAC addresses. */
static void
eth(struct frame *f, uint16_t type)
{
	static const uint8_t macs[12] = { 0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1 };

	put(f, macs, sizeof(macs));
	put16(f, type);
}

/*
 * An IP header from src to dst (the family from the text) for l4_len bytes
 * of proto. frag is IPv4's flags/offset word; the checksum stays 0, which
 * the classifier never looks at.
 */
static void
iph(struct frame *f, const char *src, const char *dst, uint8_t proto, uint8_t ttl, size_t l4_len,
    uint16_t frag)
{
	uint8_t s[16], d[16];
	size_t sl, dl;

	ip_raw(src, s, &sl);
	ip_raw(dst, d, &dl);
	assert_int_equal(sl, dl);
	if (sl == 4) {
		put8(f, 0x45);
		put8(f, 0);
		put16(f, (uint16_t)(20 + l4_len));
		put16(f, 0x1234);
		put16(f, frag);
		put8(f, ttl);
		put8(f, proto);
		put16(f, 0);
	} else {
		put32(f, 0x60000000);
		put16(f, (uint16_t)l4_len);
		put8(f, proto);
		put8(f, ttl);
	}
	put(f, s, sl);
	put(f, d, dl);
}

static void
tcph(struct frame *f, uint16_t sport, uint16_t dport, uint8_t flags)
{
	put16(f, sport);
	put16(f, dport);
	put32(f, 1000);
	put32(f, 0);
	put8(f, 5 << 4);
	put8(f, flags);
	put16(f, 65535);
	put32(f, 0);
}

static void
udph(struct frame *f, uint16_t sport, uint16_t dport, size_t payload_len)
{
	put16(f, sport);
	put16(f, dport);
	put16(f, (uint16_t)(8 + payload_len));
	put16(f, 0);
}

/* Ethernet + IP + TCP carrying payload. */
static void
tcp_frame(struct frame *f, const char *src, uint16_t sport, const char *dst, uint16_t dport,
	  const uint8_t *payload, size_t len)
{
	frame_init(f);
	eth(f, strchr(src, ':') ? 0x86dd : 0x0800);
	iph(f, src, dst, 6, 64, 20 + len, 0);
	tcph(f, sport, dport, 0x18);
	put(f, payload, len);
}

static void
udp_frame(struct frame *f, const char *src, uint16_t sport, const char *dst, uint16_t dport,
	  const uint8_t *payload, size_t len)
{
	frame_init(f);
	eth(f, strchr(src, ':') ? 0x86dd : 0x0800);
	iph(f, src, dst, 17, 64, 8 + len, 0);
	udph(f, sport, dport, len);
	put(f, payload, len);
}

static enum leak_class
eth_class(const struct frame *f, char *desc)
{
	return classify(LEAK_DLT_EN10MB, f->b, f->w.len, f->w.len, desc);
}

static void
assert_has(const char *desc, const char *want)
{
	if (strstr(desc, want) == NULL) {
		fail_msg("'%s' has no '%s'", desc, want);
	}
}

static void
test_sni(void **state)
{
	char desc[LEAK_DESC_MAX];
	struct frame f;

	assert_int_equal(client_hello[CH_SNI_EXT], 0);
	assert_int_equal(client_hello[CH_SNI_EXT + 1], 0);
	assert_memory_equal(client_hello + CH_SNI_NAME, "www.example.test", CH_SNI_NAME_LEN);

	tcp_frame(&f, "192.0.2.1", 40000, "192.0.2.2", 9001, client_hello, sizeof(client_hello));
	assert_int_equal(eth_class(&f, desc), LEAK_SNI);
	assert_string_equal(desc, "TLS SNI in clear: www.example.test, TCP 192.0.2.1:40000 > "
				  "192.0.2.2:9001 [P.]");
	/* Either direction of a relay connection. */
	tcp_frame(&f, "192.0.2.2", 9001, "192.0.2.1", 40000, client_hello, sizeof(client_hello));
	assert_int_equal(eth_class(&f, desc), LEAK_SNI);

	tcp_frame(&f, "2001:db8::1", 40000, "2001:db8::2", 9001, client_hello,
		  sizeof(client_hello));
	assert_int_equal(eth_class(&f, desc), LEAK_SNI);
	assert_has(desc, "TLS SNI in clear: www.example.test, TCP [2001:db8::1]:40000 > ");
	assert_has(desc, "(IPv6 outside the tunnel)");

	/* Not a relay: a leak anyway, and the name is said. */
	tcp_frame(&f, "192.0.2.1", 40000, "192.0.2.9", 443, client_hello, sizeof(client_hello));
	assert_int_equal(eth_class(&f, desc), LEAK_IP);
	assert_has(desc,
		   "TCP 192.0.2.1:40000 > 192.0.2.9:443 [P.], TLS SNI in clear: www.example.test");
	/* The relay's address at another port is not the relay. */
	tcp_frame(&f, "192.0.2.1", 40000, "192.0.2.2", 9002, client_hello, sizeof(client_hello));
	assert_int_equal(eth_class(&f, desc), LEAK_IP);
}

static void
test_sni_absent(void **state)
{
	uint8_t ch[sizeof(client_hello)];
	char desc[LEAK_DESC_MAX];
	struct frame f;

	/* The same hello with its server_name renamed to a GREASE type (RFC 8701): ours. */
	memcpy(ch, client_hello, sizeof(ch));
	ch[CH_SNI_EXT] = 0x0a;
	ch[CH_SNI_EXT + 1] = 0x0a;
	tcp_frame(&f, "192.0.2.1", 40000, "192.0.2.2", 9001, ch, sizeof(ch));
	assert_int_equal(eth_class(&f, desc), LEAK_RELAY);
	assert_string_equal(desc, "TCP 192.0.2.1:40000 > 192.0.2.2:9001 [P.]");

	/* Application data, or a handshake that is not a ClientHello: not looked into. */
	memcpy(ch, client_hello, sizeof(ch));
	ch[0] = 23;
	tcp_frame(&f, "192.0.2.1", 40000, "192.0.2.2", 9001, ch, sizeof(ch));
	assert_int_equal(eth_class(&f, desc), LEAK_RELAY);
	memcpy(ch, client_hello, sizeof(ch));
	ch[5] = 2;
	tcp_frame(&f, "192.0.2.1", 40000, "192.0.2.2", 9001, ch, sizeof(ch));
	assert_int_equal(eth_class(&f, desc), LEAK_RELAY);

	/* A record that starts mid-segment is not seen: no reassembly (leak.h). */
	memcpy(ch, client_hello, sizeof(ch));
	tcp_frame(&f, "192.0.2.1", 40000, "192.0.2.2", 9001, ch + 1, sizeof(ch) - 1);
	assert_int_equal(eth_class(&f, desc), LEAK_RELAY);
}

/*
 * The SNI frame cut at every length: malformed until the ports, relay
 * traffic until the extension's type, then an SNI whose name grows from
 * "(not captured)" through prefixes ending in "..." to the whole name.
 */
static void
test_sni_truncated(void **state)
{
	const size_t hdrs = 14 + 20 + 20;
	const char *name;
	char desc[LEAK_DESC_MAX];
	struct frame f;
	enum leak_class c;
	size_t shown;

	tcp_frame(&f, "192.0.2.1", 40000, "192.0.2.2", 9001, client_hello, sizeof(client_hello));
	for (size_t cut = 0; cut <= f.w.len; cut++) {
		c = classify(LEAK_DLT_EN10MB, f.b, cut, f.w.len, desc);
		if (cut < 14 + 20 + 4) {
			assert_int_equal(c, LEAK_MALFORMED);
			assert_has(desc, "malformed frame: ");
			continue;
		}
		if (cut < hdrs + CH_SNI_EXT + 4) {
			assert_int_equal(c, LEAK_RELAY);
			continue;
		}
		assert_int_equal(c, LEAK_SNI);
		name = desc + strlen("TLS SNI in clear: ");
		shown = cut - hdrs - CH_SNI_NAME;
		if (cut <= hdrs + CH_SNI_NAME) {
			assert_has(desc, "TLS SNI in clear: (not captured), TCP ");
		} else if (shown < CH_SNI_NAME_LEN) {
			assert_memory_equal(name, "www.example.test", shown);
			assert_memory_equal(name + shown, "..., TCP ", 9);
		} else {
			assert_has(desc, "TLS SNI in clear: www.example.test, TCP ");
		}
	}
}

static void
test_sni_hostile(void **state)
{
	uint8_t ch[sizeof(client_hello)];
	char desc[LEAK_DESC_MAX];
	struct frame f;

	/* A terminal escape, a newline, a high byte, a backslash and a space, escaped. */
	memcpy(ch, client_hello, sizeof(ch));
	ch[CH_SNI_NAME] = 0x1b;
	ch[CH_SNI_NAME + 1] = '\n';
	ch[CH_SNI_NAME + 2] = 0xff;
	ch[CH_SNI_NAME + 3] = '\\';
	ch[CH_SNI_NAME + 4] = ' ';
	tcp_frame(&f, "192.0.2.1", 40000, "192.0.2.2", 9001, ch, sizeof(ch));
	assert_int_equal(eth_class(&f, desc), LEAK_SNI);
	assert_has(desc, "TLS SNI in clear: \\x1b\\x0a\\xff\\\\\\x20xample.test, ");

	/* A name length past the record: the name as far as it goes. */
	memcpy(ch, client_hello, sizeof(ch));
	ch[CH_SNI_NAME - 1] = 0xff;
	tcp_frame(&f, "192.0.2.1", 40000, "192.0.2.2", 9001, ch, sizeof(ch));
	assert_int_equal(eth_class(&f, desc), LEAK_SNI);
	assert_has(desc, "TLS SNI in clear: www.example.test");
	assert_has(desc, "..., TCP 192.0.2.1:40000");

	/* Extension lengths that lie: nothing read past the end, the frame still relay or SNI. */
	for (size_t i = 0; i < sizeof(ch); i++) {
		memcpy(ch, client_hello, sizeof(ch));
		ch[i] = 0xff;
		tcp_frame(&f, "192.0.2.1", 40000, "192.0.2.2", 9001, ch, sizeof(ch));
		assert_true(eth_class(&f, desc) == LEAK_RELAY || eth_class(&f, desc) == LEAK_SNI);
	}
}

/* A DNS query for the name given as wire labels. */
static size_t
dns_query(uint8_t *out, size_t cap, const uint8_t *qname, size_t qlen, uint16_t qtype)
{
	struct wcur w;

	wcur_init(&w, out, cap);
	assert_true(wcur_put_u16(&w, 0xbeef) && wcur_put_u16(&w, 0x0100) && wcur_put_u16(&w, 1) &&
		    wcur_put_u16(&w, 0) && wcur_put_u16(&w, 0) && wcur_put_u16(&w, 0));
	assert_true(wcur_put_bytes(&w, qname, qlen));
	assert_true(wcur_put_u16(&w, qtype) && wcur_put_u16(&w, 1));
	return w.len;
}

static void
test_dns(void **state)
{
	static const uint8_t www[] = "\3www\7example\4test";
	static const uint8_t odd[] = "\5a.b\\\x01\3\x7f\xff ";
	static const uint8_t ptr[] = "\3www\xc0\x0c";
	uint8_t msg[600], tcpmsg[602];
	char desc[LEAK_DESC_MAX];
	struct frame f;
	size_t n;

	n = dns_query(msg, sizeof(msg), www, sizeof(www), 1);
	udp_frame(&f, "192.0.2.1", 5353, "224.0.0.251", 5353, msg, n);
	assert_int_equal(eth_class(&f, desc), LEAK_DNS);
	assert_string_equal(desc,
			    "mDNS query www.example.test A, UDP 192.0.2.1:5353 > 224.0.0.251:5353");
	udp_frame(&f, "2001:db8::1", 40000, "2001:db8::53", 53, msg, n);
	assert_int_equal(eth_class(&f, desc), LEAK_DNS);
	assert_string_equal(desc, "DNS query www.example.test A, UDP [2001:db8::1]:40000 > "
				  "[2001:db8::53]:53 (IPv6 outside the tunnel)");
	udp_frame(&f, "192.0.2.1", 5355, "224.0.0.252", 5355, msg, n);
	assert_int_equal(eth_class(&f, desc), LEAK_DNS);
	assert_has(desc, "LLMNR query www.example.test A");

	/* Over TCP: a length prefix first (RFC 1035 section 4.2.2). */
	tcpmsg[0] = (uint8_t)(n >> 8);
	tcpmsg[1] = (uint8_t)n;
	memcpy(tcpmsg + 2, msg, n);
	tcp_frame(&f, "192.0.2.1", 40000, "192.0.2.53", 53, tcpmsg, n + 2);
	assert_int_equal(eth_class(&f, desc), LEAK_DNS);
	assert_string_equal(desc, "DNS query www.example.test A, TCP 192.0.2.1:40000 > "
				  "192.0.2.53:53 [P.]");

	/* A response, the type by number when it has no name here. */
	n = dns_query(msg, sizeof(msg), www, sizeof(www), 99);
	msg[2] |= 0x80;
	udp_frame(&f, "192.0.2.53", 53, "192.0.2.1", 40000, msg, n);
	assert_int_equal(eth_class(&f, desc), LEAK_DNS);
	assert_has(desc, "DNS response www.example.test TYPE99, UDP 192.0.2.53:53 > ");

	/* Bytes of a label that would mislead a reader, escaped. */
	n = dns_query(msg, sizeof(msg), odd, sizeof(odd), 28);
	udp_frame(&f, "192.0.2.1", 40000, "192.0.2.53", 53, msg, n);
	assert_int_equal(eth_class(&f, desc), LEAK_DNS);
	assert_has(desc, "DNS query a\\.b\\\\\\x01.\\x7f\\xff\\x20 AAAA, ");

	/* A pointer in a question is not followed. */
	n = dns_query(msg, sizeof(msg), ptr, sizeof(ptr) - 1, 1);
	udp_frame(&f, "192.0.2.1", 40000, "192.0.2.53", 53, msg, n);
	assert_int_equal(eth_class(&f, desc), LEAK_DNS);
	assert_has(desc, "DNS query www.(pointer), UDP ");

	/* No question and no answer, or no whole header: DNS still, no name. */
	n = dns_query(msg, sizeof(msg), www, sizeof(www), 1);
	msg[5] = 0;
	udp_frame(&f, "192.0.2.1", 40000, "192.0.2.53", 53, msg, n);
	assert_int_equal(eth_class(&f, desc), LEAK_DNS);
	assert_string_equal(desc, "DNS, UDP 192.0.2.1:40000 > 192.0.2.53:53");
	udp_frame(&f, "192.0.2.1", 40000, "192.0.2.53", 53, msg, 5);
	assert_int_equal(eth_class(&f, desc), LEAK_DNS);
	assert_string_equal(desc, "DNS, UDP 192.0.2.1:40000 > 192.0.2.53:53");

	/* An mDNS announcement: no question, the first answer's name. */
	n = dns_query(msg, sizeof(msg), www, sizeof(www), 1);
	msg[5] = 0;
	msg[7] = 1;
	udp_frame(&f, "192.0.2.1", 5353, "224.0.0.251", 5353, msg, n);
	assert_int_equal(eth_class(&f, desc), LEAK_DNS);
	assert_has(desc, "mDNS record www.example.test A, ");
}

/* The longest name, every byte escaped: the description still ends within the buffer. */
static void
test_desc_limits(void **state)
{
	uint8_t qname[4 * 64 + 1], msg[600];
	char desc[LEAK_DESC_MAX], small[12];
	struct frame f;
	size_t n = 0;

	for (int l = 0; l < 4; l++) {
		qname[n++] = 63;
		memset(qname + n, 0xff, 63);
		n += 63;
	}
	qname[n++] = 0;
	n = dns_query(msg, sizeof(msg), qname, n, 1);
	udp_frame(&f, "2001:db8:ffff:ffff:ffff:ffff:ffff:fff1", 65535,
		  "2001:db8:ffff:ffff:ffff:ffff:ffff:fff2", 53, msg, n);
	assert_int_equal(eth_class(&f, desc), LEAK_DNS);
	assert_has(desc, "\\xff\\xff...");
	assert_has(desc, "(IPv6 outside the tunnel)");
	assert_true(strlen(desc) < LEAK_DESC_MAX - 1);

	/* A short buffer is cut and terminated; none at all is fine. */
	memset(small, 'X', sizeof(small));
	assert_int_equal(leak_classify(LEAK_DLT_EN10MB, f.b, f.w.len, f.w.len, relays, 2, small,
				       sizeof(small)),
			 LEAK_DNS);
	assert_string_equal(small, "DNS query \\");
	small[0] = 'X';
	assert_int_equal(leak_classify(LEAK_DLT_EN10MB, f.b, f.w.len, f.w.len, relays, 2, small, 1),
			 LEAK_DNS);
	assert_int_equal(small[0], '\0');
	assert_int_equal(leak_classify(LEAK_DLT_EN10MB, f.b, f.w.len, f.w.len, relays, 2, NULL, 0),
			 LEAK_DNS);
	/* No relays: nothing is allowed traffic. */
	tcp_frame(&f, "192.0.2.1", 40000, "192.0.2.2", 9001, NULL, 0);
	assert_int_equal(leak_classify(LEAK_DLT_EN10MB, f.b, f.w.len, f.w.len, NULL, 0, NULL, 0),
			 LEAK_IP);
}

/* An ICMPv6 message of the given type with hop limit hl, from a link-local address. */
static enum leak_class
icmp6_class(uint8_t type, uint8_t hl, bool hbh, char *desc)
{
	struct frame f;

	frame_init(&f);
	eth(&f, 0x86dd);
	iph(&f, "fe80::1", "ff02::16", hbh ? 0 : 58, hl, (hbh ? 8 : 0) + 8, 0);
	if (hbh) {
		/* Hop-by-hop options with a router alert (RFC 2711), as MLD has. */
		put8(&f, 58);
		put8(&f, 0);
		put32(&f, 0x05020000);
		put16(&f, 0x0100);
	}
	put8(&f, type);
	put8(&f, 0);
	put16(&f, 0);
	put32(&f, 0);
	return eth_class(&f, desc);
}

static void
test_housekeeping(void **state)
{
	char desc[LEAK_DESC_MAX];
	struct frame f;

	for (uint8_t t = 133; t <= 137; t++) {
		assert_int_equal(icmp6_class(t, 255, false, desc), LEAK_HOUSEKEEPING);
		/* RFC 4861: anything else did not come from this link. */
		assert_int_equal(icmp6_class(t, 64, false, desc), LEAK_IP);
		assert_has(desc,
			   "neighbour discovery without hop limit 255 (IPv6 outside the tunnel)");
	}
	static const uint8_t mld[] = { 130, 131, 132, 143 };
	for (size_t i = 0; i < sizeof(mld); i++) {
		assert_int_equal(icmp6_class(mld[i], 1, true, desc), LEAK_HOUSEKEEPING);
		assert_int_equal(icmp6_class(mld[i], 1, false, desc), LEAK_HOUSEKEEPING);
		assert_int_equal(icmp6_class(mld[i], 2, true, desc), LEAK_IP);
		assert_has(desc, "MLD without hop limit 1");
	}
	assert_int_equal(icmp6_class(143, 1, true, desc), LEAK_HOUSEKEEPING);
	assert_string_equal(desc, "ICMPv6 MLDv2 report fe80::1 > ff02::16");
	assert_int_equal(icmp6_class(128, 255, false, desc), LEAK_IP);
	assert_has(desc, "ICMPv6 echo request fe80::1 > ff02::16 (IPv6 outside the tunnel)");
	assert_int_equal(icmp6_class(200, 255, false, desc), LEAK_IP);
	assert_has(desc, "ICMPv6 type 200 code 0 ");

	/* IGMP with TTL 1 is the kernel's; with any other TTL it is not. */
	frame_init(&f);
	eth(&f, 0x0800);
	iph(&f, "192.0.2.1", "224.0.0.22", 2, 1, 8, 0);
	put32(&f, 0x22000000);
	put32(&f, 0);
	assert_int_equal(eth_class(&f, desc), LEAK_HOUSEKEEPING);
	assert_string_equal(desc, "IGMP 192.0.2.1 > 224.0.0.22");
	f.b[14 + 8] = 64;
	assert_int_equal(eth_class(&f, desc), LEAK_IP);
	assert_string_equal(desc, "IGMP 192.0.2.1 > 224.0.0.22, IGMP without TTL 1");

	/* ARP, whatever its operation, even cut after the ethertype. */
	frame_init(&f);
	eth(&f, 0x0806);
	put16(&f, 1);
	put16(&f, 0x0800);
	put8(&f, 6);
	put8(&f, 4);
	put16(&f, 2);
	assert_int_equal(eth_class(&f, desc), LEAK_HOUSEKEEPING);
	assert_string_equal(desc, "ARP reply");
	assert_int_equal(classify(LEAK_DLT_EN10MB, f.b, 14, 42, desc), LEAK_HOUSEKEEPING);
	assert_string_equal(desc, "ARP");

	/* Not housekeeping: DHCP names the host. */
	udp_frame(&f, "0.0.0.0", 68, "255.255.255.255", 67, (const uint8_t *)"x", 1);
	assert_int_equal(eth_class(&f, desc), LEAK_IP);
	assert_string_equal(desc, "UDP 0.0.0.0:68 > 255.255.255.255:67 (DHCP)");
}

/* An ICMP(v6) error quoting a TCP header from qsrc:qsport to qdst:qdport. */
static enum leak_class
icmp_error_class(const char *qsrc, uint16_t qsport, const char *qdst, uint16_t qdport,
		 uint8_t type, size_t quote_tcp, char *desc)
{
	bool v6 = strchr(qsrc, ':') != NULL;
	struct frame q, f;

	frame_init(&q);
	iph(&q, qsrc, qdst, 6, 64, 20 + 1400, 0x4000);
	tcph(&q, qsport, qdport, 0x10);
	frame_init(&f);
	eth(&f, v6 ? 0x86dd : 0x0800);
	iph(&f, v6 ? "2001:db8:1::1" : "192.0.2.254", qsrc, v6 ? 58 : 1, 64,
	    8 + (v6 ? 40 : 20) + quote_tcp, 0);
	put8(&f, type);
	put8(&f, v6 ? 0 : 4);
	put16(&f, 0);
	put32(&f, 1280);
	put(&f, q.b, (v6 ? 40 : 20) + quote_tcp);
	return eth_class(&f, desc);
}

static void
test_icmp_errors(void **state)
{
	char desc[LEAK_DESC_MAX];

	/* Path-MTU discovery for the relay connection belongs to it. */
	assert_int_equal(icmp_error_class("192.0.2.1", 40000, "192.0.2.2", 9001, 3, 8, desc),
			 LEAK_RELAY);
	assert_string_equal(desc, "ICMP unreachable 192.0.2.254 > 192.0.2.1, about relay TCP");
	assert_int_equal(icmp_error_class("2001:db8::1", 40000, "2001:db8::2", 9001, 2, 8, desc),
			 LEAK_RELAY);
	assert_string_equal(desc,
			    "ICMPv6 packet too big 2001:db8:1::1 > 2001:db8::1, about relay TCP");
	assert_int_equal(icmp_error_class("192.0.2.1", 40000, "192.0.2.2", 9001, 11, 20, desc),
			 LEAK_RELAY);
	/* Not about a relay, or the quote too short for the ports. */
	assert_int_equal(icmp_error_class("192.0.2.1", 40000, "192.0.2.2", 443, 3, 8, desc),
			 LEAK_IP);
	assert_int_equal(icmp_error_class("192.0.2.1", 40000, "192.0.2.2", 9001, 3, 3, desc),
			 LEAK_IP);
	/* Echo is not an error, whatever it carries. */
	assert_int_equal(icmp_error_class("192.0.2.1", 40000, "192.0.2.2", 9001, 8, 8, desc),
			 LEAK_IP);
	assert_int_equal(icmp_error_class("2001:db8::1", 40000, "2001:db8::2", 9001, 128, 8, desc),
			 LEAK_IP);
}

static void
test_fragments_and_lengths(void **state)
{
	char desc[LEAK_DESC_MAX];
	struct frame f;

	/* A first fragment is classified; a later one has no ports to show. */
	frame_init(&f);
	eth(&f, 0x0800);
	iph(&f, "192.0.2.1", "192.0.2.2", 6, 64, 20, 0x2000);
	tcph(&f, 40000, 9001, 0x10);
	assert_int_equal(eth_class(&f, desc), LEAK_RELAY);
	frame_init(&f);
	eth(&f, 0x0800);
	iph(&f, "192.0.2.1", "192.0.2.2", 6, 64, 20, 0x00b9);
	tcph(&f, 40000, 9001, 0x10);
	assert_int_equal(eth_class(&f, desc), LEAK_IP);
	assert_string_equal(desc,
			    "IPv4 fragment at offset 1480, protocol 6, 192.0.2.1 > 192.0.2.2");

	/* IPv6: a fragment header at offset 0 is walked through, past 0 it ends the walk. */
	frame_init(&f);
	eth(&f, 0x86dd);
	iph(&f, "2001:db8::1", "2001:db8::2", 44, 64, 8 + 20, 0);
	put8(&f, 6);
	put8(&f, 0);
	put16(&f, 0x0001);
	put32(&f, 7);
	tcph(&f, 40000, 9001, 0x10);
	assert_int_equal(eth_class(&f, desc), LEAK_RELAY);
	f.b[14 + 40 + 2] = 0x05;
	f.b[14 + 40 + 3] = 0xc8;
	assert_int_equal(eth_class(&f, desc), LEAK_IP);
	assert_has(desc, "IPv6 fragment at offset 1480, protocol 6, 2001:db8::1 > 2001:db8::2");
	/* An extension header cut short. */
	assert_int_equal(classify(LEAK_DLT_EN10MB, f.b, 14 + 40 + 5, f.w.len, desc),
			 LEAK_MALFORMED);
	assert_has(desc, "malformed frame: IPv6 extension header cut short, 2001:db8::1 > ");

	/* Lengths that claim more than the frame had: malformed. */
	tcp_frame(&f, "192.0.2.1", 40000, "192.0.2.2", 9001, NULL, 0);
	f.b[14 + 3] = 41;
	assert_int_equal(eth_class(&f, desc), LEAK_MALFORMED);
	assert_has(desc,
		   "malformed frame: IPv4 total length 41, header 20, frame 40, 192.0.2.1 > ");
	/* More than captured, but not more than on the wire: only truncation. */
	assert_int_equal(classify(LEAK_DLT_EN10MB, f.b, f.w.len, f.w.len + 1, desc), LEAK_RELAY);
	f.b[14 + 3] = 19;
	assert_int_equal(eth_class(&f, desc), LEAK_MALFORMED);
	/* 0: the rest of the frame (BIG TCP). */
	f.b[14 + 3] = 0;
	assert_int_equal(eth_class(&f, desc), LEAK_RELAY);
	/* A header length below 20, or past the frame. */
	f.b[14] = 0x44;
	assert_int_equal(eth_class(&f, desc), LEAK_MALFORMED);
	assert_has(desc, "IPv4 header length 16");
	f.b[14] = 0x4f;
	assert_int_equal(eth_class(&f, desc), LEAK_MALFORMED);
	/* Bytes after the packet (Ethernet padding) are not the packet's: no SNI in them. */
	tcp_frame(&f, "192.0.2.1", 40000, "192.0.2.2", 9001, client_hello, sizeof(client_hello));
	assert_int_equal(eth_class(&f, desc), LEAK_SNI);
	f.b[14 + 2] = 0;
	f.b[14 + 3] = 40;
	assert_int_equal(eth_class(&f, desc), LEAK_RELAY);

	tcp_frame(&f, "2001:db8::1", 40000, "2001:db8::2", 9001, NULL, 0);
	f.b[14 + 5] = 21;
	assert_int_equal(eth_class(&f, desc), LEAK_MALFORMED);
	assert_has(desc, "IPv6 payload length 21, frame 60");
	f.b[14 + 5] = 0;
	assert_int_equal(eth_class(&f, desc), LEAK_RELAY);

	/* The version must be the one the link type or ethertype says. */
	f.b[14] = 0x40;
	assert_int_equal(eth_class(&f, desc), LEAK_MALFORMED);
	assert_has(desc, "IPv6 expected, IP version 4");
	assert_int_equal(classify(LEAK_DLT_IPV4, f.b + 14, f.w.len - 14, f.w.len - 14, desc),
			 LEAK_MALFORMED);
	f.b[14] = 0x70;
	assert_int_equal(classify(LEAK_DLT_RAW, f.b + 14, f.w.len - 14, f.w.len - 14, desc),
			 LEAK_MALFORMED);
	assert_string_equal(desc, "malformed frame: IP version 7");
	assert_int_equal(classify(LEAK_DLT_RAW, f.b, 0, 0, desc), LEAK_MALFORMED);

	/* A mapped address is not the IPv4 relay it spells. */
	tcp_frame(&f, "2001:db8::1", 40000, "2001:db8::2", 9001, NULL, 0);
	memset(f.b + 14 + 24, 0, 10);
	memset(f.b + 14 + 34, 0xff, 2);
	memcpy(f.b + 14 + 36, relays[0].addr.a, 4);
	assert_int_equal(eth_class(&f, desc), LEAK_IP);
}

static void
test_link_layers(void **state)
{
	char desc[LEAK_DESC_MAX];
	struct frame f, t;

	tcp_frame(&t, "192.0.2.1", 40000, "192.0.2.2", 9001, NULL, 0);
	assert_int_equal(classify(LEAK_DLT_RAW, t.b + 14, 40, 40, desc), LEAK_RELAY);
	assert_int_equal(classify(LEAK_LINKTYPE_RAW, t.b + 14, 40, 40, desc), LEAK_RELAY);
	assert_int_equal(classify(LEAK_DLT_IPV4, t.b + 14, 40, 40, desc), LEAK_RELAY);
	assert_int_equal(classify(LEAK_DLT_IPV6, t.b + 14, 40, 40, desc), LEAK_MALFORMED);

	/* Two VLAN tags pass, a third is too many. */
	frame_init(&f);
	put(&f, t.b, 12);
	put16(&f, 0x88a8);
	put16(&f, 100);
	put16(&f, 0x8100);
	put16(&f, 200);
	put(&f, t.b + 12, t.w.len - 12);
	assert_int_equal(eth_class(&f, desc), LEAK_RELAY);
	frame_init(&f);
	put(&f, t.b, 12);
	for (int i = 0; i < 3; i++) {
		put16(&f, 0x8100);
		put16(&f, 100);
	}
	put(&f, t.b + 12, t.w.len - 12);
	assert_int_equal(eth_class(&f, desc), LEAK_MALFORMED);

	/* PPPoE sessions carry IP (RFC 2516); LCP is not IP. */
	frame_init(&f);
	eth(&f, 0x8864);
	put16(&f, 0x1100);
	put16(&f, 0x0001);
	put16(&f, 42);
	put16(&f, 0x0021);
	put(&f, t.b + 14, 40);
	assert_int_equal(eth_class(&f, desc), LEAK_RELAY);
	f.b[14 + 6] = 0xc0;
	assert_int_equal(eth_class(&f, desc), LEAK_NON_IP);
	assert_string_equal(desc, "non-IP frame: PPPoE session, PPP protocol 0xc021");

	/* Frames that are not IP at all. */
	frame_init(&f);
	eth(&f, 0x88cc);
	put32(&f, 0);
	assert_int_equal(eth_class(&f, desc), LEAK_NON_IP);
	assert_string_equal(desc, "non-IP frame: LLDP, ethertype 0x88cc");
	frame_init(&f);
	eth(&f, 0x9000);
	assert_int_equal(eth_class(&f, desc), LEAK_NON_IP);
	assert_string_equal(desc, "non-IP frame: ethertype 0x9000");
	frame_init(&f);
	eth(&f, 38);
	put(&f, "\x42\x42\x03", 3);
	assert_int_equal(eth_class(&f, desc), LEAK_NON_IP);
	assert_string_equal(desc, "non-IP frame: 802.3 frame of length 38 (LLC)");

	/* Linux cooked v1 and v2 around the same packet. */
	frame_init(&f);
	put16(&f, 4);
	put16(&f, 1);
	put16(&f, 6);
	put(&f, t.b, 8);
	put16(&f, 0x0800);
	put(&f, t.b + 14, 40);
	assert_int_equal(classify(LEAK_DLT_LINUX_SLL, f.b, f.w.len, f.w.len, desc), LEAK_RELAY);
	f.b[14] = 0;
	f.b[15] = 4;
	assert_int_equal(classify(LEAK_DLT_LINUX_SLL, f.b, f.w.len, f.w.len, desc), LEAK_NON_IP);
	assert_string_equal(desc, "non-IP frame: Linux cooked protocol 0x0004");
	frame_init(&f);
	put16(&f, 0x0800);
	put16(&f, 0);
	put32(&f, 2);
	put16(&f, 1);
	put8(&f, 4);
	put8(&f, 6);
	put(&f, t.b, 8);
	put(&f, t.b + 14, 40);
	assert_int_equal(classify(LEAK_DLT_LINUX_SLL2, f.b, f.w.len, f.w.len, desc), LEAK_RELAY);
	assert_int_equal(classify(LEAK_DLT_LINUX_SLL2, f.b, 19, f.w.len, desc), LEAK_MALFORMED);
	assert_string_equal(desc, "malformed frame: Linux cooked v2 header cut short");

	/* A link type we do not know is never allowed traffic. */
	assert_false(leak_dlt_supported(105));
	assert_int_equal(classify(105, t.b, t.w.len, t.w.len, desc), LEAK_MALFORMED);
	assert_string_equal(desc, "malformed frame: unsupported link type 105");
	assert_int_equal(classify(LEAK_DLT_EN10MB, t.b, 13, 13, desc), LEAK_MALFORMED);
	assert_string_equal(desc, "malformed frame: Ethernet header cut short");

	/* Transport headers cut before the ports. */
	assert_int_equal(classify(LEAK_DLT_EN10MB, t.b, 14 + 20 + 3, t.w.len, desc),
			 LEAK_MALFORMED);
	assert_string_equal(desc, "malformed frame: TCP header cut short before the ports, "
				  "192.0.2.1 > 192.0.2.2");
	assert_int_equal(classify(LEAK_DLT_EN10MB, t.b, 14 + 19, t.w.len, desc), LEAK_MALFORMED);
	assert_string_equal(desc,
			    "malformed frame: IPv4 header cut short (19 of 20 bytes captured)");
	/* Other protocols: by number. */
	t.b[14 + 9] = 47;
	assert_int_equal(eth_class(&t, desc), LEAK_IP);
	assert_string_equal(desc, "IPv4 protocol 47 192.0.2.1 > 192.0.2.2");
}

static void
test_names(void **state)
{
	assert_string_equal(leak_class_name(LEAK_RELAY), "relay");
	assert_string_equal(leak_class_name(LEAK_HOUSEKEEPING), "housekeeping");
	assert_string_equal(leak_class_name(LEAK_DNS), "dns");
	assert_string_equal(leak_class_name(LEAK_SNI), "sni");
	assert_string_equal(leak_class_name(LEAK_IP), "ip");
	assert_string_equal(leak_class_name(LEAK_NON_IP), "non-ip");
	assert_string_equal(leak_class_name(LEAK_MALFORMED), "malformed");
	assert_string_equal(leak_class_name(LEAK_CLASS_COUNT), "?");
	for (int c = 0; c < LEAK_CLASS_COUNT; c++) {
		assert_int_equal(leak_class_is_leak((enum leak_class)c),
				 c != LEAK_RELAY && c != LEAK_HOUSEKEEPING);
	}
	assert_true(leak_dlt_supported(LEAK_DLT_EN10MB));
	assert_true(leak_dlt_supported(LEAK_DLT_RAW));
	assert_true(leak_dlt_supported(LEAK_LINKTYPE_RAW));
	assert_true(leak_dlt_supported(LEAK_DLT_LINUX_SLL));
	assert_true(leak_dlt_supported(LEAK_DLT_LINUX_SLL2));
	assert_true(leak_dlt_supported(LEAK_DLT_IPV4));
	assert_true(leak_dlt_supported(LEAK_DLT_IPV6));
	assert_false(leak_dlt_supported(0));
	assert_false(leak_dlt_supported(-1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_vectors_truncated),
		cmocka_unit_test(test_sni),
		cmocka_unit_test(test_sni_absent),
		cmocka_unit_test(test_sni_truncated),
		cmocka_unit_test(test_sni_hostile),
		cmocka_unit_test(test_dns),
		cmocka_unit_test(test_desc_limits),
		cmocka_unit_test(test_housekeeping),
		cmocka_unit_test(test_icmp_errors),
		cmocka_unit_test(test_fragments_and_lengths),
		cmocka_unit_test(test_link_layers),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}

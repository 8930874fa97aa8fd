/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the TCP segment codec (tund/tcp_wire.c). The first
 * byte picks the family; the rest is the TCP segment, put inside a valid
 * IP header built with ip_build_hdr so that tcp_wire_parse is what meets
 * the bytes. On TCP_WIRE_OK it checks the promises of tcp_wire.h: header
 * and payload add up to the segment, the payload lies inside it, flags fit
 * six bits, options are in range. Then the parsed segment is built again
 * with tcp_wire_build and parsed back: every field must survive (window
 * scale clamped to 14, timestamps never sent), the checksum must verify
 * (checked by hand: under the fuzzing define ip.c skips it), and the
 * header written must be as long as the options need. Every prefix
 * shorter than 20 bytes must be TCP_WIRE_SHORT.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../tund/ip.h"
#include "../../tund/tcp_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pkt_buf[IP_HDR_MAX + 65536];
static uint8_t out[TCP_WIRE_HDR_MAX + 65536];

static void
check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_tcp_wire: invariant broken: %s\n", what);
		abort();
	}
}

static bool
l4_sum_ok(const struct ip_pkt *p)
{
	uint32_t sum = ip_pseudo_sum(&p->src, &p->dst, IP_PROTO_TCP, p->l4_len);

	return ip_csum_fold(ip_csum_add(sum, p->l4, p->l4_len)) == 0;
}

/* Builds pkt's segment again and checks it parses back the same. */
static void
round_trip(const struct ip_pkt *pkt, const struct tcp_seg *seg)
{
	struct ip_pkt p2;
	struct tcp_seg s2;
	size_t hl, olen = 0, nsack = 0;

	hl = tcp_wire_build(out, sizeof(out) - seg->len, &pkt->src, &pkt->dst, seg);
	check(hl > 0, "build of a parsed segment failed");
	olen += seg->mss ? 4 : 0;
	olen += seg->wscale >= 0 ? 4 : 0;
	olen += seg->sack_ok ? 4 : 0;
	/* SACK blocks, as many as the 40 option bytes still hold. */
	if (seg->n_sack > 0 && olen + 4 + 8 <= TCP_OPTS_MAX) {
		nsack = (TCP_OPTS_MAX - olen - 4) / 8;
		nsack = nsack < seg->n_sack ? nsack : seg->n_sack;
		olen += 4 + 8 * nsack;
	}
	check(hl == (pkt->version == 4 ? 20u : 40u) + TCP_HDR_MIN + olen, "header length");
	if (seg->len > 0) {
		memcpy(out + hl, seg->data, seg->len);
	}
	check(ip_parse(out, hl + seg->len, &p2) == IP_OK, "built packet does not parse");
	check(p2.proto == IP_PROTO_TCP, "built packet not TCP");
	check(addr_eq(&p2.src, &pkt->src) && addr_eq(&p2.dst, &pkt->dst), "addresses");
	check(l4_sum_ok(&p2), "built checksum");
	check(tcp_wire_parse(&p2, &s2) == TCP_WIRE_OK, "built segment does not parse");
	check(s2.sport == seg->sport && s2.dport == seg->dport, "ports");
	check(s2.seq == seg->seq && s2.ack == seg->ack, "seq/ack");
	check(s2.flags == seg->flags && s2.wnd == seg->wnd, "flags/window");
	check(s2.mss == seg->mss && s2.wscale == seg->wscale, "mss/wscale");
	check(s2.sack_ok == seg->sack_ok && !s2.has_ts, "sack/ts");
	check(s2.n_sack == nsack, "sack blocks");
	for (size_t i = 0; i < nsack; i++) {
		check(s2.sack_l[i] == seg->sack_l[i] && s2.sack_r[i] == seg->sack_r[i], "sack block edges");
	}
	check(s2.len == seg->len, "payload length");
	check(seg->len == 0 || memcmp(s2.data, seg->data, seg->len) == 0, "payload bytes");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t a4[4] = { 192, 0, 2, 1 }, r4[4] = { 198, 18, 0, 7 };
	static const uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const uint8_t r6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 7 };
	struct addr src, dst;
	struct ip_pkt pkt;
	struct tcp_seg seg;
	enum tcp_wire_res r;
	size_t hl, len;
	uint8_t *copy;

	if (size < 1 || size > 65000) {
		return 0;
	}
	if (data[0] & 1) {
		addr_set_raw(&src, a6, 16);
		addr_set_raw(&dst, r6, 16);
	} else {
		addr_set_raw(&src, a4, 4);
		addr_set_raw(&dst, r4, 4);
	}
	data++;
	size--;
	hl = ip_build_hdr(pkt_buf, sizeof(pkt_buf), &src, &dst, IP_PROTO_TCP, size, 64);
	check(hl > 0, "ip_build_hdr");
	len = hl + size;
	/* An exactly sized heap copy, so ASan sees any read past the segment. */
	copy = malloc(len);
	check(copy != NULL, "malloc");
	memcpy(copy, pkt_buf, hl);
	memcpy(copy + hl, data, size);
	check(ip_parse(copy, len, &pkt) == IP_OK, "the IP view");
	check(pkt.l4_len == size, "l4 length");
	r = tcp_wire_parse(&pkt, &seg);
	check(r < TCP_WIRE_COUNT, "result in range");
	check(strcmp(tcp_wire_res_name(r), "tcp-?") != 0, "result name");
	if (size < TCP_HDR_MIN) {
		check(r == TCP_WIRE_SHORT, "short segment not TCP_WIRE_SHORT");
	}
	if (r == TCP_WIRE_OK) {
		size_t off = (size_t)(data[12] >> 4) * 4;

		check(off >= TCP_HDR_MIN && off <= size, "data offset");
		check(seg.data == pkt.l4 + off && seg.len == size - off, "payload view");
		check((seg.flags & ~0x3f) == 0, "flags");
		check(seg.wscale >= -1 && seg.wscale <= 14, "wscale range");
		check(seg.sport != 0 && seg.dport != 0, "ports");
		round_trip(&pkt, &seg);
	}
	free(copy);
	return 0;
}

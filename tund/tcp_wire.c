// SPDX-License-Identifier: MIT
/*
 * TCP segments: see tcp_wire.h. Options are walked with a cursor over the
 * option space alone, so a lying length can only end the walk, never
 * reach the payload or past the header.
 */
#include "tcp_wire.h"

#include <string.h>

#include "cur.h"

const char *
tcp_wire_res_name(enum tcp_wire_res r)
{
	switch (r) {
	case TCP_WIRE_OK:
		return "ok";
	case TCP_WIRE_SHORT:
		return "tcp-short";
	case TCP_WIRE_OFFSET:
		return "tcp-offset";
	case TCP_WIRE_OPTS:
		return "tcp-options";
	case TCP_WIRE_CSUM:
		return "tcp-csum";
	case TCP_WIRE_PORT:
		return "tcp-port";
	default:
		return "tcp-?";
	}
}

/* RFC 9293 section 3.2: kind 0 ends, 1 pads, others are kind, length (>= 2), value. */
static bool
parse_options(struct cur *o, struct tcp_seg *seg)
{
	while (cur_left(o) > 0) {
		uint8_t kind, len;
		struct cur v;

		if (!cur_get_u8(o, &kind)) {
			return false;
		}
		if (kind == 0) {
			return true;
		}
		if (kind == 1) {
			continue;
		}
		if (!cur_get_u8(o, &len) || len < 2 || !cur_get_sub(o, &v, (size_t)len - 2)) {
			return false;
		}
		switch (kind) {
		case 2: /* MSS, RFC 9293 3.7.1 */
			if (len != 4 || !cur_get_u16(&v, &seg->mss)) {
				return false;
			}
			break;
		case 3: { /* window scale, RFC 7323 2.2; shifts above 14 are taken as 14 */
			uint8_t sh;

			if (len != 3 || !cur_get_u8(&v, &sh)) {
				return false;
			}
			seg->wscale = (int8_t)(sh > 14 ? 14 : sh);
			break;
		}
		case 4: /* SACK-permitted, RFC 2018 */
			if (len != 2) {
				return false;
			}
			seg->sack_ok = true;
			break;
		case 8: /* timestamps, RFC 7323 3.2 */
			if (len != 10 || !cur_get_u32(&v, &seg->ts_val) || !cur_get_u32(&v, &seg->ts_ecr)) {
				return false;
			}
			seg->has_ts = true;
			break;
		case 5: /* SACK blocks, RFC 2018 section 3: 8 bytes each */
			if (len < 10 || (len - 2) % 8 != 0) {
				return false;
			}
			while (cur_left(&v) >= 8 && seg->n_sack < TCP_SACK_MAX) {
				cur_get_u32(&v, &seg->sack_l[seg->n_sack]);
				cur_get_u32(&v, &seg->sack_r[seg->n_sack]);
				seg->n_sack++;
			}
			break;
		default:
			/* The rest: skipped by their length. */
			break;
		}
	}
	return true;
}

enum tcp_wire_res
tcp_wire_parse(const struct ip_pkt *pkt, struct tcp_seg *seg)
{
	struct cur c, opts;
	uint8_t off_byte, flags;
	size_t hlen;

	memset(seg, 0, sizeof(*seg));
	seg->wscale = -1;
	cur_init(&c, pkt->l4, pkt->l4_len);
	if (!cur_get_u16(&c, &seg->sport) || !cur_get_u16(&c, &seg->dport) ||
	    !cur_get_u32(&c, &seg->seq) || !cur_get_u32(&c, &seg->ack) ||
	    !cur_get_u8(&c, &off_byte) || !cur_get_u8(&c, &flags) || !cur_get_u16(&c, &seg->wnd) ||
	    !cur_skip(&c, 4)) {
		return TCP_WIRE_SHORT;
	}
	hlen = (size_t)(off_byte >> 4) * 4;
	if (hlen < TCP_HDR_MIN || hlen > pkt->l4_len) {
		return TCP_WIRE_OFFSET;
	}
	if (seg->sport == 0 || seg->dport == 0) {
		return TCP_WIRE_PORT;
	}
	seg->flags = flags & 0x3f;
	if (!cur_get_sub(&c, &opts, hlen - TCP_HDR_MIN) || !parse_options(&opts, seg)) {
		return TCP_WIRE_OPTS;
	}
	if (!ip_l4_csum_ok(pkt)) {
		return TCP_WIRE_CSUM;
	}
	seg->data = pkt->l4 + hlen;
	seg->len = pkt->l4_len - hlen;
	return TCP_WIRE_OK;
}

size_t
tcp_wire_build(uint8_t *out, size_t cap, const struct addr *src, const struct addr *dst,
	       const struct tcp_seg *seg)
{
	uint8_t opts[TCP_OPTS_MAX];
	struct wcur o, w;
	size_t ip_len, tcp_len, olen;
	uint32_t sum;
	uint16_t csum;

	wcur_init(&o, opts, sizeof(opts));
	if (seg->mss) {
		wcur_put_u8(&o, 2);
		wcur_put_u8(&o, 4);
		wcur_put_u16(&o, seg->mss);
	}
	if (seg->wscale >= 0) {
		wcur_put_u8(&o, 1);
		wcur_put_u8(&o, 3);
		wcur_put_u8(&o, 3);
		wcur_put_u8(&o, (uint8_t)seg->wscale);
	}
	if (seg->sack_ok) {
		wcur_put_u8(&o, 1);
		wcur_put_u8(&o, 1);
		wcur_put_u8(&o, 4);
		wcur_put_u8(&o, 2);
	}
	if (seg->n_sack > 0 && o.len + 4 + 8 <= TCP_OPTS_MAX) {
		/* As many blocks as the option space has room for, the first (newest) first. */
		size_t n = (TCP_OPTS_MAX - o.len - 4) / 8;

		if (n > seg->n_sack) {
			n = seg->n_sack;
		}
		wcur_put_u8(&o, 1);
		wcur_put_u8(&o, 1);
		wcur_put_u8(&o, 5);
		wcur_put_u8(&o, (uint8_t)(2 + 8 * n));
		for (size_t i = 0; i < n; i++) {
			wcur_put_u32(&o, seg->sack_l[i]);
			wcur_put_u32(&o, seg->sack_r[i]);
		}
	}
	/* The option space must stay a multiple of 4 (RFC 9293 3.1: data offset in words). */
	while (o.len % 4 != 0) {
		wcur_put_u8(&o, 1);
	}
	olen = o.len;
	tcp_len = TCP_HDR_MIN + olen;
	ip_len = ip_build_hdr(out, cap, src, dst, IP_PROTO_TCP, tcp_len + seg->len, 64);
	if (ip_len == 0 || cap - ip_len < tcp_len) {
		return 0;
	}
	wcur_init(&w, out + ip_len, tcp_len);
	wcur_put_u16(&w, seg->sport);
	wcur_put_u16(&w, seg->dport);
	wcur_put_u32(&w, seg->seq);
	wcur_put_u32(&w, seg->ack);
	wcur_put_u8(&w, (uint8_t)((tcp_len / 4) << 4));
	wcur_put_u8(&w, seg->flags);
	wcur_put_u16(&w, seg->wnd);
	wcur_put_u16(&w, 0);            /* checksum, below */
	wcur_put_u16(&w, 0);            /* urgent pointer */
	wcur_put_bytes(&w, opts, olen);
	sum = ip_pseudo_sum(src, dst, IP_PROTO_TCP, tcp_len + seg->len);
	sum = ip_csum_add(sum, out + ip_len, tcp_len);
	sum = ip_csum_add(sum, seg->data, seg->len);
	csum = ip_csum_fold(sum);
	out[ip_len + 16] = (uint8_t)(csum >> 8);
	out[ip_len + 17] = (uint8_t)csum;
	return ip_len + tcp_len;
}

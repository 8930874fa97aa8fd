/* SPDX-License-Identifier: MIT */
/*
 * TCP segments on the wire (RFC 9293 section 3.1): the header and the
 * options tund uses (MSS, window scale, SACK-permitted, timestamps),
 * parsed from an IP packet's payload and built in front of a payload.
 * Pure: no state, no clock. The connection logic is tcp.c's.
 *
 * Parsing checks the data offset against the bytes present, every
 * option's length against the option space, and the checksum (ip.h;
 * skipped under FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION). Unknown
 * options are skipped by their length.
 */
#ifndef TUND_TCP_WIRE_H
#define TUND_TCP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "ip.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20

#define TCP_HDR_MIN 20
/*
 * Options we build: on a SYN-ACK MSS (4), window scale (3 + 1 NOP),
 * SACK-permitted (2 + 2 NOP); on other segments up to TCP_SACK_MAX SACK
 * blocks (2 NOP + 2 + 8 each). The option space is 40 bytes.
 */
#define TCP_OPTS_MAX 40
#define TCP_SACK_MAX 4
/* The longest IP + TCP header tcp_wire_build writes. */
#define TCP_WIRE_HDR_MAX (IP_HDR_MAX + TCP_HDR_MIN + TCP_OPTS_MAX)

struct tcp_seg {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t wnd;           /* as on the wire, not scaled */
	/* Options: mss 0 and wscale -1 when absent. */
	uint16_t mss;
	int8_t wscale;
	bool sack_ok;
	uint8_t n_sack;         /* SACK blocks (RFC 2018): read, and built when n_sack > 0 */
	uint32_t sack_l[TCP_SACK_MAX], sack_r[TCP_SACK_MAX];
	bool has_ts;
	uint32_t ts_val, ts_ecr;
	const uint8_t *data;    /* the payload, borrowed from the packet */
	size_t len;
};

enum tcp_wire_res {
	TCP_WIRE_OK = 0,
	TCP_WIRE_SHORT,         /* fewer than 20 bytes */
	TCP_WIRE_OFFSET,        /* data offset < 5 or past the segment */
	TCP_WIRE_OPTS,          /* an option's length lies */
	TCP_WIRE_CSUM,
	TCP_WIRE_PORT,          /* source or destination port 0 */
	TCP_WIRE_COUNT,
};

const char *tcp_wire_res_name(enum tcp_wire_res r);

/* Parses pkt's TCP segment (pkt->proto must be TCP) into *seg. */
enum tcp_wire_res tcp_wire_parse(const struct ip_pkt *pkt, struct tcp_seg *seg);

/*
 * Writes the IP and TCP headers (with seg's options: mss when not 0,
 * wscale when >= 0, sack_ok, n_sack blocks; timestamps are never sent) for a segment
 * src -> dst carrying seg->data/len, checksummed over the payload too.
 * The payload itself is not copied: the caller sends the header and
 * then the payload. Returns the header length, or 0 when cap is short
 * or the payload does not fit the IP length.
 */
size_t tcp_wire_build(uint8_t *out, size_t cap, const struct addr *src, const struct addr *dst,
		      const struct tcp_seg *seg);

/* Wrap-safe sequence comparisons (RFC 9293 section 3.4). */
static inline bool
tcp_seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool
tcp_seq_leq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

static inline bool
tcp_seq_gt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static inline bool
tcp_seq_geq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * tund's DNS responder (DESIGN section 5), pure: one query in, one action
 * out, no fd and no clock of its own.
 *
 *   A, AAAA of any name      addresses from the fake-IP pool, TTL DNS_FAKE_TTL
 *   PTR of a fake address    its name
 *   HTTPS (65), SVCB (64)    NOERROR with no answer: their address hints
 *                            would bypass the fake addresses
 *   localhost, *.localhost   A 127.0.0.1, AAAA ::1, other types NOERROR empty
 *                            (RFC 6761 section 6.3), never forwarded
 *   any other type, class IN forwarded through a circuit (the DNS command);
 *                            the exit's answer goes back unchanged
 *   other classes            REFUSED; opcodes other than QUERY: NOTIMP
 *   malformed queries        FORMERR when the header can be read, else a drop;
 *                            responses (QR set) are dropped
 *
 * Answers copy the question as asked (its case included), echo an EDNS0
 * OPT record when the query had one (RFC 6891), and never exceed the size
 * the client can take (512 bytes over UDP without EDNS0, its EDNS0 size
 * otherwise, 65535 over TCP): a longer one is cut to the header and the
 * question with TC set (RFC 1035 section 4.2.1), so the client retries
 * over TCP.
 */
#ifndef TUND_DNS_H
#define TUND_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fakeip.h"

#define DNS_FAKE_TTL 5
/* The most a DNS message can be (TCP framing's 16-bit length). */
#define DNS_MAX_MSG 65535
#define DNS_UDP_MIN 512

enum dns_action {
	DNS_REPLY,      /* *out holds the answer */
	DNS_FORWARD,    /* send the query through a circuit; pass its answer with dns_fit() */
	DNS_DROP,       /* nothing to answer */
};

/*
 * Handles one query (a UDP payload or one TCP frame). max_len is what the
 * transport allows: DNS_UDP_MIN for UDP (raised by the query's EDNS0
 * size), DNS_MAX_MSG for TCP. On DNS_REPLY, out (cap bytes; DNS_MAX_MSG
 * is always enough) holds *out_len bytes. f may be NULL (no pool): A and
 * AAAA are then forwarded.
 */
enum dns_action dns_handle(struct fakeip *f, const uint8_t *q, size_t qlen, size_t max_len,
			   uint64_t now_ms, uint8_t *out, size_t cap, size_t *out_len);

/* The most a UDP answer to q may be: 512, or q's EDNS0 size (at most 65535). */
size_t dns_udp_limit(const uint8_t *q, size_t qlen);

/*
 * Fits a forwarded answer (msg, len, edited in place) into max_len: when
 * longer, it is cut to header and question with TC set. Returns the new
 * length, or 0 when msg is not a well-formed response.
 */
size_t dns_fit(uint8_t *msg, size_t len, size_t max_len);

/* The message ID (first two bytes), to map forwarded queries; false if shorter. */
bool dns_get_id(const uint8_t *msg, size_t len, uint16_t *id);
void dns_set_id(uint8_t *msg, size_t len, uint16_t id);

/*
 * Reads the question of a query for logs and tests: its name in text
 * (lowercased, no final dot, at most FAKEIP_NAME_MAX + 1 bytes with the
 * NUL), type and class. False when q is malformed.
 */
bool dns_question(const uint8_t *q, size_t qlen, char *name, size_t name_cap, uint16_t *qtype,
		  uint16_t *qclass);

#endif

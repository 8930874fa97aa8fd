/* SPDX-License-Identifier: MIT */
/*
 * tund's DNS responder (DESIGN section 5), pure: one query in, one action
 * out, no fd and no clock of its own.
 *
 *   A, AAAA of any name      addresses from the fake-IP pool, TTL DNS_FAKE_TTL;
 *                            NOERROR empty for a family the pool lacks,
 *                            SERVFAIL when the pool is exhausted, REFUSED
 *                            for a name text cannot carry (a label byte
 *                            outside 0x21..0x7e, or '.' or '\\' in a label);
 *                            the root name is forwarded
 *   ANY (255)                as A and AAAA together (RFC 8482 allows a subset)
 *   PTR of a fake address    its name (NXDOMAIN when its slot is free)
 *   HTTPS (65), SVCB (64)    NOERROR with no answer: their address hints
 *                            would bypass the fake addresses
 *   localhost, *.localhost   A 127.0.0.1, AAAA ::1, other types NOERROR empty
 *                            (RFC 6761 section 6.3), never forwarded
 *   AXFR, IXFR               REFUSED: a transfer is no single answer
 *   any other type, class IN forwarded through a circuit (the DNS command);
 *                            the exit's answer goes back unchanged
 *   other classes            REFUSED (ANY included); opcodes other than
 *                            QUERY: NOTIMP (header only)
 *   EDNS0 version above 0    BADVERS (RFC 6891 section 6.1.3)
 *   malformed queries        FORMERR (header only) when the header can be
 *                            read, else a drop; responses (QR set) are dropped
 *
 * A query must be what stub resolvers send: QDCOUNT 1, ANCOUNT and
 * NSCOUNT 0, ARCOUNT 0 or one OPT, nothing after it; names within 255
 * bytes, labels within 63, compression pointers only backwards and never
 * into the header. Answers have QR and RA set, RD copied, AA clear.
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
/*
 * The largest UDP answer tund sends whatever the query's EDNS0 size says
 * (RFC 6891 section 6.2.5 suggests 4096 to start with): larger ones would
 * need IP fragments on the TUN, so TC and TCP are the better way.
 */
#define DNS_UDP_MAX 4096
/* The UDP size tund's own OPT records advertise (DNS flag day 2020). */
#define DNS_EDNS_SIZE 1232

enum dns_action {
	DNS_REPLY,      /* *out holds the answer */
	DNS_FORWARD,    /* send the query through a circuit; pass its answer with dns_fit() */
	DNS_DROP,       /* nothing to answer */
};

/*
 * Handles one query (a UDP payload or one TCP frame). max_len is what the
 * transport allows: dns_udp_limit(q) for UDP, DNS_MAX_MSG for TCP. On
 * DNS_REPLY, out (cap bytes; DNS_MAX_MSG is always enough, and 1024 is
 * for every answer tund writes) holds *out_len bytes, at most max_len.
 * f may be NULL (no pool): A, AAAA, ANY and PTR are then forwarded. When
 * cap or max_len is below 12 nothing fits: DNS_DROP.
 */
enum dns_action dns_handle(struct fakeip *f, const uint8_t *q, size_t qlen, size_t max_len,
			   uint64_t now_ms, uint8_t *out, size_t cap, size_t *out_len);

/*
 * The most a UDP answer to q may be: 512, or q's EDNS0 size when larger,
 * at most DNS_UDP_MAX. A query that does not parse gets 512.
 */
size_t dns_udp_limit(const uint8_t *q, size_t qlen);

/*
 * Fits a forwarded answer (msg, len, edited in place) into max_len: when
 * longer, it is cut to header and question with TC set and ANCOUNT,
 * NSCOUNT and ARCOUNT zeroed. Returns the new length, or 0 when msg is
 * not a well-formed response (a header with QR set, QDCOUNT 0 or 1, that
 * question readable) or when even header and question exceed max_len.
 * Only the header and question are checked; the rest is the exit's.
 */
size_t dns_fit(uint8_t *msg, size_t len, size_t max_len);

/* The message ID (first two bytes), to map forwarded queries; false if shorter. */
bool dns_get_id(const uint8_t *msg, size_t len, uint16_t *id);
void dns_set_id(uint8_t *msg, size_t len, uint16_t id);

/*
 * Reads the (first) question of a message for logs and tests: its name in
 * text (lowercased, no final dot, "" for the root, at most
 * FAKEIP_NAME_MAX + 1 bytes with the NUL), type and class (either may be
 * NULL). False when q is malformed, when the name has a byte text cannot
 * carry (see the table above), or when name_cap is too small.
 */
bool dns_question(const uint8_t *q, size_t qlen, char *name, size_t name_cap, uint16_t *qtype,
		  uint16_t *qclass);

/*
 * DNS over TCP's framing (RFC 7766 section 8: a 2-byte length, then the
 * message), reassembled from a byte stream one frame at a time, for tund's
 * own DNS-over-TCP server and the DNS stream through the exit alike. The
 * buffer (2 + DNS_MAX_MSG bytes) is allocated on first use.
 */
struct dns_frame {
	uint8_t *buf;
	size_t len;
};

/*
 * Takes up to len bytes of p, stopping at the end of a frame; returns how
 * many were taken. When that completes a frame, *msg and *msg_len give
 * its message (the caller may edit it; valid until the next call);
 * otherwise *msg is NULL. Empty
 * frames are skipped. 0 with *msg NULL and len > 0: out of memory.
 */
size_t dns_frame_take(struct dns_frame *f, const uint8_t *p, size_t len, uint8_t **msg,
		      size_t *msg_len);
void dns_frame_fini(struct dns_frame *f);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Downstream record alignment (DESIGN 3.6): how a relay cuts the bytes it
 * sends back to the client into TLS records, so that each record of the
 * layers inside fits one record of its own layer.
 *
 * The client sizes its records by depth on the way up (circuit.c). On the
 * way down no relay knows its depth, but none needs to:
 *   - bytes that are not a TLS record stream (what an exit reads from a
 *     destination) go out in records of at most RECALIGN_PLAIN_CHUNK:
 *     16384 less the overhead of RECALIGN_MAX_HOPS - 1 layers around it;
 *   - bytes that are one (what a middle relay reads from the next relay,
 *     or an exit from an HTTPS server) go out one record of theirs per
 *     record of ours, when it fits (at most 16384 bytes), and in
 *     RECALIGN_PLAIN_CHUNK pieces when it does not.
 * So a record the exit writes, 16230 + 22 bytes, travels inside exactly
 * one record at every relay before it, up to 8 hops.
 *
 * A record stream is recognised by its first five bytes (a handshake
 * record header, as a TLS server's first flight starts) and followed by
 * its headers; a header that does not parse turns the rest into plain
 * bytes for good. A record that has only partly arrived is held back
 * while the caller says it may wait (more is coming, and there is room):
 * its receiver could not decrypt a part anyway. A relay holds nothing
 * back otherwise: plain bytes and the first bytes of a stream are never
 * held.
 *
 * The core does no I/O: bytes in, a count out.
 */
#ifndef RECALIGN_H
#define RECALIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RECALIGN_MAX_RECORD 16384       /* TLS's largest plaintext fragment */
#define RECALIGN_OVERHEAD 22            /* TLS 1.3: 5 header, 1 type, 16 tag */
#define RECALIGN_MAX_HOPS 8
#define RECALIGN_PLAIN_CHUNK (RECALIGN_MAX_RECORD - RECALIGN_OVERHEAD * (RECALIGN_MAX_HOPS - 1))
/* TLS 1.3's largest ciphertext record: header and 2^14 + 256. */
#define RECALIGN_MAX_TLS_RECORD (5 + 16384 + 256)

enum recalign_mode {
	RECALIGN_UNKNOWN,
	RECALIGN_TLS,
	RECALIGN_PLAIN,
};

struct recalign {
	size_t own;             /* the writer's own bytes at the head: go as they are */
	enum recalign_mode mode;
	size_t total;           /* TLS: the current record's size, header included */
	size_t left;            /* of it, bytes not yet taken (0: at a boundary) */
};

/*
 * How many of the len bytes at p (the head of the stream not yet sent)
 * go into the next record: at most RECALIGN_MAX_RECORD, at least 1 when
 * len > 0 and !can_wait; 0 means hold them until more arrive. Calling it
 * again with the same or more bytes, and can_wait the same or turned
 * false, gives the same count or more, so a retried write offers at least
 * what it offered before. (can_wait turning true could lower it: the
 * relay's never does while a write is pending, as it stays false once
 * upstream ended or the buffer filled, and only a write makes room.)
 */
size_t recalign_next(struct recalign *ra, const uint8_t *p, size_t len, bool can_wait);
/* n of those bytes were sent (n at most what recalign_next returned). */
void recalign_took(struct recalign *ra, size_t n);
/*
 * The stream's head now holds n bytes of the writer's own (a relay's
 * SOCKS5 method choice and reply), queued before any of the bytes it
 * cuts: they go out as they are, in records of their own, and are never
 * taken for the start of the stream.
 */
void recalign_own(struct recalign *ra, size_t n);

#endif

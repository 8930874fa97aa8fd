/* SPDX-License-Identifier: MIT */
/*
 * DNS over TCP's framing (RFC 7766 section 8: a 2-byte length, then the
 * message), read in place: the relay's DNS command parses the frames out
 * of its receive buffer with this, through the cursor helpers (cur.h).
 * tund reassembles frames from a byte stream with dns_frame_take
 * (tund/dns.h); fuzz_dnsframe checks that the two agree.
 */
#ifndef DNSFRAME_H
#define DNSFRAME_H

#include <stddef.h>
#include <stdint.h>

/* A DNS message is at least its 12-byte header. */
#define DNSFRAME_MIN_MSG 12

/*
 * Looks at the frame at the start of p[0..len). 1: a whole frame, its
 * message at p + 2 with *msg_len bytes (*frame_len = 2 + *msg_len); 0: not
 * all of it is there yet (*frame_len says how many bytes it needs once
 * its length is known, else 2); -EINVAL: its length is below
 * DNSFRAME_MIN_MSG (no DNS message is that short).
 */
int dns_frame_peek(const uint8_t *p, size_t len, size_t *msg_len, size_t *frame_len);

#endif

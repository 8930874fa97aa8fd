/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for DNS-over-TCP framing, both readers: the relay's
 * in-place dns_frame_peek (src/dnsframe.c) and tund's reassembling
 * dns_frame_take (tund/dns.c). The input is a byte stream; the first byte
 * sets the piece size dns_frame_take is fed in. Checked: every frame
 * peek finds lies within the input, is at least DNSFRAME_MIN_MSG long and
 * is what the length says; take yields the same messages, byte for byte,
 * in the same order, up to the first frame peek refuses (take skips empty
 * frames and takes short ones, which the relay refuses).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnsframe.h"
#include "../../tund/dns.h"

#define MAX_FRAMES 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off[MAX_FRAMES], mlen[MAX_FRAMES], n = 0, o, piece, got = 0;
	struct dns_frame f = { 0 };
	size_t stop;

	if (size < 1) {
		return 0;
	}
	piece = (size_t)data[0] + 1;
	data++;
	size--;
	/* The relay's reading: frames in place, until one is refused or cut. */
	o = 0;
	while (n < MAX_FRAMES) {
		size_t ml, fl;
		int r = dns_frame_peek(data + o, size - o, &ml, &fl);

		if (r < 0) {
			if (size - o < 2 || ((size_t)data[o] << 8 | data[o + 1]) >= DNSFRAME_MIN_MSG) {
				abort();
			}
			break;
		}
		if (r == 0) {
			if (size - o >= 2 && fl != 2 + ((size_t)data[o] << 8 | data[o + 1])) {
				abort();
			}
			if (fl <= size - o) {
				abort();        /* it was all there */
			}
			break;
		}
		if (ml < DNSFRAME_MIN_MSG || fl != 2 + ml || fl > size - o ||
		    ml != ((size_t)data[o] << 8 | data[o + 1])) {
			abort();
		}
		off[n] = o + 2;
		mlen[n] = ml;
		n++;
		o += fl;
	}
	stop = o;
	/* tund's reading of the same bytes up to there, in pieces. */
	o = 0;
	while (o < stop) {
		size_t len = stop - o < piece ? stop - o : piece;
		uint8_t *msg;
		size_t ml, t = dns_frame_take(&f, data + o, len, &msg, &ml);

		if (t == 0 || t > len) {
			abort();
		}
		o += t;
		if (msg != NULL) {
			if (got >= n || ml != mlen[got] || memcmp(msg, data + off[got], ml) != 0) {
				abort();
			}
			got++;
		}
	}
	if (got != n) {
		abort();
	}
	dns_frame_fini(&f);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for downstream record alignment (src/recalign.c), the
 * relay's reading of the record headers in what it sends back. The input:
 * the first byte seeds the arrival schedule (how many bytes come per
 * step, and whether the relay may wait), the rest is the stream. The
 * relay's loop is played: next on what has arrived, took on it. Checked:
 * a count never exceeds what has arrived nor one record of ours; asking
 * twice gives the same count, and a retry with more bytes and no more
 * right to wait at least as many (a retried write offers the same bytes
 * or more);
 * when waiting is not allowed something always goes; the whole stream
 * goes in the end; in the record mode, no count crosses a record
 * boundary of the stream.
 */
#include <stdint.h>
#include <stdlib.h>

#include "recalign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct recalign ra = { 0 };
	uint32_t seed;
	size_t sent = 0, here = 0;

	if (size < 1) {
		return 0;
	}
	seed = data[0] * 2654435761u + 1;
	/* Sometimes the writer's own bytes come first (a relay's reply). */
	if (data[0] & 1) {
		recalign_own(&ra, data[0] % 23);
	}
	data++;
	size--;
	while (sent < size) {
		size_t n, again;
		bool wait;

		seed = seed * 1103515245u + 12345u;
		/* Arrivals from 1 byte to about 40 KB, so records come whole and cut. */
		here += 1 + (seed >> 8) % ((seed & 0x80) ? 40000 : 64);
		if (here > size) {
			here = size;
		}
		wait = here < size && (seed & 0x300) != 0;
		n = recalign_next(&ra, data + sent, here - sent, wait);
		again = recalign_next(&ra, data + sent, here - sent, wait);
		if (n != again || n > here - sent || n > RECALIGN_MAX_RECORD) {
			abort();
		}
		if (!wait && n == 0 && here > sent) {
			abort();
		}
		if (ra.mode == RECALIGN_TLS && n > 0 && n > ra.left) {
			abort();
		}
		/* A retry after a blocked write: more may have arrived, and the
		 * relay may have lost the right to wait, never gained it. */
		if (n > 0 && (seed & 0x400)) {
			size_t more = here + (seed >> 12) % 3000;
			size_t n2;

			here = more < size ? more : size;
			wait = wait && here < size && (seed & 0x800);
			n2 = recalign_next(&ra, data + sent, here - sent, wait);
			if (n2 < n || n2 > here - sent || n2 > RECALIGN_MAX_RECORD) {
				abort();
			}
			n = n2;
		}
		recalign_took(&ra, n);
		sent += n;
	}
	return 0;
}

// SPDX-License-Identifier: MIT
/* Downstream record alignment: see recalign.h. */
#include "recalign.h"

/* A TLS record header: a known content type, version 3.1 to 3.4, a length
 * TLS allows. Returns the record's size with its header, 0 if not one. */
static size_t
record_size(const uint8_t *p)
{
	size_t n = (size_t)p[3] << 8 | p[4];

	if (p[0] < 20 || p[0] > 23 || p[1] != 3 || p[2] < 1 || p[2] > 4 ||
	    5 + n > RECALIGN_MAX_TLS_RECORD) {
		return 0;
	}
	return 5 + n;
}

static size_t
plain(struct recalign *ra, size_t len)
{
	ra->mode = RECALIGN_PLAIN;
	return len < RECALIGN_PLAIN_CHUNK ? len : RECALIGN_PLAIN_CHUNK;
}

size_t
recalign_next(struct recalign *ra, const uint8_t *p, size_t len, bool can_wait)
{
	size_t n, cap;

	if (len == 0) {
		return 0;
	}
	if (ra->own > 0) {
		return len < ra->own ? len : ra->own;
	}
	if (ra->mode == RECALIGN_UNKNOWN) {
		/* Never held: a short first message of a plain protocol must go. */
		if (len < 5 || p[0] != 22 || record_size(p) == 0) {
			return plain(ra, len);
		}
		ra->mode = RECALIGN_TLS;
	}
	if (ra->mode == RECALIGN_PLAIN) {
		return plain(ra, len);
	}
	if (ra->left == 0) {
		if (len < 5) {
			if (can_wait) {
				return 0;
			}
			/* A header cut by a full buffer or the end: give up aligning. */
			return plain(ra, len);
		}
		ra->total = record_size(p);
		if (ra->total == 0) {
			return plain(ra, len);
		}
		ra->left = ra->total;
	}
	cap = ra->total <= RECALIGN_MAX_RECORD ? RECALIGN_MAX_RECORD : RECALIGN_PLAIN_CHUNK;
	if (ra->left == ra->total && ra->total <= RECALIGN_MAX_RECORD && len < ra->total && can_wait) {
		return 0;
	}
	n = len < ra->left ? len : ra->left;
	return n < cap ? n : cap;
}

void
recalign_own(struct recalign *ra, size_t n)
{
	ra->own = n;
}

void
recalign_took(struct recalign *ra, size_t n)
{
	if (ra->own > 0) {
		ra->own = n < ra->own ? ra->own - n : 0;
		return;
	}
	if (ra->mode == RECALIGN_TLS) {
		ra->left = n < ra->left ? ra->left - n : 0;
	}
}

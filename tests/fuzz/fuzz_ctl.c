/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the status socket's request (tund/ctl.c,
 * ctl_parse_request). The input arrives in pieces, as recv would hand it
 * over (each piece's length from the first byte), into a buffer of the
 * socket's size. Checked: the answer never changes once a line is there
 * (more bytes after the newline change nothing), STATUS and JSON only for
 * exactly "status" or "json" (a CR allowed) before the first newline, BAD
 * only for a full buffer without a newline, MORE only without one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../tund/ctl.h"

#define CAP 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum ctl_req
expect(const char *b, size_t len)
{
	const char *nl = memchr(b, '\n', len);
	size_t n;

	if (nl == NULL) {
		return len >= CAP ? CTL_REQ_BAD : CTL_REQ_MORE;
	}
	n = (size_t)(nl - b);
	if (n && b[n - 1] == '\r') {
		n--;
	}
	if (n == 6 && !memcmp(b, "status", 6)) {
		return CTL_REQ_STATUS;
	}
	if (n == 4 && !memcmp(b, "json", 4)) {
		return CTL_REQ_JSON;
	}
	return CTL_REQ_UNKNOWN;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[CAP];
	size_t len = 0, piece, off = 1;
	enum ctl_req first = CTL_REQ_MORE, r;

	if (size < 1) {
		return 0;
	}
	piece = (size_t)(data[0] % 8) + 1;
	while (off < size && len < CAP) {
		size_t n = size - off < piece ? size - off : piece;

		if (n > CAP - len) {
			n = CAP - len;
		}
		memcpy(buf + len, data + off, n);
		len += n;
		off += n;
		r = ctl_parse_request(buf, len, CAP);
		if (r != expect(buf, len)) {
			abort();
		}
		if (first == CTL_REQ_MORE) {
			first = r;
		} else if (r != first) {
			abort();        /* a decided request stays decided */
		}
		if (r != CTL_REQ_MORE && r != CTL_REQ_BAD && memchr(buf, '\n', len) == NULL) {
			abort();
		}
	}
	return 0;
}

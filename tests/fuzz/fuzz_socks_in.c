// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the SOCKS5 entrance's parser (tund/socks_in.c), fed what an
 * application might send, whole and split at every prefix. Invariants: no
 * crash or over-read; a prefix is never "bad" when the whole is "ok"; on
 * OK the early data starts inside the input and the request is one an
 * application may make.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../tund/socks_in.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct socks5_req req;
	size_t used = 0;
	bool ok;
	uint8_t rep;
	uint8_t *copy;
	enum parse_res whole;

	if (size > 4096) {
		return 0;
	}
	/* An exact-size heap copy, so ASan sees any read past the end. */
	copy = malloc(size ? size : 1);
	if (copy == NULL) {
		return 0;
	}
	memcpy(copy, data, size);
	whole = socks_in_parse(copy, size, &used, &ok, &req, &rep);
	if (whole == PARSE_OK) {
		if (used > size) {
			abort();
		}
		if (ok && req.cmd != SOCKS5_CMD_CONNECT && req.cmd != SOCKS5_CMD_RESOLVE &&
		    req.cmd != SOCKS5_CMD_RESOLVE_PTR) {
			abort();
		}
	}
	for (size_t len = 0; len < size && len < 600; len++) {
		enum parse_res pr = socks_in_parse(copy, len, &used, &ok, &req, &rep);

		if (whole == PARSE_OK && pr == PARSE_BAD) {
			abort();
		}
	}
	free(copy);
	return 0;
}

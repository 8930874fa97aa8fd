/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the circuit client's reading of a relay's answer
 * (src/circuit.c reads it one byte at a time through socks5_parse_answer,
 * so that no byte of the next hop's TLS is taken). The input is fed the
 * same way into a buffer of the circuit's size. Checked: AGAIN on every
 * prefix until the answer is decided, never AGAIN at the cap; OK exactly
 * when the last byte of the answer arrives (*used is the length fed), with
 * the reply socks5_parse_reply gives for what follows the method; BAD
 * always with a reason; the whole input at once decides the same way.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "socks5.h"

#define CAP (2 + SOCKS5_MAX_MSG)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t rx[CAP];
	struct socks5_reply rep, whole, direct;
	size_t len = 0, used = 0, wused = 0, dused;
	enum parse_res pr = PARSE_AGAIN, wr;
	const char *why = NULL, *wwhy = NULL;

	while (len < size && len < CAP) {
		rx[len] = data[len];
		len++;
		pr = socks5_parse_answer(rx, len, CAP, &used, &rep, &why);
		if (why == NULL) {
			abort();
		}
		if (pr != PARSE_AGAIN) {
			break;
		}
		if (len >= CAP) {
			abort();
		}
	}
	if (pr == PARSE_OK) {
		if (used != len || len < 2 || rx[0] != SOCKS5_VER || rx[1] != SOCKS5_METHOD_NOAUTH ||
		    socks5_parse_reply(rx + 2, len - 2, &dused, &direct) != PARSE_OK ||
		    dused != len - 2 || direct.rep != rep.rep) {
			abort();
		}
	} else if (pr == PARSE_BAD && why[0] == '\0') {
		abort();
	}
	/* All of the input at once: the same decision (more bytes change nothing). */
	wr = socks5_parse_answer(data, size < CAP ? size : CAP, CAP, &wused, &whole, &wwhy);
	if (pr != PARSE_AGAIN && (wr != pr || (pr == PARSE_OK && (wused != used || whole.rep != rep.rep)))) {
		abort();
	}
	return 0;
}

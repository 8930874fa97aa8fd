/* SPDX-License-Identifier: MIT */
/*
 * The local SOCKS5 entrance (DESIGN sections 2 and 5): on a loopback
 * address, method 0x00 only; CONNECT with IPv4, IPv6 or a domain name,
 * RESOLVE and RESOLVE_PTR. Each request takes a ready circuit from the
 * pool and goes out with whatever the application already sent after it
 * (optimistic data, up to CIRCUIT_MAX_EARLY bytes); the exit's reply code
 * reaches the application unchanged; then a stream carries the bytes.
 * Every client has a timer until its stream starts, and the stream has an
 * idle timer after.
 */
#ifndef TUND_SOCKS_IN_H
#define TUND_SOCKS_IN_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "ev.h"
#include "pool.h"

struct socks_in;

struct socks_in_stats {
	size_t open;                    /* clients, waiting or streaming */
	size_t streams;                 /* of them, streams carrying data */
	uint64_t total, failed;         /* requests answered, and not with 0x00 */
	uint64_t bytes_up, bytes_down;  /* finished and open streams */
};

/* Clients at once (waiting or streaming, two descriptors each) that a
 * descriptor limit of fds leaves room for, besides the rest of tund. */
size_t socks_in_max(size_t fds);
struct socks_in *socks_in_new(struct ev *ev, const struct tund_cfg *cfg, struct pool *pool,
			      size_t max_clients, char *err, size_t errlen);
/* Closes the listener and every client (abortively). */
void socks_in_free(struct socks_in *s);
void socks_in_stats(const struct socks_in *s, struct socks_in_stats *st);

/*
 * The entrance's parser, pure, for tests and fuzzing: given what the
 * application sent so far, says whether a greeting and a request are
 * complete. PARSE_OK: *req is set and *used is where the early data
 * starts; *method_ok is false when no acceptable method was offered.
 * PARSE_BAD: *rep is the reply code to send before closing.
 */
enum parse_res socks_in_parse(const uint8_t *p, size_t len, size_t *used, bool *method_ok,
			      struct socks5_req *req, uint8_t *rep);

#endif

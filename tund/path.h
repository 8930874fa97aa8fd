/* SPDX-License-Identifier: MIT */
/*
 * Path choice and relay health for tund's circuits (DESIGN section 5,
 * "Circuits"): a fixed path, or n distinct relays chosen at random per
 * circuit with an exit-flagged relay last. A relay that failed is avoided
 * for a while (1 s, doubling per failure in a row, at most 60 s) and used
 * again after; a success forgives it. Failures of builds that started
 * before the relay's last failure (a burst in flight when it went down)
 * renew its back-off without doubling it. Pure: time and randomness are
 * arguments, nothing is opened.
 */
#ifndef TUND_PATH_H
#define TUND_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"

#define PATH_BACKOFF_MIN_MS 1000
#define PATH_BACKOFF_MAX_MS 60000

struct relay_health {
	unsigned int fails_in_row;
	uint64_t avoid_until_ms;
	uint64_t last_fail_ms;
	uint64_t n_ok, n_fail;
	char last_error[160];
};

struct paths {
	const struct tund_cfg *cfg;     /* borrowed */
	struct relay_health h[TUND_MAX_RELAYS];
	uint64_t rng;
};

void paths_init(struct paths *p, const struct tund_cfg *cfg, uint64_t seed);
/*
 * Chooses the relays of one circuit into idx[] (*n of them): only relays
 * not avoided. When there are too few (no exit, or fewer relays than
 * hops), or a fixed path has an avoided relay, it returns -EAGAIN with
 * *retry_ms, the wait until enough back-offs end, so a broken network is
 * not retried in a tight loop. 0, -EAGAIN or -EINVAL (no exit at all).
 */
int paths_choose(struct paths *p, uint64_t now_ms, size_t idx[CIRCUIT_MAX_HOPS], size_t *n,
		 uint64_t *retry_ms);
/* started_ms: when the failed build began. */
void paths_failed(struct paths *p, size_t relay, uint64_t now_ms, uint64_t started_ms,
		  const char *why);
void paths_ok(struct paths *p, size_t relay);
bool paths_avoided(const struct paths *p, size_t relay, uint64_t now_ms);

#endif

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
 *
 * Load: each relay, at whatever hop, carries at most relay-max circuits
 * at once and starts new ones at relay-rate a second (a token bucket of
 * relay-burst), below exitd's per-source defaults, so one client never
 * trips a relay's limits. A relay at its cap or out of tokens is passed
 * over like an avoided one (the wait is its next token, or
 * PATH_CAP_RETRY_MS for the cap, sooner when a circuit ends). A relay
 * that refused at admission anyway ("busy": another client behind the
 * same address, a smaller limit) is avoided briefly, from
 * PATH_BUSY_MIN_MS doubling to PATH_BUSY_MAX_MS, and is not counted as
 * failed.
 */
#ifndef TUND_PATH_H
#define TUND_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bucket.h"
#include "cfg.h"

#define PATH_BACKOFF_MIN_MS 1000
#define PATH_BACKOFF_MAX_MS 60000
#define PATH_BUSY_MIN_MS 100
#define PATH_BUSY_MAX_MS 2000
#define PATH_CAP_RETRY_MS 100

struct relay_health {
	unsigned int fails_in_row;
	uint64_t avoid_until_ms;
	uint64_t last_fail_ms;
	uint64_t n_ok, n_fail;
	char last_error[160];
	size_t open;                    /* circuits through it now, building or in use */
	struct bucket tokens;           /* for new circuits */
	unsigned int busy_in_row;
	uint64_t last_busy_ms;
	uint64_t n_busy;
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
/* Counts a chosen path's circuit: a token and an open slot at each relay. */
void paths_take(struct paths *p, const size_t *idx, size_t n, uint64_t now_ms);
/* Its circuit ended. */
void paths_release(struct paths *p, const size_t *idx, size_t n);
/*
 * The relay refused at admission: a short back-off, not a failure. As
 * with failures, refusals of builds started before the last one
 * (started_ms) renew the back-off without doubling it.
 */
void paths_busy(struct paths *p, size_t relay, uint64_t now_ms, uint64_t started_ms,
		const char *why);
/* started_ms: when the failed build began. */
void paths_failed(struct paths *p, size_t relay, uint64_t now_ms, uint64_t started_ms,
		  const char *why);
void paths_ok(struct paths *p, size_t relay);
bool paths_avoided(const struct paths *p, size_t relay, uint64_t now_ms);

#endif

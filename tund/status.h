/* SPDX-License-Identifier: MIT */
/*
 * The status report behind `tund status` (text or JSON): uptime,
 * circuits (ready, building, busy, the pool's target, built and failed),
 * streams and bytes, and every relay with its successes, failures,
 * back-off and last error. Reads the modules' stats; changes nothing.
 */
#ifndef TUND_STATUS_H
#define TUND_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "cfg.h"
#include "fakeip.h"
#include "path.h"
#include "pool.h"
#include "socks_in.h"

struct status_src {
	const struct tund_cfg *cfg;
	const struct paths *paths;
	struct pool *pool;
	struct socks_in *socks;         /* NULL without an entrance */
	struct capture *cap;            /* NULL without a TUN */
	struct fakeip *fip;
	uint64_t start_ms;
};

/* Fills buf (never past cap) with the status at now_ms; returns its length. */
size_t status_format(const struct status_src *src, uint64_t now_ms, bool json, char *buf,
		     size_t cap);

#endif

// SPDX-License-Identifier: MIT
/* Path choice and back-off: see path.h. */
#include "path.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void
paths_init(struct paths *p, const struct tund_cfg *cfg, uint64_t seed)
{
	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

/* xorshift64*: path choice needs unpredictability only as much as the seed gives. */
static uint64_t
next_rand(struct paths *p)
{
	p->rng ^= p->rng >> 12;
	p->rng ^= p->rng << 25;
	p->rng ^= p->rng >> 27;
	return p->rng * 0x2545f4914f6cdd1dULL;
}

static size_t
below(struct paths *p, size_t n)
{
	return (size_t)(next_rand(p) % n);
}

bool
paths_avoided(const struct paths *p, size_t relay, uint64_t now_ms)
{
	return p->h[relay].avoid_until_ms > now_ms;
}

/*
 * Picks one of the candidates (cand[0..n-1]) at random among those not
 * avoided, or else the one whose back-off ends first; removes it.
 */
static size_t
pick(struct paths *p, size_t *cand, size_t *n, uint64_t now_ms)
{
	size_t ok[TUND_MAX_RELAYS], n_ok = 0, k;

	for (size_t i = 0; i < *n; i++) {
		if (!paths_avoided(p, cand[i], now_ms)) {
			ok[n_ok++] = i;
		}
	}
	if (n_ok > 0) {
		k = ok[below(p, n_ok)];
	} else {
		k = 0;
		for (size_t i = 1; i < *n; i++) {
			if (p->h[cand[i]].avoid_until_ms < p->h[cand[k]].avoid_until_ms) {
				k = i;
			}
		}
	}
	size_t chosen = cand[k];

	cand[k] = cand[--*n];
	return chosen;
}

int
paths_choose(struct paths *p, uint64_t now_ms, size_t idx[CIRCUIT_MAX_HOPS], size_t *n,
	     uint64_t *retry_ms)
{
	const struct tund_cfg *cfg = p->cfg;
	size_t cand[TUND_MAX_RELAYS], n_cand = 0, exit;

	*retry_ms = 0;
	if (cfg->n_path > 0) {
		for (size_t i = 0; i < cfg->n_path; i++) {
			uint64_t until = p->h[cfg->path[i]].avoid_until_ms;

			if (until > now_ms && until - now_ms > *retry_ms) {
				*retry_ms = until - now_ms;
			}
			idx[i] = cfg->path[i];
		}
		*n = cfg->n_path;
		return *retry_ms ? -EAGAIN : 0;
	}
	for (size_t i = 0; i < cfg->n_relays; i++) {
		if (cfg->relays[i].exit) {
			cand[n_cand++] = i;
		}
	}
	if (n_cand == 0 || cfg->hops > cfg->n_relays || cfg->hops == 0) {
		return -EINVAL;
	}
	exit = pick(p, cand, &n_cand, now_ms);
	n_cand = 0;
	for (size_t i = 0; i < cfg->n_relays; i++) {
		if (i != exit) {
			cand[n_cand++] = i;
		}
	}
	for (size_t h = 0; h + 1 < cfg->hops; h++) {
		idx[h] = pick(p, cand, &n_cand, now_ms);
	}
	idx[cfg->hops - 1] = exit;
	*n = cfg->hops;
	return 0;
}

void
paths_failed(struct paths *p, size_t relay, uint64_t now_ms, const char *why)
{
	struct relay_health *h = &p->h[relay];
	uint64_t ms = PATH_BACKOFF_MIN_MS;

	for (unsigned int i = 0; i < h->fails_in_row && ms < PATH_BACKOFF_MAX_MS; i++) {
		ms *= 2;
	}
	if (ms > PATH_BACKOFF_MAX_MS) {
		ms = PATH_BACKOFF_MAX_MS;
	}
	h->fails_in_row++;
	h->n_fail++;
	h->avoid_until_ms = now_ms + ms;
	snprintf(h->last_error, sizeof(h->last_error), "%s", why);
}

void
paths_ok(struct paths *p, size_t relay)
{
	p->h[relay].fails_in_row = 0;
	p->h[relay].avoid_until_ms = 0;
	p->h[relay].n_ok++;
}

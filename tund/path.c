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
	for (size_t i = 0; i < TUND_MAX_RELAYS; i++) {
		bucket_init(&p->h[i].tokens, cfg->relay_burst, 0);
	}
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

/* How long until relay i may start a circuit: 0 when now. */
static uint64_t
wait_for(const struct paths *p, size_t i, uint64_t now_ms)
{
	const struct relay_health *h = &p->h[i];
	uint64_t w = bucket_wait_ms(&h->tokens, p->cfg->relay_rate, p->cfg->relay_burst, now_ms);

	if (h->avoid_until_ms > now_ms && h->avoid_until_ms - now_ms > w) {
		w = h->avoid_until_ms - now_ms;
	}
	if (h->open >= p->cfg->relay_max && w < PATH_CAP_RETRY_MS) {
		w = PATH_CAP_RETRY_MS;
	}
	return w;
}

static bool
usable(const struct paths *p, size_t i, uint64_t now_ms)
{
	return wait_for(p, i, now_ms) == 0;
}

/* Picks one of the candidates cand[0..n-1] at random, and removes it. */
static size_t
pick(struct paths *p, size_t *cand, size_t *n)
{
	size_t k = below(p, *n);
	size_t chosen = cand[k];

	cand[k] = cand[--*n];
	return chosen;
}

/* The wait until the first of the unusable relays may be used again. */
static uint64_t
earliest_retry(const struct paths *p, uint64_t now_ms)
{
	uint64_t best = PATH_BACKOFF_MAX_MS;

	for (size_t i = 0; i < p->cfg->n_relays; i++) {
		uint64_t w = wait_for(p, i, now_ms);

		if (w > 0 && w < best) {
			best = w;
		}
	}
	return best;
}

int
paths_choose(struct paths *p, uint64_t now_ms, size_t idx[CIRCUIT_MAX_HOPS], size_t *n,
	     uint64_t *retry_ms)
{
	const struct tund_cfg *cfg = p->cfg;
	size_t exits[TUND_MAX_RELAYS], n_exits = 0, cand[TUND_MAX_RELAYS], n_cand = 0, exit;
	bool any_exit = false;

	*retry_ms = 0;
	if (cfg->n_path > 0) {
		for (size_t i = 0; i < cfg->n_path; i++) {
			uint64_t w = wait_for(p, cfg->path[i], now_ms);

			if (w > *retry_ms) {
				*retry_ms = w;
			}
			idx[i] = cfg->path[i];
		}
		*n = cfg->n_path;
		return *retry_ms ? -EAGAIN : 0;
	}
	for (size_t i = 0; i < cfg->n_relays; i++) {
		any_exit |= cfg->relays[i].exit;
		if (cfg->relays[i].exit && usable(p, i, now_ms)) {
			exits[n_exits++] = i;
		}
	}
	if (!any_exit || cfg->hops > cfg->n_relays || cfg->hops == 0) {
		return -EINVAL;
	}
	if (n_exits == 0) {
		*retry_ms = earliest_retry(p, now_ms);
		return -EAGAIN;
	}
	exit = pick(p, exits, &n_exits);
	for (size_t i = 0; i < cfg->n_relays; i++) {
		if (i != exit && usable(p, i, now_ms)) {
			cand[n_cand++] = i;
		}
	}
	if (n_cand + 1 < cfg->hops) {
		*retry_ms = earliest_retry(p, now_ms);
		return -EAGAIN;
	}
	for (size_t h = 0; h + 1 < cfg->hops; h++) {
		idx[h] = pick(p, cand, &n_cand);
	}
	idx[cfg->hops - 1] = exit;
	*n = cfg->hops;
	return 0;
}

/*
 * One more failure (or refusal) in a row, counted in *in_row since *last_ms:
 * the relay is avoided min_ms, doubling per one in a row, at most max_ms.
 * A build in flight at the last one (or started in its millisecond) is the
 * same outage or burst: it renews the back-off without doubling it.
 */
static void
back_off(struct relay_health *h, unsigned int *in_row, uint64_t *last_ms, uint64_t now_ms,
	 uint64_t started_ms, uint64_t min_ms, uint64_t max_ms, const char *why)
{
	uint64_t ms = min_ms;

	if (*in_row == 0 || started_ms > *last_ms) {
		(*in_row)++;
	}
	for (unsigned int i = 1; i < *in_row && ms < max_ms; i++) {
		ms *= 2;
	}
	if (ms > max_ms) {
		ms = max_ms;
	}
	*last_ms = now_ms;
	if (now_ms + ms > h->avoid_until_ms) {
		h->avoid_until_ms = now_ms + ms;
	}
	snprintf(h->last_error, sizeof(h->last_error), "%s", why);
}

void
paths_failed(struct paths *p, size_t relay, uint64_t now_ms, uint64_t started_ms,
	     const char *why)
{
	struct relay_health *h = &p->h[relay];

	h->n_fail++;
	back_off(h, &h->fails_in_row, &h->last_fail_ms, now_ms, started_ms, PATH_BACKOFF_MIN_MS,
		 PATH_BACKOFF_MAX_MS, why);
}

void
paths_take(struct paths *p, const size_t *idx, size_t n, uint64_t now_ms)
{
	for (size_t i = 0; i < n; i++) {
		struct relay_health *h = &p->h[idx[i]];

		bucket_take(&h->tokens, p->cfg->relay_rate, p->cfg->relay_burst, now_ms);
		h->open++;
	}
}

void
paths_release(struct paths *p, const size_t *idx, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p->h[idx[i]].open > 0) {
			p->h[idx[i]].open--;
		}
	}
}

void
paths_busy(struct paths *p, size_t relay, uint64_t now_ms, uint64_t started_ms, const char *why)
{
	struct relay_health *h = &p->h[relay];

	h->n_busy++;
	back_off(h, &h->busy_in_row, &h->last_busy_ms, now_ms, started_ms, PATH_BUSY_MIN_MS,
		 PATH_BUSY_MAX_MS, why);
}

void
paths_ok(struct paths *p, size_t relay)
{
	p->h[relay].fails_in_row = 0;
	p->h[relay].busy_in_row = 0;
	p->h[relay].avoid_until_ms = 0;
	p->h[relay].n_ok++;
}

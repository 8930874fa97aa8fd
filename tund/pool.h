/* SPDX-License-Identifier: MIT */
/*
 * The pool of ready circuits (DESIGN sections 5 and 9): at least `pool`
 * circuits kept built through every hop, waiting for a request, so a new
 * stream pays one trip through the chain instead of the build. The pool
 * refills in the background (a few ms after a take, so the builds do not
 * delay the stream that took one), builds in parallel, and grows with
 * recent demand (the most streams taken within 100 ms over the last 10 s)
 * up to pool-max, so a burst does not queue behind one-at-a-time builds. A ready circuit unused for
 * pool-idle is replaced before the relays' idle timeout would cut it. A
 * failed build blames the hop that failed (path.h backs it off); a hop
 * that refused at admission is avoided briefly and the build retried.
 * The relays' caps (relay-max, relay-rate) are path.h's: streams beyond
 * them wait here, bounded, each until its deadline.
 *
 * It does not carry streams: pool_get hands a ready circuit over and
 * forgets it.
 */
#ifndef TUND_POOL_H
#define TUND_POOL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "cfg.h"
#include "circuit.h"
#include "ev.h"
#include "path.h"

struct pool;
struct pool_wait;

/* Builds running at once, at most. */
#define POOL_MAX_BUILDING 64
/* Streams waiting for a circuit, at most (each up to twice build-timeout). */
#define POOL_MAX_WAITING 4096
/* The window over which demand is counted. */
#define POOL_DEMAND_MS 10000

/*
 * c is a ready circuit now owned by the callee (set its callbacks with
 * circuit_set_cbs), or NULL with err saying why none could be had.
 */
typedef void pool_got_cb(void *arg, struct circuit *c, const char *err);

struct pool_stats {
	size_t ready, building, waiting, target;
	uint64_t built, failed, taken;
};

struct pool *pool_new(struct ev *ev, SSL_CTX *ctx, const struct tund_cfg *cfg, struct paths *paths);
/* Closes every ready and building circuit; waiters are dropped silently. */
void pool_free(struct pool *p);
/*
 * Asks for a circuit. cb runs later, never from inside this call, within
 * twice the build timeout. Returns a handle for pool_cancel, or NULL when
 * POOL_MAX_WAITING streams wait already, or out of memory.
 */
struct pool_wait *pool_get(struct pool *p, pool_got_cb *cb, void *arg);
void pool_cancel(struct pool *p, struct pool_wait *w);
/* Closes the ready and building circuits (the relay list changed) and refills. */
void pool_flush(struct pool *p);
void pool_stats(const struct pool *p, struct pool_stats *st);

/*
 * How many ready circuits to keep: the configured floor, raised to the
 * streams taken in the last window, capped at pool-max. Pure; exposed for
 * tests.
 */
size_t pool_target(size_t floor, size_t max, size_t recent_takes);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The DNS forwarder: every query tund does not answer itself (MX, TXT,
 * SRV, ...) goes through a circuit with the DNS command (DESIGN section
 * 3.3) and its answer comes back unchanged, never through a local
 * resolver. One DNS stream carries every query while there are some: it
 * is opened by the first query (which rides with the request as early
 * data), reused while queries come, and closed after DNSFWD_IDLE_MS with
 * none. Queries get IDs of our own on the stream, so answers may come in
 * any order and two applications' equal IDs never meet.
 *
 * The stream is a stream.c stream whose local end is the forwarder: the
 * same copy loop, buffers and backpressure as any other.
 *
 * Bounded: DNSFWD_MAX_QUERIES outstanding at once, each answered (or
 * failed) within DNSFWD_TIMEOUT_MS.
 */
#ifndef TUND_DNSFWD_H
#define TUND_DNSFWD_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "ev.h"
#include "pool.h"

#define DNSFWD_MAX_QUERIES 256
#define DNSFWD_TIMEOUT_MS 5000
#define DNSFWD_IDLE_MS 30000

struct dnsfwd;
struct dnsfwd_q;

/*
 * The answer (len bytes, with the caller's own ID put back), or NULL and
 * 0 when none came (the caller answers SERVFAIL). Called once, from the
 * loop, never inside dnsfwd_query.
 */
typedef void dnsfwd_cb(void *arg, const uint8_t *answer, size_t len);

struct dnsfwd_stats {
	uint64_t queries, answered, failed;
	size_t outstanding;
	uint64_t streams;               /* DNS streams opened */
};

struct dnsfwd *dnsfwd_new(struct ev *ev, struct pool *pool, const struct tund_cfg *cfg);
/* Fails nothing: callbacks are dropped with their queries. */
void dnsfwd_free(struct dnsfwd *f);
/*
 * Forwards a query (copied). Returns a handle for dnsfwd_cancel, or NULL
 * when it cannot be taken now (too many outstanding, too long, out of
 * memory): the caller answers SERVFAIL at once.
 */
struct dnsfwd_q *dnsfwd_query(struct dnsfwd *f, const uint8_t *q, size_t len, dnsfwd_cb *cb,
			      void *arg);
/* The caller went away: its callback will not run. */
void dnsfwd_cancel(struct dnsfwd *f, struct dnsfwd_q *q);
void dnsfwd_stats(const struct dnsfwd *f, struct dnsfwd_stats *st);

#endif

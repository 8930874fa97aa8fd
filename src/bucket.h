/* SPDX-License-Identifier: MIT */
/*
 * A token bucket: `rate` tokens a second, at most `burst` held, one taken
 * per event. exitd limits new connections per source with it and tund
 * paces its builds to each relay with it, below exitd's defaults, so that
 * one client never trips its guard. Unlike a count per calendar second, a
 * burst across a second boundary gets `burst`, not twice the rate.
 *
 * Pure: time is an argument (milliseconds, never going back; an earlier
 * time is taken as no time passed). Levels are kept in thousandths of a
 * token so a rate below 1000/s refills smoothly. rate and burst are at
 * most BUCKET_MAX; a zero rate never refills.
 */
#ifndef BUCKET_H
#define BUCKET_H

#include <stdbool.h>
#include <stdint.h>

#define BUCKET_MAX 100000000ULL

struct bucket {
	uint64_t milli;         /* tokens held, in thousandths, as of last_ms */
	uint64_t last_ms;
};

/* Starts full. */
void bucket_init(struct bucket *b, uint64_t burst, uint64_t now_ms);
/* Takes one token if there is one. */
bool bucket_take(struct bucket *b, uint64_t rate, uint64_t burst, uint64_t now_ms);
/* Milliseconds until a token is there (0: now; UINT64_MAX: never, rate 0). */
uint64_t bucket_wait_ms(const struct bucket *b, uint64_t rate, uint64_t burst, uint64_t now_ms);
/* Full again: the state of a bucket never used, so it may be forgotten. */
bool bucket_full(const struct bucket *b, uint64_t rate, uint64_t burst, uint64_t now_ms);

#endif

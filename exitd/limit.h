/* SPDX-License-Identifier: MIT */
/*
 * Per-source-address limits for exitd (DESIGN section 4): connections
 * open at once, and new connections as a token bucket (bucket.h: a rate
 * per second and a burst), from one address (an IPv4 address, or an IPv6
 * /64). A hash table with a random seed (no flooding of one bucket by
 * chosen addresses) and a hard cap on entries.
 *
 * Entries with nothing open are kept on a list, oldest first. The sweep
 * forgets those whose bucket is full again (they hold no state a new
 * entry would not have). A full table evicts the oldest of them for a new
 * source, so a flood of addresses that opened nothing never locks new
 * sources out; only sources with connections open hold their place. The
 * price: an evicted source gets a full bucket back, which an attacker
 * with more addresses than the table holds could already have anyway.
 * Pure bookkeeping: no sockets, no clock (time is an argument).
 */
#ifndef EXITD_LIMIT_H
#define EXITD_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct limits;

/* max_entries bounds the table; NULL on allocation failure. */
struct limits *limits_new(uint64_t max_open, uint64_t rate, uint64_t burst, size_t max_entries);
void limits_free(struct limits *l);
/* New limits (a reload); what is counted stays, the table's size too. */
void limits_set(struct limits *l, uint64_t max_open, uint64_t rate, uint64_t burst);
/*
 * Counts one new connection from src. 0 when allowed (pair it with
 * limits_put), -EMFILE when src has max_open open, -EAGAIN when its bucket
 * is empty, -ENOSPC when the table is full of sources with connections
 * open (or out of memory).
 */
int limits_take(struct limits *l, const struct addr *src, uint64_t now_ms);
void limits_put(struct limits *l, const struct addr *src);
/* Forgets sources with nothing open and a full bucket. */
void limits_sweep(struct limits *l, uint64_t now_ms);
size_t limits_entries(const struct limits *l);

#endif

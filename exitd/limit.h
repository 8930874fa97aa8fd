/* SPDX-License-Identifier: MIT */
/*
 * Per-source-address limits for exitd (DESIGN section 4): connections
 * open at once and new connections per second from one address (an IPv4
 * address, or an IPv6 /64). A hash
 * table with a random seed (no flooding of one bucket by chosen
 * addresses) and a hard cap on entries; entries with nothing open and no
 * recent connection are swept. Pure bookkeeping: no sockets, no clock
 * (time is an argument).
 */
#ifndef EXITD_LIMIT_H
#define EXITD_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct limits;

/* max_entries bounds the table; NULL on allocation failure. */
struct limits *limits_new(uint64_t max_open, uint64_t max_per_sec, size_t max_entries);
void limits_free(struct limits *l);
/*
 * Counts one new connection from src. 0 when allowed (pair it with
 * limits_put), -EMFILE when src has max_open open, -EAGAIN when it made
 * max_per_sec in the current second, -ENOSPC when the table is full.
 */
int limits_take(struct limits *l, const struct addr *src, uint64_t now_ms);
void limits_put(struct limits *l, const struct addr *src);
/* Forgets sources with nothing open and no connection for 2 s. */
void limits_sweep(struct limits *l, uint64_t now_ms);
size_t limits_entries(const struct limits *l);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The fake-IP pool (DESIGN section 5): each host name asked for gets a
 * slot, and slot i stands for one IPv4 address of `fake-ip` and one IPv6
 * address of `fake-ip6` (the i-th usable offset in each range), so A and
 * AAAA of one name point at the same slot. Names are kept lowercased: the
 * map is case-insensitive.
 *
 * Recycling: a new name takes a never-used slot first; when none is left,
 * the least recently used slot that no connection pins and that nobody
 * used for hold_ms (the answers' TTL plus a wide margin: applications
 * cache past TTLs) is recycled; if there is none, the lookup fails
 * (-ENOSPC) and the caller answers SERVFAIL.
 *
 * Persistence across restarts: every slot has a fixed-size record, and
 * each time a slot gets a name the pool hands the record to a save
 * callback (the glue pwrite()s it at slot * FAKEIP_REC_LEN). At start the
 * glue feeds the file's records back with fakeip_restore(); a restored
 * mapping counts as used at that moment, so it is held, not recycled, for
 * hold_ms after the restart. Records carry a checksum and a fingerprint
 * of the ranges, so a torn record or a changed configuration is ignored.
 *
 * Pure: no I/O, no clock (now_ms is an argument). Memory is bounded by
 * max_slots: a small fixed cost per slot plus the names in use.
 */
#ifndef TUND_FAKEIP_H
#define TUND_FAKEIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* One slot's record in the state file. */
#define FAKEIP_REC_LEN 288
/* Longest name, in text form without the final dot (RFC 1035: 253). */
#define FAKEIP_NAME_MAX 253

struct fakeip;

struct fakeip_cfg {
	bool have_v4, have_v6;          /* at least one */
	struct cidr v4, v6;             /* v4: /8../30; v6: /64../120 */
	const struct addr *exclude;     /* never handed out (the TUN's own addresses) */
	size_t n_exclude;
	size_t max_slots;               /* upper bound on slots (0: see FAKEIP_SLOTS_*) */
	uint64_t hold_ms;               /* a used slot is not recycled before this */
	uint64_t hash_key[2];           /* SipHash key for the name table: fill from getrandom() */
};

/*
 * How many slots: the usable addresses of each configured range (not the
 * network address, for IPv4 not the broadcast address either, and not the
 * excluded ones), capped by max_slots. With max_slots 0 the cap is
 * FAKEIP_SLOTS_MAX when there is an IPv4 range (so a /15 gives 131070)
 * and FAKEIP_SLOTS_V6 for IPv6 alone, whose range is usually huge. A
 * larger max_slots is clamped to FAKEIP_SLOTS_MAX.
 */
#define FAKEIP_SLOTS_MAX ((size_t)1 << 20)
#define FAKEIP_SLOTS_V6 ((size_t)65536)

/* NULL on bad configuration or out of memory. */
struct fakeip *fakeip_new(const struct fakeip_cfg *cfg);
void fakeip_free(struct fakeip *f);

/*
 * The slot for name (len bytes, any case, no final dot), made if needed;
 * marks it used at now_ms and fills *v4 and *v6 (family 0 for a family
 * not configured). Returns 0; -EINVAL for a name that is empty, too long,
 * or not a dotted name of labels of 1..63 bytes from 0x21..0x7e other
 * than '.' and '\\' (what a SOCKS5 domain and the exit's resolver can
 * take as it is); -ENOSPC when every slot is pinned or held; -ENOMEM.
 */
int fakeip_lookup_name(struct fakeip *f, const char *name, size_t len, uint64_t now_ms,
		       struct addr *v4, struct addr *v6);

/*
 * The name a fake address stands for (marking it used), or NULL when a is
 * outside the ranges, excluded, or its slot is free. The string (lowercase,
 * NUL-terminated) is the pool's: it lives until the slot is recycled, so
 * at the latest until the next fakeip_lookup_name of a new name.
 */
const char *fakeip_lookup_addr(struct fakeip *f, const struct addr *a, uint64_t now_ms);

/* True when a lies in a fake range, mapped or not. */
bool fakeip_contains(const struct fakeip *f, const struct addr *a);
/* True when the pool has a range of this family (AF_INET or AF_INET6). */
bool fakeip_has_family(const struct fakeip *f, int family);

/*
 * A connection to a fake address pins its slot while it lives: a pinned
 * slot is never recycled. Pins nest. Unknown addresses are ignored.
 */
void fakeip_pin(struct fakeip *f, const struct addr *a);
void fakeip_unpin(struct fakeip *f, const struct addr *a, uint64_t now_ms);

typedef void fakeip_save_cb(void *arg, size_t slot, const uint8_t *rec, size_t len);
/* Called with the slot's record each time a slot gets a name. */
void fakeip_set_save(struct fakeip *f, fakeip_save_cb *cb, void *arg);

/*
 * Restores one record read from the state file at slot; 0, or -EINVAL
 * for a record that is empty, torn, from other ranges, for another slot,
 * whose name is already mapped to another slot, or whose slot already
 * holds another name (it is then ignored). An empty record is all zeros:
 * what a sparse state file reads as where no slot was ever saved. A
 * record that matches what the slot already holds is a success (it only
 * refreshes the slot), so feeding the same file twice is harmless.
 * -ENOMEM when the name cannot be copied.
 */
int fakeip_restore(struct fakeip *f, size_t slot, const uint8_t *rec, size_t len, uint64_t now_ms);
/* Slots in all: how many records the state file holds at most. */
size_t fakeip_slots(const struct fakeip *f);

struct fakeip_stats {
	size_t slots;           /* in all */
	size_t used;            /* holding a name */
	size_t pinned;          /* by at least one connection */
	uint64_t recycled;      /* names evicted to make room */
	uint64_t exhausted;     /* lookups refused: nothing recyclable */
};
void fakeip_stats(const struct fakeip *f, struct fakeip_stats *st);

/*
 * Walks every structure of the pool (hash chains, LRU list, counters) and
 * returns 0, or -EFAULT at the first inconsistency. O(slots): for tests
 * and fuzzing, not for the packet path.
 */
int fakeip_check(const struct fakeip *f);

#endif

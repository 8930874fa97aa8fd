/* SPDX-License-Identifier: MIT */
/*
 * The TUN's link, addresses, routes and policy rules, through libnl-route
 * (the only file that includes libnl). The wg-quick scheme (DESIGN
 * section 5), with tund's own table and rule priorities:
 *
 *   prio P     not fwmark M, ipproto udp/tcp, dport 53  lookup T   (DNS to any resolver, even a LAN one)
 *   prio P+1   lookup main suppress_prefixlength 0      (local and LAN routes keep working)
 *   prio P+2   to RELAY ipproto tcp dport PORT lookup main  (one per relay: strict
 *                                                        rp_filter sees the relay's
 *                                                        replies come back where they went)
 *   prio P+3   not fwmark M                 lookup T    (everything else: the TUN)
 *   table T:   the routed prefixes (default: 0.0.0.0/0 and ::/0) dev TUN;
 *              with kill_switch, also "unreachable" for them at a high metric,
 *              which outlives the TUN device when the process dies
 *
 * tund's own sockets carry mark M (SO_MARK), so no rule sends them to T:
 * no routing loop and no host route. Everything added is recognised
 * later by table T and priorities P..P+3 alone: route_cleanup() removes
 * exactly that (a crashed run's leftovers) and never touches another rule
 * or table. Both families are handled alike.
 */
#ifndef TUND_ROUTE_H
#define TUND_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define ROUTE_MAX_ADDRS 4
#define ROUTE_MAX_PREFIXES 64
#define ROUTE_MAX_RELAYS 64
#define ROUTE_IFNAMSIZ 16

struct route_relay {
	struct addr addr;
	uint16_t port;
};

struct route_cfg {
	char ifname[ROUTE_IFNAMSIZ];            /* the TUN, already created */
	uint32_t mtu;
	struct cidr addrs[ROUTE_MAX_ADDRS];     /* the TUN's own addresses */
	size_t n_addrs;
	struct cidr prefixes[ROUTE_MAX_PREFIXES]; /* what goes through it; none: route none */
	size_t n_prefixes;
	struct route_relay relays[ROUTE_MAX_RELAYS];
	size_t n_relays;
	uint32_t fwmark;
	uint32_t table;                         /* T */
	uint32_t prio;                          /* P */
	bool kill_switch;
};

struct route;

/* Opens a netlink socket. NULL with err filled on failure. */
struct route *route_new(char *err, size_t errlen);
void route_free(struct route *r);

/*
 * Removes every rule at priorities cfg->prio .. cfg->prio + 3 and every
 * route in table cfg->table, both families. Returns how many were
 * removed (>= 0), or -errno with err filled.
 */
int route_cleanup(struct route *r, const struct route_cfg *cfg, char *err, size_t errlen);

/*
 * Sets the TUN's MTU, adds its addresses, brings it up (IPv6 address
 * generation off: no link-local chatter), then adds the routes and the
 * rules above. 0, or -errno with err filled (what was added stays for
 * route_cleanup).
 */
int route_apply(struct route *r, const struct route_cfg *cfg, char *err, size_t errlen);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The TUN's link, addresses, routes and policy rules, through libnl-route
 * (the only file that includes libnl). The wg-quick scheme (DESIGN
 * section 5), with tund's own table and rule priorities, per family:
 *
 *   prio P     fwmark M                 goto P+3    (tund's own packets skip what follows)
 *   prio P     ipproto udp dport 53     lookup T    (DNS to any resolver, even a LAN one)
 *   prio P     ipproto tcp dport 53     lookup T
 *   prio P+1   lookup main suppress_prefixlength 0  (local and LAN routes keep working;
 *                                                    only when the family routes a /0)
 *   prio P+2   to RELAY ipproto tcp dport PORT lookup main  (one per relay of the
 *                                                        family: strict rp_filter sees
 *                                                        the relay's replies come back
 *                                                        where they went)
 *   prio P+3   not fwmark M                 lookup T    (everything else: the TUN)
 *   table T:   the routed prefixes (default: 0.0.0.0/0 and ::/0) dev TUN;
 *              with kill_switch, also "unreachable" for them at metric
 *              0xfffffff0, which outlives the TUN device when the process dies
 *
 * Why a goto rather than "not fwmark M" on the DNS rules: the kernel's
 * "not" (FIB_RULE_INVERT) negates the whole rule, so "not fwmark M
 * ipproto udp dport 53" would match every packet except marked DNS, tund's
 * own connections to its relays included: a routing loop. Marked packets
 * jump to P+3, which does not match them, and go on to the main table.
 *
 * A family gets rules only when at least one of its prefixes is routed:
 * with no prefixes at all ("route none") nothing is added but the TUN's
 * own MTU, addresses and up state.
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
	char ifname[ROUTE_IFNAMSIZ];            /* the TUN, already created (tun_open) */
	uint32_t mtu;
	struct cidr addrs[ROUTE_MAX_ADDRS];     /* the TUN's own addresses */
	size_t n_addrs;
	struct cidr prefixes[ROUTE_MAX_PREFIXES]; /* what goes through it; none: route none */
	size_t n_prefixes;
	struct route_relay relays[ROUTE_MAX_RELAYS];
	size_t n_relays;
	uint32_t fwmark;                        /* M, nonzero */
	uint32_t table;                         /* T */
	uint32_t prio;                          /* P */
	bool kill_switch;
};

struct route;

/* Opens a netlink socket. NULL with err filled on failure. */
struct route *route_new(char *err, size_t errlen);
/* route_free(NULL) does nothing. */
void route_free(struct route *r);

/*
 * Removes every IPv4 and IPv6 rule at priorities cfg->prio .. cfg->prio + 3
 * and every route in table cfg->table (any type, unreachable included),
 * rules first; only table and prio are read. Returns how many were removed
 * (>= 0), or -errno with err filled: -EINVAL for prio 0 (the local table's
 * rule) or above UINT32_MAX - 3, and for table 0 or one of the kernel's
 * own (252..255: compat, default, main, local), which this would empty.
 */
int route_cleanup(struct route *r, const struct route_cfg *cfg, char *err, size_t errlen);

/*
 * Sets the TUN's MTU (mtu 0: leaves it), turns IPv6 address generation
 * off (no link-local address, so no router solicitation or MLD from it;
 * skipped below 1280, where the link has no IPv6), adds its addresses
 * (IPv6 ones without DAD, usable at once), brings it up, then adds the
 * routes and the rules above. Relays listed twice get one rule. 0, or
 * -errno with err filled, naming what failed and the kernel's reason
 * ("add route ::/0 table 29813 dev tun9: Operation not supported"); what
 * was added stays for route_cleanup. -EINVAL also for cfg->fwmark 0,
 * invalid table or prio (see route_cleanup), or an address without a
 * family; -EEXIST when a route or rule is there already (run
 * route_cleanup first) or the configuration repeats a prefix.
 */
int route_apply(struct route *r, const struct route_cfg *cfg, char *err, size_t errlen);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * tund's configuration (DESIGN section 8), read with conf.c in
 * init/line/finish shape. Owns the parsed values; opens nothing.
 *
 * Keywords of this part (all in README.md):
 *   relay NAME ADDR:PORT sha256:HEX [exit]   repeatable; at least one
 *   path NAME...          a fixed chain, exit-flagged relay last; or
 *   hops N                N distinct relays chosen per circuit, an exit last
 *   pool N                ready circuits kept built (default 4, 0..256)
 *   pool-max N            bound on the pool when demand grows (default 64)
 *   pool-idle DUR         a ready circuit unused this long is replaced
 *                         (default 240s: under the relays' idle timeout)
 *   build-timeout DUR     a circuit's build, and its wait for a reply (10s)
 *   relay-max N           circuits open through any one relay, at any hop
 *                         (default 1024; streams beyond it wait for one to end)
 *   relay-rate N          new circuits per second through any one relay, a
 *                         token bucket's rate (default 400)
 *   relay-burst N         the bucket's size (default 800); the three stay at
 *                         half of exitd's per-source defaults
 *   stream-idle DUR       a stream with no byte either way is closed (300s)
 *   optimistic yes|no     answer a SOCKS5 CONNECT at once and send the
 *                         application's first bytes with the request; a
 *                         refusal then arrives as a reset (default no:
 *                         the exit's code reaches the application)
 *   socks ADDR:PORT       the SOCKS5 entrance, on a loopback address only
 *   control PATH          the status socket (default /run/tund.sock)
 *   log error|warn|info|debug
 * The transparent side (a tun line turns it on; socks, tun or both):
 *   tun NAME              the TUN device to create
 *   tun-mtu N             its MTU (default TUND_DEFAULT_MTU; 1280..65535)
 *   tun-addr CIDR         repeatable: its own addresses (default
 *                         198.18.0.1/32 and fdfe:dcba:9876::1/128)
 *   fake-ip CIDR|none     the IPv4 fake-address range (198.18.0.0/15)
 *   fake-ip6 CIDR|none    the IPv6 one (fdfe:dcba:9876::/64)
 *   route all|none|CIDR...  repeatable: what goes through the TUN (all)
 *   fwmark N              the mark on tund's own sockets (0x7475 with a
 *                         tun, else none)
 *   table N               tund's routing table (0x7475)
 *   rule-priority N       its rules take N..N+3 (29800)
 *   kill-switch yes|no    traffic stays dropped while tund is gone after a crash (no)
 *   user NAME             after set-up, run as this user (keeping CAP_NET_ADMIN)
 *   state FILE            the fake-IP map kept across restarts
 *                         (/var/lib/tund/fakeip.map)
 *   tcp-connect auto|fast|confirmed
 *                         when the SYN of an application is answered:
 *                         fast at once (first bytes ride with the request),
 *                         confirmed once the exit connected, auto: fast for
 *                         fake addresses, confirmed for real ones (auto)
 *   test-loss P           a test option: drop this fraction (0..0.5) of the
 *                         packets read from and written to the TUN
 */
#ifndef TUND_CFG_H
#define TUND_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "circuit.h"
#include "conf.h"
#include "log.h"
#include "tls.h"

#define TUND_MAX_RELAYS 64
#define TUND_NAME_MAX 31
#define TUND_MAX_TUN_ADDRS 4
#define TUND_MAX_ROUTES 64
#define TUND_DEFAULT_MTU 65000
#define TUND_DEFAULT_FWMARK 0x7475
#define TUND_DEFAULT_TABLE 0x7475
#define TUND_DEFAULT_RULE_PRIO 29800

enum tund_connect {
	TUND_CONNECT_AUTO,
	TUND_CONNECT_FAST,
	TUND_CONNECT_CONFIRMED,
};

struct tund_relay {
	char name[TUND_NAME_MAX + 1];
	struct addr addr;
	uint16_t port;
	uint8_t pin[TLS_PIN_LEN];
	bool exit;
};

struct tund_cfg {
	struct tund_relay relays[TUND_MAX_RELAYS];
	size_t n_relays;
	size_t path[CIRCUIT_MAX_HOPS];  /* relay indices, when n_path > 0 */
	size_t n_path;
	uint64_t hops;                  /* when n_path == 0 */
	uint64_t pool;
	uint64_t pool_max;
	uint64_t pool_idle_ms;
	uint64_t build_timeout_ms;
	uint64_t relay_max;
	uint64_t relay_rate;
	uint64_t relay_burst;
	uint64_t stream_idle_ms;
	bool optimistic;
	bool have_socks;
	struct addr socks;
	uint16_t socks_port;
	char control[108];              /* sun_path */
	enum log_level log_level;
	/* The transparent side. */
	bool have_tun;
	char tun[16];
	uint64_t tun_mtu;
	struct cidr tun_addrs[TUND_MAX_TUN_ADDRS];
	size_t n_tun_addrs;
	bool have_fake4, have_fake6;
	struct cidr fake4, fake6;
	struct cidr routes[TUND_MAX_ROUTES];
	size_t n_routes;                /* 0 with route none */
	bool routes_given;
	uint64_t fwmark;
	bool fwmark_given;
	uint64_t table, rule_prio;
	bool kill_switch;
	char user[33];                  /* "" for none */
	char state[108];
	enum tund_connect tcp_connect;
	uint32_t test_loss_ppm;         /* per million */
	/* Path names as written, resolved in finish. */
	char path_names[CIRCUIT_MAX_HOPS][TUND_NAME_MAX + 1];
};

void tund_cfg_init(struct tund_cfg *cfg);
void tund_cfg_line(struct conf *c, int argc, char **argv, void *cfg);
/* Whole-file checks; 0 when c->errors is 0, else -EINVAL. */
int tund_cfg_finish(struct conf *c, struct tund_cfg *cfg);
/* init + read + finish; 0, or -EINVAL/-errno after reporting. */
int tund_cfg_load(struct tund_cfg *cfg, const char *path);
/* The index of a relay by name, or -1. */
int tund_cfg_relay(const struct tund_cfg *cfg, const char *name);

#endif

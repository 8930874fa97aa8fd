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
 *   stream-idle DUR       a stream with no byte either way is closed (300s)
 *   optimistic yes|no     answer a SOCKS5 CONNECT at once and send the
 *                         application's first bytes with the request; a
 *                         refusal then arrives as a reset (default no:
 *                         the exit's code reaches the application)
 *   socks ADDR:PORT       the SOCKS5 entrance, on a loopback address only
 *   control PATH          the status socket (default /run/tund.sock)
 *   log error|warn|info|debug
 * The TUN keywords of section 8 (tun, fake-ip, fake-ip6, route,
 * kill-switch, user) are recognised and refused as not built yet.
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
	uint64_t stream_idle_ms;
	bool optimistic;
	bool have_socks;
	struct addr socks;
	uint16_t socks_port;
	char control[108];              /* sun_path */
	enum log_level log_level;
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

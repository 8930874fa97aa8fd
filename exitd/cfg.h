/* SPDX-License-Identifier: MIT */
/*
 * exitd's configuration: the keywords of DESIGN section 8 for exitd and
 * the limits of section 4, read with conf.c in init/line/finish shape.
 * Owns the parsed values and the policy; does not open anything.
 *
 * Keywords (all documented in README.md):
 *   listen ADDR:PORT            repeatable, at least one; [v6]:port for IPv6
 *   key FILE                    identity key made by "exitd keygen"; required
 *   accept|reject RULE          exit policy, first match wins (policy.h)
 *   allow-private yes|no        default no
 *   resolve yes|no              answer RESOLVE, RESOLVE_PTR and DNS (default yes)
 *   resolver ADDR[:PORT]        repeatable; default: the system's resolv.conf
 *   max-connections N           default 4096
 *   max-per-source N            connections open per source address, default 2048
 *   rate-per-source N           new connections per second per source (a token
 *                               bucket's rate), default 800
 *   burst-per-source N          the bucket's size, default 1600
 *   peer CIDR                   repeatable: relays that chain through this one;
 *                               only max-connections bounds them
 *   handshake-timeout DUR       TLS handshake, default 10s
 *   request-timeout DUR         SOCKS5 greeting and request, from their first byte, 10s
 *   connect-timeout DUR         per address tried, default 10s
 *   idle-timeout DUR            no byte either way (also before a request), 300s
 *   buffer SIZE                 per direction per connection, default 128k
 *   user NAME                   after binding and loading the key, run as NAME
 *   run-as-root yes|no          keep running as root without a user (default no:
 *                               exitd refuses to start as root without one)
 *   log-clients yes|no          put client addresses in logs, default no
 *   log error|warn|info|debug   default info
 */
#ifndef EXITD_CFG_H
#define EXITD_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "conf.h"
#include "log.h"
#include "policy.h"

#define CFG_MAX_LISTEN 16
#define CFG_MAX_RESOLVERS 8
#define CFG_MAX_PEERS 64

struct exitd_cfg {
	struct addr listen[CFG_MAX_LISTEN];
	uint16_t listen_port[CFG_MAX_LISTEN];
	size_t n_listen;
	char *key_path;                 /* owned */
	struct policy *policy;          /* owned */
	bool allow_private;
	bool resolve;
	struct addr resolver[CFG_MAX_RESOLVERS];
	uint16_t resolver_port[CFG_MAX_RESOLVERS];
	size_t n_resolvers;
	uint64_t max_conns;
	uint64_t max_per_source;
	uint64_t rate_per_source;
	uint64_t burst_per_source;
	struct cidr peers[CFG_MAX_PEERS];
	size_t n_peers;
	uint64_t handshake_timeout_ms;
	uint64_t request_timeout_ms;
	uint64_t connect_timeout_ms;
	uint64_t idle_timeout_ms;
	uint64_t buffer_size;
	bool log_clients;
	enum log_level log_level;
	char user[33];                  /* "" for none */
	bool run_as_root;
};

/* Sets the defaults; returns 0 or -ENOMEM. */
int exitd_cfg_init(struct exitd_cfg *cfg);
void exitd_cfg_fini(struct exitd_cfg *cfg);
/* One split line; errors go through conf_err (unknown keyword included). */
void exitd_cfg_line(struct conf *c, int argc, char **argv, void *cfg);
/*
 * Whole-file checks: at least one listen, a key, a duplicate listen. Each
 * failure is reported through conf_err. Returns 0 when c->errors is 0,
 * else -EINVAL.
 */
int exitd_cfg_finish(struct conf *c, struct exitd_cfg *cfg);
/* init + conf_read_file + finish. 0, or -EINVAL/-errno after reporting. */
int exitd_cfg_load(struct exitd_cfg *cfg, const char *path);

#endif

// SPDX-License-Identifier: MIT
/*
 * tund's configuration: see cfg.h. Every keyword's arguments are checked
 * here; finish checks what needs the whole file: at least one relay,
 * either a path or hops, a path of known, distinct relays ending at an
 * exit, enough relays and an exit for hops, no duplicate names.
 */
#include "cfg.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_POOL 4
#define DEFAULT_POOL_MAX 64
#define DEFAULT_POOL_IDLE_MS (240 * 1000)
#define DEFAULT_BUILD_TIMEOUT_MS (10 * 1000)
/* Half of exitd's per-source defaults (exitd/cfg.c): never refused by a relay. */
#define DEFAULT_RELAY_MAX 1024
#define DEFAULT_RELAY_RATE 400
#define DEFAULT_RELAY_BURST 800
#define DEFAULT_STREAM_IDLE_MS (300 * 1000)
#define DEFAULT_CONTROL "/run/tund.sock"
#define DEFAULT_STATE "/var/lib/tund/fakeip.map"

void
tund_cfg_init(struct tund_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->pool = DEFAULT_POOL;
	cfg->pool_max = DEFAULT_POOL_MAX;
	cfg->pool_idle_ms = DEFAULT_POOL_IDLE_MS;
	cfg->build_timeout_ms = DEFAULT_BUILD_TIMEOUT_MS;
	cfg->relay_max = DEFAULT_RELAY_MAX;
	cfg->relay_rate = DEFAULT_RELAY_RATE;
	cfg->relay_burst = DEFAULT_RELAY_BURST;
	cfg->stream_idle_ms = DEFAULT_STREAM_IDLE_MS;
	snprintf(cfg->control, sizeof(cfg->control), "%s", DEFAULT_CONTROL);
	cfg->log_level = LOG_LVL_INFO;
	cfg->tun_mtu = TUND_DEFAULT_MTU;
	cfg->have_fake4 = cfg->have_fake6 = true;
	cidr_parse("198.18.0.0/15", &cfg->fake4);
	cidr_parse("fdfe:dcba:9876::/64", &cfg->fake6);
	cfg->table = TUND_DEFAULT_TABLE;
	cfg->rule_prio = TUND_DEFAULT_RULE_PRIO;
	snprintf(cfg->state, sizeof(cfg->state), "%s", DEFAULT_STATE);
}

int
tund_cfg_relay(const struct tund_cfg *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_relays; i++) {
		if (strcmp(cfg->relays[i].name, name) == 0) {
			return (int)i;
		}
	}
	return -1;
}

static bool
valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > TUND_NAME_MAX) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '_' || ch == '.')) {
			return false;
		}
	}
	return true;
}

static void
kw_relay(struct conf *c, struct tund_cfg *cfg, int argc, char **argv)
{
	struct tund_relay *r;

	if (argc != 4 && argc != 5) {
		conf_err(c, "relay: want NAME ADDR:PORT sha256:HEX [exit]");
		return;
	}
	if (cfg->n_relays == TUND_MAX_RELAYS) {
		conf_err(c, "relay: more than %d relays", TUND_MAX_RELAYS);
		return;
	}
	r = &cfg->relays[cfg->n_relays];
	memset(r, 0, sizeof(*r));
	if (!valid_name(argv[1])) {
		conf_err(c, "relay: name must be 1..%d of [A-Za-z0-9._-]", TUND_NAME_MAX);
		return;
	}
	if (tund_cfg_relay(cfg, argv[1]) >= 0) {
		conf_err(c, "relay: '%s' is defined twice", argv[1]);
		return;
	}
	if (addr_port_parse(argv[2], &r->addr, &r->port) < 0) {
		conf_err(c, "relay %s: bad address '%.60s' (want ADDR:PORT or [V6]:PORT)", argv[1],
			 argv[2]);
		return;
	}
	if (tls_pin_parse(argv[3], r->pin) < 0) {
		conf_err(c, "relay %s: bad pin (want sha256: and 64 hex digits)", argv[1]);
		return;
	}
	if (argc == 5) {
		if (strcmp(argv[4], "exit") != 0) {
			conf_err(c, "relay %s: unknown flag '%.40s' (only 'exit')", argv[1], argv[4]);
			return;
		}
		r->exit = true;
	}
	snprintf(r->name, sizeof(r->name), "%s", argv[1]);
	cfg->n_relays++;
}

static void
kw_path(struct conf *c, struct tund_cfg *cfg, int argc, char **argv)
{
	if (argc < 2 || argc - 1 > CIRCUIT_MAX_HOPS) {
		conf_err(c, "path: want 1..%d relay names", CIRCUIT_MAX_HOPS);
		return;
	}
	if (cfg->n_path > 0) {
		conf_err(c, "path: given twice");
		return;
	}
	for (int i = 1; i < argc; i++) {
		if (!valid_name(argv[i])) {
			conf_err(c, "path: bad relay name '%.40s'", argv[i]);
			return;
		}
		snprintf(cfg->path_names[i - 1], sizeof(cfg->path_names[0]), "%s", argv[i]);
	}
	cfg->n_path = (size_t)argc - 1;
}

static void
one_arg(struct conf *c, int argc, char **argv, bool *ok)
{
	*ok = argc == 2;
	if (!*ok) {
		conf_err(c, "%s: want one argument", argv[0]);
	}
}

/* "0.01" or "1%": a fraction of at most 0.5, kept in parts per million. */
static void
parse_loss(struct conf *c, const char *v, uint32_t *ppm)
{
	char *end;
	double f;

	errno = 0;
	f = strtod(v, &end);
	if (end != v && strcmp(end, "%") == 0) {
		f /= 100;
	} else if (end == v || *end != '\0') {
		conf_err(c, "test-loss: want a fraction such as 0.01 or 1%%");
		return;
	}
	if (errno != 0 || !(f >= 0 && f <= 0.5)) {
		conf_err(c, "test-loss: want a fraction from 0 to 0.5");
		return;
	}
	*ppm = (uint32_t)(f * 1e6 + 0.5);
}

static void
kw_route(struct conf *c, struct tund_cfg *cfg, int argc, char **argv)
{
	if (argc < 2) {
		conf_err(c, "route: want all, none, or CIDRs");
		return;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "all") == 0 || strcmp(argv[i], "none") == 0) {
			if (argc != 2 || cfg->routes_given) {
				conf_err(c, "route %s: must stand alone", argv[i]);
				return;
			}
			if (argv[i][0] == 'a') {
				cidr_parse("0.0.0.0/0", &cfg->routes[0]);
				cidr_parse("::/0", &cfg->routes[1]);
				cfg->n_routes = 2;
			}
			cfg->routes_given = true;
			return;
		}
		if (cfg->n_routes == TUND_MAX_ROUTES) {
			conf_err(c, "route: more than %d prefixes", TUND_MAX_ROUTES);
			return;
		}
		if (cidr_parse(argv[i], &cfg->routes[cfg->n_routes]) < 0) {
			conf_err(c, "route: bad prefix '%.60s' (want all, none, or CIDRs)", argv[i]);
			return;
		}
		cfg->n_routes++;
	}
	cfg->routes_given = true;
}

/* A fake range: a CIDR of the right family and a usable size, or none. */
static void
kw_fake(struct conf *c, const char *kw, const char *v, int family, struct cidr *out, bool *have)
{
	unsigned int lo = family == AF_INET ? 8 : 64, hi = family == AF_INET ? 30 : 120;

	if (strcmp(v, "none") == 0) {
		*have = false;
		return;
	}
	if (cidr_parse(v, out) < 0 || out->addr.family != family) {
		conf_err(c, "%s: want an %s CIDR or none", kw, family == AF_INET ? "IPv4" : "IPv6");
		return;
	}
	if (out->prefix < lo || out->prefix > hi) {
		conf_err(c, "%s: the prefix must be /%u../%u", kw, lo, hi);
		return;
	}
	*have = true;
}

/* The transparent side's one-argument keywords; false when kw is none of them. */
static bool
tun_keyword(struct conf *c, struct tund_cfg *cfg, const char *kw, const char *v)
{
	uint64_t n;

	if (strcmp(kw, "tun") == 0) {
		if (!valid_name(v) || strlen(v) >= sizeof(cfg->tun)) {
			conf_err(c, "tun: want a device name of 1..15 of [A-Za-z0-9._-]");
			return true;
		}
		snprintf(cfg->tun, sizeof(cfg->tun), "%s", v);
		cfg->have_tun = true;
	} else if (strcmp(kw, "tun-mtu") == 0) {
		conf_u64(c, kw, v, 1280, 65535, &cfg->tun_mtu);
	} else if (strcmp(kw, "tun-addr") == 0) {
		if (cfg->n_tun_addrs == TUND_MAX_TUN_ADDRS) {
			conf_err(c, "tun-addr: more than %d addresses", TUND_MAX_TUN_ADDRS);
		} else if (cidr_parse(v, &cfg->tun_addrs[cfg->n_tun_addrs]) < 0) {
			conf_err(c, "tun-addr: bad address '%.60s' (want ADDR or ADDR/PREFIX)", v);
		} else {
			cfg->n_tun_addrs++;
		}
	} else if (strcmp(kw, "fake-ip") == 0) {
		kw_fake(c, kw, v, AF_INET, &cfg->fake4, &cfg->have_fake4);
	} else if (strcmp(kw, "fake-ip6") == 0) {
		kw_fake(c, kw, v, AF_INET6, &cfg->fake6, &cfg->have_fake6);
	} else if (strcmp(kw, "fwmark") == 0) {
		cfg->fwmark_given = conf_u64_hex(c, kw, v, 1, UINT32_MAX, &cfg->fwmark);
	} else if (strcmp(kw, "table") == 0) {
		/* 253..255 are the kernel's default, main and local tables. */
		if (conf_u64_hex(c, kw, v, 1, UINT32_MAX, &n)) {
			if (n >= 253 && n <= 255) {
				conf_err(c, "table: %llu is one of the kernel's own", (unsigned long long)n);
			} else {
				cfg->table = n;
			}
		}
	} else if (strcmp(kw, "rule-priority") == 0) {
		/* Below main's 32766, above local's 0; N..N+3 are ours. */
		conf_u64(c, kw, v, 1, 32762, &cfg->rule_prio);
	} else if (strcmp(kw, "kill-switch") == 0) {
		conf_bool(c, kw, v, &cfg->kill_switch);
	} else if (strcmp(kw, "user") == 0) {
		if (strlen(v) >= sizeof(cfg->user) || !valid_name(v)) {
			conf_err(c, "user: want a user name of 1..31 of [A-Za-z0-9._-]");
		} else {
			snprintf(cfg->user, sizeof(cfg->user), "%s", v);
		}
	} else if (strcmp(kw, "state") == 0) {
		if (v[0] != '/' || strlen(v) >= sizeof(cfg->state)) {
			conf_err(c, "state: want an absolute path shorter than %zu bytes",
				 sizeof(cfg->state));
		} else {
			snprintf(cfg->state, sizeof(cfg->state), "%s", v);
		}
	} else if (strcmp(kw, "tcp-connect") == 0) {
		if (strcmp(v, "auto") == 0) {
			cfg->tcp_connect = TUND_CONNECT_AUTO;
		} else if (strcmp(v, "fast") == 0) {
			cfg->tcp_connect = TUND_CONNECT_FAST;
		} else if (strcmp(v, "confirmed") == 0) {
			cfg->tcp_connect = TUND_CONNECT_CONFIRMED;
		} else {
			conf_err(c, "tcp-connect: want auto, fast or confirmed");
		}
	} else if (strcmp(kw, "test-loss") == 0) {
		parse_loss(c, v, &cfg->test_loss_ppm);
	} else {
		return false;
	}
	return true;
}

void
tund_cfg_line(struct conf *c, int argc, char **argv, void *arg)
{
	struct tund_cfg *cfg = arg;
	const char *kw = argv[0];
	bool ok;

	if (strcmp(kw, "relay") == 0) {
		kw_relay(c, cfg, argc, argv);
		return;
	}
	if (strcmp(kw, "path") == 0) {
		kw_path(c, cfg, argc, argv);
		return;
	}
	if (strcmp(kw, "route") == 0) {
		kw_route(c, cfg, argc, argv);
		return;
	}
	one_arg(c, argc, argv, &ok);
	if (!ok) {
		return;
	}
	if (strcmp(kw, "hops") == 0) {
		conf_u64(c, kw, argv[1], 1, CIRCUIT_MAX_HOPS, &cfg->hops);
	} else if (strcmp(kw, "pool") == 0) {
		conf_u64(c, kw, argv[1], 0, 256, &cfg->pool);
	} else if (strcmp(kw, "pool-max") == 0) {
		conf_u64(c, kw, argv[1], 1, 1024, &cfg->pool_max);
	} else if (strcmp(kw, "pool-idle") == 0) {
		conf_duration_ms(c, kw, argv[1], 1000, 3600 * 1000, &cfg->pool_idle_ms);
	} else if (strcmp(kw, "build-timeout") == 0) {
		conf_duration_ms(c, kw, argv[1], 100, 120 * 1000, &cfg->build_timeout_ms);
	} else if (strcmp(kw, "relay-max") == 0) {
		conf_u64(c, kw, argv[1], 1, 1000000, &cfg->relay_max);
	} else if (strcmp(kw, "relay-rate") == 0) {
		conf_u64(c, kw, argv[1], 1, 1000000, &cfg->relay_rate);
	} else if (strcmp(kw, "relay-burst") == 0) {
		conf_u64(c, kw, argv[1], 1, 1000000, &cfg->relay_burst);
	} else if (strcmp(kw, "stream-idle") == 0) {
		conf_duration_ms(c, kw, argv[1], 1000, 24 * 3600 * 1000, &cfg->stream_idle_ms);
	} else if (strcmp(kw, "optimistic") == 0) {
		conf_bool(c, kw, argv[1], &cfg->optimistic);
	} else if (strcmp(kw, "socks") == 0) {
		if (addr_port_parse(argv[1], &cfg->socks, &cfg->socks_port) < 0) {
			conf_err(c, "socks: bad address '%.60s' (want ADDR:PORT)", argv[1]);
			return;
		}
		cfg->have_socks = true;
	} else if (strcmp(kw, "control") == 0) {
		if (argv[1][0] != '/' || strlen(argv[1]) >= sizeof(cfg->control)) {
			conf_err(c, "control: want an absolute path shorter than %zu bytes",
				 sizeof(cfg->control));
			return;
		}
		snprintf(cfg->control, sizeof(cfg->control), "%s", argv[1]);
	} else if (strcmp(kw, "log") == 0) {
		if (log_level_parse(argv[1], &cfg->log_level) < 0) {
			conf_err(c, "log: want error, warn, info or debug");
		}
	} else if (!tun_keyword(c, cfg, kw, argv[1])) {
		conf_err(c, "unknown keyword '%.40s'", kw);
	}
}

static bool
is_loopback(const struct addr *a)
{
	static const uint8_t v6lo[16] = { [15] = 1 };

	return (a->family == AF_INET && a->a[0] == 127) ||
	       (a->family == AF_INET6 && memcmp(a->a, v6lo, 16) == 0);
}

/* The transparent side's whole-file checks and defaults. */
static void
finish_tun(struct conf *c, struct tund_cfg *cfg)
{
	if (!cfg->have_tun) {
		return;
	}
	if (!cfg->fwmark_given) {
		cfg->fwmark = TUND_DEFAULT_FWMARK;
	}
	if (!cfg->routes_given) {
		cidr_parse("0.0.0.0/0", &cfg->routes[0]);
		cidr_parse("::/0", &cfg->routes[1]);
		cfg->n_routes = 2;
	}
	if (cfg->n_tun_addrs == 0) {
		cidr_parse("198.18.0.1/32", &cfg->tun_addrs[0]);
		cidr_parse("fdfe:dcba:9876::1/128", &cfg->tun_addrs[1]);
		cfg->n_tun_addrs = 2;
	}
	if (!cfg->have_fake4 && !cfg->have_fake6) {
		conf_err(c, "fake-ip and fake-ip6 are both none: names would have no address");
	}
	if (cfg->have_fake4 && cfg->have_fake6 && cfg->fake6.prefix > 128 - 17 &&
	    (1u << (128 - cfg->fake6.prefix)) < (1u << (32 - cfg->fake4.prefix))) {
		conf_err(c, "fake-ip6: /%u has fewer addresses than fake-ip /%u", cfg->fake6.prefix,
			 cfg->fake4.prefix);
	}
	for (size_t i = 0; i < cfg->n_relays; i++) {
		const struct tund_relay *r = &cfg->relays[i];

		if ((cfg->have_fake4 && cidr_contains(&cfg->fake4, &r->addr)) ||
		    (cfg->have_fake6 && cidr_contains(&cfg->fake6, &r->addr))) {
			conf_err(c, "relay %s: its address is inside a fake-ip range", r->name);
		}
	}
}

int
tund_cfg_finish(struct conf *c, struct tund_cfg *cfg)
{
	size_t exits = 0;

	c->line = 0;
	if (cfg->n_relays == 0) {
		conf_err(c, "no relay defined");
	}
	for (size_t i = 0; i < cfg->n_relays; i++) {
		exits += cfg->relays[i].exit;
	}
	if (cfg->n_path > 0 && cfg->hops > 0) {
		conf_err(c, "give either path or hops, not both");
	} else if (cfg->n_path == 0 && cfg->hops == 0) {
		conf_err(c, "give a path or a number of hops");
	}
	for (size_t i = 0; i < cfg->n_path; i++) {
		int k = tund_cfg_relay(cfg, cfg->path_names[i]);

		if (k < 0) {
			conf_err(c, "path: no relay named '%s'", cfg->path_names[i]);
			cfg->path[i] = SIZE_MAX;
			continue;
		}
		for (size_t j = 0; j < i; j++) {
			if (cfg->path[j] == (size_t)k) {
				conf_err(c, "path: '%s' appears twice", cfg->path_names[i]);
			}
		}
		cfg->path[i] = (size_t)k;
		if (i + 1 == cfg->n_path && !cfg->relays[k].exit) {
			conf_err(c, "path: the last relay, '%s', is not flagged exit",
				 cfg->path_names[i]);
		}
	}
	if (cfg->hops > 0) {
		if (exits == 0) {
			conf_err(c, "hops: no relay is flagged exit");
		}
		if (cfg->hops > cfg->n_relays) {
			conf_err(c, "hops %llu: only %zu relays defined", (unsigned long long)cfg->hops,
				 cfg->n_relays);
		}
	}
	if (cfg->pool > cfg->pool_max) {
		conf_err(c, "pool %llu is larger than pool-max %llu", (unsigned long long)cfg->pool,
			 (unsigned long long)cfg->pool_max);
	}
	if (!cfg->have_socks && !cfg->have_tun) {
		conf_err(c, "nothing to serve: give a tun, a socks entrance, or both");
	}
	if (cfg->have_socks && !is_loopback(&cfg->socks)) {
		conf_err(c, "socks: the entrance must be on a loopback address, not an open proxy");
	}
	finish_tun(c, cfg);
	return c->errors ? -EINVAL : 0;
}

int
tund_cfg_load(struct tund_cfg *cfg, const char *path)
{
	struct conf c;
	int r;

	tund_cfg_init(cfg);
	conf_init(&c, path);
	r = conf_read_file(&c, path, tund_cfg_line, cfg);
	if (r < 0) {
		return r;
	}
	return tund_cfg_finish(&c, cfg);
}

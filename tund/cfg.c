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
#include <string.h>

#define DEFAULT_POOL 4
#define DEFAULT_POOL_MAX 64
#define DEFAULT_POOL_IDLE_MS (240 * 1000)
#define DEFAULT_BUILD_TIMEOUT_MS (10 * 1000)
#define DEFAULT_STREAM_IDLE_MS (300 * 1000)
#define DEFAULT_CONTROL "/run/tund.sock"

void
tund_cfg_init(struct tund_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->pool = DEFAULT_POOL;
	cfg->pool_max = DEFAULT_POOL_MAX;
	cfg->pool_idle_ms = DEFAULT_POOL_IDLE_MS;
	cfg->build_timeout_ms = DEFAULT_BUILD_TIMEOUT_MS;
	cfg->stream_idle_ms = DEFAULT_STREAM_IDLE_MS;
	snprintf(cfg->control, sizeof(cfg->control), "%s", DEFAULT_CONTROL);
	cfg->log_level = LOG_LVL_INFO;
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

void
tund_cfg_line(struct conf *c, int argc, char **argv, void *arg)
{
	static const char *const later[] = { "tun", "fake-ip", "fake-ip6", "route", "kill-switch",
					      "user" };
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
	for (size_t i = 0; i < sizeof(later) / sizeof(later[0]); i++) {
		if (strcmp(kw, later[i]) == 0) {
			conf_err(c, "%s: the TUN side of tund is not built yet; this tund serves "
				    "only its SOCKS5 entrance", kw);
			return;
		}
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
	} else {
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
	if (!cfg->have_socks) {
		conf_err(c, "no socks entrance: this tund serves only SOCKS5 (the TUN side is not "
			    "built yet)");
	} else if (!is_loopback(&cfg->socks)) {
		conf_err(c, "socks: the entrance must be on a loopback address, not an open proxy");
	}
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

/* SPDX-License-Identifier: MIT */
/*
 * exitd's configuration: see cfg.h. Gives the keywords their meaning and
 * their limits; opens nothing but the config file itself (through
 * conf_read_file), so the key file is read and checked by whoever uses
 * key_path.
 *
 * Choices the header leaves open:
 * - Every keyword takes exactly one argument.
 * - A keyword that is not repeatable and given twice keeps its last
 *   value, except "key", where a second one is an error.
 * - "resolver" takes ADDR:PORT, [v6]:PORT, a bare address or [v6]; the
 *   port defaults to 53.
 * - The finish step also tells the policy about the listening addresses
 *   (policy_add_self), the unspecified ones aside, so that the relay never
 *   connects back to itself even where an accept rule names its range.
 */
#include "cfg.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_DEFAULT_MAX_CONNS 4096
/*
 * Twice what one tund opens to a relay by default (tund/cfg.h: relay-max
 * 1024, relay-rate 400/s, relay-burst 800), so a client's own bursts never
 * trip them, and two clients behind one address still fit.
 */
#define CFG_DEFAULT_MAX_PER_SOURCE 2048
#define CFG_DEFAULT_RATE_PER_SOURCE 800
#define CFG_DEFAULT_BURST_PER_SOURCE 1600
#define CFG_DEFAULT_TIMEOUT_MS (10 * 1000)
#define CFG_DEFAULT_IDLE_TIMEOUT_MS (300 * 1000)
#define CFG_DEFAULT_BUFFER (128 * 1024)
#define CFG_DNS_PORT 53

#define CFG_MIN_COUNT 1
#define CFG_MAX_COUNT 1000000
#define CFG_MIN_TIMEOUT_MS 100
#define CFG_MAX_TIMEOUT_MS (24 * 60 * 60 * 1000)
#define CFG_MIN_BUFFER (4 * 1024)
#define CFG_MAX_BUFFER (16 * 1024 * 1024)

int
exitd_cfg_init(struct exitd_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->policy = policy_new();
	if (cfg->policy == NULL) {
		return -ENOMEM;
	}
	cfg->allow_private = false;
	cfg->resolve = true;
	cfg->max_conns = CFG_DEFAULT_MAX_CONNS;
	cfg->max_per_source = CFG_DEFAULT_MAX_PER_SOURCE;
	cfg->rate_per_source = CFG_DEFAULT_RATE_PER_SOURCE;
	cfg->burst_per_source = CFG_DEFAULT_BURST_PER_SOURCE;
	cfg->handshake_timeout_ms = CFG_DEFAULT_TIMEOUT_MS;
	cfg->request_timeout_ms = CFG_DEFAULT_TIMEOUT_MS;
	cfg->connect_timeout_ms = CFG_DEFAULT_TIMEOUT_MS;
	cfg->idle_timeout_ms = CFG_DEFAULT_IDLE_TIMEOUT_MS;
	cfg->buffer_size = CFG_DEFAULT_BUFFER;
	cfg->log_clients = false;
	cfg->log_level = LOG_LVL_INFO;
	return 0;
}

/* Safe on a zeroed or already finished cfg, so every path may call it. */
void
exitd_cfg_fini(struct exitd_cfg *cfg)
{
	free(cfg->key_path);
	cfg->key_path = NULL;
	policy_free(cfg->policy);
	cfg->policy = NULL;
}

enum kw_kind {
	KW_U64,
	KW_DURATION,
	KW_SIZE,
	KW_BOOL,
	KW_FUNC,
};

struct keyword {
	const char *name;
	enum kw_kind kind;
	size_t off;             /* of the field, for all kinds but KW_FUNC */
	uint64_t min, max;      /* for KW_U64, KW_DURATION and KW_SIZE */
	void (*fn)(struct conf *c, struct exitd_cfg *cfg, const char *kw, const char *arg);
};

static void
kw_listen(struct conf *c, struct exitd_cfg *cfg, const char *kw, const char *arg)
{
	struct addr a;
	uint16_t port;

	if (addr_port_parse(arg, &a, &port) != 0) {
		conf_err(c, "%s: bad address '%s' (want ADDR:PORT or [IPv6]:PORT)", kw, arg);
		return;
	}
	if (cfg->n_listen >= CFG_MAX_LISTEN) {
		conf_err(c, "%s: too many listen addresses (at most %d)", kw, CFG_MAX_LISTEN);
		return;
	}
	cfg->listen[cfg->n_listen] = a;
	cfg->listen_port[cfg->n_listen] = port;
	cfg->n_listen++;
}

static void
kw_key(struct conf *c, struct exitd_cfg *cfg, const char *kw, const char *arg)
{
	if (cfg->key_path != NULL) {
		conf_err(c, "%s: given twice", kw);
		return;
	}
	cfg->key_path = strdup(arg);
	if (cfg->key_path == NULL) {
		conf_err(c, "%s: out of memory", kw);
	}
}

static void
add_rule(struct conf *c, struct exitd_cfg *cfg, bool accept, const char *kw, const char *arg)
{
	char err[128];
	int r;

	err[0] = '\0';
	r = policy_add_rule(cfg->policy, accept, arg, err, sizeof(err));
	switch (r) {
	case 0:
		break;
	case -EINVAL:
		conf_err(c, "%s: %s", kw, err[0] != '\0' ? err : "bad rule");
		break;
	case -ENOSPC:
		conf_err(c, "%s: too many rules (at most %d)", kw, POLICY_MAX_RULES);
		break;
	default:
		conf_err(c, "%s: %s", kw, strerror(-r));
		break;
	}
}

static void
kw_accept(struct conf *c, struct exitd_cfg *cfg, const char *kw, const char *arg)
{
	add_rule(c, cfg, true, kw, arg);
}

static void
kw_reject(struct conf *c, struct exitd_cfg *cfg, const char *kw, const char *arg)
{
	add_rule(c, cfg, false, kw, arg);
}

static void
kw_user(struct conf *c, struct exitd_cfg *cfg, const char *kw, const char *arg)
{
	if (arg[0] == '\0' || strlen(arg) >= sizeof(cfg->user)) {
		conf_err(c, "%s: bad user name '%.40s'", kw, arg);
		return;
	}
	snprintf(cfg->user, sizeof(cfg->user), "%s", arg);
}

static void
kw_peer(struct conf *c, struct exitd_cfg *cfg, const char *kw, const char *arg)
{
	struct cidr p;

	if (cidr_parse(arg, &p) != 0) {
		conf_err(c, "%s: bad address or range '%s'", kw, arg);
		return;
	}
	if (cfg->n_peers >= CFG_MAX_PEERS) {
		conf_err(c, "%s: too many peers (at most %d)", kw, CFG_MAX_PEERS);
		return;
	}
	cfg->peers[cfg->n_peers++] = p;
}

static void
kw_allow_private(struct conf *c, struct exitd_cfg *cfg, const char *kw, const char *arg)
{
	bool v;

	if (!conf_bool(c, kw, arg, &v)) {
		return;
	}
	cfg->allow_private = v;
	policy_set_allow_private(cfg->policy, v);
}

/* "192.0.2.53", "192.0.2.53:5353", "2001:db8::53", "[2001:db8::53]" or
 * "[2001:db8::53]:5353". */
static int
parse_resolver(const char *arg, struct addr *a, uint16_t *port)
{
	char inner[ADDR_STRLEN];
	size_t len;

	if (addr_port_parse(arg, a, port) == 0) {
		return 0;
	}
	*port = CFG_DNS_PORT;
	if (addr_parse(arg, a) == 0) {
		return 0;
	}
	len = strlen(arg);
	if (len < 3 || arg[0] != '[' || arg[len - 1] != ']' || len - 2 >= sizeof(inner)) {
		return -EINVAL;
	}
	memcpy(inner, arg + 1, len - 2);
	inner[len - 2] = '\0';
	if (addr_parse(inner, a) != 0 || a->family != AF_INET6) {
		return -EINVAL;
	}
	return 0;
}

static void
kw_resolver(struct conf *c, struct exitd_cfg *cfg, const char *kw, const char *arg)
{
	struct addr a;
	uint16_t port;

	if (parse_resolver(arg, &a, &port) != 0) {
		conf_err(c, "%s: bad address '%s' (want ADDR, ADDR:PORT or [IPv6]:PORT)", kw,
			 arg);
		return;
	}
	if (cfg->n_resolvers >= CFG_MAX_RESOLVERS) {
		conf_err(c, "%s: too many resolvers (at most %d)", kw, CFG_MAX_RESOLVERS);
		return;
	}
	cfg->resolver[cfg->n_resolvers] = a;
	cfg->resolver_port[cfg->n_resolvers] = port;
	cfg->n_resolvers++;
}

static void
kw_log(struct conf *c, struct exitd_cfg *cfg, const char *kw, const char *arg)
{
	enum log_level lvl;

	if (log_level_parse(arg, &lvl) != 0) {
		conf_err(c, "%s: expected error, warn, info or debug, not '%s'", kw, arg);
		return;
	}
	cfg->log_level = lvl;
}

#define CFG_FIELD(f) offsetof(struct exitd_cfg, f)

static const struct keyword keywords[] = {
	{ "listen", KW_FUNC, 0, 0, 0, kw_listen },
	{ "key", KW_FUNC, 0, 0, 0, kw_key },
	{ "accept", KW_FUNC, 0, 0, 0, kw_accept },
	{ "reject", KW_FUNC, 0, 0, 0, kw_reject },
	{ "allow-private", KW_FUNC, 0, 0, 0, kw_allow_private },
	{ "resolve", KW_BOOL, CFG_FIELD(resolve), 0, 0, NULL },
	{ "resolver", KW_FUNC, 0, 0, 0, kw_resolver },
	{ "max-connections", KW_U64, CFG_FIELD(max_conns), CFG_MIN_COUNT, CFG_MAX_COUNT, NULL },
	{ "max-per-source", KW_U64, CFG_FIELD(max_per_source), CFG_MIN_COUNT, CFG_MAX_COUNT,
	  NULL },
	{ "rate-per-source", KW_U64, CFG_FIELD(rate_per_source), CFG_MIN_COUNT, CFG_MAX_COUNT,
	  NULL },
	{ "burst-per-source", KW_U64, CFG_FIELD(burst_per_source), CFG_MIN_COUNT, CFG_MAX_COUNT,
	  NULL },
	{ "peer", KW_FUNC, 0, 0, 0, kw_peer },
	{ "handshake-timeout", KW_DURATION, CFG_FIELD(handshake_timeout_ms), CFG_MIN_TIMEOUT_MS,
	  CFG_MAX_TIMEOUT_MS, NULL },
	{ "request-timeout", KW_DURATION, CFG_FIELD(request_timeout_ms), CFG_MIN_TIMEOUT_MS,
	  CFG_MAX_TIMEOUT_MS, NULL },
	{ "connect-timeout", KW_DURATION, CFG_FIELD(connect_timeout_ms), CFG_MIN_TIMEOUT_MS,
	  CFG_MAX_TIMEOUT_MS, NULL },
	{ "idle-timeout", KW_DURATION, CFG_FIELD(idle_timeout_ms), CFG_MIN_TIMEOUT_MS,
	  CFG_MAX_TIMEOUT_MS, NULL },
	{ "buffer", KW_SIZE, CFG_FIELD(buffer_size), CFG_MIN_BUFFER, CFG_MAX_BUFFER, NULL },
	{ "log-clients", KW_BOOL, CFG_FIELD(log_clients), 0, 0, NULL },
	{ "user", KW_FUNC, 0, 0, 0, kw_user },
	{ "run-as-root", KW_BOOL, CFG_FIELD(run_as_root), 0, 0, NULL },
	{ "log", KW_FUNC, 0, 0, 0, kw_log },
};

void
exitd_cfg_line(struct conf *c, int argc, char **argv, void *arg)
{
	struct exitd_cfg *cfg = arg;
	const struct keyword *kw = NULL;
	char *field;
	uint64_t v;
	bool b;

	if (argc < 1) {
		return;
	}
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (strcmp(argv[0], keywords[i].name) == 0) {
			kw = &keywords[i];
			break;
		}
	}
	if (kw == NULL) {
		conf_err(c, "unknown keyword '%s'", argv[0]);
		return;
	}
	if (argc != 2) {
		conf_err(c, "%s: expected 1 argument, got %d", kw->name, argc - 1);
		return;
	}
	field = (char *)cfg + kw->off;
	switch (kw->kind) {
	case KW_U64:
		if (conf_u64(c, kw->name, argv[1], kw->min, kw->max, &v)) {
			memcpy(field, &v, sizeof(v));
		}
		break;
	case KW_DURATION:
		if (conf_duration_ms(c, kw->name, argv[1], kw->min, kw->max, &v)) {
			memcpy(field, &v, sizeof(v));
		}
		break;
	case KW_SIZE:
		if (conf_size(c, kw->name, argv[1], kw->min, kw->max, &v)) {
			memcpy(field, &v, sizeof(v));
		}
		break;
	case KW_BOOL:
		if (conf_bool(c, kw->name, argv[1], &b)) {
			memcpy(field, &b, sizeof(b));
		}
		break;
	case KW_FUNC:
		kw->fn(c, cfg, kw->name, argv[1]);
		break;
	default:
		conf_err(c, "%s: internal error: keyword kind %d", kw->name, (int)kw->kind);
		break;
	}
}

static bool
addr_is_unspec(const struct addr *a)
{
	static const uint8_t zero[16];
	size_t len = a->family == AF_INET ? 4 : 16;

	return memcmp(a->a, zero, len) == 0;
}

/* The policy refuses unspecified addresses on its own; a wildcard listen
 * has no single address to remember. */
static int
add_self(struct conf *c, struct exitd_cfg *cfg, const struct addr *a)
{
	int r;

	if (addr_is_unspec(a)) {
		return 0;
	}
	r = policy_add_self(cfg->policy, a);
	if (r != 0) {
		conf_err(c, "listen: cannot add an own address to the policy: %s", strerror(-r));
	}
	return r;
}

int
exitd_cfg_finish(struct conf *c, struct exitd_cfg *cfg)
{
	char buf[ADDR_STRLEN + 8];

	/* These concern the whole file, not the line read last. */
	c->line = 0;
	if (cfg->n_listen == 0) {
		conf_err(c, "no 'listen' address");
	}
	if (cfg->key_path == NULL) {
		conf_err(c, "no 'key' file");
	}
	for (size_t i = 0; i < cfg->n_listen; i++) {
		for (size_t j = 0; j < i; j++) {
			if (cfg->listen_port[i] == cfg->listen_port[j] &&
			    addr_eq(&cfg->listen[i], &cfg->listen[j])) {
				conf_err(c, "listen: %s given twice",
					 addr_port_fmt(&cfg->listen[i], cfg->listen_port[i], buf,
						       sizeof(buf)));
				break;
			}
		}
	}
	if (c->errors == 0) {
		for (size_t i = 0; i < cfg->n_listen; i++) {
			if (add_self(c, cfg, &cfg->listen[i]) != 0) {
				break;
			}
		}
	}
	return c->errors == 0 ? 0 : -EINVAL;
}

int
exitd_cfg_load(struct exitd_cfg *cfg, const char *path)
{
	struct conf c;
	int r;

	r = exitd_cfg_init(cfg);
	if (r != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(-r));
		return r;
	}
	conf_init(&c, path);
	r = conf_read_file(&c, path, exitd_cfg_line, cfg);
	if (r != 0) {
		goto fail;
	}
	r = exitd_cfg_finish(&c, cfg);
	if (r != 0) {
		goto fail;
	}
	return 0;

fail:
	/* The caller gets nothing half-made; fini on it stays harmless. */
	exitd_cfg_fini(cfg);
	return r;
}

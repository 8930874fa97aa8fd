// SPDX-License-Identifier: MIT
/*
 * exitd: the relay daemon (DESIGN sections 2, 4 and 8).
 *
 *   exitd keygen FILE      make an identity key (mode 0600), print its pin
 *   exitd pin FILE         print the pin of a key
 *   exitd -c FILE [-t] [-d]  run (-t: check the configuration and exit;
 *                          -d: debug logging)
 *
 * Start-up does everything that can fail first (config, key, listening
 * sockets, resolver), then, with `user NAME`, drops to that user with no
 * capabilities and PR_SET_NO_NEW_PRIVS (src/priv.c), then serves until
 * SIGTERM or SIGINT: stop accepting, reset what is open, exit 0. SIGHUP
 * reloads the configuration (see reload()). As root
 * without `user` it refuses to start, unless `run-as-root yes`. SIGPIPE
 * is ignored.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cfg.h"
#include "ev.h"
#include "fdlimit.h"
#include "heap.h"
#include "listener.h"
#include "log.h"
#include "policy.h"
#include "priv.h"
#include "relay.h"
#include "resolv.h"
#include "tls.h"

static void
usage(void)
{
	fprintf(stderr, "usage: exitd keygen FILE\n"
			"       exitd pin FILE\n"
			"       exitd -c FILE [-t] [-d]\n");
	exit(2);
}

static int
cmd_keygen(const char *path)
{
	char pin[TLS_PIN_STRLEN], err[512];

	if (tls_keygen(path, pin, err, sizeof(err)) < 0) {
		fprintf(stderr, "exitd: %s\n", err);
		return 1;
	}
	printf("%s\n", pin);
	return 0;
}

static int
cmd_pin(const char *path)
{
	char pin[TLS_PIN_STRLEN], err[512];
	uint8_t raw[TLS_PIN_LEN];
	EVP_PKEY *key = tls_key_load(path, err, sizeof(err));

	if (key == NULL) {
		fprintf(stderr, "exitd: %s\n", err);
		return 1;
	}
	if (tls_key_pin(key, raw) < 0) {
		fprintf(stderr, "exitd: cannot compute the pin\n");
		EVP_PKEY_free(key);
		return 1;
	}
	EVP_PKEY_free(key);
	tls_pin_fmt(raw, pin);
	printf("%s\n", pin);
	return 0;
}

/*
 * The relay's own addresses are refused as destinations: a listen
 * address, or every local address when it listens on a wildcard.
 */
static void
add_self(struct policy *pol, const struct exitd_cfg *cfg)
{
	bool wildcard = false;
	struct ifaddrs *ifa, *i;

	for (size_t k = 0; k < cfg->n_listen; k++) {
		static const uint8_t zero[16];

		if (memcmp(cfg->listen[k].a, zero, cfg->listen[k].family == AF_INET ? 4 : 16) == 0) {
			wildcard = true;
		} else {
			policy_add_self(pol, &cfg->listen[k]);
		}
	}
	if (!wildcard || getifaddrs(&ifa) < 0) {
		return;
	}
	for (i = ifa; i; i = i->ifa_next) {
		struct addr a;
		uint16_t port;

		if (i->ifa_addr && addr_from_sockaddr(i->ifa_addr, &a, &port) == 0) {
			policy_add_self(pol, &a);
		}
	}
	freeifaddrs(ifa);
}

/* Two sockets per connection, and the listeners. */
static size_t
raise_nofile(const struct exitd_cfg *cfg)
{
	size_t want = (size_t)cfg->max_conns * 2 + 64, got = fdlimit_raise(want);

	if (got < want) {
		log_warnx("only %zu descriptors: fewer than max-connections needs", got);
	}
	return got;
}

struct sigctx {
	struct ev *ev;
	struct listeners *lis;
	struct relay_ctx *x;
	struct exitd_cfg *cfg;          /* the running one, x->cfg */
	const char *path;
	bool debug;
	int fd;
};

static bool
same_addrs(const struct addr *a, const uint16_t *ap, size_t an, const struct addr *b,
	   const uint16_t *bp, size_t bn)
{
	if (an != bn) {
		return false;
	}
	for (size_t i = 0; i < an; i++) {
		if (!addr_eq(&a[i], &b[i]) || ap[i] != bp[i]) {
			return false;
		}
	}
	return true;
}

/*
 * SIGHUP: the policy, the limits, the timeouts, buffer, resolve, peers
 * and the log settings take effect for what starts from now on; open
 * connections carry on. What was set up at start (listen, key, user,
 * resolvers, a higher max-connections than at start: the descriptors
 * were sized for it) keeps its running value, with a warning. A file
 * that does not load changes nothing.
 */
static void
reload(struct sigctx *s)
{
	struct exitd_cfg n, old;

	if (exitd_cfg_load(&n, s->path) < 0) {
		log_warnx("SIGHUP: %s is not valid: the running configuration stays", s->path);
		return;
	}
	if (!same_addrs(n.listen, n.listen_port, n.n_listen, s->cfg->listen, s->cfg->listen_port,
			s->cfg->n_listen) ||
	    strcmp(n.key_path, s->cfg->key_path) != 0 || strcmp(n.user, s->cfg->user) != 0 ||
	    !same_addrs(n.resolver, n.resolver_port, n.n_resolvers, s->cfg->resolver,
			s->cfg->resolver_port, s->cfg->n_resolvers)) {
		log_warnx("SIGHUP: listen, key, user and resolver take effect at a restart only");
	}
	memcpy(n.listen, s->cfg->listen, sizeof(n.listen));
	memcpy(n.listen_port, s->cfg->listen_port, sizeof(n.listen_port));
	n.n_listen = s->cfg->n_listen;
	memcpy(n.resolver, s->cfg->resolver, sizeof(n.resolver));
	memcpy(n.resolver_port, s->cfg->resolver_port, sizeof(n.resolver_port));
	n.n_resolvers = s->cfg->n_resolvers;
	memcpy(n.user, s->cfg->user, sizeof(n.user));
	if (n.max_conns > s->cfg->max_conns) {
		log_warnx("SIGHUP: max-connections above %llu takes a restart",
			  (unsigned long long)s->cfg->max_conns);
		n.max_conns = s->cfg->max_conns;
	}
	add_self(n.policy, &n);
	old = *s->cfg;
	*s->cfg = n;
	exitd_cfg_fini(&old);
	if (!s->debug) {
		log_set_level(s->cfg->log_level);
	}
	listeners_reconfigure(s->lis);
	log_info("SIGHUP: %s reloaded (%zu policy rules); %zu connections carry on", s->path,
		 policy_rule_count(s->cfg->policy), s->x->n_conns);
}

static void
on_signal(struct ev *ev, int fd, unsigned int events, void *arg)
{
	struct sigctx *s = arg;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(s);
		} else if (si.ssi_signo == SIGUSR1) {
			/* What RSS cannot tell: whether memory went back after a burst. */
			log_info("SIGUSR1: %zu connections open; heap %zu bytes in use (%zu by TLS), "
				 "%zu from the system",
				 s->x->n_conns, heap_in_use(), tls_heap_bytes(), heap_from_system());
		} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_info("signal %u: closing %zu connections and exiting", si.ssi_signo,
				 s->x->n_conns);
			listeners_close(s->lis);
			relay_close_all(s->x);
			ev_stop(ev);
		}
	}
}

static int
serve(const char *path, bool check_only, bool debug)
{
	struct exitd_cfg cfg;
	struct relay_ctx x;
	struct listeners *lis = NULL;
	struct sigctx sc;
	struct heap_trim trim;
	EVP_PKEY *key = NULL;
	SSL_CTX *ctx = NULL;
	size_t nofile;
	char err[512], pin[TLS_PIN_STRLEN], abuf[ADDR_STRLEN];
	uint8_t raw[TLS_PIN_LEN];
	sigset_t mask;
	int rc = 1;

	memset(&x, 0, sizeof(x));
	if (exitd_cfg_load(&cfg, path) < 0) {
		fprintf(stderr, "exitd: %s: configuration not valid\n", path);
		return 1;
	}
	log_init("exitd", debug ? LOG_LVL_DEBUG : cfg.log_level);
	key = tls_key_load(cfg.key_path, err, sizeof(err));
	if (key == NULL) {
		fprintf(stderr, "exitd: %s\n", err);
		goto out;
	}
	if (cfg.user[0]) {
		uid_t uid;
		gid_t gid;

		if (priv_lookup(cfg.user, &uid, &gid, err, sizeof(err)) < 0) {
			fprintf(stderr, "exitd: %s\n", err);
			goto out;
		}
	}
	if (check_only) {
		printf("configuration OK\n");
		rc = 0;
		goto out;
	}
	if (geteuid() == 0 && !cfg.user[0] && !cfg.run_as_root) {
		fprintf(stderr, "exitd: will not run as root: set 'user NAME' (or 'run-as-root yes')\n");
		goto out;
	}
	ctx = tls_server_ctx_new(key, err, sizeof(err));
	if (ctx == NULL || tls_key_pin(key, raw) < 0) {
		fprintf(stderr, "exitd: %s\n", err);
		goto out;
	}
	tls_pin_fmt(raw, pin);
	nofile = raise_nofile(&cfg);
	add_self(cfg.policy, &cfg);

	x.cfg = &cfg;
	x.ssl_ctx = ctx;
	x.ev = ev_new((int)nofile);
	if (x.ev == NULL) {
		fprintf(stderr, "exitd: cannot make the event loop\n");
		goto out;
	}
	x.resolv = resolv_new(x.ev, cfg.resolver, cfg.resolver_port, cfg.n_resolvers, err,
			      sizeof(err));
	if (x.resolv == NULL) {
		fprintf(stderr, "exitd: resolver: %s\n", err);
		goto out;
	}
	lis = listeners_new(&x);
	if (lis == NULL) {
		fprintf(stderr, "exitd: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < cfg.n_listen; i++) {
		if (listeners_add(lis, &cfg.listen[i], cfg.listen_port[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "exitd: %s\n", err);
			goto out;
		}
		log_info("listening on %s, pin %s",
			 addr_port_fmt(&cfg.listen[i], cfg.listen_port[i], abuf, sizeof(abuf)), pin);
	}

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sc.ev = x.ev;
	sc.lis = lis;
	sc.x = &x;
	sc.cfg = &cfg;
	sc.path = path;
	sc.debug = debug;
	sc.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sc.fd < 0 || ev_fd_add(x.ev, sc.fd, EV_RD, on_signal, &sc) < 0) {
		fprintf(stderr, "exitd: signalfd: %s\n", strerror(errno));
		goto out;
	}
	/* Bound, key loaded, resolver set up: nothing needs root any more. */
	if (cfg.user[0]) {
		if (priv_drop(cfg.user, 0, err, sizeof(err)) < 0) {
			fprintf(stderr, "exitd: %s\n", err);
			goto out;
		}
		log_info("running as %s (uid %u), no capabilities", cfg.user, (unsigned int)getuid());
	}
	heap_trim_start(&trim, x.ev);
	if (ev_run(x.ev) < 0) {
		log_warn("event loop");
		goto out;
	}
	log_info("%llu connections served, %llu ended in error",
		 (unsigned long long)x.n_total, (unsigned long long)x.n_failed);
	rc = 0;
out:
	listeners_free(lis);
	if (x.ev) {
		relay_close_all(&x);
	}
	resolv_free(x.resolv);
	ev_free(x.ev);
	SSL_CTX_free(ctx);
	EVP_PKEY_free(key);
	exitd_cfg_fini(&cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *conf = NULL;
	bool check = false, debug = false;
	int ch;

	log_init("exitd", LOG_LVL_INFO);
	/* First, before any OpenSSL call: SIGUSR1 tells what TLS holds. */
	(void)tls_count_heap();
	if (argc == 3 && strcmp(argv[1], "keygen") == 0) {
		return cmd_keygen(argv[2]);
	}
	if (argc == 3 && strcmp(argv[1], "pin") == 0) {
		return cmd_pin(argv[2]);
	}
	while ((ch = getopt(argc, argv, "c:td")) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'd':
			debug = true;
			break;
		default:
			usage();
		}
	}
	if (conf == NULL || optind != argc) {
		usage();
	}
	return serve(conf, check, debug);
}

// SPDX-License-Identifier: MIT
/*
 * tund: the client daemon (DESIGN sections 5 and 8): circuits, path
 * choice, the pool of ready circuits, the SOCKS5 entrance, and the
 * transparent side: the TUN, its routes and rules, the fake-IP map and
 * its state file, the capture (TCP stack, DNS). All privileged work
 * (TUN, netlink, the state file, sockets) is done first; then, with
 * `user`, tund runs as that user keeping only CAP_NET_ADMIN (to mark its
 * sockets and remove its routes on exit) under PR_SET_NO_NEW_PRIVS.
 *
 *   tund -c FILE [-t] [-d]            run (-t: check the configuration)
 *   tund status [-s SOCKET] [--json]  what a running tund is doing
 *   tund leakcheck -c FILE -i IFACE [-s SECONDS]
 *                                     capture on the outer interface and
 *                                     list every packet not with a relay
 *
 * Signals: SIGTERM/SIGINT close everything (streams abortively: a clean
 * close would tell applications their data was complete) and exit 0;
 * SIGHUP reads the configuration again and, when it is valid, takes its
 * relays, path, hops and pool settings (listening addresses stay).
 */
#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "capture.h"
#include "cfg.h"
#include "ctl.h"
#include "ev.h"
#include "fakeip.h"
#include "fdlimit.h"
#include "heap.h"
#include "leakcheck.h"
#include "log.h"
#include "path.h"
#include "pool.h"
#include "priv.h"
#include "socks_in.h"
#include "route.h"
#include "state.h"
#include "status.h"
#include "tls.h"
#include "tun.h"

/* A fake address is not recycled for this long after its last use: applications cache past TTLs. */
#define FAKEIP_HOLD_MS (30 * 60 * 1000)

struct tund {
	const char *conf_path;
	struct tund_cfg cfg;
	struct ev *ev;
	SSL_CTX *ctx;
	struct paths paths;
	struct pool *pool;
	struct socks_in *socks;
	struct ctl *ctl;
	uint64_t start_ms;
	/* The transparent side. */
	struct route *route;
	struct route_cfg rc;
	int tun_fd;
	struct fakeip *fip;
	struct state *state;
	struct capture *cap;
	struct heap_trim trim;
};

static void
usage(void)
{
	fprintf(stderr, "usage: tund -c FILE [-t] [-d]\n"
			"       tund status [-s SOCKET] [--json]\n"
			"       tund leakcheck -c FILE -i IFACE [-s SECONDS] [-r FILE] [-q]\n");
	exit(2);
}

static size_t
status(void *arg, bool json, char *buf, size_t cap)
{
	struct tund *t = arg;
	struct status_src src = {
		.cfg = &t->cfg,
		.paths = &t->paths,
		.pool = t->pool,
		.socks = t->socks,
		.cap = t->cap,
		.fip = t->fip,
		.start_ms = t->start_ms,
	};

	return status_format(&src, ev_now_ms(t->ev), json, buf, cap);
}

static void
reload(struct tund *t)
{
	struct tund_cfg *n = malloc(sizeof(*n));
	struct relay_health old[TUND_MAX_RELAYS];
	struct tund_cfg prev;

	if (n == NULL) {
		return;
	}
	if (tund_cfg_load(n, t->conf_path) < 0) {
		log_warnx("SIGHUP: %s is not valid; keeping the relays in use", t->conf_path);
		free(n);
		return;
	}
	if (n->n_relays == t->cfg.n_relays &&
	    memcmp(n->relays, t->cfg.relays, sizeof(n->relays[0]) * n->n_relays) == 0 &&
	    n->n_path == t->cfg.n_path && memcmp(n->path, t->cfg.path, sizeof(n->path)) == 0 &&
	    n->hops == t->cfg.hops) {
		/* The same relays and paths: keep the circuits built, take the rest. */
		t->cfg.pool = n->pool;
		t->cfg.pool_max = n->pool_max;
		t->cfg.pool_idle_ms = n->pool_idle_ms;
		t->cfg.build_timeout_ms = n->build_timeout_ms;
		log_info("SIGHUP: relays unchanged");
		free(n);
		return;
	}
	/* Health follows a relay by name across the reload. */
	memcpy(old, t->paths.h, sizeof(old));
	prev = t->cfg;
	t->cfg.n_relays = n->n_relays;
	memcpy(t->cfg.relays, n->relays, sizeof(n->relays));
	t->cfg.n_path = n->n_path;
	memcpy(t->cfg.path, n->path, sizeof(n->path));
	t->cfg.hops = n->hops;
	t->cfg.pool = n->pool;
	t->cfg.pool_max = n->pool_max;
	t->cfg.pool_idle_ms = n->pool_idle_ms;
	t->cfg.build_timeout_ms = n->build_timeout_ms;
	memset(t->paths.h, 0, sizeof(t->paths.h));
	for (size_t i = 0; i < t->cfg.n_relays; i++) {
		int k = tund_cfg_relay(&prev, t->cfg.relays[i].name);

		if (k >= 0) {
			t->paths.h[i] = old[k];
		}
	}
	pool_flush(t->pool);
	for (size_t i = 0; t->route && i < t->cfg.n_relays; i++) {
		bool known = false;

		for (size_t k = 0; k < t->rc.n_relays; k++) {
			known |= addr_eq(&t->rc.relays[k].addr, &t->cfg.relays[i].addr) &&
				 t->rc.relays[k].port == t->cfg.relays[i].port;
		}
		if (!known) {
			/*
			 * Its circuits are marked, so they reach it; only the rule that
			 * lets strict rp_filter pass its replies is made at start.
			 */
			log_warnx("SIGHUP: relay %s is new to the TUN's rules: with strict rp_filter "
				  "and the relay beyond the default route, restart tund",
				  t->cfg.relays[i].name);
		}
	}
	log_info("SIGHUP: %zu relays, %s", t->cfg.n_relays,
		 t->cfg.n_path ? "a fixed path" : "random paths");
	free(n);
}

static void
on_signal(struct ev *ev, int fd, unsigned int events, void *arg)
{
	struct tund *t = arg;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(t);
		} else {
			log_info("signal %u: closing and exiting", si.ssi_signo);
			ev_stop(ev);
		}
	}
}

/* The TUN, its addresses, routes and rules, after removing a crashed run's leftovers. */
static int
setup_tun(struct tund *t, char *err, size_t errlen)
{
	const struct tund_cfg *cfg = &t->cfg;
	struct route_cfg *rc = &t->rc;
	char ifname[TUN_IFNAMSIZ];
	int r;

	memset(rc, 0, sizeof(*rc));
	snprintf(rc->ifname, sizeof(rc->ifname), "%s", cfg->tun);
	rc->mtu = (uint32_t)cfg->tun_mtu;
	memcpy(rc->addrs, cfg->tun_addrs, sizeof(cfg->tun_addrs[0]) * cfg->n_tun_addrs);
	rc->n_addrs = cfg->n_tun_addrs;
	memcpy(rc->prefixes, cfg->routes, sizeof(cfg->routes[0]) * cfg->n_routes);
	rc->n_prefixes = cfg->n_routes;
	for (size_t i = 0; i < cfg->n_relays && i < ROUTE_MAX_RELAYS; i++) {
		rc->relays[i].addr = cfg->relays[i].addr;
		rc->relays[i].port = cfg->relays[i].port;
		rc->n_relays++;
	}
	rc->fwmark = (uint32_t)cfg->fwmark;
	rc->table = (uint32_t)cfg->table;
	rc->prio = (uint32_t)cfg->rule_prio;
	rc->kill_switch = cfg->kill_switch;
	t->route = route_new(err, errlen);
	if (t->route == NULL) {
		return -1;
	}
	r = route_cleanup(t->route, rc, err, errlen);
	if (r < 0) {
		return -1;
	}
	if (r > 0) {
		log_info("removed %d rules and routes left by an earlier run", r);
	}
	t->tun_fd = tun_open(cfg->tun, ifname, err, errlen);
	if (t->tun_fd < 0) {
		return -1;
	}
	snprintf(rc->ifname, sizeof(rc->ifname), "%s", ifname);
	if (route_apply(t->route, rc, err, errlen) < 0) {
		return -1;
	}
	return 0;
}

/* Seeds from OpenSSL's generator; 0, or -1 with a message naming what for. */
static int
random_bytes(void *p, size_t n, const char *what, char *err, size_t errlen)
{
	char ossl[256];

	if (RAND_bytes(p, (int)n) != 1) {
		snprintf(err, errlen, "no random bytes for %s: %s", what, tls_errstr(ossl, sizeof(ossl)));
		return -1;
	}
	return 0;
}

static int
setup_fakeip(struct tund *t, char *err, size_t errlen)
{
	const struct tund_cfg *cfg = &t->cfg;
	struct addr ex[TUND_MAX_TUN_ADDRS];
	struct fakeip_cfg fc = {
		.have_v4 = cfg->have_fake4,
		.have_v6 = cfg->have_fake6,
		.v4 = cfg->fake4,
		.v6 = cfg->fake6,
		.exclude = ex,
		.n_exclude = cfg->n_tun_addrs,
		.hold_ms = FAKEIP_HOLD_MS,
	};
	size_t restored = 0;

	for (size_t i = 0; i < cfg->n_tun_addrs; i++) {
		ex[i] = cfg->tun_addrs[i].addr;
	}
	if (random_bytes(fc.hash_key, sizeof(fc.hash_key), "the fake-IP table", err, errlen) < 0) {
		return -1;
	}
	t->fip = fakeip_new(&fc);
	if (t->fip == NULL) {
		snprintf(err, errlen, "fake-ip: cannot make the pool");
		return -1;
	}
	t->state = state_open(cfg->state, t->fip, ev_now_ms(t->ev), &restored, err, errlen);
	if (t->state == NULL) {
		return -1;
	}
	if (restored) {
		log_info("%zu fake addresses from the last run restored", restored);
	}
	return 0;
}

/*
 * Runs as user from now on, keeping CAP_NET_ADMIN only (SO_MARK on new
 * circuits, and removing the routes at exit). The control socket is
 * handed to the user, so that user can ask for the status.
 */
static int
drop_privileges(struct tund *t, char *err, size_t errlen)
{
	uid_t uid;
	gid_t gid;

	if (priv_lookup(t->cfg.user, &uid, &gid, err, errlen) < 0) {
		return -1;
	}
	if (chown(t->cfg.control, uid, gid) < 0) {
		log_warn("chown %s", t->cfg.control);
	}
	if (priv_drop(t->cfg.user, CAP_TO_MASK(CAP_NET_ADMIN), err, errlen) < 0) {
		return -1;
	}
	log_info("running as %s (uid %u), with CAP_NET_ADMIN only", t->cfg.user, (unsigned int)uid);
	return 0;
}

static int
run(const char *path, bool check, bool debug)
{
	struct tund *t = calloc(1, sizeof(*t));
	char err[512];
	uint64_t seed = 0;
	size_t fds;
	sigset_t mask;
	int sfd = -1, rc = 1;

	if (t == NULL) {
		return 1;
	}
	t->tun_fd = -1;
	t->conf_path = path;
	if (tund_cfg_load(&t->cfg, path) < 0) {
		fprintf(stderr, "tund: %s: configuration not valid\n", path);
		free(t);
		return 1;
	}
	if (check) {
		printf("configuration OK\n");
		free(t);
		return 0;
	}
	log_init("tund", debug ? LOG_LVL_DEBUG : t->cfg.log_level);
	signal(SIGPIPE, SIG_IGN);
	/* A stream holds one socket (two through the entrance); the rest is
	 * small change. Both entrances' caps derive from what was obtained. */
	fds = fdlimit_raise(65536);
	t->ev = ev_new((int)fds);
	t->ctx = tls_client_ctx_new(err, sizeof(err));
	if (t->ev == NULL || t->ctx == NULL) {
		fprintf(stderr, "tund: %s\n", t->ctx ? "cannot make the event loop" : err);
		goto out;
	}
	t->start_ms = ev_now_ms(t->ev);
	if (random_bytes(&seed, sizeof(seed), "the choice of paths", err, sizeof(err)) < 0) {
		fprintf(stderr, "tund: %s\n", err);
		goto out;
	}
	paths_init(&t->paths, &t->cfg, seed);
	t->pool = pool_new(t->ev, t->ctx, &t->cfg, &t->paths);
	if (t->pool == NULL) {
		fprintf(stderr, "tund: out of memory\n");
		goto out;
	}
	if (t->cfg.have_socks) {
		t->socks = socks_in_new(t->ev, &t->cfg, t->pool, socks_in_max(fds), err, sizeof(err));
		if (t->socks == NULL) {
			fprintf(stderr, "tund: %s\n", err);
			goto out;
		}
	}
	if (t->cfg.have_tun) {
		if (setup_tun(t, err, sizeof(err)) < 0 || setup_fakeip(t, err, sizeof(err)) < 0) {
			fprintf(stderr, "tund: %s\n", err);
			goto out;
		}
		if (random_bytes(&seed, sizeof(seed), "the TCP stack", err, sizeof(err)) < 0) {
			fprintf(stderr, "tund: %s\n", err);
			goto out;
		}
		t->cap = capture_new(t->ev, &t->cfg, t->pool, t->tun_fd, t->fip, seed,
				     capture_max_conns(fds), err, sizeof(err));
		if (t->cap == NULL) {
			fprintf(stderr, "tund: %s\n", err);
			goto out;
		}
	}
	t->ctl = ctl_new(t->ev, t->cfg.control, status, t, err, sizeof(err));
	if (t->ctl == NULL) {
		fprintf(stderr, "tund: %s\n", err);
		goto out;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0 || ev_fd_add(t->ev, sfd, EV_RD, on_signal, t) < 0) {
		fprintf(stderr, "tund: signalfd: %s\n", strerror(errno));
		goto out;
	}
	if (t->cfg.user[0] && drop_privileges(t, err, sizeof(err)) < 0) {
		fprintf(stderr, "tund: %s\n", err);
		goto out;
	}
	log_info("ready: %s%s%s, %zu relays, %s, pool %llu",
		 t->cfg.have_socks ? "SOCKS5 entrance" : "", t->cfg.have_socks && t->cap ? " and " : "",
		 t->cap ? t->rc.ifname : "", t->cfg.n_relays,
		 t->cfg.n_path ? "a fixed path" : "random paths", (unsigned long long)t->cfg.pool);
	heap_trim_start(&t->trim, t->ev);
	if (ev_run(t->ev) < 0) {
		log_warn("event loop");
		goto out;
	}
	rc = 0;
out:
	capture_free(t->cap);
	socks_in_free(t->socks);
	pool_free(t->pool);
	ctl_free(t->ctl);
	if (t->route) {
		/* A clean stop removes everything, the kill switch's routes too. */
		int r = route_cleanup(t->route, &t->rc, err, sizeof(err));

		if (r < 0) {
			log_warnx("removing routes and rules: %s", err);
		}
		route_free(t->route);
	}
	if (t->tun_fd >= 0) {
		close(t->tun_fd);
	}
	state_close(t->state);
	fakeip_free(t->fip);
	if (sfd >= 0) {
		close(sfd);
	}
	ev_free(t->ev);
	SSL_CTX_free(t->ctx);
	free(t);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *conf = NULL;
	bool check = false, debug = false;
	int ch;

	log_init("tund", LOG_LVL_INFO);
	/* First, before any OpenSSL call: tund status shows what TLS holds. */
	(void)tls_count_heap();
	if (argc >= 2 && strcmp(argv[1], "leakcheck") == 0) {
		return leakcheck_main(argc - 1, argv + 1);
	}
	if (argc >= 2 && strcmp(argv[1], "status") == 0) {
		const char *sock = "/run/tund.sock";
		bool json = false;

		for (int i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--json") == 0) {
				json = true;
			} else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
				sock = argv[++i];
			} else {
				usage();
			}
		}
		return ctl_query(sock, json);
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
	return run(conf, check, debug);
}

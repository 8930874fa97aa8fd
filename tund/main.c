// SPDX-License-Identifier: MIT
/*
 * tund: the client daemon, part 1 (DESIGN sections 5 and 8): circuits,
 * path choice, the pool of ready circuits, and the SOCKS5 entrance. The
 * TUN side (its own TCP stack, DNS and fake addresses) is to come.
 *
 *   tund -c FILE [-t] [-d]            run (-t: check the configuration)
 *   tund status [-s SOCKET] [--json]  what a running tund is doing
 *
 * Signals: SIGTERM/SIGINT close everything (streams abortively: a clean
 * close would tell applications their data was complete) and exit 0;
 * SIGHUP reads the configuration again and, when it is valid, takes its
 * relays, path, hops and pool settings (listening addresses stay).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "cfg.h"
#include "ctl.h"
#include "ev.h"
#include "leakcheck.h"
#include "log.h"
#include "path.h"
#include "pool.h"
#include "socks_in.h"
#include "status.h"
#include "tls.h"

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
};

static void
usage(void)
{
	fprintf(stderr, "usage: tund -c FILE [-t] [-d]\n"
			"       tund status [-s SOCKET] [--json]\n");
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

static int
run(const char *path, bool check, bool debug)
{
	struct tund *t = calloc(1, sizeof(*t));
	char err[512];
	uint64_t seed = 0;
	sigset_t mask;
	int sfd = -1, rc = 1;

	if (t == NULL) {
		return 1;
	}
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
	t->ev = ev_new(65536);
	t->ctx = tls_client_ctx_new(err, sizeof(err));
	if (t->ev == NULL || t->ctx == NULL) {
		fprintf(stderr, "tund: %s\n", t->ctx ? "cannot make the event loop" : err);
		goto out;
	}
	t->start_ms = ev_now_ms(t->ev);
	RAND_bytes((unsigned char *)&seed, sizeof(seed));
	paths_init(&t->paths, &t->cfg, seed);
	t->pool = pool_new(t->ev, t->ctx, &t->cfg, &t->paths);
	if (t->pool == NULL) {
		fprintf(stderr, "tund: out of memory\n");
		goto out;
	}
	t->socks = socks_in_new(t->ev, &t->cfg, t->pool, err, sizeof(err));
	if (t->socks == NULL) {
		fprintf(stderr, "tund: %s\n", err);
		goto out;
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
	log_info("SOCKS5 entrance ready, %zu relays, %s, pool %llu", t->cfg.n_relays,
		 t->cfg.n_path ? "a fixed path" : "random paths", (unsigned long long)t->cfg.pool);
	if (ev_run(t->ev) < 0) {
		log_warn("event loop");
		goto out;
	}
	rc = 0;
out:
	socks_in_free(t->socks);
	pool_free(t->pool);
	ctl_free(t->ctl);
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

// SPDX-License-Identifier: MIT
/*
 * Listening sockets and admission: see listener.h.
 *
 * A connection refused at admission (max-connections, the per-source
 * limits) is told so in a way the client can tell from a broken relay:
 * the relay sends one plaintext TLS alert, internal_error, the answer a
 * TLS server gives before its ServerHello when it cannot go on, then a
 * FIN. A client reading it knows this hop, not the one before it, is busy
 * (for hop k >= 2 the relay before it forwards the alert and the FIN like
 * any bytes). The socket then waits, in one of DRAIN_SLOTS slots, for the
 * client's FIN (at most DRAIN_MS, reading and dropping what comes), since
 * closing with unread bytes would send a RST that can overtake the alert.
 * With every slot taken (a flood) a refusal is a bare RST, as before.
 */
#include "listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "limit.h"
#include "log.h"

#define DRAIN_SLOTS 256
#define DRAIN_MS 1000

struct drain {
	struct listeners *l;
	int fd;                 /* -1: free */
	uint64_t until_ms;
};

struct listeners {
	struct relay_ctx *x;
	struct limits *lim;
	int fds[CFG_MAX_LISTEN];
	size_t n;
	bool paused;
	struct ev_timer pause_timer;
	struct ev_timer sweep_timer;
	struct ev_timer drain_timer;
	struct drain drain[DRAIN_SLOTS];
	uint64_t refused;
};

#define LISTEN_BACKLOG 4096
#define PAUSE_MS 1000
#define SWEEP_MS 5000

static void on_accept(struct ev *ev, int fd, unsigned int events, void *arg);

/* A TLS record: alert, legacy version 3.3, length 2, level fatal, internal_error. */
static const unsigned char busy_alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x50 };

static void
reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void
drain_end(struct listeners *l, struct drain *d)
{
	ev_fd_del(l->x->ev, d->fd);
	close(d->fd);
	d->fd = -1;
}

static void
on_drain(struct ev *ev, int fd, unsigned int events, void *arg)
{
	struct drain *d = arg;
	char sink[4096];
	ssize_t n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		drain_end(d->l, d);
	}
}

static void
on_drain_timer(struct ev *ev, void *arg)
{
	struct listeners *l = arg;
	uint64_t now = ev_now_ms(ev), next = 0;

	for (size_t i = 0; i < DRAIN_SLOTS; i++) {
		struct drain *d = &l->drain[i];

		if (d->fd < 0) {
			continue;
		}
		if (d->until_ms <= now) {
			/* Still sending after a second: it gets the RST. */
			ev_fd_del(ev, d->fd);
			reset(d->fd);
			d->fd = -1;
		} else if (next == 0 || d->until_ms < next) {
			next = d->until_ms;
		}
	}
	if (next) {
		ev_timer_set_at(ev, &l->drain_timer, next);
	}
}

/* Refuses an accepted connection: see the top of the file. */
static void
refuse(struct listeners *l, int fd)
{
	struct drain *d = NULL;

	for (size_t i = 0; i < DRAIN_SLOTS && d == NULL; i++) {
		if (l->drain[i].fd < 0) {
			d = &l->drain[i];
		}
	}
	if (d == NULL || send(fd, busy_alert, sizeof(busy_alert), MSG_DONTWAIT | MSG_NOSIGNAL) !=
				 (ssize_t)sizeof(busy_alert) ||
	    shutdown(fd, SHUT_WR) < 0 || ev_fd_add(l->x->ev, fd, EV_RD, on_drain, d) < 0) {
		reset(fd);
		return;
	}
	d->fd = fd;
	d->until_ms = ev_now_ms(l->x->ev) + DRAIN_MS;
	if (!ev_timer_armed(&l->drain_timer)) {
		ev_timer_set(l->x->ev, &l->drain_timer, DRAIN_MS);
	}
}

static bool
is_peer(const struct exitd_cfg *cfg, const struct addr *a)
{
	for (size_t i = 0; i < cfg->n_peers; i++) {
		if (cidr_contains(&cfg->peers[i], a)) {
			return true;
		}
	}
	return false;
}

static void
conn_closed(void *arg, const struct addr *peer)
{
	struct listeners *l = arg;

	limits_put(l->lim, peer);
}

static void
set_paused(struct listeners *l, bool paused)
{
	for (size_t i = 0; i < l->n; i++) {
		ev_fd_mod(l->x->ev, l->fds[i], paused ? 0 : EV_RD);
	}
	l->paused = paused;
	if (paused) {
		ev_timer_set(l->x->ev, &l->pause_timer, PAUSE_MS);
	}
}

static void
on_pause_end(struct ev *ev, void *arg)
{
	set_paused(arg, false);
}

static void
on_sweep(struct ev *ev, void *arg)
{
	struct listeners *l = arg;

	limits_sweep(l->lim, ev_now_ms(ev));
	ev_timer_set(ev, &l->sweep_timer, SWEEP_MS);
}

static void
on_accept(struct ev *ev, int lfd, unsigned int events, void *arg)
{
	struct listeners *l = arg;
	const struct exitd_cfg *cfg = l->x->cfg;

	/* A bounded batch per wake-up, so one busy listener cannot starve the loop. */
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct addr peer;
		uint16_t port;
		int fd, r;

		fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				log_warnx_rl("accept: out of descriptors or memory; pausing for %d ms",
					     PAUSE_MS);
				set_paused(l, true);
			}
			return;
		}
		if (addr_from_sockaddr((struct sockaddr *)&ss, &peer, &port) < 0) {
			close(fd);
			continue;
		}
		if (l->x->n_conns >= cfg->max_conns) {
			l->refused++;
			log_warnx_rl("refusing a connection: max-connections (%llu) reached",
				     (unsigned long long)cfg->max_conns);
			refuse(l, fd);
			continue;
		}
		/* A relay peer carries many clients: max-connections alone bounds it. */
		r = is_peer(cfg, &peer) ? 0 : limits_take(l->lim, &peer, ev_now_ms(ev));
		if (r < 0) {
			l->refused++;
			log_warnx_rl("refusing a connection: %s",
				     r == -EMFILE   ? "max-per-source reached"
				     : r == -EAGAIN ? "rate-per-source reached"
						    : "too many sources");
			refuse(l, fd);
			continue;
		}
		if (relay_start(l->x, fd, &peer, port) < 0) {
			limits_put(l->lim, &peer);
		}
	}
}

struct listeners *
listeners_new(struct relay_ctx *x)
{
	struct listeners *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		return NULL;
	}
	l->x = x;
	/* Sources with live entries are at most the connections open, plus a second's worth. */
	l->lim = limits_new(x->cfg->max_per_source, x->cfg->rate_per_source,
			    x->cfg->burst_per_source, (size_t)x->cfg->max_conns * 2 + 1024);
	if (l->lim == NULL) {
		free(l);
		return NULL;
	}
	ev_timer_init(&l->pause_timer, on_pause_end, l);
	ev_timer_init(&l->sweep_timer, on_sweep, l);
	ev_timer_init(&l->drain_timer, on_drain_timer, l);
	ev_timer_set(x->ev, &l->sweep_timer, SWEEP_MS);
	for (size_t i = 0; i < DRAIN_SLOTS; i++) {
		l->drain[i].l = l;
		l->drain[i].fd = -1;
	}
	x->closed = conn_closed;
	x->closed_arg = l;
	return l;
}

int
listeners_add(struct listeners *l, const struct addr *a, uint16_t port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = addr_to_sockaddr(a, port, &ss);
	char abuf[ADDR_STRLEN];
	int one = 1, fd, r;

	if (l->n == CFG_MAX_LISTEN) {
		snprintf(err, errlen, "too many listen addresses");
		return -ENOSPC;
	}
	fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return r;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s",
			 addr_port_fmt(a, port, abuf, sizeof(abuf)), strerror(errno));
		close(fd);
		return r;
	}
	r = ev_fd_add(l->x->ev, fd, EV_RD, on_accept, l);
	if (r < 0) {
		snprintf(err, errlen, "event loop: %s", strerror(-r));
		close(fd);
		return r;
	}
	l->fds[l->n++] = fd;
	return 0;
}

void
listeners_reconfigure(struct listeners *l)
{
	const struct exitd_cfg *cfg = l->x->cfg;

	limits_set(l->lim, cfg->max_per_source, cfg->rate_per_source, cfg->burst_per_source);
}

void
listeners_close(struct listeners *l)
{
	for (size_t i = 0; i < l->n; i++) {
		ev_fd_del(l->x->ev, l->fds[i]);
		close(l->fds[i]);
	}
	l->n = 0;
	ev_timer_del(l->x->ev, &l->pause_timer);
}

void
listeners_free(struct listeners *l)
{
	if (l == NULL) {
		return;
	}
	listeners_close(l);
	ev_timer_del(l->x->ev, &l->sweep_timer);
	ev_timer_del(l->x->ev, &l->drain_timer);
	for (size_t i = 0; i < DRAIN_SLOTS; i++) {
		if (l->drain[i].fd >= 0) {
			drain_end(l, &l->drain[i]);
		}
	}
	limits_free(l->lim);
	l->x->closed = NULL;
	free(l);
}

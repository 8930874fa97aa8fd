/* SPDX-License-Identifier: MIT */
/*
 * One relayed connection of exitd (DESIGN sections 3 and 4): the TLS
 * handshake under a timeout, one SOCKS5 request (pipelined bytes after it
 * kept, bounded; a circuit may wait idle for it, as tund's pool keeps
 * circuits ready, but once begun it must end within request-timeout), the policy on every resolved address, the connect with
 * a timeout per address, the precise reply code, then bytes copied both
 * ways through two bounded buffers. close_notify maps to FIN and back; an
 * abortive close (RST, TLS failure) becomes a RST on the other side.
 * RESOLVE, RESOLVE_PTR and DNS are answered here with resolv.c.
 *
 * It does not accept connections or apply per-source limits: the
 * listener does, and hands over each accepted socket.
 */
#ifndef EXITD_RELAY_H
#define EXITD_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "addr.h"
#include "cfg.h"
#include "ev.h"
#include "resolv.h"

struct relay;

/* What every connection shares; owned by main. */
struct relay_ctx {
	struct ev *ev;
	const struct exitd_cfg *cfg;
	SSL_CTX *ssl_ctx;
	struct resolv *resolv;
	struct relay *conns;            /* every open connection */
	size_t n_conns;
	/* Called when a connection ends (the listener's accounting). */
	void (*closed)(void *arg, const struct addr *peer);
	void *closed_arg;
	/* Counters since start. */
	uint64_t n_total, n_ok, n_failed, bytes_up, bytes_down;
};

/* Takes fd (an accepted, non-blocking socket). 0, or -errno with fd closed. */
int relay_start(struct relay_ctx *x, int fd, const struct addr *peer, uint16_t peer_port);
/* Closes every connection at once (SIGTERM): RST, no goodbyes. */
void relay_close_all(struct relay_ctx *x);

#endif

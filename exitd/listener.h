/* SPDX-License-Identifier: MIT */
/*
 * exitd's listening sockets and admission: accept, then the limits of
 * DESIGN section 4 (max-connections, per-source open connections and new
 * connections per second) before a connection costs a TLS handshake. A
 * refused connection is closed at once with a RST; the others go on.
 * When accept() runs out of descriptors the listeners pause for a second
 * instead of spinning (relayd).
 */
#ifndef EXITD_LISTENER_H
#define EXITD_LISTENER_H

#include <stdint.h>

#include "addr.h"
#include "relay.h"

struct listeners;

struct listeners *listeners_new(struct relay_ctx *x);
/* Binds and listens; 0 or -errno with a message in err. */
int listeners_add(struct listeners *l, const struct addr *a, uint16_t port, char *err,
		  size_t errlen);
/* Stops accepting (SIGTERM); existing connections are not touched. */
void listeners_close(struct listeners *l);
/* The per-source limits changed (a reload of x->cfg). */
void listeners_reconfigure(struct listeners *l);
void listeners_free(struct listeners *l);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * A dial: one stream's way from a request to an open circuit, the same
 * for both entrances (SOCKS5 and the TUN). It takes a ready circuit from
 * the pool, replaces one found dead at hand-over (a relay closed it while
 * it waited; nothing was sent yet) up to DIAL_RETRIES times, sends the
 * request with the application's first bytes in one flight (optimistic
 * data, DESIGN section 3.4), bounds the wait for the exit's reply, and
 * reports the outcome: the exit's reply code unchanged, or ours when no
 * reply came (0x06 when our wait timed out, 0x01 for anything else).
 *
 * Early bytes: with wait_early, the request waits up to
 * DIAL_EARLY_WAIT_MS for the application's first bytes (an entrance that
 * answered the application at once expects them right away; protocols
 * where the server speaks first lose only that). It leaves as soon as
 * dial_early_done() says they are all in. Up to CIRCUIT_MAX_EARLY bytes
 * are taken (copied); the rest stays with the caller for the stream.
 */
#ifndef TUND_DIAL_H
#define TUND_DIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "circuit.h"
#include "ev.h"
#include "pool.h"
#include "socks5.h"

#define DIAL_RETRIES 3
#define DIAL_EARLY_WAIT_MS 3
/*
 * The exit's reply may take its connect timeout for each address of a
 * name: wait well beyond the build timeout for it, so its own code (0x06
 * timed out, 0x05 refused...) reaches the application, not ours.
 */
#define DIAL_REPLY_TIMEOUT_MIN_MS 30000

struct dial;

struct dial_result {
	struct circuit *c;              /* on 0x00 to a CONNECT or DNS: open, now the caller's */
	uint8_t rep;                    /* the exit's code, or ours */
	bool from_exit;                 /* rep (and reply) came from the exit */
	const struct socks5_reply *reply; /* when from_exit: its bound address (RESOLVE answers) */
	const char *why;                /* for logs: the exit's code, or what broke */
};

/*
 * Called once, from the loop (never inside dial_new). The dial is done
 * then; the caller frees it (inside the callback or later).
 */
typedef void dial_cb(void *arg, const struct dial_result *r);

/* Starts a dial for req (copied). NULL when out of memory. */
struct dial *dial_new(struct ev *ev, struct pool *pool, const struct tund_cfg *cfg,
		      const struct socks5_req *req, bool wait_early, dial_cb *cb, void *arg);
/*
 * Hands over early bytes (copied). Returns how many were taken: fewer
 * than len once CIRCUIT_MAX_EARLY is reached, 0 after the request left.
 */
size_t dial_early(struct dial *d, const void *p, size_t len);
/* No more early bytes will come: the request leaves once there is a circuit. */
void dial_early_done(struct dial *d);
/* True once the request left (early bytes are no longer taken). */
bool dial_sent(const struct dial *d);
/* Cancels (the circuit, if any, is reset) or releases a finished dial. NULL is a no-op. */
void dial_free(struct dial *d);

#endif

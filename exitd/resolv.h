/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous name resolution for exitd: c-ares bound to the event loop
 * (sock_state_cb, ares_process_fd, ares_timeout; no threads). The only
 * file that includes c-ares.
 *
 * A query's callback runs exactly once, unless the query was cancelled
 * first with resolv_cancel(); after a cancel nothing refers to the
 * caller's argument again. Results are borrowed for the callback.
 * Addresses of names are cached (bounded, for their TTL, at most 300 s);
 * PTR and raw queries are not.
 */
#ifndef EXITD_RESOLV_H
#define EXITD_RESOLV_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "ev.h"

struct resolv;
struct resolv_query;

enum resolv_status {
	RESOLV_OK,
	RESOLV_NOTFOUND,        /* NXDOMAIN or no address of the kind asked */
	RESOLV_TIMEOUT,
	RESOLV_FAIL,            /* SERVFAIL, refused, malformed, out of memory */
};

#define RESOLV_MAX_ADDRS 16

typedef void resolv_addrs_cb(void *arg, enum resolv_status st, const struct addr *addrs,
			     size_t n);
typedef void resolv_name_cb(void *arg, enum resolv_status st, const char *name);
typedef void resolv_raw_cb(void *arg, enum resolv_status st, const uint8_t *msg, size_t len);

/*
 * servers: n addresses with ports to ask; n == 0 uses resolv.conf. Names
 * are looked up in the DNS only (never /etc/hosts). NULL on failure.
 */
struct resolv *resolv_new(struct ev *ev, const struct addr *servers, const uint16_t *ports,
			  size_t n, char *err, size_t errlen);
/* Cancels every query still running (their callbacks do not run). */
void resolv_free(struct resolv *r);

/* A and AAAA of name. NULL when the query cannot start (callback not called). */
struct resolv_query *resolv_addrs(struct resolv *r, const char *name, resolv_addrs_cb *cb,
				  void *arg);
/* PTR of an address. */
struct resolv_query *resolv_name(struct resolv *r, const struct addr *a, resolv_name_cb *cb,
				 void *arg);
/*
 * Sends a whole DNS query message (12..65535 bytes, QR clear) and answers
 * with the whole response, its ID set back to the query's.
 */
struct resolv_query *resolv_raw(struct resolv *r, const uint8_t *msg, size_t len,
				resolv_raw_cb *cb, void *arg);
void resolv_cancel(struct resolv_query *q);

#endif

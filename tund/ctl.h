/* SPDX-License-Identifier: MIT */
/*
 * The control socket behind `tund status`: a Unix stream socket where a
 * client writes one line, "status" or "json", and reads the answer until
 * EOF. The status says, at a glance: circuits ready, building and busy;
 * streams; bytes each way; every relay with its successes, failures,
 * back-off and last error. Owns the socket file (made 0660, removed on
 * close).
 */
#ifndef TUND_CTL_H
#define TUND_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include "ev.h"

struct ctl;

/* Fills buf with the status, text or JSON; returns its length. */
typedef size_t ctl_status_fn(void *arg, bool json, char *buf, size_t cap);

/*
 * A request: one line, "status" or "json" (a final CR is allowed), within
 * cap bytes. Pure; exposed for tests and fuzz_ctl.
 */
enum ctl_req {
	CTL_REQ_MORE,           /* no newline yet, room left */
	CTL_REQ_BAD,            /* cap bytes and no newline: dropped */
	CTL_REQ_STATUS,
	CTL_REQ_JSON,
	CTL_REQ_UNKNOWN,        /* a line, but neither: answered with a hint */
};
enum ctl_req ctl_parse_request(const char *buf, size_t len, size_t cap);

struct ctl *ctl_new(struct ev *ev, const char *path, ctl_status_fn *fn, void *arg, char *err,
		    size_t errlen);
void ctl_free(struct ctl *c);

/* The client side: prints the status from the socket at path. 0 or 1. */
int ctl_query(const char *path, bool json);

#endif

// SPDX-License-Identifier: MIT
/*
 * Dials: see dial.h.
 *
 *   WAIT_CIRCUIT --(pool answers)--> [EARLY wait] --> REQUESTED --(reply)--> DONE
 *
 * The early-bytes timer and the pool wait run side by side: the request
 * leaves when both a circuit is here and the early bytes are in (or their
 * wait ran out).
 */
#include "dial.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct dial {
	struct ev *ev;
	struct pool *pool;
	const struct tund_cfg *cfg;
	struct socks5_req req;
	struct pool_wait *wait;
	struct circuit *c;
	unsigned int retries;
	uint8_t *early;                 /* CIRCUIT_MAX_EARLY bytes, while taking them */
	size_t early_len;
	bool early_done, sent, done;
	bool deferred;                  /* res waits for the timer */
	struct ev_timer timer;          /* the early wait, or a deferred result */
	struct dial_result res;
	dial_cb *cb;
	void *arg;
};

static void got_circuit(void *arg, struct circuit *c, const char *err);

/* Reports the outcome from the loop (the timer), never from inside a caller's call. */
static void
finish(struct dial *d, struct circuit *c, uint8_t rep, bool from_exit,
       const struct socks5_reply *reply, const char *why)
{
	d->done = true;
	d->res.c = c;
	d->res.rep = rep;
	d->res.from_exit = from_exit;
	d->res.reply = reply;
	d->res.why = why;
	d->cb(d->arg, &d->res);
}

static void
send_request(struct dial *d)
{
	uint8_t *early = d->early;
	int r;

	if (d->c == NULL || !d->early_done || d->sent) {
		return;
	}
	d->sent = true;
	d->early = NULL;
	/*
	 * circuit_request may deliver the reply (or the death) at once, and
	 * our callback may free d: d is not touched after a success.
	 */
	r = circuit_request(d->c, &d->req, early, d->early_len);
	free(early);
	if (r == 0) {
		return;
	}
	/* This may run inside a caller's dial_early_done(): report from the loop. */
	circuit_free(d->c);
	d->c = NULL;
	d->done = d->deferred = true;
	d->res = (struct dial_result){ .rep = SOCKS5_REP_FAIL, .why = "cannot send the request" };
	ev_timer_set(d->ev, &d->timer, 0);
}

static void
on_reply(struct circuit *c, const struct socks5_reply *rep, void *arg)
{
	struct dial *d = arg;

	d->c = NULL;
	if (rep->rep == SOCKS5_REP_OK &&
	    (d->req.cmd == SOCKS5_CMD_CONNECT || d->req.cmd == SOCKS5_CMD_DNS)) {
		finish(d, c, rep->rep, true, rep, "succeeded");
		return;
	}
	/*
	 * Lookups end with their answer, refusals with their code; the
	 * circuit is done either way. The reply lives in the circuit, so
	 * it is delivered before the circuit goes.
	 */
	circuit_set_cbs(c, &(struct circuit_cbs){ 0 }, NULL);
	finish(d, NULL, rep->rep, true, rep, socks5_rep_str(rep->rep));
	circuit_free(c);
}

static void
on_dead(struct circuit *c, void *arg)
{
	struct dial *d = arg;
	/* Our own wait ran out: timed out; anything else broke the circuit. */
	uint8_t rep = circuit_fail(c) == CIRC_E_TIMEOUT ? SOCKS5_REP_TIMEOUT : SOCKS5_REP_FAIL;

	log_warnx_rl("stream failed before the exit replied: %s", circuit_error(c));
	d->c = NULL;
	circuit_set_cbs(c, &(struct circuit_cbs){ 0 }, NULL);
	finish(d, NULL, rep, false, NULL, circuit_error(c));
	circuit_free(c);
}

static const struct circuit_cbs dial_cbs = {
	.reply = on_reply,
	.dead = on_dead,
};

static void
got_circuit(void *arg, struct circuit *c, const char *err)
{
	struct dial *d = arg;
	uint64_t reply_ms;

	d->wait = NULL;
	if (c == NULL) {
		log_warnx_rl("no circuit for a stream: %s", err);
		finish(d, NULL, SOCKS5_REP_FAIL, false, NULL, err);
		return;
	}
	if (circuit_state(c) == CIRC_DEAD && d->retries < DIAL_RETRIES) {
		/* It died between the pool and us (a relay closed it): nothing was sent yet. */
		circuit_free(c);
		d->retries++;
		d->wait = pool_get(d->pool, got_circuit, d);
		if (d->wait == NULL) {
			finish(d, NULL, SOCKS5_REP_FAIL, false, NULL, "out of memory");
		}
		return;
	}
	d->c = c;
	circuit_set_cbs(c, &dial_cbs, d);
	reply_ms = d->cfg->build_timeout_ms * 3;
	circuit_set_reply_timeout(c, reply_ms > DIAL_REPLY_TIMEOUT_MIN_MS ? reply_ms
									  : DIAL_REPLY_TIMEOUT_MIN_MS);
	send_request(d);
}

static void
on_timer(struct ev *ev, void *arg)
{
	struct dial *d = arg;

	if (d->deferred) {
		d->deferred = false;
		d->cb(d->arg, &d->res);
		return;
	}
	/* The wait for early bytes ran out: the request goes with what it has. */
	dial_early_done(d);
}

struct dial *
dial_new(struct ev *ev, struct pool *pool, const struct tund_cfg *cfg,
	 const struct socks5_req *req, bool wait_early, dial_cb *cb, void *arg)
{
	struct dial *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		return NULL;
	}
	d->ev = ev;
	d->pool = pool;
	d->cfg = cfg;
	d->req = *req;
	d->cb = cb;
	d->arg = arg;
	d->early_done = !wait_early;
	ev_timer_init(&d->timer, on_timer, d);
	d->wait = pool_get(pool, got_circuit, d);
	if (d->wait == NULL) {
		log_warnx_rl("no circuit for a stream: %d streams wait already", POOL_MAX_WAITING);
		free(d);
		return NULL;
	}
	if (wait_early) {
		ev_timer_set(ev, &d->timer, DIAL_EARLY_WAIT_MS);
	}
	return d;
}

size_t
dial_early(struct dial *d, const void *p, size_t len)
{
	size_t n;

	if (d->sent || d->done) {
		return 0;
	}
	if (d->early == NULL) {
		d->early = malloc(CIRCUIT_MAX_EARLY);
		if (d->early == NULL) {
			return 0;
		}
	}
	n = CIRCUIT_MAX_EARLY - d->early_len;
	if (n > len) {
		n = len;
	}
	memcpy(d->early + d->early_len, p, n);
	d->early_len += n;
	return n;
}

void
dial_early_done(struct dial *d)
{
	if (d->early_done || d->done) {
		return;
	}
	ev_timer_del(d->ev, &d->timer);
	d->early_done = true;
	send_request(d);
}

bool
dial_sent(const struct dial *d)
{
	return d->sent;
}

void
dial_free(struct dial *d)
{
	if (d == NULL) {
		return;
	}
	ev_timer_del(d->ev, &d->timer);
	pool_cancel(d->pool, d->wait);
	circuit_free(d->c);
	free(d->early);
	free(d);
}

// SPDX-License-Identifier: MIT
/*
 * Circuits: see circuit.h. One socket, n SSL objects chained through a
 * small BIO method (struct layer); no buffers of our own beyond the
 * SOCKS5 request and the few reply bytes being parsed.
 *
 * Re-entrancy: callbacks run from inside on_fd/on_timer and may free the
 * circuit. c->busy counts active frames; circuit_free() during one only
 * marks the circuit, and the outermost frame frees it on the way out.
 */
#include "circuit.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>

#include "hopsock.h"
#include "log.h"

struct layer {
	struct circuit *c;
	size_t idx;
	SSL *ssl;
	/*
	 * For idx >= 1: SOCKS5 greeting + CONNECT to hop idx, sent through
	 * layer idx-1. Hops are addresses, never names: 3 + 22 bytes at most.
	 */
	uint8_t pre[32];
	size_t pre_len, pre_off;
	/* The method choice and reply of relay idx-1, read byte by byte. */
	uint8_t rx[2 + SOCKS5_MAX_MSG];
	size_t rx_len;
	bool socks_done;
};

struct circuit {
	struct ev *ev;
	int fd;
	enum circuit_state state;
	struct circuit_hop hops[CIRCUIT_MAX_HOPS];
	size_t n;
	size_t cur;                     /* layer being built */
	struct ev_timer timer;
	uint64_t timeout_ms;
	uint64_t reply_timeout_ms;
	struct circuit_cbs cbs;
	void *arg;
	void (*on_free)(void *arg);     /* once, from circuit_free */
	void *on_free_arg;
	/* The final request: greeting + request + early data, sent in one write. */
	uint8_t *req;
	size_t req_len, req_off;
	bool req_queued;
	uint8_t rx[2 + SOCKS5_MAX_MSG]; /* the exit's method choice and reply */
	size_t rx_len;
	bool reading;                   /* consumer wants EV_RD */
	bool want_wr;                   /* the build or the request waits for EV_WR */
	/*
	 * In CIRC_OPEN, each direction's own wait, as exitd keeps them: an
	 * SSL_read may need the socket writable, an SSL_write readable, and
	 * one must not clear or swallow the other's.
	 */
	bool read_wants_wr;
	bool write_wants_wr, write_wants_rd;
	bool peer_eof;                  /* close_notify from the exit */
	bool our_eof;                   /* our close_notify sent */
	enum circuit_fail fail;
	char err[256];
	struct timespec t0;
	uint64_t build_us;
	int busy;
	bool zombie;
	/* n of them, allocated with the circuit: an idle circuit costs little beyond its TLS. */
	struct layer layers[];
};

static BIO_METHOD *layer_method;

static void
set_fail(struct circuit *c, enum circuit_fail f, size_t hop, const char *fmt, ...)
	LOG_PRINTF(4, 5);

static void
set_fail(struct circuit *c, enum circuit_fail f, size_t hop, const char *fmt, ...)
{
	va_list ap;
	int n;

	/* The first failure is the cause; later ones are its echoes. */
	if (c->fail != CIRC_OK) {
		return;
	}
	c->fail = f;
	c->cur = hop;
	n = snprintf(c->err, sizeof(c->err), "hop %zu (%s): ", hop + 1, c->hops[hop].name);
	if (n < 0 || (size_t)n >= sizeof(c->err)) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(c->err + n, sizeof(c->err) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* BIO of layer idx >= 1: the plaintext of layer idx-1. */

static int
outer_failed(struct layer *l, SSL *outer, int r)
{
	int e = SSL_get_error(outer, r);
	char buf[256];

	switch (e) {
	case SSL_ERROR_ZERO_RETURN:
		set_fail(l->c, CIRC_E_CLOSED, l->idx - 1, "relay closed the circuit");
		break;
	case SSL_ERROR_SYSCALL:
		set_fail(l->c, CIRC_E_CLOSED, l->idx - 1, "connection lost (%s)",
			 errno ? strerror(errno) : "unexpected end of data");
		break;
	default:
		set_fail(l->c, CIRC_E_TLS, l->idx - 1, "TLS error: %s", tls_errstr(buf, sizeof(buf)));
		break;
	}
	return -1;
}

static int
layer_write(BIO *b, const char *data, int len)
{
	struct layer *l = BIO_get_data(b);
	SSL *outer = l->c->layers[l->idx - 1].ssl;
	int r, e;

	BIO_clear_retry_flags(b);
	while (l->pre_off < l->pre_len) {
		r = SSL_write(outer, l->pre + l->pre_off, (int)(l->pre_len - l->pre_off));
		if (r <= 0) {
			goto retry_or_fail;
		}
		l->pre_off += (size_t)r;
	}
	r = SSL_write(outer, data, len);
	if (r > 0) {
		return r;
	}
retry_or_fail:
	e = SSL_get_error(outer, r);
	if (e == SSL_ERROR_WANT_WRITE) {
		BIO_set_retry_write(b);
		return -1;
	}
	if (e == SSL_ERROR_WANT_READ) {
		BIO_set_retry_read(b);
		return -1;
	}
	return outer_failed(l, outer, r);
}

/*
 * Reads relay idx-1's method choice and reply one byte at a time, so no
 * byte of hop idx's TLS is taken before the SOCKS5 answers end.
 */
static int
layer_read_socks(struct layer *l, BIO *b, SSL *outer)
{
	struct socks5_reply rep;
	size_t used;
	const char *why;

	while (!l->socks_done) {
		int r = SSL_read(outer, l->rx + l->rx_len, 1);
		enum parse_res pr;

		if (r <= 0) {
			int e = SSL_get_error(outer, r);

			if (e == SSL_ERROR_WANT_READ) {
				BIO_set_retry_read(b);
				return -1;
			}
			if (e == SSL_ERROR_WANT_WRITE) {
				BIO_set_retry_write(b);
				return -1;
			}
			return outer_failed(l, outer, r);
		}
		l->rx_len++;
		pr = socks5_parse_answer(l->rx, l->rx_len, sizeof(l->rx), &used, &rep, &why);
		if (pr == PARSE_AGAIN) {
			continue;
		}
		if (pr == PARSE_BAD) {
			set_fail(l->c, CIRC_E_PROTO, l->idx - 1, "%s", why);
			return -1;
		}
		if (rep.rep != SOCKS5_REP_OK) {
			set_fail(l->c, CIRC_E_EXTEND, l->idx,
				 "%s could not connect to it: %s (0x%02x)", l->c->hops[l->idx - 1].name,
				 socks5_rep_str(rep.rep), rep.rep);
			return -1;
		}
		l->socks_done = true;
	}
	return 0;
}

static int
layer_read(BIO *b, char *out, int len)
{
	struct layer *l = BIO_get_data(b);
	SSL *outer = l->c->layers[l->idx - 1].ssl;
	int r, e;

	BIO_clear_retry_flags(b);
	if (!l->socks_done && layer_read_socks(l, b, outer) < 0) {
		return -1;
	}
	r = SSL_read(outer, out, len);
	if (r > 0) {
		return r;
	}
	e = SSL_get_error(outer, r);
	if (e == SSL_ERROR_WANT_READ) {
		BIO_set_retry_read(b);
		return -1;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		BIO_set_retry_write(b);
		return -1;
	}
	if (e == SSL_ERROR_ZERO_RETURN) {
		/* End of the outer stream: the inner layer decides if it was clean. */
		return 0;
	}
	return outer_failed(l, outer, r);
}

static long
layer_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	default:
		return 0;
	}
}

static int
layer_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO_METHOD *
method(void)
{
	if (layer_method == NULL) {
		layer_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "circuit layer");
		if (layer_method == NULL || BIO_meth_set_write(layer_method, layer_write) != 1 ||
		    BIO_meth_set_read(layer_method, layer_read) != 1 ||
		    BIO_meth_set_ctrl(layer_method, layer_ctrl) != 1 ||
		    BIO_meth_set_create(layer_method, layer_create) != 1) {
			BIO_meth_free(layer_method);
			layer_method = NULL;
		}
	}
	return layer_method;
}

/* The circuit proper. */

static void on_fd(struct ev *ev, int fd, unsigned int events, void *arg);
static void on_timer(struct ev *ev, void *arg);
static void really_free(struct circuit *c);

static void
update_mask(struct circuit *c)
{
	unsigned int m = 0;

	if (c->fd < 0) {
		return;
	}
	if (c->state == CIRC_CONNECTING || c->want_wr || c->read_wants_wr || c->write_wants_wr) {
		m |= EV_WR;
	}
	if (c->state != CIRC_CONNECTING && c->state != CIRC_DEAD &&
	    (c->state != CIRC_OPEN || (c->reading && !c->peer_eof) || c->write_wants_rd)) {
		m |= EV_RD;
	}
	ev_fd_mod(c->ev, c->fd, m);
}

/* Nothing more can happen on a dead circuit: its fd leaves the loop. */
static void
mark_dead(struct circuit *c)
{
	c->state = CIRC_DEAD;
	c->want_wr = c->read_wants_wr = c->write_wants_wr = c->write_wants_rd = false;
	ev_timer_del(c->ev, &c->timer);
	if (c->fd >= 0) {
		ev_fd_del(c->ev, c->fd);
	}
}

static void
die(struct circuit *c)
{
	if (c->state == CIRC_DEAD) {
		return;
	}
	mark_dead(c);
	if (c->cbs.dead) {
		c->cbs.dead(c, c->arg);
	}
}

static int
layer_setup(struct circuit *c, size_t idx, SSL_CTX *ctx)
{
	struct layer *l = &c->layers[idx];
	BIO *bio;

	l->c = c;
	l->idx = idx;
	l->ssl = SSL_new(ctx);
	if (l->ssl == NULL || tls_set_pin(l->ssl, c->hops[idx].pin) < 0) {
		return -ENOMEM;
	}
	SSL_set_connect_state(l->ssl);
	SSL_set_read_ahead(l->ssl, 1);
	SSL_set_max_send_fragment(l->ssl, TLS_MAX_FRAGMENT - TLS_RECORD_OVERHEAD * idx);
	if (idx == 0) {
		bio = BIO_new_socket(c->fd, BIO_NOCLOSE);
	} else {
		struct socks5_req req;
		size_t glen, rlen;

		memset(&req, 0, sizeof(req));
		req.cmd = SOCKS5_CMD_CONNECT;
		req.dst.atyp = c->hops[idx].addr.family == AF_INET6 ? SOCKS5_ATYP_IPV6
								   : SOCKS5_ATYP_IPV4;
		req.dst.ip = c->hops[idx].addr;
		req.dst.port = c->hops[idx].port;
		if (socks5_build_greeting(l->pre, sizeof(l->pre), &glen) < 0 ||
		    socks5_build_request(l->pre + glen, sizeof(l->pre) - glen, &rlen, &req) < 0) {
			return -EINVAL;
		}
		l->pre_len = glen + rlen;
		bio = method() ? BIO_new(method()) : NULL;
		if (bio) {
			BIO_set_data(bio, l);
		}
	}
	if (bio == NULL) {
		return -ENOMEM;
	}
	SSL_set_bio(l->ssl, bio, bio);
	return 0;
}

static void
fail_handshake(struct circuit *c, SSL *ssl, int r)
{
	int e = SSL_get_error(ssl, r);
	char buf[256];

	if (tls_pin_mismatched(ssl)) {
		char want[TLS_PIN_STRLEN];

		tls_pin_fmt(c->hops[c->cur].pin, want);
		set_fail(c, CIRC_E_PIN, c->cur, "pin mismatch: expected %s, relay presented %s",
			 want, tls_seen_pin(ssl));
	} else if (e == SSL_ERROR_SYSCALL && c->cur == 0) {
		set_fail(c, CIRC_E_CLOSED, 0, "connection lost during TLS (%s)",
			 errno ? strerror(errno) : "unexpected end of data");
	} else if (e == SSL_ERROR_SYSCALL) {
		/* The BIO below recorded the cause already, if it knew one. */
		set_fail(c, CIRC_E_TLS, c->cur, "TLS failed: connection closed");
	} else if (ERR_GET_LIB(ERR_peek_error()) == ERR_LIB_SSL &&
		   ERR_GET_REASON(ERR_peek_error()) == SSL_R_TLSV1_ALERT_INTERNAL_ERROR) {
		/* exitd's refusal at admission (exitd/listener.c). */
		set_fail(c, CIRC_E_BUSY, c->cur, "relay busy: refused at admission");
	} else {
		set_fail(c, CIRC_E_TLS, c->cur, "TLS failed: %s", tls_errstr(buf, sizeof(buf)));
	}
	ERR_clear_error();
	die(c);
}

static void send_request(struct circuit *c);

static void
drive_build(struct circuit *c)
{
	SSL_CTX *ctx;

	for (;;) {
		SSL *ssl = c->layers[c->cur].ssl;
		int r, e;

		ERR_clear_error();
		errno = 0;
		r = SSL_do_handshake(ssl);
		if (r == 1) {
			if (c->cur + 1 == c->n) {
				struct timespec t1;

				clock_gettime(CLOCK_MONOTONIC, &t1);
				c->build_us = (uint64_t)(t1.tv_sec - c->t0.tv_sec) * 1000000 +
					      (uint64_t)((t1.tv_nsec - c->t0.tv_nsec) / 1000);
				c->state = CIRC_READY;
				c->want_wr = false;
				ev_timer_del(c->ev, &c->timer);
				if (c->req_queued) {
					send_request(c);
				} else {
					update_mask(c);
					if (c->cbs.ready) {
						c->cbs.ready(c, c->arg);
					}
				}
				return;
			}
			ctx = SSL_get_SSL_CTX(ssl);
			c->cur++;
			if (layer_setup(c, c->cur, ctx) < 0) {
				set_fail(c, CIRC_E_NOMEM, c->cur, "cannot set up TLS");
				die(c);
				return;
			}
			continue;
		}
		e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			c->want_wr = e == SSL_ERROR_WANT_WRITE;
			update_mask(c);
			return;
		}
		fail_handshake(c, ssl, r);
		return;
	}
}

static SSL *
inner(const struct circuit *c)
{
	return c->layers[c->n - 1].ssl;
}

static void
read_reply(struct circuit *c)
{
	struct socks5_reply rep;
	size_t used;
	const char *why;

	for (;;) {
		enum parse_res pr;
		int r;

		ERR_clear_error();
		r = SSL_read(inner(c), c->rx + c->rx_len, 1);
		if (r <= 0) {
			int e = SSL_get_error(inner(c), r);

			if (e == SSL_ERROR_WANT_READ) {
				return;
			}
			if (c->fail == CIRC_OK) {
				set_fail(c, CIRC_E_CLOSED, c->n - 1, "exit closed before replying");
			}
			die(c);
			return;
		}
		c->rx_len++;
		pr = socks5_parse_answer(c->rx, c->rx_len, sizeof(c->rx), &used, &rep, &why);
		if (pr == PARSE_AGAIN) {
			continue;
		}
		if (pr == PARSE_BAD) {
			set_fail(c, CIRC_E_PROTO, c->n - 1, "%s from the exit", why);
			die(c);
			return;
		}
		break;
	}
	ev_timer_del(c->ev, &c->timer);
	if (rep.rep == SOCKS5_REP_OK) {
		c->state = CIRC_OPEN;
		c->want_wr = false;
		c->reading = true;
		update_mask(c);
	} else {
		/* The exit closes after a failure reply; so do we, quietly. */
		mark_dead(c);
	}
	if (c->cbs.reply) {
		c->cbs.reply(c, &rep, c->arg);
	}
}

static void
send_request(struct circuit *c)
{
	/* The request's write and the wait for its reply share one deadline. */
	if (c->state != CIRC_REQUESTED) {
		ev_timer_set(c->ev, &c->timer, c->reply_timeout_ms);
	}
	while (c->req_off < c->req_len) {
		int r;

		ERR_clear_error();
		r = SSL_write(inner(c), c->req + c->req_off, (int)(c->req_len - c->req_off));
		if (r <= 0) {
			int e = SSL_get_error(inner(c), r);

			if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
				c->want_wr = e == SSL_ERROR_WANT_WRITE;
				c->state = CIRC_REQUESTED;
				update_mask(c);
				return;
			}
			set_fail(c, CIRC_E_CLOSED, c->n - 1, "cannot send the request");
			die(c);
			return;
		}
		c->req_off += (size_t)r;
	}
	free(c->req);
	c->req = NULL;
	c->want_wr = false;
	c->state = CIRC_REQUESTED;
	update_mask(c);
	/* The reply may already sit decrypted in the layers. */
	read_reply(c);
}

static void
on_connected(struct circuit *c)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
		soerr = errno;
	}
	if (soerr != 0) {
		set_fail(c, CIRC_E_CONNECT, 0, "cannot connect: %s", strerror(soerr));
		die(c);
		return;
	}
	c->state = CIRC_BUILDING;
	c->want_wr = false;
	drive_build(c);
}

static void
enter(struct circuit *c)
{
	c->busy++;
}

/* Returns false when the circuit was freed on the way out. */
static bool
leave(struct circuit *c)
{
	if (--c->busy == 0 && c->zombie) {
		really_free(c);
		return false;
	}
	return true;
}

static void
on_fd(struct ev *ev, int fd, unsigned int events, void *arg)
{
	struct circuit *c = arg;

	enter(c);
	if (events == EV_ERR && c->state != CIRC_CONNECTING) {
		/*
		 * A reset or hang-up while we wait for nothing (backpressure,
		 * or the exit's end already read): the stream is broken.
		 */
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		set_fail(c, CIRC_E_CLOSED, 0, "connection %s", soerr ? strerror(soerr) : "hung up");
		die(c);
		leave(c);
		return;
	}
	switch (c->state) {
	case CIRC_CONNECTING:
		on_connected(c);
		break;
	case CIRC_BUILDING:
		drive_build(c);
		break;
	case CIRC_READY: {
		/* Nothing may arrive on an idle circuit: only its end. */
		uint8_t b;
		int r;

		ERR_clear_error();
		r = SSL_read(inner(c), &b, 1);
		if (r > 0 || SSL_get_error(inner(c), r) != SSL_ERROR_WANT_READ) {
			if (r > 0) {
				set_fail(c, CIRC_E_PROTO, c->n - 1, "data on an idle circuit");
			} else {
				set_fail(c, CIRC_E_CLOSED, 0, "idle circuit closed by a relay");
			}
			die(c);
		}
		break;
	}
	case CIRC_REQUESTED:
		if (c->req) {
			send_request(c);
		} else {
			read_reply(c);
		}
		break;
	case CIRC_OPEN: {
		/* Each direction runs when the event it waits for came. */
		bool rd = (events & (EV_RD | EV_ERR)) || ((events & EV_WR) && c->read_wants_wr);
		bool wr = ((events & EV_WR) && c->write_wants_wr) ||
			  ((events & (EV_RD | EV_ERR)) && c->write_wants_rd);

		if (wr) {
			c->write_wants_wr = c->write_wants_rd = false;
		}
		if ((events & EV_WR) && c->read_wants_wr) {
			c->read_wants_wr = false;
		}
		update_mask(c);
		if (wr && c->cbs.writable) {
			c->cbs.writable(c, c->arg);
		}
		if (rd && c->state == CIRC_OPEN && !c->zombie && c->reading && c->cbs.readable) {
			c->cbs.readable(c, c->arg);
		}
		break;
	}
	case CIRC_DEAD:
	default:
		break;
	}
	leave(c);
}

static void
on_timer(struct ev *ev, void *arg)
{
	struct circuit *c = arg;

	enter(c);
	if (c->state == CIRC_REQUESTED) {
		set_fail(c, CIRC_E_TIMEOUT, c->n - 1, "no reply from the exit in time");
	} else {
		set_fail(c, CIRC_E_TIMEOUT, c->cur, "timed out while %s",
			 c->state == CIRC_CONNECTING ? "connecting" : "building TLS");
	}
	die(c);
	leave(c);
}

struct circuit *
circuit_new(struct ev *ev, SSL_CTX *ctx, const struct circuit_hop *hops, size_t n,
	    uint64_t timeout_ms, uint32_t fwmark, const struct circuit_cbs *cbs, void *arg)
{
	struct sockaddr_storage ss;
	struct circuit *c;
	socklen_t sl;

	if (n == 0 || n > CIRCUIT_MAX_HOPS) {
		return NULL;
	}
	c = calloc(1, sizeof(*c) + n * sizeof(c->layers[0]));
	if (c == NULL) {
		return NULL;
	}
	c->ev = ev;
	memcpy(c->hops, hops, n * sizeof(*hops));
	c->n = n;
	c->cbs = *cbs;
	c->arg = arg;
	c->timeout_ms = timeout_ms;
	c->reply_timeout_ms = timeout_ms;
	c->state = CIRC_CONNECTING;
	clock_gettime(CLOCK_MONOTONIC, &c->t0);
	ev_timer_init(&c->timer, on_timer, c);
	c->fd = socket(hops[0].addr.family == AF_INET6 ? AF_INET6 : AF_INET,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		free(c);
		return NULL;
	}
	hop_sock_setup(c->fd);
	if (fwmark && setsockopt(c->fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0) {
		log_warn("circuit: SO_MARK");
		goto fail;
	}
	if (layer_setup(c, 0, ctx) < 0) {
		goto fail;
	}
	sl = addr_to_sockaddr(&hops[0].addr, hops[0].port, &ss);
	if (connect(c->fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		set_fail(c, CIRC_E_CONNECT, 0, "cannot connect: %s", strerror(errno));
		c->state = CIRC_DEAD;
	}
	if (c->state == CIRC_DEAD) {
		/*
		 * Report through the callback, as for any other failure, but
		 * not from here: a timer of 0 ms fires it from the loop.
		 */
		c->state = CIRC_CONNECTING;
		ev_timer_set(ev, &c->timer, 0);
		return c;
	}
	if (ev_fd_add(ev, c->fd, EV_WR, on_fd, c) < 0) {
		goto fail;
	}
	ev_timer_set(ev, &c->timer, timeout_ms);
	return c;
fail:
	really_free(c);
	return NULL;
}

static void
really_free(struct circuit *c)
{
	bool clean = c->peer_eof && c->our_eof && c->fail == CIRC_OK;

	ev_timer_del(c->ev, &c->timer);
	if (c->fd >= 0) {
		ev_fd_del(c->ev, c->fd);
	}
	/* Free inner to outer: each inner BIO points at the layer outside it. */
	for (size_t i = c->n; i-- > 0;) {
		SSL *ssl = c->layers[i].ssl;

		if (ssl == NULL) {
			continue;
		}
		if (clean && i + 1 < c->n) {
			/* Best effort: the innermost layer ended cleanly, end the others too. */
			ERR_clear_error();
			SSL_shutdown(ssl);
		}
		SSL_free(ssl);
	}
	if (c->fd >= 0) {
		if (!clean) {
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };

			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		} else {
			/*
			 * Bytes left unread make close() send a RST: take what
			 * has arrived (the relays' own goodbyes, most likely).
			 */
			uint8_t sink[4096];

			shutdown(c->fd, SHUT_WR);
			while (recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT) > 0) {
			}
		}
		close(c->fd);
	}
	ERR_clear_error();
	free(c->req);
	free(c);
}

void
circuit_free(struct circuit *c)
{
	if (c == NULL) {
		return;
	}
	if (c->on_free) {
		void (*fn)(void *) = c->on_free;

		c->on_free = NULL;
		fn(c->on_free_arg);
	}
	if (c->busy > 0) {
		c->zombie = true;
		return;
	}
	really_free(c);
}

void
circuit_on_free(struct circuit *c, void (*fn)(void *arg), void *arg)
{
	c->on_free = fn;
	c->on_free_arg = arg;
}

void
circuit_set_reply_timeout(struct circuit *c, uint64_t ms)
{
	c->reply_timeout_ms = ms;
}

void
circuit_set_cbs(struct circuit *c, const struct circuit_cbs *cbs, void *arg)
{
	c->cbs = *cbs;
	c->arg = arg;
}

const struct circuit_hop *
circuit_hops(const struct circuit *c, size_t *n)
{
	*n = c->n;
	return c->hops;
}

int
circuit_request(struct circuit *c, const struct socks5_req *req, const void *early,
		size_t early_len)
{
	size_t glen, rlen;

	if (c->req_queued) {
		return -EALREADY;
	}
	if (c->state == CIRC_DEAD) {
		return -EPIPE;
	}
	if (early_len > CIRCUIT_MAX_EARLY) {
		return -EMSGSIZE;
	}
	c->req = malloc(SOCKS5_MAX_GREETING + SOCKS5_MAX_MSG + early_len);
	if (c->req == NULL) {
		return -ENOMEM;
	}
	if (socks5_build_greeting(c->req, SOCKS5_MAX_GREETING, &glen) < 0 ||
	    socks5_build_request(c->req + glen, SOCKS5_MAX_MSG, &rlen, req) < 0) {
		free(c->req);
		c->req = NULL;
		return -EINVAL;
	}
	if (early_len) {
		memcpy(c->req + glen + rlen, early, early_len);
	}
	c->req_len = glen + rlen + early_len;
	c->req_off = 0;
	c->req_queued = true;
	if (c->state == CIRC_READY) {
		enter(c);
		send_request(c);
		leave(c);
	}
	return 0;
}

ssize_t
circuit_read(struct circuit *c, void *buf, size_t len)
{
	int r, e;

	if (c->state != CIRC_OPEN) {
		return c->peer_eof ? 0 : -EIO;
	}
	if (c->peer_eof) {
		return 0;
	}
	ERR_clear_error();
	errno = 0;
	r = SSL_read(inner(c), buf, len > INT_MAX ? INT_MAX : (int)len);
	if (r > 0) {
		return r;
	}
	e = SSL_get_error(inner(c), r);
	switch (e) {
	case SSL_ERROR_WANT_READ:
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		c->read_wants_wr = true;
		update_mask(c);
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		c->peer_eof = true;
		update_mask(c);
		return 0;
	default:
		if (c->fail == CIRC_OK) {
			char ebuf[256];

			set_fail(c, CIRC_E_CLOSED, c->n - 1, "stream broken (%s)",
				 e == SSL_ERROR_SYSCALL ? (errno ? strerror(errno) : "end of data")
							: tls_errstr(ebuf, sizeof(ebuf)));
		}
		ERR_clear_error();
		mark_dead(c);
		return -EIO;
	}
}

/* The writing direction (SSL_write, SSL_shutdown) waits for e's event. */
static void
write_blocked(struct circuit *c, int e)
{
	c->write_wants_wr = e == SSL_ERROR_WANT_WRITE;
	c->write_wants_rd = e == SSL_ERROR_WANT_READ;
	update_mask(c);
}

ssize_t
circuit_write(struct circuit *c, const void *buf, size_t len)
{
	int r, e;

	if (c->state != CIRC_OPEN || c->our_eof) {
		return -EIO;
	}
	ERR_clear_error();
	errno = 0;
	r = SSL_write(inner(c), buf, len > INT_MAX ? INT_MAX : (int)len);
	if (r > 0) {
		return r;
	}
	e = SSL_get_error(inner(c), r);
	if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
		write_blocked(c, e);
		return -EAGAIN;
	}
	if (c->fail == CIRC_OK) {
		set_fail(c, CIRC_E_CLOSED, c->n - 1, "stream broken while sending (%s)",
			 errno ? strerror(errno) : "TLS error");
	}
	ERR_clear_error();
	mark_dead(c);
	return -EIO;
}

int
circuit_shutdown(struct circuit *c)
{
	int r, e;

	if (c->state != CIRC_OPEN) {
		return -EIO;
	}
	if (c->our_eof) {
		return 0;
	}
	ERR_clear_error();
	r = SSL_shutdown(inner(c));
	if (r >= 0) {
		c->our_eof = true;
		return 0;
	}
	e = SSL_get_error(inner(c), r);
	if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
		write_blocked(c, e);
		return -EAGAIN;
	}
	ERR_clear_error();
	return -EIO;
}

void
circuit_set_reading(struct circuit *c, bool on)
{
	c->reading = on;
	update_mask(c);
}

enum circuit_state
circuit_state(const struct circuit *c)
{
	return c->state;
}

size_t
circuit_hop_index(const struct circuit *c)
{
	return c->cur;
}

enum circuit_fail
circuit_fail(const struct circuit *c)
{
	return c->fail;
}

const char *
circuit_error(const struct circuit *c)
{
	return c->err;
}

uint64_t
circuit_build_us(const struct circuit *c)
{
	return c->build_us;
}

bool
circuit_peer_eof(const struct circuit *c)
{
	return c->peer_eof;
}

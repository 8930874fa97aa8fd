// SPDX-License-Identifier: MIT
/*
 * One relayed connection: see relay.h.
 *
 *   HANDSHAKE -> REQUEST -> (RESOLVING) -> CONNECTING -> RELAY
 *                        -> RESOLVE / RESOLVE_PTR answer -> CLOSING
 *                        -> DNS stream
 *   any failure reply -> CLOSING (flush the reply, close_notify, close)
 *
 * Buffers: up holds plaintext from the client for the upstream socket
 * (first the SOCKS5 bytes, then pipelined and relayed data), down holds
 * bytes for the client (the SOCKS5 answers, then relayed data). When one
 * is full its source is not read: the kernel's TCP window, or TLS records
 * left unread, push back on the sender. Every event runs both flows; a
 * flow stops when its source runs dry or its sink blocks.
 */
#include "relay.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "buf.h"
#include "dnsframe.h"
#include "hopsock.h"
#include "log.h"
#include "policy.h"
#include "recalign.h"
#include "socks5.h"
#include "tls.h"

enum rstate {
	R_HANDSHAKE,
	R_REQUEST,
	R_RESOLVING,
	R_CONNECTING,
	R_RELAY,
	R_DNS,
	R_LOOKUP,       /* RESOLVE or RESOLVE_PTR waiting for its answer */
	R_CLOSING,      /* a final answer is being flushed */
};

/*
 * TLS records for the client collect in out and leave in large sends:
 * four 16 KB records in one send() instead of four, which halves the
 * packets and wake-ups along the chain. Allocated only while it holds data.
 */
#define RELAY_OUT_CAP (4 * (16384 + 256))

/* Per-connection log lines a second, at most. */
#define RELAY_LOG_PER_SEC 100
/* In-flight DNS queries per DNS stream: bounds the answers held. */
#define RELAY_DNS_INFLIGHT 4
/*
 * A buffer a read allocated that is empty again (a record only partly
 * in) is kept while bytes move, and freed once nothing moved for this
 * long: an idle connection holds no buffer, a busy one does not
 * allocate and free one per packet.
 */
#define RELAY_SHED_MS 1000

struct dns_q {
	struct relay *r;
	struct resolv_query *q;
	uint8_t *answer;        /* framed answer waiting for room in down */
	size_t len, off;        /* off: bytes of it already in down */
	bool done;
};

struct relay {
	struct relay *prev, *next;
	struct relay_ctx *x;
	enum rstate state;
	int cfd, ufd;
	SSL *ssl;
	struct addr peer;
	uint16_t peer_port;
	struct buf up, down;
	struct recalign ra;     /* how down is cut into records */
	struct buf out;         /* encrypted bytes for cfd (out_write) */
	int out_err;            /* errno of a failed send of out, 0 if none */
	struct socks5_req req;
	bool greeted;
	bool req_started;       /* a first byte of the request arrived */
	bool method_owed;       /* the method byte goes out with the reply */
	struct resolv_query *q;
	struct addr addrs[RESOLV_MAX_ADDRS];
	size_t n_addrs, next_addr;
	uint8_t fail_rep;       /* reply code if no address works */
	struct dns_q dq[RELAY_DNS_INFLIGHT];
	int dns_cur;            /* the answer being copied into down, or -1 */
	struct ev_timer timer;
	uint64_t deadline_ms;   /* idle: last activity + idle timeout */
	bool c_wblocked;        /* an SSL write waits for cfd writable */
	bool c_rww;             /* an SSL read waits for cfd writable (KeyUpdate) */
	bool c_in_ev, u_in_ev;  /* the fd is in the event loop */
	bool c_eof;             /* close_notify from the client */
	bool c_shut;            /* our close_notify sent */
	bool u_eof;             /* FIN from upstream */
	/*
	 * The fd may have bytes: an event said so (or the fd is out of the
	 * loop), and no read found it empty since. A read is tried only
	 * then (or with bytes inside OpenSSL), so that a pass for the other
	 * direction neither costs a recv that finds nothing nor allocates a
	 * buffer for it.
	 */
	bool c_rd, u_rd;
	bool shed_armed;        /* the timer fires early, to free empty buffers */
	bool u_shut;            /* our FIN sent upstream */
	bool u_wblocked;
	uint64_t bytes_up, bytes_down;
	struct timespec t0;
	const char *result;
};

static void run(struct relay *r);
static void on_cfd(struct ev *ev, int fd, unsigned int events, void *arg);
static void on_ufd(struct ev *ev, int fd, unsigned int events, void *arg);
static void on_timer(struct ev *ev, void *arg);
static void try_connect(struct relay *r);

static const char *
peer_str(const struct relay *r, char *buf, size_t len)
{
	if (!r->x->cfg->log_clients) {
		return "client";
	}
	return addr_port_fmt(&r->peer, r->peer_port, buf, len);
}

static void
finish(struct relay *r, bool abortive)
{
	struct relay_ctx *x = r->x;
	struct timespec t1;
	char pbuf[ADDR_STRLEN];
	double secs;

	ev_timer_del(x->ev, &r->timer);
	resolv_cancel(r->q);
	for (size_t i = 0; i < RELAY_DNS_INFLIGHT; i++) {
		resolv_cancel(r->dq[i].q);
		free(r->dq[i].answer);
	}
	if (r->ufd >= 0) {
		ev_fd_del(x->ev, r->ufd);
		if (abortive) {
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };

			setsockopt(r->ufd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(r->ufd);
	}
	ev_fd_del(x->ev, r->cfd);
	if (abortive) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(r->cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(r->cfd);
	SSL_free(r->ssl);
	ERR_clear_error();
	buf_fini(&r->up);
	buf_fini(&r->down);
	buf_fini(&r->out);

	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - r->t0.tv_sec) + (double)(t1.tv_nsec - r->t0.tv_nsec) / 1e9;
	if (abortive) {
		x->n_failed++;
	} else {
		x->n_ok++;
	}
	x->bytes_up += r->bytes_up;
	x->bytes_down += r->bytes_down;
	/* One line per connection, but a flood of them must not flood the log. */
	log_info_rl_n(RELAY_LOG_PER_SEC, "%s: cmd 0x%02x: %s, %llu bytes up, %llu bytes down, %.3f s",
		      peer_str(r, pbuf, sizeof(pbuf)), r->req.cmd, r->result ? r->result : "closed",
		      (unsigned long long)r->bytes_up, (unsigned long long)r->bytes_down, secs);

	if (r->prev) {
		r->prev->next = r->next;
	} else {
		x->conns = r->next;
	}
	if (r->next) {
		r->next->prev = r->prev;
	}
	x->n_conns--;
	if (x->closed) {
		x->closed(x->closed_arg, &r->peer);
	}
	free(r);
}

static void
abort_conn(struct relay *r, const char *why)
{
	r->result = why;
	finish(r, true);
}

static void
arm(struct relay *r, uint64_t ms)
{
	ev_timer_set(r->x->ev, &r->timer, ms);
}

static void
touch(struct relay *r)
{
	r->deadline_ms = ev_now_ms(r->x->ev) + r->x->cfg->idle_timeout_ms;
}

/*
 * Queues bytes of our own (a method choice, a reply) for the client: they
 * go out as records of their own, and recalign cuts only what follows
 * (upstream's bytes, DNS answers). Only ever called while down holds
 * nothing but our own bytes.
 */
static int
put_own(struct relay *r, const uint8_t *p, size_t n)
{
	int rc = buf_put(&r->down, p, n);

	recalign_own(&r->ra, buf_len(&r->down));
	return rc;
}

/* Queues a SOCKS5 reply (with the method byte if still owed) and sets the next state. */
static void
reply(struct relay *r, uint8_t code, const struct socks5_addr *bnd)
{
	uint8_t msg[2 + SOCKS5_MAX_MSG];
	size_t off = 0, len;

	if (r->method_owed) {
		socks5_build_method(msg, sizeof(msg), &len, SOCKS5_METHOD_NOAUTH);
		off = len;
		r->method_owed = false;
	}
	if (socks5_build_reply(msg + off, sizeof(msg) - off, &len, code, bnd) < 0 ||
	    put_own(r, msg, off + len) < 0) {
		/* Cannot happen with down holding at most a method byte; close quietly. */
		code = SOCKS5_REP_FAIL;
	}
	if (code != SOCKS5_REP_OK) {
		r->result = socks5_rep_str(code);
		r->state = R_CLOSING;
		/* Whatever the client pipelined after a refused request is dropped. */
		buf_fini(&r->up);
		arm(r, r->x->cfg->request_timeout_ms);
	}
}

static uint8_t
rep_of_errno(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return SOCKS5_REP_REFUSED;
	case ETIMEDOUT:
		return SOCKS5_REP_TIMEOUT;
	case ENETUNREACH:
		return SOCKS5_REP_NET_UNREACH;
	case EHOSTUNREACH:
	case EHOSTDOWN:
		return SOCKS5_REP_HOST_UNREACH;
	case EACCES:
	case EPERM:
		return SOCKS5_REP_POLICY;
	default:
		return SOCKS5_REP_FAIL;
	}
}

static uint8_t
rep_of_resolv(enum resolv_status st)
{
	switch (st) {
	case RESOLV_NOTFOUND:
		return SOCKS5_REP_HOST_UNREACH;
	case RESOLV_TIMEOUT:
		return SOCKS5_REP_TIMEOUT;
	case RESOLV_OK:
		return SOCKS5_REP_OK;
	case RESOLV_FAIL:
	default:
		return SOCKS5_REP_FAIL;
	}
}

/* A buffer allocated that holds nothing (see RELAY_SHED_MS). */
static bool
has_empty_buffer(const struct relay *r)
{
	return (r->up.data != NULL && buf_len(&r->up) == 0) ||
	       (r->down.data != NULL && buf_len(&r->down) == 0);
}

/* Connecting: each allowed address in turn, connect-timeout each. */

static void
connected(struct relay *r)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct socks5_addr bnd;

	memset(&bnd, 0, sizeof(bnd));
	r->u_rd = true;
	if (getsockname(r->ufd, (struct sockaddr *)&ss, &sl) == 0 &&
	    addr_from_sockaddr((struct sockaddr *)&ss, &bnd.ip, &bnd.port) == 0) {
		bnd.atyp = bnd.ip.family == AF_INET6 ? SOCKS5_ATYP_IPV6 : SOCKS5_ATYP_IPV4;
	} else {
		bnd.atyp = SOCKS5_ATYP_IPV4;
		bnd.ip.family = AF_INET;
	}
	r->state = R_RELAY;
	r->result = "done";
	touch(r);
	arm(r, r->x->cfg->idle_timeout_ms);
	reply(r, SOCKS5_REP_OK, &bnd);
}

static void
connect_failed(struct relay *r, int err)
{
	ev_fd_del(r->x->ev, r->ufd);
	close(r->ufd);
	r->ufd = -1;
	r->u_in_ev = false;
	r->fail_rep = rep_of_errno(err);
	try_connect(r);
}

/*
 * Whether a is this host's own address right now: a bind to it succeeds
 * only then (all of 127/8 and ::1 included, and addresses added after
 * start, which the start-up list of policy_add_self cannot know).
 */
static bool
is_local(const struct addr *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = addr_to_sockaddr(a, 0, &ss);
	int fd = socket(a->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool local;

	if (fd < 0) {
		return true;    /* cannot tell: the stricter answer */
	}
	local = bind(fd, (struct sockaddr *)&ss, sl) == 0;
	close(fd);
	return local;
}

static void
try_connect(struct relay *r)
{
	const struct policy *pol = r->x->cfg->policy;

	while (r->next_addr < r->n_addrs) {
		const struct addr *a = &r->addrs[r->next_addr++];
		struct sockaddr_storage ss;
		socklen_t sl;
		int fd;

		if ((is_local(a) ? policy_match_local : policy_match)(pol, a, r->req.dst.port, NULL) !=
		    POLICY_ACCEPT) {
			/* Only if no address is allowed at all is it the policy's refusal. */
			if (r->fail_rep == SOCKS5_REP_OK) {
				r->fail_rep = SOCKS5_REP_POLICY;
			}
			continue;
		}
		fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			r->fail_rep = SOCKS5_REP_FAIL;
			continue;
		}
		hop_sock_setup(fd);
		sl = addr_to_sockaddr(a, r->req.dst.port, &ss);
		if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
			r->fail_rep = rep_of_errno(errno);
			close(fd);
			continue;
		}
		if (ev_fd_add(r->x->ev, fd, EV_WR, on_ufd, r) < 0) {
			close(fd);
			r->fail_rep = SOCKS5_REP_FAIL;
			continue;
		}
		r->ufd = fd;
		r->u_in_ev = true;
		r->state = R_CONNECTING;
		arm(r, r->x->cfg->connect_timeout_ms);
		return;
	}
	reply(r, r->fail_rep == SOCKS5_REP_OK ? SOCKS5_REP_FAIL : r->fail_rep, NULL);
}

/* A name's addresses (or why there are none): connect to them in turn. */
static void
connect_resolved(struct relay *r, enum resolv_status st, const struct addr *addrs, size_t n)
{
	if (st != RESOLV_OK) {
		reply(r, rep_of_resolv(st), NULL);
	} else {
		memcpy(r->addrs, addrs, n * sizeof(*addrs));
		r->n_addrs = n;
		r->next_addr = 0;
		r->fail_rep = SOCKS5_REP_OK;
		try_connect(r);
	}
}

static void
resolved(void *arg, enum resolv_status st, const struct addr *addrs, size_t n)
{
	struct relay *r = arg;

	r->q = NULL;
	connect_resolved(r, st, addrs, n);
	run(r);
}

/* RESOLVE's answer: the first address, then the connection ends. */
static void
answer_lookup(struct relay *r, enum resolv_status st, const struct addr *addrs)
{
	struct socks5_addr bnd;

	if (st != RESOLV_OK) {
		reply(r, rep_of_resolv(st), NULL);
	} else {
		memset(&bnd, 0, sizeof(bnd));
		bnd.atyp = addrs[0].family == AF_INET6 ? SOCKS5_ATYP_IPV6 : SOCKS5_ATYP_IPV4;
		bnd.ip = addrs[0];
		reply(r, SOCKS5_REP_OK, &bnd);
		r->state = R_CLOSING;
		r->result = "resolved";
		arm(r, r->x->cfg->request_timeout_ms);
	}
}

static void
lookup_done(void *arg, enum resolv_status st, const struct addr *addrs, size_t n)
{
	struct relay *r = arg;

	(void)n;
	r->q = NULL;
	answer_lookup(r, st, addrs);
	run(r);
}

static void
ptr_done(void *arg, enum resolv_status st, const char *name)
{
	struct relay *r = arg;
	struct socks5_addr bnd;
	size_t len = name ? strlen(name) : 0;

	r->q = NULL;
	if (st != RESOLV_OK || len == 0 || len > 255) {
		reply(r, st == RESOLV_OK ? SOCKS5_REP_FAIL : rep_of_resolv(st), NULL);
	} else {
		memset(&bnd, 0, sizeof(bnd));
		bnd.atyp = SOCKS5_ATYP_DOMAIN;
		bnd.host_len = (uint8_t)len;
		memcpy(bnd.host, name, len + 1);
		reply(r, SOCKS5_REP_OK, &bnd);
		r->state = R_CLOSING;
		r->result = "resolved";
		arm(r, r->x->cfg->request_timeout_ms);
	}
	run(r);
}

/* The request: greeting, then one request, from the front of up. */

/*
 * Before a CONNECT's or RESOLVE's name goes to the resolver: names nobody
 * may resolve are refused, and an IP literal in disguise is answered as if
 * resolved, so that the policy sees the address it spells (policy_name_kind).
 * True when this answered the request; the caller's run() goes on from there.
 */
static bool
name_answered(struct relay *r)
{
	struct addr lit;

	switch (policy_name_kind(r->req.dst.host, &lit)) {
	case NAME_RESOLVE:
		return false;
	case NAME_LOCALHOST:
		reply(r, SOCKS5_REP_POLICY, NULL);
		return true;
	case NAME_INVALID:
		reply(r, SOCKS5_REP_HOST_UNREACH, NULL);
		return true;
	case NAME_LITERAL:
		if (r->req.cmd == SOCKS5_CMD_CONNECT) {
			connect_resolved(r, RESOLV_OK, &lit, 1);
		} else {
			answer_lookup(r, RESOLV_OK, &lit);
		}
		return true;
	}
	return false;
}

static void
dispatch(struct relay *r)
{
	const struct exitd_cfg *cfg = r->x->cfg;

	switch (r->req.cmd) {
	case SOCKS5_CMD_CONNECT:
		if (r->req.dst.atyp == SOCKS5_ATYP_DOMAIN) {
			r->state = R_RESOLVING;
			if (name_answered(r)) {
				return;
			}
			r->q = resolv_addrs(r->x->resolv, r->req.dst.host, resolved, r);
			if (r->q == NULL) {
				reply(r, SOCKS5_REP_FAIL, NULL);
			}
			return;
		}
		r->addrs[0] = r->req.dst.ip;
		r->n_addrs = 1;
		r->next_addr = 0;
		r->fail_rep = SOCKS5_REP_OK;
		try_connect(r);
		return;
	case SOCKS5_CMD_RESOLVE:
	case SOCKS5_CMD_RESOLVE_PTR:
	case SOCKS5_CMD_DNS:
		if (!cfg->resolve) {
			reply(r, SOCKS5_REP_POLICY, NULL);
			return;
		}
		if (r->req.cmd == SOCKS5_CMD_DNS) {
			r->state = R_DNS;
			r->result = "dns";
			touch(r);
			arm(r, cfg->idle_timeout_ms);
			reply(r, SOCKS5_REP_OK, NULL);
			return;
		}
		if (r->req.cmd == SOCKS5_CMD_RESOLVE && r->req.dst.atyp != SOCKS5_ATYP_DOMAIN) {
			reply(r, SOCKS5_REP_ATYP_UNSUPP, NULL);
			return;
		}
		if (r->req.cmd == SOCKS5_CMD_RESOLVE_PTR && r->req.dst.atyp == SOCKS5_ATYP_DOMAIN) {
			reply(r, SOCKS5_REP_ATYP_UNSUPP, NULL);
			return;
		}
		r->state = R_LOOKUP;
		if (r->req.cmd == SOCKS5_CMD_RESOLVE && name_answered(r)) {
			return;
		}
		r->q = r->req.cmd == SOCKS5_CMD_RESOLVE
			       ? resolv_addrs(r->x->resolv, r->req.dst.host, lookup_done, r)
			       : resolv_name(r->x->resolv, &r->req.dst.ip, ptr_done, r);
		if (r->q == NULL) {
			reply(r, SOCKS5_REP_FAIL, NULL);
		}
		return;
	default:
		reply(r, SOCKS5_REP_CMD_UNSUPP, NULL);
		return;
	}
}

static void
parse_request(struct relay *r)
{
	size_t len, used;
	const uint8_t *p = buf_rptr(&r->up, &len);
	enum parse_res pr;
	uint8_t rep = SOCKS5_REP_FAIL;

	if (!r->greeted) {
		bool noauth = false;

		pr = socks5_parse_greeting(p, len, &used, &noauth);
		if (pr == PARSE_AGAIN) {
			return;
		}
		if (pr == PARSE_BAD || !noauth) {
			uint8_t m[2];
			size_t mlen;

			/* RFC 1928: no acceptable method is 0xff, then close. */
			if (pr == PARSE_OK && socks5_build_method(m, sizeof(m), &mlen,
								   SOCKS5_METHOD_NONE) == 0) {
				put_own(r, m, mlen);
			}
			r->result = "bad greeting";
			r->state = R_CLOSING;
			buf_fini(&r->up);
			return;
		}
		buf_consume(&r->up, used);
		r->greeted = true;
		p = buf_rptr(&r->up, &len);
		if (len == 0) {
			/* A client that waits for the method choice gets it now. */
			uint8_t m[2];
			size_t mlen;

			socks5_build_method(m, sizeof(m), &mlen, SOCKS5_METHOD_NOAUTH);
			put_own(r, m, mlen);
			return;
		}
		/* Pipelined: the method byte will ride with the reply. */
		r->method_owed = true;
	}
	pr = socks5_parse_request(p, len, &used, &r->req, &rep);
	if (pr == PARSE_AGAIN) {
		if (buf_room(&r->up) == 0) {
			reply(r, SOCKS5_REP_FAIL, NULL);
		}
		return;
	}
	if (pr == PARSE_BAD) {
		reply(r, rep, NULL);
		return;
	}
	buf_consume(&r->up, used);
	dispatch(r);
}

/* DNS streams: 2-byte length framing (RFC 7766), answered by resolv_raw. */

static void
dns_answered(void *arg, enum resolv_status st, const uint8_t *msg, size_t len)
{
	struct dns_q *d = arg;
	struct relay *r = d->r;

	d->q = NULL;
	d->done = true;
	if (st == RESOLV_OK && len <= 65535 && (d->answer = malloc(len + 2)) != NULL) {
		d->answer[0] = (uint8_t)(len >> 8);
		d->answer[1] = (uint8_t)len;
		memcpy(d->answer + 2, msg, len);
		d->len = len + 2;
	}
	/* A query the resolver could not answer gets no answer: the client times it out. */
	run(r);
}

static bool
dns_flow(struct relay *r)
{
	/*
	 * Answers go into down one at a time, in pieces when down is short,
	 * so an answer larger than the buffer still gets through whole.
	 */
	for (;;) {
		struct dns_q *d;
		size_t n;

		if (r->dns_cur < 0) {
			for (int i = 0; i < RELAY_DNS_INFLIGHT; i++) {
				if (r->dq[i].done) {
					r->dns_cur = i;
					break;
				}
			}
			if (r->dns_cur < 0) {
				break;
			}
		}
		d = &r->dq[r->dns_cur];
		n = d->answer ? d->len - d->off : 0;
		if (n > buf_room(&r->down)) {
			n = buf_room(&r->down);
		}
		if (n > 0 && buf_put(&r->down, d->answer + d->off, n) == 0) {
			d->off += n;
		}
		if (d->answer != NULL && d->off < d->len) {
			break;
		}
		free(d->answer);
		memset(d, 0, sizeof(*d));
		r->dns_cur = -1;
	}
	for (;;) {
		size_t len, i, mlen, flen;
		const uint8_t *p = buf_rptr(&r->up, &len);
		int fr = dns_frame_peek(p, len, &mlen, &flen);

		if (fr < 0) {
			abort_conn(r, "bad DNS message");
			return false;
		}
		if (fr == 0) {
			if (len >= 2 && buf_room(&r->up) == 0) {
				abort_conn(r, "DNS message larger than the buffer");
				return false;
			}
			return true;
		}
		for (i = 0; i < RELAY_DNS_INFLIGHT && (r->dq[i].q || r->dq[i].done); i++) {
		}
		if (i == RELAY_DNS_INFLIGHT) {
			return true;
		}
		r->dq[i].r = r;
		r->dq[i].q = resolv_raw(r->x->resolv, p + 2, mlen, dns_answered, &r->dq[i]);
		if (r->dq[i].q == NULL) {
			abort_conn(r, "bad DNS query");
			return false;
		}
		buf_consume(&r->up, 2 + mlen);
		touch(r);
	}
}

static bool
dns_idle(const struct relay *r)
{
	for (size_t i = 0; i < RELAY_DNS_INFLIGHT; i++) {
		if (r->dq[i].q || r->dq[i].done) {
			return false;
		}
	}
	return true;
}

/* TLS output: a BIO that appends to out, and the sends that empty it. */

/* Sends what b holds to fd: 0 when it drained, -EAGAIN, or -errno. */
static int
send_buf(int fd, struct buf *b)
{
	while (buf_len(b) > 0) {
		size_t len;
		const uint8_t *p = buf_rptr(b, &len);
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n > 0) {
			buf_consume(b, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			return -EAGAIN;
		}
		return n < 0 ? -errno : -EPIPE;
	}
	return 0;
}

/* Sends what out holds; 0, -EAGAIN (c_wblocked set), or -errno (out_err set). */
static int
flush_out(struct relay *r)
{
	int rc = send_buf(r->cfd, &r->out);

	if (rc == -EAGAIN) {
		r->c_wblocked = true;
	} else if (rc < 0) {
		r->out_err = -rc;
	}
	return rc;
}

static int
out_write(BIO *b, const char *data, int len)
{
	struct relay *r = BIO_get_data(b);
	size_t n;

	BIO_clear_retry_flags(b);
	if (r->out_err) {
		return -1;
	}
	if (buf_room(&r->out) == 0 && flush_out(r) == -EAGAIN) {
		BIO_set_retry_write(b);
		return -1;
	}
	if (r->out_err) {
		return -1;
	}
	n = buf_room(&r->out) < (size_t)len ? buf_room(&r->out) : (size_t)len;
	if (buf_put(&r->out, data, n) < 0) {
		r->out_err = ENOMEM;
		return -1;
	}
	return (int)n;
}

static long
out_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct relay *r = BIO_get_data(b);

	switch (cmd) {
	case BIO_CTRL_FLUSH:
		/* What cannot leave now leaves when cfd is writable (run). */
		flush_out(r);
		return r->out_err ? 0 : 1;
	default:
		return 0;
	}
}

static int
out_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO_METHOD *out_method;

static BIO *
out_bio_new(struct relay *r)
{
	BIO *b;

	if (out_method == NULL) {
		out_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "relay out");
		if (out_method == NULL || BIO_meth_set_write(out_method, out_write) != 1 ||
		    BIO_meth_set_ctrl(out_method, out_ctrl) != 1 ||
		    BIO_meth_set_create(out_method, out_create) != 1) {
			BIO_meth_free(out_method);
			out_method = NULL;
			return NULL;
		}
	}
	b = BIO_new(out_method);
	if (b) {
		BIO_set_data(b, r);
	}
	return b;
}

/* The flows. Each returns false when the connection was finished. */

static bool
ssl_failed(struct relay *r, int ret)
{
	int e = SSL_get_error(r->ssl, ret);

	if (r->out_err) {
		abort_conn(r, "client connection reset");
	} else if ((e == SSL_ERROR_SYSCALL && errno == 0) ||
		   (e == SSL_ERROR_SSL && ERR_GET_LIB(ERR_peek_error()) == ERR_LIB_SSL &&
		    ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
		/* OpenSSL 3 reports a FIN without close_notify as an SSL error. */
		abort_conn(r, "client vanished without close_notify");
	} else if (e == SSL_ERROR_SYSCALL) {
		abort_conn(r, "client connection reset");
	} else {
		log_debug_rl("%s: TLS error", __func__);
		abort_conn(r, r->state == R_HANDSHAKE ? "TLS handshake failed" : "TLS error");
	}
	return false;
}

/* Client -> up buffer (TLS reads). */
static bool
read_client(struct relay *r)
{
	if (!r->c_rd && !SSL_has_pending(r->ssl)) {
		return true;
	}
	while (!r->c_eof && buf_room(&r->up) > 0) {
		size_t room;
		uint8_t *p = buf_wptr(&r->up, &room);
		int n, e;

		if (p == NULL) {
			abort_conn(r, "out of memory");
			return false;
		}
		ERR_clear_error();
		errno = 0;
		n = SSL_read(r->ssl, p, room > INT32_MAX ? INT32_MAX : (int)room);
		r->c_rww = false;
		if (n > 0) {
			buf_commit(&r->up, (size_t)n);
			if (r->state == R_RELAY) {
				r->bytes_up += (uint64_t)n;
			}
			touch(r);
			/* Requests are tiny: don't pull more than we can parse yet. */
			if (r->state == R_REQUEST) {
				if (!r->req_started) {
					r->req_started = true;
					arm(r, r->x->cfg->request_timeout_ms);
				}
				return true;
			}
			continue;
		}
		e = SSL_get_error(r->ssl, n);
		if (e == SSL_ERROR_WANT_READ) {
			r->c_rd = !r->c_in_ev;
			return true;
		}
		if (e == SSL_ERROR_WANT_WRITE) {
			r->c_rww = true;
			return true;
		}
		if (e == SSL_ERROR_ZERO_RETURN) {
			r->c_eof = true;
			return true;
		}
		return ssl_failed(r, n);
	}
	return true;
}

/* down buffer -> client (TLS writes), then close_notify when upstream ended. */
static bool
write_client(struct relay *r)
{
	while (buf_len(&r->down) > 0) {
		size_t len;
		const uint8_t *p = buf_rptr(&r->down, &len);
		int n, e;

		/*
		 * One record per call, cut by recalign.h so that the records
		 * of the layers inside each fit one of ours; a partly arrived
		 * one waits while more is coming and there is room. A retried
		 * SSL_write offers at least the same bytes again: the head of
		 * down only moves on success.
		 */
		len = recalign_next(&r->ra, p, len,
				    r->state == R_RELAY && !r->u_eof && buf_room(&r->down) > 0);
		if (len == 0) {
			break;
		}
		ERR_clear_error();
		errno = 0;
		n = SSL_write(r->ssl, p, (int)len);
		if (n > 0) {
			recalign_took(&r->ra, (size_t)n);
			buf_consume(&r->down, (size_t)n);
			r->c_wblocked = false;
			continue;
		}
		e = SSL_get_error(r->ssl, n);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
			r->c_wblocked = e == SSL_ERROR_WANT_WRITE;
			return true;
		}
		return ssl_failed(r, n);
	}
	r->c_wblocked = false;
	if (flush_out(r) == -EAGAIN) {
		return true;
	}
	if (r->out_err) {
		abort_conn(r, "client connection reset");
		return false;
	}
	/* Not before the bytes recalign may hold back have gone. */
	if (!r->c_shut && buf_len(&r->down) == 0 &&
	    (r->u_eof || r->state == R_CLOSING || (r->state == R_DNS && r->c_eof && dns_idle(r)))) {
		int n;

		ERR_clear_error();
		n = SSL_shutdown(r->ssl);
		if (n < 0) {
			int e = SSL_get_error(r->ssl, n);

			if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
				r->c_wblocked = true;
				return true;
			}
			return ssl_failed(r, n);
		}
		r->c_shut = true;
		flush_out(r);
	}
	return true;
}

/* up buffer -> upstream socket, then FIN when the client ended. */
static bool
write_upstream(struct relay *r)
{
	int rc = send_buf(r->ufd, &r->up);

	r->u_wblocked = rc == -EAGAIN;
	if (rc == -EAGAIN) {
		return true;
	}
	if (rc < 0) {
		abort_conn(r, "upstream reset");
		return false;
	}
	if (r->c_eof && !r->u_shut) {
		shutdown(r->ufd, SHUT_WR);
		r->u_shut = true;
	}
	return true;
}

/* Upstream socket -> down buffer. */
static bool
read_upstream(struct relay *r)
{
	if (!r->u_rd) {
		return true;
	}
	while (!r->u_eof && buf_room(&r->down) > 0) {
		size_t room;
		uint8_t *p = buf_wptr(&r->down, &room);
		ssize_t n;

		if (p == NULL) {
			abort_conn(r, "out of memory");
			return false;
		}
		n = recv(r->ufd, p, room, 0);
		if (n > 0) {
			buf_commit(&r->down, (size_t)n);
			r->bytes_down += (uint64_t)n;
			touch(r);
			/* Encrypt and send what we have before reading more. */
			return true;
		}
		if (n == 0) {
			r->u_eof = true;
			return true;
		}
		if (errno == EAGAIN) {
			r->u_rd = !r->u_in_ev;
			return true;
		}
		if (errno == EINTR) {
			return true;
		}
		abort_conn(r, "upstream reset");
		return false;
	}
	return true;
}

/*
 * An fd stays in the loop with an empty mask while its connection may
 * still fail: epoll reports a reset even then, and it must reach the other
 * side promptly (on_cfd/on_ufd). It leaves the loop when that side is
 * finished both ways, or after a hang-up that has nothing left to say.
 */
static void
set_mask(struct relay *r, int fd, bool *in_ev, unsigned int mask, bool done, ev_fd_cb *cb)
{
	if (done) {
		if (*in_ev) {
			ev_fd_del(r->x->ev, fd);
			*in_ev = false;
		}
		return;
	}
	if (!*in_ev) {
		if (mask != 0 && ev_fd_add(r->x->ev, fd, mask, cb, r) == 0) {
			*in_ev = true;
		}
		return;
	}
	ev_fd_mod(r->x->ev, fd, mask);
}

static void
update_masks(struct relay *r)
{
	unsigned int cm = 0, um = 0;
	bool reading = r->state == R_HANDSHAKE || r->state == R_REQUEST || r->state == R_RELAY ||
		       r->state == R_DNS || r->state == R_RESOLVING || r->state == R_CONNECTING;

	if (r->state == R_HANDSHAKE) {
		cm = r->c_wblocked ? EV_WR : EV_RD;
	} else {
		if (reading && !r->c_eof && buf_room(&r->up) > 0) {
			cm |= EV_RD;
		}
		if (r->c_wblocked) {
			cm |= EV_WR;
		}
	}
	if (r->state == R_CLOSING && !r->c_eof) {
		/*
		 * Wait for the client's goodbye (or reset) before closing:
		 * closing with its bytes unread would send a RST that can
		 * destroy our reply before the client reads it.
		 */
		cm |= EV_RD;
	}
	if (buf_len(&r->out) > 0) {
		cm |= EV_WR;
	}
	if (r->c_rww) {
		cm = EV_WR;
	}
	set_mask(r, r->cfd, &r->c_in_ev, cm, r->c_eof && r->c_shut, on_cfd);
	if (r->ufd >= 0) {
		if (r->state == R_CONNECTING) {
			um = EV_WR;
		} else {
			if (!r->u_eof && buf_room(&r->down) > 0) {
				um |= EV_RD;
			}
			if (r->u_wblocked) {
				um |= EV_WR;
			}
		}
		set_mask(r, r->ufd, &r->u_in_ev, um, r->u_eof && r->u_shut, on_ufd);
	}
}

static void
run(struct relay *r)
{
	bool again;

	do {
		size_t up0 = buf_len(&r->up), down0 = buf_len(&r->down);
		uint64_t in_up0 = r->bytes_up, in_down0 = r->bytes_down;
		bool ceof0 = r->c_eof, ueof0 = r->u_eof;

		again = false;
		if (r->state == R_HANDSHAKE) {
			int n;

			ERR_clear_error();
			errno = 0;
			n = SSL_do_handshake(r->ssl);
			if (flush_out(r) < 0 && r->out_err) {
				abort_conn(r, "client connection reset");
				return;
			}
			if (n == 1) {
				/*
				 * A client may keep a built circuit ready for later
				 * (tund's pool): until its request starts, the
				 * wait is an idle one. Once it starts, it must
				 * finish within request-timeout.
				 */
				r->state = R_REQUEST;
				arm(r, r->x->cfg->idle_timeout_ms);
				again = true;
				continue;
			}
			n = SSL_get_error(r->ssl, n) == SSL_ERROR_WANT_WRITE ? 1 :
			    SSL_get_error(r->ssl, n) == SSL_ERROR_WANT_READ ? 0 : -1;
			if (n < 0) {
				abort_conn(r, "TLS handshake failed");
				return;
			}
			r->c_wblocked = n == 1 || buf_len(&r->out) > 0;
			break;
		}
		if (r->state != R_CLOSING && !read_client(r)) {
			return;
		}
		if (r->state == R_CLOSING && !r->c_eof) {
			/* Drain and drop: the client may still be sending after a refusal. */
			uint8_t sink[4096];
			int n;

			ERR_clear_error();
			n = SSL_read(r->ssl, sink, sizeof(sink));
			if (n <= 0) {
				int e = SSL_get_error(r->ssl, n);

				if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
					r->c_eof = true;
				}
			}
		}
		if (r->state == R_REQUEST) {
			parse_request(r);
			if (r->state == R_REQUEST && r->c_eof) {
				abort_conn(r, "client ended before its request");
				return;
			}
		}
		if (r->state == R_DNS && !dns_flow(r)) {
			return;
		}
		if (r->ufd >= 0 && r->state == R_RELAY) {
			if (!write_upstream(r) || !read_upstream(r)) {
				return;
			}
		}
		if (!write_client(r)) {
			return;
		}
		/*
		 * Bytes that came in and went out again in one pass leave the
		 * lengths as they were: count what was read, too. And a record
		 * may wait decrypted inside OpenSSL (no read-ahead here, so
		 * SSL_pending says it all), with the socket empty: no
		 * event will come for it, so it is read now while there is room.
		 */
		again = buf_len(&r->up) != up0 || buf_len(&r->down) != down0 ||
			r->bytes_up != in_up0 || r->bytes_down != in_down0 ||
			r->c_eof != ceof0 || r->u_eof != ueof0 ||
			(r->state == R_RELAY && !r->c_eof && buf_room(&r->up) > 0 &&
			 SSL_pending(r->ssl) > 0) ||
			/*
			 * The same for a DNS answer larger than down: its next
			 * piece fits once write_client emptied down, and nothing
			 * would wake us for it.
			 */
			(r->state == R_DNS && r->dns_cur >= 0 && buf_room(&r->down) > 0);
	} while (again);

	/* Done when both directions ended and everything was delivered. */
	if (buf_len(&r->out) == 0 && buf_len(&r->down) == 0 && r->c_shut && r->c_eof &&
	    ((r->state == R_RELAY && r->u_eof && r->u_shut && buf_len(&r->up) == 0) ||
	     r->state == R_CLOSING || (r->state == R_DNS && dns_idle(r)))) {
		finish(r, false);
		return;
	}
	if ((r->state == R_RELAY || r->state == R_DNS) && !r->shed_armed && has_empty_buffer(r)) {
		r->shed_armed = true;
		arm(r, RELAY_SHED_MS);
	}
	update_masks(r);
}

/*
 * EV_ERR alone: the fd had nothing to wait for and failed or hung up.
 * Returns false when the connection was finished.
 */
static bool
only_error(struct relay *r, int fd, bool *in_ev, const char *why)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	if (soerr != 0) {
		abort_conn(r, why);
		return false;
	}
	/* A hang-up with data still queued: read it when there is room. */
	ev_fd_del(r->x->ev, fd);
	*in_ev = false;
	return true;
}

static void
on_cfd(struct ev *ev, int fd, unsigned int events, void *arg)
{
	struct relay *r = arg;

	if ((events & (EV_RD | EV_ERR)) || ((events & EV_WR) && r->c_rww)) {
		r->c_rd = true;
	}
	if (events == EV_ERR && !only_error(r, fd, &r->c_in_ev, "client connection reset")) {
		return;
	}
	run(r);
}

static void
on_ufd(struct ev *ev, int fd, unsigned int events, void *arg)
{
	struct relay *r = arg;

	if (events & (EV_RD | EV_ERR)) {
		r->u_rd = true;
	}
	if (events == EV_ERR && r->state != R_CONNECTING &&
	    !only_error(r, fd, &r->u_in_ev, "upstream reset")) {
		return;
	}
	if (r->state == R_CONNECTING) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
			soerr = errno;
		}
		if (soerr == EINPROGRESS || (soerr == 0 && !(events & (EV_WR | EV_ERR)))) {
			return;
		}
		if (soerr != 0) {
			connect_failed(r, soerr);
		} else {
			connected(r);
		}
	}
	run(r);
}

static void
on_timer(struct ev *ev, void *arg)
{
	struct relay *r = arg;

	switch (r->state) {
	case R_HANDSHAKE:
		abort_conn(r, "handshake timed out");
		return;
	case R_REQUEST:
		abort_conn(r, "request timed out");
		return;
	case R_CONNECTING:
		connect_failed(r, ETIMEDOUT);
		run(r);
		return;
	case R_RELAY:
	case R_DNS:
		if (r->shed_armed) {
			/* The last activity is deadline_ms less the idle timeout. */
			uint64_t quiet_at = r->deadline_ms - r->x->cfg->idle_timeout_ms + RELAY_SHED_MS;

			r->shed_armed = false;
			if (ev_now_ms(ev) >= quiet_at) {
				buf_shed(&r->up);
				buf_shed(&r->down);
			} else if (has_empty_buffer(r)) {
				/* Bytes moved meanwhile: look again when it may be quiet. */
				r->shed_armed = true;
				arm(r, quiet_at - ev_now_ms(ev));
				return;
			}
		}
		if (ev_now_ms(ev) < r->deadline_ms) {
			arm(r, r->deadline_ms - ev_now_ms(ev));
			return;
		}
		abort_conn(r, "idle timeout");
		return;
	case R_CLOSING:
		abort_conn(r, "client did not take the reply in time");
		return;
	case R_RESOLVING:
	case R_LOOKUP:
	default:
		/* c-ares bounds its own time; this is a backstop. */
		abort_conn(r, "timed out");
		return;
	}
}

int
relay_start(struct relay_ctx *x, int fd, const struct addr *peer, uint16_t peer_port)
{
	struct relay *r = calloc(1, sizeof(*r));
	BIO *bio, *wbio;

	if (r == NULL) {
		close(fd);
		return -ENOMEM;
	}
	r->x = x;
	r->cfd = fd;
	r->ufd = -1;
	r->peer = *peer;
	r->peer_port = peer_port;
	r->state = R_HANDSHAKE;
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	buf_init(&r->up, x->cfg->buffer_size);
	buf_init(&r->down, x->cfg->buffer_size);
	r->c_rd = true;
	buf_init(&r->out, RELAY_OUT_CAP);
	ev_timer_init(&r->timer, on_timer, r);
	hop_sock_setup(fd);
	r->ssl = SSL_new(x->ssl_ctx);
	bio = BIO_new_socket(fd, BIO_NOCLOSE);
	wbio = out_bio_new(r);
	if (r->ssl == NULL || bio == NULL || wbio == NULL) {
		BIO_free(bio);
		BIO_free(wbio);
		SSL_free(r->ssl);
		close(fd);
		free(r);
		ERR_clear_error();
		return -ENOMEM;
	}
	SSL_set_bio(r->ssl, bio, wbio);
	SSL_set_accept_state(r->ssl);
	r->dns_cur = -1;
	if (ev_fd_add(x->ev, fd, EV_RD, on_cfd, r) < 0) {
		SSL_free(r->ssl);
		close(fd);
		free(r);
		return -EMFILE;
	}
	r->c_in_ev = true;
	arm(r, x->cfg->handshake_timeout_ms);
	r->next = x->conns;
	if (x->conns) {
		x->conns->prev = r;
	}
	x->conns = r;
	x->n_conns++;
	x->n_total++;
	return 0;
}

void
relay_close_all(struct relay_ctx *x)
{
	while (x->conns) {
		abort_conn(x->conns, "relay shutting down");
	}
}

// SPDX-License-Identifier: MIT
/*
 * The SOCKS5 entrance: see socks_in.h.
 *
 *   GREET/REQUEST (reading) -> WAIT (a circuit, then the exit's reply)
 *     -> STREAM (stream.c carries it) or DONE after a lookup or a refusal
 *
 * The method choice is sent as soon as the greeting is parsed, unless the
 * request already came with it; then it rides with the reply.
 */
#include "socks_in.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dial.h"
#include "fdlimit.h"
#include "log.h"
#include "socks5.h"
#include "stream.h"

#define IN_CAP (SOCKS5_MAX_GREETING + SOCKS5_MAX_MSG + CIRCUIT_MAX_EARLY)
/* A client that never completes its request is reclaimed after this. */
#define REQUEST_TIMEOUT_MS 10000
#define ACCEPT_PAUSE_MS 1000

enum cstate {
	C_READING,      /* greeting and request */
	C_EARLY,        /* optimistic: answered, taking the first bytes */
	C_WAIT,         /* dialing: a circuit, then the exit's reply */
	C_STREAM,
};

struct client {
	struct client *prev, *next;
	struct socks_in *s;
	int fd;
	enum cstate state;
	uint8_t *in;            /* IN_CAP bytes until the stream starts */
	size_t in_len;
	bool greeted;           /* method choice already sent */
	bool optimistic;        /* answered before the exit did */
	struct socks5_req req;
	size_t early_off;       /* where the bytes after the request start */
	size_t early_taken;     /* of them, sent with the request */
	struct dial *dial;
	struct stream *stream;
	struct ev_timer timer;
};

struct socks_in {
	struct ev *ev;
	const struct tund_cfg *cfg;
	struct pool *pool;
	int lfd;
	struct ev_timer pause;          /* accept paused: out of descriptors */
	struct client *clients;
	size_t n_clients, n_streams;
	size_t max_clients;     /* beyond, refused at accept */
	uint64_t total, failed, bytes_up, bytes_down;
};

enum parse_res
socks_in_parse(const uint8_t *p, size_t len, size_t *used, bool *method_ok, struct socks5_req *req,
	       uint8_t *rep)
{
	size_t g, r;
	enum parse_res pr;

	*rep = SOCKS5_REP_FAIL;
	pr = socks5_parse_greeting(p, len, &g, method_ok);
	if (pr != PARSE_OK) {
		return pr;
	}
	if (!*method_ok) {
		*used = g;
		return PARSE_OK;
	}
	pr = socks5_parse_request(p + g, len - g, &r, req, rep);
	if (pr != PARSE_OK) {
		return pr;
	}
	if (req->cmd != SOCKS5_CMD_CONNECT && req->cmd != SOCKS5_CMD_RESOLVE &&
	    req->cmd != SOCKS5_CMD_RESOLVE_PTR) {
		/* DNS streams are tund's own business, not an application's. */
		*rep = SOCKS5_REP_CMD_UNSUPP;
		return PARSE_BAD;
	}
	*used = g + r;
	return PARSE_OK;
}

/* The most a client may spend before its stream starts (the dial bounds itself too). */
static uint64_t
wait_limit_ms(const struct socks_in *s)
{
	return REQUEST_TIMEOUT_MS + 2 * s->cfg->build_timeout_ms + DIAL_REPLY_TIMEOUT_MIN_MS;
}

static void
set_linger0(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

static void
client_free(struct client *cl, bool abortive)
{
	struct socks_in *s = cl->s;

	ev_timer_del(s->ev, &cl->timer);
	dial_free(cl->dial);
	if (cl->stream) {
		s->bytes_up += stream_bytes_up(cl->stream);
		s->bytes_down += stream_bytes_down(cl->stream);
		/* The stream owns the fd; it resets it unless the stream ended cleanly. */
		stream_free(cl->stream);
		s->n_streams--;
	} else {
		ev_fd_del(s->ev, cl->fd);
		if (abortive) {
			/* The application must not take a cut stream for a whole one. */
			set_linger0(cl->fd);
		}
		close(cl->fd);
	}
	if (cl->prev) {
		cl->prev->next = cl->next;
	} else {
		s->clients = cl->next;
	}
	if (cl->next) {
		cl->next->prev = cl->prev;
	}
	s->n_clients--;
	free(cl->in);
	free(cl);
}

/* Small answers to a fresh socket fit its buffer; a client that cannot take 22 bytes is dropped. */
static bool
send_small(struct client *cl, const uint8_t *p, size_t len)
{
	return send(cl->fd, p, len, MSG_NOSIGNAL) == (ssize_t)len;
}

/* The method choice (unless sent already) and a reply, in one write. */
static bool
send_reply(struct client *cl, uint8_t rep, const struct socks5_addr *bnd)
{
	uint8_t msg[2 + SOCKS5_MAX_MSG];
	size_t off = 0, len;

	if (!cl->greeted) {
		socks5_build_method(msg, sizeof(msg), &len, SOCKS5_METHOD_NOAUTH);
		off = len;
		cl->greeted = true;
	}
	return socks5_build_reply(msg + off, sizeof(msg) - off, &len, rep, bnd) == 0 &&
	       send_small(cl, msg, off + len);
}

static void
reply_and_close(struct client *cl, uint8_t rep, const struct socks5_addr *bnd)
{
	send_reply(cl, rep, bnd);
	if (rep != SOCKS5_REP_OK) {
		cl->s->failed++;
	}
	cl->s->total++;
	/* A graceful end: the application reads the reply, then EOF. */
	shutdown(cl->fd, SHUT_WR);
	client_free(cl, false);
}

/*
 * A failure before the stream: the exit's code (or ours) goes back,
 * unless the application was told yes already; a reset is then all it
 * can hear.
 */
static void
fail_client(struct client *cl, uint8_t rep)
{
	if (cl->optimistic) {
		cl->s->failed++;
		cl->s->total++;
		client_free(cl, true);
		return;
	}
	reply_and_close(cl, rep, NULL);
}

static void
stream_ended(struct stream *st, int err, const char *why, void *arg)
{
	struct client *cl = arg;

	if (err) {
		log_debug("%s: stream ended: %s", __func__, why);
	}
	client_free(cl, err != 0);
}

static void
dialed(void *arg, const struct dial_result *r)
{
	struct client *cl = arg;
	struct socks_in *s = cl->s;
	struct stream_opts o;
	struct stream_fd_opts fo;
	struct circuit *c = r->c;

	if (c == NULL) {
		/* Lookups end here, and so do refusals: the code goes back unchanged. */
		if (cl->optimistic) {
			fail_client(cl, r->rep);
		} else {
			reply_and_close(cl, r->rep, r->from_exit ? &r->reply->bnd : NULL);
		}
		return;
	}
	if (!cl->optimistic && !send_reply(cl, r->rep, &r->reply->bnd)) {
		circuit_free(c);
		client_free(cl, true);
		return;
	}
	/* r lives in the dial: done with it. */
	dial_free(cl->dial);
	cl->dial = NULL;
	s->total++;
	ev_timer_del(s->ev, &cl->timer);
	ev_fd_del(s->ev, cl->fd);
	memset(&o, 0, sizeof(o));
	o.idle_ms = s->cfg->stream_idle_ms;
	/* What came after the request beyond the early data goes first. */
	o.pre = cl->in + cl->early_off + cl->early_taken;
	o.pre_len = cl->in_len - cl->early_off - cl->early_taken;
	fo = (struct stream_fd_opts){ .in_fd = cl->fd, .out_fd = cl->fd, .own_fds = true };
	cl->stream = stream_new_fd(s->ev, c, &fo, &o, stream_ended, cl);
	if (cl->stream == NULL) {
		circuit_free(c);
		client_free(cl, true);
		return;
	}
	cl->state = C_STREAM;
	s->n_streams++;
	s->bytes_up += cl->early_taken;
	/* The request buffer is not needed any more: an open stream costs little. */
	free(cl->in);
	cl->in = NULL;
	cl->in_len = cl->early_off = cl->early_taken = 0;
}

/* Hands the bytes after the request to the dial, and says they are all in. */
static void
give_early(struct client *cl)
{
	size_t off = cl->early_off + cl->early_taken;

	cl->early_taken += dial_early(cl->dial, cl->in + off, cl->in_len - off);
	dial_early_done(cl->dial);
}

/* Optimistic: the first bytes after our early yes. */
static void
read_early(struct client *cl)
{
	ssize_t n = recv(cl->fd, cl->in + cl->in_len, IN_CAP - cl->in_len, 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		return;
	}
	if (n < 0) {
		client_free(cl, true);
		return;
	}
	/* Bytes, or the application's end of data (the stream reads it again). */
	cl->in_len += (size_t)n;
	cl->state = C_WAIT;
	ev_fd_mod(cl->s->ev, cl->fd, 0);
	give_early(cl);
}

static void
on_client(struct ev *ev, int fd, unsigned int events, void *arg)
{
	struct client *cl = arg;
	struct socks_in *s = cl->s;
	size_t used;
	bool method_ok;
	uint8_t rep;
	enum parse_res pr;
	ssize_t n;

	if (cl->state == C_EARLY && events != EV_ERR) {
		read_early(cl);
		return;
	}
	if (cl->state != C_READING) {
		/* Waiting: the application gave up (closed or reset) before its reply. */
		client_free(cl, true);
		return;
	}
	n = recv(fd, cl->in + cl->in_len, IN_CAP - cl->in_len, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		client_free(cl, n < 0);
		return;
	}
	if (n < 0) {
		return;
	}
	cl->in_len += (size_t)n;
	pr = socks_in_parse(cl->in, cl->in_len, &used, &method_ok, &cl->req, &rep);
	if (pr == PARSE_AGAIN) {
		size_t g;
		bool ok;

		/* A greeting alone is answered now: that client waits for it. */
		if (!cl->greeted && socks5_parse_greeting(cl->in, cl->in_len, &g, &ok) == PARSE_OK &&
		    ok && cl->in_len == g) {
			uint8_t m[2];
			size_t mlen;

			socks5_build_method(m, sizeof(m), &mlen, SOCKS5_METHOD_NOAUTH);
			if (!send_small(cl, m, mlen)) {
				client_free(cl, true);
				return;
			}
			cl->greeted = true;
		}
		if (cl->in_len == IN_CAP) {
			client_free(cl, true);
		}
		return;
	}
	if (pr == PARSE_OK && !method_ok) {
		uint8_t m[2];
		size_t mlen;

		socks5_build_method(m, sizeof(m), &mlen, SOCKS5_METHOD_NONE);
		send_small(cl, m, mlen);
		client_free(cl, false);
		return;
	}
	if (pr == PARSE_BAD) {
		reply_and_close(cl, rep, NULL);
		return;
	}
	cl->early_off = used;
	cl->optimistic = s->cfg->optimistic && cl->req.cmd == SOCKS5_CMD_CONNECT;
	cl->dial = dial_new(ev, s->pool, s->cfg, &cl->req, cl->optimistic, dialed, cl);
	if (cl->dial == NULL) {
		cl->optimistic = false;
		reply_and_close(cl, SOCKS5_REP_FAIL, NULL);
		return;
	}
	ev_timer_set(ev, &cl->timer, wait_limit_ms(s));
	if (cl->optimistic) {
		/*
		 * Answer yes at once, so the application sends its first bytes
		 * now and they leave with the request: one trip through the
		 * chain saved. A refusal then reaches it as a reset.
		 */
		if (!send_reply(cl, SOCKS5_REP_OK, NULL)) {
			client_free(cl, true);
			return;
		}
		if (cl->in_len == used) {
			cl->state = C_EARLY;
			return;
		}
	}
	cl->state = C_WAIT;
	/* Watch only for the application's failure while we wait (EV_ERR). */
	ev_fd_mod(ev, fd, 0);
	give_early(cl);
}

static void
on_client_timer(struct ev *ev, void *arg)
{
	struct client *cl = arg;

	log_debug("%s: a SOCKS5 client took too long", __func__);
	if (cl->state == C_WAIT || cl->state == C_EARLY) {
		fail_client(cl, SOCKS5_REP_TIMEOUT);
	} else {
		client_free(cl, true);
	}
}

static void
on_pause_end(struct ev *ev, void *arg)
{
	struct socks_in *s = arg;

	ev_fd_mod(ev, s->lfd, EV_RD);
}

static void
on_accept(struct ev *ev, int lfd, unsigned int events, void *arg)
{
	struct socks_in *s = arg;

	for (int i = 0; i < 64; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		struct client *cl;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Level-triggered, the listener would fire again at once: pause. */
				log_warnx_rl("socks: accept: %s; pausing", strerror(errno));
				ev_fd_mod(ev, lfd, 0);
				ev_timer_set(ev, &s->pause, ACCEPT_PAUSE_MS);
			}
			return;
		}
		if (s->n_clients >= s->max_clients) {
			log_warnx_rl("socks: %zu clients already; refusing one", s->max_clients);
			close(fd);
			continue;
		}
		cl = calloc(1, sizeof(*cl));
		if (cl != NULL) {
			cl->in = malloc(IN_CAP);
		}
		if (cl == NULL || cl->in == NULL || ev_fd_add(ev, fd, EV_RD, on_client, cl) < 0) {
			if (cl != NULL) {
				free(cl->in);
			}
			free(cl);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		cl->s = s;
		cl->fd = fd;
		ev_timer_init(&cl->timer, on_client_timer, cl);
		ev_timer_set(ev, &cl->timer, REQUEST_TIMEOUT_MS);
		cl->next = s->clients;
		if (s->clients) {
			s->clients->prev = cl;
		}
		s->clients = cl;
		s->n_clients++;
	}
}

size_t
socks_in_max(size_t fds)
{
	return fdlimit_share(fds, 2);
}

struct socks_in *
socks_in_new(struct ev *ev, const struct tund_cfg *cfg, struct pool *pool, size_t max_clients,
	     char *err, size_t errlen)
{
	struct socks_in *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	socklen_t sl;
	char abuf[ADDR_STRLEN];
	int one = 1;

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->ev = ev;
	s->cfg = cfg;
	s->pool = pool;
	s->max_clients = max_clients;
	ev_timer_init(&s->pause, on_pause_end, s);
	sl = addr_to_sockaddr(&cfg->socks, cfg->socks_port, &ss);
	s->lfd = socket(cfg->socks.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s->lfd, (struct sockaddr *)&ss, sl) < 0 || listen(s->lfd, 1024) < 0 ||
	    ev_fd_add(ev, s->lfd, EV_RD, on_accept, s) < 0) {
		snprintf(err, errlen, "socks %s: %s",
			 addr_port_fmt(&cfg->socks, cfg->socks_port, abuf, sizeof(abuf)), strerror(errno));
		if (s->lfd >= 0) {
			close(s->lfd);
		}
		free(s);
		return NULL;
	}
	return s;
}

void
socks_in_free(struct socks_in *s)
{
	if (s == NULL) {
		return;
	}
	while (s->clients) {
		client_free(s->clients, true);
	}
	ev_timer_del(s->ev, &s->pause);
	ev_fd_del(s->ev, s->lfd);
	close(s->lfd);
	free(s);
}

void
socks_in_stats(const struct socks_in *s, struct socks_in_stats *st)
{
	st->open = s->n_clients;
	st->streams = s->n_streams;
	st->total = s->total;
	st->failed = s->failed;
	st->bytes_up = s->bytes_up;
	st->bytes_down = s->bytes_down;
	for (const struct client *cl = s->clients; cl; cl = cl->next) {
		if (cl->stream) {
			st->bytes_up += stream_bytes_up(cl->stream);
			st->bytes_down += stream_bytes_down(cl->stream);
		}
	}
}

// SPDX-License-Identifier: MIT
/*
 * The capture: see capture.h. Three kinds of glue live here, one struct
 * each: the TUN's reader and writer (struct capture), a TCP connection
 * of the stack on its way to a stream (struct tconn: dialing, then a
 * stream whose local end is the connection), and a DNS query waiting for
 * the forwarder (struct udpq for UDP; DNS over TCP is a tconn too).
 *
 * The stack's output is written to the TUN as it comes (one writev per
 * packet: the payload is never copied); the stack's batched work (ACKs,
 * data, window updates) is flushed by a before-sleep hook, after every
 * stream of this iteration has moved its bytes.
 */
#include "capture.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "buf.h"
#include "dial.h"
#include "dns.h"
#include "fdlimit.h"
#include "log.h"
#include "stream.h"

/* Packets read per wakeup of the TUN, so other fds get their turn. */
#define TUN_BATCH 256
#define RBUF_LEN 65536
/* TCP buffers per connection: the window offered to the application, and the send side. */
#define TCP_RCV_BUF (256 * 1024)
#define TCP_SND_BUF (256 * 1024)
#define TCP_MAX_CONNS 16384
#define TCP_SYN_WAIT_MS 60000
/* DNS over TCP: queries in flight per connection, and how long an idle one lives. */
#define DNS_TCP_MAX_INFLIGHT 16
#define DNS_TCP_IDLE_MS 10000

enum tkind {
	T_DIAL,         /* the dial runs; the SYN may be answered already (fast) */
	T_STREAM,
	T_DNS,
};

struct dtq;

struct tconn {
	struct tconn *prev, *next;
	struct capture *cap;
	struct tcp_conn *tc;
	enum tkind kind;
	bool fast;
	bool early_done;
	bool pinned;
	bool free_on_close;             /* the stream ended: its end's close frees t */
	size_t early;                   /* bytes that left with the request */
	struct addr dst;
	struct dial *dial;
	struct stream *stream;
	/* DNS over TCP. */
	struct dns_frame frame;         /* the query being read */
	struct buf pend;                /* framed answers the connection could not take yet */
	struct dtq *queries;            /* forwarded, in flight */
	unsigned int inflight;
	struct ev_timer idle;
	uint64_t last_ms;
};

/* A forwarded query of a DNS-over-TCP connection. */
struct dtq {
	struct dtq *prev, *next;
	struct tconn *t;
	struct dnsfwd_q *q;
};

/* A forwarded UDP query: where its answer goes. */
struct udpq {
	struct capture *cap;
	struct addr client, server;
	uint16_t cport;
	size_t limit;
};

struct capture {
	struct ev *ev;
	const struct tund_cfg *cfg;
	struct pool *pool;
	int fd;
	struct fakeip *fip;
	struct tcp_stack *tcp;
	struct dnsfwd *fwd;
	struct ev_timer tcp_timer;
	uint8_t *rbuf;
	uint8_t *out;                   /* DNS answers and the packets around them */
	struct tconn *conns;
	uint64_t rng;
	struct capture_stats st;
};

const char *
capture_drop_name(enum capture_drop d)
{
	switch (d) {
	case CAP_DROP_LOSS:
		return "test-loss";
	case CAP_DROP_UDP:
		return "udp-port";
	case CAP_DROP_ICMP:
		return "icmp";
	case CAP_DROP_PROTO:
		return "protocol";
	case CAP_DROP_DNS:
		return "dns";
	case CAP_DROP_WRITE:
		return "tun-write";
	default:
		return "?";
	}
}

/* xorshift64*: the test-loss coin. */
static bool
lose(struct capture *cap)
{
	uint64_t x = cap->rng;

	if (cap->cfg->test_loss_ppm == 0) {
		return false;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	cap->rng = x;
	return (x * 0x2545f4914f6cdd1dULL) % 1000000 < cap->cfg->test_loss_ppm;
}

/* The TUN writer. */

static void
tun_write(struct capture *cap, const uint8_t *hdr, size_t hl, const uint8_t *data, size_t len)
{
	/* writev takes no const; the kernel only reads. */
	struct iovec iov[2] = { { (void *)(uintptr_t)hdr, hl }, { (void *)(uintptr_t)data, len } };

	if (lose(cap)) {
		cap->st.drop[CAP_DROP_LOSS]++;
		return;
	}
	if (writev(cap->fd, iov, len ? 2 : 1) < 0) {
		cap->st.drop[CAP_DROP_WRITE]++;
		log_debug_rl("%s: %s", __func__, strerror(errno));
		return;
	}
	cap->st.pkts_out++;
	cap->st.bytes_out += hl + len;
}

static void
tcp_output(void *arg, const uint8_t *hdr, size_t hl, const uint8_t *data, size_t len)
{
	tun_write(arg, hdr, hl, data, len);
}

static void
send_udp(struct capture *cap, const struct addr *src, uint16_t sport, const struct addr *dst,
	 uint16_t dport, const uint8_t *data, size_t len)
{
	/* The checksum covers the payload: the whole packet is built in one buffer. */
	size_t total = len + IP_HDR_MAX + 8, n;
	uint8_t *pkt = malloc(total);

	if (pkt == NULL) {
		return;
	}
	n = ip_build_udp(pkt, total, src, sport, dst, dport, data, len);
	if (n > 0) {
		tun_write(cap, pkt, n, NULL, 0);
	}
	free(pkt);
}

/* Connections. */

static void
tconn_free(struct tconn *t)
{
	struct capture *cap = t->cap;

	ev_timer_del(cap->ev, &t->idle);
	while (t->queries) {
		struct dtq *d = t->queries;

		t->queries = d->next;
		dnsfwd_cancel(cap->fwd, d->q);
		free(d);
	}
	dial_free(t->dial);
	if (t->pinned && cap->fip) {
		fakeip_unpin(cap->fip, &t->dst, ev_now_ms(cap->ev));
	}
	buf_fini(&t->pend);
	dns_frame_fini(&t->frame);
	if (t->prev) {
		t->prev->next = t->next;
	} else {
		cap->conns = t->next;
	}
	if (t->next) {
		t->next->prev = t->prev;
	}
	if (t->kind == T_STREAM) {
		cap->st.streams_open--;
	} else if (t->kind == T_DIAL) {
		cap->st.dialing--;
	} else {
		cap->st.dns_conns--;
	}
	free(t);
}

/* The TCP connection as a stream's local end. */

static ssize_t
end_read(void *ctx, void *buf, size_t len)
{
	struct tconn *t = ctx;

	return tcp_conn_read(t->tc, buf, len);
}

static ssize_t
end_write(void *ctx, const void *buf, size_t len)
{
	struct tconn *t = ctx;

	return tcp_conn_write(t->tc, buf, len);
}

static int
end_shutdown(void *ctx)
{
	struct tconn *t = ctx;

	return tcp_conn_shutdown(t->tc);
}

static void
end_want(void *ctx, bool rd, bool wr)
{
	/* The stack tells of every change (readable, writable); nothing to arm. */
}

static void
end_close(void *ctx, bool abortive)
{
	struct tconn *t = ctx;

	if (t->tc != NULL) {
		tcp_conn_set_ctx(t->tc, NULL);
		if (abortive) {
			t->cap->st.conns_reset++;
			tcp_conn_abort(t->tc);
		} else {
			tcp_conn_release(t->tc);
		}
		t->tc = NULL;
	}
	if (t->free_on_close) {
		tconn_free(t);
	}
}

static const struct stream_end_ops tcp_end_ops = {
	.read = end_read,
	.write = end_write,
	.shutdown = end_shutdown,
	.want = end_want,
	.close = end_close,
};

static void
stream_ended(struct stream *s, int err, const char *why, void *arg)
{
	struct tconn *t = arg;

	if (err) {
		log_debug_rl("%s: stream ended: %s", __func__, why);
	}
	t->cap->st.bytes_up += t->early + stream_bytes_up(s);
	t->cap->st.bytes_down += stream_bytes_down(s);
	/*
	 * The stream may be busy: its free, and the close of its TCP end,
	 * can come after this returns. t goes with that close, not before.
	 */
	t->stream = NULL;
	t->free_on_close = true;
	stream_free(s);                 /* closes the TCP end: a reset unless clean */
}

/* An unreachable for the pending SYN, from its destination, then silence. */
static void
send_unreach(struct tconn *t, enum ip_unreach why)
{
	struct capture *cap = t->cap;
	uint8_t syn[TCP_WIRE_HDR_MAX], icmp[IP_HDR_MAX + 8 + TCP_WIRE_HDR_MAX];
	struct ip_pkt orig;
	size_t n = tcp_conn_syn_packet(t->tc, syn, sizeof(syn));

	if (n > 0 && ip_parse(syn, n, &orig) == IP_OK) {
		n = ip_build_unreach(icmp, sizeof(icmp), &orig, why);
		if (n > 0) {
			tun_write(cap, icmp, n, NULL, 0);
		}
	}
	tcp_conn_drop(t->tc);
	t->tc = NULL;
}

static void
dialed(void *arg, const struct dial_result *r)
{
	struct tconn *t = arg;
	struct capture *cap = t->cap;
	struct stream_opts o = { .idle_ms = cap->cfg->stream_idle_ms };
	struct circuit *c = r->c;

	if (c == NULL) {
		log_debug_rl("%s: %s", __func__, r->why);
		if (t->fast) {
			/* The application was told yes: a reset is all it can hear now. */
			cap->st.conns_reset++;
			tcp_conn_abort(t->tc);
			t->tc = NULL;
		} else {
			switch (r->rep) {
			case SOCKS5_REP_NET_UNREACH:
				cap->st.conns_unreach++;
				send_unreach(t, IP_UNREACH_NET);
				break;
			case SOCKS5_REP_HOST_UNREACH:
			case SOCKS5_REP_TIMEOUT:
				cap->st.conns_unreach++;
				send_unreach(t, IP_UNREACH_HOST);
				break;
			default:
				/* Refused, by the host or by policy, or no circuit at all. */
				cap->st.conns_refused++;
				tcp_conn_refuse(t->tc);
				t->tc = NULL;
				break;
			}
		}
		tconn_free(t);
		return;
	}
	dial_free(t->dial);
	t->dial = NULL;
	if (!t->fast) {
		tcp_conn_accept(t->tc, ev_now_ms(cap->ev));
	}
	t->stream = stream_new(cap->ev, c, &tcp_end_ops, t, &o, stream_ended, t);
	if (t->stream == NULL) {
		circuit_free(c);
		tcp_conn_abort(t->tc);
		t->tc = NULL;
		tconn_free(t);
		return;
	}
	cap->st.dialing--;
	t->kind = T_STREAM;
	cap->st.streams_open++;
}

/* Fast connects: the first bytes go with the request. */
static void
take_early(struct tconn *t)
{
	size_t len;
	const uint8_t *p;

	if (t->early_done) {
		return;
	}
	p = tcp_conn_peek(t->tc, &len);
	if (len == 0 && !tcp_conn_eof(t->tc)) {
		return;
	}
	t->early_done = true;
	if (len > 0) {
		t->early = dial_early(t->dial, p, len);
		tcp_conn_consume(t->tc, t->early);
	}
	/* May deliver the result at once: t is not touched after. */
	dial_early_done(t->dial);
}

/* DNS over TCP (RFC 7766): frames in, answers out, in any order. */

static void dns_pump(struct tconn *t);

static void
dns_send(struct tconn *t, const uint8_t *msg, size_t len)
{
	uint8_t hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };

	/* Whole frames only: pend is sized for the answers in flight. */
	if (buf_room(&t->pend) < len + 2 || buf_put(&t->pend, hdr, 2) < 0 ||
	    buf_put(&t->pend, msg, len) < 0) {
		return;
	}
}

static void
dtq_answer(void *arg, const uint8_t *ans, size_t len)
{
	struct dtq *d = arg;
	struct tconn *t = d->t;

	if (d->prev) {
		d->prev->next = d->next;
	} else {
		t->queries = d->next;
	}
	if (d->next) {
		d->next->prev = d->prev;
	}
	free(d);
	t->inflight--;
	if (ans) {
		dns_send(t, ans, len);
	} else {
		t->cap->st.dns_servfail++;
	}
	dns_pump(t);
}

static void
dns_frame(struct tconn *t, const uint8_t *q, size_t len)
{
	struct capture *cap = t->cap;
	size_t olen = 0;
	struct dtq *d;

	cap->st.dns_tcp++;
	switch (dns_handle(cap->fip, q, len, DNS_MAX_MSG, ev_now_ms(cap->ev), cap->out, DNS_MAX_MSG,
			   &olen)) {
	case DNS_REPLY:
		cap->st.dns_local++;
		dns_send(t, cap->out, olen);
		return;
	case DNS_FORWARD:
		d = calloc(1, sizeof(*d));
		if (d == NULL) {
			return;
		}
		d->t = t;
		d->q = dnsfwd_query(cap->fwd, q, len, dtq_answer, d);
		if (d->q == NULL) {
			free(d);
			cap->st.dns_servfail++;
			return;
		}
		cap->st.dns_forwarded++;
		d->next = t->queries;
		if (t->queries) {
			t->queries->prev = d;
		}
		t->queries = d;
		t->inflight++;
		return;
	case DNS_DROP:
	default:
		cap->st.drop[CAP_DROP_DNS]++;
		return;
	}
}

static void
dns_close(struct tconn *t, bool abortive)
{
	if (t->tc) {
		if (abortive) {
			tcp_conn_abort(t->tc);
		} else {
			tcp_conn_release(t->tc);
		}
		t->tc = NULL;
	}
	tconn_free(t);
}

/* Sends the answers waiting; false when the connection takes no more now (or broke). */
static bool
dns_flush(struct tconn *t)
{
	for (;;) {
		size_t len;
		const uint8_t *p = buf_rptr(&t->pend, &len);
		ssize_t n;

		if (len == 0) {
			return true;
		}
		n = tcp_conn_write(t->tc, p, len);
		if (n == -EAGAIN) {
			return false;
		}
		if (n < 0) {
			dns_close(t, true);
			return false;
		}
		buf_consume(&t->pend, (size_t)n);
	}
}

/*
 * Answers go out first; a new frame is read only when they all went
 * (backpressure: a client that does not read its answers stops being
 * read) and fewer than DNS_TCP_MAX_INFLIGHT are being forwarded.
 */
static void
dns_pump(struct tconn *t)
{
	struct capture *cap = t->cap;

	if (t->tc == NULL) {
		return;
	}
	t->last_ms = ev_now_ms(cap->ev);
	while (dns_flush(t) && t->inflight < DNS_TCP_MAX_INFLIGHT) {
		size_t len, n, mlen;
		const uint8_t *p = tcp_conn_peek(t->tc, &len);
		uint8_t *msg;

		if (len == 0) {
			if (tcp_conn_eof(t->tc) && t->inflight == 0) {
				/* The client is done and has every answer: a clean end. */
				dns_close(t, false);
			}
			return;
		}
		n = dns_frame_take(&t->frame, p, len, &msg, &mlen);
		if (n == 0) {
			dns_close(t, true);
			return;
		}
		/* The query is in the frame's buffer: the connection's may move now. */
		tcp_conn_consume(t->tc, n);
		if (msg) {
			dns_frame(t, msg, mlen);
		}
	}
}

static void
on_dns_idle(struct ev *ev, void *arg)
{
	struct tconn *t = arg;
	uint64_t now = ev_now_ms(ev);

	if (t->inflight > 0 || now < t->last_ms + DNS_TCP_IDLE_MS) {
		ev_timer_set(ev, &t->idle, DNS_TCP_IDLE_MS);
		return;
	}
	/* RFC 7766 6.2.3: a server may close an idle connection. */
	dns_close(t, false);
}

/* The stack's callbacks. */

static bool
on_syn(void *arg, struct tcp_conn *tc, const struct tcp_tuple *tu)
{
	struct capture *cap = arg;
	struct tconn *t = calloc(1, sizeof(*t));
	struct socks5_req req;
	const char *name = NULL;
	bool fake;

	if (t == NULL) {
		return false;
	}
	t->cap = cap;
	t->tc = tc;
	t->dst = tu->dst;
	buf_init(&t->pend, DNS_TCP_MAX_INFLIGHT * (2 + DNS_MAX_MSG));
	ev_timer_init(&t->idle, on_dns_idle, t);
	if (tu->dport == 53) {
		t->kind = T_DNS;
		cap->st.dns_conns++;
		ev_timer_set(cap->ev, &t->idle, DNS_TCP_IDLE_MS);
		goto link;
	}
	fake = cap->fip && fakeip_contains(cap->fip, &tu->dst);
	if (fake) {
		name = fakeip_lookup_addr(cap->fip, &tu->dst, ev_now_ms(cap->ev));
		if (name == NULL) {
			/* A fake address that stands for no name (a stale cache): nobody there. */
			free(t);
			return false;
		}
	}
	memset(&req, 0, sizeof(req));
	req.cmd = SOCKS5_CMD_CONNECT;
	req.dst.port = tu->dport;
	if (name) {
		req.dst.atyp = SOCKS5_ATYP_DOMAIN;
		req.dst.host_len = (uint8_t)snprintf(req.dst.host, sizeof(req.dst.host), "%s", name);
		cap->st.conns_fake++;
	} else {
		req.dst.atyp = tu->dst.family == AF_INET ? SOCKS5_ATYP_IPV4 : SOCKS5_ATYP_IPV6;
		req.dst.ip = tu->dst;
		cap->st.conns_real++;
	}
	t->fast = cap->cfg->tcp_connect == TUND_CONNECT_FAST ||
		  (cap->cfg->tcp_connect == TUND_CONNECT_AUTO && fake);
	t->early_done = !t->fast;
	t->kind = T_DIAL;
	t->dial = dial_new(cap->ev, cap->pool, cap->cfg, &req, t->fast, dialed, t);
	if (t->dial == NULL) {
		free(t);
		return false;
	}
	if (fake) {
		fakeip_pin(cap->fip, &tu->dst);
		t->pinned = true;
	}
	cap->st.dialing++;
link:
	tcp_conn_set_ctx(tc, t);
	t->next = cap->conns;
	if (cap->conns) {
		cap->conns->prev = t;
	}
	cap->conns = t;
	if (t->kind == T_DNS || t->fast) {
		tcp_conn_accept(tc, ev_now_ms(cap->ev));
	}
	return true;
}

static void
on_tcp_event(void *arg, struct tcp_conn *tc, enum tcp_event ev, int err)
{
	struct tconn *t = tcp_conn_ctx(tc);

	if (t == NULL) {
		return;
	}
	switch (t->kind) {
	case T_DNS:
		if (ev == TCP_EV_CLOSED) {
			dns_close(t, err != 0);
		} else {
			dns_pump(t);
		}
		return;
	case T_DIAL:
		if (ev == TCP_EV_CLOSED) {
			/* The application gave up (or the handshake failed) before the exit answered. */
			tcp_conn_release(t->tc);
			t->tc = NULL;
			tconn_free(t);
		} else if (ev == TCP_EV_READABLE && t->fast) {
			take_early(t);
		}
		return;
	case T_STREAM:
		if (t->stream == NULL) {
			return;         /* the stream is ending */
		}
		if (ev == TCP_EV_CLOSED && err) {
			stream_abort(t->stream, err, err == ETIMEDOUT ? "local connection timed out"
								      : "local connection reset");
		} else {
			stream_wake(t->stream);
		}
		return;
	default:
		return;
	}
}

static const struct tcp_cbs tcp_cbs = {
	.syn = on_syn,
	.event = on_tcp_event,
	.output = tcp_output,
};

/* Packets from the TUN. */

/* A SERVFAIL for q, when nothing better can be said (the forwarder is full or failed). */
static void
udp_answer(struct capture *cap, const struct udpq *u, const uint8_t *msg, size_t len)
{
	send_udp(cap, &u->server, 53, &u->client, u->cport, msg, len);
}

static void
udpq_answer(void *arg, const uint8_t *ans, size_t len)
{
	struct udpq *u = arg;
	struct capture *cap = u->cap;
	uint8_t *copy;

	if (ans == NULL) {
		cap->st.dns_servfail++;
		free(u);
		return;
	}
	copy = malloc(len);
	if (copy != NULL) {
		memcpy(copy, ans, len);
		len = dns_fit(copy, len, u->limit);
		if (len > 0) {
			udp_answer(cap, u, copy, len);
		}
		free(copy);
	}
	free(u);
}

static void
handle_udp(struct capture *cap, const struct ip_pkt *pkt)
{
	struct udp_view u;
	enum ip_verdict v = ip_parse_udp(pkt, &u);
	struct udpq *q;
	size_t olen = 0, limit;

	if (v != IP_OK) {
		cap->st.drop_ip[v]++;
		return;
	}
	if (u.dport != 53) {
		/* No UDP leaves but DNS: QUIC and the rest hear "port unreachable" at once. */
		uint8_t icmp[1280];
		size_t n = ip_build_unreach(icmp, sizeof(icmp), pkt, IP_UNREACH_PORT);

		cap->st.drop[CAP_DROP_UDP]++;
		if (n > 0) {
			tun_write(cap, icmp, n, NULL, 0);
		}
		return;
	}
	cap->st.dns_udp++;
	limit = dns_udp_limit(u.data, u.len);
	switch (dns_handle(cap->fip, u.data, u.len, limit, ev_now_ms(cap->ev), cap->out, DNS_MAX_MSG,
			   &olen)) {
	case DNS_REPLY:
		cap->st.dns_local++;
		send_udp(cap, &pkt->dst, 53, &pkt->src, u.sport, cap->out, olen);
		return;
	case DNS_FORWARD:
		q = calloc(1, sizeof(*q));
		if (q == NULL) {
			return;
		}
		q->cap = cap;
		q->client = pkt->src;
		q->server = pkt->dst;
		q->cport = u.sport;
		q->limit = limit;
		if (dnsfwd_query(cap->fwd, u.data, u.len, udpq_answer, q) == NULL) {
			/* Cannot be taken now: the client's resolver retries. */
			cap->st.dns_servfail++;
			free(q);
			return;
		}
		cap->st.dns_forwarded++;
		return;
	case DNS_DROP:
	default:
		cap->st.drop[CAP_DROP_DNS]++;
		return;
	}
}

static void
handle_icmp(struct capture *cap, const struct ip_pkt *pkt)
{
	uint8_t out[RBUF_LEN];
	size_t n;

	if (!ip_l4_csum_ok(pkt)) {
		cap->st.drop_ip[IP_DROP_CSUM]++;
		return;
	}
	/* Echo to a fake address is ours to answer; a real one is not reachable in clear. */
	if (cap->fip == NULL || !fakeip_contains(cap->fip, &pkt->dst)) {
		cap->st.drop[CAP_DROP_ICMP]++;
		return;
	}
	n = ip_build_echo_reply(out, sizeof(out), pkt);
	if (n == 0) {
		cap->st.drop[CAP_DROP_ICMP]++;
		return;
	}
	cap->st.echo_replies++;
	tun_write(cap, out, n, NULL, 0);
}

static void
handle_packet(struct capture *cap, const uint8_t *p, size_t len)
{
	struct ip_pkt pkt;
	enum ip_verdict v = ip_parse(p, len, &pkt);

	if (v != IP_OK) {
		cap->st.drop_ip[v]++;
		return;
	}
	switch (pkt.proto) {
	case IP_PROTO_TCP:
		tcp_stack_input(cap->tcp, &pkt, ev_now_ms(cap->ev));
		return;
	case IP_PROTO_UDP:
		handle_udp(cap, &pkt);
		return;
	case IP_PROTO_ICMP:
	case IP_PROTO_ICMPV6:
		if ((pkt.proto == IP_PROTO_ICMP) != (pkt.version == 4)) {
			cap->st.drop[CAP_DROP_PROTO]++;
			return;
		}
		handle_icmp(cap, &pkt);
		return;
	default:
		cap->st.drop[CAP_DROP_PROTO]++;
		return;
	}
}

static void
on_tun(struct ev *ev, int fd, unsigned int events, void *arg)
{
	struct capture *cap = arg;

	for (int i = 0; i < TUN_BATCH; i++) {
		ssize_t n = read(fd, cap->rbuf, RBUF_LEN);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				log_warn("read from the TUN");
			}
			return;
		}
		cap->st.pkts_in++;
		cap->st.bytes_in += (uint64_t)n;
		if (lose(cap)) {
			cap->st.drop[CAP_DROP_LOSS]++;
			continue;
		}
		handle_packet(cap, cap->rbuf, (size_t)n);
	}
}

/* Before the loop sleeps: the stack sends what is due, and its timer follows its deadline. */
static void
before_sleep(struct ev *ev, void *arg)
{
	struct capture *cap = arg;
	uint64_t next;

	tcp_stack_flush(cap->tcp, ev_now_ms(ev));
	next = tcp_stack_next_ms(cap->tcp);
	if (next == UINT64_MAX) {
		ev_timer_del(ev, &cap->tcp_timer);
	} else if (!ev_timer_armed(&cap->tcp_timer) || cap->tcp_timer.node.key != next) {
		ev_timer_set_at(ev, &cap->tcp_timer, next);
	}
}

static void
on_tcp_timer(struct ev *ev, void *arg)
{
	struct capture *cap = arg;

	tcp_stack_timers(cap->tcp, ev_now_ms(ev));
}

size_t
capture_max_conns(size_t fds)
{
	size_t n = fdlimit_share(fds, 1);

	return n < TCP_MAX_CONNS ? n : TCP_MAX_CONNS;
}

struct capture *
capture_new(struct ev *ev, const struct tund_cfg *cfg, struct pool *pool, int tun_fd,
	    struct fakeip *fip, uint64_t seed, size_t max_conns, char *err, size_t errlen)
{
	struct capture *cap = calloc(1, sizeof(*cap));
	struct tcp_cfg tc = {
		.mtu = (uint32_t)cfg->tun_mtu,
		.rcv_buf = TCP_RCV_BUF,
		.snd_buf = TCP_SND_BUF,
		.max_conns = max_conns,
		.seed = seed,
		.syn_wait_ms = TCP_SYN_WAIT_MS,
	};

	if (cap == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cap->ev = ev;
	cap->cfg = cfg;
	cap->pool = pool;
	cap->fd = tun_fd;
	cap->fip = fip;
	cap->rng = seed | 1;
	cap->rbuf = malloc(RBUF_LEN);
	cap->out = malloc(DNS_MAX_MSG);
	cap->tcp = tcp_stack_new(&tc, &tcp_cbs, cap);
	cap->fwd = dnsfwd_new(ev, pool, cfg);
	ev_timer_init(&cap->tcp_timer, on_tcp_timer, cap);
	if (cap->rbuf == NULL || cap->out == NULL || cap->tcp == NULL || cap->fwd == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (ev_fd_add(ev, tun_fd, EV_RD, on_tun, cap) < 0 ||
	    ev_before_sleep(ev, before_sleep, cap) < 0) {
		snprintf(err, errlen, "cannot watch the TUN");
		ev_fd_del(ev, tun_fd);
		goto fail;
	}
	return cap;
fail:
	tcp_stack_free(cap->tcp);
	dnsfwd_free(cap->fwd);
	free(cap->rbuf);
	free(cap->out);
	free(cap);
	return NULL;
}

void
capture_free(struct capture *cap)
{
	if (cap == NULL) {
		return;
	}
	ev_before_sleep_del(cap->ev, before_sleep, cap);
	ev_fd_del(cap->ev, cap->fd);
	ev_timer_del(cap->ev, &cap->tcp_timer);
	while (cap->conns) {
		struct tconn *t = cap->conns;

		if (t->stream) {
			/* Abortive: the stream did not end, so its end is reset. */
			stream_free(t->stream);
			t->stream = NULL;
		} else if (t->tc) {
			tcp_conn_abort(t->tc);
			t->tc = NULL;
		}
		tconn_free(t);
	}
	tcp_stack_flush(cap->tcp, ev_now_ms(cap->ev));
	dnsfwd_free(cap->fwd);
	tcp_stack_free(cap->tcp);
	free(cap->rbuf);
	free(cap->out);
	free(cap);
}

void
capture_stats(const struct capture *cap, struct capture_stats *st)
{
	*st = cap->st;
	tcp_stack_stats(cap->tcp, &st->tcp);
	dnsfwd_stats(cap->fwd, &st->fwd);
}

// SPDX-License-Identifier: MIT
/*
 * c-ares on our event loop: see resolv.h. c-ares tells us which sockets
 * to watch through sock_state_cb; we call ares_process_fd when one is
 * ready and keep one timer at ares_timeout(). A struct resolv_query is a
 * small heap object c-ares's callback finds through its arg; a cancelled
 * query keeps its object until c-ares calls back, with cb cleared.
 */
#include "resolv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <openssl/rand.h>

#include "log.h"

/*
 * A small cache of answers to resolv_addrs, direct-mapped by a seeded hash
 * of the name: bounded (RESOLV_CACHE_SLOTS entries, allocated at the first
 * answer), each kept for its DNS TTL clipped to RESOLV_CACHE_MAX_TTL_S.
 * Only positive answers are kept. The relay's resolver caches too; this
 * saves the round trips to it, which dominate a fresh stream's set-up.
 */
#define RESOLV_CACHE_SLOTS 512
#define RESOLV_CACHE_MAX_TTL_S 300

struct cache_ent {
	char name[256];         /* lower case; "" when empty */
	struct addr addrs[RESOLV_MAX_ADDRS];
	size_t n;
	uint64_t expires_ms;
};

struct resolv {
	struct ev *ev;
	struct cache_ent *cache;
	uint64_t cache_seed;
	uint64_t cache_hits, cache_misses;
	ares_channel ch;
	struct ev_timer timer;
	struct ev_timer early_timer;
	struct resolv_query *early;     /* answered before their start call returned */
	bool dying;
};

enum qkind { Q_ADDRS, Q_NAME, Q_RAW };

struct resolv_query {
	struct resolv *r;
	enum qkind kind;
	union {
		resolv_addrs_cb *addrs;
		resolv_name_cb *name;
		resolv_raw_cb *raw;
	} cb;
	void *arg;
	bool cancelled;
	bool starting;          /* inside the call that started it */
	uint16_t id;            /* raw queries: the client's message ID */
	char *key;              /* Q_ADDRS: the lower-case name, for the cache */
	struct addr ptr_addr;   /* Q_NAME: the address asked about */
	/* The result, kept until delivered. */
	enum resolv_status st;
	struct addr addrs[RESOLV_MAX_ADDRS];
	size_t n;
	char *name;
	uint8_t *msg;
	size_t msg_len;
	struct resolv_query *next;
};

static void rearm(struct resolv *r);
static void deliver(struct resolv_query *q);
static void on_early(struct ev *ev, void *arg);

static void
on_fd(struct ev *ev, int fd, unsigned int events, void *arg)
{
	struct resolv *r = arg;

	ares_process_fd(r->ch, (events & (EV_RD | EV_ERR)) ? fd : ARES_SOCKET_BAD,
			(events & EV_WR) ? fd : ARES_SOCKET_BAD);
	rearm(r);
}

static void
on_timer(struct ev *ev, void *arg)
{
	struct resolv *r = arg;

	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rearm(r);
}

static void
rearm(struct resolv *r)
{
	struct timeval tv, *tvp;

	if (r->dying) {
		return;
	}
	tvp = ares_timeout(r->ch, NULL, &tv);
	if (tvp == NULL) {
		ev_timer_del(r->ev, &r->timer);
		return;
	}
	ev_timer_set(r->ev, &r->timer, (uint64_t)tvp->tv_sec * 1000 + (uint64_t)tvp->tv_usec / 1000 + 1);
}

static void
sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolv *r = data;
	unsigned int mask = (readable ? EV_RD : 0) | (writable ? EV_WR : 0);

	if (mask == 0) {
		ev_fd_del(r->ev, fd);
	} else if (ev_fd_mask(r->ev, fd) == 0 && ev_fd_add(r->ev, fd, mask, on_fd, r) == 0) {
		return;
	} else {
		ev_fd_mod(r->ev, fd, mask);
	}
}

struct resolv *
resolv_new(struct ev *ev, const struct addr *servers, const uint16_t *ports, size_t n, char *err,
	   size_t errlen)
{
	struct ares_options opts;
	struct resolv *r;
	int st;

	st = ares_library_init(ARES_LIB_INIT_ALL);
	if (st != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(st));
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->ev = ev;
	if (RAND_bytes((unsigned char *)&r->cache_seed, sizeof(r->cache_seed)) != 1) {
		r->cache_seed = (uint64_t)(uintptr_t)r;
	}
	ev_timer_init(&r->timer, on_timer, r);
	ev_timer_init(&r->early_timer, on_early, r);
	memset(&opts, 0, sizeof(opts));
	opts.sock_state_cb = sock_state;
	opts.sock_state_cb_data = r;
	opts.timeout = 2000;
	opts.tries = 2;
	opts.lookups = (char *)(uintptr_t)"b";
	/*
	 * Names come from clients: never append the operator's search
	 * domains ("intranet" must not become intranet.corp.example).
	 */
	opts.flags = ARES_FLAG_NOSEARCH;
	opts.ndomains = 0;
	opts.domains = NULL;
	st = ares_init_options(&r->ch, &opts,
			       ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
				       ARES_OPT_LOOKUPS | ARES_OPT_FLAGS | ARES_OPT_DOMAINS);
	if (st != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(st));
		free(r);
		return NULL;
	}
	if (n > 0) {
		struct ares_addr_port_node *nodes = calloc(n, sizeof(*nodes));

		if (nodes == NULL) {
			snprintf(err, errlen, "out of memory");
			resolv_free(r);
			return NULL;
		}
		for (size_t i = 0; i < n; i++) {
			nodes[i].next = i + 1 < n ? &nodes[i + 1] : NULL;
			nodes[i].family = servers[i].family;
			if (servers[i].family == AF_INET) {
				memcpy(&nodes[i].addr.addr4, servers[i].a, 4);
			} else {
				memcpy(&nodes[i].addr.addr6, servers[i].a, 16);
			}
			nodes[i].udp_port = ports[i];
			nodes[i].tcp_port = ports[i];
		}
		st = ares_set_servers_ports(r->ch, nodes);
		free(nodes);
		if (st != ARES_SUCCESS) {
			snprintf(err, errlen, "c-ares: %s", ares_strerror(st));
			resolv_free(r);
			return NULL;
		}
	}
	return r;
}

void
resolv_free(struct resolv *r)
{
	if (r == NULL) {
		return;
	}
	/* ares_destroy calls every pending callback with ARES_EDESTRUCTION. */
	r->dying = true;
	ev_timer_del(r->ev, &r->timer);
	ev_timer_del(r->ev, &r->early_timer);
	ares_destroy(r->ch);
	for (struct resolv_query *q = r->early, *next; q; q = next) {
		next = q->next;
		q->cancelled = true;
		deliver(q);
	}
	free(r->cache);
	free(r);
}

static enum resolv_status
status_of(int st)
{
	switch (st) {
	case ARES_SUCCESS:
		return RESOLV_OK;
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
	case ARES_ENONAME:
	case ARES_EBADNAME:
		return RESOLV_NOTFOUND;
	case ARES_ETIMEOUT:
		return RESOLV_TIMEOUT;
	default:
		return RESOLV_FAIL;
	}
}

static struct resolv_query *
query_new(struct resolv *r, enum qkind kind, void *arg)
{
	struct resolv_query *q = calloc(1, sizeof(*q));

	if (q) {
		q->r = r;
		q->kind = kind;
		q->arg = arg;
		q->starting = true;
	}
	return q;
}

void
resolv_cancel(struct resolv_query *q)
{
	if (q) {
		q->cancelled = true;
	}
}

static void
deliver(struct resolv_query *q)
{
	if (!q->cancelled) {
		switch (q->kind) {
		case Q_ADDRS:
			q->cb.addrs(q->arg, q->st, q->addrs, q->n);
			break;
		case Q_NAME:
			q->cb.name(q->arg, q->st, q->name);
			break;
		case Q_RAW:
			q->cb.raw(q->arg, q->st, q->msg, q->msg_len);
			break;
		default:
			break;
		}
	}
	free(q->name);
	free(q->msg);
	free(q->key);
	free(q);
}

/*
 * c-ares may answer inside the call that starts a query (a malformed
 * name, say). Callers are promised the callback never runs before that
 * call returns, so such answers wait for a zero-length timer.
 */
static void
finished(struct resolv_query *q, int status)
{
	if (status == ARES_EDESTRUCTION) {
		q->cancelled = true;
	}
	if (q->starting && !q->cancelled) {
		q->next = q->r->early;
		q->r->early = q;
		ev_timer_set(q->r->ev, &q->r->early_timer, 0);
		return;
	}
	deliver(q);
}

static void
on_early(struct ev *ev, void *arg)
{
	struct resolv *r = arg;
	struct resolv_query *q = r->early;

	r->early = NULL;
	while (q) {
		struct resolv_query *next = q->next;

		deliver(q);
		q = next;
	}
}

static void
started(struct resolv *r, struct resolv_query *q)
{
	q->starting = false;
	rearm(r);
}

static struct cache_ent *
cache_slot(struct resolv *r, const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ r->cache_seed;

	for (const char *p = key; *p; p++) {
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	}
	return &r->cache[(h ^ (h >> 31)) % RESOLV_CACHE_SLOTS];
}

static void
cache_put(struct resolv *r, const char *key, const struct addr *addrs, size_t n, int ttl_s)
{
	struct cache_ent *e;

	if (ttl_s <= 0 || n == 0 || strlen(key) >= sizeof(e->name)) {
		return;
	}
	if (r->cache == NULL) {
		r->cache = calloc(RESOLV_CACHE_SLOTS, sizeof(*r->cache));
		if (r->cache == NULL) {
			return;
		}
	}
	if (ttl_s > RESOLV_CACHE_MAX_TTL_S) {
		ttl_s = RESOLV_CACHE_MAX_TTL_S;
	}
	e = cache_slot(r, key);
	snprintf(e->name, sizeof(e->name), "%s", key);
	memcpy(e->addrs, addrs, n * sizeof(*addrs));
	e->n = n;
	e->expires_ms = ev_now_ms(r->ev) + (uint64_t)ttl_s * 1000;
}

static const struct cache_ent *
cache_get(struct resolv *r, const char *key)
{
	const struct cache_ent *e;

	if (r->cache == NULL) {
		return NULL;
	}
	e = cache_slot(r, key);
	if (e->n == 0 || strcmp(e->name, key) != 0 || e->expires_ms <= ev_now_ms(r->ev)) {
		return NULL;
	}
	return e;
}

static void
addrs_done(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct resolv_query *q = arg;
	int ttl = RESOLV_CACHE_MAX_TTL_S;

	if (status == ARES_SUCCESS && res) {
		for (struct ares_addrinfo_node *ai = res->nodes; ai && q->n < RESOLV_MAX_ADDRS;
		     ai = ai->ai_next) {
			uint16_t port;

			if (addr_from_sockaddr(ai->ai_addr, &q->addrs[q->n], &port) == 0) {
				q->n++;
				if (ai->ai_ttl < ttl) {
					ttl = ai->ai_ttl;
				}
			}
		}
		if (q->key && status != ARES_EDESTRUCTION) {
			cache_put(q->r, q->key, q->addrs, q->n, ttl);
		}
	}
	if (res) {
		ares_freeaddrinfo(res);
	}
	q->st = status_of(status);
	if (q->st == RESOLV_OK && q->n == 0) {
		q->st = RESOLV_NOTFOUND;
	}
	finished(q, status);
}

struct resolv_query *
resolv_addrs(struct resolv *r, const char *name, resolv_addrs_cb *cb, void *arg)
{
	struct ares_addrinfo_hints hints;
	struct resolv_query *q = query_new(r, Q_ADDRS, arg);
	const struct cache_ent *e;

	if (q == NULL) {
		return NULL;
	}
	q->cb.addrs = cb;
	/* DNS names are case-insensitive: one cache entry per name. */
	q->key = strdup(name);
	if (q->key) {
		for (char *p = q->key; *p; p++) {
			if (*p >= 'A' && *p <= 'Z') {
				*p = (char)(*p - 'A' + 'a');
			}
		}
		e = cache_get(r, q->key);
		if (e) {
			r->cache_hits++;
			memcpy(q->addrs, e->addrs, e->n * sizeof(e->addrs[0]));
			q->n = e->n;
			q->st = RESOLV_OK;
			finished(q, ARES_SUCCESS);      /* delivered from the loop */
			q->starting = false;
			return q;
		}
		r->cache_misses++;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	ares_getaddrinfo(r->ch, name, NULL, &hints, addrs_done, q);
	started(r, q);
	return q;
}

/*
 * RESOLVE_PTR asks for the PTR record itself (ares_query) rather than
 * through ares_gethostbyaddr, which turns a timeout into "not found"
 * when its last lookup method fails: a dead resolver must answer 0x06,
 * as for CONNECT and RESOLVE.
 */
static void
ptr_done(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct resolv_query *q = arg;
	struct hostent *he = NULL;

	q->st = status_of(status);
	if (q->st == RESOLV_OK) {
		if (ares_parse_ptr_reply(abuf, alen, q->ptr_addr.a,
					 q->ptr_addr.family == AF_INET ? 4 : 16, q->ptr_addr.family,
					 &he) != ARES_SUCCESS ||
		    he == NULL || he->h_name == NULL || he->h_name[0] == '\0') {
			q->st = RESOLV_NOTFOUND;
		} else if ((q->name = strdup(he->h_name)) == NULL) {
			q->st = RESOLV_FAIL;
		}
		if (he) {
			ares_free_hostent(he);
		}
	}
	finished(q, status);
}

/* "4.3.2.1.in-addr.arpa", or the 32 nibbles of an ip6.arpa name (73 bytes). */
static void
reverse_name(const struct addr *a, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t off = 0;

	if (a->family == AF_INET) {
		snprintf(buf, len, "%u.%u.%u.%u.in-addr.arpa", a->a[3], a->a[2], a->a[1], a->a[0]);
		return;
	}
	for (int i = 15; i >= 0 && off + 4 < len; i--) {
		buf[off++] = hex[a->a[i] & 0xf];
		buf[off++] = '.';
		buf[off++] = hex[a->a[i] >> 4];
		buf[off++] = '.';
	}
	snprintf(buf + off, len - off, "ip6.arpa");
}

struct resolv_query *
resolv_name(struct resolv *r, const struct addr *a, resolv_name_cb *cb, void *arg)
{
	struct resolv_query *q = query_new(r, Q_NAME, arg);
	char rev[80];

	if (q == NULL) {
		return NULL;
	}
	q->cb.name = cb;
	q->ptr_addr = *a;
	reverse_name(a, rev, sizeof(rev));
	ares_query(r->ch, rev, 1 /* C_IN */, 12 /* T_PTR */, ptr_done, q);
	started(r, q);
	return q;
}

static void
raw_done(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct resolv_query *q = arg;

	/*
	 * c-ares hands back the server's message for any rcode that came
	 * with one (NXDOMAIN, SERVFAIL...): the client wants it as it is.
	 */
	if (abuf && alen >= 12 && (q->msg = malloc((size_t)alen)) != NULL) {
		memcpy(q->msg, abuf, (size_t)alen);
		q->msg[0] = (uint8_t)(q->id >> 8);
		q->msg[1] = (uint8_t)q->id;
		q->msg_len = (size_t)alen;
		q->st = RESOLV_OK;
	} else {
		q->st = status_of(status) == RESOLV_OK ? RESOLV_FAIL : status_of(status);
	}
	finished(q, status);
}

struct resolv_query *
resolv_raw(struct resolv *r, const uint8_t *msg, size_t len, resolv_raw_cb *cb, void *arg)
{
	struct resolv_query *q;
	uint8_t *copy, rnd[2];

	if (len < 12 || len > 65535 || (msg[2] & 0x80)) {
		return NULL;
	}
	q = query_new(r, Q_RAW, arg);
	if (q == NULL) {
		return NULL;
	}
	q->cb.raw = cb;
	q->id = (uint16_t)(msg[0] << 8 | msg[1]);
	/*
	 * c-ares sends the message as it is, ID included: a client must not
	 * choose the IDs of our queries (to collide with other users' or to
	 * make spoofing easy). A random one goes out; raw_done puts the
	 * client's back.
	 */
	copy = malloc(len);
	if (copy == NULL || RAND_bytes(rnd, sizeof(rnd)) != 1) {
		free(copy);
		free(q);
		return NULL;
	}
	memcpy(copy, msg, len);
	copy[0] = rnd[0];
	copy[1] = rnd[1];
	ares_send(r->ch, copy, (int)len, raw_done, q);
	free(copy);
	started(r, q);
	return q;
}

// SPDX-License-Identifier: MIT
/*
 * The TUN's link, addresses, routes and policy rules through libnl-route:
 * see route.h for the scheme. This is the only file that includes libnl.
 *
 * libnl 3.7 builds everything but two rule details: it has no setter for
 * the FIB_RULE_INVERT header flag ("not fwmark") nor for
 * FRA_SUPPRESS_PREFIXLEN, so those rules are built with
 * rtnl_rule_build_add_request() and finished by hand before sending.
 * Kernel errors keep their errno and extended-ack text (on_nlerr), since
 * libnl's own codes lose both.
 */
#include "route.h"

#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <netlink/socket.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* The families handled, both alike. */
static const int route_families[] = { AF_INET, AF_INET6 };
#define ROUTE_N_FAMILIES (sizeof(route_families) / sizeof(route_families[0]))
/* Below everything else a host might have for these prefixes. */
#define ROUTE_KILL_METRIC 0xfffffff0u
/* IPv6 needs at least this MTU; below it the kernel has no IPv6 on the link. */
#define ROUTE_IPV6_MIN_MTU 1280
#define ROUTE_KMSG_LEN 128
#define ROUTE_WHAT_LEN 192

struct route {
	struct nl_sock *sk;
	int kerr;                       /* the kernel's errno for the last request, 0: none */
	char kmsg[ROUTE_KMSG_LEN];      /* and its extended-ack message, "" when none */
};

/* One policy rule of the scheme in route.h. */
struct rule_spec {
	int family;
	uint32_t prio;
	uint32_t table;                 /* lookup table (0 with goto_prio) */
	uint32_t goto_prio;             /* nonzero: "goto goto_prio" instead of a lookup */
	bool mark;                      /* match fwmark (exactly, mask 0xffffffff) */
	bool invert;                    /* FIB_RULE_INVERT: negates the whole rule */
	uint32_t fwmark;
	bool suppress0;                 /* suppress_prefixlength 0 */
	uint8_t ipproto;                /* 0: any */
	uint16_t dport;                 /* 0: any */
	const struct addr *dst;         /* NULL: any */
};

/*
 * libnl's error codes for when the kernel sent no errno of its own (the
 * request failed before it was sent, or a reply was malformed).
 */
static int
nle_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_NOMEM:
		return ENOMEM;
	case NLE_EXIST:
		return EEXIST;
	case NLE_INVAL:
	case NLE_MISSING_ATTR:
		return EINVAL;
	case NLE_RANGE:
		return ERANGE;
	case NLE_MSGSIZE:
		return EMSGSIZE;
	case NLE_OPNOTSUPP:
		return EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:
		return EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND:
		return ENOENT;
	case NLE_PERM:
		return EPERM;
	case NLE_NOACCESS:
		return EACCES;
	case NLE_BUSY:
		return EBUSY;
	case NLE_NODEV:
		return ENODEV;
	case NLE_AGAIN:
		return EAGAIN;
	default:
		return EIO;
	}
}

/*
 * The socket's error callback: keeps the kernel's errno and, with
 * NETLINK_EXT_ACK and NETLINK_CAP_ACK on, its message, which follows the
 * capped nlmsgerr as attributes. NL_STOP makes libnl fail the request as
 * it would without us.
 */
static int
on_nlerr(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct route *r = arg;
	const struct nlmsghdr *hdr;
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t off = NLMSG_ALIGN(sizeof(*e));

	r->kerr = -e->error;
	/* libnl hands us the payload of the NLMSG_ERROR message; its header is just before. */
	hdr = (const struct nlmsghdr *)(const void *)((const char *)e - NLMSG_HDRLEN);
	if (!(hdr->nlmsg_flags & NLM_F_ACK_TLVS) || !(hdr->nlmsg_flags & NLM_F_CAPPED) ||
	    hdr->nlmsg_len < NLMSG_HDRLEN + off) {
		return NL_STOP;
	}
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)(void *)((char *)e + off),
		      (int)(hdr->nlmsg_len - NLMSG_HDRLEN - off), NULL) < 0) {
		return NL_STOP;
	}
	if (tb[NLMSGERR_ATTR_MSG] != NULL) {
		nla_strlcpy(r->kmsg, tb[NLMSGERR_ATTR_MSG], sizeof(r->kmsg));
	}
	return NL_STOP;
}

static void
req_begin(struct route *r)
{
	r->kerr = 0;
	r->kmsg[0] = '\0';
}

/*
 * Fills err with "WHAT: reason" for a failed libnl call that returned nle,
 * preferring the kernel's errno and message, and returns -errno.
 */
__attribute__((format(printf, 5, 6))) static int
req_fail(struct route *r, int nle, char *err, size_t errlen, const char *fmt, ...)
{
	char what[ROUTE_WHAT_LEN];
	int e = r->kerr > 0 ? r->kerr : nle_errno(nle);
	const char *why = r->kerr > 0 ? strerror(r->kerr) : nl_geterror(nle);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (r->kmsg[0] != '\0') {
		snprintf(err, errlen, "%s: %s (%s)", what, why, r->kmsg);
	} else {
		snprintf(err, errlen, "%s: %s", what, why);
	}
	return -e;
}

struct route *
route_new(char *err, size_t errlen)
{
	struct route *r;
	int one = 1, rc;

	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		snprintf(err, errlen, "route_new: %s", strerror(ENOMEM));
		return NULL;
	}
	r->sk = nl_socket_alloc();
	if (r->sk == NULL) {
		snprintf(err, errlen, "nl_socket_alloc: %s", strerror(ENOMEM));
		goto fail;
	}
	rc = nl_connect(r->sk, NETLINK_ROUTE);
	if (rc < 0) {
		snprintf(err, errlen, "netlink route socket: %s", nl_geterror(rc));
		goto fail;
	}
	rc = nl_socket_modify_err_cb(r->sk, NL_CB_CUSTOM, on_nlerr, r);
	if (rc < 0) {
		snprintf(err, errlen, "netlink error callback: %s", nl_geterror(rc));
		goto fail;
	}
	/*
	 * Better error messages only: kernels without extended acks (before
	 * 4.12) still work, so failures here are ignored.
	 */
	(void)setsockopt(nl_socket_get_fd(r->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(nl_socket_get_fd(r->sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	return r;

fail:
	route_free(r);
	return NULL;
}

void
route_free(struct route *r)
{
	if (r == NULL) {
		return;
	}
	nl_socket_free(r->sk);
	free(r);
}

static const char *
family_name(int family)
{
	return family == AF_INET6 ? "inet6" : "inet";
}

static size_t
family_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

/* An nl_addr for a/prefix; NULL when out of memory. The caller puts it. */
static struct nl_addr *
nl_addr_of(const struct addr *a, unsigned int prefix)
{
	struct nl_addr *n = nl_addr_build(a->family, a->a, family_len(a->family));

	if (n != NULL) {
		nl_addr_set_prefixlen(n, (int)prefix);
	}
	return n;
}

static const char *
cidr_text(const struct cidr *c, char *buf, size_t len)
{
	char a[ADDR_STRLEN];

	snprintf(buf, len, "%s/%u", addr_fmt(&c->addr, a, sizeof(a)), c->prefix);
	return buf;
}

/*
 * The checks route_cleanup needs too: it empties table T and every rule
 * at P..P+3, so T must not be one of the kernel's tables and P+3 must not
 * wrap, and P must not be 0, the local table's rule.
 */
static int
check_ids(const struct route_cfg *cfg, char *err, size_t errlen)
{
	if (cfg->prio == 0 || cfg->prio > UINT32_MAX - 3) {
		snprintf(err, errlen, "rule priority %u: must be 1..%u", cfg->prio, UINT32_MAX - 3);
		return -EINVAL;
	}
	if (cfg->table == RT_TABLE_UNSPEC || (cfg->table >= RT_TABLE_COMPAT &&
					      cfg->table <= RT_TABLE_LOCAL)) {
		snprintf(err, errlen, "table %u is the kernel's (unspec, compat, default, main or "
			 "local), not one of our own", cfg->table);
		return -EINVAL;
	}
	return 0;
}

static bool
family_ok(const struct addr *a)
{
	return a->family == AF_INET || a->family == AF_INET6;
}

static int
check_cfg(const struct route_cfg *cfg, char *err, size_t errlen)
{
	int rc = check_ids(cfg, err, errlen);

	if (rc < 0) {
		return rc;
	}
	if (cfg->ifname[0] == '\0' || memchr(cfg->ifname, '\0', sizeof(cfg->ifname)) == NULL) {
		snprintf(err, errlen, "no TUN name, or one not terminated");
		return -EINVAL;
	}
	if (cfg->n_addrs > ROUTE_MAX_ADDRS || cfg->n_prefixes > ROUTE_MAX_PREFIXES ||
	    cfg->n_relays > ROUTE_MAX_RELAYS) {
		snprintf(err, errlen, "too many addresses, prefixes or relays");
		return -EINVAL;
	}
	/* "not fwmark 0" would send every marked packet through the TUN, and skip the rest. */
	if (cfg->fwmark == 0) {
		snprintf(err, errlen, "fwmark 0: tund's sockets need a nonzero mark");
		return -EINVAL;
	}
	for (size_t i = 0; i < cfg->n_addrs; i++) {
		if (!family_ok(&cfg->addrs[i].addr)) {
			snprintf(err, errlen, "TUN address %zu: no address family", i);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < cfg->n_prefixes; i++) {
		if (!family_ok(&cfg->prefixes[i].addr)) {
			snprintf(err, errlen, "routed prefix %zu: no address family", i);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < cfg->n_relays; i++) {
		if (!family_ok(&cfg->relays[i].addr) || cfg->relays[i].port == 0) {
			snprintf(err, errlen, "relay %zu: no address family or port 0", i);
			return -EINVAL;
		}
	}
	return 0;
}

/* Applies changes (consumed) to the link orig; what names the change for errors. */
static int
link_change(struct route *r, struct rtnl_link *orig, struct rtnl_link *changes,
	    const char *what, char *err, size_t errlen)
{
	int rc;

	req_begin(r);
	rc = rtnl_link_change(r->sk, orig, changes, 0);
	rtnl_link_put(changes);
	if (rc < 0) {
		return req_fail(r, rc, err, errlen, "%s", what);
	}
	return 0;
}

/*
 * MTU, then IPv6 address generation off (before the link is up, when the
 * kernel would add a link-local address and start router solicitation,
 * MLD and DAD on it), then the addresses, then up.
 */
static int
link_setup(struct route *r, const struct route_cfg *cfg, int *ifindex, char *err, size_t errlen)
{
	struct rtnl_link *link = NULL, *ch;
	char what[ROUTE_WHAT_LEN], buf[ADDR_STRLEN + 8];
	int rc;

	req_begin(r);
	rc = rtnl_link_get_kernel(r->sk, 0, cfg->ifname, &link);
	if (rc < 0) {
		return req_fail(r, rc, err, errlen, "find link %s", cfg->ifname);
	}
	*ifindex = rtnl_link_get_ifindex(link);

	if (cfg->mtu != 0) {
		snprintf(what, sizeof(what), "set mtu %u on %s", cfg->mtu, cfg->ifname);
		ch = rtnl_link_alloc();
		if (ch == NULL) {
			rc = -ENOMEM;
			snprintf(err, errlen, "%s: %s", what, strerror(ENOMEM));
			goto out;
		}
		rtnl_link_set_mtu(ch, cfg->mtu);
		rc = link_change(r, link, ch, what, err, errlen);
		if (rc < 0) {
			goto out;
		}
	}

	if (cfg->mtu == 0 || cfg->mtu >= ROUTE_IPV6_MIN_MTU) {
		snprintf(what, sizeof(what), "set addrgenmode none on %s", cfg->ifname);
		ch = rtnl_link_alloc();
		if (ch == NULL ||
		    rtnl_link_inet6_set_addr_gen_mode(ch, IN6_ADDR_GEN_MODE_NONE) < 0) {
			rtnl_link_put(ch);
			rc = -ENOMEM;
			snprintf(err, errlen, "%s: %s", what, strerror(ENOMEM));
			goto out;
		}
		rc = link_change(r, link, ch, what, err, errlen);
		/* A kernel without IPv6 has no link-local address to avoid either. */
		if (rc == -EAFNOSUPPORT) {
			rc = 0;
		}
		if (rc < 0) {
			goto out;
		}
	}

	for (size_t i = 0; i < cfg->n_addrs; i++) {
		const struct cidr *c = &cfg->addrs[i];
		struct rtnl_addr *a = rtnl_addr_alloc();
		struct nl_addr *local = nl_addr_of(&c->addr, c->prefix);

		req_begin(r);
		cidr_text(c, buf, sizeof(buf));
		if (a == NULL || local == NULL) {
			rtnl_addr_put(a);
			nl_addr_put(local);
			rc = -ENOMEM;
			snprintf(err, errlen, "add address %s to %s: %s", buf, cfg->ifname,
				 strerror(ENOMEM));
			goto out;
		}
		rtnl_addr_set_ifindex(a, *ifindex);
		rtnl_addr_set_family(a, c->addr.family);
		rc = rtnl_addr_set_local(a, local);
		nl_addr_put(local);
		rtnl_addr_set_prefixlen(a, c->prefix);
		/*
		 * No duplicate address detection: nobody else is on a TUN, and
		 * a tentative address could not be used for the first second.
		 */
		if (c->addr.family == AF_INET6) {
			rtnl_addr_set_flags(a, IFA_F_NODAD);
		}
		if (rc >= 0) {
			rc = rtnl_addr_add(r->sk, a, NLM_F_EXCL);
		}
		rtnl_addr_put(a);
		if (rc < 0) {
			rc = req_fail(r, rc, err, errlen, "add address %s to %s", buf, cfg->ifname);
			goto out;
		}
	}

	snprintf(what, sizeof(what), "bring %s up", cfg->ifname);
	ch = rtnl_link_alloc();
	if (ch == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: %s", what, strerror(ENOMEM));
		goto out;
	}
	rtnl_link_set_flags(ch, IFF_UP);
	rc = link_change(r, link, ch, what, err, errlen);

out:
	rtnl_link_put(link);
	return rc;
}

/* A route for c in table T: through the TUN, or with kill, unreachable below everything. */
static int
add_route(struct route *r, const struct route_cfg *cfg, int ifindex, const struct cidr *c,
	  bool kill, char *err, size_t errlen)
{
	struct rtnl_route *rt = rtnl_route_alloc();
	struct nl_addr *dst = nl_addr_of(&c->addr, c->prefix);
	struct rtnl_nexthop *nh = NULL;
	char buf[ADDR_STRLEN + 8], what[ROUTE_WHAT_LEN];
	int rc;

	cidr_text(c, buf, sizeof(buf));
	if (kill) {
		snprintf(what, sizeof(what), "add route unreachable %s table %u metric %u", buf,
			 cfg->table, ROUTE_KILL_METRIC);
	} else {
		snprintf(what, sizeof(what), "add route %s table %u dev %s", buf, cfg->table,
			 cfg->ifname);
	}
	if (rt == NULL || dst == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: %s", what, strerror(ENOMEM));
		goto out;
	}
	rtnl_route_set_family(rt, c->addr.family);
	rtnl_route_set_table(rt, cfg->table);
	rc = rtnl_route_set_dst(rt, dst);
	if (rc < 0) {
		goto fail;
	}
	if (kill) {
		rtnl_route_set_type(rt, RTN_UNREACHABLE);
		rtnl_route_set_scope(rt, RT_SCOPE_UNIVERSE);
		rtnl_route_set_priority(rt, ROUTE_KILL_METRIC);
	} else {
		nh = rtnl_route_nh_alloc();
		if (nh == NULL) {
			rc = -NLE_NOMEM;
			goto fail;
		}
		rtnl_route_nh_set_ifindex(nh, ifindex);
		rtnl_route_add_nexthop(rt, nh);         /* rt owns nh now */
		rtnl_route_set_scope(rt, RT_SCOPE_LINK);
	}
	req_begin(r);
	rc = rtnl_route_add(r->sk, rt, NLM_F_EXCL);
	if (rc >= 0) {
		rc = 0;
		goto out;
	}
fail:
	rc = req_fail(r, rc, err, errlen, "%s", what);
out:
	nl_addr_put(dst);
	rtnl_route_put(rt);
	return rc;
}

/* "not fwmark 0xca6c ipproto tcp dport 53 lookup 29813", as `ip rule` writes it. */
static void
rule_text(const struct rule_spec *s, char *buf, size_t len)
{
	char a[ADDR_STRLEN];
	int n = 0;

	n += snprintf(buf + n, len - (size_t)n, "%s%s", s->invert ? "not " : "",
		      s->dst != NULL ? "to " : "from all");
	if (s->dst != NULL && (size_t)n < len) {
		n += snprintf(buf + n, len - (size_t)n, "%s", addr_fmt(s->dst, a, sizeof(a)));
	}
	if (s->mark && (size_t)n < len) {
		n += snprintf(buf + n, len - (size_t)n, " fwmark %#x", s->fwmark);
	}
	if (s->ipproto != 0 && (size_t)n < len) {
		n += snprintf(buf + n, len - (size_t)n, " ipproto %s",
			      s->ipproto == IPPROTO_TCP ? "tcp" : "udp");
	}
	if (s->dport != 0 && (size_t)n < len) {
		n += snprintf(buf + n, len - (size_t)n, " dport %u", s->dport);
	}
	if ((size_t)n < len) {
		if (s->goto_prio != 0) {
			n += snprintf(buf + n, len - (size_t)n, " goto %u", s->goto_prio);
		} else {
			n += snprintf(buf + n, len - (size_t)n, " lookup %u", s->table);
		}
	}
	if (s->suppress0 && (size_t)n < len) {
		snprintf(buf + n, len - (size_t)n, " suppress_prefixlength 0");
	}
}

static int
add_rule(struct route *r, const struct rule_spec *s, char *err, size_t errlen)
{
	struct rtnl_rule *rule = rtnl_rule_alloc();
	struct nl_addr *dst = NULL;
	struct nl_msg *msg = NULL;
	char text[ROUTE_WHAT_LEN];
	int rc = -NLE_NOMEM;

	rule_text(s, text, sizeof(text));
	req_begin(r);
	if (rule == NULL) {
		goto fail;
	}
	rtnl_rule_set_family(rule, s->family);
	rtnl_rule_set_prio(rule, s->prio);
	if (s->goto_prio != 0) {
		rtnl_rule_set_action(rule, FR_ACT_GOTO);
		rtnl_rule_set_goto(rule, s->goto_prio);
	} else {
		rtnl_rule_set_action(rule, FR_ACT_TO_TBL);
		rtnl_rule_set_table(rule, s->table);
	}
	if (s->mark) {
		rtnl_rule_set_mark(rule, s->fwmark);
		rtnl_rule_set_mask(rule, 0xffffffffu);
	}
	if (s->ipproto != 0 && (rc = rtnl_rule_set_ipproto(rule, s->ipproto)) < 0) {
		goto fail;
	}
	if (s->dport != 0 && (rc = rtnl_rule_set_dport(rule, s->dport)) < 0) {
		goto fail;
	}
	if (s->dst != NULL) {
		dst = nl_addr_of(s->dst, (unsigned int)family_len(s->family) * 8);
		if (dst == NULL) {
			rc = -NLE_NOMEM;
			goto fail;
		}
		if ((rc = rtnl_rule_set_dst(rule, dst)) < 0) {
			goto fail;
		}
	}
	rc = rtnl_rule_build_add_request(rule, NLM_F_CREATE | NLM_F_EXCL, &msg);
	if (rc < 0) {
		goto fail;
	}
	/* What libnl 3.7 cannot set: the header's flags, and the suppressor. */
	if (s->invert) {
		struct fib_rule_hdr *frh = nlmsg_data(nlmsg_hdr(msg));

		frh->flags |= FIB_RULE_INVERT;
	}
	if (s->suppress0 && (rc = nla_put_u32(msg, FRA_SUPPRESS_PREFIXLEN, 0)) < 0) {
		nlmsg_free(msg);
		goto fail;
	}
	rc = nl_send_sync(r->sk, msg);         /* frees msg */
	if (rc >= 0) {
		rc = 0;
		goto out;
	}
fail:
	rc = req_fail(r, rc, err, errlen, "add %s rule %u: %s", family_name(s->family), s->prio,
		      text);
out:
	nl_addr_put(dst);
	rtnl_rule_put(rule);
	return rc;
}

/* A relay given twice needs its rule once (and the kernel refuses a duplicate). */
static bool
relay_seen(const struct route_cfg *cfg, size_t i)
{
	for (size_t j = 0; j < i; j++) {
		if (cfg->relays[j].port == cfg->relays[i].port &&
		    addr_eq(&cfg->relays[j].addr, &cfg->relays[i].addr)) {
			return true;
		}
	}
	return false;
}

/*
 * The rules of one family, in an order where each step is safe on its
 * own: P+1 and P+2 change nothing while nothing uses table T; P+3 starts
 * the tunnel; P's goto then finds its target at once.
 */
static int
add_rules(struct route *r, const struct route_cfg *cfg, int family, bool has_default, char *err,
	  size_t errlen)
{
	const uint8_t dns_protos[] = { IPPROTO_UDP, IPPROTO_TCP };
	/* P+3, everything else; and P, where marked packets skip to it. */
	struct rule_spec rest = { .family = family, .prio = cfg->prio + 3, .table = cfg->table,
				  .mark = true, .invert = true, .fwmark = cfg->fwmark };
	struct rule_spec skip = { .family = family, .prio = cfg->prio, .goto_prio = cfg->prio + 3,
				  .mark = true, .fwmark = cfg->fwmark };
	int rc;

	if (has_default) {
		struct rule_spec s = { .family = family, .prio = cfg->prio + 1,
				       .table = RT_TABLE_MAIN, .suppress0 = true };

		if ((rc = add_rule(r, &s, err, errlen)) < 0) {
			return rc;
		}
	}
	for (size_t i = 0; i < cfg->n_relays; i++) {
		const struct route_relay *rl = &cfg->relays[i];
		struct rule_spec s = { .family = family, .prio = cfg->prio + 2,
				       .table = RT_TABLE_MAIN, .dst = &rl->addr,
				       .ipproto = IPPROTO_TCP, .dport = rl->port };

		if (rl->addr.family != family || relay_seen(cfg, i)) {
			continue;
		}
		if ((rc = add_rule(r, &s, err, errlen)) < 0) {
			return rc;
		}
	}
	if ((rc = add_rule(r, &rest, err, errlen)) < 0) {
		return rc;
	}

	/*
	 * The kernel's "not" negates a whole rule, not its mark alone: "not
	 * fwmark M ipproto udp dport 53" would match every packet but marked
	 * DNS, tund's own connections to its relays among them (a routing
	 * loop). So marked packets jump past our rules first, to P+3, which
	 * does not match them, and the DNS rules need no mark.
	 */
	if ((rc = add_rule(r, &skip, err, errlen)) < 0) {
		return rc;
	}
	for (size_t i = 0; i < sizeof(dns_protos); i++) {
		struct rule_spec s = { .family = family, .prio = cfg->prio, .table = cfg->table,
				       .ipproto = dns_protos[i], .dport = 53 };

		if ((rc = add_rule(r, &s, err, errlen)) < 0) {
			return rc;
		}
	}
	return 0;
}

int
route_apply(struct route *r, const struct route_cfg *cfg, char *err, size_t errlen)
{
	int ifindex = 0, rc;

	if ((rc = check_cfg(cfg, err, errlen)) < 0) {
		return rc;
	}
	if ((rc = link_setup(r, cfg, &ifindex, err, errlen)) < 0) {
		return rc;
	}
	for (size_t i = 0; i < cfg->n_prefixes; i++) {
		if ((rc = add_route(r, cfg, ifindex, &cfg->prefixes[i], false, err, errlen)) < 0) {
			return rc;
		}
	}
	for (size_t i = 0; cfg->kill_switch && i < cfg->n_prefixes; i++) {
		if ((rc = add_route(r, cfg, ifindex, &cfg->prefixes[i], true, err, errlen)) < 0) {
			return rc;
		}
	}
	for (size_t f = 0; f < ROUTE_N_FAMILIES; f++) {
		bool any = false, has_default = false;

		for (size_t i = 0; i < cfg->n_prefixes; i++) {
			if (cfg->prefixes[i].addr.family == route_families[f]) {
				any = true;
				has_default |= cfg->prefixes[i].prefix == 0;
			}
		}
		/* A family with nothing routed keeps its rules as they were. */
		if (!any) {
			continue;
		}
		if ((rc = add_rules(r, cfg, route_families[f], has_default, err, errlen)) < 0) {
			return rc;
		}
	}
	return 0;
}

/*
 * What route_cleanup removes, one kind of object at a time: the dump, the
 * test for ours, the delete, and a name for errors.
 */
struct leftover {
	const char *kind;
	int (*dump)(struct nl_sock *sk, int family, struct nl_cache **cache);
	bool (*ours)(struct nl_object *o, int family, const struct route_cfg *cfg);
	int (*del)(struct nl_sock *sk, struct nl_object *o);
	void (*name)(struct nl_object *o, char *buf, size_t len);
};

/* The kernel dumps one family; checked again since this deletes. */
static bool
rule_ours(struct nl_object *o, int family, const struct route_cfg *cfg)
{
	struct rtnl_rule *rule = (struct rtnl_rule *)o;
	uint32_t prio = rtnl_rule_get_prio(rule);

	return rtnl_rule_get_family(rule) == family && prio >= cfg->prio && prio <= cfg->prio + 3;
}

/*
 * The kernel deletes the first rule at that priority that has every
 * selector the request names: one of ours, so each success counts one.
 */
static int
rule_del(struct nl_sock *sk, struct nl_object *o)
{
	return rtnl_rule_delete(sk, (struct rtnl_rule *)o, 0);
}

static void
rule_name(struct nl_object *o, char *buf, size_t len)
{
	snprintf(buf, len, "%u", rtnl_rule_get_prio((struct rtnl_rule *)o));
}

static int
route_dump(struct nl_sock *sk, int family, struct nl_cache **cache)
{
	return rtnl_route_alloc_cache(sk, family, 0, cache);
}

static bool
route_ours(struct nl_object *o, int family, const struct route_cfg *cfg)
{
	struct rtnl_route *rt = (struct rtnl_route *)o;

	return rtnl_route_get_family(rt) == family && rtnl_route_get_table(rt) == cfg->table;
}

static int
route_del(struct nl_sock *sk, struct nl_object *o)
{
	return rtnl_route_delete(sk, (struct rtnl_route *)o, 0);
}

static void
route_name(struct nl_object *o, char *buf, size_t len)
{
	nl_addr2str(rtnl_route_get_dst((struct rtnl_route *)o), buf, len);
}

/* Rules first: once they are gone nothing is routed into table T any more. */
static const struct leftover leftovers[] = {
	{ "rule", rtnl_rule_alloc_cache, rule_ours, rule_del, rule_name },
	{ "route", route_dump, route_ours, route_del, route_name },
};

/* Deletes this family's leftovers of one kind; adds how many to *count. */
static int
cleanup_kind(struct route *r, const struct route_cfg *cfg, const struct leftover *k, int family,
	     int *count, char *err, size_t errlen)
{
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	char name[ADDR_STRLEN + 8];
	int rc;

	req_begin(r);
	rc = k->dump(r->sk, family, &cache);
	if (rc < 0) {
		return req_fail(r, rc, err, errlen, "list %s %ss", family_name(family), k->kind);
	}
	for (o = nl_cache_get_first(cache); o != NULL; o = nl_cache_get_next(o)) {
		if (!k->ours(o, family, cfg)) {
			continue;
		}
		req_begin(r);
		rc = k->del(r->sk, o);
		/* Gone meanwhile (ESRCH: a route whose device went away): nothing to do. */
		if (rc < 0 && (r->kerr == ENOENT || r->kerr == ESRCH)) {
			continue;
		}
		if (rc < 0) {
			k->name(o, name, sizeof(name));
			rc = req_fail(r, rc, err, errlen, "delete %s %s %s (table %u, prio %u)",
				      family_name(family), k->kind, name, cfg->table, cfg->prio);
			goto out;
		}
		(*count)++;
	}
	rc = 0;
out:
	nl_cache_free(cache);
	return rc;
}

int
route_cleanup(struct route *r, const struct route_cfg *cfg, char *err, size_t errlen)
{
	int count = 0, rc;

	if ((rc = check_ids(cfg, err, errlen)) < 0) {
		return rc;
	}
	for (size_t k = 0; k < sizeof(leftovers) / sizeof(leftovers[0]); k++) {
		for (size_t f = 0; f < ROUTE_N_FAMILIES; f++) {
			rc = cleanup_kind(r, cfg, &leftovers[k], route_families[f], &count, err,
					  errlen);
			if (rc < 0) {
				return rc;
			}
		}
	}
	return count;
}

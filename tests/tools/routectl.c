// SPDX-License-Identifier: MIT
/*
 * routectl: drives tund/tun.c and tund/route.c alone, for
 * tests/net/t-route.sh. Run it inside a network namespace.
 *
 *   routectl up IFNAME [-m MTU] [-a CIDR]... [-p CIDR]... [-r ADDR:PORT]...
 *                      [-f FWMARK] [-t TABLE] [-P PRIO] [-k] [-e SRC]
 *     Opens the TUN IFNAME (a pattern such as tun%d is fine), removes
 *     leftovers of table TABLE and rules PRIO..PRIO+3 as tund does at
 *     start, then applies: -a the TUN's addresses, -p the routed prefixes,
 *     -r the relays, -f the mark of tund's sockets, -k the kill switch.
 *     Prints "tun NAME" and "ready", then waits for SIGTERM or SIGINT,
 *     removes what it added, prints "removed N" and exits 0. With -e,
 *     before "ready": writes one ICMP echo request from SRC to the TUN's
 *     first IPv4 address into the TUN and prints "echo reply" when the
 *     kernel's answer comes back out of the TUN within 2 s, or "echo: no
 *     reply" (strict rp_filter drops the request when the reverse route of
 *     SRC is not the TUN).
 *     Defaults: mtu 1420, fwmark 0xca6c, table 29813, prio 29813.
 *   routectl cleanup TABLE PRIO
 *     Only route_cleanup: prints "removed N".
 *
 * Exit status: 0 success, 1 failure (the message says what), 2 usage.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "cur.h"
#include "../../tund/route.h"
#include "../../tund/tun.h"

#define ECHO_ID 0x7274
#define ECHO_PAYLOAD "routectl echo!!!"
#define ECHO_WAIT_MS 2000

static void
usage(void)
{
	fprintf(stderr, "usage: routectl up IFNAME [-m MTU] [-a CIDR]... [-p CIDR]... "
		"[-r ADDR:PORT]... [-f FWMARK] [-t TABLE] [-P PRIO] [-k] [-e SRC]\n"
		"       routectl cleanup TABLE PRIO\n");
	exit(2);
}

static uint32_t
parse_u32(const char *what, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || v > UINT32_MAX || s[0] == '-') {
		fprintf(stderr, "routectl: bad %s \"%s\"\n", what, s);
		exit(2);
	}
	return (uint32_t)v;
}

static void
parse_cidr(const char *what, const char *s, struct cidr *c)
{
	if (cidr_parse(s, c) < 0) {
		fprintf(stderr, "routectl: bad %s \"%s\"\n", what, s);
		exit(2);
	}
}

/* RFC 1071 ones' complement sum over p[0..len-1]. */
static uint16_t
csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	}
	if (len & 1) {
		sum += (uint32_t)p[len - 1] << 8;
	}
	while (sum >> 16) {
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint16_t)~sum;
}

static void
put_csum(uint8_t *at, uint16_t v)
{
	at[0] = (uint8_t)(v >> 8);
	at[1] = (uint8_t)v;
}

/* An IPv4 ICMP echo request from src to dst: its length, or 0 when buf is short. */
static size_t
build_echo(uint8_t *buf, size_t cap, const struct addr *src, const struct addr *dst)
{
	const size_t icmp_len = 8 + sizeof(ECHO_PAYLOAD) - 1;
	struct wcur w;
	bool ok;

	wcur_init(&w, buf, cap);
	ok = wcur_put_u8(&w, 0x45) && wcur_put_u8(&w, 0) &&
	     wcur_put_u16(&w, (uint16_t)(20 + icmp_len)) &&
	     wcur_put_u16(&w, 1) && wcur_put_u16(&w, 0x4000) &&     /* id 1, DF */
	     wcur_put_u8(&w, 64) && wcur_put_u8(&w, 1) &&           /* TTL, ICMP */
	     wcur_put_u16(&w, 0) && wcur_put_bytes(&w, src->a, 4) &&
	     wcur_put_bytes(&w, dst->a, 4) &&
	     wcur_put_u8(&w, 8) && wcur_put_u8(&w, 0) && wcur_put_u16(&w, 0) &&
	     wcur_put_u16(&w, ECHO_ID) && wcur_put_u16(&w, 1) &&
	     wcur_put_bytes(&w, ECHO_PAYLOAD, sizeof(ECHO_PAYLOAD) - 1);
	if (!ok) {
		return 0;
	}
	put_csum(buf + 10, csum(buf, 20));
	put_csum(buf + 22, csum(buf + 20, icmp_len));
	return w.len;
}

/* True for the echo reply to build_echo's request: from us, to src, our id. */
static bool
is_echo_reply(const uint8_t *p, size_t len, const struct addr *src, const struct addr *us)
{
	struct cur c, ip;
	uint8_t vihl, proto, type, code, s[4], d[4];
	uint16_t total, id;

	cur_init(&c, p, len);
	if (!cur_get_u8(&c, &vihl) || (vihl >> 4) != 4 || (vihl & 15) < 5) {
		return false;
	}
	cur_init(&ip, p, len);
	if (!cur_skip(&ip, 2) || !cur_get_u16(&ip, &total) || total > len || !cur_skip(&ip, 5) ||
	    !cur_get_u8(&ip, &proto) || !cur_skip(&ip, 2) || !cur_get_bytes(&ip, s, 4) ||
	    !cur_get_bytes(&ip, d, 4)) {
		return false;
	}
	cur_init(&c, p, total);
	if (!cur_skip(&c, (size_t)(vihl & 15) * 4) || !cur_get_u8(&c, &type) ||
	    !cur_get_u8(&c, &code) || !cur_skip(&c, 2) || !cur_get_u16(&c, &id)) {
		return false;
	}
	return proto == 1 && type == 0 && code == 0 && id == ECHO_ID &&
	       memcmp(s, us->a, 4) == 0 && memcmp(d, src->a, 4) == 0;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Writes the echo request into the TUN and waits for the reply; other packets are skipped. */
static bool
echo(int fd, const struct addr *src, const struct addr *us)
{
	uint8_t buf[2048];
	size_t len = build_echo(buf, sizeof(buf), src, us);
	uint64_t until = now_ms() + ECHO_WAIT_MS;
	ssize_t n;

	if (len == 0 || write(fd, buf, len) != (ssize_t)len) {
		perror("routectl: write to the TUN");
		return false;
	}
	for (uint64_t t = now_ms(); t < until; t = now_ms()) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, (int)(until - t)) <= 0) {
			continue;
		}
		n = read(fd, buf, sizeof(buf));
		if (n > 0 && is_echo_reply(buf, (size_t)n, src, us)) {
			return true;
		}
	}
	return false;
}

static int
cmd_cleanup(int argc, char **argv)
{
	struct route_cfg cfg;
	struct route *r;
	char err[256];
	int n;

	if (argc != 4) {
		usage();
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.table = parse_u32("table", argv[2]);
	cfg.prio = parse_u32("priority", argv[3]);
	r = route_new(err, sizeof(err));
	if (r == NULL) {
		fprintf(stderr, "routectl: %s\n", err);
		return 1;
	}
	n = route_cleanup(r, &cfg, err, sizeof(err));
	route_free(r);
	if (n < 0) {
		fprintf(stderr, "routectl: %s\n", err);
		return 1;
	}
	printf("removed %d\n", n);
	return 0;
}

static int
cmd_up(int argc, char **argv)
{
	struct route_cfg cfg;
	struct route *r = NULL;
	struct addr echo_src = { 0 };
	const struct addr *us = NULL;
	char err[256], ifname[TUN_IFNAMSIZ];
	sigset_t set;
	int c, fd = -1, n, sig, rc = 1;

	if (argc < 3) {
		usage();
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.mtu = 1420;
	cfg.fwmark = 0xca6c;
	cfg.table = 29813;
	cfg.prio = 29813;
	/* getopt sees IFNAME as its argv[0]. */
	while ((c = getopt(argc - 2, argv + 2, "m:a:p:r:f:t:P:ke:")) != -1) {
		switch (c) {
		case 'm':
			cfg.mtu = parse_u32("mtu", optarg);
			break;
		case 'a':
			if (cfg.n_addrs == ROUTE_MAX_ADDRS) {
				usage();
			}
			parse_cidr("address", optarg, &cfg.addrs[cfg.n_addrs++]);
			break;
		case 'p':
			if (cfg.n_prefixes == ROUTE_MAX_PREFIXES) {
				usage();
			}
			parse_cidr("prefix", optarg, &cfg.prefixes[cfg.n_prefixes++]);
			break;
		case 'r':
			if (cfg.n_relays == ROUTE_MAX_RELAYS ||
			    addr_port_parse(optarg, &cfg.relays[cfg.n_relays].addr,
					    &cfg.relays[cfg.n_relays].port) < 0) {
				usage();
			}
			cfg.n_relays++;
			break;
		case 'f':
			cfg.fwmark = parse_u32("fwmark", optarg);
			break;
		case 't':
			cfg.table = parse_u32("table", optarg);
			break;
		case 'P':
			cfg.prio = parse_u32("priority", optarg);
			break;
		case 'k':
			cfg.kill_switch = true;
			break;
		case 'e':
			if (addr_parse(optarg, &echo_src) < 0 || echo_src.family != AF_INET) {
				usage();
			}
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 2) {
		usage();
	}
	for (size_t i = 0; i < cfg.n_addrs && us == NULL; i++) {
		if (cfg.addrs[i].addr.family == AF_INET) {
			us = &cfg.addrs[i].addr;
		}
	}
	if (echo_src.family != 0 && us == NULL) {
		fprintf(stderr, "routectl: -e needs an IPv4 address on the TUN (-a)\n");
		return 2;
	}

	/* Blocked before anything is added, so a SIGTERM from now on waits for sigwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);

	fd = tun_open(argv[2], ifname, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "routectl: %s\n", err);
		return 1;
	}
	memcpy(cfg.ifname, ifname, sizeof(cfg.ifname));
	r = route_new(err, sizeof(err));
	if (r == NULL) {
		fprintf(stderr, "routectl: %s\n", err);
		goto out;
	}
	n = route_cleanup(r, &cfg, err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "routectl: cleanup: %s\n", err);
		goto out;
	}
	if (n > 0) {
		printf("leftovers %d\n", n);
	}
	if (route_apply(r, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "routectl: %s\n", err);
		if (route_cleanup(r, &cfg, err, sizeof(err)) < 0) {
			fprintf(stderr, "routectl: cleanup: %s\n", err);
		}
		goto out;
	}
	printf("tun %s\n", ifname);
	if (echo_src.family != 0) {
		printf("%s\n", echo(fd, &echo_src, us) ? "echo reply" : "echo: no reply");
	}
	printf("ready\n");
	fflush(stdout);

	if (sigwait(&set, &sig) != 0) {
		goto out;
	}
	n = route_cleanup(r, &cfg, err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "routectl: cleanup: %s\n", err);
		goto out;
	}
	printf("removed %d\n", n);
	rc = 0;
out:
	fflush(stdout);
	route_free(r);
	close(fd);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage();
	}
	if (strcmp(argv[1], "up") == 0) {
		return cmd_up(argc, argv);
	}
	if (strcmp(argv[1], "cleanup") == 0) {
		return cmd_cleanup(argc, argv);
	}
	usage();
	return 2;
}

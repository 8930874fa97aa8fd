// SPDX-License-Identifier: MIT
/*
 * Unit tests for tund's pure parts: the configuration (tund/cfg.c), path
 * choice and back-off (tund/path.c), the pool's target (tund/pool.c) and
 * the SOCKS5 entrance's parser (tund/socks_in.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <sys/stat.h>
#include <unistd.h>

#include "../../tund/capture.h"
#include "../../tund/cfg.h"
#include "../../tund/ctl.h"
#include "../../tund/path.h"
#include "../../tund/pool.h"
#include "../../tund/socks_in.h"

#define PIN "sha256:0000000000000000000000000000000000000000000000000000000000000000"

static char msgs[4096];

static void
sink(void *arg, const char *msg)
{
	strncat(msgs, msg, sizeof(msgs) - strlen(msgs) - 2);
	strcat(msgs, "\n");
}

/* Feeds lines to a fresh config; returns the error count. */
static unsigned int
load(struct tund_cfg *cfg, const char *const *lines, size_t n)
{
	struct conf c;

	msgs[0] = '\0';
	tund_cfg_init(cfg);
	conf_init(&c, "t.conf");
	c.sink = sink;
	for (size_t i = 0; i < n; i++) {
		char buf[CONF_MAX_LINE + 1], *argv[CONF_MAX_ARGS];
		int argc;

		snprintf(buf, sizeof(buf), "%s", lines[i]);
		c.line = (unsigned int)i + 1;
		argc = conf_split(&c, buf, strlen(buf), argv);
		if (argc > 0) {
			tund_cfg_line(&c, argc, argv, cfg);
		}
	}
	tund_cfg_finish(&c, cfg);
	return c.errors;
}

#define LOAD(cfg, ...) load(cfg, (const char *const[]){ __VA_ARGS__ }, \
			    sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

static void
test_cfg_good(void **state)
{
	struct tund_cfg cfg;

	assert_int_equal(LOAD(&cfg, "relay r1 192.0.2.2:9001 " PIN, "relay r2 [2001:db8::6]:9001 " PIN,
			      "relay r3 192.0.2.10:9001 " PIN " exit", "path r1 r2 r3 # fixed",
			      "pool 2", "socks 127.0.0.1:1080", "control /tmp/x.sock", "log debug"),
			 0);
	assert_int_equal(cfg.n_relays, 3);
	assert_int_equal(cfg.n_path, 3);
	assert_int_equal(cfg.path[2], 2);
	assert_true(cfg.relays[2].exit);
	assert_int_equal(cfg.pool, 2);
	assert_int_equal(cfg.relays[1].addr.family, AF_INET6);
	assert_string_equal(cfg.control, "/tmp/x.sock");
	/* Half of exitd's per-source defaults (exitd/cfg.c). */
	assert_int_equal(cfg.relay_max, 1024);
	assert_int_equal(cfg.relay_rate, 400);
	assert_int_equal(cfg.relay_burst, 800);
	assert_int_equal(LOAD(&cfg, "relay r3 192.0.2.10:9001 " PIN " exit", "hops 1", "relay-max 7",
			      "relay-rate 8", "relay-burst 9", "socks 127.0.0.1:1080"),
			 0);
	assert_int_equal(cfg.relay_max, 7);
	assert_int_equal(cfg.relay_rate, 8);
	assert_int_equal(cfg.relay_burst, 9);
	assert_int_equal(LOAD(&cfg, "relay r3 192.0.2.10:9001 " PIN " exit", "hops 1", "relay-max 0",
			      "relay-rate 1000001", "relay-burst x", "socks 127.0.0.1:1080"),
			 3);
	assert_non_null(strstr(msgs, "t.conf:3: relay-max: 0 is out of range"));
}

static void
test_cfg_bad(void **state)
{
	struct tund_cfg cfg;

	/* The last hop of a path must be an exit; the entrance must be loopback. */
	assert_int_equal(LOAD(&cfg, "relay r1 192.0.2.2:9001 " PIN, "path r1",
			      "socks 192.0.2.1:1080"), 2);
	assert_non_null(strstr(msgs, "not flagged exit"));
	assert_non_null(strstr(msgs, "loopback"));
	/* Each bad line is named by its number. */
	assert_int_equal(LOAD(&cfg, "relay r1 192.0.2.2 " PIN, "relay r1 192.0.2.2:9001 sha256:zz",
			      "relay r2 192.0.2.3:9001 " PIN " middle", "hops 0", "frob 1",
			      "relay r3 192.0.2.4:9001 " PIN " exit", "relay r3 192.0.2.5:9001 " PIN,
			      "hops 2", "socks 127.0.0.1:1080"),
			 7);
	assert_non_null(strstr(msgs, "t.conf:1:"));
	assert_non_null(strstr(msgs, "t.conf:2:"));
	assert_non_null(strstr(msgs, "t.conf:3:"));
	assert_non_null(strstr(msgs, "t.conf:4:"));
	assert_non_null(strstr(msgs, "t.conf:5: unknown keyword"));
	assert_non_null(strstr(msgs, "t.conf:7:"));
	assert_non_null(strstr(msgs, "t.conf: hops 2: only 1 relays"));   /* whole-file check */
	/* Neither path nor hops; both; a path through an unknown relay, twice. */
	assert_int_equal(LOAD(&cfg, "relay r3 192.0.2.4:9001 " PIN " exit", "socks 127.0.0.1:1"), 1);
	assert_int_equal(LOAD(&cfg, "relay r3 192.0.2.4:9001 " PIN " exit", "path r3", "hops 1",
			      "socks 127.0.0.1:1"), 1);
	assert_int_equal(LOAD(&cfg, "relay r3 192.0.2.4:9001 " PIN " exit", "path r9 r3 r3",
			      "socks 127.0.0.1:1"), 2);
	/* Neither an entrance nor a TUN: nothing to serve. */
	assert_int_equal(LOAD(&cfg, "relay r3 192.0.2.4:9001 " PIN " exit", "hops 1"), 1);
	assert_non_null(strstr(msgs, "nothing to serve"));
}

/* The transparent side's keywords: defaults, values, and each refusal. */
static void
test_cfg_tun(void **state)
{
	struct tund_cfg cfg;
	char a[ADDR_STRLEN];

	/* A TUN alone serves; the defaults fill in. */
	assert_int_equal(LOAD(&cfg, "relay r3 192.0.2.4:9001 " PIN " exit", "hops 1", "tun tun7"), 0);
	assert_true(cfg.have_tun);
	assert_string_equal(cfg.tun, "tun7");
	assert_int_equal(cfg.fwmark, TUND_DEFAULT_FWMARK);
	assert_int_equal(cfg.table, TUND_DEFAULT_TABLE);
	assert_int_equal(cfg.rule_prio, TUND_DEFAULT_RULE_PRIO);
	assert_int_equal(cfg.tun_mtu, TUND_DEFAULT_MTU);
	assert_int_equal(cfg.n_routes, 2);
	assert_int_equal(cfg.routes[0].prefix, 0);
	assert_int_equal(cfg.routes[1].addr.family, AF_INET6);
	assert_int_equal(cfg.n_tun_addrs, 2);
	assert_string_equal(addr_fmt(&cfg.tun_addrs[0].addr, a, sizeof(a)), "198.18.0.1");
	assert_true(cfg.have_fake4 && cfg.have_fake6);
	assert_int_equal(cfg.fake4.prefix, 15);
	assert_false(cfg.kill_switch);
	assert_int_equal(cfg.tcp_connect, TUND_CONNECT_AUTO);
	assert_int_equal(cfg.test_loss_ppm, 0);

	/* Without a TUN, no mark unless asked for. */
	assert_int_equal(LOAD(&cfg, "relay r3 192.0.2.4:9001 " PIN " exit", "hops 1",
			      "socks 127.0.0.1:1"), 0);
	assert_int_equal(cfg.fwmark, 0);

	/* Every keyword set. */
	assert_int_equal(LOAD(&cfg, "relay r3 192.0.2.4:9001 " PIN " exit", "hops 1", "tun t0",
			      "tun-mtu 9000", "tun-addr 198.51.100.1/32", "tun-addr 2001:db8::1",
			      "fake-ip 198.18.0.0/16", "fake-ip6 none", "route 203.0.113.0/24 2001:db8::/32",
			      "route 198.51.100.0/24", "fwmark 0x10", "table 1000", "rule-priority 100",
			      "kill-switch yes", "user nobody", "state /tmp/x.map",
			      "tcp-connect confirmed", "test-loss 2%"), 0);
	assert_int_equal(cfg.tun_mtu, 9000);
	assert_int_equal(cfg.n_tun_addrs, 2);
	assert_int_equal(cfg.tun_addrs[1].prefix, 128);
	assert_int_equal(cfg.fake4.prefix, 16);
	assert_false(cfg.have_fake6);
	assert_int_equal(cfg.n_routes, 3);
	assert_int_equal(cfg.fwmark, 16);
	assert_int_equal(cfg.table, 1000);
	assert_int_equal(cfg.rule_prio, 100);
	assert_true(cfg.kill_switch);
	assert_string_equal(cfg.user, "nobody");
	assert_string_equal(cfg.state, "/tmp/x.map");
	assert_int_equal(cfg.tcp_connect, TUND_CONNECT_CONFIRMED);
	assert_int_equal(cfg.test_loss_ppm, 20000);

	/* route none: nothing routed. */
	assert_int_equal(LOAD(&cfg, "relay r3 192.0.2.4:9001 " PIN " exit", "hops 1", "tun t0",
			      "route none"), 0);
	assert_int_equal(cfg.n_routes, 0);

	/* Refusals, each on its line. */
	assert_int_equal(LOAD(&cfg, "relay r3 192.0.2.4:9001 " PIN " exit", "hops 1", "tun t0",
			      "tun-mtu 1000", "fake-ip 2001:db8::/64", "fake-ip 10.0.0.0/31",
			      "fake-ip6 fd00::/32", "route all 10.0.0.0/8", "route 10.0.0.1/8",
			      "fwmark 0", "fwmark 0x", "table 254", "rule-priority 32763",
			      "kill-switch maybe", "user a:b", "state rel/path", "tcp-connect soon",
			      "test-loss 0.6", "test-loss 1x", "tun this-name-is-too-long"),
			 17);
	for (int l = 4; l <= 20; l++) {
		char want[16];

		snprintf(want, sizeof(want), "t.conf:%d:", l);
		assert_non_null(strstr(msgs, want));
	}
	/* Whole-file: both ranges off; a relay inside a fake range. */
	assert_int_equal(LOAD(&cfg, "relay r3 198.18.0.9:9001 " PIN " exit", "hops 1", "tun t0",
			      "fake-ip6 none"), 1);
	assert_non_null(strstr(msgs, "inside a fake-ip range"));
	assert_int_equal(LOAD(&cfg, "relay r3 192.0.2.4:9001 " PIN " exit", "hops 1", "tun t0",
			      "fake-ip none", "fake-ip6 none"), 1);
}

static void
four_relays(struct tund_cfg *cfg)
{
	assert_int_equal(LOAD(cfg, "relay a 192.0.2.1:1 " PIN, "relay b 192.0.2.2:1 " PIN,
			      "relay c 192.0.2.3:1 " PIN " exit", "relay d 192.0.2.4:1 " PIN " exit",
			      "hops 3", "socks 127.0.0.1:1"),
			 0);
}

static void
test_path_random(void **state)
{
	struct tund_cfg cfg;
	struct paths p;
	size_t idx[CIRCUIT_MAX_HOPS], n, seen_exit[4] = { 0 }, seen_first[4] = { 0 };
	uint64_t retry;

	four_relays(&cfg);
	paths_init(&p, &cfg, 12345);
	for (int round = 0; round < 400; round++) {
		assert_int_equal(paths_choose(&p, 1000, idx, &n, &retry), 0);
		assert_int_equal(n, 3);
		assert_true(cfg.relays[idx[2]].exit);           /* exit last */
		assert_true(idx[0] != idx[1] && idx[1] != idx[2] && idx[0] != idx[2]);
		seen_exit[idx[2]]++;
		seen_first[idx[0]]++;
	}
	/* Both exits used, and every relay first at some point. */
	assert_true(seen_exit[2] > 100 && seen_exit[3] > 100);
	for (int i = 0; i < 4; i++) {
		assert_true(seen_first[i] > 20);
	}
}

static void
test_path_backoff(void **state)
{
	struct tund_cfg cfg;
	struct paths p;
	size_t idx[CIRCUIT_MAX_HOPS], n;
	uint64_t retry;

	four_relays(&cfg);
	paths_init(&p, &cfg, 99);
	/* d failed: while it is avoided, c is the only exit and d is never chosen. */
	paths_failed(&p, 3, 1000, 1000, "pin mismatch");
	assert_true(paths_avoided(&p, 3, 1500));
	for (int round = 0; round < 100; round++) {
		assert_int_equal(paths_choose(&p, 1500, idx, &n, &retry), 0);
		assert_int_equal(idx[2], 2);
		assert_true(idx[0] != 3 && idx[1] != 3);
	}
	/* The back-off doubles: 1 s, then 2 s, then 4 s. */
	assert_false(paths_avoided(&p, 3, 2000));
	paths_failed(&p, 3, 2000, 2000, "x");
	assert_true(paths_avoided(&p, 3, 3999));
	assert_false(paths_avoided(&p, 3, 4000));
	paths_failed(&p, 3, 4000, 4000, "x");
	assert_true(paths_avoided(&p, 3, 7999));
	/*
	 * Builds that were in flight when it failed fail too: the same
	 * outage, so the back-off is renewed, not doubled again.
	 */
	paths_failed(&p, 3, 4010, 3990, "x");
	paths_failed(&p, 3, 4020, 3995, "x");
	assert_true(paths_avoided(&p, 3, 8019));
	assert_false(paths_avoided(&p, 3, 8020));
	/* It never exceeds the cap. */
	for (int i = 0; i < 20; i++) {
		paths_failed(&p, 3, 10000 + i, 10000 + i, "x");
	}
	assert_false(paths_avoided(&p, 3, 10019 + PATH_BACKOFF_MAX_MS));
	/* A success forgives. */
	paths_ok(&p, 3);
	assert_false(paths_avoided(&p, 3, 10001));
	/*
	 * With too few relays left there is no circuit to build: wait until
	 * the first back-off ends (no tight loop of doomed builds).
	 */
	for (size_t i = 0; i < 2; i++) {
		paths_failed(&p, i, 20000 + i, 20000 + i, "x");
	}
	assert_int_equal(paths_choose(&p, 20010, idx, &n, &retry), -EAGAIN);
	assert_int_equal(retry, 990);           /* a's second ends at 21000 */
	assert_string_equal(p.h[0].last_error, "x");
	assert_int_equal(paths_choose(&p, 21000, idx, &n, &retry), 0);
	assert_true(cfg.relays[idx[2]].exit);
	assert_true(idx[0] != 1 && idx[1] != 1); /* b is still avoided */
}

static void
test_path_fixed(void **state)
{
	struct tund_cfg cfg;
	struct paths p;
	size_t idx[CIRCUIT_MAX_HOPS], n;
	uint64_t retry;

	assert_int_equal(LOAD(&cfg, "relay a 192.0.2.1:1 " PIN, "relay c 192.0.2.3:1 " PIN " exit",
			      "path a c", "socks 127.0.0.1:1"),
			 0);
	paths_init(&p, &cfg, 1);
	assert_int_equal(paths_choose(&p, 0, idx, &n, &retry), 0);
	assert_int_equal(n, 2);
	assert_int_equal(idx[0], 0);
	assert_int_equal(idx[1], 1);
	/* A failed relay on a fixed path: wait out its back-off, do not spin. */
	paths_failed(&p, 0, 1000, 1000, "refused");
	assert_int_equal(paths_choose(&p, 1200, idx, &n, &retry), -EAGAIN);
	assert_int_equal(retry, 800);
	assert_int_equal(paths_choose(&p, 2000, idx, &n, &retry), 0);
}

static void
test_path_load(void **state)
{
	struct tund_cfg cfg;
	struct paths p;
	size_t idx[CIRCUIT_MAX_HOPS], n;
	uint64_t retry;

	assert_int_equal(LOAD(&cfg, "relay a 192.0.2.1:1 " PIN, "relay c 192.0.2.3:1 " PIN " exit",
			      "path a c", "relay-max 3", "relay-rate 10", "relay-burst 4",
			      "socks 127.0.0.1:1"),
			 0);
	paths_init(&p, &cfg, 1);
	/* relay-max 3: a fourth circuit waits for one to end, at any hop. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(paths_choose(&p, 1000, idx, &n, &retry), 0);
		paths_take(&p, idx, n, 1000);
	}
	assert_int_equal(p.h[0].open, 3);
	assert_int_equal(p.h[1].open, 3);
	assert_int_equal(paths_choose(&p, 1000, idx, &n, &retry), -EAGAIN);
	assert_int_equal(retry, PATH_CAP_RETRY_MS);
	paths_release(&p, idx, n);
	/* relay-burst 4: one token left, then 10 a second. */
	assert_int_equal(paths_choose(&p, 1000, idx, &n, &retry), 0);
	paths_take(&p, idx, n, 1000);
	paths_release(&p, idx, n);
	paths_release(&p, idx, n);
	assert_int_equal(paths_choose(&p, 1000, idx, &n, &retry), -EAGAIN);
	assert_int_equal(retry, 100);
	assert_int_equal(paths_choose(&p, 1100, idx, &n, &retry), 0);
	/* Busy: a short back-off that doubles, not a failure; a success forgives. */
	paths_busy(&p, 1, 2000, 1990, "hop 2 (c): relay busy");
	assert_int_equal(p.h[1].n_busy, 1);
	assert_int_equal(p.h[1].n_fail, 0);
	assert_true(paths_avoided(&p, 1, 2000 + PATH_BUSY_MIN_MS - 1));
	assert_false(paths_avoided(&p, 1, 2000 + PATH_BUSY_MIN_MS));
	assert_false(paths_avoided(&p, 0, 2000));               /* not the hop before it */
	/* Refusals of builds sent before it are the same burst: not doubled. */
	for (int i = 0; i < 10; i++) {
		paths_busy(&p, 1, 2001 + i, 1995, "busy");
	}
	assert_false(paths_avoided(&p, 1, 2010 + PATH_BUSY_MIN_MS));
	paths_busy(&p, 1, 3000, 2500, "busy");                  /* a new one doubles */
	assert_true(paths_avoided(&p, 1, 3000 + 2 * PATH_BUSY_MIN_MS - 1));
	assert_false(paths_avoided(&p, 1, 3000 + 2 * PATH_BUSY_MIN_MS));
	for (int i = 0; i < 20; i++) {
		paths_busy(&p, 1, 4000 + i, 4000 + i, "busy");
	}
	assert_false(paths_avoided(&p, 1, 4019 + PATH_BUSY_MAX_MS));
	paths_ok(&p, 1);
	paths_busy(&p, 1, 20000, 20000, "busy");
	assert_false(paths_avoided(&p, 1, 20000 + PATH_BUSY_MIN_MS));
	/* Releases never go below zero. */
	p.h[0].open = 0;
	paths_release(&p, idx, n);
	assert_int_equal(p.h[0].open, 0);
}

static size_t
no_status(void *arg, bool json, char *buf, size_t len)
{
	(void)arg;
	(void)json;
	return (size_t)snprintf(buf, len, "ok\n");
}

/* The control socket's file exists only while a ctl has it, also when set-up fails. */
static void
test_ctl_socket_file(void **state)
{
	char path[64], err[256];
	struct stat st;
	struct ev *tiny = ev_new(3), *ev = ev_new(1024);
	struct ctl *c;

	snprintf(path, sizeof(path), "/tmp/tund-test-ctl.%d.sock", (int)getpid());
	unlink(path);
	/* A loop that takes no fd above 2: bound, then ev_fd_add fails. */
	assert_null(ctl_new(tiny, path, no_status, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "control"));
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
	c = ctl_new(ev, path, no_status, NULL, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	ctl_free(c);
	assert_int_equal(stat(path, &st), -1);
	ev_free(tiny);
	ev_free(ev);
}

static void
test_ctl_request(void **state)
{
	char big[64];

	assert_int_equal(ctl_parse_request("status\n", 7, 64), CTL_REQ_STATUS);
	assert_int_equal(ctl_parse_request("json\r\n", 6, 64), CTL_REQ_JSON);
	assert_int_equal(ctl_parse_request("stat", 4, 64), CTL_REQ_MORE);
	assert_int_equal(ctl_parse_request("", 0, 64), CTL_REQ_MORE);
	assert_int_equal(ctl_parse_request("\n", 1, 64), CTL_REQ_UNKNOWN);
	assert_int_equal(ctl_parse_request("statusx\n", 8, 64), CTL_REQ_UNKNOWN);
	assert_int_equal(ctl_parse_request("json\njson\n", 10, 64), CTL_REQ_JSON);
	/* A NUL inside is just a byte: "st\0tus" is no request. */
	assert_int_equal(ctl_parse_request("st\0tus\n", 8, 64), CTL_REQ_UNKNOWN);
	memset(big, 'x', sizeof(big));
	assert_int_equal(ctl_parse_request(big, sizeof(big), sizeof(big)), CTL_REQ_BAD);
	assert_int_equal(ctl_parse_request(big, sizeof(big) - 1, sizeof(big)), CTL_REQ_MORE);
}

static void
test_pool_target(void **state)
{
	assert_int_equal(pool_target(4, 64, 0), 4);
	assert_int_equal(pool_target(4, 64, 3), 4);
	assert_int_equal(pool_target(4, 64, 40), 40);   /* a burst raises it */
	assert_int_equal(pool_target(4, 64, 500), 64);  /* within the bound */
	assert_int_equal(pool_target(0, 8, 0), 0);
}

static void
test_socks_in_parse(void **state)
{
	static const uint8_t msg[] = {
		5, 1, 0,                                        /* greeting: no auth */
		5, 1, 0, 3, 16, 'w', 'w', 'w', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.',
		't', 'e', 's', 't', 0, 80,                      /* CONNECT www.example.test:80 */
		'G', 'E', 'T',                                  /* optimistic data */
	};
	struct socks5_req req;
	size_t used;
	bool ok;
	uint8_t rep;

	for (size_t len = 0; len < 26; len++) {
		assert_int_equal(socks_in_parse(msg, len, &used, &ok, &req, &rep), PARSE_AGAIN);
	}
	assert_int_equal(socks_in_parse(msg, sizeof(msg), &used, &ok, &req, &rep), PARSE_OK);
	assert_true(ok);
	assert_int_equal(used, 26);                     /* early data starts after the request */
	assert_int_equal(req.cmd, SOCKS5_CMD_CONNECT);
	assert_string_equal(req.dst.host, "www.example.test");
	assert_int_equal(req.dst.port, 80);

	/* No acceptable method. */
	static const uint8_t gssapi[] = { 5, 1, 1 };
	assert_int_equal(socks_in_parse(gssapi, 3, &used, &ok, &req, &rep), PARSE_OK);
	assert_false(ok);
	/* Applications may not open DNS streams, nor BIND. */
	static const uint8_t dns[] = { 5, 1, 0, 5, 0xf2, 0, 1, 0, 0, 0, 0, 0, 0 };
	assert_int_equal(socks_in_parse(dns, sizeof(dns), &used, &ok, &req, &rep), PARSE_BAD);
	assert_int_equal(rep, SOCKS5_REP_CMD_UNSUPP);
	static const uint8_t bind[] = { 5, 1, 0, 5, 2, 0, 1, 0, 0, 0, 0, 0, 0 };
	assert_int_equal(socks_in_parse(bind, sizeof(bind), &used, &ok, &req, &rep), PARSE_BAD);
	assert_int_equal(rep, SOCKS5_REP_CMD_UNSUPP);
	/* Version 4 is not SOCKS5. */
	static const uint8_t v4[] = { 4, 1, 0, 80, 1, 2, 3, 4, 0 };
	assert_int_equal(socks_in_parse(v4, sizeof(v4), &used, &ok, &req, &rep), PARSE_BAD);
}

/* The entrances' caps follow the descriptor limit tund obtained: two per
 * SOCKS5 client, one per TUN connection, a reserve kept back. */
static void
test_entrance_caps(void **state)
{
	(void)state;
	assert_int_equal(socks_in_max(1024), 384);
	assert_int_equal(socks_in_max(20000), 9872);
	assert_int_equal(socks_in_max(65536), 32640);
	assert_int_equal(socks_in_max(10), 1);          /* never 0: the cap is a count */
	assert_int_equal(capture_max_conns(1024), 768);
	assert_int_equal(capture_max_conns(65536), 16384);
	assert_int_equal(capture_max_conns(0), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cfg_good),
		cmocka_unit_test(test_cfg_bad),
		cmocka_unit_test(test_cfg_tun),
		cmocka_unit_test(test_path_random),
		cmocka_unit_test(test_path_backoff),
		cmocka_unit_test(test_path_fixed),
		cmocka_unit_test(test_path_load),
		cmocka_unit_test(test_ctl_socket_file),
		cmocka_unit_test(test_ctl_request),
		cmocka_unit_test(test_pool_target),
		cmocka_unit_test(test_socks_in_parse),
		cmocka_unit_test(test_entrance_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

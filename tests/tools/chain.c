// SPDX-License-Identifier: MIT
/*
 * chain: a command-line circuit client for tests and benchmarks. It builds
 * circuits with src/circuit.c, exactly as tund will, and carries one
 * request over each.
 *
 *   chain [-v] [-s] [-n] [-t MS] -r ADDR:PORT,PIN [-r ...] COMMAND
 *     -v verbose, -s print bytes and rate at the end, -n never half-close
 *     (keep our direction open when stdin ends: some servers, nginx among
 *     them, abort a response when the client half-closes), -t build and
 *     reply timeout
 *     connect HOST PORT      stdin -> stream -> stdout (half-close on stdin EOF)
 *     -l ADDR:PORT connect HOST PORT
 *                            listen; each accepted connection gets its own circuit
 *     -l ADDR:PORT dns       listen; each connection is a DNS stream (dig +tcp)
 *     resolve HOST           print the exit's answer (RESOLVE)
 *     resolve-ptr ADDR       print the exit's answer (RESOLVE_PTR)
 *     hold N HOST PORT       open N circuits at once with CONNECT, print
 *                            "open=K failed=F", keep them until stdin ends
 *     build N                build N circuits one after the other, print
 *                            the median and 95th percentile build time
 *   The first -r is the first hop, the last -r the exit. HOST may be a
 *   name (sent to the exit, never resolved here) or an IP address.
 *
 * Exit status: 0 success, 1 local error, 2 usage, 3 the circuit failed
 * (the message names the hop), 10 + code when the exit replied with a
 * SOCKS5 error code (12 refused by policy, 14 host unreachable, 15
 * connection refused, ...).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "circuit.h"
#include "ev.h"
#include "log.h"
#include "socks5.h"
#include "tls.h"
#include "../../tund/stream.h"

#define HOLD_PARALLEL 64

static struct ev *ev;
static SSL_CTX *ctx;
static struct circuit_hop hops[CIRCUIT_MAX_HOPS];
static size_t n_hops;
static uint64_t timeout_ms = 10000;
static bool verbose, stats, no_halfclose;
static int exit_code;
static struct socks5_req request;

static void
usage(void)
{
	fprintf(stderr, "usage: chain [-v] [-s] [-n] [-t MS] -r ADDR:PORT,PIN [-r ...] [-l ADDR:PORT] COMMAND ARGS\n"
			"commands: connect HOST PORT | dns | resolve HOST | resolve-ptr ADDR |\n"
			"          hold N HOST PORT | build N\n");
	exit(2);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
set_dst(struct socks5_addr *d, const char *host, const char *port)
{
	char *end;
	unsigned long p = port ? strtoul(port, &end, 10) : 0;

	if (port && (*end || p == 0 || p > 65535)) {
		usage();
	}
	memset(d, 0, sizeof(*d));
	d->port = (uint16_t)p;
	if (addr_parse(host, &d->ip) == 0) {
		d->atyp = d->ip.family == AF_INET6 ? SOCKS5_ATYP_IPV6 : SOCKS5_ATYP_IPV4;
	} else {
		size_t len = strlen(host);

		if (len == 0 || len > 255) {
			usage();
		}
		d->atyp = SOCKS5_ATYP_DOMAIN;
		d->host_len = (uint8_t)len;
		memcpy(d->host, host, len + 1);
	}
}

static int
circuit_failed(struct circuit *c)
{
	fprintf(stderr, "chain: circuit failed: %s\n", circuit_error(c));
	return 3;
}

static int
reply_failed(const struct socks5_reply *rep)
{
	fprintf(stderr, "chain: exit replied 0x%02x: %s\n", rep->rep, socks5_rep_str(rep->rep));
	return 10 + rep->rep;
}

/*
 * A stream between local fds and a circuit: tund's stream.c carries it
 * once the exit has accepted the request.
 */

struct bridge {
	struct circuit *c;
	struct stream *st;
	int in_fd, out_fd;
	bool sock;                      /* in_fd == out_fd, an accepted socket */
	double t0;
};

static void
bridge_done(struct bridge *b, int code)
{
	bool sock = b->sock;

	/* The stream owns the circuit (and, in listen mode, the socket). */
	if (b->st) {
		stream_free(b->st);
	} else {
		circuit_free(b->c);
		if (sock) {
			close(b->in_fd);
		}
	}
	free(b);
	if (sock) {
		/* Listen mode: one connection ends, the tool goes on. */
		return;
	}
	exit_code = code;
	ev_stop(ev);
}

static void
br_end(struct stream *st, int err, const char *why, void *arg)
{
	struct bridge *b = arg;

	if (stats) {
		double dt = now_s() - b->t0;
		uint64_t down = stream_bytes_down(st);

		fprintf(stderr, "chain: sent %llu bytes, received %llu bytes in %.3f s (%.1f Mbit/s)\n",
			(unsigned long long)stream_bytes_up(st), (unsigned long long)down, dt,
			dt > 0 ? (double)down * 8 / dt / 1e6 : 0.0);
	}
	if (err) {
		fprintf(stderr, "chain: stream ended: %s\n", why);
	}
	bridge_done(b, err ? 3 : 0);
}

static void
br_reply(struct circuit *c, const struct socks5_reply *rep, void *arg)
{
	struct bridge *b = arg;
	struct stream_opts o;
	struct stream_fd_opts fo;

	if (rep->rep != SOCKS5_REP_OK) {
		bridge_done(b, reply_failed(rep));
		return;
	}
	if (verbose) {
		fprintf(stderr, "chain: circuit built in %.3f ms, stream open\n",
			(double)circuit_build_us(c) / 1000);
	}
	b->t0 = now_s();
	memset(&o, 0, sizeof(o));
	o.no_halfclose = no_halfclose;
	fo = (struct stream_fd_opts){ .in_fd = b->in_fd, .out_fd = b->out_fd, .own_fds = b->sock };
	b->st = stream_new_fd(ev, c, &fo, &o, br_end, b);
	if (b->st == NULL) {
		bridge_done(b, 1);
	}
}

static void
br_dead(struct circuit *c, void *arg)
{
	bridge_done(arg, circuit_failed(c));
}

static const struct circuit_cbs bridge_cbs = {
	.reply = br_reply,
	.dead = br_dead,
};

static struct bridge *
bridge_new(int in_fd, int out_fd)
{
	struct bridge *b = calloc(1, sizeof(*b));

	if (b == NULL) {
		return NULL;
	}
	b->in_fd = in_fd;
	b->out_fd = out_fd;
	b->sock = in_fd == out_fd;
	b->t0 = now_s();
	b->c = circuit_new(ev, ctx, hops, n_hops, timeout_ms, 0, &bridge_cbs, b);
	if (b->c == NULL || circuit_request(b->c, &request, NULL, 0) < 0) {
		fprintf(stderr, "chain: cannot start a circuit\n");
		circuit_free(b->c);
		free(b);
		return NULL;
	}
	return b;
}

/* Listen mode. */

static void
on_accept(struct ev *e, int lfd, unsigned int events, void *arg)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		return;
	}
	if (bridge_new(fd, fd) == NULL) {
		close(fd);
	}
}

static int
listen_on(const char *spec)
{
	struct sockaddr_storage ss;
	struct addr a;
	uint16_t port;
	int fd, one = 1;
	socklen_t sl;

	if (addr_port_parse(spec, &a, &port) < 0) {
		usage();
	}
	sl = addr_to_sockaddr(&a, port, &ss);
	fd = socket(a.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 1024) < 0 ||
	    ev_fd_add(ev, fd, EV_RD, on_accept, NULL) < 0) {
		fprintf(stderr, "chain: cannot listen on %s: %s\n", spec, strerror(errno));
		exit(1);
	}
	return fd;
}

/* resolve and resolve-ptr. */

static void
lk_reply(struct circuit *c, const struct socks5_reply *rep, void *arg)
{
	char buf[ADDR_STRLEN];

	if (rep->rep != SOCKS5_REP_OK) {
		exit_code = reply_failed(rep);
	} else if (rep->bnd.atyp == SOCKS5_ATYP_DOMAIN) {
		printf("%s\n", rep->bnd.host);
	} else {
		printf("%s\n", addr_fmt(&rep->bnd.ip, buf, sizeof(buf)));
	}
	circuit_free(c);
	ev_stop(ev);
}

static void
lk_dead(struct circuit *c, void *arg)
{
	exit_code = circuit_failed(c);
	circuit_free(c);
	ev_stop(ev);
}

static const struct circuit_cbs lookup_cbs = { .reply = lk_reply, .dead = lk_dead };

/* hold N. */

static size_t hold_n, hold_started, hold_open, hold_failed, hold_building;
static struct circuit **held;

static void hold_more(void);

static void
hd_reply(struct circuit *c, const struct socks5_reply *rep, void *arg)
{
	hold_building--;
	if (rep->rep == SOCKS5_REP_OK) {
		hold_open++;
	} else {
		hold_failed++;
		if (hold_failed <= 3) {
			fprintf(stderr, "chain: hold: exit replied 0x%02x\n", rep->rep);
		}
	}
	hold_more();
}

static void
hd_dead(struct circuit *c, void *arg)
{
	size_t i = (size_t)(uintptr_t)arg;

	if (circuit_state(c) != CIRC_OPEN && hold_building > 0 && held[i] == c &&
	    circuit_fail(c) != CIRC_OK && hold_started <= hold_n) {
		/* Died before its reply: count it once. */
		if (hold_open + hold_failed < hold_started) {
			hold_building--;
			hold_failed++;
			if (hold_failed <= 3) {
				fprintf(stderr, "chain: hold: %s\n", circuit_error(c));
			}
		}
	}
	hold_more();
}

static void
hd_ignore(struct circuit *c, void *arg)
{
	/* Held circuits carry nothing; an end is noticed when we close. */
	circuit_set_reading(c, false);
}

static const struct circuit_cbs hold_cbs = {
	.reply = hd_reply, .dead = hd_dead, .readable = hd_ignore,
};

static void
hold_more(void)
{
	while (hold_started < hold_n && hold_building < HOLD_PARALLEL) {
		struct circuit *c = circuit_new(ev, ctx, hops, n_hops, timeout_ms, 0, &hold_cbs,
						(void *)(uintptr_t)hold_started);

		held[hold_started++] = c;
		hold_building++;
		if (c == NULL || circuit_request(c, &request, NULL, 0) < 0) {
			hold_building--;
			hold_failed++;
		}
	}
	if (hold_open + hold_failed == hold_n) {
		printf("open=%zu failed=%zu\n", hold_open, hold_failed);
		fflush(stdout);
		hold_n++;       /* print once */
	}
}

static void
on_stdin_end(struct ev *e, int fd, unsigned int events, void *arg)
{
	char buf[256];

	if (read(fd, buf, sizeof(buf)) <= 0) {
		ev_stop(ev);
	}
}

/* build N. */

static size_t build_n, build_done;
static double *build_ms;
static struct circuit *building;

static void build_next(void);

static void
bd_ready(struct circuit *c, void *arg)
{
	build_ms[build_done++] = (double)circuit_build_us(c) / 1000;
	circuit_free(c);
	building = NULL;
	build_next();
}

static void
bd_dead(struct circuit *c, void *arg)
{
	exit_code = circuit_failed(c);
	circuit_free(c);
	building = NULL;
	ev_stop(ev);
}

static const struct circuit_cbs build_cbs = { .ready = bd_ready, .dead = bd_dead };

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
build_next(void)
{
	if (build_done == build_n) {
		qsort(build_ms, build_n, sizeof(double), cmp_double);
		printf("builds=%zu median_ms=%.3f p95_ms=%.3f max_ms=%.3f\n", build_n,
		       build_ms[build_n / 2], build_ms[(build_n * 95) / 100 < build_n ? (build_n * 95) / 100 : build_n - 1],
		       build_ms[build_n - 1]);
		ev_stop(ev);
		return;
	}
	building = circuit_new(ev, ctx, hops, n_hops, timeout_ms, 0, &build_cbs, NULL);
	if (building == NULL) {
		fprintf(stderr, "chain: cannot start a circuit\n");
		exit_code = 1;
		ev_stop(ev);
	}
}

static void
add_hop(const char *spec)
{
	char tmp[256], *comma;
	struct circuit_hop *h;

	if (n_hops == CIRCUIT_MAX_HOPS || strlen(spec) >= sizeof(tmp)) {
		usage();
	}
	strcpy(tmp, spec);
	comma = strrchr(tmp, ',');
	if (comma == NULL) {
		usage();
	}
	*comma = '\0';
	h = &hops[n_hops];
	if (addr_port_parse(tmp, &h->addr, &h->port) < 0 || tls_pin_parse(comma + 1, h->pin) < 0) {
		fprintf(stderr, "chain: bad relay '%s' (want ADDR:PORT,sha256:HEX)\n", spec);
		exit(2);
	}
	snprintf(h->name, sizeof(h->name), "%.31s", tmp);
	n_hops++;
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536) {
		rl.rlim_cur = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static unsigned long
count_arg(const char *s)
{
	char *end;
	unsigned long n = strtoul(s, &end, 10);

	if (*end || n == 0 || n > 1000000) {
		usage();
	}
	return n;
}

int
main(int argc, char **argv)
{
	const char *listen_spec = NULL, *cmd;
	char err[512];
	int ch;

	log_init("chain", LOG_LVL_WARN);
	while ((ch = getopt(argc, argv, "r:l:t:vsn")) != -1) {
		switch (ch) {
		case 'r':
			add_hop(optarg);
			break;
		case 'l':
			listen_spec = optarg;
			break;
		case 't':
			timeout_ms = count_arg(optarg);
			break;
		case 'v':
			verbose = true;
			break;
		case 's':
			stats = true;
			break;
		case 'n':
			no_halfclose = true;
			break;
		default:
			usage();
		}
	}
	if (n_hops == 0 || optind >= argc) {
		usage();
	}
	cmd = argv[optind++];
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	ev = ev_new(65536);
	ctx = tls_client_ctx_new(err, sizeof(err));
	if (ev == NULL || ctx == NULL) {
		fprintf(stderr, "chain: %s\n", ctx ? "cannot make the event loop" : err);
		return 1;
	}
	memset(&request, 0, sizeof(request));
	if (strcmp(cmd, "connect") == 0 && argc - optind == 2) {
		request.cmd = SOCKS5_CMD_CONNECT;
		set_dst(&request.dst, argv[optind], argv[optind + 1]);
		if (listen_spec) {
			listen_on(listen_spec);
		} else if (bridge_new(0, 1) == NULL) {
			return 1;
		}
	} else if (strcmp(cmd, "dns") == 0 && argc == optind && listen_spec) {
		request.cmd = SOCKS5_CMD_DNS;
		set_dst(&request.dst, "0.0.0.0", NULL);
		listen_on(listen_spec);
	} else if ((strcmp(cmd, "resolve") == 0 || strcmp(cmd, "resolve-ptr") == 0) &&
		   argc - optind == 1) {
		struct circuit *c;

		request.cmd = cmd[7] ? SOCKS5_CMD_RESOLVE_PTR : SOCKS5_CMD_RESOLVE;
		set_dst(&request.dst, argv[optind], NULL);
		c = circuit_new(ev, ctx, hops, n_hops, timeout_ms, 0, &lookup_cbs, NULL);
		if (c == NULL || circuit_request(c, &request, NULL, 0) < 0) {
			return 1;
		}
	} else if (strcmp(cmd, "hold") == 0 && argc - optind == 3) {
		request.cmd = SOCKS5_CMD_CONNECT;
		hold_n = count_arg(argv[optind]);
		set_dst(&request.dst, argv[optind + 1], argv[optind + 2]);
		held = calloc(hold_n, sizeof(*held));
		if (held == NULL || ev_fd_add(ev, 0, EV_RD, on_stdin_end, NULL) < 0) {
			fprintf(stderr, "chain: hold needs a pipe or terminal on stdin\n");
			return 1;
		}
		hold_more();
	} else if (strcmp(cmd, "build") == 0 && argc - optind == 1) {
		build_n = count_arg(argv[optind]);
		build_ms = calloc(build_n, sizeof(*build_ms));
		if (build_ms == NULL) {
			return 1;
		}
		build_next();
	} else {
		usage();
	}
	if (ev_run(ev) < 0) {
		perror("chain: event loop");
		return 1;
	}
	return exit_code;
}

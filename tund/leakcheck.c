// SPDX-License-Identifier: MIT
/*
 * `tund leakcheck`: see leakcheck.h. The capture loop is ours, not
 * pcap_loop's: one poll() on the capture's selectable fd and on a
 * signalfd for SIGINT and SIGTERM (blocked, so they only arrive there),
 * with the -s deadline as the poll timeout, and a non-blocking
 * pcap_dispatch when the capture is readable.
 *
 * Why not pcap_breakloop from a signal handler: it only sets a flag (and,
 * on Linux, wakes libpcap's own poll), and the pcap_dispatch it
 * interrupts returns PCAP_ERROR_BREAK with whatever is still in the ring
 * unread. In immediate mode libpcap uses TPACKET_V2, one ring frame per
 * packet, so the packets that arrived just before the signal, often the
 * very ones a test made last, would sit in the ring uncounted. Here a stop
 * (signal or deadline) is noticed at once, and then the ring is drained:
 * pcap_dispatch until it returns 0, bounded in time against a flood.
 * Everything the kernel had queued for us by then is classified; what it
 * could not queue is in pcap_stats' ps_drop, which makes the verdict
 * inconclusive.
 */
#include "leakcheck.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "addr.h"
#include "cfg.h"
#include "leak.h"

/* leak.c takes pcap's link-type numbers without including pcap: they must agree. */
_Static_assert(LEAK_DLT_EN10MB == DLT_EN10MB, "DLT_EN10MB");
_Static_assert(LEAK_DLT_RAW == DLT_RAW, "DLT_RAW");
_Static_assert(LEAK_DLT_LINUX_SLL == DLT_LINUX_SLL, "DLT_LINUX_SLL");
_Static_assert(LEAK_DLT_LINUX_SLL2 == DLT_LINUX_SLL2, "DLT_LINUX_SLL2");
_Static_assert(LEAK_DLT_IPV4 == DLT_IPV4, "DLT_IPV4");
_Static_assert(LEAK_DLT_IPV6 == DLT_IPV6, "DLT_IPV6");

/*
 * What is looked at of each packet: the headers, a DNS query and a TLS
 * ClientHello (about 2 KB even with a hybrid key share) all fit. Not the
 * whole 64 KB of a large segment: in immediate mode every packet takes a
 * ring frame sized for the snap length, and with 64 KB frames a 32 MB ring
 * holds some 500 packets, which a Gbit/s transfer overflows (the verdict
 * is then inconclusive). With 4 KB it holds about 8,000.
 */
#define SNAPLEN 4096
#define BUFFER_BYTES (32 << 20)
#define TIMEOUT_MS 100          /* unused in non-blocking mode; set for pcap_activate */
#define BATCH 256               /* packets per pcap_dispatch, so a flood cannot starve the poll */
#define DRAIN_MS 500            /* longest drain after a stop */
#define SECS_MAX 2592000        /* 30 days */

struct lc {
	int dlt;
	bool quiet;
	struct leak_relay relays[TUND_MAX_RELAYS];
	size_t n_relays;
	uint64_t total;
	uint64_t n[LEAK_CLASS_COUNT];
};

static void
usage(void)
{
	fprintf(stderr, "usage: tund leakcheck -c FILE -i IFACE [-s SECONDS] [-q]\n"
			"       tund leakcheck -c FILE -r PCAP [-q]\n");
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
on_packet(u_char *arg, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct lc *lc = (struct lc *)arg;
	char desc[LEAK_DESC_MAX], t[32];
	enum leak_class c;
	struct tm tm;
	time_t sec = h->ts.tv_sec;

	c = leak_classify(lc->dlt, bytes, h->caplen, h->len, lc->relays, lc->n_relays,
			  lc->quiet ? NULL : desc, sizeof(desc));
	lc->total++;
	lc->n[c < LEAK_CLASS_COUNT ? c : LEAK_MALFORMED]++;
	if (lc->quiet || !leak_class_is_leak(c)) {
		return;
	}
	if (localtime_r(&sec, &tm) == NULL || strftime(t, sizeof(t), "%H:%M:%S", &tm) == 0) {
		snprintf(t, sizeof(t), "%lld", (long long)sec);
	}
	printf("leak: %s.%06ld %s\n", t, (long)h->ts.tv_usec, desc);
}

/* Reads the signals that arrived; true when one asks to stop. */
static bool
stop_requested(int sfd)
{
	struct signalfd_siginfo si;
	bool stop = false;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		stop = stop || si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM;
	}
	return stop;
}

/* A capture file, to its end or a signal. 0 or -EIO (reported). */
static int
read_file(struct lc *lc, pcap_t *p, int sfd)
{
	int r;

	do {
		r = pcap_dispatch(p, BATCH, on_packet, (u_char *)lc);
		if (r < 0) {
			fprintf(stderr, "leakcheck: reading: %s\n", pcap_geterr(p));
			return -EIO;
		}
	} while (r > 0 && !stop_requested(sfd));
	return 0;
}

/* Whatever the ring holds now, within DRAIN_MS. */
static int
drain(struct lc *lc, pcap_t *p)
{
	uint64_t until = mono_ms() + DRAIN_MS;
	int r;

	do {
		r = pcap_dispatch(p, BATCH, on_packet, (u_char *)lc);
	} while (r > 0 && mono_ms() < until);
	if (r < 0) {
		fprintf(stderr, "leakcheck: capture: %s\n", pcap_geterr(p));
		return -EIO;
	}
	return 0;
}

/*
 * The live loop, until a signal, the deadline (secs > 0) or an error.
 * 0 or -EIO (reported).
 */
static int
capture(struct lc *lc, pcap_t *p, int sfd, uint64_t secs)
{
	uint64_t deadline = secs ? mono_ms() + secs * 1000 : 0, now;
	struct pollfd pfd[2];
	int timeout, r;

	pfd[0].fd = pcap_get_selectable_fd(p);
	pfd[0].events = POLLIN;
	pfd[1].fd = sfd;
	pfd[1].events = POLLIN;
	for (;;) {
		timeout = -1;
		if (deadline) {
			now = mono_ms();
			if (now >= deadline) {
				break;
			}
			timeout = deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now);
		}
		if (poll(pfd, 2, timeout) < 0) {
			if (errno == EINTR) {
				continue;
			}
			fprintf(stderr, "leakcheck: poll: %s\n", strerror(errno));
			return -EIO;
		}
		if ((pfd[1].revents & POLLIN) && stop_requested(sfd)) {
			break;
		}
		if (pfd[0].revents & (POLLIN | POLLERR | POLLHUP)) {
			r = pcap_dispatch(p, BATCH, on_packet, (u_char *)lc);
			if (r < 0) {
				fprintf(stderr, "leakcheck: capture: %s\n", pcap_geterr(p));
				return -EIO;
			}
		}
	}
	return drain(lc, p);
}

static pcap_t *
open_live(const char *iface)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	const char *detail;
	pcap_t *p;
	int r;

	p = pcap_create(iface, errbuf);
	if (p == NULL) {
		fprintf(stderr, "leakcheck: %s: %s\n", iface, errbuf);
		return NULL;
	}
	if (pcap_set_snaplen(p, SNAPLEN) != 0 || pcap_set_promisc(p, 0) != 0 ||
	    pcap_set_immediate_mode(p, 1) != 0 || pcap_set_timeout(p, TIMEOUT_MS) != 0 ||
	    pcap_set_buffer_size(p, BUFFER_BYTES) != 0) {
		fprintf(stderr, "leakcheck: %s: setting up the capture failed\n", iface);
		goto fail;
	}
	r = pcap_activate(p);
	if (r < 0) {
		/* pcap's own message when it left one (it may repeat the status), else the status. */
		detail = pcap_geterr(p);
		fprintf(stderr, "leakcheck: %s: %s\n", iface, detail[0] ? detail : pcap_statustostr(r));
		if (r == PCAP_ERROR_PERM_DENIED) {
			fprintf(stderr, "leakcheck: capturing needs root or CAP_NET_RAW\n");
		}
		goto fail;
	}
	if (r > 0) {
		fprintf(stderr, "leakcheck: %s: warning: %s\n", iface, pcap_geterr(p));
	}
	if (pcap_setnonblock(p, 1, errbuf) != 0) {
		fprintf(stderr, "leakcheck: %s: %s\n", iface, errbuf);
		goto fail;
	}
	if (pcap_get_selectable_fd(p) < 0) {
		fprintf(stderr, "leakcheck: %s: no selectable fd\n", iface);
		goto fail;
	}
	return p;
fail:
	pcap_close(p);
	return NULL;
}

static int
parse_secs(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < 1 || v > SECS_MAX) {
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int
load_relays(struct lc *lc, const char *conf)
{
	struct tund_cfg *cfg;
	char a[ADDR_STRLEN];
	int r;

	/* struct tund_cfg is large: off the stack. */
	cfg = malloc(sizeof(*cfg));
	if (cfg == NULL) {
		fprintf(stderr, "leakcheck: %s\n", strerror(ENOMEM));
		return -ENOMEM;
	}
	r = tund_cfg_load(cfg, conf);
	if (r < 0) {
		fprintf(stderr, "leakcheck: %s: not a valid configuration\n", conf);
		free(cfg);
		return r;
	}
	fprintf(stderr, "leakcheck: relays:");
	for (size_t i = 0; i < cfg->n_relays; i++) {
		lc->relays[i].addr = cfg->relays[i].addr;
		lc->relays[i].port = cfg->relays[i].port;
		fprintf(stderr, " %s", addr_port_fmt(&cfg->relays[i].addr, cfg->relays[i].port, a,
						     sizeof(a)));
	}
	fprintf(stderr, "\n");
	lc->n_relays = cfg->n_relays;
	free(cfg);
	return 0;
}

/* The verdict line, and the exit status it stands for. */
static int
verdict(const struct lc *lc, bool live, const struct pcap_stat *ps, bool failed)
{
	uint64_t leaks = 0;
	const char *sep = " (";
	int rc;

	for (int c = 0; c < LEAK_CLASS_COUNT; c++) {
		if (leak_class_is_leak((enum leak_class)c)) {
			leaks += lc->n[c];
		}
	}
	printf("leakcheck: %" PRIu64 " packets, %" PRIu64 " with relays, %" PRIu64
	       " link housekeeping, %" PRIu64 " leak%s",
	       lc->total, lc->n[LEAK_RELAY], lc->n[LEAK_HOUSEKEEPING], leaks,
	       leaks == 1 ? "" : "s");
	for (int c = 0; c < LEAK_CLASS_COUNT && leaks > 0; c++) {
		if (leak_class_is_leak((enum leak_class)c) && lc->n[c] > 0) {
			printf("%s%" PRIu64 " %s", sep, lc->n[c],
			       leak_class_name((enum leak_class)c));
			sep = ", ";
		}
	}
	printf("%s", leaks > 0 ? ")" : "");
	if (live && ps != NULL) {
		printf(", %u dropped", ps->ps_drop);
	}
	if (leaks > 0) {
		printf(": LEAK\n");
		rc = LEAKCHECK_LEAK;
	} else if (failed) {
		printf(": the capture failed: inconclusive\n");
		rc = LEAKCHECK_ERROR;
	} else if (live && ps != NULL && ps->ps_drop > 0) {
		printf(": packets were dropped by the capture: inconclusive\n");
		rc = LEAKCHECK_INCONCLUSIVE;
	} else {
		printf(": no leak\n");
		rc = LEAKCHECK_NO_LEAK;
	}
	fflush(stdout);
	return rc;
}

int
leakcheck_main(int argc, char **argv)
{
	const char *conf = NULL, *iface = NULL, *file = NULL;
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct pcap_stat ps, *psp = NULL;
	uint64_t secs = 0;
	sigset_t mask;
	struct lc *lc;
	pcap_t *p = NULL;
	int ch, sfd = -1, rc = LEAKCHECK_ERROR, r;
	const char *dltname;
	bool quiet = false;

	optind = 1;
	while ((ch = getopt(argc, argv, "c:i:r:s:q")) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'i':
			iface = optarg;
			break;
		case 'r':
			file = optarg;
			break;
		case 's':
			if (parse_secs(optarg, &secs) < 0) {
				fprintf(stderr, "leakcheck: -s: want 1..%d seconds, not '%.40s'\n",
					SECS_MAX, optarg);
				return LEAKCHECK_ERROR;
			}
			break;
		case 'q':
			quiet = true;
			break;
		default:
			usage();
			return LEAKCHECK_ERROR;
		}
	}
	if (optind != argc || conf == NULL || (iface == NULL) == (file == NULL) ||
	    (file != NULL && secs > 0)) {
		usage();
		return LEAKCHECK_ERROR;
	}
	lc = calloc(1, sizeof(*lc));
	if (lc == NULL) {
		fprintf(stderr, "leakcheck: %s\n", strerror(ENOMEM));
		return LEAKCHECK_ERROR;
	}
	lc->quiet = quiet;
	if (load_relays(lc, conf) < 0) {
		goto out;
	}
	/* Blocked before the capture opens, so a signal from then on waits in the signalfd. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0) {
		fprintf(stderr, "leakcheck: sigprocmask: %s\n", strerror(errno));
		goto out;
	}
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, "leakcheck: signalfd: %s\n", strerror(errno));
		goto out;
	}
	p = file ? pcap_open_offline(file, errbuf) : open_live(iface);
	if (p == NULL) {
		if (file) {
			fprintf(stderr, "leakcheck: %s: %s\n", file, errbuf);
		}
		goto out;
	}
	lc->dlt = pcap_datalink(p);
	if (!leak_dlt_supported(lc->dlt)) {
		dltname = pcap_datalink_val_to_name(lc->dlt);
		fprintf(stderr, "leakcheck: %s: link type %s (%d) is not supported\n",
			file ? file : iface, dltname ? dltname : "?", lc->dlt);
		goto out;
	}
	/* Each leak line as it is found, also into a pipe or a file. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (file) {
		r = read_file(lc, p, sfd);
	} else {
		fprintf(stderr, "leakcheck: listening on %s\n", iface);
		r = capture(lc, p, sfd, secs);
		if (pcap_stats(p, &ps) == 0) {
			psp = &ps;
		} else {
			fprintf(stderr, "leakcheck: pcap_stats: %s\n", pcap_geterr(p));
			r = -EIO;
		}
	}
	rc = verdict(lc, file == NULL, psp, r < 0);
out:
	if (p != NULL) {
		pcap_close(p);
	}
	if (sfd >= 0) {
		close(sfd);
	}
	/*
	 * SIGINT and SIGTERM stay blocked: unblocked now, one sent a moment too
	 * late (a second ^C) would kill the process and lose the exit status.
	 */
	free(lc);
	return rc;
}

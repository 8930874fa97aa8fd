/* SPDX-License-Identifier: MIT */
/*
 * `tund leakcheck` (DESIGN section 8): the user's proof that nothing but
 * TCP with the configured relays leaves the machine. Captures on the
 * outer interface with libpcap (the only file of tund that includes it),
 * classifies every frame with leak.c, prints each leak as one line
 * "leak: TIME DESCRIPTION" on standard output, then one verdict line:
 *
 *   leakcheck: N packets, N with relays, N link housekeeping, N leaks, N dropped: no leak
 *
 *   tund leakcheck -c FILE -i IFACE [-s SECONDS] [-q]
 *   tund leakcheck -c FILE -r PCAP [-q]
 *
 *   -c FILE     tund's configuration: the relays' addresses and ports
 *   -i IFACE    the interface to capture on: the outer one (not the TUN,
 *               and not "any", which would also see the TUN's plaintext)
 *   -s SECONDS  stop after that long (1..2592000); without it, on SIGINT
 *               or SIGTERM
 *   -r PCAP     classify a capture file instead (tcpdump -w); the tests
 *               use it on recorded traffic
 *   -q          print only the verdict, not each leak
 *
 * "leakcheck: listening on IFACE" goes to standard error once the capture
 * is active: what scripts wait for before making traffic. The capture is
 * not promiscuous (this machine's traffic, and broadcast and multicast
 * on the link), with a 65535-byte snap length and immediate delivery.
 */
#ifndef TUND_LEAKCHECK_H
#define TUND_LEAKCHECK_H

/* Exit statuses, in this order of precedence: a leak seen is a leak. */
enum leakcheck_exit {
	LEAKCHECK_NO_LEAK = 0,
	LEAKCHECK_LEAK = 1,
	LEAKCHECK_ERROR = 2,            /* usage, configuration, capture failure */
	LEAKCHECK_INCONCLUSIVE = 3,     /* no leak seen, but the kernel dropped packets */
};

/* argv[0] is "leakcheck". Returns an enum leakcheck_exit. */
int leakcheck_main(int argc, char **argv);

#endif

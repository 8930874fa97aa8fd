/* SPDX-License-Identifier: MIT */
/*
 * The capture: what comes out of the TUN goes to the right place, and
 * nothing is ever forwarded in clear (DESIGN section 5, "Packets").
 *
 *   TCP to port 53, any address    DNS over TCP, answered here
 *   UDP to port 53, any address    the DNS responder (dns.h); what it does
 *                                  not answer goes through a circuit (dnsfwd.h)
 *   other UDP                      ICMP port unreachable (QUIC falls back at once)
 *   TCP                            the userspace stack (tcp.h); each
 *                                  connection becomes a stream over its own
 *                                  circuit: to a fake address with its name,
 *                                  to a real one with the address
 *   ICMP echo to a fake address    answered here
 *   anything else                  dropped, counted by reason
 *
 * Connect semantics (tcp-connect): "fast" answers the SYN at once and
 * sends the application's first bytes with the request; a failure at the
 * exit then resets the connection. "confirmed" answers the SYN only when
 * the exit has connected: refused (or by policy) becomes a RST,
 * unreachable or timed out an ICMP unreachable, so the application tries
 * its next address. "auto" is fast for fake addresses (the exit tries
 * each address of the name) and confirmed for real ones.
 *
 * It owns the TCP stack, the DNS forwarder and the per-connection glue;
 * the TUN fd and the fake-IP pool are lent by main.
 */
#ifndef TUND_CAPTURE_H
#define TUND_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "dnsfwd.h"
#include "ev.h"
#include "fakeip.h"
#include "ip.h"
#include "pool.h"
#include "tcp.h"

struct capture;

enum capture_drop {
	CAP_DROP_LOSS,          /* test-loss */
	CAP_DROP_UDP,           /* UDP to another port: answered with port unreachable */
	CAP_DROP_ICMP,          /* ICMP other than echo to a fake address */
	CAP_DROP_PROTO,         /* another protocol */
	CAP_DROP_DNS,           /* a DNS message the responder dropped */
	CAP_DROP_WRITE,         /* a write to the TUN failed */
	CAP_DROP_COUNT,
};

struct capture_stats {
	uint64_t pkts_in, pkts_out, bytes_in, bytes_out;
	uint64_t drop_ip[IP_DROP_COUNT];
	uint64_t drop[CAP_DROP_COUNT];
	uint64_t echo_replies;
	uint64_t dns_udp, dns_tcp, dns_local, dns_forwarded, dns_servfail;
	uint64_t conns_fake, conns_real, conns_refused, conns_unreach, conns_reset;
	size_t streams_open, dialing, dns_conns;
	uint64_t bytes_up, bytes_down;
	struct tcp_stats tcp;
	struct dnsfwd_stats fwd;
};

/* A short name for a capture drop reason, for `tund status`. */
const char *capture_drop_name(enum capture_drop d);

/* TCP connections at once (one descriptor each, its circuit's socket)
 * that a descriptor limit of fds leaves room for, at most 16,384. */
size_t capture_max_conns(size_t fds);
/* fip may be NULL (no fake ranges). max_conns: beyond, SYNs are refused.
 * NULL with err on failure. */
struct capture *capture_new(struct ev *ev, const struct tund_cfg *cfg, struct pool *pool,
			    int tun_fd, struct fakeip *fip, uint64_t seed, size_t max_conns,
			    char *err, size_t errlen);
/* Resets every connection (no clean end: applications must not take a cut stream for whole). */
void capture_free(struct capture *cap);
void capture_stats(const struct capture *cap, struct capture_stats *st);

#endif

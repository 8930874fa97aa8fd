/* SPDX-License-Identifier: MIT */
/*
 * tund's userspace TCP (DESIGN section 5; RFC 9293, 7323, 5961, 6298,
 * 6691): the passive end of every connection that the local kernel opens
 * through the TUN. Sans-I/O: segments and time go in, segments and events
 * come out; no fd, no clock. tund's capture glue feeds it packets from the
 * TUN and writes what it outputs back, and the stream glue reads and
 * writes connections like sockets.
 *
 * What it does:
 *  - one connection per 4-tuple, in a bounded hash table; a SYN for a new
 *    tuple asks the owner (cbs->syn), which answers it now or later
 *    (tcp_conn_accept) or refuses it (tcp_conn_refuse: RST; tcp_conn_drop:
 *    silently, after the owner sent an ICMP error); the kernel's SYN
 *    retransmissions are absorbed meanwhile;
 *  - MSS (both families, any size up to the MTU), window scaling and
 *    SACK-permitted are negotiated; timestamps are not offered. As a
 *    receiver, segments that arrive out of order are kept (within the
 *    window, TCP_OOO_MAX of them) and reported in SACK blocks, so a loss
 *    costs the kernel one retransmission, not a timeout; as a sender, the
 *    kernel's SACK blocks are read but not used (a local link loses
 *    little, and NewReno recovery repairs it);
 *  - the full state machine after that: half-close both ways,
 *    simultaneous close, RST with RFC 5961 checks (exact sequence resets,
 *    in-window ones get a challenge ACK), SYN in a synchronised state
 *    answered with a challenge ACK, out-of-window segments answered with
 *    an ACK and dropped; TIME-WAIT lasts TCP_TIME_WAIT_MS;
 *  - flow control both ways: the window advertised to the application is
 *    the free room of the connection's receive buffer, which the stream
 *    drains only as fast as its circuit takes bytes; data toward the
 *    application respects its window, with a persist timer probing a
 *    zero window;
 *  - loss recovery: RTO per RFC 6298 (with a floor for the kernel's
 *    delayed ACKs), fast retransmit on three duplicate ACKs and, until the
 *    loss is repaired, the next segment at once on each partial ACK
 *    (NewReno, RFC 6582); each out-of-order segment gets an immediate
 *    duplicate ACK with SACK blocks, so the kernel's own recovery starts at
 *    once; a window that closes on data in flight is probed, not timed out
 *    (RFC 9293 3.8.6.2.1);
 *  - no delayed ACKs and no Nagle: everything due is sent by
 *    tcp_stack_flush(), which the glue calls once per loop iteration, so a
 *    batch of segments gets one ACK and small writes coalesce, with no
 *    timer in between;
 *  - every connection has a deadline in every state (handshake,
 *    retransmission, persist, keep-alive, FIN-WAIT-2 and TIME-WAIT, the
 *    owner's answer to a SYN), kept in an intrusive heap: arming one
 *    cannot fail, and tcp_stack_timers() reclaims what is due.
 *
 * Lifetime: the stack owns every struct tcp_conn. The owner of a
 * connection gets events through cbs->event until it calls
 * tcp_conn_release(); TCP_EV_CLOSED is the last event. After release the
 * stack finishes the connection on its own (sending what is buffered, the
 * FIN handshake, TIME-WAIT) and frees it.
 */
#ifndef TUND_TCP_H
#define TUND_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "ip.h"
#include "tcp_wire.h"

#define TCP_TIME_WAIT_MS 1000
#define TCP_RTO_MIN_MS 200
#define TCP_RTO_MAX_MS 10000
#define TCP_RTO_INIT_MS 1000
#define TCP_SYN_RETRIES 5
#define TCP_DATA_RETRIES 8
#define TCP_KEEPALIVE_IDLE_MS 30000
#define TCP_KEEPALIVE_INTVL_MS 10000
#define TCP_KEEPALIVE_PROBES 3
/* A connection in FIN-WAIT-2 whose owner let go waits this long for the application's FIN. */
#define TCP_FIN_WAIT2_MS 60000
/* Out-of-order segments kept per connection (their bytes also fit the window). */
#define TCP_OOO_MAX 64

struct tcp_stack;
struct tcp_conn;

/* As the application's packets carry it: src is the application. */
struct tcp_tuple {
	struct addr src, dst;
	uint16_t sport, dport;
};

enum tcp_event {
	TCP_EV_READABLE,        /* data or the application's FIN to read */
	TCP_EV_WRITABLE,        /* room in the send buffer again */
	TCP_EV_CLOSED,          /* reset, timed out or done both ways; the last event */
};

struct tcp_cbs {
	/*
	 * A SYN for a new connection. Return true to own it: answer it with
	 * tcp_conn_accept() (now or later), tcp_conn_refuse() or
	 * tcp_conn_drop(); false refuses it (RST). The SYN itself may be
	 * rebuilt with tcp_conn_syn_packet() (to quote in an ICMP error).
	 */
	bool (*syn)(void *arg, struct tcp_conn *c, const struct tcp_tuple *t);
	/* err: 0, or ECONNRESET, ETIMEDOUT... with TCP_EV_CLOSED. */
	void (*event)(void *arg, struct tcp_conn *c, enum tcp_event ev, int err);
	/*
	 * One IP packet for the TUN: hdr_len bytes of headers, then len bytes
	 * of payload (two parts, so the payload is never copied here).
	 */
	void (*output)(void *arg, const uint8_t *hdr, size_t hdr_len, const uint8_t *data,
		       size_t len);
};

struct tcp_cfg {
	uint32_t mtu;           /* the TUN's: segments never exceed it */
	size_t rcv_buf;         /* per connection: the most the window offers */
	size_t snd_buf;         /* per connection: sent and unsent, unacknowledged */
	size_t max_conns;       /* beyond, new SYNs are refused */
	uint64_t seed;          /* for initial sequence numbers */
	uint64_t syn_wait_ms;   /* how long an owner may take to answer a SYN */
};

/* Named drop and event counters, for `tund status`. */
struct tcp_stats {
	size_t conns;                   /* in the table, any state */
	size_t time_wait;
	uint64_t accepted, refused, reset_rx, reset_tx, timeouts;
	uint64_t retransmits, fast_retransmits, rto, probes;
	uint64_t segs_in, segs_out;
	/* Drops, by reason. */
	uint64_t drop_wire[TCP_WIRE_COUNT];     /* tcp_wire_parse said no */
	uint64_t drop_no_conn;          /* not a SYN, no connection: answered with RST */
	uint64_t drop_out_of_window;    /* answered with an ACK */
	uint64_t drop_out_of_order;     /* not kept (past the window, or too many) */
	uint64_t ooo_kept;              /* kept until the hole before them filled */
	uint64_t drop_full;             /* the table is full: SYN refused */
	uint64_t challenge_acks;        /* RFC 5961 */
};

struct tcp_stack *tcp_stack_new(const struct tcp_cfg *cfg, const struct tcp_cbs *cbs, void *arg);
/* Frees every connection (no events, nothing sent). */
void tcp_stack_free(struct tcp_stack *s);

/* One packet from the TUN with pkt->proto TCP (parsed, not yet checked as TCP). */
void tcp_stack_input(struct tcp_stack *s, const struct ip_pkt *pkt, uint64_t now_ms);
/* Sends everything due: ACKs, window updates, data the windows allow, FINs. */
void tcp_stack_flush(struct tcp_stack *s, uint64_t now_ms);
/* Runs the timers due at now_ms (their output included). */
void tcp_stack_timers(struct tcp_stack *s, uint64_t now_ms);
/* The earliest deadline, or UINT64_MAX when none. */
uint64_t tcp_stack_next_ms(const struct tcp_stack *s);
/* True when a flush has something to send. */
bool tcp_stack_pending(const struct tcp_stack *s);
void tcp_stack_stats(const struct tcp_stack *s, struct tcp_stats *st);

/* The owner's side of a connection. */
void tcp_conn_set_ctx(struct tcp_conn *c, void *ctx);
void *tcp_conn_ctx(const struct tcp_conn *c);
const struct tcp_tuple *tcp_conn_tuple(const struct tcp_conn *c);

/* Answers the pending SYN with a SYN-ACK. */
void tcp_conn_accept(struct tcp_conn *c, uint64_t now_ms);
/* Answers the pending SYN with a RST (the application sees "connection refused"). */
void tcp_conn_refuse(struct tcp_conn *c);
/* Forgets the pending SYN without an answer (the owner sent an ICMP error). */
void tcp_conn_drop(struct tcp_conn *c);
/*
 * Rebuilds the pending SYN's IP and TCP headers (no options) into out,
 * for ip_build_unreach; returns the length, or 0 when cap is short.
 */
size_t tcp_conn_syn_packet(const struct tcp_conn *c, uint8_t *out, size_t cap);

/* n > 0 bytes, 0 after the application's FIN, -EAGAIN, or -ECONNRESET/-ETIMEDOUT. */
ssize_t tcp_conn_read(struct tcp_conn *c, void *buf, size_t len);
/* Bytes readable now. */
size_t tcp_conn_readable(const struct tcp_conn *c);
/*
 * The readable bytes in place (contiguous; *len 0 when none), to take
 * only part of them: tcp_conn_consume() then drops what was taken.
 */
const uint8_t *tcp_conn_peek(const struct tcp_conn *c, size_t *len);
void tcp_conn_consume(struct tcp_conn *c, size_t n);
/* The application's FIN arrived (after the readable bytes). */
bool tcp_conn_eof(const struct tcp_conn *c);
/* n > 0 bytes taken, -EAGAIN (TCP_EV_WRITABLE later), -EPIPE (shut down or closed). */
ssize_t tcp_conn_write(struct tcp_conn *c, const void *buf, size_t len);
/* A FIN after the buffered data: 0, or -EPIPE when closed. */
int tcp_conn_shutdown(struct tcp_conn *c);
/* RST now; no more events. */
void tcp_conn_abort(struct tcp_conn *c);
/* The owner lets go: no more events; the stack finishes the connection itself. */
void tcp_conn_release(struct tcp_conn *c);

/* The state's RFC 9293 name ("ESTABLISHED"...), for logs and tests. */
const char *tcp_conn_state_name(const struct tcp_conn *c);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * A circuit: one TCP connection to the first relay carrying one TLS 1.3
 * session per hop, nested (DESIGN sections 2, 3 and 9). The client side of
 * the wire protocol, used by tund and by the test tool.
 *
 * Layer 0 is TLS with hop 0 over the socket. Layer k (k >= 1) runs over a
 * BIO that reads and writes the plaintext of layer k-1; before its first
 * TLS byte that BIO sends the SOCKS5 greeting and a CONNECT to hop k, and
 * before handing TLS bytes up it parses relay k-1's SOCKS5 answers. Nothing
 * waits for a reply that need not be waited for: hop k's ClientHello leaves
 * right behind the CONNECT, and the final request (with the application's
 * first bytes) right behind the innermost Finished (section 3.4). Record
 * sizes shrink inward by one record overhead per layer, so one inner
 * record fits one outer record (section 3.6).
 *
 * Lifecycle: circuit_new() starts the build; cbs->ready fires when every
 * hop's TLS is done; circuit_request() (allowed at any time before it)
 * sends the one SOCKS5 request; cbs->reply gives the exit's answer; then
 * circuit_read/circuit_write carry the stream. cbs->dead reports a failure
 * (circuit_error() names the hop and the reason). Callbacks may call
 * circuit_free(). The circuit owns its socket and its timer.
 */
#ifndef CIRCUIT_H
#define CIRCUIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "addr.h"
#include "ev.h"
#include "socks5.h"
#include "tls.h"

#define CIRCUIT_MAX_HOPS 8
/* Application bytes that may ride with the request (optimistic data). */
#define CIRCUIT_MAX_EARLY 16000

struct circuit;

struct circuit_hop {
	char name[32];
	struct addr addr;
	uint16_t port;
	uint8_t pin[TLS_PIN_LEN];
};

enum circuit_state {
	CIRC_CONNECTING,        /* TCP to hop 0 */
	CIRC_BUILDING,          /* TLS with hop circuit_hop_index() */
	CIRC_READY,             /* every hop's TLS done; no request sent */
	CIRC_REQUESTED,         /* request sent; waiting for the exit's reply */
	CIRC_OPEN,              /* reply 0x00: the stream carries data */
	CIRC_DEAD,              /* failed, refused or closed */
};

enum circuit_fail {
	CIRC_OK = 0,
	CIRC_E_CONNECT,         /* TCP to hop 0 failed (refused, unreachable) */
	CIRC_E_TIMEOUT,         /* build or request timed out */
	CIRC_E_PIN,             /* a hop presented another key than its pin */
	CIRC_E_TLS,             /* TLS failed with a hop */
	CIRC_E_BUSY,            /* a hop refused at admission (its limits): retry later */
	CIRC_E_EXTEND,          /* relay k-1 could not connect to hop k */
	CIRC_E_CLOSED,          /* a relay closed or reset the circuit */
	CIRC_E_PROTO,           /* a relay broke the protocol */
	CIRC_E_NOMEM,
};

struct circuit_cbs {
	void (*ready)(struct circuit *c, void *arg);
	void (*reply)(struct circuit *c, const struct socks5_reply *rep, void *arg);
	void (*readable)(struct circuit *c, void *arg);
	void (*writable)(struct circuit *c, void *arg);
	void (*dead)(struct circuit *c, void *arg);
};

/*
 * Starts building through hops[0..n-1] (copied). timeout_ms bounds the
 * build and, separately, the wait for the reply. fwmark, when not 0, is
 * set on the socket (SO_MARK) so policy routing can keep it off the TUN.
 * NULL on failure to start (no socket, bad arguments).
 */
struct circuit *circuit_new(struct ev *ev, SSL_CTX *ctx, const struct circuit_hop *hops, size_t n,
			    uint64_t timeout_ms, uint32_t fwmark, const struct circuit_cbs *cbs,
			    void *arg);
/*
 * Graceful when the stream ended cleanly both ways (close_notify on every
 * layer, then FIN); abortive (RST) otherwise. NULL is a no-op.
 */
void circuit_free(struct circuit *c);
/*
 * fn(arg) runs once, when the circuit is freed, whoever owns it then (the
 * pool counts a relay's open circuits with it).
 */
void circuit_on_free(struct circuit *c, void (*fn)(void *arg), void *arg);
/* Hands the circuit to a new owner (a pool giving a ready circuit to a stream). */
void circuit_set_cbs(struct circuit *c, const struct circuit_cbs *cbs, void *arg);
/* The hops it was built through (n of them). */
const struct circuit_hop *circuit_hops(const struct circuit *c, size_t *n);

/*
 * Queues the request with up to CIRCUIT_MAX_EARLY application bytes (may
 * be 0) to go out as soon as every hop is ready, in one flight. Once only.
 * 0, -EALREADY, -EMSGSIZE, -EINVAL (cannot encode), -EPIPE (dead).
 */
int circuit_request(struct circuit *c, const struct socks5_req *req, const void *early,
		    size_t early_len);
/*
 * How long to wait for the exit's reply once the request is out (default:
 * the build timeout). It should exceed the exit's own connect timeout, so
 * the exit's precise code (0x06, 0x05...) arrives before we give up.
 */
void circuit_set_reply_timeout(struct circuit *c, uint64_t ms);

/*
 * Stream bytes, in CIRC_OPEN. Returns n > 0, 0 at the exit's end of data
 * (close_notify), -EAGAIN (cbs->readable fires when more may come), or
 * -EIO when the circuit died. Bytes may sit decrypted inside the layers: a
 * reader that stops before -EAGAIN must call again later by itself.
 */
ssize_t circuit_read(struct circuit *c, void *buf, size_t len);
/*
 * Returns n > 0 bytes taken, -EAGAIN (cbs->writable fires later; the next
 * call must offer at least the same bytes again, as with SSL_write), or
 * -EIO.
 */
ssize_t circuit_write(struct circuit *c, const void *buf, size_t len);
/* Ends our direction (close_notify on the innermost layer). 0, -EAGAIN, -EIO. */
int circuit_shutdown(struct circuit *c);
/* Stops (false) or resumes (true) reading from the socket: backpressure. */
void circuit_set_reading(struct circuit *c, bool on);

enum circuit_state circuit_state(const struct circuit *c);
/* The hop being built, or that failed. */
size_t circuit_hop_index(const struct circuit *c);
enum circuit_fail circuit_fail(const struct circuit *c);
/* A sentence naming the hop and the reason; "" when nothing failed. */
const char *circuit_error(const struct circuit *c);
/* Microseconds from circuit_new to ready (0 until then). */
uint64_t circuit_build_us(const struct circuit *c);
bool circuit_peer_eof(const struct circuit *c);

#endif

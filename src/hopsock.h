/* SPDX-License-Identifier: MIT */
/*
 * Options for every TCP socket that carries a circuit: tund's to its first
 * relay, a relay's from the hop before it and to the hop after it (or to
 * the destination, which the relay cannot tell apart). TCP_NODELAY (the
 * records are already sized), and keep-alives: a peer that vanishes
 * without a FIN or a RST (blackholed, powered off) while nothing of ours
 * waits for its acknowledgement is noticed after HOP_KEEPIDLE_S +
 * HOP_KEEPCNT * HOP_KEEPINTVL_S seconds (17).
 *
 * Not TCP_USER_TIMEOUT: this kernel applies it to zero-window probing
 * too, so a destination that merely stops reading (backpressure, a paused
 * download) would be cut after it, and the cut would travel back through
 * every relay (t-chain's 60 s stall caught exactly that at 15 s). Data of
 * ours in flight to a vanished peer is given up by TCP's own retries.
 */
#ifndef HOPSOCK_H
#define HOPSOCK_H

#define HOP_KEEPIDLE_S 5
#define HOP_KEEPINTVL_S 3
#define HOP_KEEPCNT 4

/* Best effort: an option the kernel refuses is skipped. */
void hop_sock_setup(int fd);

#endif

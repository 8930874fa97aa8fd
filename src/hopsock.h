/* SPDX-License-Identifier: MIT */
/*
 * Options for every TCP socket that carries a circuit: tund's to its first
 * relay, a relay's from the hop before it and to the hop after it (or to
 * the destination, which the relay cannot tell apart). TCP_NODELAY (the
 * records are already sized), and a peer that vanishes without a FIN or
 * a RST (blackholed, powered off) is noticed within about HOP_DEAD_MS:
 * keep-alive probes after HOP_KEEPIDLE_S idle, every HOP_KEEPINTVL_S, and
 * TCP_USER_TIMEOUT bounding both them and unacknowledged data. A peer
 * that only stops reading still answers (zero-window probes are
 * acknowledged) and is not cut.
 */
#ifndef HOPSOCK_H
#define HOPSOCK_H

#define HOP_DEAD_MS 15000
#define HOP_KEEPIDLE_S 5
#define HOP_KEEPINTVL_S 3

/* Best effort: an option the kernel refuses is skipped. */
void hop_sock_setup(int fd);

#endif

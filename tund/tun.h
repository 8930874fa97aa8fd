/* SPDX-License-Identifier: MIT */
/*
 * The TUN device: opening /dev/net/tun. Layer 3 only (IFF_TUN) and no
 * packet-information prefix (IFF_NO_PI), so each read() is one whole IP
 * packet and each write() must be one. One queue, no virtio-net header.
 *
 * The device is never made persistent: it exists only while the fd is
 * open, and the kernel removes it, with its addresses and every route
 * through it, when the process dies. The kill switch depends on that
 * (route.h): what remains is the unreachable routes, so traffic is
 * dropped, not leaked. Addresses, MTU and routes are route.c's.
 */
#ifndef TUND_TUN_H
#define TUND_TUN_H

#include <stddef.h>

#define TUN_IFNAMSIZ 16

/*
 * Creates the TUN named name, which may be a pattern such as "tun%d"; an
 * empty name lets the kernel choose.
 * Returns a non-blocking close-on-exec fd (>= 0) and writes the actual
 * name into ifname. On failure returns -errno with err filled:
 * -ENAMETOOLONG for a name of 16 bytes or more, -EEXIST when the name is
 * a persistent TUN (made by `ip tuntap add`: it would outlive us, and the
 * kill switch with it), or what open() and TUNSETIFF said (-EBUSY: another
 * process holds it; -EINVAL: the name is taken by another kind of link).
 */
int tun_open(const char *name, char ifname[TUN_IFNAMSIZ], char *err, size_t errlen);

#endif

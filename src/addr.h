/* SPDX-License-Identifier: MIT */
/*
 * IPv4 and IPv6 addresses, CIDR prefixes and port lists: parsing,
 * formatting, matching, and conversion to and from struct sockaddr.
 * Pure: no sockets are opened, nothing is resolved, nothing allocated.
 *
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is normalized to IPv4 by
 * every parser and by addr_from_sockaddr, so that no rule can be bypassed
 * by writing the same host in the other family.
 */
#ifndef ADDR_H
#define ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct addr {
	uint8_t family;         /* AF_INET or AF_INET6 (0: none) */
	uint8_t a[16];          /* IPv4 uses a[0..3], network order */
};

struct cidr {
	struct addr addr;       /* host bits are zero */
	uint8_t prefix;         /* 0..32 or 0..128 */
};

/* Longest text addr_fmt/addr_port_fmt write, with the NUL. */
#define ADDR_STRLEN 48

/* "192.0.2.1" or "2001:db8::1" (no brackets). 0 or -EINVAL. */
int addr_parse(const char *s, struct addr *out);
/*
 * "192.0.2.1:9001" or "[2001:db8::1]:9001"; the port must be 1..65535.
 * 0 or -EINVAL.
 */
int addr_port_parse(const char *s, struct addr *out, uint16_t *port);
/*
 * "192.0.2.0/24", "2001:db8::/32", or a bare address (full-length prefix).
 * Host bits set beyond the prefix are an error (-EINVAL), as is a prefix
 * longer than the family allows.
 */
int cidr_parse(const char *s, struct cidr *out);
bool cidr_contains(const struct cidr *c, const struct addr *a);
bool addr_eq(const struct addr *a, const struct addr *b);
/* Bytes of an address of the family: 4, 16, or 0 for neither. */
size_t addr_family_len(uint8_t family);
/* Sets a from 4 or 16 raw network-order bytes (16: mapped IPv4 normalized). */
void addr_set_raw(struct addr *a, const void *raw, size_t len);

/* Formats into buf (ADDR_STRLEN bytes is always enough); returns buf. */
const char *addr_fmt(const struct addr *a, char *buf, size_t len);
/* "192.0.2.1:9001" or "[2001:db8::1]:9001"; returns buf. */
const char *addr_port_fmt(const struct addr *a, uint16_t port, char *buf, size_t len);

/* Fills ss and returns its length. */
socklen_t addr_to_sockaddr(const struct addr *a, uint16_t port, struct sockaddr_storage *ss);
/* 0, or -EAFNOSUPPORT for a family other than AF_INET/AF_INET6. */
int addr_from_sockaddr(const struct sockaddr *sa, struct addr *a, uint16_t *port);

/*
 * True for an address in the IANA special-purpose registries (RFC 6890 and
 * successors): this-network 0/8, private 10/8, 172.16/12, 192.168/16, CGNAT
 * 100.64/10, loopback, link-local, IETF protocol assignments 192.0.0/24,
 * documentation 192.0.2/24, 198.51.100/24, 203.0.113/24, 6to4 relay
 * 192.88.99/24, benchmarking 198.18/15, multicast, reserved 240/4 and
 * broadcast; for IPv6 ::/128, ::1, IPv4-compatible/translated and
 * discard-only prefixes, 64:ff9b::/96, 64:ff9b:1::/48, 100::/64,
 * 2001::/23, 2001:db8::/32, 2002::/16, fc00::/7, fe80::/10, ff00::/8,
 * 3fff::/20 and 5f00::/16.
 */
bool addr_is_special(const struct addr *a);

#endif

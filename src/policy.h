/* SPDX-License-Identifier: MIT */
/*
 * Exit policy: ordered accept/reject rules over address and port, first
 * match wins, "reject *:*" implied at the end (DESIGN section 4). Pure:
 * it decides, it never connects or resolves.
 *
 * Beyond the rules, an address in the IANA special-purpose set
 * (addr_is_special) or one of the relay's own addresses is refused unless
 * the first matching accept rule names it explicitly: its address is not
 * "*" (a rule like "accept 203.0.113.0/24:80" opens that range; "accept
 * *:80" does not). "allow-private yes" lifts the special-purpose refusal,
 * not the one for the relay's own addresses. The unspecified addresses
 * (0.0.0.0, ::) are always refused: connecting to them reaches the host
 * itself.
 */
#ifndef POLICY_H
#define POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct policy;

enum policy_verdict {
	POLICY_ACCEPT,
	POLICY_REJECT,
};

/* Why a verdict was reached; for logs and tests. */
enum policy_reason {
	POLICY_BY_RULE,         /* a rule matched (accept or reject) */
	POLICY_BY_DEFAULT,      /* no rule matched: implied reject *:* */
	POLICY_BY_SPECIAL,      /* special-purpose address, not named by the rule */
	POLICY_BY_SELF,         /* one of the relay's own addresses */
	POLICY_BY_UNSPEC,       /* 0.0.0.0 or :: */
};

/* Upper bound on rules, so a config cannot make matching unbounded. */
#define POLICY_MAX_RULES 1024
/* Upper bound on port items in one rule ("80,443,8000-8999" is 3). */
#define POLICY_MAX_PORT_ITEMS 64
/* Upper bound on own addresses remembered. */
#define POLICY_MAX_SELF 256

struct policy *policy_new(void);
void policy_free(struct policy *p);

/*
 * Appends one rule. accept is true for "accept", false for "reject"; spec
 * is "ADDRESS[/PREFIX]:PORTS" where ADDRESS is "*", an IPv4 address or an
 * IPv6 address in brackets, and PORTS is "*", a port, a range "N-M"
 * (N <= M, 1..65535), or a comma list of those. A bare "*" is not
 * accepted: write "*:*". Returns 0, -EINVAL with a message in err (always
 * NUL-terminated, errlen > 0), or -ENOSPC past POLICY_MAX_RULES.
 */
int policy_add_rule(struct policy *p, bool accept, const char *spec, char *err, size_t errlen);
void policy_set_allow_private(struct policy *p, bool allow);
/* Remembers one of the relay's own addresses. 0 or -ENOSPC. */
int policy_add_self(struct policy *p, const struct addr *a);
size_t policy_rule_count(const struct policy *p);

/* Decides for one resolved address and port; reason may be NULL. */
enum policy_verdict policy_match(const struct policy *p, const struct addr *a, uint16_t port,
				 enum policy_reason *reason);
/*
 * The same for an address the caller found to be local to this host now
 * (any of 127/8, ::1, an address added after start): refused as the
 * relay's own (POLICY_BY_SELF) unless an accept rule names exactly it.
 */
enum policy_verdict policy_match_local(const struct policy *p, const struct addr *a,
				       uint16_t port, enum policy_reason *reason);

/* True when some rule could accept this port for some public address:
 * used to tell "this relay is an exit for web ports" in status output. */
bool policy_accepts_any(const struct policy *p);

/*
 * What a requested host name is before anyone resolves it (issue 7 §3):
 * "localhost" and names under ".localhost" (RFC 6761) are this host and
 * refused; names under ".invalid" never exist; a name that is an IP
 * literal in disguise (what inet_aton takes: "127.1", "0x7f.1",
 * "2130706433", "0177.0.0.1"; or an IPv6 literal, bracketed or not;
 * with or without a trailing dot) is that address, which the policy must
 * see instead of a resolver's idea of it. Case-insensitive. Pure.
 */
enum name_kind {
	NAME_RESOLVE,           /* an ordinary name: resolve it */
	NAME_LOCALHOST,         /* refuse (not allowed) */
	NAME_INVALID,           /* refuse (host unreachable) */
	NAME_LITERAL,           /* *lit holds the address it spells */
};
enum name_kind policy_name_kind(const char *name, struct addr *lit);

#endif

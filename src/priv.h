/* SPDX-License-Identifier: MIT */
/*
 * Dropping root, for both daemons: after they have bound their sockets
 * and read their keys, they run as an unprivileged user. setgroups(0),
 * setresgid, setresuid (all three ids, so root cannot be regained), the
 * capabilities cut down to keep (a mask of CAP_* bits below 32; 0 for
 * none: exitd needs none, tund keeps CAP_NET_ADMIN), then
 * PR_SET_NO_NEW_PRIVS, so no exec can raise them again.
 */
#ifndef PRIV_H
#define PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The user's ids; 0, or -1 with err naming the user. */
int priv_lookup(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen);
/* 0, or -1 with err saying which step failed (the process must stop then). */
int priv_drop(const char *user, uint32_t keep, char *err, size_t errlen);

#endif

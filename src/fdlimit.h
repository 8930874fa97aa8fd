/* SPDX-License-Identifier: MIT */
/*
 * The descriptor limit, shared by both daemons: a relay holds two
 * sockets per connection, tund one per stream plus its listeners, and
 * the default soft limit (1024) is far below either's caps.
 */
#ifndef FDLIMIT_H
#define FDLIMIT_H

#include <stddef.h>

/*
 * Raises RLIMIT_NOFILE's soft limit toward want, and the hard limit
 * with it where the process may (CAP_SYS_RESOURCE, which a daemon
 * started as root holds until it drops privileges; the kernel's
 * fs.nr_open caps it), else up to the hard limit. Returns the soft
 * limit in force after, which the caller derives its connection caps
 * from (and the event loop's size, at most FDLIMIT_MAX).
 */
#define FDLIMIT_MAX ((size_t)1 << 22)
size_t fdlimit_raise(size_t want);

/* Descriptors an entrance leaves to the rest of the daemon (listeners,
 * the TUN, the control socket, the pool's circuits, logs). */
#define FDLIMIT_RESERVED 256
/* Connections of per descriptors each that a limit of fds leaves room
 * for, once FDLIMIT_RESERVED is kept back; at least 1. */
size_t fdlimit_share(size_t fds, size_t per);

#endif

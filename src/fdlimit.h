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
 * Raises RLIMIT_NOFILE's soft limit toward want (at most the hard
 * limit) and returns the soft limit in force after, which the caller
 * derives its connection caps from (and the event loop's size, at most
 * FDLIMIT_MAX).
 */
#define FDLIMIT_MAX ((size_t)1 << 22)
size_t fdlimit_raise(size_t want);

#endif

// SPDX-License-Identifier: MIT
/* The descriptor limit: see fdlimit.h. */
#include "fdlimit.h"

#include <sys/resource.h>

#include "log.h"

static size_t
clamp(size_t n)
{
	return n > FDLIMIT_MAX ? FDLIMIT_MAX : n;
}

size_t
fdlimit_share(size_t fds, size_t per)
{
	return fds >= FDLIMIT_RESERVED + per ? (fds - FDLIMIT_RESERVED) / per : 1;
}

size_t
fdlimit_raise(size_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		return 1024;
	}
	if (rl.rlim_cur >= want) {
		return clamp((size_t)rl.rlim_cur);
	}
	/* The hard limit too, which needs CAP_SYS_RESOURCE (a daemon started
	 * as root has it until it drops privileges); else up to it. */
	if (rl.rlim_max < want) {
		struct rlimit up = { .rlim_cur = want, .rlim_max = want };

		if (setrlimit(RLIMIT_NOFILE, &up) == 0) {
			return clamp(want);
		}
	}
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warn("setrlimit(RLIMIT_NOFILE)");
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return clamp((size_t)rl.rlim_cur);
}

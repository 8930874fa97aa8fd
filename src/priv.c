// SPDX-License-Identifier: MIT
/* Dropping root: see priv.h. */
#include "priv.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int
priv_lookup(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	const struct passwd *pw = getpwnam(user);

	if (pw == NULL) {
		snprintf(err, errlen, "user %s: no such user", user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int
priv_drop(const char *user, uint32_t keep, char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	uid_t uid;
	gid_t gid;

	if (priv_lookup(user, &uid, &gid, err, errlen) < 0) {
		return -1;
	}
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    (keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) || setresuid(uid, uid, uid) < 0) {
		snprintf(err, errlen, "user %s: %s", user, strerror(errno));
		return -1;
	}
	memset(data, 0, sizeof(data));
	data[0].effective = keep;
	data[0].permitted = keep;
	if (syscall(SYS_capset, &hdr, data) < 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "capabilities: %s", strerror(errno));
		return -1;
	}
	/* Root must be gone for good. */
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errlen, "user %s: root could be regained", user);
		return -1;
	}
	return 0;
}

// SPDX-License-Identifier: MIT
/* The TUN device: see tun.h. */
#include "tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

_Static_assert(TUN_IFNAMSIZ == IFNAMSIZ, "TUN_IFNAMSIZ must be the kernel's IFNAMSIZ");

int
tun_open(const char *name, char ifname[TUN_IFNAMSIZ], char *err, size_t errlen)
{
	struct ifreq ifr;
	size_t len = strlen(name);
	int fd, e;

	if (len >= IFNAMSIZ) {
		snprintf(err, errlen, "TUN name \"%.*s...\" too long (at most %d bytes)",
			 IFNAMSIZ, name, IFNAMSIZ - 1);
		return -ENAMETOOLONG;
	}
	/* O_NONBLOCK on the open file is what the TUN driver checks on read. */
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "open /dev/net/tun: %s", strerror(e));
		return -e;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	memcpy(ifr.ifr_name, name, len);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		snprintf(err, errlen, "TUNSETIFF %s: %s", len > 0 ? name : "tun%d", strerror(e));
		goto fail;
	}
	/*
	 * A persistent TUN of that name (ip tuntap add) accepts TUNSETIFF too,
	 * but it would stay, with its routes, after we die. TUNGETIFF reports
	 * the device's flags, IFF_PERSIST among them.
	 */
	if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
		e = errno;
		snprintf(err, errlen, "TUNGETIFF %.*s: %s", IFNAMSIZ, ifr.ifr_name, strerror(e));
		goto fail;
	}
	if (ifr.ifr_flags & IFF_PERSIST) {
		e = EEXIST;
		snprintf(err, errlen, "%.*s is a persistent TUN, which would outlive tund "
			 "(remove it: ip tuntap del %.*s mode tun)", IFNAMSIZ, ifr.ifr_name,
			 IFNAMSIZ, ifr.ifr_name);
		goto fail;
	}
	memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
	ifname[IFNAMSIZ - 1] = '\0';
	return fd;

fail:
	close(fd);
	return -e;
}

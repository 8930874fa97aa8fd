// SPDX-License-Identifier: MIT
/* Hop sockets' options: see hopsock.h. */
#include "hopsock.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

void
hop_sock_setup(int fd)
{
	int one = 1, idle = HOP_KEEPIDLE_S, intvl = HOP_KEEPINTVL_S, cnt = HOP_KEEPCNT;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

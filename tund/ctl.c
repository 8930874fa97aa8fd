// SPDX-License-Identifier: MIT
/*
 * The control socket: see ctl.h. One short request per connection, read
 * with a bounded buffer under a timer; the answer is written at once (a
 * status is a few KB, well within a fresh socket's buffer).
 */
#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_REQ_MAX 64
#define CTL_STATUS_MAX 65536
#define CTL_TIMEOUT_MS 2000

struct ctl_conn {
	struct ctl_conn *next;
	struct ctl *c;
	int fd;
	char req[CTL_REQ_MAX];
	size_t len;
	struct ev_timer timer;
};

struct ctl {
	struct ev *ev;
	int lfd;
	char path[108];
	ctl_status_fn *fn;
	void *arg;
	struct ctl_conn *conns;
};

static void
conn_free(struct ctl_conn *k)
{
	struct ctl_conn **pp = &k->c->conns;

	while (*pp && *pp != k) {
		pp = &(*pp)->next;
	}
	if (*pp) {
		*pp = k->next;
	}
	ev_timer_del(k->c->ev, &k->timer);
	ev_fd_del(k->c->ev, k->fd);
	close(k->fd);
	free(k);
}

enum ctl_req
ctl_parse_request(const char *buf, size_t len, size_t cap)
{
	const char *nl = memchr(buf, '\n', len);
	size_t n;

	if (nl == NULL) {
		return len >= cap ? CTL_REQ_BAD : CTL_REQ_MORE;
	}
	n = (size_t)(nl - buf);
	if (n > 0 && buf[n - 1] == '\r') {
		n--;
	}
	if (n == 6 && memcmp(buf, "status", 6) == 0) {
		return CTL_REQ_STATUS;
	}
	if (n == 4 && memcmp(buf, "json", 4) == 0) {
		return CTL_REQ_JSON;
	}
	return CTL_REQ_UNKNOWN;
}

static void
on_conn(struct ev *ev, int fd, unsigned int events, void *arg)
{
	struct ctl_conn *k = arg;
	enum ctl_req req;
	char *out;
	ssize_t n;
	size_t len;

	n = recv(fd, k->req + k->len, sizeof(k->req) - k->len, 0);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			return;
		}
		conn_free(k);
		return;
	}
	k->len += (size_t)n;
	req = ctl_parse_request(k->req, k->len, sizeof(k->req));
	if (req == CTL_REQ_MORE) {
		return;
	}
	if (req == CTL_REQ_BAD) {
		conn_free(k);
		return;
	}
	out = malloc(CTL_STATUS_MAX);
	if (out == NULL) {
		conn_free(k);
		return;
	}
	if (req == CTL_REQ_STATUS || req == CTL_REQ_JSON) {
		len = k->c->fn(k->c->arg, req == CTL_REQ_JSON, out, CTL_STATUS_MAX);
	} else {
		len = (size_t)snprintf(out, CTL_STATUS_MAX, "unknown request (want status or json)\n");
	}
	send(fd, out, len, MSG_NOSIGNAL);
	free(out);
	conn_free(k);
}

static void
on_conn_timer(struct ev *ev, void *arg)
{
	conn_free(arg);
}

static void
on_accept(struct ev *ev, int lfd, unsigned int events, void *arg)
{
	struct ctl *c = arg;
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct ctl_conn *k;

	if (fd < 0) {
		return;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL || ev_fd_add(ev, fd, EV_RD, on_conn, k) < 0) {
		free(k);
		close(fd);
		return;
	}
	k->c = c;
	k->fd = fd;
	ev_timer_init(&k->timer, on_conn_timer, k);
	ev_timer_set(ev, &k->timer, CTL_TIMEOUT_MS);
	k->next = c->conns;
	c->conns = k;
}

struct ctl *
ctl_new(struct ev *ev, const char *path, ctl_status_fn *fn, void *arg, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	int r;
	struct ctl *c;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control: path too long");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->ev = ev;
	c->fn = fn;
	c->arg = arg;
	snprintf(c->path, sizeof(c->path), "%s", path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	/*
	 * A socket file left by a crash would block the bind; but never
	 * remove something else, nor the socket of a tund that still runs.
	 */
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "control %s: exists and is not a socket", path);
			free(c);
			return NULL;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			snprintf(err, errlen, "control %s: another tund is running", path);
			free(c);
			return NULL;
		}
		if (probe >= 0) {
			close(probe);
		}
		unlink(path);
	}
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->lfd < 0 || bind(c->lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(err, errlen, "control %s: %s", path, strerror(errno));
		if (c->lfd >= 0) {
			close(c->lfd);
		}
		free(c);
		return NULL;
	}
	/* Bound: the socket file exists, and a failure from here removes it. */
	if (chmod(path, 0660) < 0 || listen(c->lfd, 16) < 0) {
		r = -errno;
	} else {
		r = ev_fd_add(ev, c->lfd, EV_RD, on_accept, c);
	}
	if (r < 0) {
		snprintf(err, errlen, "control %s: %s", path, strerror(-r));
		close(c->lfd);
		unlink(path);
		free(c);
		return NULL;
	}
	return c;
}

void
ctl_free(struct ctl *c)
{
	if (c == NULL) {
		return;
	}
	while (c->conns) {
		conn_free(c->conns);
	}
	ev_fd_del(c->ev, c->lfd);
	close(c->lfd);
	unlink(c->path);
	free(c);
}

int
ctl_query(const char *path, bool json)
{
	struct sockaddr_un sun;
	char buf[4096];
	const char *req = json ? "json\n" : "status\n";
	ssize_t n;
	size_t got = 0;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "tund: %s: path too long\n", path);
		return 1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "tund: cannot reach %s: %s (is tund running?)\n", path, strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		return 1;
	}
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		fprintf(stderr, "tund: %s: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		got += (size_t)n;
	}
	close(fd);
	if (n < 0 || got == 0) {
		/* A tund that closes without a word (it is stopping, or it broke) is not a status. */
		fprintf(stderr, "tund: %s: no answer%s%s\n", path, n < 0 ? ": " : "",
			n < 0 ? strerror(errno) : "");
		return 1;
	}
	return 0;
}

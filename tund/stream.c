// SPDX-License-Identifier: MIT
/*
 * Streams: see stream.h. pump() moves what it can in both directions
 * until nothing changes, then sets interest: the local fds join the loop
 * only for what they wait for, the circuit reads only while rx is empty.
 */
#include "stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"

/* Per direction; allocated only while holding data, so idle streams cost none. */
#define STREAM_BUF 65536

struct stream {
	struct ev *ev;
	struct circuit *c;
	struct stream_opts o;
	bool sock;                      /* in_fd == out_fd */
	bool in_polled, out_polled;     /* false: never blocks, never polled */
	struct buf tx;                  /* local -> circuit */
	struct buf rx;                  /* circuit -> local */
	bool in_eof, shut_sent, out_blocked, out_shut;
	uint64_t up, down;
	struct ev_timer idle;           /* also the first kick, at 0 ms */
	bool started;
	uint64_t last_ms;
	stream_end_cb *cb;
	void *arg;
	bool ended;
	int busy;
	bool zombie;
};

static void pump(struct stream *s);

static void
end(struct stream *s, int err, const char *why)
{
	if (s->ended) {
		return;
	}
	s->ended = true;
	ev_timer_del(s->ev, &s->idle);
	if (s->in_polled) {
		ev_fd_del(s->ev, s->o.in_fd);
		s->in_polled = false;
	}
	if (s->out_polled && !s->sock) {
		ev_fd_del(s->ev, s->o.out_fd);
	}
	s->out_polled = false;
	if (err && s->sock) {
		/* The local application learns of an abortive end as a reset. */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(s->o.in_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	s->cb(s, err, why, s->arg);
}

static void
on_local(struct ev *ev, int fd, unsigned int events, void *arg)
{
	struct stream *s = arg;

	if (events == EV_ERR) {
		/*
		 * Nothing was asked for and the fd failed or hung up. A socket
		 * with an error was reset by the application; a pipe whose
		 * reader left cannot take our data. A hang-up alone is an end
		 * of data that pump() reads; the fd then leaves the loop, or
		 * it would report the hang-up forever.
		 */
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		bool is_sock = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0;
		const char *why = NULL;

		if (is_sock && soerr) {
			why = "local connection reset";
		} else if (!is_sock && fd == s->o.out_fd && !s->sock) {
			why = "local reader gone";
		}
		if (why) {
			s->busy++;
			end(s, is_sock ? ECONNRESET : EPIPE, why);
			s->busy--;
			if (s->zombie) {
				stream_free(s);
			}
			return;
		}
		ev_fd_del(ev, fd);
		if (fd == s->o.in_fd) {
			s->in_polled = false;
		}
		if (fd == s->o.out_fd) {
			s->out_polled = false;
		}
	}
	pump(s);
}

static void
on_circuit(struct circuit *c, void *arg)
{
	pump(arg);
}

static void
on_dead(struct circuit *c, void *arg)
{
	struct stream *s = arg;

	s->busy++;
	end(s, EPIPE, circuit_error(c));
	s->busy--;
	if (s->zombie) {
		stream_free(s);
	}
}

static const struct circuit_cbs stream_cbs = {
	.readable = on_circuit,
	.writable = on_circuit,
	.dead = on_dead,
};

static void
on_idle(struct ev *ev, void *arg)
{
	struct stream *s = arg;
	uint64_t now = ev_now_ms(ev);

	if (!s->started) {
		s->started = true;
		if (s->o.idle_ms) {
			ev_timer_set(ev, &s->idle, s->o.idle_ms);
		}
		pump(s);
		return;
	}
	if (now < s->last_ms + s->o.idle_ms) {
		ev_timer_set(ev, &s->idle, s->last_ms + s->o.idle_ms - now);
		return;
	}
	s->busy++;
	end(s, ETIMEDOUT, "idle timeout");
	s->busy--;
	if (s->zombie) {
		stream_free(s);
	}
}

static bool
poll_fd(struct stream *s, int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0) {
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	}
	return ev_fd_add(s->ev, fd, 0, on_local, s) == 0;
}

static void
set_interest(struct stream *s)
{
	unsigned int m_in = (!s->in_eof && buf_room(&s->tx) > 0) ? EV_RD : 0;
	unsigned int m_out = s->out_blocked ? EV_WR : 0;

	if (s->sock) {
		if (s->in_polled) {
			ev_fd_mod(s->ev, s->o.in_fd, m_in | m_out);
		}
		return;
	}
	if (s->in_polled) {
		ev_fd_mod(s->ev, s->o.in_fd, m_in);
	}
	if (s->out_polled) {
		ev_fd_mod(s->ev, s->o.out_fd, m_out);
	}
}

/* One pass of each direction; returns true if anything moved. */
static bool
step(struct stream *s, int *err, const char **why)
{
	bool moved = false;

	/* local -> tx */
	if (!s->in_eof && buf_room(&s->tx) > 0) {
		size_t room;
		uint8_t *w = buf_wptr(&s->tx, &room);
		ssize_t n;

		if (w == NULL) {
			*err = ENOMEM;
			*why = "out of memory";
			return false;
		}
		n = s->sock ? recv(s->o.in_fd, w, room, 0) : read(s->o.in_fd, w, room);
		if (n > 0) {
			buf_commit(&s->tx, (size_t)n);
			moved = true;
		} else if (n == 0) {
			s->in_eof = true;
			moved = true;
		} else if (errno != EAGAIN && errno != EINTR) {
			*err = errno;
			*why = "local connection reset";
			return false;
		}
	}
	/*
	 * tx -> circuit: a blocked write is retried with the same bytes
	 * first (tx's head only moves when they are taken; a compaction
	 * may move them, which the TLS contexts accept).
	 */
	if (buf_len(&s->tx) > 0) {
		size_t len;
		const uint8_t *p = buf_rptr(&s->tx, &len);
		ssize_t n = circuit_write(s->c, p, len);

		if (n > 0) {
			buf_consume(&s->tx, (size_t)n);
			s->up += (uint64_t)n;
			moved = true;
		} else if (n != -EAGAIN) {
			*err = EPIPE;
			*why = circuit_error(s->c);
			return false;
		}
	}
	if (s->in_eof && buf_len(&s->tx) == 0 && !s->shut_sent && !s->o.no_halfclose) {
		int r = circuit_shutdown(s->c);

		if (r == 0) {
			s->shut_sent = true;
			moved = true;
		} else if (r != -EAGAIN) {
			*err = EPIPE;
			*why = circuit_error(s->c);
			return false;
		}
	}
	/*
	 * circuit -> rx: as many records as are there and fit, so the local
	 * side gets one large write instead of one per TLS record.
	 */
	while (buf_len(&s->rx) == 0 || (buf_room(&s->rx) > 0 && !s->out_blocked)) {
		size_t room;
		uint8_t *w;
		ssize_t n;

		if (circuit_peer_eof(s->c)) {
			break;
		}
		w = buf_wptr(&s->rx, &room);
		if (w == NULL) {
			if (room == 0 && buf_len(&s->rx) > 0) {
				break;          /* full: write it out first */
			}
			*err = ENOMEM;
			*why = "out of memory";
			return false;
		}
		n = circuit_read(s->c, w, room);
		if (n > 0) {
			buf_commit(&s->rx, (size_t)n);
			moved = true;
		} else if (n == 0) {
			moved = true;
		} else if (n == -EAGAIN) {
			break;
		} else {
			*err = EPIPE;
			*why = circuit_error(s->c);
			return false;
		}
	}
	/* rx -> local */
	if (buf_len(&s->rx) > 0) {
		size_t len;
		const uint8_t *p = buf_rptr(&s->rx, &len);
		ssize_t n = s->sock ? send(s->o.out_fd, p, len, MSG_NOSIGNAL) : write(s->o.out_fd, p, len);

		if (n > 0) {
			buf_consume(&s->rx, (size_t)n);
			s->down += (uint64_t)n;
			s->out_blocked = false;
			moved = true;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			s->out_blocked = true;
		} else {
			*err = n < 0 ? errno : EPIPE;
			*why = "local reader gone";
			return false;
		}
	}
	/* The exit's end of data, all delivered: FIN to the application. */
	if (circuit_peer_eof(s->c) && buf_len(&s->rx) == 0 && s->sock && !s->out_shut) {
		shutdown(s->o.out_fd, SHUT_WR);
		s->out_shut = true;
	}
	return moved;
}

static void
pump(struct stream *s)
{
	int err = 0;
	const char *why = NULL;
	bool moved;

	if (s->ended) {
		return;
	}
	s->busy++;
	do {
		moved = step(s, &err, &why);
		if (moved) {
			s->last_ms = ev_now_ms(s->ev);
		}
	} while (moved && err == 0);
	if (err) {
		end(s, err, why ? why : "stream broken");
	} else if (circuit_peer_eof(s->c) && buf_len(&s->rx) == 0 &&
		   (s->shut_sent || s->o.no_halfclose || !s->sock)) {
		/* Done both ways (or, for tools, when the exit is done). */
		end(s, 0, "done");
	} else {
		circuit_set_reading(s->c, buf_room(&s->rx) > 0);
		set_interest(s);
	}
	s->busy--;
	if (s->zombie) {
		stream_free(s);
	}
}

struct stream *
stream_new(struct ev *ev, struct circuit *c, const struct stream_opts *o, stream_end_cb *cb,
	   void *arg)
{
	struct stream *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		return NULL;
	}
	s->ev = ev;
	s->c = c;
	s->o = *o;
	s->cb = cb;
	s->arg = arg;
	s->sock = o->in_fd == o->out_fd;
	s->last_ms = ev_now_ms(ev);
	ev_timer_init(&s->idle, on_idle, s);
	buf_init(&s->tx, STREAM_BUF);
	buf_init(&s->rx, STREAM_BUF);
	if (buf_put(&s->tx, o->pre, o->pre_len) < 0) {
		buf_fini(&s->tx);
		free(s);
		return NULL;
	}
	s->o.pre = NULL;
	s->in_polled = poll_fd(s, o->in_fd);
	s->out_polled = s->sock ? s->in_polled : poll_fd(s, o->out_fd);
	circuit_set_cbs(c, &stream_cbs, s);
	ev_timer_set(ev, &s->idle, 0);
	return s;
}

void
stream_free(struct stream *s)
{
	if (s == NULL) {
		return;
	}
	if (s->busy > 0) {
		s->zombie = true;
		return;
	}
	ev_timer_del(s->ev, &s->idle);
	if (s->in_polled) {
		ev_fd_del(s->ev, s->o.in_fd);
	}
	if (s->out_polled && !s->sock) {
		ev_fd_del(s->ev, s->o.out_fd);
	}
	circuit_free(s->c);
	buf_fini(&s->tx);
	buf_fini(&s->rx);
	if (s->o.own_fds) {
		close(s->o.in_fd);
		if (!s->sock) {
			close(s->o.out_fd);
		}
	}
	free(s);
}

uint64_t
stream_bytes_up(const struct stream *s)
{
	return s->up;
}

uint64_t
stream_bytes_down(const struct stream *s)
{
	return s->down;
}

// SPDX-License-Identifier: MIT
/*
 * Streams: see stream.h. Both directions are a struct dir, a source end,
 * a buffer and a destination end, and one function, step(), moves each:
 * read while there is room, write what is buffered, and pass the end of
 * data on once the buffer drained. pump() steps both until nothing moves,
 * then says what each end should wait for. The circuit is wrapped in the
 * same end interface as the local side, so nothing here knows which kind
 * of local end it carries.
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

struct end {
	const struct stream_end_ops *ops;
	void *ctx;
};

struct dir {
	struct end *src, *dst;
	struct buf b;
	bool eof;               /* the source's end of data was read */
	bool shut;              /* and passed on to the destination */
	bool blocked;           /* the destination took nothing last time */
	uint64_t bytes;
};

struct stream {
	struct ev *ev;
	struct circuit *c;
	struct end local, circ;
	struct stream_opts o;
	struct dir up;                  /* local -> circuit */
	struct dir down;                /* circuit -> local */
	struct ev_timer idle;           /* also the first kick, at 0 ms */
	bool started;
	uint64_t last_ms;
	stream_end_cb *cb;
	void *arg;
	bool ended, clean;
	int busy;
	bool again;                     /* woken while pumping */
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
	s->clean = err == 0;
	ev_timer_del(s->ev, &s->idle);
	s->local.ops->want(s->local.ctx, false, false);
	circuit_set_reading(s->c, false);
	s->cb(s, err, why, s->arg);
}

/* Runs fn's effects inside a busy frame, so a free from a callback waits for it. */
static void
leave(struct stream *s)
{
	s->busy--;
	if (s->zombie && s->busy == 0) {
		stream_free(s);
	}
}

void
stream_abort(struct stream *s, int err, const char *why)
{
	s->busy++;
	end(s, err ? err : ECONNRESET, why);
	leave(s);
}

void
stream_wake(struct stream *s)
{
	if (s->busy > 0) {
		s->again = true;
		return;
	}
	pump(s);
}

/* The circuit as an end. */

static ssize_t
circ_read(void *ctx, void *buf, size_t len)
{
	return circuit_read(ctx, buf, len);
}

static ssize_t
circ_write(void *ctx, const void *buf, size_t len)
{
	return circuit_write(ctx, buf, len);
}

static int
circ_shutdown(void *ctx)
{
	return circuit_shutdown(ctx);
}

static void
circ_want(void *ctx, bool rd, bool wr)
{
	/* Writes are retried by the circuit itself, which says when (writable). */
	circuit_set_reading(ctx, rd);
}

static void
circ_close(void *ctx, bool abortive)
{
	/* Graceful by itself when both ways ended cleanly. */
	circuit_free(ctx);
}

static const struct stream_end_ops circ_ops = {
	.read = circ_read,
	.write = circ_write,
	.shutdown = circ_shutdown,
	.want = circ_want,
	.close = circ_close,
};

static void
on_circuit(struct circuit *c, void *arg)
{
	stream_wake(arg);
}

static void
on_dead(struct circuit *c, void *arg)
{
	stream_abort(arg, EPIPE, circuit_error(c));
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
	stream_abort(s, ETIMEDOUT, "idle timeout");
}

/*
 * One pass of one direction; true if anything moved. On failure *err and
 * *why say what broke: the circuit names its hop, the local side gets a
 * plain description.
 */
static bool
step(struct stream *s, struct dir *d, int *err, const char **why)
{
	bool moved = false, from_circ = d->src == &s->circ;
	ssize_t n;

	while (!d->eof && buf_room(&d->b) > 0) {
		size_t room;
		uint8_t *w = buf_wptr(&d->b, &room);

		if (w == NULL) {
			*err = ENOMEM;
			*why = "out of memory";
			return false;
		}
		n = d->src->ops->read(d->src->ctx, w, room);
		if (n > 0) {
			buf_commit(&d->b, (size_t)n);
			moved = true;
		} else if (n == 0) {
			d->eof = true;
			moved = true;
		} else if (n == -EAGAIN) {
			break;
		} else {
			*err = from_circ ? EPIPE : (int)-n;
			*why = from_circ ? circuit_error(s->c) : "local connection reset";
			return false;
		}
	}
	buf_shed(&d->b);
	/*
	 * A blocked write is retried with the same bytes first: the head of
	 * the buffer only moves when they are taken (a compaction may move
	 * them, which the TLS contexts accept).
	 */
	if (buf_len(&d->b) > 0) {
		size_t len;
		const uint8_t *p = buf_rptr(&d->b, &len);

		n = d->dst->ops->write(d->dst->ctx, p, len);
		if (n > 0) {
			buf_consume(&d->b, (size_t)n);
			d->bytes += (uint64_t)n;
			d->blocked = false;
			moved = true;
		} else if (n == -EAGAIN) {
			d->blocked = true;
		} else {
			*err = from_circ ? (int)-n : EPIPE;
			*why = from_circ ? "local reader gone" : circuit_error(s->c);
			return false;
		}
	}
	if (d->eof && buf_len(&d->b) == 0 && !d->shut && !(d == &s->up && s->o.no_halfclose)) {
		int r = d->dst->ops->shutdown(d->dst->ctx);

		if (r == 0) {
			d->shut = true;
			d->blocked = false;
			moved = true;
		} else if (r == -EAGAIN) {
			d->blocked = true;
		} else {
			*err = from_circ ? -r : EPIPE;
			*why = from_circ ? "local reader gone" : circuit_error(s->c);
			return false;
		}
	}
	return moved;
}

static bool
finished(const struct stream *s, const struct dir *d)
{
	return d->eof && buf_len(&d->b) == 0 && (d->shut || (d == &s->up && s->o.no_halfclose));
}

static void
pump(struct stream *s)
{
	int err = 0;
	const char *why = NULL;
	bool moved;

	if (s->ended || !s->started) {
		return;
	}
	s->busy++;
	do {
		s->again = false;
		moved = step(s, &s->up, &err, &why);
		if (err == 0) {
			moved |= step(s, &s->down, &err, &why);
		}
		if (moved) {
			s->last_ms = ev_now_ms(s->ev);
		}
	} while ((moved || s->again) && err == 0 && !s->ended);
	if (s->ended) {
		/* An end aborted while we pumped. */
	} else if (err) {
		end(s, err, why ? why : "stream broken");
	} else if (finished(s, &s->down) &&
		   (finished(s, &s->up) || s->o.down_ends || s->o.no_halfclose)) {
		end(s, 0, "done");
	} else {
		s->circ.ops->want(s->circ.ctx, !s->down.eof && buf_room(&s->down.b) > 0,
				  s->up.blocked);
		s->local.ops->want(s->local.ctx, !s->up.eof && buf_room(&s->up.b) > 0,
				   s->down.blocked);
	}
	leave(s);
}

struct stream *
stream_new(struct ev *ev, struct circuit *c, const struct stream_end_ops *ops, void *ctx,
	   const struct stream_opts *o, stream_end_cb *cb, void *arg)
{
	struct stream *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		return NULL;
	}
	s->ev = ev;
	s->c = c;
	s->local = (struct end){ ops, ctx };
	s->circ = (struct end){ &circ_ops, c };
	s->o = *o;
	s->cb = cb;
	s->arg = arg;
	s->last_ms = ev_now_ms(ev);
	s->up = (struct dir){ .src = &s->local, .dst = &s->circ };
	s->down = (struct dir){ .src = &s->circ, .dst = &s->local };
	buf_init(&s->up.b, STREAM_BUF);
	buf_init(&s->down.b, STREAM_BUF);
	if (buf_put(&s->up.b, o->pre, o->pre_len) < 0) {
		buf_fini(&s->up.b);
		free(s);
		return NULL;
	}
	s->o.pre = NULL;
	ev_timer_init(&s->idle, on_idle, s);
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
	s->local.ops->close(s->local.ctx, !(s->ended && s->clean));
	circ_close(s->c, !(s->ended && s->clean));
	buf_fini(&s->up.b);
	buf_fini(&s->down.b);
	free(s);
}

uint64_t
stream_bytes_up(const struct stream *s)
{
	return s->up.bytes;
}

uint64_t
stream_bytes_down(const struct stream *s)
{
	return s->down.bytes;
}

/*
 * The fd end: a socket, or a pair of fds for tools. An fd that epoll
 * refuses (EPERM: a regular file, /dev/null) is never polled and is
 * read and written as if always ready.
 */

struct fd_end {
	struct stream *s;
	struct ev *ev;
	int in_fd, out_fd;
	bool sock;              /* in_fd == out_fd */
	bool own;
	bool in_polled, out_polled;
};

static ssize_t
fd_read(void *ctx, void *buf, size_t len)
{
	struct fd_end *e = ctx;
	ssize_t n = e->sock ? recv(e->in_fd, buf, len, 0) : read(e->in_fd, buf, len);

	if (n >= 0) {
		return n;
	}
	return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
}

static ssize_t
fd_write(void *ctx, const void *buf, size_t len)
{
	struct fd_end *e = ctx;
	ssize_t n = e->sock ? send(e->out_fd, buf, len, MSG_NOSIGNAL) : write(e->out_fd, buf, len);

	if (n > 0) {
		return n;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		return -EAGAIN;
	}
	return n < 0 ? -errno : -EPIPE;
}

static int
fd_shutdown(void *ctx)
{
	struct fd_end *e = ctx;

	/* A pair's output (stdout) just ends with the stream. */
	if (e->sock) {
		shutdown(e->out_fd, SHUT_WR);
	}
	return 0;
}

static void
fd_want(void *ctx, bool rd, bool wr)
{
	struct fd_end *e = ctx;
	unsigned int m_in = rd ? EV_RD : 0, m_out = wr ? EV_WR : 0;

	if (e->sock) {
		if (e->in_polled) {
			ev_fd_mod(e->ev, e->in_fd, m_in | m_out);
		}
		return;
	}
	if (e->in_polled) {
		ev_fd_mod(e->ev, e->in_fd, m_in);
	}
	if (e->out_polled) {
		ev_fd_mod(e->ev, e->out_fd, m_out);
	}
}

static void
fd_close(void *ctx, bool abortive)
{
	struct fd_end *e = ctx;

	if (e->in_polled) {
		ev_fd_del(e->ev, e->in_fd);
	}
	if (e->out_polled && !e->sock) {
		ev_fd_del(e->ev, e->out_fd);
	}
	if (abortive && e->sock) {
		/* The application learns of an abortive end as a reset. */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(e->in_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	if (e->own) {
		close(e->in_fd);
		if (!e->sock) {
			close(e->out_fd);
		}
	}
	free(e);
}

static const struct stream_end_ops fd_ops = {
	.read = fd_read,
	.write = fd_write,
	.shutdown = fd_shutdown,
	.want = fd_want,
	.close = fd_close,
};

static void
on_fd(struct ev *ev, int fd, unsigned int events, void *arg)
{
	struct fd_end *e = arg;

	if (events == EV_ERR) {
		/*
		 * Nothing was asked for and the fd failed or hung up. A socket
		 * with an error was reset by the application; a pipe whose
		 * reader left cannot take our data. A hang-up alone is an end
		 * of data that the next read sees; the fd then leaves the
		 * loop, or it would report the hang-up forever.
		 */
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		bool is_sock = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0;

		if (is_sock && soerr) {
			stream_abort(e->s, ECONNRESET, "local connection reset");
			return;
		}
		if (!is_sock && fd == e->out_fd && !e->sock) {
			stream_abort(e->s, EPIPE, "local reader gone");
			return;
		}
		ev_fd_del(ev, fd);
		if (fd == e->in_fd) {
			e->in_polled = false;
		}
		if (fd == e->out_fd) {
			e->out_polled = false;
		}
	}
	stream_wake(e->s);
}

/* Adds fd to the loop with no interest yet: 1 polled, 0 never pollable, -errno. */
static int
poll_fd(struct fd_end *e, int fd)
{
	int fl = fcntl(fd, F_GETFL), r;

	if (fl >= 0) {
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	}
	r = ev_fd_add(e->ev, fd, 0, on_fd, e);
	if (r == -EPERM) {
		return 0;
	}
	return r < 0 ? r : 1;
}

struct stream *
stream_new_fd(struct ev *ev, struct circuit *c, const struct stream_fd_opts *fo,
	      const struct stream_opts *o, stream_end_cb *cb, void *arg)
{
	struct fd_end *e = calloc(1, sizeof(*e));
	struct stream_opts so = *o;
	int r;

	if (e == NULL) {
		return NULL;
	}
	e->ev = ev;
	e->in_fd = fo->in_fd;
	e->out_fd = fo->out_fd;
	e->sock = fo->in_fd == fo->out_fd;
	r = poll_fd(e, e->in_fd);
	if (r < 0) {
		goto fail;
	}
	e->in_polled = r == 1;
	if (e->sock) {
		e->out_polled = e->in_polled;
	} else {
		r = poll_fd(e, e->out_fd);
		if (r < 0) {
			goto fail;
		}
		e->out_polled = r == 1;
		so.down_ends = true;
	}
	e->s = stream_new(ev, c, &fd_ops, e, &so, cb, arg);
	if (e->s == NULL) {
		goto fail;
	}
	/* From here the end is the stream's: stream_free closes the fds if own. */
	e->own = fo->own_fds;
	return e->s;
fail:
	if (e->in_polled) {
		ev_fd_del(ev, e->in_fd);
	}
	if (e->out_polled && !e->sock) {
		ev_fd_del(ev, e->out_fd);
	}
	free(e);
	return NULL;
}

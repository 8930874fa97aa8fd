/* SPDX-License-Identifier: MIT */
/*
 * A stream: a pipe between two ends, copying bytes both ways through two
 * bounded buffers (DESIGN section 9: one circuit per stream). One end is
 * always a circuit; the other, the local end, is anything with the
 * interface below: a socket or a pair of fds (the SOCKS5 entrance, tools),
 * or a connection of tund's userspace TCP stack (the TUN side). Both
 * directions run the same copy loop with the same rule: a full buffer
 * stops reading its source (a socket's or the userspace stack's TCP
 * window closes; TLS records wait in the relays' sockets).
 *
 * End of data maps both ways (FIN <-> close_notify); a reset or circuit
 * failure ends the other side abortively (RST). An idle timer reclaims a
 * stream that moves nothing.
 */
#ifndef TUND_STREAM_H
#define TUND_STREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "circuit.h"
#include "ev.h"

struct stream;

/*
 * The local end's interface. ctx is the end's own. The end tells the
 * stream that it may move again (became readable or writable, or failed)
 * with stream_wake(); an abortive failure noticed on its own (a reset
 * from the application) may also go through stream_abort().
 */
struct stream_end_ops {
	/* n > 0 bytes, 0 at end of data, -EAGAIN, or another -errno (broken). */
	ssize_t (*read)(void *ctx, void *buf, size_t len);
	/*
	 * n > 0 bytes taken, -EAGAIN (wake later; the next call offers at
	 * least the same bytes again), or another -errno.
	 */
	ssize_t (*write)(void *ctx, const void *buf, size_t len);
	/* Ends our direction toward the end (FIN): 0, -EAGAIN, or -errno. */
	int (*shutdown)(void *ctx);
	/* What the stream waits for: to read (it has room), to write (it is blocked). */
	void (*want)(void *ctx, bool rd, bool wr);
	/*
	 * The stream lets go of the end: abortive (a reset for the
	 * application) or clean. Called once, from stream_free; the end
	 * frees what it must.
	 */
	void (*close)(void *ctx, bool abortive);
};

/*
 * Called once when the stream ends; err is 0 for a clean end both ways.
 * why is a short text for logs. The callback may free the stream.
 */
typedef void stream_end_cb(struct stream *s, int err, const char *why, void *arg);

struct stream_opts {
	/*
	 * The stream is done when the circuit's direction is (end of data
	 * from the exit, all delivered), whatever the local side does: for
	 * tools writing to stdout, and for applications that never
	 * half-close.
	 */
	bool down_ends;
	/* Never end our direction toward the exit (some servers abort on a half-close). */
	bool no_halfclose;
	uint64_t idle_ms;       /* 0: no idle timer */
	/* Bytes to send toward the circuit before any read from the local end (copied). */
	const void *pre;
	size_t pre_len;
};

/*
 * Takes the circuit (in CIRC_OPEN) and the local end (ops, ctx). NULL on
 * failure, with nothing taken. The stream starts moving from the loop,
 * never inside this call, so the end callback cannot run before the
 * caller has stored the stream.
 */
struct stream *stream_new(struct ev *ev, struct circuit *c, const struct stream_end_ops *ops,
			  void *ctx, const struct stream_opts *o, stream_end_cb *cb, void *arg);

/* A local end on fds: one socket (in_fd == out_fd) or a pair such as stdin and stdout. */
struct stream_fd_opts {
	int in_fd, out_fd;
	bool own_fds;           /* close them when the stream is freed */
};
/*
 * stream_new with an fd end. Files that cannot be polled (a regular
 * file, /dev/null) are read and written as if always ready. With a pair,
 * the stream ends when the exit's direction does (down_ends is set).
 */
struct stream *stream_new_fd(struct ev *ev, struct circuit *c, const struct stream_fd_opts *fo,
			     const struct stream_opts *o, stream_end_cb *cb, void *arg);

/* The local end may move again (or failed: the next read or write says how). */
void stream_wake(struct stream *s);
/* The local end broke abortively: ends the stream now (err, why for logs). */
void stream_abort(struct stream *s, int err, const char *why);

/* Closes the local end (abortively unless the stream ended cleanly) and the circuit. */
void stream_free(struct stream *s);
uint64_t stream_bytes_up(const struct stream *s);
uint64_t stream_bytes_down(const struct stream *s);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * A stream: one local connection carried by one open circuit (DESIGN
 * section 9: one circuit per stream), bytes copied both ways through two
 * bounded buffers. When the circuit has no room the local socket is not
 * read (its TCP window closes); when the local side does not take data,
 * the circuit is not read (TLS records wait in the relays' sockets).
 * End of data maps both ways (FIN <-> close_notify); a reset or circuit
 * failure ends the other side abortively (RST). An idle timer reclaims
 * a stream that moves nothing.
 *
 * The local side is one socket (in_fd == out_fd), or a pair of fds such as
 * stdin and stdout for tools; files that cannot be polled (a regular file,
 * /dev/null) are read and written as if always ready.
 */
#ifndef TUND_STREAM_H
#define TUND_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "circuit.h"
#include "ev.h"

struct stream;

/*
 * Called once when the stream ends; err is 0 for a clean end both ways.
 * why is a short text for logs. The callback may free the stream.
 */
typedef void stream_end_cb(struct stream *s, int err, const char *why, void *arg);

struct stream_opts {
	int in_fd, out_fd;
	bool own_fds;           /* close them in stream_free */
	bool no_halfclose;      /* keep our direction open when in_fd ends */
	uint64_t idle_ms;       /* 0: no idle timer */
	/* Bytes to send toward the circuit before any read from in_fd (copied). */
	const void *pre;
	size_t pre_len;
};

/*
 * Takes the circuit (in CIRC_OPEN). NULL on failure (nothing taken). The
 * stream starts moving from the loop, never inside this call, so the end
 * callback cannot run before the caller has stored the stream.
 */
struct stream *stream_new(struct ev *ev, struct circuit *c, const struct stream_opts *o,
			  stream_end_cb *cb, void *arg);
/* Frees the circuit (cleanly if it ended cleanly) and the fds it owns. */
void stream_free(struct stream *s);
uint64_t stream_bytes_up(const struct stream *s);
uint64_t stream_bytes_down(const struct stream *s);

#endif

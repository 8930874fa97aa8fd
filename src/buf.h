/* SPDX-License-Identifier: MIT */
/*
 * Bounded byte queues. A buf holds at most cap bytes; its storage is
 * allocated on first use and released whenever it drains (buf_consume),
 * or when a read into it found nothing (buf_shed), so an idle
 * connection costs no buffer memory. Callers stop reading their source
 * when buf_room() is 0: there is no way to grow past cap.
 */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;          /* NULL while empty */
	size_t cap;
	size_t off;             /* first unread byte */
	size_t len;             /* unread bytes */
};

void buf_init(struct buf *b, size_t cap);
void buf_fini(struct buf *b);
/* Releases the storage if it holds nothing: call it after a read into
 * buf_wptr() found no bytes (EAGAIN), which would otherwise keep cap
 * bytes allocated for a connection that only waits. */
void buf_shed(struct buf *b);

static inline size_t
buf_len(const struct buf *b)
{
	return b->len;
}

static inline size_t
buf_room(const struct buf *b)
{
	return b->cap - b->len;
}

/*
 * Where to write up to *room bytes (contiguous, at the tail); NULL on
 * allocation failure or when full. Follow with buf_commit().
 */
uint8_t *buf_wptr(struct buf *b, size_t *room);
void buf_commit(struct buf *b, size_t n);
/* The unread bytes, contiguous; *len is 0 (and NULL returned) when empty. */
const uint8_t *buf_rptr(const struct buf *b, size_t *len);
/* Drops n read bytes; frees the storage when the buf drains. */
void buf_consume(struct buf *b, size_t n);
/* Appends all of p or nothing: 0, -ENOBUFS when it does not fit, -ENOMEM. */
int buf_put(struct buf *b, const void *p, size_t n);

#endif

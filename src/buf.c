// SPDX-License-Identifier: MIT
/* Bounded byte queues: see buf.h. */
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void
buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->cap = cap;
	b->off = 0;
	b->len = 0;
}

void
buf_fini(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->off = 0;
	b->len = 0;
}

void
buf_shed(struct buf *b)
{
	if (b->len == 0) {
		buf_fini(b);
	}
}

uint8_t *
buf_wptr(struct buf *b, size_t *room)
{
	if (b->data == NULL) {
		b->data = malloc(b->cap);
		if (b->data == NULL) {
			*room = 0;
			return NULL;
		}
		b->off = 0;
	}
	/* Move the unread bytes to the front when the tail is short. */
	if (b->off > 0 && b->off + b->len == b->cap) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
	}
	*room = b->cap - (b->off + b->len);
	if (*room == 0) {
		return NULL;
	}
	return b->data + b->off + b->len;
}

void
buf_commit(struct buf *b, size_t n)
{
	b->len += n;
}

const uint8_t *
buf_rptr(const struct buf *b, size_t *len)
{
	*len = b->len;
	return b->len ? b->data + b->off : NULL;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_fini(b);
		return;
	}
	b->off += n;
	b->len -= n;
}

int
buf_put(struct buf *b, const void *p, size_t n)
{
	uint8_t *w;
	size_t room;

	if (n > buf_room(b)) {
		return -ENOBUFS;
	}
	if (n == 0) {
		return 0;
	}
	w = buf_wptr(b, &room);
	if (w == NULL) {
		return -ENOMEM;
	}
	if (room < n) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
		w = b->data + b->len;
	}
	memcpy(w, p, n);
	b->len += n;
	return 0;
}

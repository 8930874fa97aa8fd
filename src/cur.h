/* SPDX-License-Identifier: MIT */
/*
 * Bounds-checked cursors over borrowed bytes (BoringSSL's CBS shape).
 * Every byte that comes from outside is read through struct cur: each
 * getter returns false and leaves the cursor where it was when fewer bytes
 * remain than asked for. struct wcur is the writing twin: puts fail, and
 * write nothing, when the room is short. Multi-byte values are big-endian
 * (network order). Nothing here allocates.
 */
#ifndef CUR_H
#define CUR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cur {
	const uint8_t *p;
	size_t len;
};

static inline void
cur_init(struct cur *c, const void *p, size_t len)
{
	c->p = p;
	c->len = len;
}

static inline size_t
cur_left(const struct cur *c)
{
	return c->len;
}

static inline bool
cur_skip(struct cur *c, size_t n)
{
	if (c->len < n) {
		return false;
	}
	c->p += n;
	c->len -= n;
	return true;
}

static inline bool
cur_get_u8(struct cur *c, uint8_t *v)
{
	if (c->len < 1) {
		return false;
	}
	*v = c->p[0];
	return cur_skip(c, 1);
}

static inline bool
cur_get_u16(struct cur *c, uint16_t *v)
{
	if (c->len < 2) {
		return false;
	}
	*v = (uint16_t)((uint16_t)c->p[0] << 8 | c->p[1]);
	return cur_skip(c, 2);
}

static inline bool
cur_get_u32(struct cur *c, uint32_t *v)
{
	if (c->len < 4) {
		return false;
	}
	*v = (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 | (uint32_t)c->p[2] << 8 | c->p[3];
	return cur_skip(c, 4);
}

static inline bool
cur_get_bytes(struct cur *c, void *out, size_t n)
{
	if (c->len < n) {
		return false;
	}
	memcpy(out, c->p, n);
	return cur_skip(c, n);
}

/* Splits off the next n bytes as their own cursor. */
static inline bool
cur_get_sub(struct cur *c, struct cur *sub, size_t n)
{
	if (c->len < n) {
		return false;
	}
	cur_init(sub, c->p, n);
	return cur_skip(c, n);
}

struct wcur {
	uint8_t *p;
	size_t cap;
	size_t len;
};

static inline void
wcur_init(struct wcur *w, void *p, size_t cap)
{
	w->p = p;
	w->cap = cap;
	w->len = 0;
}

static inline bool
wcur_put_bytes(struct wcur *w, const void *v, size_t n)
{
	if (w->cap - w->len < n) {
		return false;
	}
	if (n) {
		memcpy(w->p + w->len, v, n);
	}
	w->len += n;
	return true;
}

static inline bool
wcur_put_u8(struct wcur *w, uint8_t v)
{
	return wcur_put_bytes(w, &v, 1);
}

static inline bool
wcur_put_u16(struct wcur *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return wcur_put_bytes(w, b, 2);
}

static inline bool
wcur_put_u32(struct wcur *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	return wcur_put_bytes(w, b, 4);
}

#endif

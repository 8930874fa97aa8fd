// SPDX-License-Identifier: MIT
/*
 * Per-source limits: see limit.h. Chained hash, nodes from malloc; the
 * entries with nothing open are also on a doubly linked list, oldest
 * first, which the sweep and the eviction walk.
 */
#include "limit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "bucket.h"

#define LIMIT_BUCKETS 4096

struct src {
	struct src *next;               /* hash chain */
	struct src *idle_prev, *idle_next;
	bool idle;                      /* on the idle list: nothing open */
	struct addr a;
	uint64_t open;
	struct bucket tokens;
};

struct limits {
	struct src *b[LIMIT_BUCKETS];
	struct src *idle_head, *idle_tail;
	uint64_t max_open, rate, burst;
	size_t entries, max_entries;
	uint64_t seed;
};

struct limits *
limits_new(uint64_t max_open, uint64_t rate, uint64_t burst, size_t max_entries)
{
	struct limits *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		return NULL;
	}
	limits_set(l, max_open, rate, burst);
	l->max_entries = max_entries;
	if (RAND_bytes((unsigned char *)&l->seed, sizeof(l->seed)) != 1) {
		l->seed = (uint64_t)(uintptr_t)l;
	}
	return l;
}

void
limits_set(struct limits *l, uint64_t max_open, uint64_t rate, uint64_t burst)
{
	l->max_open = max_open;
	l->rate = rate < BUCKET_MAX ? rate : BUCKET_MAX;
	l->burst = burst < BUCKET_MAX ? burst : BUCKET_MAX;
}

void
limits_free(struct limits *l)
{
	if (l == NULL) {
		return;
	}
	for (size_t i = 0; i < LIMIT_BUCKETS; i++) {
		while (l->b[i]) {
			struct src *s = l->b[i];

			l->b[i] = s->next;
			free(s);
		}
	}
	free(l);
}

static size_t
bucket_of(const struct limits *l, const struct addr *a)
{
	/* FNV-1a, seeded. */
	uint64_t h = 0xcbf29ce484222325ULL ^ l->seed;
	size_t n = a->family == AF_INET ? 4 : 16;

	h = (h ^ a->family) * 0x100000001b3ULL;
	for (size_t i = 0; i < n; i++) {
		h = (h ^ a->a[i]) * 0x100000001b3ULL;
	}
	return (size_t)(h ^ (h >> 29)) & (LIMIT_BUCKETS - 1);
}

/*
 * One IPv6 host commonly owns a whole /64: counting each /128 apart would
 * let it open unlimited "sources". IPv6 is keyed by its /64.
 */
static struct addr
key_of(const struct addr *a)
{
	struct addr k = *a;

	if (k.family == AF_INET6) {
		memset(k.a + 8, 0, 8);
	}
	return k;
}

static struct src *
find(struct limits *l, const struct addr *a)
{
	for (struct src *s = l->b[bucket_of(l, a)]; s; s = s->next) {
		if (addr_eq(&s->a, a)) {
			return s;
		}
	}
	return NULL;
}

static void
idle_add(struct limits *l, struct src *s)
{
	if (s->idle) {
		return;
	}
	s->idle = true;
	s->idle_next = NULL;
	s->idle_prev = l->idle_tail;
	if (l->idle_tail) {
		l->idle_tail->idle_next = s;
	} else {
		l->idle_head = s;
	}
	l->idle_tail = s;
}

static void
idle_del(struct limits *l, struct src *s)
{
	if (!s->idle) {
		return;
	}
	if (s->idle_prev) {
		s->idle_prev->idle_next = s->idle_next;
	} else {
		l->idle_head = s->idle_next;
	}
	if (s->idle_next) {
		s->idle_next->idle_prev = s->idle_prev;
	} else {
		l->idle_tail = s->idle_prev;
	}
	s->idle = false;
	s->idle_prev = s->idle_next = NULL;
}

/* Removes s from the table and frees it. */
static void
forget(struct limits *l, struct src *s)
{
	struct src **pp = &l->b[bucket_of(l, &s->a)];

	while (*pp != s) {
		pp = &(*pp)->next;
	}
	*pp = s->next;
	idle_del(l, s);
	free(s);
	l->entries--;
}

static struct src *
add(struct limits *l, const struct addr *key, uint64_t now_ms)
{
	struct src *s;
	size_t i;

	if (l->entries >= l->max_entries) {
		if (l->idle_head == NULL) {
			return NULL;
		}
		forget(l, l->idle_head);
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return NULL;
	}
	s->a = *key;
	bucket_init(&s->tokens, l->burst, now_ms);
	i = bucket_of(l, key);
	s->next = l->b[i];
	l->b[i] = s;
	l->entries++;
	return s;
}

int
limits_take(struct limits *l, const struct addr *src_addr, uint64_t now_ms)
{
	struct addr key = key_of(src_addr);
	struct src *s = find(l, &key);

	if (s == NULL) {
		s = add(l, &key, now_ms);
		if (s == NULL) {
			return -ENOSPC;
		}
		idle_add(l, s);
	}
	if (s->open >= l->max_open) {
		return -EMFILE;
	}
	if (!bucket_take(&s->tokens, l->rate, l->burst, now_ms)) {
		return -EAGAIN;
	}
	s->open++;
	idle_del(l, s);
	return 0;
}

void
limits_put(struct limits *l, const struct addr *src)
{
	struct addr key = key_of(src);
	struct src *s = find(l, &key);

	if (s && s->open > 0 && --s->open == 0) {
		idle_add(l, s);
	}
}

void
limits_sweep(struct limits *l, uint64_t now_ms)
{
	for (struct src *s = l->idle_head, *next; s; s = next) {
		next = s->idle_next;
		if (bucket_full(&s->tokens, l->rate, l->burst, now_ms)) {
			forget(l, s);
		}
	}
}

size_t
limits_entries(const struct limits *l)
{
	return l->entries;
}

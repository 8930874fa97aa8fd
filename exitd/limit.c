// SPDX-License-Identifier: MIT
/* Per-source limits: see limit.h. Chained hash, nodes from malloc. */
#include "limit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#define LIMIT_BUCKETS 4096

struct src {
	struct src *next;
	struct addr a;
	uint64_t open;
	uint64_t sec;           /* the second counted in n_sec */
	uint64_t n_sec;
};

struct limits {
	struct src *b[LIMIT_BUCKETS];
	uint64_t max_open, max_per_sec;
	size_t entries, max_entries;
	uint64_t seed;
};

struct limits *
limits_new(uint64_t max_open, uint64_t max_per_sec, size_t max_entries)
{
	struct limits *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		return NULL;
	}
	l->max_open = max_open;
	l->max_per_sec = max_per_sec;
	l->max_entries = max_entries;
	if (RAND_bytes((unsigned char *)&l->seed, sizeof(l->seed)) != 1) {
		l->seed = (uint64_t)(uintptr_t)l;
	}
	return l;
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
bucket(const struct limits *l, const struct addr *a)
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
	for (struct src *s = l->b[bucket(l, a)]; s; s = s->next) {
		if (addr_eq(&s->a, a)) {
			return s;
		}
	}
	return NULL;
}

int
limits_take(struct limits *l, const struct addr *src_addr, uint64_t now_ms)
{
	struct addr key = key_of(src_addr);
	const struct addr *src = &key;
	struct src *s = find(l, src);
	uint64_t sec = now_ms / 1000;

	if (s == NULL) {
		size_t i;

		if (l->entries >= l->max_entries) {
			return -ENOSPC;
		}
		s = calloc(1, sizeof(*s));
		if (s == NULL) {
			return -ENOSPC;
		}
		s->a = *src;
		i = bucket(l, src);
		s->next = l->b[i];
		l->b[i] = s;
		l->entries++;
	}
	if (s->sec != sec) {
		s->sec = sec;
		s->n_sec = 0;
	}
	if (s->open >= l->max_open) {
		return -EMFILE;
	}
	if (s->n_sec >= l->max_per_sec) {
		return -EAGAIN;
	}
	s->open++;
	s->n_sec++;
	return 0;
}

void
limits_put(struct limits *l, const struct addr *src)
{
	struct addr key = key_of(src);
	struct src *s = find(l, &key);

	if (s && s->open > 0) {
		s->open--;
	}
}

void
limits_sweep(struct limits *l, uint64_t now_ms)
{
	uint64_t sec = now_ms / 1000;

	for (size_t i = 0; i < LIMIT_BUCKETS; i++) {
		struct src **pp = &l->b[i];

		while (*pp) {
			struct src *s = *pp;

			if (s->open == 0 && s->sec + 2 <= sec) {
				*pp = s->next;
				free(s);
				l->entries--;
			} else {
				pp = &s->next;
			}
		}
	}
}

size_t
limits_entries(const struct limits *l)
{
	return l->entries;
}

// SPDX-License-Identifier: MIT
/*
 * The fake-IP pool: see fakeip.h. This file owns the name <-> slot map,
 * the slot <-> address arithmetic, the LRU order and the state-file
 * record format. It does no I/O (the glue writes and reads the records)
 * and reads no clock.
 *
 * Memory: slots live in one array of small structs (links are slot
 * indices plus one, 0 meaning none, so a calloc'd array is an empty pool
 * and the kernel maps its pages only as slots get used) and one array of
 * 32-bit hash buckets, a power of two at least as many as the slots: 44
 * bytes a slot for a /15 (40 + 4; up to 48 just above a power of two). A
 * name is allocated on its own, only while its slot holds it.
 *
 * The LRU list holds exactly the slots that have a name and no pin, in
 * the order they were last used. A pinned slot leaves the list and comes
 * back at its tail when its last pin goes, so recycling only ever looks
 * at the head: with time that does not go backwards, when the head is
 * still held, every slot in the list is.
 *
 * The name table chains slots by index. Its hash is SipHash-2-4 keyed by
 * cfg->hash_key: names come from local applications only, but one that
 * could predict the hash could make every lookup walk every slot.
 */
#include "fakeip.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cur.h"

/*
 * State-file record, FAKEIP_REC_LEN bytes, big-endian:
 *
 *     0  4  magic "TFIP"
 *     4  2  version (1)
 *     6  2  name length, 1..FAKEIP_NAME_MAX
 *     8  8  fingerprint of the configuration (ranges, exclusions, slots)
 *    16  4  slot index
 *    20  n  name, lowercase, then zeros up to REC_CRC_OFF
 *   284  4  CRC-32 (IEEE 802.3) of bytes 0..283
 *
 * All zeros (a hole in a sparse file) fails the magic: it is the empty
 * record. The CRC catches a record torn by a crash mid-write, the
 * fingerprint one written under other ranges, whose slot numbers would
 * now stand for other addresses.
 */
#define REC_MAGIC "TFIP"
#define REC_VERSION 1
#define REC_HDR_LEN 20
#define REC_CRC_OFF (FAKEIP_REC_LEN - 4)
_Static_assert(REC_HDR_LEN + FAKEIP_NAME_MAX <= REC_CRC_OFF, "a record holds the longest name");

#define LABEL_MAX 63
#define MIN_BUCKETS 16

/* SipHash's key for the configuration fingerprint: fixed, it is no secret. */
static const uint64_t fp_key[2] = { 0x74756e6466697031ULL, 0x66696e6765727072ULL };

struct range {
	bool on;
	struct cidr c;
	size_t alen;            /* 4 or 16 */
	unsigned int host_bits; /* 2..24 for IPv4, 8..64 for IPv6 */
	uint64_t last;          /* highest usable offset */
	uint64_t *excl;         /* excluded offsets in 1..last, sorted, unique */
	size_t n_excl;
};

struct slot {
	char *name;             /* lowercase, NUL-terminated; NULL while free */
	uint64_t used_ms;
	uint32_t prev, next;    /* LRU links, index + 1 */
	uint32_t chain;         /* next slot in the same bucket, index + 1 */
	uint32_t hash;
	uint32_t pins;
	uint8_t len;
};

struct fakeip {
	struct range r4, r6;
	struct slot *s;
	size_t n;
	uint32_t *bucket;       /* first slot of each chain, index + 1 */
	size_t mask;            /* buckets - 1 */
	uint32_t lru_head, lru_tail;
	size_t cursor;          /* every slot below it has been given a name */
	uint64_t hold_ms;
	uint64_t key[2];
	uint64_t fp;
	size_t used, pinned;
	uint64_t recycled, exhausted;
	fakeip_save_cb *save;
	void *save_arg;
};

static uint64_t
rotl(uint64_t x, unsigned int b)
{
	return x << b | x >> (64 - b);
}

static void
sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl(v[1], 13) ^ v[0];
	v[0] = rotl(v[0], 32);
	v[2] += v[3];
	v[3] = rotl(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = rotl(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = rotl(v[1], 17) ^ v[2];
	v[2] = rotl(v[2], 32);
}

static void
sipblock(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sipround(v);
	sipround(v);
	v[0] ^= m;
}

static uint64_t
le64(const uint8_t b[8], size_t n)
{
	uint64_t m = 0;

	for (size_t i = 0; i < n; i++) {
		m |= (uint64_t)b[i] << (8 * i);
	}
	return m;
}

/* SipHash-2-4 (Aumasson and Bernstein, 2012). */
static uint64_t
siphash(const uint64_t key[2], const void *p, size_t len)
{
	uint64_t v[4] = {
		0x736f6d6570736575ULL ^ key[0],
		0x646f72616e646f6dULL ^ key[1],
		0x6c7967656e657261ULL ^ key[0],
		0x7465646279746573ULL ^ key[1],
	};
	uint8_t b[8];
	struct cur c;
	size_t left;

	cur_init(&c, p, len);
	while (cur_get_bytes(&c, b, sizeof(b))) {
		sipblock(v, le64(b, sizeof(b)));
	}
	left = cur_left(&c);
	(void)cur_get_bytes(&c, b, left);
	sipblock(v, le64(b, left) | (uint64_t)len << 56);
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++) {
		sipround(v);
	}
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* CRC-32 as in IEEE 802.3 and zlib (reflected, 0xedb88320), bit by bit. */
static uint32_t
crc32_ieee(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;
	struct cur c;
	uint8_t b;

	cur_init(&c, p, len);
	while (cur_get_u8(&c, &b)) {
		crc ^= b;
		for (int k = 0; k < 8; k++) {
			crc = (crc >> 1) ^ ((crc & 1) ? 0xedb88320u : 0);
		}
	}
	return ~crc;
}

/*
 * Lowercases name into out (NUL-terminated) after checking it is a name
 * the exit can take as text; see fakeip_lookup_name.
 */
static int
norm_name(const char *name, size_t len, char out[FAKEIP_NAME_MAX + 1])
{
	size_t label = 0;

	if (name == NULL || len == 0 || len > FAKEIP_NAME_MAX) {
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];

		if (ch == '.') {
			if (label == 0) {
				return -EINVAL;
			}
			label = 0;
		} else {
			if (ch < 0x21 || ch > 0x7e || ch == '\\' || ++label > LABEL_MAX) {
				return -EINVAL;
			}
			if (ch >= 'A' && ch <= 'Z') {
				ch = (char)(ch - 'A' + 'a');
			}
		}
		out[i] = ch;
	}
	if (label == 0) {
		return -EINVAL;
	}
	out[len] = '\0';
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The host part of a, which lies in r. */
static uint64_t
offset_of(const struct range *r, const struct addr *a)
{
	uint64_t off = 0;
	size_t n = r->alen < 8 ? r->alen : 8;

	for (size_t i = r->alen - n; i < r->alen; i++) {
		off = off << 8 | a->a[i];
	}
	if (r->host_bits < 64) {
		off &= ((uint64_t)1 << r->host_bits) - 1;
	}
	return off;
}

static void
addr_at(const struct range *r, uint64_t off, struct addr *a)
{
	*a = r->c.addr;
	for (size_t i = 0; i < 8 && i < r->alen; i++) {
		a->a[r->alen - 1 - i] |= (uint8_t)(off >> (8 * i));
	}
}

static int
range_init(struct range *r, const struct cidr *c, uint8_t family, const struct fakeip_cfg *cfg)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	size_t n = 0;

	r->on = true;
	r->c = *c;
	if (family == AF_INET) {
		if (c->addr.family != AF_INET || c->prefix < 8 || c->prefix > 30) {
			return -EINVAL;
		}
		r->alen = 4;
		r->host_bits = 32u - c->prefix;
		/* Neither the network address (offset 0) nor the broadcast one. */
		r->last = ((uint64_t)1 << r->host_bits) - 2;
	} else {
		if (c->addr.family != AF_INET6 || c->prefix < 64 || c->prefix > 120) {
			return -EINVAL;
		}
		/* Those addresses would turn into IPv4 in every parser (addr.h). */
		if (c->prefix >= 96 && memcmp(c->addr.a, mapped, sizeof(mapped)) == 0) {
			return -EINVAL;
		}
		r->alen = 16;
		r->host_bits = 128u - c->prefix;
		r->last = r->host_bits == 64 ? UINT64_MAX : ((uint64_t)1 << r->host_bits) - 1;
	}
	if (offset_of(r, &c->addr) != 0) {
		return -EINVAL;
	}
	if (cfg->n_exclude > 0) {
		r->excl = calloc(cfg->n_exclude, sizeof(*r->excl));
		if (r->excl == NULL) {
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < cfg->n_exclude; i++) {
		const struct addr *x = &cfg->exclude[i];
		uint64_t off;

		if (x->family != family || !cidr_contains(c, x)) {
			continue;
		}
		off = offset_of(r, x);
		if (off >= 1 && off <= r->last) {
			r->excl[n++] = off;
		}
	}
	if (n > 0) {
		qsort(r->excl, n, sizeof(*r->excl), cmp_u64);
	}
	for (size_t i = 0; i < n; i++) {
		if (r->n_excl == 0 || r->excl[r->n_excl - 1] != r->excl[i]) {
			r->excl[r->n_excl++] = r->excl[i];
		}
	}
	return 0;
}

static uint64_t
range_usable(const struct range *r)
{
	return r->last - r->n_excl;
}

/* The offset of slot i: the (i+1)-th usable one, stepping over exclusions. */
static uint64_t
slot_offset(const struct range *r, size_t i)
{
	uint64_t off = (uint64_t)i + 1;

	for (size_t k = 0; k < r->n_excl && r->excl[k] <= off; k++) {
		off++;
	}
	return off;
}

/* The slot of address a, or false when a stands for none. */
static bool
addr_slot(const struct fakeip *f, const struct addr *a, size_t *slot)
{
	const struct range *r;
	size_t lo = 0, hi;
	uint64_t off, i;

	if (f == NULL || a == NULL) {
		return false;
	}
	switch (a->family) {
	case AF_INET:
		r = &f->r4;
		break;
	case AF_INET6:
		r = &f->r6;
		break;
	default:
		return false;
	}
	if (!r->on || !cidr_contains(&r->c, a)) {
		return false;
	}
	off = offset_of(r, a);
	if (off == 0 || off > r->last) {
		return false;
	}
	/* lo ends as the number of exclusions below off. */
	hi = r->n_excl;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->excl[mid] < off) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	if (lo < r->n_excl && r->excl[lo] == off) {
		return false;
	}
	i = off - 1 - lo;
	if (i >= f->n) {
		return false;
	}
	*slot = (size_t)i;
	return true;
}

/* Ranges, exclusions and slot count, in a canonical byte form, hashed. */
static int
fingerprint(struct fakeip *f)
{
	const struct range *rs[2] = { &f->r4, &f->r6 };
	size_t cap = 8;
	struct wcur w;
	uint8_t *buf;
	bool ok = true;

	for (int k = 0; k < 2; k++) {
		cap += 1 + 16 + 1 + 8 + 8 * rs[k]->n_excl;
	}
	buf = malloc(cap);
	if (buf == NULL) {
		return -ENOMEM;
	}
	wcur_init(&w, buf, cap);
	for (int k = 0; k < 2; k++) {
		const struct range *r = rs[k];

		ok = ok && wcur_put_u8(&w, r->on) && wcur_put_bytes(&w, r->c.addr.a, 16) &&
		    wcur_put_u8(&w, r->c.prefix) && wcur_put_u32(&w, (uint32_t)(r->n_excl >> 32)) &&
		    wcur_put_u32(&w, (uint32_t)r->n_excl);
		for (size_t i = 0; i < r->n_excl; i++) {
			ok = ok && wcur_put_u32(&w, (uint32_t)(r->excl[i] >> 32)) &&
			    wcur_put_u32(&w, (uint32_t)r->excl[i]);
		}
	}
	ok = ok && wcur_put_u32(&w, (uint32_t)((uint64_t)f->n >> 32)) &&
	    wcur_put_u32(&w, (uint32_t)f->n);
	f->fp = siphash(fp_key, buf, w.len);
	free(buf);
	return ok ? 0 : -EINVAL;
}

struct fakeip *
fakeip_new(const struct fakeip_cfg *cfg)
{
	struct fakeip *f;
	uint64_t n, cap;
	size_t nb;

	if (cfg == NULL || (!cfg->have_v4 && !cfg->have_v6) ||
	    (cfg->n_exclude > 0 && cfg->exclude == NULL)) {
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		return NULL;
	}
	if ((cfg->have_v4 && range_init(&f->r4, &cfg->v4, AF_INET, cfg) != 0) ||
	    (cfg->have_v6 && range_init(&f->r6, &cfg->v6, AF_INET6, cfg) != 0)) {
		goto fail;
	}
	if (cfg->max_slots > 0) {
		cap = cfg->max_slots < FAKEIP_SLOTS_MAX ? cfg->max_slots : FAKEIP_SLOTS_MAX;
	} else {
		cap = cfg->have_v4 ? FAKEIP_SLOTS_MAX : FAKEIP_SLOTS_V6;
	}
	n = cap;
	if (f->r4.on && range_usable(&f->r4) < n) {
		n = range_usable(&f->r4);
	}
	if (f->r6.on && range_usable(&f->r6) < n) {
		n = range_usable(&f->r6);
	}
	if (n == 0) {
		goto fail;
	}
	f->n = (size_t)n;
	for (nb = MIN_BUCKETS; nb < f->n; nb *= 2) {
	}
	f->mask = nb - 1;
	f->s = calloc(f->n, sizeof(*f->s));
	f->bucket = calloc(nb, sizeof(*f->bucket));
	if (f->s == NULL || f->bucket == NULL || fingerprint(f) != 0) {
		goto fail;
	}
	f->hold_ms = cfg->hold_ms;
	f->key[0] = cfg->hash_key[0];
	f->key[1] = cfg->hash_key[1];
	return f;

fail:
	fakeip_free(f);
	return NULL;
}

void
fakeip_free(struct fakeip *f)
{
	if (f == NULL) {
		return;
	}
	if (f->s != NULL) {
		for (size_t i = 0; i < f->n; i++) {
			free(f->s[i].name);
		}
	}
	free(f->s);
	free(f->bucket);
	free(f->r4.excl);
	free(f->r6.excl);
	free(f);
}

static uint32_t
name_hash(const struct fakeip *f, const char *name, size_t len)
{
	return (uint32_t)siphash(f->key, name, len);
}

/* The slot holding name (lowercase), as index + 1, or 0. */
static uint32_t
find(const struct fakeip *f, const char *name, size_t len, uint32_t h)
{
	for (uint32_t j = f->bucket[h & f->mask]; j != 0; j = f->s[j - 1].chain) {
		const struct slot *s = &f->s[j - 1];

		if (s->hash == h && s->len == len && memcmp(s->name, name, len) == 0) {
			return j;
		}
	}
	return 0;
}

static void
lru_unlink(struct fakeip *f, size_t i)
{
	struct slot *s = &f->s[i];

	if (s->prev != 0) {
		f->s[s->prev - 1].next = s->next;
	} else {
		f->lru_head = s->next;
	}
	if (s->next != 0) {
		f->s[s->next - 1].prev = s->prev;
	} else {
		f->lru_tail = s->prev;
	}
	s->prev = 0;
	s->next = 0;
}

static void
lru_append(struct fakeip *f, size_t i)
{
	struct slot *s = &f->s[i];

	s->prev = f->lru_tail;
	s->next = 0;
	if (f->lru_tail != 0) {
		f->s[f->lru_tail - 1].next = (uint32_t)(i + 1);
	} else {
		f->lru_head = (uint32_t)(i + 1);
	}
	f->lru_tail = (uint32_t)(i + 1);
}

static void
touch(struct fakeip *f, size_t i, uint64_t now_ms)
{
	struct slot *s = &f->s[i];

	s->used_ms = now_ms;
	if (s->pins == 0) {
		lru_unlink(f, i);
		lru_append(f, i);
	}
}

/* Held: used less than hold_ms ago (or, the clock having gone back, "later"). */
static bool
held(const struct fakeip *f, const struct slot *s, uint64_t now_ms)
{
	return now_ms < s->used_ms || now_ms - s->used_ms < f->hold_ms;
}

/* Takes a slot's name away: out of the table and the LRU list. */
static void
clear_slot(struct fakeip *f, size_t i)
{
	struct slot *s = &f->s[i];
	uint32_t *pp = &f->bucket[s->hash & f->mask];

	while (*pp != i + 1) {
		pp = &f->s[*pp - 1].chain;
	}
	*pp = s->chain;
	lru_unlink(f, i);
	free(s->name);
	memset(s, 0, sizeof(*s));
	f->used--;
}

static void
set_slot(struct fakeip *f, size_t i, char *name, size_t len, uint32_t h, uint64_t now_ms)
{
	struct slot *s = &f->s[i];
	uint32_t *head = &f->bucket[h & f->mask];

	s->name = name;
	s->len = (uint8_t)len;
	s->hash = h;
	s->pins = 0;
	s->used_ms = now_ms;
	s->chain = *head;
	*head = (uint32_t)(i + 1);
	lru_append(f, i);
	f->used++;
}

/* A never-used slot, else the LRU one if nobody holds it, else -ENOSPC. */
static int
take_slot(struct fakeip *f, uint64_t now_ms, size_t *out)
{
	size_t i;

	/* Restored slots were given their names out of order: step over them. */
	while (f->cursor < f->n && f->s[f->cursor].name != NULL) {
		f->cursor++;
	}
	if (f->cursor < f->n) {
		*out = f->cursor++;
		return 0;
	}
	if (f->lru_head == 0 || held(f, &f->s[f->lru_head - 1], now_ms)) {
		f->exhausted++;
		return -ENOSPC;
	}
	i = f->lru_head - 1;
	clear_slot(f, i);
	f->recycled++;
	*out = i;
	return 0;
}

static void
save_slot(const struct fakeip *f, size_t i)
{
	static const uint8_t zeros[FAKEIP_REC_LEN];
	const struct slot *s = &f->s[i];
	uint8_t rec[FAKEIP_REC_LEN];
	struct wcur w;
	bool ok;

	if (f->save == NULL) {
		return;
	}
	wcur_init(&w, rec, sizeof(rec));
	ok = wcur_put_bytes(&w, REC_MAGIC, 4) && wcur_put_u16(&w, REC_VERSION) &&
	    wcur_put_u16(&w, s->len) && wcur_put_u32(&w, (uint32_t)(f->fp >> 32)) &&
	    wcur_put_u32(&w, (uint32_t)f->fp) && wcur_put_u32(&w, (uint32_t)i) &&
	    wcur_put_bytes(&w, s->name, s->len) &&
	    wcur_put_bytes(&w, zeros, REC_CRC_OFF - w.len) &&
	    wcur_put_u32(&w, crc32_ieee(rec, REC_CRC_OFF));
	if (ok) {
		f->save(f->save_arg, i, rec, sizeof(rec));
	}
}

static void
fill(const struct fakeip *f, size_t i, struct addr *v4, struct addr *v6)
{
	if (v4 != NULL) {
		memset(v4, 0, sizeof(*v4));
		if (f->r4.on) {
			addr_at(&f->r4, slot_offset(&f->r4, i), v4);
		}
	}
	if (v6 != NULL) {
		memset(v6, 0, sizeof(*v6));
		if (f->r6.on) {
			addr_at(&f->r6, slot_offset(&f->r6, i), v6);
		}
	}
}

int
fakeip_lookup_name(struct fakeip *f, const char *name, size_t len, uint64_t now_ms,
		   struct addr *v4, struct addr *v6)
{
	char lname[FAKEIP_NAME_MAX + 1];
	uint32_t h, j;
	char *copy;
	size_t i;
	int err;

	if (f == NULL) {
		return -EINVAL;
	}
	err = norm_name(name, len, lname);
	if (err != 0) {
		return err;
	}
	h = name_hash(f, lname, len);
	j = find(f, lname, len, h);
	if (j != 0) {
		touch(f, j - 1, now_ms);
		fill(f, j - 1, v4, v6);
		return 0;
	}
	/* Allocated first, so that running out of memory recycles nothing. */
	copy = malloc(len + 1);
	if (copy == NULL) {
		return -ENOMEM;
	}
	memcpy(copy, lname, len + 1);
	err = take_slot(f, now_ms, &i);
	if (err != 0) {
		free(copy);
		return err;
	}
	set_slot(f, i, copy, len, h, now_ms);
	save_slot(f, i);
	fill(f, i, v4, v6);
	return 0;
}

const char *
fakeip_lookup_addr(struct fakeip *f, const struct addr *a, uint64_t now_ms)
{
	size_t i;

	if (!addr_slot(f, a, &i) || f->s[i].name == NULL) {
		return NULL;
	}
	touch(f, i, now_ms);
	return f->s[i].name;
}

bool
fakeip_contains(const struct fakeip *f, const struct addr *a)
{
	if (f == NULL || a == NULL) {
		return false;
	}
	return (f->r4.on && cidr_contains(&f->r4.c, a)) || (f->r6.on && cidr_contains(&f->r6.c, a));
}

bool
fakeip_has_family(const struct fakeip *f, int family)
{
	if (f == NULL) {
		return false;
	}
	switch (family) {
	case AF_INET:
		return f->r4.on;
	case AF_INET6:
		return f->r6.on;
	default:
		return false;
	}
}

void
fakeip_pin(struct fakeip *f, const struct addr *a)
{
	struct slot *s;
	size_t i;

	if (!addr_slot(f, a, &i) || f->s[i].name == NULL) {
		return;
	}
	s = &f->s[i];
	if (s->pins == 0) {
		lru_unlink(f, i);
		f->pinned++;
	}
	/* Saturates: 4 billion connections to one address do not happen. */
	if (s->pins < UINT32_MAX) {
		s->pins++;
	}
}

void
fakeip_unpin(struct fakeip *f, const struct addr *a, uint64_t now_ms)
{
	struct slot *s;
	size_t i;

	if (!addr_slot(f, a, &i) || f->s[i].name == NULL || f->s[i].pins == 0) {
		return;
	}
	s = &f->s[i];
	/* The application may come back to the address it just used: hold it. */
	s->used_ms = now_ms;
	if (--s->pins == 0) {
		f->pinned--;
		lru_append(f, i);
	}
}

void
fakeip_set_save(struct fakeip *f, fakeip_save_cb *cb, void *arg)
{
	if (f == NULL) {
		return;
	}
	f->save = cb;
	f->save_arg = arg;
}

int
fakeip_restore(struct fakeip *f, size_t slot, const uint8_t *rec, size_t len, uint64_t now_ms)
{
	uint8_t magic[4], raw[FAKEIP_NAME_MAX], b;
	char lname[FAKEIP_NAME_MAX + 1];
	uint32_t fp_hi, fp_lo, at, crc, h, j;
	uint16_t version, nlen;
	struct cur c;
	char *copy;

	if (f == NULL || rec == NULL || len != FAKEIP_REC_LEN || slot >= f->n) {
		return -EINVAL;
	}
	cur_init(&c, rec, len);
	if (!cur_get_bytes(&c, magic, sizeof(magic)) || memcmp(magic, REC_MAGIC, 4) != 0 ||
	    !cur_get_u16(&c, &version) || version != REC_VERSION || !cur_get_u16(&c, &nlen) ||
	    nlen == 0 || nlen > FAKEIP_NAME_MAX || !cur_get_u32(&c, &fp_hi) ||
	    !cur_get_u32(&c, &fp_lo) || ((uint64_t)fp_hi << 32 | fp_lo) != f->fp ||
	    !cur_get_u32(&c, &at) || at != slot || !cur_get_bytes(&c, raw, nlen)) {
		return -EINVAL;
	}
	/* Zero padding too: a record is exactly what save_slot writes. */
	while (cur_left(&c) > 4) {
		if (!cur_get_u8(&c, &b) || b != 0) {
			return -EINVAL;
		}
	}
	if (!cur_get_u32(&c, &crc) || crc != crc32_ieee(rec, REC_CRC_OFF)) {
		return -EINVAL;
	}
	/* Only a name lookup_name would have stored, byte for byte. */
	memcpy(lname, raw, nlen);
	if (norm_name(lname, nlen, lname) != 0 || memcmp(lname, raw, nlen) != 0) {
		return -EINVAL;
	}
	h = name_hash(f, lname, nlen);
	j = find(f, lname, nlen, h);
	if (j != 0) {
		if (j - 1 != slot) {
			return -EINVAL;
		}
		touch(f, slot, now_ms);
		return 0;
	}
	if (f->s[slot].name != NULL) {
		return -EINVAL;
	}
	copy = malloc((size_t)nlen + 1);
	if (copy == NULL) {
		return -ENOMEM;
	}
	memcpy(copy, lname, (size_t)nlen + 1);
	set_slot(f, slot, copy, nlen, h, now_ms);
	return 0;
}

size_t
fakeip_slots(const struct fakeip *f)
{
	return f == NULL ? 0 : f->n;
}

void
fakeip_stats(const struct fakeip *f, struct fakeip_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (f == NULL) {
		return;
	}
	st->slots = f->n;
	st->used = f->used;
	st->pinned = f->pinned;
	st->recycled = f->recycled;
	st->exhausted = f->exhausted;
}

static int
check_slot(const struct fakeip *f, size_t i, size_t *used, size_t *pinned, size_t *in_lru)
{
	const struct slot *s = &f->s[i];
	char lname[FAKEIP_NAME_MAX + 1];

	if (s->name == NULL) {
		if (s->prev != 0 || s->next != 0 || s->chain != 0 || s->pins != 0 || s->len != 0 ||
		    i < f->cursor) {
			return -EFAULT;
		}
		return 0;
	}
	(*used)++;
	if (s->len != strlen(s->name) || norm_name(s->name, s->len, lname) != 0 ||
	    memcmp(lname, s->name, s->len) != 0 || s->hash != name_hash(f, s->name, s->len) ||
	    find(f, s->name, s->len, s->hash) != i + 1) {
		return -EFAULT;
	}
	if (s->pins > 0) {
		(*pinned)++;
		return (s->prev != 0 || s->next != 0 || f->lru_head == i + 1) ? -EFAULT : 0;
	}
	(*in_lru)++;
	return 0;
}

int
fakeip_check(const struct fakeip *f)
{
	size_t used = 0, pinned = 0, in_lru = 0, n;
	uint32_t prev = 0;

	if (f == NULL) {
		return 0;
	}
	if (f->cursor > f->n) {
		return -EFAULT;
	}
	for (size_t i = 0; i < f->n; i++) {
		if (check_slot(f, i, &used, &pinned, &in_lru) != 0) {
			return -EFAULT;
		}
	}
	if (used != f->used || pinned != f->pinned || used > f->n) {
		return -EFAULT;
	}
	/* The list: exactly the unpinned named slots, linked both ways. */
	n = 0;
	for (uint32_t j = f->lru_head; j != 0; j = f->s[j - 1].next) {
		const struct slot *s = &f->s[j - 1];

		if (++n > in_lru || s->name == NULL || s->pins != 0 || s->prev != prev) {
			return -EFAULT;
		}
		prev = j;
	}
	if (n != in_lru || f->lru_tail != prev) {
		return -EFAULT;
	}
	/* The table: every chain entry in its own bucket, each named slot once. */
	n = 0;
	for (size_t b = 0; b <= f->mask; b++) {
		for (uint32_t j = f->bucket[b]; j != 0; j = f->s[j - 1].chain) {
			if (++n > used || f->s[j - 1].name == NULL ||
			    (f->s[j - 1].hash & f->mask) != b) {
				return -EFAULT;
			}
		}
	}
	return n == used ? 0 : -EFAULT;
}

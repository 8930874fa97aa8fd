// SPDX-License-Identifier: MIT
/*
 * Unit tests for the fake-IP pool (tund/fakeip.c): slot counts and the
 * slot <-> address arithmetic (network, broadcast and excluded addresses
 * skipped), case-insensitive names, refused names, LRU recycling, the
 * hold time, nested pins, exhaustion and the counters, and the state
 * records: their documented layout, restore of good, torn, misplaced
 * and foreign ones, and the fresh-slot cursor stepping over restored
 * slots. fakeip_check runs after every step that changes the pool.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../tund/fakeip.h"

#define NELEM(x) (sizeof(x) / sizeof((x)[0]))
#define HOLD 1000

static struct addr
A(const char *s)
{
	struct addr a;

	if (addr_parse(s, &a) != 0) {
		fail_msg("cannot parse '%s'", s);
	}
	return a;
}

static struct cidr
C(const char *s)
{
	struct cidr c;

	if (cidr_parse(s, &c) != 0) {
		fail_msg("cannot parse '%s'", s);
	}
	return c;
}

/* The configuration most tests use, with v4 or v6 NULL for "none". */
static struct fakeip_cfg
cfg_of(const char *v4, const char *v6, size_t max_slots)
{
	struct fakeip_cfg cfg;

	memset(&cfg, 0, sizeof(cfg));
	if (v4 != NULL) {
		cfg.have_v4 = true;
		cfg.v4 = C(v4);
	}
	if (v6 != NULL) {
		cfg.have_v6 = true;
		cfg.v6 = C(v6);
	}
	cfg.max_slots = max_slots;
	cfg.hold_ms = HOLD;
	cfg.hash_key[0] = 0x0123456789abcdefULL;
	cfg.hash_key[1] = 0xfedcba9876543210ULL;
	return cfg;
}

static struct fakeip *
pool(const char *v4, const char *v6, size_t max_slots)
{
	struct fakeip_cfg cfg = cfg_of(v4, v6, max_slots);
	struct fakeip *f = fakeip_new(&cfg);

	assert_non_null(f);
	return f;
}

static void
check(const struct fakeip *f)
{
	assert_int_equal(fakeip_check(f), 0);
}

static const char *
fmt(const struct addr *a)
{
	static char buf[4][ADDR_STRLEN];
	static int k;

	k = (k + 1) % 4;
	if (a->family == 0) {
		return "none";
	}
	return addr_fmt(a, buf[k], sizeof(buf[k]));
}

/* Looks name up at now and returns its IPv4 (or, without one, IPv6) address as text. */
static const char *
get(struct fakeip *f, const char *name, uint64_t now)
{
	struct addr v4, v6;
	int err = fakeip_lookup_name(f, name, strlen(name), now, &v4, &v6);

	check(f);
	if (err != 0) {
		return err == -ENOSPC ? "ENOSPC" : "error";
	}
	return v4.family != 0 ? fmt(&v4) : fmt(&v6);
}

static void
get_both(struct fakeip *f, const char *name, uint64_t now, const char *want4, const char *want6)
{
	struct addr v4, v6;

	assert_int_equal(fakeip_lookup_name(f, name, strlen(name), now, &v4, &v6), 0);
	assert_string_equal(fmt(&v4), want4);
	assert_string_equal(fmt(&v6), want6);
	check(f);
}

static const char *
name_of(struct fakeip *f, const char *addr, uint64_t now)
{
	struct addr a = A(addr);
	const char *n = fakeip_lookup_addr(f, &a, now);

	check(f);
	return n != NULL ? n : "(null)";
}

static void
test_slot_counts(void **state)
{
	static const struct {
		const char *v4, *v6;
		size_t max, want;
	} cases[] = {
		{ "198.18.0.0/15", NULL, 0, 131070 },
		{ "198.18.0.0/15", "fdfe:dcba:9876::/64", 0, 131070 },
		{ "198.18.0.0/30", NULL, 0, 2 },
		{ "198.18.0.0/24", "fd00::/120", 0, 254 },
		{ "198.18.0.0/23", "fd00::/120", 0, 255 },
		{ NULL, "fdfe:dcba:9876::/64", 0, 65536 },
		{ NULL, "fd00::/120", 0, 255 },
		{ NULL, "fdfe:dcba:9876::/64", 100000, 100000 },
		{ "10.0.0.0/8", NULL, 0, 1 << 20 },
		{ "10.0.0.0/8", NULL, (size_t)1 << 24, 1 << 20 },
		{ "198.18.0.0/15", NULL, 10, 10 },
	};
	struct fakeip_stats st;

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct fakeip *f = pool(cases[i].v4, cases[i].v6, cases[i].max);

		assert_int_equal(fakeip_slots(f), cases[i].want);
		fakeip_stats(f, &st);
		assert_int_equal(st.slots, cases[i].want);
		assert_int_equal(st.used, 0);
		check(f);
		fakeip_free(f);
	}
	fakeip_free(NULL);
	assert_int_equal(fakeip_slots(NULL), 0);
}

static void
test_bad_config(void **state)
{
	static const struct {
		const char *v4, *v6;
	} cases[] = {
		{ NULL, NULL },
		{ "10.0.0.0/7", NULL },
		{ "198.18.0.0/31", NULL },
		{ "198.18.0.0/32", NULL },
		{ NULL, "fd00::/63" },
		{ NULL, "fd00::/121" },
		{ NULL, "::ffff:0:0/104" },
	};
	struct fakeip_cfg cfg;
	struct addr ex[2];

	(void)state;
	assert_null(fakeip_new(NULL));
	for (size_t i = 0; i < NELEM(cases); i++) {
		cfg = cfg_of(cases[i].v4, cases[i].v6, 0);
		/* cidr_parse turns ::ffff:0:0/104 into an IPv4 prefix: build it by hand. */
		if (i == NELEM(cases) - 1) {
			cfg.v6.addr.family = AF_INET6;
			memset(cfg.v6.addr.a, 0, 16);
			cfg.v6.addr.a[10] = 0xff;
			cfg.v6.addr.a[11] = 0xff;
			cfg.v6.prefix = 104;
		}
		assert_null(fakeip_new(&cfg));
	}
	/* Families swapped, and host bits set. */
	cfg = cfg_of("198.18.0.0/15", NULL, 0);
	cfg.v4 = C("fd00::/64");
	assert_null(fakeip_new(&cfg));
	cfg = cfg_of("198.18.0.0/15", NULL, 0);
	cfg.v4.addr.a[3] = 1;
	assert_null(fakeip_new(&cfg));
	/* Every usable address excluded: no slot at all. */
	cfg = cfg_of("198.18.0.0/30", NULL, 0);
	ex[0] = A("198.18.0.1");
	ex[1] = A("198.18.0.2");
	cfg.exclude = ex;
	cfg.n_exclude = 2;
	assert_null(fakeip_new(&cfg));
	cfg.exclude = NULL;
	assert_null(fakeip_new(&cfg));
}

static void
test_network_broadcast_skipped(void **state)
{
	struct fakeip *f = pool("198.18.0.0/30", NULL, 0);

	(void)state;
	assert_string_equal(get(f, "a.example", 0), "198.18.0.1");
	assert_string_equal(get(f, "b.example", 0), "198.18.0.2");
	assert_string_equal(get(f, "c.example", 0), "ENOSPC");
	assert_string_equal(name_of(f, "198.18.0.0", 0), "(null)");
	assert_string_equal(name_of(f, "198.18.0.3", 0), "(null)");
	assert_string_equal(name_of(f, "198.18.0.1", 0), "a.example");
	assert_string_equal(name_of(f, "198.18.0.2", 0), "b.example");
	fakeip_free(f);
}

static void
test_excluded_never_given(void **state)
{
	struct fakeip_cfg cfg = cfg_of("198.18.0.0/28", "fd00::/120", 0);
	const struct addr ex[] = {
		A("198.18.0.1"), A("198.18.0.5"), A("198.18.0.5"), A("fd00::1"),
		A("198.18.0.0"), A("198.18.0.15"), A("192.0.2.1"), A("fd00::2:1"),
	};
	char name[32];
	struct fakeip *f;

	(void)state;
	cfg.exclude = ex;
	cfg.n_exclude = NELEM(ex);
	f = fakeip_new(&cfg);
	assert_non_null(f);
	/* 14 addresses between network and broadcast, two of them excluded. */
	assert_int_equal(fakeip_slots(f), 12);
	get_both(f, "n0", 0, "198.18.0.2", "fd00::2");
	get_both(f, "n1", 0, "198.18.0.3", "fd00::3");
	get_both(f, "n2", 0, "198.18.0.4", "fd00::4");
	get_both(f, "n3", 0, "198.18.0.6", "fd00::5");
	for (int i = 4; i < 12; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		assert_string_not_equal(get(f, name, 0), "ENOSPC");
	}
	assert_string_equal(get(f, "n12", 0), "ENOSPC");
	assert_string_equal(name_of(f, "198.18.0.14", 0), "n11");
	assert_string_equal(name_of(f, "fd00::d", 0), "n11");
	assert_string_equal(name_of(f, "fd00::e", 0), "(null)");
	static const char *const never[] = {
		"198.18.0.0", "198.18.0.1", "198.18.0.5", "198.18.0.15", "fd00::", "fd00::1",
		"192.0.2.1",  "198.18.0.16", "fd00::100", "fd01::2",
	};
	for (size_t i = 0; i < NELEM(never); i++) {
		struct addr a = A(never[i]);

		assert_null(fakeip_lookup_addr(f, &a, 0));
	}
	fakeip_free(f);
}

static void
test_contains_and_families(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", NULL, 0);
	struct fakeip *g = pool(NULL, "fdfe:dcba:9876::/64", 0);
	struct addr a;

	(void)state;
	a = A("198.19.255.255");
	assert_true(fakeip_contains(f, &a));
	a = A("198.20.0.0");
	assert_false(fakeip_contains(f, &a));
	a = A("fdfe:dcba:9876::1");
	assert_false(fakeip_contains(f, &a));
	assert_true(fakeip_contains(g, &a));
	assert_true(fakeip_has_family(f, AF_INET));
	assert_false(fakeip_has_family(f, AF_INET6));
	assert_false(fakeip_has_family(g, AF_INET));
	assert_true(fakeip_has_family(g, AF_INET6));
	assert_false(fakeip_has_family(NULL, AF_INET));

	/* IPv6 alone: the family not configured comes back as family 0. */
	get_both(g, "only.v6", 0, "none", "fdfe:dcba:9876::1");
	get_both(g, "again.v6", 0, "none", "fdfe:dcba:9876::2");
	get_both(f, "only.v4", 0, "198.18.0.1", "none");
	assert_string_equal(name_of(g, "fdfe:dcba:9876::2", 0), "again.v6");
	fakeip_free(f);
	fakeip_free(g);
}

static void
test_case_insensitive(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", "fd00::/64", 0);
	struct fakeip_stats st;

	(void)state;
	get_both(f, "WwW.Example.COM", 0, "198.18.0.1", "fd00::1");
	get_both(f, "www.example.com", 1, "198.18.0.1", "fd00::1");
	get_both(f, "WWW.EXAMPLE.COM", 2, "198.18.0.1", "fd00::1");
	assert_string_equal(name_of(f, "198.18.0.1", 3), "www.example.com");
	assert_string_equal(name_of(f, "fd00::1", 3), "www.example.com");
	/* Only what follows a length counts: a longer buffer is not read. */
	assert_int_equal(fakeip_lookup_name(f, "www.example.com.evil", 15, 4, NULL, NULL), 0);
	fakeip_stats(f, &st);
	assert_int_equal(st.used, 1);
	fakeip_free(f);
}

static void
test_bad_names(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", NULL, 0);
	char longest[FAKEIP_NAME_MAX + 2];
	struct fakeip_stats st;
	struct addr v4, v6;
	static const char *const bad[] = {
		"", ".", ".a", "a.", "a..b", "a b", "a\\.b", "a\x7f", "\x80x", "caf\xc3\xa9",
		"a\tb", "tab\n",
	};

	(void)state;
	for (size_t i = 0; i < NELEM(bad); i++) {
		size_t len = strlen(bad[i]);

		assert_int_equal(fakeip_lookup_name(f, bad[i], len, 0, &v4, &v6), -EINVAL);
	}
	assert_int_equal(fakeip_lookup_name(f, "a\0b", 3, 0, &v4, &v6), -EINVAL);
	assert_int_equal(fakeip_lookup_name(f, NULL, 3, 0, &v4, &v6), -EINVAL);
	assert_int_equal(fakeip_lookup_name(NULL, "a", 1, 0, &v4, &v6), -EINVAL);

	/* 63-byte labels pass, 64 does not. */
	memset(longest, 'x', 64);
	assert_int_equal(fakeip_lookup_name(f, longest, 63, 0, &v4, &v6), 0);
	assert_int_equal(fakeip_lookup_name(f, longest, 64, 0, &v4, &v6), -EINVAL);
	/* 253 bytes pass, 254 do not. */
	memset(longest, 'a', sizeof(longest));
	for (size_t i = 63; i < sizeof(longest); i += 64) {
		longest[i] = '.';
	}
	longest[FAKEIP_NAME_MAX] = 'b';
	assert_int_equal(fakeip_lookup_name(f, longest, FAKEIP_NAME_MAX, 0, &v4, &v6), 0);
	assert_int_equal(fakeip_lookup_name(f, longest, FAKEIP_NAME_MAX + 1, 0, &v4, &v6), -EINVAL);
	/* Odd but text: underscores, digits, punctuation other than '.' and '\\'. */
	assert_string_equal(get(f, "_dmarc.Example-1.org", 0), "198.18.0.3");
	assert_string_equal(get(f, "!#$%&'()*+,-/:;<=>?@[]^`{|}~", 0), "198.18.0.4");
	fakeip_stats(f, &st);
	assert_int_equal(st.used, 4);
	check(f);
	fakeip_free(f);
}

static void
test_lru_order(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", NULL, 3);
	struct fakeip_stats st;

	(void)state;
	assert_string_equal(get(f, "a", 0), "198.18.0.1");
	assert_string_equal(get(f, "b", 1), "198.18.0.2");
	assert_string_equal(get(f, "c", 2), "198.18.0.3");
	/* a used again: b is now the least recently used, then c, then a. */
	assert_string_equal(get(f, "A", 3), "198.18.0.1");
	assert_string_equal(get(f, "d", 5000), "198.18.0.2");
	assert_string_equal(name_of(f, "198.18.0.2", 5000), "d");
	/* Asking an address back counts as use too: c was the LRU, a is now. */
	assert_string_equal(name_of(f, "198.18.0.3", 5001), "c");
	assert_string_equal(get(f, "e", 5002), "198.18.0.1");
	assert_string_equal(get(f, "a", 5003), "ENOSPC");
	assert_string_equal(get(f, "a", 5000 + HOLD), "198.18.0.2");
	fakeip_stats(f, &st);
	assert_int_equal(st.recycled, 3);
	assert_int_equal(st.exhausted, 1);
	assert_int_equal(st.used, 3);
	fakeip_free(f);
}

static void
test_hold_time(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", NULL, 2);
	struct fakeip_stats st;

	(void)state;
	assert_string_equal(get(f, "a", 0), "198.18.0.1");
	assert_string_equal(get(f, "b", 10), "198.18.0.2");
	assert_string_equal(get(f, "c", HOLD - 1), "ENOSPC");
	/* last_used + hold_ms <= now: recyclable at exactly that moment. */
	assert_string_equal(get(f, "c", HOLD), "198.18.0.1");
	assert_string_equal(get(f, "d", HOLD + 9), "ENOSPC");
	assert_string_equal(get(f, "d", HOLD + 10), "198.18.0.2");
	/* a was recycled: asking for it again is a new name. */
	assert_string_equal(get(f, "a", 5 * HOLD), "198.18.0.1");
	assert_string_equal(name_of(f, "198.18.0.2", 5 * HOLD), "d");
	/* A clock that went back holds everything rather than recycling early. */
	assert_string_equal(get(f, "e", 4 * HOLD), "ENOSPC");
	fakeip_stats(f, &st);
	assert_int_equal(st.recycled, 3);
	assert_int_equal(st.exhausted, 3);
	fakeip_free(f);
}

static void
test_pins_nest(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", "fd00::/64", 1);
	struct addr a4 = A("198.18.0.1"), a6 = A("fd00::1"), other = A("198.18.0.2");
	struct fakeip_stats st;

	(void)state;
	/* Free slots and foreign addresses are ignored. */
	fakeip_pin(f, &a4);
	fakeip_pin(f, &other);
	fakeip_unpin(f, &a4, 0);
	fakeip_stats(f, &st);
	assert_int_equal(st.pinned, 0);
	check(f);

	assert_string_equal(get(f, "a", 0), "198.18.0.1");
	fakeip_pin(f, &a4);
	fakeip_pin(f, &a6);     /* the same slot, from the other family */
	fakeip_stats(f, &st);
	assert_int_equal(st.pinned, 1);
	check(f);
	assert_string_equal(get(f, "b", 100 * HOLD), "ENOSPC");
	fakeip_unpin(f, &a4, 100 * HOLD);
	check(f);
	assert_string_equal(get(f, "b", 200 * HOLD), "ENOSPC");
	/* A lookup of a pinned name refreshes it but leaves it pinned. */
	assert_string_equal(get(f, "a", 200 * HOLD), "198.18.0.1");
	fakeip_stats(f, &st);
	assert_int_equal(st.pinned, 1);
	/* The last unpin starts the hold from its own time. */
	fakeip_unpin(f, &a6, 300 * HOLD);
	fakeip_unpin(f, &a6, 300 * HOLD);      /* one too many: ignored */
	fakeip_stats(f, &st);
	assert_int_equal(st.pinned, 0);
	check(f);
	assert_string_equal(get(f, "b", 301 * HOLD - 1), "ENOSPC");
	assert_string_equal(get(f, "b", 301 * HOLD), "198.18.0.1");
	fakeip_stats(f, &st);
	assert_int_equal(st.recycled, 1);
	assert_int_equal(st.exhausted, 3);
	assert_int_equal(st.used, 1);
	fakeip_free(f);
}

static void
test_pinned_among_many(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", NULL, 4);
	struct addr a = A("198.18.0.1"), c = A("198.18.0.3");
	struct fakeip_stats st;

	(void)state;
	assert_string_equal(get(f, "a", 0), "198.18.0.1");
	assert_string_equal(get(f, "b", 1), "198.18.0.2");
	assert_string_equal(get(f, "c", 2), "198.18.0.3");
	assert_string_equal(get(f, "d", 3), "198.18.0.4");
	fakeip_pin(f, &a);
	fakeip_pin(f, &c);
	/* The LRU order skips pinned slots: b, then d, then nothing. */
	assert_string_equal(get(f, "e", 10 * HOLD), "198.18.0.2");
	assert_string_equal(get(f, "f", 10 * HOLD), "198.18.0.4");
	assert_string_equal(get(f, "g", 10 * HOLD), "ENOSPC");
	assert_string_equal(name_of(f, "198.18.0.1", 10 * HOLD), "a");
	assert_string_equal(name_of(f, "198.18.0.3", 10 * HOLD), "c");
	fakeip_unpin(f, &c, 10 * HOLD);
	assert_string_equal(get(f, "g", 11 * HOLD), "198.18.0.2");
	fakeip_stats(f, &st);
	assert_int_equal(st.slots, 4);
	assert_int_equal(st.used, 4);
	assert_int_equal(st.pinned, 1);
	assert_int_equal(st.recycled, 3);
	assert_int_equal(st.exhausted, 1);
	fakeip_free(f);
}

/* A state file in memory, filled by the save callback. */
struct file {
	uint8_t rec[16][FAKEIP_REC_LEN];
	size_t saves;
	size_t last_slot;
};

static void
save(void *arg, size_t slot, const uint8_t *rec, size_t len)
{
	struct file *fl = arg;

	assert_int_equal(len, FAKEIP_REC_LEN);
	assert_true(slot < NELEM(fl->rec));
	memcpy(fl->rec[slot], rec, len);
	fl->saves++;
	fl->last_slot = slot;
}

/* CRC-32 (IEEE), written again here so the test checks the documented format. */
static uint32_t
crc(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++) {
			c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
		}
	}
	return ~c;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
test_record_layout(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", NULL, 8);
	struct file *fl = calloc(1, sizeof(*fl));

	(void)state;
	assert_non_null(fl);
	fakeip_set_save(f, save, fl);
	assert_string_equal(get(f, "a.example", 0), "198.18.0.1");
	assert_string_equal(get(f, "Mail.Example.ORG", 0), "198.18.0.2");
	assert_int_equal(fl->saves, 2);
	/* Lookups of known names save nothing. */
	assert_string_equal(get(f, "a.example", 1), "198.18.0.1");
	assert_int_equal(fl->saves, 2);

	const uint8_t *r = fl->rec[1];
	assert_memory_equal(r, "TFIP\x00\x01\x00\x10", 8);
	assert_int_equal(be32(r + 16), 1);
	assert_memory_equal(r + 20, "mail.example.org", 16);
	for (size_t i = 36; i < FAKEIP_REC_LEN - 4; i++) {
		assert_int_equal(r[i], 0);
	}
	assert_int_equal(be32(r + FAKEIP_REC_LEN - 4), crc(r, FAKEIP_REC_LEN - 4));
	/* One pool's fingerprint, whatever the slot. */
	assert_memory_equal(fl->rec[0] + 8, r + 8, 8);
	free(fl);
	fakeip_free(f);
}

static void
test_restore_roundtrip(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", "fd00::/64", 8), *g;
	struct file *fl = calloc(1, sizeof(*fl));
	struct fakeip_stats st;

	(void)state;
	assert_non_null(fl);
	fakeip_set_save(f, save, fl);
	assert_string_equal(get(f, "zero", 0), "198.18.0.1");
	assert_string_equal(get(f, "one", 0), "198.18.0.2");
	assert_string_equal(get(f, "two", 0), "198.18.0.3");
	assert_string_equal(get(f, "three", 0), "198.18.0.4");

	/* A restart that reads back slots 1 and 3, and empty records elsewhere. */
	g = pool("198.18.0.0/15", "fd00::/64", 8);
	assert_int_equal(fakeip_restore(g, 1, fl->rec[1], FAKEIP_REC_LEN, 50000), 0);
	assert_int_equal(fakeip_restore(g, 3, fl->rec[3], FAKEIP_REC_LEN, 50000), 0);
	for (size_t i = 4; i < 8; i++) {
		assert_int_equal(fakeip_restore(g, i, fl->rec[i], FAKEIP_REC_LEN, 50000), -EINVAL);
	}
	check(g);
	fakeip_stats(g, &st);
	assert_int_equal(st.used, 2);
	assert_int_equal(st.recycled, 0);
	assert_string_equal(name_of(g, "198.18.0.2", 50000), "one");
	assert_string_equal(name_of(g, "fd00::4", 50000), "three");
	get_both(g, "ONE", 50000, "198.18.0.2", "fd00::2");
	/* Fresh slots step over the restored ones. */
	assert_string_equal(get(g, "new0", 50000), "198.18.0.1");
	assert_string_equal(get(g, "new1", 50000), "198.18.0.3");
	assert_string_equal(get(g, "new2", 50000), "198.18.0.5");
	/* The same record again is harmless. */
	assert_int_equal(fakeip_restore(g, 3, fl->rec[3], FAKEIP_REC_LEN, 50001), 0);
	fakeip_stats(g, &st);
	assert_int_equal(st.used, 5);
	check(g);
	/* A slot that got another name meanwhile keeps it; a name in another slot too. */
	assert_int_equal(fakeip_restore(g, 0, fl->rec[0], FAKEIP_REC_LEN, 50001), -EINVAL);
	assert_string_equal(name_of(g, "198.18.0.1", 50001), "new0");
	fakeip_free(g);

	g = pool("198.18.0.0/15", "fd00::/64", 8);
	assert_string_equal(get(g, "two", 0), "198.18.0.1");
	assert_int_equal(fakeip_restore(g, 2, fl->rec[2], FAKEIP_REC_LEN, 0), -EINVAL);
	check(g);
	fakeip_free(g);
	free(fl);
	fakeip_free(f);
}

static void
test_restored_held(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", NULL, 1), *g;
	struct file *fl = calloc(1, sizeof(*fl));

	(void)state;
	assert_non_null(fl);
	fakeip_set_save(f, save, fl);
	assert_string_equal(get(f, "cached.example", 0), "198.18.0.1");
	g = pool("198.18.0.0/15", NULL, 1);
	fakeip_set_save(g, save, fl);
	/* Restored at 7000: held until 7000 + hold, whatever it was before. */
	assert_int_equal(fakeip_restore(g, 0, fl->rec[0], FAKEIP_REC_LEN, 7000), 0);
	assert_string_equal(get(g, "other", 7000 + HOLD - 1), "ENOSPC");
	assert_string_equal(get(g, "other", 7000 + HOLD), "198.18.0.1");
	/* The recycled slot's record now holds the new name. */
	assert_int_equal(fl->last_slot, 0);
	assert_memory_equal(fl->rec[0] + 20, "other", 6);
	fakeip_free(g);
	g = pool("198.18.0.0/15", NULL, 1);
	assert_int_equal(fakeip_restore(g, 0, fl->rec[0], FAKEIP_REC_LEN, 0), 0);
	assert_string_equal(name_of(g, "198.18.0.1", 0), "other");
	fakeip_free(g);
	free(fl);
	fakeip_free(f);
}

static void
test_restore_bad(void **state)
{
	struct fakeip_cfg cfg = cfg_of("198.18.0.0/15", "fd00::/64", 8);
	struct file *fl = calloc(1, sizeof(*fl));
	uint8_t rec[FAKEIP_REC_LEN];
	const struct addr ex[] = { A("198.18.0.1") };
	struct fakeip *f, *g;

	(void)state;
	assert_non_null(fl);
	f = fakeip_new(&cfg);
	assert_non_null(f);
	fakeip_set_save(f, save, fl);
	assert_string_equal(get(f, "a.example", 0), "198.18.0.1");
	assert_string_equal(get(f, "b.example", 0), "198.18.0.2");
	g = fakeip_new(&cfg);
	assert_non_null(g);

	/* Empty, short, long, beyond the slots, misplaced. */
	memset(rec, 0, sizeof(rec));
	assert_int_equal(fakeip_restore(g, 0, rec, sizeof(rec), 0), -EINVAL);
	assert_int_equal(fakeip_restore(g, 1, fl->rec[1], FAKEIP_REC_LEN - 1, 0), -EINVAL);
	assert_int_equal(fakeip_restore(g, 1, fl->rec[1], FAKEIP_REC_LEN + 1, 0), -EINVAL);
	assert_int_equal(fakeip_restore(g, 8, fl->rec[1], FAKEIP_REC_LEN, 0), -EINVAL);
	assert_int_equal(fakeip_restore(g, 0, fl->rec[1], FAKEIP_REC_LEN, 0), -EINVAL);
	assert_int_equal(fakeip_restore(g, 0, NULL, FAKEIP_REC_LEN, 0), -EINVAL);
	assert_int_equal(fakeip_restore(NULL, 0, fl->rec[0], FAKEIP_REC_LEN, 0), -EINVAL);

	/* Torn: any one byte changed, any one bit flipped. */
	for (size_t i = 0; i < FAKEIP_REC_LEN; i++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(rec, fl->rec[1], sizeof(rec));
			rec[i] ^= (uint8_t)(1u << bit);
			assert_int_equal(fakeip_restore(g, 1, rec, sizeof(rec), 0), -EINVAL);
		}
	}
	/* Cut short by a crash: the tail still zero. */
	memcpy(rec, fl->rec[1], 100);
	memset(rec + 100, 0, sizeof(rec) - 100);
	assert_int_equal(fakeip_restore(g, 1, rec, sizeof(rec), 0), -EINVAL);

	/* A right checksum over a name lookup_name would never have stored. */
	memcpy(rec, fl->rec[1], sizeof(rec));
	rec[20] = 'B';
	rec[FAKEIP_REC_LEN - 4] = (uint8_t)(crc(rec, FAKEIP_REC_LEN - 4) >> 24);
	rec[FAKEIP_REC_LEN - 3] = (uint8_t)(crc(rec, FAKEIP_REC_LEN - 4) >> 16);
	rec[FAKEIP_REC_LEN - 2] = (uint8_t)(crc(rec, FAKEIP_REC_LEN - 4) >> 8);
	rec[FAKEIP_REC_LEN - 1] = (uint8_t)crc(rec, FAKEIP_REC_LEN - 4);
	assert_int_equal(fakeip_restore(g, 1, rec, sizeof(rec), 0), -EINVAL);
	rec[20] = 'c';
	rec[FAKEIP_REC_LEN - 4] = (uint8_t)(crc(rec, FAKEIP_REC_LEN - 4) >> 24);
	rec[FAKEIP_REC_LEN - 3] = (uint8_t)(crc(rec, FAKEIP_REC_LEN - 4) >> 16);
	rec[FAKEIP_REC_LEN - 2] = (uint8_t)(crc(rec, FAKEIP_REC_LEN - 4) >> 8);
	rec[FAKEIP_REC_LEN - 1] = (uint8_t)crc(rec, FAKEIP_REC_LEN - 4);
	assert_int_equal(fakeip_restore(g, 1, rec, sizeof(rec), 0), 0);
	assert_string_equal(name_of(g, "198.18.0.2", 0), "c.example");
	check(g);
	fakeip_free(g);

	/* Foreign: other ranges, other exclusions, another slot count. */
	cfg = cfg_of("198.18.0.0/16", "fd00::/64", 8);
	g = fakeip_new(&cfg);
	assert_int_equal(fakeip_restore(g, 1, fl->rec[1], FAKEIP_REC_LEN, 0), -EINVAL);
	fakeip_free(g);
	cfg = cfg_of("198.18.0.0/15", "fd01::/64", 8);
	g = fakeip_new(&cfg);
	assert_int_equal(fakeip_restore(g, 1, fl->rec[1], FAKEIP_REC_LEN, 0), -EINVAL);
	fakeip_free(g);
	cfg = cfg_of("198.18.0.0/15", NULL, 8);
	g = fakeip_new(&cfg);
	assert_int_equal(fakeip_restore(g, 1, fl->rec[1], FAKEIP_REC_LEN, 0), -EINVAL);
	fakeip_free(g);
	cfg = cfg_of("198.18.0.0/15", "fd00::/64", 8);
	cfg.exclude = ex;
	cfg.n_exclude = 1;
	g = fakeip_new(&cfg);
	assert_int_equal(fakeip_restore(g, 1, fl->rec[1], FAKEIP_REC_LEN, 0), -EINVAL);
	fakeip_free(g);
	cfg = cfg_of("198.18.0.0/15", "fd00::/64", 9);
	g = fakeip_new(&cfg);
	assert_int_equal(fakeip_restore(g, 1, fl->rec[1], FAKEIP_REC_LEN, 0), -EINVAL);
	fakeip_free(g);
	/* The hash key is not part of it: a new key every start is fine. */
	cfg = cfg_of("198.18.0.0/15", "fd00::/64", 8);
	cfg.hash_key[0] ^= 1;
	g = fakeip_new(&cfg);
	assert_int_equal(fakeip_restore(g, 1, fl->rec[1], FAKEIP_REC_LEN, 0), 0);
	fakeip_free(g);

	free(fl);
	fakeip_free(f);
}

static void
test_recycle_churn(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", NULL, 16);
	struct fakeip_stats st;
	char name[32], want[32];
	struct addr v4;

	(void)state;
	/*
	 * 16 slots in 16 buckets: chains form, and recycling unlinks slots
	 * from their middle and ends as well as from their heads.
	 */
	for (uint64_t i = 0; i < 4000; i++) {
		uint64_t now = i * HOLD / 8;

		snprintf(name, sizeof(name), "churn-%llu", (unsigned long long)i);
		assert_int_equal(fakeip_lookup_name(f, name, strlen(name), now, &v4, NULL), 0);
		/* The 8 names before this one are still held, and still mapped. */
		for (uint64_t k = i >= 8 ? i - 8 : 0; k < i; k++) {
			snprintf(want, sizeof(want), "churn-%llu", (unsigned long long)k);
			size_t len = strlen(want);

			assert_int_equal(fakeip_lookup_name(f, want, len, now, NULL, NULL), 0);
		}
		assert_string_equal(fakeip_lookup_addr(f, &v4, now), name);
		if (i % 97 == 0) {
			check(f);
		}
	}
	check(f);
	fakeip_stats(f, &st);
	assert_int_equal(st.used, 16);
	assert_int_equal(st.recycled, 4000 - 16);
	assert_int_equal(st.exhausted, 0);
	fakeip_free(f);
}

static void
test_many_names(void **state)
{
	struct fakeip *f = pool("198.18.0.0/15", "fdfe:dcba:9876::/64", 0);
	struct fakeip_stats st;
	struct addr v4, v6, w4, w6;
	char name[64];

	(void)state;
	/* Every slot once, then all of them again: the table keeps up. */
	for (size_t i = 0; i < 131070; i++) {
		snprintf(name, sizeof(name), "host-%zu.example.com", i);
		assert_int_equal(fakeip_lookup_name(f, name, strlen(name), 0, &v4, &v6), 0);
		assert_int_equal(v4.a[2] << 8 | v4.a[3], (i + 1) & 0xffff);
		assert_int_equal(v6.a[13] << 16 | v6.a[14] << 8 | v6.a[15], i + 1);
	}
	assert_int_equal(fakeip_lookup_name(f, "one.more", 8, 0, &v4, &v6), -ENOSPC);
	check(f);
	for (size_t i = 0; i < 131070; i += 7) {
		snprintf(name, sizeof(name), "HOST-%zu.example.com", i);
		assert_int_equal(fakeip_lookup_name(f, name, strlen(name), 1, &w4, &w6), 0);
		assert_string_equal(fakeip_lookup_addr(f, &w4, 1), fakeip_lookup_addr(f, &w6, 1));
	}
	v4 = A("198.19.255.254");
	assert_string_equal(fakeip_lookup_addr(f, &v4, 1), "host-131069.example.com");
	fakeip_stats(f, &st);
	assert_int_equal(st.used, 131070);
	assert_int_equal(st.exhausted, 1);
	check(f);
	fakeip_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slot_counts),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_network_broadcast_skipped),
		cmocka_unit_test(test_excluded_never_given),
		cmocka_unit_test(test_contains_and_families),
		cmocka_unit_test(test_case_insensitive),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_lru_order),
		cmocka_unit_test(test_hold_time),
		cmocka_unit_test(test_pins_nest),
		cmocka_unit_test(test_pinned_among_many),
		cmocka_unit_test(test_record_layout),
		cmocka_unit_test(test_restore_roundtrip),
		cmocka_unit_test(test_restored_held),
		cmocka_unit_test(test_restore_bad),
		cmocka_unit_test(test_recycle_churn),
		cmocka_unit_test(test_many_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the fake-IP pool, as an operation sequence: the
 * first byte picks the slot count, then each byte picks an operation
 * (name lookup with a short mixed-case name, address lookup, pin, unpin,
 * time passing, restore of arbitrary or of saved-then-damaged records,
 * restart from the saved state file) and the bytes after it its
 * arguments.
 *
 * A model of this file's own (names, pins and last use per slot, the
 * state file as the save callback wrote it) predicts every answer: a name
 * maps to one slot and its addresses map back to it; a new name takes
 * the lowest never-used slot, else the least recently used one that is
 * neither pinned nor held, else fails with -ENOSPC exactly when there is
 * none; a pinned slot is never recycled; a saved record restores, a
 * damaged or misplaced one never does. After every operation
 * fakeip_check must pass and fakeip_stats must agree with the model.
 *
 * Ranges: 198.18.0.0/28 and fd00::/120 with .1 and ::1 excluded (the
 * TUN's), so slot i is offset i + 2 in both and there are 13 slots.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../tund/fakeip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOTS_MAX 13
#define HOLD_MS 50
#define NAME_LEN_MAX 12

struct mslot {
	bool used;
	char name[FAKEIP_NAME_MAX + 1];
	uint32_t pins;
	uint64_t last_ms;
};

struct model {
	struct mslot s[SLOTS_MAX];
	size_t n;
	uint64_t now;
	uint64_t recycled, exhausted;
	uint8_t file[SLOTS_MAX][FAKEIP_REC_LEN];
	size_t saves, saved_slot;
};

static struct model m;

struct input {
	const uint8_t *p;
	size_t left;
};

static void
check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_fakeip: invariant broken: %s\n", what);
		abort();
	}
}

static uint8_t
next(struct input *in)
{
	uint8_t b;

	if (in->left == 0) {
		return 0;
	}
	b = in->p[0];
	in->p++;
	in->left--;
	return b;
}

static void
save(void *arg, size_t slot, const uint8_t *rec, size_t len)
{
	(void)arg;
	check(slot < m.n && len == FAKEIP_REC_LEN, "save callback arguments");
	memcpy(m.file[slot], rec, len);
	m.saves++;
	m.saved_slot = slot;
}

static struct fakeip *
new_pool(void)
{
	struct fakeip_cfg cfg;
	struct addr ex[2];
	struct fakeip *f;

	memset(&cfg, 0, sizeof(cfg));
	cfg.have_v4 = true;
	cfg.have_v6 = true;
	check(cidr_parse("198.18.0.0/28", &cfg.v4) == 0, "cidr");
	check(cidr_parse("fd00::/120", &cfg.v6) == 0, "cidr");
	check(addr_parse("198.18.0.1", &ex[0]) == 0 && addr_parse("fd00::1", &ex[1]) == 0, "addr");
	cfg.exclude = ex;
	cfg.n_exclude = 2;
	cfg.max_slots = m.n;
	cfg.hold_ms = HOLD_MS;
	cfg.hash_key[0] = 0x1122334455667788ULL;
	f = fakeip_new(&cfg);
	check(f != NULL, "fakeip_new");
	check(fakeip_slots(f) == m.n, "slot count");
	fakeip_set_save(f, save, NULL);
	return f;
}

static bool
held(const struct mslot *s)
{
	return m.now < s->last_ms || m.now - s->last_ms < HOLD_MS;
}

/* An address from one byte: either family, offsets in and around the slots. */
static void
pick_addr(uint8_t b, struct addr *a, size_t *slot, bool *is_slot)
{
	size_t off;

	memset(a, 0, sizeof(*a));
	if (b & 0x80) {
		off = (b & 0x7f) % 20;
		if (off == 19) {
			off = 255;
		}
		a->family = AF_INET6;
		a->a[0] = 0xfd;
		a->a[15] = (uint8_t)off;
	} else {
		off = (size_t)b % 17;   /* 16: just outside the /28 */
		a->family = AF_INET;
		a->a[0] = 198;
		a->a[1] = 18;
		a->a[2] = (uint8_t)(off >> 4);
		a->a[3] = (uint8_t)(off & 15);
	}
	*is_slot = off >= 2 && off < 2 + m.n;
	*slot = *is_slot ? off - 2 : 0;
}

static void
invariants(const struct fakeip *f)
{
	struct fakeip_stats st;
	size_t used = 0, pinned = 0;

	check(fakeip_check(f) == 0, "fakeip_check");
	for (size_t i = 0; i < m.n; i++) {
		used += m.s[i].used;
		pinned += m.s[i].pins > 0;
		for (size_t j = i + 1; j < m.n && m.s[i].used; j++) {
			check(!m.s[j].used || strcmp(m.s[i].name, m.s[j].name) != 0,
			      "one name in two slots");
		}
	}
	fakeip_stats(f, &st);
	check(st.slots == m.n && st.used == used && st.pinned == pinned, "stats: counts");
	check(st.used <= st.slots, "stats: used > slots");
	check(st.recycled == m.recycled && st.exhausted == m.exhausted, "stats: counters");
}

static void
op_lookup_name(struct fakeip *f, struct input *in)
{
	static const char alphabet[8] = { 'a', 'A', 'b', 'B', '.', '-', 'c', '9' };
	char name[NAME_LEN_MAX + 1], low[NAME_LEN_MAX + 1];
	size_t len = 1 + next(in) % NAME_LEN_MAX, s, fresh = SIZE_MAX, saves = m.saves;
	struct addr v4, v6;
	const char *back;
	bool valid;
	int known = -1, rc;

	for (size_t i = 0; i < len; i++) {
		name[i] = alphabet[next(in) % sizeof(alphabet)];
		low[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] - 'A' + 'a') : name[i];
	}
	name[len] = '\0';
	low[len] = '\0';
	valid = name[0] != '.' && name[len - 1] != '.' && strstr(name, "..") == NULL;
	for (size_t i = 0; i < m.n; i++) {
		if (m.s[i].used && strcmp(m.s[i].name, low) == 0) {
			known = (int)i;
		}
		if (!m.s[i].used && fresh == SIZE_MAX) {
			fresh = i;
		}
	}
	rc = fakeip_lookup_name(f, name, len, m.now, &v4, &v6);
	if (!valid) {
		check(rc == -EINVAL, "a bad name was accepted");
		return;
	}
	if (rc == -ENOSPC) {
		check(known < 0 && fresh == SIZE_MAX, "ENOSPC with a known name or a fresh slot");
		for (size_t i = 0; i < m.n; i++) {
			check(m.s[i].pins > 0 || held(&m.s[i]), "ENOSPC with a recyclable slot");
		}
		m.exhausted++;
		return;
	}
	check(rc == 0, "lookup_name failed");
	check(v4.family == AF_INET && v4.a[0] == 198 && v4.a[1] == 18 && v4.a[2] == 0 &&
	      v4.a[3] < 16, "IPv4 outside the range");
	check(v6.family == AF_INET6 && v6.a[0] == 0xfd && v6.a[14] == 0, "IPv6 outside the range");
	check(v4.a[3] == v6.a[15], "the two families disagree on the slot");
	check(v4.a[3] >= 2 && v4.a[3] < 2 + m.n, "an address that is no slot");
	s = v4.a[3] - 2u;
	if (known >= 0) {
		check(s == (size_t)known, "a known name moved");
		check(m.saves == saves, "a known name was saved again");
	} else if (fresh != SIZE_MAX) {
		check(s == fresh, "not the lowest fresh slot");
	} else {
		check(m.s[s].pins == 0, "a pinned slot was recycled");
		check(!held(&m.s[s]), "a held slot was recycled");
		for (size_t i = 0; i < m.n; i++) {
			check(m.s[i].pins > 0 || m.s[i].last_ms >= m.s[s].last_ms,
			      "not the least recently used slot");
		}
		m.recycled++;
	}
	if (known < 0) {
		check(m.saves == saves + 1 && m.saved_slot == s, "a new name was not saved");
		m.s[s].used = true;
		m.s[s].pins = 0;
		memcpy(m.s[s].name, low, len + 1);
	}
	m.s[s].last_ms = m.now;
	back = fakeip_lookup_addr(f, &v6, m.now);
	check(back != NULL && strcmp(back, low) == 0, "the address does not map back");
}

static void
op_lookup_addr(struct fakeip *f, struct input *in)
{
	const char *name;
	struct addr a;
	bool is_slot;
	size_t s;

	pick_addr(next(in), &a, &s, &is_slot);
	name = fakeip_lookup_addr(f, &a, m.now);
	if (is_slot && m.s[s].used) {
		check(name != NULL && strcmp(name, m.s[s].name) == 0, "lookup_addr: wrong name");
		m.s[s].last_ms = m.now;
	} else {
		check(name == NULL, "lookup_addr: a name for a free slot or no slot");
	}
	check(fakeip_contains(f, &a) == (a.a[0] == 0xfd || a.a[2] == 0), "contains");
}

static void
op_pin(struct fakeip *f, struct input *in, bool pin)
{
	struct addr a;
	bool is_slot;
	size_t s;

	pick_addr(next(in), &a, &s, &is_slot);
	if (pin) {
		fakeip_pin(f, &a);
		if (is_slot && m.s[s].used) {
			m.s[s].pins++;
		}
		return;
	}
	fakeip_unpin(f, &a, m.now);
	if (is_slot && m.s[s].used && m.s[s].pins > 0) {
		m.s[s].pins--;
		m.s[s].last_ms = m.now;
	}
}

/* A record that restored: the model learns its name from the pool. */
static void
restored(struct fakeip *f, size_t slot, const uint8_t *rec)
{
	struct addr a;
	const char *name;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	a.a[0] = 198;
	a.a[1] = 18;
	a.a[3] = (uint8_t)(slot + 2);
	name = fakeip_lookup_addr(f, &a, m.now);
	check(name != NULL && strlen(name) <= FAKEIP_NAME_MAX, "a restored slot has no name");
	check(!m.s[slot].used || strcmp(m.s[slot].name, name) == 0, "restore replaced a name");
	m.s[slot].used = true;
	strcpy(m.s[slot].name, name);
	m.s[slot].last_ms = m.now;
	memcpy(m.file[slot], rec, FAKEIP_REC_LEN);
}

static void
op_restore_bytes(struct fakeip *f, struct input *in)
{
	uint8_t rec[FAKEIP_REC_LEN] = { 0 };
	size_t slot = next(in) % (m.n + 1), len = next(in);
	int rc;

	for (size_t i = 0; i < len && in->left > 0; i++) {
		rec[i % FAKEIP_REC_LEN] = next(in);
	}
	rc = fakeip_restore(f, slot, rec, sizeof(rec), m.now);
	check(rc == 0 || rc == -EINVAL, "restore: unexpected error");
	if (rc == 0) {
		restored(f, slot, rec);
	}
}

/* A saved record, maybe torn (one byte changed) or put at another slot. */
static void
op_restore_saved(struct fakeip *f, struct input *in)
{
	uint8_t rec[FAKEIP_REC_LEN];
	size_t s = next(in) % m.n, pos = ((size_t)next(in) << 8 | next(in)) % FAKEIP_REC_LEN;
	size_t at = next(in) % (m.n + 1);
	uint8_t flip = next(in);
	int rc;

	if (next(in) & 1) {
		at = s;
	}
	memcpy(rec, m.file[s], sizeof(rec));
	rec[pos] ^= flip;
	rc = fakeip_restore(f, at, rec, sizeof(rec), m.now);
	if (!m.s[s].used || flip != 0 || at != s) {
		check(rc == -EINVAL, "an empty, torn or misplaced record restored");
		return;
	}
	check(rc == 0, "the slot's own record did not restore");
	m.s[s].last_ms = m.now;
}

/* tund restarts: connections are gone, the state file is read back, maybe in part. */
static struct fakeip *
op_restart(struct fakeip *f, struct input *in)
{
	uint16_t keep = (uint16_t)(next(in) << 8 | next(in));

	fakeip_free(f);
	f = new_pool();
	m.recycled = 0;
	m.exhausted = 0;
	for (size_t i = 0; i < m.n; i++) {
		int rc;

		if (!(keep & (1u << i))) {
			/* A lost record: the slot is fresh again. */
			memset(m.file[i], 0, FAKEIP_REC_LEN);
			memset(&m.s[i], 0, sizeof(m.s[i]));
		}
		rc = fakeip_restore(f, i, m.file[i], FAKEIP_REC_LEN, m.now);
		check(rc == (m.s[i].used ? 0 : -EINVAL), "the state file did not restore");
		m.s[i].pins = 0;
		m.s[i].last_ms = m.now;
	}
	return f;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct fakeip *f;

	memset(&m, 0, sizeof(m));
	m.n = next(&in) % (SLOTS_MAX + 1);
	if (m.n == 0) {
		m.n = SLOTS_MAX;
	}
	f = new_pool();
	while (in.left > 0) {
		switch (next(&in) % 10) {
		case 0:
		case 1:
		case 2:
			op_lookup_name(f, &in);
			break;
		case 3:
			op_lookup_addr(f, &in);
			break;
		case 4:
			op_pin(f, &in, true);
			break;
		case 5:
			op_pin(f, &in, false);
			break;
		case 6:
			m.now += next(&in);
			break;
		case 7:
			op_restore_bytes(f, &in);
			break;
		case 8:
			op_restore_saved(f, &in);
			break;
		case 9:
			f = op_restart(f, &in);
			break;
		default:
			check(false, "unreachable");
			break;
		}
		invariants(f);
	}
	fakeip_free(f);
	return 0;
}

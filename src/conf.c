/* SPDX-License-Identifier: MIT */
/*
 * Config line reader: see conf.h. This file knows lines, words, numbers
 * and how to report a mistake; it gives no keyword a meaning.
 *
 * Choices the header leaves open:
 * - '#' starts a comment wherever it appears, as in WireGuard's format,
 *   so a word cannot contain '#'. There is no quoting.
 * - A control byte (below 0x20 other than tab, or 0x7f) or a NUL anywhere
 *   on the line, comment included, rejects the line: such bytes are never
 *   meant and would otherwise reach the logs through error messages.
 *   Bytes from 0x80 up (UTF-8) are allowed.
 * - argv must have room for CONF_MAX_ARGS pointers; it is not
 *   NULL-terminated.
 * - Durations also take "h" (hours); sizes take "k", "m", "g" in either
 *   case, as powers of 1024.
 * - Errors reported with c->line == 0 (whole-file checks, open failures)
 *   print as "file: message".
 */
#include "conf.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for a message: the file name and the text are each truncated. */
#define CONF_MSG_MAX 512
#define CONF_FILE_SHOWN 200     /* bytes of the file name shown; "%.200s" */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

void
conf_init(struct conf *c, const char *file)
{
	memset(c, 0, sizeof(*c));
	c->file = file;
}

void
conf_err(struct conf *c, const char *fmt, ...)
{
	char text[CONF_MSG_MAX];
	char msg[CONF_FILE_SHOWN + sizeof(":4294967295: ") + CONF_MSG_MAX];
	const char *file = c->file != NULL ? c->file : "(config)";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (c->line > 0) {
		snprintf(msg, sizeof(msg), "%.200s:%u: %s", file, c->line, text);
	} else {
		snprintf(msg, sizeof(msg), "%.200s: %s", file, text);
	}
	/* Saturate rather than wrap: a count of 0 would mean "all good". */
	if (c->errors < UINT_MAX) {
		c->errors++;
	}
	if (c->sink != NULL) {
		c->sink(c->sink_arg, msg);
	} else {
		fprintf(stderr, "%s\n", msg);
	}
}

static bool
is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static bool
is_control(unsigned char ch)
{
	return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}

int
conf_split(struct conf *c, char *line, size_t len, char **argv)
{
	int argc = 0;
	size_t i;

	if (len > 0 && line[len - 1] == '\r') {
		len--;
	}
	if (len > CONF_MAX_LINE) {
		conf_err(c, "line too long (more than %d bytes)", CONF_MAX_LINE);
		return -1;
	}
	/* Checked over the whole line before cutting at '#', so that a NUL
	 * cannot hide the rest of the line from this check. */
	for (i = 0; i < len; i++) {
		if (is_control((unsigned char)line[i])) {
			conf_err(c, "control character 0x%02x at column %zu",
				 (unsigned int)(unsigned char)line[i], i + 1);
			return -1;
		}
	}
	line[len] = '\0';
	for (i = 0; i < len && line[i] != '#'; i++) {
		continue;
	}
	len = i;
	line[len] = '\0';

	i = 0;
	for (;;) {
		while (i < len && is_blank(line[i])) {
			line[i++] = '\0';
		}
		if (i >= len) {
			break;
		}
		if (argc >= CONF_MAX_ARGS) {
			conf_err(c, "too many words (more than %d)", CONF_MAX_ARGS);
			return -1;
		}
		argv[argc++] = &line[i];
		while (i < len && !is_blank(line[i])) {
			i++;
		}
	}
	return argc;
}

/*
 * Reads one line into buf (cap bytes, cap >= 1) without its newline. The
 * stored length goes to *len; *full_len counts every byte of the line so
 * that an overlong one is detected and skipped whole. Returns false at
 * end of file with nothing read.
 */
static bool
read_line(FILE *f, char *buf, size_t cap, size_t *len, size_t *full_len)
{
	size_t n = 0, full = 0;
	int ch;

	while ((ch = getc(f)) != EOF) {
		if (ch == '\n') {
			break;
		}
		if (n + 1 < cap) {
			buf[n++] = (char)ch;
		}
		if (full < SIZE_MAX) {
			full++;
		}
	}
	buf[n] = '\0';
	*len = n;
	*full_len = full;
	return !(ch == EOF && full == 0);
}

int
conf_read_file(struct conf *c, const char *path,
	       void (*fn)(struct conf *c, int argc, char **argv, void *arg), void *arg)
{
	/* CONF_MAX_LINE bytes, a '\r' that conf_split drops, one byte more to
	 * tell a line that is too long, and the NUL. */
	char buf[CONF_MAX_LINE + 3];
	char *argv[CONF_MAX_ARGS];
	size_t len, full;
	unsigned int lines = 0;
	FILE *f;
	int argc, err = 0;

	if (c->file == NULL) {
		c->file = path;
	}
	c->line = 0;
	f = fopen(path, "re");
	if (f == NULL) {
		err = errno != 0 ? -errno : -EIO;
		conf_err(c, "cannot open: %s", strerror(-err));
		return err;
	}
	while (read_line(f, buf, sizeof(buf), &len, &full)) {
		/* A line cut short by a read error is not parsed. */
		if (ferror(f)) {
			break;
		}
		if (lines >= CONF_MAX_LINES) {
			c->line = lines + 1;
			conf_err(c, "too many lines (more than %d)", CONF_MAX_LINES);
			break;
		}
		c->line = ++lines;
		if (full > len) {
			/* Only part of the line is in buf: say so here, as
			 * conf_split would for a line it saw whole. */
			conf_err(c, "line too long (more than %d bytes)", CONF_MAX_LINE);
			continue;
		}
		argc = conf_split(c, buf, len, argv);
		if (argc > 0) {
			fn(c, argc, argv, arg);
		}
	}
	if (ferror(f)) {
		err = errno != 0 ? -errno : -EIO;
		c->line = 0;
		conf_err(c, "read error: %s", strerror(-err));
	}
	fclose(f);
	return err;
}

/*
 * Parses the leading decimal digits of s with strtoull. s must start with
 * a digit: strtoull itself would skip blanks, take a '+' and turn "-1"
 * into UINT64_MAX. *end is set after the digits. False on no digits or
 * overflow.
 */
static bool
parse_digits(const char *s, uint64_t *out, const char **end)
{
	unsigned long long v;
	char *e;

	if (s[0] < '0' || s[0] > '9') {
		return false;
	}
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno != 0 || e == s) {
		return false;
	}
	*out = v;
	*end = e;
	return true;
}

/* The range check both number parsers end with. */
static bool
in_range(struct conf *c, const char *what, uint64_t v, uint64_t min, uint64_t max, uint64_t *out)
{
	if (v < min || v > max) {
		conf_err(c, "%s: %" PRIu64 " is out of range %" PRIu64 "..%" PRIu64, what, v, min,
			 max);
		return false;
	}
	*out = v;
	return true;
}

bool
conf_u64_hex(struct conf *c, const char *what, const char *s, uint64_t min, uint64_t max,
	     uint64_t *out)
{
	uint64_t v;
	const char *e;
	char *e16;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
		return conf_u64(c, what, s, min, max, out);
	}
	/* parse_digits' care, for base 16: a hex digit must follow "0x". */
	e = s + 2;
	if (!((e[0] >= '0' && e[0] <= '9') || (e[0] >= 'a' && e[0] <= 'f') ||
	      (e[0] >= 'A' && e[0] <= 'F'))) {
		conf_err(c, "%s: '%.40s' is not a number", what, s);
		return false;
	}
	errno = 0;
	v = strtoull(e, &e16, 16);
	if (errno != 0 || *e16 != '\0') {
		conf_err(c, "%s: '%.40s' is not a number", what, s);
		return false;
	}
	return in_range(c, what, v, min, max, out);
}

bool
conf_u64(struct conf *c, const char *what, const char *s, uint64_t min, uint64_t max,
	 uint64_t *out)
{
	const char *end;
	uint64_t v;

	if (!parse_digits(s, &v, &end)) {
		if (s[0] >= '0' && s[0] <= '9') {
			conf_err(c, "%s: '%s' is too large", what, s);
		} else {
			conf_err(c, "%s: '%s' is not a number", what, s);
		}
		return false;
	}
	if (*end != '\0') {
		conf_err(c, "%s: '%s' is not a number", what, s);
		return false;
	}
	return in_range(c, what, v, min, max, out);
}

bool
conf_bool(struct conf *c, const char *what, const char *s, bool *out)
{
	if (strcmp(s, "yes") == 0) {
		*out = true;
		return true;
	}
	if (strcmp(s, "no") == 0) {
		*out = false;
		return true;
	}
	conf_err(c, "%s: expected yes or no, not '%s'", what, s);
	return false;
}

struct unit {
	const char *suffix;
	uint64_t mul;
};

/*
 * Number with an optional unit suffix from units (the first entry, with
 * suffix "", is the bare number). False after reporting when bad.
 */
static bool
parse_with_unit(struct conf *c, const char *what, const char *s, const struct unit *units,
		size_t n_units, const char *kind, uint64_t *out)
{
	const char *end;
	uint64_t v;
	size_t i;

	if (!parse_digits(s, &v, &end)) {
		if (s[0] >= '0' && s[0] <= '9') {
			goto too_big;
		}
		conf_err(c, "%s: '%s' is not a %s", what, s, kind);
		return false;
	}
	for (i = 0; i < n_units; i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			break;
		}
	}
	if (i == n_units) {
		conf_err(c, "%s: '%s' is not a %s", what, s, kind);
		return false;
	}
	if (v > UINT64_MAX / units[i].mul) {
		goto too_big;
	}
	*out = v * units[i].mul;
	return true;

too_big:
	conf_err(c, "%s: '%s' is too large", what, s);
	return false;
}

/* Writes v in the largest unit that divides it exactly (the first such
 * entry when several share a multiplier). */
static const char *
fmt_unit(uint64_t v, const struct unit *units, size_t n_units, char *buf, size_t len)
{
	size_t best = 0;

	for (size_t i = 1; i < n_units; i++) {
		if (v != 0 && v % units[i].mul == 0 && units[i].mul > units[best].mul) {
			best = i;
		}
	}
	snprintf(buf, len, "%" PRIu64 "%s", v / units[best].mul, units[best].suffix);
	return buf;
}

/*
 * Suffixes are matched whole, so "m" never takes "ms". In both tables the
 * first suffix of each multiplier is the one range messages print.
 */
static const struct unit duration_units[] = {
	{ "ms", 1 },
	{ "s", 1000 },
	{ "", 1000 },
	{ "m", 60 * 1000 },
	{ "h", 60 * 60 * 1000 },
};

static const struct unit size_units[] = {
	{ "", 1 },
	{ "k", 1024 },
	{ "K", 1024 },
	{ "m", 1024 * 1024 },
	{ "M", 1024 * 1024 },
	{ "g", 1024 * 1024 * 1024 },
	{ "G", 1024 * 1024 * 1024 },
};

static bool
check_range(struct conf *c, const char *what, const char *s, uint64_t v, uint64_t min,
	    uint64_t max, const struct unit *units, size_t n_units)
{
	char lo[32], hi[32];

	if (v >= min && v <= max) {
		return true;
	}
	conf_err(c, "%s: %s is out of range %s..%s", what, s,
		 fmt_unit(min, units, n_units, lo, sizeof(lo)),
		 fmt_unit(max, units, n_units, hi, sizeof(hi)));
	return false;
}

bool
conf_duration_ms(struct conf *c, const char *what, const char *s, uint64_t min_ms,
		 uint64_t max_ms, uint64_t *out)
{
	uint64_t v;

	if (!parse_with_unit(c, what, s, duration_units, NELEM(duration_units), "duration",
			     &v)) {
		return false;
	}
	if (!check_range(c, what, s, v, min_ms, max_ms, duration_units,
			 NELEM(duration_units))) {
		return false;
	}
	*out = v;
	return true;
}

bool
conf_size(struct conf *c, const char *what, const char *s, uint64_t min, uint64_t max,
	  uint64_t *out)
{
	uint64_t v;

	if (!parse_with_unit(c, what, s, size_units, NELEM(size_units), "size", &v)) {
		return false;
	}
	if (!check_range(c, what, s, v, min, max, size_units, NELEM(size_units))) {
		return false;
	}
	*out = v;
	return true;
}

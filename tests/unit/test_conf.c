/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/conf.c (splitting, limits, number parsers, file
 * reading) and exitd/cfg.c (keywords, defaults, ranges, whole-file
 * checks). Messages are captured through the conf sink so that line
 * numbers and wording can be checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../exitd/cfg.h"
#include "conf.h"

#define MAX_MSGS 64
#define MSG_LEN 700

struct msgs {
	unsigned int n;
	char text[MAX_MSGS][MSG_LEN];
};

static void
sink(void *arg, const char *msg)
{
	struct msgs *m = arg;

	if (m->n < MAX_MSGS) {
		snprintf(m->text[m->n], MSG_LEN, "%s", msg);
	}
	m->n++;
}

static void
conf_setup(struct conf *c, struct msgs *m)
{
	memset(m, 0, sizeof(*m));
	conf_init(c, "t.conf");
	c->sink = sink;
	c->sink_arg = m;
}

static bool
has_msg(const struct msgs *m, const char *want)
{
	for (unsigned int i = 0; i < m->n && i < MAX_MSGS; i++) {
		if (strstr(m->text[i], want) != NULL) {
			return true;
		}
	}
	return false;
}

#define assert_msg(m, want)                                                     \
	do {                                                                    \
		if (!has_msg((m), (want))) {                                    \
			for (unsigned int i_ = 0; i_ < (m)->n && i_ < MAX_MSGS; i_++) { \
				print_error("  got: %s\n", (m)->text[i_]);      \
			}                                                       \
			fail_msg("no message containing '%s'", (want));         \
		}                                                               \
	} while (0)

/* Splits a copy of s; returns conf_split's result. */
static int
split(struct conf *c, const char *s, char *buf, size_t cap, char **argv)
{
	size_t len = strlen(s);

	assert_true(len < cap);
	memcpy(buf, s, len + 1);
	return conf_split(c, buf, len, argv);
}

/* ---- conf_split ---- */

static void
test_split_words(void **state)
{
	struct conf c;
	struct msgs m;
	char buf[CONF_MAX_LINE + 2];
	char *argv[CONF_MAX_ARGS];

	(void)state;
	conf_setup(&c, &m);
	assert_int_equal(split(&c, "listen 192.0.2.2:9001", buf, sizeof(buf), argv), 2);
	assert_string_equal(argv[0], "listen");
	assert_string_equal(argv[1], "192.0.2.2:9001");

	assert_int_equal(split(&c, " \t a\t\tb   c \t", buf, sizeof(buf), argv), 3);
	assert_string_equal(argv[0], "a");
	assert_string_equal(argv[1], "b");
	assert_string_equal(argv[2], "c");

	assert_int_equal(split(&c, "key /etc/exitd/id.key\r", buf, sizeof(buf), argv), 2);
	assert_string_equal(argv[1], "/etc/exitd/id.key");

	/* UTF-8 is not a control byte. */
	assert_int_equal(split(&c, "x caf\xc3\xa9", buf, sizeof(buf), argv), 2);
	assert_string_equal(argv[1], "caf\xc3\xa9");
	assert_int_equal(c.errors, 0);
	assert_int_equal(m.n, 0);
}

static void
test_split_blank_and_comments(void **state)
{
	struct conf c;
	struct msgs m;
	char buf[CONF_MAX_LINE + 2];
	char *argv[CONF_MAX_ARGS];

	(void)state;
	conf_setup(&c, &m);
	assert_int_equal(split(&c, "", buf, sizeof(buf), argv), 0);
	assert_int_equal(split(&c, "   \t ", buf, sizeof(buf), argv), 0);
	assert_int_equal(split(&c, "\r", buf, sizeof(buf), argv), 0);
	assert_int_equal(split(&c, "# a comment", buf, sizeof(buf), argv), 0);
	assert_int_equal(split(&c, "   # indented comment", buf, sizeof(buf), argv), 0);
	assert_int_equal(split(&c, "#", buf, sizeof(buf), argv), 0);

	assert_int_equal(split(&c, "log info # trailing", buf, sizeof(buf), argv), 2);
	assert_string_equal(argv[1], "info");
	/* '#' starts a comment even inside a word. */
	assert_int_equal(split(&c, "log info#x y z", buf, sizeof(buf), argv), 2);
	assert_string_equal(argv[1], "info");
	assert_int_equal(split(&c, "a # b\r", buf, sizeof(buf), argv), 1);
	assert_string_equal(argv[0], "a");
	assert_int_equal(c.errors, 0);
}

static void
test_split_limits(void **state)
{
	struct conf c;
	struct msgs m;
	char buf[2 * CONF_MAX_LINE];
	char *argv[CONF_MAX_ARGS];
	size_t len;
	int argc;

	(void)state;
	conf_setup(&c, &m);
	c.line = 3;

	/* Exactly CONF_MAX_LINE bytes is fine, with or without a '\r'. */
	memset(buf, 'a', CONF_MAX_LINE);
	buf[CONF_MAX_LINE] = '\0';
	assert_int_equal(conf_split(&c, buf, CONF_MAX_LINE, argv), 1);
	assert_int_equal(strlen(argv[0]), CONF_MAX_LINE);
	memset(buf, 'a', CONF_MAX_LINE);
	buf[CONF_MAX_LINE] = '\r';
	buf[CONF_MAX_LINE + 1] = '\0';
	assert_int_equal(conf_split(&c, buf, CONF_MAX_LINE + 1, argv), 1);
	assert_int_equal(c.errors, 0);

	/* One more is too long. */
	memset(buf, 'a', CONF_MAX_LINE + 1);
	buf[CONF_MAX_LINE + 1] = '\0';
	assert_int_equal(conf_split(&c, buf, CONF_MAX_LINE + 1, argv), -1);
	assert_int_equal(c.errors, 1);
	assert_msg(&m, "t.conf:3: line too long");

	/* CONF_MAX_ARGS words are fine, one more is not. */
	len = 0;
	for (int i = 0; i < CONF_MAX_ARGS; i++) {
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "w%d ", i);
	}
	argc = conf_split(&c, buf, len, argv);
	assert_int_equal(argc, CONF_MAX_ARGS);
	assert_string_equal(argv[CONF_MAX_ARGS - 1], "w31");
	len = 0;
	for (int i = 0; i <= CONF_MAX_ARGS; i++) {
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "w%d ", i);
	}
	assert_int_equal(conf_split(&c, buf, len, argv), -1);
	assert_int_equal(c.errors, 2);
	assert_msg(&m, "t.conf:3: too many words");

	/* Many words that are only a comment are fine. */
	len = (size_t)snprintf(buf, sizeof(buf), "#");
	for (int i = 0; i <= CONF_MAX_ARGS; i++) {
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, " w%d", i);
	}
	assert_int_equal(conf_split(&c, buf, len, argv), 0);
	assert_int_equal(c.errors, 2);
}

static void
test_split_control_bytes(void **state)
{
	static const char bad[] = { '\0', '\x01', '\x1b', '\x7f', '\r', '\n', '\v', '\f' };
	struct conf c;
	struct msgs m;
	char buf[64];
	char *argv[CONF_MAX_ARGS];

	(void)state;
	conf_setup(&c, &m);
	for (size_t i = 0; i < sizeof(bad); i++) {
		memcpy(buf, "log inXfo", 10);
		buf[6] = bad[i];
		c.line = (unsigned int)i + 1;
		assert_int_equal(conf_split(&c, buf, 9, argv), -1);
		assert_int_equal(c.errors, i + 1);
	}
	assert_msg(&m, "t.conf:1: control character 0x00 at column 7");
	assert_msg(&m, "t.conf:4: control character 0x7f");

	/* Also inside a comment, where a NUL would hide what follows. */
	memcpy(buf, "log info # x\x01y", 15);
	assert_int_equal(conf_split(&c, buf, 14, argv), -1);
	/* A '\r' that is not last is a control byte. */
	memcpy(buf, "a\r\r", 4);
	assert_int_equal(conf_split(&c, buf, 3, argv), -1);
	assert_int_equal(c.errors, sizeof(bad) + 2);
}

/* ---- messages ---- */

static void
test_err_format_and_count(void **state)
{
	struct conf c;
	struct msgs m;

	(void)state;
	conf_setup(&c, &m);
	c.line = 7;
	conf_err(&c, "bad %s %d", "thing", 42);
	c.line = 0;
	conf_err(&c, "whole file");
	assert_int_equal(c.errors, 2);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.text[0], "t.conf:7: bad thing 42");
	assert_string_equal(m.text[1], "t.conf: whole file");
}

/* ---- number parsers ---- */

static void
test_u64(void **state)
{
	static const char *const bad[] = {
		"", "-1", "+1", " 1", "1 ", "12x", "0x10", "1e3", "1.0", "-0", "\t5", "x",
	};
	struct conf c;
	struct msgs m;
	uint64_t v;

	(void)state;
	conf_setup(&c, &m);
	c.line = 2;
	assert_true(conf_u64(&c, "n", "0", 0, 10, &v));
	assert_int_equal(v, 0);
	assert_true(conf_u64(&c, "n", "42", 0, 100, &v));
	assert_int_equal(v, 42);
	assert_true(conf_u64(&c, "n", "007", 0, 100, &v));
	assert_int_equal(v, 7);
	assert_true(conf_u64(&c, "n", "18446744073709551615", 0, UINT64_MAX, &v));
	assert_true(v == UINT64_MAX);
	assert_int_equal(c.errors, 0);

	v = 99;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(conf_u64(&c, "n", bad[i], 0, UINT64_MAX, &v));
		assert_int_equal(c.errors, i + 1);
	}
	assert_int_equal(v, 99);
	assert_msg(&m, "t.conf:2: n: '-1' is not a number");

	c.errors = 0;
	assert_false(conf_u64(&c, "n", "18446744073709551616", 0, UINT64_MAX, &v));
	assert_msg(&m, "n: '18446744073709551616' is too large");
	assert_false(conf_u64(&c, "n", "99999999999999999999999999", 0, UINT64_MAX, &v));
	assert_false(conf_u64(&c, "max", "0", 1, 10, &v));
	assert_msg(&m, "max: 0 is out of range 1..10");
	assert_false(conf_u64(&c, "max", "11", 1, 10, &v));
	assert_true(conf_u64(&c, "max", "10", 1, 10, &v));
	assert_true(conf_u64(&c, "max", "1", 1, 10, &v));
	assert_int_equal(c.errors, 4);
	assert_int_equal(v, 1);
}

static void
test_bool(void **state)
{
	static const char *const bad[] = { "", "Yes", "YES", "1", "true", "on", "yes ", "n" };
	struct conf c;
	struct msgs m;
	bool b = false;

	(void)state;
	conf_setup(&c, &m);
	assert_true(conf_bool(&c, "resolve", "yes", &b));
	assert_true(b);
	assert_true(conf_bool(&c, "resolve", "no", &b));
	assert_false(b);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(conf_bool(&c, "resolve", bad[i], &b));
	}
	assert_false(b);
	assert_int_equal(c.errors, sizeof(bad) / sizeof(bad[0]));
	assert_msg(&m, "resolve: expected yes or no, not 'true'");
}

static void
test_duration(void **state)
{
	static const struct {
		const char *s;
		uint64_t ms;
	} good[] = {
		{ "30", 30000 }, { "0", 0 }, { "250ms", 250 }, { "30s", 30000 },
		{ "5m", 300000 }, { "2h", 7200000 }, { "0ms", 0 }, { "1000ms", 1000 },
	};
	static const char *const bad[] = {
		"", "ms", "s", "-1s", "+1s", " 1s", "1 s", "1x", "1.5s", "1sm", "1msx", "1S",
		"1Ms", "-0", "1d", "s1",
	};
	struct conf c;
	struct msgs m;
	uint64_t v;

	(void)state;
	conf_setup(&c, &m);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(conf_duration_ms(&c, "t", good[i].s, 0, UINT64_MAX, &v));
		assert_int_equal(v, good[i].ms);
	}
	assert_int_equal(c.errors, 0);
	v = 5;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(conf_duration_ms(&c, "t", bad[i], 0, UINT64_MAX, &v));
		assert_int_equal(c.errors, i + 1);
	}
	assert_int_equal(v, 5);
	assert_msg(&m, "t: '1.5s' is not a duration");

	/* Overflow: in strtoull, and in the multiplication. */
	c.errors = 0;
	assert_false(conf_duration_ms(&c, "t", "99999999999999999999999", 0, UINT64_MAX, &v));
	assert_false(conf_duration_ms(&c, "t", "18446744073709551615s", 0, UINT64_MAX, &v));
	assert_false(conf_duration_ms(&c, "t", "18446744073709552s", 0, UINT64_MAX, &v));
	assert_false(conf_duration_ms(&c, "t", "307445734561826m", 0, UINT64_MAX, &v));
	assert_false(conf_duration_ms(&c, "t", "5124095576031h", 0, UINT64_MAX, &v));
	assert_int_equal(c.errors, 5);
	assert_msg(&m, "t: '18446744073709551615s' is too large");
	/* The largest that fit. */
	assert_true(conf_duration_ms(&c, "t", "18446744073709551615ms", 0, UINT64_MAX, &v));
	assert_true(v == UINT64_MAX);
	assert_true(conf_duration_ms(&c, "t", "18446744073709551", 0, UINT64_MAX, &v));
	assert_true(v == UINT64_C(18446744073709551) * 1000);
	assert_true(conf_duration_ms(&c, "t", "307445734561825m", 0, UINT64_MAX, &v));
	assert_true(v == UINT64_C(307445734561825) * 60000);
	assert_true(conf_duration_ms(&c, "t", "5124095576030h", 0, UINT64_MAX, &v));
	assert_true(v == UINT64_C(5124095576030) * 3600000);

	/* Range, with the bounds shown in readable units. */
	assert_false(conf_duration_ms(&c, "idle-timeout", "99ms", 100, 86400000, &v));
	assert_msg(&m, "idle-timeout: 99ms is out of range 100ms..24h");
	assert_false(conf_duration_ms(&c, "idle-timeout", "86401", 100, 86400000, &v));
	assert_false(conf_duration_ms(&c, "t", "2s", 1500, 1999, &v));
	assert_msg(&m, "t: 2s is out of range 1500ms..1999ms");
	assert_true(conf_duration_ms(&c, "idle-timeout", "1440m", 100, 86400000, &v));
	assert_int_equal(v, 86400000);
	assert_true(conf_duration_ms(&c, "idle-timeout", "100ms", 100, 86400000, &v));
	assert_int_equal(c.errors, 8);
}

static void
test_size(void **state)
{
	static const struct {
		const char *s;
		uint64_t n;
	} good[] = {
		{ "65536", 65536 }, { "64k", 65536 }, { "64K", 65536 }, { "1m", 1048576 },
		{ "1M", 1048576 }, { "2g", UINT64_C(2147483648) }, { "0", 0 }, { "0k", 0 },
	};
	static const char *const bad[] = {
		"", "k", "-1k", "+1k", " 1k", "1 k", "1kb", "1.5k", "1kk", "1KiB", "1t", "-0",
		"0x10", "k1",
	};
	struct conf c;
	struct msgs m;
	uint64_t v;

	(void)state;
	conf_setup(&c, &m);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(conf_size(&c, "buffer", good[i].s, 0, UINT64_MAX, &v));
		assert_true(v == good[i].n);
	}
	assert_int_equal(c.errors, 0);
	v = 5;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(conf_size(&c, "buffer", bad[i], 0, UINT64_MAX, &v));
		assert_int_equal(c.errors, i + 1);
	}
	assert_int_equal(v, 5);
	assert_msg(&m, "buffer: '1kb' is not a size");

	c.errors = 0;
	/* 2^54 k is 2^64: one past the largest. */
	assert_false(conf_size(&c, "buffer", "18014398509481984k", 0, UINT64_MAX, &v));
	assert_false(conf_size(&c, "buffer", "17179869184G", 0, UINT64_MAX, &v));
	assert_false(conf_size(&c, "buffer", "18446744073709551616", 0, UINT64_MAX, &v));
	assert_true(conf_size(&c, "buffer", "17179869183G", 0, UINT64_MAX, &v));
	assert_int_equal(c.errors, 3);
	assert_msg(&m, "buffer: '18014398509481984k' is too large");
	assert_true(conf_size(&c, "buffer", "18014398509481983k", 0, UINT64_MAX, &v));
	assert_true(v == UINT64_MAX - 1023);

	assert_false(conf_size(&c, "buffer", "4095", 4096, 16777216, &v));
	assert_msg(&m, "buffer: 4095 is out of range 4k..16m");
	assert_false(conf_size(&c, "buffer", "17m", 4096, 16777216, &v));
	assert_true(conf_size(&c, "buffer", "16384k", 4096, 16777216, &v));
	assert_int_equal(v, 16777216);
	assert_int_equal(c.errors, 5);
}

/* ---- files ---- */

struct file_lines {
	unsigned int n;
	unsigned int line[16];
	char first[16][64];
	int argc[16];
};

static void
collect(struct conf *c, int argc, char **argv, void *arg)
{
	struct file_lines *fl = arg;

	if (fl->n < 16) {
		fl->line[fl->n] = c->line;
		fl->argc[fl->n] = argc;
		snprintf(fl->first[fl->n], sizeof(fl->first[0]), "%s", argv[0]);
	}
	fl->n++;
}

/* Writes len bytes to a new temporary file; the path goes to path. */
static void
write_tmp(char *path, size_t cap, const void *data, size_t len)
{
	int fd;

	snprintf(path, cap, "/tmp/test_conf_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void
test_read_file(void **state)
{
	char path[64];
	char data[4096];
	size_t len = 0;
	struct conf c;
	struct msgs m;
	struct file_lines fl;

	(void)state;
	len += (size_t)snprintf(data + len, sizeof(data) - len, "# header\n\na 1\r\n");
	memset(data + len, 'x', 2000);  /* line 4: too long, skipped whole */
	len += 2000;
	len += (size_t)snprintf(data + len, sizeof(data) - len, " y\n  b 2 3 # c\nbad\x01\n");
	len += (size_t)snprintf(data + len, sizeof(data) - len, "c");   /* no final newline */
	write_tmp(path, sizeof(path), data, len);

	conf_setup(&c, &m);
	c.file = NULL;          /* conf_read_file names messages after path then */
	memset(&fl, 0, sizeof(fl));
	assert_int_equal(conf_read_file(&c, path, collect, &fl), 0);
	assert_int_equal(fl.n, 3);
	assert_int_equal(fl.line[0], 3);
	assert_string_equal(fl.first[0], "a");
	assert_int_equal(fl.argc[0], 2);
	assert_int_equal(fl.line[1], 5);
	assert_string_equal(fl.first[1], "b");
	assert_int_equal(fl.argc[1], 3);
	assert_int_equal(fl.line[2], 7);
	assert_string_equal(fl.first[2], "c");
	assert_int_equal(c.errors, 2);
	assert_int_equal(m.n, 2);
	assert_true(strncmp(m.text[0], path, strlen(path)) == 0);
	assert_msg(&m, ":4: line too long");
	assert_msg(&m, ":6: control character 0x01");
	unlink(path);
}

static void
test_read_file_nul_and_edges(void **state)
{
	static const char data[] = "a\nb\0c\n\n";
	char path[64];
	struct conf c;
	struct msgs m;
	struct file_lines fl;

	(void)state;
	write_tmp(path, sizeof(path), data, sizeof(data) - 1);
	conf_setup(&c, &m);
	memset(&fl, 0, sizeof(fl));
	assert_int_equal(conf_read_file(&c, path, collect, &fl), 0);
	assert_int_equal(fl.n, 1);
	assert_int_equal(c.errors, 1);
	assert_msg(&m, "t.conf:2: control character 0x00");
	unlink(path);

	/* An empty file has no lines and no errors. */
	write_tmp(path, sizeof(path), "", 0);
	conf_setup(&c, &m);
	memset(&fl, 0, sizeof(fl));
	assert_int_equal(conf_read_file(&c, path, collect, &fl), 0);
	assert_int_equal(fl.n, 0);
	assert_int_equal(c.errors, 0);
	unlink(path);

	/* A line of exactly CONF_MAX_LINE bytes plus "\r\n" is fine. */
	{
		char big[CONF_MAX_LINE + 2];

		memset(big, 'z', CONF_MAX_LINE);
		big[CONF_MAX_LINE] = '\r';
		big[CONF_MAX_LINE + 1] = '\n';
		write_tmp(path, sizeof(path), big, sizeof(big));
		conf_setup(&c, &m);
		memset(&fl, 0, sizeof(fl));
		assert_int_equal(conf_read_file(&c, path, collect, &fl), 0);
		assert_int_equal(fl.n, 1);
		assert_int_equal(c.errors, 0);
		unlink(path);
	}
}

static void
test_read_file_too_many_lines(void **state)
{
	size_t n = CONF_MAX_LINES + 5;
	char *data = malloc(n * 2);
	char path[64];
	struct conf c;
	struct msgs m;
	struct file_lines fl;

	(void)state;
	assert_non_null(data);
	for (size_t i = 0; i < n; i++) {
		data[2 * i] = '#';
		data[2 * i + 1] = '\n';
	}
	write_tmp(path, sizeof(path), data, n * 2);
	free(data);
	conf_setup(&c, &m);
	memset(&fl, 0, sizeof(fl));
	assert_int_equal(conf_read_file(&c, path, collect, &fl), 0);
	assert_int_equal(c.errors, 1);
	assert_msg(&m, "t.conf:100001: too many lines (more than 100000)");
	unlink(path);
}

static void
test_read_file_errors(void **state)
{
	struct conf c;
	struct msgs m;
	struct file_lines fl;

	(void)state;
	conf_setup(&c, &m);
	memset(&fl, 0, sizeof(fl));
	assert_int_equal(conf_read_file(&c, "/nonexistent/x.conf", collect, &fl), -ENOENT);
	assert_int_equal(c.errors, 1);
	assert_msg(&m, "t.conf: cannot open: No such file or directory");

	/* A directory opens but cannot be read. */
	conf_setup(&c, &m);
	assert_int_equal(conf_read_file(&c, "/tmp", collect, &fl), -EISDIR);
	assert_int_equal(c.errors, 1);
	assert_int_equal(fl.n, 0);
}

/* ---- exitd configuration ---- */

/* Feeds text line by line as conf_read_file would, without a file. */
static void
feed(struct conf *c, struct exitd_cfg *cfg, const char *text)
{
	char buf[CONF_MAX_LINE + 2];
	char *argv[CONF_MAX_ARGS];
	const char *p = text;
	int argc;

	c->line = 0;
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

		assert_true(len < sizeof(buf));
		memcpy(buf, p, len);
		buf[len] = '\0';
		c->line++;
		argc = conf_split(c, buf, len, argv);
		if (argc > 0) {
			exitd_cfg_line(c, argc, argv, cfg);
		}
		p += len;
		if (*p == '\n') {
			p++;
		}
	}
}

static const char full_conf[] =
	"# exitd test configuration\n"
	"listen 192.0.2.2:9001          # repeatable\n"
	"listen [2001:db8::2]:9001\n"
	"key /etc/exitd/identity.key\n"
	"accept 203.0.113.0/24:80,443\n"
	"accept *:8000-8999\n"
	"reject *:*\n"
	"allow-private yes\n"
	"resolve no\n"
	"resolver 192.0.2.53\n"
	"resolver 192.0.2.54:5353\n"
	"resolver [2001:db8::53]:53\n"
	"resolver 2001:db8::54\n"
	"resolver [2001:db8::55]\n"
	"max-connections 1000\n"
	"max-per-source 50\n"
	"rate-per-source 20\n"
	"burst-per-source 40\n"
	"peer 192.0.2.1\n"
	"peer 2001:db8:1::/48\n"
	"handshake-timeout 5s\n"
	"request-timeout 2500ms\n"
	"connect-timeout 3\n"
	"idle-timeout 10m\n"
	"buffer 128k\n"
	"log-clients yes\n"
	"user nobody\n"
	"run-as-root yes\n"
	"log debug\n";

static void
test_cfg_defaults(void **state)
{
	struct exitd_cfg cfg;

	(void)state;
	assert_int_equal(exitd_cfg_init(&cfg), 0);
	assert_non_null(cfg.policy);
	assert_null(cfg.key_path);
	assert_int_equal(cfg.n_listen, 0);
	assert_int_equal(cfg.n_resolvers, 0);
	assert_false(cfg.allow_private);
	assert_true(cfg.resolve);
	assert_int_equal(cfg.max_conns, 4096);
	assert_int_equal(cfg.max_per_source, 2048);
	assert_int_equal(cfg.rate_per_source, 800);
	assert_int_equal(cfg.burst_per_source, 1600);
	assert_int_equal(cfg.n_peers, 0);
	assert_string_equal(cfg.user, "");
	assert_false(cfg.run_as_root);
	assert_int_equal(cfg.handshake_timeout_ms, 10000);
	assert_int_equal(cfg.request_timeout_ms, 10000);
	assert_int_equal(cfg.connect_timeout_ms, 10000);
	assert_int_equal(cfg.idle_timeout_ms, 300000);
	assert_int_equal(cfg.buffer_size, 131072);
	assert_false(cfg.log_clients);
	assert_int_equal(cfg.log_level, LOG_LVL_INFO);
	assert_int_equal(policy_rule_count(cfg.policy), 0);
	exitd_cfg_fini(&cfg);
	assert_null(cfg.policy);
	exitd_cfg_fini(&cfg);   /* twice is harmless */
}

static void
test_cfg_full_file(void **state)
{
	struct exitd_cfg cfg;
	struct addr a;
	char path[64];

	(void)state;
	write_tmp(path, sizeof(path), full_conf, sizeof(full_conf) - 1);
	assert_int_equal(exitd_cfg_load(&cfg, path), 0);
	unlink(path);

	assert_int_equal(cfg.n_listen, 2);
	assert_int_equal(addr_parse("192.0.2.2", &a), 0);
	assert_true(addr_eq(&cfg.listen[0], &a));
	assert_int_equal(cfg.listen_port[0], 9001);
	assert_int_equal(addr_parse("2001:db8::2", &a), 0);
	assert_true(addr_eq(&cfg.listen[1], &a));
	assert_int_equal(cfg.listen_port[1], 9001);
	assert_string_equal(cfg.key_path, "/etc/exitd/identity.key");
	assert_int_equal(policy_rule_count(cfg.policy), 3);
	assert_true(cfg.allow_private);
	assert_false(cfg.resolve);
	assert_int_equal(cfg.n_resolvers, 5);
	assert_int_equal(addr_parse("192.0.2.53", &a), 0);
	assert_true(addr_eq(&cfg.resolver[0], &a));
	assert_int_equal(cfg.resolver_port[0], 53);
	assert_int_equal(cfg.resolver_port[1], 5353);
	assert_int_equal(cfg.resolver[2].family, AF_INET6);
	assert_int_equal(cfg.resolver_port[2], 53);
	assert_int_equal(cfg.resolver[3].family, AF_INET6);
	assert_int_equal(cfg.resolver_port[3], 53);
	assert_int_equal(addr_parse("2001:db8::55", &a), 0);
	assert_true(addr_eq(&cfg.resolver[4], &a));
	assert_int_equal(cfg.resolver_port[4], 53);
	assert_int_equal(cfg.max_conns, 1000);
	assert_int_equal(cfg.max_per_source, 50);
	assert_int_equal(cfg.rate_per_source, 20);
	assert_int_equal(cfg.burst_per_source, 40);
	assert_int_equal(cfg.n_peers, 2);
	assert_string_equal(cfg.user, "nobody");
	assert_true(cfg.run_as_root);
	assert_int_equal(addr_parse("192.0.2.1", &a), 0);
	assert_true(cidr_contains(&cfg.peers[0], &a));
	assert_int_equal(addr_parse("192.0.2.2", &a), 0);
	assert_false(cidr_contains(&cfg.peers[0], &a));
	assert_int_equal(addr_parse("2001:db8:1:ff::9", &a), 0);
	assert_true(cidr_contains(&cfg.peers[1], &a));
	assert_int_equal(cfg.handshake_timeout_ms, 5000);
	assert_int_equal(cfg.request_timeout_ms, 2500);
	assert_int_equal(cfg.connect_timeout_ms, 3000);
	assert_int_equal(cfg.idle_timeout_ms, 600000);
	assert_int_equal(cfg.buffer_size, 131072);
	assert_true(cfg.log_clients);
	assert_int_equal(cfg.log_level, LOG_LVL_DEBUG);
	exitd_cfg_fini(&cfg);
}

static void
test_cfg_policy_effects(void **state)
{
	struct conf c;
	struct msgs m;
	struct exitd_cfg cfg;
	struct addr a;
	enum policy_reason why;

	(void)state;
	/* A listen address is one of the relay's own, even inside an
	 * accepted range. */
	conf_setup(&c, &m);
	assert_int_equal(exitd_cfg_init(&cfg), 0);
	feed(&c, &cfg, "listen 192.0.2.2:9001\nkey k\naccept 192.0.2.0/24:*\n");
	assert_int_equal(exitd_cfg_finish(&c, &cfg), 0);
	assert_int_equal(addr_parse("192.0.2.2", &a), 0);
	assert_int_equal(policy_match(cfg.policy, &a, 80, &why), POLICY_REJECT);
	assert_int_equal(why, POLICY_BY_SELF);
	assert_int_equal(addr_parse("192.0.2.3", &a), 0);
	assert_int_equal(policy_match(cfg.policy, &a, 80, &why), POLICY_ACCEPT);
	/* Without allow-private, "*" does not open a private range. */
	assert_int_equal(addr_parse("10.0.0.1", &a), 0);
	assert_int_equal(policy_match(cfg.policy, &a, 80, NULL), POLICY_REJECT);
	exitd_cfg_fini(&cfg);

	/* allow-private reaches the policy. */
	conf_setup(&c, &m);
	assert_int_equal(exitd_cfg_init(&cfg), 0);
	feed(&c, &cfg, "listen 0.0.0.0:9001\nkey k\nallow-private yes\naccept *:*\n");
	assert_int_equal(exitd_cfg_finish(&c, &cfg), 0);
	assert_true(cfg.allow_private);
	assert_int_equal(addr_parse("10.0.0.1", &a), 0);
	assert_int_equal(policy_match(cfg.policy, &a, 80, NULL), POLICY_ACCEPT);
	exitd_cfg_fini(&cfg);
}

/* One bad line after a valid head; checks the message names line 3. */
struct bad_case {
	const char *line;
	const char *want;
};

static void
test_cfg_bad_lines(void **state)
{
	static const struct bad_case cases[] = {
		/* wrong arity, for every keyword */
		{ "listen", "t.conf:3: listen: expected 1 argument, got 0" },
		{ "listen 192.0.2.2:1 192.0.2.2:2",
		  "t.conf:3: listen: expected 1 argument, got 2" },
		{ "key", "t.conf:3: key: expected 1 argument, got 0" },
		{ "key a b", "t.conf:3: key: expected 1 argument, got 2" },
		{ "accept", "t.conf:3: accept: expected 1 argument" },
		{ "reject *:1 *:2", "t.conf:3: reject: expected 1 argument" },
		{ "allow-private", "t.conf:3: allow-private: expected 1 argument" },
		{ "resolve yes no", "t.conf:3: resolve: expected 1 argument" },
		{ "resolver", "t.conf:3: resolver: expected 1 argument" },
		{ "max-connections", "t.conf:3: max-connections: expected 1 argument" },
		{ "max-per-source 1 2", "t.conf:3: max-per-source: expected 1 argument" },
		{ "rate-per-source", "t.conf:3: rate-per-source: expected 1 argument" },
		{ "burst-per-source", "t.conf:3: burst-per-source: expected 1 argument" },
		{ "peer", "t.conf:3: peer: expected 1 argument" },
		{ "user", "t.conf:3: user: expected 1 argument" },
		{ "run-as-root", "t.conf:3: run-as-root: expected 1 argument" },
		{ "handshake-timeout", "t.conf:3: handshake-timeout: expected 1 argument" },
		{ "request-timeout 1s 2s", "t.conf:3: request-timeout: expected 1 argument" },
		{ "connect-timeout", "t.conf:3: connect-timeout: expected 1 argument" },
		{ "idle-timeout", "t.conf:3: idle-timeout: expected 1 argument" },
		{ "buffer 64 k", "t.conf:3: buffer: expected 1 argument, got 2" },
		{ "log-clients", "t.conf:3: log-clients: expected 1 argument" },
		{ "log", "t.conf:3: log: expected 1 argument" },
		/* bad values */
		{ "listen 192.0.2.2", "t.conf:3: listen: bad address '192.0.2.2'" },
		{ "listen 192.0.2.2:0", "t.conf:3: listen: bad address" },
		{ "listen 192.0.2.2:65536", "t.conf:3: listen: bad address" },
		{ "listen host.example:9001", "t.conf:3: listen: bad address" },
		{ "accept 203.0.113.0/24", "t.conf:3: accept: " },
		{ "reject *", "t.conf:3: reject: " },
		{ "allow-private maybe",
		  "t.conf:3: allow-private: expected yes or no, not 'maybe'" },
		{ "resolve 1", "t.conf:3: resolve: expected yes or no" },
		{ "resolver dns.example", "t.conf:3: resolver: bad address 'dns.example'" },
		{ "resolver 192.0.2.1:0", "t.conf:3: resolver: bad address" },
		{ "resolver [192.0.2.1]", "t.conf:3: resolver: bad address" },
		{ "resolver []", "t.conf:3: resolver: bad address" },
		{ "max-connections 0", "t.conf:3: max-connections: 0 is out of range 1..1000000" },
		{ "max-connections 1000001", "t.conf:3: max-connections: 1000001 is out of range" },
		{ "max-connections -1", "t.conf:3: max-connections: '-1' is not a number" },
		{ "max-connections 10k", "t.conf:3: max-connections: '10k' is not a number" },
		{ "max-per-source 0", "t.conf:3: max-per-source: 0 is out of range" },
		{ "rate-per-source 99999999999999999999", "t.conf:3: rate-per-source: '9" },
		{ "burst-per-source 0", "t.conf:3: burst-per-source: 0 is out of range" },
		{ "peer relay.example", "t.conf:3: peer: bad address or range 'relay.example'" },
		{ "peer 192.0.2.1/24", "t.conf:3: peer: bad address or range" },
		{ "user a-name-longer-than-thirty-two-bytes", "t.conf:3: user: bad user name" },
		{ "run-as-root maybe", "t.conf:3: run-as-root: expected yes or no" },
		{ "handshake-timeout 99ms",
		  "t.conf:3: handshake-timeout: 99ms is out of range 100ms..24h" },
		{ "request-timeout 0", "t.conf:3: request-timeout: 0 is out of range" },
		{ "connect-timeout 25h", "t.conf:3: connect-timeout: 25h is out of range" },
		{ "idle-timeout 86401s", "t.conf:3: idle-timeout: 86401s is out of range" },
		{ "idle-timeout forever", "t.conf:3: idle-timeout: 'forever' is not a duration" },
		{ "buffer 4095", "t.conf:3: buffer: 4095 is out of range 4k..16m" },
		{ "buffer 17m", "t.conf:3: buffer: 17m is out of range" },
		{ "buffer 1q", "t.conf:3: buffer: '1q' is not a size" },
		{ "log-clients on", "t.conf:3: log-clients: expected yes or no, not 'on'" },
		{ "log verbose",
		  "t.conf:3: log: expected error, warn, info or debug, not 'verbose'" },
		/* keywords */
		{ "lisen 192.0.2.2:9001", "t.conf:3: unknown keyword 'lisen'" },
		{ "Listen 192.0.2.2:9001", "t.conf:3: unknown keyword 'Listen'" },
		{ "key other.key", "t.conf:3: key: given twice" },
		{ "log \x01", "t.conf:3: control character 0x01" },
	};
	char text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf c;
		struct msgs m;
		struct exitd_cfg cfg;

		conf_setup(&c, &m);
		assert_int_equal(exitd_cfg_init(&cfg), 0);
		snprintf(text, sizeof(text), "listen 192.0.2.2:9001\nkey a.key\n%s\n# after\n",
			 cases[i].line);
		feed(&c, &cfg, text);
		if (c.errors != 1 || !has_msg(&m, cases[i].want)) {
			print_error("case '%s': %u errors\n", cases[i].line, c.errors);
		}
		assert_int_equal(c.errors, 1);
		assert_msg(&m, cases[i].want);
		/* The error is counted, so finish fails. */
		assert_int_equal(exitd_cfg_finish(&c, &cfg), -EINVAL);
		exitd_cfg_fini(&cfg);
	}
}

static void
test_cfg_bad_value_keeps_default(void **state)
{
	struct conf c;
	struct msgs m;
	struct exitd_cfg cfg;

	(void)state;
	conf_setup(&c, &m);
	assert_int_equal(exitd_cfg_init(&cfg), 0);
	feed(&c, &cfg,
	     "max-connections 0\nbuffer 1\nidle-timeout 1ms\nlog nope\nresolve maybe\n"
	     "max-connections 10\nmax-connections 20\n");
	assert_int_equal(c.errors, 5);
	assert_int_equal(cfg.max_conns, 20);   /* the last good value wins */
	assert_int_equal(cfg.buffer_size, 131072);
	assert_int_equal(cfg.idle_timeout_ms, 300000);
	assert_int_equal(cfg.log_level, LOG_LVL_INFO);
	assert_true(cfg.resolve);
	exitd_cfg_fini(&cfg);
}

static void
test_cfg_errors_counted(void **state)
{
	struct conf c;
	struct msgs m;
	struct exitd_cfg cfg;

	(void)state;
	conf_setup(&c, &m);
	assert_int_equal(exitd_cfg_init(&cfg), 0);
	feed(&c, &cfg,
	     "listen 192.0.2.2:9001\n"
	     "max-connections lots\n"
	     "key a.key\n"
	     "\n"
	     "bogus 1\n"
	     "log info\n");
	assert_int_equal(c.errors, 2);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.text[0], "t.conf:2: max-connections: 'lots' is not a number");
	assert_string_equal(m.text[1], "t.conf:5: unknown keyword 'bogus'");
	/* Lines after an error are still read. */
	assert_string_equal(cfg.key_path, "a.key");
	assert_int_equal(exitd_cfg_finish(&c, &cfg), -EINVAL);
	assert_int_equal(c.errors, 2);
	exitd_cfg_fini(&cfg);
}

static void
test_cfg_finish_checks(void **state)
{
	struct conf c;
	struct msgs m;
	struct exitd_cfg cfg;

	(void)state;
	/* Nothing at all: both missing. */
	conf_setup(&c, &m);
	assert_int_equal(exitd_cfg_init(&cfg), 0);
	feed(&c, &cfg, "# empty\nlog info\n");
	assert_int_equal(exitd_cfg_finish(&c, &cfg), -EINVAL);
	assert_int_equal(c.errors, 2);
	assert_msg(&m, "t.conf: no 'listen' address");
	assert_msg(&m, "t.conf: no 'key' file");
	exitd_cfg_fini(&cfg);

	/* Missing key only. */
	conf_setup(&c, &m);
	assert_int_equal(exitd_cfg_init(&cfg), 0);
	feed(&c, &cfg, "listen 192.0.2.2:9001\n");
	assert_int_equal(exitd_cfg_finish(&c, &cfg), -EINVAL);
	assert_int_equal(c.errors, 1);
	assert_msg(&m, "t.conf: no 'key' file");
	exitd_cfg_fini(&cfg);

	/* Missing listen only. */
	conf_setup(&c, &m);
	assert_int_equal(exitd_cfg_init(&cfg), 0);
	feed(&c, &cfg, "key a.key\n");
	assert_int_equal(exitd_cfg_finish(&c, &cfg), -EINVAL);
	assert_int_equal(c.errors, 1);
	assert_msg(&m, "t.conf: no 'listen' address");
	exitd_cfg_fini(&cfg);

	/* Duplicate listen, in both families; another port is not a
	 * duplicate. */
	conf_setup(&c, &m);
	assert_int_equal(exitd_cfg_init(&cfg), 0);
	feed(&c, &cfg,
	     "key a.key\nlisten 192.0.2.2:9001\nlisten 192.0.2.2:9002\n"
	     "listen [2001:db8::2]:9001\nlisten 192.0.2.2:9001\n"
	     "listen [2001:db8:0::2]:9001\n");
	assert_int_equal(c.errors, 0);
	assert_int_equal(exitd_cfg_finish(&c, &cfg), -EINVAL);
	assert_int_equal(c.errors, 2);
	assert_msg(&m, "t.conf: listen: 192.0.2.2:9001 given twice");
	assert_msg(&m, "t.conf: listen: [2001:db8::2]:9001 given twice");
	exitd_cfg_fini(&cfg);

	/* A good one passes. */
	conf_setup(&c, &m);
	assert_int_equal(exitd_cfg_init(&cfg), 0);
	feed(&c, &cfg, "key a.key\nlisten 192.0.2.2:9001\n");
	assert_int_equal(exitd_cfg_finish(&c, &cfg), 0);
	assert_int_equal(c.errors, 0);
	exitd_cfg_fini(&cfg);
}

static void
test_cfg_bounded_lists(void **state)
{
	struct conf c;
	struct msgs m;
	struct exitd_cfg cfg;
	char line[64];
	char *argv[CONF_MAX_ARGS];
	int argc;

	(void)state;
	conf_setup(&c, &m);
	assert_int_equal(exitd_cfg_init(&cfg), 0);
	for (unsigned int i = 0; i <= CFG_MAX_LISTEN; i++) {
		c.line = i + 1;
		snprintf(line, sizeof(line), "listen 192.0.2.2:%u", 9000 + i);
		argc = conf_split(&c, line, strlen(line), argv);
		exitd_cfg_line(&c, argc, argv, &cfg);
	}
	assert_int_equal(cfg.n_listen, CFG_MAX_LISTEN);
	assert_int_equal(c.errors, 1);
	assert_msg(&m, "t.conf:17: listen: too many listen addresses (at most 16)");

	for (unsigned int i = 0; i <= CFG_MAX_RESOLVERS; i++) {
		c.line = 100 + i;
		snprintf(line, sizeof(line), "resolver 192.0.2.%u", 50 + i);
		argc = conf_split(&c, line, strlen(line), argv);
		exitd_cfg_line(&c, argc, argv, &cfg);
	}
	assert_int_equal(cfg.n_resolvers, CFG_MAX_RESOLVERS);
	assert_int_equal(c.errors, 2);
	assert_msg(&m, "t.conf:108: resolver: too many resolvers (at most 8)");
	exitd_cfg_fini(&cfg);
}

static void
test_cfg_load_failures(void **state)
{
	static const char bad[] = "listen 192.0.2.2:9001\nkey a.key\nmax-connections 0\n";
	struct exitd_cfg cfg;
	char path[64];
	int saved, devnull;

	(void)state;
	/* exitd_cfg_load reports on stderr; keep the test output clean. */
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	devnull = open("/dev/null", O_WRONLY);
	assert_true(saved >= 0 && devnull >= 0);
	dup2(devnull, STDERR_FILENO);

	write_tmp(path, sizeof(path), bad, sizeof(bad) - 1);
	assert_int_equal(exitd_cfg_load(&cfg, path), -EINVAL);
	unlink(path);
	/* Nothing is left to free, and fini stays harmless. */
	assert_null(cfg.policy);
	assert_null(cfg.key_path);
	exitd_cfg_fini(&cfg);

	assert_int_equal(exitd_cfg_load(&cfg, "/nonexistent/exitd.conf"), -ENOENT);
	assert_null(cfg.policy);
	exitd_cfg_fini(&cfg);

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(devnull);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_words),
		cmocka_unit_test(test_split_blank_and_comments),
		cmocka_unit_test(test_split_limits),
		cmocka_unit_test(test_split_control_bytes),
		cmocka_unit_test(test_err_format_and_count),
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_read_file_nul_and_edges),
		cmocka_unit_test(test_read_file_too_many_lines),
		cmocka_unit_test(test_read_file_errors),
		cmocka_unit_test(test_cfg_defaults),
		cmocka_unit_test(test_cfg_full_file),
		cmocka_unit_test(test_cfg_policy_effects),
		cmocka_unit_test(test_cfg_bad_lines),
		cmocka_unit_test(test_cfg_bad_value_keeps_default),
		cmocka_unit_test(test_cfg_errors_counted),
		cmocka_unit_test(test_cfg_finish_checks),
		cmocka_unit_test(test_cfg_bounded_lists),
		cmocka_unit_test(test_cfg_load_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * Reader for configuration files made of "keyword arguments..." lines,
 * '#' starting a comment (DESIGN section 8), in WireGuard's
 * init/line/finish shape so files, tests and fuzzers drive it alike.
 * This module splits lines, reports errors as "file:line: message" and
 * counts them (relayd: all errors are shown, not just the first), and
 * offers checked number parsing. What the keywords mean is the caller's:
 * exitd/cfg.c and tund's config give them meaning.
 */
#ifndef CONF_H
#define CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* Limits on hostile or mistaken files. */
#define CONF_MAX_LINE 1024      /* bytes per line, newline excluded */
#define CONF_MAX_ARGS 32        /* words per line, keyword included */
#define CONF_MAX_LINES 100000

struct conf {
	const char *file;       /* borrowed; for messages */
	unsigned int line;      /* current line number, 1-based */
	unsigned int errors;
	/* Where messages go: NULL means stderr; tests and fuzzers set a sink. */
	void (*sink)(void *arg, const char *msg);
	void *sink_arg;
};

void conf_init(struct conf *c, const char *file);
/* Reports "file:line: message" and counts one error. */
void conf_err(struct conf *c, const char *fmt, ...) LOG_PRINTF(2, 3);

/*
 * Splits one line in place into words separated by blanks (spaces, tabs),
 * dropping a trailing comment and a trailing '\r'. Returns the number of
 * words (0 for a blank or comment line), or -1 after reporting an error
 * (too long, too many words, a control or NUL byte). len is the line's
 * length without its newline; line must have room for len + 1 bytes.
 */
int conf_split(struct conf *c, char *line, size_t len, char **argv);

/*
 * Reads a whole file and calls fn for each non-blank line with c->line
 * set. fn reports its own errors through conf_err. Returns 0, or -errno
 * when the file cannot be read (reported too); parse errors are counted
 * in c->errors, not returned.
 */
int conf_read_file(struct conf *c, const char *path,
		   void (*fn)(struct conf *c, int argc, char **argv, void *arg), void *arg);

/* Checked parsers: report through conf_err and return false when bad. */
bool conf_u64(struct conf *c, const char *what, const char *s, uint64_t min, uint64_t max,
	      uint64_t *out);
/* The same, also taking hexadecimal after "0x" (marks, table numbers). */
bool conf_u64_hex(struct conf *c, const char *what, const char *s, uint64_t min, uint64_t max,
		  uint64_t *out);
bool conf_bool(struct conf *c, const char *what, const char *s, bool *out);
/* Durations: "30" (seconds), "250ms", "30s", "5m"; result in ms. */
bool conf_duration_ms(struct conf *c, const char *what, const char *s, uint64_t min_ms,
		      uint64_t max_ms, uint64_t *out);
/* Sizes: "65536", "64k", "1m"; result in bytes. */
bool conf_size(struct conf *c, const char *what, const char *s, uint64_t min, uint64_t max,
	       uint64_t *out);

#endif

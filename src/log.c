// SPDX-License-Identifier: MIT
/* Logging: see log.h. Lines go to stderr as "prog: message". */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *log_prog = "?";
static enum log_level log_level = LOG_LVL_INFO;

void
log_init(const char *prog, enum log_level level)
{
	log_prog = prog;
	log_level = level;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

static void vlog(const char *fmt, va_list ap, const char *suffix) LOG_PRINTF(1, 0);

static void
vlog(const char *fmt, va_list ap, const char *suffix)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (suffix)
		fprintf(stderr, "%s: %s: %s\n", log_prog, line, suffix);
	else
		fprintf(stderr, "%s: %s\n", log_prog, line);
}

#define LOG_BODY(lvl, suffix)                   \
	do {                                    \
		va_list ap;                     \
		if (log_level < (lvl))          \
			return;                 \
		va_start(ap, fmt);              \
		vlog(fmt, ap, (suffix));        \
		va_end(ap);                     \
	} while (0)

void
log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);

	LOG_BODY(LOG_LVL_WARN, e);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARN, NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_INFO, NULL);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_DEBUG, NULL);
}

void
fatal(const char *fmt, ...)
{
	const char *e = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap, e);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

bool
log_rl_pass(struct log_rl *rl, unsigned int burst, unsigned long *dropped)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	*dropped = 0;
	if (ts.tv_sec != rl->sec) {
		rl->sec = ts.tv_sec;
		rl->n = 0;
		*dropped = rl->dropped;
		rl->dropped = 0;
	}
	if (rl->n >= burst) {
		rl->dropped++;
		return false;
	}
	rl->n++;
	return true;
}

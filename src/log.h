/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr with levels, in relayd's shape: log_warn appends
 * strerror(errno), log_warnx does not; fatal/fatalx are for start-up
 * failures and broken invariants only. Per-connection problems use the
 * rate-limited variants so a hostile peer cannot flood the log.
 * This module never logs on its own; it owns no state but the level.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

void log_init(const char *prog, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info" or "debug"; returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);

void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
_Noreturn void fatal(const char *fmt, ...) LOG_PRINTF(1, 2);
_Noreturn void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2);

/*
 * Rate limit: at most LOG_RL_BURST lines per second per call site (or the
 * burst given); the number suppressed is reported with the next line that
 * gets through.
 */
struct log_rl {
	long sec;
	unsigned int n;
	unsigned long dropped;
};
#define LOG_RL_BURST 10
/* True when this line may go out: at most burst a second. */
bool log_rl_pass(struct log_rl *rl, unsigned int burst, unsigned long *dropped);

/*
 * The one rate-limited logging shape: fn at level lvl, burst lines a
 * second from this call site; report: say how many were suppressed.
 */
#define log_rl_(lvl, fn, burst, report, ...)                            \
	do {                                                            \
		static struct log_rl rl_;                               \
		unsigned long d_;                                       \
		if (log_get_level() >= (lvl) && log_rl_pass(&rl_, (burst), &d_)) { \
			if ((report) && d_)                             \
				fn("(%lu similar lines suppressed)", d_); \
			fn(__VA_ARGS__);                                \
		}                                                       \
	} while (0)

#define log_warnx_rl(...) log_rl_(LOG_LVL_WARN, log_warnx, LOG_RL_BURST, true, __VA_ARGS__)
/* Info lines that come once per connection: at most burst a second. */
#define log_info_rl_n(burst, ...) log_rl_(LOG_LVL_INFO, log_info, (burst), true, __VA_ARGS__)
#define log_debug_rl(...) log_rl_(LOG_LVL_DEBUG, log_debug, LOG_RL_BURST, false, __VA_ARGS__)

#endif

/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the config reader and both daemons' keywords: the
 * input is a config file, read once as exitd's and once as tund's. It is
 * cut on '\n' as conf_read_file would, each line copied to a bounded
 * buffer (conf_split writes into it), then split and given to the
 * keyword's line function; the finish steps (and exitd_cfg_fini) close
 * each run, so a leak or a bad free shows up under ASan.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../exitd/cfg.h"
#include "../../tund/cfg.h"
#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
discard(void *arg, const char *msg)
{
	/* Touch the message so a missing NUL would be seen by ASan. */
	size_t *total = arg;

	*total += strlen(msg);
}

static void
feed(struct conf *c, const uint8_t *data, size_t size,
     void (*fn)(struct conf *c, int argc, char **argv, void *arg), void *arg)
{
	/* Two bytes past CONF_MAX_LINE, so that a cut line stays too long
	 * even after conf_split drops a '\r', and one for the NUL. */
	char line[CONF_MAX_LINE + 3];
	char *argv[CONF_MAX_ARGS];
	size_t pos = 0;
	int argc;

	while (pos < size && c->line < CONF_MAX_LINES) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t end = nl != NULL ? (size_t)(nl - data) : size;
		size_t len = end - pos;

		if (len > CONF_MAX_LINE + 2) {
			len = CONF_MAX_LINE + 2;
		}
		memcpy(line, data + pos, len);
		line[len] = '\0';
		c->line++;
		argc = conf_split(c, line, len, argv);
		if (argc > 0) {
			fn(c, argc, argv, arg);
		}
		pos = end + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct exitd_cfg cfg;
	struct tund_cfg tcfg;
	struct conf c;
	size_t total = 0;

	if (exitd_cfg_init(&cfg) != 0) {
		return 0;
	}
	conf_init(&c, "fuzz.conf");
	c.sink = discard;
	c.sink_arg = &total;
	feed(&c, data, size, exitd_cfg_line, &cfg);
	(void)exitd_cfg_finish(&c, &cfg);
	exitd_cfg_fini(&cfg);

	tund_cfg_init(&tcfg);
	conf_init(&c, "fuzz.conf");
	c.sink = discard;
	c.sink_arg = &total;
	feed(&c, data, size, tund_cfg_line, &tcfg);
	(void)tund_cfg_finish(&c, &tcfg);
	return 0;
}

// SPDX-License-Identifier: MIT
/*
 * The pool's accounting against failing builds (tund/pool.c): how many
 * circuits it builds, counts as failed and keeps, how the back-off stops a
 * tight loop of doomed builds, and that a waiter is answered (with the
 * reason) when no circuit can be had. The test runs in a network namespace
 * of its own (unshare, as root) where even loopback is down, so every
 * connect fails at once and nothing reaches any network; without root it
 * says so and skips.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../tund/cfg.h"
#include "../../tund/path.h"
#include "../../tund/pool.h"

#define PIN "sha256:0000000000000000000000000000000000000000000000000000000000000000"

static bool answered;
static char answer_err[256];

static void
got(void *arg, struct circuit *c, const char *err)
{
	answered = true;
	assert_null(c);
	snprintf(answer_err, sizeof(answer_err), "%s", err ? err : "");
}

static void
run_for(struct ev *ev, uint64_t ms)
{
	uint64_t end = ev_now_ms(ev) + ms;

	while (ev_now_ms(ev) < end) {
		ev_run_once(ev, 10);
	}
}

static void
test_pool_failing(void **state)
{
	struct tund_cfg cfg;
	struct conf c;
	struct paths paths;
	struct pool_stats st;
	struct ev *ev = ev_new(1024);
	char err[256];
	SSL_CTX *ctx = tls_client_ctx_new(err, sizeof(err));
	const char *lines[] = { "relay a 192.0.2.1:9001 " PIN " exit", "path a", "pool 2",
				"build-timeout 100ms", "socks 127.0.0.1:1080" };
	struct pool *p;

	assert_non_null(ev);
	assert_non_null(ctx);
	tund_cfg_init(&cfg);
	conf_init(&c, "t.conf");
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char buf[256], *argv[CONF_MAX_ARGS];
		int argc;

		snprintf(buf, sizeof(buf), "%s", lines[i]);
		argc = conf_split(&c, buf, strlen(buf), argv);
		tund_cfg_line(&c, argc, argv, &cfg);
	}
	assert_int_equal(tund_cfg_finish(&c, &cfg), 0);
	paths_init(&paths, &cfg, 1);

	p = pool_new(ev, ctx, &cfg, &paths);
	assert_non_null(p);
	pool_stats(p, &st);
	assert_int_equal(st.building, 2);               /* pool 2: two builds at once */
	run_for(ev, 300);
	pool_stats(p, &st);
	/* Both failed (unreachable), as one outage: nothing more until the back-off ends. */
	assert_int_equal(st.failed, 2);
	assert_int_equal(st.building, 0);
	assert_int_equal(st.ready, 0);
	assert_int_equal(paths.h[0].n_fail, 2);
	assert_int_equal(paths.h[0].fails_in_row, 1);
	assert_non_null(strstr(paths.h[0].last_error, "hop 1 (a)"));

	/* A stream asks: the path is in back-off past its deadline; it hears why. */
	answered = false;
	assert_non_null(pool_get(p, got, NULL));
	assert_false(answered);                         /* never from inside pool_get */
	run_for(ev, 1500);
	assert_true(answered);
	assert_non_null(strstr(answer_err, "hop 1 (a)"));
	pool_stats(p, &st);
	assert_int_equal(st.waiting, 0);
	/* After the back-off (1 s) it tried again, still without a tight loop. */
	assert_true(st.failed >= 3 && st.failed <= 6);
	pool_free(p);
	SSL_CTX_free(ctx);
	ev_free(ev);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_failing),
	};

	if (unshare(CLONE_NEWNET) < 0) {
		/* Only a network namespace of our own may see these connects. */
		printf("[  SKIPPED ] test_pool: unshare(CLONE_NEWNET): %s (needs root)\n",
		       strerror(errno));
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}

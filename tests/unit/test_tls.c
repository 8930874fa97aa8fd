// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/tls.c: pins (format, parse, hostile strings), keys
 * (make, load, file mode), and a real TLS 1.3 handshake between the
 * server and client contexts over memory BIOs, with the right pin and a
 * wrong one, with OpenSSL's heap counted while it runs.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/err.h>

#include "tls.h"

static char dir[64];

static void
path_in_dir(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

static void
test_pin_roundtrip(void **state)
{
	uint8_t pin[TLS_PIN_LEN], back[TLS_PIN_LEN];
	char s[TLS_PIN_STRLEN];

	for (size_t i = 0; i < TLS_PIN_LEN; i++) {
		pin[i] = (uint8_t)(i * 37 + 1);
	}
	tls_pin_fmt(pin, s);
	assert_int_equal(strlen(s), TLS_PIN_STRLEN - 1);
	assert_memory_equal(s, "sha256:", 7);
	assert_int_equal(tls_pin_parse(s, back), 0);
	assert_memory_equal(pin, back, TLS_PIN_LEN);
}

static void
test_pin_parse_bad(void **state)
{
	uint8_t pin[TLS_PIN_LEN];
	char s[TLS_PIN_STRLEN + 8];

	memset(s, 'a', sizeof(s));
	memcpy(s, "sha256:", 7);
	s[TLS_PIN_STRLEN - 1] = '\0';
	assert_int_equal(tls_pin_parse(s, pin), 0);
	s[10] = 'g';
	assert_int_equal(tls_pin_parse(s, pin), -EINVAL);
	s[10] = 'a';
	s[TLS_PIN_STRLEN - 2] = '\0';   /* one hex digit short */
	assert_int_equal(tls_pin_parse(s, pin), -EINVAL);
	s[TLS_PIN_STRLEN - 2] = 'a';
	s[TLS_PIN_STRLEN - 1] = 'a';    /* one too many */
	s[TLS_PIN_STRLEN] = '\0';
	assert_int_equal(tls_pin_parse(s, pin), -EINVAL);
	assert_int_equal(tls_pin_parse("sha1:abcd", pin), -EINVAL);
	assert_int_equal(tls_pin_parse("", pin), -EINVAL);
	assert_int_equal(tls_pin_parse("sha256:", pin), -EINVAL);
}

static void
test_keygen_load(void **state)
{
	char path[128], pin[TLS_PIN_STRLEN], err[256], again[TLS_PIN_STRLEN];
	uint8_t raw[TLS_PIN_LEN];
	struct stat st;
	EVP_PKEY *key;

	path_in_dir(path, sizeof(path), "k1.key");
	assert_int_equal(tls_keygen(path, pin, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Never overwrites. */
	assert_true(tls_keygen(path, again, err, sizeof(err)) < 0);
	key = tls_key_load(path, err, sizeof(err));
	assert_non_null(key);
	assert_int_equal(tls_key_pin(key, raw), 0);
	tls_pin_fmt(raw, again);
	assert_string_equal(pin, again);
	EVP_PKEY_free(key);

	/* A write that fails half way (no room: a file size limit of 0) leaves no file. */
	{
		char p2[128];
		struct rlimit old, none;
		void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);

		path_in_dir(p2, sizeof(p2), "k-full.key");
		assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
		none = old;
		none.rlim_cur = 0;
		assert_int_equal(setrlimit(RLIMIT_FSIZE, &none), 0);
		assert_true(tls_keygen(p2, again, err, sizeof(err)) < 0);
		assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
		signal(SIGXFSZ, prev);
		assert_non_null(strstr(err, "k-full.key"));
		assert_int_equal(stat(p2, &st), -1);
		assert_int_equal(errno, ENOENT);
	}

	/* A key others may read is refused, and the message says why. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_null(tls_key_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "chmod 600"));
	unlink(path);
}

static void
test_key_load_bad(void **state)
{
	char path[128], err[256];
	FILE *f;

	path_in_dir(path, sizeof(path), "missing.key");
	assert_null(tls_key_load(path, err, sizeof(err)));
	path_in_dir(path, sizeof(path), "junk.key");
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n", f);
	fclose(f);
	chmod(path, 0600);
	assert_null(tls_key_load(path, err, sizeof(err)));
	unlink(path);
}

/* Moves bytes between the two memory BIO pairs until both handshakes settle. */
static void
handshake(SSL *c, SSL *s, int *rc, int *rs)
{
	*rc = *rs = -1;
	for (int i = 0; i < 50; i++) {
		int ec, es;

		*rc = SSL_do_handshake(c);
		*rs = SSL_do_handshake(s);
		ec = *rc == 1 ? 0 : SSL_get_error(c, *rc);
		es = *rs == 1 ? 0 : SSL_get_error(s, *rs);
		if ((*rc == 1 || ec != SSL_ERROR_WANT_READ) && (*rs == 1 || es != SSL_ERROR_WANT_READ)) {
			return;
		}
	}
}

static void
pair(SSL_CTX *cctx, SSL_CTX *sctx, SSL **c, SSL **s)
{
	BIO *c_in, *c_out;

	*c = SSL_new(cctx);
	*s = SSL_new(sctx);
	assert_non_null(*c);
	assert_non_null(*s);
	assert_int_equal(BIO_new_bio_pair(&c_in, 0, &c_out, 0), 1);
	SSL_set_bio(*c, c_in, c_in);
	SSL_set_bio(*s, c_out, c_out);
	SSL_set_connect_state(*c);
	SSL_set_accept_state(*s);
}

static void
test_handshake_pins(void **state)
{
	char path[128], pin_s[TLS_PIN_STRLEN], err[256];
	uint8_t pin[TLS_PIN_LEN], wrong[TLS_PIN_LEN];
	SSL_CTX *sctx, *cctx;
	EVP_PKEY *key;
	SSL *c, *s;
	int rc, rs;
	char buf[16];
	size_t held0, held1;

	path_in_dir(path, sizeof(path), "relay.key");
	assert_int_equal(tls_keygen(path, pin_s, err, sizeof(err)), 0);
	assert_int_equal(tls_pin_parse(pin_s, pin), 0);
	key = tls_key_load(path, err, sizeof(err));
	assert_non_null(key);
	sctx = tls_server_ctx_new(key, err, sizeof(err));
	cctx = tls_client_ctx_new(err, sizeof(err));
	assert_non_null(sctx);
	assert_non_null(cctx);

	/* The right pin: TLS 1.3, an allowed suite, X25519, data flows. */
	held0 = tls_heap_bytes();
	pair(cctx, sctx, &c, &s);
	assert_int_equal(tls_set_pin(c, pin), 0);
	handshake(c, s, &rc, &rs);
	assert_int_equal(rc, 1);
	assert_int_equal(rs, 1);
	assert_int_equal(SSL_version(c), TLS1_3_VERSION);
	assert_false(tls_pin_mismatched(c));
	assert_null(SSL_get_servername(s, TLSEXT_NAMETYPE_host_name));
	assert_false(SSL_session_reused(c));
	assert_int_equal(SSL_write(c, "ping", 4), 4);
	assert_int_equal(SSL_read(s, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	/* Two live TLS 1.3 sessions hold well over 16 KB; freed, they are gone. */
	held1 = tls_heap_bytes();
	assert_true(held1 >= held0 + 16384);
	SSL_free(c);
	SSL_free(s);
	assert_true(tls_heap_bytes() + 16384 <= held1);

	/* A wrong pin: the client aborts and says so. */
	memcpy(wrong, pin, sizeof(wrong));
	wrong[0] ^= 1;
	pair(cctx, sctx, &c, &s);
	assert_int_equal(tls_set_pin(c, wrong), 0);
	handshake(c, s, &rc, &rs);
	assert_int_not_equal(rc, 1);
	assert_true(tls_pin_mismatched(c));
	assert_string_equal(tls_seen_pin(c), pin_s);
	SSL_free(c);
	SSL_free(s);

	/* No pin set at all: refused, never accepted by default. */
	pair(cctx, sctx, &c, &s);
	handshake(c, s, &rc, &rs);
	assert_int_not_equal(rc, 1);
	SSL_free(c);
	SSL_free(s);
	ERR_clear_error();

	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	EVP_PKEY_free(key);
	unlink(path);
}

static void
test_errstr(void **state)
{
	char buf[64];

	ERR_clear_error();
	assert_string_equal(tls_errstr(buf, sizeof(buf)), "unknown TLS error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pin_roundtrip),
		cmocka_unit_test(test_pin_parse_bad),
		cmocka_unit_test(test_keygen_load),
		cmocka_unit_test(test_key_load_bad),
		cmocka_unit_test(test_handshake_pins),
		cmocka_unit_test(test_errstr),
	};
	int r;

	if (!tls_count_heap()) {
		fprintf(stderr, "tls_count_heap: OpenSSL allocated before main\n");
		return 1;
	}
	snprintf(dir, sizeof(dir), "/tmp/test_tls.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	r = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(dir);
	return r;
}

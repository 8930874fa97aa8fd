// SPDX-License-Identifier: MIT
/*
 * Keys, pins and TLS contexts: see tls.h. The only file besides circuit.c
 * and exitd's relay that includes OpenSSL.
 */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#define TLS_CIPHERSUITES "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"
#define TLS_GROUPS "X25519"

struct pin_state {
	uint8_t want[TLS_PIN_LEN];
	bool mismatch;
	char seen[TLS_PIN_STRLEN];
};

static int pin_idx = -1;
static size_t heap_held;

static void
held_add(void *p)
{
	__atomic_add_fetch(&heap_held, malloc_usable_size(p), __ATOMIC_RELAXED);
}

static void
held_sub(void *p)
{
	__atomic_sub_fetch(&heap_held, malloc_usable_size(p), __ATOMIC_RELAXED);
}

static void *
count_malloc(size_t n, const char *file, int line)
{
	void *p = malloc(n);

	(void)file, (void)line;
	if (p != NULL) {
		held_add(p);
	}
	return p;
}

static void
count_free(void *p, const char *file, int line)
{
	(void)file, (void)line;
	if (p != NULL) {
		held_sub(p);
		free(p);
	}
}

static void *
count_realloc(void *p, size_t n, const char *file, int line)
{
	void *q;

	if (p == NULL) {
		return count_malloc(n, file, line);
	}
	if (n == 0) {
		count_free(p, file, line);
		return NULL;
	}
	held_sub(p);
	q = realloc(p, n);
	held_add(q != NULL ? q : p);
	return q;
}

bool
tls_count_heap(void)
{
	return CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free) == 1;
}

size_t
tls_heap_bytes(void)
{
	return __atomic_load_n(&heap_held, __ATOMIC_RELAXED);
}

const char *
tls_errstr(char *buf, size_t len)
{
	unsigned long e;
	size_t off = 0;

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		char one[256];
		int n;

		ERR_error_string_n(e, one, sizeof(one));
		n = snprintf(buf + off, len - off, "%s%s", off ? "; " : "", one);
		if (n < 0 || (size_t)n >= len - off) {
			ERR_clear_error();
			break;
		}
		off += (size_t)n;
	}
	if (off == 0) {
		snprintf(buf, len, "unknown TLS error");
	}
	return buf;
}

static void
set_err(char *err, size_t errlen, const char *what)
{
	char ossl[512];

	snprintf(err, errlen, "%s: %s", what, tls_errstr(ossl, sizeof(ossl)));
}

int
tls_key_pin(EVP_PKEY *key, uint8_t pin[TLS_PIN_LEN])
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int n;
	int r = -EIO;

	n = i2d_PUBKEY(key, &der);
	if (n <= 0) {
		return -EIO;
	}
	if (EVP_Digest(der, (size_t)n, pin, &mdlen, EVP_sha256(), NULL) == 1 &&
	    mdlen == TLS_PIN_LEN) {
		r = 0;
	}
	OPENSSL_free(der);
	return r;
}

void
tls_pin_fmt(const uint8_t pin[TLS_PIN_LEN], char out[TLS_PIN_STRLEN])
{
	static const char hex[] = "0123456789abcdef";

	memcpy(out, "sha256:", 7);
	for (size_t i = 0; i < TLS_PIN_LEN; i++) {
		out[7 + 2 * i] = hex[pin[i] >> 4];
		out[7 + 2 * i + 1] = hex[pin[i] & 15];
	}
	out[TLS_PIN_STRLEN - 1] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

int
tls_pin_parse(const char *s, uint8_t pin[TLS_PIN_LEN])
{
	if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != TLS_PIN_STRLEN - 1) {
		return -EINVAL;
	}
	s += 7;
	for (size_t i = 0; i < TLS_PIN_LEN; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			return -EINVAL;
		}
		pin[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int
tls_keygen(const char *path, char pin[TLS_PIN_STRLEN], char *err, size_t errlen)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	uint8_t raw[TLS_PIN_LEN];
	FILE *f = NULL;
	bool created = false;
	int fd, r = -EIO;

	if (key == NULL) {
		set_err(err, errlen, "cannot make an Ed25519 key");
		return -EIO;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	/* From here on, any failure removes the file: no empty or unpinned key stays. */
	created = true;
	f = fdopen(fd, "w");
	if (f == NULL) {
		r = -errno;
		close(fd);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1) {
		set_err(err, errlen, "cannot write the key");
		fclose(f);
		goto out;
	}
	if (fclose(f) != 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (tls_key_pin(key, raw) < 0) {
		set_err(err, errlen, "cannot compute the pin");
		goto out;
	}
	tls_pin_fmt(raw, pin);
	r = 0;
out:
	if (r != 0 && created) {
		unlink(path);
	}
	EVP_PKEY_free(key);
	return r;
}

EVP_PKEY *
tls_key_load(const char *path, char *err, size_t errlen)
{
	EVP_PKEY *key;
	struct stat st;
	FILE *f;

	f = fopen(path, "re");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		fclose(f);
		return NULL;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s: mode %04o lets others read the key; chmod 600 it", path,
			 (unsigned int)(st.st_mode & 07777));
		fclose(f);
		return NULL;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (key == NULL) {
		set_err(err, errlen, "cannot read the key");
		return NULL;
	}
	if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
		snprintf(err, errlen, "%s: not an Ed25519 key", path);
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

static int
common_setup(SSL_CTX *ctx)
{
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, TLS_CIPHERSUITES) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, TLS_GROUPS) != 1) {
		return -1;
	}
	/* No tickets and no cache: resumption would link a client's circuits. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			      SSL_MODE_RELEASE_BUFFERS);
	return 0;
}

static X509 *
self_signed(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *name;
	unsigned char serial[16];
	BIGNUM *bn = NULL;

	if (x == NULL || RAND_bytes(serial, sizeof(serial)) != 1) {
		goto fail;
	}
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL) {
		goto fail;
	}
	name = X509_get_subject_name(x);
	if (X509_set_version(x, 2) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 3650L * 86400) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"exitd",
				       -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, key) != 1 ||
	    X509_sign(x, key, NULL) <= 0) {
		goto fail;
	}
	BN_free(bn);
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

SSL_CTX *
tls_server_ctx_new(EVP_PKEY *key, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	X509 *cert = NULL;

	if (ctx == NULL || common_setup(ctx) < 0) {
		set_err(err, errlen, "cannot set up the TLS server context");
		goto fail;
	}
	cert = self_signed(key);
	if (cert == NULL || SSL_CTX_use_certificate(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		set_err(err, errlen, "cannot make the relay certificate");
		goto fail;
	}
	X509_free(cert);
	/* Clients are anonymous: never ask for a certificate. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	return ctx;
fail:
	X509_free(cert);
	SSL_CTX_free(ctx);
	return NULL;
}

static void
pin_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	OPENSSL_free(ptr);
}

/*
 * Replaces certificate-chain verification: the only question is whether
 * the leaf's public key is the one pinned for this hop.
 */
static int
verify_pin(X509_STORE_CTX *xctx, void *arg)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct pin_state *ps = ssl ? SSL_get_ex_data(ssl, pin_idx) : NULL;
	X509 *leaf = X509_STORE_CTX_get0_cert(xctx);
	EVP_PKEY *pub;
	uint8_t got[TLS_PIN_LEN];

	if (ps == NULL || leaf == NULL || (pub = X509_get0_pubkey(leaf)) == NULL ||
	    tls_key_pin(pub, got) < 0) {
		X509_STORE_CTX_set_error(xctx, X509_V_ERR_UNSPECIFIED);
		return 0;
	}
	if (CRYPTO_memcmp(got, ps->want, TLS_PIN_LEN) != 0) {
		ps->mismatch = true;
		tls_pin_fmt(got, ps->seen);
		X509_STORE_CTX_set_error(xctx, X509_V_ERR_CERT_SIGNATURE_FAILURE);
		return 0;
	}
	X509_STORE_CTX_set_error(xctx, X509_V_OK);
	return 1;
}

SSL_CTX *
tls_client_ctx_new(char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if (pin_idx < 0) {
		pin_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, pin_free);
	}
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL || pin_idx < 0 || common_setup(ctx) < 0) {
		set_err(err, errlen, "cannot set up the TLS client context");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, verify_pin, NULL);
	return ctx;
}

int
tls_set_pin(SSL *ssl, const uint8_t pin[TLS_PIN_LEN])
{
	struct pin_state *ps = OPENSSL_zalloc(sizeof(*ps));

	if (ps == NULL) {
		return -ENOMEM;
	}
	memcpy(ps->want, pin, TLS_PIN_LEN);
	if (SSL_set_ex_data(ssl, pin_idx, ps) != 1) {
		OPENSSL_free(ps);
		return -ENOMEM;
	}
	return 0;
}

bool
tls_pin_mismatched(const SSL *ssl)
{
	const struct pin_state *ps = SSL_get_ex_data(ssl, pin_idx);

	return ps && ps->mismatch;
}

const char *
tls_seen_pin(const SSL *ssl)
{
	const struct pin_state *ps = SSL_get_ex_data(ssl, pin_idx);

	return ps ? ps->seen : "";
}

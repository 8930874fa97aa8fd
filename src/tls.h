/* SPDX-License-Identifier: MIT */
/*
 * Relay identity keys, pins and TLS 1.3 contexts (DESIGN section 3).
 *
 * A relay's identity is an Ed25519 key; its pin is "sha256:" and the
 * lowercase hex SHA-256 of the DER SubjectPublicKeyInfo. The server
 * context presents a self-signed certificate made from the key at start-up;
 * the client context verifies nothing but the pin set on each SSL. Both
 * contexts are TLS 1.3 only, X25519, AES-256-GCM / ChaCha20-Poly1305 /
 * AES-128-GCM, no tickets, no resumption, no SNI, no client certificate.
 * This module owns no sockets; nesting of layers lives in circuit.c.
 */
#ifndef TLS_H
#define TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#define TLS_PIN_LEN 32
#define TLS_PIN_STRLEN (7 + 2 * TLS_PIN_LEN + 1)        /* "sha256:" hex NUL */
/* Bytes a TLS 1.3 record adds around its plaintext (header, type, tag). */
#define TLS_RECORD_OVERHEAD (5 + 1 + 16)
#define TLS_MAX_FRAGMENT 16384

/*
 * Makes a new Ed25519 key, writes it to path as PKCS#8 PEM with mode 0600
 * (refusing to overwrite), and its pin into pin. 0 or -errno/-EIO with a
 * message in err.
 */
int tls_keygen(const char *path, char pin[TLS_PIN_STRLEN], char *err, size_t errlen);
/* Loads an Ed25519 key; refuses a file others may read. NULL + err. */
EVP_PKEY *tls_key_load(const char *path, char *err, size_t errlen);
/* The pin of a key (or of any public key). 0 or -EIO. */
int tls_key_pin(EVP_PKEY *key, uint8_t pin[TLS_PIN_LEN]);
void tls_pin_fmt(const uint8_t pin[TLS_PIN_LEN], char out[TLS_PIN_STRLEN]);
/* "sha256:<64 lowercase or uppercase hex>". 0 or -EINVAL. */
int tls_pin_parse(const char *s, uint8_t pin[TLS_PIN_LEN]);

SSL_CTX *tls_server_ctx_new(EVP_PKEY *key, char *err, size_t errlen);
SSL_CTX *tls_client_ctx_new(char *err, size_t errlen);

/* Client side: the pin this SSL's peer must present. 0 or -ENOMEM. */
int tls_set_pin(SSL *ssl, const uint8_t pin[TLS_PIN_LEN]);
/* True when the handshake of ssl failed because the peer's key did not match. */
bool tls_pin_mismatched(const SSL *ssl);
/* Text of the peer's actual pin after a mismatch ("" if unknown). */
const char *tls_seen_pin(const SSL *ssl);

/*
 * Makes OpenSSL allocate through counting wrappers of malloc, so that
 * tls_heap_bytes() tells what its objects hold (the bulk of a circuit).
 * Must run before anything else calls OpenSSL; false if it was too late.
 */
bool tls_count_heap(void);
/* Bytes OpenSSL holds now (malloc's usable sizes); 0 unless counting. */
size_t tls_heap_bytes(void);

/* Drains OpenSSL's error queue into buf as one line; returns buf. */
const char *tls_errstr(char *buf, size_t len);

#endif

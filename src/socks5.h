/* SPDX-License-Identifier: MIT */
/*
 * SOCKS5 codec (RFC 1928, with Tor's RESOLVE/RESOLVE_PTR and our DNS
 * command, DESIGN section 3), both sides, incremental and pure.
 *
 * Every parser looks at the bytes it is given (p, len), borrowed for the
 * call, and returns PARSE_AGAIN when they are a correct prefix of a
 * message that needs more bytes, PARSE_BAD when they can never become a
 * valid message, or PARSE_OK with *used set to the size of the message,
 * so that pipelined bytes after it stay with the caller. On PARSE_BAD of a
 * request, *rep (when not NULL) gets the reply code the server should send
 * (0x07 command not supported, 0x08 address type not supported, 0x01
 * otherwise) before it closes. Builders write into caller memory and
 * return 0, or -ENOSPC when cap is too small, or -EINVAL for a request
 * they cannot encode (host name empty or longer than 255).
 */
#ifndef SOCKS5_H
#define SOCKS5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

enum parse_res {
	PARSE_OK,
	PARSE_AGAIN,
	PARSE_BAD,
};

#define SOCKS5_VER 0x05
#define SOCKS5_METHOD_NOAUTH 0x00
#define SOCKS5_METHOD_NONE 0xff

enum socks5_cmd {
	SOCKS5_CMD_CONNECT = 0x01,
	SOCKS5_CMD_RESOLVE = 0xf0,
	SOCKS5_CMD_RESOLVE_PTR = 0xf1,
	SOCKS5_CMD_DNS = 0xf2,
};

enum socks5_atyp {
	SOCKS5_ATYP_IPV4 = 0x01,
	SOCKS5_ATYP_DOMAIN = 0x03,
	SOCKS5_ATYP_IPV6 = 0x04,
};

enum socks5_rep {
	SOCKS5_REP_OK = 0x00,
	SOCKS5_REP_FAIL = 0x01,
	SOCKS5_REP_POLICY = 0x02,
	SOCKS5_REP_NET_UNREACH = 0x03,
	SOCKS5_REP_HOST_UNREACH = 0x04,
	SOCKS5_REP_REFUSED = 0x05,
	SOCKS5_REP_TIMEOUT = 0x06,
	SOCKS5_REP_CMD_UNSUPP = 0x07,
	SOCKS5_REP_ATYP_UNSUPP = 0x08,
};

/* A request's or a reply's address: an IP address, or a host name. */
struct socks5_addr {
	uint8_t atyp;           /* enum socks5_atyp */
	struct addr ip;         /* for IPV4/IPV6 */
	uint8_t host_len;       /* for DOMAIN: 1..255 */
	char host[256];         /* for DOMAIN: NUL-terminated */
	uint16_t port;
};

struct socks5_req {
	uint8_t cmd;            /* enum socks5_cmd */
	struct socks5_addr dst;
};

struct socks5_reply {
	uint8_t rep;            /* enum socks5_rep */
	struct socks5_addr bnd;
};

/* Longest greeting/request/reply we build or accept. */
#define SOCKS5_MAX_GREETING (2 + 255)
#define SOCKS5_MAX_MSG (4 + 1 + 255 + 2)

/*
 * Server side. The greeting is VER NMETHODS METHODS...; *noauth tells
 * whether method 0x00 was offered (if not, answer 0xff and close).
 */
enum parse_res socks5_parse_greeting(const uint8_t *p, size_t len, size_t *used, bool *noauth);
/*
 * VER CMD RSV ATYP DST.ADDR DST.PORT. A domain name must be 1..255 bytes
 * with no NUL byte; anything else is PARSE_BAD with *rep = 0x01. An
 * unknown command is PARSE_BAD with 0x07, an unknown address type 0x08.
 */
enum parse_res socks5_parse_request(const uint8_t *p, size_t len, size_t *used,
				    struct socks5_req *req, uint8_t *rep);
/* VER METHOD, sent by the server in answer to the greeting. */
int socks5_build_method(uint8_t *out, size_t cap, size_t *len, uint8_t method);
/* VER REP RSV ATYP BND.ADDR BND.PORT. bnd may be NULL: IPv4 0.0.0.0:0. */
int socks5_build_reply(uint8_t *out, size_t cap, size_t *len, uint8_t rep,
		       const struct socks5_addr *bnd);

/* Client side: the greeting offering only method 0x00. */
int socks5_build_greeting(uint8_t *out, size_t cap, size_t *len);
int socks5_build_request(uint8_t *out, size_t cap, size_t *len, const struct socks5_req *req);
/* The server's method choice; *method is the chosen method byte. */
enum parse_res socks5_parse_method(const uint8_t *p, size_t len, size_t *used, uint8_t *method);
/* The server's reply; a reply with a domain BND (RESOLVE_PTR) is accepted. */
enum parse_res socks5_parse_reply(const uint8_t *p, size_t len, size_t *used,
				  struct socks5_reply *rep);

/*
 * The whole answer to a pipelined greeting and request, as a client reads
 * it: the method choice, which must be no authentication, then the reply.
 * PARSE_AGAIN while it is incomplete and shorter than cap; PARSE_BAD for
 * another method, a bad reply, or cap bytes without a whole answer, with
 * *why saying which. On PARSE_OK *used is the answer's length.
 */
enum parse_res socks5_parse_answer(const uint8_t *p, size_t len, size_t cap, size_t *used,
				   struct socks5_reply *rep, const char **why);

/* "succeeded", "refused by policy", ...: a fixed string for any code. */
const char *socks5_rep_str(uint8_t rep);

#endif

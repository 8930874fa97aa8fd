// SPDX-License-Identifier: MIT
/*
 * SOCKS5 codec: see socks5.h. RFC 1928 framing plus Tor's RESOLVE (0xF0),
 * RESOLVE_PTR (0xF1) and our DNS (0xF2) command (DESIGN section 3).
 *
 * This file only turns bytes into messages and back. It does no I/O, no
 * name resolution and no policy; whether a command makes sense with a given
 * address type (say RESOLVE_PTR with a name, which Tor accepts when it
 * spells an address, as "4.3.2.1.in-addr.arpa" does) is the caller's
 * decision, not a framing error.
 *
 * Parsers read only through struct cur and fill their outputs only on
 * PARSE_OK, so a caller may keep calling with a growing buffer. Each check
 * runs as soon as the byte it needs has arrived: a peer sending garbage is
 * turned away after the first wrong byte, not after a full message.
 */
#include "socks5.h"

#include <errno.h>
#include <string.h>

#include "cur.h"

/* VER CMD RSV (request) or VER REP RSV (reply), before ATYP. */
#define HDR_LEN 3

static const struct socks5_addr zero_bnd = {
	.atyp = SOCKS5_ATYP_IPV4,
	.ip = { .family = AF_INET },
	.port = 0,
};

static bool
cmd_known(uint8_t cmd)
{
	switch (cmd) {
	case SOCKS5_CMD_CONNECT:
	case SOCKS5_CMD_RESOLVE:
	case SOCKS5_CMD_RESOLVE_PTR:
	case SOCKS5_CMD_DNS:
		return true;
	default:
		return false;
	}
}

/*
 * ATYP DST.ADDR DST.PORT (RFC 1928 section 4), shared by requests and
 * replies. On PARSE_BAD, *code is the reply code that describes why.
 */
static enum parse_res
parse_addr(struct cur *c, struct socks5_addr *a, uint8_t *code)
{
	uint8_t atyp, n, ch, raw[16];
	size_t alen = 0;

	if (!cur_get_u8(c, &atyp)) {
		return PARSE_AGAIN;
	}
	switch (atyp) {
	case SOCKS5_ATYP_IPV4:
		alen = 4;
		break;
	case SOCKS5_ATYP_IPV6:
		alen = 16;
		break;
	case SOCKS5_ATYP_DOMAIN:
		if (!cur_get_u8(c, &n)) {
			return PARSE_AGAIN;
		}
		/* RFC 1928 has no empty name; a NUL would cut it short in C. */
		if (n == 0) {
			*code = SOCKS5_REP_FAIL;
			return PARSE_BAD;
		}
		/* Byte by byte, so that a NUL is refused before the rest arrives. */
		for (size_t i = 0; i < n; i++) {
			if (!cur_get_u8(c, &ch)) {
				return PARSE_AGAIN;
			}
			if (ch == '\0') {
				*code = SOCKS5_REP_FAIL;
				return PARSE_BAD;
			}
			a->host[i] = (char)ch;
		}
		a->host[n] = '\0';
		a->host_len = n;
		a->atyp = SOCKS5_ATYP_DOMAIN;
		break;
	default:
		*code = SOCKS5_REP_ATYP_UNSUPP;
		return PARSE_BAD;
	}
	if (alen != 0) {
		if (!cur_get_bytes(c, raw, alen)) {
			return PARSE_AGAIN;
		}
		/*
		 * addr_set_raw turns ::ffff:a.b.c.d into IPv4; atyp follows
		 * the result so the struct never says IPv6 over an IPv4
		 * address, and building it again gives the same request.
		 */
		addr_set_raw(&a->ip, raw, alen);
		a->atyp = a->ip.family == AF_INET ? SOCKS5_ATYP_IPV4 : SOCKS5_ATYP_IPV6;
	}
	if (!cur_get_u16(c, &a->port)) {
		return PARSE_AGAIN;
	}
	return PARSE_OK;
}

/*
 * Wire size of ATYP ADDR PORT, or -EINVAL for an address that cannot be
 * sent. For the IP types the family of a->ip decides between IPv4 and
 * IPv6 on the wire, since parsers normalize mapped addresses to IPv4.
 * For a name, host must be NUL-terminated within its 256 bytes and
 * host_len must agree with it: a mismatch means the caller filled one and
 * forgot the other, and guessing which one is right could send the wrong
 * name.
 */
static int
addr_wire_len(const struct socks5_addr *a, size_t *n)
{
	size_t hlen;

	switch (a->atyp) {
	case SOCKS5_ATYP_IPV4:
	case SOCKS5_ATYP_IPV6:
		switch (a->ip.family) {
		case AF_INET:
			*n = 1 + 4 + 2;
			return 0;
		case AF_INET6:
			*n = 1 + 16 + 2;
			return 0;
		default:
			return -EINVAL;
		}
	case SOCKS5_ATYP_DOMAIN:
		hlen = strnlen(a->host, sizeof(a->host));
		if (hlen == 0 || hlen >= sizeof(a->host) || hlen != a->host_len) {
			return -EINVAL;
		}
		*n = 1 + 1 + hlen + 2;
		return 0;
	default:
		return -EINVAL;
	}
}

/* Writes what addr_wire_len measured; the room has been checked. */
static bool
put_addr(struct wcur *w, const struct socks5_addr *a)
{
	bool ok;

	switch (a->atyp) {
	case SOCKS5_ATYP_IPV4:
	case SOCKS5_ATYP_IPV6:
		if (a->ip.family == AF_INET) {
			ok = wcur_put_u8(w, SOCKS5_ATYP_IPV4) && wcur_put_bytes(w, a->ip.a, 4);
		} else {
			ok = wcur_put_u8(w, SOCKS5_ATYP_IPV6) && wcur_put_bytes(w, a->ip.a, 16);
		}
		break;
	case SOCKS5_ATYP_DOMAIN:
		ok = wcur_put_u8(w, SOCKS5_ATYP_DOMAIN) && wcur_put_u8(w, a->host_len) &&
		    wcur_put_bytes(w, a->host, a->host_len);
		break;
	default:
		ok = false;
		break;
	}
	return ok && wcur_put_u16(w, a->port);
}

/* VER x RSV ATYP ADDR PORT: the shape of both a request and a reply. */
static int
build_msg(uint8_t *out, size_t cap, size_t *len, uint8_t code, const struct socks5_addr *a)
{
	struct wcur w;
	size_t n;
	int error;

	error = addr_wire_len(a, &n);
	if (error) {
		return error;
	}
	/* Check first so that a short buffer is left untouched. */
	if (cap < HDR_LEN + n) {
		return -ENOSPC;
	}
	wcur_init(&w, out, cap);
	if (!wcur_put_u8(&w, SOCKS5_VER) || !wcur_put_u8(&w, code) || !wcur_put_u8(&w, 0) ||
	    !put_addr(&w, a)) {
		return -ENOSPC;
	}
	*len = w.len;
	return 0;
}

enum parse_res
socks5_parse_greeting(const uint8_t *p, size_t len, size_t *used, bool *noauth)
{
	struct cur c;
	uint8_t ver, nmethods, m;
	bool found = false;

	cur_init(&c, p, len);
	if (!cur_get_u8(&c, &ver)) {
		return PARSE_AGAIN;
	}
	if (ver != SOCKS5_VER) {
		return PARSE_BAD;
	}
	if (!cur_get_u8(&c, &nmethods)) {
		return PARSE_AGAIN;
	}
	/* RFC 1928 section 3: NMETHODS is 1 to 255. */
	if (nmethods == 0) {
		return PARSE_BAD;
	}
	for (size_t i = 0; i < nmethods; i++) {
		if (!cur_get_u8(&c, &m)) {
			return PARSE_AGAIN;
		}
		if (m == SOCKS5_METHOD_NOAUTH) {
			found = true;
		}
	}
	*used = len - cur_left(&c);
	*noauth = found;
	return PARSE_OK;
}

enum parse_res
socks5_parse_request(const uint8_t *p, size_t len, size_t *used, struct socks5_req *req,
		     uint8_t *rep)
{
	struct socks5_req r;
	struct cur c;
	enum parse_res res;
	uint8_t ver, rsv, code = SOCKS5_REP_FAIL;

	memset(&r, 0, sizeof(r));
	cur_init(&c, p, len);
	if (!cur_get_u8(&c, &ver)) {
		return PARSE_AGAIN;
	}
	if (ver != SOCKS5_VER) {
		goto bad;
	}
	if (!cur_get_u8(&c, &r.cmd)) {
		return PARSE_AGAIN;
	}
	if (!cmd_known(r.cmd)) {
		code = SOCKS5_REP_CMD_UNSUPP;
		goto bad;
	}
	if (!cur_get_u8(&c, &rsv)) {
		return PARSE_AGAIN;
	}
	if (rsv != 0) {
		goto bad;
	}
	res = parse_addr(&c, &r.dst, &code);
	switch (res) {
	case PARSE_OK:
		break;
	case PARSE_BAD:
		goto bad;
	case PARSE_AGAIN:
	default:
		return PARSE_AGAIN;
	}
	*used = len - cur_left(&c);
	*req = r;
	return PARSE_OK;
bad:
	if (rep != NULL) {
		*rep = code;
	}
	return PARSE_BAD;
}

int
socks5_build_method(uint8_t *out, size_t cap, size_t *len, uint8_t method)
{
	if (cap < 2) {
		return -ENOSPC;
	}
	out[0] = SOCKS5_VER;
	out[1] = method;
	*len = 2;
	return 0;
}

int
socks5_build_reply(uint8_t *out, size_t cap, size_t *len, uint8_t rep,
		   const struct socks5_addr *bnd)
{
	return build_msg(out, cap, len, rep, bnd != NULL ? bnd : &zero_bnd);
}

int
socks5_build_greeting(uint8_t *out, size_t cap, size_t *len)
{
	if (cap < 3) {
		return -ENOSPC;
	}
	out[0] = SOCKS5_VER;
	out[1] = 1;
	out[2] = SOCKS5_METHOD_NOAUTH;
	*len = 3;
	return 0;
}

int
socks5_build_request(uint8_t *out, size_t cap, size_t *len, const struct socks5_req *req)
{
	/* A command our own parser would refuse is a caller bug. */
	if (!cmd_known(req->cmd)) {
		return -EINVAL;
	}
	return build_msg(out, cap, len, req->cmd, &req->dst);
}

enum parse_res
socks5_parse_method(const uint8_t *p, size_t len, size_t *used, uint8_t *method)
{
	struct cur c;
	uint8_t ver, m;

	cur_init(&c, p, len);
	if (!cur_get_u8(&c, &ver)) {
		return PARSE_AGAIN;
	}
	if (ver != SOCKS5_VER) {
		return PARSE_BAD;
	}
	if (!cur_get_u8(&c, &m)) {
		return PARSE_AGAIN;
	}
	*used = len - cur_left(&c);
	*method = m;
	return PARSE_OK;
}

enum parse_res
socks5_parse_reply(const uint8_t *p, size_t len, size_t *used, struct socks5_reply *rep)
{
	struct socks5_reply r;
	struct cur c;
	enum parse_res res;
	uint8_t ver, rsv, code;

	memset(&r, 0, sizeof(r));
	cur_init(&c, p, len);
	if (!cur_get_u8(&c, &ver)) {
		return PARSE_AGAIN;
	}
	if (ver != SOCKS5_VER) {
		return PARSE_BAD;
	}
	/*
	 * Any REP byte is accepted: codes 0x09-0xff are unassigned, and a
	 * client treats every non-zero code as failure anyway.
	 */
	if (!cur_get_u8(&c, &r.rep)) {
		return PARSE_AGAIN;
	}
	if (!cur_get_u8(&c, &rsv)) {
		return PARSE_AGAIN;
	}
	if (rsv != 0) {
		return PARSE_BAD;
	}
	res = parse_addr(&c, &r.bnd, &code);
	if (res != PARSE_OK) {
		return res;
	}
	*used = len - cur_left(&c);
	*rep = r;
	return PARSE_OK;
}

enum parse_res
socks5_parse_answer(const uint8_t *p, size_t len, size_t cap, size_t *used,
		    struct socks5_reply *rep, const char **why)
{
	enum parse_res pr;
	size_t mused;
	uint8_t method;

	*why = "";
	pr = socks5_parse_method(p, len, &mused, &method);
	if (pr == PARSE_OK && method != SOCKS5_METHOD_NOAUTH) {
		pr = PARSE_BAD;
	}
	if (pr == PARSE_BAD) {
		*why = "bad SOCKS5 method reply";
		return PARSE_BAD;
	}
	if (pr == PARSE_OK) {
		pr = socks5_parse_reply(p + mused, len - mused, used, rep);
		if (pr == PARSE_BAD) {
			*why = "bad SOCKS5 reply";
			return PARSE_BAD;
		}
		if (pr == PARSE_OK) {
			*used += mused;
			return PARSE_OK;
		}
	}
	if (len >= cap) {
		*why = "SOCKS5 reply too long";
		return PARSE_BAD;
	}
	return PARSE_AGAIN;
}

const char *
socks5_rep_str(uint8_t rep)
{
	/*
	 * RFC 1928 section 6. 0x06 also covers our connect timeouts
	 * (DESIGN section 3), so its text names both meanings.
	 */
	switch (rep) {
	case SOCKS5_REP_OK:
		return "succeeded";
	case SOCKS5_REP_FAIL:
		return "general failure";
	case SOCKS5_REP_POLICY:
		return "connection not allowed by ruleset";
	case SOCKS5_REP_NET_UNREACH:
		return "network unreachable";
	case SOCKS5_REP_HOST_UNREACH:
		return "host unreachable";
	case SOCKS5_REP_REFUSED:
		return "connection refused";
	case SOCKS5_REP_TIMEOUT:
		return "TTL expired / timed out";
	case SOCKS5_REP_CMD_UNSUPP:
		return "command not supported";
	case SOCKS5_REP_ATYP_UNSUPP:
		return "address type not supported";
	default:
		return "unknown reply code";
	}
}

// SPDX-License-Identifier: MIT
/* DNS-over-TCP frames, in place: see dnsframe.h. */
#include "dnsframe.h"

#include <errno.h>

#include "cur.h"

int
dns_frame_peek(const uint8_t *p, size_t len, size_t *msg_len, size_t *frame_len)
{
	struct cur c;
	uint16_t n;

	*msg_len = 0;
	*frame_len = 2;
	cur_init(&c, p, len);
	if (!cur_get_u16(&c, &n)) {
		return 0;
	}
	if (n < DNSFRAME_MIN_MSG) {
		return -EINVAL;
	}
	*frame_len = 2 + (size_t)n;
	if (!cur_skip(&c, n)) {
		return 0;
	}
	*msg_len = n;
	return 1;
}

// SPDX-License-Identifier: MIT
/* The token bucket: see bucket.h. */
#include "bucket.h"

void
bucket_init(struct bucket *b, uint64_t burst, uint64_t now_ms)
{
	b->milli = burst * 1000;
	b->last_ms = now_ms;
}

/* The level at now_ms; never above the burst, never overflowing. */
static uint64_t
level(const struct bucket *b, uint64_t rate, uint64_t burst, uint64_t now_ms)
{
	uint64_t cap = burst * 1000, dt;

	if (b->milli >= cap) {
		return cap;
	}
	if (now_ms <= b->last_ms || rate == 0) {
		return b->milli;
	}
	dt = now_ms - b->last_ms;
	/* Filling the gap takes at most (cap - milli) / rate ms: stop there. */
	if (dt >= (cap - b->milli) / rate + 1) {
		return cap;
	}
	return b->milli + dt * rate;
}

bool
bucket_take(struct bucket *b, uint64_t rate, uint64_t burst, uint64_t now_ms)
{
	b->milli = level(b, rate, burst, now_ms);
	if (now_ms > b->last_ms) {
		b->last_ms = now_ms;
	}
	if (b->milli < 1000) {
		return false;
	}
	b->milli -= 1000;
	return true;
}

uint64_t
bucket_wait_ms(const struct bucket *b, uint64_t rate, uint64_t burst, uint64_t now_ms)
{
	uint64_t l = level(b, rate, burst, now_ms);

	if (l >= 1000) {
		return 0;
	}
	if (rate == 0 || burst == 0) {
		return UINT64_MAX;
	}
	return (1000 - l + rate - 1) / rate;
}

bool
bucket_full(const struct bucket *b, uint64_t rate, uint64_t burst, uint64_t now_ms)
{
	return level(b, rate, burst, now_ms) >= burst * 1000;
}

// SPDX-License-Identifier: MIT
/*
 * The pool: see pool.h. Circuits live in one list with a state of their
 * own (building or ready); waiters in a FIFO. refill() is the only place
 * that starts builds; it runs after every change and on a 1 s tick, which
 * also retires circuits ready for too long.
 *
 * A circuit's record (struct pc) lives as long as the circuit, also after
 * a stream took it: circuit_on_free hands its relays' slots back to
 * path.c (relay-max, relay-rate) and frees the record, so every
 * circuit_free here is followed by nothing else. Every circuit that
 * completes goes to the first waiting stream before the pool keeps it.
 * Waiters are bounded (POOL_MAX_WAITING); each has a deadline.
 */
#include "pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define POOL_TICK_MS 1000
/* Demand is counted in slots of 100 ms over POOL_DEMAND_MS; the busiest slot counts. */
#define POOL_SLOT_MS 100
#define POOL_DEMAND_SLOTS (POOL_DEMAND_MS / POOL_SLOT_MS)
/*
 * A stream that took a ready circuit is given this long before the
 * replacement is built: the builds' handshakes would otherwise queue
 * ahead of the stream's first round trip, in tund and in every relay.
 */
#define POOL_REFILL_DELAY_MS 5

struct pc {                     /* a circuit the pool owns */
	struct pc *prev, *next;
	struct pool *p;
	struct circuit *c;
	size_t idx[CIRCUIT_MAX_HOPS];   /* relay indices, for blame */
	size_t n;
	bool ready;
	uint64_t start_ms, ready_ms;
};

struct pool_wait {
	struct pool_wait *next;
	pool_got_cb *cb;
	void *arg;
	uint64_t deadline_ms;
	bool cancelled;
	/* Set when answered; delivered from the deliver timer. */
	struct circuit *c;
	bool answered;
	char err[200];
};

struct pool {
	struct ev *ev;
	SSL_CTX *ctx;
	const struct tund_cfg *cfg;
	struct paths *paths;
	struct pc *list;
	size_t n_ready, n_building;
	struct pool_wait *wait_head, *wait_tail;
	size_t n_waiting;
	struct ev_timer tick, deliver, refill_later;
	uint64_t retry_at_ms;           /* fixed path in back-off: no builds before */
	/* Takes per 100 ms slot over the last POOL_DEMAND_MS. */
	uint32_t demand[POOL_DEMAND_SLOTS];
	uint64_t demand_slot;
	size_t target;                  /* ready circuits wanted, as of the last refill */
	uint64_t built, failed, taken;
	bool closing;
	char last_err[200];
};

size_t
pool_target(size_t floor, size_t max, size_t recent_takes)
{
	size_t t = recent_takes > floor ? recent_takes : floor;

	return t > max ? max : t;
}

static void refill(struct pool *p);

static void
demand_roll(struct pool *p)
{
	uint64_t slot = ev_now_ms(p->ev) / POOL_SLOT_MS;

	if (slot - p->demand_slot >= POOL_DEMAND_SLOTS) {
		memset(p->demand, 0, sizeof(p->demand));
	} else {
		for (uint64_t s = p->demand_slot + 1; s <= slot; s++) {
			p->demand[s % POOL_DEMAND_SLOTS] = 0;
		}
	}
	p->demand_slot = slot;
}

/*
 * The most streams taken within 100 ms, over the last 10 s: a burst
 * raises it, a steady trickle (which the pool refills between takes)
 * does not.
 */
static size_t
recent_takes(struct pool *p)
{
	size_t peak = 0;

	demand_roll(p);
	for (size_t i = 0; i < POOL_DEMAND_SLOTS; i++) {
		if (p->demand[i] > peak) {
			peak = p->demand[i];
		}
	}
	return peak;
}

static void
unlink_pc(struct pool *p, struct pc *pc)
{
	if (pc->prev) {
		pc->prev->next = pc->next;
	} else {
		p->list = pc->next;
	}
	if (pc->next) {
		pc->next->prev = pc->prev;
	}
	if (pc->ready) {
		p->n_ready--;
	} else {
		p->n_building--;
	}
}

/* Answers a waiter; the callback runs from the deliver timer, not from here. */
static void
answer(struct pool *p, struct pool_wait *w, struct circuit *c, const char *err)
{
	w->answered = true;
	w->c = c;
	snprintf(w->err, sizeof(w->err), "%s", err ? err : "");
	ev_timer_set(p->ev, &p->deliver, 0);
}

static struct pool_wait *
first_waiting(struct pool *p)
{
	for (struct pool_wait *w = p->wait_head; w; w = w->next) {
		if (!w->answered && !w->cancelled) {
			return w;
		}
	}
	return NULL;
}

/* A ready circuit goes to the first waiter, if any. Returns true if taken. */
static bool
hand_over(struct pool *p, struct pc *pc)
{
	struct pool_wait *w = first_waiting(p);

	if (w == NULL) {
		return false;
	}
	unlink_pc(p, pc);
	circuit_set_cbs(pc->c, &(struct circuit_cbs){ 0 }, NULL);
	answer(p, w, pc->c, NULL);
	p->taken++;
	return true;
}

static void
on_ready(struct circuit *c, void *arg)
{
	struct pc *pc = arg;
	struct pool *p = pc->p;

	for (size_t i = 0; i < pc->n; i++) {
		paths_ok(p->paths, pc->idx[i]);
	}
	p->built++;
	p->n_building--;
	pc->ready = true;
	pc->ready_ms = ev_now_ms(p->ev);
	p->n_ready++;
	hand_over(p, pc);
	refill(p);
}

static void
on_dead(struct circuit *c, void *arg)
{
	struct pc *pc = arg;
	struct pool *p = pc->p;
	size_t hop = circuit_hop_index(c);
	const char *why = circuit_error(c);

	if (!pc->ready && circuit_fail(c) == CIRC_E_BUSY) {
		/* Refused at admission: that hop waits a moment; the waiters stay. */
		if (hop < pc->n) {
			paths_busy(p->paths, pc->idx[hop], ev_now_ms(p->ev), pc->start_ms, why);
		}
		snprintf(p->last_err, sizeof(p->last_err), "%s", why);
		log_warnx_rl("circuit build: %s; retrying", why);
	} else if (!pc->ready) {
		/* A build failed: blame the hop it names, and keep the reason. */
		p->failed++;
		if (hop < pc->n) {
			paths_failed(p->paths, pc->idx[hop], ev_now_ms(p->ev), pc->start_ms, why);
		}
		snprintf(p->last_err, sizeof(p->last_err), "%s", why);
		log_warnx_rl("circuit build failed: %s", why);
	} else {
		log_debug("%s: a ready circuit closed: %s", __func__, why);
	}
	unlink_pc(p, pc);
	circuit_free(c);
	refill(p);
}

static const struct circuit_cbs pool_cbs = {
	.ready = on_ready,
	.dead = on_dead,
};

/* A circuit of ours, built or taken, was freed: its relays' slots are back. */
static void
pc_freed(void *arg)
{
	struct pc *pc = arg;
	struct pool *p = pc->p;

	paths_release(p->paths, pc->idx, pc->n);
	free(pc);
	if (!p->closing) {
		/* A relay at its cap may have a slot now: do not wait out the retry. */
		p->retry_at_ms = 0;
		ev_timer_set(p->ev, &p->refill_later, 0);
	}
}

static bool
start_build(struct pool *p)
{
	struct circuit_hop hops[CIRCUIT_MAX_HOPS];
	uint64_t retry_ms;
	struct pc *pc;
	int r;

	pc = calloc(1, sizeof(*pc));
	if (pc == NULL) {
		return false;
	}
	r = paths_choose(p->paths, ev_now_ms(p->ev), pc->idx, &pc->n, &retry_ms);
	if (r < 0) {
		if (r == -EAGAIN) {
			/* Try again as soon as the back-off ends, not at the next tick. */
			p->retry_at_ms = ev_now_ms(p->ev) + retry_ms;
			ev_timer_set(p->ev, &p->refill_later, retry_ms);
		}
		free(pc);
		return false;
	}
	for (size_t i = 0; i < pc->n; i++) {
		const struct tund_relay *rl = &p->cfg->relays[pc->idx[i]];

		memset(&hops[i], 0, sizeof(hops[i]));
		snprintf(hops[i].name, sizeof(hops[i].name), "%s", rl->name);
		hops[i].addr = rl->addr;
		hops[i].port = rl->port;
		memcpy(hops[i].pin, rl->pin, TLS_PIN_LEN);
	}
	pc->p = p;
	pc->start_ms = ev_now_ms(p->ev);
	pc->c = circuit_new(p->ev, p->ctx, hops, pc->n, p->cfg->build_timeout_ms,
			    (uint32_t)p->cfg->fwmark, &pool_cbs, pc);
	if (pc->c == NULL) {
		free(pc);
		return false;
	}
	paths_take(p->paths, pc->idx, pc->n, pc->start_ms);
	circuit_on_free(pc->c, pc_freed, pc);
	pc->next = p->list;
	if (p->list) {
		p->list->prev = pc;
	}
	p->list = pc;
	p->n_building++;
	return true;
}

static void
refill(struct pool *p)
{
	size_t unanswered = 0, want;

	for (struct pool_wait *w = p->wait_head; w; w = w->next) {
		unanswered += !w->answered && !w->cancelled;
	}
	p->target = pool_target(p->cfg->pool, p->cfg->pool_max, recent_takes(p));
	/*
	 * The target already counts the takes of a burst: do not count them
	 * twice. Builds beyond the waiters' number are not the pool's own:
	 * whatever completes goes to the first waiting stream (hand_over),
	 * and the relay caps (path.c) stop them before they could crowd out
	 * a stream. With one build per waiter, a waiter whose one build goes
	 * through a dead relay would wait out the whole build timeout.
	 */
	want = p->target > unanswered ? p->target : unanswered;

	if (ev_now_ms(p->ev) < p->retry_at_ms) {
		return;
	}
	while (p->n_ready + p->n_building < want && p->n_building < POOL_MAX_BUILDING) {
		if (!start_build(p)) {
			break;
		}
	}
}

static void
on_deliver(struct ev *ev, void *arg)
{
	struct pool *p = arg;
	struct pool_wait **pp = &p->wait_head, *prev = NULL;

	while (*pp) {
		struct pool_wait *w = *pp;

		if (!w->answered && !w->cancelled) {
			prev = w;
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		if (p->wait_tail == w) {
			p->wait_tail = prev;
		}
		p->n_waiting--;
		if (w->cancelled) {
			circuit_free(w->c);
		} else {
			w->cb(w->arg, w->c, w->c ? NULL : w->err);
		}
		free(w);
	}
}

static void
on_refill_later(struct ev *ev, void *arg)
{
	refill(arg);
}

static void
on_tick(struct ev *ev, void *arg)
{
	struct pool *p = arg;
	uint64_t now = ev_now_ms(ev);

	/* Retire circuits ready for too long: the relays would cut them soon. */
	for (struct pc *pc = p->list, *next; pc; pc = next) {
		next = pc->next;
		if (pc->ready && now - pc->ready_ms >= p->cfg->pool_idle_ms) {
			unlink_pc(p, pc);
			circuit_free(pc->c);
		}
	}
	/*
	 * Waiters past their deadline get the last failure, and so do those
	 * whose deadline comes before any build may start again.
	 */
	for (struct pool_wait *w = p->wait_head; w; w = w->next) {
		if (!w->answered && !w->cancelled &&
		    (now >= w->deadline_ms || (p->retry_at_ms > w->deadline_ms && p->n_building == 0))) {
			answer(p, w, NULL, p->last_err[0] ? p->last_err : "no circuit in time");
		}
	}
	refill(p);
	ev_timer_set(ev, &p->tick, POOL_TICK_MS);
}

struct pool *
pool_new(struct ev *ev, SSL_CTX *ctx, const struct tund_cfg *cfg, struct paths *paths)
{
	struct pool *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		return NULL;
	}
	p->ev = ev;
	p->ctx = ctx;
	p->cfg = cfg;
	p->paths = paths;
	p->demand_slot = ev_now_ms(ev) / POOL_SLOT_MS;
	ev_timer_init(&p->tick, on_tick, p);
	ev_timer_init(&p->deliver, on_deliver, p);
	ev_timer_init(&p->refill_later, on_refill_later, p);
	ev_timer_set(ev, &p->tick, POOL_TICK_MS);
	refill(p);
	return p;
}

static void
close_all(struct pool *p, bool ready_only)
{
	for (struct pc *pc = p->list, *next; pc; pc = next) {
		next = pc->next;
		if (!ready_only || pc->ready) {
			unlink_pc(p, pc);
			circuit_free(pc->c);
		}
	}
}

void
pool_free(struct pool *p)
{
	if (p == NULL) {
		return;
	}
	p->closing = true;
	close_all(p, false);
	while (p->wait_head) {
		struct pool_wait *w = p->wait_head;

		p->wait_head = w->next;
		circuit_free(w->c);
		free(w);
	}
	ev_timer_del(p->ev, &p->tick);
	ev_timer_del(p->ev, &p->deliver);
	ev_timer_del(p->ev, &p->refill_later);
	free(p);
}

struct pool_wait *
pool_get(struct pool *p, pool_got_cb *cb, void *arg)
{
	struct pool_wait *w;

	if (p->n_waiting >= POOL_MAX_WAITING) {
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		return NULL;
	}
	w->cb = cb;
	w->arg = arg;
	w->deadline_ms = ev_now_ms(p->ev) + 2 * p->cfg->build_timeout_ms;
	if (p->wait_tail) {
		p->wait_tail->next = w;
	} else {
		p->wait_head = w;
	}
	p->wait_tail = w;
	p->n_waiting++;
	demand_roll(p);
	p->demand[p->demand_slot % POOL_DEMAND_SLOTS]++;
	for (struct pc *pc = p->list; pc; pc = pc->next) {
		if (pc->ready && hand_over(p, pc)) {
			/* Served at once: build its replacement a moment later. */
			if (!ev_timer_armed(&p->refill_later)) {
				ev_timer_set(p->ev, &p->refill_later, POOL_REFILL_DELAY_MS);
			}
			return w;
		}
	}
	refill(p);
	return w;
}

void
pool_cancel(struct pool *p, struct pool_wait *w)
{
	if (w == NULL) {
		return;
	}
	w->cancelled = true;
	ev_timer_set(p->ev, &p->deliver, 0);
}

void
pool_flush(struct pool *p)
{
	close_all(p, false);
	p->retry_at_ms = 0;
	refill(p);
}

void
pool_stats(const struct pool *p, struct pool_stats *st)
{
	size_t n = 0;

	for (const struct pool_wait *w = p->wait_head; w; w = w->next) {
		n += !w->answered && !w->cancelled;
	}
	st->ready = p->n_ready;
	st->building = p->n_building;
	st->waiting = n;
	st->target = p->target;
	st->built = p->built;
	st->failed = p->failed;
	st->taken = p->taken;
}

/* SPDX-License-Identifier: MIT */
/*
 * A single-threaded epoll event loop with timers (redis ae's shape).
 *
 * File events are kept in a table indexed by fd, each registration with a
 * generation number carried in the epoll data: an event that fired for an
 * fd that was removed (and maybe reused) during the same iteration is
 * recognised as stale and skipped, so callbacks may close any fd at any
 * time. Timers are embedded in their owner (struct ev_timer) and kept in
 * an intrusive pairing heap (pheap.h): arming one never allocates, so it
 * cannot fail, and every connection's reclaiming timer is sure to run. An
 * owner must ev_timer_del() its timers before it frees them. Time is
 * CLOCK_MONOTONIC in milliseconds, read after each wait and again when a
 * timer is armed, so a timer armed late in a long batch does not fire
 * early.
 */
#ifndef EV_H
#define EV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pheap.h"

struct ev;

enum {
	EV_RD = 1,
	EV_WR = 2,
	EV_ERR = 4,     /* EPOLLERR or EPOLLHUP; always reported */
};

typedef void ev_fd_cb(struct ev *ev, int fd, unsigned int events, void *arg);
typedef void ev_timer_cb(struct ev *ev, void *arg);

struct ev_timer {
	struct pheap_node node; /* key: when it fires, in ms */
	ev_timer_cb *cb;
	void *arg;
};

/* setsize: highest fd + 1 the loop accepts. NULL on failure. */
struct ev *ev_new(int setsize);
void ev_free(struct ev *ev);

/* 0, -EINVAL for an fd out of range or already added, or -errno from epoll. */
int ev_fd_add(struct ev *ev, int fd, unsigned int mask, ev_fd_cb *cb, void *arg);
/*
 * Changes the interest mask (EV_RD|EV_WR, or 0 for none). 0 or -errno.
 * Even with mask 0 the callback gets EV_ERR when the socket fails or
 * hangs up (epoll always reports those): an owner that cannot act on it
 * must ev_fd_del() the fd, or it will be called on every iteration.
 */
int ev_fd_mod(struct ev *ev, int fd, unsigned int mask);
unsigned int ev_fd_mask(const struct ev *ev, int fd);
/* Forgets fd (before the caller closes it). Safe on an fd not added. */
void ev_fd_del(struct ev *ev, int fd);

void ev_timer_init(struct ev_timer *t, ev_timer_cb *cb, void *arg);
/* Arms (or re-arms) t to fire once, ms from now. Cannot fail. */
void ev_timer_set(struct ev *ev, struct ev_timer *t, uint64_t ms);
/* Arms t to fire at an absolute time (ev_now_ms's clock). */
void ev_timer_set_at(struct ev *ev, struct ev_timer *t, uint64_t when_ms);
void ev_timer_del(struct ev *ev, struct ev_timer *t);
static inline bool
ev_timer_armed(const struct ev_timer *t)
{
	return t->node.in;
}

#define EV_MAX_HOOKS 8
/*
 * Adds a hook called once per iteration before the loop sleeps, in the
 * order added (the TUN writer flushes there, after every other hook has
 * queued its packets). 0, or -ENOSPC past EV_MAX_HOOKS.
 */
int ev_before_sleep(struct ev *ev, void (*cb)(struct ev *ev, void *arg), void *arg);
/* Removes the hook added with the same cb and arg. */
void ev_before_sleep_del(struct ev *ev, void (*cb)(struct ev *ev, void *arg), void *arg);
/* The time of the last wakeup (or timer arming), in ms. */
uint64_t ev_now_ms(const struct ev *ev);
/* Reads the clock now, stores it as ev_now_ms, and returns it. */
uint64_t ev_clock_ms(struct ev *ev);
/* Runs until ev_stop(); returns 0, or -errno if epoll_wait fails. */
int ev_run(struct ev *ev);
/* Runs one iteration, waiting at most max_wait_ms (-1: until an event). */
int ev_run_once(struct ev *ev, int max_wait_ms);
void ev_stop(struct ev *ev);

#endif

// SPDX-License-Identifier: MIT
/*
 * The event loop: see ev.h. epoll in level-triggered mode; fds in a table
 * indexed by fd; timers in a min-heap of pointers to embedded ev_timer.
 */
#include "ev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

struct ev_fd {
	ev_fd_cb *cb;
	void *arg;
	uint32_t gen;
	unsigned int mask;
	bool used;
};

struct ev {
	int epfd;
	int setsize;
	struct ev_fd *fds;
	uint32_t gen;
	struct ev_timer **heap;
	size_t heap_len, heap_cap;
	uint64_t now_ms;
	bool stop;
	void (*before_sleep)(struct ev *ev, void *arg);
	void *before_sleep_arg;
};

#define EV_BATCH 256

static uint64_t
clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct ev *
ev_new(int setsize)
{
	struct ev *ev;

	if (setsize <= 0) {
		return NULL;
	}
	ev = calloc(1, sizeof(*ev));
	if (ev == NULL) {
		return NULL;
	}
	ev->fds = calloc((size_t)setsize, sizeof(*ev->fds));
	ev->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ev->fds == NULL || ev->epfd < 0) {
		free(ev->fds);
		if (ev->epfd >= 0) {
			close(ev->epfd);
		}
		free(ev);
		return NULL;
	}
	ev->setsize = setsize;
	ev->now_ms = clock_ms();
	return ev;
}

void
ev_free(struct ev *ev)
{
	if (ev == NULL) {
		return;
	}
	close(ev->epfd);
	free(ev->fds);
	free(ev->heap);
	free(ev);
}

static uint32_t
to_epoll(unsigned int mask)
{
	return (mask & EV_RD ? EPOLLIN | EPOLLRDHUP : 0) | (mask & EV_WR ? EPOLLOUT : 0);
}

int
ev_fd_add(struct ev *ev, int fd, unsigned int mask, ev_fd_cb *cb, void *arg)
{
	struct epoll_event ee;
	struct ev_fd *f;

	if (fd < 0 || fd >= ev->setsize || ev->fds[fd].used) {
		return -EINVAL;
	}
	f = &ev->fds[fd];
	ev->gen++;
	memset(&ee, 0, sizeof(ee));
	ee.events = to_epoll(mask);
	ee.data.u64 = (uint64_t)ev->gen << 32 | (uint32_t)fd;
	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &ee) < 0) {
		return -errno;
	}
	f->cb = cb;
	f->arg = arg;
	f->gen = ev->gen;
	f->mask = mask;
	f->used = true;
	return 0;
}

int
ev_fd_mod(struct ev *ev, int fd, unsigned int mask)
{
	struct epoll_event ee;
	struct ev_fd *f;

	if (fd < 0 || fd >= ev->setsize || !ev->fds[fd].used) {
		return -EINVAL;
	}
	f = &ev->fds[fd];
	if (f->mask == mask) {
		return 0;
	}
	memset(&ee, 0, sizeof(ee));
	ee.events = to_epoll(mask);
	ee.data.u64 = (uint64_t)f->gen << 32 | (uint32_t)fd;
	if (epoll_ctl(ev->epfd, EPOLL_CTL_MOD, fd, &ee) < 0) {
		return -errno;
	}
	f->mask = mask;
	return 0;
}

unsigned int
ev_fd_mask(const struct ev *ev, int fd)
{
	if (fd < 0 || fd >= ev->setsize || !ev->fds[fd].used) {
		return 0;
	}
	return ev->fds[fd].mask;
}

void
ev_fd_del(struct ev *ev, int fd)
{
	if (fd < 0 || fd >= ev->setsize || !ev->fds[fd].used) {
		return;
	}
	epoll_ctl(ev->epfd, EPOLL_CTL_DEL, fd, NULL);
	memset(&ev->fds[fd], 0, sizeof(ev->fds[fd]));
}

/* Timers: a binary min-heap on when_ms. */

static void
heap_place(struct ev *ev, size_t i, struct ev_timer *t)
{
	ev->heap[i] = t;
	t->idx = i;
}

static void
heap_up(struct ev *ev, size_t i)
{
	struct ev_timer *t = ev->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (ev->heap[parent]->when_ms <= t->when_ms) {
			break;
		}
		heap_place(ev, i, ev->heap[parent]);
		i = parent;
	}
	heap_place(ev, i, t);
}

static void
heap_down(struct ev *ev, size_t i)
{
	struct ev_timer *t = ev->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= ev->heap_len) {
			break;
		}
		if (c + 1 < ev->heap_len && ev->heap[c + 1]->when_ms < ev->heap[c]->when_ms) {
			c++;
		}
		if (t->when_ms <= ev->heap[c]->when_ms) {
			break;
		}
		heap_place(ev, i, ev->heap[c]);
		i = c;
	}
	heap_place(ev, i, t);
}

void
ev_timer_init(struct ev_timer *t, ev_timer_cb *cb, void *arg)
{
	t->when_ms = 0;
	t->idx = SIZE_MAX;
	t->cb = cb;
	t->arg = arg;
}

void
ev_timer_del(struct ev *ev, struct ev_timer *t)
{
	size_t i = t->idx;
	struct ev_timer *last;

	if (i == SIZE_MAX) {
		return;
	}
	t->idx = SIZE_MAX;
	last = ev->heap[--ev->heap_len];
	if (last == t) {
		return;
	}
	heap_place(ev, i, last);
	heap_up(ev, i);
	heap_down(ev, last->idx);
}

int
ev_timer_set(struct ev *ev, struct ev_timer *t, uint64_t ms)
{
	/* Grow first: a failure must leave an armed timer armed. */
	if (t->idx == SIZE_MAX && ev->heap_len == ev->heap_cap) {
		size_t ncap = ev->heap_cap ? ev->heap_cap * 2 : 64;
		struct ev_timer **n = realloc(ev->heap, ncap * sizeof(*n));

		if (n == NULL) {
			return -ENOMEM;
		}
		ev->heap = n;
		ev->heap_cap = ncap;
	}
	ev_timer_del(ev, t);
	t->when_ms = ev->now_ms + ms;
	heap_place(ev, ev->heap_len++, t);
	heap_up(ev, t->idx);
	return 0;
}

void
ev_before_sleep(struct ev *ev, void (*cb)(struct ev *ev, void *arg), void *arg)
{
	ev->before_sleep = cb;
	ev->before_sleep_arg = arg;
}

uint64_t
ev_now_ms(const struct ev *ev)
{
	return ev->now_ms;
}

void
ev_stop(struct ev *ev)
{
	ev->stop = true;
}

static void
run_timers(struct ev *ev)
{
	/* Bounded: a timer re-armed for 0 ms while we run waits for the next pass. */
	size_t n = ev->heap_len;

	while (n-- > 0 && ev->heap_len > 0 && ev->heap[0]->when_ms <= ev->now_ms) {
		struct ev_timer *t = ev->heap[0];

		ev_timer_del(ev, t);
		t->cb(ev, t->arg);
	}
}

int
ev_run_once(struct ev *ev, int max_wait_ms)
{
	struct epoll_event evs[EV_BATCH];
	int wait_ms = max_wait_ms;
	int n;

	if (ev->before_sleep) {
		ev->before_sleep(ev, ev->before_sleep_arg);
	}
	if (ev->heap_len > 0) {
		uint64_t now = clock_ms();
		uint64_t when = ev->heap[0]->when_ms;
		int t = when <= now ? 0 : (when - now > 60000 ? 60000 : (int)(when - now));

		if (wait_ms < 0 || t < wait_ms) {
			wait_ms = t;
		}
	}
	n = epoll_wait(ev->epfd, evs, EV_BATCH, wait_ms);
	if (n < 0 && errno != EINTR) {
		return -errno;
	}
	ev->now_ms = clock_ms();
	for (int i = 0; i < n; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		struct ev_fd *f = &ev->fds[fd];
		unsigned int got = 0;

		/* The fd may have been removed or reused by an earlier callback. */
		if (!f->used || f->gen != gen) {
			continue;
		}
		if (evs[i].events & (EPOLLIN | EPOLLRDHUP)) {
			got |= EV_RD;
		}
		if (evs[i].events & EPOLLOUT) {
			got |= EV_WR;
		}
		if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
			got |= EV_ERR | (f->mask & (EV_RD | EV_WR));
		}
		f->cb(ev, fd, got, f->arg);
	}
	run_timers(ev);
	return 0;
}

int
ev_run(struct ev *ev)
{
	ev->stop = false;
	while (!ev->stop) {
		int r = ev_run_once(ev, -1);

		if (r < 0) {
			return r;
		}
	}
	return 0;
}

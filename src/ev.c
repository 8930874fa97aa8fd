// SPDX-License-Identifier: MIT
/*
 * The event loop: see ev.h. epoll in level-triggered mode; fds in a table
 * indexed by fd; timers in a pairing heap of embedded ev_timer nodes.
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
	struct pheap timers;
	uint64_t now_ms;
	bool stop;
	struct {
		void (*cb)(struct ev *ev, void *arg);
		void *arg;
	} hooks[EV_MAX_HOOKS];
	size_t n_hooks;
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
	pheap_init(&ev->timers);
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

/* Timers. */

void
ev_timer_init(struct ev_timer *t, ev_timer_cb *cb, void *arg)
{
	pheap_node_init(&t->node);
	t->cb = cb;
	t->arg = arg;
}

void
ev_timer_del(struct ev *ev, struct ev_timer *t)
{
	pheap_remove(&ev->timers, &t->node);
}

void
ev_timer_set_at(struct ev *ev, struct ev_timer *t, uint64_t when_ms)
{
	pheap_remove(&ev->timers, &t->node);
	pheap_insert(&ev->timers, &t->node, when_ms);
}

void
ev_timer_set(struct ev *ev, struct ev_timer *t, uint64_t ms)
{
	ev_timer_set_at(ev, t, ev_clock_ms(ev) + ms);
}

int
ev_before_sleep(struct ev *ev, void (*cb)(struct ev *ev, void *arg), void *arg)
{
	if (ev->n_hooks == EV_MAX_HOOKS) {
		return -ENOSPC;
	}
	ev->hooks[ev->n_hooks].cb = cb;
	ev->hooks[ev->n_hooks].arg = arg;
	ev->n_hooks++;
	return 0;
}

void
ev_before_sleep_del(struct ev *ev, void (*cb)(struct ev *ev, void *arg), void *arg)
{
	for (size_t i = 0; i < ev->n_hooks; i++) {
		if (ev->hooks[i].cb == cb && ev->hooks[i].arg == arg) {
			memmove(&ev->hooks[i], &ev->hooks[i + 1],
				(ev->n_hooks - i - 1) * sizeof(ev->hooks[0]));
			ev->n_hooks--;
			return;
		}
	}
}

uint64_t
ev_clock_ms(struct ev *ev)
{
	ev->now_ms = clock_ms();
	return ev->now_ms;
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
	/*
	 * Bounded: a timer re-armed for 0 ms while we run waits for the next
	 * pass, so a callback that re-arms itself cannot starve the fds.
	 */
	size_t n = ev->timers.n;
	uint64_t now = ev->now_ms;

	while (n-- > 0) {
		struct pheap_node *m = pheap_min(&ev->timers);
		struct ev_timer *t;

		if (m == NULL || m->key > now) {
			break;
		}
		t = (struct ev_timer *)((char *)m - offsetof(struct ev_timer, node));
		pheap_remove(&ev->timers, m);
		t->cb(ev, t->arg);
	}
}

int
ev_run_once(struct ev *ev, int max_wait_ms)
{
	struct epoll_event evs[EV_BATCH];
	int wait_ms = max_wait_ms;
	struct pheap_node *m;
	int n;

	for (size_t i = 0; i < ev->n_hooks; i++) {
		ev->hooks[i].cb(ev, ev->hooks[i].arg);
	}
	m = pheap_min(&ev->timers);
	if (m != NULL) {
		uint64_t now = clock_ms();
		uint64_t when = m->key;
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
	/* Callbacks may have run long: timers due by now fire now. */
	ev->now_ms = clock_ms();
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

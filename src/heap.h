/* SPDX-License-Identifier: MIT */
/*
 * What a daemon really holds, whatever RSS says: malloc keeps freed memory
 * for reuse, so VmRSS stays near its peak after a burst, while the bytes in
 * use go back down. tund shows it in its status, exitd logs it on SIGUSR1.
 * Both give freed memory back once a burst is over (heap_trim below).
 */
#ifndef HEAP_H
#define HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ev.h"

/* Bytes malloc has handed out and not had back (mmapped blocks included). */
size_t heap_in_use(void);
/* Bytes malloc has taken from the system (its arenas and mmapped blocks). */
size_t heap_from_system(void);

/*
 * Giving memory back after a burst. malloc keeps what was freed for
 * reuse, so a relay that once held 10,000 connections keeps their pages
 * resident for good. Each daemon samples its heap every HEAP_TRIM_MS;
 * when the bytes in use have fallen HEAP_TRIM_SLACK below their highest
 * sample since the last trim, the burst is over and malloc_trim() returns
 * the free pages to the kernel. Rare by construction (it takes a fall of
 * 8 MiB each time), so its cost (a walk of the heap) does not matter.
 */
#define HEAP_TRIM_MS 5000
#define HEAP_TRIM_SLACK ((size_t)8 << 20)
struct heap_trim {
	size_t high;            /* highest sample since the last trim */
	uint64_t trims;         /* how many so far */
	struct ev_timer timer;
};
/* The decision, no I/O: true when a sample of in_use calls for a trim. */
bool heap_trim_due(struct heap_trim *t, size_t in_use);
/* The glue: samples malloc every HEAP_TRIM_MS on ev and trims when due. */
void heap_trim_start(struct heap_trim *t, struct ev *ev);

#endif

// SPDX-License-Identifier: MIT
/* malloc's own figures: see heap.h. */
#include "heap.h"

#include <malloc.h>

/*
 * Under AddressSanitizer malloc is ASan's, and glibc's mallinfo2 sees
 * none of it (it reports 0): ask ASan's allocator instead, so that the
 * sanitizer builds report, and are tested on, the same figures.
 */
#if defined(__SANITIZE_ADDRESS__)
#define HEAP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_ASAN 1
#endif
#endif

#ifdef HEAP_ASAN
/* From ASan's runtime (sanitizer/allocator_interface.h, which gcc's
 * installation may lack). */
size_t __sanitizer_get_current_allocated_bytes(void);
size_t __sanitizer_get_heap_size(void);

size_t
heap_in_use(void)
{
	return __sanitizer_get_current_allocated_bytes();
}

size_t
heap_from_system(void)
{
	return __sanitizer_get_heap_size();
}
#else
size_t
heap_in_use(void)
{
	struct mallinfo2 m = mallinfo2();

	return m.uordblks + m.hblkhd;
}

size_t
heap_from_system(void)
{
	struct mallinfo2 m = mallinfo2();

	return m.arena + m.hblkhd;
}
#endif

bool
heap_trim_due(struct heap_trim *t, size_t in_use)
{
	if (in_use > t->high) {
		t->high = in_use;
	}
	if (in_use + HEAP_TRIM_SLACK > t->high) {
		return false;
	}
	t->high = in_use;
	return true;
}

static void
on_trim_tick(struct ev *ev, void *arg)
{
	struct heap_trim *t = arg;

	if (heap_trim_due(t, heap_in_use())) {
		malloc_trim(0);
		t->trims++;
	}
	ev_timer_set(ev, &t->timer, HEAP_TRIM_MS);
}

void
heap_trim_start(struct heap_trim *t, struct ev *ev)
{
	t->high = 0;
	t->trims = 0;
	ev_timer_init(&t->timer, on_trim_tick, t);
	ev_timer_set(ev, &t->timer, HEAP_TRIM_MS);
}

// SPDX-License-Identifier: MIT
/* malloc's own figures: see heap.h. */
#include "heap.h"

#include <malloc.h>

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

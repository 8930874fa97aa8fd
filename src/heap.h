/* SPDX-License-Identifier: MIT */
/*
 * What a daemon really holds, whatever RSS says: malloc keeps freed memory
 * for reuse, so VmRSS stays near its peak after a burst, while the bytes in
 * use go back down. tund shows it in its status, exitd logs it on SIGUSR1.
 */
#ifndef HEAP_H
#define HEAP_H

#include <stddef.h>

/* Bytes malloc has handed out and not had back (mmapped blocks included). */
size_t heap_in_use(void);
/* Bytes malloc has taken from the system (its arenas and mmapped blocks). */
size_t heap_from_system(void);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * An intrusive pairing heap (Fredman, Sedgewick, Sleator, Tarjan, 1986):
 * a min-heap on a 64-bit key whose nodes live inside their owners, so
 * inserting never allocates and can never fail. Insert and meld are O(1),
 * removing the minimum or any node is O(log n) amortized.
 *
 * Used for timers: the event loop's (src/ev.c) and the TCP stack's. A
 * node is in at most one heap; pheap_node_init() marks it out of any.
 * Ties are broken by nothing: nodes with equal keys come out in no
 * particular order.
 */
#ifndef PHEAP_H
#define PHEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pheap_node {
	uint64_t key;
	struct pheap_node *child;       /* first child */
	struct pheap_node *next;        /* next sibling */
	struct pheap_node *prev;        /* previous sibling, or the parent for a first child */
	bool in;                        /* in a heap */
};

struct pheap {
	struct pheap_node *root;
	size_t n;
};

static inline void
pheap_init(struct pheap *h)
{
	h->root = NULL;
	h->n = 0;
}

static inline void
pheap_node_init(struct pheap_node *n)
{
	n->child = n->next = n->prev = NULL;
	n->in = false;
}

static inline struct pheap_node *
pheap_min(const struct pheap *h)
{
	return h->root;
}

/* Inserts n (not in a heap) with key. */
void pheap_insert(struct pheap *h, struct pheap_node *n, uint64_t key);
/* Removes n from h; a node in no heap is left alone. */
void pheap_remove(struct pheap *h, struct pheap_node *n);

#endif

// SPDX-License-Identifier: MIT
/*
 * The pairing heap: see pheap.h. Children of a node form a doubly linked
 * list through next/prev, the first child's prev pointing at the parent,
 * so any node can be cut out in O(1) before its children are merged.
 */
#include "pheap.h"

/* Melds two roots (either may be NULL); the smaller key becomes the root. */
static struct pheap_node *
meld(struct pheap_node *a, struct pheap_node *b)
{
	if (a == NULL) {
		return b;
	}
	if (b == NULL) {
		return a;
	}
	if (b->key < a->key) {
		struct pheap_node *t = a;

		a = b;
		b = t;
	}
	/* b becomes a's first child. */
	b->prev = a;
	b->next = a->child;
	if (a->child) {
		a->child->prev = b;
	}
	a->child = b;
	a->next = a->prev = NULL;
	return a;
}

/*
 * The standard two-pass merge of a sibling list: meld pairs left to
 * right, then meld the results right to left. Iterative, so a long list
 * (many timers armed since the last removal) cannot overflow the stack.
 */
static struct pheap_node *
merge_pairs(struct pheap_node *first)
{
	struct pheap_node *pairs = NULL, *r = NULL;

	while (first) {
		struct pheap_node *a = first, *b = a->next, *m;

		first = b ? b->next : NULL;
		a->next = a->prev = NULL;
		if (b) {
			b->next = b->prev = NULL;
		}
		m = meld(a, b);
		/* Stack the pairs through next, to meld them in reverse. */
		m->next = pairs;
		pairs = m;
	}
	while (pairs) {
		struct pheap_node *m = pairs;

		pairs = m->next;
		m->next = NULL;
		r = meld(r, m);
	}
	return r;
}

void
pheap_insert(struct pheap *h, struct pheap_node *n, uint64_t key)
{
	n->key = key;
	n->child = n->next = n->prev = NULL;
	n->in = true;
	h->root = meld(h->root, n);
	h->n++;
}

void
pheap_remove(struct pheap *h, struct pheap_node *n)
{
	struct pheap_node *sub;

	if (!n->in) {
		return;
	}
	if (n != h->root) {
		/* Cut n (with its subtree) out of its parent's child list. */
		if (n->prev->child == n) {
			n->prev->child = n->next;
		} else {
			n->prev->next = n->next;
		}
		if (n->next) {
			n->next->prev = n->prev;
		}
	}
	sub = merge_pairs(n->child);
	if (n == h->root) {
		h->root = sub;
	} else {
		h->root = meld(h->root, sub);
	}
	pheap_node_init(n);
	h->n--;
}

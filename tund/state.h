/* SPDX-License-Identifier: MIT */
/*
 * The fake-IP map's state file (fakeip.h, "Persistence"): one fixed-size
 * record per slot at slot * FAKEIP_REC_LEN, written with pwrite() each
 * time a slot gets a name, before the DNS answer leaves, so a crash at
 * any moment keeps every address an application may have cached. A
 * record is one write of a few hundred bytes at its own offset: records
 * never tear each other, and a record torn by a power failure fails its
 * checksum and is ignored. The file is sparse: unused slots take no disk.
 *
 * Opened (and its directory made, mode 0700) before privileges are
 * dropped; the descriptor is kept.
 */
#ifndef TUND_STATE_H
#define TUND_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "fakeip.h"

struct state;

/*
 * Opens (creating it, mode 0600) the file at path, restores its records
 * into f (as used at now_ms) and sets f's save callback to it. NULL with
 * err filled on failure; *restored says how many mappings came back.
 */
struct state *state_open(const char *path, struct fakeip *f, uint64_t now_ms, size_t *restored,
			 char *err, size_t errlen);
void state_close(struct state *st);

#endif

// SPDX-License-Identifier: MIT
/* The fake-IP state file: see state.h. */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define CHUNK_RECS 4096

struct state {
	int fd;
	uint64_t write_errors;
};

static void
save(void *arg, size_t slot, const uint8_t *rec, size_t len)
{
	struct state *st = arg;
	ssize_t n = pwrite(st->fd, rec, len, (off_t)(slot * FAKEIP_REC_LEN));

	if (n != (ssize_t)len) {
		/* The mapping still works in this run; only a restart would lose it. */
		st->write_errors++;
		log_warnx_rl("fake-IP state: write: %s", n < 0 ? strerror(errno) : "short write");
	}
}

/* mkdir -p of path's directory, mode 0700 for what it makes. */
static int
make_dir(const char *path)
{
	char dir[256];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
		return -ENAMETOOLONG;
	}
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir) {
		return 0;
	}
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
				return -errno;
			}
			*p = '/';
		}
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		return -errno;
	}
	return 0;
}

struct state *
state_open(const char *path, struct fakeip *f, uint64_t now_ms, size_t *restored, char *err,
	   size_t errlen)
{
	struct state *st = calloc(1, sizeof(*st));
	size_t slots = fakeip_slots(f), n = 0;
	uint8_t *chunk = malloc((size_t)CHUNK_RECS * FAKEIP_REC_LEN);
	int r;

	if (st == NULL || chunk == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	r = make_dir(path);
	if (r < 0) {
		snprintf(err, errlen, "state %s: cannot make its directory: %s", path, strerror(-r));
		goto fail;
	}
	st->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (st->fd < 0) {
		snprintf(err, errlen, "state %s: %s", path, strerror(errno));
		goto fail;
	}
	for (size_t base = 0; base < slots; base += CHUNK_RECS) {
		ssize_t got = pread(st->fd, chunk, (size_t)CHUNK_RECS * FAKEIP_REC_LEN,
				    (off_t)(base * FAKEIP_REC_LEN));

		if (got <= 0) {
			break;
		}
		for (size_t i = 0; (i + 1) * FAKEIP_REC_LEN <= (size_t)got && base + i < slots; i++) {
			if (fakeip_restore(f, base + i, chunk + i * FAKEIP_REC_LEN, FAKEIP_REC_LEN,
					   now_ms) == 0) {
				n++;
			}
		}
	}
	free(chunk);
	fakeip_set_save(f, save, st);
	*restored = n;
	return st;
fail:
	if (st && st->fd > 0) {
		close(st->fd);
	}
	free(chunk);
	free(st);
	return NULL;
}

void
state_close(struct state *st)
{
	if (st == NULL) {
		return;
	}
	fsync(st->fd);
	close(st->fd);
	free(st);
}

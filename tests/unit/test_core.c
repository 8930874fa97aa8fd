// SPDX-License-Identifier: MIT
/*
 * Unit tests for the small shared pieces: buf.c (bounded queues), ev.c
 * (the timer heap and stale fd events), cur.h (cursors), and exitd's
 * per-source limits (limit.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "bucket.h"
#include "buf.h"
#include "cur.h"
#include "dnsframe.h"
#include "ev.h"
#include "fdlimit.h"
#include "heap.h"
#include "recalign.h"
#include "../../exitd/limit.h"

static void
test_buf_bounds(void **state)
{
	struct buf b;
	uint8_t data[100], out[100];
	size_t room, len;
	const uint8_t *p;

	for (size_t i = 0; i < sizeof(data); i++) {
		data[i] = (uint8_t)i;
	}
	buf_init(&b, 64);
	assert_null(b.data);                    /* nothing allocated while empty */
	assert_int_equal(buf_put(&b, data, 65), -ENOBUFS);
	assert_int_equal(buf_put(&b, data, 40), 0);
	assert_int_equal(buf_room(&b), 24);
	assert_int_equal(buf_put(&b, data, 25), -ENOBUFS);
	buf_consume(&b, 30);
	assert_int_equal(buf_len(&b), 10);
	/* Room at the front is reused: 40 more fit after compaction. */
	assert_int_equal(buf_put(&b, data + 40, 54), 0);
	assert_int_equal(buf_len(&b), 64);
	assert_null(buf_wptr(&b, &room));
	assert_int_equal(room, 0);
	p = buf_rptr(&b, &len);
	assert_int_equal(len, 64);
	memcpy(out, p, len);
	assert_memory_equal(out, data + 30, 10);
	assert_memory_equal(out + 10, data + 40, 54);
	buf_consume(&b, 64);
	assert_null(b.data);                    /* released when drained */
	assert_null(buf_rptr(&b, &len));
	/* A read that found nothing: buf_wptr allocated, buf_shed gives it back. */
	assert_non_null(buf_wptr(&b, &room));
	assert_int_equal(room, 64);
	assert_non_null(b.data);
	buf_shed(&b);
	assert_null(b.data);
	assert_int_equal(buf_put(&b, data, 3), 0);
	buf_shed(&b);                           /* holding bytes: kept */
	assert_non_null(b.data);
	assert_int_equal(buf_len(&b), 3);
	buf_fini(&b);
}

static void
test_cur(void **state)
{
	static const uint8_t bytes[] = { 1, 2, 3, 4, 5, 6, 7 };
	struct cur c;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint8_t wb[3];
	struct wcur w;

	cur_init(&c, bytes, sizeof(bytes));
	assert_true(cur_get_u8(&c, &u8));
	assert_int_equal(u8, 1);
	assert_true(cur_get_u16(&c, &u16));
	assert_int_equal(u16, 0x0203);
	assert_true(cur_get_u32(&c, &u32));
	assert_int_equal(u32, 0x04050607);
	assert_false(cur_get_u8(&c, &u8));      /* empty: fails, does not move */
	cur_init(&c, bytes, 3);
	assert_false(cur_get_u32(&c, &u32));
	assert_int_equal(cur_left(&c), 3);
	assert_false(cur_skip(&c, 4));
	assert_int_equal(cur_left(&c), 3);

	wcur_init(&w, wb, sizeof(wb));
	assert_true(wcur_put_u16(&w, 0xabcd));
	assert_false(wcur_put_u16(&w, 1));      /* one byte left: nothing written */
	assert_int_equal(w.len, 2);
	assert_true(wcur_put_u8(&w, 7));
	assert_false(wcur_put_u8(&w, 8));
}

static int fired[8];
static int n_fired;

static void
on_t(struct ev *ev, void *arg)
{
	fired[n_fired++] = (int)(intptr_t)arg;
}

static void
test_ev_timers(void **state)
{
	struct ev *ev = ev_new(64);
	struct ev_timer t[5];

	assert_non_null(ev);
	for (int i = 0; i < 5; i++) {
		ev_timer_init(&t[i], on_t, (void *)(intptr_t)i);
	}
	ev_timer_set(ev, &t[0], 30);
	ev_timer_set(ev, &t[1], 10);
	ev_timer_set(ev, &t[2], 20);
	ev_timer_set(ev, &t[3], 5);
	ev_timer_set(ev, &t[4], 15);
	ev_timer_del(ev, &t[4]);                /* deleted: never fires */
	ev_timer_set(ev, &t[3], 25);            /* re-armed: moves */
	assert_false(ev_timer_armed(&t[4]));
	n_fired = 0;
	while (n_fired < 4) {
		assert_int_equal(ev_run_once(ev, 100), 0);
	}
	assert_int_equal(fired[0], 1);
	assert_int_equal(fired[1], 2);
	assert_int_equal(fired[2], 3);
	assert_int_equal(fired[3], 0);
	for (int i = 0; i < 5; i++) {
		assert_false(ev_timer_armed(&t[i]));
	}
	ev_free(ev);
}

/*
 * The pairing heap against a brute-force reference: random inserts,
 * removals of arbitrary nodes (armed or not) and pops, checking the
 * minimum and the count after every step.
 */
static void
test_pheap_random(void **state)
{
	enum { N = 600 };
	static struct pheap_node nodes[N];
	struct pheap h;
	uint32_t rnd = 12345;

	pheap_init(&h);
	for (int i = 0; i < N; i++) {
		pheap_node_init(&nodes[i]);
	}
	for (int step = 0; step < 200000; step++) {
		size_t k, in = 0;
		uint64_t best = UINT64_MAX;

		rnd = rnd * 1103515245 + 12345;
		k = (rnd >> 8) % N;
		switch ((rnd >> 4) % 4) {
		case 0:
		case 1:
			pheap_remove(&h, &nodes[k]);
			pheap_insert(&h, &nodes[k], (rnd >> 12) % 1000);
			break;
		case 2:
			pheap_remove(&h, &nodes[k]);
			break;
		default:
			if (pheap_min(&h)) {
				pheap_remove(&h, pheap_min(&h));
			}
			break;
		}
		for (int i = 0; i < N; i++) {
			if (nodes[i].in) {
				in++;
				best = nodes[i].key < best ? nodes[i].key : best;
			}
		}
		assert_int_equal(h.n, in);
		if (in == 0) {
			assert_null(pheap_min(&h));
		} else {
			assert_int_equal(pheap_min(&h)->key, best);
		}
	}
}

static int stale_calls;

static void
on_fd(struct ev *ev, int fd, unsigned int events, void *arg)
{
	int *other = arg;

	stale_calls++;
	/* The first callback closes the other fd: its event must not fire. */
	if (*other >= 0) {
		ev_fd_del(ev, *other);
		*other = -1;
	}
}

static void
test_ev_stale(void **state)
{
	struct ev *ev = ev_new(1024);
	int a[2], b[2];
	int fa, fb;

	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	fa = b[0];
	fb = a[0];
	assert_int_equal(ev_fd_add(ev, a[0], EV_RD, on_fd, &fa), 0);
	assert_int_equal(ev_fd_add(ev, b[0], EV_RD, on_fd, &fb), 0);
	assert_int_equal(ev_fd_add(ev, a[0], EV_RD, on_fd, &fa), -EINVAL);
	assert_int_equal(write(a[1], "x", 1), 1);
	assert_int_equal(write(b[1], "x", 1), 1);
	stale_calls = 0;
	assert_int_equal(ev_run_once(ev, 100), 0);
	assert_int_equal(stale_calls, 1);
	assert_int_equal(ev_fd_add(ev, -1, EV_RD, on_fd, NULL), -EINVAL);
	assert_int_equal(ev_fd_add(ev, 5000, EV_RD, on_fd, NULL), -EINVAL);
	ev_fd_del(ev, 999);                     /* not added: harmless */
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	ev_free(ev);
}

static void
test_dns_frame_peek(void **state)
{
	uint8_t f[2 + 12 + 3] = { 0, 12 };
	size_t ml, fl;

	(void)state;
	assert_int_equal(dns_frame_peek(f, 0, &ml, &fl), 0);
	assert_int_equal(fl, 2);
	assert_int_equal(dns_frame_peek(f, 1, &ml, &fl), 0);
	assert_int_equal(dns_frame_peek(f, 13, &ml, &fl), 0);       /* one byte short */
	assert_int_equal(fl, 14);
	assert_int_equal(dns_frame_peek(f, sizeof(f), &ml, &fl), 1);
	assert_int_equal(ml, 12);
	assert_int_equal(fl, 14);
	f[1] = 11;                                                  /* shorter than a header */
	assert_int_equal(dns_frame_peek(f, sizeof(f), &ml, &fl), -EINVAL);
	f[1] = 0;                                                   /* empty */
	assert_int_equal(dns_frame_peek(f, 2, &ml, &fl), -EINVAL);
	f[0] = 0xff;                                                /* 65,280: needs more */
	assert_int_equal(dns_frame_peek(f, sizeof(f), &ml, &fl), 0);
	assert_int_equal(fl, 2 + 0xff00);
}

static void
test_bucket(void **state)
{
	struct bucket b;

	bucket_init(&b, 3, 1000);
	assert_true(bucket_full(&b, 2, 3, 1000));
	for (int i = 0; i < 3; i++) {
		assert_true(bucket_take(&b, 2, 3, 1000));       /* the burst */
	}
	assert_false(bucket_take(&b, 2, 3, 1000));
	assert_int_equal(bucket_wait_ms(&b, 2, 3, 1000), 500);  /* 2 a second */
	assert_false(bucket_take(&b, 2, 3, 1499));
	assert_true(bucket_take(&b, 2, 3, 1500));
	assert_false(bucket_take(&b, 2, 3, 1500));
	/* A second boundary gives nothing extra: 1999 -> 2000 is 1 ms. */
	assert_true(bucket_take(&b, 2, 3, 2000));
	assert_false(bucket_take(&b, 2, 3, 2001));
	assert_false(bucket_full(&b, 2, 3, 3000));
	assert_true(bucket_full(&b, 2, 3, 3500));               /* 3 tokens in 1.5 s */
	/* Never above the burst, however long it waited; no overflow. */
	assert_true(bucket_take(&b, 2, 3, UINT64_MAX / 2));
	assert_true(bucket_take(&b, 2, 3, UINT64_MAX / 2));
	assert_true(bucket_take(&b, 2, 3, UINT64_MAX / 2));
	assert_false(bucket_take(&b, 2, 3, UINT64_MAX / 2));
	/* Time going back is no time passing. */
	assert_false(bucket_take(&b, 2, 3, 5));
	assert_int_equal(bucket_wait_ms(&b, 0, 3, 5), UINT64_MAX);
	/* Big rates and bursts. */
	bucket_init(&b, BUCKET_MAX, 0);
	assert_true(bucket_take(&b, BUCKET_MAX, BUCKET_MAX, 0));
	assert_false(bucket_full(&b, BUCKET_MAX, BUCKET_MAX, 0));
	assert_true(bucket_full(&b, BUCKET_MAX, BUCKET_MAX, 1000));
}

static void
test_limits(void **state)
{
	struct limits *l = limits_new(2, 1, 3, 2);
	struct addr a, b, c, d;

	assert_non_null(l);
	assert_int_equal(addr_parse("192.0.2.1", &a), 0);
	assert_int_equal(addr_parse("2001:db8::1", &b), 0);
	assert_int_equal(addr_parse("192.0.2.9", &c), 0);
	assert_int_equal(addr_parse("192.0.2.10", &d), 0);
	assert_int_equal(limits_take(l, &a, 1000), 0);
	assert_int_equal(limits_take(l, &a, 1000), 0);
	assert_int_equal(limits_take(l, &a, 1000), -EMFILE);    /* 2 open at most */
	limits_put(l, &a);
	limits_put(l, &a);
	assert_int_equal(limits_take(l, &a, 1999), 0);          /* the burst of 3 */
	limits_put(l, &a);
	assert_int_equal(limits_take(l, &a, 2000), 0);          /* refilled by 1 a second */
	limits_put(l, &a);
	/* A count per calendar second would allow 3 more at 2000. */
	assert_int_equal(limits_take(l, &a, 2000), -EAGAIN);
	assert_int_equal(limits_take(l, &a, 2999), -EAGAIN);
	assert_int_equal(limits_take(l, &a, 3000), 0);
	assert_int_equal(limits_take(l, &b, 3000), 0);          /* another source */
	/* The table of 2 is full of sources with connections open. */
	assert_int_equal(limits_take(l, &c, 3000), -ENOSPC);
	limits_put(l, &b);                                      /* b: nothing open */
	limits_sweep(l, 3500);                                  /* b's bucket is not full yet */
	assert_int_equal(limits_entries(l), 2);
	limits_sweep(l, 6000);                                  /* now it is: swept */
	assert_int_equal(limits_entries(l), 1);
	assert_int_equal(limits_take(l, &c, 6000), 0);
	limits_put(l, &c);
	limits_put(l, &c);                                      /* extra put: harmless */
	/* Full, c has nothing open: a new source evicts it, never refused. */
	assert_int_equal(limits_take(l, &d, 6000), 0);
	assert_int_equal(limits_entries(l), 2);
	limits_free(l);
	limits_free(NULL);

	/*
	 * A flood of sources that open nothing (SYN then RST, the defect in
	 * issue 7) never locks a new source out.
	 */
	l = limits_new(10, 100, 100, 16);
	for (unsigned int i = 0; i < 1100; i++) {
		struct addr x = { .family = AF_INET };

		x.a[0] = 198;
		x.a[1] = 51;
		x.a[2] = (uint8_t)(i >> 8);
		x.a[3] = (uint8_t)i;
		assert_int_equal(limits_take(l, &x, 1000), 0);
		limits_put(l, &x);
	}
	assert_int_equal(limits_entries(l), 16);
	assert_int_equal(limits_take(l, &a, 1000), 0);
	limits_free(l);

	/* IPv6 counts by /64: another address in the same /64 is the same source. */
	l = limits_new(1, 100, 100, 10);
	assert_int_equal(addr_parse("2001:db8:1:2::1", &a), 0);
	assert_int_equal(addr_parse("2001:db8:1:2:ffff::9", &b), 0);
	assert_int_equal(addr_parse("2001:db8:1:3::1", &c), 0);
	assert_int_equal(limits_take(l, &a, 1000), 0);
	assert_int_equal(limits_take(l, &b, 1000), -EMFILE);
	assert_int_equal(limits_take(l, &c, 1000), 0);
	limits_put(l, &b);                                      /* frees a's slot: same /64 */
	assert_int_equal(limits_take(l, &a, 1000), 0);
	limits_free(l);
}

/* Whether this process holds CAP_SYS_RESOURCE (bit 24 of CapEff): a
 * sandbox's root may not. */
static int
have_sys_resource(void)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL) {
		return 0;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "CapEff: %llx", &eff) == 1) {
			break;
		}
	}
	fclose(f);
	return (eff >> 24) & 1;
}

/* fdlimit_raise: the soft limit up to what is wanted, the hard one too
 * where the process may (CAP_SYS_RESOURCE), and never down. */
static void
test_fdlimit(void **state)
{
	struct rlimit saved, rl = { .rlim_cur = 256, .rlim_max = 512 };
	size_t got;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(fdlimit_raise(128), 256);              /* already enough */
	got = fdlimit_raise(400);
	assert_int_equal(got, 400);                             /* within the hard limit */
	getrlimit(RLIMIT_NOFILE, &rl);
	assert_int_equal(rl.rlim_cur, 400);
	assert_int_equal(rl.rlim_max, 512);
	got = fdlimit_raise(4096);
	getrlimit(RLIMIT_NOFILE, &rl);
	if (have_sys_resource()) {
		assert_int_equal(got, 4096);                    /* hard raised */
		assert_int_equal(rl.rlim_max, 4096);
	} else {
		assert_int_equal(got, 512);                     /* up to the hard limit */
		assert_int_equal(rl.rlim_max, 512);
	}
	assert_int_equal(rl.rlim_cur, got);
	setrlimit(RLIMIT_NOFILE, &saved);
}

/* heap_trim_due: a trim once the heap in use has fallen HEAP_TRIM_SLACK
 * below its highest sample since the last one, and not again until it
 * rises and falls once more. */
static void
test_heap_trim(void **state)
{
	struct heap_trim t = { 0 };
	const size_t M = (size_t)1 << 20;

	(void)state;
	assert_false(heap_trim_due(&t, 10 * M));
	assert_false(heap_trim_due(&t, 50 * M));        /* the burst */
	assert_false(heap_trim_due(&t, 43 * M));        /* fell 7 MiB: not yet */
	assert_true(heap_trim_due(&t, 42 * M));         /* fell 8 MiB */
	assert_false(heap_trim_due(&t, 42 * M));        /* nothing new to give back */
	assert_false(heap_trim_due(&t, 35 * M));        /* 7 MiB below the last trim */
	assert_true(heap_trim_due(&t, 34 * M));
	assert_false(heap_trim_due(&t, 34 * M));
	assert_true(heap_trim_due(&t, 0));              /* 34 MiB below the last trim */
	t.high = 0;
	assert_false(heap_trim_due(&t, 0));             /* an empty heap never trims */
	assert_false(heap_trim_due(&t, 100 * M));
	assert_true(heap_trim_due(&t, 0));
}

/* A TLS record of type t with n bytes of body at p; returns its size. */
static size_t
put_record(uint8_t *p, uint8_t t, size_t n)
{
	p[0] = t;
	p[1] = 3;
	p[2] = 3;
	p[3] = (uint8_t)(n >> 8);
	p[4] = (uint8_t)n;
	memset(p + 5, 0xab, n);
	return 5 + n;
}

/* recalign: plain bytes in chunks that 7 more layers still fit into one
 * record; a record stream one record per write, partial ones held only
 * while waiting is allowed; too large ones cut; a bad header ends it. */
static void
test_recalign(void **state)
{
	static uint8_t s[200000];
	struct recalign ra = { 0 };
	size_t a, b, c, len;

	(void)state;
	assert_int_equal(RECALIGN_PLAIN_CHUNK, 16230);

	/* Plain: an HTTP response. */
	memcpy(s, "HTTP/1.1 200 OK\r\n", 17);
	assert_int_equal(recalign_next(&ra, s, 40000, true), 16230);
	recalign_took(&ra, 16230);
	assert_int_equal(recalign_next(&ra, s, 100, true), 100);
	assert_int_equal(ra.mode, RECALIGN_PLAIN);

	/* A short first message is never held, even one that starts like TLS. */
	ra = (struct recalign){ 0 };
	assert_int_equal(recalign_next(&ra, (const uint8_t *)"OK\n", 3, true), 3);
	ra = (struct recalign){ 0 };
	s[0] = 22;
	assert_int_equal(recalign_next(&ra, s, 4, true), 4);
	assert_int_equal(ra.mode, RECALIGN_PLAIN);
	assert_int_equal(recalign_next(&ra, s, 0, false), 0);

	/* A record stream: a handshake flight, then full records of an exit. */
	ra = (struct recalign){ 0 };
	a = put_record(s, 22, 1200);
	b = put_record(s + a, 23, 16230 + 17);          /* the exit's full record: 16252 */
	c = put_record(s + a + b, 23, 16230 + 17);
	len = a + b + c;
	assert_int_equal(recalign_next(&ra, s, len, true), a);
	recalign_took(&ra, a);
	assert_int_equal(recalign_next(&ra, s + a, len - a, true), b);
	recalign_took(&ra, b);
	/* The next one only partly here: held while waiting is allowed... */
	assert_int_equal(recalign_next(&ra, s + a + b, 9000, true), 0);
	assert_int_equal(recalign_next(&ra, s + a + b, 4, true), 0);
	/* ...whole once it is all in... */
	assert_int_equal(recalign_next(&ra, s + a + b, c, true), c);
	/* ...or sent in part when it may not wait, and its rest alone after. */
	assert_int_equal(recalign_next(&ra, s + a + b, 9000, false), 9000);
	recalign_took(&ra, 9000);
	assert_int_equal(recalign_next(&ra, s + a + b + 9000, c - 9000 + 50, true), c - 9000);
	recalign_took(&ra, c - 9000);
	assert_int_equal(ra.left, 0);

	/* A record too large for one of ours (an HTTPS server's full one): cut. */
	ra = (struct recalign){ 0 };
	a = put_record(s, 22, 100);
	b = put_record(s + a, 23, 16384 + 17);
	recalign_took(&ra, recalign_next(&ra, s, a + b, true));
	assert_int_equal(recalign_next(&ra, s + a, b, true), 16230);
	recalign_took(&ra, 16230);
	assert_int_equal(recalign_next(&ra, s + a + 16230, b - 16230, true), b - 16230);
	recalign_took(&ra, b - 16230);

	/* The writer's own bytes first (a method choice, a reply): as they
	 * are, and never taken for the stream's start. */
	ra = (struct recalign){ 0 };
	s[0] = 5;
	s[1] = 0;
	a = 2 + put_record(s + 2, 22, 100);
	recalign_own(&ra, 2);
	assert_int_equal(recalign_next(&ra, s, a, true), 2);
	recalign_took(&ra, 1);                          /* a part of it went */
	assert_int_equal(recalign_next(&ra, s + 1, a - 1, true), 1);
	recalign_took(&ra, 1);
	assert_int_equal(recalign_next(&ra, s + 2, a - 2, true), a - 2);
	assert_int_equal(ra.mode, RECALIGN_TLS);

	/* A header that does not parse: plain from there on. */
	ra = (struct recalign){ 0 };
	a = put_record(s, 22, 100);
	memcpy(s + a, "garbage, not a record", 21);
	recalign_took(&ra, recalign_next(&ra, s, a + 21, true));
	assert_int_equal(recalign_next(&ra, s + a, 21, true), 21);
	assert_int_equal(ra.mode, RECALIGN_PLAIN);
	/* A length beyond TLS's limit is not a header either. */
	ra = (struct recalign){ 0 };
	put_record(s, 22, 100);
	s[3] = 0x41;
	s[4] = 0x01;                                    /* 16641 */
	assert_int_equal(recalign_next(&ra, s, 40000, true), 16230);
	assert_int_equal(ra.mode, RECALIGN_PLAIN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_bounds),
		cmocka_unit_test(test_cur),
		cmocka_unit_test(test_ev_timers),
		cmocka_unit_test(test_pheap_random),
		cmocka_unit_test(test_ev_stale),
		cmocka_unit_test(test_dns_frame_peek),
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_fdlimit),
		cmocka_unit_test(test_heap_trim),
		cmocka_unit_test(test_recalign),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

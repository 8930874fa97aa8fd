// SPDX-License-Identifier: MIT
/*
 * What `tund status` prints: see status.h. Text for people, JSON for
 * scripts and tests, from the same figures.
 */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>

#include "heap.h"
#include "log.h"
#include "tls.h"

/* Appends to the status buffer; never past its end. */
struct out {
	char *p;
	size_t cap, len;
};

static void out_printf(struct out *o, const char *fmt, ...) LOG_PRINTF(2, 3);

static void
out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len >= o->cap) {
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n > 0) {
		o->len += (size_t)n < o->cap - o->len ? (size_t)n : o->cap - o->len - 1;
	}
}

static void
out_json_str(struct out *o, const char *s)
{
	out_printf(o, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			out_printf(o, "\\%c", ch);
		} else if (ch < 0x20) {
			out_printf(o, "\\u%04x", ch);
		} else {
			out_printf(o, "%c", ch);
		}
	}
	out_printf(o, "\"");
}

static const char *
human(uint64_t n, char *buf, size_t len)
{
	if (n >= 10ULL << 30) {
		snprintf(buf, len, "%.1f GB", (double)n / (1 << 30));
	} else if (n >= 10ULL << 20) {
		snprintf(buf, len, "%.1f MB", (double)n / (1 << 20));
	} else if (n >= 10ULL << 10) {
		snprintf(buf, len, "%.1f KB", (double)n / (1 << 10));
	} else {
		snprintf(buf, len, "%llu B", (unsigned long long)n);
	}
	return buf;
}

/* Every drop counter of the transparent side, by name: fn(o, name, count) for each. */
static void
each_drop(struct out *o, const struct capture_stats *cs, bool json)
{
	bool first = true;

	for (int i = 1; i < IP_DROP_COUNT; i++) {
		if (cs->drop_ip[i]) {
			out_printf(o, json ? "%s\"ip-%s\":%llu" : "%sip-%s %llu", first ? "" : json ? "," : ", ",
				   ip_verdict_name((enum ip_verdict)i), (unsigned long long)cs->drop_ip[i]);
			first = false;
		}
	}
	for (int i = 1; i < TCP_WIRE_COUNT; i++) {
		if (cs->tcp.drop_wire[i]) {
			out_printf(o, json ? "%s\"%s\":%llu" : "%s%s %llu", first ? "" : json ? "," : ", ",
				   tcp_wire_res_name((enum tcp_wire_res)i),
				   (unsigned long long)cs->tcp.drop_wire[i]);
			first = false;
		}
	}
	for (int i = 0; i < CAP_DROP_COUNT; i++) {
		if (cs->drop[i]) {
			out_printf(o, json ? "%s\"%s\":%llu" : "%s%s %llu", first ? "" : json ? "," : ", ",
				   capture_drop_name((enum capture_drop)i), (unsigned long long)cs->drop[i]);
			first = false;
		}
	}
	{
		static const char *const names[] = { "tcp-no-conn", "tcp-out-of-window",
						     "tcp-out-of-order", "tcp-table-full" };
		const uint64_t v[] = { cs->tcp.drop_no_conn, cs->tcp.drop_out_of_window,
				       cs->tcp.drop_out_of_order, cs->tcp.drop_full };

		for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
			if (v[i]) {
				out_printf(o, json ? "%s\"%s\":%llu" : "%s%s %llu",
					   first ? "" : json ? "," : ", ", names[i], (unsigned long long)v[i]);
				first = false;
			}
		}
	}
	if (first && !json) {
		out_printf(o, "none");
	}
}

static void
tun_json(struct out *o, const struct status_src *t)
{
	struct capture_stats cs;
	struct fakeip_stats fs = { 0 };

	if (t->cap == NULL) {
		return;
	}
	capture_stats(t->cap, &cs);
	if (t->fip) {
		fakeip_stats(t->fip, &fs);
	}
	out_printf(o, ",\"tun\":{\"streams\":%zu,\"dialing\":%zu,\"fake\":%llu,\"real\":%llu,"
		      "\"refused\":%llu,\"unreachable\":%llu,\"reset\":%llu,\"packets_in\":%llu,"
		      "\"packets_out\":%llu,\"bytes_up\":%llu,\"bytes_down\":%llu,\"echo_replies\":%llu}",
		   cs.streams_open, cs.dialing, (unsigned long long)cs.conns_fake,
		   (unsigned long long)cs.conns_real, (unsigned long long)cs.conns_refused,
		   (unsigned long long)cs.conns_unreach, (unsigned long long)cs.conns_reset,
		   (unsigned long long)cs.pkts_in, (unsigned long long)cs.pkts_out,
		   (unsigned long long)cs.bytes_up, (unsigned long long)cs.bytes_down,
		   (unsigned long long)cs.echo_replies);
	out_printf(o, ",\"tcp\":{\"conns\":%zu,\"time_wait\":%zu,\"retransmits\":%llu,"
		      "\"fast_retransmits\":%llu,\"rto\":%llu,\"resets_in\":%llu,\"resets_out\":%llu,"
		      "\"challenge_acks\":%llu}",
		   cs.tcp.conns, cs.tcp.time_wait, (unsigned long long)cs.tcp.retransmits,
		   (unsigned long long)cs.tcp.fast_retransmits, (unsigned long long)cs.tcp.rto,
		   (unsigned long long)cs.tcp.reset_rx, (unsigned long long)cs.tcp.reset_tx,
		   (unsigned long long)cs.tcp.challenge_acks);
	out_printf(o, ",\"dns\":{\"udp\":%llu,\"tcp\":%llu,\"local\":%llu,\"forwarded\":%llu,"
		      "\"servfail\":%llu,\"streams\":%llu}",
		   (unsigned long long)cs.dns_udp, (unsigned long long)cs.dns_tcp,
		   (unsigned long long)cs.dns_local, (unsigned long long)cs.dns_forwarded,
		   (unsigned long long)cs.dns_servfail, (unsigned long long)cs.fwd.streams);
	out_printf(o, ",\"fakeip\":{\"slots\":%zu,\"used\":%zu,\"free\":%zu,\"pinned\":%zu,"
		      "\"recycled\":%llu,\"exhausted\":%llu}",
		   fs.slots, fs.used, fs.slots - fs.used, fs.pinned, (unsigned long long)fs.recycled,
		   (unsigned long long)fs.exhausted);
	out_printf(o, ",\"drops\":{");
	each_drop(o, &cs, true);
	out_printf(o, "}");
}

static void
tun_text(struct out *o, const struct status_src *t)
{
	struct capture_stats cs;
	struct fakeip_stats fs = { 0 };
	char h1[32], h2[32];

	if (t->cap == NULL) {
		return;
	}
	capture_stats(t->cap, &cs);
	if (t->fip) {
		fakeip_stats(t->fip, &fs);
	}
	out_printf(o, "tun:      %zu streams open, %zu dialing; %llu to names, %llu to addresses, "
		      "%llu refused, %llu unreachable, %llu reset\n",
		   cs.streams_open, cs.dialing, (unsigned long long)cs.conns_fake,
		   (unsigned long long)cs.conns_real, (unsigned long long)cs.conns_refused,
		   (unsigned long long)cs.conns_unreach, (unsigned long long)cs.conns_reset);
	out_printf(o, "          %s up, %s down; %llu packets in, %llu out\n",
		   human(cs.bytes_up, h1, sizeof(h1)), human(cs.bytes_down, h2, sizeof(h2)),
		   (unsigned long long)cs.pkts_in, (unsigned long long)cs.pkts_out);
	out_printf(o, "tcp:      %zu connections (%zu in TIME-WAIT); %llu retransmits (%llu fast, %llu "
		      "timeouts)\n",
		   cs.tcp.conns, cs.tcp.time_wait, (unsigned long long)cs.tcp.retransmits,
		   (unsigned long long)cs.tcp.fast_retransmits, (unsigned long long)cs.tcp.rto);
	out_printf(o, "dns:      %llu over UDP, %llu over TCP; %llu answered here, %llu through the "
		      "exit, %llu failed\n",
		   (unsigned long long)cs.dns_udp, (unsigned long long)cs.dns_tcp,
		   (unsigned long long)cs.dns_local, (unsigned long long)cs.dns_forwarded,
		   (unsigned long long)cs.dns_servfail);
	out_printf(o, "fake-ip:  %zu used, %zu free, %zu pinned; %llu recycled, %llu refused\n", fs.used,
		   fs.slots - fs.used, fs.pinned, (unsigned long long)fs.recycled,
		   (unsigned long long)fs.exhausted);
	out_printf(o, "drops:    ");
	each_drop(o, &cs, false);
	out_printf(o, "\n");
}

size_t
status_format(const struct status_src *t, uint64_t now, bool json, char *buf, size_t cap)
{
	struct out o = { buf, cap, 0 };
	struct pool_stats ps;
	struct socks_in_stats ss = { 0 };
	char a[ADDR_STRLEN], h1[32], h2[32];

	pool_stats(t->pool, &ps);
	if (t->socks) {
		socks_in_stats(t->socks, &ss);
	}
	if (json) {
		out_printf(&o, "{\"heap_bytes\":%zu,\"tls_heap_bytes\":%zu,\"uptime_s\":%llu,"
			       "\"circuits\":{\"ready\":%zu,\"building\":%zu,"
			       "\"busy\":%zu,\"target\":%zu,\"built\":%llu,\"failed\":%llu},",
			   heap_in_use(), tls_heap_bytes(), (unsigned long long)(now - t->start_ms) / 1000,
			   ps.ready, ps.building,
			   ss.streams, ps.target, (unsigned long long)ps.built,
			   (unsigned long long)ps.failed);
		out_printf(&o, "\"streams\":{\"open\":%zu,\"waiting\":%zu,\"total\":%llu,\"refused\":%llu},"
			       "\"bytes\":{\"up\":%llu,\"down\":%llu},\"relays\":[",
			   ss.streams, ps.waiting, (unsigned long long)ss.total,
			   (unsigned long long)ss.failed, (unsigned long long)ss.bytes_up,
			   (unsigned long long)ss.bytes_down);
		for (size_t i = 0; i < t->cfg->n_relays; i++) {
			const struct tund_relay *r = &t->cfg->relays[i];
			const struct relay_health *hh = &t->paths->h[i];

			out_printf(&o, "%s{\"name\":", i ? "," : "");
			out_json_str(&o, r->name);
			out_printf(&o, ",\"address\":\"%s\",\"exit\":%s,\"ok\":%llu,\"failed\":%llu,"
				       "\"busy\":%llu,\"open\":%zu,\"avoided_ms\":%llu,\"last_error\":",
				   addr_port_fmt(&r->addr, r->port, a, sizeof(a)), r->exit ? "true" : "false",
				   (unsigned long long)hh->n_ok, (unsigned long long)hh->n_fail,
				   (unsigned long long)hh->n_busy, hh->open,
				   (unsigned long long)(hh->avoid_until_ms > now ? hh->avoid_until_ms - now : 0));
			out_json_str(&o, hh->last_error);
			out_printf(&o, "}");
		}
		out_printf(&o, "]");
		tun_json(&o, t);
		out_printf(&o, "}\n");
		return o.len;
	}
	out_printf(&o, "tund: up %llu s, %s of heap in use (%s of it by TLS)\n",
		   (unsigned long long)(now - t->start_ms) / 1000, human(heap_in_use(), h1, sizeof(h1)),
		   human(tls_heap_bytes(), h2, sizeof(h2)));
	out_printf(&o, "circuits: %zu ready, %zu building, %zu busy (pool target %zu; %llu built, "
		       "%llu failed)\n",
		   ps.ready, ps.building, ss.streams, ps.target, (unsigned long long)ps.built,
		   (unsigned long long)ps.failed);
	out_printf(&o, "streams:  %zu open, %zu waiting for a circuit, %llu in all, %llu refused\n",
		   ss.streams, ps.waiting, (unsigned long long)ss.total, (unsigned long long)ss.failed);
	out_printf(&o, "bytes:    %s up, %s down\n", human(ss.bytes_up, h1, sizeof(h1)),
		   human(ss.bytes_down, h2, sizeof(h2)));
	out_printf(&o, "relays:\n");
	for (size_t i = 0; i < t->cfg->n_relays; i++) {
		const struct tund_relay *r = &t->cfg->relays[i];
		const struct relay_health *hh = &t->paths->h[i];
		char state[48];

		if (hh->avoid_until_ms > now) {
			snprintf(state, sizeof(state), "avoided %.1f s",
				 (double)(hh->avoid_until_ms - now) / 1000);
		} else if (hh->n_ok == 0 && hh->n_fail == 0) {
			snprintf(state, sizeof(state), "untried");
		} else {
			snprintf(state, sizeof(state), "usable");
		}
		out_printf(&o, "  %-12s %-24s %-4s %-15s %zu open; ok %llu, failed %llu, busy %llu%s%s\n",
			   r->name, addr_port_fmt(&r->addr, r->port, a, sizeof(a)),
			   r->exit ? "exit" : "", state, hh->open, (unsigned long long)hh->n_ok,
			   (unsigned long long)hh->n_fail, (unsigned long long)hh->n_busy,
			   hh->last_error[0] ? ": " : "", hh->last_error);
	}
	tun_text(&o, t);
	return o.len;
}


#!/bin/bash
# SPDX-License-Identifier: MIT
#
# bench-load.sh: many streams at once, and many streams one after another,
# on topo.sh's topology (issue 7, point 5). Not part of CI: it takes about
# ten minutes, most of it the churn at tund's relay-rate.
#
#   client ──── r1 ──── r2 ──── r3 ──── inet
#   tund (tun0, socks 127.0.0.1:1080)   tests/net/tun-servers.py echo :8100
#   netns-scripts/load.py               on 203.0.113.80 and 2001:db8:ffff::80
#
# 1. BENCH_CONC (10,000) streams held open at once through the SOCKS5
#    entrance, each echoing its own tag, then through the TUN (the name
#    resolved by tund's DNS to a fake address). For each: how many opened
#    and echoed, the time to open them all, and heap in use, VmRSS and
#    descriptors of tund and each exitd before and while held; memory per
#    stream is (while - before) / streams.
# 2. BENCH_CHURN (100,000) short streams through the SOCKS5 entrance,
#    BENCH_CHURN_CONC (100) at a time: open, echo, close. Measured first.
#    Before (after a warm-up of 2,000 streams of the same kind, so that the
#    allocators hold their working size) and after (once tund has no stream open and its pool is back to
#    its target): descriptors, heap in use (tund's status, exitd's SIGUSR1
#    line) and VmRSS of tund and each exitd. Target: descriptors exactly
#    back, heap back within 64 KiB, VmRSS within 4 MiB or 10 % (both
#    daemons give freed memory back once a burst is over: src/heap.h); on
#    the mesh, the relays' descriptors and heap summed (the pool's circuits
#    move between relays as they are replaced).
#
# Configuration, stated because one circuit per stream (DESIGN section 9)
# makes N streams N connections to the guard: tund has relay-max
# BENCH_CONC + 256 (the default, 1024, would queue the rest, and streams
# wait at most twice build-timeout); each exitd has max-connections
# BENCH_CONC + 256 and lists the client's address as a peer (per-source
# limits are for strangers). tund's pool is held at 4 (pool-max 4: it does
# not grow with bursts, so that before and after compare the same pool).
# Everything else is the default: relay-rate 400 paces the builds, which is
# why 10,000 streams take about 25 s to open.
#
# Memory per stream: the heap figure is exact (malloc's bytes in use); VmRSS
# is what the kernel sees, and reads low where memory freed earlier is
# reused (the SOCKS5 entrance is measured first).
#
# Descriptors bound N: a relay holds two sockets per circuit, and so does
# tund's SOCKS5 entrance. When the hard RLIMIT_NOFILE (raised only with
# CAP_SYS_RESOURCE) leaves room for fewer than BENCH_CONC, N is what fits,
# and the summary says so: the figure is then not the one asked for.
#
# Every namespace gets net.ipv4.ip_local_port_range 1024 65535 and
# tcp_tw_reuse 1 (its own sysctls): 100,000 connections in a few minutes
# between the same addresses otherwise run out of ports in TIME_WAIT.
#
# BENCH_RELAYS=4 runs it all on topo.sh's mesh instead (TOPO_RELAYS=4:
# r1, r2 middles, r3, r4 exits, tund "hops 3"): no relay carries every
# circuit, so 10,000 streams through the TUN fit this machine's limit.
#
# Environment: BENCH_CONC, BENCH_CHURN, BENCH_CHURN_CONC, BENCH_RELAYS,
# BENCH_KEEP=1 (keep the directory with the logs). Needs root and make.
set -u
set -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# rss_kb and exitd_heap (an exitd's heap, from its SIGUSR1 line).
# shellcheck disable=SC1091
. "$ROOT/tests/net/lib.sh"
TOPO_SH=$ROOT/netns-scripts/topo.sh
TUND=$ROOT/build/tund
BENCH_CONC=${BENCH_CONC:-10000}
BENCH_CHURN=${BENCH_CHURN:-100000}
BENCH_CHURN_CONC=${BENCH_CHURN_CONC:-100}
ECHO_PORT=8100
SOCKS_PORT=1080

msg() { printf 'bench-load: %s\n' "$*" >&2; }
die() {
	msg "error: $*"
	exit 1
}
for v in BENCH_CONC BENCH_CHURN BENCH_CHURN_CONC; do
	case ${!v} in
	'' | *[!0-9]* | 0*) die "$v must be a positive whole number" ;;
	*) ;;
	esac
done
[ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
[ -x "$TUND" ] && [ -x "$ROOT/build/exitd" ] || die "build/tund or build/exitd is missing: run make"

BENCH_RELAYS=${BENCH_RELAYS:-3}
case $BENCH_RELAYS in
3) RELAY_NAMES="r1 r2 r3" ;;
4) RELAY_NAMES="r1 r2 r3 r4" ;;
*) die "BENCH_RELAYS must be 3 or 4" ;;
esac
PROCS="tund $RELAY_NAMES"

# What fits: a relay needs 2 descriptors per circuit plus its own (512
# kept back here), tund's SOCKS5 entrance 2 per client plus 256 kept back
# (tund/socks_in.c), its TUN 1 per connection. On the line every circuit
# crosses every relay; in the mesh (BENCH_RELAYS=4, hops 3) the busiest
# relay, an exit, carries 5/6 of them (half as the exit, a third of the
# rest as a middle), so N may be 6/5 of a relay's share, less 4 % for the
# randomness of the choice.
HARD=$(ulimit -Hn)
RELAY_FIT=$(((HARD - 512) / 2))
[ "$BENCH_RELAYS" = 3 ] || RELAY_FIT=$((RELAY_FIT * 6 / 5 * 96 / 100))
SOCKS_FIT=$(((HARD - 256) / 2 - 64))
fit() {
	local n=$BENCH_CONC
	[ "$n" -le "$RELAY_FIT" ] || n=$RELAY_FIT
	[ "$1" != socks ] || [ "$n" -le "$SOCKS_FIT" ] || n=$SOCKS_FIT
	echo "$n"
}
N_SOCKS=$(fit socks)
N_TUN=$(fit tun)
N=$N_TUN
[ "$N_SOCKS" -le "$N" ] || N=$N_SOCKS
MAXC=$((N + 256))
[ "$MAXC" -le $(((HARD - 64) / 2)) ] || MAXC=$(((HARD - 64) / 2))

BD=$(mktemp -d /tmp/bench-load.XXXXXX)
RUN=
PIDS=
cleanup() {
	local rc=$? p
	trap - EXIT INT TERM HUP
	set +e
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	[ -z "$RUN" ] || "$TOPO_SH" down "$RUN" >/dev/null || msg "topo.sh down $RUN failed"
	if [ "${BENCH_KEEP:-0}" = 1 ]; then msg "kept $BD"; else rm -rf -- "$BD"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

export TOPO_ID=bl$$ TOPO_BIG_MB=1 TOPO_RELAYS=$BENCH_RELAYS
export TOPO_EXITD_EXTRA="max-connections $MAXC
peer 192.0.2.1/32"
RUN=$("$TOPO_SH" up) || die "topo.sh up failed"
# shellcheck disable=SC1091
. "$RUN/env"
for ns in "$NS_CLIENT" "$NS_R1" "$NS_R2" "$NS_R3" ${NS_R4:+"$NS_R4"} "$NS_INET"; do
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1 ||
		die "sysctl in $ns"
done

ip netns exec "$NS_INET" python3 "$ROOT/tests/net/tun-servers.py" "$BD/servers.log" "$ECHO_PORT" 1 \
	"$WEB_IP" "$WEB_IP6" >"$BD/servers.out" 2>&1 &
PIDS="$PIDS $!"
for ((i = 0; i < 100; i++)); do
	grep -q ready "$BD/servers.out" && break
	sleep 0.1
done
grep -q ready "$BD/servers.out" || die "the echo server did not start: $(cat "$BD/servers.out")"

SOCK=$BD/tund.sock
cat >"$BD/tund.conf" <<-EOF
	relay r1 $R1_ADDR $R1_PIN
	relay r2 $R2_ADDR $R2_PIN
	relay r3 $R3_ADDR $R3_PIN exit
	$([ "$BENCH_RELAYS" = 4 ] && echo "relay r4 $R4_ADDR $R4_PIN exit")
	$([ "$BENCH_RELAYS" = 4 ] && echo "hops 3" || echo "path r1 r2 r3")
	relay-max $((N + 256))
	pool 4
	pool-max 4
	tun tun0
	socks 127.0.0.1:$SOCKS_PORT
	state $BD/fakeip.map
	control $SOCK
	log warn
EOF
ip netns exec "$NS_CLIENT" "$TUND" -c "$BD/tund.conf" 2>"$BD/tund.log" &
TPID=$!
PIDS="$TPID $PIDS"
# Up: the status socket answers and tun0 carries the route.
tund_up() {
	timeout 5 "$TUND" status -s "$SOCK" >/dev/null 2>&1 &&
		ip netns exec "$NS_CLIENT" ip route get "$WEB_IP" 2>/dev/null | grep -q ' dev tun0 '
}
for ((i = 0; i < 100; i++)); do
	tund_up && break
	kill -0 "$TPID" 2>/dev/null || break
	sleep 0.1
done
tund_up || die "tund did not start: $(tail -n 5 "$BD/tund.log")"

# js EXPR: a figure of tund's status --json (j is the object).
js() {
	timeout 10 "$TUND" status -s "$SOCK" --json 2>/dev/null |
		python3 -c "import json, sys; j = json.load(sys.stdin); print($1)"
}
# snap: "fds rss_kib heap_bytes" of each of $PROCS, on one line.
snap() {
	local p n v out=
	for n in $PROCS; do
		v=${n^^}_PID
		p=${!v:-$TPID}
		out="$out $(find "/proc/$p/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
		out="$out $(rss_kb "$p")"
		if [ "$n" = tund ]; then out="$out $(js 'j["heap_bytes"]')"; else out="$out $(exitd_heap "$p" "$RUN/$n.log" || echo 0)"; fi
	done
	echo "${out# }"
}
load() { ip netns exec "$NS_CLIENT" timeout 900 python3 "$ROOT/netns-scripts/load.py" "$@"; }
alive() { kill -0 "$TPID" 2>/dev/null || die "tund died: $(tail -n 5 "$BD/tund.log")"; }
# settle: until tund has no stream open or waiting and its pool is full (60 s
# at most), then 1.5 s more: the relays free empty buffers after 1 s idle.
settle() {
	local i
	for ((i = 0; i < 600; i++)); do
		if [ "$(js 'j["streams"]["open"] + j["streams"]["waiting"] + j["tun"]["streams"] + j["tun"]["dialing"]')" = 0 ] &&
			[ "$(js 'int(j["circuits"]["ready"] >= j["circuits"]["target"] and j["circuits"]["building"] == 0)')" = 1 ]; then
			sleep 1.5
			return 0
		fi
		sleep 0.1
	done
	msg "warning: tund did not settle in 60 s: $(js 'j["streams"], j["circuits"]')"
}

SUMMARY=()
# fds_of SNAP: its descriptor counts only.
fds_of() { awk '{ for (i = 1; i <= NF; i += 3) printf "%s ", $i }' <<<"$1"; }
# per_stream BEFORE DURING N: memory per stream for each process.
per_stream() {
	python3 - "$1" "$2" "$3" "$PROCS" <<-'EOF'
		import sys
		b, d, n = [int(x) for x in sys.argv[1].split()], [int(x) for x in sys.argv[2].split()], int(sys.argv[3])
		out = []
		for i, name in enumerate(sys.argv[4].split()):
		    f, r, h = 3 * i, 3 * i + 1, 3 * i + 2
		    out.append("%s heap %.1f KiB, VmRSS %.1f KiB (fds %d -> %d)" % (
		        name, (d[h] - b[h]) / 1024 / n, (d[r] - b[r]) / n, b[f], d[f]))
		print("; ".join(out))
	EOF
}

load "socks:127.0.0.1:$SOCKS_PORT" churn "$WEB_NAME" "$ECHO_PORT" 2000 "$BENCH_CHURN_CONC" 120 >"$BD/warm.out"
msg "warm-up: $(tail -n 1 "$BD/warm.out")"
alive

# --- 2. churn, first: its baseline follows a warm-up of the same shape
settle
before=$(snap)
ready0=$(js 'j["circuits"]["ready"]')
t0=$(date +%s)
load "socks:127.0.0.1:$SOCKS_PORT" churn "$WEB_NAME" "$ECHO_PORT" "$BENCH_CHURN" "$BENCH_CHURN_CONC" 850 >"$BD/churn.out" 2>&1
res=$(tail -n 1 "$BD/churn.out")
alive
settle
# The relays close their side a moment after tund, and the heap trim
# (src/heap.h) runs every 5 s: give them 12 s to get back.
for ((i = 0; i < 12; i++)); do
	sleep 1
	after=$(snap)
	[ "$(fds_of "$before")" = "$(fds_of "$after")" ] && [ "$i" -ge 6 ] && break
done
# On the mesh the pool's 4 circuits take new paths as they are replaced,
# so a relay's descriptors and heap move with them: there the relays'
# sums must come back (tund's own figures always).
verdict=$(python3 - "$before" "$after" "$PROCS" "$BENCH_RELAYS" <<-'EOF'
	import sys
	b, a = [int(x) for x in sys.argv[1].split()], [int(x) for x in sys.argv[2].split()]
	names, mesh = sys.argv[3].split(), sys.argv[4] == "4"
	out, ok = [], True
	for i, name in enumerate(names):
	    f, r, h = 3 * i, 3 * i + 1, 3 * i + 2
	    good = a[r] - b[r] <= max(4096, b[r] // 10)
	    if not (mesh and i > 0):
	        good = good and a[f] == b[f] and a[h] - b[h] <= 65536
	    ok = ok and good
	    out.append("%s fds %d -> %d, heap %d -> %d KiB, VmRSS %d -> %d KiB" % (
	        name, b[f], a[f], b[h] // 1024, a[h] // 1024, b[r], a[r]))
	if mesh:
	    fb, fa = sum(b[3 * i] for i in range(1, len(names))), sum(a[3 * i] for i in range(1, len(names)))
	    hb, ha = sum(b[3 * i + 2] for i in range(1, len(names))), sum(a[3 * i + 2] for i in range(1, len(names)))
	    ok = ok and fa == fb and ha - hb <= 65536
	    out.append("relays together: fds %d -> %d, heap %d -> %d KiB" % (fb, fa, hb // 1024, ha // 1024))
	print("; ".join(out) + (" (target met)" if ok else " (target MISSED)"))
EOF
)
line="$BENCH_CHURN short streams via socks, $BENCH_CHURN_CONC at a time, $(($(date +%s) - t0)) s: $res; pool ready $ready0 -> $(js 'j["circuits"]["ready"]'); $verdict"
msg "$line"
SUMMARY+=("$line")

# --- 1. N at once, each entrance (measured after the churn: see the top)
for ent in "socks:127.0.0.1:$SOCKS_PORT" tun; do
	if [ "$ent" = tun ]; then N=$N_TUN; else N=$N_SOCKS; fi
	NOTE=
	[ "$N" = "$BENCH_CONC" ] || NOTE=" (asked $BENCH_CONC: the hard descriptor limit is $HARD and cannot be raised without CAP_SYS_RESOURCE)"
	settle
	before=$(snap)
	rm -f "$BD/held"
	load "$ent" hold "$WEB_NAME" "$ECHO_PORT" "$N" 300 \
		"touch '$BD/held'; while [ -e '$BD/held' ]; do sleep 0.1; done; echo released" \
		>"$BD/hold.out" 2>&1 &
	LPID=$!
	PIDS="$LPID $PIDS"
	while [ ! -e "$BD/held" ] && kill -0 "$LPID" 2>/dev/null; do sleep 0.2; done
	# Held and idle: the relays free empty buffers after 1 s without traffic.
	sleep 1.5
	during=$(snap)
	st=$(js '"streams open %d, tun streams %d" % (j["streams"]["open"], j["tun"]["streams"])')
	rm -f "$BD/held"
	wait "$LPID"
	res=$(tail -n 1 "$BD/hold.out")
	alive
	line="$N at once via ${ent%%:*}$NOTE: $res; tund said $st; per stream: $(per_stream "$before" "$during" "$N")"
	msg "$line"
	SUMMARY+=("$line")
done

echo "== bench-load summary (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%s\n' "${SUMMARY[@]}"

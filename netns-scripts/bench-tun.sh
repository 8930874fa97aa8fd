#!/bin/bash
# SPDX-License-Identifier: MIT
#
# bench-tun.sh: what the transparent path costs. tund in the client
# namespace of topo.sh's topology owns the default route (tun tun0), answers
# DNS with fake addresses and terminates TCP in its own stack; each stream
# goes through r1, r2, r3. Baselines are measured in the same run: plain IP
# forwarding over the same namespaces, with tund stopped (while it runs its
# routes capture everything, so direct is measured in rounds of its own,
# before and after the tund rounds), and tund's own SOCKS5 entrance.
#
#   client ──── r1 ──── r2 ──── r3 ──── inet
#   192.0.2.1                           nginx 203.0.113.80 (/, /big)
#   tund tun0, socks 127.0.0.1:1080     dnsmasq 203.0.113.53 (*.w.example.test)
#   curl, iperf3 -c, wrk, python        iperf3 -s :5201, python :8000
#
#   tun:    curl http://www.example.test/ ─(fake address, tun0)─> tund ─> r1 ─> r2 ─> r3 ─> inet
#   socks:  curl --socks5-hostname 127.0.0.1:1080 ─> the same tund ─> ...
#   direct: curl http://203.0.113.80/ forwarded by the kernels of r1, r2, r3 (no tund)
#
# tund's configuration: path r1 r2 r3, pool 4, tun tun0 (MTU: the default,
# or tun-mtu M for figure 3), socks 127.0.0.1:1080, log warn.
#
# The figures (numbers as in the brief; measured in this order: 8, the direct
# round before, 1, 2, 9, 4, 6, 7, 3, the direct round after, 5):
#
# 1. GET /big (TOPO_BIG_MB MiB) by name, BENCH_RUNS times each: through the
#    TUN (curl http://www.example.test/big, no proxy) and through the same
#    tund's SOCKS5 entrance (alternating), and direct (curl
#    http://203.0.113.80/big, BENCH_RUNS in each direct round). curl's
#    %{speed_download}, status and size checked; once, untimed, the SHA-256
#    of /big through the TUN. Medians in Gbit/s; TUN/SOCKS (target >= 80 %),
#    TUN/direct, SOCKS/direct.
# 2. iperf3 (server "iperf3 -s -p 5201" in inet): "iperf3 -c www.example.test
#    -p 5201 -t BENCH_IPERF_SECS --json" through the TUN, upload and with -R
#    download, and to 203.0.113.80 in each direct round. The receiver's rate;
#    the bytes received must be > 0, at most those sent and at least half of
#    them (the rest is what was still in flight when the test stopped).
# 3. The default MTU: figure 1's TUN transfers and an iperf3 upload with
#    tun-mtu 1500, 9000 and 65000, tund restarted for each, in two passes
#    (1500 9000 65000 65000 9000 1500) so that drift hits them alike. The
#    winner and its margin; target: the default MTU (tun0's MTU in figure 1)
#    is the best, or within 5 % of the best, for /big.
# 4. Time to first byte of GET / by a NEW name each time:
#    curl -w %{time_starttransfer} http://nK.w.example.test/ with a fresh K,
#    so the application's own lookup is included (through the TUN tund
#    answers it with a fake address and the exit resolves the name; direct,
#    dnsmasq answers, cache-size 0). BENCH_TTFB requests each way (after 5
#    discarded), 20 ms apart so the pool refills. Median and p95 in ms, and
#    the medians of %{time_namelookup} and %{time_connect}. Target: TUN
#    median < 1 ms.
# 5. The same with TOPO_DELAY_MS=BENCH_DELAY_MS (default 10: four links,
#    80 ms round trip end to end) in a second topology, brought up after the
#    first is torn down, BENCH_TTFB_WAN requests each way, 300 ms apart.
#    Target: TUN median <= 130 ms; direct is about 245 ms (three round
#    trips: the lookup, the connect, the request).
#    Then, in the same topology, a burst: one curl --parallel with 200
#    requests of www.example.test and 60 of new names, all at once, direct
#    and through the TUN (tund's defaults and the relays': the topology
#    lists only relay links as peers). Pages that arrived and the wall
#    time each way; through the TUN also tund's refused streams, failed
#    builds and busy refusals, and the relays' refusals at admission.
#    Target: all 260 arrive, none of those counts above 0 (issue 7).
# 6. wrk -t2 -c200 -dBENCH_WRK_SECSs http://www.example.test/ through the TUN
#    and http://203.0.113.80/ direct: requests per second; target TUN >= 40 %
#    of direct; tund's "circuits:" status line after it, and the CPU of
#    tund, of each exitd and of the machine meanwhile (what bounds it).
# 7. New connections per second: wrk -t2 -cBENCH_CPS_CONNS
#    -dBENCH_CPS_SECSs -H 'Connection: close' (nginx closes each connection
#    after its response, wrk opens a new one). Counted, not assumed: through
#    the TUN by tund's "to names" counter, direct by the client namespace's
#    TCP ActiveOpens. Through the TUN also: circuits built and failed, the
#    pool's ready circuits and waiting streams sampled every 0.25 s, and the
#    CPU of tund and of each exitd (utime + stime from /proc/PID/stat); from
#    these a line saying what bounds the figure.
# 8. tund's VmRSS with BENCH_HOLD (1000) idle connections: a python client
#    in the client namespace resolves www.example.test (a fake address) and
#    opens them to a python server on 203.0.113.80:8000 in inet, each
#    sending "hello" and reading "ok", then holds them. Measured first, on a
#    fresh tund after one warm-up fetch (memory freed by the large transfers
#    would otherwise be reused and hide part of the cost). (after - before) /
#    BENCH_HOLD in KiB; target <= 32 KB. The pool grows with the burst; its
#    size before and after is shown (its circuits are in the figure). Also
#    from tund status --json: malloc's bytes in use per connection and the
#    part OpenSSL holds (tund counts OpenSSL's allocations), which is what
#    bounds the figure: a circuit is three TLS sessions.
# 9. What bounds TUN throughput: during an iperf3 -R transfer through the
#    TUN, the CPU of tund (user/sys), of each exitd and of the whole machine
#    over 3 s, and perf record -g -p <tund> for the same 3 s: the shares by
#    object (libcrypto, kernel, libc, tund) and the top symbols. Without a
#    working perf this says so and gives the CPU shares only.
#
# tund is checked after every measurement through it: alive, and its
# counters show the traffic went through it (a dead tund leaves no routes,
# and the traffic would go direct unnoticed). A figure whose tund died is
# measured once more with a fresh tund; every crash is reported with its
# exit status, the kernel's segfault line and the end of tund's log.
#
# The summary at the end has one line per figure, "name: value (target ...,
# met|MISSED)". Exit status: 0 when every measurement was made, whether or
# not the targets were met; non-zero when one failed (a wrong size, a dead
# tund twice, a timeout, ...) or a topology could not be built.
#
# Needs root, make (build/tund, build/exitd), curl, iperf3, wrk, python3;
# perf optional. Runs in about three minutes on this 2-core machine. Every
# figure competes with whatever else runs (the load average is printed at
# the start and in the summary): compare figures of one run only.
#
# Environment:
#   BENCH_RUNS=N        /big transfers of each kind, and per direct round (5)
#   BENCH_TTFB=N        requests of each kind for figure 4 (100)
#   BENCH_TTFB_WAN=N    requests of each kind for figure 5 (30)
#   BENCH_DELAY_MS=D    the delay per link for figure 5 (10)
#   BENCH_IPERF_SECS=N  iperf3 -t (5)
#   BENCH_WRK_SECS=N    wrk -d for figure 6 (10)
#   BENCH_CPS_SECS=N    wrk -d for figure 7 (5)
#   BENCH_CPS_CONNS=N   wrk -c for figure 7 (50)
#   BENCH_HOLD=N        connections held for figure 8 (1000)
#   BENCH_TIMEOUT=S     limit for any single transfer or step (120)
#   BENCH_KEEP=1        keep the bench's directory (logs, perf.data)
#   TOPO_BIG_MB=N       size of /big in MiB (256)
#   TUND=PATH           the tund binary (build/tund of this tree)
#   PERF=PATH           perf (perf from PATH)
#   and those of topo.sh (EXITD, TOPO_KEEP, ...).
#
# Safety: all of it happens inside the namespaces topo.sh makes for this run
# (nothing is added to the host's namespace); only processes started here
# are ever signalled, by their PID; both topologies are torn down on every
# exit (trap on EXIT, INT, TERM, HUP).

# Many figures' values arrive by sourcing $RES (put): not visible here.
# shellcheck disable=SC2154,SC2153,SC1090,SC2031,SC2015
set -eu
set -o pipefail
umask 022

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOPO_SH=$ROOT/netns-scripts/topo.sh
TUND=${TUND:-$ROOT/build/tund}
PERF=${PERF:-perf}
BENCH_RUNS=${BENCH_RUNS:-5}
BENCH_TTFB=${BENCH_TTFB:-100}
BENCH_TTFB_WAN=${BENCH_TTFB_WAN:-30}
BENCH_DELAY_MS=${BENCH_DELAY_MS:-10}
BENCH_IPERF_SECS=${BENCH_IPERF_SECS:-5}
BENCH_WRK_SECS=${BENCH_WRK_SECS:-10}
BENCH_CPS_SECS=${BENCH_CPS_SECS:-5}
BENCH_CPS_CONNS=${BENCH_CPS_CONNS:-50}
BENCH_HOLD=${BENCH_HOLD:-1000}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-120}
export TOPO_BIG_MB=${TOPO_BIG_MB:-256}
SOCKS_PORT=1080
IPERF_PORT=5201
HOLD_PORT=8000
POOL=4
WRK_CONNS=200
MTUS="1500 9000 65000"
TTFB_WARMUP=5
TTFB_PAUSE=0.02
WAN_WARMUP=2
WAN_PAUSE=0.3
PROF_SECS=3             # the CPU and perf window of figure 9

TARGET_TUN_SOCKS=80     # TUN/SOCKS throughput, per cent, at least
TARGET_TTFB_MS=1        # TUN first byte by a new name, median, ms, below
TARGET_WAN_TTFB_MS=130  # the same at 10 ms per link, at most
TARGET_WRK=40           # TUN/direct requests per second, per cent, at least
TARGET_KB=32            # tund RSS per idle connection, KiB, at most
MTU_SLACK=5             # the default MTU may be this many per cent below the best

say() { printf '%s\n' "$*"; }
msg() { printf 'bench-tun: %s\n' "$*" >&2; }
# In a unit (a figure's subshell) the reason is kept for the summary.
die() {
	msg "error: $*"
	if [ -n "${WHY_FILE:-}" ]; then
		printf '%s\n' "$*" >>"$WHY_FILE"
	fi
	exit 1
}

for v in BENCH_RUNS BENCH_TTFB BENCH_TTFB_WAN BENCH_IPERF_SECS BENCH_WRK_SECS BENCH_CPS_SECS \
	BENCH_CPS_CONNS BENCH_HOLD BENCH_TIMEOUT TOPO_BIG_MB; do
	case ${!v} in
	'' | *[!0-9]* | 0*) die "$v must be a positive whole number, not '${!v}'" ;;
	*) ;;
	esac
done
[[ $BENCH_DELAY_MS =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "BENCH_DELAY_MS must be a number of ms"
[ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
[ -x "$TUND" ] || die "$TUND is missing: run make"
[ -x "${EXITD:-$ROOT/build/exitd}" ] || die "${EXITD:-$ROOT/build/exitd} is missing: run make"
for c in ip ss curl iperf3 wrk python3 timeout awk sort sha256sum getconf; do
	command -v "$c" >/dev/null || die "$c is not installed (make deps)"
done
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)

# ---------------------------------------------------------------- cleanup

BENCH_DIR=      # ours (mktemp): results, logs, the python helpers, perf data
RUN_DIRS=       # topologies up (topo.sh down on exit)
UP_PID=         # topo.sh up, while it runs
CUR_PID=        # the step (or the figure's subshell) being waited for
BG_PIDS=        # long-running processes of ours (tund; in a figure: servers)
WHY_FILE=       # set in a figure's subshell only

# TERM, then KILL after 5 s; only our own children, by PID.
stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		# A zombie child counts as gone; wait reaps it below.
		[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" != Z ] || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$? p d
	trap - EXIT INT TERM HUP
	set +e
	exec 8>&- 9>&-
	for p in $CUR_PID $BG_PIDS; do
		stop_pid "$p"
	done
	if [ -n "$UP_PID" ]; then
		# topo.sh up tears down what it made when it is stopped.
		stop_pid "$UP_PID"
	fi
	for d in $RUN_DIRS; do
		[ -d "$d" ] || continue
		"$TOPO_SH" down "$d" || msg "topo.sh down $d failed"
	done
	if [ -n "$BENCH_DIR" ] && [ -d "$BENCH_DIR" ]; then
		if [ "${BENCH_KEEP:-0}" = 1 ]; then
			msg "kept $BENCH_DIR (BENCH_KEEP=1)"
		else
			rm -rf -- "$BENCH_DIR"
		fi
	fi
	[ "$rc" = 0 ] || msg "failed (exit $rc)"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# run IN OUT ERR CMD...: CMD in the background (a signal interrupts wait at
# once, while bash runs a trap only between foreground commands) under
# timeout, with those files; returns its status (124: timed out).
run() {
	local in=$1 out=$2 err=$3 rc=0
	shift 3
	timeout "$BENCH_TIMEOUT" "$@" <"$in" >"$out" 2>"$err" 8>&- 9>&- &
	CUR_PID=$!
	wait "$CUR_PID" || rc=$?
	CUR_PID=
	return "$rc"
}

bg_add() { BG_PIDS="$BG_PIDS $1"; }
bg_del() {
	local p left=
	for p in $BG_PIDS; do
		[ "$p" = "$1" ] || left="$left $p"
	done
	BG_PIDS=$left
}

# Alive, and not a zombie waiting for us.
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

in_client() { ip netns exec "$NS_CLIENT" "$@"; }
in_inet() { ip netns exec "$NS_INET" "$@"; }

median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit 1
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The P-th percentile (nearest rank) of the numbers on stdin.
pctl() {
	sort -g | awk -v p="$1" '{ v[NR] = $1 } END {
		if (NR == 0) exit 1
		i = int((NR * p + 99) / 100); if (i < 1) i = 1
		print v[i] }'
}

# "met" or "MISSED": verdict VALUE OP LIMIT, OP one of < <= >=.
verdict() {
	awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN {
		ok = (op == "<") ? a < b : (op == "<=") ? a <= b : a >= b
		print ok ? "met" : "MISSED" }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b * 100 : 0) }'; }
range() { sort -g "$1" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }
col() { awk -v n="$1" '{ print $n }' "$2"; }
f2() { printf '%.2f' "$1"; }
f3() { printf '%.3f' "$1"; }

# A TCP listener on PORT (any address) in NS within SECONDS; fails early if PID dies.
wait_port() {
	local ns=$1 port=$2 pid=$3 secs=$4 i
	for ((i = 0; i < secs * 20; i++)); do
		if ip netns exec "$ns" ss -Hltn 2>/dev/null | awk -v p=":$port" \
			'substr($4, length($4) - length(p) + 1) == p { f = 1 } END { exit !f }'; then
			return 0
		fi
		alive "$pid" || return 1
		sleep 0.05
	done
	return 1
}

# Results of a figure's subshell reach the main shell through this file.
put() { printf '%s=%q\n' "$1" "$2" >>"$RES"; }

# ---------------------------------------------------------------- tund

# tund_conf FILE [MTU]
tund_conf() {
	{
		echo "# written by bench-tun.sh"
		echo "relay r1 $R1_ADDR $R1_PIN"
		echo "relay r2 $R2_ADDR $R2_PIN"
		echo "relay r3 $R3_ADDR $R3_PIN exit"
		echo "path r1 r2 r3"
		echo "pool $POOL"
		echo "tun tun0"
		[ -z "${2:-}" ] || echo "tun-mtu $2"
		echo "socks 127.0.0.1:$SOCKS_PORT"
		echo "state $BENCH_DIR/fakeip.map"
		echo "control $TUND_SOCK"
		echo "log warn"
	} >"$1"
}

# tstatus [FILE]: tund's text status into FILE (default $BENCH_DIR/status).
# Fails unless the answer is a status: "tund status" exits 0 with nothing
# printed when tund closes the connection without answering (as it does
# while it dies).
tstatus() {
	local f=${1:-$BENCH_DIR/status}
	timeout 10 "$TUND" status -s "$TUND_SOCK" >"$f" 2>"$f.err" </dev/null 8>&- 9>&- || return 1
	if ! head -n 1 "$f" | grep -q '^tund: up '; then
		echo "tund status printed no status ($(wc -c <"$f") bytes)" >>"$f.err"
		return 1
	fi
}
# tund's heap and OpenSSL's share of it, in bytes ("HEAP TLS"), from --json.
theap() {
	timeout 10 "$TUND" status --json -s "$TUND_SOCK" </dev/null 8>&- 9>&- 2>/dev/null |
		sed -nE 's/^\{"heap_bytes":([0-9]+),"tls_heap_bytes":([0-9]+),.*/\1 \2/p'
}
# Fields of a status file.
st_ready() { awk '$1 == "circuits:" { print $2 }' "$1"; }
st_built() { awk '$1 == "circuits:" { for (i = 1; i < NF; i++) if ($(i + 1) ~ /^built/) print $i }' "$1"; }
st_failed() { awk '$1 == "circuits:" { for (i = 1; i < NF; i++) if ($(i + 1) ~ /^failed/) print $i }' "$1"; }
st_waiting() { awk '$1 == "streams:" { for (i = 1; i < NF; i++) if ($(i + 1) == "waiting") print $i }' "$1"; }
# TCP connections the TUN took: to names plus to addresses.
st_conns() {
	awk '$1 == "tun:" { for (i = 1; i < NF; i++) if ($(i + 1) == "to") n += $i } END { print n + 0 }' "$1"
}
st_open() { awk '$1 == "tun:" { print $2 }' "$1"; }
st_dns_local() {
	awk '$1 == "dns:" { for (i = 1; i < NF; i++) if ($(i + 1) == "answered") print $i }' "$1"
}
st_circuits() { awk '$1 == "circuits:"' "$1"; }

TUND_PID=
TUND_CONF=      # what tund_ensure starts
TUND_LOG=       # its stderr
TUND_STARTS=0
POOL_SECS=10    # how long a fresh tund's pool may take to fill
CRASHES=()      # one line each: when, how
CRASH_FILE=     # the evidence, appended

# Does the client namespace route 203.0.113.80 to tun0?
routes_to_tun() { in_client ip route get "$WEB_IP" 2>/dev/null | grep -q ' dev tun0 '; }

# tund_start CONF [POOL_SECS]: a tund in the client namespace (ip netns exec
# execs, so $! is tund itself); returns when its SOCKS5 port listens, tun0
# carries the route and the pool holds its circuits. Returns 1 on failure.
tund_start() {
	local conf=$1 secs=${2:-10} i ready
	TUND_STARTS=$((TUND_STARTS + 1))
	TUND_LOG=$BENCH_DIR/tund.$TUND_STARTS.log
	ip netns exec "$NS_CLIENT" "$TUND" -c "$conf" </dev/null >/dev/null 2>"$TUND_LOG" 8>&- 9>&- &
	TUND_PID=$!
	bg_add "$TUND_PID"
	if ! wait_port "$NS_CLIENT" "$SOCKS_PORT" "$TUND_PID" 10; then
		msg "tund -c $conf does not listen on 127.0.0.1:$SOCKS_PORT:"
		sed 's/^/  /' "$TUND_LOG" >&2
		tund_died start || tund_stop
		return 1
	fi
	for ((i = 0; ; i++)); do
		if routes_to_tun; then
			break
		fi
		if [ "$i" -ge 100 ] || ! alive "$TUND_PID"; then
			msg "tund runs, but $WEB_IP is not routed to tun0: $(in_client ip route get "$WEB_IP" 2>&1)"
			tund_died start || tund_stop
			return 1
		fi
		sleep 0.05
	done
	for ((i = 0; ; i++)); do
		ready=0
		if tstatus; then
			ready=$(st_ready "$BENCH_DIR/status")
		fi
		[ "${ready:-0}" -lt "$POOL" ] || break
		if [ "$i" -ge $((secs * 20)) ] || ! alive "$TUND_PID"; then
			msg "tund's pool does not fill in $secs s: $(head -n 2 "$BENCH_DIR/status" 2>/dev/null | tr '\n' ' ')"
			tund_died start || tund_stop
			return 1
		fi
		sleep 0.05
	done
}

# tund_stop: SIGTERM (tund exits 0 on it), SIGKILL after 5 s; then tun0 and
# its routes must be gone. A non-zero status is reported, not fatal.
tund_stop() {
	local pid=$TUND_PID rc=0 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 500; i++)); do
		alive "$pid" || break
		sleep 0.01
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" || rc=$?
	bg_del "$pid"
	TUND_PID=
	if [ "$rc" != 0 ]; then
		msg "warning: tund (pid $pid) exited with status $rc on SIGTERM"
		CRASHES+=("tund $pid exited with status $rc on SIGTERM (log $TUND_LOG)")
	fi
}

# tund_died WHEN: if tund is dead, reaps it and records the crash with its
# evidence (status, the kernel's line, the end of its log); 1 when alive.
tund_died() {
	local pid=$TUND_PID rc=0 sig='' line
	[ -n "$pid" ] || return 1
	! alive "$pid" || return 1
	wait "$pid" || rc=$?
	bg_del "$pid"
	TUND_PID=
	[ "$rc" -le 128 ] || sig=" (signal $((rc - 128)))"
	line=$(dmesg 2>/dev/null | grep -F "tund[$pid]:" | tail -n 1 | sed 's/^\[[ 0-9.]*\] //') || line=
	CRASHES+=("tund $pid died $1: exit status $rc$sig${line:+; kernel: $line}")
	msg "tund (pid $pid) died $1: exit status $rc$sig"
	{
		echo "== tund $pid died $1: exit status $rc$sig"
		[ -z "$line" ] || echo "kernel: $line"
		echo "last lines of $TUND_LOG:"
		tail -n 10 "$TUND_LOG" | sed 's/^/  /'
	} >>"$CRASH_FILE"
	return 0
}

# Until tund runs with TUND_CONF (started afresh when it died).
tund_ensure() {
	tund_died "between figures" || true
	[ -n "$TUND_PID" ] || tund_start "$TUND_CONF" "$POOL_SECS"
}

# Direct measurements need tund gone: no tun0, 203.0.113.80 by r1.
direct_check() {
	local r
	tund_died "before a direct round" || tund_stop
	r=$(in_client ip route get "$WEB_IP" 2>&1) || true
	case $r in
	*" dev tun0 "* | *unreachable* | '') die "tund is stopped but $WEB_IP is not routed directly: $r" ;;
	*" dev r1 "*) ;;
	*) die "$WEB_IP is routed oddly with tund stopped: $r" ;;
	esac
}

# ---------------------------------------------------------------- figures' subshells

UNIT_FAILS=()

# unit NAME FUNC ARGS...: FUNC in a subshell of its own, whose processes
# are stopped when it ends however it ends; its results come back via put.
UNIT_N=0
unit() {
	local name=$1 rc=0 why main=$RES ures
	shift
	UNIT_N=$((UNIT_N + 1))
	ures=$BENCH_DIR/results.$UNIT_N
	: >"$BENCH_DIR/why"
	: >"$ures"
	(
		# Its results count only if it succeeds.
		# shellcheck disable=SC2030
		RES=$ures
		WHY_FILE=$BENCH_DIR/why
		# shellcheck disable=SC2030
		BG_PIDS='' CUR_PID=''
		trap unit_cleanup EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM HUP
		"$@"
	) </dev/null 8>&- 9>&- &
	CUR_PID=$!
	wait "$CUR_PID" || rc=$?
	CUR_PID=
	if [ "$rc" = 0 ]; then
		cat "$ures" >>"$main"
		# shellcheck source=/dev/null
		. "$main"
		return 0
	fi
	why=$(tail -n 1 "$BENCH_DIR/why")
	UNIT_WHY="$name: ${why:-exit $rc}"
	return 1
}

unit_cleanup() {
	local rc=$? p
	trap - EXIT INT TERM HUP
	set +e
	exec 8>&- 9>&-
	for p in $CUR_PID $BG_PIDS; do
		stop_pid "$p"
	done
	exit "$rc"
}

# A figure not measured: it shows in the summary, and the exit status.
unit_failed() { UNIT_FAILS+=("$1"); }

# tun_unit NAME FUNC ARGS...: a figure through tund (TUND_CONF). When tund
# died during it, once more with a fresh tund. SETTLE=S: seconds to wait
# after it before looking whether tund survived.
SETTLE=0
tun_unit() {
	local name=$1 try i
	shift
	for try in 1 2; do
		if ! tund_ensure; then
			unit_failed "$name: tund did not start"
			return 1
		fi
		if unit "$name" "$@"; then
			# Figures that close many connections at the end: give a tund
			# that dies of it the time to, so the crash is counted here.
			[ "$SETTLE" = 0 ] || sleep "$SETTLE"
			tund_died "after: $name" || true
			return 0
		fi
		# A dying tund may take a moment (its core dump) to be gone.
		for ((i = 0; i < 20; i++)); do
			if ! alive "$TUND_PID" || tstatus; then
				break
			fi
			sleep 0.1
		done
		if alive "$TUND_PID" && ! tstatus; then
			msg "$name: tund (pid $TUND_PID) runs but does not answer its status: stopping it"
			CRASHES+=("tund $TUND_PID stopped answering its status during: $name")
			tund_stop
		elif ! tund_died "during: $name"; then
			unit_failed "$UNIT_WHY"
			return 1
		fi
		if [ "$try" = 1 ]; then
			msg "$name: tund died; measuring it once more with a fresh tund"
		else
			unit_failed "$UNIT_WHY (tund died, twice)"
		fi
	done
	return 1
}

# Inside a figure: tund still there, and it carried at least N more
# connections than BEFORE (a status file).
check_tund() {
	local what=$1 before=$2 n=$3 got a b
	alive "$TUND_PID" || die "$what: tund (pid $TUND_PID) died"
	tstatus "$BENCH_DIR/status.after" || die "$what: tund status failed: $(cat "$BENCH_DIR/status.after.err")"
	alive "$TUND_PID" || die "$what: tund (pid $TUND_PID) died"
	a=$(st_conns "$BENCH_DIR/status.after")
	b=$(st_conns "$before")
	got=$((a - b))
	if [ "$got" -lt "$n" ]; then
		cp "$before" "$BENCH_DIR/check-failed.$BASHPID.before"
		cp "$BENCH_DIR/status.after" "$BENCH_DIR/check-failed.$BASHPID.after"
		die "$what: tund's TUN took $got connections ($b before, $a after; $(head -n 1 "$BENCH_DIR/status.after")), fewer than $n: not through the TUN?"
	fi
}

# ---------------------------------------------------------------- measuring

# curl_big WHAT CURL_ARGS...: GET of /big; RATE in Gbit/s, or dies.
curl_big() {
	local what=$1 out=$BENCH_DIR/curl.out err=$BENCH_DIR/curl.err code size speed rc=0
	shift
	run /dev/null "$out" "$err" ip netns exec "$NS_CLIENT" curl -sS -o /dev/null \
		-w '%{http_code} %{size_download} %{speed_download}\n' "$@" || rc=$?
	[ "$rc" = 0 ] || die "$what: curl exit $rc$([ "$rc" != 124 ] || echo " (timed out after $BENCH_TIMEOUT s)"): $(tr '\n' ' ' <"$err")"
	read -r code size speed <"$out" || true
	[ "${code:-}" = 200 ] && [ "${size:-}" = "$BIG_BYTES" ] || \
		die "$what: HTTP ${code:-?}, ${size:-?} bytes; wanted 200 and $BIG_BYTES bytes"
	RATE=$(awk -v s="$speed" 'BEGIN { printf "%.3f", s * 8 / 1e9 }')
	[ "$RATE" != 0.000 ] || die "$what: no rate measured"
}

# iperf_srv: iperf3 -s -p 5201 in inet, for this figure.
iperf_srv() {
	ip netns exec "$NS_INET" iperf3 -s -p "$IPERF_PORT" </dev/null >"$BENCH_DIR/iperf-s.log" 2>&1 8>&- 9>&- &
	IPERF_SRV=$!
	bg_add "$IPERF_SRV"
	wait_port "$NS_INET" "$IPERF_PORT" "$IPERF_SRV" 10 || die "iperf3 -s does not listen: $(cat "$BENCH_DIR/iperf-s.log")"
}

# iperf WHAT HOST SECS [-R]: GBPS (the receiver's rate) and IPERF_LINE.
iperf() {
	local what=$1 host=$2 secs=$3 j=$BENCH_DIR/iperf.json rc=0 sent recv rsecs bps
	shift 3
	run /dev/null "$j" "$BENCH_DIR/iperf.err" ip netns exec "$NS_CLIENT" iperf3 -c "$host" -p "$IPERF_PORT" \
		-t "$secs" --json "$@" || rc=$?
	read -r sent recv rsecs bps < <(python3 - "$j" <<-'EOF' 2>>"$BENCH_DIR/iperf.err"
		import json, sys
		try:
		    d = json.load(open(sys.argv[1]))
		except ValueError:
		    print("0 0 0 0"); sys.exit(0)
		if "error" in d:
		    sys.stderr.write("iperf3: %s\n" % d["error"]); print("0 0 0 0"); sys.exit(0)
		e = d.get("end", {})
		s, r = e.get("sum_sent", {}), e.get("sum_received", {})
		print(s.get("bytes", 0), r.get("bytes", 0), r.get("seconds", 0), r.get("bits_per_second", 0))
	EOF
	) || true
	[ "$rc" = 0 ] || die "$what: iperf3 exit $rc: $(tr '\n' ' ' <"$BENCH_DIR/iperf.err" | cut -c1-300)"
	awk -v s="${sent:-0}" -v r="${recv:-0}" 'BEGIN { exit !(r > 0 && r <= s && r >= s / 2) }' ||
		die "$what: iperf3 sent ${sent:-?} bytes and received ${recv:-?}: $(tr '\n' ' ' <"$BENCH_DIR/iperf.err" | cut -c1-300)"
	GBPS=$(awk -v b="$bps" 'BEGIN { printf "%.3f", b / 1e9 }')
	IPERF_BYTES=$recv
	IPERF_SECS=$rsecs
	IPERF_LINE="$sent bytes sent, $recv received in $(printf '%.1f' "$rsecs") s"
}

# wrk_run WHAT SECS HOOK WRK_ARGS...: wrk -dSECSs; WRK_RPS, WRK_REQS,
# WRK_SECS, WRK_ERRS. HOOK (a function, or :) runs shortly before the end,
# while wrk's connections are still there.
wrk_run() {
	local what=$1 secs=$2 hook=$3 out=$BENCH_DIR/wrk.out rc=0
	shift 3
	timeout "$BENCH_TIMEOUT" ip netns exec "$NS_CLIENT" wrk -d"${secs}s" "$@" \
		</dev/null >"$out" 2>"$BENCH_DIR/wrk.err" 8>&- 9>&- &
	CUR_PID=$!
	if [ "$hook" != : ]; then
		sleep "$(awk -v s="$secs" 'BEGIN { print (s > 1.5 ? s - 0.7 : s * 0.6) }')"
		"$hook"
	fi
	wait "$CUR_PID" || rc=$?
	CUR_PID=
	[ "$rc" = 0 ] || die "$what: wrk exit $rc: $(tr '\n' ' ' <"$BENCH_DIR/wrk.err")"
	WRK_RPS=$(awk '$1 == "Requests/sec:" { print $2 }' "$out")
	WRK_REQS=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$out")
	WRK_SECS=$(awk '$2 == "requests" && $3 == "in" { sub(/s,$/, "", $4); print $4 }' "$out")
	WRK_ERRS=$(awk '/Socket errors:/ { sub(/^ *Socket errors: */, ""); print }' "$out")
	if [ -z "$WRK_RPS" ] || [ "${WRK_REQS:-0}" -le 0 ]; then
		die "$what: wrk made no requests: $(tr '\n' ' ' <"$out")"
	fi
	! grep -q 'Non-2xx' "$out" || die "$what: $(grep 'Non-2xx' "$out")"
}

# check_conns WHAT BEFORE AFTER N: the TUN took at least N connections
# between two status files.
check_conns() {
	local what=$1 a b got
	a=$(st_conns "$3")
	b=$(st_conns "$2")
	got=$((a - b))
	[ "$got" -ge "$4" ] ||
		die "$what: tund's TUN took $got connections ($b before, $a after), fewer than $4: not through the TUN?"
}

# The hooks: tund's status while wrk runs (tund alive, counters), and the
# CPU then. A tund that dies as wrk closes its connections afterwards does
# not undo a measurement; one that dies before does (its routes go with it,
# and the rest would go direct).
mid_wrk() {
	alive "$TUND_PID" || die "tund (pid $TUND_PID) died while wrk ran"
	tstatus "$BENCH_DIR/status.mid" || die "tund does not answer while wrk runs: $(cat "$BENCH_DIR/status.mid.err")"
}
mid_cps() {
	cpu_snap "$BENCH_DIR/cpu.cps1"
	mid_wrk
}

# ttfb WHAT FILE URL [CURL_ARGS...]: one GET of the page; appends
# "starttransfer namelookup connect" in ms to FILE, or dies.
ttfb() {
	local what=$1 file=$2 url=$3 out=$BENCH_DIR/ttfb.out err=$BENCH_DIR/ttfb.err rc=0 code size nl tc ts
	shift 3
	run /dev/null "$out" "$err" ip netns exec "$NS_CLIENT" curl -sS -o /dev/null \
		-w '%{http_code} %{size_download} %{time_namelookup} %{time_connect} %{time_starttransfer}\n' \
		"$@" "$url" || rc=$?
	[ "$rc" = 0 ] || die "$what ($url): curl exit $rc: $(tr '\n' ' ' <"$err")"
	read -r code size nl tc ts <"$out" || true
	[ "${code:-}" = 200 ] && [ "${size:-}" = "$PAGE_BYTES" ] ||
		die "$what ($url): HTTP ${code:-?}, ${size:-?} bytes; wanted 200 and $PAGE_BYTES"
	awk -v s="$ts" -v n="$nl" -v c="$tc" 'BEGIN { printf "%.3f %.3f %.3f\n", s * 1000, n * 1000, c * 1000 }' >>"$file"
}

# ttfb_series KEY N WARMUP PAUSE PREFIX: N fresh names PREFIX<K>.w.example.test
# (K unique in the run), results as TTFB_{MED,P95,NL,CONN}_KEY.
ttfb_series() {
	local key=$1 n=$2 warm=$3 pause=$4 prefix=$5 i f=$BENCH_DIR/ttfb-$1.ms out
	: >"$f"
	for ((i = 0; i < warm + n; i++)); do
		out=$f
		[ "$i" -ge "$warm" ] || out=/dev/null
		ttfb "$key" "$out" "http://$prefix$BASHPID-$i.w.example.test/"
		sleep "$pause"
	done
	put "TTFB_MED_$key" "$(f3 "$(col 1 "$f" | median)")"
	put "TTFB_P95_$key" "$(f3 "$(col 1 "$f" | pctl 95)")"
	put "TTFB_NL_$key" "$(f3 "$(col 2 "$f" | median)")"
	put "TTFB_CONN_$key" "$(f3 "$(col 3 "$f" | median)")"
}

# CPU: cpu_snap FILE: "label ticks" of tund and the relays, "sys busy total"
# of the machine, "t seconds".
cpu_snap() {
	{
		local l p
		for l in tund r1 r2 r3; do
			case $l in
			tund) p=$TUND_PID ;;
			r1) p=$R1_PID ;;
			r2) p=$R2_PID ;;
			r3) p=$R3_PID ;;
			esac
			# utime, stime: fields 14, 15 (12, 13 after "pid (comm) ").
			awk -v l="$l" '{ sub(/^.*\) /, ""); print l, $12, $13 }' "/proc/$p/stat" 2>/dev/null || echo "$l 0 0"
		done
		awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print "sys", t - $5 - $6, t }' /proc/stat
		echo "t $(date +%s.%N)"
	} >"$1"
}

# cpu_diff A B: "label pct_user pct_sys pct" per process, % of one core, and
# "sys pct" of one core (the machine has NCPU * 100).
cpu_diff() {
	awk -v hz="$HZ" -v n="$NCPU" 'FNR == NR { a[$1] = $2; b[$1] = $3; next }
		$1 == "t" { wall = $2 - a["t"]; next }
		$1 == "sys" { sb = $2 - a["sys"]; st = $3 - b["sys"]; next }
		{ u[$1] = $2 - a[$1]; s[$1] = $3 - b[$1]; order[++k] = $1 }
		END {
			for (i = 1; i <= k; i++) { l = order[i]
				printf "%s %.0f %.0f %.0f\n", l, u[l] / hz / wall * 100, s[l] / hz / wall * 100,
					(u[l] + s[l]) / hz / wall * 100 }
			printf "sys %.0f\n", (st > 0 ? sb / st * n * 100 : 0)
		}' "$1" "$2"
}

# cpu_line DIFF: "tund 95 % (user 60, sys 35), r1 40 %, ..., machine 190 % of 200 %".
cpu_line() {
	awk -v n="$NCPU" '$1 == "tund" { printf "tund %d %% (user %d, sys %d)", $4, $2, $3; sum += $4; next }
		$1 == "sys" { m = $2; next }
		{ printf ", %s exitd %d %%", $1, $4; sum += $4 }
		END { printf "; the machine %d %% of %d %% (the rest, %d %%: the kernel'\''s softirq work, the test tools, other users)", m, n * 100, (m > sum ? m - sum : 0) }' "$1"
}

cpu_of() { awk -v l="$1" '$1 == l { print $NF }' "$2"; }
cpu_relays() { awk '$1 ~ /^r[0-9]$/ { s += $NF } END { print s + 0 }' "$1"; }

# cpu_bound TUND SYS RELAYS (% of one core): what the CPU figures say.
cpu_bound() {
	if [ "$1" -ge 90 ]; then
		echo "tund's CPU: $1 % of one core (tund is single-threaded; the machine $2 % of $((NCPU * 100)) %)"
	elif [ "$2" -ge $((NCPU * 85)) ]; then
		echo "CPU: the machine's $NCPU cores are busy ($2 % of $((NCPU * 100)) %): tund $1 %, the three exitds $3 %, the rest ($(($2 - $1 - $3 > 0 ? $2 - $1 - $3 : 0)) %) the kernel's softirq work, the test tools and other users"
	else
		echo "no CPU saturated (tund $1 %, the exitds $3 %, the machine $2 % of $((NCPU * 100)) %)"
	fi
}

# perf_summary DATA PREFIX: PREFIX.dso, the shares by object (top 6), and
# PREFIX.sym, the top symbols; those of a library without symbols (libcrypto
# here) are bare addresses, summed as one "[no symbols]" line per library.
perf_summary() {
	"$PERF" report -i "$1" --stdio --no-children --sort dso -g none 2>/dev/null |
		awk '!/^#/ && NF >= 2 && $1 ~ /%$/ { print $1, $2 }' | head -n 6 >"$2.dso" || true
	"$PERF" report -i "$1" --stdio --no-children --sort dso,sym -g none 2>/dev/null |
		awk '!/^#/ && $1 ~ /%$/ { p = $1; sub(/%$/, "", p); dso = $2; $1 = $2 = $3 = ""; sym = substr($0, 4)
			if (sym ~ /^0x[0-9a-f]+$/) { nosym[dso] += p; next }
			printf "%6.2f%%  %-20s %s\n", p, dso, sym }
			END { for (d in nosym) printf "%6.2f%%  %-20s [no symbols, summed]\n", nosym[d], d }' |
		sort -rn | head -n 12 >"$2.sym" || true
}
dso_line() { awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }' "$1"; }

# ---------------------------------------------------------------- figure bodies

# 8: tund's memory with BENCH_HOLD idle connections, on a fresh tund.
fig_mem() {
	local rss0 rss1 heap0 heap1 line t0 hold_pid srv_pid fifo=$BENCH_DIR/hold.fifo
	[ "$(cat "/proc/$TUND_PID/comm")" = tund ] || die "pid $TUND_PID is not tund"
	# The warm-up: the page by name through the TUN, once.
	run /dev/null "$BENCH_DIR/page-tun.out" "$BENCH_DIR/page-tun.err" ip netns exec "$NS_CLIENT" curl -sS -f "http://$WEB_NAME/" ||
		die "the page through the TUN: $(cat "$BENCH_DIR/page-tun.err")"
	cmp -s "$BENCH_DIR/page-tun.out" "$BENCH_DIR/page-direct.out" || die "the page through the TUN differs from the direct one"
	ip netns exec "$NS_INET" python3 "$BENCH_DIR/hold-server.py" "$WEB_IP" "$HOLD_PORT" </dev/null \
		>"$BENCH_DIR/hold-server.out" 2>&1 &
	srv_pid=$!
	bg_add "$srv_pid"
	wait_port "$NS_INET" "$HOLD_PORT" "$srv_pid" 10 || die "the hold server does not listen: $(cat "$BENCH_DIR/hold-server.out")"
	sleep 0.5
	tstatus "$BENCH_DIR/status.mem0" || die "tund status failed"
	heap0=$(theap)
	[ -n "$heap0" ] || die "tund status --json gave no heap figures"
	rss0=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$TUND_PID/status")
	rm -f "$fifo"
	mkfifo "$fifo"
	exec 8<>"$fifo"
	ip netns exec "$NS_CLIENT" python3 "$BENCH_DIR/hold-client.py" "$WEB_NAME" "$HOLD_PORT" "$BENCH_HOLD" "$BENCH_TIMEOUT" \
		<"$fifo" >"$BENCH_DIR/hold.out" 2>"$BENCH_DIR/hold.err" 8>&- &
	hold_pid=$!
	bg_add "$hold_pid"
	t0=$SECONDS
	while [ ! -s "$BENCH_DIR/hold.out" ]; do
		alive "$hold_pid" || die "the hold client exited early: $(tail -n 3 "$BENCH_DIR/hold.err" | tr '\n' ' ')"
		[ $((SECONDS - t0)) -le $((BENCH_TIMEOUT + 5)) ] || die "the hold client printed nothing in $BENCH_TIMEOUT s"
		sleep 0.1
	done
	sleep 0.2
	line=$(head -n 1 "$BENCH_DIR/hold.out")
	case $line in
	"open=$BENCH_HOLD failed=0 "*) ;;
	*) die "hold client: '$line', wanted open=$BENCH_HOLD failed=0" ;;
	esac
	# The last replies have just arrived: let tund settle.
	sleep 1
	alive "$TUND_PID" || die "tund died with $BENCH_HOLD connections open"
	rss1=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$TUND_PID/status")
	tstatus "$BENCH_DIR/status.mem1" || die "tund status failed"
	heap1=$(theap)
	[ -n "$heap1" ] || die "tund status --json gave no heap figures"
	put MEM_RSS0 "$rss0"
	# malloc's bytes in use per connection, and OpenSSL's part of them.
	put MEM_HEAP_KB "$(awk -v a="${heap1% *}" -v b="${heap0% *}" -v n="$BENCH_HOLD" 'BEGIN { printf "%.1f", (a - b) / n / 1024 }')"
	put MEM_TLS_KB "$(awk -v a="${heap1#* }" -v b="${heap0#* }" -v n="$BENCH_HOLD" 'BEGIN { printf "%.1f", (a - b) / n / 1024 }')"
	put MEM_RSS1 "$rss1"
	put MEM_KB "$(awk -v a="$rss1" -v b="$rss0" -v n="$BENCH_HOLD" 'BEGIN { printf "%.1f", (a - b) / n }')"
	put MEM_LINE "$line"
	put MEM_OPEN "$(st_open "$BENCH_DIR/status.mem1")"
	put MEM_POOL0 "$(st_ready "$BENCH_DIR/status.mem0")"
	put MEM_POOL1 "$(st_ready "$BENCH_DIR/status.mem1")"
	put MEM_BUILT "$(($(st_built "$BENCH_DIR/status.mem1") - $(st_built "$BENCH_DIR/status.mem0")))"
	# The end of its stdin: the client closes them all and exits.
	exec 8>&-
	t0=$SECONDS
	while alive "$hold_pid"; do
		[ $((SECONDS - t0)) -lt 30 ] || die "the hold client did not exit within 30 s of the end of its stdin"
		sleep 0.1
	done
	wait "$hold_pid" || true
	bg_del "$hold_pid"
	# Until tund has closed them (or died doing so: the caller sees that).
	for ((t0 = 0; t0 < 100; t0++)); do
		alive "$TUND_PID" || break
		tstatus "$BENCH_DIR/status.mem2" || break
		[ "$(st_open "$BENCH_DIR/status.mem2")" != 0 ] || break
		sleep 0.1
	done
}

# A direct round: /big, iperf3 both ways, and in the first round also the
# small-page figures (wrk, new connections, first byte). tund is stopped.
fig_direct() {
	local round=$1 i f=$BENCH_DIR/rates-direct-$1 a0 a1
	: >"$f"
	printf 'direct round %s: /big' "$round"
	for ((i = 0; i < BENCH_RUNS; i++)); do
		curl_big "direct /big" "http://$WEB_IP/big"
		echo "$RATE" >>"$f"
		printf ' %s' "$RATE"
	done
	printf ' Gbit/s\n'
	iperf_srv
	iperf "direct iperf3 upload" "$WEB_IP" "$BENCH_IPERF_SECS"
	put "IPERF_UP_direct_$round" "$GBPS"
	say "direct round $round: iperf3 upload $GBPS Gbit/s ($IPERF_LINE)"
	iperf "direct iperf3 download" "$WEB_IP" "$BENCH_IPERF_SECS" -R
	put "IPERF_DOWN_direct_$round" "$GBPS"
	say "direct round $round: iperf3 download (-R) $GBPS Gbit/s ($IPERF_LINE)"
	[ "$round" = before ] || return 0

	wrk_run "direct wrk" "$BENCH_WRK_SECS" : -t2 -c"$WRK_CONNS" "http://$WEB_IP/"
	put WRK_direct "$WRK_RPS"
	say "direct: wrk -c$WRK_CONNS: $WRK_RPS requests/s ($WRK_REQS in $WRK_SECS s${WRK_ERRS:+; socket errors: $WRK_ERRS})"

	a0=$(active_opens)
	wrk_run "direct wrk, Connection: close" "$BENCH_CPS_SECS" : -t2 -c"$BENCH_CPS_CONNS" \
		-H 'Connection: close' "http://$WEB_IP/"
	a1=$(active_opens)
	put CPS_direct "$(awk -v n="$((a1 - a0))" -v s="$WRK_SECS" 'BEGIN { printf "%.0f", n / s }')"
	put CPS_RPS_direct "$WRK_RPS"
	say "direct: new connections: $((a1 - a0)) in $WRK_SECS s (TCP ActiveOpens); wrk: $WRK_RPS requests/s${WRK_ERRS:+ (socket errors: $WRK_ERRS)}"

	ttfb_series direct "$BENCH_TTFB" "$TTFB_WARMUP" "$TTFB_PAUSE" d
	. "$RES"
	say "direct: first byte by a new name: median $TTFB_MED_direct ms, p95 $TTFB_P95_direct ms" \
		"(medians: namelookup $TTFB_NL_direct, connect $TTFB_CONN_direct)"
}

# TCP ActiveOpens of the client namespace.
active_opens() {
	in_client awk '$1 == "Tcp:" { if (!h) { for (i = 2; i <= NF; i++) if ($i == "ActiveOpens") c = i; h = 1 } else print $c }' /proc/net/snmp
}

# 1: /big through the TUN and through tund's SOCKS5 entrance, alternating.
fig_big() {
	local i k kind sum f
	put DEFAULT_MTU "$(in_client cat /sys/class/net/tun0/mtu)"
	# Untimed: the bytes of /big must arrive intact through the TUN.
	tstatus "$BENCH_DIR/status.big0" || die "tund status failed"
	run /dev/null "$BENCH_DIR/sha.out" "$BENCH_DIR/sha.err" ip netns exec "$NS_CLIENT" \
		bash -c 'curl -sS "$1" | sha256sum' _ "http://$WEB_NAME/big" ||
		die "/big through the TUN: $(cat "$BENCH_DIR/sha.err")"
	sum=$(cut -d' ' -f1 "$BENCH_DIR/sha.out")
	[ "$sum" = "$BIG_SHA256" ] || die "/big through the TUN arrived corrupted: SHA-256 $sum, not $BIG_SHA256"
	: >"$BENCH_DIR/rates-tun"
	: >"$BENCH_DIR/rates-socks"
	for ((i = 0; i < BENCH_RUNS; i++)); do
		printf 'run %d:' "$((i + 1))"
		for k in 0 1; do
			kind=tun
			[ $(((i + k) % 2)) = 0 ] || kind=socks
			if [ "$kind" = tun ]; then
				curl_big "TUN /big" "http://$WEB_NAME/big"
			else
				curl_big "SOCKS5 /big" --socks5-hostname "127.0.0.1:$SOCKS_PORT" "http://$WEB_NAME/big"
			fi
			echo "$RATE" >>"$BENCH_DIR/rates-$kind"
			printf '  %s %s' "$kind" "$RATE"
		done
		printf ' Gbit/s\n'
	done
	# The TUN ones (and the checksum's) went through the TUN, not around it.
	check_tund "/big through the TUN" "$BENCH_DIR/status.big0" $((BENCH_RUNS + 1))
	for f in tun socks; do
		put "BIG_$f" "$(median <"$BENCH_DIR/rates-$f")"
		put "BIG_RANGE_$f" "$(range "$BENCH_DIR/rates-$f")"
	done
}

# 2: iperf3 through the TUN, both ways.
fig_iperf() {
	tstatus "$BENCH_DIR/status.ip0" || die "tund status failed"
	iperf_srv
	iperf "TUN iperf3 upload" "$WEB_NAME" "$BENCH_IPERF_SECS"
	put IPERF_UP_tun "$GBPS"
	say "TUN: iperf3 upload $GBPS Gbit/s ($IPERF_LINE)"
	iperf "TUN iperf3 download" "$WEB_NAME" "$BENCH_IPERF_SECS" -R
	put IPERF_DOWN_tun "$GBPS"
	say "TUN: iperf3 download (-R) $GBPS Gbit/s ($IPERF_LINE)"
	check_tund "iperf3 through the TUN" "$BENCH_DIR/status.ip0" 4
}

# 9: CPU shares and perf during an iperf3 -R transfer through the TUN.
fig_prof() {
	local j=$BENCH_DIR/prof.json ip_pid rc=0 perf_rc=0 d=$BENCH_DIR/perf.data
	tstatus "$BENCH_DIR/status.pr0" || die "tund status failed"
	iperf_srv
	ip netns exec "$NS_CLIENT" iperf3 -c "$WEB_NAME" -p "$IPERF_PORT" -t $((PROF_SECS + 3)) --json -R \
		</dev/null >"$j" 2>"$BENCH_DIR/prof.err" &
	ip_pid=$!
	bg_add "$ip_pid"
	sleep 1.5
	alive "$ip_pid" || die "iperf3 for the profile ended early: $(cat "$BENCH_DIR/prof.err")"
	cpu_snap "$BENCH_DIR/cpu.pr0"
	run /dev/null "$BENCH_DIR/perf.out" "$BENCH_DIR/perf.err" \
		"$PERF" record -g -o "$d" -p "$TUND_PID" -- sleep "$PROF_SECS" || perf_rc=$?
	cpu_snap "$BENCH_DIR/cpu.pr1"
	wait "$ip_pid" || rc=$?
	bg_del "$ip_pid"
	[ "$rc" = 0 ] || die "iperf3 for the profile: exit $rc: $(cat "$BENCH_DIR/prof.err")"
	cpu_diff "$BENCH_DIR/cpu.pr0" "$BENCH_DIR/cpu.pr1" >"$BENCH_DIR/cpu.prof"
	put PROF_CPU "$(cpu_line "$BENCH_DIR/cpu.prof")"
	put PROF_TUND "$(cpu_of tund "$BENCH_DIR/cpu.prof")"
	put PROF_SYS "$(cpu_of sys "$BENCH_DIR/cpu.prof")"
	put PROF_RELAYS "$(cpu_relays "$BENCH_DIR/cpu.prof")"
	put PROF_RATE "$(python3 -c 'import json, sys; print("%.3f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))' "$j" 2>/dev/null || echo '?')"
	check_tund "iperf3 for the profile" "$BENCH_DIR/status.pr0" 2
	if [ "$perf_rc" != 0 ] || [ ! -s "$d" ]; then
		put PERF_OK 0
		put PERF_WHY "perf record failed (exit $perf_rc): $(grep -v '^$' "$BENCH_DIR/perf.err" | head -n 2 | tr '\n' ' ')"
		return 0
	fi
	perf_summary "$d" "$BENCH_DIR/perf"
	[ -s "$BENCH_DIR/perf.dso" ] || { put PERF_OK 0; put PERF_WHY "perf report printed nothing"; return 0; }
	put PERF_OK 1
	put PERF_DSO "$(dso_line "$BENCH_DIR/perf.dso")"
	put PERF_SAMPLES "$(grep -o '[0-9]* samples' "$BENCH_DIR/perf.err" | head -n 1)"
}

# 4: first byte by a new name through the TUN.
fig_ttfb() {
	tstatus "$BENCH_DIR/status.tt0" || die "tund status failed"
	ttfb_series tun "$BENCH_TTFB" "$TTFB_WARMUP" "$TTFB_PAUSE" n
	check_tund "first byte through the TUN" "$BENCH_DIR/status.tt0" "$BENCH_TTFB"
	put TTFB_DNS_tun "$(($(st_dns_local "$BENCH_DIR/status.after") - $(st_dns_local "$BENCH_DIR/status.tt0")))"
}

# 6: wrk -c200 through the TUN.
fig_wrk() {
	local after
	tstatus "$BENCH_DIR/status.wrk0" || die "tund status failed"
	cpu_snap "$BENCH_DIR/cpu.wrk0"
	wrk_run "TUN wrk" "$BENCH_WRK_SECS" mid_wrk -t2 -c"$WRK_CONNS" "http://$WEB_NAME/"
	cpu_snap "$BENCH_DIR/cpu.wrk1"
	cpu_diff "$BENCH_DIR/cpu.wrk0" "$BENCH_DIR/cpu.wrk1" >"$BENCH_DIR/cpu.wrk"
	put WRK_CPU "$(cpu_line "$BENCH_DIR/cpu.wrk")"
	put WRK_BOUND "$(cpu_bound "$(cpu_of tund "$BENCH_DIR/cpu.wrk")" "$(cpu_of sys "$BENCH_DIR/cpu.wrk")" \
		"$(cpu_relays "$BENCH_DIR/cpu.wrk")")"
	check_conns "wrk through the TUN" "$BENCH_DIR/status.wrk0" "$BENCH_DIR/status.mid" "$WRK_CONNS"
	if alive "$TUND_PID" && tstatus "$BENCH_DIR/status.wrk1"; then
		after=$(st_circuits "$BENCH_DIR/status.wrk1")
	else
		after="(none: tund died as wrk closed its connections; while it ran: $(st_circuits "$BENCH_DIR/status.mid"))"
	fi
	put WRK_tun "$WRK_RPS"
	put WRK_ERRS_tun "$WRK_ERRS"
	put WRK_REQS_tun "$WRK_REQS"
	put WRK_CIRCUITS "$after"
	say "TUN: wrk -c$WRK_CONNS: $WRK_RPS requests/s ($WRK_REQS in $WRK_SECS s${WRK_ERRS:+; socket errors: $WRK_ERRS})"
	say "TUN: after it, $after"
}

# 7: new connections per second through the TUN, and what bounds it.
fig_cps() {
	local s0=$BENCH_DIR/status.cps0 s1=$BENCH_DIR/status.cps1 samp=$BENCH_DIR/cps.samples sp pp perf_rc n built failed secs
	tstatus "$s0" || die "tund status failed"
	: >"$samp"
	# The pool and the streams waiting for it, every 0.25 s.
	(
		while :; do
			if tstatus "$BENCH_DIR/status.samp"; then
				echo "$(st_ready "$BENCH_DIR/status.samp") $(st_waiting "$BENCH_DIR/status.samp")" >>"$samp"
			fi
			sleep 0.25
		done
	) </dev/null >/dev/null 2>&1 &
	sp=$!
	bg_add "$sp"
	# Where tund's time goes meanwhile (perf optional: a failure only loses this).
	"$PERF" record -g -o "$BENCH_DIR/perf-cps.data" -p "$TUND_PID" -- sleep $((BENCH_CPS_SECS > 2 ? BENCH_CPS_SECS - 1 : 1)) \
		</dev/null >/dev/null 2>"$BENCH_DIR/perf-cps.err" &
	pp=$!
	bg_add "$pp"
	cpu_snap "$BENCH_DIR/cpu.cps0"
	wrk_run "TUN wrk, Connection: close" "$BENCH_CPS_SECS" mid_cps -t2 -c"$BENCH_CPS_CONNS" \
		-H 'Connection: close' "http://$WEB_NAME/"
	stop_pid "$sp"
	bg_del "$sp"
	perf_rc=0
	wait "$pp" || perf_rc=$?
	bg_del "$pp"
	if [ "$perf_rc" = 0 ] && [ -s "$BENCH_DIR/perf-cps.data" ]; then
		perf_summary "$BENCH_DIR/perf-cps.data" "$BENCH_DIR/perf-cps"
		[ ! -s "$BENCH_DIR/perf-cps.dso" ] || put CPS_PERF_DSO "$(dso_line "$BENCH_DIR/perf-cps.dso")"
	fi
	# Counted up to the status taken while wrk still ran, over that time.
	cp "$BENCH_DIR/status.mid" "$s1"
	check_conns "new connections through the TUN" "$s0" "$s1" 1
	n=$(($(st_conns "$s1") - $(st_conns "$s0")))
	built=$(($(st_built "$s1") - $(st_built "$s0")))
	failed=$(($(st_failed "$s1") - $(st_failed "$s0")))
	secs=$(awk '$1 == "t" { t[FILENAME] = $2 } END { printf "%.2f", t[ARGV[2]] - t[ARGV[1]] }' \
		"$BENCH_DIR/cpu.cps0" "$BENCH_DIR/cpu.cps1")
	cpu_diff "$BENCH_DIR/cpu.cps0" "$BENCH_DIR/cpu.cps1" >"$BENCH_DIR/cpu.cps"
	put CPS_tun "$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')"
	put CPS_RPS_tun "$WRK_RPS"
	put CPS_BUILDS "$(awk -v n="$built" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')"
	put CPS_FAILED "$failed"
	put CPS_ERRS "$WRK_ERRS"
	put CPS_CPU "$(cpu_line "$BENCH_DIR/cpu.cps")"
	put CPS_TUND "$(cpu_of tund "$BENCH_DIR/cpu.cps")"
	put CPS_SYS "$(cpu_of sys "$BENCH_DIR/cpu.cps")"
	put CPS_RELAYS "$(cpu_relays "$BENCH_DIR/cpu.cps")"
	put CPS_EMPTY "$(awk '{ t++; if ($1 == 0) e++ } END { printf "%.0f", (t ? e / t * 100 : 0) }' "$samp")"
	put CPS_WAIT "$(awk '{ t++; s += $2; if ($2 > m) m = $2 } END { printf "%.1f, at most %d", (t ? s / t : 0), m }' "$samp")"
	put CPS_SAMPLES "$(wc -l <"$samp")"
	put CPS_POOL "$(st_circuits "$s1")"
	say "TUN: new connections: $n in $secs s (tund's to-names counter, while wrk ran); wrk: $WRK_RPS requests/s${WRK_ERRS:+ (socket errors: $WRK_ERRS)}"
}

# 3: one pass of one MTU: /big N times and an iperf3 upload.
fig_mtu() {
	local m=$1 pass=$2 n=$3 secs=$4 i f=$BENCH_DIR/rates-mtu-$1-$2 got
	got=$(in_client cat /sys/class/net/tun0/mtu)
	[ "$got" = "$m" ] || die "tun0 has MTU $got, not $m"
	tstatus "$BENCH_DIR/status.mtu0" || die "tund status failed"
	: >"$f"
	printf 'MTU %s, pass %s: /big' "$m" "$pass"
	for ((i = 0; i < n; i++)); do
		curl_big "TUN /big, MTU $m" "http://$WEB_NAME/big"
		echo "$RATE" >>"$f"
		printf ' %s' "$RATE"
	done
	iperf_srv
	iperf "TUN iperf3 upload, MTU $m" "$WEB_NAME" "$secs"
	echo "$IPERF_BYTES $IPERF_SECS" >"$BENCH_DIR/iperf-mtu-$m-$pass"
	printf ' Gbit/s; iperf3 upload %s Gbit/s\n' "$GBPS"
	check_tund "MTU $m" "$BENCH_DIR/status.mtu0" $((n + 2))
}

# 5, direct: first byte by new names in the delayed topology.
fig_wan_direct() {
	ttfb_series wan_direct "$BENCH_TTFB_WAN" "$WAN_WARMUP" "$WAN_PAUSE" wd
}

fig_wan_tun() {
	tstatus "$BENCH_DIR/status.wan0" || die "tund status failed"
	ttfb_series wan_tun "$BENCH_TTFB_WAN" "$WAN_WARMUP" "$WAN_PAUSE" wt
	check_tund "first byte through the TUN, delayed links" "$BENCH_DIR/status.wan0" "$BENCH_TTFB_WAN"
	put WAN_CIRCUITS "$(st_circuits "$BENCH_DIR/status.after")"
}

# 5b: the burst. fig_wan_burst KEY: 200 requests of one name and 60 of new
# names in one curl --parallel; puts BURST_OK_KEY and BURST_MS_KEY.
fig_wan_burst() {
	local key=$1 args=() i t0 t1 ok
	for i in $(seq 1 200); do
		args+=(-o /dev/null "http://$WEB_NAME/")
	done
	for i in $(seq 1 60); do
		args+=(-o /dev/null "http://b$key$BASHPID-$i.w.example.test/")
	done
	t0=$(date +%s%N)
	in_client curl -sS --max-time 60 --parallel --parallel-immediate --parallel-max 260 \
		-w '%{http_code}\n' "${args[@]}" >"$BENCH_DIR/burst-$key.codes" 2>"$BENCH_DIR/burst-$key.err" || true
	t1=$(date +%s%N)
	ok=$(grep -c '^200$' "$BENCH_DIR/burst-$key.codes" || true)
	put "BURST_OK_$key" "$ok"
	put "BURST_MS_$key" "$(((t1 - t0) / 1000000))"
	[ "$ok" = 260 ] || die "burst $key: $ok of 260 pages ($(head -c 200 "$BENCH_DIR/burst-$key.err"))"
}

fig_wan_burst_tun() {
	fig_wan_burst tun
	put BURST_TUND "$(timeout 10 "$TUND" status --json -s "$TUND_SOCK" </dev/null 8>&- 9>&- 2>/dev/null |
		python3 -c 'import json, sys
j = json.load(sys.stdin)
print("%d refused streams, %d failed builds, %d busy refusals" % (j["streams"]["refused"],
      j["circuits"]["failed"], sum(r["busy"] for r in j["relays"])))' 2>&1)"
	put BURST_RELAYS "$(cat "$BENCH_DIR"/wan/r[1-3].log 2>/dev/null | grep -c 'refusing a connection' || true)"
}

# ---------------------------------------------------------------- helpers' files

write_python() {
	cat >"$BENCH_DIR/hold-server.py" <<-'EOF'
		# hold-server.py ADDR PORT: accepts TCP connections and holds them;
		# "hello\n" received is answered with "ok\n". Runs until signalled.
		import resource, selectors, socket, sys

		soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
		resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
		addr, port = sys.argv[1], int(sys.argv[2])
		ls = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
		ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		ls.bind((addr, port))
		ls.listen(4096)
		ls.setblocking(False)
		sel = selectors.DefaultSelector()
		sel.register(ls, selectors.EVENT_READ)
		while True:
		    for key, _ in sel.select():
		        s = key.fileobj
		        if s is ls:
		            try:
		                c, _ = ls.accept()
		            except (BlockingIOError, InterruptedError):
		                continue
		            c.setblocking(False)
		            sel.register(c, selectors.EVENT_READ)
		            continue
		        try:
		            d = s.recv(4096)
		        except (BlockingIOError, InterruptedError):
		            continue
		        except OSError:
		            d = b""
		        if not d:
		            sel.unregister(s)
		            s.close()
		        elif b"hello\n" in d:
		            s.send(b"ok\n")
	EOF
	cat >"$BENCH_DIR/hold-client.py" <<-'EOF'
		# hold-client.py NAME PORT N TIMEOUT: resolves NAME once, opens N TCP
		# connections to it (at most 64 being set up at a time), sends "hello\n"
		# on each and waits for "ok\n". Prints "open=N failed=F addr=A secs=S"
		# once each has answered or failed (or TIMEOUT s passed), then holds
		# them until its stdin ends.
		import errno, resource, selectors, socket, sys, time

		soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
		resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
		name, port, n, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
		fam, typ, proto, _, sa = socket.getaddrinfo(name, port, 0, socket.SOCK_STREAM)[0]
		sel = selectors.DefaultSelector()
		t0 = time.monotonic()
		started = ok = failed = 0
		pending = {}
		held = []
		while ok + failed < n and time.monotonic() - t0 < limit:
		    while started < n and len(pending) < 64:
		        s = socket.socket(fam, typ, proto)
		        s.setblocking(False)
		        e = s.connect_ex(sa)
		        started += 1
		        if e not in (0, errno.EINPROGRESS):
		            failed += 1
		            s.close()
		            continue
		        pending[s] = "connecting"
		        sel.register(s, selectors.EVENT_WRITE)
		    for key, _ in sel.select(timeout=0.5):
		        s = key.fileobj
		        if pending[s] == "connecting":
		            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
		                try:
		                    s.send(b"hello\n")
		                    pending[s] = "waiting"
		                    sel.modify(s, selectors.EVENT_READ)
		                    continue
		                except OSError:
		                    pass
		        else:
		            try:
		                d = s.recv(16)
		            except (BlockingIOError, InterruptedError):
		                continue
		            except OSError:
		                d = b""
		            if d.startswith(b"ok"):
		                sel.unregister(s)
		                del pending[s]
		                held.append(s)
		                ok += 1
		                continue
		        sel.unregister(s)
		        del pending[s]
		        s.close()
		        failed += 1
		failed = n - ok
		print("open=%d failed=%d addr=%s secs=%.1f" % (ok, failed, sa[0], time.monotonic() - t0), flush=True)
		sys.stdin.read()
	EOF
}

# topo_up DIR [DELAY_MS]: topo.sh up into DIR; sources its env.
topo_up() {
	local dir=$1 rc=0
	RUN_DIRS="$RUN_DIRS $dir"
	if [ -n "${2:-}" ]; then
		TOPO_DELAY_MS=$2 "$TOPO_SH" up "$dir" >/dev/null &
	else
		(unset TOPO_DELAY_MS; exec "$TOPO_SH" up "$dir") >/dev/null &
	fi
	UP_PID=$!
	wait "$UP_PID" || rc=$?
	UP_PID=
	[ "$rc" = 0 ] && [ -f "$dir/env" ] || die "topo.sh up failed (exit $rc)"
	# shellcheck source=/dev/null
	. "$dir/env"
	[ "$HAVE_EXITD" = 1 ] || die "the topology has no relays (exitd not built?)"
}

topo_down() {
	local dir=$1 d left=
	"$TOPO_SH" down "$dir" || msg "topo.sh down $dir failed"
	for d in $RUN_DIRS; do
		[ "$d" = "$dir" ] || left="$left $d"
	done
	RUN_DIRS=$left
}

# ================================================================ the run

T_START=$SECONDS
say "bench-tun: $NCPU CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at start;" \
	"/big $TOPO_BIG_MB MiB, $BENCH_RUNS runs, $BENCH_TTFB first-byte requests"
if awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v n="$NCPU" 'BEGIN { exit !(l > n / 2) }'; then
	msg "warning: the machine is busy; the figures will be low and vary"
fi

BENCH_DIR=$(mktemp -d /tmp/bench-tun.XXXXXX)
chmod 755 "$BENCH_DIR"   # nginx's workers (nobody) read the topology's www below it
RES=$BENCH_DIR/results
CRASH_FILE=$BENCH_DIR/crashes
TUND_SOCK=$BENCH_DIR/tund.sock
: >"$RES"
: >"$CRASH_FILE"
write_python

topo_up "$BENCH_DIR/topo"
BIG_BYTES=$((BIG_MB * 1024 * 1024))
run /dev/null "$BENCH_DIR/page-direct.out" "$BENCH_DIR/page-direct.err" ip netns exec "$NS_CLIENT" curl -sS -f "http://$WEB_IP/" ||
	die "the page could not be fetched directly: $(cat "$BENCH_DIR/page-direct.err")"
grep -q "$WEB_MARKER" "$BENCH_DIR/page-direct.out" || die "the page fetched directly is not the test page"
PAGE_BYTES=$(stat -c %s "$BENCH_DIR/page-direct.out")
if in_client ip link show tun0 >/dev/null 2>&1; then
	die "the fresh client namespace already has a tun0"
fi

DEF_CONF=$BENCH_DIR/tund.conf
tund_conf "$DEF_CONF"

# -------- 8: memory, on a fresh tund
say ""
say "== tund memory: $BENCH_HOLD idle connections through the TUN (fresh tund)"
TUND_CONF=$DEF_CONF
if SETTLE=1 tun_unit "memory" fig_mem; then
	say "tund VmRSS $MEM_RSS0 KiB -> $MEM_RSS1 KiB: $MEM_KB KiB per connection; heap $MEM_HEAP_KB KiB" \
		"per connection, $MEM_TLS_KB KiB of it held by OpenSSL (three TLS sessions a circuit) ($MEM_LINE;" \
		"$MEM_OPEN streams open; pool $MEM_POOL0 -> $MEM_POOL1 ready circuits, $MEM_BUILT built)"
fi
tund_died "closing the held connections" || tund_stop

# -------- direct, before
say ""
say "== direct (plain IP forwarding, tund stopped), before the tund rounds"
direct_check
unit "direct before" fig_direct before || unit_failed "$UNIT_WHY"

# -------- tund, default configuration: 1, 2, 9, 4, 6, 7
say ""
say "== through tund (tun tun0 and socks 127.0.0.1:$SOCKS_PORT, default MTU)"
TUND_CONF=$DEF_CONF
tun_unit "throughput through the TUN and SOCKS5" fig_big || true
tun_unit "iperf3 through the TUN" fig_iperf || true
tun_unit "profile of a TUN transfer" fig_prof || true
tun_unit "first byte through the TUN" fig_ttfb || true
if [ -n "${TTFB_MED_tun:-}" ]; then
	say "TUN: first byte by a new name: median $TTFB_MED_tun ms, p95 $TTFB_P95_tun ms" \
		"(medians: namelookup $TTFB_NL_tun, connect $TTFB_CONN_tun; $TTFB_DNS_tun DNS answers by tund)"
fi
SETTLE=1 tun_unit "wrk through the TUN" fig_wrk || true
SETTLE=1 tun_unit "new connections through the TUN" fig_cps || true
tund_died "after the default-MTU figures" || tund_stop

# -------- 3: MTU, two passes
say ""
say "== TUN MTU: /big and iperf3 upload with tun-mtu $MTUS, each tund fresh"
MTU_FAIL=
pass_n=$(((BENCH_RUNS + 1) / 2))
pass_secs=$(((BENCH_IPERF_SECS + 1) / 2))
# shellcheck disable=SC2086
for p in 1 2; do
	order=$MTUS
	[ "$p" = 1 ] || order=$(printf '%s\n' $MTUS | tac | tr '\n' ' ')
	n=$pass_n
	[ "$p" = 1 ] || n=$((BENCH_RUNS - pass_n))
	for m in $order; do
		tund_died "before MTU $m" || tund_stop
		tund_conf "$BENCH_DIR/tund-mtu$m.conf" "$m"
		TUND_CONF=$BENCH_DIR/tund-mtu$m.conf
		tun_unit "MTU $m, pass $p" fig_mtu "$m" "$p" "$n" "$pass_secs" || MTU_FAIL=1
	done
done
tund_died "after the MTU figures" || tund_stop

# -------- direct, after
say ""
say "== direct (tund stopped), after the tund rounds"
direct_check
unit "direct after" fig_direct after || unit_failed "$UNIT_WHY"

topo_down "$BENCH_DIR/topo"

# -------- 5: first byte with delayed links
say ""
say "== first byte by a new name, $BENCH_DELAY_MS ms per link (a second topology)"
topo_up "$BENCH_DIR/wan" "$BENCH_DELAY_MS"
run /dev/null "$BENCH_DIR/page-wan.out" "$BENCH_DIR/page-wan.err" ip netns exec "$NS_CLIENT" curl -sS -f "http://$WEB_IP/" ||
	die "the page could not be fetched directly over the delayed links"
cmp -s "$BENCH_DIR/page-wan.out" "$BENCH_DIR/page-direct.out" || die "the delayed topology's page differs"
unit "first byte direct, delayed links" fig_wan_direct || unit_failed "$UNIT_WHY"
unit "a burst direct, delayed links" fig_wan_burst direct || unit_failed "$UNIT_WHY"
WAN_CONF=$BENCH_DIR/tund-wan.conf
tund_conf "$WAN_CONF"
TUND_CONF=$WAN_CONF
# The pool's circuits take three round trips per hop to build.
POOL_SECS=30
if tund_start "$WAN_CONF" "$POOL_SECS"; then
	tun_unit "first byte through the TUN, delayed links" fig_wan_tun || true
	tun_unit "a burst through the TUN, delayed links" fig_wan_burst_tun || true
else
	unit_failed "first byte through the TUN, delayed links: tund did not start"
fi
tund_died "after the delayed figure" || tund_stop
topo_down "$BENCH_DIR/wan"
[ -z "${TTFB_MED_wan_direct:-}" ] ||
	say "direct: median $TTFB_MED_wan_direct ms, p95 $TTFB_P95_wan_direct ms" \
		"(medians: namelookup $TTFB_NL_wan_direct, connect $TTFB_CONN_wan_direct)"
[ -z "${TTFB_MED_wan_tun:-}" ] ||
	say "TUN:    median $TTFB_MED_wan_tun ms, p95 $TTFB_P95_wan_tun ms" \
		"(medians: namelookup $TTFB_NL_wan_tun, connect $TTFB_CONN_wan_tun; $WAN_CIRCUITS)"
[ -z "${BURST_MS_direct:-}" ] ||
	say "burst of 260 (200 of one name, 60 new names): direct $BURST_OK_direct pages in $BURST_MS_direct ms"
[ -z "${BURST_MS_tun:-}" ] ||
	say "burst of 260 through the TUN: $BURST_OK_tun pages in $BURST_MS_tun ms; tund: $BURST_TUND;" \
		"relays' refusals at admission: $BURST_RELAYS (target: all 260, every count 0)"

# ================================================================ figures

say ""
say "== figures"
# shellcheck source=/dev/null
. "$RES"

# 1
cat "$BENCH_DIR/rates-direct-before" "$BENCH_DIR/rates-direct-after" 2>/dev/null >"$BENCH_DIR/rates-direct" || true
D_MED=
if [ -s "$BENCH_DIR/rates-direct" ]; then
	D_MED=$(median <"$BENCH_DIR/rates-direct")
	say "direct /big: median $D_MED Gbit/s of $(wc -l <"$BENCH_DIR/rates-direct")" \
		"(before: $(median <"$BENCH_DIR/rates-direct-before" 2>/dev/null || echo -)," \
		"after: $(median <"$BENCH_DIR/rates-direct-after" 2>/dev/null || echo -); range $(range "$BENCH_DIR/rates-direct"))"
fi
if [ -n "${BIG_tun:-}" ]; then
	say "TUN /big: median $BIG_tun Gbit/s (range $BIG_RANGE_tun); SOCKS5: $BIG_socks Gbit/s (range $BIG_RANGE_socks)"
	R_TS=$(ratio "$BIG_tun" "$BIG_socks")
	if [ -n "$D_MED" ]; then
		R_TD=$(ratio "$BIG_tun" "$D_MED")
		R_SD=$(ratio "$BIG_socks" "$D_MED")
		say "TUN/SOCKS $R_TS %, TUN/direct $R_TD %, SOCKS/direct $R_SD %"
	fi
fi

# 2
IPERF_UP_direct=
IPERF_DOWN_direct=
for d in UP DOWN; do
	vals=
	for r in before after; do
		v=IPERF_${d}_direct_$r
		[ -z "${!v:-}" ] || vals="$vals ${!v}"
	done
	# shellcheck disable=SC2086
	[ -z "$vals" ] || printf -v "IPERF_${d}_direct" '%s' "$(printf '%s\n' $vals | median)"
done
if [ -n "${IPERF_UP_tun:-}" ] && [ -n "$IPERF_UP_direct" ]; then
	say "iperf3 upload: TUN $IPERF_UP_tun, direct $IPERF_UP_direct Gbit/s (mean of the rounds): $(ratio "$IPERF_UP_tun" "$IPERF_UP_direct") %"
	say "iperf3 download: TUN $IPERF_DOWN_tun, direct $IPERF_DOWN_direct Gbit/s: $(ratio "$IPERF_DOWN_tun" "$IPERF_DOWN_direct") %"
fi

# 3
MTU_LINE=
MTU_IPERF_LINE=
MTU_VERDICT=
if [ -z "$MTU_FAIL" ]; then
	: >"$BENCH_DIR/mtu.big"
	: >"$BENCH_DIR/mtu.iperf"
	for m in $MTUS; do
		# shellcheck disable=SC2086
		echo "$m $(cat "$BENCH_DIR"/rates-mtu-$m-* | median)" >>"$BENCH_DIR/mtu.big"
		# shellcheck disable=SC2086
		cat "$BENCH_DIR"/iperf-mtu-$m-* | awk -v m="$m" '{ b += $1; s += $2 } END { printf "%s %.3f\n", m, (s > 0 ? b * 8 / s / 1e9 : 0) }' >>"$BENCH_DIR/mtu.iperf"
	done
	# "winner rate, runner-up margin, the rest": from "mtu rate" lines.
	mtu_rank() {
		sort -k2,2gr "$1" | awk 'NR == 1 { w = $1; r = $2; printf "%s wins at %s Gbit/s", w, r; next }
			{ printf ", %.1f %% over %s (%s)", (r / $2 - 1) * 100, $1, $2 }'
	}
	MTU_LINE=$(mtu_rank "$BENCH_DIR/mtu.big")
	MTU_IPERF_LINE=$(mtu_rank "$BENCH_DIR/mtu.iperf")
	MTU_BEST_RATE=$(sort -k2,2gr "$BENCH_DIR/mtu.big" | awk 'NR == 1 { print $2 }')
	if [ -n "${DEFAULT_MTU:-}" ]; then
		def_rate=$(awk -v m="$DEFAULT_MTU" '$1 == m { print $2 }' "$BENCH_DIR/mtu.big")
		if [ -n "$def_rate" ]; then
			MTU_DEF_PCT=$(ratio "$def_rate" "$MTU_BEST_RATE")
			MTU_VERDICT=$(verdict "$MTU_DEF_PCT" '>=' $((100 - MTU_SLACK)))
		fi
	fi
	say "MTU, /big (medians of $BENCH_RUNS): $MTU_LINE"
	say "MTU, iperf3 upload ($((2 * pass_secs)) s each): $MTU_IPERF_LINE"
fi

# 6, 7
if [ -n "${WRK_tun:-}" ] && [ -n "${WRK_direct:-}" ]; then
	R_WRK=$(ratio "$WRK_tun" "$WRK_direct")
	say "wrk -c$WRK_CONNS: TUN $WRK_tun, direct $WRK_direct requests/s: $R_WRK %"
	say "  during it: $WRK_CPU"
	say "  bound: $WRK_BOUND"
fi
CPS_BOUND=
if [ -n "${CPS_tun:-}" ]; then
	say "new connections/s: TUN $CPS_tun${CPS_direct:+, direct $CPS_direct}; circuits built $CPS_BUILDS/s, $CPS_FAILED failed"
	say "  during it: $CPS_CPU"
	say "  pool empty in $CPS_EMPTY % of $CPS_SAMPLES samples, streams waiting for a circuit: mean $CPS_WAIT; after: $CPS_POOL"
	CPS_BOUND="each new connection costs a circuit build ($CPS_BUILDS builds/s for $CPS_tun connections/s)"
	[ "$CPS_FAILED" = 0 ] || CPS_BOUND="$CPS_BOUND, $CPS_FAILED of them failed"
	[ "$CPS_EMPTY" = 0 ] || CPS_BOUND="$CPS_BOUND, the pool empty in $CPS_EMPTY % of the samples"
	CPS_BOUND="$CPS_BOUND; $(cpu_bound "$CPS_TUND" "$CPS_SYS" "$CPS_RELAYS")"
	crypto=$(awk -v RS=', ' '$1 ~ /^libcrypto/ { print $2 }' <<<"${CPS_PERF_DSO:-}")
	[ -z "$crypto" ] || CPS_BOUND="$CPS_BOUND; libcrypto is $crypto of tund's samples (three TLS handshakes per circuit)"
	if [ -n "${CPS_PERF_DSO:-}" ]; then
		say "  perf record -g -p tund meanwhile, by object: $CPS_PERF_DSO; top symbols:"
		head -n 8 "$BENCH_DIR/perf-cps.sym" | sed 's/^/  /'
	fi
	say "  bound: $CPS_BOUND"
fi

# 9
PROF_BOUND=
if [ -n "${PROF_CPU:-}" ]; then
	say "during an iperf3 -R transfer through the TUN ($PROF_RATE Gbit/s), $PROF_SECS s: $PROF_CPU"
	PROF_BOUND=$(cpu_bound "$PROF_TUND" "$PROF_SYS" "$PROF_RELAYS")
	if [ "${PERF_OK:-0}" = 1 ]; then
		say "perf record -g -p tund, $PROF_SECS s (${PERF_SAMPLES:-? samples}), by object: $PERF_DSO"
		say "top symbols (perf report --no-children):"
		sed 's/^/  /' "$BENCH_DIR/perf.sym"
	else
		say "perf: not usable here (${PERF_WHY:-?}); CPU shares only"
	fi
	say "bound: $PROF_BOUND"
fi

if [ ${#CRASHES[@]} -gt 0 ]; then
	say ""
	say "== tund crashes (${#CRASHES[@]})"
	cat "$CRASH_FILE"
fi

# ================================================================ summary

# A figure not measured: "name: not measured (why, FAILED)".
na() { say "$1: not measured (${2:-see above}, FAILED)"; }
fail_of() {
	local f
	for f in "${UNIT_FAILS[@]}"; do
		case $f in "$1"*) printf '%s' "${f#*: }"; return ;; esac
	done
}

say ""
say "== summary (load average now $(cut -d' ' -f1-3 /proc/loadavg); $((SECONDS - T_START)) s)"
# 1
if [ -n "${BIG_tun:-}" ] && [ -n "$D_MED" ]; then
	say "1 throughput /big, TUN/SOCKS5: $R_TS % (target >= $TARGET_TUN_SOCKS %, $(verdict "$R_TS" '>=' "$TARGET_TUN_SOCKS"));" \
		"TUN $(f2 "$BIG_tun"), SOCKS5 $(f2 "$BIG_socks"), direct $(f2 "$D_MED") Gbit/s; TUN/direct $R_TD %, SOCKS5/direct $R_SD %"
else
	na "1 throughput /big" "$(fail_of throughput)$(fail_of direct)"
fi
# 2
if [ -n "${IPERF_UP_tun:-}" ] && [ -n "$IPERF_UP_direct" ] && [ -n "$IPERF_DOWN_direct" ]; then
	say "2 iperf3 through the TUN: upload $(f2 "$IPERF_UP_tun"), download $(f2 "$IPERF_DOWN_tun") Gbit/s (no target);" \
		"direct $(f2 "$IPERF_UP_direct"), $(f2 "$IPERF_DOWN_direct"): $(ratio "$IPERF_UP_tun" "$IPERF_UP_direct") %," \
		"$(ratio "$IPERF_DOWN_tun" "$IPERF_DOWN_direct") % of direct"
else
	na "2 iperf3 through the TUN" "$(fail_of iperf3)$(fail_of direct)"
fi
# 3
if [ -n "$MTU_LINE" ]; then
	say "3 TUN MTU, /big: default ${DEFAULT_MTU:-?} at ${MTU_DEF_PCT:-?} % of the best (target >= $((100 - MTU_SLACK)) %," \
		"${MTU_VERDICT:-MISSED}); $MTU_LINE; iperf3 upload: $MTU_IPERF_LINE"
else
	na "3 TUN MTU" "$(fail_of MTU)"
fi
# 4
if [ -n "${TTFB_MED_tun:-}" ] && [ -n "${TTFB_MED_direct:-}" ]; then
	say "4 first byte by a new name, TUN median: $TTFB_MED_tun ms (target < $TARGET_TTFB_MS ms," \
		"$(verdict "$TTFB_MED_tun" '<' "$TARGET_TTFB_MS")); p95 $TTFB_P95_tun, namelookup $TTFB_NL_tun, connect $TTFB_CONN_tun;" \
		"direct median $TTFB_MED_direct, p95 $TTFB_P95_direct, namelookup $TTFB_NL_direct, connect $TTFB_CONN_direct ms"
else
	na "4 first byte by a new name" "$(fail_of 'first byte through the TUN')$(fail_of direct)"
fi
# 5
if [ -n "${TTFB_MED_wan_tun:-}" ] && [ -n "${TTFB_MED_wan_direct:-}" ]; then
	say "5 first byte by a new name, $BENCH_DELAY_MS ms per link, TUN median: $TTFB_MED_wan_tun ms" \
		"(target <= $TARGET_WAN_TTFB_MS ms, $(verdict "$TTFB_MED_wan_tun" '<=' "$TARGET_WAN_TTFB_MS")); p95 $TTFB_P95_wan_tun;" \
		"direct median $TTFB_MED_wan_direct, p95 $TTFB_P95_wan_direct ms"
else
	na "5 first byte, $BENCH_DELAY_MS ms per link" "$(fail_of 'first byte direct')$(fail_of 'first byte through the TUN, delayed')"
fi
# 6
if [ -n "${R_WRK:-}" ]; then
	say "6 wrk -c$WRK_CONNS, TUN/direct: $R_WRK % (target >= $TARGET_WRK %, $(verdict "$R_WRK" '>=' "$TARGET_WRK"));" \
		"TUN $WRK_tun, direct $WRK_direct requests/s; bound: $WRK_BOUND; after it $WRK_CIRCUITS"
else
	na "6 wrk -c$WRK_CONNS" "$(fail_of wrk)$(fail_of direct)"
fi
# 7
if [ -n "${CPS_tun:-}" ] && [ -n "${CPS_direct:-}" ]; then
	say "7 new connections/s, TUN: $CPS_tun (no target); direct $CPS_direct ($(ratio "$CPS_tun" "$CPS_direct") %); bound: $CPS_BOUND"
else
	na "7 new connections/s" "$(fail_of 'new connections')$(fail_of direct)"
fi
# 8
if [ -n "${MEM_KB:-}" ]; then
	say "8 tund RSS per idle connection: $MEM_KB KB (target <= $TARGET_KB KB, $(verdict "$MEM_KB" '<=' "$TARGET_KB"));" \
		"$BENCH_HOLD open, $MEM_RSS0 -> $MEM_RSS1 KiB, pool $MEM_POOL0 -> $MEM_POOL1 ready circuits;" \
		"malloc'd $MEM_HEAP_KB KB each, of which OpenSSL's TLS sessions $MEM_TLS_KB KB"
else
	na "8 tund RSS per idle connection" "$(fail_of memory)"
fi
# 9
if [ -n "$PROF_BOUND" ]; then
	say "9 TUN throughput bound: $PROF_BOUND (no target); $([ "${PERF_OK:-0}" = 1 ] && echo "perf of tund by object: $PERF_DSO" || echo "perf not usable, CPU shares only")"
else
	na "9 TUN throughput bound" "$(fail_of profile)"
fi
say "tund crashes: ${#CRASHES[@]} (target 0, $(verdict 0 '>=' "${#CRASHES[@]}"))"
if [ ${#UNIT_FAILS[@]} -gt 0 ]; then
	say ""
	say "measurements that failed:"
	printf '  %s\n' "${UNIT_FAILS[@]}"
	exit 1
fi
exit 0

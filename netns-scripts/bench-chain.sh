#!/bin/bash
# SPDX-License-Identifier: MIT
#
# bench-chain.sh: what a circuit through three relays costs, measured on the
# five-namespace topology of topo.sh, against plain IP forwarding over the
# very same namespaces and veth links.
#
#   client ──── r1 ──── r2 ──── r3 ──── inet
#   192.0.2.1  .2 .5   .6 .9  .10 .13   .14   nginx 203.0.113.80 (/big)
#   chain      exitd   exitd  exitd           dnsmasq 203.0.113.53
#   tund       :9001   :9001  :9001 (exit)
#   curl
#
#   tunnel:  chain ─TLS(TLS(TLS))─> r1 ─> r2 ─> r3 ─TCP─> nginx
#   proxy:   curl ─TCP─> chain -l 127.0.0.1:8080 ─> r1 ─> r2 ─> r3 ─> nginx
#   socks:   curl ─SOCKS5─> tund 127.0.0.1:1080 ─> r1 ─> r2 ─> r3 ─> nginx
#            (tund: path r1 r2 r3, pool 4: circuits built ahead of demand)
#   direct:  curl ─TCP, forwarded by the kernels of r1, r2, r3─> nginx
#
# It brings the topology up (netns-scripts/topo.sh up), measures, prints the
# figures, and always tears the topology down again (trap on EXIT, INT, TERM,
# HUP). The figures:
#
# 1. Throughput of GET /big (TOPO_BIG_MB MiB), BENCH_RUNS times each, the
#    four ways alternating (the order rotates each round):
#      tunnel  build/chain -n -s through r1, r2, r3, "connect www.example.test
#              80"; stdin is a fifo holding the request and kept open (-n: nginx
#              aborts a response when the client half-closes), so chain ends
#              when nginx closes. The rate is chain's -s line, "received N
#              bytes in T s": counted from the exit's CONNECT reply to the last
#              byte, so the circuit build (about 2 ms) is left out. N must be
#              at least the size of /big (it includes the HTTP header).
#      direct  curl http://203.0.113.80/big from the client namespace,
#              %{speed_download} (includes the TCP connect); the size and
#              status must be right.
#      proxy   curl --connect-to www.example.test:80:127.0.0.1:8080 to one
#              chain -l running for the whole section: what a user-facing
#              proxy costs (one more local TCP hop, and a circuit per request).
#      socks   curl --socks5-hostname 127.0.0.1:1080 http://www.example.test/big
#              to the tund of figure 4 (still running, pool 4): the client
#              daemon's entrance, the name resolved by the exit;
#              %{speed_download}, size and status checked as for direct.
#    Reported: the median of each in Gbit/s (10^9 bit/s), and tunnel/direct,
#    proxy/direct and socks/direct as percentages. Targets: tunnel/direct
#    >= 20 %, socks/direct >= 17 %.
# 2. Circuit build time, 3 hops: "chain ... build BENCH_BUILDS" (default 200,
#    one after the other, TLS to each hop nested in the previous one).
#    Reported: median and p95. Target: median < 5 ms.
# 3. exitd resident memory per relayed connection: VmRSS of the exitd in r1,
#    r2 and r3 before, then "chain -t 30000 ... hold 1000 www.example.test 80"
#    (stdin a fifo we hold open) until it prints "open=1000 failed=0", VmRSS
#    again; (after - before) / 1000 in KiB, for each relay. Target: <= 64 KB.
#    Measured first, on fresh relays after a single warm-up fetch (which
#    also checks that the circuit works): memory freed by the large
#    transfers would otherwise be reused by the held connections and hide
#    part of their cost.
# 4. Time to first byte of the small page (GET /), curl's
#    %{time_starttransfer} (from curl's start to the first byte of the
#    response, so it includes the local connect and the SOCKS5 exchange):
#      warm    curl --socks5-hostname 127.0.0.1:1080 http://www.example.test/
#              to one tund (build/tund) that runs for this figure and figure
#              1: path r1 r2 r3, pool 4, so a ready circuit is waiting and a
#              request pays two trips through the chain (the exit's reply
#              to the SOCKS5 CONNECT, then the GET), not the build.
#              BENCH_TTFB requests, one after the other, alternating with
#              the direct ones, with a 20 ms pause after each so the pool
#              refills; 5 of each before them are discarded as warm-up.
#              (The pool grows with bursts only, the most streams taken
#              within 100 ms, so one request at a time keeps it at 4; a
#              taken circuit is replaced 5 ms later, after the request's
#              first round trip, so the figure does not pay for that build.)
#      optimistic  the same against a second warm tund with "optimistic
#              yes": the CONNECT is answered at once and curl's GET leaves
#              with it, one trip through the chain instead of two.
#      cold    a fresh tund with pool 0 per request (BENCH_COLD of them):
#              started, its SOCKS5 port listening, one request (the circuit
#              is built for it), stopped. The start itself is not timed.
#      direct  curl http://203.0.113.80/ by plain IP forwarding.
#    Reported: median and p95 (nearest rank) in ms of each, and the medians
#    of curl's %{time_connect} (the local connect) and %{time_pretransfer}
#    (with a proxy: the SOCKS5 exchange too, so the exit's reply) of each,
#    to show where the time goes. Status and size are checked for every
#    request. Target: warm median < 1 ms (reported for both warm kinds).
#
# The summary at the end has one line per figure, "name: value (target ...,
# met|MISSED)". Exit status: 0 when every measurement was made, whether or
# not the targets were met (this reports, it does not test); non-zero when a
# measurement failed (a wrong byte count, a failed circuit, a timeout, ...)
# or the topology could not be built.
#
# Needs root (network namespaces) and make (build/exitd, build/chain,
# build/tund). Runs in about half a minute on an idle machine; everything
# else on the machine competes for the same CPUs, so load skews the
# throughput and latency figures (the load average is printed first and in
# the summary).
#
# Environment:
#   BENCH_RUNS=N      transfers of each kind (default 5)
#   BENCH_BUILDS=N    circuits built for the build-time figure (default 200)
#   BENCH_HOLD=N      connections held for the memory figure (default 1000)
#   BENCH_TTFB=N      warm-pool and direct requests for figure 4 (default 200)
#   BENCH_COLD=N      cold-start requests (fresh tunds) for figure 4 (default 20)
#   BENCH_TIMEOUT=S   limit for any single transfer or step (default 120)
#   TOPO_BIG_MB=N     size of /big in MiB (default 256)
#   CHAIN=PATH        the chain binary (default build/chain of this tree)
#   TUND=PATH         the tund binary (default build/tund of this tree)
#   and those of topo.sh (EXITD, TOPO_KEEP, ...).
#
# Safety: all of it happens inside the namespaces topo.sh makes for this run;
# only the processes started here are ever signalled, by their PID.

set -eu
set -o pipefail
umask 022

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOPO_SH=$ROOT/netns-scripts/topo.sh
CHAIN=${CHAIN:-$ROOT/build/chain}
TUND=${TUND:-$ROOT/build/tund}
BENCH_RUNS=${BENCH_RUNS:-5}
BENCH_BUILDS=${BENCH_BUILDS:-200}
BENCH_HOLD=${BENCH_HOLD:-1000}
BENCH_TTFB=${BENCH_TTFB:-200}
BENCH_COLD=${BENCH_COLD:-20}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-120}
export TOPO_BIG_MB=${TOPO_BIG_MB:-256}
PROXY_PORT=8080
SOCKS_PORT=1080         # the warm tund's SOCKS5 entrance (client namespace)
OPT_PORT=1082           # the warm tund with "optimistic yes"
COLD_PORT=1081          # the cold-start tunds' one
TTFB_WARMUP=5           # requests of each kind discarded before the samples
TTFB_PAUSE=0.02         # s after each request, so the pool refills

TARGET_RATIO=20         # tunnel/direct, per cent, at least
TARGET_BUILD_MS=5       # median build time, ms, below
TARGET_KB_PER_CONN=64   # exitd RSS per connection, KiB, at most
TARGET_SOCKS_RATIO=17   # tund SOCKS5/direct, per cent, at least
TARGET_TTFB_MS=1        # warm-pool time to first byte, median, ms, below

say() { printf '%s\n' "$*"; }
msg() { printf 'bench: %s\n' "$*" >&2; }
die() {
	msg "error: $*"
	exit 1
}

for v in BENCH_RUNS BENCH_BUILDS BENCH_HOLD BENCH_TTFB BENCH_COLD BENCH_TIMEOUT TOPO_BIG_MB; do
	case ${!v} in
	'' | *[!0-9]* | 0*) die "$v must be a positive whole number, not '${!v}'" ;;
	*) ;;
	esac
done
[ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
[ -x "$CHAIN" ] || die "$CHAIN is missing: run make"
[ -x "$TUND" ] || die "$TUND is missing: run make"
[ -x "${EXITD:-$ROOT/build/exitd}" ] || die "${EXITD:-$ROOT/build/exitd} is missing: run make"
for c in ip ss curl timeout awk sort stat cmp; do
	command -v "$c" >/dev/null || die "$c is not installed (make deps)"
done

# ---------------------------------------------------------------- cleanup

RUN_DIR=         # made here (mktemp), so down only ever touches our own run
UP_PID=         # topo.sh up, while it runs
CUR_PID=        # the step being waited for
BG_PIDS=        # long-running processes of ours (chain -l, chain hold, tund)

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
	local rc=$? p
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
	if [ -n "$RUN_DIR" ] && [ -d "$RUN_DIR" ]; then
		"$TOPO_SH" down "$RUN_DIR" || msg "topo.sh down $RUN_DIR failed"
	fi
	[ "$rc" = 0 ] || msg "failed (exit $rc)"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# run IN OUT ERR CMD...: runs CMD in the background with those files as
# stdin, stdout and stderr, under timeout, and waits for it. In the
# background because bash runs a trap only between foreground commands, but
# a signal interrupts wait at once. The redirections are CMD's own, not the
# function's: a trap running inside would write into them otherwise.
# Returns CMD's status (124 when timeout stopped it).
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

in_client() { ip netns exec "$NS_CLIENT" "$@"; }

# Median of the numbers on stdin.
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

# "met" or "MISSED": met VALUE OP LIMIT, OP one of < <= >=.
verdict() {
	awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN {
		ok = (op == "<") ? a < b : (op == "<=") ? a <= b : a >= b
		print ok ? "met" : "MISSED" }'
}

# A TCP listener on ADDR:PORT in NS, within SECONDS; fails early if PID dies.
wait_listen() {
	local ns=$1 ap=$2 pid=$3 secs=$4 i
	for ((i = 0; i < secs * 20; i++)); do
		if ip netns exec "$ns" ss -Hltn 2>/dev/null | awk -v ap="$ap" '$4 == ap { f = 1 } END { exit !f }'; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

rss_kb() {
	local kb
	[ "$(cat "/proc/$1/comm" 2>/dev/null)" = exitd ] || die "pid $1 is not an exitd"
	kb=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status")
	[ -n "$kb" ] || die "no VmRSS for pid $1"
	echo "$kb"
}

# ---------------------------------------------------------------- up

say "bench-chain: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at start;" \
	"/big $TOPO_BIG_MB MiB, $BENCH_RUNS runs"
if awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
	msg "warning: the machine is busy; the throughput figures will be low and vary"
fi

RUN_DIR=$(mktemp -d /tmp/tunnel-bench.XXXXXX)
chmod 755 "$RUN_DIR"    # nginx's workers (nobody) read $RUN_DIR/www
rc=0
"$TOPO_SH" up "$RUN_DIR" >/dev/null &
UP_PID=$!
wait "$UP_PID" || rc=$?
UP_PID=
if [ "$rc" != 0 ] || [ ! -f "$RUN_DIR/env" ]; then
	die "topo.sh up failed (exit $rc)"
fi
# shellcheck source=/dev/null
. "$RUN_DIR/env"
[ "$HAVE_EXITD" = 1 ] || die "the topology has no relays (exitd not built?)"

BIG_BYTES=$((BIG_MB * 1024 * 1024))
H3=(-r "$R1_ADDR,$R1_PIN" -r "$R2_ADDR,$R2_PIN" -r "$R3_ADDR,$R3_PIN")
REQ_FIFO=$RUN/bench-req.fifo
HOLD_FIFO=$RUN/bench-hold.fifo
mkfifo "$REQ_FIFO" "$HOLD_FIFO"

# One GET through the three relays with chain connect; sets GOT_BYTES and
# GOT_SECS from its -s line. Fails when chain fails or times out.
chain_get() {
	local path=$1 out=$2 err=$RUN/bench-chain.err rc=0 line
	# Read-write: the open does not wait for a reader, and the fifo keeps a
	# writer (us) until chain is done. chain does not inherit it (run).
	exec 9<>"$REQ_FIFO"
	printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$WEB_NAME" >&9
	run "$REQ_FIFO" "$out" "$err" ip netns exec "$NS_CLIENT" "$CHAIN" -n -s "${H3[@]}" \
		connect "$WEB_NAME" 80 || rc=$?
	exec 9>&-
	if [ "$rc" != 0 ]; then
		msg "chain connect for $path: exit $rc$([ "$rc" != 124 ] || echo " (timed out after $BENCH_TIMEOUT s)")"
		sed 's/^/  /' "$err" >&2
		return 1
	fi
	line=$(grep -E '^chain: sent [0-9]+ bytes, received [0-9]+ bytes in [0-9.]+ s' "$err" | tail -n 1) || true
	if [ -z "$line" ]; then
		msg "chain printed no statistics line:"
		sed 's/^/  /' "$err" >&2
		return 1
	fi
	GOT_BYTES=$(awk '{ print $6 }' <<<"$line")
	GOT_SECS=$(awk '{ print $9 }' <<<"$line")
}

# ---------------------------------------------------------------- warm-up

chain_get / "$RUN/bench-page.out" || die "a page through r1, r2, r3 could not be fetched"
grep -q "$WEB_MARKER" "$RUN/bench-page.out" || die "the page through r1, r2, r3 is not the test page"

# ---------------------------------------------------------------- memory (3)

say ""
say "== exitd resident memory, $BENCH_HOLD connections held through r1, r2, r3"
declare -A RSS0 RSS1 KB_PER
for r in 1 2 3; do
	pv=R${r}_PID
	RSS0[$r]=$(rss_kb "${!pv}")
done
exec 8<>"$HOLD_FIFO"
ip netns exec "$NS_CLIENT" "$CHAIN" -t 30000 "${H3[@]}" hold "$BENCH_HOLD" "$WEB_NAME" 80 \
	<"$HOLD_FIFO" >"$RUN/bench-hold.out" 2>"$RUN/bench-hold.err" 8>&- &
HOLD_PID=$!
bg_add "$HOLD_PID"
t0=$SECONDS
while [ ! -s "$RUN/bench-hold.out" ]; do
	if ! kill -0 "$HOLD_PID" 2>/dev/null; then
		sed 's/^/  /' "$RUN/bench-hold.err" >&2
		die "chain hold exited before opening its connections"
	fi
	[ $((SECONDS - t0)) -lt "$BENCH_TIMEOUT" ] || die "chain hold printed nothing in $BENCH_TIMEOUT s"
	sleep 0.1
done
# The line is written in one go, but give it a moment to be complete.
sleep 0.2
hold_line=$(head -n 1 "$RUN/bench-hold.out")
hold_secs=$((SECONDS - t0))
if [ "$hold_line" != "open=$BENCH_HOLD failed=0" ]; then
	sed 's/^/  /' "$RUN/bench-hold.err" >&2
	die "chain hold: '$hold_line', wanted 'open=$BENCH_HOLD failed=0'"
fi
for r in 1 2 3; do
	pv=R${r}_PID
	RSS1[$r]=$(rss_kb "${!pv}")
	KB_PER[$r]=$(awk -v a="${RSS1[$r]}" -v b="${RSS0[$r]}" -v n="$BENCH_HOLD" 'BEGIN { printf "%.1f", (a - b) / n }')
	say "r$r exitd: VmRSS ${RSS0[$r]} KiB -> ${RSS1[$r]} KiB: ${KB_PER[$r]} KiB per connection"
done
say "($hold_line, in about $hold_secs s)"
# End of stdin: chain closes its circuits and exits.
exec 8>&-
t0=$SECONDS
while kill -0 "$HOLD_PID" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$HOLD_PID/stat" 2>/dev/null)" != Z ]; do
	[ $((SECONDS - t0)) -lt 30 ] || die "chain hold did not exit within 30 s of the end of its stdin"
	sleep 0.1
done
rc=0
wait "$HOLD_PID" || rc=$?
bg_del "$HOLD_PID"
[ "$rc" = 0 ] || die "chain hold exited with status $rc"
# Let the relays finish closing before anything is timed.
for ((i = 0; i < 100; i++)); do
	n=$(ip netns exec "$NS_R1" ss -Htn state established "( sport = :${R1_ADDR#*:} )" | wc -l)
	[ "$n" -gt 0 ] || break
	sleep 0.05
done

# ---------------------------------------------------------------- build time (2)

say ""
say "== circuit build time, 3 hops, $BENCH_BUILDS circuits one after the other"
run /dev/null "$RUN/bench-build.out" "$RUN/bench-build.err" \
	ip netns exec "$NS_CLIENT" "$CHAIN" "${H3[@]}" build "$BENCH_BUILDS" || {
	rc=$?
	sed 's/^/  /' "$RUN/bench-build.err" >&2
	die "chain build $BENCH_BUILDS: exit $rc"
}
build_line=$(cat "$RUN/bench-build.out")
[[ $build_line =~ ^builds=$BENCH_BUILDS\ median_ms=([0-9.]+)\ p95_ms=([0-9.]+)\ max_ms=([0-9.]+)$ ]] ||
	die "chain build printed '$build_line'"
BUILD_MED=${BASH_REMATCH[1]}
BUILD_P95=${BASH_REMATCH[2]}
BUILD_MAX=${BASH_REMATCH[3]}
say "$build_line"

# ---------------------------------------------------------------- first byte (4)

say ""
say "== time to first byte, GET / ($WEB_NAME), ms: tund warm pool and direct, $BENCH_TTFB each" \
	"(alternating, after $TTFB_WARMUP each); tund cold start, $BENCH_COLD"

# tund_conf FILE POOL SOCKS_PORT CONTROL [OPTIMISTIC]: the fixed path r1 r2 r3.
tund_conf() {
	cat >"$1" <<-EOF
		# written by bench-chain.sh
		relay r1 $R1_ADDR $R1_PIN
		relay r2 $R2_ADDR $R2_PIN
		relay r3 $R3_ADDR $R3_PIN exit
		path r1 r2 r3
		pool $2
		socks 127.0.0.1:$3
		control $4
		optimistic ${5:-no}
		log warn
	EOF
}

# tund_start CONF PORT ERR: a tund in the client namespace (ip netns exec
# execs, so $! is tund itself), listening on 127.0.0.1:PORT; sets TUND_PID.
tund_start() {
	ip netns exec "$NS_CLIENT" "$TUND" -c "$1" </dev/null >/dev/null 2>>"$3" 8>&- 9>&- &
	TUND_PID=$!
	bg_add "$TUND_PID"
	wait_listen "$NS_CLIENT" "127.0.0.1:$2" "$TUND_PID" 10 || {
		sed 's/^/  /' "$3" >&2
		die "tund -c $1 does not listen on 127.0.0.1:$2"
	}
}

# tund_stop PID: SIGTERM, and its exit status (tund exits 0 on SIGTERM);
# SIGKILL after 5 s. A non-zero status is reported, not fatal.
tund_stop() {
	local pid=$1 rc=0 i
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 500; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" != Z ] || break
		sleep 0.01
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" || rc=$?
	bg_del "$pid"
	[ "$rc" = 0 ] || msg "warning: tund (pid $pid) exited with status $rc on SIGTERM"
}

# tund_status SOCKET: its text status, into $RUN/bench-tund.status.
tund_status() {
	run /dev/null "$RUN/bench-tund.status" "$RUN/bench-tund.status.err" \
		ip netns exec "$NS_CLIENT" "$TUND" status -s "$1"
}

# ttfb_get WHAT FILE CURL_ARGS...: one GET of the small page; appends
# "starttransfer connect pretransfer" in ms to FILE. Fails on a curl error,
# a status other than 200 or a size other than PAGE_BYTES.
ttfb_get() {
	local what=$1 file=$2 out=$RUN/bench-ttfb.out err=$RUN/bench-ttfb.err rc=0 code size tc tp ts
	shift 2
	run /dev/null "$out" "$err" ip netns exec "$NS_CLIENT" curl -sS -o /dev/null \
		-w '%{http_code} %{size_download} %{time_connect} %{time_pretransfer} %{time_starttransfer}\n' \
		"$@" || rc=$?
	if [ "$rc" != 0 ]; then
		msg "$what: curl exit $rc$([ "$rc" != 124 ] || echo " (timed out after $BENCH_TIMEOUT s)"): $(tr '\n' ' ' <"$err")"
		return 1
	fi
	read -r code size tc tp ts <"$out" || true
	if [ "${code:-}" != 200 ] || [ "${size:-}" != "$PAGE_BYTES" ]; then
		msg "$what: HTTP ${code:-?}, ${size:-?} bytes; wanted 200 and $PAGE_BYTES bytes"
		return 1
	fi
	awk -v s="$ts" -v c="$tc" -v p="$tp" 'BEGIN { printf "%.3f %.3f %.3f\n", s * 1000, c * 1000, p * 1000 }' >>"$file"
}

# col N FILE: the N-th column of FILE, one number a line.
col() { awk -v n="$1" '{ print $n }' "$2"; }
ms() { printf '%.3f' "$1"; }

# The page, and its size, once each way.
run /dev/null "$RUN/bench-page-direct.out" "$RUN/bench-page-direct.err" \
	ip netns exec "$NS_CLIENT" curl -sS -f "http://$WEB_IP/" || {
	sed 's/^/  /' "$RUN/bench-page-direct.err" >&2
	die "the page could not be fetched directly"
}
grep -q "$WEB_MARKER" "$RUN/bench-page-direct.out" || die "the page fetched directly is not the test page"
PAGE_BYTES=$(stat -c %s "$RUN/bench-page-direct.out")

# Cold start: a fresh tund with pool 0 for each request, so the circuit is
# built for it. No other tund runs meanwhile.
COLD_CONF=$RUN/bench-tund-cold.conf
COLD_SOCK=$RUN/bench-tund-cold.sock
tund_conf "$COLD_CONF" 0 "$COLD_PORT" "$COLD_SOCK"
: >"$RUN/bench-ttfb-cold.ms"
for ((i = 0; i < BENCH_COLD; i++)); do
	tund_start "$COLD_CONF" "$COLD_PORT" "$RUN/bench-tund-cold.err"
	ttfb_get "tund cold start" "$RUN/bench-ttfb-cold.ms" \
		--socks5-hostname "127.0.0.1:$COLD_PORT" "http://$WEB_NAME/" ||
		die "a page through a fresh tund (pool 0) failed"
	tund_stop "$TUND_PID"
done

# Warm pool: one tund, kept for figure 1 too.
WARM_CONF=$RUN/bench-tund.conf
WARM_SOCK=$RUN/bench-tund.sock
tund_conf "$WARM_CONF" 4 "$SOCKS_PORT" "$WARM_SOCK"
tund_start "$WARM_CONF" "$SOCKS_PORT" "$RUN/bench-tund.err"
WARM_PID=$TUND_PID
run /dev/null "$RUN/bench-page-socks.out" "$RUN/bench-page-socks.err" \
	ip netns exec "$NS_CLIENT" curl -sS -f --socks5-hostname "127.0.0.1:$SOCKS_PORT" "http://$WEB_NAME/" || {
	sed 's/^/  /' "$RUN/bench-page-socks.err" "$RUN/bench-tund.err" >&2
	die "the page could not be fetched through tund"
}
cmp -s "$RUN/bench-page-socks.out" "$RUN/bench-page-direct.out" || die "the page through tund differs from the direct one"
# Until the pool holds its 4 circuits again.
for ((i = 0; ; i++)); do
	tund_status "$WARM_SOCK" || die "tund status failed: $(cat "$RUN/bench-tund.status.err")"
	ready=$(awk '$1 == "circuits:" { print $2 }' "$RUN/bench-tund.status")
	[ "${ready:-0}" -lt 4 ] || break
	[ "$i" -lt 200 ] || die "tund's pool does not fill: $(head -n 2 "$RUN/bench-tund.status" | tr '\n' ' ')"
	sleep 0.05
done

# A second warm tund with "optimistic yes": CONNECT answered at once, so
# curl's GET leaves with the request (one trip through the chain saved).
OPT_CONF=$RUN/bench-tund-opt.conf
OPT_SOCK=$RUN/bench-tund-opt.sock
tund_conf "$OPT_CONF" 4 "$OPT_PORT" "$OPT_SOCK" yes
tund_start "$OPT_CONF" "$OPT_PORT" "$RUN/bench-tund-opt.err"
OPT_PID=$TUND_PID

: >"$RUN/bench-ttfb-warm.ms"
: >"$RUN/bench-ttfb-opt.ms"
: >"$RUN/bench-ttfb-direct.ms"
for ((i = 0; i < TTFB_WARMUP + BENCH_TTFB; i++)); do
	wf=$RUN/bench-ttfb-warm.ms of=$RUN/bench-ttfb-opt.ms df=$RUN/bench-ttfb-direct.ms
	[ "$i" -ge "$TTFB_WARMUP" ] || wf=/dev/null of=/dev/null df=/dev/null
	ttfb_get "tund warm pool" "$wf" --socks5-hostname "127.0.0.1:$SOCKS_PORT" "http://$WEB_NAME/" ||
		die "a page through tund failed"
	sleep "$TTFB_PAUSE"
	ttfb_get "tund warm pool, optimistic" "$of" --socks5-hostname "127.0.0.1:$OPT_PORT" \
		"http://$WEB_NAME/" || die "a page through the optimistic tund failed"
	sleep "$TTFB_PAUSE"
	ttfb_get "direct" "$df" "http://$WEB_IP/" || die "a page fetched directly failed"
	sleep "$TTFB_PAUSE"
done
tund_stop "$OPT_PID"
tund_status "$WARM_SOCK" || die "tund status failed: $(cat "$RUN/bench-tund.status.err")"
TUND_CIRCUITS=$(awk '$1 == "circuits:"' "$RUN/bench-tund.status")

declare -A TTFB_MED TTFB_P95 TTFB_CONN TTFB_PRE
for k in warm opt cold direct; do
	f=$RUN/bench-ttfb-$k.ms
	TTFB_MED[$k]=$(ms "$(col 1 "$f" | median)")
	TTFB_P95[$k]=$(ms "$(col 1 "$f" | pctl 95)")
	TTFB_CONN[$k]=$(ms "$(col 2 "$f" | median)")
	TTFB_PRE[$k]=$(ms "$(col 3 "$f" | median)")
done
say "warm pool:  first byte median ${TTFB_MED[warm]}, p95 ${TTFB_P95[warm]} (medians: connect ${TTFB_CONN[warm]}, pretransfer ${TTFB_PRE[warm]})"
say "optimistic: first byte median ${TTFB_MED[opt]}, p95 ${TTFB_P95[opt]} (medians: connect ${TTFB_CONN[opt]}, pretransfer ${TTFB_PRE[opt]})"
say "cold start: first byte median ${TTFB_MED[cold]}, p95 ${TTFB_P95[cold]} (medians: connect ${TTFB_CONN[cold]}, pretransfer ${TTFB_PRE[cold]})"
say "direct:     first byte median ${TTFB_MED[direct]}, p95 ${TTFB_P95[direct]} (medians: connect ${TTFB_CONN[direct]}, pretransfer ${TTFB_PRE[direct]})"
say "(the page is $PAGE_BYTES bytes; warm tund after the samples: $TUND_CIRCUITS)"

# ---------------------------------------------------------------- throughput (1)

say ""
say "== throughput, GET /big ($BIG_MB MiB), $BENCH_RUNS runs of each, Gbit/s"
ip netns exec "$NS_CLIENT" "$CHAIN" "${H3[@]}" -l "127.0.0.1:$PROXY_PORT" connect "$WEB_NAME" 80 \
	</dev/null >/dev/null 2>"$RUN/bench-proxy.err" &
PROXY_PID=$!
bg_add "$PROXY_PID"
wait_listen "$NS_CLIENT" "127.0.0.1:$PROXY_PORT" "$PROXY_PID" 10 || {
	sed 's/^/  /' "$RUN/bench-proxy.err" >&2
	die "chain -l 127.0.0.1:$PROXY_PORT does not listen"
}

# curl in the client namespace; sets RATE (Gbit/s) or fails. Not run in a
# command substitution: that subshell would hide CUR_PID from cleanup.
curl_get() {
	local what=$1 out=$RUN/bench-curl.out err=$RUN/bench-curl.err code size speed rc=0
	shift
	run /dev/null "$out" "$err" ip netns exec "$NS_CLIENT" curl -sS -o /dev/null \
		-w '%{http_code} %{size_download} %{speed_download}\n' "$@" || rc=$?
	if [ "$rc" != 0 ]; then
		msg "$what: curl exit $rc$([ "$rc" != 124 ] || echo " (timed out after $BENCH_TIMEOUT s)"): $(tr '\n' ' ' <"$err")"
		return 1
	fi
	read -r code size speed <"$out" || true
	if [ "${code:-}" != 200 ] || [ "${size:-}" != "$BIG_BYTES" ]; then
		msg "$what: HTTP ${code:-?}, ${size:-?} bytes; wanted 200 and $BIG_BYTES bytes"
		return 1
	fi
	RATE=$(awk -v s="$speed" 'BEGIN { printf "%.3f", s * 8 / 1e9 }')
}

measure() {
	local kind=$1
	case $kind in
	tunnel)
		chain_get /big /dev/null || die "transfer through r1, r2, r3 failed"
		[ "$GOT_BYTES" -ge "$BIG_BYTES" ] ||
			die "chain received $GOT_BYTES bytes, fewer than the $BIG_BYTES of /big"
		RATE=$(awk -v n="$GOT_BYTES" -v t="$GOT_SECS" 'BEGIN { printf "%.3f", (t > 0 ? n * 8 / t / 1e9 : 0) }')
		;;
	direct)
		curl_get "direct" "http://$WEB_IP/big" || die "direct transfer failed"
		;;
	proxy)
		curl_get "chain -l + curl" --connect-to "$WEB_NAME:80:127.0.0.1:$PROXY_PORT" \
			"http://$WEB_NAME/big" || die "transfer through chain -l failed"
		;;
	socks)
		curl_get "tund SOCKS5 + curl" --socks5-hostname "127.0.0.1:$SOCKS_PORT" \
			"http://$WEB_NAME/big" || die "transfer through tund's SOCKS5 entrance failed"
		;;
	esac
	if ! [[ $RATE =~ ^[0-9]+\.[0-9]+$ ]] || [ "$RATE" = 0.000 ]; then
		die "$kind: no rate measured ('$RATE')"
	fi
	printf '%s\n' "$RATE" >>"$RUN/bench-$kind.rates"
	printf '  %s %s' "$kind" "$RATE"
}

KINDS=(tunnel direct proxy socks)
for ((i = 0; i < BENCH_RUNS; i++)); do
	printf 'run %d:' "$((i + 1))"
	for ((k = 0; k < ${#KINDS[@]}; k++)); do
		measure "${KINDS[(i + k) % ${#KINDS[@]}]}"
	done
	printf '\n'
done
stop_pid "$PROXY_PID"
bg_del "$PROXY_PID"
tund_stop "$WARM_PID"

T_MED=$(median <"$RUN/bench-tunnel.rates")
D_MED=$(median <"$RUN/bench-direct.rates")
P_MED=$(median <"$RUN/bench-proxy.rates")
S_MED=$(median <"$RUN/bench-socks.rates")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b * 100 : 0) }'; }
T_RATIO=$(ratio "$T_MED" "$D_MED")
P_RATIO=$(ratio "$P_MED" "$D_MED")
S_RATIO=$(ratio "$S_MED" "$D_MED")
range() { sort -g "$1" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }
say "medians: tunnel $T_MED, direct $D_MED, chain -l + curl $P_MED Gbit/s" \
	"(ranges $(range "$RUN/bench-tunnel.rates"), $(range "$RUN/bench-direct.rates"), $(range "$RUN/bench-proxy.rates"))"
say "median: tund SOCKS5 + curl $S_MED Gbit/s, $S_RATIO % of direct (range $(range "$RUN/bench-socks.rates"))"

# ---------------------------------------------------------------- summary

say ""
say "== summary (load average now $(cut -d' ' -f1-3 /proc/loadavg))"
say "throughput through 3 relays (chain connect): $(printf '%.2f' "$T_MED") Gbit/s (median of $BENCH_RUNS; target: see ratio)"
say "throughput by plain IP forwarding (curl): $(printf '%.2f' "$D_MED") Gbit/s (median of $BENCH_RUNS; the baseline)"
say "tunnel/direct: $T_RATIO % (target >= $TARGET_RATIO %, $(verdict "$T_RATIO" '>=' "$TARGET_RATIO"))"
say "throughput through chain -l + curl: $(printf '%.2f' "$P_MED") Gbit/s, $P_RATIO % of direct" \
	"(target >= $TARGET_RATIO %, $(verdict "$P_RATIO" '>=' "$TARGET_RATIO"))"
say "circuit build, 3 hops, median: $BUILD_MED ms (target < $TARGET_BUILD_MS ms, $(verdict "$BUILD_MED" '<' "$TARGET_BUILD_MS"))"
say "circuit build, 3 hops, p95: $BUILD_P95 ms, max $BUILD_MAX ms (no target of its own)"
for r in 1 2 3; do
	say "exitd RSS per connection, r$r: ${KB_PER[$r]} KB ($BENCH_HOLD open;" \
		"target <= $TARGET_KB_PER_CONN KB, $(verdict "${KB_PER[$r]}" '<=' "$TARGET_KB_PER_CONN"))"
done
say "time to first byte, GET / through tund's SOCKS5, warm pool, median: ${TTFB_MED[warm]} ms" \
	"($BENCH_TTFB requests; target < $TARGET_TTFB_MS ms, $(verdict "${TTFB_MED[warm]}" '<' "$TARGET_TTFB_MS"))"
say "time to first byte, warm pool, p95: ${TTFB_P95[warm]} ms (no target of its own)"
say "time to first byte, warm pool with optimistic yes, median: ${TTFB_MED[opt]} ms, p95 ${TTFB_P95[opt]} ms" \
	"($BENCH_TTFB requests; target < $TARGET_TTFB_MS ms, $(verdict "${TTFB_MED[opt]}" '<' "$TARGET_TTFB_MS"))"
say "time to first byte, cold start (fresh tund, pool 0), median: ${TTFB_MED[cold]} ms, p95 ${TTFB_P95[cold]} ms" \
	"($BENCH_COLD requests; no target of its own)"
say "time to first byte, direct (curl), median: ${TTFB_MED[direct]} ms, p95 ${TTFB_P95[direct]} ms" \
	"($BENCH_TTFB requests; the baseline)"
say "throughput through tund's SOCKS5 + curl: $(printf '%.2f' "$S_MED") Gbit/s, $S_RATIO % of direct" \
	"(median of $BENCH_RUNS; target >= $TARGET_SOCKS_RATIO %, $(verdict "$S_RATIO" '>=' "$TARGET_SOCKS_RATIO"))"

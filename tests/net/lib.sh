# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# lib.sh: sourced by the network-namespace tests (tests/net/t-*.sh), in the
# shape of WireGuard's tests/netns.sh: one helper per namespace, names unique
# per run, and teardown on every exit.
#
#   client ──── r1 ──── r2 ──── r3 ──── inet
#   192.0.2.1  .2 .5   .6 .9  .10 .13   .14   dnsmasq 203.0.113.53, 2001:db8:ffff::53
#              exitd   exitd  exitd           nginx   203.0.113.80, 2001:db8:ffff::80
#              :9001   :9001  :9001 (exit)
#                       │ .17
#                       │ .18  r4, exitd :9001 (exit): only with TOPO_RELAYS=4,
#                       r4     where every relay may be any hop and r3, r4 exit
#
# The topology itself is netns-scripts/topo.sh (read its header). A test:
#
#   #!/bin/bash
#   set -eu
#   . "$(dirname "$0")/lib.sh"
#   topo_up                     # builds it, sources $RUN/env, traps topo_down
#   t_check "web by forwarding" n_client curl -fsS "http://$WEB_IP/"
#   t_eq "www A" "$WEB_IP" "$(n_client dig +short "@$DNS_IP" "$WEB_NAME" A)"
#   t_summary                   # "N passed, N failed"; non-zero on failures
#
# Helpers:
#   n_client|n_r1|n_r2|n_r3|n_r4|n_inet CMD...
#                                           run CMD in that namespace (n_r4: TOPO_RELAYS=4)
#   topo_up [RUN_DIR] / topo_down           (topo_down is idempotent)
#   topo_need_exitd                         skip the whole test when exitd is not built
#   BGPIDS+=(PID) / cleanup_bg / forget PID background processes of the test, stopped by PID
#   t_ok DESC, t_fail DESC [DETAIL...], t_skip DESC REASON
#   t_check DESC CMD...                     ok when CMD exits 0; its output shown when not
#   t_eq DESC EXPECTED ACTUAL
#   t_summary
#   wait_port NS IP PORT [SECONDS]          until a TCP listener is there (default 10 s)
#   rss_kb PID                              resident set size in KiB
#   exitd_heap PID LOG                      an exitd's heap in use (bytes), from
#                                           the line SIGUSR1 makes it log
#   client_link                             the client's only link (its name in the client ns)
#   leak_start [ADDR:PORT...] / leak_stop   tund leakcheck on that link for the whole test
#   leak_verdict          leak_stop and one check of its verdict
#                                           (LEAK_PID; then LEAK_RC, LEAK_REPORT)
#   capture_start FILE / capture_stop       record the client's link with tcpdump (CAP_PID),
#                                           for looking at, not for verdicts
#
# Variables from $RUN/env after topo_up: RUN, TOPO_ID, NS_CLIENT NS_R1 NS_R2
# NS_R3 NS_INET, CLIENT_IP(6), R1_ADDR R1_PIN R1_PID (same for R2, R3),
# HAVE_EXITD, EXITD, DNS_IP(6), WEB_IP(6), WEB_NAME, WEB_MARKER, MAIL_IP,
# BIG_MB, BIG_SHA256, DNS_PID, WEB_PID, RELAYS (3 or 4), EXITS ("r3" or
# "r3 r4"); with TOPO_RELAYS=4 also NS_R4, R4_IP, R4_ADDR, R4_PIN, R4_PID.
# Set V=1 to print each namespace command before it runs.

TOPO_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOPO_SH=${TOPO_SH:-$TOPO_LIB_DIR/../../netns-scripts/topo.sh}

T_N=0
T_PASS=0
T_FAIL=0
TOPO_RUN=
TOPO_UP_PID=

pretty() {
	if [ "${V:-0}" = 1 ]; then
		printf '# [%s] %s\n' "$1" "$2" >&2
	fi
}

# The namespace names come from $RUN/env, read by topo_up.
n_client() { pretty client "$*"; ip netns exec "$NS_CLIENT" "$@"; }
n_r1() { pretty r1 "$*"; ip netns exec "$NS_R1" "$@"; }
n_r2() { pretty r2 "$*"; ip netns exec "$NS_R2" "$@"; }
n_r3() { pretty r3 "$*"; ip netns exec "$NS_R3" "$@"; }
n_r4() { pretty r4 "$*"; ip netns exec "${NS_R4:?no r4 in this topology (TOPO_RELAYS=4)}" "$@"; }
n_inet() { pretty inet "$*"; ip netns exec "$NS_INET" "$@"; }

# topo.sh up runs in the background so that a signal arriving while it
# builds is handled at once (bash runs traps only between foreground
# commands, but interrupts wait): topo_down then stops it, and its own trap
# removes what it had made.
topo_up() {
	local out rc=0
	out=$(mktemp)
	trap topo_down EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	"$TOPO_SH" up "$@" >"$out" &
	TOPO_UP_PID=$!
	wait "$TOPO_UP_PID" || rc=$?
	TOPO_UP_PID=
	TOPO_RUN=$(cat "$out")
	rm -f "$out"
	if [ "$rc" != 0 ] || [ ! -f "$TOPO_RUN/env" ]; then
		echo "Bail out! topo.sh up failed (exit $rc)"
		return 1
	fi
	# shellcheck source=/dev/null
	. "$TOPO_RUN/env"
}

# On failures, show the daemons' last words before they go away; with
# TOPO_KEEP=1 the whole run directory stays (topo.sh down honours it).
topo_down() {
	local run=$TOPO_RUN f
	if [ -n "$TOPO_UP_PID" ]; then
		kill -TERM "$TOPO_UP_PID" 2>/dev/null || true
		wait "$TOPO_UP_PID" 2>/dev/null || true
		TOPO_UP_PID=
	fi
	[ -n "$run" ] || return 0
	TOPO_RUN=
	if [ "$T_FAIL" -gt 0 ]; then
		for f in "$run"/r1.log "$run"/r2.log "$run"/r3.log "$run"/r4.log "$run"/nginx/error.log \
			"$run"/dnsmasq.stderr; do
			[ -s "$f" ] || continue
			echo "# --- last lines of $f"
			tail -n 15 "$f" | sed 's/^/#   /'
		done
	fi
	"$TOPO_SH" down "$run" || echo "# topo.sh down $run failed" >&2
}

# For tests that need the relays: without build/exitd, skip them all (TAP).
topo_need_exitd() {
	if [ "${HAVE_EXITD:-0}" != 1 ]; then
		echo "1..0 # SKIP exitd is not built"
		exit 0
	fi
}

# A test's own background processes: BGPIDS+=("$!") after starting one,
# cleanup_bg (in the EXIT trap) stops them all by PID.
BGPIDS=()
cleanup_bg() {
	local p
	for p in "${BGPIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	BGPIDS=()
}

# forget PID: a child reaped by wait is no longer ours to signal (its PID
# may be reused), so cleanup_bg must not see it.
forget() {
	local p keep=()
	for p in "${BGPIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	BGPIDS=("${keep[@]}")
}

t_ok() {
	T_N=$((T_N + 1))
	T_PASS=$((T_PASS + 1))
	echo "ok $T_N - $1"
}

t_fail() {
	local desc=$1
	shift
	T_N=$((T_N + 1))
	T_FAIL=$((T_FAIL + 1))
	echo "not ok $T_N - $desc"
	if [ $# -gt 0 ]; then
		printf '%s\n' "$@" | sed 's/^/#   /'
	fi
}

t_skip() {
	T_N=$((T_N + 1))
	T_PASS=$((T_PASS + 1))
	echo "ok $T_N - $1 # SKIP $2"
}

t_check() {
	local desc=$1 out rc
	shift
	if out=$("$@" 2>&1); then
		t_ok "$desc"
	else
		rc=$?
		t_fail "$desc" "command: $*" "exit: $rc" "$(printf '%s' "$out" | tail -n 20)"
	fi
}

t_eq() {
	if [ "$2" = "$3" ]; then
		t_ok "$1"
	else
		t_fail "$1" "expected: $2" "got:      $3"
	fi
}

t_summary() {
	echo "1..$T_N"
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}

wait_port() {
	local ns=$1 ip=$2 port=$3 secs=${4:-10} ap i
	case $ip in *:*) ap="[$ip]:$port" ;; *) ap="$ip:$port" ;; esac
	for ((i = 0; i < secs * 20; i++)); do
		if ip netns exec "$ns" ss -Hltn 2>/dev/null | awk -v ap="$ap" \
			-v w4="0.0.0.0:$port" -v w6="[::]:$port" -v w="*:$port" \
			'$4 == ap || $4 == w4 || $4 == w6 || $4 == w { f = 1 } END { exit !f }'; then
			return 0
		fi
		sleep 0.05
	done
	echo "# wait_port: nothing listens on $ap in $ns after $secs s" >&2
	return 1
}

rss_kb() {
	local kb
	kb=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
	[ -n "$kb" ] || return 1
	echo "$kb"
}
exitd_heap() {
	local n i line
	n=$(grep -c 'SIGUSR1: ' "$2")
	kill -USR1 "$1" || return 1
	for ((i = 0; i < 50; i++)); do
		[ "$(grep -c 'SIGUSR1: ' "$2")" -gt "$n" ] && break
		sleep 0.1
	done
	line=$(grep 'SIGUSR1: ' "$2" | tail -n 1)
	[[ $line =~ heap\ ([0-9]+)\ bytes\ in\ use ]] || return 1
	echo "${BASH_REMATCH[1]}"
}

client_link() {
	ip -n "$NS_CLIENT" -o link show | awk -F': ' '$2 != "lo" && $2 !~ /^tun/ { sub(/@.*/, "", $2); print $2; exit }'
}

# The leak verdict for a whole test: tund leakcheck on the client's only
# link, told that the topology's relays (and each extra relay address
# given, such as "[2001:db8:0:3::2]:9009") are the only peers allowed: any
# other packet, DNS above all, is a leak. leak_start waits until it
# listens and sets LEAK_PID (the caller adds it to its own cleanup);
# leak_stop ends it with SIGINT and sets LEAK_RC (0: no leak, 1: leaks,
# 3: the capture dropped packets) and LEAK_REPORT (its leak lines and
# verdict).
leak_start() {
	local conf=$RUN/leakcheck.conf i=0 a
	{
		echo "# the relays the client may talk to (written by lib.sh)"
		echo "relay r1 $R1_ADDR $R1_PIN"
		echo "relay r2 $R2_ADDR $R2_PIN"
		echo "relay r3 $R3_ADDR $R3_PIN exit"
		[ -z "${R4_ADDR:-}" ] || echo "relay r4 $R4_ADDR $R4_PIN exit"
		for a in "$@"; do
			i=$((i + 1))
			echo "relay extra$i $a $R1_PIN exit"
		done
		echo "hops 1"
		echo "socks 127.0.0.1:1"
	} >"$conf"
	ip netns exec "$NS_CLIENT" "${TUND:-$TOPO_LIB_DIR/../../build/tund}" leakcheck -c "$conf" \
		-i "$(client_link)" >"$RUN/leakcheck.out" 2>"$RUN/leakcheck.err" &
	LEAK_PID=$!
	for ((i = 0; i < 100; i++)); do
		grep -q listening "$RUN/leakcheck.err" 2>/dev/null && return 0
		kill -0 "$LEAK_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "# leakcheck did not start: $(cat "$RUN/leakcheck.err")" >&2
	return 1
}

leak_stop() {
	LEAK_RC=0
	kill -INT "$LEAK_PID" 2>/dev/null || true
	wait "$LEAK_PID" || LEAK_RC=$?
	# Its own remarks first, then the leak lines, the verdict last.
	LEAK_REPORT=$({
		grep -v 'listening\|relays:' "$RUN/leakcheck.err"
		tail -n 12 "$RUN/leakcheck.out"
	} 2>/dev/null)
}

# start_exitd NS NAME IP PORT: a second exitd in namespace NS with
# $RUN/NAME.conf (which listens on IP:PORT), logging to $RUN/NAME.log;
# sets EXITD_PID (also in BGPIDS) once it listens. ip netns exec execs
# exitd, so the PID is exitd's own.
start_exitd() {
	ip netns exec "$1" "$EXITD" -c "$RUN/$2.conf" 2>"$RUN/$2.log" &
	EXITD_PID=$!
	BGPIDS+=("$EXITD_PID")
	wait_port "$1" "$3" "$4"
}

# stop_bg PID...: SIGTERM each background process this test started, reap it.
stop_bg() {
	local pid
	for pid in "$@"; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		forget "$pid"
	done
}

# need_tund: sets TUND (default build/tund of this tree); without it, the
# test has nothing to run (TAP skip, as for the relays below).
need_tund() {
	TUND=${TUND:-$TOPO_LIB_DIR/../../build/tund}
	if [ ! -x "$TUND" ]; then
		echo "1..0 # SKIP tund is not built"
		exit 0
	fi
}

# status_eval SOCKET EXPR: EXPR in Python over `tund status --json` from that
# control socket (j: the JSON; r: its relays by name); needs TUND.
status_eval() {
	timeout 5 "$TUND" status -s "$1" --json 2>&1 | python3 -c '
import json, sys
try:
    j = json.load(sys.stdin)
except Exception as e:
    print("no JSON: %s" % e)
    sys.exit(0)
r = {x["name"]: x for x in j["relays"]}
print(eval(sys.argv[1]))' "$2" 2>&1 || true
}

# leak_verdict: leak_stop, then one check of its verdict.
leak_verdict() {
	leak_stop
	forget "$LEAK_PID"
	if [ "$LEAK_RC" -eq 0 ] && grep -q 'no leak$' <<<"$LEAK_REPORT"; then
		t_ok "tund leakcheck: $(tail -n 1 <<<"$LEAK_REPORT")"
	else
		t_fail "tund leakcheck: only relay TCP on the client's link" "exit $LEAK_RC" "$LEAK_REPORT"
	fi
}

# A tcpdump capture of the client's link, to look at when something fails
# (the verdicts are leakcheck's). capture_start FILE starts tcpdump and
# waits until it listens (sets CAP_PID and CAP_LINK; the caller adds
# CAP_PID to its own cleanup); capture_stop ends it.
capture_start() {
	local i
	CAP_LINK=$(client_link)
	# --immediate-mode: without it libpcap hands packets over in blocks, and
	# the last ones before capture_stop would never be looked at. -B: a
	# 32 MiB buffer, so a burst at full speed is not dropped.
	ip netns exec "$NS_CLIENT" tcpdump --immediate-mode -B 32768 -i "$CAP_LINK" -n -U -s 0 -w "$1" 2>"$1.log" &
	CAP_PID=$!
	for ((i = 0; i < 50; i++)); do
		grep -q listening "$1.log" 2>/dev/null && break
		sleep 0.1
	done
}

capture_stop() {
	kill -INT "$CAP_PID" 2>/dev/null || true
	wait "$CAP_PID" 2>/dev/null || true
}

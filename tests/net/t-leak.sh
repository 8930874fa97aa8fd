#!/bin/bash
# SPDX-License-Identifier: MIT
#
# t-leak.sh: `tund leakcheck` on a live link, in two namespaces of its own
# (not lib.sh's topology: nothing here needs relays or a web server).
#
#   tlkPID-c                                 tlkPID-r
#   vc ──────────────── veth ─────────────── vr
#   192.0.2.1/24, 2001:db8::1/64             192.0.2.2/24, 2001:db8::2/64
#   tund leakcheck -c CONF -i vc             a "relay": tests/vectors/relay.py,
#                                            echo on :9001, IPv4 and IPv6
#
#   CONF: relays 192.0.2.2:9001 and [2001:db8::2]:9001 (and a socks line,
#   which tund's configuration still wants).
# Checked:
#   - usage, configuration and capture errors exit 2;
#   - -r on the recorded captures (tests/vectors): relay traffic exits 0
#     "no leak", the SNI capture exits 1 naming the name, -q prints only
#     the verdict;
#   - live, run 1: relay TCP over IPv4 and IPv6, then SIGINT: exit 0, "no
#     leak", relay packets counted, 0 dropped, and the stop is prompt;
#   - live, run 2: one DNS query (dig @192.0.2.2 www.example.test), then
#     SIGTERM at once: exit 1, a "leak:" line with DNS and the name: the
#     last packets before the signal are read;
#   - live, run 3: -s 1 ends by itself, exit 0.
# Everything happens in the two namespaces, with documentation addresses;
# both are removed, and the processes started here stopped by PID, on
# every exit.
set -eu
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
need_tund
VECTORS=$ROOT/tests/vectors
NC="tlk$$-c"
NR="tlk$$-r"
TMP=$(mktemp -d)
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	ip netns del "$NC" 2>/dev/null || true
	ip netns del "$NR" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

n_c() { ip netns exec "$NC" "$@"; }

cat >"$TMP/tund.conf" <<EOF
relay r1 192.0.2.2:9001 sha256:$(printf '%064d' 0) exit
relay r2 [2001:db8::2]:9001 sha256:$(printf '%064d' 1) exit
hops 1
socks 127.0.0.1:1080
EOF

# lc_rc DESC WANT ARGS...: runs leakcheck, checks its exit status; output in $TMP/lc.{out,err}.
lc_rc() {
	local desc=$1 want=$2 rc=0
	shift 2
	"$TUND" leakcheck "$@" >"$TMP/lc.out" 2>"$TMP/lc.err" || rc=$?
	t_eq "$desc: exit $want" "$want" "$rc"
}

# --- without a capture ---
lc_rc "no arguments" 2
lc_rc "no config" 2 -i lo
lc_rc "missing config" 2 -c "$TMP/none.conf" -i lo
lc_rc "-i and -r" 2 -c "$TMP/tund.conf" -i lo -r "$VECTORS/eth-relay.pcap"
lc_rc "-s with -r" 2 -c "$TMP/tund.conf" -s 5 -r "$VECTORS/eth-relay.pcap"
lc_rc "-s 0" 2 -c "$TMP/tund.conf" -s 0 -i lo
lc_rc "-s 12x" 2 -c "$TMP/tund.conf" -s 12x -i lo
lc_rc "no such file" 2 -c "$TMP/tund.conf" -r "$TMP/none.pcap"

lc_rc "-r eth-relay.pcap" 0 -c "$TMP/tund.conf" -r "$VECTORS/eth-relay.pcap"
t_check "-r eth-relay.pcap: verdict" \
	grep -qE '^leakcheck: [0-9]+ packets, [1-9][0-9]* with relays, .* 0 leaks: no leak$' \
	"$TMP/lc.out"
lc_rc "-r eth-tls.pcap" 1 -c "$TMP/tund.conf" -r "$VECTORS/eth-tls.pcap"
t_check "-r eth-tls.pcap: the SNI named" \
	grep -q '^leak: [0-9:.]* TLS SNI in clear: www.example.test, TCP 192.0.2.1:' "$TMP/lc.out"
t_check "-r eth-tls.pcap: verdict LEAK" grep -q '1 leak (1 sni): LEAK$' "$TMP/lc.out"
lc_rc "-r eth-leaks.pcap -q" 1 -q -c "$TMP/tund.conf" -r "$VECTORS/eth-leaks.pcap"
t_eq "-q: only the verdict" 1 "$(wc -l <"$TMP/lc.out")"
t_check "-q: the verdict" grep -qE '^leakcheck: [0-9]+ packets, .* leaks \(10 dns, 10 ip\): LEAK$' \
	"$TMP/lc.out"

# --- live ---
ip netns add "$NC"
ip netns add "$NR"
ip -n "$NC" link add vc type veth peer name vr netns "$NR"
ip -n "$NC" link set lo up
ip -n "$NR" link set lo up
ip -n "$NC" addr add 192.0.2.1/24 dev vc
ip -n "$NC" addr add 2001:db8::1/64 dev vc nodad
ip -n "$NR" addr add 192.0.2.2/24 dev vr
ip -n "$NR" addr add 2001:db8::2/64 dev vr nodad
ip -n "$NC" link set vc up
ip -n "$NR" link set vr up

lc_rc "no such interface" 2 -c "$TMP/tund.conf" -i "nosuch$$"

# Started with ip netns exec itself, so that $! is the process and kill reaches it.
ip netns exec "$NR" python3 "$VECTORS/relay.py" 192.0.2.2 2001:db8::2 \
	>"$TMP/relay.log" 2>&1 &
PIDS+=("$!")
wait_port "$NR" 192.0.2.2 9001
wait_port "$NR" 2001:db8::2 9001

LC_PID=
# lc_start ARGS...: leakcheck in the client namespace until "listening".
lc_start() {
	local i
	: >"$TMP/live.err"
	ip netns exec "$NC" "$TUND" leakcheck -c "$TMP/tund.conf" -i vc "$@" \
		>"$TMP/live.out" 2>"$TMP/live.err" &
	LC_PID=$!
	PIDS+=("$LC_PID")
	for ((i = 0; i < 100; i++)); do
		grep -q '^leakcheck: listening on vc$' "$TMP/live.err" && return 0
		kill -0 "$LC_PID" 2>/dev/null || break
		sleep 0.05
	done
	t_fail "leakcheck $* did not start" "$(cat "$TMP/live.err")"
	return 1
}

# lc_stop SIGNAL: signals it, waits; sets LC_RC and LC_MS (from the signal to its exit).
lc_stop() {
	local t0 t1
	t0=$(date +%s%N)
	kill "-$1" "$LC_PID"
	LC_RC=0
	wait "$LC_PID" || LC_RC=$?
	t1=$(date +%s%N)
	LC_MS=$(((t1 - t0) / 1000000))
}

# Run 1: only relay traffic.
if lc_start; then
	t_check "relay TCP over IPv4" n_c python3 "$VECTORS/client.py" 192.0.2.2 9001 100000
	t_check "relay TCP over IPv6" n_c python3 "$VECTORS/client.py" 2001:db8::2 9001 100000
	lc_stop INT
	t_eq "run 1 (relay only): exit 0" 0 "$LC_RC"
	re='^leakcheck: [0-9]+ packets, [1-9][0-9]* with relays, [0-9]+ link housekeeping, '
	re+='0 leaks, 0 dropped: no leak$'
	t_check "run 1: no leak, nothing dropped" grep -qE "$re" "$TMP/live.out"
	t_eq "run 1: no leak line" 0 "$(grep -c '^leak:' "$TMP/live.out" || true)"
	if [ "$LC_MS" -lt 2000 ]; then
		t_ok "run 1: stops promptly on SIGINT (${LC_MS} ms)"
	else
		t_fail "run 1: stops promptly on SIGINT" "took ${LC_MS} ms"
	fi
fi
echo "# $(tail -n 1 "$TMP/live.out")"

# Run 2: one DNS query, the signal right after it.
if lc_start; then
	n_c dig +tries=1 +time=1 @192.0.2.2 www.example.test A >/dev/null 2>&1 || true
	lc_stop TERM
	t_eq "run 2 (a DNS query): exit 1" 1 "$LC_RC"
	re='^leak: [0-9:.]+ DNS query www\.example\.test A, UDP 192\.0\.2\.1:[0-9]+ > '
	re+='192\.0\.2\.2:53$'
	t_check "run 2: a leak line names DNS and the name" grep -qE "$re" "$TMP/live.out"
	re='^leakcheck: .* [1-9][0-9]* leaks? \(.*dns.*\), 0 dropped: LEAK$'
	t_check "run 2: verdict LEAK" grep -qE "$re" "$TMP/live.out"
	sed 's/^/# /' "$TMP/live.out"
fi

# Run 3: -s ends it without a signal.
t0=$(date +%s%N)
if lc_start -s 1; then
	n_c python3 "$VECTORS/client.py" 192.0.2.2 9001 || true
	LC_RC=0
	wait "$LC_PID" || LC_RC=$?
	LC_MS=$((($(date +%s%N) - t0) / 1000000))
	t_eq "run 3 (-s 1): exit 0" 0 "$LC_RC"
	t_check "run 3: no leak" grep -q ', 0 dropped: no leak$' "$TMP/live.out"
	if [ "$LC_MS" -lt 4000 ]; then
		t_ok "run 3: ended by itself (${LC_MS} ms)"
	else
		t_fail "run 3: ended by itself" "took ${LC_MS} ms"
	fi
fi

t_summary

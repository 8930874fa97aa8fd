#!/bin/bash
# SPDX-License-Identifier: MIT
#
# t-tund.sh: tund's SOCKS5 entrance, end to end, in namespaces, over four
# relays chosen at random per circuit (TOPO_RELAYS=4).
#
#   curl ── tund ──── r1 ──── r2 ──── r3 ──── inet
#   (client ns)      exitd   exitd   exitd    dnsmasq, nginx
#   SOCKS5 on        relay   relay   exit
#   127.0.0.1                  │
#                              r4  exitd, exit
#
#   relay r1..r4 in tund's config, r3 and r4 flagged exit, hops 3: every
#   circuit is three distinct relays with r3 or r4 last, so r1 and r2 are
#   middles on about 2/3 of the paths each.
#
# Two tund instances run in the client namespace, one after the other:
#   B (127.0.0.1:1081) has r1's pin for r2, so r2 can never pass;
#   A (127.0.0.1:1080) has the right pins.
# Checked:
#   - tund -t accepts a config, and refuses one with a bad pin naming file:line
#     (and tund without -t refuses to start with it);
#   - B: 10 pages arrive, r2 carries no stream (no "cmd 0x01" line in r2's
#     log), and `tund status` (JSON and text) shows r2 never ok, failed,
#     with "pin mismatch";
#   - A: a page by host name (--socks5-hostname); a burst of 40 parallel
#     fetches, after which the pool target is at least 20 (the pool grows
#     with the busiest 100 ms of the last 10 s; one curl --parallel
#     opens the 40 at once); the exit's reply codes (0x02, 0x04, 0x05) reach curl, which
#     fails with exit 97, and `tund status` counts them under
#     streams.refused; 50 parallel downloads of /big, each by SHA-256;
#   - SIGHUP: A reloads a config without r2 (3 relays listed, fetches work,
#     r2 carries no stream), keeps its relays on an invalid config, and goes
#     back to four relays;
#   - r1's exitd killed (SIGKILL) during 20 parallel downloads of /slow:
#     some fail, some complete exactly, none completes wrong; then 10 new
#     fetches all go around r1, and `tund status` shows r1 failed; r1
#     restarted is used again once its back-off ends;
#   - then r2's exitd blackholed (ip rule blackhole in its namespace) during
#     a download through it (a third instance C, path r1 r2 r3): the stream
#     ends within 20 s (keep-alives on hop sockets), A's new fetches go
#     around r2 and C's status shows r2 failed;
#   - RESOLVE and RESOLVE_PTR through tund; names the exit never resolves:
#     localhost and .localhost (0x02), .invalid (0x04), IP literals in
#     disguise taken as their address (127.1 refused by policy, 0x02;
#     RESOLVE of 0x7f.1 answers 127.0.0.1);
#   - SIGTERM: both instances exit 0;
#   - tund leakcheck on the client's only link for the whole run: nothing but
#     TCP with the relays' address and port (no DNS, no name in clear).
set -eu
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
need_tund
export TOPO_RELAYS=4
# /slow sends /big at 2 MB/s: its size sets how long part 7 lasts (curl gives up at 30 s).
export TOPO_BIG_MB=8
# A short request-timeout at the relays: ready circuits must still survive
# it while they wait idle for their request (checked in part 2).
export TOPO_EXITD_EXTRA="request-timeout 2s"
T_START=$(date +%s)
topo_up
topo_need_exitd

BGPIDS=()
trap 'cleanup_bg; topo_down' EXIT

PORT=${R1_ADDR##*:}
A_PORT=1080
B_PORT=1081
A_CONF=$RUN/tund-a.conf
B_CONF=$RUN/tund-b.conf
A_SOCK=$RUN/tund-a.sock
B_SOCK=$RUN/tund-b.sock

# conf FILE SOCKS_PORT CONTROL [R2_PIN|none]: all four relays (without r2
# for "none"), hops 3.
conf() {
	local r2pin=${4:-$R2_PIN}
	{
		echo "# written by t-tund.sh"
		echo "relay r1 $R1_ADDR $R1_PIN"
		[ "$r2pin" = none ] || echo "relay r2 $R2_ADDR $r2pin"
		echo "relay r3 $R3_ADDR $R3_PIN exit"
		echo "relay r4 $R4_ADDR $R4_PIN exit"
		echo "hops 3"
		echo "pool 4"
		echo "socks 127.0.0.1:$2"
		echo "control $3"
		echo "log info"
	} >"$1.tmp"
	mv "$1.tmp" "$1"
}

# fetch PORT URL [curl options...]: through that tund's SOCKS5 entrance.
fetch() {
	local port=$1
	shift
	n_client curl -fsS --max-time 10 --socks5-hostname "127.0.0.1:$port" "$@"
}

# pages PORT N: N sequential fetches of /; prints how many held the page.
pages() {
	local i ok=0 out
	for i in $(seq 1 "$2"); do
		out=$(fetch "$1" "http://$WEB_NAME/" 2>&1 || true)
		case $out in *"$WEB_MARKER"*) ok=$((ok + 1)) ;; esac
	done
	echo "$ok"
}

# Streams a relay carried: exitd logs one "cmd 0x01" line per CONNECT it
# served (a failed handshake logs cmd 0x00).
streams_of() { grep -c 'cmd 0x01' "$RUN/$1.log" || true; }

# start_tund NAME CONF PORT: ip netns exec execs tund, so $! is tund itself.
start_tund() {
	ip netns exec "$NS_CLIENT" "$TUND" -c "$2" 2>"$RUN/tund-$1.log" &
	TPID=$!
	BGPIDS+=("$TPID")
	wait_port "$NS_CLIENT" 127.0.0.1 "$3"
}

# stop_tund DESC PID: SIGTERM, then its exit status must be 0 within 5 s.
stop_tund() {
	local desc=$1 pid=$2 rc=0 i
	kill -TERM "$pid"
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		t_fail "$desc" "still running 5 s after SIGTERM"
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		forget "$pid"
		return
	fi
	wait "$pid" || rc=$?
	forget "$pid"
	t_eq "$desc" 0 "$rc"
}

# Everything the client namespace sends or receives on its only link is
# recorded (as in t-chain.sh); checked at the end.
leak_start
BGPIDS+=("$LEAK_PID")

# --- 1. Configuration check
conf "$A_CONF" "$A_PORT" "$A_SOCK"
conf "$B_CONF" "$B_PORT" "$B_SOCK" "$R1_PIN"
t_eq "tund -t accepts the configuration" "configuration OK" "$("$TUND" -c "$A_CONF" -t 2>&1 || true)"
bad=$RUN/tund-bad.conf
sed "s|^relay r2 .*|relay r2 $R2_ADDR sha256:0123456789abcdef|" "$A_CONF" >"$bad"
err=$("$TUND" -c "$bad" -t 2>&1) && rc=0 || rc=$?
case "$rc:$err" in
0:*) t_fail "tund -t refuses a bad pin, naming file and line" "exit 0" "$err" ;;
*"$bad:3:"*) t_ok "tund -t refuses a bad pin, naming file and line ($bad:3)" ;;
*) t_fail "tund -t refuses a bad pin, naming file and line" "exit $rc" "$err" ;;
esac
err=$(n_client timeout 5 "$TUND" -c "$bad" 2>&1) && rc=0 || rc=$?
case "$rc:$err" in
1:*"$bad:3:"*) t_ok "tund refuses to start with it (exit 1)" ;;
*) t_fail "tund refuses to start with a bad pin" "exit $rc" "$err" ;;
esac

# --- 6. Instance B: r2's pin is wrong, so r2 is never used
r2_before=$(streams_of r2)
start_tund b "$B_CONF" "$B_PORT"
BPID=$TPID
t_eq "B (r2 with a wrong pin): 10 pages all arrive" 10 "$(pages "$B_PORT" 10)"
got=$(status_eval "$B_SOCK" '"ok=%d failed>=1:%s pin:%s" % (r["r2"]["ok"], r["r2"]["failed"] >= 1, "pin mismatch" in r["r2"]["last_error"])')
if [ "$got" = "ok=0 failed>=1:True pin:True" ]; then
	t_ok "B: status --json shows r2 never ok, failed $(status_eval "$B_SOCK" 'r["r2"]["failed"]') times, pin mismatch"
else
	t_fail "B: status --json shows r2 never ok, failed, pin mismatch" "$got" "$("$TUND" status -s "$B_SOCK" --json 2>&1)"
fi
txt=$("$TUND" status -s "$B_SOCK" 2>&1 || true)
if printf '%s\n' "$txt" | grep -q '^ *r2 .*pin mismatch'; then
	t_ok "B: the text status shows r2's pin mismatch"
else
	t_fail "B: the text status shows r2's pin mismatch" "$txt"
fi
stop_tund "SIGTERM: instance B exits 0" "$BPID"
sleep 0.3
r2_after=$(streams_of r2)
t_eq "B: r2 carried no stream (no new 'cmd 0x01' line in r2's log)" "$r2_before" "$r2_after"

# --- 2. Instance A: a page by host name
start_tund a "$A_CONF" "$A_PORT"
APID=$TPID
page=$(fetch "$A_PORT" "http://$WEB_NAME/" 2>&1 || true)
case $page in
*"$WEB_MARKER"*) t_ok "curl --socks5-hostname through tund: the page" ;;
*) t_fail "curl --socks5-hostname through tund: the page" "$page" ;;
esac
# Ready circuits wait idle for their request at the exit; the relays'
# request-timeout (2 s here) counts from the request's first byte, so an
# idle pool is not torn down and rebuilt.
sleep 1
built0=$(status_eval "$A_SOCK" 'j["circuits"]["built"]')
sleep 3
st=$(status_eval "$A_SOCK" '"%d %d" % (j["circuits"]["built"], j["circuits"]["ready"])')
t_eq "ready circuits outlive the relays' request-timeout (no rebuilds in 3 s)" "$built0 4" "$st"

# --- 4. A burst of 40 parallel fetches; the pool grows with demand
# One curl opens all 40 at once (--parallel): 40 processes started one
# by one from here spread over more than the pool's 100 ms demand slot
# on a loaded machine, and the burst would not be one.
target0=$(status_eval "$A_SOCK" 'j["circuits"]["target"]')
args=()
for i in $(seq 1 40); do
	args+=(-o "$RUN/burst.$i" "http://$WEB_NAME/")
done
rc=0
ip netns exec "$NS_CLIENT" curl -fsS --max-time 20 --parallel --parallel-immediate --parallel-max 40 \
	--socks5-hostname "127.0.0.1:$A_PORT" "${args[@]}" 2>"$RUN/burst.err" || rc=$?
ok=0
errs=
for i in $(seq 1 40); do
	if grep -q "$WEB_MARKER" "$RUN/burst.$i" 2>/dev/null; then
		ok=$((ok + 1))
	else
		errs="$errs burst.$i missing;"
	fi
done
[ "$rc" = 0 ] || errs="$errs curl exit $rc: $(head -c 300 "$RUN/burst.err")"
t_eq "a burst of 40 parallel fetches all succeed" 40 "$ok${errs:+ ($errs)}"
target=$(status_eval "$A_SOCK" 'j["circuits"]["target"]')
if [ "$target" -ge 20 ] 2>/dev/null && [ "$target0" -lt 20 ] 2>/dev/null; then
	t_ok "the pool target grew with the burst ($target0 before, $target after)"
else
	t_fail "the pool target grew with the burst (>= 20)" "before: $target0" "after:  $target"
fi

# --- 5. Reply codes reach the application
refused0=$(status_eval "$A_SOCK" 'j["streams"]["refused"]')
code() {
	local desc=$1 want=$2 url=$3 rc=0 err
	err=$(fetch "$A_PORT" "$url" -o /dev/null 2>&1) || rc=$?
	case "$rc:$err" in
	"97:"*"($want)"*) t_ok "$desc: curl exits 97, SOCKS reply $want" ;;
	*) t_fail "$desc: curl exits 97, SOCKS reply $want" "exit $rc" "$err" ;;
	esac
}
code "port 22, outside the exits' policy" 2 "http://$WEB_NAME:22/"
code "an unknown name" 4 "http://nx.example.test/"
code "a closed port" 5 "http://$DNS_IP:80/"
refused=$(status_eval "$A_SOCK" 'j["streams"]["refused"]')
t_eq "status --json counts the three under streams.refused" "$((refused0 + 3))" "$refused"

# --- 3. 50 parallel downloads of /big, each by SHA-256
t0=$(date +%s%N)
pids=()
for i in $(seq 1 50); do
	ip netns exec "$NS_CLIENT" curl -fsS --max-time 60 --socks5-hostname "127.0.0.1:$A_PORT" \
		-o "$RUN/big.$i" "http://$WEB_NAME/big" 2>"$RUN/big.$i.err" &
	pids+=($!)
done
BGPIDS+=("${pids[@]}")
ok=0
errs=
for i in $(seq 1 50); do
	rc=0
	wait "${pids[$((i - 1))]}" || rc=$?
	forget "${pids[$((i - 1))]}"
	sum=$(sha256sum "$RUN/big.$i" 2>/dev/null | cut -d' ' -f1)
	if [ "$rc" = 0 ] && [ "$sum" = "$BIG_SHA256" ]; then
		ok=$((ok + 1))
	else
		errs="$errs big.$i: exit $rc sum ${sum:-none} $(head -c 200 "$RUN/big.$i.err");"
	fi
	rm -f "$RUN/big.$i"
done
ms=$((($(date +%s%N) - t0) / 1000000))
t_eq "50 parallel downloads of /big ($BIG_MB MiB) all arrive with the right SHA-256 ($ms ms)" 50 "$ok${errs:+ ($errs)}"

# --- 8. SIGHUP: without r2, an invalid config, then back to four relays
names() { status_eval "$A_SOCK" '" ".join(x["name"] for x in j["relays"])'; }
# hup WANT: SIGHUP, then until the status lists WANT (at most 3 s).
hup() {
	local i got
	kill -HUP "$APID"
	for i in $(seq 1 30); do
		got=$(names)
		[ "$got" = "$1" ] && break
		sleep 0.1
	done
	echo "$got"
}
conf "$A_CONF" "$A_PORT" "$A_SOCK" none
t_eq "SIGHUP with r2 dropped: the status lists 3 relays" "r1 r3 r4" "$(hup "r1 r3 r4")"
txt=$("$TUND" status -s "$A_SOCK" 2>&1 || true)
t_eq "the text status lists 3 relays too" "r1 r3 r4" "$(printf '%s\n' "$txt" | awk '/^relays:/ { f = 1; next } f { print $1 }' | xargs)"
sleep 1 # the flushed circuits' relays log their ends
r2_before=$(streams_of r2)
t_eq "after the reload: 10 pages all arrive" 10 "$(pages "$A_PORT" 10)"
sleep 0.3
t_eq "after the reload: r2 carried no stream" "$r2_before" "$(streams_of r2)"
printf 'relay r1 %s %s\nfrobnicate 1\n' "$R1_ADDR" "$R1_PIN" >"$A_CONF"
kill -HUP "$APID"
sleep 0.5
t_eq "SIGHUP with an invalid config: the relays in use stay" "r1 r3 r4" "$(names)"
if grep -q "SIGHUP: .*not valid" "$RUN/tund-a.log"; then
	t_ok "the invalid config is logged"
else
	t_fail "the invalid config is logged" "$(tail -n 5 "$RUN/tund-a.log")"
fi
t_eq "after the invalid reload: 3 pages arrive" 3 "$(pages "$A_PORT" 3)"
conf "$A_CONF" "$A_PORT" "$A_SOCK"
t_eq "SIGHUP back to four relays: the status lists 4" "r1 r2 r3 r4" "$(hup "r1 r2 r3 r4")"
t_eq "with four relays again: 3 pages arrive" 3 "$(pages "$A_PORT" 3)"

# --- 7. r1 dies during 20 downloads of /slow (8 MiB at 2 MB/s, about 4 s)
pids=()
for i in $(seq 1 20); do
	ip netns exec "$NS_CLIENT" curl -fsS --max-time 30 --socks5-hostname "127.0.0.1:$A_PORT" \
		-o "$RUN/slow.$i" "http://$WEB_NAME/slow" 2>"$RUN/slow.$i.err" &
	pids+=($!)
done
BGPIDS+=("${pids[@]}")
sleep 1
kill -KILL "$R1_PID"
done_ok=0 failed=0 wrong=0
for i in $(seq 1 20); do
	rc=0
	wait "${pids[$((i - 1))]}" || rc=$?
	forget "${pids[$((i - 1))]}"
	sum=$(sha256sum "$RUN/slow.$i" 2>/dev/null | cut -d' ' -f1)
	if [ "$rc" != 0 ]; then
		failed=$((failed + 1))
	elif [ "$sum" = "$BIG_SHA256" ]; then
		done_ok=$((done_ok + 1))
	else
		wrong=$((wrong + 1))
	fi
	rm -f "$RUN/slow.$i"
done
if [ "$failed" -ge 1 ] && [ "$done_ok" -ge 1 ] && [ "$wrong" -eq 0 ]; then
	t_ok "r1 killed mid-transfer: $failed of 20 downloads failed, $done_ok completed exactly"
else
	t_fail "r1 killed mid-transfer: some fail, some complete exactly, none wrong" \
		"failed $failed, completed $done_ok, completed with a wrong sum $wrong"
fi
t_eq "after r1 died: 10 new fetches all arrive (paths go around r1)" 10 "$(pages "$A_PORT" 10)"
got=$(status_eval "$A_SOCK" 'r["r1"]["failed"]')
if [ "$got" -ge 1 ] 2>/dev/null; then
	t_ok "status --json shows r1 failed ($got, last: $(status_eval "$A_SOCK" 'r["r1"]["last_error"]'))"
else
	t_fail "status --json shows r1 failed" "$got"
fi

# --- RESOLVE and RESOLVE_PTR through the entrance (curl uses neither); paths through r2, r3, r4
# still work after r1 died.
got=$(ip netns exec "$NS_CLIENT" python3 "$ROOT/tests/net/socks-lookup.py" "$A_PORT" resolve "$WEB_NAME" 2>&1 || true)
case $got in
"0 $WEB_IP" | "0 $WEB_IP6") t_ok "RESOLVE through tund: the exit's answer ($got)" ;;
*) t_fail "RESOLVE through tund" "$got" ;;
esac
t_eq "RESOLVE_PTR through tund" "0 $WEB_NAME" \
	"$(ip netns exec "$NS_CLIENT" python3 "$ROOT/tests/net/socks-lookup.py" "$A_PORT" ptr "$WEB_IP" 2>&1 || true)"
t_eq "RESOLVE of an unknown name: the exit's 0x04 unchanged" "4 -" \
	"$(ip netns exec "$NS_CLIENT" python3 "$ROOT/tests/net/socks-lookup.py" "$A_PORT" resolve nx.example.test 2>&1 || true)"
# Names the exit must not resolve: localhost and .localhost refused (0x02),
# .invalid unreachable (0x04), IP literals in disguise taken as the address
# they spell, which the policy then sees (127.0.0.1: refused, 0x02;
# without this they went to DNS and came back 0x04).
sl() { ip netns exec "$NS_CLIENT" python3 "$ROOT/tests/net/socks-lookup.py" "$A_PORT" "$@" 2>&1 || true; }
t_eq "CONNECT localhost, x.LocalHost., www.example.invalid, 127.1, 0x7f.1, 2130706433." \
	"2 - / 2 - / 4 - / 2 - / 2 - / 2 -" \
	"$(sl connect localhost) / $(sl connect x.LocalHost.) / $(sl connect www.example.invalid) / $(sl connect 127.1) / $(sl connect 0x7f.1) / $(sl connect 2130706433.)"
t_eq "RESOLVE 0x7f.1 and 0xcb.0.113.80: the addresses they spell, not DNS's" \
	"0 127.0.0.1 / 0 203.0.113.80" "$(sl resolve 0x7f.1) / $(sl resolve 0xcb.0.113.80)"

# --- 7c. r1 restarted (its key, its address): once its back-off ends, new
# streams use it again.
cp "$RUN/r1.conf" "$RUN/r1b.conf"
start_exitd "$NS_R1" r1b "$R1_IP" "$PORT"
t0=$(date +%s)
used=0
for _ in $(seq 1 40); do
	pages "$A_PORT" 4 >/dev/null
	used=$(grep -c 'cmd 0x01' "$RUN/r1b.log" || true)
	[ "$used" -ge 1 ] && break
	sleep 1
done
if [ "$used" -ge 1 ]; then
	t_ok "r1 restarted: new streams use it again after $(($(date +%s) - t0)) s (back-off: $(status_eval "$A_SOCK" 'r["r1"]["avoided_ms"]') ms left)"
else
	t_fail "r1 restarted: new streams use it again" "no stream through it in 40 rounds" \
		"$(status_eval "$A_SOCK" 'r["r1"]')"
fi

# --- 7b. (after r1 is back) r2's exitd blackholed (policy rules of type blackhole in r2's
# namespace: it receives, but nothing it sends leaves, no RST, no ICMP;
# r2 still forwards) during a download
# through it: r1 finds out from the keep-alives on its hop socket
# (src/hopsock.c: 5 s idle, 4 probes 3 s apart) and the stream ends within 20 s;
# new streams of A go around r2, and C's status says r2 failed.
C_CONF=$RUN/tund-c.conf
C_SOCK=$RUN/tund-c.sock
C_PORT=1082
conf "$C_CONF" "$C_PORT" "$C_SOCK"
sed -i 's/^hops 3$/path r1 r2 r3/' "$C_CONF"
start_tund c "$C_CONF" "$C_PORT"
CPID=$TPID
ip netns exec "$NS_CLIENT" curl -fsS --max-time 60 --socks5-hostname "127.0.0.1:$C_PORT" \
	-o /dev/null "http://$WEB_NAME/slow" 2>"$RUN/bh.err" &
bh=$!
BGPIDS+=("$bh")
sleep 1
# Only what r2's exitd sends (from or to the relay port, iif lo: locally
# made); r2 still forwards, as r1 reaches r3 and r4 through it.
bh_rules() {
	local v
	for v in -4 -6; do
		n_r2 ip "$v" rule "$1" pref 5 iif lo ipproto tcp sport "$PORT" blackhole
		n_r2 ip "$v" rule "$1" pref 6 iif lo ipproto tcp dport "$PORT" blackhole
	done
}
bh_rules add
t0=$(date +%s%N)
rc=0
wait "$bh" || rc=$?
forget "$bh"
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$rc" != 0 ] && [ "$ms" -le 20000 ]; then
	t_ok "r2 blackholed mid-transfer: the stream through it ends in $ms ms (curl exit $rc)"
else
	t_fail "r2 blackholed mid-transfer: the stream through it ends within 20 s" "$ms ms, curl exit $rc" \
		"$(cat "$RUN/bh.err")"
fi
got=$(pages "$A_PORT" 10)
t_eq "with r2 blackholed: 10 new fetches through A all arrive" 10 "$got"
[ "$got" = 10 ] || tail -n 15 "$RUN/tund-a.log" | sed 's/^/#   tund A: /' 
# A may not have tried r2 at all (its pool had circuits enough); C, whose
# path is fixed through r2, keeps trying and must name it.
got=
for _ in $(seq 1 40); do
	got=$(status_eval "$C_SOCK" 'r["r2"]["failed"]')
	[ "$got" -ge 1 ] 2>/dev/null && break
	sleep 0.5
done
if [ "$got" -ge 1 ] 2>/dev/null; then
	t_ok "C's status shows r2 failed ($got, last: $(status_eval "$C_SOCK" 'r["r2"]["last_error"]'))"
else
	t_fail "C's status shows r2 failed" "$got"
fi
bh_rules del
stop_tund "SIGTERM: instance C exits 0" "$CPID"

# --- 10. SIGTERM
stop_tund "SIGTERM: instance A exits 0" "$APID"

# --- 11. optimistic yes: CONNECT answered at once, the first bytes leave
# with the request; a refusal then reaches curl as a reset, not as a code.
# (r1 is dead by now: instance C uses r2, r3 and r4.)
C_PORT=1082
C_CONF=$RUN/tund-c.conf
C_SOCK=$RUN/tund-c.sock
printf '%s\n' "relay r2 $R2_ADDR $R2_PIN" "relay r3 $R3_ADDR $R3_PIN exit" \
	"relay r4 $R4_ADDR $R4_PIN exit" "hops 3" "pool 2" "optimistic yes" \
	"socks 127.0.0.1:$C_PORT" "control $C_SOCK" "log info" >"$C_CONF"
start_tund c "$C_CONF" "$C_PORT"
CPID=$TPID
t_eq "optimistic: 5 pages all arrive" 5 "$(pages "$C_PORT" 5)"
rc=0
ip netns exec "$NS_CLIENT" curl -sS --max-time 10 --socks5-hostname "127.0.0.1:$C_PORT" \
	"http://$WEB_NAME:22/" >/dev/null 2>"$RUN/opt22.err" || rc=$?
case $rc in
52 | 56) t_ok "optimistic: a refused port reaches curl as a reset (exit $rc)" ;;
*) t_fail "optimistic: a refused port reaches curl as a reset" "curl exit $rc" "$(cat "$RUN/opt22.err")" ;;
esac
t_eq "optimistic: status counts the refusal" 1 "$(status_eval "$C_SOCK" 'j["streams"]["refused"]')"
stop_tund "SIGTERM: instance C exits 0" "$CPID"

# --- 9. The leak verdict on the client's link, for the whole run
leak_verdict

cleanup_bg
echo "# run time: $(($(date +%s) - T_START)) s"
t_summary

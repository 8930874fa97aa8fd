#!/bin/bash
# SPDX-License-Identifier: MIT
#
# t-burst.sh: one busy client never trips its relays' limits (issue 7,
# part 1). Four relays (TOPO_RELAYS=4), every side with its default
# limits: exitd's per-source limits (the topology lists only the relay
# links as peers) and tund's relay-max, relay-rate and relay-burst. The
# path is fixed, r1 r2 r3, the hardest case: the guard sees the whole
# client as one source, the middle every circuit from the guard.
#
# At 10 ms per link (the shared delay emulator, ../shared/wan) when its
# source is there, with no delay otherwise (it says which in the first
# line: the defects showed at both):
#   - 200 parallel fetches of one name through the SOCKS5 entrance, with a
#     burst of 60 fetches of 60 new names (*.w.example.test) at the same
#     time, all from one curl --parallel so they really overlap: all 260
#     pages arrive;
#   - tund status: no refused stream, no failed build, no relay busy;
#   - no relay logged a refusal at admission;
#   - a middle relay whose limits are smaller than tund's (a second exitd,
#     max-per-source 20, behind a second guard): streams queue in tund
#     instead of failing, its refusals are counted against it as busy
#     (never as failed, never against the guard before it), and all 60
#     pages of a burst arrive.
set -eu
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
need_tund
export TOPO_RELAYS=4
if "$TOPO_SH" delaybox >/dev/null 2>&1; then
	export TOPO_DELAY_MS=${BURST_DELAY_MS:-10}
	echo "# at $TOPO_DELAY_MS ms per link"
else
	echo "# with no delay: no delay emulator at $("$TOPO_SH" delaybox 2>/dev/null || true)"
fi
topo_up
topo_need_exitd

BGPIDS=()
trap 'cleanup_bg; topo_down' EXIT

PORT=1080
CONF=$RUN/tund.conf
SOCK=$RUN/tund.sock

# start_tund CONF: ip netns exec execs tund, so $! is tund itself.
start_tund() {
	ip netns exec "$NS_CLIENT" "$TUND" -c "$1" 2>>"$RUN/tund.log" &
	TPID=$!
	BGPIDS+=("$TPID")
	wait_port "$NS_CLIENT" 127.0.0.1 "$PORT"
}

stop_tund() { stop_bg "$TPID"; }

# burst TAG N_SAME N_NEW [curl options]: one curl fetching / of $WEB_NAME
# N_SAME times and N_NEW new names TAG-i.w.example.test, all at once;
# prints how many pages arrived, and what failed.
burst() {
	local tag=$1 same=$2 new=$3 args=() i ok=0 errs= rc=0
	shift 3
	args=("$@")
	for i in $(seq 1 "$same"); do
		args+=(-o "$RUN/$tag.s$i" "http://$WEB_NAME/")
	done
	for i in $(seq 1 "$new"); do
		args+=(-o "$RUN/$tag.n$i" "http://$tag-$i.w.example.test/")
	done
	ip netns exec "$NS_CLIENT" curl -fsS --max-time 60 --parallel --parallel-immediate \
		--parallel-max $((same + new)) --socks5-hostname "127.0.0.1:$PORT" "${args[@]}" \
		2>"$RUN/$tag.err" || rc=$?
	for i in $(seq 1 "$same") $(seq 1 "$new" | sed 's/^/n/'); do
		case $i in n*) f=$RUN/$tag.$i ;; *) f=$RUN/$tag.s$i ;; esac
		if grep -q "$WEB_MARKER" "$f" 2>/dev/null; then
			ok=$((ok + 1))
		else
			errs="$errs ${f##*/}"
		fi
	done
	[ "$rc" = 0 ] || errs="$errs; curl exit $rc: $(head -c 300 "$RUN/$tag.err")"
	echo "$ok${errs:+ (missing:$errs)}"
}

leak_start "$R1_IP:9012"
BGPIDS+=("$LEAK_PID")

# --- 1. Defaults everywhere: 200 parallel requests and 60 new names at once
{
	echo "relay r1 $R1_ADDR $R1_PIN"
	echo "relay r2 $R2_ADDR $R2_PIN"
	echo "relay r3 $R3_ADDR $R3_PIN exit"
	echo "relay r4 $R4_ADDR $R4_PIN exit"
	echo "path r1 r2 r3"
	echo "socks 127.0.0.1:$PORT"
	echo "control $SOCK"
} >"$CONF"
start_tund "$CONF"
t0=$(date +%s%N)
got=$(burst a 200 60)
ms=$((($(date +%s%N) - t0) / 1000000))
t_eq "200 parallel fetches and 60 new names at once: all 260 pages arrive ($ms ms)" 260 "$got"
got=$(status_eval "$SOCK" '"refused=%d failed=%d busy=%d" % (j["streams"]["refused"], j["circuits"]["failed"], sum(x["busy"] for x in j["relays"]))')
t_eq "tund: no stream refused, no build failed, no relay busy" "refused=0 failed=0 busy=0" "$got"
refusals=$(cat "$RUN"/r[1-4].log | grep -c 'refusing a connection' || true)
t_eq "no relay refused a connection at admission" 0 "$refusals"
opened=$(status_eval "$SOCK" 'max(x["ok"] for x in j["relays"])')
echo "# circuits built through the busiest relay: $opened"
stop_tund

# --- 2. A middle relay with smaller limits than tund's: streams queue,
# and its refusals count against it, not against the guard before it.
# Second exitds: g in r1 (listen :9012, may reach m) and m in r2 (listen
# :9011, max-per-source 20, no peers: it counts the guard as one source).
{
	echo "accept $R2_IP/32:9011"
	grep -v '^listen' "$RUN/r1.conf"
	echo "listen $R1_IP:9012"
} >"$RUN/g.conf"
{
	grep -v '^listen\|^peer' "$RUN/r2.conf"
	echo "listen $R2_IP:9011"
	echo "max-per-source 20"
} >"$RUN/m.conf"
start_exitd "$NS_R1" g "$R1_IP" 9012
GPID=$EXITD_PID
start_exitd "$NS_R2" m "$R2_IP" 9011
MPID=$EXITD_PID
{
	echo "relay g $R1_IP:9012 $R1_PIN"
	echo "relay m $R2_IP:9011 $R2_PIN"
	echo "relay r3 $R3_ADDR $R3_PIN exit"
	echo "path g m r3"
	echo "relay-max 30"
	echo "socks 127.0.0.1:$PORT"
	echo "control $SOCK"
} >"$CONF"
start_tund "$CONF"
# Connection: close, so each stream ends with its page: curl would keep
# all 60 connections (and their circuits) open until the last page, and
# no queue can serve 60 open streams through a relay that takes 20.
got=$(burst b 0 60 -H "Connection: close")
t_eq "through a middle relay of max-per-source 20 (tund relay-max 30): all 60 pages arrive" 60 "$got"
[ "$got" = 60 ] || tail -n 20 "$RUN/tund.log" | sed 's/^/#   tund: /' 
got=$(status_eval "$SOCK" '"m busy>=1:%s m failed=%d g busy=%d g failed=%d" % (r["m"]["busy"] >= 1, r["m"]["failed"], r["g"]["busy"], r["g"]["failed"])')
t_eq "its refusals count against it as busy, never against the guard before it" \
	"m busy>=1:True m failed=0 g busy=0 g failed=0" "$got"
text=$("$TUND" status -s "$SOCK" 2>&1 || true)
case $text in
*"relay busy"*) t_ok "tund status names the reason: relay busy" ;;
*) t_fail "tund status names the reason: relay busy" "$text" ;;
esac
stop_tund
stop_bg "$GPID" "$MPID"

leak_verdict
cleanup_bg
t_summary

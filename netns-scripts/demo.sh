#!/bin/bash
# SPDX-License-Identifier: MIT
#
# demo.sh: the transparent tunnel in namespaces, end to end, and the leak
# verdict over the whole run.
#
#   client ──── r1 ──── r2 ──── r3 ──── inet
#   curl, dig   exitd   exitd   exitd   dnsmasq (example.test), nginx
#   tund, tun0  relay   relay   exit
#
# In the client namespace tund creates tun0 and routes everything through
# it (route all): its own DNS answers names with fake addresses, its own
# TCP stack terminates the connections, and each one goes, with its host
# name, through r1, r2 and r3. curl and dig run with no proxy setting at
# all; the name is resolved only by r3. tund's SOCKS5 entrance is shown
# too. `tund leakcheck` watches the client's only link for the whole run
# and gives the verdict at the end: every packet must be TCP with r1.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/tests/net/lib.sh"
TUND=$ROOT/build/tund
[ -x "$TUND" ] && [ -x "$ROOT/build/exitd" ] || { echo "run make first" >&2; exit 1; }
export TOPO_BIG_MB=${TOPO_BIG_MB:-32}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
PIDS=()
stop_all() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	PIDS=()
}

topo_up
trap 'stop_all; topo_down' EXIT
say "relays (pins made by 'exitd keygen' a moment ago)"
printf '  r1 %s %s\n  r2 %s %s\n  r3 %s %s (exit)\n' "$R1_ADDR" "$R1_PIN" "$R2_ADDR" "$R2_PIN" \
	"$R3_ADDR" "$R3_PIN"

CONF=$RUN/tund.conf
printf '%s\n' "relay r1 $R1_ADDR $R1_PIN" "relay r2 $R2_ADDR $R2_PIN" \
	"relay r3 $R3_ADDR $R3_PIN exit" "path r1 r2 r3" "pool 4" "tun tun0" "route all" \
	"socks 127.0.0.1:1080" "state $RUN/fakeip.map" "control $RUN/tund.sock" "log warn" >"$CONF"
say "tund's configuration"
sed 's/^/  /' "$CONF"

LINK=$(ip -n "$NS_CLIENT" -o link show | awk -F': ' '$2 != "lo" { sub(/@.*/, "", $2); print $2; exit }')
ip netns exec "$NS_CLIENT" "$TUND" leakcheck -c "$CONF" -i "$LINK" >"$RUN/leak.out" 2>"$RUN/leak.err" &
LEAK_PID=$!
PIDS+=("$LEAK_PID")
for ((i = 0; i < 50; i++)); do
	grep -q listening "$RUN/leak.err" 2>/dev/null && break
	sleep 0.1
done
ip netns exec "$NS_CLIENT" "$TUND" -c "$CONF" &
PIDS+=($!)
wait_port "$NS_CLIENT" 127.0.0.1 1080

say "the client's routing: tund's rules and table (everything unmarked goes to tun0)"
n_client ip rule | sed 's/^/  /'
n_client ip route show table 29813 | sed 's/^/  /'
n_client ip -6 route show table 29813 | sed 's/^/  /'

say "dig www.example.test, A and AAAA: tund answers with fake addresses"
n_client dig +short www.example.test A | sed 's/^/  /'
n_client dig +short www.example.test AAAA | sed 's/^/  /'
say "dig MX and TXT example.test: not tund's to answer, so they go through the chain (DNS command)"
n_client dig +short example.test MX | sed 's/^/  /'
n_client dig +short example.test TXT | sed 's/^/  /'

say "curl http://www.example.test/, no proxy setting: IPv4, then IPv6"
n_client curl -4 -sS http://www.example.test/ | sed 's/^/  /'
n_client curl -6 -sS -o /dev/null -w '  IPv6: HTTP %{http_code} from %{remote_ip}, %{size_download} bytes\n' \
	http://www.example.test/
say "curl /big ($BIG_MB MiB) by name through the chain, and its SHA-256"
sum=$(n_client curl -sS http://www.example.test/big | sha256sum | cut -d' ' -f1)
echo "  got      $sum"
echo "  expected $BIG_SHA256"
say "the same through tund's SOCKS5 entrance (curl --socks5-hostname)"
n_client curl -sS --socks5-hostname 127.0.0.1:1080 -o /dev/null \
	-w '  %{size_download} bytes at %{speed_download} bytes/s\n' http://www.example.test/big
say "the exit refuses what its policy does not allow; the application sees a refusal"
n_client curl -sS --max-time 5 http://www.example.test:22/ 2>&1 | sed 's/^/  /' || true
say "tund status"
"$TUND" status -s "$RUN/tund.sock" | sed 's/^/  /'

sleep 0.3
kill -INT "$LEAK_PID"
leak_rc=0
wait "$LEAK_PID" || leak_rc=$?
say "tund leakcheck on $LINK, the whole run (exit $leak_rc)"
sed 's/^/  /' "$RUN/leak.out"
stop_all
[ "$leak_rc" -eq 0 ] && [ "$sum" = "$BIG_SHA256" ]
say "demo done; tearing down"

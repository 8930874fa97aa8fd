#!/bin/bash
# SPDX-License-Identifier: MIT
#
# demo.sh: the tunnel in namespaces, end to end, with what crosses the
# client's link shown from a capture.
#
#   client ──── r1 ──── r2 ──── r3 ──── inet
#   curl, dig   exitd   exitd   exitd   dnsmasq (example.test), nginx
#   chain -l    relay   relay   exit
#
# On the client, tund serves its SOCKS5 entrance on 127.0.0.1:1080 with a
# pool of ready circuits through r1, r2, r3, and curl --socks5-hostname
# uses it: the name goes to the exit inside the innermost layer. build/chain
# listens on 127.0.0.1:5353 for a DNS stream, which dig uses. tcpdump
# records the client's only link while they run; at the end the demo shows
# that every packet was TCP with r1:9001 and that no name crossed it in
# clear. (tund's TUN side, for applications that know nothing of SOCKS, is
# still to come.)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/tests/net/lib.sh"
CHAIN=$ROOT/build/chain
[ -x "$CHAIN" ] && [ -x "$ROOT/build/exitd" ] || { echo "run make first" >&2; exit 1; }
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
H=(-r "$R1_ADDR,$R1_PIN" -r "$R2_ADDR,$R2_PIN" -r "$R3_ADDR,$R3_PIN")

say "relays (pins made by 'exitd keygen' a moment ago)"
printf '  r1 %s %s\n  r2 %s %s\n  r3 %s %s (exit)\n' "$R1_ADDR" "$R1_PIN" "$R2_ADDR" "$R2_PIN" \
	"$R3_ADDR" "$R3_PIN"

capture_start "$RUN/client.pcap"
PIDS+=("$CAP_PID")

printf '%s\n' "relay r1 $R1_ADDR $R1_PIN" "relay r2 $R2_ADDR $R2_PIN" \
	"relay r3 $R3_ADDR $R3_PIN exit" "path r1 r2 r3" "pool 4" "socks 127.0.0.1:1080" \
	"control $RUN/tund.sock" "log warn" >"$RUN/tund.conf"
ip netns exec "$NS_CLIENT" "$ROOT/build/tund" -c "$RUN/tund.conf" &
PIDS+=($!)
ip netns exec "$NS_CLIENT" "$CHAIN" "${H[@]}" -l 127.0.0.1:5353 dns &
PIDS+=($!)
wait_port "$NS_CLIENT" 127.0.0.1 1080
wait_port "$NS_CLIENT" 127.0.0.1 5353
S=(--socks5-hostname 127.0.0.1:1080)

say "curl --socks5-hostname through tund: r1 -> r2 -> r3 (the name is resolved by r3)"
n_client curl -sS "${S[@]}" http://www.example.test/
say "curl /big ($BIG_MB MiB) through the chain, and its SHA-256"
n_client curl -sS "${S[@]}" -o /dev/null \
	-w '  %{size_download} bytes at %{speed_download} bytes/s, first byte after %{time_starttransfer} s\n' \
	http://www.example.test/big
sum=$(n_client curl -sS "${S[@]}" http://www.example.test/big | sha256sum | cut -d' ' -f1)
echo "  got      $sum"
echo "  expected $BIG_SHA256"
say "dig MX and TXT example.test, carried by a DNS stream through the chain"
n_client dig +tcp +short -p 5353 @127.0.0.1 example.test MX
n_client dig +tcp +short -p 5353 @127.0.0.1 example.test TXT
say "the exit refuses what its policy does not allow, and curl hears it"
n_client curl -sS "${S[@]}" --max-time 5 http://10.0.0.1/ || true
n_client curl -sS "${S[@]}" --max-time 5 http://www.example.test:22/ || true
say "tund status"
"$ROOT/build/tund" status -s "$RUN/tund.sock"

sleep 0.5
stop_all
say "what crossed the client's link ($CAP_LINK)"
read -r total other dns names < <(capture_counts "$RUN/client.pcap" \
	"tcp and host ${R1_ADDR%:*} and port ${R1_ADDR#*:}")
echo "  $total packets; $other not TCP with r1:${R1_ADDR#*:}; $dns DNS; $names with 'example.test' in clear"
[ "$other" -eq 0 ] && [ "$dns" -eq 0 ] && [ "$names" -eq 0 ] && [ "$sum" = "$BIG_SHA256" ]
say "demo done; tearing down"

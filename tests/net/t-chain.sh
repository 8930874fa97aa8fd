#!/bin/bash
# SPDX-License-Identifier: MIT
#
# t-chain.sh: exitd and the circuit client, end to end, in namespaces.
#
#   client ──── r1 ──── r2 ──── r3 ──── inet
#   chain     exitd   exitd   exitd    dnsmasq, nginx, half-close server
#             relay   relay   exit
#
# The client runs build/chain (src/circuit.c, as tund will) through r1, r2
# and r3. Checked: fetches by host name (a page, a large file by checksum,
# IPv6), one and three hops, every reply code the exit must give, RESOLVE,
# RESOLVE_PTR, a DNS stream (dig), a wrong pin, half-close, config check
# errors, a destination that stops reading for 60 s (relays' memory
# bounded), downstream record sizes, SIGHUP under load, SIGUSR1's figures, the relays running as nobody, a refusal at
# admission named at the hop that refused, no way back into the relay
# through any local address, a DNS answer larger than the buffer, the
# exit's DNS down, SIGTERM, garbage, a stalled TLS client, 1,000 circuits
# at once (and r1's log lines about them rate limited), and a relay killed
# mid-transfer.
set -eu
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CHAIN=${CHAIN:-$ROOT/build/chain}
export TOPO_EXITD_EXTRA=${TOPO_EXITD_EXTRA:-"handshake-timeout 1s"}
topo_up
topo_need_exitd

H3=(-r "$R1_ADDR,$R1_PIN" -r "$R2_ADDR,$R2_PIN" -r "$R3_ADDR,$R3_PIN")
chain3() { n_client "$CHAIN" "${H3[@]}" "$@"; }
BGPIDS=()
trap 'cleanup_bg; topo_down' EXIT

# Expects chain to exit with a given status; prints its stderr on mismatch.
t_status() {
	local desc=$1 want=$2 rc=0 err
	shift 2
	err=$("$@" </dev/null 2>&1 >/dev/null) || rc=$?
	if [ "$rc" = "$want" ]; then
		t_ok "$desc"
	else
		t_fail "$desc" "exit $rc, wanted $want" "$err"
	fi
}

# Everything the client sends or receives on its only link is recorded:
# at the end, nothing may have crossed it but TCP with a relay's port, and
# no name of the test zone in clear. The kernel's own link housekeeping
# (ARP, ICMPv6 neighbour discovery, MLD reports to ff02::) is not traffic.
leak_start "[2001:db8:0:3::2]:9009" "192.0.2.6:9010" "192.0.2.10:9013" "192.0.2.10:9014" "192.0.2.10:9015"   # the second relays
BGPIDS+=("$LEAK_PID")

# --- Fetches through the chain (curl -> chain -l -> r1 -> r2 -> r3 -> nginx)
n_client "$CHAIN" "${H3[@]}" -l 127.0.0.1:8080 connect "$WEB_NAME" 80 2>"$RUN/chain-l.log" &
BGPIDS+=($!)
wait_port "$NS_CLIENT" 127.0.0.1 8080
page=$(n_client curl -fsS --max-time 10 --connect-to "$WEB_NAME:80:127.0.0.1:8080" "http://$WEB_NAME/" 2>&1 || true)
case $page in
*"$WEB_MARKER"*) t_ok "3 hops: the page, by host name" ;;
*) t_fail "3 hops: the page, by host name" "$page" ;;
esac
sum=$(n_client curl -fsS --max-time 60 --connect-to "$WEB_NAME:80:127.0.0.1:8080" "http://$WEB_NAME/big" | sha256sum | cut -d' ' -f1)
t_eq "3 hops: /big ($BIG_MB MiB) arrives with the right SHA-256" "$BIG_SHA256" "$sum"

req=$'GET / HTTP/1.0\r\nHost: www.example.test\r\n\r\n'
out=$(printf '%s' "$req" | n_client "$CHAIN" -r "$R3_ADDR,$R3_PIN" connect "$WEB_NAME" 80 2>&1 || true)
case $out in *"$WEB_MARKER"*) t_ok "1 hop (the exit alone): the page" ;; *) t_fail "1 hop: the page" "$out" ;; esac
out=$(printf '%s' "$req" | chain3 connect "$WEB_IP6" 80 2>&1 || true)
case $out in *"$WEB_MARKER"*) t_ok "3 hops: the page at an IPv6 literal" ;; *) t_fail "3 hops: IPv6 literal" "$out" ;; esac
out=$(printf '%s' "$req" | chain3 connect "$WEB_IP" 80 2>&1 || true)
case $out in *"$WEB_MARKER"*) t_ok "3 hops: the page at an IPv4 literal" ;; *) t_fail "3 hops: IPv4 literal" "$out" ;; esac

# --- Reply codes: chain exits 10 + the exit's code
t_status "port outside the policy: 0x02" 12 chain3 connect "$WEB_NAME" 22
t_status "private address 10.0.0.1: 0x02" 12 chain3 connect 10.0.0.1 80
t_status "loopback 127.0.0.1: 0x02" 12 chain3 connect 127.0.0.1 80
t_status "the exit's own address: 0x02" 12 chain3 connect "${R3_ADDR%:*}" 80
t_status "a name with a private address (no DNS rebinding): 0x02" 12 chain3 connect private.example.test 80
t_status "unknown name: 0x04" 14 chain3 connect nx.example.test 80
t_status "closed port: 0x05" 15 chain3 connect "$DNS_IP" 80
t_status "a middle relay refuses the open internet: 0x02" 12 \
	n_client "$CHAIN" -r "$R1_ADDR,$R1_PIN" connect "$WEB_IP" 80

# --- RESOLVE, RESOLVE_PTR and a DNS stream
got=$(chain3 resolve "$WEB_NAME" 2>&1 || true)
case $got in
"$WEB_IP" | "$WEB_IP6") t_ok "RESOLVE gives the name's address ($got)" ;;
*) t_fail "RESOLVE gives the name's address" "$got" ;;
esac
t_eq "RESOLVE_PTR gives the address's name" "$WEB_NAME" "$(chain3 resolve-ptr "$WEB_IP" 2>&1 || true)"
t_eq "RESOLVE_PTR of the IPv6 address (ip6.arpa)" "$WEB_NAME" "$(chain3 resolve-ptr "$WEB_IP6" 2>&1 || true)"
t_status "RESOLVE of an unknown name: 0x04" 14 chain3 resolve nx.example.test
t_status "RESOLVE at a middle relay (resolve no): 0x02" 12 n_client "$CHAIN" -r "$R1_ADDR,$R1_PIN" resolve "$WEB_NAME"
n_client "$CHAIN" "${H3[@]}" -l 127.0.0.1:5353 dns 2>"$RUN/chain-dns.log" &
BGPIDS+=($!)
wait_port "$NS_CLIENT" 127.0.0.1 5353
t_eq "DNS stream: MX of the test zone (dig +tcp)" "10 mail.example.test." \
	"$(n_client dig +tcp +short +time=5 -p 5353 @127.0.0.1 example.test MX 2>&1)"
t_eq "DNS stream: TXT of the test zone" '"v=test"' \
	"$(n_client dig +tcp +short +time=5 -p 5353 @127.0.0.1 example.test TXT 2>&1)"
st=$(n_client dig +tcp +time=5 -p 5353 @127.0.0.1 nx.example.test A 2>&1 | grep -o 'status: [A-Z]*' || true)
t_eq "DNS stream: NXDOMAIN passes through" "status: NXDOMAIN" "$st"

# --- Pins
err=$(n_client "$CHAIN" -r "$R1_ADDR,$R1_PIN" -r "$R2_ADDR,$R3_PIN" -r "$R3_ADDR,$R3_PIN" \
	connect "$WEB_NAME" 80 </dev/null 2>&1 >/dev/null) && rc=0 || rc=$?
case "$rc:$err" in
3:*"hop 2"*"pin mismatch"*) t_ok "a wrong pin for r2 fails the circuit, naming hop 2" ;;
*) t_fail "a wrong pin for r2 fails the circuit, naming hop 2" "exit $rc" "$err" ;;
esac

# --- Half-close: the server answers only after our FIN; all of it must arrive
HC_BYTES=3000000
n_inet python3 "$ROOT/tests/net/halfclose-server.py" "$WEB_IP" 443 "$HC_BYTES" &
BGPIDS+=($!)
wait_port "$NS_INET" "$WEB_IP" 443
got=$(head -c 1000 /dev/zero | chain3 connect "$WEB_IP" 443 | wc -c)
t_eq "after the client half-closes, the whole response arrives" "$HC_BYTES" "$got"

# --- Configuration check
bad=$RUN/bad.conf
printf 'listen 192.0.2.2:9001\nmax-connections many\nfrobnicate 1\n' >"$bad"
err=$("$EXITD" -c "$bad" -t 2>&1) && rc=0 || rc=$?
case "$rc:$err" in
1:*"$bad:2:"*"$bad:3:"*) t_ok "exitd -t names file and line of each error" ;;
*) t_fail "exitd -t names file and line of each error" "exit $rc" "$err" ;;
esac
t_eq "exitd -t accepts r3's configuration" "configuration OK" "$(n_r3 "$EXITD" -c "$RUN/r3.conf" -t 2>&1)"

# --- A destination that stops reading for T_STALL_SECS (60) while 64 MiB
# are uploaded to it through the three relays: every relay's memory stays
# bounded (backpressure: each holds at most its buffers), then the upload
# completes exactly.
STALL=${T_STALL_SECS:-60}
ip netns exec "$NS_INET" python3 "$ROOT/tests/net/sha256-server.py" "$WEB_IP" 8001 2>"$RUN/stall-server.log" &
BGPIDS+=($!)
wait_port "$NS_INET" "$WEB_IP" 8001
n_client "$CHAIN" "${H3[@]}" -l 127.0.0.1:8081 connect "$WEB_NAME" 8001 2>"$RUN/chain-stall.log" &
stall_l=$!
BGPIDS+=("$stall_l")
wait_port "$NS_CLIENT" 127.0.0.1 8081
head -c $((64 << 20)) /dev/urandom >"$RUN/stall.bin"
stall_sum="$(sha256sum "$RUN/stall.bin" | cut -d' ' -f1) $((64 << 20))"
declare -A rss0 rssmax
for r in 1 2 3; do
	pidv=R${r}_PID
	rss0[$r]=$(rss_kb "${!pidv}")
	rssmax[$r]=${rss0[$r]}
done
n_client curl -sS --max-time $((STALL + 60)) --connect-to "$WEB_NAME:8001:127.0.0.1:8081" \
	--data-binary @"$RUN/stall.bin" -H 'Content-Type: application/octet-stream' \
	"http://$WEB_NAME:8001/pause/$STALL" >"$RUN/stall.out" 2>"$RUN/stall.err" &
stall_up=$!
BGPIDS+=("$stall_up")
for _ in $(seq 1 $((STALL / 2))); do
	sleep 2
	for r in 1 2 3; do
		pidv=R${r}_PID
		v=$(rss_kb "${!pidv}")
		[ "$v" -le "${rssmax[$r]}" ] || rssmax[$r]=$v
	done
done
rc=0
wait "$stall_up" || rc=$?
forget "$stall_up"
grow="r1 +$((rssmax[1] - rss0[1])) KiB, r2 +$((rssmax[2] - rss0[2])) KiB, r3 +$((rssmax[3] - rss0[3])) KiB"
echo "# relays' resident memory while the destination read nothing for $STALL s: $grow"
if [ $((rssmax[1] - rss0[1])) -le 16384 ] && [ $((rssmax[2] - rss0[2])) -le 16384 ] &&
	[ $((rssmax[3] - rss0[3])) -le 16384 ]; then
	t_ok "destination stalled $STALL s under a 64 MiB upload: each relay grew by at most 16 MiB ($grow)"
else
	t_fail "destination stalled: each relay's memory stays bounded" "$grow"
fi
t_eq "then the 64 MiB upload completes exactly (curl exit $rc)" "$stall_sum" "$(cat "$RUN/stall.out")"
[ "$(cat "$RUN/stall.out")" = "$stall_sum" ] || {
	sed 's/^/#   curl: /' "$RUN/stall.err"
	tail -n 3 "$RUN/chain-stall.log" | sed 's/^/#   chain: /'
	for r in 1 2 3; do grep 'cmd 0x01' "$RUN/r$r.log" | tail -n 2 | sed "s/^/#   r$r: /"; done
}
stop_bg "$stall_l"
rm -f "$RUN/stall.bin"

# --- SIGHUP under load: r3 reloads a policy that refuses port 80 while
# 20 circuits are held open and /big is downloading through it: the
# download completes exactly, the held circuits stay, new CONNECTs to
# port 80 get 0x02; an invalid file changes nothing; the old file back
# and port 80 works again.
cp "$RUN/r3.conf" "$RUN/r3.conf.orig"
mkfifo "$RUN/hup.fifo"
n_client "$CHAIN" "${H3[@]}" hold 20 "$WEB_NAME" 80 <"$RUN/hup.fifo" >"$RUN/hup.out" 2>/dev/null &
hup_hold=$!
BGPIDS+=("$hup_hold")
exec 6>"$RUN/hup.fifo"
for _ in $(seq 1 100); do [ -s "$RUN/hup.out" ] && break; sleep 0.1; done
n_client curl -fsS --max-time 60 --limit-rate 40M --connect-to "$WEB_NAME:80:127.0.0.1:8080" \
	"http://$WEB_NAME/big" 2>"$RUN/hup.err" | sha256sum | cut -d' ' -f1 >"$RUN/hup.sum" &
hup_dl=$!
BGPIDS+=("$hup_dl")
sleep 1
{
	echo "reject *:80"
	cat "$RUN/r3.conf.orig"
} >"$RUN/r3.conf"
kill -HUP "$R3_PID"
sleep 0.5
t_status "SIGHUP: r3 now refuses port 80 to new streams (0x02)" 12 chain3 connect "$WEB_NAME" 80
printf 'listen nowhere\n' >>"$RUN/r3.conf"
kill -HUP "$R3_PID"
sleep 0.5
t_status "SIGHUP with an invalid file: the last good policy stays (0x02)" 12 chain3 connect "$WEB_NAME" 80
wait "$hup_dl" || true
forget "$hup_dl"
t_eq "SIGHUP: the download running through r3 completed exactly" "$BIG_SHA256" "$(cat "$RUN/hup.sum")"
held=$(n_r3 ss -Htn state established "( sport = :${R3_ADDR#*:} )" | wc -l)
if [ "$held" -ge 20 ] && [ "$(cat "$RUN/hup.out")" = "open=20 failed=0" ]; then
	t_ok "SIGHUP: the 20 held circuits are still open at r3 ($held connections)"
else
	t_fail "SIGHUP: the held circuits stay open" "hold: $(cat "$RUN/hup.out"), r3 connections: $held"
fi
# SIGUSR1: r3 logs what it holds; with the 20 circuits open, at least 20
# connections and some heap in use (a TLS session each, at least).
kill -USR1 "$R3_PID"
usr1=
for _ in $(seq 1 50); do
	usr1=$(grep 'SIGUSR1: ' "$RUN/r3.log" | tail -n 1)
	[ -n "$usr1" ] && break
	sleep 0.1
done
if [[ $usr1 =~ SIGUSR1:\ ([0-9]+)\ connections\ open\;\ heap\ ([0-9]+)\ bytes\ in\ use\ \(([0-9]+)\ by\ TLS\),\ ([0-9]+)\ from ]] &&
	[ "${BASH_REMATCH[1]}" -ge 20 ] && [ "${BASH_REMATCH[3]}" -gt 0 ] &&
	[ "${BASH_REMATCH[2]}" -ge "${BASH_REMATCH[3]}" ] && [ "${BASH_REMATCH[4]}" -ge "${BASH_REMATCH[2]}" ]; then
	t_ok "SIGUSR1: r3 logs its connections and heap (${usr1#*SIGUSR1: })"
else
	t_fail "SIGUSR1: r3 logs at least 20 connections and its heap" "${usr1:-nothing logged}"
fi
exec 6>&-
wait "$hup_hold" || true
forget "$hup_hold"
cp "$RUN/r3.conf.orig" "$RUN/r3.conf"
kill -HUP "$R3_PID"
sleep 0.5
out=$(printf '%s' "$req" | chain3 connect "$WEB_NAME" 80 2>&1 || true)
case $out in *"$WEB_MARKER"*) t_ok "SIGHUP with the old file: port 80 works again" ;; *) t_fail "port 80 works again after SIGHUP" "$out" ;; esac
grep -q 'SIGHUP: .* is not valid' "$RUN/r3.log" && t_ok "r3 logged the invalid file" ||
	t_fail "r3 logged the invalid file" "$(tail -n 5 "$RUN/r3.log")"

# --- Privilege: every relay runs as nobody, with no capabilities and
# no_new_privs (user nobody in the topology's configs), and has served
# all of the above that way. As root without 'user' exitd will not start.
nobody_uid=$(id -u nobody)
for r in 1 2 3; do
	pidv=R${r}_PID
	st=/proc/${!pidv}/status
	got=$(awk '/^Uid:/ {u=$2" "$3" "$4" "$5} /^Gid:/ {g=$2} /^CapEff:/ {c=$2} /^CapPrm:/ {p=$2}
		/^NoNewPrivs:/ {n=$2} END {print u, c, p, n}' "$st" 2>&1)
	t_eq "r$r runs as nobody (uid $nobody_uid, all four ids), no capabilities, no_new_privs" \
		"$nobody_uid $nobody_uid $nobody_uid $nobody_uid 0000000000000000 0000000000000000 1" "$got"
done
grep -v '^user' "$RUN/r3.conf" | sed "s|^listen .*|listen $R3_IP:9016|" >"$RUN/r3root.conf"
err=$(n_r3 timeout 5 "$EXITD" -c "$RUN/r3root.conf" 2>&1) && rc=0 || rc=$?
case "$rc:$err" in
1:*"will not run as root"*) t_ok "as root without 'user', exitd refuses to start (exit 1)" ;;
*) t_fail "as root without 'user', exitd refuses to start" "exit $rc" "$err" ;;
esac
echo "run-as-root yes" >>"$RUN/r3root.conf"
start_exitd "$NS_R3" r3root "$R3_IP" 9016
t_eq "with 'run-as-root yes' it starts, as root" 0 "$(awk '/^Uid:/ {print $2}' "/proc/$EXITD_PID/status")"
stop_bg "$EXITD_PID"

# --- A second exitd in r3, our child: IPv6, per-source limits, SIGTERM
R3_IP6=2001:db8:0:3::2
{
	grep -v '^listen\|^max-per-source\|^peer' "$RUN/r3.conf"
	echo "listen [$R3_IP6]:9009"
	echo "max-per-source 2"
} >"$RUN/r3b.conf"
# ip netns exec execs exitd: $! is exitd itself.
ip netns exec "$NS_R3" "$EXITD" -c "$RUN/r3b.conf" 2>"$RUN/r3b.log" &
tp=$!
wait_port "$NS_R3" "$R3_IP6" 9009
R3B=(-r "[$R3_IP6]:9009,$R3_PIN")
out=$(printf '%s' "$req" | n_client "$CHAIN" "${R3B[@]}" connect "$WEB_NAME" 80 2>&1 || true)
case $out in *"$WEB_MARKER"*) t_ok "a relay on IPv6 carries a stream" ;; *) t_fail "a relay on IPv6" "$out" ;; esac
# Holds 3 circuits through the relays given, against max-per-source 2 at
# the last: two stay open, the third is refused, and its error names the
# hop that refused as busy. The refusal is a TLS alert then a FIN
# (exitd/listener.c); as hop 2, the relay before it forwards both (a RST
# used to make the client blame hop 1).
fifo=$RUN/limit.fifo
mkfifo "$fifo"
hold_limited() {
	local hop=$1 out=$RUN/limit$1.out err=$RUN/limit$1.err lp
	shift
	n_client "$CHAIN" "$@" hold 3 "$WEB_NAME" 80 <"$fifo" >"$out" 2>"$err" &
	lp=$!
	exec 8>"$fifo"
	for _ in $(seq 1 100); do [ -s "$out" ] && break; sleep 0.1; done
	t_eq "max-per-source 2 as hop $hop: a third circuit is refused, two stay" "open=2 failed=1" "$(cat "$out")"
	exec 8>&-
	wait "$lp" || true
	case $(cat "$err") in
	*"hop $hop ([$R3_IP6]:9009): relay busy"*) t_ok "the refusal is named as busy, at hop $hop" ;;
	*) t_fail "the refusal is named as busy, at hop $hop" "$(cat "$err")" ;;
	esac
}
hold_limited 1 "${R3B[@]}"
{
	echo "accept [$R3_IP6]/128:9009"
	grep -v '^listen' "$RUN/r2.conf"
	echo "listen $R2_IP:9010"
} >"$RUN/r2b.conf"
start_exitd "$NS_R2" r2b "$R2_IP" 9010
hold_limited 2 -r "$R2_IP:9010,$R2_PIN" "${R3B[@]}"
stop_bg "$EXITD_PID"
sleep 0.2
out=$(printf '%s' "$req" | n_client "$CHAIN" "${R3B[@]}" connect "$WEB_NAME" 80 2>&1 || true)
case $out in *"$WEB_MARKER"*) t_ok "after the limit was hit, the relay serves again" ;; *) t_fail "serves again after the limit" "$out" ;; esac
kill -TERM "$tp"
rc=0
wait "$tp" || rc=$?
t_eq "SIGTERM: exitd stops and exits 0" 0 "$rc"

# --- A relay never reaches itself: every local address is its own
# (allow-private yes and accept *:* on a wildcard listener). 127.0.0.2 is
# not in getifaddrs(); 198.51.100.99 is added to lo after the start.
{
	grep -v '^listen\|^accept\|^reject\|^allow-private\|^peer' "$RUN/r3.conf"
	echo "listen 0.0.0.0:9013"
	echo "allow-private yes"
	echo "accept *:*"
} >"$RUN/r3c.conf"
start_exitd "$NS_R3" r3c "$R3_IP" 9013
n_r3 ip addr add 198.51.100.99/32 dev lo
R3C=(-r "$R3_IP:9013,$R3_PIN")
t_status "CONNECT 127.0.0.2:9013, the relay itself through 127/8: 0x02" 12 \
	n_client timeout 10 "$CHAIN" "${R3C[@]}" connect 127.0.0.2 9013
t_status "CONNECT to an address added after the start: 0x02" 12 \
	n_client timeout 10 "$CHAIN" "${R3C[@]}" connect 198.51.100.99 9013
n_r3 ip addr del 198.51.100.99/32 dev lo
stop_bg "$EXITD_PID"

# --- A DNS answer larger than the exit's buffer (buffer 4k, ~12.5 KB of
# TXT) arrives whole, and the next query on the stream is answered too.
{
	grep -v '^listen\|^buffer\|^peer' "$RUN/r3.conf"
	echo "listen $R3_IP:9015"
	echo "buffer 4k"
} >"$RUN/r3e.conf"
start_exitd "$NS_R3" r3e "$R3_IP" 9015
n_client "$CHAIN" -r "$R3_IP:9015,$R3_PIN" -l 127.0.0.1:5354 dns 2>"$RUN/chain-dns4k.log" &
dnsl=$!
BGPIDS+=("$dnsl")
wait_port "$NS_CLIENT" 127.0.0.1 5354
n=$(n_client dig +tcp +short +time=5 +tries=1 -p 5354 @127.0.0.1 big.example.test TXT 2>&1 | grep -c '^"' || true)
t_eq "buffer 4k: a 12.5 KB DNS answer arrives whole (48 TXT records)" 48 "$n"
t_eq "and the stream still answers" '"v=test"' \
	"$(n_client dig +tcp +short +time=5 +tries=1 -p 5354 @127.0.0.1 example.test TXT 2>&1)"
stop_bg "$dnsl" "$EXITD_PID"

# --- The exit's DNS server is down (it takes queries and never answers):
# name requests end with 0x06 (timed out) within c-ares' 2 s then 4 s, requests
# by address still work.
n_r3 python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 5399))
time.sleep(120)' &
dnsdown=$!
BGPIDS+=("$dnsdown")
for _ in $(seq 1 50); do
	[ -n "$(n_r3 ss -Huln 'sport = :5399')" ] && break
	sleep 0.1
done
{
	grep -v '^listen\|^resolver\|^peer' "$RUN/r3.conf"
	echo "listen $R3_IP:9014"
	echo "resolver 127.0.0.1:5399"
} >"$RUN/r3d.conf"
start_exitd "$NS_R3" r3d "$R3_IP" 9014
R3D=(-r "$R3_IP:9014,$R3_PIN")
for what in "CONNECT by name:connect $WEB_NAME 80" "RESOLVE:resolve $WEB_NAME" \
	"RESOLVE_PTR:resolve-ptr $WEB_IP"; do
	t0=$(date +%s%N)
	# shellcheck disable=SC2086 # the command's words
	t_status "DNS down: ${what%%:*} gets 0x06" 16 n_client timeout 20 "$CHAIN" "${R3D[@]}" ${what#*:}
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ "$ms" -le 7000 ]; then
		t_ok "DNS down: ${what%%:*} ends within the resolver's timeout ($ms ms)"
	else
		t_fail "DNS down: ${what%%:*} ends within the resolver's timeout" "$ms ms"
	fi
done
out=$(printf '%s' "$req" | n_client timeout 10 "$CHAIN" "${R3D[@]}" connect "$WEB_IP" 80 2>&1 || true)
case $out in *"$WEB_MARKER"*) t_ok "DNS down: CONNECT by address still works" ;; *) t_fail "DNS down: CONNECT by address still works" "$out" ;; esac
stop_bg "$EXITD_PID" "$dnsdown"

# --- A client that ends with a FIN but no close_notify is logged as such,
# not as a TLS error (OpenSSL 3 reports it as one).
n_client python3 -c '
import socket, ssl, sys, time
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
raw = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s = ctx.wrap_socket(raw)
s.shutdown(socket.SHUT_WR)   # drops the TLS layer first: a bare FIN
time.sleep(0.5)' "${R1_ADDR%:*}" "${R1_ADDR#*:}" 2>&1 || true
sleep 0.2
last=$(grep 'cmd 0x00' "$RUN/r1.log" | tail -n 1)
case $last in
*"without close_notify"*) t_ok "a FIN without close_notify is logged as that" ;;
*) t_fail "a FIN without close_notify is logged as that" "$last" ;;
esac

# --- Garbage and a stalled TLS client do not hurt r1
n_client bash -c "head -c 4096 /dev/urandom >/dev/tcp/${R1_ADDR%:*}/${R1_ADDR#*:}" 2>/dev/null || true
n_client bash -c "exec 3<>/dev/tcp/${R1_ADDR%:*}/${R1_ADDR#*:}; printf '\x16\x03\x01\x00' >&3; sleep 3" &
stall=$!
sleep 0.2
n1=$(n_r1 ss -Htn state established "( sport = :${R1_ADDR#*:} )" | wc -l)
sleep 1.5
n2=$(n_r1 ss -Htn state established "( sport = :${R1_ADDR#*:} )" | wc -l)
wait "$stall" 2>/dev/null || true
if [ "$n1" -ge 1 ] && [ "$n2" -eq 0 ]; then
	t_ok "a stalled TLS client is cut by the handshake timeout"
else
	t_fail "a stalled TLS client is cut by the handshake timeout" "connections at 0.2 s: $n1, at 1.7 s: $n2"
fi
out=$(printf '%s' "$req" | chain3 connect "$WEB_NAME" 80 2>&1 || true)
case $out in *"$WEB_MARKER"*) t_ok "after garbage and a stalled client, r1 still serves" ;; *) t_fail "r1 still serves" "$out" ;; esac

# --- Downstream records (DESIGN 3.6, src/recalign.h): 4 MiB of /big
# through the three relays, captured on the client's link. r3 cuts what
# nginx sends into records of 16230 bytes (RECALIGN_PLAIN_CHUNK), and r2
# and r1 each put one record of the relay after them into one of theirs:
# a full record on the client's link is 16230 + 3 x 22 - 5 = 16291 bytes
# long (its length field), and nearly all full records are that long
# (at least 50 of them: the capture may miss packets, and the count
# stops at the first gap in the stream).
# Cut regardless of the layers inside, r1's full records were 16401.
capture_start "$RUN/records.pcap"
n_client curl -fsS --max-time 30 -r 0-4194303 --connect-to "$WEB_NAME:80:127.0.0.1:8080" \
	"http://$WEB_NAME/big" -o /dev/null || true
capture_stop
recs=$(python3 "$ROOT/tests/net/tls-records.py" "$RUN/records.pcap" "${R1_ADDR#*:}" 2>&1 || true)
if [[ $recs =~ ^records\ [0-9]+,\ full\ ([0-9]+),\ at\ 16291:\ ([0-9]+)$ ]] &&
	[ "${BASH_REMATCH[1]}" -ge 50 ] && [ "${BASH_REMATCH[2]}" -ge $((BASH_REMATCH[1] * 95 / 100)) ]; then
	t_ok "downstream, each relay's record holds one record of the next: $recs"
else
	t_fail "downstream records at the client's link are 16291 bytes (one per layer inside)" "$recs"
fi

# --- 1,000 circuits at once, each connected to nginx and idle: each costs
# r3 a TLS session and its state, never its buffers (held only while
# they hold data, or 1 s after a read that found a record only partly
# in): at most 32 KiB of heap each (SIGUSR1's figure).
fifo=$RUN/hold.fifo
mkfifo "$fifo"
heap0=$(exitd_heap "$R3_PID" "$RUN/r3.log" || echo 0)
r1_lines0=$(grep -c 'cmd 0x' "$RUN/r1.log" || true)
n_client "$CHAIN" -t 30000 "${H3[@]}" hold 1000 "$WEB_NAME" 80 <"$fifo" >"$RUN/hold.out" 2>"$RUN/hold.err" &
hp=$!
exec 7>"$fifo"
for _ in $(seq 1 300); do
	[ -s "$RUN/hold.out" ] && break
	sleep 0.1
done
t_eq "1,000 concurrent circuits through 3 relays" "open=1000 failed=0" "$(cat "$RUN/hold.out")"
for r in 1 2 3; do
	pidv=R${r}_PID
	echo "# r$r resident memory with 1,000 circuits open: $(rss_kb "${!pidv}") KiB"
done
# An empty buffer is freed after 1 s without traffic (RELAY_SHED_MS).
sleep 1.2
heap1=$(exitd_heap "$R3_PID" "$RUN/r3.log" || echo 0)
per=$(((heap1 - heap0) / 1000))
if [ "$heap0" -gt 0 ] && [ "$per" -gt 0 ] && [ "$per" -le 32768 ]; then
	t_ok "r3's heap per idle circuit: $((per / 1024)) KiB ($heap0 -> $heap1 bytes in use)"
else
	t_fail "r3's heap per idle circuit is at most 32 KiB (no buffers held idle)" "$heap0 -> $heap1 bytes"
fi
out=$(printf '%s' "$req" | chain3 connect "$WEB_NAME" 80 2>&1 || true)
case $out in *"$WEB_MARKER"*) t_ok "with 1,000 circuits open, a new stream still works" ;; *) t_fail "a new stream with 1,000 open" "$out" ;; esac
exec 7>&-
wait "$hp" || true
sleep 0.5
# 1,000 circuits ending at once: r1's per-connection lines are rate
# limited (100 a second), so a flood of connections cannot flood its log.
lines=$(($(grep -c 'cmd 0x' "$RUN/r1.log") - r1_lines0))
if [ "$lines" -ge 1 ] && [ "$lines" -le 400 ]; then
	t_ok "r1 logged $lines lines for 1,000 connections ending at once (at most 100 a second)"
else
	t_fail "r1's per-connection lines are rate limited" "$lines lines for 1,000 connections"
fi

# --- A relay dies mid-transfer: the client sees the end within 2 s
slow_req=$'GET /slow HTTP/1.0\r\nHost: www.example.test\r\n\r\n'
ip netns exec "$NS_CLIENT" "$CHAIN" -n "${H3[@]}" connect "$WEB_NAME" 80 \
	< <(printf '%s' "$slow_req"; sleep 30) >/dev/null 2>"$RUN/kill.err" &
kp=$!
sleep 1
t0=$(date +%s%N)
kill -KILL "$R2_PID"
rc=0
for _ in $(seq 1 50); do
	kill -0 "$kp" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$kp" 2>/dev/null; then
	t_fail "killing r2 mid-transfer ends the client's stream within 2 s" "still running after 5 s"
	kill "$kp" 2>/dev/null || true
else
	wait "$kp" || rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ "$rc" -ne 0 ] && [ "$ms" -le 2000 ]; then
		t_ok "killing r2 mid-transfer ends the client's stream within 2 s ($ms ms, exit $rc)"
	else
		t_fail "killing r2 mid-transfer ends the client's stream within 2 s" "$ms ms, exit $rc" "$(cat "$RUN/kill.err")"
	fi
fi

# --- One log line per connection (at most 100 a second, the rest
# counted in a "suppressed" line), without client addresses by default
lines=$(grep -c 'bytes up, .* bytes down, .* s$' "$RUN/r1.log" || true)
suppressed=$(grep -c 'similar lines suppressed' "$RUN/r1.log" || true)
leaks=$(grep -c "$CLIENT_IP" "$RUN/r1.log" || true)
if [ "$lines" -gt 100 ] && [ "$suppressed" -ge 1 ] && [ "$leaks" -eq 0 ]; then
	t_ok "r1 logs a line per connection ($lines, $suppressed 'suppressed' lines), never the client's address"
else
	t_fail "r1 logs a line per connection, never the client's address" \
		"$lines lines, $suppressed suppressed, $leaks with $CLIENT_IP"
fi

# --- The leak verdict on the client's link, for the whole run
leak_verdict

cleanup_bg
t_summary

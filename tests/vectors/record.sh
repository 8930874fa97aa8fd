#!/bin/bash
# SPDX-License-Identifier: MIT
#
# record.sh [OUT_DIR]: records the capture files that tests/unit/test_leak.c
# classifies (tund/leak.c), from real traffic between network namespaces
# that this script makes and removes; tcpdump writes them. Run as root;
# needs ip, tcpdump, dig, openssl and python3 (no ping:
# python sends the echo requests). OUT_DIR defaults to the
# script's own folder. The unit test asserts counts per class for each
# file, so re-recording means updating those counts (tcpdump -r shows
# what changed).
#
#   ttlPID-a                                  ttlPID-b
#   va ─────────────── veth ───────────────── vb
#   192.0.2.1/24, 2001:db8::1/64              192.0.2.2/24, 2001:db8::2/64
#   (tcpdump on va, or on "any")              "relay": TCP :9001, v4 and v6,
#                                             echoes what it gets; TCP :53
#                                             takes one message and closes
#   ttlPID-c
#   tl0: a TUN device (held by a python process that reads and drops),
#   192.0.2.1/24, 2001:db8::1/64: what a TUN-facing capture (DLT_RAW) sees
#
# Files (each a few KB):
#   eth-relay.pcap   Ethernet: the link coming up (IPv6 DAD, router
#                    solicitation, MLD reports), ARP and neighbour
#                    discovery, TCP with the relay over IPv4 and IPv6
#   eth-leaks.pcap   Ethernet: DNS over UDP (v4, v6) and TCP (v4) for
#                    www.example.test, TCP to port 8080, IPv6 UDP to 9999,
#                    ping and ping6, and the ICMP errors they draw
#   eth-tls.pcap     Ethernet: openssl s_client to an s_server on the relay
#                    port, once with -servername www.example.test (a leak)
#                    and once with -noservername (allowed)
#   sll-mixed.pcap   "any", Linux cooked v1: relay TCP, a DNS query, ping
#   sll2-mixed.pcap  "any", Linux cooked v2: the same
#   raw-mixed.pcap   the TUN (DLT_RAW, bare IP): relay SYNs over v4 and v6,
#                    a DNS query, ping, IPv6 UDP
#
# relay.py and client.py, beside this script, are the stand-in relay and
# its client (tests/net/t-leak.sh uses them too).
#
# Safety: everything happens inside the three namespaces, named with this
# shell's PID; only documentation addresses (RFC 5737, RFC 3849); nothing
# is added to the host's namespace; every exit (also on failure or a
# signal) removes the namespaces and stops the processes started here, by
# PID.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
NA="ttl$$-a"
NB="ttl$$-b"
NC="ttl$$-c"
TMP=$(mktemp -d)
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	ip netns del "$NA" 2>/dev/null || true
	ip netns del "$NB" 2>/dev/null || true
	ip netns del "$NC" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

na() { ip netns exec "$NA" "$@"; }
nb() { ip netns exec "$NB" "$@"; }
nc() { ip netns exec "$NC" "$@"; }

# cap_start NS IFACE FILE [TCPDUMP ARGS...]: tcpdump until cap_stop; waits until it listens.
CAP_PID=
cap_start() {
	local ns=$1 ifc=$2 f=$3 i
	shift 3
	ip netns exec "$ns" tcpdump --immediate-mode -U -n -s 0 -i "$ifc" "$@" -w "$f" \
		2>"$TMP/cap.log" &
	CAP_PID=$!
	PIDS+=("$CAP_PID")
	for ((i = 0; i < 100; i++)); do
		grep -q listening "$TMP/cap.log" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "record.sh: tcpdump did not start:" >&2
	cat "$TMP/cap.log" >&2
	return 1
}

cap_stop() {
	sleep 0.3
	kill -INT "$CAP_PID"
	wait "$CAP_PID" || true
	echo "record.sh: $(basename "$1"): $(tcpdump -r "$1" -n 2>/dev/null | wc -l) packets" >&2
}

# Daemons are started with "ip netns exec" itself, not through na/nb/nc:
# $! must be the daemon (ip netns exec execs it), not a subshell, so that
# kill and the cleanup reach it.

# One ICMP or ICMPv6 echo request (no ping(8) needed), and its answer if one comes.
cat >"$TMP/ping.py" <<'EOF'
import socket, struct, sys
host = sys.argv[1]
data = b"leakcheck ping"
if ":" in host:
    # The kernel fills in the ICMPv6 checksum of raw ICMPv6 sockets (RFC 3542 section 3.1).
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    pkt = struct.pack("!BBHHH", 128, 0, 0, 0x1e4c, 1) + data
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    pkt = struct.pack("!BBHHH", 8, 0, 0, 0x1e4c, 1) + data
    total = sum(struct.unpack("!%dH" % (len(pkt) // 2), pkt))
    while total > 0xffff:
        total = (total & 0xffff) + (total >> 16)
    pkt = pkt[:2] + struct.pack("!H", ~total & 0xffff) + pkt[4:]
s.settimeout(1)
s.sendto(pkt, (host, 0))
try:
    s.recv(1500)
except OSError:
    pass
EOF

# One IPv6 UDP datagram, to no one.
cat >"$TMP/udp6.py" <<'EOF'
import socket, sys
socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(b"hello", (sys.argv[1], int(sys.argv[2])))
EOF

# Holds a TUN device open and drops what the kernel sends into it.
cat >"$TMP/tun.py" <<'EOF'
import fcntl, os, struct, sys
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", sys.argv[1].encode(), 0x0001 | 0x1000))
print("ready", flush=True)
while True:
    os.read(fd, 65536)
EOF

wait_ready() {
	local f=$1 i
	for ((i = 0; i < 100; i++)); do
		grep -q ready "$f" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "record.sh: $f: not ready" >&2
	return 1
}

ip netns add "$NA"
ip netns add "$NB"
ip netns add "$NC"
ip -n "$NA" link add va type veth peer name vb netns "$NB"
for ns in "$NA" "$NB" "$NC"; do
	ip -n "$ns" link set lo up
done
ip -n "$NA" addr add 192.0.2.1/24 dev va
ip -n "$NA" addr add 2001:db8::1/64 dev va nodad
ip -n "$NB" addr add 192.0.2.2/24 dev vb
ip -n "$NB" addr add 2001:db8::2/64 dev vb nodad
# va up but without carrier until vb comes up: tcpdump can open it, and
# then sees the link come up (DAD of the link-local address, RS, MLD).
ip -n "$NA" link set va up

ip netns exec "$NB" python3 "$HERE/relay.py" --dns 192.0.2.2 192.0.2.2 2001:db8::2 \
	>"$TMP/relay.out" 2>&1 &
RELAY_PID=$!
PIDS+=("$RELAY_PID")
wait_ready "$TMP/relay.out"

cap_start "$NA" va "$OUT/eth-relay.pcap"
ip -n "$NB" link set vb up
sleep 2.5
na python3 "$HERE/client.py" 192.0.2.2 9001
na python3 "$HERE/client.py" 2001:db8::2 9001
cap_stop "$OUT/eth-relay.pcap"

cap_start "$NA" va "$OUT/eth-leaks.pcap"
na dig +tries=1 +time=1 @192.0.2.2 www.example.test A >/dev/null || true
na dig +tries=1 +time=1 @2001:db8::2 www.example.test AAAA >/dev/null || true
na dig +tcp +tries=1 +time=1 @192.0.2.2 tcp.example.test A >/dev/null || true
na python3 "$HERE/client.py" 192.0.2.2 8080 2>/dev/null || true
na python3 "$TMP/udp6.py" 2001:db8::2 9999
na python3 "$TMP/ping.py" 192.0.2.2
na python3 "$TMP/ping.py" 2001:db8::2
cap_stop "$OUT/eth-leaks.pcap"

# The TLS test needs :9001 for s_server: the relay script gives it up.
kill "$RELAY_PID"
wait "$RELAY_PID" 2>/dev/null || true
openssl req -x509 -newkey ed25519 -nodes -subj /CN=relay -days 1 \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
ip netns exec "$NB" openssl s_server -accept 192.0.2.2:9001 -naccept 2 -tls1_3 \
	-cert "$TMP/cert.pem" -key "$TMP/key.pem" -quiet >"$TMP/s_server.out" 2>&1 &
PIDS+=("$!")
for ((i = 0; i < 100; i++)); do
	nb ss -Hltn | grep -q '192.0.2.2:9001' && break
	sleep 0.05
done
cap_start "$NA" va "$OUT/eth-tls.pcap"
na openssl s_client -connect 192.0.2.2:9001 -servername www.example.test -tls1_3 \
	</dev/null >/dev/null 2>&1 || true
na openssl s_client -connect 192.0.2.2:9001 -noservername -tls1_3 \
	</dev/null >/dev/null 2>&1 || true
cap_stop "$OUT/eth-tls.pcap"

ip netns exec "$NB" python3 "$HERE/relay.py" 192.0.2.2 >"$TMP/relay2.out" 2>&1 &
PIDS+=("$!")
wait_ready "$TMP/relay2.out"
for y in LINUX_SLL LINUX_SLL2; do
	f=$OUT/$(echo "$y" | tr 'A-Z_' 'a-z ' | awk '{ print $2 }')-mixed.pcap
	cap_start "$NA" any "$f" -y "$y"
	na python3 "$HERE/client.py" 192.0.2.2 9001
	na dig +tries=1 +time=1 @192.0.2.2 www.example.test A >/dev/null || true
	na python3 "$TMP/ping.py" 192.0.2.2
	cap_stop "$f"
done

ip netns exec "$NC" python3 "$TMP/tun.py" tl0 >"$TMP/tun.out" 2>&1 &
PIDS+=("$!")
wait_ready "$TMP/tun.out"
ip -n "$NC" addr add 192.0.2.1/24 dev tl0
ip -n "$NC" addr add 2001:db8::1/64 dev tl0 nodad
ip -n "$NC" link set tl0 up
cap_start "$NC" tl0 "$OUT/raw-mixed.pcap"
# Nobody answers behind the TUN: only the SYNs go out.
nc python3 "$HERE/client.py" 192.0.2.2 9001 40 0.5 2>/dev/null || true
nc python3 "$HERE/client.py" 2001:db8::2 9001 40 0.5 2>/dev/null || true
nc dig +tries=1 +time=1 @192.0.2.2 www.example.test A >/dev/null || true
nc python3 "$TMP/ping.py" 192.0.2.2
nc python3 "$TMP/udp6.py" 2001:db8::2 9999
cap_stop "$OUT/raw-mixed.pcap"
echo "record.sh: wrote $OUT/{eth-relay,eth-leaks,eth-tls,sll-mixed,sll2-mixed,raw-mixed}.pcap" >&2

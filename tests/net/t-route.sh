#!/bin/bash
# SPDX-License-Identifier: MIT
#
# t-route.sh: tund/tun.c and tund/route.c on the real kernel, driven by
# build/routectl in one namespace of its own (no relay topology):
#
#   ns ttr$$-a
#   ┌───────────────────────────────────────────────────────────┐
#   │  va 192.0.2.2/24 ──veth── vb (no address: injects frames) │
#   │     2001:db8:1::2/64                                      │
#   │  main: default via 192.0.2.1 / 2001:db8:1::1 dev va       │
#   │  rt0 (TUN, routectl) 198.18.0.1/32, fd00::1/128           │
#   │  table T: default dev rt0; rules P..P+3 (tund/route.h)    │
#   └───────────────────────────────────────────────────────────┘
#
# Up: the rules and routes are there and `ip route get` sends what it
# should to the TUN and the rest to main; strict rp_filter passes packets
# from the TUN and a relay's replies on va. SIGTERM: everything of ours
# goes, everything else stays. kill -9 with the kill switch: traffic is
# unreachable, not leaked, until `routectl cleanup`. Also: route none,
# and errors that name what failed.
set -eu
. "$(dirname "$0")/lib.sh"

ROUTECTL=${ROUTECTL:-$TOPO_LIB_DIR/../../build/routectl}
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (network namespaces)"
	exit 0
fi
if [ ! -x "$ROUTECTL" ]; then
	echo "1..0 # SKIP $ROUTECTL is not built"
	exit 0
fi

NS=ttr$$-a
TMP=$(mktemp -d)
T=29813
P=29813
M=0xca6c
RC_PID=

cleanup() {
	if [ -n "$RC_PID" ]; then
		kill -KILL "$RC_PID" 2>/dev/null || true
		wait "$RC_PID" 2>/dev/null || true
		RC_PID=
	fi
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

n() { pretty "$NS" "$*"; ip netns exec "$NS" "$@"; }

ip netns add "$NS"
n ip link set lo up
n ip link add va type veth peer name vb
# No link-local addresses appearing later (after DAD) to blur the before/after diff.
n ip link set va addrgenmode none
n ip link set vb addrgenmode none
n ip link set va up
n ip link set vb up
n ip addr add 192.0.2.2/24 dev va
n ip -6 addr add 2001:db8:1::2/64 dev va nodad
n ip route add default via 192.0.2.1 dev va onlink
n ip -6 route add default via 2001:db8:1::1 dev va
# Strict reverse-path filtering, for the TUN created later too.
n sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.default.rp_filter=1
# Someone else's rules and table, next to ours on both sides: never touched.
for fam in -4 -6; do
	n ip "$fam" rule add prio $((P - 1)) fwmark 0x77 lookup 100
	n ip "$fam" rule add prio $((P + 4)) fwmark 0x78 lookup 100
	n ip "$fam" rule add prio 1000 fwmark 0x79 lookup 100
done
n ip route add 203.0.113.0/24 via 192.0.2.1 dev va table 100
n ip -6 route add 2001:db8:ffff::/48 via 2001:db8:1::1 dev va table 100

# Everything routing-related in the namespace, to compare before and after.
state() {
	n ip -4 rule show
	n ip -6 rule show
	n ip -4 route show table all
	n ip -6 route show table all
}
state >"$TMP/before"

# Our rules (priorities P..P+3) of one family, whitespace squeezed.
our_rules() {
	n ip "$1" rule show | awk -v lo=$P -v hi=$((P + 3)) \
		'{ p = $1; sub(/:$/, "", p) } p + 0 >= lo && p + 0 <= hi { $1 = $1; print }'
}

# rc_up NAME ARGS...: starts routectl up, waits for "ready" (or its end).
rc_up() {
	local out=$TMP/$1.out i
	shift
	pretty "$NS" "routectl up rt%d $*"
	# Not through n(): a function would run in a subshell, and $! be that shell.
	ip netns exec "$NS" "$ROUTECTL" up 'rt%d' "$@" >"$out" 2>&1 &
	RC_PID=$!
	for ((i = 0; i < 100; i++)); do
		grep -q '^ready$' "$out" && return 0
		kill -0 "$RC_PID" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}

# rc_stop SIGNAL: sends it and waits; the exit status goes to RC_STATUS.
rc_stop() {
	RC_STATUS=0
	kill "-$1" "$RC_PID"
	# In braces: bash's "Killed" notice goes to the wait's stderr, not into the output.
	{ wait "$RC_PID"; } 2>/dev/null || RC_STATUS=$?
	RC_PID=
}

get() { n ip "$@" 2>&1 | head -n 1 | sed 's/  */ /g; s/ $//'; }

# Table T of one family, trailing blanks dropped.
table_t() { n ip "$1" route show table $T | sed 's/ *$//'; }

# Counts what strict rp_filter dropped (TcpExt IPReversePathFilter).
rpf_drops() {
	n awk '$1 != "TcpExt:" { next }
		!h { for (i = 2; i <= NF; i++) k[i] = $i; h = 1; next }
		{ for (i = 2; i <= NF; i++) if (k[i] == "IPReversePathFilter") print $i }' \
		/proc/net/netstat
}

# inject SRC: a TCP SYN-ACK from SRC:9001 to 192.0.2.2 arrives on va (sent from vb).
inject() {
	n python3 - "$(n cat /sys/class/net/va/address)" "$1" <<'EOF'
import socket, struct, sys

def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

mac = bytes.fromhex(sys.argv[1].replace(":", ""))
tcp = struct.pack("!HHIIBBHHH", 9001, 40000, 1, 1, 5 << 4, 0x12, 65535, 0, 0)
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0,
                 socket.inet_aton(sys.argv[2]), socket.inet_aton("192.0.2.2"))
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("vb", 0))
s.send(mac + b"\x02\x00\x00\x00\x00\x01\x08\x00" + ip + tcp)
EOF
	sleep 0.1
}

UP_ARGS=(-a 198.18.0.1/32 -a fd00::1/128 -p 0.0.0.0/0 -p ::/0
	-r 203.0.113.9:9001 -r '[2001:db8:ffff::9]:443' -f "$M" -t "$T" -P "$P" -k)

# --- up, with the kill switch
if rc_up up "${UP_ARGS[@]}" -e 198.18.0.5; then
	t_ok "routectl up: ready"
else
	t_fail "routectl up: ready" "$(cat "$TMP/up.out")"
fi
t_eq "TUN name from the pattern rt%d" "tun rt0" "$(grep '^tun ' "$TMP/up.out")"
t_eq "IPv4 rules P..P+3" \
	"$P: from all fwmark $M goto $((P + 3))
$P: from all ipproto udp dport 53 lookup $T
$P: from all ipproto tcp dport 53 lookup $T
$((P + 1)): from all lookup main suppress_prefixlength 0
$((P + 2)): from all to 203.0.113.9 ipproto tcp dport 9001 lookup main
$((P + 3)): not from all fwmark $M lookup $T" "$(our_rules -4)"
t_eq "IPv6 rules P..P+3" \
	"$P: from all fwmark $M goto $((P + 3))
$P: from all ipproto udp dport 53 lookup $T
$P: from all ipproto tcp dport 53 lookup $T
$((P + 1)): from all lookup main suppress_prefixlength 0
$((P + 2)): from all to 2001:db8:ffff::9 ipproto tcp dport 443 lookup main
$((P + 3)): not from all fwmark $M lookup $T" "$(our_rules -6)"
t_eq "IPv4 table T" "default dev rt0 proto static scope link
unreachable default proto static metric 4294967280" \
	"$(table_t -4)"
t_eq "IPv6 table T" "default dev rt0 proto static metric 1024 pref medium
unreachable default dev lo proto static metric 4294967280 pref medium" \
	"$(table_t -6)"
link=$(n ip -d link show rt0)
t_check "TUN mtu 1420, up" grep -q 'mtu 1420 .*state UNKNOWN' <<<"$link"
t_check "TUN addrgenmode none" grep -q 'addrgenmode none' <<<"$link"
addrs=$(n ip addr show dev rt0)
t_check "TUN address 198.18.0.1/32" grep -q 'inet 198\.18\.0\.1/32 ' <<<"$addrs"
t_check "TUN address fd00::1/128 nodad" grep -q 'inet6 fd00::1/128 scope global nodad' <<<"$addrs"
t_check "TUN has no link-local address" bash -c '! grep -q fe80 <<<"$1"' _ "$addrs"

t_eq "203.0.113.80 to the TUN" "203.0.113.80 dev rt0 table $T src 198.18.0.1 uid 0" \
	"$(get route get 203.0.113.80)"
t_eq "203.0.113.80 marked: main" "203.0.113.80 via 192.0.2.1 dev va src 192.0.2.2 mark $M uid 0" \
	"$(get route get 203.0.113.80 mark $M)"
t_eq "LAN 192.0.2.7 stays on va" "192.0.2.7 dev va src 192.0.2.2 uid 0" "$(get route get 192.0.2.7)"
t_eq "DNS udp 203.0.113.53 to the TUN" "203.0.113.53 dev rt0 table $T src 198.18.0.1 uid 0" \
	"$(get route get 203.0.113.53 ipproto udp dport 53)"
t_eq "DNS udp to a LAN resolver to the TUN too" "192.0.2.53 dev rt0 table $T src 198.18.0.1 uid 0" \
	"$(get route get 192.0.2.53 ipproto udp dport 53)"
t_eq "DNS tcp to the TUN" "203.0.113.53 dev rt0 table $T src 198.18.0.1 uid 0" \
	"$(get route get 203.0.113.53 ipproto tcp dport 53)"
# A relay on port 53: tund's marked connection must not loop into its TUN.
t_eq "marked tcp to port 53: main" "203.0.113.53 via 192.0.2.1 dev va src 192.0.2.2 mark $M uid 0" \
	"$(get route get 203.0.113.53 mark $M ipproto tcp dport 53)"
t_eq "relay 203.0.113.9:9001 unmarked: main" \
	"203.0.113.9 via 192.0.2.1 dev va src 192.0.2.2 uid 0" \
	"$(get route get 203.0.113.9 ipproto tcp dport 9001)"
V6_TUN="dev rt0 table $T proto static src fd00::1 metric 1024 pref medium"
V6_MAIN="via 2001:db8:1::1 dev va src 2001:db8:1::2 metric 1024 pref medium"
t_eq "IPv6 2001:db8:ffff::80 to the TUN" \
	"2001:db8:ffff::80 from :: $V6_TUN" \
	"$(get -6 route get 2001:db8:ffff::80)"
t_eq "IPv6 marked: main" \
	"2001:db8:ffff::80 from :: $V6_MAIN" \
	"$(get -6 route get 2001:db8:ffff::80 mark $M)"
t_eq "IPv6 LAN 2001:db8:1::7 stays on va" \
	"2001:db8:1::7 from :: dev va proto kernel src 2001:db8:1::2 metric 256 pref medium" \
	"$(get -6 route get 2001:db8:1::7)"
t_eq "IPv6 DNS udp to the TUN" \
	"2001:db8:ffff::53 from :: $V6_TUN" \
	"$(get -6 route get 2001:db8:ffff::53 ipproto udp dport 53)"

t_eq "strict rp_filter: an echo from 198.18.0.5 into the TUN is answered" "echo reply" \
	"$(grep '^echo' "$TMP/up.out")"
if command -v python3 >/dev/null; then
	d0=$(rpf_drops)
	inject 203.0.113.9
	d1=$(rpf_drops)
	inject 203.0.113.10
	d2=$(rpf_drops)
	t_eq "strict rp_filter: the relay's reply on va passes (rule P+2)" 0 $((d1 - d0))
	t_eq "strict rp_filter: a non-relay's on va is dropped (control)" 1 $((d2 - d1))
else
	t_skip "strict rp_filter: the relay's reply on va passes" "no python3"
	t_skip "strict rp_filter: a non-relay's on va is dropped" "no python3"
fi

# --- SIGTERM: clean exit
rc_stop TERM
t_eq "SIGTERM: exit 0" 0 "$RC_STATUS"
t_eq "SIGTERM: removed 12 rules and 4 routes" "removed 16" "$(grep '^removed' "$TMP/up.out")"
state >"$TMP/after"
t_check "SIGTERM: rules and routes as before (others untouched)" diff -u "$TMP/before" "$TMP/after"

# --- kill -9 with the kill switch: dropped, not leaked
rc_up crash "${UP_ARGS[@]}" || t_fail "crash run: ready" "$(cat "$TMP/crash.out")"
rc_stop KILL
t_eq "kill -9: killed" 137 "$RC_STATUS"
t_check "kill -9: the TUN is gone" bash -c '! ip -n "$1" link show rt0 2>/dev/null' _ "$NS"
t_eq "kill -9: the rules stay" "6 6" "$(our_rules -4 | wc -l) $(our_rules -6 | wc -l)"
t_eq "kill -9: table T is unreachable only" \
	"unreachable default proto static metric 4294967280
unreachable default dev lo proto static metric 4294967280 pref medium" \
	"$(table_t -4; table_t -6)"
t_eq "kill -9: 203.0.113.80 unreachable" "RTNETLINK answers: No route to host" \
	"$(get route get 203.0.113.80)"
t_eq "kill -9: IPv6 unreachable" "RTNETLINK answers: No route to host" \
	"$(get -6 route get 2001:db8:ffff::80)"
t_eq "kill -9: DNS to a LAN resolver unreachable" "RTNETLINK answers: No route to host" \
	"$(get route get 192.0.2.53 ipproto udp dport 53)"
t_eq "kill -9: LAN still reachable" "192.0.2.7 dev va src 192.0.2.2 uid 0" \
	"$(get route get 192.0.2.7)"
t_eq "kill -9: marked (a restarted tund) still reaches main" \
	"203.0.113.80 via 192.0.2.1 dev va src 192.0.2.2 mark $M uid 0" \
	"$(get route get 203.0.113.80 mark $M)"
t_eq "routectl cleanup: removed 12 rules and 2 routes" "removed 14" \
	"$(n "$ROUTECTL" cleanup $T $P 2>&1)"
state >"$TMP/after"
t_check "cleanup: rules and routes as before" diff -u "$TMP/before" "$TMP/after"
t_eq "cleanup again: nothing" "removed 0" "$(n "$ROUTECTL" cleanup $T $P 2>&1)"

# --- route none: no rules, no table; strict rp_filter then drops the TUN's echo
rc_up none -a 198.18.0.1/32 -f $M -t $T -P $P -e 198.18.0.5 ||
	t_fail "route none: ready" "$(cat "$TMP/none.out")"
t_eq "route none: no rules, empty table" "0 0 0 0" \
	"$(our_rules -4 | wc -l) $(our_rules -6 | wc -l) $(table_t -4 | wc -l) $(
	)$(table_t -6 | wc -l)"
t_eq "route none: strict rp_filter drops the echo (control)" "echo: no reply" \
	"$(grep '^echo' "$TMP/none.out")"
rc_stop TERM
t_eq "route none: SIGTERM removes nothing" "0 removed 0" \
	"$RC_STATUS $(grep '^removed' "$TMP/none.out")"

# --- errors name what failed, and a failed apply leaves nothing
out=$(n "$ROUTECTL" up 'rt%d' -p 203.0.113.0/24 -p 203.0.113.0/24 -t $T -P $P 2>&1) && rc=0 || rc=$?
t_eq "duplicate prefix: the error names the route" \
	"1 routectl: add route 203.0.113.0/24 table $T dev rt0: File exists" "$rc $out"
out=$(n "$ROUTECTL" up 'rt%d' -m 10 2>&1) && rc=0 || rc=$?
t_eq "mtu 10: the kernel's reason too" \
	"1 routectl: set mtu 10 on rt0: Invalid argument (mtu less than device minimum)" "$rc $out"
out=$(n "$ROUTECTL" cleanup 254 $P 2>&1) && rc=0 || rc=$?
t_eq "cleanup refuses the main table" \
	"1 routectl: table 254 is the kernel's (unspec, compat, default, main or local), $(
	)not one of our own" \
	"$rc $out"
state >"$TMP/after"
t_check "after the errors: rules and routes as before" diff -u "$TMP/before" "$TMP/after"

t_summary

#!/bin/bash
# SPDX-License-Identifier: MIT
#
# topo.sh: the test topology, five network namespaces in a line (six with
# TOPO_RELAYS=4), so that plain IP forwarding over the same namespaces gives
# a baseline for the tunnel through the relays.
#
#   client ──── r1 ──── r2 ──── r3 ──── inet
#     .1     .2    .5  .6    .9  .10  .13  .14     IPv4: 192.0.2.x, /30 links
#    :1::1 :1::2 :2::1 :2::2 :3::1 :3::2 :4::1 :4::2  IPv6: 2001:db8:0:N::x, /64 links
#                       │ .17 :5::1
#                       │                (r4 and its link: TOPO_RELAYS=4 only)
#                       │ .18 :5::2
#                       r4
#
#            exitd   exitd   exitd     dnsmasq 203.0.113.53  2001:db8:ffff::53
#            :9001   :9001   :9001     nginx   203.0.113.80  2001:db8:ffff::80
#            (relay) (relay) (exit)    (on inet's lo)
#                    r4: exitd :9001 (exit)
#
# Links (each is one veth pair, each end named after the namespace it leads to):
#   client-r1 192.0.2.0/30  2001:db8:0:1::/64   client .1/::1, r1 .2/::2
#   r1-r2     192.0.2.4/30  2001:db8:0:2::/64   r1 .5/::1,     r2 .6/::2
#   r2-r3     192.0.2.8/30  2001:db8:0:3::/64   r2 .9/::1,     r3 .10/::2
#   r3-inet   192.0.2.12/30 2001:db8:0:4::/64   r3 .13/::1,    inet .14/::2
#   r2-r4     192.0.2.16/30 2001:db8:0:5::/64   r2 .17/::1,    r4 .18/::2  (TOPO_RELAYS=4)
# r1, r2, r3 (and r4) forward IPv4 and IPv6, and every namespace has static
# routes to every address, so the client reaches inet, and r4, directly too
# (r4 through r1 and r2; r4 reaches inet through r2 and r3).
#
# inet serves the zone example.test (dnsmasq):
#   www.example.test   A 203.0.113.80, AAAA 2001:db8:ffff::80
#   mail.example.test  A 203.0.113.25
#   example.test       MX 10 mail.example.test, TXT "v=test"
#   private.example.test A 10.1.2.3 (an exit must refuse to connect to it)
#   *.w.example.test   A 203.0.113.80, AAAA 2001:db8:ffff::80 (fresh names)
#   big.example.test   48 TXT records of 250 bytes (an answer of ~12.5 KB)
#   other names in example.test: NXDOMAIN
# and HTTP (nginx): / is a small page holding $WEB_MARKER, /big is a random
# file of TOPO_BIG_MB MiB (default 256) whose SHA-256 is in $RUN/www/big.sha256,
# /slow is /big sent at 2 MB/s.
#
# When build/exitd exists, each relay runs it, listening on its first
# address above (r1 192.0.2.2, r2 .6, r3 .10, r4 .18) port 9001.
#   Default (TOPO_RELAYS unset or 3), a fixed line: r1 may only connect to
#   r2:9001, r2 only to r3:9001, r3 (the exit) only to 203.0.113.0/24 and
#   2001:db8:ffff::/48, ports 80 and 443.
#   TOPO_RELAYS=4, a mesh: any relay may be any hop of a path. Every relay
#   accepts port 9001 of every other relay's address (one /32 rule each; its
#   own is left out, as an exact /32 accept would open it and exitd must keep
#   refusing its own listen address), r3 and r4 are exits and also accept
#   203.0.113.0/24 and [2001:db8:ffff::]/48 ports 80 and 443, r1 and r2 are
#   middles only (resolve no). Every policy ends with reject *:*.
# $RUN/env says which: RELAYS=3|4, EXITS="r3" or "r3 r4".
#
# Usage:
#   topo.sh up [RUN_DIR]   build it all; prints RUN_DIR (only that) on stdout.
#                          RUN_DIR defaults to /tmp/tunnel-topo.<id>, the id
#                          is $TOPO_ID or this shell's PID. $RUN_DIR/env holds
#                          the names, addresses and pins, for sourcing.
#   topo.sh down RUN_DIR   stop what up started, delete its namespaces and the
#                          run directory. Safe to repeat, and after a failed up.
#   topo.sh delaybox       prints the path of the delay emulator's source
#                          (TOPO_DELAY_MS); fails when it is missing.
#
# Environment:
#   TOPO_ID=ID             run id (letters, digits, '_', '.', '-'); names are tt<ID>-<role>
#   TOPO_RELAYS=3|4        3 (default): the line above; 4: add r4 and the mesh policies
#   TOPO_BIG_MB=N          size of /big in MiB (default 256)
#   TOPO_KEEP=1            down keeps the run directory (logs, configs), minus /big
#   TOPO_EXITD_EXTRA=TEXT  extra lines appended to every exitd config
#   TOPO_DELAY_MS=D        every link gets D ms of one-way delay (fractions
#                          allowed): each veth pair is split at a namespace of
#                          its own, tt<ID>-d<N>, where ../shared/wan/delaybox
#                          (built into the run directory) passes frames on D ms
#                          later; ends, names and addresses stay the same
#   TOPO_DELAYBOX_SRC=PATH delaybox.c for TOPO_DELAY_MS (default: shared/wan/
#                          beside this checkout, or beside the main checkout
#                          when this is a linked git worktree)
#   EXITD=PATH             the exitd binary (default: build/exitd of this tree)
#
# Safety: everything lives in namespaces created here. Nothing is added to the
# host's namespace (veth pairs are created with both ends already inside the
# namespaces), nothing links a namespace to the host, and only processes whose
# PID and start time were recorded here, or that run inside these namespaces,
# are ever signalled.

set -eu
set -o pipefail
umask 022

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EXITD=${EXITD:-$ROOT/build/exitd}
RELAY_PORT=9001
# Every role a run may have: up refuses to start when any of these names
# exists, and down looks for all of them, whichever variant made the run.
ALL_ROLES="client r1 r2 r3 r4 inet"
# The variant. A bad TOPO_RELAYS fails up (cmd_up), never down: down looks
# for every role anyway.
RELAYS=3
ROLES="client r1 r2 r3 inet"
RELAY_ROLES="r1 r2 r3"
EXITS="r3"
case ${TOPO_RELAYS:-3} in
3) ;;
4)
	RELAYS=4
	ROLES="client r1 r2 r3 r4 inet"
	RELAY_ROLES="r1 r2 r3 r4"
	EXITS="r3 r4"
	;;
*) RELAYS=bad ;;
esac

# IPv4 and IPv6 address of each link end, "ns peer v4/len v6/len".
LINKS="
client r1 192.0.2.1/30 2001:db8:0:1::1/64
r1 client 192.0.2.2/30 2001:db8:0:1::2/64
r1 r2 192.0.2.5/30 2001:db8:0:2::1/64
r2 r1 192.0.2.6/30 2001:db8:0:2::2/64
r2 r3 192.0.2.9/30 2001:db8:0:3::1/64
r3 r2 192.0.2.10/30 2001:db8:0:3::2/64
r3 inet 192.0.2.13/30 2001:db8:0:4::1/64
inet r3 192.0.2.14/30 2001:db8:0:4::2/64
"
# r4 hangs off r2 (TOPO_RELAYS=4).
LINKS_R4="
r2 r4 192.0.2.17/30 2001:db8:0:5::1/64
r4 r2 192.0.2.18/30 2001:db8:0:5::2/64
"

# Static routes, "ns prefix via". Connected /30s and /64s need none.
ROUTES="
client default 192.0.2.2
client default 2001:db8:0:1::2
r1 192.0.2.8/30 192.0.2.6
r1 192.0.2.12/30 192.0.2.6
r1 203.0.113.0/24 192.0.2.6
r1 2001:db8:0:3::/64 2001:db8:0:2::2
r1 2001:db8:0:4::/64 2001:db8:0:2::2
r1 2001:db8:ffff::/48 2001:db8:0:2::2
r2 192.0.2.0/30 192.0.2.5
r2 192.0.2.12/30 192.0.2.10
r2 203.0.113.0/24 192.0.2.10
r2 2001:db8:0:1::/64 2001:db8:0:2::1
r2 2001:db8:0:4::/64 2001:db8:0:3::2
r2 2001:db8:ffff::/48 2001:db8:0:3::2
r3 192.0.2.0/30 192.0.2.9
r3 192.0.2.4/30 192.0.2.9
r3 203.0.113.0/24 192.0.2.14
r3 2001:db8:0:1::/64 2001:db8:0:3::1
r3 2001:db8:0:2::/64 2001:db8:0:3::1
r3 2001:db8:ffff::/48 2001:db8:0:4::2
inet 192.0.2.0/24 192.0.2.13
inet 2001:db8::/32 2001:db8:0:4::1
"
# With r4: its link for r1 and r3 (r2 has it connected; client and inet
# have covering routes already), and everything else for r4, through r2.
ROUTES_R4="
r1 192.0.2.16/30 192.0.2.6
r1 2001:db8:0:5::/64 2001:db8:0:2::2
r3 192.0.2.16/30 192.0.2.9
r3 2001:db8:0:5::/64 2001:db8:0:3::1
r4 192.0.2.0/30 192.0.2.17
r4 192.0.2.4/30 192.0.2.17
r4 192.0.2.8/30 192.0.2.17
r4 192.0.2.12/30 192.0.2.17
r4 203.0.113.0/24 192.0.2.17
r4 2001:db8:0:1::/64 2001:db8:0:5::1
r4 2001:db8:0:2::/64 2001:db8:0:5::1
r4 2001:db8:0:3::/64 2001:db8:0:5::1
r4 2001:db8:0:4::/64 2001:db8:0:5::1
r4 2001:db8:ffff::/48 2001:db8:0:5::1
"
if [ "$RELAYS" = 4 ]; then
	LINKS=$LINKS$LINKS_R4
	ROUTES=$ROUTES$ROUTES_R4
fi

DNS_IP=203.0.113.53
DNS_IP6=2001:db8:ffff::53
WEB_IP=203.0.113.80
WEB_IP6=2001:db8:ffff::80
MAIL_IP=203.0.113.25
WEB_NAME=www.example.test
WEB_MARKER=tunnel-topo-web-marker-5e1f
R1_IP=192.0.2.2
R2_IP=192.0.2.6
R3_IP=192.0.2.10
R4_IP=192.0.2.18
R4_IP6=2001:db8:0:5::2

msg() { printf 'topo: %s\n' "$*" >&2; }
die() { msg "error: $*"; exit 1; }

# Read the whole list first: grep -q could stop reading early, and a
# writer killed by SIGPIPE would make the pipeline fail under pipefail.
ns_exists() {
	local list
	list=$(ip netns list | awk '{ print $1 }')
	grep -Fxq -- "$1" <<<"$list"
}

# Process state letter, or nothing when the process is gone. A zombie
# counts as gone: it holds no socket and no namespace any more.
proc_alive() {
	local st
	st=$(sed -E 's/^.*\) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# Start time in clock ticks since boot (field 22 of /proc/PID/stat): with
# the PID it names one process, whatever PIDs get reused later.
proc_start() {
	sed -E 's/^.*\) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

# Signal one process, TERM then KILL after a bounded wait.
stop_one() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do
		proc_alive "$pid" || return 0
		sleep 0.1
	done
	msg "pid $pid ignored SIGTERM for 5 s, sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
}

# Is "ADDR:PORT" (ADDR in brackets for IPv6) a listening TCP socket in NS?
# A wildcard listener on the port counts.
tcp_listening() {
	local ns=$1 ap=$2 port=${2##*:}
	ip netns exec "$ns" ss -Hltn 2>/dev/null |
		awk -v ap="$ap" -v w4="0.0.0.0:$port" -v w6="[::]:$port" -v w="*:$port" \
		'$4 == ap || $4 == w4 || $4 == w6 || $4 == w { f = 1 } END { exit !f }'
}

udp_listening() {
	local ns=$1 ap=$2
	ip netns exec "$ns" ss -Hlun 2>/dev/null | awk -v ap="$ap" '$4 == ap { f = 1 } END { exit !f }'
}

# Wait for a process to listen, at most 10 seconds; fail early if it dies.
wait_listen() {
	local what=$1 proto=$2 ns=$3 ap=$4 pid=$5 log=$6
	for _ in $(seq 100); do
		if "${proto}_listening" "$ns" "$ap"; then
			return 0
		fi
		if ! proc_alive "$pid"; then
			msg "$what (pid $pid) exited before listening on $ap; last lines of $log:"
			tail -n 20 "$log" >&2 2>/dev/null || true
			die "$what did not start"
		fi
		sleep 0.1
	done
	msg "$what (pid $pid) does not listen on $ap after 10 s; last lines of $log:"
	tail -n 20 "$log" >&2 2>/dev/null || true
	die "$what did not start"
}

# ---------------------------------------------------------------- down

# Stop the recorded processes, then anything left inside our namespaces,
# then delete the namespaces and (unless TOPO_KEEP=1) the run directory.
teardown() {
	local run=$1 name ns pid start left p id all role

	if [ -f "$run/pids" ]; then
		while read -r name ns pid start; do
			[ -n "$pid" ] || continue
			proc_alive "$pid" || continue
			if [ "$start" = - ] || [ "$(proc_start "$pid")" != "$start" ]; then
				msg "pid $pid is no longer our $name, leaving it alone"
				continue
			fi
			stop_one "$pid"
		done <"$run/pids"
	fi

	# The namespaces recorded, and the names of this run's id: up refuses to
	# start when one of those exists, so any that exists was made by this run.
	id=$(cat "$run/topo.id" 2>/dev/null) || id=
	all=$(
		cat "$run/netns" 2>/dev/null || true
		if [ -n "$id" ]; then
			for role in $ALL_ROLES d1 d2 d3 d4 d5; do
				echo "tt$id-$role"
			done
		fi
	)
	while read -r ns; do
		[ -n "$ns" ] || continue
		ns_exists "$ns" || continue
		# Whatever still runs in our namespace was started in it for this
		# run (by up, or by a test through ip netns exec).
		left=$(ip netns pids "$ns" 2>/dev/null || true)
		for p in $left; do
			msg "stopping pid $p still running in $ns"
			stop_one "$p"
		done
		ip netns del "$ns" || msg "could not delete namespace $ns"
	done <<<"$(awk '!seen[$0]++' <<<"$all")"
	# The client's resolver file, which up made and recorded.
	if [ -f "$run/resolv" ]; then
		while read -r f; do
			case $f in
			/etc/netns/tt*/resolv.conf)
				rm -f "$f"
				rmdir "${f%/resolv.conf}" 2>/dev/null || true
				;;
			*) ;;
			esac
		done <"$run/resolv"
	fi

	rm -f "$run/www/big"
	if [ "${TOPO_KEEP:-0}" = 1 ]; then
		# A later run may reuse the id: a second down must not touch it.
		echo down >"$run/state"
		msg "kept $run (TOPO_KEEP=1)"
	else
		rm -rf -- "$run"
	fi
}

cmd_down() {
	local run=${1:-}
	[ -n "$run" ] || die "usage: topo.sh down RUN_DIR"
	[ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
	if [ ! -d "$run" ]; then
		msg "$run does not exist, nothing to do"
		return 0
	fi
	if [ -z "$(ls -A "$run")" ]; then
		rmdir -- "$run"
		msg "$run was empty, removed"
		return 0
	fi
	# The marker says up made this directory: without it, touch nothing.
	[ -f "$run/topo.id" ] || die "$run has no topo.id: not a run directory of topo.sh, not touching it"
	if [ "$(cat "$run/state" 2>/dev/null)" = down ]; then
		msg "$run is down already"
		return 0
	fi
	teardown "$run"
	msg "down: $run"
}

# ---------------------------------------------------------------- up

UP_RUN=
UP_DONE=0

up_exit() {
	local rc=$?
	trap - ERR
	set +e
	[ -n "$UP_RUN" ] || exit "$rc"
	if [ "$UP_DONE" != 1 ]; then
		[ "$rc" != 0 ] || rc=1
		msg "up failed (exit $rc); tearing down what was made"
		teardown "$UP_RUN"
	fi
	exit "$rc"
}

up_err() {
	msg "error: line $1: command failed (exit $2): $3"
}

nsname() { printf 'tt%s-%s' "$TOPO_ID" "$1"; }

# Run a command inside the namespace of a role.
ns_run() {
	local role=$1
	shift
	ip netns exec "$(nsname "$role")" "$@"
}

# Start a daemon in a namespace in the background and record it.
start_bg() {
	local name=$1 role=$2 log=$3 pid start
	shift 3
	ip netns exec "$(nsname "$role")" "$@" </dev/null >>"$log" 2>&1 &
	pid=$!
	start=$(proc_start "$pid")
	echo "$name $(nsname "$role") $pid ${start:--}" >>"$UP_RUN/pids"
	echo "$pid" >"$UP_RUN/$name.pid"
	STARTED_PID=$pid
}

make_namespaces() {
	local role ns
	for role in $ROLES; do
		ns=$(nsname "$role")
		ip netns add "$ns"
		echo "$ns" >>"$UP_RUN/netns"
		# No duplicate address detection: addresses are usable at once.
		ns_run "$role" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
		ns_run "$role" ip link set dev lo up
	done
	# Programs in the client namespace (getaddrinfo, dig) ask the zone's
	# server; with tund's TUN up, the queries reach tund instead (port 53
	# is captured whatever the address). ip netns exec mounts this file
	# over /etc/resolv.conf for that namespace only (every file in that
	# directory is mounted so: the record of it lives in the run directory).
	ns=$(nsname client)
	mkdir -p "/etc/netns/$ns"
	echo "/etc/netns/$ns/resolv.conf" >>"$UP_RUN/resolv"
	printf 'nameserver %s\nnameserver %s\noptions timeout:2 attempts:2\n' "$DNS_IP" "$DNS_IP6" \
		>"/etc/netns/$ns/resolv.conf"
	for role in $RELAY_ROLES; do
		ns_run "$role" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	done
}

# A link A <-> B split at delay namespace D (TOPO_DELAY_MS): A's end and B's
# end keep their names, their other ends (a, b) are in D, where delaybox
# passes every frame on after the delay.
delay_link() {
	local ns=$1 peer=$2 n=$3 d pid i
	d=tt$TOPO_ID-d$n
	ip netns add "$d"
	echo "$d" >>"$UP_RUN/netns"
	ip -n "$d" link set dev lo up
	ip -n "$d" link add name a type veth peer name "$peer" netns "$(nsname "$ns")"
	ip -n "$d" link add name b type veth peer name "$ns" netns "$(nsname "$peer")"
	ip -n "$d" link set dev a up
	ip -n "$d" link set dev b up
	ip netns exec "$d" "$UP_RUN/delaybox" a b --delay-ms "$TOPO_DELAY_MS" </dev/null \
		>"$UP_RUN/delay$n.log" 2>&1 &
	pid=$!
	echo "delay$n $d $pid $(proc_start "$pid")" >>"$UP_RUN/pids"
	for ((i = 0; i < 100; i++)); do
		grep -q '^delaybox: ready' "$UP_RUN/delay$n.log" 2>/dev/null && return 0
		proc_alive "$pid" || break
		sleep 0.05
	done
	tail -n 5 "$UP_RUN/delay$n.log" >&2 || true
	die "delaybox for $ns-$peer did not start"
}

# Where delaybox.c is: TOPO_DELAYBOX_SRC, else ../shared/wan beside the
# checkout or, in a linked worktree (git worktree add), beside the main
# checkout, the parent of the common git directory.
delaybox_src() {
	local src=${TOPO_DELAYBOX_SRC:-$ROOT/../shared/wan/delaybox.c} common
	if [ ! -f "$src" ] && [ -z "${TOPO_DELAYBOX_SRC:-}" ]; then
		common=$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null) || common=
		[ -z "$common" ] || src=$(dirname "$(dirname "$common")")/shared/wan/delaybox.c
	fi
	echo "$src"
}

make_links() {
	local ns peer v4 v6 made=" " n=0 src
	if [ -n "${TOPO_DELAY_MS:-}" ]; then
		[[ $TOPO_DELAY_MS =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "TOPO_DELAY_MS must be a number of ms"
		src=$(delaybox_src)
		[ -f "$src" ] || die "TOPO_DELAY_MS needs $src (the shared delay emulator; TOPO_DELAYBOX_SRC=PATH names another)"
		gcc -O2 -Wall -o "$UP_RUN/delaybox" "$src" || die "cannot build $src"
	fi
	# Both ends of each veth pair are created inside the namespaces.
	while read -r ns peer v4 v6; do
		[ -n "$ns" ] || continue
		case $made in *" $peer-$ns "*) continue ;; *) ;; esac
		if [ -n "${TOPO_DELAY_MS:-}" ]; then
			n=$((n + 1))
			delay_link "$ns" "$peer" "$n"
		else
			ip -n "$(nsname "$ns")" link add name "$peer" type veth \
				peer name "$ns" netns "$(nsname "$peer")"
		fi
		made="$made$ns-$peer "
	done <<<"$LINKS"
	while read -r ns peer v4 v6; do
		[ -n "$ns" ] || continue
		ip -n "$(nsname "$ns")" addr add "$v4" dev "$peer"
		ip -n "$(nsname "$ns")" -6 addr add "$v6" dev "$peer" nodad
		ip -n "$(nsname "$ns")" link set dev "$peer" up
	done <<<"$LINKS"
	while read -r ns peer v4 v6; do
		[ -n "$ns" ] || continue
		ip -n "$(nsname "$ns")" route add "$peer" via "$v4"
	done <<<"$ROUTES"
	# The servers' addresses live on inet's loopback.
	ip -n "$(nsname inet)" addr add "$DNS_IP/32" dev lo
	ip -n "$(nsname inet)" addr add "$WEB_IP/32" dev lo
	ip -n "$(nsname inet)" -6 addr add "$DNS_IP6/128" dev lo nodad
	ip -n "$(nsname inet)" -6 addr add "$WEB_IP6/128" dev lo nodad
}

start_dns() {
	local conf=$UP_RUN/dnsmasq.conf
	cat >"$conf" <<-EOF
	# dnsmasq for the topology's inet namespace (written by topo.sh)
	keep-in-foreground
	no-resolv
	no-hosts
	no-poll
	bind-interfaces
	listen-address=$DNS_IP
	listen-address=$DNS_IP6
	port=53
	user=nobody
	pid-file=$UP_RUN/dnsmasq.pid
	log-facility=$UP_RUN/dnsmasq.log
	log-queries=extra
	cache-size=0
	# Answers carry a TTL as a real zone's would (dnsmasq's default is 0).
	local-ttl=60
	# Answer for example.test from here; anything not below is NXDOMAIN.
	local=/example.test/
	host-record=$WEB_NAME,$WEB_IP,$WEB_IP6
	host-record=mail.example.test,$MAIL_IP
	# A public-looking name with a private address: the exit must refuse it.
	host-record=private.example.test,10.1.2.3
	mx-host=example.test,mail.example.test,10
	txt-record=example.test,"v=test"
	# Any name below w.example.test is the web server: fresh names for
	# measuring the first fetch of a name never seen before.
	address=/w.example.test/$WEB_IP
	address=/w.example.test/$WEB_IP6
	EOF
	# big.example.test: 48 TXT records of 250 bytes, an answer of about
	# 12.5 KB (over TCP), larger than the smallest relay buffer (4k).
	local i
	for i in $(seq -w 1 48); do
		printf 'txt-record=big.example.test,"%s%s"\n' "$i" "$(printf 'x%.0s' $(seq 1 248))"
	done >>"$conf"
	: >"$UP_RUN/dnsmasq.log"
	chown nobody "$UP_RUN/dnsmasq.log" 2>/dev/null || true
	start_bg dnsmasq inet "$UP_RUN/dnsmasq.stderr" dnsmasq --conf-file="$conf"
	wait_listen dnsmasq udp "$(nsname inet)" "$DNS_IP:53" "$STARTED_PID" "$UP_RUN/dnsmasq.stderr"
	wait_listen dnsmasq udp "$(nsname inet)" "[$DNS_IP6]:53" "$STARTED_PID" "$UP_RUN/dnsmasq.stderr"
	DNS_PID=$STARTED_PID
}

# nginx temp path directives, for the modules this nginx has.
nginx_temp_paths() {
	local v m
	v=$(nginx -V 2>&1)
	echo "	client_body_temp_path $UP_RUN/nginx/body;"
	for m in proxy fastcgi uwsgi scgi; do
		case $v in
		*"--without-http_${m}_module"*) ;;
		*) echo "	${m}_temp_path $UP_RUN/nginx/$m;" ;;
		esac
	done
}

start_web() {
	local mb=${TOPO_BIG_MB:-256} conf=$UP_RUN/nginx.conf
	case $mb in '' | *[!0-9]*) die "TOPO_BIG_MB must be a number of MiB, not '$mb'" ;; *) ;; esac
	mkdir -p "$UP_RUN/www" "$UP_RUN/nginx"
	cat >"$UP_RUN/www/index.html" <<-EOF
	<!DOCTYPE html>
	<html><head><title>$WEB_NAME</title></head>
	<body><p>$WEB_MARKER</p></body></html>
	EOF
	msg "making /big: $mb MiB of random bytes"
	head -c "$((mb * 1024 * 1024))" /dev/urandom >"$UP_RUN/www/big"
	(cd "$UP_RUN/www" && sha256sum big >big.sha256)
	BIG_SHA256=$(cut -d' ' -f1 "$UP_RUN/www/big.sha256")
	BIG_MB=$mb
	{
		cat <<-EOF
		# nginx for the topology's inet namespace (written by topo.sh)
		daemon off;
		master_process on;
		worker_processes 1;
		worker_rlimit_nofile 20000;
		pid $UP_RUN/nginx.pid;
		error_log $UP_RUN/nginx/error.log warn;
		events {
			worker_connections 8192;
		}
		http {
			access_log off;
			sendfile on;
			tcp_nopush on;
			keepalive_requests 100000;
			types {
				text/html html;
				text/plain sha256;
			}
			default_type application/octet-stream;
		EOF
		nginx_temp_paths
		cat <<-EOF
			server {
				listen $WEB_IP:80;
				listen [$WEB_IP6]:80;
				server_name $WEB_NAME;
				root $UP_RUN/www;
				index index.html;
				# /big at 2 MB/s: a transfer that lasts, for tests that break a relay mid-stream.
				location = /slow {
					limit_rate 2m;
					try_files /big =404;
				}
			}
		}
		EOF
	} >"$conf"
	start_bg nginx inet "$UP_RUN/nginx.stderr" \
		nginx -p "$UP_RUN/nginx/" -c "$conf" -e "$UP_RUN/nginx/error.log"
	wait_listen nginx tcp "$(nsname inet)" "$WEB_IP:80" "$STARTED_PID" "$UP_RUN/nginx/error.log"
	wait_listen nginx tcp "$(nsname inet)" "[$WEB_IP6]:80" "$STARTED_PID" "$UP_RUN/nginx/error.log"
	WEB_PID=$STARTED_PID
}

# One relay: key, pin, config, check, start, wait for its port.
start_relay() {
	local role=$1 ip=$2 conf=$UP_RUN/$1.conf key=$UP_RUN/$1.key log=$UP_RUN/$1.log pin out
	shift 2
	pin=$(ns_run "$role" "$EXITD" keygen "$key") || die "$EXITD keygen $key failed"
	[[ $pin =~ ^sha256:[0-9a-f]{64}$ ]] || die "$EXITD keygen printed '$pin', not a sha256:<64 hex> pin"
	{
		echo "# exitd for $role (written by topo.sh)"
		echo "listen $ip:$RELAY_PORT"
		echo "key $key"
		echo "resolver $DNS_IP"
		echo "log info"
		echo "user nobody"
		printf '%s\n' "$@"
		if [ -n "${TOPO_EXITD_EXTRA:-}" ]; then
			printf '%s\n' "$TOPO_EXITD_EXTRA"
		fi
	} >"$conf"
	if ! out=$(ns_run "$role" "$EXITD" -c "$conf" -t 2>&1); then
		printf '%s\n' "$out" >&2
		die "exitd -c $conf -t rejects the configuration of $role"
	fi
	start_bg "$role" "$role" "$log" "$EXITD" -c "$conf"
	wait_listen "exitd@$role" tcp "$(nsname "$role")" "$ip:$RELAY_PORT" "$STARTED_PID" "$log"
	printf -v "RELAY_PIN_$role" '%s' "$pin"
	printf -v "RELAY_PID_$role" '%s' "$STARTED_PID"
}

# The mesh's relay rules for the relay at $1, into the array MESH: one
# "accept IP/32:9001" per other relay.
mesh_rules() {
	local ip
	MESH=()
	for ip in "$R1_IP" "$R2_IP" "$R3_IP" "$R4_IP"; do
		[ "$ip" = "$1" ] || MESH+=("accept $ip/32:$RELAY_PORT")
	done
}

start_relays() {
	RELAY_PIN_r1='' RELAY_PIN_r2='' RELAY_PIN_r3='' RELAY_PIN_r4=''
	RELAY_PID_r1='' RELAY_PID_r2='' RELAY_PID_r3='' RELAY_PID_r4=''
	HAVE_EXITD=0
	if [ ! -x "$EXITD" ]; then
		msg "exitd is not built ($EXITD missing): no relays started; run make for them"
		return 0
	fi
	# r2 sees every circuit as coming from r1, r3 from r2: each relay lists
	# the relay links (not the client's) as peers, which only
	# max-connections bounds. The per-source limits keep their defaults, so
	# the guard holds the client to them.
	local limits=("peer 192.0.2.4/30" "peer 192.0.2.8/30" "peer 192.0.2.16/30"
		"peer 2001:db8:0:2::/64" "peer 2001:db8:0:3::/64" "peer 2001:db8:0:5::/64")
	local exit_rules=("accept 203.0.113.0/24:80,443,5201,8000-8999"
		"accept [2001:db8:ffff::]/48:80,443,5201,8000-8999")
	if [ "$RELAYS" = 3 ]; then
		start_relay r1 "$R1_IP" "accept $R2_IP/32:$RELAY_PORT" "reject *:*" "resolve no" "${limits[@]}"
		start_relay r2 "$R2_IP" "accept $R3_IP/32:$RELAY_PORT" "reject *:*" "resolve no" "${limits[@]}"
		start_relay r3 "$R3_IP" "${exit_rules[@]}" "reject *:*" "${limits[@]}"
	else
		# The mesh: every relay may extend to every other relay; r3 and r4
		# are the exits. A relay's own address is left out of its rules on
		# purpose: exitd refuses its own listen address unless an accept
		# rule names exactly that host, and a relay must not loop to itself.
		mesh_rules "$R1_IP"
		start_relay r1 "$R1_IP" "${MESH[@]}" "reject *:*" "resolve no" "${limits[@]}"
		mesh_rules "$R2_IP"
		start_relay r2 "$R2_IP" "${MESH[@]}" "reject *:*" "resolve no" "${limits[@]}"
		mesh_rules "$R3_IP"
		start_relay r3 "$R3_IP" "${MESH[@]}" "${exit_rules[@]}" "reject *:*" "${limits[@]}"
		mesh_rules "$R4_IP"
		start_relay r4 "$R4_IP" "${MESH[@]}" "${exit_rules[@]}" "reject *:*" "${limits[@]}"
	fi
	HAVE_EXITD=1
	msg "exitd running in ${RELAY_ROLES// /, } (exits: ${EXITS// /, })"
}

kv() { printf '%s=%q\n' "$1" "$2"; }

write_env() {
	{
		echo "# written by netns-scripts/topo.sh up; source it"
		kv TOPO_ID "$TOPO_ID"
		kv RUN "$UP_RUN"
		kv NS_CLIENT "$(nsname client)"
		kv NS_R1 "$(nsname r1)"
		kv NS_R2 "$(nsname r2)"
		kv NS_R3 "$(nsname r3)"
		kv NS_INET "$(nsname inet)"
		kv CLIENT_IP 192.0.2.1
		kv CLIENT_IP6 2001:db8:0:1::1
		kv HAVE_EXITD "$HAVE_EXITD"
		kv EXITD "$([ "$HAVE_EXITD" = 1 ] && echo "$EXITD")"
		kv R1_IP "$R1_IP"
		kv R1_ADDR "$R1_IP:$RELAY_PORT"
		kv R1_PIN "$RELAY_PIN_r1"
		kv R1_PID "$RELAY_PID_r1"
		kv R2_IP "$R2_IP"
		kv R2_ADDR "$R2_IP:$RELAY_PORT"
		kv R2_PIN "$RELAY_PIN_r2"
		kv R2_PID "$RELAY_PID_r2"
		kv R3_IP "$R3_IP"
		kv R3_ADDR "$R3_IP:$RELAY_PORT"
		kv R3_PIN "$RELAY_PIN_r3"
		kv R3_PID "$RELAY_PID_r3"
		if [ "$RELAYS" = 4 ]; then
			kv NS_R4 "$(nsname r4)"
			kv R4_IP "$R4_IP"
			kv R4_ADDR "$R4_IP:$RELAY_PORT"
			kv R4_PIN "$RELAY_PIN_r4"
			kv R4_PID "$RELAY_PID_r4"
		fi
		kv RELAYS "$RELAYS"
		kv EXITS "$EXITS"
		kv DNS_IP "$DNS_IP"
		kv DNS_IP6 "$DNS_IP6"
		kv DNS_PID "$DNS_PID"
		kv WEB_IP "$WEB_IP"
		kv WEB_IP6 "$WEB_IP6"
		kv WEB_PID "$WEB_PID"
		kv WEB_NAME "$WEB_NAME"
		kv WEB_MARKER "$WEB_MARKER"
		kv MAIL_IP "$MAIL_IP"
		kv BIG_MB "$BIG_MB"
		kv BIG_SHA256 "$BIG_SHA256"
	} >"$UP_RUN/env.tmp"
	mv "$UP_RUN/env.tmp" "$UP_RUN/env"
}

# The baseline must work before anyone measures against it.
check_baseline() {
	local got ip
	if command -v dig >/dev/null; then
		got=$(ns_run client dig +short +time=2 +tries=2 "@$DNS_IP" "$WEB_NAME" A) || true
		[ "$got" = "$WEB_IP" ] || die "client cannot resolve $WEB_NAME through $DNS_IP (got '$got')"
	fi
	for ip in "$WEB_IP" "[$WEB_IP6]"; do
		got=$(ns_run client curl -fsS --max-time 5 "http://$ip/") || true
		case $got in
		*"$WEB_MARKER"*) ;;
		*) die "client cannot fetch http://$ip/ by plain forwarding (see $UP_RUN/nginx/error.log;" \
			"nginx workers run as nobody and must be able to read $UP_RUN/www)" ;;
		esac
	done
	[ "$RELAYS" = 4 ] || return 0
	# r4, an exit, reaches inet through r2 and r3.
	for ip in "$WEB_IP" "[$WEB_IP6]"; do
		got=$(ns_run r4 curl -fsS --max-time 5 "http://$ip/") || true
		case $got in
		*"$WEB_MARKER"*) ;;
		*) die "r4 cannot fetch http://$ip/ by plain forwarding" ;;
		esac
	done
	# The client reaches r4 through r1 and r2: r4's own kernel refuses a
	# closed port (discard, 9), so "refused" proves the way there and back
	# without a connection that exitd would log.
	for ip in "$R4_IP" "$R4_IP6"; do
		got=$(ns_run client timeout 5 bash -c "exec 3<>/dev/tcp/$ip/9" 2>&1) || true
		case $got in
		*"Connection refused"*) ;;
		*) die "client cannot reach r4 at $ip by plain forwarding (got: $got)" ;;
		esac
	done
}

cmd_up() {
	local c run
	[ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
	[ "$RELAYS" != bad ] || die "TOPO_RELAYS must be 3 or 4, not '$TOPO_RELAYS'"
	for c in ip ss dnsmasq nginx curl sha256sum; do
		command -v "$c" >/dev/null || die "$c is not installed (make deps)"
	done

	if [ -n "${TOPO_ID:-}" ]; then
		[[ $TOPO_ID =~ ^[A-Za-z0-9_.-]{1,32}$ ]] || die "TOPO_ID must be 1-32 of [A-Za-z0-9_.-]"
	else
		TOPO_ID=$$
		# A PID may repeat after a reboot or a wrap: never reuse a live name.
		while grep -q "^tt$TOPO_ID-" <<<"$(ip netns list)"; do
			TOPO_ID=$$x$RANDOM
		done
	fi
	for c in $ALL_ROLES; do
		! ns_exists "$(nsname "$c")" ||
			die "namespace $(nsname "$c") exists already: another run with TOPO_ID=$TOPO_ID is up"
	done

	run=${1:-/tmp/tunnel-topo.$TOPO_ID}
	if [ -e "$run" ] && [ -n "$(ls -A "$run" 2>/dev/null)" ]; then
		die "$run exists and is not empty: use topo.sh down $run, or another directory"
	fi
	mkdir -p "$run"
	RUN=$(cd "$run" && pwd)
	echo "$TOPO_ID" >"$RUN/topo.id"

	UP_RUN=$RUN
	trap up_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	set -E
	trap 'up_err "$LINENO" "$?" "$BASH_COMMAND"' ERR

	msg "run $TOPO_ID in $RUN"
	make_namespaces
	make_links
	start_dns
	start_web
	start_relays

	write_env

	check_baseline
	UP_DONE=1
	msg "up: namespaces tt$TOPO_ID-{${ROLES// /,}}; env in $RUN/env"
	echo "$RUN"
}

case ${1:-} in
up)
	shift
	[ $# -le 1 ] || die "usage: topo.sh up [RUN_DIR]"
	cmd_up "$@"
	;;
down)
	shift
	[ $# -eq 1 ] || die "usage: topo.sh down RUN_DIR"
	cmd_down "$1"
	;;
delaybox)
	# Prints delaybox.c's path; fails when it is not there.
	src=$(delaybox_src)
	echo "$src"
	[ -f "$src" ]
	;;
*)
	echo "usage: topo.sh up [RUN_DIR] | down RUN_DIR | delaybox" >&2
	exit 2
	;;
esac

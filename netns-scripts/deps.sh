#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages needed to build, test and demo this project
# (as root). Does nothing when they are all there already.
set -eu
PKGS="make build-essential pkg-config clang libssl-dev libc-ares-dev libnl-3-dev
libnl-route-3-dev libpcap-dev libcmocka-dev libclang-rt-14-dev iproute2 curl
dnsutils dnsmasq-base nginx-light iperf3 tcpdump procps python3 wget wrk ethtool
chromium"
missing=
for p in $PKGS; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null

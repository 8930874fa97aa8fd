#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs every tests/net/t-*.sh (as root: they make network namespaces) and
# sums their "N passed, N failed" lines into one.
set -u
dir=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" != 0 ]; then
	echo "netns tests need root (they create network namespaces)" >&2
	exit 1
fi
pass=0 fail=0 bad=0
for t in "$dir"/t-*.sh; do
	echo "# $(basename "$t")"
	out=$(mktemp)
	"$t" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	rm -f "$out"
	if [ -z "$line" ]; then
		echo "# $(basename "$t"): no summary line (exit $rc)"
		bad=$((bad + 1))
		continue
	fi
	p=${line%% passed*}
	f=${line#*, }
	f=${f%% failed*}
	pass=$((pass + p))
	fail=$((fail + f))
	[ "$rc" = 0 ] || [ "$f" != 0 ] || bad=$((bad + 1))
done
echo "netns: $pass passed, $((fail + bad)) failed"
[ $((fail + bad)) -eq 0 ]

#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs the cmocka test programs given as arguments and sums their test
# cases into one "unit: N passed, N failed" line. A program that crashes
# or prints no summary counts as one failure.
set -u
pass=0 fail=0
for t in "$@"; do
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -E '^\[ *(FAILED|PASSED|  ERROR) *\]|^\[==========\]' | sed "s|^|$(basename "$t"): |"
	ran=$(printf '%s\n' "$out" | sed -nE 's/^\[==========\] ([0-9]+) test\(s\) run\./\1/p' | tail -n 1)
	bad=$(printf '%s\n' "$out" | sed -nE 's/^\[  FAILED  \] ([0-9]+) test\(s\), listed below:/\1/p' | tail -n 1)
	if [ -z "$ran" ]; then
		printf '%s\n' "$out" | tail -n 20
		echo "$(basename "$t"): no summary (exit $rc)"
		fail=$((fail + 1))
		continue
	fi
	bad=${bad:-0}
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		printf '%s\n' "$out" | tail -n 20
		bad=1
	fi
	pass=$((pass + ran - bad))
	fail=$((fail + bad))
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

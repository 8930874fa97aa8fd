#!/usr/bin/env bash
# campaign.sh [SECS [JOBS [TARGET...]]]: a long fuzzing run, not part of CI.
#
# Runs every libFuzzer target (or the ones named) for SECS seconds each
# (default 600), JOBS at a time (default: the number of CPUs), starting
# from its kept corpus (tests/fuzz/corpus/NAME). New inputs go to a
# scratch directory, build/fuzz/campaign/NAME, so the kept corpus changes
# only when someone merges on purpose:
#   build/fuzz/fuzz_NAME -merge=1 tests/fuzz/corpus/NAME build/fuzz/campaign/NAME
# A crash leaves its input as build/fuzz/campaign/NAME.crash-*; fix it and
# add the input to the corpus as a regression.
#
# Prints one line per target: executions, edges covered (libFuzzer's cov),
# features (ft), corpus entries, and the verdict. Exits 1 if any crashed.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
SECS=${1:-600}
JOBS=${2:-$(nproc)}
shift 2 2>/dev/null || shift $#
if [ $# -gt 0 ]; then
	NAMES=("$@")
else
	NAMES=()
	for f in tests/fuzz/fuzz_*.c; do
		n=${f#tests/fuzz/fuzz_}
		NAMES+=("${n%.c}")
	done
fi
make -s "${NAMES[@]/#/build/fuzz/fuzz_}" || exit 2
OUT=build/fuzz/campaign
mkdir -p "$OUT"

run_one() {
	local n=$1
	rm -rf "${OUT:?}/$n" "$OUT/$n".crash-* "$OUT/$n".leak-* "$OUT/$n".timeout-* "$OUT/$n".oom-*
	mkdir -p "$OUT/$n"
	"build/fuzz/fuzz_$n" -max_total_time="$SECS" -rss_limit_mb=1024 -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$OUT/$n." \
		"$OUT/$n" "tests/fuzz/corpus/$n" >"$OUT/$n.log" 2>&1
	echo $? >"$OUT/$n.rc"
}

running=0
for n in "${NAMES[@]}"; do
	run_one "$n" &
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

bad=0
printf '%-14s %12s %8s %8s %8s  %s\n' target executions cov ft corpus verdict
for n in "${NAMES[@]}"; do
	log=$OUT/$n.log
	rc=$(cat "$OUT/$n.rc" 2>/dev/null || echo '?')
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	last=$(grep -E '^#[0-9]+' "$log" | tail -n1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
	art=$(ls "$OUT/$n".crash-* "$OUT/$n".leak-* "$OUT/$n".timeout-* "$OUT/$n".oom-* 2>/dev/null | head -n1)
	if [ "$rc" = 0 ] && [ -z "$art" ]; then
		verdict=clean
	else
		verdict="FAILED (exit $rc${art:+, $art})"
		bad=1
	fi
	printf '%-14s %12s %8s %8s %8s  %s\n' "$n" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$verdict"
done
exit $bad

#!/usr/bin/env bash
# Fuzzes the three functions' event parsing (shared/tests/event_fuzz.rs): what
# `PROPTEST_CASES=100000 cargo test --release -p janitor --test event_fuzz` runs, but one
# property at a time, so that each is timed. PROPTEST_CASES overrides the 100,000.
# Properties are the tests named `*_over_*`; ignored ones (known failures) are skipped.
# Prints each property's cases and time, then a summary; fails if any property fails.
set -euo pipefail
cd "$(dirname "$0")/.."
cases=${PROPTEST_CASES:-100000}

echo "== building the fuzz tests (release)"
# The JSON messages name the test executable; running it directly keeps cargo's own
# start-up out of the timings.
executable=$(cargo test --release --locked -p janitor --test event_fuzz --no-run \
  --message-format=json | grep '"name":"event_fuzz"' |
  sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
if [ -z "$executable" ]; then
  echo "no test executable built" >&2
  exit 1
fi

properties=$(comm -23 \
  <("$executable" --list --format terse | sed -n 's/^\(.*_over_.*\): test$/\1/p' | sort) \
  <("$executable" --list --ignored --format terse | sed -n 's/: test$//p' | sort))

if [ -z "$properties" ]; then
  echo "no properties found in $executable" >&2
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
summary=()
failed=0
total_start=$(date +%s%N)
for property in $properties; do
  echo "== $property: $cases cases"
  start=$(date +%s%N)
  if PROPTEST_CASES=$cases "$executable" --exact "$property" --test-threads 1 >"$log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed=$((failed + 1))
    cat "$log"
  fi
  seconds=$(awk -v ns=$(($(date +%s%N) - start)) 'BEGIN { printf "%.1f", ns / 1e9 }')
  echo "   $status in ${seconds}s"
  summary+=("$(printf '%-42s %8s cases %8ss  %s' "$property" "$cases" "$seconds" "$status")")
done
total=$(awk -v ns=$(($(date +%s%N) - total_start)) 'BEGIN { printf "%.1f", ns / 1e9 }')

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
echo "${#summary[@]} properties, $failed failed, ${total}s"
[ "$failed" -eq 0 ]

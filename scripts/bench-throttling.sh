#!/usr/bin/env bash
# Benchmark: an enforced sweep of a 10,000-image repository (9,000 expire) while ECR
# throttles 0 %, 30 % and 60 % of calls (tests/tests/throttling_bench.rs), with the
# production retry policies and pacing, against moto through a throttling proxy.
# Prints, per level: wall time, ECR calls, throttled calls, deletions, deletions/s.
#
# Debug build, like the other end-to-end tests: the time goes to moto and to waiting
# (pacing, backoff), not to the sweeper's own code. Seeding takes about a minute per
# level (10,000 PutImage calls to moto); the full log is in target/bench-throttling.log.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${MOTO_SERVER:-}" ]; then
  bash scripts/venv.sh
  export MOTO_SERVER="$PWD/.venv/bin/moto_server"
fi

mkdir -p target
log=target/bench-throttling.log
status=0
cargo test -p janitor-e2e --test throttling_bench --locked -- \
  --ignored --nocapture --test-threads=1 > "$log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
  tail -n 40 "$log"
  exit "$status"
fi
grep '^throttling' "$log"

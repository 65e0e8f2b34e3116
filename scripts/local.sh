#!/usr/bin/env bash
# `make local`: the three functions under `cargo lambda watch` against moto server,
# seeded for the sample events in tests/events/; returns once they are ready
# (scripts/local.py says how to invoke them; `make local-stop` stops them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh
# `cargo lambda watch` runs each function with `cargo run --bin NAME`, which builds it
# with the features of its own package. This build resolves the same features, so watch
# reuses it and compiles nothing. The workspace build of `make test` does not: the tests
# enable more features of shared dependencies (tokio's test-util, serde's alloc), and a
# `cargo run` after it alone would recompile tokio, serde and everything above them.
echo "== building the three functions as cargo lambda watch runs them"
cargo build --locked --bin tag-enforcer --bin scan-forwarder --bin lifecycle-sweeper
exec .venv/bin/python scripts/local.py start

#!/usr/bin/env bash
# `make demo`: the whole janitor on a local moto server, driven through cargo-lambda.
# Installs moto and cargo-lambda into .venv (nothing system-wide), builds the three
# functions once, then hands over to scripts/demo.py, which starts and stops every
# process it needs (also on Ctrl-C or failure).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh
# The same build as `make test`'s, so that running one after the other builds once.
echo "== building the workspace (the first build takes several minutes)"
cargo build --quiet --workspace --all-targets
exec .venv/bin/python scripts/demo.py "$@"

#!/usr/bin/env bash
# `make demo`: the whole janitor on a local moto server, driven through cargo-lambda.
# Installs moto and cargo-lambda into .venv (nothing system-wide), builds the three
# functions once, then hands over to scripts/demo.py, which starts and stops every
# process it needs (also on Ctrl-C or failure).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh
echo "== building the functions (first build takes a few minutes)"
cargo build --quiet -p tag-enforcer -p scan-forwarder -p lifecycle-sweeper
exec .venv/bin/python scripts/demo.py "$@"

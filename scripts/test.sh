#!/usr/bin/env bash
# The full test suite, as CI runs it (`make test`). Installs what it needs on a fresh
# machine (Python tools into .venv / .venv-checkov, Chromium from Debian's packages),
# builds once, runs everything.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$1" "$(( $(date +%s) - start ))"; }

# The Python tools install while cargo works: neither needs the other until the tests.
step "python tools (moto server, cargo-lambda, checkov) and chromium, in the background"
mkdir -p target
bash scripts/venv.sh --with-checkov > target/venv-install.log 2>&1 &
venv_pid=$!
# Chromium (Debian's package) renders the HTML report in its browser test.
bash scripts/browser.sh > target/browser-install.log 2>&1 &
browser_pid=$!
trap 'kill $venv_pid $browser_pid ${terraform_pid:-} 2>/dev/null || true' EXIT

step "formatting"
cargo fmt --all -- --check
terraform fmt -check -recursive infra

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "build"
cargo build --workspace --all-targets --locked

step "python tools and chromium ready"
if ! wait $venv_pid; then
  cat target/venv-install.log
  exit 1
fi
if ! wait $browser_pid; then
  cat target/browser-install.log
  exit 1
fi
export MOTO_SERVER="$PWD/.venv/bin/moto_server"
export PATH="$PWD/.venv/bin:$PATH"

# The Terraform checks need no cargo and little CPU: they run beside the Rust tests.
step "terraform checks (validate, terraform test, checkov), in the background"
bash scripts/terraform-checks.sh > target/terraform-checks.log 2>&1 &
terraform_pid=$!

step "cargo test: unit, property, CLI golden, end to end against moto and terraform"
# Property tests draw their cases from a fixed seed here, so that a run is reproducible
# and a failure is one every rerun shows; scripts/fuzz-events.sh explores fresh seeds.
PROPTEST_RNG_SEED=${PROPTEST_RNG_SEED:-20261203} cargo test --workspace --locked

step "terraform checks"
terraform_status=0
wait $terraform_pid || terraform_status=$?
cat target/terraform-checks.log
if [ "$terraform_status" -ne 0 ]; then
  exit "$terraform_status"
fi

step "demo: the real binaries under cargo-lambda against moto (make demo)"
bash scripts/demo.sh

step "README's Local development block as typed: make local, the invokes, make local-stop"
.venv/bin/python scripts/readme_local_test.py

# The deployable zips, once, in release: the longest step (about 10 minutes here).
step "release zips of the three functions (make package)"
bash scripts/package.sh

step "done in $(( $(date +%s) - start ))s"

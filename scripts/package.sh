#!/usr/bin/env bash
# `make package`: the deployable zips of the three functions, built once in release
# (the workspace's release profile: opt-level "s", thin LTO, one codegen unit, strip,
# panic = abort) by cargo-lambda (zig as the linker), into
# target/lambda/{tag-enforcer,scan-forwarder,lifecycle-sweeper}/bootstrap.zip, where
# infra/ reads them. Only the three function packages: not the ecr-janitor CLI.
#   ARCH=x86_64 (default; what CI builds) or ARCH=arm64 (Graviton; set
#   architecture = "arm64" in infra/terraform.tfvars to match).
set -euo pipefail
cd "$(dirname "$0")/.."
FUNCTIONS=(tag-enforcer scan-forwarder lifecycle-sweeper)

case "${ARCH:-x86_64}" in
  x86_64) target_flag=--x86-64 ;;
  arm64) target_flag=--arm64 ;;
  *) echo "ARCH must be x86_64 or arm64, not ${ARCH}" >&2; exit 2 ;;
esac

bash scripts/venv.sh
# cargo-lambda links with zig, which it finds as `zig` or as the `ziglang` module of
# the `python3` on PATH: the venv's, where pip installed it with cargo-lambda.
export PATH="$PWD/.venv/bin:$PATH"
start=$(date +%s)
packages=()
for function in "${FUNCTIONS[@]}"; do
  packages+=(--package "$function")
  rm -f "target/lambda/$function/bootstrap.zip"
done
cargo lambda build --release --locked --output-format zip "$target_flag" "${packages[@]}"

echo "== release zips (${ARCH:-x86_64}), built in $(( $(date +%s) - start ))s"
for function in "${FUNCTIONS[@]}"; do
  zip="target/lambda/$function/bootstrap.zip"
  if [ ! -s "$zip" ]; then
    echo "missing: $zip" >&2
    exit 1
  fi
  printf '%-20s %9d bytes  %s\n' "$function" "$(wc -c < "$zip" | tr -d " ")" "$zip"
done

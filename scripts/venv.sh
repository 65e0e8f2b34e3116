#!/usr/bin/env bash
# Installs the project's Python-side tools into local virtual environments:
#   .venv          moto server (the local AWS), boto3/botocore, cargo-lambda
#   .venv-checkov  checkov (kept apart: it pins python-hcl2 versions moto's deps dislike)
# Idempotent: a venv whose stamp matches this file's requirements is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
MAIN_REQUIREMENTS=("moto[server]==5.2.5" "cargo-lambda==1.9.2")
CHECKOV_REQUIREMENTS=("checkov==3.3.30")

make_venv() {
  local dir=$1; shift
  local stamp="$dir/.requirements"
  if [ -x "$dir/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$*" ]; then
    return 0
  fi
  echo "== installing $* into $dir"
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
  echo "$*" > "$stamp"
}

make_venv .venv "${MAIN_REQUIREMENTS[@]}"
if [ "${1:-}" = "--with-checkov" ]; then
  make_venv .venv-checkov "${CHECKOV_REQUIREMENTS[@]}"
fi

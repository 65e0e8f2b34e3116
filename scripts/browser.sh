#!/usr/bin/env bash
# Installs Chromium from Debian's packages when it is missing: the report's browser test
# renders the HTML report with it, headless. Idempotent: prints the path and exits when
# Chromium is already there. Needs root (CI runs as root) or sudo.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  command -v chromium
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "== installing chromium from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium

#!/usr/bin/env bash
# Static checks of infra/, all offline:
#   1. terraform fmt -check -recursive infra
#   2. terraform init -backend=false + validate of every module and the root
#   3. infra/terraform.tfvars.example sets exactly the root's variables; terraform test
#      of every module that has tests (mocked provider), and of the root planned with
#      that example
#   4. checkov (every failed check is fixed or skipped inline with a reason)
# Nothing is written into the checkout: each configuration is copied to a temp folder,
# and the provider comes from the filesystem mirror (override with TF_PLUGIN_MIRROR, or
# set TF_CHECKS_ONLINE=1 to let terraform init download it).
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

TERRAFORM=${TERRAFORM:-terraform}
CHECKOV=${CHECKOV:-$ROOT/.venv-checkov/bin/checkov}
MIRROR=${TF_PLUGIN_MIRROR:-/opt/tf-plugins}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ "${TF_CHECKS_ONLINE:-0}" != 1 ]; then
  cat > "$WORK/terraformrc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct { exclude = ["registry.terraform.io/hashicorp/aws"] }
}
RC
  export TF_CLI_CONFIG_FILE="$WORK/terraformrc"
fi
export TF_IN_AUTOMATION=1 TF_INPUT=0
# One provider copy for all configurations.
export TF_PLUGIN_CACHE_DIR="$WORK/plugin-cache"
mkdir -p "$TF_PLUGIN_CACHE_DIR"

step() { printf '\n== %s\n' "$*"; }

step "terraform fmt -check -recursive infra"
"$TERRAFORM" fmt -check -recursive -diff infra
echo "formatted"

step "infra/terraform.tfvars.example sets exactly the variables of infra/variables.tf"
declared=$(sed -n 's/^variable "\([a-z0-9_]*\)".*/\1/p' infra/variables.tf | sort)
assigned=$(sed -n 's/^\([a-z0-9_]*\) *=.*/\1/p' infra/terraform.tfvars.example | sort)
if [ "$declared" != "$assigned" ]; then
  echo "declared (<) and set in the example (>) differ:" >&2
  diff <(echo "$declared") <(echo "$assigned") >&2 || true
  exit 1
fi
echo "$(echo "$declared" | wc -l) variables, each set"

# infra/ is copied whole so that the root's relative module sources keep working.
cp -r infra "$WORK/infra"
find "$WORK/infra" -name .terraform -prune -exec rm -rf {} + -o -name '.terraform.lock.hcl' -exec rm -f {} +
# The root's terraform test plans with the example's variables (infra/tests/).
cp infra/terraform.tfvars.example "$WORK/infra/example.auto.tfvars"

configurations=("$WORK/infra")
for module in "$WORK"/infra/modules/*/; do
  configurations+=("${module%/}")
done

for dir in "${configurations[@]}"; do
  name=${dir#"$WORK/"}
  step "terraform init + validate: $name"
  "$TERRAFORM" -chdir="$dir" init -backend=false -no-color >/dev/null
  "$TERRAFORM" -chdir="$dir" validate -no-color
  if [ -d "$dir/tests" ]; then
    step "terraform test: $name"
    "$TERRAFORM" -chdir="$dir" test -no-color
  fi
done

step "checkov -d infra"
if [ ! -x "$CHECKOV" ]; then
  echo "checkov not found at $CHECKOV (run scripts/venv.sh --with-checkov)" >&2
  exit 1
fi
"$CHECKOV" -d infra --framework terraform --skip-download --compact --quiet

step "terraform checks passed: fmt, validate (${#configurations[@]} configurations), tests, checkov"

# ecr-janitor: what you run.
#   make demo  - the whole janitor on a local moto server, driven through cargo-lambda
#   make test  - every test: fmt, clippy, unit, property, end-to-end, Terraform (what CI runs)
#   make local - the functions under cargo lambda watch against moto, for your own invokes
#   make package - the release zips of the three functions, for infra/ (ARCH=arm64 for Graviton)
.PHONY: demo test venv local local-stop package

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

venv:
	bash scripts/venv.sh --with-checkov

local:
	bash scripts/local.sh

local-stop:
	.venv/bin/python scripts/local.py stop

package:
	bash scripts/package.sh

# ecr-janitor: the two commands.
#   make demo  - the whole janitor on a local moto server, driven through cargo-lambda
#   make test  - every test: fmt, clippy, unit, property, end-to-end, Terraform (what CI runs)
.PHONY: demo test venv

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

venv:
	bash scripts/venv.sh --with-checkov

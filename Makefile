# Entry points. `make plan` (STACK=staging|prod) is the main job; `make test` is what CI runs.
SHELL := /bin/bash
STACK ?= staging
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

.PHONY: deps venv plan plan-all schema client docs lint format typecheck test unit policy bench lambda clean

# Create the virtualenv and install the pinned dependencies (re-run when requirements.txt changes).
$(STAMP): requirements.txt
	@echo "== Python packages from requirements.txt into $(VENV)"
	@test -x $(PY) || python3 -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "python3 -m venv failed: run make deps (it installs python3-venv), then make again" >&2; exit 1; }
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

venv: $(STAMP)

## Everything the suite needs, installed only when missing (a ready machine costs well under a second):
## Debian packages from .ci/apt-packages.txt (as root, or through sudo -n), npm ci when package-lock.json is
## newer than node_modules, then the venv. Without root or sudo it stops with the command to run.
deps:
	@bash .ci/deps.sh
	@$(MAKE) -s --no-print-directory venv

## Offline plan on Pulumi's mock engine -> build/$(STACK)/{resources.json,manifests/,outputs.json}
plan: venv
	$(PY) -m offline.plan --stack $(STACK)

plan-all: venv
	$(PY) -m offline.plan --stack staging --quiet
	$(PY) -m offline.plan --stack prod --quiet

## Plan review: plan BASE (a git ref; default HEAD) in a temporary worktree, plan the working tree, and compare
## them -> build/diff/$(STACK).{json,md} (the .md is the pull-request comment). Exit 1 when a protected or
## data-holding resource is removed or replaced.
BASE ?= HEAD
.PHONY: diff graph
diff: venv
	$(PY) -m offline.plan --stack $(STACK) --quiet
	$(PY) -m offline.base_plan --ref $(BASE) --stack $(STACK) --out build/diff-base
	$(PY) -m offline.diff build/diff-base/$(STACK) build/$(STACK) --json build/diff/$(STACK).json --markdown build/diff/$(STACK).md

## The stack drawn from its plan -> build/$(STACK)/graph.svg (graphviz dot; components as clusters)
graph: venv
	$(PY) -m offline.plan --stack $(STACK) --quiet
	$(PY) -m offline.graph build/$(STACK)

## Publish the outputs contract from components/platform/outputs.py (refuses a breaking change within a major
## version, naming the field), then regenerate the consumer package's models from it
schema: venv
	$(PY) -m offline.schema
	$(PY) -m clients.codegen

## Consumer package of typed stack outputs -> build/platform_outputs-<version>-py3-none-any.whl (models checked
## against the published schema first; built from a copy so the source tree gets no build debris)
client: venv
	$(PY) -m clients.codegen --check
	@rm -rf build/client-src && mkdir -p build && cp -r clients/platform_outputs build/client-src
	$(PY) -m pip wheel -q --disable-pip-version-check --no-deps --no-build-isolation -w build build/client-src
	@rm -rf build/client-src && ls build/platform_outputs-*.whl

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Our code only; the provider SDKs are never type-checked (they exhaust memory).
typecheck: venv
	$(VENV)/bin/pyright

unit: venv
	$(PY) -m pytest -m "not real"

## deps, then ruff + pyright + the whole pytest suite (unit tests on mocks and tests on real parts).
test: deps lint typecheck
	$(PY) -m pytest

## Observability cell: the plan's monitors, rules and routing around real Redis, PostgreSQL, exporters, Pushgateway,
## Prometheus and Alertmanager on loopback; steady state, then real faults -> build/cell/$(STACK).json
.PHONY: cell
cell: plan
	$(PY) -m offline.cell --stack $(STACK)

## Policy pack against the offline plan of $(STACK).
policy: plan
	$(PY) -m policies.check build/$(STACK)/resources.json --stack-config policies/config/$(STACK).json

## Benchmarks -> build/bench/*.json
bench: venv
	@mkdir -p build/bench
	@set -e; for script in bench/*.py; do echo "== $$script"; $(PY) $$script; done

## Lambda zips for the content optimizer and the DR failover controller (pulumi up needs them; the offline plan does not)
lambda: venv
	@mkdir -p build/lambda
	@set -e; for arch in arm64 x86_64; do \
	  $(PY) -m functions.optimizer.package --arch $$arch --python-version 3.12 --out build/lambda/optimizer-$$arch.zip; \
	  $(PY) -m functions.dr.package --arch $$arch --python-version 3.12 --out build/lambda/dr-controller-$$arch.zip; \
	done

clean:
	rm -rf build .pytest_cache .ruff_cache

## Regenerate the README's config reference from the pydantic models
docs: venv
	$(PY) -m offline.config_reference

# The index of every task: `make help`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
# sam build needs an interpreter matching the Lambda runtime (python3.12) on PATH.
SAM_ENV := PYENV_VERSION=3.11.7:3.12.1:3.13.0
PORT ?= 3000

.PHONY: help
help: ## List every task
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-dev.txt layers/shared/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

local/node_modules/.installed: local/package.json local/package-lock.json
	cd local && npm ci --no-audit --no-fund --loglevel=error
	touch $@

node_modules/.installed: package.json package-lock.json clients/web/package.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

.PHONY: install
install: $(VENV)/.installed local/node_modules/.installed node_modules/.installed ## Install the Python and Node dependencies (idempotent)

.PHONY: local
local: install ## Start the whole system locally on http://127.0.0.1:$(PORT) (no AWS, no Docker)
	PORT=$(PORT) $(PY) -m local.stack

.PHONY: token
token: install ## Mint a demo feedback token from the running local stack
	$(PY) -m local.mint_token $(ARGS)

.PHONY: lint
lint: $(VENV)/.installed ## ruff (lint + format check), mypy on the layer package, cfn-lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint template.yaml

.PHONY: test-python
test-python: install ## Unit, template and integration tests
	$(PY) -m pytest -q

.PHONY: test-web
test-web: node_modules/.installed ## Web SDK: type check, unit tests (Vitest) and build with size report
	npm run typecheck -w clients/web
	npm test -w clients/web
	npm run build -w clients/web

.PHONY: test
test: lint test-python test-web ## Everything: lint, type checks, cfn-lint, Python and web tests

.PHONY: bench
bench: install ## Benchmarks (not part of the tests): handler overhead without the model call
	$(PY) -W ignore bench/handler_overhead.py 300

.PHONY: format
format: $(VENV)/.installed ## Reformat the Python code
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

$(SAM_VENV)/.installed:
	$(SAM_ENV) python3.12 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli==1.170.0
	touch $@

.PHONY: validate
validate: $(SAM_VENV)/.installed ## sam validate --lint (offline)
	$(SAM_ENV) $(SAM) validate --lint --region us-east-1

.PHONY: build
build: $(SAM_VENV)/.installed ## sam build (no Docker needed)
	$(SAM_ENV) $(SAM) build

.PHONY: deploy
deploy: build ## sam deploy (uses samconfig.toml; CONFIG_ENV=prod for production)
	$(SAM_ENV) $(SAM) deploy --config-env $${CONFIG_ENV:-default}

.PHONY: clean
clean: ## Remove build output and local data (keeps the virtual environments)
	rm -rf .aws-sam .local .pytest_cache .mypy_cache .ruff_cache

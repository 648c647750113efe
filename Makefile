# Two commands do everything on a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo lint test unit integration benchmark schemas clean faults browser-setup browser

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[embedded,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/reciprocal demo

# Static checks: ruff everywhere, mypy strict on shared/ and every services/*/domain/ (paths in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# Test files are spread over TEST_WORKERS processes, each with its own embedded stack; TEST_WORKERS=0
# runs them in this process, in order.
TEST_WORKERS ?= 2

# The browser tests run in a process of their own: Playwright's sync API keeps an event loop running in
# its thread for the rest of the session, which the asyncio tests of the same process cannot share.
test: lint browser-setup
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --ignore-glob='tests/browser/*' --durations=15
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/browser

# What the browser tests (tests/browser) need: Debian's Chromium (installed with apt-get when we are root and
# it is missing; Playwright never downloads a browser here) and axe-core from the npm registry (`npm ci` from
# the committed package-lock.json). Where either cannot be had, the browser tests are skipped and say why.
CHROMIUM := $(firstword $(wildcard /usr/lib/chromium/chromium /usr/bin/chromium))

browser-setup: node_modules/.installed-stamp
	@if [ -z "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update && apt-get install -y chromium; \
	  else \
	    echo "browser tests will be skipped: chromium is missing and this is not root with apt-get" \
	         "(install Debian's chromium package, or set RECIPROCAL_CHROMIUM)"; \
	  fi; \
	fi

node_modules/.installed-stamp: package.json package-lock.json
	@if command -v npm >/dev/null; then \
	  { npm ci --no-audit --no-fund && touch $@; } || echo "browser tests will be skipped: npm ci failed"; \
	else \
	  echo "browser tests will be skipped: npm is missing, so axe-core cannot be installed"; \
	fi

browser: $(STAMP) browser-setup
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/browser

unit: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/integration tests/e2e

benchmark: $(STAMP)
	$(BIN)/python -m benchmarks.matcher.bench_incremental
	$(BIN)/python -m benchmarks.matcher.bench_cohort --sizes 1000 2000
	$(BIN)/python -m benchmarks.matcher.bench_quality --sizes 62 500 2000
	$(BIN)/python -m benchmarks.matcher.bench_live_quality --sizes 60 500 2000
	$(BIN)/python -m benchmarks.pipeline
	$(BIN)/python -m benchmarks.console.bench_pages
	$(BIN)/python -m benchmarks.console.bench_pages_live

schemas: $(STAMP)
	$(BIN)/reciprocal schemas --out docs/schemas
	$(BIN)/reciprocal asyncapi --out docs/asyncapi.json

clean:
	rm -rf $(VENV) *.egg-info

# The full fault suite (docs/reliability.md): kill -9 of every service, outbox crash windows, replays,
# poison, replicas, database failpoints, generated bad events, oversize and cross-tenant events.
# `make test` runs only its smoke part. Nightly: .ci/nightly.
faults: $(STAMP)
	RECIPROCAL_FAULTS=full $(BIN)/python -m pytest -q -p no:cacheprovider -m "faults or faults_full"

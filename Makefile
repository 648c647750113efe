# Two commands do everything on a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo lint test unit integration benchmark schemas clean faults

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

test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile

unit: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/integration tests/e2e

benchmark: $(STAMP)
	$(BIN)/python -m benchmarks.matcher.bench_incremental
	$(BIN)/python -m benchmarks.matcher.bench_cohort --sizes 1000 2000
	$(BIN)/python -m benchmarks.matcher.bench_quality --sizes 62 500 1000
	$(BIN)/python -m benchmarks.pipeline

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

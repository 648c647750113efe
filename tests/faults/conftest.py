"""The fault suite: kill -9, outbox crash windows, replays, poison, replicas, database faults,
generated bad input, oversize and cross-tenant events, against the real embedded stack.

`make test` runs the smoke part (small sizes, one service per fault). `make faults` sets
RECIPROCAL_FAULTS=full: every service, full burst sizes (tests marked `faults_full` run only then).
Each test prints one `FAULTS ...` line with its counts; they are repeated in the terminal summary.
"""

import pytest

from harness import FULL, REPORT


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: the fault suite (tests/faults)")
    config.addinivalue_line("markers", "faults_full: runs only with RECIPROCAL_FAULTS=full (make faults)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="full fault suite only: RECIPROCAL_FAULTS=full (make faults)")
    for item in items:
        if "tests/faults/" not in str(item.path).replace("\\", "/"):
            continue
        item.add_marker(pytest.mark.faults)
        if not FULL and item.get_closest_marker("faults_full"):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001 - pytest's own type is internal
    if REPORT:
        terminalreporter.section("fault suite counts")
        for line in REPORT:
            terminalreporter.write_line(line)

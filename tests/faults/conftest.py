"""The fault suite: kill -9, outbox crash windows, replays, poison, replicas, database faults,
generated bad input, oversize and cross-tenant events, against the real embedded stack.

`make test` runs the smoke part (small sizes, one service per fault). `make faults` sets
RECIPROCAL_FAULTS=full: every service, full burst sizes (tests marked `faults_full` run only then).
Each test prints one `FAULTS ...` line with its counts; tests/conftest.py repeats them in the terminal
summary (from the captured output, so also when the tests ran in pytest-xdist workers).
"""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import FULL

from reciprocal.embedded import SERVICES, EmbeddedStack, secantus_binary
from reciprocal.processes import free_port, spawn, stop, wait_for_port

BACKEND = os.environ.get("RECIPROCAL_TEST_BACKEND", "embedded")

# Behaviour the suite requires and `main` does not have yet, each fixed on another branch. In the
# smoke part (`make test`) these are strict xfails, so `make test` stays green until the fix lands and
# turns red (XPASS) the day it does: then delete the line. `make faults` ignores this list: there
# they fail, as they should.
KNOWN_GAPS: dict[str, str] = {}  # test name -> what is missing; empty: main keeps every promise tested here


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: the fault suite (tests/faults)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:  # faults_full: skipped by tests/conftest.py outside `make faults`
        if "tests/faults/" not in str(item.path).replace("\\", "/"):
            continue
        item.add_marker(pytest.mark.faults)
        gap = KNOWN_GAPS.get(getattr(item, "originalname", item.name))
        if gap and not FULL:
            item.add_marker(pytest.mark.xfail(reason=f"known gap: {gap}", strict=True))


@pytest.fixture(scope="module")
def isolated_stack(request: pytest.FixtureRequest) -> Iterator[EmbeddedStack]:
    """A stack of the module's own: a database server with test commands (failCommand), a broker, an
    SMTP sink and the five services. For faults that may leave a service broken, so they cannot
    spoil the session's stack for the tests after them, and for database failpoints."""
    if BACKEND != "embedded":
        pytest.skip("needs the embedded SecantusDB (test commands)")
    workdir = Path(tempfile.mkdtemp(prefix="reciprocal-faults-"))
    port = free_port()
    mongo = spawn([secantus_binary(), "--host", "127.0.0.1", "--port", str(port), "--storage-path", ":memory:",
                   "--log-level", "WARNING", "--enable-test-commands"], log=workdir / "logs" / "mongo.log")
    wait_for_port(port, mongo, what="the test-commands SecantusDB", log=workdir / "logs" / "mongo.log")
    stack = EmbeddedStack(workdir=workdir, external_mongo=f"mongodb://127.0.0.1:{port}/?directConnection=true")
    ok = False
    try:
        stack.start_infrastructure()
        for name in SERVICES:
            stack.start_service(name)
        stack.wait_ready()
        failed_before = request.session.testsfailed
        yield stack
        ok = request.session.testsfailed == failed_before
    finally:
        stop([mongo])
        stack.stop(keep_workdir=not ok)
        if not ok:
            print(f"\nIsolated stack logs kept in {workdir / 'logs'}")


"""Test backends: `embedded` (default: Tansu + SecantusDB as local processes), `containers`
(testcontainers' Kafka and MongoDB, needs Docker) or `external` (URLs from the environment).

Choose with RECIPROCAL_TEST_BACKEND. Every backend runs the same suites; the services always run
as real OS processes, and the SMTP sink is always a local aiosmtpd.
"""

import os
from collections.abc import Iterator

import pytest

from reciprocal.embedded import EmbeddedStack

BACKEND = os.environ.get("RECIPROCAL_TEST_BACKEND", "embedded")
FULL_FAULTS = os.environ.get("RECIPROCAL_FAULTS", "smoke") == "full"
FAULT_COUNTS: list[str] = []  # the fault suite's `FAULTS ...` lines, from each test's captured output


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        for title, text in report.sections:
            if title.startswith("Captured stdout"):
                FAULT_COUNTS.extend(line for line in text.splitlines() if line.startswith("FAULTS "))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FAULT_COUNTS:
        terminalreporter.section("fault suite counts")
        for line in FAULT_COUNTS:
            terminalreporter.write_line(line)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults_full: runs only with RECIPROCAL_FAULTS=full (make faults)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long fault tests (a kill -9 waits a minute for the database to drop the dead transaction) are
    marked `faults_full`, wherever they live, and run in `make faults`; `make test` keeps a smoke part."""
    if FULL_FAULTS:
        return
    skip = pytest.mark.skip(reason="full fault suite only: RECIPROCAL_FAULTS=full (make faults)")
    for item in items:
        if item.get_closest_marker("faults_full"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def infrastructure(request: pytest.FixtureRequest) -> Iterator[EmbeddedStack]:
    containers = []
    if BACKEND == "embedded":
        stack = EmbeddedStack(database_per_service=False)  # one server: the tests' own databases live there too
    elif BACKEND == "external":
        stack = EmbeddedStack(
            external_kafka=os.environ["RECIPROCAL_KAFKA_BOOTSTRAP"], external_mongo=os.environ["RECIPROCAL_MONGO_URL"]
        )
    elif BACKEND == "containers":
        from testcontainers.kafka import KafkaContainer
        from testcontainers.mongodb import MongoDbContainer

        kafka = KafkaContainer("apache/kafka:3.9.1").with_kraft().start()
        mongo = MongoDbContainer("mongo:8.0.17").with_command("--replSet rs0 --bind_ip_all").start()
        mongo.exec(["mongosh", "--quiet", "--eval", "rs.initiate()"])
        containers = [kafka, mongo]
        stack = EmbeddedStack(
            external_kafka=kafka.get_bootstrap_server(),
            external_mongo=mongo.get_connection_url() + "/?directConnection=true",
        )
    else:
        raise pytest.UsageError(f"unknown RECIPROCAL_TEST_BACKEND={BACKEND!r}: embedded, containers or external")
    stack.start_infrastructure()
    try:
        yield stack
    finally:
        failed = request.session.testsfailed > 0
        stack.stop(keep_workdir=failed)
        if failed:
            print(f"\nService and server logs kept in {stack.workdir / 'logs'}")
        for container in containers:
            container.stop()


@pytest.fixture(scope="session")
def stack(infrastructure: EmbeddedStack) -> Iterator[EmbeddedStack]:
    """All four services running as processes against the session's infrastructure."""
    infrastructure.service_defaults = {
        "RECIPROCAL_WEBHOOK_SECRETS": '{"webhook-org": "s3cret"}', "RECIPROCAL_TIMER_POLL_S": "0.5",
        "RECIPROCAL_EXPIRY_POLL_S": "1",  # proposal expiry and cohort closes are looked for every second
    }
    for name in ("profiles", "matcher", "scheduler", "notifier", "progress"):
        infrastructure.start_service(name)
    infrastructure.wait_ready()
    yield infrastructure

"""Test backends: `embedded` (default: Tansu + SecantusDB as local processes), `containers`
(testcontainers' Kafka and MongoDB, needs Docker) or `external` (URLs from the environment).

Choose with RECIPROCAL_TEST_BACKEND. Every backend runs the same suites; the services always run
as real OS processes, and the SMTP sink is always a local aiosmtpd.
"""

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from reciprocal.embedded import EmbeddedStack

BACKEND = os.environ.get("RECIPROCAL_TEST_BACKEND", "embedded")


@pytest.fixture(scope="session")
def infrastructure() -> Iterator[EmbeddedStack]:
    containers = []
    if BACKEND == "embedded":
        stack = EmbeddedStack()
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
        stack.stop()
        for container in containers:
            container.stop()


@pytest.fixture(scope="session")
def stack(infrastructure: EmbeddedStack) -> Iterator[EmbeddedStack]:
    """All four services running as processes against the session's infrastructure."""
    for name in ("profiles", "matcher", "scheduler", "notifier"):
        infrastructure.start_service(
            name, RECIPROCAL_WEBHOOK_SECRETS='{"webhook-org": "s3cret"}', RECIPROCAL_TIMER_POLL_S="0.5"
        )
    infrastructure.wait_ready()
    yield infrastructure


def profile(org_id: str, person_id: str, *, offers: list, wants: list, tz: str = "Europe/London",
            windows: list | None = None, department: str = "Engineering", **extra: object) -> dict:
    """A profile as a frontend would write it: plain JSON fields."""
    return {
        "org_id": org_id,
        "person_id": person_id,
        "program_ids": ["pilot"],
        "display_name": person_id.replace("-", " ").title(),
        "email": f"{person_id}@example.com",
        "department": department,
        "site": "HQ",
        "timezone": tz,
        "languages": ["en"],
        "career_stage": "mid",
        "offers": [{"skill": s, "level": 4} for s in offers],
        "wants": [{"skill": s, "goal": f"get better at {s}", "priority": 3} for s in wants],
        "meeting_modes": ["video"],
        "availability": windows or [{"weekday": "tue", "start": "13:00", "end": "17:00"}],
        "max_partners": 1,
        **extra,
    }


PROGRAM = {"program_id": "pilot", "name": "Pilot", "cadence": "biweekly", "duration_weeks": 8,
           "session_minutes": 60, "cross_department": "preferred"}


def of_org(events: list[dict], org_id: str) -> list[dict]:
    return [e for e in events if e.get("org_id") == org_id]


def proposal(org_id: str, a: dict, b: dict, a_teaches: tuple[str, str], b_teaches: tuple[str, str]) -> dict:
    """A matches.proposed event between two test profiles, as the matcher would write it."""
    return {
        "org_id": org_id, "match_id": f"m-{org_id}", "program_id": "pilot", "person_a": a["person_id"],
        "person_b": b["person_id"], "score": 0.9, "explanation": [],
        "a_teaches_b": [{"skill": a_teaches[0], "goal": a_teaches[1]}],
        "b_teaches_a": [{"skill": b_teaches[0], "goal": b_teaches[1]}],
        "expires_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
    }

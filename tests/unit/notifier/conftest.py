"""Shared builders for notifier unit tests: a New York / London pair whose windows straddle DST."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from services.notifier.domain import Contact
from shared.contract.events import (
    FieldError,
    LocalTime,
    MatchAccepted,
    MatchDeclined,
    MatchProposed,
    MatchWithdrawn,
    ProfileRejected,
    ScheduleCreated,
    ScheduleUnschedulable,
    ScheduleUpdated,
    Session,
    SessionUpcoming,
    Teaching,
)

ORG = "acme"
ANA = "p-ana"
BO = "p-bo"
FIRST = datetime(2027, 1, 12, 14, 30, tzinfo=UTC)


@pytest.fixture
def ana() -> Contact:
    return Contact(ANA, ORG, "Ana Silva", "ana@acme.test", "en", "America/New_York", ("email", "inbox"), None, True)


@pytest.fixture
def bo() -> Contact:
    return Contact(
        BO, ORG, "Bo Chen", "bo@acme.test", "en", "Europe/London", ("email", "webhook"), "https://bo.test/hook", True
    )


@pytest.fixture
def contacts(ana: Contact, bo: Contact) -> dict[str, Contact]:
    return {ANA: ana, BO: bo}


PAIR = dict(org_id=ORG, match_id="m-1", program_id="prog-1", person_a=ANA, person_b=BO)
A_TEACHES_B = [Teaching(skill="social media strategy", goal="grow the team's LinkedIn reach")]
B_TEACHES_A = [Teaching(skill="leading a team", goal="run my first team offsite")]


def proposed(**over) -> MatchProposed:
    fields = dict(
        PAIR, a_teaches_b=A_TEACHES_B, b_teaches_a=B_TEACHES_A, score=0.82, explanation=[],
        expires_at=datetime(2027, 1, 19, 17, 0, tzinfo=UTC),
    )
    return MatchProposed(**{**fields, **over})


def outcome(cls, **over):
    return cls(**{**PAIR, "a_teaches_b": A_TEACHES_B, "b_teaches_a": B_TEACHES_A, **over})


def session(number: int, starts_at: datetime, *, minutes: int = 60) -> Session:
    teacher, learner = (None, None) if number == 1 else ((ANA, BO) if number % 2 == 0 else (BO, ANA))
    return Session(
        session_id=f"s-{number}",
        number=number,
        kind="kickoff" if number == 1 else "teaching",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        mode="video",
        teacher=teacher,
        learner=learner,
        agenda=["Ground rules", "Both partners' goals"] if number == 1 else [f"Goal step {number}"],
        local_times=[
            LocalTime(person_id=ANA, timezone="America/New_York", starts_at="x", ends_at="x"),
        ],
    )


def sessions(count: int = 4, start: datetime = FIRST) -> list[Session]:
    return [session(n, start + timedelta(weeks=2 * (n - 1))) for n in range(1, count + 1)]


def schedule_fields(**over) -> dict:
    return {**PAIR, "schedule_id": "sch-1", "sessions": sessions(), "version": 1, **over}


def created(**over) -> ScheduleCreated:
    return ScheduleCreated(**schedule_fields(**over))


def updated(**over) -> ScheduleUpdated:
    return ScheduleUpdated(**schedule_fields(**{"version": 2, **over}))


def unschedulable() -> ScheduleUnschedulable:
    return ScheduleUnschedulable(
        **PAIR, reason="Your weekly availability does not overlap.", suggestion="Add a Tuesday morning window."
    )


def upcoming() -> SessionUpcoming:
    return SessionUpcoming(**{k: v for k, v in PAIR.items() if k != "program_id"}, session_id="s-2",
                           starts_at=datetime(2027, 1, 26, 14, 30, tzinfo=UTC))


def rejected() -> ProfileRejected:
    return ProfileRejected(
        org_id=ORG, person_id=ANA, rejected_event_id="ev-9", display_name="Ana Silva", email="ana@acme.test",
        errors=[
            FieldError(field="availability[0].end", message="must be after start (09:00)"),
            FieldError(field="wants[1].goal", message="is required"),
        ],
    )


PAIR_EVENTS = {
    "match_proposed": proposed,
    "match_accepted": lambda: outcome(MatchAccepted),
    "match_declined": lambda: outcome(MatchDeclined, reason="not now"),
    "match_withdrawn": lambda: outcome(MatchWithdrawn, reason="proposal expired"),
    "schedule_created": created,
    "schedule_updated": updated,
    "schedule_cancelled": lambda: updated(cancelled=True, version=3),
    "schedule_unschedulable": unschedulable,
    "session_upcoming": upcoming,
}


@pytest.fixture
def make() -> SimpleNamespace:
    """Event builders; `make.events[kind]()` builds the event behind each pair message kind."""
    return SimpleNamespace(
        proposed=proposed, outcome=outcome, session=session, sessions=sessions, created=created, updated=updated,
        unschedulable=unschedulable, upcoming=upcoming, rejected=rejected, events=PAIR_EVENTS, first=FIRST,
    )

from datetime import UTC, datetime

import pytest

from services.matcher.domain import Person, Program

START = datetime(2027, 1, 4, tzinfo=UTC)  # a Monday, well before any 2027 DST change


def base_person(person_id: str, **changes) -> Person:
    fields = dict(
        person_id=person_id,
        org_id="acme",
        program_ids=("p1",),
        department="engineering",
        site="london",
        timezone="UTC",
        languages=frozenset({"en"}),
        career_stage="mid",
        offers=(("leadership", 5),),
        wants=(("social media", "grow our team's channel", 3),),
        meeting_modes=frozenset({"video"}),
        availability=(("mon", "09:00", "12:00"), ("wed", "14:00", "16:00")),
        max_partners=1,
    )
    fields.update(changes)
    return Person(**fields)


@pytest.fixture
def program() -> Program:
    return Program(program_id="p1", org_id="acme", cross_department="preferred", session_minutes=60,
                   duration_weeks=12, starts_on=START)


@pytest.fixture
def alice() -> Person:
    return base_person("alice", department="engineering", career_stage="executive",
                       offers=(("leadership", 5),), wants=(("social media", "grow our team's channel", 3),))


@pytest.fixture
def bob() -> Person:
    return base_person("bob", department="marketing", career_stage="early",
                       offers=(("social media", 4),), wants=(("leadership", "lead my first project", 2),))


@pytest.fixture
def make():
    return base_person



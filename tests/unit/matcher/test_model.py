import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from services.matcher.domain import Person, Program, person_from_profile, program_from_event
from shared.contract.events import ProfileChanged, ProgramConfigured


def profile(**changes) -> ProfileChanged:
    fields = dict(
        org_id="acme", person_id="p-1", version=1, program_ids=["p1"], display_name="Ada", department=" Sales ",
        timezone="Europe/London", languages=["EN", "fr"], career_stage="senior", manager_id="boss",
        offers=[{"skill": "Social-Media", "level": 3}, {"skill": "SMM", "level": 5}, {"skill": "Leading a team"}],
        wants=[{"skill": "Python", "goal": "automate my reports", "priority": 1},
               {"skill": "python3", "goal": "build a dashboard", "priority": 3},
               {"skill": "TikTok", "goal": "short videos", "priority": 2}],
        interests=["Hiking", "Jazz "], meeting_modes=["video", "in_person"], site="London HQ",
        availability=[{"weekday": "tue", "start": "09:00", "end": "11:30"}], max_partners=2,
    )
    fields.update(changes)
    return ProfileChanged(**fields)


def test_person_from_profile_normalises_and_dedupes_skills():
    p = person_from_profile(profile(), aliases={"tiktok": "social media"})
    assert p.offers == (("leadership", 3), ("social media", 5))
    assert p.wants == (("python", "build a dashboard", 3), ("social media", "short videos", 2))
    assert p.languages == frozenset({"en", "fr"})
    assert p.interests == frozenset({"hiking", "jazz"})
    assert p.department == "Sales"
    assert p.manager_id == "boss" and p.max_partners == 2 and p.active
    assert p.availability == (("tue", "09:00", "11:30"),)


def test_want_without_goal_falls_back_to_skill():
    p = person_from_profile(profile(wants=[{"skill": "SQL"}]))
    assert p.wants == (("sql", "sql", 2),)


def test_person_doc_round_trip_is_json_friendly():
    p = person_from_profile(profile())
    doc = p.to_doc()
    assert Person.from_doc(json.loads(json.dumps(doc))) == p


def test_program_from_event_and_round_trip():
    start = datetime(2027, 3, 1, 9, tzinfo=UTC)
    event = ProgramConfigured(org_id="acme", program_id="p1", name="Reverse", cross_department="required",
                              session_minutes=45, duration_weeks=8, proposal_ttl_days=5, starts_on=start,
                              skill_aliases={"tiktok": "social media"})
    program = program_from_event(event)
    assert program == Program(program_id="p1", org_id="acme", cross_department="required", session_minutes=45,
                              duration_weeks=8, proposal_ttl_days=5, starts_on=start,
                              skill_aliases={"tiktok": "social media"}, batch_window_s=180.0)
    doc = program.to_doc()
    assert Program.from_doc(doc) == program
    naive = dict(doc, starts_on=start.replace(tzinfo=None))  # how BSON gives datetimes back
    assert Program.from_doc(naive).starts_on == start
    assert Program.from_doc(dict(doc, starts_on=start.isoformat())).starts_on == start
    hash(program)


def test_batch_window_defaults_to_three_minutes_takes_seconds_or_iso_and_is_bounded():
    assert ProgramConfigured(org_id="acme", program_id="p1", name="P").batch_window.total_seconds() == 180
    assert ProgramConfigured(org_id="acme", program_id="p1", name="P", batch_window="PT10M").batch_window.seconds == 600
    assert program_from_event(ProgramConfigured(org_id="acme", program_id="p1", name="P", batch_window=0)
                              ).proposes_one_by_one
    for bad in (-1, 86_401, "PT25H"):
        with pytest.raises(ValidationError):
            ProgramConfigured(org_id="acme", program_id="p1", name="P", batch_window=bad)


def test_a_program_saved_before_batch_windows_keeps_proposing_one_by_one():
    doc = program_from_event(ProgramConfigured(org_id="acme", program_id="p1", name="P")).to_doc()
    del doc["batch_window_s"]
    old = Program.from_doc(doc)
    assert old.batch_window_s == 0 and old.proposes_one_by_one and not old.matches_in_batches


def test_a_batch_closes_when_its_window_is_over_and_arrivals_have_paused_or_one_window_later():
    from datetime import UTC, datetime, timedelta

    from services.matcher.domain import Program

    program = Program(program_id="p", org_id="o", batch_window_s=60)
    due = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    s = timedelta(seconds=1)
    assert not program.batch_closes(due, due - 60 * s, due - s, quiet_s=10), "before its window ends"
    assert program.batch_closes(due, due - 60 * s, due, quiet_s=10), "a lone arrival: one window"
    assert not program.batch_closes(due, due - 5 * s, due, quiet_s=10), "still arriving"
    assert program.batch_closes(due, due - 5 * s, due + 5 * s, quiet_s=10), "arrivals paused for 10 s"
    assert not program.batch_closes(due, due + 55 * s, due + 59 * s, quiet_s=10)
    assert program.batch_closes(due, due + 59 * s, due + 60 * s, quiet_s=10), "at most one more window"
    short = Program(program_id="p", org_id="o", batch_window_s=4)
    assert short.batch_closes(due, due - 4 * s, due, quiet_s=10), "the pause asked never exceeds the window"
    assert program.batch_closes(due, None, due, quiet_s=10)

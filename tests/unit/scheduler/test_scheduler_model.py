from datetime import UTC, datetime, timedelta, timezone

from services.scheduler.domain import (
    Participant,
    SeriesPlan,
    participant_from_profile,
    plan_from_program,
)
from shared.contract.events import DEFAULT_GROUND_RULES, ProfileChanged, ProgramConfigured


def profile() -> ProfileChanged:
    return ProfileChanged(
        org_id="acme", version=3, person_id="p-1", display_name="Priya", timezone="Asia/Kolkata",
        site="Pune", meeting_modes=["in_person", "video"],
        availability=[{"weekday": "tue", "start": "09:00", "end": "11:30"},
                      {"weekday": "thu", "start": "14:00", "end": "16:00"}],
        wants=[{"skill": "public speaking", "goal": "Give the Q3 keynote", "priority": 3}],
    )


def test_participant_from_profile_keeps_what_the_scheduler_needs():
    p = participant_from_profile(profile())
    assert p == Participant(
        person_id="p-1", display_name="Priya", timezone="Asia/Kolkata", site="Pune",
        meeting_modes=("in_person", "video"),
        availability=(("tue", "09:00", "11:30"), ("thu", "14:00", "16:00")),
        wants=(("public speaking", "Give the Q3 keynote", 3),),
    )


def test_participant_doc_round_trip_is_plain_data():
    p = participant_from_profile(profile())
    doc = p.to_doc()
    assert doc["availability"][0] == {"weekday": "tue", "start": "09:00", "end": "11:30"}
    assert doc["wants"][0] == {"skill": "public speaking", "goal": "Give the Q3 keynote", "priority": 3}
    assert all(isinstance(v, (str, list)) for v in doc.values())
    assert Participant.from_doc(doc) == p


def test_participant_is_frozen_and_hashable():
    p = participant_from_profile(profile())
    assert hash(p) == hash(Participant.from_doc(p.to_doc()))


def test_name_falls_back_to_person_id():
    assert Participant("p-9", "", "UTC").name == "p-9"


def test_plan_from_program():
    program = ProgramConfigured(
        org_id="acme", program_id="prog", name="Reverse", session_minutes=45, cadence="monthly",
        duration_weeks=24, starts_on=datetime(2027, 1, 4, tzinfo=UTC), ground_rules=["Be kind"],
    )
    assert plan_from_program(program) == SeriesPlan(
        "prog", 45, "monthly", 24, datetime(2027, 1, 4, tzinfo=UTC), ("Be kind",)
    )


def test_plan_without_ground_rules_uses_the_defaults():
    program = ProgramConfigured(org_id="acme", program_id="prog", name="Reverse", ground_rules=[])
    assert plan_from_program(program).ground_rules == tuple(DEFAULT_GROUND_RULES)


def test_plan_doc_round_trip_and_naive_mongo_datetimes_are_utc():
    plan = SeriesPlan("prog", 60, "weekly", 6, datetime(2027, 1, 4, 1, tzinfo=timezone(timedelta(hours=1))))
    assert plan.starts_on == datetime(2027, 1, 4, tzinfo=UTC)
    doc = plan.to_doc()
    assert SeriesPlan.from_doc(doc) == plan
    doc["starts_on"] = datetime(2027, 1, 4)  # how pymongo hands it back
    assert SeriesPlan.from_doc(doc).starts_on == datetime(2027, 1, 4, tzinfo=UTC)
    doc["starts_on"] = "2027-01-04T00:00:00+00:00"
    assert SeriesPlan.from_doc(doc).starts_on == datetime(2027, 1, 4, tzinfo=UTC)
    doc["starts_on"] = None
    assert SeriesPlan.from_doc(doc).starts_on is None

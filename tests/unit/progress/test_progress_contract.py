import re
from pathlib import Path

import pytest
from progress_testkit import NOW, A, B, check, partnership, series
from pydantic import ValidationError

from services.progress.adapters.repository import partnership_from_doc, partnership_to_doc
from services.progress.domain import Thresholds
from shared.contract import TOPICS, EndRequested, ProgramConfigured, SessionCheckedIn
from shared.contract import limits as L

README = Path(__file__).parents[3] / "README.md"
NEW_TOPICS = ("sessions.checked-in", "sessions.checkin-rejected", "checkins.requested",
              "partnerships.balance-changed", "partnerships.flagged", "partnerships.end-requested")


def test_every_new_topic_is_registered_keyed_by_match_and_in_the_readme():
    table = README.read_text().split("## Topics and the contract", 1)[1].split("\n## ", 1)[0]
    for name in NEW_TOPICS:
        assert TOPICS[name].key_field == "match_id"
        assert f"`{name}`" in table, name


def test_the_asyncapi_document_has_the_progress_service():
    import json
    import tempfile
    from importlib import import_module

    from reciprocal.embedded import SERVICES
    from shared.asyncapi import write_asyncapi

    assert "progress" in SERVICES
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "asyncapi.json"
        write_asyncapi(out, [import_module(f"services.{n}.app").SPEC for n in SERVICES])
        channels = json.dumps(json.loads(out.read_text())["channels"])
    for name in NEW_TOPICS[:-1]:  # end-requested: its consumer (the matcher) comes later
        assert name in channels, name


CHECKIN = {"org_id": "acme", "match_id": "m1", "session_id": "m1-s01", "person_id": "ana", "happened": "yes"}


@pytest.mark.parametrize("over", [{"note": "n" * (L.CHECKIN_NOTE_MAX + 1)}, {"learned": 6}, {"helped": 0},
                                  {"happened": "maybe"}, {"session_id": "s" * (L.ID_MAX + 1)},
                                  {"match_id": ""}, {"person_id": "p" * (L.ID_MAX + 1)}])
def test_a_check_in_over_a_bound_fails_its_schema(over):
    SessionCheckedIn.model_validate({**CHECKIN, "learned": 5, "helped": 1, "note": "n" * L.CHECKIN_NOTE_MAX})
    with pytest.raises(ValidationError):
        SessionCheckedIn.model_validate({**CHECKIN, **over})


def test_an_end_request_is_bounded():
    EndRequested.model_validate({"org_id": "acme", "match_id": "m1", "person_id": "ana", "reason": "goals_met"})
    for over in ({"reason": "bored"}, {"note": "n" * (L.CHECKIN_NOTE_MAX + 1)}):
        with pytest.raises(ValidationError):
            EndRequested.model_validate({"org_id": "acme", "match_id": "m1", "person_id": "ana",
                                         "reason": "goals_met", **over})


def test_program_thresholds_have_documented_defaults_and_bounds():
    program = ProgramConfigured(org_id="acme", program_id="p", name="P")
    assert Thresholds.of_program(program) == Thresholds() == Thresholds(4, 0.25, 3, 60)
    for over in ({"one_sided_ratio": 0.6}, {"one_sided_min_sessions": 0}, {"fizzle_after_missed": 0},
                 {"checkin_after_minutes": -1}):
        with pytest.raises(ValidationError):
            ProgramConfigured(org_id="acme", program_id="p", name="P", **over)
    section = README.read_text()
    for name in Thresholds.__dataclass_fields__:
        assert re.search(rf"`{name}`", section), name


def test_a_partnership_survives_its_round_trip_through_the_database_document():
    p = partnership(series(None, (A, B), (B, A), (A, B), (B, A), (A, B)))
    for n in (2, 3, 4):
        check(p, n, B, "no")
    check(p, 2, A, "yes", learned=4, helped=5, note="private")
    p.end("goals_met", at=NOW, thresholds=Thresholds(), now=NOW)
    assert partnership_from_doc(partnership_to_doc(p)) == p
    q = partnership(series((A, B), (A, B), (A, B), (A, B), (A, B)))
    for n in range(1, 6):
        check(q, n, B, "yes")
    assert q.flags and partnership_from_doc(partnership_to_doc(q)) == q

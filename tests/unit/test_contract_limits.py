"""The contract's limits are in its generated JSON Schemas, and every ingress event is bounded."""

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.contract import (
    MatchRequested,
    MatchResponded,
    ProfileChanged,
    ProfileContent,
    ProfileRejected,
    ProfileWithdrawn,
    ProgramConfigured,
)
from shared.contract import limits as L
from shared.contract.schemas import write_schemas

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def schemas(tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("schemas")
    return {p.stem: json.loads(p.read_text()) for p in write_schemas(out)}


def test_the_profiles_submitted_schema_shows_every_limit(schemas):
    schema = schemas["profiles.submitted"]
    props, defs = schema["properties"], schema["$defs"]
    offer, want, window = (defs[n]["properties"] for n in ("OfferContent", "WantContent", "WindowContent"))
    assert (offer["level"]["minimum"], offer["level"]["maximum"]) == (1, 5)
    assert (want["priority"]["minimum"], want["priority"]["maximum"]) == (1, 3)
    assert (props["max_partners"]["minimum"], props["max_partners"]["maximum"]) == (1, 5)
    assert re.match(window["start"]["pattern"], "09:30") and not re.match(window["end"]["pattern"], "9:30")
    assert "goal" in defs["WantContent"]["required"] and want["goal"]["minLength"] == 1
    assert want["goal"]["maxLength"] == L.GOAL_MAX and offer["note"]["anyOf"][0]["maxLength"] == L.NOTE_MAX
    assert re.match(props["email"]["pattern"], "ana@example.com") and props["email"]["maxLength"] == L.EMAIL_MAX
    for name, most in [("offers", 50), ("wants", 50), ("availability", 50), ("program_ids", 20), ("interests", 50)]:
        assert props[name]["maxItems"] == most, name
    for name in ("offers", "wants", "availability", "program_ids", "languages", "meeting_modes"):
        assert props[name]["minItems"] == 1, name
    assert props["person_id"]["maxLength"] == L.ID_MAX and props["org_id"]["maxLength"] == L.ID_MAX
    assert props["display_name"]["maxLength"] == L.NAME_MAX and props["timezone"]["maxLength"] == L.TIMEZONE_MAX
    assert {"person_id", "display_name", "email", "offers", "wants", "availability"} <= set(schema["required"])
    assert schema["x-kafka-key"] == "person_id"


def test_the_asyncapi_document_shows_the_profile_limits(tmp_path):
    from importlib import import_module

    from reciprocal.embedded import SERVICES
    from shared.asyncapi import write_asyncapi

    write_asyncapi(tmp_path / "asyncapi.json", [import_module(f"services.{n}.app").SPEC for n in SERVICES])
    schemas = json.loads((tmp_path / "asyncapi.json").read_text())["components"]["schemas"]
    submitted = schemas["ProfileSubmitted"]["properties"]
    assert submitted["offers"]["maxItems"] == L.OFFERS_MAX and submitted["max_partners"]["maximum"] == L.PARTNERS_MAX
    assert schemas["OfferContent"]["properties"]["level"]["maximum"] == L.LEVEL_MAX
    assert schemas["MatchResponded"]["properties"]["reason"]["anyOf"][0]["maxLength"] == L.REASON_MAX


def test_the_other_ingress_schemas_are_bounded(schemas):
    program = schemas["programs.configured"]["properties"]
    assert program["program_id"]["maxLength"] == L.ID_MAX and program["name"]["maxLength"] == L.NAME_MAX
    assert program["ground_rules"]["maxItems"] == L.GROUND_RULES_MAX
    assert program["ground_rules"]["items"]["maxLength"] == L.GROUND_RULE_MAX
    assert program["skill_aliases"]["maxProperties"] == L.SKILL_ALIASES_MAX
    assert program["skill_aliases"]["propertyNames"]["maxLength"] == L.SKILL_MAX
    assert schemas["programs.match-requested"]["properties"]["program_id"]["maxLength"] == L.ID_MAX
    withdrawn = schemas["profiles.withdrawn"]["properties"]
    assert withdrawn["person_id"]["maxLength"] == L.ID_MAX
    assert withdrawn["reason"]["anyOf"][0]["maxLength"] == L.REASON_MAX
    responded = schemas["matches.responded"]["properties"]
    assert responded["match_id"]["maxLength"] == responded["person_id"]["maxLength"] == L.ID_MAX
    assert responded["reason"]["anyOf"][0]["maxLength"] == L.REASON_MAX
    rejected = schemas["profiles.rejected"]
    assert rejected["properties"]["errors"]["maxItems"] == L.REJECTION_ERRORS_MAX
    assert rejected["$defs"]["FieldError"]["properties"]["message"]["maxLength"] == L.ERROR_MESSAGE_MAX


ENVELOPE = {"org_id": "acme"}
# (model, fields at every bound, one field just over its bound)
INGRESS = [
    (ProgramConfigured, {"program_id": "p" * L.ID_MAX, "name": "n" * L.NAME_MAX,
                         "ground_rules": ["r" * L.GROUND_RULE_MAX] * L.GROUND_RULES_MAX,
                         "skill_aliases": {f"{i:0{L.SKILL_MAX}d}": "s" * L.SKILL_MAX
                                           for i in range(L.SKILL_ALIASES_MAX)}},
     [{"program_id": "p" * (L.ID_MAX + 1)}, {"name": "n" * (L.NAME_MAX + 1)},
      {"ground_rules": ["r"] * (L.GROUND_RULES_MAX + 1)}, {"ground_rules": ["r" * (L.GROUND_RULE_MAX + 1)]},
      {"skill_aliases": {str(i): "s" for i in range(L.SKILL_ALIASES_MAX + 1)}},
      {"skill_aliases": {"a" * (L.SKILL_MAX + 1): "s"}}, {"skill_aliases": {"a": "s" * (L.SKILL_MAX + 1)}}]),
    (MatchRequested, {"program_id": "p" * L.ID_MAX}, [{"program_id": "p" * (L.ID_MAX + 1)}]),
    (ProfileWithdrawn, {"person_id": "p" * L.ID_MAX, "reason": "r" * L.REASON_MAX},
     [{"person_id": "p" * (L.ID_MAX + 1)}, {"reason": "r" * (L.REASON_MAX + 1)}]),
    (MatchResponded, {"match_id": "m" * L.ID_MAX, "person_id": "p" * L.ID_MAX, "decision": "accept",
                      "reason": "r" * L.REASON_MAX},
     [{"match_id": "m" * (L.ID_MAX + 1)}, {"person_id": "p" * (L.ID_MAX + 1)}, {"reason": "r" * (L.REASON_MAX + 1)}]),
]


@pytest.mark.parametrize(("model", "at_bound", "overs"), INGRESS, ids=[m[0].__name__ for m in INGRESS])
def test_ingress_events_over_a_bound_fail_their_schema(model, at_bound, overs):
    model.model_validate({**ENVELOPE, **at_bound})
    for over in overs:
        with pytest.raises(ValidationError):
            model.model_validate({**ENVELOPE, **at_bound, **over})
    with pytest.raises(ValidationError):
        model.model_validate({**ENVELOPE, **at_bound, "org_id": "o" * (L.ID_MAX + 1)})


def _largest_profile() -> dict:
    """A profile at every bound, written in 4-byte characters: the most a valid profile can weigh."""
    wide = "\U0001F600"
    return {
        "person_id": wide * L.ID_MAX, "program_ids": [wide * L.ID_MAX] * L.PROGRAMS_MAX,
        "display_name": wide * L.NAME_MAX, "email": wide * (L.EMAIL_MAX - 4) + "@x.y",
        "department": wide * L.NAME_MAX, "site": wide * L.NAME_MAX, "timezone": "America/Argentina/ComodRivadavia",
        "languages": [wide * L.LANGUAGE_MAX] * L.LANGUAGES_MAX, "locale": wide * L.LANGUAGE_MAX,
        "manager_id": "m" * L.ID_MAX,
        "offers": [{"skill": wide * L.SKILL_MAX, "level": 5, "note": wide * L.NOTE_MAX}] * L.OFFERS_MAX,
        "wants": [{"skill": wide * L.SKILL_MAX, "goal": wide * L.GOAL_MAX, "priority": 3}] * L.WANTS_MAX,
        "interests": [wide * L.SKILL_MAX] * L.INTERESTS_MAX,
        "meeting_modes": ["in_person", "video", "phone", "chat"],
        "availability": [{"weekday": "mon", "start": "00:00", "end": "24:00"}] * L.WINDOWS_MAX,
        "max_partners": 5, "channels": ["email", "webhook", "inbox"],
        "webhook_url": "https://" + wide * (L.URL_MAX - 8),
    }


def test_the_largest_valid_profile_fits_well_inside_one_broker_message():
    content = ProfileContent.model_validate(_largest_profile())
    changed = ProfileChanged(org_id="o" * L.ID_MAX, version=1, changed_fields=list(ProfileContent.model_fields),
                             **content.model_dump())
    size = len(changed.model_dump_json().encode())
    assert size < 1024 * 1024 // 2, size  # aiokafka's default max_request_size is 1 MiB


def test_the_largest_rejection_is_small():
    from services.profiles.domain.validation import check_profile
    from shared.contract import ProfileSubmitted

    bad = {**_largest_profile(), "org_id": "acme",
           "availability": [{"weekday": "mon", "start": "9" * 10_000, "end": "8" * 10_000}] * L.WINDOWS_MAX,
           "offers": [{"skill": "s", "level": 9}] * L.OFFERS_MAX}
    errors = check_profile(ProfileSubmitted.model_validate(bad))
    rejected = ProfileRejected(org_id="acme", person_id="p" * L.ID_MAX, rejected_event_id="e", errors=errors)
    assert len(rejected.model_dump_json().encode()) < 16 * 1024


def test_readme_documents_the_limits_defined_in_the_contract():
    text = README.read_text()
    section = text.split("### Limits", 1)[1].split("\n## ", 1)[0]
    for name in ("OFFERS_MAX", "WANTS_MAX", "WINDOWS_MAX", "PROGRAMS_MAX", "INTERESTS_MAX", "ID_MAX", "NOTE_MAX",
                 "GOAL_MAX", "REASON_MAX", "NAME_MAX", "URL_MAX", "GROUND_RULES_MAX", "SKILL_ALIASES_MAX"):
        assert re.search(rf"`{name}`[^|]*\|\s*{getattr(L, name)}\s*\|", section), name
    assert "RECIPROCAL_MAX_MESSAGE_BYTES" in section and "too_large" in section

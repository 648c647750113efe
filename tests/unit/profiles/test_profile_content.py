"""The content rules of a profile (shared.contract.profile) and the errors a person reads (validation.py)."""

import pytest

from services.profiles.domain import check_profile
from services.profiles.domain.validation import path_of
from shared.contract import ProfileSubmitted
from shared.contract import limits as L


def valid(**changes: object) -> dict:
    return {
        "org_id": "acme", "person_id": "ana", "program_ids": ["pilot"], "display_name": "Ana",
        "email": "ana@example.com",
        "department": "Finance", "site": "HQ", "timezone": "Europe/London", "languages": ["en"],
        "offers": [{"skill": "leadership", "level": 4, "note": "ran three teams"}],
        "wants": [{"skill": "social media", "goal": "post weekly on LinkedIn", "priority": 3}],
        "interests": ["chess"], "meeting_modes": ["video"],
        "availability": [{"weekday": "tue", "start": "09:00", "end": "12:00"}], "max_partners": 1, **changes,
    }


def errors(**changes: object) -> dict[str, str]:
    found = check_profile(ProfileSubmitted.model_validate(valid(**changes)))
    return {e.field: e.message for e in found}


def test_a_good_profile_has_no_errors():
    assert errors() == {}


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"display_name": "  "}, "display_name", "is required"),
    ({"display_name": ""}, "display_name", "is required"),
    ({"email": "ana.example.com"}, "email", "is not a valid email address"),
    ({"email": ""}, "email", "is not a valid email address"),
    ({"program_ids": []}, "program_ids", "name at least one program"),
    ({"department": " "}, "department", "is required"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone",
     "'Mars/Olympus_Mons' is not a known IANA time zone (for example Europe/London)"),
    ({"languages": []}, "languages", "name at least one language"),
    ({"meeting_modes": []}, "meeting_modes", "choose at least one way to meet"),
    ({"max_partners": 0}, "max_partners", "must be between 1 and 5"),
    ({"max_partners": 6}, "max_partners", "must be between 1 and 5"),
    ({"manager_id": "ana"}, "manager_id", "a person cannot be their own manager"),
    ({"offers": []}, "offers", "offer at least one skill: in a reciprocal pair both people teach"),
    ({"wants": []}, "wants", "want at least one skill: in a reciprocal pair both people learn"),
    ({"offers": [{"skill": " ", "level": 3}]}, "offers[0].skill", "is required"),
    ({"offers": [{"skill": "sql", "level": 0}]}, "offers[0].level", "must be between 1 and 5"),
    ({"offers": [{"skill": "sql", "level": 6}]}, "offers[0].level", "must be between 1 and 5"),
    ({"wants": [{"skill": "", "goal": "x"}]}, "wants[0].skill", "is required"),
    ({"wants": [{"skill": "sql", "goal": " "}]}, "wants[0].goal", "say what you want to achieve with 'sql'"),
    ({"wants": [{"skill": "sql"}]}, "wants[0].goal", "say what you want to achieve with 'sql'"),
    ({"wants": [{"skill": "sql", "goal": "x", "priority": 4}]}, "wants[0].priority", "must be 1, 2 or 3"),
    ({"wants": [{"skill": "sql", "goal": "x", "priority": 0}]}, "wants[0].priority", "must be 1, 2 or 3"),
    ({"availability": []}, "availability", "give at least one weekly time window"),
    ({"availability": [{"weekday": "mon", "start": "9:30", "end": "12:00"}]}, "availability[0].start",
     "'9:30' is not a time like 09:30"),
    ({"availability": [{"weekday": "mon", "start": "09:00", "end": "24:30"}]}, "availability[0].end",
     "'24:30' is not a time like 17:00"),
    ({"availability": [{"weekday": "mon", "start": "12:00", "end": "09:00"}]}, "availability[0].end",
     "must be after the start (12:00)"),
    ({"availability": [{"weekday": "mon", "start": "12:00", "end": "12:00"}]}, "availability[0].end",
     "must be after the start (12:00)"),
    ({"channels": ["webhook"]}, "webhook_url", "is required, as an http(s) URL, when the webhook channel is chosen"),
    ({"channels": ["webhook"], "webhook_url": "ftp://x"}, "webhook_url",
     "is required, as an http(s) URL, when the webhook channel is chosen"),
    ({"channels": ["webhook"], "webhook_url": "http://hooks.example.com/r"}, "webhook_url", "must be an https URL"),
    ({"channels": ["webhook"], "webhook_url": "https://169.254.169.254/latest"}, "webhook_url",
     "is refused: it points at a link-local address (such as the cloud metadata service)"),
    ({"channels": ["webhook"], "webhook_url": "http://127.0.0.1:9/hook"}, "webhook_url",
     "is refused: it points at this machine (a loopback address)"),
])
def test_each_rule_names_its_field_in_plain_english(changes, field, message):
    assert errors(**changes) == {field: message}


def test_edges_that_are_fine():
    assert errors(availability=[{"weekday": "mon", "start": "00:00", "end": "24:00"}]) == {}
    assert errors(channels=["webhook"], webhook_url="https://hooks.example.com/r") == {}
    assert errors(manager_id="boss") == {}
    assert errors(offers=[{"skill": "sql", "level": 1}], wants=[{"skill": "x", "goal": "y", "priority": 1}]) == {}


def test_errors_in_later_entries_carry_their_index():
    windows = [{"weekday": "mon", "start": "09:00", "end": "10:00"}] * 2 + [{"weekday": "mon", "start": "11:00",
                                                                           "end": "10:00"}]
    wants = [{"skill": "a", "goal": "b"}, {"skill": "sql", "goal": ""}]
    assert errors(availability=windows, wants=wants) == {
        "wants[1].goal": "say what you want to achieve with 'sql'",
        "availability[2].end": "must be after the start (11:00)",
    }


def test_paths_of_pydantic_locations():
    assert path_of(("offers", 0, "level")) == "offers[0].level"
    assert path_of(("availability", 2, "end")) == "availability[2].end"
    assert path_of(("timezone",)) == "timezone"
    assert path_of(()) == "profile"


def _offers(n):
    return [{"skill": f"s{i}", "level": 3} for i in range(n)]


def _wants(n):
    return [{"skill": f"s{i}", "goal": "g"} for i in range(n)]


def _windows(n):
    return [{"weekday": "mon", "start": "09:00", "end": "10:00"}] * n


# (field, value at the bound, value one over it, the message for one over)
BOUNDS = [
    ("program_ids", ["p"] * L.PROGRAMS_MAX, ["p"] * (L.PROGRAMS_MAX + 1), "at most 20 programs"),
    ("offers", _offers(L.OFFERS_MAX), _offers(L.OFFERS_MAX + 1), "at most 50 offers"),
    ("wants", _wants(L.WANTS_MAX), _wants(L.WANTS_MAX + 1), "at most 50 wants"),
    ("availability", _windows(L.WINDOWS_MAX), _windows(L.WINDOWS_MAX + 1), "at most 50 time windows"),
    ("interests", ["i"] * L.INTERESTS_MAX, ["i"] * (L.INTERESTS_MAX + 1), "at most 50 interests"),
    ("languages", ["en"] * L.LANGUAGES_MAX, ["en"] * (L.LANGUAGES_MAX + 1), "at most 20 languages"),
    ("meeting_modes", ["video"] * 4, ["video"] * 5, "at most 4 ways to meet"),
    ("channels", ["email"] * 3, ["email"] * 4, "at most 3 channels"),
    ("display_name", "d" * L.NAME_MAX, "d" * (L.NAME_MAX + 1), "at most 200 characters"),
    ("department", "d" * L.NAME_MAX, "d" * (L.NAME_MAX + 1), "at most 200 characters"),
    ("site", "d" * L.NAME_MAX, "d" * (L.NAME_MAX + 1), "at most 200 characters"),
    ("email", "a" * (L.EMAIL_MAX - 12) + "@example.com", "a" * (L.EMAIL_MAX - 11) + "@example.com",
     "at most 254 characters"),
    ("locale", "l" * L.LANGUAGE_MAX, "l" * (L.LANGUAGE_MAX + 1), "at most 35 characters"),
    ("manager_id", "m" * L.ID_MAX, "m" * (L.ID_MAX + 1), "at most 128 characters"),
    ("webhook_url", "https://u.io/" + "u" * (L.URL_MAX - 13), "https://u.io/" + "u" * (L.URL_MAX - 12),
     "at most 2048 characters"),
]
NESTED_BOUNDS = [
    ("program_ids[0]", {"program_ids": ["p" * L.ID_MAX]}, {"program_ids": ["p" * (L.ID_MAX + 1)]},
     "at most 128 characters"),
    ("interests[0]", {"interests": ["i" * L.SKILL_MAX]}, {"interests": ["i" * (L.SKILL_MAX + 1)]},
     "at most 100 characters"),
    ("languages[0]", {"languages": ["l" * L.LANGUAGE_MAX]}, {"languages": ["l" * (L.LANGUAGE_MAX + 1)]},
     "at most 35 characters"),
    ("offers[0].skill", {"offers": [{"skill": "s" * L.SKILL_MAX}]}, {"offers": [{"skill": "s" * (L.SKILL_MAX + 1)}]},
     "at most 100 characters"),
    ("offers[0].note", {"offers": [{"skill": "s", "note": "n" * L.NOTE_MAX}]},
     {"offers": [{"skill": "s", "note": "n" * (L.NOTE_MAX + 1)}]}, "at most 500 characters"),
    ("wants[0].skill", {"wants": [{"skill": "s" * L.SKILL_MAX, "goal": "g"}]},
     {"wants": [{"skill": "s" * (L.SKILL_MAX + 1), "goal": "g"}]}, "at most 100 characters"),
    ("wants[0].goal", {"wants": [{"skill": "s", "goal": "g" * L.GOAL_MAX}]},
     {"wants": [{"skill": "s", "goal": "g" * (L.GOAL_MAX + 1)}]}, "at most 1000 characters"),
]


@pytest.mark.parametrize(("field", "at_bound", "over", "message"), BOUNDS, ids=[b[0] for b in BOUNDS])
def test_each_list_and_string_is_bounded(field, at_bound, over, message):
    extra = {"channels": ["webhook"]} if field == "webhook_url" else {}
    assert errors(**{field: at_bound}, **extra) == {}
    assert errors(**{field: over}, **extra) == {field: message}


@pytest.mark.parametrize(("field", "at_bound", "over", "message"), NESTED_BOUNDS, ids=[b[0] for b in NESTED_BOUNDS])
def test_each_nested_string_is_bounded(field, at_bound, over, message):
    assert errors(**at_bound) == {}
    assert errors(**over) == {field: message}


def test_a_time_zone_name_is_bounded_before_it_is_looked_up():
    assert errors(timezone="America/Argentina/ComodRivadavia") == {}
    assert errors(timezone="x" * (L.TIMEZONE_MAX + 1)) == {"timezone": "at most 64 characters"}


def test_huge_input_gives_short_plain_errors():
    found = errors(display_name="x" * 1_000_000, availability=_windows(10_000), wants=_wants(10_000),
                   interests=["y" * 1_000_000])
    assert found == {"display_name": "at most 200 characters", "wants": "at most 50 wants",
                     "interests[0]": "at most 100 characters", "availability": "at most 50 time windows"}


def test_a_rejection_quotes_only_an_excerpt_of_bad_input():
    start = "9" * 1_000_000
    message = errors(availability=[{"weekday": "mon", "start": start, "end": "10:00"}])["availability[0].start"]
    assert message.endswith("' is not a time like 09:30") and len(message) < 80


def test_a_rejection_has_at_most_the_bounded_number_of_errors():
    windows = [{"weekday": "mon", "start": "12:00", "end": "09:00"}] * L.WINDOWS_MAX
    offers = [{"skill": "s", "level": 9}] * L.OFFERS_MAX
    found = check_profile(ProfileSubmitted.model_validate(valid(availability=windows, offers=offers)))
    assert len(found) == L.REJECTION_ERRORS_MAX
    assert found[0].field == "offers[0].level"
    assert (found[-1].field, found[-1].message) == ("profile", f"and {2 * 50 - L.REJECTION_ERRORS_MAX + 1} more errors")


def test_a_rejection_names_the_person_only_with_values_inside_their_limits():
    from services.profiles.handlers import within

    assert within("Ana", L.NAME_MAX) == "Ana" and within("A" * L.NAME_MAX, L.NAME_MAX) == "A" * L.NAME_MAX
    assert within("A" * (L.NAME_MAX + 1), L.NAME_MAX) == ""

"""Content rules for a submitted profile. Every error names the field so a frontend can show it."""

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.contract import FieldError, ProfileFields

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def minutes(hhmm: str) -> int:
    hours, mins = hhmm.split(":")
    return int(hours) * 60 + int(mins)


def _timezone_ok(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def check_profile(p: ProfileFields) -> list[FieldError]:
    errors: list[FieldError] = []

    def bad(field: str, message: str) -> None:
        errors.append(FieldError(field=field, message=message))

    if not p.display_name.strip():
        bad("display_name", "is required")
    if not EMAIL.match(p.email):
        bad("email", "is not a valid email address")
    if not p.program_ids:
        bad("program_ids", "name at least one program")
    if not p.department.strip():
        bad("department", "is required")
    if not _timezone_ok(p.timezone):
        bad("timezone", f"'{p.timezone}' is not a known IANA time zone (for example Europe/London)")
    if not p.languages:
        bad("languages", "name at least one language")
    if not p.meeting_modes:
        bad("meeting_modes", "choose at least one way to meet")
    if not 1 <= p.max_partners <= 5:
        bad("max_partners", "must be between 1 and 5")
    if p.manager_id is not None and p.manager_id == p.person_id:
        bad("manager_id", "a person cannot be their own manager")
    if not p.offers:
        bad("offers", "offer at least one skill: in a reciprocal pair both people teach")
    if not p.wants:
        bad("wants", "want at least one skill: in a reciprocal pair both people learn")
    for i, offer in enumerate(p.offers):
        if not offer.skill.strip():
            bad(f"offers[{i}].skill", "is required")
        if not 1 <= offer.level <= 5:
            bad(f"offers[{i}].level", "must be between 1 and 5")
    for i, want in enumerate(p.wants):
        if not want.skill.strip():
            bad(f"wants[{i}].skill", "is required")
        if not (want.goal or "").strip():
            bad(f"wants[{i}].goal", f"say what you want to achieve with '{want.skill}'")
        if not 1 <= want.priority <= 3:
            bad(f"wants[{i}].priority", "must be 1, 2 or 3")
    if not p.availability:
        bad("availability", "give at least one weekly time window")
    for i, window in enumerate(p.availability):
        start_ok, end_ok = HHMM.match(window.start), HHMM.match(window.end)
        if not start_ok:
            bad(f"availability[{i}].start", f"'{window.start}' is not a time like 09:30")
        if not end_ok:
            bad(f"availability[{i}].end", f"'{window.end}' is not a time like 17:00")
        if start_ok and end_ok and minutes(window.end) <= minutes(window.start):
            bad(f"availability[{i}].end", f"must be after the start ({window.start})")
    if "webhook" in p.channels and not (p.webhook_url or "").startswith(("https://", "http://")):
        bad("webhook_url", "is required, as an http(s) URL, when the webhook channel is chosen")
    return errors

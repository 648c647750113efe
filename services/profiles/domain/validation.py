"""A submitted profile's content, checked by the contract's `ProfileContent`, as errors a person can read.

The rules live in `shared.contract.profile`; this module only words the errors pydantic reports:
`("offers", 0, "level")` becomes the field `offers[0].level`, and each kind of error becomes the
sentence a frontend shows. Messages never carry more than a short excerpt of the input.
"""

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from shared.contract import FieldError, ProfileContent, ProfileFields
from shared.contract import limits as L
from shared.egress import EgressPolicy, url_refusal

REQUIRED = "is required"

BLANK = {"missing", "string_too_short", "string_pattern_mismatch", "too_short", "string_type", "none_required"}
TOO_LONG = {"string_too_long", "too_long"}
OUT_OF_RANGE = {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}

ONE_TO_FIVE = f"must be between {L.LEVEL_MIN} and {L.LEVEL_MAX}"
SAYS_WHEN_MISSING: Mapping[str, str] = {
    "email": "is not a valid email address",
    "program_ids": "name at least one program",
    "languages": "name at least one language",
    "meeting_modes": "choose at least one way to meet",
    "offers": "offer at least one skill: in a reciprocal pair both people teach",
    "wants": "want at least one skill: in a reciprocal pair both people learn",
    "availability": "give at least one weekly time window",
    "start": "'{input}' is not a time like 09:30",
    "end": "'{input}' is not a time like 17:00",
}
SAYS_WHEN_OUT_OF_RANGE: Mapping[str, str] = {
    "level": ONE_TO_FIVE,
    "priority": "must be " + ", ".join(map(str, range(L.PRIORITY_MIN, L.PRIORITY_MAX))) + f" or {L.PRIORITY_MAX}",
    "max_partners": f"must be between {L.PARTNERS_MIN} and {L.PARTNERS_MAX}",
}
ENTRIES: Mapping[str, str] = {
    "program_ids": "programs", "offers": "offers", "wants": "wants", "availability": "time windows",
    "interests": "interests", "languages": "languages", "meeting_modes": "ways to meet", "channels": "channels",
}
EXCERPT = 40


def check_profile(p: ProfileFields, egress: EgressPolicy | None = None) -> list[FieldError]:
    """Every way the profile breaks the contract's content rules, and a webhook address the notifier
    may not call (`egress`: strict when not given); empty when it is acceptable."""
    try:
        ProfileContent.model_validate(p.model_dump(include=set(ProfileFields.model_fields)))
    except ValidationError as exc:
        return field_errors(exc)
    if "webhook" in p.channels and p.webhook_url and (why := url_refusal(p.webhook_url, egress or EgressPolicy())):
        return [FieldError(field="webhook_url", message=why)]
    return []


def field_errors(exc: ValidationError) -> list[FieldError]:
    """The errors, at most `REJECTION_ERRORS_MAX` of them (the last then says how many more there were)."""
    errors = [FieldError(field=path_of(e["loc"]), message=message_of(e)) for e in exc.errors()]
    if len(errors) > L.REJECTION_ERRORS_MAX:
        more = len(errors) - L.REJECTION_ERRORS_MAX + 1
        errors = [*errors[: L.REJECTION_ERRORS_MAX - 1], FieldError(field="profile", message=f"and {more} more errors")]
    return errors


def path_of(loc: tuple[int | str, ...]) -> str:
    """("availability", 2, "end") -> "availability[2].end"."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path[: L.ERROR_FIELD_MAX] or "profile"


def message_of(error: Mapping[str, Any]) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    field = next((part for part in reversed(error["loc"]) if isinstance(part, str)), "")
    if kind in TOO_LONG:
        noun = "characters" if kind == "string_too_long" else ENTRIES.get(field, "entries")
        message = f"at most {ctx['max_length']} {noun}"
    elif kind in OUT_OF_RANGE:
        message = SAYS_WHEN_OUT_OF_RANGE.get(field, error["msg"])
    elif kind in BLANK:
        message = SAYS_WHEN_MISSING.get(field, REQUIRED).format(input=excerpt(error.get("input")))
    else:  # the rules' own errors (PydanticCustomError) already speak plainly
        message = error["msg"]
    return message[: L.ERROR_MESSAGE_MAX]


def excerpt(value: object) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"

from typing import Any

from shared.contract import ProfileFields


def snapshot(p: ProfileFields) -> dict[str, Any]:
    """The profile's own fields, without the event envelope."""
    return ProfileFields.model_validate(p.model_dump(include=set(ProfileFields.model_fields))).model_dump(mode="json")


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    if before is None:
        return sorted(after)
    return sorted(k for k in after if before.get(k) != after[k])

"""The notifier's own records: a person's contact card and a rendered message."""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.contract.events import ProfileChanged, ProfileFields, ProfileRejected

DEFAULT_CHANNELS: tuple[str, ...] = tuple(ProfileFields.model_fields["channels"].get_default(call_default_factory=True))
UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class Contact:
    person_id: str
    org_id: str
    display_name: str = ""
    email: str = ""
    locale: str = "en"
    timezone: str = "UTC"
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    webhook_url: str | None = None
    active: bool = True

    @property
    def name(self) -> str:
        return self.display_name.strip() or self.person_id

    @property
    def zone(self) -> ZoneInfo:
        """The person's zone; an unknown or malformed zone name falls back to UTC."""
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return UTC_ZONE

    def deliverable_channels(self) -> tuple[str, ...]:
        """The chosen channels that can actually reach the person; none once withdrawn."""
        if not self.active:
            return ()
        reachable = {"email": bool(self.email), "webhook": bool(self.webhook_url), "inbox": True}
        return tuple(c for c in self.channels if reachable.get(c, False))

    def withdrawn(self) -> "Contact":
        return replace(self, active=False)

    def to_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["channels"] = list(self.channels)
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> "Contact":
        known = {k: doc[k] for k in cls.__dataclass_fields__ if k in doc}
        if "channels" in known:
            known["channels"] = tuple(known["channels"])
        return cls(**known)


def contact_from_profile(profile: ProfileChanged) -> Contact:
    return Contact(
        person_id=profile.person_id,
        org_id=profile.org_id,
        display_name=profile.display_name,
        email=profile.email,
        locale=profile.locale,
        timezone=profile.timezone,
        channels=tuple(dict.fromkeys(profile.channels)),
        webhook_url=profile.webhook_url,
        active=profile.active,
    )


def contact_from_rejection(event: ProfileRejected, known: Contact | None = None) -> Contact:
    """Who to tell about a rejected submission: the stored card if any, else the submission's own details.

    The submission's name and email win, since they are what the person just typed. A withdrawn
    person stays withdrawn: the refused submission did not bring them back, so they are not told.
    """
    base = known or Contact(person_id=event.person_id, org_id=event.org_id)
    return replace(base, display_name=event.display_name or base.display_name, email=event.email or base.email)


@dataclass(frozen=True)
class Message:
    person_id: str
    kind: str
    subject: str
    text: str
    html: str
    calendar: bytes | None = None
    calendar_method: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

"""What the scheduler keeps about people and programs: plain, immutable, Mongo-friendly."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, overload
from zoneinfo import ZoneInfo

from shared.contract.events import DEFAULT_GROUND_RULES, ProfileChanged, ProgramConfigured
from shared.contract.timefmt import zone_of

WindowTuple = tuple[str, str, str]  # (weekday 'mon'..'sun', 'HH:MM', 'HH:MM') in the person's own zone
WantTuple = tuple[str, str | None, int]  # (skill, goal, priority)


@dataclass(frozen=True)
class Participant:
    person_id: str
    display_name: str
    timezone: str
    site: str = ""
    meeting_modes: tuple[str, ...] = ("video",)
    availability: tuple[WindowTuple, ...] = ()
    wants: tuple[WantTuple, ...] = ()

    @property
    def name(self) -> str:
        return self.display_name or self.person_id

    @property
    def zone(self) -> ZoneInfo:
        """The person's zone; a person whose zone is unknown is refused before planning starts."""
        zone = zone_of(self.timezone)
        if zone is None:
            raise ValueError(f"unknown time zone {self.timezone!r}")
        return zone

    def to_doc(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id,
            "display_name": self.display_name,
            "timezone": self.timezone,
            "site": self.site,
            "meeting_modes": list(self.meeting_modes),
            "availability": [{"weekday": d, "start": s, "end": e} for d, s, e in self.availability],
            "wants": [{"skill": k, "goal": g, "priority": p} for k, g, p in self.wants],
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> "Participant":
        return cls(
            person_id=doc["person_id"],
            display_name=doc.get("display_name", ""),
            timezone=doc.get("timezone", "UTC"),
            site=doc.get("site", ""),
            meeting_modes=tuple(doc.get("meeting_modes", ("video",))),
            availability=tuple((w["weekday"], w["start"], w["end"]) for w in doc.get("availability", ())),
            wants=tuple((w["skill"], w.get("goal"), int(w.get("priority", 2))) for w in doc.get("wants", ())),
        )


def participant_from_profile(profile: ProfileChanged) -> Participant:
    return Participant(
        person_id=profile.person_id,
        display_name=profile.display_name,
        timezone=profile.timezone,
        site=profile.site,
        meeting_modes=tuple(profile.meeting_modes),
        availability=tuple((w.weekday, w.start, w.end) for w in profile.availability),
        wants=tuple((w.skill, w.goal, w.priority) for w in profile.wants),
    )


@dataclass(frozen=True)
class SeriesPlan:
    program_id: str
    session_minutes: int = 60
    cadence: str = "biweekly"
    duration_weeks: int = 12
    starts_on: datetime | None = None
    ground_rules: tuple[str, ...] = tuple(DEFAULT_GROUND_RULES)

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts_on", as_utc(self.starts_on))

    def to_doc(self) -> dict[str, Any]:
        return {
            "program_id": self.program_id,
            "session_minutes": self.session_minutes,
            "cadence": self.cadence,
            "duration_weeks": self.duration_weeks,
            "starts_on": self.starts_on,
            "ground_rules": list(self.ground_rules),
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> "SeriesPlan":
        starts_on = doc.get("starts_on")
        if isinstance(starts_on, str):
            starts_on = datetime.fromisoformat(starts_on)
        return cls(
            program_id=doc["program_id"],
            session_minutes=int(doc.get("session_minutes", 60)),
            cadence=doc.get("cadence", "biweekly"),
            duration_weeks=int(doc.get("duration_weeks", 12)),
            starts_on=starts_on,
            ground_rules=tuple(doc.get("ground_rules") or DEFAULT_GROUND_RULES),
        )


def plan_from_program(program: ProgramConfigured) -> SeriesPlan:
    return SeriesPlan(
        program_id=program.program_id,
        session_minutes=program.session_minutes,
        cadence=program.cadence,
        duration_weeks=program.duration_weeks,
        starts_on=program.starts_on,
        ground_rules=tuple(program.ground_rules or DEFAULT_GROUND_RULES),
    )


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """Aware UTC; a naive value (as MongoDB returns them) is taken to be UTC already."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)

"""The values a partnership is made of, the program's thresholds and the domain's errors."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from shared.contract.events import FieldError, ProgramConfigured, Session


class PartnershipStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class IllegalTransition(Exception):
    """The partnership's status forbids this change."""


class CheckInRefused(Exception):
    """A check-in that cannot be accepted; `errors` say why in plain words. Nothing changed."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


RATING_GAP = 2.0
"""A direction whose average 'learned' is this many points below the other's is neglected."""
PERSISTENT_AFTER_SESSIONS = 2
"""A flag still set after this many more sessions came due reaches the admins' list."""
BOTH_LEARNING_MIN = 3.0
"""Both partners learn when each direction's average 'learned' is at least this."""


@dataclass(frozen=True)
class Thresholds:
    """A program's rules for judging partnerships. ProgramConfigured documents each and holds the
    defaults, which apply until a program's configuration arrives."""

    one_sided_min_sessions: int = ProgramConfigured.model_fields["one_sided_min_sessions"].default
    one_sided_ratio: float = ProgramConfigured.model_fields["one_sided_ratio"].default
    fizzle_after_missed: int = ProgramConfigured.model_fields["fizzle_after_missed"].default
    checkin_after_minutes: int = ProgramConfigured.model_fields["checkin_after_minutes"].default

    @classmethod
    def of_program(cls, program: ProgramConfigured) -> "Thresholds":
        return cls(**{name: getattr(program, name) for name in cls.__dataclass_fields__})

    def to_doc(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> "Thresholds":
        return cls(**{name: doc[name] for name in cls.__dataclass_fields__ if name in doc})


@dataclass(frozen=True)
class Goal:
    skill: str
    goal: str


@dataclass(frozen=True)
class PlannedSession:
    session_id: str
    number: int
    kind: str
    starts_at: datetime
    ends_at: datetime
    teacher: str | None = None
    learner: str | None = None
    agenda: tuple[str, ...] = ()
    due: bool = False
    """Its check-in was asked for, or someone checked in: it counts towards held rates and fizzling."""

    @classmethod
    def of(cls, session: Session) -> "PlannedSession":
        return cls(session.session_id, session.number, session.kind, session.starts_at, session.ends_at,
                   session.teacher, session.learner, tuple(session.agenda))

    @property
    def direction(self) -> tuple[str, str] | None:
        return (self.teacher, self.learner) if self.teacher and self.learner else None


@dataclass(frozen=True)
class CheckIn:
    session_id: str
    person_id: str
    happened: str
    learned: int | None = None
    helped: int | None = None
    note: str | None = field(default=None, repr=False)
    at: datetime | None = None


@dataclass(frozen=True)
class Finding:
    """What the rules say about a partnership now, for one kind of flag."""

    kind: str
    reason: str
    neglected: tuple[str, str] | None = None
    neglected_goals: tuple[str, ...] = ()


@dataclass(frozen=True)
class Flag:
    kind: str
    reason: str
    raised_at: datetime
    due_at_onset: int
    neglected: tuple[str, str] | None = None
    neglected_goals: tuple[str, ...] = ()


def as_utc(value: datetime) -> datetime:
    """Aware UTC; a naive value (as some drivers return them) is taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)



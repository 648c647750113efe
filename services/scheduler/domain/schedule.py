"""A partnership's schedule: the aggregate whose status says where it stands.

    waiting ──create──▶ active ──reschedule, teach_neglected──▶ active
       │  ▲                │
       │  └─(still waiting for people or the program)
       ├──mark_unschedulable──▶ unschedulable ──create──▶ active
       │                            │ ▲
       │                            └─┘ mark_unschedulable (reported again only if the words changed)
       └──cancel──▶ cancelled ◀──cancel── unschedulable, active

Each transition returns the events it causes; any other move raises `IllegalTransition`.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.scheduler.domain.neglect import neglected_direction_first
from shared.contract.envelope import Event
from shared.contract.events import (
    MatchAccepted,
    ScheduleCreated,
    ScheduleUnschedulable,
    ScheduleUpdated,
    Session,
    Teaching,
)


class ScheduleStatus(StrEnum):
    WAITING = "waiting"  # accepted, but a person or the program is not known yet
    UNSCHEDULABLE = "unschedulable"  # no series could be planned; the reason and a suggestion were published
    ACTIVE = "active"  # a series is planned
    CANCELLED = "cancelled"  # the partnership ended; never planned again


NOT_STARTED = (ScheduleStatus.WAITING, ScheduleStatus.UNSCHEDULABLE)  # no sessions yet


class IllegalTransition(Exception):
    """A schedule was asked to move where its status does not allow."""

    def __init__(self, schedule: "Schedule", action: str) -> None:
        super().__init__(f"cannot {action} schedule {schedule.schedule_id}: it is {schedule.status}")
        self.status, self.action = schedule.status, action


@dataclass
class Schedule:
    org_id: str
    match_id: str
    program_id: str
    person_a: str
    person_b: str
    a_teaches_b: list[Teaching] = field(default_factory=list)
    b_teaches_a: list[Teaching] = field(default_factory=list)
    correlation_id: str | None = None
    status: ScheduleStatus = ScheduleStatus.WAITING
    sessions: list[Session] = field(default_factory=list)
    version: int = 0
    reason: str | None = None
    suggestion: str | None = None
    cancel_reason: str | None = None
    cancelled_at: datetime | None = None

    @property
    def schedule_id(self) -> str:
        return f"sch-{self.match_id}"

    @classmethod
    def requested(cls, event: MatchAccepted) -> "Schedule":
        """A fresh schedule for an accepted match, waiting to be planned."""
        return cls(org_id=event.org_id, match_id=event.match_id, program_id=event.program_id,
                   person_a=event.person_a, person_b=event.person_b, a_teaches_b=list(event.a_teaches_b),
                   b_teaches_a=list(event.b_teaches_a), correlation_id=event.correlation_id or str(event.event_id))

    # --- transitions ------------------------------------------------------------------------------

    def create(self, sessions: list[Session]) -> list[Event]:
        """The first series: waiting or unschedulable becomes active, version 1."""
        self._require("create", *NOT_STARTED)
        self.status, self.sessions, self.version = ScheduleStatus.ACTIVE, list(sessions), 1
        self.reason = self.suggestion = None
        return [ScheduleCreated(**self._about(), schedule_id=self.schedule_id, sessions=self.sessions,
                                version=self.version)]

    def mark_unschedulable(self, reason: str, suggestion: str) -> list[Event]:
        """No series fits: reported once per distinct reason and suggestion."""
        self._require("mark unschedulable", *NOT_STARTED)
        reported = self.status is ScheduleStatus.UNSCHEDULABLE and (self.reason, self.suggestion) == (
            reason, suggestion)
        self.status, self.reason, self.suggestion = ScheduleStatus.UNSCHEDULABLE, reason, suggestion
        return [] if reported else [self._unschedulable(reason, suggestion)]

    def reschedule(self, sessions: list[Session], lost: tuple[str, str] | None = None) -> list[Event]:
        """The series again after a change: only a real change publishes (and grows the version);
        `lost` (reason, suggestion) says no session ahead fits both people any more."""
        self._require("reschedule", ScheduleStatus.ACTIVE)
        if sessions == self.sessions:
            return []
        self.sessions, self.version = list(sessions), self.version + 1
        events: list[Event] = [ScheduleUpdated(**self._about(), schedule_id=self.schedule_id, sessions=self.sessions,
                                               version=self.version)]
        return events + ([self._unschedulable(*lost)] if lost else [])

    def teach_neglected(self, teacher: str, learner: str, agenda: Sequence[str], now: datetime) -> list[Event]:
        """The partnership was flagged one-sided: the first teaching session ahead that does not go
        teacher -> learner now does, with `agenda` (see `neglected_direction_first`). Session ids stay;
        a real change grows the version. A direction that is not this pair's changes nothing."""
        self._require("swap a session of", ScheduleStatus.ACTIVE)
        if teacher == learner or {teacher, learner} != {self.person_a, self.person_b}:
            return []
        sessions = neglected_direction_first(self.sessions, teacher, learner, agenda, now=now)
        if sessions == self.sessions:
            return []
        self.sessions, self.version = sessions, self.version + 1
        return [ScheduleUpdated(**self._about(), schedule_id=self.schedule_id, sessions=self.sessions,
                                version=self.version)]

    def cancel(self, reason: str | None, now: datetime) -> list[Event]:
        """The partnership ended. Not started yet: cancelled quietly, so it is never planned later.
        Active: the sessions still ahead are cancelled (published), the past ones kept."""
        self._require("cancel", *NOT_STARTED, ScheduleStatus.ACTIVE)
        was = self.status
        self.status, self.cancel_reason, self.cancelled_at = ScheduleStatus.CANCELLED, reason, now
        if was in NOT_STARTED:
            return []
        ahead = [s for s in self.sessions if s.starts_at > now]
        self.sessions, self.version = [s for s in self.sessions if s.starts_at <= now], self.version + 1
        return [ScheduleUpdated(**self._about(), schedule_id=self.schedule_id, sessions=ahead, version=self.version,
                                cancelled=True)]

    def forget_name(self, name: str, replacement: str) -> bool:
        """Erasure: `name` (whole words) becomes `replacement` in the agendas, the reason and the
        suggestion; no event, and the version stays. True if anything changed."""
        if not name.strip():
            return False
        pattern = re.compile(rf"(?<!\w){re.escape(name.strip())}(?!\w)")
        sessions = [s.model_copy(update={"agenda": [pattern.sub(replacement, line) for line in s.agenda]})
                    for s in self.sessions]
        reason, suggestion = (pattern.sub(replacement, t) if t else t for t in (self.reason, self.suggestion))
        changed = (sessions, reason, suggestion) != (self.sessions, self.reason, self.suggestion)
        self.sessions, self.reason, self.suggestion = sessions, reason, suggestion
        return changed

    def _require(self, action: str, *allowed: ScheduleStatus) -> None:
        if self.status not in allowed:
            raise IllegalTransition(self, action)

    def _about(self) -> dict[str, Any]:
        """The fields every scheduler event carries about its match."""
        return {"org_id": self.org_id, "match_id": self.match_id, "program_id": self.program_id,
                "person_a": self.person_a, "person_b": self.person_b, "correlation_id": self.correlation_id}

    def _unschedulable(self, reason: str, suggestion: str) -> ScheduleUnschedulable:
        return ScheduleUnschedulable(**self._about(), reason=reason, suggestion=suggestion)

    # --- storage shape --------------------------------------------------------------------------

    def to_doc(self) -> dict[str, Any]:
        doc = {
            "org_id": self.org_id, "schedule_id": self.schedule_id, "match_id": self.match_id,
            "program_id": self.program_id, "person_a": self.person_a, "person_b": self.person_b,
            "people": [self.person_a, self.person_b],
            "a_teaches_b": [t.model_dump() for t in self.a_teaches_b],
            "b_teaches_a": [t.model_dump() for t in self.b_teaches_a],
            "sessions": [s.model_dump(mode="json") for s in self.sessions], "version": self.version,
            "status": self.status.value, "correlation_id": self.correlation_id,
        }
        optional = {"reason": self.reason, "suggestion": self.suggestion, "cancel_reason": self.cancel_reason,
                    "cancelled_at": self.cancelled_at}
        return doc | {k: v for k, v in optional.items() if v is not None}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> "Schedule":
        return cls(
            org_id=doc["org_id"], match_id=doc["match_id"], program_id=doc["program_id"],
            person_a=doc["person_a"], person_b=doc["person_b"],
            a_teaches_b=[Teaching.model_validate(t) for t in doc.get("a_teaches_b", ())],
            b_teaches_a=[Teaching.model_validate(t) for t in doc.get("b_teaches_a", ())],
            correlation_id=doc.get("correlation_id"), status=ScheduleStatus(doc["status"]),
            sessions=[Session.model_validate(s) for s in doc.get("sessions", ())], version=int(doc.get("version", 0)),
            reason=doc.get("reason"), suggestion=doc.get("suggestion"), cancel_reason=doc.get("cancel_reason"),
            cancelled_at=doc.get("cancelled_at"),
        )

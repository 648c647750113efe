"""The partnership aggregate: its sessions, both partners' check-ins, its flags and its end.

Every transition returns the events it causes; a transition the status forbids raises
IllegalTransition. Time is always passed in (`now`), never read here.

| transition         | active | ended                                         |
|--------------------|--------|-----------------------------------------------|
| learn_goals        | yes    | yes (the match's details may arrive late)     |
| schedule           | yes    | only a cancellation                           |
| check_in           | yes    | yes, for the sessions it kept (late answers)  |
| request_check_in   | yes    | IllegalTransition                             |
| end                | yes    | IllegalTransition                             |
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from services.progress.domain.balance import ledger
from services.progress.domain.flags import findings
from services.progress.domain.records import (
    CheckIn,
    CheckInRefused,
    Flag,
    Goal,
    IllegalTransition,
    PartnershipStatus,
    PlannedSession,
    Thresholds,
    as_utc,
)
from shared.contract import limits as L
from shared.contract.envelope import Event
from shared.contract.events import BalanceChanged, CheckInRequested, FieldError, PartnershipFlagged, Session


@dataclass
class Partnership:
    org_id: str
    match_id: str
    program_id: str
    person_a: str
    person_b: str
    began_at: datetime
    correlation_id: str | None = None
    status: PartnershipStatus = PartnershipStatus.ACTIVE
    goals_of: dict[str, tuple[Goal, ...]] = field(default_factory=dict)
    """Each partner's goals as a learner (from the match: what the other teaches them, and why)."""
    sessions: dict[str, PlannedSession] = field(default_factory=dict)
    schedule_version: int = 0
    checkins: dict[tuple[str, str], CheckIn] = field(default_factory=dict)
    """(session_id, person_id) -> that person's latest check-in for that session."""
    flags: dict[str, Flag] = field(default_factory=dict)
    ended_at: datetime | None = None
    end_reason: str | None = None
    balance_version: int = 0
    published_balance: dict[str, Any] | None = None

    # --- transitions --------------------------------------------------------------------------

    @classmethod
    def begin(cls, org_id: str, match_id: str, program_id: str, person_a: str, person_b: str, *,
              began_at: datetime, correlation_id: str | None = None) -> "Partnership":
        return cls(org_id, match_id, program_id, person_a, person_b, as_utc(began_at), correlation_id)

    def learn_goals(self, a_goals: Iterable[Goal], b_goals: Iterable[Goal], *, began_at: datetime,
                    thresholds: Thresholds, now: datetime) -> list[Event]:
        """The match's details arrived (they may come after the schedule): both partners' goals."""
        self.goals_of = {self.person_a: tuple(dict.fromkeys(a_goals)), self.person_b: tuple(dict.fromkeys(b_goals))}
        self.began_at = min(self.began_at, as_utc(began_at))
        return self.review(thresholds, now)

    def schedule(self, sessions: Sequence[Session], *, version: int, cancelled: bool,
                 thresholds: Thresholds, now: datetime) -> list[Event]:
        """A schedule was created or updated; a cancelling update lists the sessions it removes.
        Sessions someone already checked in to stay, whatever an update says."""
        if version <= self.schedule_version:
            return []
        if self.status is PartnershipStatus.ENDED and not cancelled:
            raise IllegalTransition(f"partnership {self.match_id} has ended; it gets no new sessions")
        self.schedule_version = version
        listed = {s.session_id: s for s in sessions}
        checked = {sid for sid, _ in self.checkins}
        if cancelled:
            self.sessions = {sid: s for sid, s in self.sessions.items() if sid not in listed or sid in checked}
        else:
            kept = {sid: s for sid, s in self.sessions.items() if sid in checked and sid not in listed}
            due = {sid for sid, s in self.sessions.items() if s.due}
            fresh = {sid: replace(PlannedSession.of(s), due=sid in due) for sid, s in listed.items()}
            self.sessions = dict(sorted({**kept, **fresh}.items(), key=lambda item: item[1].number))
        return self.review(thresholds, now)

    def check_in(self, checkin: CheckIn, *, thresholds: Thresholds, now: datetime) -> list[Event]:
        """Record a partner's check-in; a later one for the same session replaces the earlier one."""
        errors = check_in_errors(self, checkin.session_id, checkin.person_id, now)
        if errors:
            raise CheckInRefused(errors)
        self.checkins[(checkin.session_id, checkin.person_id)] = replace(checkin, at=as_utc(now))
        self.sessions[checkin.session_id] = replace(self.sessions[checkin.session_id], due=True)
        return self.review(thresholds, now)

    def request_check_in(self, session_id: str, *, thresholds: Thresholds, now: datetime) -> list[Event]:
        """The session ended a while ago: ask both partners, and count it as due from now on."""
        if self.status is PartnershipStatus.ENDED:
            raise IllegalTransition(f"partnership {self.match_id} has ended; nobody is asked to check in")
        session = self.sessions.get(session_id)
        if session is None:
            raise IllegalTransition(f"session {session_id} is no longer part of partnership {self.match_id}")
        self.sessions[session_id] = replace(session, due=True)
        asked = self.event(CheckInRequested, session_id=session_id, teacher=session.teacher,
                           learner=session.learner, starts_at=session.starts_at, ends_at=session.ends_at)
        return [asked, *self.review(thresholds, now)]

    def end(self, reason: str, *, at: datetime, thresholds: Thresholds, now: datetime) -> list[Event]:
        if self.status is PartnershipStatus.ENDED:
            raise IllegalTransition(f"partnership {self.match_id} has already ended")
        self.status = PartnershipStatus.ENDED
        self.ended_at = as_utc(at)
        self.end_reason = reason[: L.REASON_MAX]
        return self.review(thresholds, now)

    # --- what the ledger and the rules say ----------------------------------------------------

    def review(self, thresholds: Thresholds, now: datetime) -> list[Event]:
        """Flags raised now for the first time (onsets), and the balance if it changed, as events.
        A flag the rules no longer find is cleared; an ended partnership keeps none."""
        events: list[Event] = []
        found = findings(self, thresholds) if self.status is PartnershipStatus.ACTIVE else {}
        self.flags = {kind: flag for kind, flag in self.flags.items() if kind in found}
        for kind, finding in found.items():
            if kind in self.flags:
                continue
            self.flags[kind] = Flag(kind, finding.reason, as_utc(now), self.sessions_due,
                                    finding.neglected, finding.neglected_goals)
            neglected = (
                {"teacher": finding.neglected[0], "learner": finding.neglected[1]} if finding.neglected else None
            )
            events.append(self.event(PartnershipFlagged, kind=kind, reason=finding.reason, neglected=neglected,
                                     neglected_goals=list(finding.neglected_goals)))
        snapshot = ledger(self).model_dump(mode="json", exclude={"version"})
        if snapshot != self.published_balance:
            self.balance_version += 1
            self.published_balance = snapshot
            events.append(BalanceChanged(org_id=self.org_id, correlation_id=self.correlation_id, **snapshot,
                                         version=self.balance_version))
        return events

    @property
    def people(self) -> tuple[str, str]:
        return self.person_a, self.person_b

    @property
    def sessions_due(self) -> int:
        return sum(1 for s in self.sessions.values() if s.due)

    def forget_notes_of(self, person_id: str) -> int:
        """Erasure: the person's private notes go; their ratings stay in the partner's balance. How many
        notes there were."""
        noted = {key: c for key, c in self.checkins.items() if c.person_id == person_id and c.note}
        for key, checkin in noted.items():
            self.checkins[key] = replace(checkin, note=None)
        return len(noted)

    def checkins_of(self, session_id: str) -> list[CheckIn]:
        return [c for (sid, _), c in self.checkins.items() if sid == session_id]

    def held(self, session_id: str) -> bool:
        """A session happened when either partner says so."""
        return any(c.happened == "yes" for c in self.checkins_of(session_id))

    def checkins_to_request(self, thresholds: Thresholds) -> list[tuple[str, datetime]]:
        """(session_id, when to ask) for every session not yet due, while the partnership runs."""
        if self.status is not PartnershipStatus.ACTIVE:
            return []
        after = timedelta(minutes=thresholds.checkin_after_minutes)
        return [(s.session_id, s.ends_at + after) for s in self.sessions.values() if not s.due]

    def event(self, event_cls: type[Any], **fields: Any) -> Any:
        """An event about this partnership: its tenant, its correlation, the pair and the program."""
        return event_cls(org_id=self.org_id, correlation_id=self.correlation_id, match_id=self.match_id,
                         program_id=self.program_id, person_a=self.person_a, person_b=self.person_b, **fields)


def check_in_errors(partnership: Partnership | None, session_id: str, person_id: str,
                    now: datetime) -> list[FieldError]:
    """Why a check-in cannot be accepted, in words a partner can read; empty when it can.

    A check-in that arrives before its partnership or its schedule (events on other topics) is
    refused as unknown, with a reason that says to try again: nothing is kept for later."""
    if partnership is None:
        return [FieldError(field="match_id", message="no partnership with this id is known (yet); if it was only "
                           "just accepted, try again in a minute")]
    errors = []
    if person_id not in partnership.people:
        errors.append(FieldError(field="person_id", message="is not one of the two partners"))
    session = partnership.sessions.get(session_id)
    if session is None:
        errors.append(FieldError(field="session_id", message="is not a session of this partnership; if its "
                                 "schedule was only just made, try again in a minute"))
    elif session.starts_at > as_utc(now):
        errors.append(FieldError(field="session_id", message="has not started yet (it starts at "
                                 f"{session.starts_at.strftime('%Y-%m-%d %H:%M')} UTC)"))
    return errors

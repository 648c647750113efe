"""A proposal and the partnership it may become: the aggregate whose status says where the pair stands.

    proposed ──accept (the first of two)──▶ proposed
       │ ──accept (the second)──────────▶ accepted ──end, withdraw──▶ ended
       ├──decline──▶ declined
       ├──expire───▶ expired
       └──withdraw─▶ withdrawn

Every status but proposed and accepted is final: the pair's match id is deterministic, so a pair
with a match in any status is never proposed again. Each transition returns the events it causes;
any other move raises `IllegalTransition`. Time is passed in, never read here.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.matcher.domain.model import Program
from services.matcher.domain.proposals import expires_at, match_id
from services.matcher.domain.scoring import Scored
from shared.contract.envelope import Event
from shared.contract.events import (
    Factor,
    MatchAccepted,
    MatchDeclined,
    MatchOutcome,
    MatchProposed,
    MatchWithdrawn,
    Teaching,
)


class MatchStatus(StrEnum):
    PROPOSED = "proposed"  # waiting for both people's answers
    ACCEPTED = "accepted"  # both accepted: a running partnership
    DECLINED = "declined"
    EXPIRED = "expired"  # not answered by both in time
    WITHDRAWN = "withdrawn"  # a proposal no longer eligible (someone left the program or changed)
    ENDED = "ended"  # a partnership that one of them ended, or that lost a member


OPEN = (MatchStatus.PROPOSED, MatchStatus.ACCEPTED)
"""The statuses that take a place of a person's `max_partners`."""

EXPIRED_REASON = "proposal expired"


class IllegalTransition(Exception):
    """A match was asked to move where its status (or the asker) does not allow."""

    def __init__(self, match: "Match", action: str, why: str = "") -> None:
        super().__init__(f"cannot {action} match {match.match_id}: {why or f'it is {match.status}'}")
        self.status, self.action = match.status, action


@dataclass
class Match:
    match_id: str
    org_id: str
    program_id: str
    person_a: str
    person_b: str
    score: float
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    a_teaches_b: list[Teaching] = field(default_factory=list)
    b_teaches_a: list[Teaching] = field(default_factory=list)
    explanation: list[Factor] = field(default_factory=list)
    status: MatchStatus = MatchStatus.PROPOSED
    accepted_by: list[str] = field(default_factory=list)
    reason: str = ""

    @property
    def people(self) -> list[str]:
        return [self.person_a, self.person_b]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @classmethod
    def propose(cls, program: Program, scored: Scored, now: datetime,
                correlation_id: str | None = None) -> tuple["Match", list[Event]]:
        """A new proposal of a scored pair, and its `matches.proposed`."""
        match = cls(
            match_id=match_id(program.org_id, program.program_id, scored.person_a, scored.person_b),
            org_id=program.org_id, program_id=program.program_id, person_a=scored.person_a,
            person_b=scored.person_b, score=scored.score, expires_at=expires_at(program, now), created_at=now,
            updated_at=now, a_teaches_b=list(scored.a_teaches_b), b_teaches_a=list(scored.b_teaches_a),
            explanation=list(scored.explanation),
        )
        proposed = MatchProposed(
            **match._about(correlation_id), a_teaches_b=match.a_teaches_b, b_teaches_a=match.b_teaches_a,
            score=match.score, explanation=match.explanation, expires_at=match.expires_at,
        )
        return match, [proposed]

    # --- transitions ------------------------------------------------------------------------------

    def accept(self, person_id: str, now: datetime, correlation_id: str | None = None) -> list[Event]:
        """One of the pair accepts; the second acceptance makes the partnership (`matches.accepted`)."""
        self._require("accept", MatchStatus.PROPOSED)
        self._require_member("accept", person_id)
        self.accepted_by = sorted({*self.accepted_by, person_id})
        if len(self.accepted_by) < 2:
            return []
        self._move(MatchStatus.ACCEPTED, "both accepted", now)
        return [self._outcome(MatchAccepted, correlation_id)]

    def decline(self, person_id: str, reason: str | None, now: datetime,
                correlation_id: str | None = None) -> list[Event]:
        self._require("decline", MatchStatus.PROPOSED)
        self._require_member("decline", person_id)
        self._move(MatchStatus.DECLINED, reason or "declined", now)
        return [self._outcome(MatchDeclined, correlation_id, reason="declined")]

    def expire(self, now: datetime) -> list[Event]:
        """Not answered by both in time: withdrawn, with no cause but the clock."""
        self._require("expire", MatchStatus.PROPOSED)
        if self.expires_at > now:
            raise IllegalTransition(self, "expire", f"it expires at {self.expires_at.isoformat()}")
        self._move(MatchStatus.EXPIRED, EXPIRED_REASON, now)
        return [self._outcome(MatchWithdrawn, None)]

    def end(self, person_id: str, reason: str, now: datetime, correlation_id: str | None = None) -> list[Event]:
        """One of the partners ends their partnership (`reason` is the end reason code)."""
        self._require("end", MatchStatus.ACCEPTED)
        self._require_member("end", person_id)
        self._move(MatchStatus.ENDED, reason, now)
        return [self._outcome(MatchWithdrawn, correlation_id, partnership_ended=True)]

    def withdraw(self, reason: str, now: datetime, correlation_id: str | None = None, *,
                 erased_person_id: str | None = None) -> list[Event]:
        """The pair is no longer eligible: a proposal is withdrawn, a partnership ended (`erased_person_id`:
        because that person was erased)."""
        self._require("withdraw", *OPEN)
        if erased_person_id is not None:
            self._require_member("withdraw", erased_person_id)
        ended = self.status is MatchStatus.ACCEPTED
        self._move(MatchStatus.ENDED if ended else MatchStatus.WITHDRAWN, reason, now)
        return [self._outcome(MatchWithdrawn, correlation_id, partnership_ended=ended,
                              erased_person_id=erased_person_id)]

    def _move(self, status: MatchStatus, reason: str, now: datetime) -> None:
        self.status, self.reason, self.updated_at = status, reason, now

    def _require(self, action: str, *allowed: MatchStatus) -> None:
        if self.status not in allowed:
            raise IllegalTransition(self, action)

    def _require_member(self, action: str, person_id: str) -> None:
        if person_id not in self.people:
            raise IllegalTransition(self, action, f"{person_id} is not one of the pair")

    def _about(self, correlation_id: str | None) -> dict[str, Any]:
        return {"org_id": self.org_id, "correlation_id": correlation_id, "match_id": self.match_id,
                "program_id": self.program_id, "person_a": self.person_a, "person_b": self.person_b}

    def _outcome(self, event_cls: type[MatchOutcome], correlation_id: str | None, *, reason: str | None = None,
                 **extra: Any) -> Event:
        return event_cls(**self._about(correlation_id), **extra, reason=self.reason if reason is None else reason,
                         a_teaches_b=self.a_teaches_b, b_teaches_a=self.b_teaches_a)

    # --- storage shape --------------------------------------------------------------------------

    def to_doc(self) -> dict[str, Any]:
        return {
            "_id": self.match_id, "org_id": self.org_id, "program_id": self.program_id,
            "person_a": self.person_a, "person_b": self.person_b, "people": self.people,
            "status": self.status.value, "accepted_by": list(self.accepted_by), "score": self.score,
            "a_teaches_b": [t.model_dump() for t in self.a_teaches_b],
            "b_teaches_a": [t.model_dump() for t in self.b_teaches_a],
            "explanation": [f.model_dump() for f in self.explanation],
            "created_at": self.created_at, "updated_at": self.updated_at, "expires_at": self.expires_at,
            "reason": self.reason,
        }

    def changes(self) -> dict[str, Any]:
        """The fields a transition moves."""
        return {"status": self.status.value, "reason": self.reason, "updated_at": self.updated_at,
                "accepted_by": list(self.accepted_by)}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> "Match":
        return cls(
            match_id=doc["_id"], org_id=doc["org_id"], program_id=doc["program_id"], person_a=doc["person_a"],
            person_b=doc["person_b"], score=float(doc.get("score", 0.0)), expires_at=doc["expires_at"],
            created_at=doc["created_at"], updated_at=doc.get("updated_at", doc["created_at"]),
            a_teaches_b=[Teaching.model_validate(t) for t in doc.get("a_teaches_b", ())],
            b_teaches_a=[Teaching.model_validate(t) for t in doc.get("b_teaches_a", ())],
            explanation=[Factor.model_validate(f) for f in doc.get("explanation", ())],
            status=MatchStatus(doc["status"]), accepted_by=list(doc.get("accepted_by", ())),
            reason=doc.get("reason", ""),
        )

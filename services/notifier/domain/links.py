"""Signed one-click links. Each grants one person of one org one action (its purpose) on one match
(and, for a check-in, one session) until it expires; it is not a bearer token for anything else.

The purpose is the serializer's salt, so a link signed for one purpose fails on another's page. The
expiry is signed into the payload as an absolute instant: a proposal's links die with the proposal.
Every link that answers the same question (accept and decline answer the same proposal) shares one
`slot`; the slot names the one event the answer publishes, and its event_id is derived from it.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode
from uuid import UUID, uuid5

from itsdangerous import BadData, URLSafeTimedSerializer
from pydantic import ValidationError

from shared.contract import limits as L
from shared.contract.envelope import Event
from shared.contract.events import EndRequested, MatchResponded, SessionCheckedIn

LINK_NAMESPACE = UUID("6f1c3a52-8d4e-5b7a-9c21-0e5d4b3a2f10")
DEFAULT_LIFETIME = timedelta(days=14)


class Purpose(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    CHECK_IN = "check-in"
    END = "end"

    @property
    def question(self) -> str:
        """What the answer is to: accepting and declining answer the same proposal."""
        return "respond" if self in (Purpose.ACCEPT, Purpose.DECLINE) else str(self)


DECLINE_REASONS = ("not relevant to my goals", "timing", "other")
HAPPENED = ("yes", "no", "moved")
END_REASONS = ("not_a_fit", "schedule", "left", "goals_met")
RATINGS = ("1", "2", "3", "4", "5")
NOTE_MAX = L.CHECKIN_NOTE_MAX


class LinkRefused(Exception):
    """The link cannot be used; nothing changed. `status` is the HTTP status of the page that says so."""

    status = 400


class TamperedLink(LinkRefused):
    status = 400


class ExpiredLink(LinkRefused):
    status = 410


class InvalidAnswer(LinkRefused):
    status = 400


@dataclass(frozen=True)
class LinkClaims:
    purpose: Purpose
    org_id: str
    person_id: str
    match_id: str
    expires_at: datetime
    session_id: str | None = None

    @property
    def slot(self) -> str:
        return "|".join((self.purpose.question, self.org_id, self.match_id, self.session_id or "", self.person_id))

    @property
    def event_id(self) -> UUID:
        """The published event's id: the same for every click, replica and retry of this answer."""
        return uuid5(LINK_NAMESPACE, self.slot)


class LinkSigner:
    def __init__(self, secret: str) -> None:
        self._serializers = {p: URLSafeTimedSerializer(secret, salt=f"reciprocal.link.{p}") for p in Purpose}

    def sign(self, claims: LinkClaims) -> str:
        payload = {"o": claims.org_id, "p": claims.person_id, "m": claims.match_id, "s": claims.session_id,
                   "x": int(claims.expires_at.timestamp())}
        return str(self._serializers[claims.purpose].dumps(payload))

    def verify(self, purpose: Purpose, token: str, now: datetime) -> LinkClaims:
        """The claims of a genuine, unexpired link for `purpose`; else TamperedLink or ExpiredLink."""
        try:
            payload = self._serializers[purpose].loads(token)
            claims = LinkClaims(
                purpose=purpose, org_id=_text(payload["o"]), person_id=_text(payload["p"]),
                match_id=_text(payload["m"]), session_id=payload["s"] and _text(payload["s"]),
                expires_at=datetime.fromtimestamp(int(payload["x"]), UTC),
            )
        except (BadData, KeyError, TypeError, ValueError) as exc:
            raise TamperedLink("this link is not one we sent, or it was changed") from exc
        if now >= claims.expires_at:
            raise ExpiredLink("this link has expired")
        return claims


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("not a string")
    return value


@dataclass(frozen=True)
class LinkIssuer:
    """Builds the links of a message: URLs under `base_url`, signed by `signer`."""

    signer: LinkSigner
    base_url: str
    lifetime: timedelta = DEFAULT_LIFETIME

    def url(self, claims: LinkClaims, **preset: str) -> str:
        query = f"?{urlencode(preset)}" if preset else ""
        return f"{self.base_url.rstrip('/')}/links/{claims.purpose}/{self.signer.sign(claims)}{query}"

    def respond(self, org_id: str, person_id: str, match_id: str, expires_at: datetime) -> dict[str, str]:
        return {str(p): self.url(LinkClaims(p, org_id, person_id, match_id, expires_at))
                for p in (Purpose.ACCEPT, Purpose.DECLINE)}

    def check_in(
        self, org_id: str, person_id: str, match_id: str, session_id: str, issued_at: datetime
    ) -> dict[str, str]:
        """One link per answer, each opening the confirmation page with that answer chosen: one per
        'did it happen' (`yes`, `no`, `moved`) and, for a session that happened, one per rating of
        how much you learned (`learned-1` .. `learned-5`) and how much you helped (`helped-1` ..)."""
        claims = LinkClaims(Purpose.CHECK_IN, org_id, person_id, match_id, issued_at + self.lifetime, session_id)
        links = {happened: self.url(claims, happened=happened) for happened in HAPPENED}
        for question in ("learned", "helped"):
            links |= {f"{question}-{n}": self.url(claims, happened="yes", **{question: n}) for n in RATINGS}
        return links

    def end(self, org_id: str, person_id: str, match_id: str, valid_from: datetime) -> str:
        """Valid for `lifetime` after `valid_from` (the issue time, or the last session of a schedule)."""
        return self.url(LinkClaims(Purpose.END, org_id, person_id, match_id, valid_from + self.lifetime))


def answer_event(claims: LinkClaims, form: Mapping[str, str], now: datetime) -> Event:
    """The event a confirmed link publishes, from the confirmation form; InvalidAnswer if the form is wrong."""
    base: dict[str, Any] = {"event_id": claims.event_id, "occurred_at": now, "org_id": claims.org_id,
                            "match_id": claims.match_id, "person_id": claims.person_id}
    note = (form.get("note") or "").strip() or None
    try:
        if claims.purpose in (Purpose.ACCEPT, Purpose.DECLINE):
            reason = None
            if claims.purpose is Purpose.DECLINE:
                reason = _choice(form, "reason", DECLINE_REASONS, "why you decline")
            return MatchResponded(**base, decision=str(claims.purpose), reason=reason)
        if claims.purpose is Purpose.CHECK_IN:
            return SessionCheckedIn(
                **base, session_id=claims.session_id,
                happened=_choice(form, "happened", HAPPENED, "whether it happened"),
                learned=_rating(form, "learned"), helped=_rating(form, "helped"), note=note,
            )
        return EndRequested(**base, reason=_choice(form, "reason", END_REASONS, "a reason"), note=note)
    except ValidationError as exc:
        raise InvalidAnswer("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from exc


def _choice(form: Mapping[str, str], field: str, allowed: tuple[str, ...], what: str) -> str:
    value = form.get(field, "")
    if value not in allowed:
        raise InvalidAnswer(f"please choose {what}")
    return value


def _rating(form: Mapping[str, str], field: str) -> int | None:
    value = form.get(field, "")
    if value == "":
        return None
    if value not in RATINGS:
        raise InvalidAnswer(f"{field} must be a number from 1 to 5")
    return int(value)


def answer_summary(event: Event) -> str:
    """What was answered, in words for the 'already answered' page; never the private note."""
    if isinstance(event, MatchResponded):
        return "you accepted this match" if event.decision == "accept" else "you declined this match"
    if isinstance(event, SessionCheckedIn):
        return {"yes": "you said the session happened", "no": "you said the session did not happen",
                "moved": "you said the session was moved"}[event.happened]
    if isinstance(event, EndRequested):
        return "you asked to end this partnership"
    return "you answered"

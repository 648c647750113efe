"""Recompute the future of a series after someone's availability, time zone or site changed."""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from shared.contract.events import Session
from services.scheduler.domain.model import Participant, SeriesPlan, as_utc
from services.scheduler.domain.series import (
    CADENCE_WEEKS, Scheduled, SeriesResult, Unschedulable, build_series, local_time, plan_series, shared_mode,
)
from services.scheduler.domain.slots import zone


def reschedule(existing: list[Session], a: Participant, b: Participant, plan: SeriesPlan, *, now: datetime,
               a_teaches_b: Iterable[Any] = (), b_teaches_a: Iterable[Any] = (),
               match_id: str | None = None) -> list[Session]:
    """Past sessions (starts_at <= now) stay exactly as they were. Future ones are placed again:
    a session keeps its time while that still fits both windows, and always keeps its number
    and session_id. If the pair can no longer be scheduled at all, the future sessions keep
    their times and are flagged with the reason and suggestion. Pass a and b in the match's
    order (person_a, person_b) and, when `existing` may be empty, the match_id."""
    result = reschedule_result(existing, a, b, plan, now=now, a_teaches_b=a_teaches_b,
                               b_teaches_a=b_teaches_a, match_id=match_id)
    if isinstance(result, Scheduled):
        return result.sessions
    if not existing:
        return []
    now = as_utc(now)
    note = f"{result.reason} {result.suggestion}"
    return sorted((s if s.starts_at <= now else _flagged(s, note, a, b) for s in existing), key=lambda s: s.number)


def _flagged(session: Session, note: str, a: Participant, b: Participant) -> Session:
    length = session.ends_at - session.starts_at
    return session.model_copy(update={
        "flagged": note, "mode": shared_mode(a, b) or session.mode,
        "local_times": [local_time(p, session.starts_at, length) for p in (a, b)],
    })


def reschedule_result(existing: list[Session], a: Participant, b: Participant, plan: SeriesPlan, *,
                      now: datetime, a_teaches_b: Iterable[Any] = (), b_teaches_a: Iterable[Any] = (),
                      match_id: str | None = None) -> SeriesResult:
    """Like `reschedule`, but says Unschedulable instead of flagging when nothing fits any more.
    With no existing sessions (a pair that was unschedulable so far) it plans a fresh series."""
    if not existing:
        if match_id is None:
            raise ValueError("reschedule needs the existing sessions or the match_id")
        return plan_series(match_id, a, b, plan, now=now, a_teaches_b=a_teaches_b, b_teaches_a=b_teaches_a)
    now = as_utc(now)
    match_id = match_id or existing[0].session_id.rsplit("-s", 1)[0]
    past = {s.number: s for s in existing if s.starts_at <= now}
    future = {s.number: s.starts_at for s in existing if s.starts_at > now}
    fresh = build_series(match_id, a, b, plan, monday=_series_monday(existing, a, plan),
                         not_before=now + timedelta(seconds=1), preferred=future,
                         a_teaches_b=a_teaches_b, b_teaches_a=b_teaches_a)
    if isinstance(fresh, Unschedulable):
        return fresh
    sessions = dict(past)
    for session in fresh.sessions:
        if session.number not in past and session.starts_at > now:
            sessions[session.number] = session
    return Scheduled(sessions=[sessions[n] for n in sorted(sessions)], mode=fresh.mode)


def _series_monday(existing: list[Session], a: Participant, plan: SeriesPlan) -> date:
    """The Monday the series began on, read from A's local rendering of its earliest session
    (sessions never leave their week, and session n lives in week (n-1) * step)."""
    first = min(existing, key=lambda s: s.number)
    rendered = next((lt for lt in first.local_times if lt.person_id == a.person_id), None)
    local = (datetime.fromisoformat(rendered.starts_at) if rendered
             else first.starts_at.astimezone(zone(a.timezone)))
    monday = local.date() - timedelta(days=local.weekday())
    return monday - timedelta(weeks=CADENCE_WEEKS[plan.cadence] * (first.number - 1))

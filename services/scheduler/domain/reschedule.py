"""Recompute the future of a series after someone's availability, time zone or site changed."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from services.scheduler.domain.model import Participant, SeriesPlan, as_utc
from services.scheduler.domain.series import (
    Scheduled,
    Unschedulable,
    local_time,
    place_all,
    plan_series,
    sessions_for,
    shared_mode,
)
from services.scheduler.domain.suggest import no_overlap
from services.scheduler.domain.weeks import CADENCE_WEEKS, monday_of, series_numbers, week_monday, week_span
from shared.contract.events import Session
from shared.contract.timefmt import zone_of


@dataclass(frozen=True)
class Rescheduled:
    sessions: list[Session]
    lost: Unschedulable | None = None
    """Set when no session still ahead can be placed inside both people's availability any more."""


def reschedule(existing: list[Session], a: Participant, b: Participant, plan: SeriesPlan, *, now: datetime,
               a_teaches_b: Iterable[Any] = (), b_teaches_a: Iterable[Any] = (),
               match_id: str | None = None) -> list[Session]:
    """The sessions of `reschedule_result`."""
    return reschedule_result(existing, a, b, plan, now=now, a_teaches_b=a_teaches_b, b_teaches_a=b_teaches_a,
                             match_id=match_id).sessions


def reschedule_result(existing: list[Session], a: Participant, b: Participant, plan: SeriesPlan, *,
                      now: datetime, a_teaches_b: Iterable[Any] = (), b_teaches_a: Iterable[Any] = (),
                      match_id: str | None = None) -> Rescheduled:
    """Past sessions (starts_at <= now) stay exactly as they were. Every future session is placed
    again in its own week (weeks are UTC, so a time-zone change cannot move or drop one): it keeps
    its time while that still fits both people's availability, and always keeps its number,
    session_id, direction and agenda (a session swapped to a neglected direction stays swapped). A
    week with no shared slot any more keeps the session's time, flagged. If no future session fits
    at all, `lost` says why and what would help. Unchanged inputs give identical sessions.

    Pass a and b in the match's order (person_a, person_b) and, when `existing` may be empty (a
    pair that was unschedulable so far), the match_id: then a fresh series is planned."""
    if not existing:
        if match_id is None:
            raise ValueError("reschedule needs the existing sessions or the match_id")
        planned = plan_series(match_id, a, b, plan, now=now, a_teaches_b=a_teaches_b, b_teaches_a=b_teaches_a)
        return Rescheduled(planned.sessions) if isinstance(planned, Scheduled) else Rescheduled([], planned)
    now = as_utc(now)
    match_id = match_id or existing[0].session_id.rsplit("-s", 1)[0]
    past = [s for s in existing if s.starts_at <= now]
    future = {s.number: s for s in existing if s.starts_at > now}
    monday = series_monday(existing, plan)
    last = max(s.number for s in existing)
    numbers = sorted(set(future) | {n for n in series_numbers(plan) if n > last})
    mondays = {n: week_monday(monday, plan.cadence, n) for n in numbers}
    running = [s.ends_at for s in past if s.ends_at > now]  # a session under way runs on into the next week
    placed = place_all(a, b, plan, mondays=mondays, not_before=max([now + timedelta(seconds=1), *running]),
                       preferred={n: s.starts_at for n, s in future.items()})
    if isinstance(placed, Unschedulable):
        kept = [_flagged(s, placed.reason, a, b) for s in future.values()]
        return Rescheduled(_in_order(past + kept), lost=placed)
    mode, placements = placed
    fresh = [_same_subject(s, future.get(s.number))
             for s in sessions_for(match_id, a, b, plan, mode, placements, a_teaches_b, b_teaches_a)]
    lost = None
    if placements and all(p.flagged for p in placements.values()):
        lost = Unschedulable(*no_overlap(a, b, plan.session_minutes, [week_span(m) for m in mondays.values()]))
    return Rescheduled(_in_order(past + fresh), lost)


def series_monday(existing: list[Session], plan: SeriesPlan) -> date:
    """The (UTC) Monday of the series' first week: session n lives in week (n - 1) * step."""
    first = min(existing, key=lambda s: s.number)
    return monday_of(first.starts_at) - timedelta(weeks=CADENCE_WEEKS[plan.cadence] * (first.number - 1))


def _same_subject(placed: Session, before: Session | None) -> Session:
    """A session placed again is still about what it was: who teaches whom, and its agenda."""
    if before is None:
        return placed
    return placed.model_copy(update={"teacher": before.teacher, "learner": before.learner,
                                     "agenda": list(before.agenda)})


def _flagged(session: Session, note: str, a: Participant, b: Participant) -> Session:
    length = session.ends_at - session.starts_at
    rendered = {lt.person_id: lt for lt in session.local_times}
    known = {p.person_id: zone_of(p.timezone) is not None for p in (a, b)}
    local_times = [local_time(p, session.starts_at, length) if known[p.person_id] else rendered[p.person_id]
                   for p in (a, b) if known[p.person_id] or p.person_id in rendered]
    return session.model_copy(update={"flagged": note, "mode": shared_mode(a, b) or session.mode,
                                      "local_times": local_times})


def _in_order(sessions: list[Session]) -> list[Session]:
    return sorted(sessions, key=lambda s: s.number)

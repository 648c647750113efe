"""A partnership's series of sessions: kickoff first, then alternating teaching sessions."""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from shared.contract.events import LocalTime, Session
from services.scheduler.domain.agenda import kickoff_agenda, learner_goals, teaching_agenda, teaching_pairs
from services.scheduler.domain.model import Participant, SeriesPlan, as_utc
from services.scheduler.domain.slots import (
    Interval, availability, best_slot, fits, grid_ceil, known_zone, overlap, to_utc, zone,
)
from services.scheduler.domain.suggest import REMOTE_MODES, no_overlap, no_shared_mode, unknown_zone

CADENCE_WEEKS = {"weekly": 1, "biweekly": 2, "monthly": 4}


@dataclass(frozen=True)
class Scheduled:
    sessions: list[Session]
    mode: str


@dataclass(frozen=True)
class Unschedulable:
    reason: str
    suggestion: str


SeriesResult = Scheduled | Unschedulable


def session_count(cadence: str, duration_weeks: int) -> int:
    """Sessions fall in weeks 0, step, 2*step, ... below duration_weeks, where step is 1 (weekly),
    2 (biweekly) or 4 (monthly), so: weekly gives duration_weeks sessions, biweekly
    ceil(duration_weeks / 2) and monthly ceil(duration_weeks / 4)."""
    step = CADENCE_WEEKS[cadence]
    return -(-duration_weeks // step)


def session_id(match_id: str, number: int) -> str:
    return f"{match_id}-s{number:02d}"


def shared_mode(a: Participant, b: Participant) -> str | None:
    if "in_person" in a.meeting_modes and "in_person" in b.meeting_modes and a.site and a.site == b.site:
        return "in_person"
    return next((mode for mode in REMOTE_MODES if mode in a.meeting_modes and mode in b.meeting_modes), None)


def first_monday(start: datetime) -> date:
    """The Monday of the first calendar week that begins on or after `start` (by its UTC date)."""
    start = as_utc(start)
    day = start.date() + timedelta(days=0 if start.time() == time() else 1)
    return day + timedelta(days=(7 - day.weekday()) % 7)


def plan_series(match_id: str, a: Participant, b: Participant, plan: SeriesPlan, *, now: datetime,
                a_teaches_b: Iterable[Any] = (), b_teaches_a: Iterable[Any] = ()) -> SeriesResult:
    """Place the whole series, week by week in A's calendar (Monday to Sunday, A's time zone).

    One weekly slot is chosen (the most common best slot across the series' weeks); an
    occurrence where it falls outside either window that week moves to the week's best shared
    slot, and if the week has none it keeps a best-effort time and is flagged.
    """
    start = as_utc(now)
    if plan.starts_on and plan.starts_on > start:
        start = plan.starts_on
    return build_series(match_id, a, b, plan, monday=first_monday(start), not_before=start,
                        a_teaches_b=a_teaches_b, b_teaches_a=b_teaches_a)


def build_series(match_id: str, a: Participant, b: Participant, plan: SeriesPlan, *, monday: date,
                 not_before: datetime, a_teaches_b: Iterable[Any], b_teaches_a: Iterable[Any],
                 preferred: Mapping[int, datetime] | None = None) -> SeriesResult:
    """The series whose first week starts on `monday`; weeks already over yield no session, and
    `preferred` (by session number) is kept wherever it still fits."""
    mode = shared_mode(a, b)
    if mode is None:
        return Unschedulable(*no_shared_mode(a, b))
    for person in (a, b):
        if not known_zone(person.timezone):
            return Unschedulable(*unknown_zone(person))
    step = timedelta(weeks=CADENCE_WEEKS[plan.cadence])
    mondays = [monday + step * i for i in range(session_count(plan.cadence, plan.duration_weeks))]
    length = timedelta(minutes=plan.session_minutes)
    placed = _place(a, b, mondays, length, not_before, preferred or {})
    if placed is None:
        return Unschedulable(*no_overlap(a, b, plan.session_minutes, _week_span(mondays[0], zone(a.timezone))))
    a_goals = learner_goals(a, teaching_pairs(b_teaches_a))
    b_goals = learner_goals(b, teaching_pairs(a_teaches_b))
    sessions = []
    for number, (start, flagged) in placed.items():
        if number == 1:
            kind, teacher, learner, agenda = "kickoff", None, None, kickoff_agenda(plan, a, a_goals, b, b_goals)
        else:
            turn, reverse = divmod(number - 2, 2)
            teacher, learner, goals = (b, a, a_goals) if reverse else (a, b, b_goals)
            kind, agenda = "teaching", teaching_agenda(teacher, learner, goals, turn)
        sessions.append(Session(
            session_id=session_id(match_id, number), number=number, kind=kind,
            starts_at=start, ends_at=start + length, mode=mode,
            teacher=teacher and teacher.person_id, learner=learner and learner.person_id,
            agenda=agenda, local_times=[local_time(p, start, length) for p in (a, b)], flagged=flagged,
        ))
    return Scheduled(sessions=sessions, mode=mode)


def local_time(person: Participant, start: datetime, length: timedelta) -> LocalTime:
    tz = zone(person.timezone)
    return LocalTime(person_id=person.person_id, timezone=person.timezone,
                     starts_at=start.astimezone(tz).isoformat(), ends_at=(start + length).astimezone(tz).isoformat())


@dataclass(frozen=True)
class _Week:
    number: int
    monday: date
    span: Interval
    shared: list[Interval]
    floor: datetime
    best: datetime | None


def _place(a: Participant, b: Participant, mondays: list[date], length: timedelta, not_before: datetime,
           preferred: Mapping[int, datetime]) -> dict[int, tuple[datetime, str | None]] | None:
    tz = zone(a.timezone)
    weeks = []
    for number, monday in enumerate(mondays, start=1):
        span = _week_span(monday, tz)
        if not_before >= span[1]:
            continue
        shared = overlap(a, b, span)
        floor = max(not_before, span[0])
        weeks.append(_Week(number, monday, span, shared, floor, best_slot(shared, length, floor)))
    if not any(week.best for week in weeks):
        return None
    usual = Counter(_weekly_key(week.best, week.monday, tz) for week in weeks if week.best).most_common(1)[0][0]
    placed = {}
    for week in weeks:
        options = (preferred.get(week.number), _at_key(usual, week.monday, tz), week.best)
        start = next((t for t in options if t and t >= week.floor and fits(week.shared, t, length)), None)
        if start is not None:
            placed[week.number] = (start, None)
        else:
            start = _at_key(usual, week.monday, tz)
            if start < week.floor:
                start = grid_ceil(week.floor)
            placed[week.number] = (start, _flag(a, b, week, start, length))
    return placed


def _weekly_key(start: datetime, monday: date, tz) -> tuple[int, int]:
    local = start.astimezone(tz)
    return (local.date() - monday).days, local.hour * 60 + local.minute


def _at_key(key: tuple[int, int], monday: date, tz) -> datetime:
    days, minutes = key
    return to_utc(datetime.combine(monday + timedelta(days=days), time()) + timedelta(minutes=minutes), tz)


def _week_span(monday: date, tz) -> Interval:
    return (to_utc(datetime.combine(monday, time()), tz),
            to_utc(datetime.combine(monday + timedelta(weeks=1), time()), tz))


def _flag(a: Participant, b: Participant, week: _Week, start: datetime, length: timedelta) -> str:
    outside = [p.name for p in (a, b) if not fits(availability(p, week.span), start, length)]
    who = " and ".join(outside) or "the shared"
    return (f"No time in the week of {week.monday.isoformat()} lies inside both {a.name}'s and {b.name}'s "
            f"availability (time zones or daylight saving time); kept a best-effort time outside {who}'s window.")

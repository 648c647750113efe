"""A partnership's series of sessions: kickoff first, then alternating teaching sessions."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from services.scheduler.domain.agenda import kickoff_agenda, learner_goals, teaching_agenda, teaching_pairs
from services.scheduler.domain.model import Participant, SeriesPlan, as_utc
from services.scheduler.domain.placement import Placement, place, weeks_of
from services.scheduler.domain.suggest import REMOTE_MODES, no_overlap, no_shared_mode, unknown_zone
from services.scheduler.domain.weeks import series_numbers, week_monday, week_span
from shared.availability import series_start
from shared.contract.events import LocalTime, Session
from shared.contract.timefmt import zone_of


@dataclass(frozen=True)
class Scheduled:
    sessions: list[Session]
    mode: str


@dataclass(frozen=True)
class Unschedulable:
    reason: str
    suggestion: str


SeriesResult = Scheduled | Unschedulable


def session_id(match_id: str, number: int) -> str:
    return f"{match_id}-s{number:02d}"


def shared_mode(a: Participant, b: Participant) -> str | None:
    """In person only on the same site (compared case-insensitively, as the matcher does)."""
    if "in_person" in a.meeting_modes and "in_person" in b.meeting_modes and a.site \
            and a.site.casefold() == b.site.casefold():
        return "in_person"
    return next((mode for mode in REMOTE_MODES if mode in a.meeting_modes and mode in b.meeting_modes), None)


def plan_series(match_id: str, a: Participant, b: Participant, plan: SeriesPlan, *, now: datetime,
                a_teaches_b: Iterable[Any] = (), b_teaches_a: Iterable[Any] = ()) -> SeriesResult:
    """Place the whole series, one session per cadence step, in weeks that run Monday to Monday UTC.

    The series starts in the first week that begins on or after both `now` and the programme's
    start, and always has the full count for the cadence and duration_weeks: a pair accepted
    after the programme began still gets every session it was promised, from that week on.

    One usual weekly time is chosen; an occurrence that falls outside either window moves to the
    week's best shared slot, and if the week has none it keeps a best-effort time and is flagged.
    """
    first = series_start(plan.starts_on, as_utc(now))
    mondays = {n: week_monday(first.date(), plan.cadence, n) for n in series_numbers(plan)}
    return build_series(match_id, a, b, plan, mondays=mondays, not_before=first,
                        a_teaches_b=a_teaches_b, b_teaches_a=b_teaches_a)


def build_series(match_id: str, a: Participant, b: Participant, plan: SeriesPlan, *, mondays: Mapping[int, date],
                 not_before: datetime, a_teaches_b: Iterable[Any], b_teaches_a: Iterable[Any],
                 preferred: Mapping[int, datetime] | None = None) -> SeriesResult:
    """The sessions numbered as in `mondays` (session number -> Monday of its week), none before
    `not_before`; `preferred` (by session number) is kept wherever it still fits. Unschedulable
    when no week has a shared slot, see `place_all` for keeping the sessions anyway."""
    placed = place_all(a, b, plan, mondays=mondays, not_before=not_before, preferred=preferred)
    if isinstance(placed, Unschedulable):
        return placed
    mode, placements = placed
    if all(p.flagged for p in placements.values()):
        return Unschedulable(*no_overlap(a, b, plan.session_minutes, [week_span(m) for m in mondays.values()]))
    return Scheduled(sessions_for(match_id, a, b, plan, mode, placements, a_teaches_b, b_teaches_a), mode)


def place_all(a: Participant, b: Participant, plan: SeriesPlan, *, mondays: Mapping[int, date],
              not_before: datetime, preferred: Mapping[int, datetime] | None = None,
              ) -> tuple[str, dict[int, Placement]] | Unschedulable:
    """The meeting mode and every week's placement (flagged where the week has no shared slot);
    Unschedulable only when the pair shares no meeting mode or a zone is unknown."""
    mode = shared_mode(a, b)
    if mode is None:
        return Unschedulable(*no_shared_mode(a, b))
    for person in (a, b):
        if zone_of(person.timezone) is None:
            return Unschedulable(*unknown_zone(person))
    length = timedelta(minutes=plan.session_minutes)
    return mode, place(a, b, weeks_of(a, b, mondays, length, not_before), length, preferred or {})


def sessions_for(match_id: str, a: Participant, b: Participant, plan: SeriesPlan, mode: str,
                 placements: Mapping[int, Placement], a_teaches_b: Iterable[Any],
                 b_teaches_a: Iterable[Any]) -> list[Session]:
    length = timedelta(minutes=plan.session_minutes)
    a_goals = learner_goals(a, teaching_pairs(b_teaches_a))
    b_goals = learner_goals(b, teaching_pairs(a_teaches_b))
    sessions = []
    for number, placement in sorted(placements.items()):
        if number == 1:
            kind, teacher, learner, agenda = "kickoff", None, None, kickoff_agenda(plan, a, a_goals, b, b_goals)
        else:
            turn, reverse = divmod(number - 2, 2)
            teacher, learner, goals = (b, a, a_goals) if reverse else (a, b, b_goals)
            kind, agenda = "teaching", teaching_agenda(teacher, learner, goals, turn)
        start = placement.start
        sessions.append(Session(
            session_id=session_id(match_id, number), number=number, kind=kind,
            starts_at=start, ends_at=start + length, mode=mode,
            teacher=teacher and teacher.person_id, learner=learner and learner.person_id,
            agenda=agenda, local_times=[local_time(p, start, length) for p in (a, b)], flagged=placement.flagged,
        ))
    return sessions


def local_time(person: Participant, start: datetime, length: timedelta) -> LocalTime:
    tz = zone_of(person.timezone)
    return LocalTime(person_id=person.person_id, timezone=person.timezone,
                     starts_at=start.astimezone(tz).isoformat(), ends_at=(start + length).astimezone(tz).isoformat())

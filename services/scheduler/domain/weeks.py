"""The series' weeks: Monday 00:00 UTC to the next Monday 00:00 UTC.

Weeks are anchored in UTC, not in either person's zone, so a week means the same stretch of
time whoever moves to another zone; session n always lives in week (n - 1) * step of its series.
"""

from datetime import UTC, date, datetime, time, timedelta

from services.scheduler.domain.model import SeriesPlan, as_utc
from shared.availability import Interval, series_start

CADENCE_WEEKS = {"weekly": 1, "biweekly": 2, "monthly": 4}


def session_count(cadence: str, duration_weeks: int) -> int:
    """Sessions fall in weeks 0, step, 2*step, ... below duration_weeks, where step is 1 (weekly),
    2 (biweekly) or 4 (monthly), so: weekly gives duration_weeks sessions, biweekly
    ceil(duration_weeks / 2) and monthly ceil(duration_weeks / 4)."""
    step = CADENCE_WEEKS[cadence]
    return -(-duration_weeks // step)


def first_monday(start: datetime) -> date:
    """The Monday of the first calendar week that begins on or after `start` (by its UTC date)."""
    return series_start(None, start).date()


def monday_of(instant: datetime) -> date:
    day = as_utc(instant).date()
    return day - timedelta(days=day.weekday())


def week_span(monday: date) -> Interval:
    start = datetime.combine(monday, time(), UTC)
    return start, start + timedelta(weeks=1)


def week_monday(series_monday: date, cadence: str, number: int) -> date:
    """The Monday of session `number`'s week."""
    return series_monday + timedelta(weeks=CADENCE_WEEKS[cadence] * (number - 1))


def series_numbers(plan: SeriesPlan) -> list[int]:
    """Session numbers 1, 2, ...: one per cadence step within duration_weeks of the series' first week."""
    return list(range(1, session_count(plan.cadence, plan.duration_weeks) + 1))

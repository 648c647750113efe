"""The scheduler's pure logic: slot choice (availability itself is `shared.availability`), the series,
rescheduling, reminders, iCalendar."""

from services.scheduler.domain.agenda import (
    kickoff_agenda,
    learner_goals,
    neglected_agenda,
    teaching_agenda,
    teaching_pairs,
)
from services.scheduler.domain.ics import FeedSeries, sessions_calendar
from services.scheduler.domain.model import (
    Participant,
    SeriesPlan,
    as_utc,
    participant_from_profile,
    plan_from_program,
)
from services.scheduler.domain.neglect import neglected_direction_first, session_to_swap
from services.scheduler.domain.reminders import pending_reminders, reminder_due_at
from services.scheduler.domain.reschedule import Rescheduled, reschedule, reschedule_result, series_monday
from services.scheduler.domain.schedule import NOT_STARTED, IllegalTransition, Schedule, ScheduleStatus
from services.scheduler.domain.series import (
    Scheduled,
    SeriesResult,
    Unschedulable,
    plan_series,
    session_id,
    shared_mode,
)
from services.scheduler.domain.slots import availability, best_slot, overlap
from services.scheduler.domain.weeks import CADENCE_WEEKS, first_monday, session_count, week_span

__all__ = [
    "CADENCE_WEEKS",
    "NOT_STARTED",
    "FeedSeries",
    "IllegalTransition",
    "Participant",
    "Rescheduled",
    "Schedule",
    "ScheduleStatus",
    "Scheduled",
    "SeriesPlan",
    "SeriesResult",
    "Unschedulable",
    "as_utc",
    "availability",
    "best_slot",
    "first_monday",
    "kickoff_agenda",
    "learner_goals",
    "neglected_agenda",
    "neglected_direction_first",
    "overlap",
    "participant_from_profile",
    "pending_reminders",
    "plan_from_program",
    "plan_series",
    "reminder_due_at",
    "reschedule",
    "reschedule_result",
    "series_monday",
    "session_count",
    "session_id",
    "session_to_swap",
    "sessions_calendar",
    "shared_mode",
    "teaching_agenda",
    "teaching_pairs",
    "week_span",
]

"""Composition root of the scheduler service: its handler table, jobs and routes."""

from services.scheduler import handlers
from services.scheduler.adapters.repository import SchedulerRepository
from services.scheduler.bootstrap import bootstrap
from services.scheduler.entrypoints import http, jobs
from services.scheduler.settings import SchedulerSettings
from shared.contract import (
    ErasureConfirmed,
    MatchAccepted,
    MatchWithdrawn,
    PartnershipFlagged,
    ProfileChanged,
    ProfileErased,
    ProgramConfigured,
    ScheduleCreated,
    ScheduleUnschedulable,
    ScheduleUpdated,
    SessionUpcoming,
)
from shared.runtime import ServiceSpec


async def setup(repo: SchedulerRepository, settings: SchedulerSettings) -> None:
    await repo.ensure_indexes(settings.retention_schedules_days, settings.retention_timers_days)


SPEC = ServiceSpec(
    name="scheduler",
    description="Turns accepted matches into session series across both people's time zones, with reminders.",
    settings_cls=SchedulerSettings,
    bootstrap=bootstrap,
    handlers={
        ProgramConfigured: handlers.program_configured,
        ProfileChanged: handlers.profiles_changed,
        MatchAccepted: handlers.match_accepted,
        MatchWithdrawn: handlers.match_withdrawn,
        PartnershipFlagged: handlers.partnership_flagged,
        ProfileErased: handlers.profile_erased,
    },
    publishes=(ScheduleCreated, ScheduleUpdated, ScheduleUnschedulable, SessionUpcoming, ErasureConfirmed),
    http=http.routes,
    setup=setup,
    jobs=[jobs.fire_reminders, jobs.plan_waiting_schedules],
)

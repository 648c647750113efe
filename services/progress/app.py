"""Composition root of the progress service: its handler table, jobs and routes."""

from services.progress import handlers
from services.progress.adapters.repository import ProgressRepository
from services.progress.bootstrap import bootstrap
from services.progress.entrypoints import http, jobs
from services.progress.settings import ProgressSettings
from shared.contract import (
    BalanceChanged,
    CheckInRejected,
    CheckInRequested,
    ErasureConfirmed,
    MatchAccepted,
    MatchWithdrawn,
    PartnershipFlagged,
    ProfileErased,
    ProgramConfigured,
    ScheduleCreated,
    ScheduleUpdated,
    SessionCheckedIn,
)
from shared.runtime import ServiceSpec


async def setup(repo: ProgressRepository, settings: ProgressSettings) -> None:
    await repo.ensure_indexes(settings.retention_partnerships_days, settings.retention_timers_days)


SPEC = ServiceSpec(
    name="progress",
    description="Keeps each partnership's check-ins and learning balance, flags one-sided and fizzling pairs, "
    "and reports program outcomes.",
    settings_cls=ProgressSettings,
    bootstrap=bootstrap,
    handlers={
        ProgramConfigured: handlers.program_configured,
        MatchAccepted: handlers.match_accepted,
        ScheduleCreated: handlers.schedule_changed,
        ScheduleUpdated: handlers.schedule_changed,
        MatchWithdrawn: handlers.match_withdrawn,
        SessionCheckedIn: handlers.checked_in,
        ProfileErased: handlers.profile_erased,
    },
    publishes=(BalanceChanged, PartnershipFlagged, CheckInRejected, CheckInRequested, ErasureConfirmed),
    http=http.routes,
    setup=setup,
    jobs=[jobs.request_checkins, jobs.keep_program_copies],
)

"""Composition root of the matcher service: its handler table, jobs and routes."""

from services.matcher import handlers
from services.matcher.adapters.repository import MatcherRepository
from services.matcher.bootstrap import bootstrap
from services.matcher.entrypoints import http, jobs
from services.matcher.settings import MatcherSettings
from shared.contract import (
    EndRequested,
    ErasureConfirmed,
    MatchAccepted,
    MatchApprovalRefused,
    MatchApproved,
    MatchDeclined,
    MatchPreviewed,
    MatchProposed,
    MatchRequested,
    MatchResponded,
    MatchWithdrawn,
    ProfileChanged,
    ProfileErased,
    ProgramConfigured,
)
from shared.runtime import ServiceSpec


async def setup(repo: MatcherRepository, settings: MatcherSettings) -> None:
    await repo.ensure_indexes(settings.retention_reports_days, settings.retention_previews_days)


SPEC = ServiceSpec(
    name="matcher",
    description="Reciprocal matching: proposes pairs where both people teach and both learn.",
    settings_cls=MatcherSettings,
    bootstrap=bootstrap,
    handlers={
        ProgramConfigured: handlers.program_configured,
        ProfileChanged: handlers.profiles_changed,
        MatchResponded: handlers.match_responded,
        MatchRequested: handlers.match_requested,
        MatchApproved: handlers.match_approved,
        EndRequested: handlers.end_requested,
        ProfileErased: handlers.profile_erased,
    },
    publishes=(MatchProposed, MatchAccepted, MatchDeclined, MatchWithdrawn, MatchPreviewed, MatchApprovalRefused,
               ErasureConfirmed),
    http=http.routes,
    setup=setup,
    jobs=[jobs.expire_proposals, jobs.match_batches, jobs.keep_program_ledgers],
)

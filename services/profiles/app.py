"""Composition root of the profiles service: its handler table and routes."""

import structlog

from services.profiles import handlers
from services.profiles.adapters.repository import ProfileRepository
from services.profiles.bootstrap import bootstrap
from services.profiles.entrypoints import http
from shared.contract import (
    ErasureConfirmed,
    ErasureRequested,
    ProfileChanged,
    ProfileErased,
    ProfileRejected,
    ProfileSubmitted,
    ProfileWithdrawn,
    ProgramConfigured,
)
from shared.runtime import ServiceSpec
from shared.settings import ServiceSettings
from shared.store import UnitOfWork

log = structlog.get_logger()


async def setup(repo: ProfileRepository, uow: UnitOfWork) -> None:
    await repo.ensure_indexes()
    if await repo.build_enrolment_counters(uow):  # a database written before the counters existed
        log.info("profiles.enrolment_counters_built")


SPEC = ServiceSpec(
    name="profiles",
    description="Checks incoming profiles and programs, keeps versioned snapshots and publishes the changes.",
    settings_cls=ServiceSettings,
    bootstrap=bootstrap,
    handlers={
        ProgramConfigured: handlers.program_configured,
        ProfileSubmitted: handlers.profiles_submitted,
        ProfileWithdrawn: handlers.profile_withdrawn,
        ErasureRequested: handlers.erasure_requested,
    },
    publishes=(ProfileChanged, ProfileRejected, ProfileErased, ErasureConfirmed),
    http=http.routes,
    setup=setup,
)

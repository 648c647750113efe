from collections.abc import Mapping

from services.progress import handlers
from services.progress.adapters.repository import ProgressRepository
from shared.contract import (
    Event,
    MatchAccepted,
    MatchWithdrawn,
    ProgramConfigured,
    ScheduleCreated,
    ScheduleUpdated,
    SessionCheckedIn,
)
from shared.messaging import Handler
from shared.runtime import Context


def dependencies(ctx: Context) -> handlers.Dependencies:
    return handlers.Dependencies(ctx.uow, ProgressRepository(ctx.store.db), now=ctx.clock.now)


def consumers(ctx: Context) -> Mapping[type[Event], Handler]:
    deps = dependencies(ctx)

    async def on_program_configured(event: ProgramConfigured) -> None:
        await handlers.program_configured(event, deps)

    async def on_match_accepted(event: MatchAccepted) -> None:
        await handlers.match_accepted(event, deps)

    async def on_schedule(event: ScheduleCreated | ScheduleUpdated) -> None:
        await handlers.schedule_changed(event, deps)

    async def on_match_withdrawn(event: MatchWithdrawn) -> None:
        await handlers.match_withdrawn(event, deps)

    async def on_checked_in(event: SessionCheckedIn) -> None:
        await handlers.checked_in(event, deps)

    return {
        ProgramConfigured: on_program_configured,
        MatchAccepted: on_match_accepted,
        ScheduleCreated: on_schedule,
        ScheduleUpdated: on_schedule,
        MatchWithdrawn: on_match_withdrawn,
        SessionCheckedIn: on_checked_in,
    }

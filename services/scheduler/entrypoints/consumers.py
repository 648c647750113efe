from collections.abc import Mapping

from services.scheduler import handlers
from services.scheduler.adapters.repository import SchedulerRepository
from shared.contract import (
    Event,
    MatchAccepted,
    MatchWithdrawn,
    PartnershipFlagged,
    ProfileChanged,
    ProgramConfigured,
)
from shared.messaging import AnyHandler, Batched
from shared.runtime import Context


def consumers(ctx: Context) -> Mapping[type[Event], AnyHandler]:
    repo = SchedulerRepository(ctx.store.db)

    async def on_program_configured(event: ProgramConfigured) -> None:
        await handlers.program_configured(event, ctx.uow, repo, ctx.settings, ctx.clock)

    async def on_profiles_changed(events: list[ProfileChanged]) -> None:
        await handlers.profiles_changed(events, ctx.uow, repo, ctx.settings, ctx.clock)

    async def on_match_accepted(event: MatchAccepted) -> None:
        await handlers.match_accepted(event, ctx.uow, repo, ctx.settings, ctx.clock)

    async def on_match_withdrawn(event: MatchWithdrawn) -> None:
        await handlers.match_withdrawn(event, ctx.uow, repo, ctx.clock)

    async def on_partnership_flagged(event: PartnershipFlagged) -> None:
        await handlers.partnership_flagged(event, ctx.uow, repo, ctx.clock)

    return {
        ProgramConfigured: on_program_configured,
        ProfileChanged: Batched(on_profiles_changed),
        MatchAccepted: on_match_accepted,
        MatchWithdrawn: on_match_withdrawn,
        PartnershipFlagged: on_partnership_flagged,
    }

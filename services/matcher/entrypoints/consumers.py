from collections.abc import Mapping

from services.matcher import handlers
from services.matcher.adapters.repository import repository
from services.matcher.settings import MatcherSettings
from shared.contract import (
    EndRequested,
    Event,
    MatchApproved,
    MatchRequested,
    MatchResponded,
    ProfileChanged,
    ProgramConfigured,
)
from shared.messaging import AnyHandler, Batched
from shared.runtime import Context


def consumers(ctx: Context) -> Mapping[type[Event], AnyHandler]:
    repo = repository(ctx)

    async def on_program_configured(event: ProgramConfigured) -> None:
        await handlers.program_configured(event, ctx.uow, repo, now=ctx.clock.now)

    async def on_profiles_changed(events: list[ProfileChanged]) -> None:
        assert isinstance(ctx.settings, MatcherSettings)
        per_transaction = ctx.settings.profiles_per_transaction
        await handlers.profiles_changed(events, ctx.uow, repo, per_transaction, now=ctx.clock.now)

    async def on_match_responded(event: MatchResponded) -> None:
        await handlers.match_responded(event, ctx.uow, repo, now=ctx.clock.now)

    async def on_match_requested(event: MatchRequested) -> None:
        await handlers.match_requested(event, ctx.uow, repo, now=ctx.clock.now)

    async def on_match_approved(event: MatchApproved) -> None:
        await handlers.match_approved(event, ctx.uow, repo, now=ctx.clock.now)

    async def on_end_requested(event: EndRequested) -> None:
        await handlers.end_requested(event, ctx.uow, repo, now=ctx.clock.now)

    return {
        ProgramConfigured: on_program_configured,
        ProfileChanged: Batched(on_profiles_changed),
        MatchResponded: on_match_responded,
        MatchRequested: on_match_requested,
        MatchApproved: on_match_approved,
        EndRequested: on_end_requested,
    }

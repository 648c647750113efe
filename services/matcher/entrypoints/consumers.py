from collections.abc import Mapping

from services.matcher import handlers
from services.matcher.adapters.repository import repository
from shared.contract import Event, MatchRequested, MatchResponded, ProfileChanged, ProgramConfigured
from shared.messaging import AnyHandler, Batched
from shared.runtime import Context


def consumers(ctx: Context) -> Mapping[type[Event], AnyHandler]:
    repo = repository(ctx)

    async def on_program_configured(event: ProgramConfigured) -> None:
        await handlers.program_configured(event, ctx.uow, repo)

    async def on_profiles_changed(events: list[ProfileChanged]) -> None:
        per_transaction = getattr(ctx.settings, "profiles_per_transaction", 50)
        await handlers.profiles_changed(events, ctx.uow, repo, per_transaction)

    async def on_match_responded(event: MatchResponded) -> None:
        await handlers.match_responded(event, ctx.uow, repo)

    async def on_match_requested(event: MatchRequested) -> None:
        await handlers.match_requested(event, ctx.uow, repo)

    return {
        ProgramConfigured: on_program_configured,
        ProfileChanged: Batched(on_profiles_changed),
        MatchResponded: on_match_responded,
        MatchRequested: on_match_requested,
    }

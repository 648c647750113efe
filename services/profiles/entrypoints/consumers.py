from collections.abc import Mapping

from services.profiles import handlers
from services.profiles.adapters.repository import ProfileRepository
from shared.contract import Event, ProfileSubmitted, ProfileWithdrawn, ProgramConfigured
from shared.messaging import AnyHandler, Batched
from shared.runtime import Context


def consumers(ctx: Context) -> Mapping[type[Event], AnyHandler]:
    repo = ProfileRepository(ctx.store.db)

    async def on_program_configured(event: ProgramConfigured) -> None:
        await handlers.program_configured(event, ctx.uow, repo)

    async def on_profiles_submitted(events: list[ProfileSubmitted]) -> None:
        await handlers.profiles_submitted(events, ctx.uow, repo, ctx.clock, ctx.settings.egress)

    async def on_profile_withdrawn(event: ProfileWithdrawn) -> None:
        await handlers.profile_withdrawn(event, ctx.uow, repo, ctx.clock)

    return {
        ProgramConfigured: on_program_configured,
        ProfileSubmitted: Batched(on_profiles_submitted),
        ProfileWithdrawn: on_profile_withdrawn,
    }

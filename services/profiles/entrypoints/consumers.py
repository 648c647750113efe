from collections.abc import Mapping

from services.profiles import handlers
from services.profiles.adapters.repository import ProfileRepository
from shared.contract import Event, ProfileSubmitted, ProfileWithdrawn, ProgramConfigured
from shared.messaging import Handler
from shared.runtime import Context


def consumers(ctx: Context) -> Mapping[type[Event], Handler]:
    repo = ProfileRepository(ctx.store.db)

    async def on_program_configured(event: ProgramConfigured) -> None:
        await handlers.program_configured(event, ctx.uow, repo)

    async def on_profile_submitted(event: ProfileSubmitted) -> None:
        await handlers.profile_submitted(event, ctx.uow, repo, ctx.clock)

    async def on_profile_withdrawn(event: ProfileWithdrawn) -> None:
        await handlers.profile_withdrawn(event, ctx.uow, repo, ctx.clock)

    return {
        ProgramConfigured: on_program_configured,
        ProfileSubmitted: on_profile_submitted,
        ProfileWithdrawn: on_profile_withdrawn,
    }

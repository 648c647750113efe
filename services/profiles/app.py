"""Composition root of the profiles service."""

from services.profiles.adapters.repository import ProfileRepository
from services.profiles.entrypoints import consumers, http
from shared.contract import ProfileChanged, ProfileRejected
from shared.runtime import Context, ServiceSpec
from shared.settings import ServiceSettings


async def setup(ctx: Context) -> None:
    await ProfileRepository(ctx.store.db).ensure_indexes()


SPEC = ServiceSpec(
    name="profiles",
    description="Checks incoming profiles and programs, keeps versioned snapshots and publishes the changes.",
    settings_cls=ServiceSettings,
    consumers=consumers.consumers,
    publishes=(ProfileChanged, ProfileRejected),
    http=http.routes,
    setup=setup,
)

"""Composition root of the progress service."""

from services.progress.adapters.repository import ProgressRepository
from services.progress.entrypoints import consumers, http, jobs
from services.progress.settings import ProgressSettings
from shared.contract import BalanceChanged, CheckInRejected, CheckInRequested, PartnershipFlagged
from shared.runtime import Context, ServiceSpec


async def setup(ctx: Context) -> None:
    await ProgressRepository(ctx.store.db).ensure_indexes()


SPEC = ServiceSpec(
    name="progress",
    description="Keeps each partnership's check-ins and learning balance, flags one-sided and fizzling pairs, "
    "and reports program outcomes.",
    settings_cls=ProgressSettings,
    consumers=consumers.consumers,
    publishes=(BalanceChanged, PartnershipFlagged, CheckInRejected, CheckInRequested),
    http=http.routes,
    setup=setup,
    jobs=[jobs.request_checkins],
)

"""The progress service's dependencies, built once per process. Its handlers take them whole."""

from dataclasses import dataclass

from services.progress.adapters.repository import ProgressRepository
from services.progress.settings import ProgressSettings
from shared.clock import Clock, Now
from shared.runtime import Context
from shared.store import UnitOfWork


@dataclass(frozen=True)
class Dependencies:
    uow: UnitOfWork
    repo: ProgressRepository
    settings: ProgressSettings
    clock: Clock
    now: Now
    """The one place the service reads the time: virtual when the embedded stack runs accelerated."""


def bootstrap(ctx: Context) -> Dependencies:
    settings = ctx.settings
    assert isinstance(settings, ProgressSettings)  # ServiceSpec.settings_cls made it
    repo = ProgressRepository(ctx.store.db, copy_overlap_s=settings.program_copy_overlap_s,
                              copy_full_every_s=settings.program_copy_full_every_s)
    return Dependencies(uow=ctx.uow, repo=repo, settings=settings, clock=ctx.clock, now=ctx.clock.now)

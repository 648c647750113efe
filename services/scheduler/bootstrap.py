"""The scheduler's dependencies, built once per process."""

from dataclasses import dataclass

from services.scheduler.adapters.repository import SchedulerRepository
from services.scheduler.settings import SchedulerSettings
from shared.clock import Clock, Now
from shared.runtime import Context
from shared.store import UnitOfWork


@dataclass(frozen=True)
class Dependencies:
    uow: UnitOfWork
    repo: SchedulerRepository
    settings: SchedulerSettings
    clock: Clock
    now: Now


def bootstrap(ctx: Context) -> Dependencies:
    settings = ctx.settings
    assert isinstance(settings, SchedulerSettings)  # ServiceSpec.settings_cls made it
    return Dependencies(uow=ctx.uow, repo=SchedulerRepository(ctx.store.db), settings=settings, clock=ctx.clock,
                        now=ctx.clock.now)

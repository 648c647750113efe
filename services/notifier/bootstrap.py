"""The notifier's dependencies, built once per process."""

from dataclasses import dataclass

from services.notifier.adapters.metrics import DeliveryGauges
from services.notifier.adapters.repository import NotifierRepository
from services.notifier.due import DueQueue
from services.notifier.settings import NotifierSettings
from shared.clock import Clock, Now
from shared.runtime import Context
from shared.store import UnitOfWork


@dataclass(frozen=True)
class Dependencies:
    uow: UnitOfWork
    repo: NotifierRepository
    settings: NotifierSettings
    clock: Clock
    now: Now
    deliveries_waiting: DueQueue
    """The ids of the deliveries recorded, handed over on commit, so the delivery job sends them at once
    without querying for them."""
    gauges: DeliveryGauges


def bootstrap(ctx: Context) -> Dependencies:
    settings = ctx.settings
    assert isinstance(settings, NotifierSettings)  # ServiceSpec.settings_cls made it
    return Dependencies(
        uow=ctx.uow,
        repo=NotifierRepository(ctx.store.db),
        settings=settings,
        clock=ctx.clock,
        now=ctx.clock.now,
        deliveries_waiting=DueQueue(settings.delivery_queue_size),
        gauges=DeliveryGauges(ctx.registry),
    )

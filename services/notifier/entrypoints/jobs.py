import asyncio

import structlog

from services.notifier.adapters.metrics import DeliveryGauges
from services.notifier.adapters.repository import NotifierRepository
from services.notifier.due import DueQueue
from services.notifier.handlers import Deliverer, measure_backlog
from services.notifier.settings import NotifierSettings
from shared.clock import Clock
from shared.store import UnitOfWork

log = structlog.get_logger()

BACKLOG_EVERY_S = 5.0


async def deliver_notifications(uow: UnitOfWork, repo: NotifierRepository, settings: NotifierSettings,
                                clock: Clock, deliveries_waiting: DueQueue) -> None:
    deliverer = Deliverer(uow, repo, settings, settings.instance_id, clock=clock.now, speed=clock.speed,
                          due=deliveries_waiting)
    try:
        await deliverer.run()
    finally:
        await deliverer.close()


async def watch_delivery_backlog(repo: NotifierRepository, settings: NotifierSettings, clock: Clock,
                                 gauges: DeliveryGauges) -> None:
    """Keep the backlog gauges current between readiness probes."""
    while True:
        try:
            await delivery_backlog_ready(repo, settings, clock, gauges)
        except Exception as exc:  # the database probe of /readyz reports an outage
            log.warning("delivery.backlog_unknown", error_type=type(exc).__name__)
        await asyncio.sleep(BACKLOG_EVERY_S)


async def delivery_backlog_ready(repo: NotifierRepository, settings: NotifierSettings, clock: Clock,
                                 gauges: DeliveryGauges) -> bool:
    """Readiness: False once a due delivery has waited longer than delivery_backlog_ready_s, so a
    wedged or overwhelmed sender shows on /readyz instead of staying green."""
    backlog = await measure_backlog(repo, clock.now(), clock.speed)
    gauges.show(backlog.pending, backlog.oldest_due_s)
    if backlog.stuck(settings.delivery_backlog_ready_s):
        log.warning("delivery.backlog_stuck", pending=backlog.pending, oldest_due_s=round(backlog.oldest_due_s, 1))
        return False
    return True

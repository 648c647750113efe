import asyncio

import structlog

from services.notifier.adapters.metrics import DeliveryGauges
from services.notifier.adapters.repository import NotifierRepository
from services.notifier.entrypoints.consumers import wakeup
from services.notifier.handlers import Deliverer, measure_backlog
from shared.runtime import Context

log = structlog.get_logger()

BACKLOG_EVERY_S = 5.0


async def deliver_notifications(ctx: Context) -> None:
    deliverer = Deliverer(
        ctx.uow, NotifierRepository(ctx.store.db), ctx.settings, ctx.settings.instance_id,
        clock=ctx.clock.now, speed=ctx.clock.speed,
    )
    try:
        await deliverer.run(wakeup(ctx))
    finally:
        await deliverer.close()


async def watch_delivery_backlog(ctx: Context) -> None:
    """Keep the backlog gauges current between readiness probes."""
    while True:
        try:
            await delivery_backlog_ready(ctx)
        except Exception as exc:  # the database probe of /readyz reports an outage
            log.warning("delivery.backlog_unknown", error_type=type(exc).__name__)
        await asyncio.sleep(BACKLOG_EVERY_S)


async def delivery_backlog_ready(ctx: Context) -> bool:
    """Readiness: False once a due delivery has waited longer than delivery_backlog_ready_s, so a
    wedged or overwhelmed sender shows on /readyz instead of staying green."""
    backlog = await measure_backlog(NotifierRepository(ctx.store.db), ctx.clock.now(), ctx.clock.speed)
    gauges(ctx).show(backlog.pending, backlog.oldest_due_s)
    if backlog.stuck(ctx.settings.delivery_backlog_ready_s):
        log.warning("delivery.backlog_stuck", pending=backlog.pending, oldest_due_s=round(backlog.oldest_due_s, 1))
        return False
    return True


def gauges(ctx: Context) -> DeliveryGauges:
    if "delivery_gauges" not in ctx.extras:
        ctx.extras["delivery_gauges"] = DeliveryGauges(ctx.registry)
    return ctx.extras["delivery_gauges"]
